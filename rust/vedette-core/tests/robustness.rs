//! Matching never panics on any bytes; loading never panics on any bytes; every index the
//! builder makes loads back; the index is safe to share between threads.

use proptest::prelude::*;
use vedette_core::{Index, IndexBuilder, Kind, Meta, Tlp};

fn every_kind() -> &'static Index {
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    INDEX.get_or_init(build_every_kind)
}

fn build_every_kind() -> Index {
    let mut b = IndexBuilder::new();
    for (value, kind) in [
        ("evil.example", None),
        ("mail.evil.example", Some(Kind::Hostname)),
        ("localhost", Some(Kind::Domain)),
        ("http://evil.example/a?b", None),
        ("http://[2001:db8::1]/x", None),
        ("bad@evil.example", None),
        ("root@localhost", Some(Kind::Email)),
        ("d41d8cd98f00b204e9800998ecf8427e", None),
        ("10.0.0.0/8", None),
        ("1.2.3.4", None),
        ("2001:db8::/32", None),
        ("::ffff:0:0/104", None),
        ("evil", Some(Kind::String)),
    ] {
        b.add(value, kind, Meta::default()).unwrap();
    }
    b.build().unwrap()
}

/// Texts of `count` tokens and separators.
fn token_soup(count: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "evil",
        ".",
        "..",
        "example",
        ":",
        "::",
        "[",
        "]",
        "@",
        "/",
        "?",
        "1",
        "10",
        ".2",
        "ffff",
        "2001",
        "db8",
        "d41d8cd98f00b204e9800998ecf8427e",
        "\u{e9}",
        "\0",
        " ",
        "-",
        "_",
        "localhost",
        "%",
        "#",
    ]);
    prop::collection::vec(pieces, count).prop_map(|p| p.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Texts of a few kilobytes: the scan works on 1 KiB chunks, and tokens cross their
    /// edges.
    #[test]
    fn find_never_panics_on_long_texts(
        soup in token_soup(200..900),
        bytes in prop::collection::vec(any::<u8>(), 1000..5000),
    ) {
        let index = every_kind();
        for hay in [soup, bytes] {
            let found = index.find(&hay, 0);
            for m in found.iter() {
                prop_assert!(m.start < m.end && m.end <= hay.len());
            }
            prop_assert_eq!(index.is_match(&hay, 0), !found.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn find_never_panics_on_bytes(hay in prop::collection::vec(any::<u8>(), 0..300)) {
        let index = every_kind();
        let found = index.find(&hay, 0);
        for m in found.iter() {
            prop_assert!(m.start < m.end && m.end <= hay.len());
            prop_assert!(!m.indicators.is_empty());
        }
        prop_assert_eq!(index.is_match(&hay, 0), !found.is_empty());
    }

    #[test]
    fn find_never_panics_on_token_soup(hay in token_soup(0..40)) {
        let index = every_kind();
        let found = index.find(&hay, 0);
        prop_assert_eq!(index.is_match(&hay, 0), !found.is_empty());
        // A match of a chunk is a match of the whole: spans are found in context.
        for m in found.iter() {
            prop_assert!(m.end <= hay.len());
        }
    }

    #[test]
    fn from_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Index::from_bytes(&bytes);
    }

    /// Whatever metadata the builder takes, the index it makes loads back from its
    /// bytes with that metadata: no path writes a file the loader refuses.
    #[test]
    fn every_index_built_loads_back(metas in prop::collection::vec(any_meta(), 1..4)) {
        let mut builder = IndexBuilder::new();
        for (i, meta) in metas.into_iter().enumerate() {
            let _ = builder.add(&format!("{}.evil.example", i % 2), None, meta);
        }
        let index = builder.build().unwrap();
        let again = Index::from_bytes(&index.to_bytes());
        prop_assert!(again.is_ok(), "{:?}", again.err());
        prop_assert_eq!(records(&again.unwrap()), records(&index));
    }
}

fn any_meta() -> impl Strategy<Value = Meta> {
    let text = || prop::option::of(prop::sample::select(vec!["", "feed-a", "d\u{e9}j\u{e0}"]));
    let tlp = prop::option::of(prop::sample::select(vec![
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ]));
    let tags = prop::collection::vec(prop::sample::select(vec!["c2", "", "botnet"]), 0..3);
    let time = || prop::option::of(any::<i64>());
    (text(), text(), prop::option::of(any::<u8>()), tlp, tags, time(), time(), text()).prop_map(
        |(source, reference, confidence, tlp, tags, valid_from, valid_until, description)| Meta {
            source: source.map(String::from),
            reference: reference.map(String::from),
            confidence,
            tlp,
            tags: tags.into_iter().map(String::from).collect(),
            valid_from,
            valid_until,
            description: description.map(String::from),
        },
    )
}

fn records(index: &Index) -> Vec<(Kind, String, Meta)> {
    index.indicators().map(|i| (i.kind, i.value.to_string(), i.meta.clone())).collect()
}

/// The builder takes confidences of 0 to 100, so that every index it makes can be saved
/// and loaded; 255, the file's "no confidence", would have come back as `None`.
#[test]
fn confidence_past_100_is_refused_at_add() {
    for confidence in 0..=u8::MAX {
        let meta = Meta { confidence: Some(confidence), ..Meta::default() };
        let mut builder = IndexBuilder::new();
        match builder.add("evil.example", None, meta) {
            Ok(_) => assert!(confidence <= 100, "confidence {confidence} taken"),
            Err(e) => {
                assert!(confidence > 100, "confidence {confidence} refused: {e}");
                let want =
                    format!("invalid domain \"evil.example\": confidence is {confidence}, more than 100");
                assert_eq!(e.to_string(), want);
                assert!(builder.is_empty());
            }
        }
    }
}

#[test]
fn index_bytes_are_refused_when_cut_or_flipped() {
    let bytes = every_kind().to_bytes();
    for cut in 0..bytes.len() {
        assert!(Index::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    for i in 0..bytes.len() {
        let mut spoiled = bytes.clone();
        spoiled[i] ^= 0x5a;
        assert!(Index::from_bytes(&spoiled).is_err(), "flipped byte {i}");
    }
    let again = Index::from_bytes(&bytes).unwrap();
    let hay = b"GET http://x.evil.example/a?b from 10.1.2.3 d41d8cd98f00b204e9800998ecf8427e";
    assert_eq!(again.find(hay, 0), every_kind().find(hay, 0));
}

#[test]
fn index_is_send_sync_and_unwind_safe() {
    fn assert_traits<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    assert_traits::<Index>();
}
