//! The index file format is stable: `data/v1.vdx`, written by the first version of the
//! format, must keep loading to the same indicators, and an index built the same way
//! must keep writing the same bytes. A change that breaks this needs a new version
//! number (src/wire.rs), with the old files still read or plainly refused.
//!
//! `VEDETTE_WRITE_FORMAT_FIXTURE=1 cargo test --test format` writes the file again; do
//! that only with a new format version.

use vedette_core::{Index, IndexBuilder, Kind, Meta, Tlp};

const V1: &[u8] = include_bytes!("data/v1.vdx");

/// One indicator of every kind, with every metadata field set on some record.
fn built() -> Index {
    let full = Meta {
        source: Some("alliance".into()),
        reference: Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into()),
        description: Some("phishing kit".into()),
        confidence: Some(80),
        tlp: Some(Tlp::AmberStrict),
        tags: vec!["phishing".into(), "kit".into()],
        valid_from: Some(1_700_000_000_000_000),
        valid_until: Some(1_800_000_000_123_456),
    };
    let plain = Meta { source: Some("blocklist".into()), ..Meta::default() };
    #[rustfmt::skip]
    let values: &[(&str, Option<Kind>, &Meta)] = &[
        ("evil.example", None, &full), ("evil.example", None, &plain),
        ("mail.evil.example", Some(Kind::Hostname), &plain),
        ("http://evil.example:8080/login?next=%2F", None, &full), ("http://[2001:db8::1]/x", None, &plain),
        ("a.b+c@evil.example", None, &plain), ("198.51.100.7", None, &full), ("203.0.113.0/24", None, &plain),
        ("198.51.100.1-198.51.100.3", None, &plain), ("2001:db8::/32", None, &plain),
        ("d41d8cd98f00b204e9800998ecf8427e", None, &plain), ("da39a3ee5e6b4b0d3255bfef95601890afd80709", None, &plain),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", None, &full),
        ("cmd.exe /c whoami", Some(Kind::String), &plain),
    ];
    let mut builder = IndexBuilder::new();
    for &(value, kind, meta) in values {
        builder.add(value, kind, meta.clone()).unwrap();
    }
    builder.build().unwrap()
}

fn described(index: &Index) -> Vec<String> {
    index.indicators().map(|i| format!("{} {} {:?}", i.kind, i.value, i.meta)).collect()
}

#[test]
fn version_1_files_keep_loading() {
    let index = built();
    if std::env::var_os("VEDETTE_WRITE_FORMAT_FIXTURE").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/v1.vdx"), index.to_bytes()).unwrap();
    }
    let loaded = Index::from_bytes(V1).expect("the version 1 file loads");
    assert_eq!(described(&loaded), described(&index));
    let hits =
        loaded.find(b"GET http://evil.example:8080/login?next=%2F from 198.51.100.2", 1_750_000_000_000_000);
    let kinds: Vec<Kind> = hits.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [Kind::Domain, Kind::Url, Kind::Ipv4]);
    assert!(index.to_bytes() == V1, "an index built the same way writes other bytes: a format change");
}
