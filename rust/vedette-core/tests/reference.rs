//! `Index::find` against a deliberately naive reference: for every indicator and every
//! position, test the boundary rules of docs/semantics.md §4 directly.

use proptest::prelude::*;
use vedette_core::{IndexBuilder, Kind, Meta};

fn host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b >= 0x80
}

fn ends_host(text: &[u8], end: usize) -> bool {
    match text.get(end) {
        None => true,
        Some(&b) if host_byte(b) => false,
        Some(b'.') => !text.get(end + 1).is_some_and(|&b| host_byte(b)),
        Some(_) => true,
    }
}

/// Whether `text[..p]` ends with a percent escape `%XX`: a boundary, as a space would be.
fn escape_before(text: &[u8], p: usize) -> bool {
    p >= 3 && text[p - 3] == b'%' && text[p - 2].is_ascii_hexdigit() && text[p - 1].is_ascii_hexdigit()
}

/// Whether `p` is the first digit of a percent escape: no token starts there.
fn inside_escape(text: &[u8], p: usize) -> bool {
    p + 2 <= text.len() && escape_before(text, p + 2)
}

/// A URL terminator at `p` (or the end): whitespace, ``"'<>`,|``, NUL, `#`, `”` `’` `»`.
fn url_terminator(text: &[u8], p: usize) -> bool {
    let rest = &text[p.min(text.len())..];
    rest.is_empty()
        || b" \t\n\x0b\x0c\r\"'<>`,|\0#".contains(&rest[0])
        || ["\u{201d}", "\u{2019}", "\u{bb}"].iter().any(|q| rest.starts_with(q.as_bytes()))
}

/// Whether a URL may end at `end`: a terminator, `?` for a URL without a query, or
/// trailing punctuation and then a terminator.
fn url_ends(text: &[u8], end: usize, has_query: bool) -> bool {
    let mut p = end;
    while p < text.len() && b".,:;!?)]}".contains(&text[p]) {
        p += 1;
    }
    url_terminator(text, end) || (!has_query && text.get(end) == Some(&b'?')) || url_terminator(text, p)
}

/// The URL `url` (canonical, no port) at `p`: the host (any case, then an optional dot),
/// then the path byte for byte; or the bare host for a path of `/`. Returns the ends.
fn url_at(text: &[u8], p: usize, url: &str) -> Vec<usize> {
    let (host, path) = url.split_at(url.find('/').unwrap());
    let mut ends = Vec::new();
    let Some(here) = text.get(p..p + host.len()) else { return ends };
    if !here.eq_ignore_ascii_case(host.as_bytes()) {
        return ends;
    }
    let after = p + host.len();
    for at in [after, after + 1] {
        if at == after + 1 && !(text.get(after) == Some(&b'.') && text.get(at) == Some(&b'/')) {
            continue;
        }
        if text[at.min(text.len())..].starts_with(path.as_bytes())
            && url_ends(text, at + path.len(), path.contains('?'))
        {
            ends.push(at + path.len());
        }
    }
    // An empty path is `/`: `evil.example?x=1` is the URL `evil.example/?x=1`.
    if let Some(query) = path.strip_prefix('/').filter(|q| q.starts_with('?')) {
        if text[after..].starts_with(query.as_bytes()) && url_ends(text, after + query.len(), true) {
            ends.push(after + query.len());
        }
    }
    // A bare host must end as a host does: bytes >= 0x80 are host bytes, so a closing
    // quote glued to it (`evil.example”`) makes it another name.
    let host_ends = !text.get(after).is_some_and(|&b| host_byte(b));
    if path == "/" && host_ends && url_ends(text, after, false) {
        ends.push(after);
    }
    ends
}

type Found = Vec<(usize, usize, Kind, Vec<String>)>;

/// Every match of `indicators` (kind, canonical value) in `text`, rule by rule.
fn naive(indicators: &[(Kind, String)], text: &[u8]) -> Found {
    let mut found: std::collections::BTreeMap<(usize, usize, Kind), Vec<String>> = Default::default();
    for (kind, value) in indicators {
        let v = value.as_bytes();
        if *kind == Kind::Url {
            for p in 0..text.len() {
                let before = p.checked_sub(1).map(|i| text[i]);
                let boundary = before.is_none_or(|b| !(host_byte(b) || b == b'.')) || escape_before(text, p);
                if boundary && !inside_escape(text, p) {
                    for end in url_at(text, p, value) {
                        found.entry((p, end, *kind)).or_default().push(value.clone());
                    }
                }
            }
            continue;
        }
        for p in 0..text.len().saturating_sub(v.len() - 1) {
            let end = p + v.len();
            let here = &text[p..end];
            // A percent escape before a token is a boundary; no token starts inside one.
            let before = match escape_before(text, p) {
                true => None,
                false => p.checked_sub(1).map(|i| text[i]),
            };
            if inside_escape(text, p) && *kind != Kind::String {
                continue;
            }
            let span = match kind {
                Kind::String if here == v => Some((p, end)),
                Kind::Domain | Kind::Hostname if here.eq_ignore_ascii_case(v) && ends_host(text, end) => {
                    let ok_before = match before {
                        None => true,
                        Some(b'.') => *kind == Kind::Domain,
                        Some(b) => !host_byte(b),
                    };
                    let mut start = p;
                    while start > 0
                        && (host_byte(text[start - 1]) || text[start - 1] == b'.')
                        && !escape_before(text, start)
                    {
                        start -= 1;
                    }
                    while text[start] == b'.' {
                        start += 1;
                    }
                    let start = if *kind == Kind::Domain { start } else { p };
                    ok_before.then_some((start, end))
                }
                Kind::Md5 | Kind::Sha1 if here.eq_ignore_ascii_case(v) => {
                    let alnum_at = |i: Option<&u8>| i.is_some_and(|b| b.is_ascii_alphanumeric());
                    (!alnum_at(before.as_ref()) && !alnum_at(text.get(end))).then_some((p, end))
                }
                Kind::Ipv4 if here == v => {
                    let bad_before = before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.');
                    let bad_after = match text.get(end) {
                        Some(b) if b.is_ascii_alphanumeric() => true,
                        Some(b'.') => text.get(end + 1).is_some_and(|b| b.is_ascii_alphanumeric()),
                        _ => false,
                    };
                    (!bad_before && !bad_after).then_some((p, end))
                }
                _ => None,
            };
            if let Some((s, e)) = span {
                found.entry((s, e, *kind)).or_default().push(value.clone());
            }
        }
    }
    found
        .into_iter()
        .map(|((s, e, k), mut values)| {
            values.sort();
            (s, e, k, values)
        })
        .collect()
}

fn indicator() -> impl Strategy<Value = (Kind, String)> {
    let label = prop::sample::select(vec!["evil", "a", "b-c", "x1", "mail"]);
    let tld = prop::sample::select(vec!["example", "test", "com"]);
    prop_oneof![
        (prop::collection::vec(label.clone(), 0..3), tld.clone()).prop_map(|(labels, tld)| (
            Kind::Domain,
            [labels.join("."), tld.to_string()].join(".").trim_start_matches('.').to_string()
        )),
        (prop::collection::vec(label, 1..3), tld)
            .prop_map(|(labels, tld)| (Kind::Hostname, format!("{}.{tld}", labels.join(".")))),
        prop::sample::select(vec!["1.2.3.4", "10.0.0.1", "1.2.3.44", "201.2.3.4"])
            .prop_map(|v| (Kind::Ipv4, v.to_string())),
        prop::sample::select(vec![
            "d41d8cd98f00b204e9800998ecf8427e",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        ])
        .prop_map(|v| (if v.len() == 32 { Kind::Md5 } else { Kind::Sha1 }, v.to_string())),
        prop::sample::select(vec!["evil", "a.b", "--", "0x"]).prop_map(|v| (Kind::String, v.to_string())),
        (prop::sample::select(vec!["evil.example", "a.evil.example", "1.2.3.4"]), url_path())
            .prop_map(|(host, path)| (Kind::Url, format!("{host}{path}"))),
    ]
}

/// URL paths holding every byte class: terminators, trailing punctuation, `?`, `%`, `@`.
fn url_path() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a", "B", "1", ",", "|", "'", "\"", "<", ">", "`", ".", ")", "?", "=", "%2F", "@", ":", "/", "-", "_",
    ]);
    prop::collection::vec(piece, 0..5).prop_map(|pieces| format!("/{}", pieces.concat()))
}

fn haystack(indicators: Vec<(Kind, String)>) -> impl Strategy<Value = (Vec<(Kind, String)>, Vec<u8>)> {
    let mut pieces: Vec<String> = indicators.iter().map(|(_, v)| v.clone()).collect();
    pieces.extend(
        [
            ".",
            " ",
            "-",
            "_",
            "a",
            "1",
            ".",
            "/",
            "=",
            "EVIL.",
            "x",
            "\u{e9}",
            "0",
            "d41d8cd98f00b204e9800998ecf8427e0",
            "http://",
            "%2F",
            "%3a",
            "%20",
            "?",
            ",",
            ")",
            "'",
            "\"",
            "|",
            "/a",
            "\u{201d}",
        ]
        .map(String::from),
    );
    let text =
        prop::collection::vec(prop::sample::select(pieces), 0..24).prop_map(|p| p.concat().into_bytes());
    (Just(indicators), text)
}

/// What `find` reports, as the naive reference does.
fn found(indicators: &[(Kind, String)], text: &[u8]) -> (Found, Found) {
    let mut builder = IndexBuilder::new();
    for (kind, value) in indicators {
        builder.add(value, Some(*kind), Meta::default()).unwrap();
    }
    let index = builder.build().unwrap();
    let mut unique = indicators.to_vec();
    unique.sort();
    unique.dedup();
    let got: Found = index
        .find(text, 0)
        .iter()
        .map(|m| {
            let mut values: Vec<String> =
                m.indicators.iter().map(|&i| index.indicator(i).value.to_string()).collect();
            values.sort();
            (m.start, m.end, m.kind, values)
        })
        .collect();
    (got, naive(&unique, text))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]
    #[test]
    fn find_agrees_with_naive((indicators, text) in prop::collection::vec(indicator(), 1..6).prop_flat_map(haystack)) {
        let (got, expected) = found(&indicators, &text);
        prop_assert_eq!(got, expected, "text {:?}", String::from_utf8_lossy(&text));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// The scan works on 1 KiB chunks: the same texts, pushed across the first chunk edge
    /// by a run of one byte that may join the tokens there.
    #[test]
    fn find_agrees_with_naive_across_chunk_edges(
        (indicators, text) in prop::collection::vec(indicator(), 1..6).prop_flat_map(haystack),
        pad in prop::sample::select(vec![b' ', b'x', b'1', b'.', b':', b'f']),
        pad_len in 990..1030usize,
    ) {
        let mut padded = vec![pad; pad_len];
        padded.extend_from_slice(&text);
        let (got, expected) = found(&indicators, &padded);
        prop_assert_eq!(got, expected, "pad {:?} x {}, text {:?}", pad as char, pad_len, String::from_utf8_lossy(&text));
    }
}

/// A token cut by a chunk edge (the scan works on 1 KiB chunks) at each of its bytes: the
/// part before the edge decides as much as the part after.
#[test]
fn tokens_cut_by_the_chunk_edge_agree_with_naive() {
    let indicators = [
        (Kind::Domain, "evil.example".to_string()),
        (Kind::Hostname, "mail.bad.test".to_string()),
        (Kind::Ipv4, "10.1.2.3".to_string()),
        (Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e".to_string()),
        (Kind::Ipv6, "2001:db8:1:2:3:4:5:6".to_string()),
        (Kind::Ipv6, "::1".to_string()),
    ];
    let tokens = [
        "evil.example..2026",
        "x.evil.example.7",
        "a.evil.example",
        "mail.bad.test..a",
        "-10.1.2.3-",
        "10.1.2.3.4",
        "D41D8CD98F00B204E9800998ECF8427E",
    ];
    fn cut_at_every_byte(token: &str) -> impl Iterator<Item = (usize, Vec<u8>)> + '_ {
        (0..=token.len()).map(move |cut| {
            let mut text = vec![b' '; 1024 - cut];
            text.extend_from_slice(token.as_bytes());
            text.extend_from_slice(b" end");
            (cut, text)
        })
    }
    for token in tokens {
        for (cut, text) in cut_at_every_byte(token) {
            let (got, expected) = found(&indicators, &text);
            assert_eq!(got, expected, "{token:?} cut after {cut} bytes");
        }
    }
    // The reference knows no IPv6: these spans are the literal's, from the token's start.
    for (token, start, end, value) in [
        ("[2001:db8:1:2:3:4:5:6]:443", 1, 21, "2001:db8:1:2:3:4:5:6"),
        ("::1", 0, 3, "::1"),
        ("x:0:0:0:0:0:0:0:1", 2, 17, "::1"),
    ] {
        for (cut, text) in cut_at_every_byte(token) {
            let at = 1024 - cut;
            let (got, _) = found(&indicators, &text);
            assert_eq!(
                got,
                [(at + start, at + end, Kind::Ipv6, vec![value.to_string()])],
                "{token:?} cut after {cut}"
            );
        }
    }
}
