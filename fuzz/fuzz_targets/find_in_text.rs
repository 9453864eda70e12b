//! `find` and `is_match` over any text, with a fixed index of every kind
//! (`fixed::INDICATORS`) plus the indicators the input names before its first NUL byte:
//! one per line, `kind<TAB>value` or a bare value. The rest of the input is the text.
//!
//! Checks: the matches of `check::check_find` (spans in bounds and ordered, records of
//! the match's kind and valid), `is_match == !find(..).is_empty()`; a `Scanner` fed the
//! text in pieces reports what `find` on the whole does (docs/semantics.md §7); and
//! `lookup` of an address, hash or e-mail match's text hits the records the match names.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vedette_core::{Index, IndicatorId, Kind, Meta};
use vedette_fuzz::check::check_find;
use vedette_fuzz::fixed::{self, AT};
use vedette_fuzz::{assert_same, pieces, seed_of};

/// More indicators than this from one input find little more.
const MAX_EXTRA: usize = 16;

type Flat = Vec<(usize, usize, Kind, Vec<IndicatorId>)>;

fuzz_target!(|data: &[u8]| {
    let (extra, text) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (&[][..], data),
    };
    let built: Index;
    let index = if extra.is_empty() {
        fixed::index()
    } else {
        let mut builder = fixed::builder().clone();
        for line in extra.split(|&b| b == b'\n').take(MAX_EXTRA) {
            let Ok(line) = std::str::from_utf8(line) else { continue };
            let (kind, value) = match line.split_once('\t').map(|(k, v)| (k.parse::<Kind>(), v)) {
                Some((Ok(kind), value)) => (Some(kind), value),
                _ => (None, line),
            };
            let _ = builder.add(value, kind, Meta::default());
        }
        built = builder.build().expect("a few indicators build");
        &built
    };
    let matches = check_find(index, text, AT);

    // A string that holds a newline is the one thing a scanner does not report.
    let whole: Flat = (matches.iter())
        .filter(|m| !(m.kind == Kind::String && text[m.start..m.end].contains(&b'\n')))
        .map(|m| (m.start, m.end, m.kind, m.indicators.to_vec()))
        .collect();
    let mut streamed: Flat = Vec::new();
    let mut scanner = index.scanner(AT);
    let mut at = 0;
    for len in pieces(text.len(), seed_of(data)) {
        let found = scanner.feed(&text[at..at + len]);
        streamed.extend(found.iter().map(|m| (m.start, m.end, m.kind, m.indicators.to_vec())));
        at += len;
    }
    streamed.extend(scanner.finish().iter().map(|m| (m.start, m.end, m.kind, m.indicators.to_vec())));
    assert_same(&streamed, &whole, "a scanner fed in pieces disagrees with find on the whole");

    for m in matches.iter() {
        let literal = matches!(m.kind, Kind::Ipv4 | Kind::Ipv6 | Kind::Email) || m.kind.hex_len().is_some();
        let Ok(observed) = std::str::from_utf8(&text[m.start..m.end]) else { continue };
        if !literal {
            continue;
        }
        let hits = index
            .lookup(observed, Some(m.kind), AT)
            .unwrap_or_else(|e| panic!("{} match {observed:?} does not look up: {e}", m.kind));
        for id in m.indicators {
            assert!(hits.contains(id), "lookup of the {} match {observed:?} misses record {id:?}", m.kind);
        }
    }
});
