//! Matching time is linear in the text whatever its shape (docs/semantics.md §11.1): for
//! each hostile shape, a scan of 1 MiB of it costs about 16 times a scan of 64 KiB.
//!
//! Times are compared within one run, never against a fixed budget: a quadratic pass
//! shows as a ratio near 256, a linear one near 16, whatever the machine's speed.

use std::time::{Duration, Instant};
use vedette_core::{Index, IndexBuilder, Kind, Meta};

/// Indicators that make every pass of the scan work: names ending in a digit and in a
/// single label (so no run is skipped unread), deep names, URL hosts with ports, paths,
/// queries and an IPv6 host, e-mails, digests, networks and a literal string.
fn index() -> Index {
    let mut builder = IndexBuilder::new();
    let indicators = [
        ("evil.example", None),
        ("a.a.a.a.example", None),
        ("host1.example9", Some(Kind::Hostname)),
        ("localhost", Some(Kind::Hostname)),
        ("http://bad.example/x", None),
        ("http://bad.example:8080/x?y=1", None),
        ("http://a.a.a.example/a/a/a/a", None),
        ("http://[2001:db8::1]/x", None),
        ("a@evil.example", None),
        ("d41d8cd98f00b204e9800998ecf8427e", None),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", None),
        ("1.2.3.4", None),
        ("1.1.0.0/16", None),
        ("2001:db8::/32", None),
        ("aaaa", Some(Kind::String)),
    ];
    for (value, kind) in indicators {
        builder.add(value, kind, Meta::default()).unwrap();
    }
    builder.build().unwrap()
}

/// The shapes: each is repeated to fill the text.
const SHAPES: &[(&str, &[u8])] = &[
    ("letters", b"a"),
    ("upper", b"A"),
    ("digits", b"1"),
    ("hex", b"f"),
    ("dots", b"."),
    ("labels", b"a."),
    ("double-dots", b"a.."),
    ("dashes", b"-"),
    ("underscores", b"_"),
    ("high-bytes", "\u{e9}".as_bytes()),
    ("mixed-case", b"aA1."),
    ("colons", b":"),
    ("hex-colons", b"a:"),
    ("digit-colons", b"1:"),
    ("compressed", b"::1:"),
    ("escapes", b"%41"),
    ("escaped-slash", b"%2F"),
    ("escaped-digits", b"%2F1"),
    ("at-signs", b"@"),
    ("local-parts", b"a@"),
    ("dotted-locals", b"a.a@"),
    ("emails", b"a@evil.example"),
    ("quads", b"1."),
    ("octets", b"1.2."),
    ("url-hosts", b"bad.example/"),
    ("url-ports", b"bad.example:8080/"),
    ("url-queries", b"bad.example/x?"),
    ("url-deep", b"a.a.a.example/a/a/a/"),
    ("url-punctuation", b"bad.example/x."),
    ("url-escapes", b"bad.example/x%2F"),
    ("bracketed", b"[2001:db8::1]"),
    ("schemes", b"http://"),
];

fn text(unit: &[u8], len: usize) -> Vec<u8> {
    unit.iter().copied().cycle().take(len).collect()
}

/// The least time of `runs` scans: the least is the one the machine disturbed least.
fn scan_time(index: &Index, text: &[u8], runs: usize) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(index.find(std::hint::black_box(text), 0));
            start.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn scan_time_is_linear_in_the_text_for_every_shape() {
    const SMALL: usize = 64 << 10;
    const LARGE: usize = 1 << 20;
    let index = index();
    let mut superlinear = Vec::new();
    for &(id, unit) in SHAPES {
        let (small, large) = (text(unit, SMALL), text(unit, LARGE));
        // A shape is measured again when a disturbance of the machine may explain it.
        let ratio = (0..3)
            .map(|_| scan_time(&index, &large, 3).as_secs_f64() / scan_time(&index, &small, 9).as_secs_f64())
            .find(|&ratio| ratio < 48.0);
        if ratio.is_none() {
            let ratio =
                scan_time(&index, &large, 3).as_secs_f64() / scan_time(&index, &small, 9).as_secs_f64();
            superlinear.push(format!("{id}: {ratio:.0}x for 16x the text"));
        }
    }
    assert!(superlinear.is_empty(), "scan time grows faster than the text: {superlinear:#?}");
}
