//! Matching free text: every occurrence of every indicator, with the boundaries of
//! docs/semantics.md §4.
//!
//! The scan never walks one automaton over all patterns: that misses the cache on every
//! byte once the set is large. It finds candidate tokens instead (runs of host-name
//! bytes, hex digests, IP literals), from SIMD byte-class bitmasks of 1 KiB chunks
//! ([`block`]), and pays for exact lookups (small filters, then hash tables and the IPv4
//! bitmaps) only at candidates. Only `string` indicators, which have no token shape, go
//! through Aho-Corasick.

mod block;
mod class;
mod ip;
mod text;

use self::block::{Chunk, NameSeeds};
use crate::index::Index;
use crate::indicator::{IndicatorId, Kind, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RawMatch {
    start: usize,
    end: usize,
    kind: Kind,
    ids: (u32, u32),
}

/// One occurrence in the text, and every valid indicator record that explains it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match<'a> {
    /// Offset of the first byte (or character, after [`Matches::to_char_offsets`]).
    pub start: usize,
    /// Offset just past the last byte: spans are half-open.
    pub end: usize,
    pub kind: Kind,
    /// Never empty.
    pub indicators: &'a [IndicatorId],
}

/// The matches of one search, ordered by start, then end, then kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matches {
    raw: Vec<RawMatch>,
    ids: Vec<IndicatorId>,
}

impl Matches {
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Match<'_>> {
        self.raw.get(i).map(|m| Match {
            start: m.start,
            end: m.end,
            kind: m.kind,
            indicators: &self.ids[m.ids.0 as usize..m.ids.1 as usize],
        })
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Match<'_>> + '_ {
        (0..self.raw.len()).map(|i| self.get(i).unwrap())
    }

    /// Adds the matches of `later`, a search of the text that starts `shift` bytes after
    /// this one's, which they all follow.
    pub(crate) fn append(&mut self, later: Matches, shift: usize) {
        let base = self.ids.len() as u32;
        self.raw.extend(later.raw.into_iter().map(|m| RawMatch {
            start: m.start + shift,
            end: m.end + shift,
            ids: (m.ids.0 + base, m.ids.1 + base),
            ..m
        }));
        self.ids.extend(later.ids);
    }

    /// Appends one occurrence explained by `ids`, when there is any. Callers push in the
    /// order of the matches (start, then end, then kind).
    pub(crate) fn push(
        &mut self,
        start: usize,
        end: usize,
        kind: Kind,
        ids: impl IntoIterator<Item = IndicatorId>,
    ) {
        let mark = self.ids.len() as u32;
        self.ids.extend(ids);
        let now = self.ids.len() as u32;
        if now > mark {
            self.raw.push(RawMatch { start, end, kind, ids: (mark, now) });
        }
    }

    /// Rewrites byte offsets into `text` (valid UTF-8) as character offsets.
    pub fn to_char_offsets(&mut self, text: &str) {
        let mut positions: Vec<usize> = self.raw.iter().flat_map(|m| [m.start, m.end]).collect();
        positions.sort_unstable();
        positions.dedup();
        let bytes = text.as_bytes();
        let (mut byte, mut chars) = (0, 0);
        let char_offsets: Vec<usize> = positions
            .iter()
            .map(|&pos| {
                chars += bytes[byte..pos].iter().filter(|&&b| (b & 0xC0) != 0x80).count();
                byte = pos;
                chars
            })
            .collect();
        let to_chars = |pos: usize| char_offsets[positions.binary_search(&pos).unwrap()];
        for m in &mut self.raw {
            m.start = to_chars(m.start);
            m.end = to_chars(m.end);
        }
    }
}

/// Gathers matches during a scan, keeping only records valid at `at`.
pub(crate) struct Collector<'i> {
    index: &'i Index,
    at: Timestamp,
    /// Stop at the first match (`is_match`).
    first_only: bool,
    out: Matches,
    /// Reused for lower-casing candidates, so the scan allocates nothing per token.
    scratch: Vec<u8>,
}

impl<'i> Collector<'i> {
    fn new(index: &'i Index, at: Timestamp, first_only: bool) -> Self {
        Collector { index, at, first_only, out: Matches::default(), scratch: Vec::new() }
    }

    /// Whether the scan can stop.
    #[inline]
    pub(crate) fn done(&self) -> bool {
        self.first_only && !self.out.raw.is_empty()
    }

    /// Starts gathering the entries that explain one occurrence.
    #[inline]
    pub(crate) fn mark(&self) -> u32 {
        self.out.ids.len() as u32
    }

    /// Adds the valid records of `entry` to the occurrence being gathered.
    #[inline]
    pub(crate) fn add(&mut self, entry: u32) {
        self.index.valid_records(entry, self.at, &mut self.out.ids);
    }

    /// Ends the occurrence begun at `mark`: a match if any valid record was added.
    #[inline]
    pub(crate) fn finish(&mut self, mark: u32, start: usize, end: usize, kind: Kind) {
        let now = self.out.ids.len() as u32;
        if now > mark {
            self.out.raw.push(RawMatch { start, end, kind, ids: (mark, now) });
        }
    }

    /// One occurrence explained by the entries in `entries`.
    #[inline]
    pub(crate) fn report(&mut self, start: usize, end: usize, kind: Kind, entries: &[u32]) {
        let mark = self.mark();
        for &entry in entries {
            self.add(entry);
        }
        self.finish(mark, start, end, kind);
    }
}

impl Index {
    /// Every occurrence of every indicator valid at `at` in `haystack`, overlapping ones
    /// included. Never panics, for any bytes.
    ///
    /// # Example
    /// Indicators `evil.example` (domain) and `mail.evil.example` (hostname) against
    /// `x.mail.evil.example`: the domain matches, the hostname does not.
    /// ```
    /// use vedette_core::{IndexBuilder, Kind, Meta};
    /// let mut b = IndexBuilder::new();
    /// b.add("evil.example", Some(Kind::Domain), Meta::default())?;
    /// b.add("mail.evil.example", Some(Kind::Hostname), Meta::default())?;
    /// let index = b.build()?;
    /// let hits = index.find(b"x.mail.evil.example", 0);
    /// let kinds: Vec<_> = hits.iter().map(|m| (m.start, m.end, m.kind)).collect();
    /// assert_eq!(kinds, [(0, 19, Kind::Domain)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find(&self, haystack: &[u8], at: Timestamp) -> Matches {
        let [found] = Index::find_in_each([self], haystack, at);
        found
    }

    /// The matches of each of `indexes` in `haystack`, from one pass over the text's byte
    /// classes: the engine's snapshot searches its base and its delta this way, and a
    /// second search of the text cost the readers a fifth of their speed.
    pub(crate) fn find_in_each<const N: usize>(
        indexes: [&Index; N],
        haystack: &[u8],
        at: Timestamp,
    ) -> [Matches; N] {
        let mut layers = indexes.map(|index| Layer::new(Collector::new(index, at, false)));
        scan(&mut layers, haystack);
        layers.map(|layer| {
            let mut out = layer.c.out;
            out.raw.sort_unstable_by_key(|m| (m.start, m.end, m.kind, m.ids));
            out
        })
    }

    /// Whether any indicator valid at `at` occurs in `haystack`; stops at the first.
    pub fn is_match(&self, haystack: &[u8], at: Timestamp) -> bool {
        let mut layers = [Layer::new(Collector::new(self, at, true))];
        scan(&mut layers, haystack);
        !layers[0].c.out.is_empty()
    }
}

/// One index's search of a text: its collector and the state its token passes carry
/// from chunk to chunk.
struct Layer<'i> {
    c: Collector<'i>,
    digests: Option<text::DigestPass>,
    v6: Option<ip::Ipv6Pass>,
    v4: Option<ip::Ipv4Pass>,
    names: bool,
}

impl<'i> Layer<'i> {
    fn new(c: Collector<'i>) -> Layer<'i> {
        let t = &c.index.tables;
        let digests = (!t.hashes.is_empty()).then(text::DigestPass::default);
        let v6 = (t.has_ip || !t.bracketed_url_hosts.is_empty()).then(ip::Ipv6Pass::default);
        let v4 = t.has_ip.then(ip::Ipv4Pass::default);
        let names = !t.names.is_empty() || !t.emails.is_empty();
        Layer { c, digests, v6, v4, names }
    }

    fn wants_tokens(&self) -> bool {
        self.digests.is_some() || self.v6.is_some() || self.names
    }

    fn scan_chunk(&mut self, haystack: &[u8], chunk: &Chunk, names: &mut NameSeeds<'_>) {
        let c = &mut self.c;
        if let Some(digests) = &mut self.digests {
            digests.scan(c, haystack, chunk);
        }
        // IPv6 first: a dotted quad inside a literal belongs to it, not to IPv4. A
        // literal's quad comes after its colons, so this chunk's pass has found every
        // literal that holds a quad of this chunk.
        if let (Some(v6), false) = (&mut self.v6, c.done()) {
            v6.scan(c, haystack, chunk);
        }
        if let (Some(v4), Some(v6), false) = (&mut self.v4, &self.v6, c.done()) {
            v4.scan(c, haystack, chunk, &v6.literals);
        }
        if self.names && !c.done() {
            text::scan_name_runs(c, haystack, chunk, names);
        }
    }

    fn scan_strings(&mut self, haystack: &[u8]) {
        let c = &mut self.c;
        let t = &c.index.tables;
        if let (Some(automaton), false) = (&t.strings, c.done()) {
            for m in automaton.find_overlapping_iter(haystack) {
                let entry = t.string_entries[m.pattern().as_usize()];
                c.report(m.start(), m.end(), Kind::String, &[entry]);
                if c.done() {
                    break;
                }
            }
        }
    }
}

/// Runs every layer's passes over `haystack`, each 1 KiB chunk classified once for all.
fn scan(layers: &mut [Layer<'_>], haystack: &[u8]) {
    if layers.iter().any(Layer::wants_tokens) {
        let mut chunk = Chunk::default();
        let mut base = 0;
        while base < haystack.len() && !layers.iter().all(|l| l.c.done()) {
            chunk.load(haystack, base);
            let mut names = NameSeeds::new(&chunk);
            for layer in layers.iter_mut().filter(|l| l.wants_tokens()) {
                layer.scan_chunk(haystack, &chunk, &mut names);
            }
            base = chunk.end();
        }
    }
    for layer in layers {
        layer.scan_strings(haystack);
    }
}
