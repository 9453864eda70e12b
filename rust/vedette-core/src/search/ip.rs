//! IP literals in text (docs/semantics.md §4.12, §4.13): IPv6 runs around colons, and IPv4
//! dotted quads.

use super::block::{Chunk, Class};
use super::class::{escape_before, is, past_escape, ALNUM};
use super::{text, Collector};
use crate::indicator::Kind;
use crate::normalize::{ipv4_mapped, ipv4_prefix_in, parse_ipv6};

/// The IPv6 pass: every literal, found around the colons.
#[derive(Default)]
pub(super) struct Ipv6Pass {
    /// The span of every literal found so far, in order: the IPv4 pass leaves the dotted
    /// quads inside them alone.
    pub literals: Vec<(usize, usize)>,
    /// Where the last `[0-9A-Fa-f:.]` run looked at ended: a run is measured once
    /// however many colons it holds (docs/semantics.md §11.1).
    from: usize,
}

impl Ipv6Pass {
    pub(super) fn scan(&mut self, c: &mut Collector<'_>, hay: &[u8], chunk: &Chunk) {
        for colon in chunk.colon_pairs().positions() {
            if colon < self.from {
                continue;
            }
            let end = chunk.extent_end(hay, Class::V6, colon);
            let start = past_escape(hay, chunk.extent_start(hay, Class::V6, colon), end);
            self.from = end;
            // An address has `::` or six colons or more: times and ports have neither.
            let colons = chunk.bits(&chunk.colon, start, end);
            if colons.is_some_and(|colons| colons & colons >> 1 == 0 && colons.count_ones() < 6) {
                continue;
            }
            if let Some((s, e, addr)) = literal_in_run(hay, start, end) {
                self.literals.push((s, e));
                report_ipv6(c, hay, s, e, addr);
                if c.done() {
                    return;
                }
            }
        }
    }
}

/// The IPv4 pass: every dotted quad outside an IPv6 literal, found from its first digit.
#[derive(Default)]
pub(super) struct Ipv4Pass {
    /// The first IPv6 literal that does not end before the candidate.
    next_v6: usize,
}

impl Ipv4Pass {
    pub(super) fn scan(&mut self, c: &mut Collector<'_>, hay: &[u8], chunk: &Chunk, v6: &[(usize, usize)]) {
        let mut starts = chunk.quad_starts(hay);
        if chunk.may_end_escapes() {
            chunk.add_escape_quad_starts(hay, &mut starts);
        }
        for start in starts.positions() {
            while v6.get(self.next_v6).is_some_and(|&(_, e)| e <= start) {
                self.next_v6 += 1;
            }
            if v6.get(self.next_v6).is_some_and(|&(s, _)| s <= start) {
                continue;
            }
            // No address starts inside a percent escape: `%201.2.3.4` holds `1.2.3.4`.
            if start > 0 && hay[start - 1] == b'%' && hay.get(start + 1).is_some_and(u8::is_ascii_hexdigit) {
                continue;
            }
            // An address that no entry can cover makes no hit, and its first two octets
            // tell most of them: their spelling turns most away unread (a filter of the
            // covered /16s' spellings), their values the rest.
            let ipv4 = &c.index.tables.ipv4;
            let word = hay.get(start..).and_then(<[u8]>::first_chunk::<8>);
            if word.is_some_and(|&word| !ipv4.may_start_covered_slash16(u64::from_le_bytes(word))) {
                continue;
            }
            if let Some((end, addr)) = ipv4_at(hay, start, |slash16| ipv4.covers_in_slash16(slash16)) {
                c.report(start, end, Kind::Ipv4, ipv4.covering(addr));
                if c.done() {
                    return;
                }
            }
        }
    }
}

/// The IPv6 literal of the maximal `[0-9A-Fa-f:.]` run `hay[start..end]`, if it holds one:
/// its span and address.
fn literal_in_run(hay: &[u8], start: usize, end: usize) -> Option<(usize, usize, u128)> {
    let run = &hay[start..end];
    if run.iter().filter(|&&b| b == b':').count() < 2 {
        return None;
    }
    let mut s = start;
    // Glued to a word (`src:2001:db8::1`): the literal starts after the first colon.
    if start > 0 && is(hay[start - 1], ALNUM) && !escape_before(hay, start) {
        s = start + memchr::memchr(b':', run)? + 1;
    }
    let mut e = end;
    while e > s && hay[e - 1] == b'.' {
        e -= 1;
    }
    if e - s >= 2 && hay[s] == b':' && hay[s + 1] != b':' {
        s += 1;
    }
    if e - s >= 2 && hay[e - 1] == b':' && hay[e - 2] != b':' {
        e -= 1;
    }
    let text = &hay[s..e];
    // Without `::`, an address has seven colons (six before a dotted quad): this turns
    // times and MAC addresses away before the parser sees them.
    let colons = text.iter().filter(|&&b| b == b':').count();
    let compressed = text.windows(2).any(|w| w == b"::");
    if text == b"::" || (!compressed && colons < 6) {
        return None;
    }
    parse_ipv6(text).map(|addr| (s, e, addr))
}

fn report_ipv6(c: &mut Collector<'_>, hay: &[u8], s: usize, e: usize, addr: u128) {
    let tables = &c.index.tables;
    match ipv4_mapped(addr) {
        Some(v4) => c.report(s, e, Kind::Ipv4, tables.ipv4.covering(v4)),
        None => c.report(s, e, Kind::Ipv6, tables.ipv6.covering(addr)),
    }
    let bracketed = s > 0 && hay[s - 1] == b'[' && hay.get(e) == Some(&b']');
    if bracketed && tables.bracketed_url_hosts.binary_search(&addr).is_ok() {
        text::url_candidates(c, hay, s - 1, e + 1, text::UrlHost::Ipv6(addr));
    }
}

/// At a digit whose previous byte is not `[A-Za-z0-9.]`: the dotted quad starting here,
/// if the bytes make one with valid boundaries and its /16 is `wanted`. Returns its end.
#[inline]
fn ipv4_at(hay: &[u8], start: usize, wanted: impl Fn(u32) -> bool) -> Option<(usize, u32)> {
    let (len, addr) = ipv4_prefix_in(&hay[start..], wanted)?;
    let end = start + len;
    // The byte after is not `[A-Za-z0-9]`, nor a `.` followed by one (`1.2.3.4.5`).
    match hay.get(end) {
        Some(&b) if is(b, ALNUM) => None,
        Some(b'.') if hay.get(end + 1).is_some_and(|&b| is(b, ALNUM)) => None,
        _ => Some((end, addr)),
    }
}
