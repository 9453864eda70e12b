//! Every canonical value vedette writes out loads back as the same `(kind, value)`: from
//! `Index::indicators()`, from a saved index, from a Zeek intel export, and from a plain
//! list of bare values, whose kinds are inferred.
//!
//! What a plain list cannot carry, and so is not asked of it:
//! - `string` and `hostname`: a bare `evil.example` is a domain, a bare `payload.exe` a
//!   string; only a stated kind tells them apart. A hostname comes back as a domain.
//! - a URL on an IPv4 host whose path is a prefix length, `1.2.3.4/24`: inference reads
//!   an IP network first (and a list reads LOKI's `1.2.3.4/24;comment` as the network
//!   with a description).
//! - names whose last label is no top-level label (`localhost`, `payload.exe`, and URLs
//!   on such hosts): the generators here only use top-level labels.

use std::collections::BTreeSet;

use proptest::prelude::*;
use vedette_core::feed::{parse, write_zeek_intel, Format};
use vedette_core::normalize::normalize;
use vedette_core::{Index, IndexBuilder, Kind, Meta};

/// A host label, some of it upper case, some non-ASCII (an IDN label).
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_-]{1,12}",
        1 => prop::sample::select(vec!["bücher", "пример", "ÄÖ", "xn--bcher-kva", "a-b_c"])
            .prop_map(String::from),
    ]
}

/// A host name of one to three labels under a top-level label, maybe with a trailing dot.
fn host_name() -> impl Strategy<Value = String> {
    let tld =
        prop::sample::select(vec!["com", "DE", "example", "test", "zip", "co", "рф", "xn--p1ai", "onion"]);
    (prop::collection::vec(label(), 1..4), tld, any::<bool>())
        .prop_map(|(labels, tld, dot)| format!("{}.{tld}{}", labels.join("."), if dot { "." } else { "" }))
}

fn ipv4() -> impl Strategy<Value = String> {
    any::<u32>().prop_map(|a| std::net::Ipv4Addr::from(a).to_string())
}

/// An IPv6 address in one of its text forms: RFC 5952, every group written out, or
/// upper case.
fn ipv6() -> impl Strategy<Value = String> {
    let addr = prop_oneof![
        any::<u128>(),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| u128::from(a) << 112 | u128::from(b))
    ];
    (addr, 0..3u8).prop_map(|(a, form)| {
        let ip = std::net::Ipv6Addr::from(a);
        match form {
            0 => ip.to_string(),
            1 => ip.segments().map(|s| format!("{s:x}")).join(":"),
            _ => ip.to_string().to_uppercase(),
        }
    })
}

/// Path and query text: every byte class a real URL holds, including the URL
/// terminators (`,|'"<>` and backtick), percent escapes, `@`, `:`, `;`, brackets of every
/// sort, defanging tokens, what reads as a Zeek escape (`\x41`) and non-ASCII letters.
fn url_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-zA-Z0-9._~-]{1,6}",
        3 => prop::sample::select(vec![
            ",", "|", "'", "\"", "<", ">", "`", "%", "%2F", "%3a", "@", ":", ";", "=", "&", "+", "!",
            "$", "*", "(", ")", "[", "]", "{", "}", "\\", "\\x41", "^", "/", "//", "ä", "€", ".", "..",
            "[.]", "(dot)", "[at]", "[:]", "://", "hxxp://", "http://a.example", "x@y.example",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

/// A URL in any accepted form: optional scheme and userinfo, a host name, IPv4 or
/// bracketed IPv6 host, optional port, path, query and fragment.
fn url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "",
        "http://",
        "HTTPS://",
        "ftp://",
        "ws://",
        "wss://",
        "hxxp://",
        "git+ssh://",
    ]);
    let userinfo = prop::sample::select(vec!["", "user@", "u:p@"]);
    let host = prop_oneof![3 => host_name(), 1 => ipv4(), 1 => ipv6().prop_map(|a| format!("[{a}]"))];
    let port = prop_oneof![
        2 => Just(String::new()),
        1 => prop::sample::select(vec![":80", ":443", ":21", ":8080", ":0", ":65535", ":", ":0080"])
            .prop_map(String::from),
    ];
    let path = url_text().prop_map(|p| if p.is_empty() { p } else { format!("/{p}") });
    let query = prop::option::of(url_text().prop_map(|q| q.replace('#', "")));
    let fragment = prop::option::of(url_text());
    (scheme, userinfo, host, port, path, query, fragment).prop_map(|(s, u, h, port, path, q, f)| {
        // Without a scheme, a userinfo would read as an e-mail address: only a stated
        // kind could keep it a URL.
        let u = if s.is_empty() { "" } else { u };
        let q = q.map(|q| format!("?{q}")).unwrap_or_default();
        let f = f.map(|f| format!("#{f}")).unwrap_or_default();
        // A scheme-less URL needs a path: `evil.example:8080` alone is no URL.
        let path = if s.is_empty() && path.is_empty() && q.is_empty() { "/".to_string() } else { path };
        format!("{s}{u}{h}{port}{path}{q}{f}")
    })
}

/// A value in an accepted form of its kind.
fn value() -> impl Strategy<Value = (Kind, String)> {
    let hex = |kind: Kind| {
        let len = kind.hex_len().unwrap();
        prop::string::string_regex(&format!("[0-9a-fA-F]{{{len}}}")).unwrap().prop_map(move |h| (kind, h))
    };
    prop_oneof![
        3 => host_name().prop_map(|h| (Kind::Domain, h)),
        1 => host_name().prop_map(|h| (Kind::Hostname, h)),
        6 => url().prop_map(|u| (Kind::Url, u)),
        2 => ("[a-zA-Z0-9._%+-]{1,10}", prop_oneof![3 => host_name(), 1 => Just("localhost".to_string())])
            .prop_map(|(local, domain)| (Kind::Email, format!("{local}@{domain}"))),
        1 => hex(Kind::Md5),
        1 => hex(Kind::Sha1),
        1 => hex(Kind::Sha224),
        1 => hex(Kind::Sha256),
        1 => hex(Kind::Sha384),
        1 => hex(Kind::Sha512),
        1 => ipv4().prop_map(|a| (Kind::Ipv4, a)),
        1 => (ipv4(), 0..=32u8).prop_map(|(a, p)| (Kind::Ipv4, format!("{a}/{p}"))),
        1 => (any::<u32>(), any::<u16>()).prop_map(|(a, n)| {
            let b = a.saturating_add(u32::from(n));
            let show = |x: u32| std::net::Ipv4Addr::from(x).to_string();
            (Kind::Ipv4, format!("{}-{}", show(a), show(b)))
        }),
        1 => ipv6().prop_map(|a| (Kind::Ipv6, a)),
        1 => (ipv6(), 0..=128u8).prop_map(|(a, p)| (Kind::Ipv6, format!("{a}/{p}"))),
        1 => (any::<u128>(), any::<u32>()).prop_map(|(a, n)| {
            let b = a.saturating_add(u128::from(n));
            let show = |x: u128| std::net::Ipv6Addr::from(x).to_string();
            (Kind::Ipv6, format!("{}-{}", show(a), show(b)))
        }),
        1 => prop::sample::select(vec!["::ffff:1.2.3.4", "::ffff:10.0.0.0/104", "::FFFF:0:0/96"])
            .prop_map(|v| (Kind::Ipv6, v.to_string())),
        1 => "[ -~]{1,12}".prop_map(|s| (Kind::String, s)),
        // What a Zeek field must escape: null markers, a leading '#', escapes of its own.
        1 => prop::sample::select(vec!["-", "(empty)", "#x", "a\\x09b", "\\\\"])
            .prop_map(|s| (Kind::String, s.to_string())),
    ]
}

/// `(kind, value)` of what loads from `value` with `kind` (inferred for `None`).
fn load(value: &str, kind: Option<Kind>) -> Result<(Kind, String), String> {
    normalize(value, kind, false).map(|n| (n.kind, n.value)).map_err(|e| e.to_string())
}

/// A canonical URL that inference reads as an IP network (or, in a list, LOKI's
/// `network;comment`): an IPv4 host without a port, and a path of digits up to its end or
/// a `;`.
fn url_reads_as_network(url: &str, in_list: bool) -> bool {
    let Some((host, path)) = url.split_once('/') else {
        return false;
    };
    let digits = path.len() - path.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let after = &path[digits..];
    host.parse::<std::net::Ipv4Addr>().is_ok()
        && digits > 0
        && (after.is_empty() || (in_list && digits <= 3 && after.starts_with(';')))
}

/// What a plain list of `canonical` (of `kind`) must load as, or `None` when a list
/// cannot carry it.
fn from_a_list(kind: Kind, canonical: &str, in_list: bool) -> Option<(Kind, String)> {
    match kind {
        Kind::String => None,
        Kind::Url if url_reads_as_network(canonical, in_list) => None,
        Kind::Hostname => Some((Kind::Domain, canonical.to_string())),
        _ => Some((kind, canonical.to_string())),
    }
}

/// Each canonical value of `values` (those that are valid), once.
fn canonical(values: &[(Kind, String)]) -> Vec<(Kind, String)> {
    let mut seen = BTreeSet::new();
    values
        .iter()
        .filter_map(|(kind, v)| load(v, Some(*kind)).ok())
        .filter(|kv| seen.insert(kv.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Normalizing a canonical value again, with its kind or inferring it, changes
    /// nothing.
    #[test]
    fn canonical_values_are_fixed_points((kind, value) in value()) {
        let Ok((kind, canonical)) = load(&value, Some(kind)) else {
            return Ok(());
        };
        prop_assert_eq!(load(&canonical, Some(kind)), Ok((kind, canonical.clone())), "from {:?}", value);
        if let Some(want) = from_a_list(kind, &canonical, false) {
            prop_assert_eq!(load(&canonical, None), Ok(want), "inferred, from {:?}", value);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A plain list of canonical values, one a line, loads back value for value.
    #[test]
    fn a_plain_list_of_canonical_values_loads_back(values in prop::collection::vec(value(), 1..24)) {
        let mut values = canonical(&values);
        values.retain(|(kind, v)| from_a_list(*kind, v, true).is_some());
        let list: String = values.iter().map(|(_, v)| format!("{v}\n")).collect();
        let mut back = Vec::new();
        parse(Format::Lines, list.as_bytes(), "list", &mut |r| {
            let r = r.unwrap();
            back.push(load(&r.value, r.kind));
            Ok(())
        })
        .unwrap();
        let want: Vec<_> = values.iter().map(|(kind, v)| Ok(from_a_list(*kind, v, true).unwrap())).collect();
        prop_assert_eq!(back, want);
    }

    /// A Zeek intel export loads back as the same values, hostnames as domains (Zeek has
    /// one DOMAIN type) and a range that is no single CIDR as the CIDRs that cover it.
    #[test]
    fn a_zeek_export_loads_back(values in prop::collection::vec(value(), 1..24)) {
        let values = canonical(&values);
        let meta = Meta::default();
        let mut out = Vec::new();
        write_zeek_intel(values.iter().map(|(kind, v)| (*kind, v.as_str(), &meta)), &mut out).unwrap();
        let mut back = Vec::new();
        parse(Format::Zeek, &out, "export", &mut |r| {
            let r = r.unwrap();
            back.push(normalize(&r.value, r.kind, true).unwrap());
            Ok(())
        })
        .unwrap();
        let mut back = back.into_iter();
        for (kind, v) in &values {
            let kind = if *kind == Kind::Hostname { Kind::Domain } else { *kind };
            let range = matches!(kind, Kind::Ipv4 | Kind::Ipv6) && v.contains('-');
            if !range {
                let got = back.next().map(|n| (n.kind, n.value));
                prop_assert_eq!(got, Some((kind, v.clone())));
                continue;
            }
            // The blocks follow each other from the range's first address to its last.
            let ip = |n: &vedette_core::normalize::Normalized| match n.ip.unwrap() {
                vedette_core::normalize::IpRange::V4 { first, last } => (u128::from(first), u128::from(last)),
                vedette_core::normalize::IpRange::V6 { first, last } => (first, last),
            };
            let (first, last) = ip(&normalize(v, Some(kind), false).unwrap());
            let mut at = first;
            loop {
                let block = back.next().expect("a block of the range");
                prop_assert_eq!(block.kind, kind);
                let (a, b) = ip(&block);
                prop_assert_eq!(a, at, "range {}", v);
                if b == last {
                    break;
                }
                prop_assert!(b < last, "range {}", v);
                at = b + 1;
            }
        }
        prop_assert!(back.next().is_none());
    }
}

proptest! {
    // Each case builds an index, 60 ms in a debug build.
    #![proptest_config(ProptestConfig::with_cases(50))]

    /// An index gives back the canonical values it was built from, and so does the index
    /// saved and loaded again.
    #[test]
    fn an_index_gives_back_canonical_values(values in prop::collection::vec(value(), 1..24)) {
        let mut builder = IndexBuilder::new();
        for (kind, v) in &values {
            let _ = builder.add(v, Some(*kind), Meta::default());
        }
        let index = builder.build().unwrap();
        let entries = |index: &Index| -> BTreeSet<(Kind, String)> {
            index.indicators().map(|i| (i.kind, i.value.to_string())).collect()
        };
        let want: BTreeSet<_> = canonical(&values).into_iter().collect();
        prop_assert_eq!(&entries(&index), &want);
        for (kind, v) in &want {
            prop_assert_eq!(load(v, Some(*kind)), Ok((*kind, v.clone())));
        }
        let saved = Index::from_bytes(&index.to_bytes()).unwrap();
        prop_assert_eq!(entries(&saved), want);
    }
}
