//! Feeds parsed in one format, and their records compiled into an index.

use vedette_core::feed::{self, Format, ParseOptions};
use vedette_core::{IndexBuilder, LoadOptions};

use crate::check::{check_find, check_index};
use crate::fixed::AT;

/// The name feeds go by in errors.
const SOURCE: &str = "fuzz";

/// The option sets worth parsing `format` with: the options only change MISP and Zeek.
fn option_sets(format: Format) -> &'static [ParseOptions] {
    const DEFAULT: ParseOptions =
        ParseOptions { keep_non_ids: false, zeek_domain_as_hostname: false, max_line_bytes: 1 << 20 };
    const OTHER: ParseOptions =
        ParseOptions { keep_non_ids: true, zeek_domain_as_hostname: true, max_line_bytes: 1 << 20 };
    match format {
        Format::Misp | Format::MispCsv | Format::Zeek => &[DEFAULT, OTHER],
        _ => &[DEFAULT],
    }
}

/// Parses `data` as `format`, checks what the parser hands out (records and errors in
/// order, 1-based lines, errors naming the feed), adds every record to a builder as
/// [`IndexBuilder::load`] would, and checks the index it builds, and a search of `data`
/// with it.
pub fn parse_and_compile(format: Format, data: &[u8]) {
    for options in option_sets(format) {
        let mut builder = IndexBuilder::new();
        let mut last_line = 0;
        let parsed = feed::parse_with_options(format, data, SOURCE, options, &mut |parsed| {
            let line = match parsed {
                Ok(record) => {
                    let line = record.line;
                    // A bad value is the feed's fault, not the parser's: the builder
                    // refuses it as a load would.
                    let _ = builder.add(&record.value, record.kind, record.meta);
                    Some(line)
                }
                Err(err) => {
                    assert_eq!(err.source(), SOURCE, "a feed error names another feed: {err}");
                    err.line()
                }
            };
            if let Some(line) = line {
                assert!(line >= 1, "record at line {line}: lines are 1-based");
                assert!(line >= last_line, "record at line {line} after one at line {last_line}");
                last_line = line;
            }
            Ok(())
        });
        if parsed.is_err() {
            continue;
        }
        if let Ok(index) = builder.build() {
            check_index(&index);
            check_find(&index, data, AT);
        }
    }
}

/// Loads `data` as [`IndexBuilder::load`] does with default options (the format
/// sniffed, compression inflated), builds, and checks the index and a search of `data`
/// with it.
pub fn load_and_compile(data: &[u8]) {
    let mut builder = IndexBuilder::new();
    let Ok(report) = builder.load(data, &LoadOptions::default()) else { return };
    assert!(report.format.is_some(), "a load report names no format");
    assert!(report.errors.len() <= report.skipped_total(), "the report keeps more errors than it skipped");
    if let Ok(index) = builder.build() {
        assert!(index.record_count() <= report.loaded, "more records than the load loaded");
        check_index(&index);
        check_find(&index, data, AT);
    }
}
