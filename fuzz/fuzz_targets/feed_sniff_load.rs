//! `IndexBuilder::load` with the default options (compression and format sniffed), then
//! `build`, then the index checked whole and a search of the input itself: see
//! `feeds::load_and_compile`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vedette_fuzz::feeds::load_and_compile(data));
