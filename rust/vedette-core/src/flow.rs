//! Batch lookups over columns: of addresses, as flow records give them, and of observed
//! values (a DNS log's query names, a proxy log's URLs).

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::index::Index;
use crate::indicator::{IndicatorId, Kind, Timestamp};

/// Rows per task of a parallel [`Index::lookup_many`]: enough that a task's overhead (a
/// few microseconds) vanishes against its lookups, few enough that two cores share a
/// column of a hundred thousand rows.
const LOOKUP_BLOCK: usize = 8 * 1024;

/// The hits of [`Index::match_flows`] and [`Index::lookup_many`]: one `(row, indicator)`
/// pair per hit, by row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowHits {
    pub rows: Vec<u64>,
    pub indicators: Vec<IndicatorId>,
}

impl Index {
    /// Writes into `out[i]` whether an indicator valid at `at` covers `addresses[i]`.
    ///
    /// # Panics
    /// When `out` and `addresses` differ in length: a mask of another length would be
    /// answered in part, or leave stale answers past the addresses.
    ///
    /// # Example
    /// ```
    /// let index = vedette_core::Index::new(["10.0.0.0/8"])?;
    /// let mut out = [true; 2];
    /// index.match_ipv4(&[0x0a01_0203, 0x0808_0808], 0, &mut out);
    /// assert_eq!(out, [true, false]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn match_ipv4(&self, addresses: &[u32], at: Timestamp, out: &mut [bool]) {
        check_out(addresses.len(), out.len());
        let table = &self.tables.ipv4;
        for (hit, &addr) in out.iter_mut().zip(addresses) {
            *hit = table.covering(addr).iter().any(|&e| self.any_valid(e, at));
        }
    }

    /// Like [`Index::match_ipv4`] for IPv6 addresses (IPv4-mapped ones are looked up as
    /// IPv4).
    ///
    /// # Panics
    /// When `out` and `addresses` differ in length.
    pub fn match_ipv6(&self, addresses: &[u128], at: Timestamp, out: &mut [bool]) {
        check_out(addresses.len(), out.len());
        for (hit, &addr) in out.iter_mut().zip(addresses) {
            *hit = self.ip_entries(addr).iter().any(|&e| self.any_valid(e, at));
        }
    }

    /// The entries that cover the IPv6 address `addr` (an IPv4-mapped one as IPv4).
    pub(crate) fn ip_entries(&self, addr: u128) -> &[u32] {
        match crate::normalize::ipv4_mapped(addr) {
            Some(v4) => self.tables.ipv4.covering(v4),
            None => self.tables.ipv6.covering(addr),
        }
    }

    /// Every flow whose source or destination address an indicator valid at `at` covers:
    /// one `(row, indicator)` pair per hit, an indicator hit by both sides listed once.
    ///
    /// # Panics
    /// When `src` and `dst` differ in length.
    pub fn match_flows(&self, src: &[u32], dst: &[u32], at: Timestamp) -> FlowHits {
        assert_eq!(src.len(), dst.len(), "src and dst columns differ in length");
        let table = &self.tables.ipv4;
        let mut hits = FlowHits::default();
        let mut ids = Vec::new();
        for (row, (&s, &d)) in src.iter().zip(dst).enumerate() {
            let (by_src, by_dst) = (table.covering(s), table.covering(d));
            if by_src.is_empty() && by_dst.is_empty() {
                continue;
            }
            ids.clear();
            for &entry in by_src.iter().chain(by_dst) {
                self.valid_records(entry, at, &mut ids);
            }
            ids.sort_unstable();
            ids.dedup();
            hits.rows.extend(std::iter::repeat_n(row as u64, ids.len()));
            hits.indicators.extend_from_slice(&ids);
        }
        hits
    }
}

impl Index {
    /// Every `(row, record)` pair of a column of `rows` observed values: row `i` is
    /// `value(i)` (None: a null), looked up as [`Index::lookup`] looks up one value. A
    /// value that is not UTF-8, or no valid indicator of `kind` (of any kind when None),
    /// hits nothing: a log column holds `-`, empty fields and junk beside its values.
    /// Rows are looked up on the rayon pool, in blocks, and come out in order.
    pub fn lookup_many<'v>(
        &self,
        rows: usize,
        value: impl Fn(usize) -> Option<&'v [u8]> + Sync,
        kind: Option<Kind>,
        at: Timestamp,
    ) -> FlowHits {
        lookup_rows(rows, value, Repeats::Reuse, |v| self.lookup(v, kind, at).ok())
    }
}

/// [`Index::lookup_many`] with any one-value `lookup` (an index's, a snapshot's).
pub(crate) fn lookup_rows<'v>(
    rows: usize,
    value: impl Fn(usize) -> Option<&'v [u8]> + Sync,
    repeat: Repeats,
    lookup: impl Fn(&str) -> Option<Vec<IndicatorId>> + Sync,
) -> FlowHits {
    let block = |start: usize| {
        let mut hits = FlowHits::default();
        // Log columns repeat their values (a DNS log asks for the same few thousand names
        // all day): within a block, a value seen before takes the ids of its first row
        // from here, a hash probe instead of a lookup.
        let capacity = if repeat == Repeats::Reuse { LOOKUP_BLOCK.min(rows - start) } else { 0 };
        let mut seen: FxHashMap<&[u8], (usize, usize)> =
            FxHashMap::with_capacity_and_hasher(capacity, Default::default());
        for row in start..(start + LOOKUP_BLOCK).min(rows) {
            let Some(bytes) = value(row) else {
                continue;
            };
            if repeat == Repeats::Reuse {
                if let Some(&(from, to)) = seen.get(bytes) {
                    hits.rows.extend(std::iter::repeat_n(row as u64, to - from));
                    hits.indicators.extend_from_within(from..to);
                    continue;
                }
            }
            let from = hits.indicators.len();
            if let Some(ids) = utf8(bytes).and_then(&lookup) {
                hits.rows.extend(std::iter::repeat_n(row as u64, ids.len()));
                hits.indicators.extend_from_slice(&ids);
            }
            if repeat == Repeats::Reuse {
                seen.insert(bytes, (from, hits.indicators.len()));
            }
        }
        hits
    };
    if rows <= LOOKUP_BLOCK {
        return block(0);
    }
    let blocks: Vec<FlowHits> =
        (0..rows).step_by(LOOKUP_BLOCK).collect::<Vec<_>>().into_par_iter().map(block).collect();
    let mut hits = FlowHits::default();
    hits.rows.reserve(blocks.iter().map(|b| b.rows.len()).sum());
    hits.indicators.reserve(hits.rows.capacity());
    for b in blocks {
        hits.rows.extend_from_slice(&b.rows);
        hits.indicators.extend_from_slice(&b.indicators);
    }
    hits
}

/// Whether [`lookup_rows`] may answer a repeated value from its first row: yes for a
/// lookup that is a function of the value alone; no for one that counts what it is asked
/// (a snapshot keeping sightings counts every row).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeats {
    Reuse,
    LookUpEach,
}

/// `bytes` as text when they are UTF-8. Most values of a log column are ASCII, which a
/// word-at-a-time test tells sooner than the full validation does for short strings.
#[inline]
fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

fn check_out(addresses: usize, out: usize) {
    assert_eq!(out, addresses, "out has {out} slots for {addresses} addresses");
}

#[cfg(test)]
mod tests {
    use crate::Index;

    fn index() -> Index {
        Index::new(["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]).unwrap()
    }

    #[test]
    fn masks_have_one_answer_per_address() {
        let v4 = [0x0a00_0001, 0xc000_0201, 0xc000_0202];
        let v6 = [0x2001_0db8 << 96, 0xffff_c000_0201, 1];
        let mut out = [false; 3];
        index().match_ipv4(&v4, 0, &mut out);
        assert_eq!(out, [true, true, false], "ipv4");
        index().match_ipv6(&v6, 0, &mut out);
        assert_eq!(out, [true, true, false], "ipv6");
    }

    /// `lookup_many` answers each row as `lookup` does, across blocks and in row order.
    #[test]
    fn lookup_many_is_lookup_per_row() {
        let index =
            Index::new(["10.0.0.0/8", "evil.example", "http://a.example/x", "2001:db8::/32"]).unwrap();
        let column: Vec<Option<&[u8]>> = [
            Some(&b"www.evil.example"[..]),
            None,
            Some(b"10.1.2.3"),
            Some(b"-"),
            Some(b""),
            Some(b"\xff\xfe"),
            Some(b"a.example/x"),
            Some(b"2001:db8::1"),
            Some(b"benign.example"),
        ]
        .into_iter()
        .cycle()
        .take(9 * 2000)
        .collect();
        let hits = index.lookup_many(column.len(), |i| column[i], None, 0);
        let mut want = super::FlowHits::default();
        for (row, value) in column.iter().enumerate() {
            let text = value.and_then(|v| std::str::from_utf8(v).ok());
            for id in text.and_then(|t| index.lookup(t, None, 0).ok()).unwrap_or_default() {
                want.rows.push(row as u64);
                want.indicators.push(id);
            }
        }
        assert_eq!(want.rows.len(), 4 * 2000);
        assert_eq!(hits, want);
        let hosts = index.lookup_many(column.len(), |i| column[i], Some(crate::Kind::Domain), 0);
        assert_eq!(hosts.rows.len(), 2000, "only the host names, as domains");
    }

    #[test]
    #[should_panic(expected = "out has 1 slots for 2 addresses")]
    fn ipv4_short_out() {
        index().match_ipv4(&[1, 2], 0, &mut [false; 1]);
    }

    #[test]
    #[should_panic(expected = "out has 3 slots for 2 addresses")]
    fn ipv4_long_out() {
        index().match_ipv4(&[1, 2], 0, &mut [false; 3]);
    }

    #[test]
    #[should_panic(expected = "out has 0 slots for 1 addresses")]
    fn ipv6_short_out() {
        index().match_ipv6(&[1], 0, &mut []);
    }
}
