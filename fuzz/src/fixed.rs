//! A fixed index with indicators of every kind, for the targets that fuzz text rather
//! than indicators: some are the examples of docs/semantics.md §4, some occur in the
//! real logs a corpus is seeded with, so that those inputs reach the hit paths.

use std::sync::OnceLock;

use vedette_core::{Index, IndexBuilder, Kind, Meta, Timestamp};

/// The time the fixed index is searched at: 2025-01-01T00:00:00Z.
pub const AT: Timestamp = 1_735_689_600_000_000;

/// `(kind, value)`, the kind `None` where it is inferred.
pub const INDICATORS: &[(Option<Kind>, &str)] = &[
    (None, "evil.example"),
    (None, "b.evil.example"),
    (Some(Kind::Hostname), "mail.evil.example"),
    (Some(Kind::Hostname), "evil.example"),
    (Some(Kind::Hostname), "localhost"),
    (None, "bücher.de"),
    (None, "_dmarc.example.org"),
    (None, "duckdns.org"),
    (None, "google.com"),
    (None, "dns.google"),
    (None, "amazonaws.com"),
    (Some(Kind::Domain), "payload.exe"),
    (None, "http://evil.example/a"),
    (None, "http://evil.example/a,b"),
    (None, "https://evil.example:8443/p?q=1"),
    (None, "http://evil.example/"),
    (None, "evil.example:8080/x"),
    (None, "http://[2001:db8::1]:8080/x"),
    (None, "http://1.2.3.4/bins/x.sh"),
    (None, "ftp://files.example:21/pub/"),
    (None, "http://www.google.com/"),
    (None, "1.2.3.4"),
    (None, "8.8.8.8"),
    (None, "10.0.0.0/8"),
    (None, "10.1.2.3"),
    (None, "192.168.0.0/16"),
    (None, "192.168.10.5-192.168.10.9"),
    (None, "203.0.113.0/24"),
    (None, "2001:db8::1"),
    (None, "2001:db8::/32"),
    (None, "64:ff9b::/96"),
    (None, "fe80::/10"),
    (None, "::1"),
    (None, "bad@evil.example"),
    (None, "a.b+c@evil.example"),
    (None, "d41d8cd98f00b204e9800998ecf8427e"),
    (None, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    (None, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (Some(Kind::String), "Mozilla/5.0 (evil)"),
    (Some(Kind::String), "aa"),
    (Some(Kind::String), "cmd.exe /c"),
    (Some(Kind::String), "évil"),
    (Some(Kind::String), "line one\nline two"),
];

/// Records with a validity window, one in force at [`AT`] and one not.
const WINDOWED: &[(&str, Option<Timestamp>, Option<Timestamp>)] = &[
    ("window.example", Some(AT - 1), Some(AT + 1)),
    ("expired.example", None, Some(AT)),
    ("evil.example", Some(AT + 1), None),
];

/// The builder of the fixed index: every indicator once, some twice with another
/// source, and the windowed records.
pub fn builder() -> &'static IndexBuilder {
    static BUILDER: OnceLock<IndexBuilder> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = IndexBuilder::new();
        for (i, &(kind, value)) in INDICATORS.iter().enumerate() {
            builder.add(value, kind, Meta::default()).unwrap_or_else(|e| panic!("{value}: {e}"));
            if i % 3 == 0 {
                let meta = Meta { source: Some("second".into()), confidence: Some(50), ..Meta::default() };
                builder.add(value, kind, meta).unwrap_or_else(|e| panic!("{value}: {e}"));
            }
        }
        for &(value, valid_from, valid_until) in WINDOWED {
            let meta = Meta { valid_from, valid_until, ..Meta::default() };
            builder.add(value, None, meta).unwrap_or_else(|e| panic!("{value}: {e}"));
        }
        builder
    })
}

/// The fixed index, built once.
pub fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| builder().build().expect("the fixed indicators build"))
}
