//! The STIX patterning language parser and compiler. It is private to the core, so the
//! input is the pattern of the one indicator of a STIX 2.1 bundle (invalid UTF-8
//! replaced), loaded as STIX: each pattern must give records or a reason in the load
//! report, and the index they build must be usable whole.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vedette_core::feed::Format;
use vedette_core::{IndexBuilder, LoadOptions};
use vedette_fuzz::check::{check_find, check_index};
use vedette_fuzz::fixed::AT;

fuzz_target!(|data: &[u8]| {
    let pattern = String::from_utf8_lossy(data);
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--1",
        "objects": [{
            "type": "indicator",
            "spec_version": "2.1",
            "id": "indicator--1",
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": "2020-01-01T00:00:00Z",
        }],
    });
    let bytes = serde_json::to_vec(&bundle).expect("a JSON value serializes");
    let options = LoadOptions { format: Some(Format::Stix), ..LoadOptions::default() };
    let mut builder = IndexBuilder::new();
    let report =
        builder.load(&bytes, &options).unwrap_or_else(|e| panic!("a bundle of one indicator fails: {e}"));
    assert!(
        report.loaded > 0 || report.skipped_total() > 0,
        "the pattern {pattern:?} gives neither a record nor a reason"
    );
    if let Ok(index) = builder.build() {
        check_index(&index);
        check_find(&index, pattern.as_bytes(), AT);
    }
});
