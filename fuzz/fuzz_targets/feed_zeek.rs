//! `feed::parse_with_options` as `Format::Zeek` (Zeek intel files), every record then compiled
//! into an index that must be usable whole: see `feeds::parse_and_compile`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vedette_core::feed::Format;

fuzz_target!(|data: &[u8]| vedette_fuzz::feeds::parse_and_compile(Format::Zeek, data));
