//! Checks that hold for every index, whatever made it, and for every search of one.

use std::collections::{BTreeSet, HashSet};

use vedette_core::feed::{self, Format};
use vedette_core::normalize::{self, IpRange};
use vedette_core::{
    Index, IndexBuilder, Indicator, IndicatorId, Kind, LoadOptions, Matches, Meta, Timestamp,
};

/// How many distinct times [`check_index`] searches at: the records valid at none of them
/// are looked up but not searched for.
const SEARCH_TIMES: usize = 4;
/// How many records [`check_index`] looks up and searches for, and the most it exports to
/// Zeek and reads back: a few thousand records cost a fuzzer tens of milliseconds per
/// input, for little more than the first thousand find.
const CHECKED_RECORDS: usize = 1024;

/// A time at which `meta` is in force, if there is one.
pub fn valid_time(meta: &Meta) -> Option<Timestamp> {
    let at = match (meta.valid_from, meta.valid_until) {
        (Some(from), _) => from,
        (None, Some(until)) => until.checked_sub(1)?,
        (None, None) => 0,
    };
    meta.is_valid_at(at).then_some(at)
}

/// Checks the matches of one search of `haystack` at `at`: spans in bounds, non-empty and
/// strictly ordered by start, end and kind (one match per span and kind), every match
/// naming at least one record, each once, of the match's kind and valid at `at`.
/// `record` gives the kind and metadata of a record id, `None` for an id that is not
/// there.
pub fn check_matches<'a>(
    haystack: &[u8],
    at: Timestamp,
    matches: &Matches,
    record: impl Fn(IndicatorId) -> Option<(Kind, &'a Meta)>,
) {
    let mut last: Option<(usize, usize, Kind)> = None;
    for m in matches.iter() {
        let key = (m.start, m.end, m.kind);
        assert!(
            m.start < m.end && m.end <= haystack.len(),
            "match {key:?} in a text of {} bytes",
            haystack.len()
        );
        if let Some(last) = last {
            assert!(last < key, "match {key:?} after {last:?}: not ordered by start, end and kind");
        }
        last = Some(key);
        assert!(!m.indicators.is_empty(), "match {key:?} names no record");
        let distinct: HashSet<IndicatorId> = m.indicators.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            m.indicators.len(),
            "match {key:?} names a record twice: {:?}",
            m.indicators
        );
        for &id in m.indicators {
            let Some((kind, meta)) = record(id) else {
                panic!("match {key:?} names record {id:?}, which does not exist");
            };
            assert_eq!(kind, m.kind, "match {key:?} names record {id:?} of kind {kind}");
            assert!(
                meta.is_valid_at(at),
                "match {key:?} at {at} names record {id:?}, not valid then: {meta:?}"
            );
        }
    }
}

/// Checks a search of `haystack` with [`check_matches`], and that `is_match` agrees.
pub fn check_find(index: &Index, haystack: &[u8], at: Timestamp) -> Matches {
    let matches = index.find(haystack, at);
    check_matches(haystack, at, &matches, |id| index.get(id.as_u32()).map(|r| (r.kind, r.meta)));
    assert_eq!(
        index.is_match(haystack, at),
        !matches.is_empty(),
        "is_match disagrees with find ({} matches)",
        matches.len()
    );
    matches
}

/// Whether a canonical value alone on a line of text is one occurrence of itself (§4):
/// every kind but networks and ranges (whose text is not an address literal) and `::`
/// (which §4.13 does not read as a literal).
pub fn finds_itself(kind: Kind, value: &str) -> bool {
    match kind {
        Kind::Ipv4 | Kind::Ipv6 => !value.contains(['/', '-']) && value != "::",
        _ => true,
    }
}

/// The addresses an IP value covers.
fn range_of(kind: Kind, value: &str) -> Option<IpRange> {
    normalize::normalize(value, Some(kind), true).ok()?.ip
}

/// Checks that an index is usable whole: every record is reachable by its id, found by
/// `lookup` of its own value, and (at a time it is valid) found by `find` in a text made
/// of the values, one per line; the address tables cover each IP record's first and last
/// address; `to_bytes` then `from_bytes` gives the same records, searches and bytes; and
/// the Zeek export reads back.
pub fn check_index(index: &Index) {
    let records: Vec<Indicator<'_>> = index.indicators().collect();
    assert_eq!(records.len(), index.record_count(), "indicators() and record_count() disagree");
    let entries: HashSet<(Kind, &str)> = records.iter().map(|r| (r.kind, r.value)).collect();
    assert_eq!(entries.len(), index.len(), "len() is not the number of distinct (kind, value)");
    let stats = index.stats();
    assert_eq!((stats.entries, stats.records), (index.len(), index.record_count()), "stats() disagree");
    assert!(index.get(records.len() as u32).is_none(), "get() answers past the last id");
    let _ = index.ipv4_bitmap();

    let checked = &records[..records.len().min(CHECKED_RECORDS)];
    let mut text = Vec::new();
    let mut spans = Vec::with_capacity(checked.len());
    for (i, r) in checked.iter().enumerate() {
        assert_eq!(r.id.as_usize(), i, "indicators() out of id order");
        assert_eq!(index.indicator(r.id).value, r.value, "indicator() disagrees with indicators()");
        check_lookup(index, r.id, r.kind, r.value, r.meta);
        spans.push((text.len(), text.len() + r.value.len()));
        text.extend_from_slice(r.value.as_bytes());
        text.push(b'\n');
    }
    let times: BTreeSet<Timestamp> = checked.iter().filter_map(|r| valid_time(r.meta)).collect();
    let searches: Vec<(Timestamp, Matches)> = (times.into_iter().take(SEARCH_TIMES))
        .map(|at| (at, check_self_find(index, checked, &spans, &text, at)))
        .collect();
    check_bytes_round_trip(index, &text, &searches);
    if records.len() <= CHECKED_RECORDS {
        check_zeek_round_trip(index);
    }
}

/// Searches `text`, where `checked[i]`'s value is at `spans[i]`, at `at`, and checks that
/// each record valid then whose value finds itself has a match of its kind there.
fn check_self_find(
    index: &Index,
    checked: &[Indicator<'_>],
    spans: &[(usize, usize)],
    text: &[u8],
    at: Timestamp,
) -> Matches {
    let matches = check_find(index, text, at);
    let mut hit = vec![false; checked.len()];
    for m in matches.iter() {
        for id in m.indicators.iter().map(|id| id.as_usize()).filter(|&id| id < checked.len()) {
            let (start, end) = spans[id];
            hit[id] |= checked[id].kind == m.kind && start <= m.start && m.end <= end;
        }
    }
    for (r, hit) in checked.iter().zip(hit) {
        if !hit && r.meta.is_valid_at(at) && finds_itself(r.kind, r.value) {
            panic!("{} {:?} alone on a line is not found at {at}", r.kind, r.value);
        }
    }
    matches
}

/// Checks that `to_bytes` then `from_bytes` gives the same records, the same `searches`
/// of `text`, and the same bytes again.
fn check_bytes_round_trip(index: &Index, text: &[u8], searches: &[(Timestamp, Matches)]) {
    let bytes = index.to_bytes();
    let back =
        Index::from_bytes(&bytes).unwrap_or_else(|e| panic!("an index does not load what it wrote: {e}"));
    let flat = |index: &Index| -> Vec<(IndicatorId, Kind, String, Meta)> {
        index.indicators().map(|r| (r.id, r.kind, r.value.to_string(), r.meta.clone())).collect()
    };
    crate::assert_same(&flat(&back), &flat(index), "the records change through to_bytes and from_bytes");
    assert_eq!(back.len(), index.len(), "len() changes through to_bytes and from_bytes");
    for (at, matches) in searches {
        assert!(&back.find(text, *at) == matches, "find changes through to_bytes and from_bytes");
    }
    assert!(back.to_bytes() == bytes, "to_bytes of the reloaded index differs");
}

/// Checks that the Zeek intel export of an index loads back (docs/semantics.md §2.3):
/// every record as its value, with a domain's kind for a hostname, its source (or
/// `vedette`) and its description; a range as the networks that cover it.
pub fn check_zeek_round_trip(index: &Index) {
    let mut out = Vec::new();
    let records = index.indicators().map(|r| (r.kind, r.value, r.meta));
    feed::write_zeek_intel(records, &mut out).unwrap_or_else(|e| panic!("the zeek export fails: {e}"));
    let mut builder = IndexBuilder::new();
    let options = LoadOptions { format: Some(Format::Zeek), strict: true, ..LoadOptions::default() };
    let report =
        builder.load(&out, &options).unwrap_or_else(|e| panic!("the zeek export does not load: {e}"));
    let back = builder.build().expect("a reloaded export builds");
    let key = |kind: Kind, value: &str, meta: &Meta| {
        let kind = if kind == Kind::Hostname { Kind::Domain } else { kind };
        let source = meta.source.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "vedette".into());
        let description = meta.description.clone().filter(|d| !d.is_empty());
        (kind, value.to_string(), source, description)
    };
    let loaded: HashSet<_> = back.indicators().map(|r| key(r.kind, r.value, r.meta)).collect();
    for r in index.indicators() {
        if matches!(r.kind, Kind::Ipv4 | Kind::Ipv6) && r.value.contains('-') {
            // The export has no validity windows: any time will do.
            let mut out = [false; 2];
            match range_of(r.kind, r.value) {
                Some(IpRange::V4 { first, last }) => back.match_ipv4(&[first, last], 0, &mut out),
                Some(IpRange::V6 { first, last }) => back.match_ipv6(&[first, last], 0, &mut out),
                None => panic!("the range {} does not normalize strictly", r.value),
            }
            assert_eq!(out, [true, true], "the range {} does not come back from the zeek export", r.value);
            continue;
        }
        let want = key(r.kind, r.value, r.meta);
        assert!(
            loaded.contains(&want),
            "{want:?} does not come back from the zeek export ({} loaded)",
            report.loaded
        );
    }
}

/// Checks that `lookup` of a record's own value hits it when it is valid, that every hit
/// is valid, and that the address tables cover an IP record's ends.
fn check_lookup(index: &Index, id: IndicatorId, kind: Kind, value: &str, meta: &Meta) {
    let at = valid_time(meta);
    let hits = index
        .lookup(value, Some(kind), at.unwrap_or(0))
        .unwrap_or_else(|e| panic!("lookup of the index's own {kind} {value:?} fails: {e}"));
    for &hit in &hits {
        let r = index.get(hit.as_u32()).unwrap_or_else(|| panic!("lookup gives record {hit:?}, not there"));
        assert!(r.meta.is_valid_at(at.unwrap_or(0)), "lookup gives record {hit:?}, not valid then");
    }
    let Some(at) = at else { return };
    assert!(hits.contains(&id), "lookup of {kind} {value:?} at {at} misses its own record {id:?}");
    match range_of(kind, value) {
        Some(IpRange::V4 { first, last }) => {
            let mut out = [false; 2];
            index.match_ipv4(&[first, last], at, &mut out);
            assert_eq!(out, [true, true], "match_ipv4 misses an end of {value}");
            let flows = index.match_flows(&[first], &[last], at);
            assert!(flows.indicators.contains(&id), "match_flows misses {value}");
            assert!(flows.rows.iter().all(|&row| row == 0), "match_flows gives a row past the flows");
        }
        Some(IpRange::V6 { first, last }) => {
            let mut out = [false; 2];
            index.match_ipv6(&[first, last], at, &mut out);
            assert_eq!(out, [true, true], "match_ipv6 misses an end of {value}");
        }
        None => {
            assert!(!matches!(kind, Kind::Ipv4 | Kind::Ipv6), "{kind} {value:?} does not normalize strictly")
        }
    }
}
