//! A script of engine operations decoded with `arbitrary` (adds, removals by ref and by
//! value, CSV and STIX loads with and without sync, feeds of any bytes, transactions,
//! poisoned ones too, compactions, saves and reopens), checked after every step against
//! an index built from the snapshot's records and against a model of the rules: see
//! `engine::run`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vedette_fuzz::engine::{run, Script};

fuzz_target!(|script: Script| run(&script));
