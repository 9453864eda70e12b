//! Runs of host-name bytes and dots, and of alphanumerics: the tokens that hold domains,
//! host names, URLs, e-mail addresses and hex digests.

use super::block::{Chunk, Class, NameSeeds};
use std::io::Write;

use super::class::{escape_before, is, is_local, past_escape, url_ends_at, HOST, RUN, URL_END};
use super::Collector;
use crate::build::filter::for_each_suffix_hash;
use crate::build::keyed;
use crate::build::tables::{lower_hex, NO_ENTRY};
use crate::build::urls::PathText;
use crate::indicator::Kind;
use crate::normalize;

use crate::normalize::MAX_LOCAL_PART;

/// The name pass: host names, URL hosts and e-mail domains, in the runs of
/// `[A-Za-z0-9_.-]` and bytes >= 0x80.
///
/// Every name, URL host and e-mail domain has a dot, so unless some indicator is a single
/// label we look only at the runs that hold one, from their last byte: the bytes of
/// dotless words are never touched, and a run whose last byte ends no key is dropped
/// without reading it (or, for the runs ending in a digit, before it is found).
pub(super) fn scan_name_runs(c: &mut Collector<'_>, hay: &[u8], chunk: &Chunk, shared: &mut NameSeeds<'_>) {
    let tables = &c.index.tables;
    let ends = &tables.name_ends;
    // Without `..`, a run's names all end at its last byte, and most runs (numbers,
    // most of all) end in a byte that ends no indicator.
    let double_dot_in_chunk = shared.has_double_dot();
    let skip_digit_ends = !ends.has_digit() && !double_dot_in_chunk;
    let seeds = shared.run_ends(hay, tables.dotless_names, skip_digit_ends);
    // The first run may have begun in the chunk before, where a `..` the chunk's masks do
    // not show may be: only that run needs its extent before its last byte can rule it out.
    let mut from_before = chunk.base > 0 && is(hay[chunk.base - 1], RUN);
    for last in seeds.positions() {
        // Most runs end in a byte that ends no key: one table probe turns them away before
        // their extent is measured (a small delta's tables end in few bytes).
        let ends_no_key = hay[last] != b'.' && !ends.contains(hay[last]);
        let may_hold_double_dot = std::mem::take(&mut from_before) || double_dot_in_chunk;
        if ends_no_key && !may_hold_double_dot {
            continue;
        }
        let end = last + 1;
        let start = past_escape(hay, chunk.extent_start(hay, Class::Run, end), end);
        if start == end {
            continue; // nothing but an escape's digits
        }
        let dots = chunk.bits(&chunk.dot, start, end);
        let double_dot = match dots {
            Some(dots) => dots & dots >> 1 != 0,
            None => memchr::memmem::find(&hay[start..end], b"..").is_some(),
        };
        if ends_no_key && !double_dot {
            continue;
        }
        // Most runs are one segment: no dot at either end, no two dots in a row.
        let single_segment = dots.is_some_and(|dots| dots & (dots >> 1 | 1 | 1 << (end - start - 1)) == 0);
        match single_segment {
            true => lookup_segment(c, hay, start, start, end, true, true),
            false => scan_names(c, hay, start, end),
        }
        if c.done() {
            return;
        }
    }
}

/// The digest pass: maximal `[0-9A-Za-z]` runs of a digest's length that are all hex.
///
/// We look only at the runs of 32 alphanumerics or more (the shortest digest), through
/// the one position in 32 that each of them covers.
#[derive(Default)]
pub(super) struct DigestPass {
    /// Where the last run looked at ended: a run is measured once however many probes
    /// land in it, so a megabyte of hex costs its length, not its length per probe
    /// (docs/semantics.md §11.1).
    from: usize,
}

impl DigestPass {
    pub(super) fn scan(&mut self, c: &mut Collector<'_>, hay: &[u8], chunk: &Chunk) {
        let tables = &c.index.tables;
        for probe in chunk.alnum_probes().positions() {
            if probe < self.from {
                continue;
            }
            let end = chunk.extent_end(hay, Class::Alnum, probe);
            let start = past_escape(hay, chunk.extent_start(hay, Class::Alnum, probe), end);
            self.from = end;
            let Some(kind) = Kind::hash_of_hex_len(end - start) else { continue };
            let mut buf = [0u8; 128];
            let Some(hex) = lower_hex(&hay[start..end], &mut buf) else { continue };
            let hash = keyed::hash(hex);
            if tables.digest_filter.contains(hash) {
                if let Some(&entry) = tables.hashes.get_hashed(&c.index.entries, hex, hash) {
                    c.report(start, end, kind, &[entry]);
                    if c.done() {
                        return;
                    }
                }
            }
        }
    }
}

/// Splits a run into segments (labels joined by single dots) and looks each up.
fn scan_names(c: &mut Collector<'_>, hay: &[u8], start: usize, end: usize) {
    let mut first = start;
    while first < end && hay[first] == b'.' {
        first += 1;
    }
    let mut last = end;
    while last > first && hay[last - 1] == b'.' {
        last -= 1;
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
        // A URL host ends the run but for dots: one before its port or path
        // (`evil.example./a`), or trailing punctuation (`see http://evil.example..`).
        let ends_run = hay[seg_end..end].iter().all(|&b| b == b'.');
        lookup_segment(c, hay, first, seg, seg_end, at_host_boundary, ends_run);
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
    if seg == seg_end || !tables.name_ends.contains(hay[seg_end - 1]) {
        return;
    }
    let mut lower = std::mem::take(&mut c.scratch);
    let mut whole = None;
    let mark = c.mark();
    let mut last_label = true;
    // Linear in the segment whatever its length (docs/semantics.md §11.1): the hash walks
    // it once from its end, and stops at the first suffix that ends no key, so only the
    // suffixes of some key (and the filters' rare false positives) are copied and looked up.
    for_each_suffix_hash(&hay[..seg_end], seg, |label, hash| {
        // Most tokens end in a label that ends no indicator: one probe of a small filter.
        let single_label = std::mem::take(&mut last_label);
        let suffixes = match single_label {
            true => &tables.last_label_filter,
            false => &tables.suffix_filter,
        };
        if !suffixes.contains(hash) {
            return false;
        }
        // A label alone is a key only if some key has no dot (and the big filter of whole
        // names is a cache miss away at a million entries).
        if (!single_label || tables.dotless_names) && tables.name_filter.contains(hash) {
            lower.clear();
            lower.extend(hay[label..seg_end].iter().map(u8::to_ascii_lowercase));
            if let Some(slot) = tables.names.get(&index.entries, &lower[..]) {
                if label == seg {
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
                url_candidates(c, hay, seg, seg_end, UrlHost::Name);
            }
        }
        if !tables.emails.is_empty() && seg > 0 && hay[seg - 1] == b'@' {
            email_candidate(c, hay, seg - 1, seg_end);
        }
    }
}

/// The e-mail address whose `@` is at `at` and whose domain ends at `end`.
#[inline(never)]
fn email_candidate(c: &mut Collector<'_>, hay: &[u8], at: usize, end: usize) {
    let floor = at.saturating_sub(MAX_LOCAL_PART + 1);
    let mut local = at;
    while local > floor && is_local(hay[local - 1]) && !escape_before(hay, local) {
        local -= 1;
    }
    if local == at || (local > 0 && is_local(hay[local - 1]) && !escape_before(hay, local)) {
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

/// How a URL host was written in the text: a name, compared lower-cased, or an IPv6
/// address in brackets, compared in its canonical spelling (`[2001:DB8:0::1]` is
/// `[2001:db8::1]`).
#[derive(Clone, Copy)]
pub(super) enum UrlHost {
    Name,
    Ipv6(u128),
}

/// Longest userinfo (`user:password@`) we walk back over to find a URL's scheme.
const MAX_USERINFO: usize = 256;

/// The URLs whose host is written at `hay[host..host_end]`, the text's URL read by the
/// canonical rules (docs/semantics.md §4.11): one trailing dot after a name dropped, an
/// empty port and the default port of the scheme written before the host dropped; then
/// every URL of that `host[:port]` whose path and query the text spells out byte for byte
/// and ends after, or the bare host for a URL whose path is `/`.
// NOTE: out of line: URL hosts are rare in text, and inlined into the name pass this code
// (ports, IPv6 spelling, the path walk) pushed the pass's hot loop out of the L1
// instruction cache: 5 times the misses, 10% slower per log line.
#[inline(never)]
pub(super) fn url_candidates(
    c: &mut Collector<'_>,
    hay: &[u8],
    host: usize,
    host_end: usize,
    spelled: UrlHost,
) {
    if host > 0 && (is(hay[host - 1], HOST) || hay[host - 1] == b'.') && !escape_before(hay, host) {
        return;
    }
    let mut key = std::mem::take(&mut c.scratch);
    key.clear();
    let mut after = host_end;
    match spelled {
        UrlHost::Name => {
            key.extend(hay[host..host_end].iter().map(u8::to_ascii_lowercase));
            if hay.get(after) == Some(&b'.') && matches!(hay.get(after + 1), Some(b':' | b'/')) {
                after += 1;
            }
        }
        // Writing into the reused buffer allocates nothing.
        UrlHost::Ipv6(addr) => drop(write!(key, "{}", normalize::BracketedIpv6(addr))),
    }
    if hay.get(after) == Some(&b':') {
        let digits = hay[after + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        let written = &hay[after + 1..after + 1 + digits];
        after += 1 + digits;
        if !written.is_empty() {
            let Some(port) = normalize::parse_port(written) else {
                c.scratch = key;
                return;
            };
            if normalize::default_port(written_scheme(hay, host)) != Some(port) {
                drop(write!(key, ":{port}"));
            }
        }
    }
    let index = c.index;
    let (urls, entries) = (&index.tables.urls, &index.entries);
    if let Some(group) = urls.host(entries, &key) {
        match hay.get(after) {
            Some(&b @ (b'/' | b'?')) => {
                // An empty path is `/`: `evil.example?x=1` is `evil.example/?x=1`.
                let implied_slash = b == b'?';
                let text = PathText { implied_slash, bytes: &hay[after..] };
                urls.prefixes_of(entries, group, text, |entry, len| {
                    let end = after + len - usize::from(implied_slash);
                    let has_query = memchr::memchr(b'?', &hay[after..end]).is_some();
                    if url_ends_at(hay, end, has_query) {
                        c.report(host, end, Kind::Url, &[entry]);
                    }
                });
            }
            _ => {
                if let Some(entry) = urls.root(entries, group).filter(|_| url_ends_at(hay, after, false)) {
                    c.report(host, after, Kind::Url, &[entry]);
                }
            }
        }
    }
    c.scratch = key;
}

/// The scheme written just before a URL host (`http` in `http://evil.example`, also past a
/// userinfo `user@`), or nothing.
fn written_scheme(hay: &[u8], host: usize) -> &[u8] {
    let mut at = host;
    if at > 0 && hay[at - 1] == b'@' {
        let floor = at.saturating_sub(MAX_USERINFO);
        at -= 1;
        while at > floor && !matches!(hay[at - 1], b'/' | b'@') && !is(hay[at - 1], URL_END) {
            at -= 1;
        }
    }
    let Some(before) = hay[..at].strip_suffix(b"://") else { return &[] };
    let scheme =
        before.iter().rev().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'));
    &before[before.len() - scheme.count()..]
}
