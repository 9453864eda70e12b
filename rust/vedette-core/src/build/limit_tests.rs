//! The builder's limits (docs/semantics.md §11.3), one row per case, and MISP feed
//! directories that point elsewhere.

use std::io::Write;

use super::*;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// What a load gave: `loaded, [(reason, skipped)]`, or the error.
fn load(limits: Limits, feed: &[u8], strict: bool) -> Result<(usize, Vec<(String, usize)>), String> {
    let mut builder = IndexBuilder::with_limits(limits);
    let options = LoadOptions { name: "f".into(), strict, ..LoadOptions::default() };
    let report = builder.load(feed, &options).map_err(|e| e.to_string())?;
    assert_eq!(builder.records.len(), report.loaded);
    Ok((report.loaded, report.skipped.into_iter().collect()))
}

#[test]
fn limits_rows() {
    let limits =
        |max_records, max_feed_bytes, max_line_bytes| Limits { max_records, max_feed_bytes, max_line_bytes };
    let list = b"a.example\nb.example\nc.example\n".as_slice();
    let long_line = [b"a.example\n".as_slice(), &[b'x'; 40], b"\nc.example\n"].concat();
    let csv = [b"value,source\na.example,s\n".as_slice(), &[b'x'; 40], b",s\nc.example,s\n"].concat();
    let zeek = [
        b"#fields\tindicator\tindicator_type\tmeta.source\na.example\tIntel::DOMAIN\ts\n".as_slice(),
        &[b'x'; 40],
        b"\tIntel::DOMAIN\ts\n",
    ]
    .concat();
    let big = vec![b'\n'; 1000];
    let skipped = |reason: &str, n| vec![(reason.to_string(), n)];
    type Want = Result<(usize, Vec<(String, usize)>), &'static str>;
    #[rustfmt::skip]
    let rows: Vec<(&str, Limits, Vec<u8>, bool, Want)> = vec![
        ("lim010", limits(2, 1 << 20, 1 << 20), list.to_vec(), false, Ok((2, skipped("too many records", 1)))),
        ("lim020", limits(2, 1 << 20, 1 << 20), list.to_vec(), true,
            Err("f:3: the builder holds max_records (2) records already")),
        ("lim030", limits(9, 30, 1 << 20), list.to_vec(), false, Ok((3, vec![]))),
        ("lim040", limits(9, 29, 1 << 20), list.to_vec(), false,
            Err("f: the feed has more than max_feed_bytes (29)")),
        ("lim050", limits(9, 1000, 1 << 20), gzip(&big), false, Ok((0, vec![]))),
        ("lim060", limits(9, 999, 1 << 20), gzip(&big), false,
            Err("f: the gzip feed inflates to more than max_feed_bytes (999)")),
        ("lim070", limits(9, 1 << 20, 39), long_line.clone(), false, Ok((2, skipped("line too long", 1)))),
        ("lim080", limits(9, 1 << 20, 40), long_line.clone(), false, Ok((2, skipped("not an indicator", 1)))),
        ("lim090", limits(9, 1 << 20, 39), long_line, true,
            Err("f:2: line is 40 bytes, more than max_line_bytes (39)")),
        ("lim100", limits(9, 1 << 20, 39), csv, false, Ok((2, skipped("line too long", 1)))),
        ("lim110", limits(9, 1 << 20, 50), zeek, false, Ok((1, skipped("line too long", 1)))),
    ];
    for (id, limits, feed, strict, want) in rows {
        let got = load(limits, &feed, strict);
        assert_eq!(got, want.map_err(str::to_string), "row {id}");
    }
}

#[test]
fn add_past_max_records_is_refused() {
    let mut builder = IndexBuilder::with_limits(Limits { max_records: 1, ..Limits::default() });
    builder.add("a.example", None, Meta::default()).unwrap();
    let err = builder.add("b.example", None, Meta::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid indicator \"b.example\": the builder holds max_records (1) records already"
    );
    assert_eq!(builder.len(), 1);
}

#[test]
fn a_misp_feed_reads_only_its_own_events() {
    let dir = tempfile::tempdir().unwrap();
    let (feed, outside) = (dir.path().join("feed"), dir.path().join("secret.json"));
    std::fs::create_dir(&feed).unwrap();
    let event = |value: &str| {
        format!(
            r#"{{"Event": {{"uuid": "e", "Attribute": [{{"type": "domain", "value": "{value}", "to_ids": true}}]}}}}"#
        )
    };
    std::fs::write(feed.join("a-1.json"), event("a.example")).unwrap();
    std::fs::write(&outside, event("secret.example")).unwrap();
    std::os::unix::fs::symlink(&outside, feed.join("b-2.json")).unwrap();
    std::fs::write(feed.join("manifest.json"), r#"{"a-1": {}, "b-2": {}, "../secret": {}}"#).unwrap();
    let mut builder = IndexBuilder::new();
    let report = builder.load_misp_feed(&feed, &LoadOptions::default()).unwrap();
    assert_eq!(report.loaded, 1);
    let skipped: Vec<(&str, usize)> = report.skipped.iter().map(|(k, &v)| (k.as_str(), v)).collect();
    assert_eq!(skipped, [("event file outside the feed", 1), ("invalid manifest key", 1)]);
    let strict = LoadOptions { strict: true, ..LoadOptions::default() };
    let err = IndexBuilder::new().load_misp_feed(&feed, &strict).unwrap_err();
    assert_eq!(err.category(), "invalid manifest key");
}
