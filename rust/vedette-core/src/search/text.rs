//! Runs of host-name bytes and dots: the tokens that hold domains, host names, URLs,
//! e-mail addresses, hex digests and IPv4 literals.

use super::class::{self, is, ALNUM, DIGIT, DOT, HOST, LOCAL, RUN, URL_END};
use super::{ip, Collector};
use crate::build::filter::for_each_suffix_hash;
use crate::build::keyed;
use crate::build::tables::{lower_hex, NO_ENTRY};
use crate::indicator::Kind;

/// Longest e-mail local part we walk back over; RFC 5321 allows 64 bytes.
const MAX_LOCAL_PART: usize = 256;

/// Scans every maximal run of `[A-Za-z0-9_.-]` and bytes >= 0x80.
pub(super) fn scan_runs(c: &mut Collector<'_>, hay: &[u8], v6_literals: &[(usize, usize)]) {
    let t = &c.index.tables;
    let wants_names = !t.names.is_empty() || !t.emails.is_empty();
    let wants_hashes = !t.hashes.is_empty();
    let mut next_v6 = 0;
    let mut i = 0;
    while i < hay.len() {
        while i < hay.len() && !is(hay[i], RUN) {
            i += 1;
        }
        let start = i;
        // The classes seen in the run decide which token kinds it can hold at all.
        let mut seen = 0;
        while i < hay.len() && is(hay[i], RUN) {
            seen |= class::of(hay[i]);
            i += 1;
        }
        if start == i {
            break;
        }
        if wants_hashes && i - start >= 32 {
            scan_hashes(c, hay, start, i);
        }
        if t.has_ip && seen & (DIGIT | DOT) == DIGIT | DOT {
            while next_v6 < v6_literals.len() && v6_literals[next_v6].1 <= start {
                next_v6 += 1;
            }
            let near = &v6_literals[next_v6..];
            let near = &near[..near.iter().take_while(|&&(s, _)| s < i).count()];
            scan_ipv4(c, hay, start, i, |pos| near.iter().any(|&(s, e)| s <= pos && pos < e));
        }
        if wants_names && (seen & DOT != 0 || t.dotless_names) {
            scan_names(c, hay, start, i);
        }
        if c.done() {
            return;
        }
    }
}

/// Maximal `[0-9A-Za-z]` runs of a digest's length that are all hex.
fn scan_hashes(c: &mut Collector<'_>, hay: &[u8], start: usize, end: usize) {
    let tables = &c.index.tables;
    let mut i = start;
    while i < end {
        while i < end && !is(hay[i], ALNUM) {
            i += 1;
        }
        let token = i;
        while i < end && is(hay[i], ALNUM) {
            i += 1;
        }
        if let Some(kind) = Kind::hash_of_hex_len(i - token) {
            let mut buf = [0u8; 128];
            if let Some(hex) = lower_hex(&hay[token..i], &mut buf) {
                let hash = keyed::hash(hex);
                if !tables.digest_filter.contains(hash) {
                    continue;
                }
                if let Some(&entry) = tables.hashes.get_hashed(&c.index.entries, hex, hash) {
                    c.report(token, i, kind, &[entry]);
                }
            }
        }
    }
}

fn scan_ipv4(c: &mut Collector<'_>, hay: &[u8], start: usize, end: usize, in_v6: impl Fn(usize) -> bool) {
    let mut i = start;
    while i < end {
        let boundary = i == 0 || !(is(hay[i - 1], ALNUM) || hay[i - 1] == b'.');
        if hay[i].is_ascii_digit() && boundary && !in_v6(i) {
            if let Some((quad_end, addr)) = ip::ipv4_at(hay, i) {
                c.report(i, quad_end, Kind::Ipv4, c.index.tables.ipv4.covering(addr));
                i = quad_end;
                continue;
            }
        }
        i += 1;
    }
}

/// Splits a run into segments (labels joined by single dots) and looks each up.
fn scan_names(c: &mut Collector<'_>, hay: &[u8], start: usize, end: usize) {
    let mut first = start;
    while first < end && hay[first] == b'.' {
        first += 1;
    }
    let mut seg = first;
    while seg < end && !c.done() {
        // A segment ends where a label is not followed by `.` and another label byte.
        let mut seg_end = seg;
        loop {
            while seg_end < end && is(hay[seg_end], HOST) {
                seg_end += 1;
            }
            if seg_end + 1 < end && hay[seg_end] == b'.' && is(hay[seg_end + 1], HOST) {
                seg_end += 1;
            } else {
                break;
            }
        }
        // Only the run's first segment, with no dot before it, starts at a host boundary.
        let at_host_boundary = seg == start;
        lookup_segment(c, hay, first, seg, seg_end, at_host_boundary, seg_end == end);
        seg = seg_end;
        while seg < end && hay[seg] == b'.' {
            seg += 1;
        }
    }
}

/// Looks up one segment `hay[seg..seg_end]`: each label suffix as a domain, the whole as a
/// host name, URL host or e-mail domain. Domain spans start at `span_start`.
fn lookup_segment(
    c: &mut Collector<'_>,
    hay: &[u8],
    span_start: usize,
    seg: usize,
    seg_end: usize,
    at_host_boundary: bool,
    ends_run: bool,
) {
    let index = c.index;
    let tables = &index.tables;
    let name = &hay[seg..seg_end];
    let mut lower = std::mem::take(&mut c.scratch);
    let mut whole = None;
    let mark = c.mark();
    let mut shortest = true;
    for_each_suffix_hash(name, |label, hash| {
        if shortest {
            // Most tokens end in a label that ends no indicator: one filter probe and done.
            shortest = false;
            if !tables.last_label_filter.contains(hash) {
                return false;
            }
        }
        if tables.name_filter.contains(hash) {
            lower.clear();
            lower.extend(name[label..].iter().map(u8::to_ascii_lowercase));
            if let Some(slot) = tables.names.get(&index.entries, &lower[..]) {
                if label == 0 {
                    whole = Some(*slot);
                }
                if slot.domain != NO_ENTRY {
                    c.add(slot.domain);
                }
            }
        }
        true
    });
    c.finish(mark, span_start, seg_end, Kind::Domain);
    c.scratch = lower;

    if at_host_boundary {
        if let Some(slot) = whole {
            if slot.hostname != NO_ENTRY {
                c.report(seg, seg_end, Kind::Hostname, &[slot.hostname]);
            }
            if slot.url_host && ends_run {
                url_candidates(c, hay, seg, seg_end);
            }
        }
        if !tables.emails.is_empty() && seg > 0 && hay[seg - 1] == b'@' {
            email_candidate(c, hay, seg - 1, seg_end);
        }
    }
}

/// The e-mail address whose `@` is at `at` and whose domain ends at `end`.
fn email_candidate(c: &mut Collector<'_>, hay: &[u8], at: usize, end: usize) {
    let floor = at.saturating_sub(MAX_LOCAL_PART + 1);
    let mut local = at;
    while local > floor && is(hay[local - 1], LOCAL) {
        local -= 1;
    }
    if local == at || (local > 0 && is(hay[local - 1], LOCAL)) {
        return;
    }
    let mut lower = std::mem::take(&mut c.scratch);
    lower.clear();
    lower.extend(hay[local..end].iter().map(u8::to_ascii_lowercase));
    if let Some(&entry) = c.index.tables.emails.get(&c.index.entries, &lower[..]) {
        c.report(local, end, Kind::Email, &[entry]);
    }
    c.scratch = lower;
}

/// URLs whose host is `hay[host..host_end]`: the host, an optional `:port`, then a path
/// up to a URL terminator (or up to `?`, for URLs with no query), or the bare host
/// followed by a terminator (for URLs whose path is `/`).
pub(super) fn url_candidates(c: &mut Collector<'_>, hay: &[u8], host: usize, host_end: usize) {
    if host > 0 && (is(hay[host - 1], HOST) || hay[host - 1] == b'.') {
        return;
    }
    let mut after = host_end;
    if hay.get(after) == Some(&b':') {
        let digits = hay[after + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return;
        }
        after += 1 + digits;
    }
    let mut key = std::mem::take(&mut c.scratch);
    key.clear();
    key.extend(hay[host..host_end].iter().map(u8::to_ascii_lowercase));
    key.extend_from_slice(&hay[host_end..after]);
    let (urls, entries) = (&c.index.tables.urls, &c.index.entries[..]);
    match hay.get(after) {
        None | Some(b'?') => bare_host(c, &mut key, host, after),
        Some(&b) if is(b, URL_END) => bare_host(c, &mut key, host, after),
        Some(b'/') => {
            let path_end = hay[after..].iter().position(|&b| is(b, URL_END)).map_or(hay.len(), |p| after + p);
            let host_len = key.len();
            key.extend_from_slice(&hay[after..path_end]);
            if let Some(&entry) = urls.get(entries, &key[..]) {
                c.report(host, path_end, Kind::Url, &[entry]);
            }
            if let Some(q) = memchr::memchr(b'?', &hay[after..path_end]) {
                key.truncate(host_len + q);
                if let Some(&entry) = urls.get(entries, &key[..]) {
                    c.report(host, after + q, Kind::Url, &[entry]);
                }
            }
        }
        Some(_) => {}
    }
    c.scratch = key;
}

fn bare_host(c: &mut Collector<'_>, key: &mut Vec<u8>, host: usize, end: usize) {
    key.push(b'/');
    if let Some(&entry) = c.index.tables.urls.get(&c.index.entries, &key[..]) {
        c.report(host, end, Kind::Url, &[entry]);
    }
}
