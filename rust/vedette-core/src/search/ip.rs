//! IP literals in text (design §3): IPv6 runs around colons, and IPv4 dotted quads.

use super::class::{is, ALNUM, V6};
use super::{text, Collector};
use crate::indicator::Kind;
use crate::normalize::{ipv4_mapped, parse_ipv4, parse_ipv6};

/// Finds every IPv6 literal, reports its hits, and records its span in `literals` (in
/// order) so that the IPv4 pass leaves the dotted quads inside them alone.
pub(super) fn scan_ipv6(c: &mut Collector<'_>, hay: &[u8], literals: &mut Vec<(usize, usize)>) {
    let mut from = 0;
    while let Some(offset) = memchr::memchr(b':', &hay[from..]) {
        let colon = from + offset;
        let mut start = colon;
        while start > 0 && is(hay[start - 1], V6) {
            start -= 1;
        }
        let mut end = colon + 1;
        while end < hay.len() && is(hay[end], V6) {
            end += 1;
        }
        from = end;
        if let Some((s, e)) = literal_in_run(hay, start, end) {
            literals.push((s, e));
            report_ipv6(c, hay, s, e);
            if c.done() {
                return;
            }
        }
    }
}

/// The IPv6 literal of the maximal `[0-9A-Fa-f:.]` run `hay[start..end]`, if it holds one.
fn literal_in_run(hay: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let run = &hay[start..end];
    if run.iter().filter(|&&b| b == b':').count() < 2 {
        return None;
    }
    let mut s = start;
    // Glued to a word (`src:2001:db8::1`): the literal starts after the first colon.
    if start > 0 && is(hay[start - 1], ALNUM) {
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
    parse_ipv6(text).is_some().then_some((s, e))
}

fn report_ipv6(c: &mut Collector<'_>, hay: &[u8], s: usize, e: usize) {
    let Some(addr) = parse_ipv6(&hay[s..e]) else { return };
    let tables = &c.index.tables;
    match ipv4_mapped(addr) {
        Some(v4) => c.report(s, e, Kind::Ipv4, tables.ipv4.covering(v4)),
        None => c.report(s, e, Kind::Ipv6, tables.ipv6.covering(addr)),
    }
    if tables.bracketed_url_hosts && s > 0 && hay[s - 1] == b'[' && hay.get(e) == Some(&b']') {
        text::url_candidates(c, hay, s - 1, e + 1);
    }
}

/// At a digit whose previous byte is not `[A-Za-z0-9.]`: the dotted quad starting here,
/// if the bytes make one with valid boundaries. Returns its end.
#[inline]
pub(super) fn ipv4_at(hay: &[u8], start: usize) -> Option<(usize, u32)> {
    let digits_from = |mut i: usize| {
        while i < hay.len() && hay[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    // Four maximal digit runs joined by single dots; `parse_ipv4` judges the octets.
    let mut end = digits_from(start);
    for _ in 0..3 {
        if hay.get(end) != Some(&b'.') || !hay.get(end + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        end = digits_from(end + 1);
    }
    // The byte after is not `[A-Za-z0-9]`, nor a `.` followed by one (`1.2.3.4.5`).
    match hay.get(end) {
        Some(&b) if is(b, ALNUM) => return None,
        Some(b'.') if hay.get(end + 1).is_some_and(|&b| is(b, ALNUM)) => return None,
        _ => {}
    }
    parse_ipv4(&hay[start..end]).map(|addr| (end, addr))
}
