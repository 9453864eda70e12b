//! [`Snapshot`]: one published version of the engine's records, read without a lock.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::compact;
use super::sightings::Counters;
use crate::error::{BuildError, IndicatorError};
use crate::flow::FlowHits;
use crate::index::Index;
use crate::indicator::{Indicator, IndicatorId, Kind, Timestamp};
use crate::search::Matches;

/// One version of the engine's records, pinned: later updates do not change what it
/// answers. Cheap to hold (an `Arc`), and `Send + Sync`.
///
/// A snapshot is the base index of the last compaction, minus the base records removed
/// since (a tombstone set), plus a small delta index of the records added since. Its
/// indicator ids are those of the base, then those of the delta after the base's last:
/// resolve them with [`indicator`](Self::indicator) of the snapshot that gave them.
///
/// # Example
/// ```
/// use vedette_core::{Engine, Meta};
///
/// let engine = Engine::new();
/// engine.add("feed", "evil.example", None, Meta::default())?;
/// let snapshot = engine.snapshot();
/// engine.remove_value("feed", "evil.example", None)?;
/// let hits = snapshot.find(b"GET http://evil.example/", 0);
/// let id = hits.get(0).unwrap().indicators[0];
/// assert_eq!(snapshot.indicator(id).value, "evil.example");
/// assert!(!engine.is_match(b"GET http://evil.example/", 0));
/// # Ok::<(), vedette_core::EngineError>(())
/// ```
#[derive(Debug)]
pub struct Snapshot {
    version: u64,
    base: Arc<Index>,
    /// Base records removed since the base was built.
    dead: Arc<RoaringBitmap>,
    delta: Arc<Index>,
    /// The id of the delta's first record: the base's record count.
    offset: u32,
    entries: usize,
    records: usize,
    /// Hit counters of the base and of the delta, when the engine counts sightings.
    counters: Option<(Arc<Counters>, Arc<Counters>)>,
}

impl Snapshot {
    pub(super) fn new(
        version: u64,
        base: Arc<Index>,
        dead: Arc<RoaringBitmap>,
        delta: Arc<Index>,
        counters: Option<(Arc<Counters>, Arc<Counters>)>,
    ) -> Snapshot {
        let offset = base.record_count() as u32;
        let entries = count_entries(&base, &dead, &delta);
        let records = base.record_count() - dead.len() as usize + delta.record_count();
        Snapshot { version, base, dead, delta, offset, entries, records, counters }
    }

    /// No record removed from the base, none beside it: the base answers alone.
    #[inline]
    fn is_plain(&self) -> bool {
        self.delta.is_empty() && self.dead.is_empty()
    }

    #[inline]
    fn live(&self, id: IndicatorId) -> bool {
        !self.dead.contains(id.0)
    }

    #[inline]
    fn delta_id(&self, id: IndicatorId) -> IndicatorId {
        IndicatorId(id.0 + self.offset)
    }

    pub(super) fn base(&self) -> &Arc<Index> {
        &self.base
    }

    pub(super) fn delta(&self) -> &Arc<Index> {
        &self.delta
    }

    pub(super) fn dead(&self) -> &RoaringBitmap {
        &self.dead
    }

    /// The version: it increases with every publish.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The number of distinct `(kind, value)` entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The number of records.
    pub fn record_count(&self) -> usize {
        self.records
    }

    /// Whether some record has a validity window, so that the time of a search matters.
    pub fn has_validity_windows(&self) -> bool {
        self.base.has_validity_windows() || self.delta.has_validity_windows()
    }

    /// The record with id `id`, as a match of this snapshot gave it.
    ///
    /// # Panics
    /// When `id` is past the snapshot's last id.
    pub fn indicator(&self, id: IndicatorId) -> Indicator<'_> {
        match id.0.checked_sub(self.offset) {
            None => self.base.indicator(id),
            Some(local) => Indicator { id, ..self.delta.indicator(IndicatorId(local)) },
        }
    }

    /// The record with id `id`, or `None` when the snapshot has no such live record.
    pub fn get(&self, id: u32) -> Option<Indicator<'_>> {
        match id.checked_sub(self.offset) {
            None => self.live(IndicatorId(id)).then(|| self.base.indicator(IndicatorId(id))),
            Some(local) => self.delta.get(local).map(|r| Indicator { id: IndicatorId(id), ..r }),
        }
    }

    /// Every live record: the base's in id order, then the delta's.
    pub fn indicators(&self) -> impl Iterator<Item = Indicator<'_>> + '_ {
        let base = self.base.indicators().filter(|r| self.live(r.id));
        base.chain(self.delta.indicators().map(|r| Indicator { id: self.delta_id(r.id), ..r }))
    }

    /// Every occurrence of every live indicator valid at `at` in `haystack`, as
    /// [`Index::find`] gives them. With nothing removed from the base and nothing beside
    /// it, this is exactly the base's `find`.
    pub fn find(&self, haystack: &[u8], at: Timestamp) -> Matches {
        let found = match (self.is_plain(), self.delta.is_empty()) {
            (true, _) => self.base.find(haystack, at),
            (false, true) => self.merge(self.base.find(haystack, at), Matches::default()),
            (false, false) => {
                let [base, delta] = Index::find_in_each([&*self.base, &*self.delta], haystack, at);
                self.merge(base, delta)
            }
        };
        if let Some(counters) = &self.counters {
            self.count(counters, found.iter().flat_map(|m| m.indicators.iter().copied()), at);
        }
        found
    }

    /// The base's matches less its removed records, merged in text order with the
    /// delta's: a span both give is one match with the records of both.
    fn merge(&self, base: Matches, delta: Matches) -> Matches {
        let (mut b, mut d) = (base.iter().peekable(), delta.iter().peekable());
        let mut out = Matches::default();
        let mut ids = Vec::new();
        loop {
            let key = match (b.peek(), d.peek()) {
                (None, None) => break,
                (Some(x), None) => (x.start, x.end, x.kind),
                (None, Some(y)) => (y.start, y.end, y.kind),
                (Some(x), Some(y)) => (x.start, x.end, x.kind).min((y.start, y.end, y.kind)),
            };
            while let Some(m) = b.next_if(|m| (m.start, m.end, m.kind) == key) {
                ids.extend(m.indicators.iter().copied().filter(|&id| self.live(id)));
            }
            while let Some(m) = d.next_if(|m| (m.start, m.end, m.kind) == key) {
                ids.extend(m.indicators.iter().map(|&id| self.delta_id(id)));
            }
            out.push(key.0, key.1, key.2, ids.drain(..));
        }
        out
    }

    /// Whether any live indicator valid at `at` occurs in `haystack`; stops at the first.
    pub fn is_match(&self, haystack: &[u8], at: Timestamp) -> bool {
        if self.is_plain() {
            return self.base.is_match(haystack, at);
        }
        // A base hit may be a removed record only: then the full answer decides.
        let base = match self.dead.is_empty() {
            true => self.base.is_match(haystack, at),
            false => {
                self.base.is_match(haystack, at)
                    && self
                        .base
                        .find(haystack, at)
                        .iter()
                        .any(|m| m.indicators.iter().any(|&id| self.live(id)))
            }
        };
        base || (!self.delta.is_empty() && self.delta.is_match(haystack, at))
    }

    /// The live records valid at `at` that one observed value hits, as
    /// [`Index::lookup`] gives them.
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind`.
    pub fn lookup(
        &self,
        value: &str,
        kind: Option<Kind>,
        at: Timestamp,
    ) -> Result<Vec<IndicatorId>, IndicatorError> {
        let mut ids = self.base.lookup(value, kind, at)?;
        if !self.dead.is_empty() {
            ids.retain(|&id| self.live(id));
        }
        if !self.delta.is_empty() {
            ids.extend(self.delta.lookup(value, kind, at)?.into_iter().map(|id| self.delta_id(id)));
        }
        if let Some(counters) = &self.counters {
            self.count(counters, ids.iter().copied(), at);
        }
        Ok(ids)
    }

    /// Every `(row, record)` pair of a column of observed values, as
    /// [`Index::lookup_many`] gives them, of the live records (ids as for
    /// [`lookup`](Self::lookup)).
    pub fn lookup_many<'v>(
        &self,
        rows: usize,
        value: impl Fn(usize) -> Option<&'v [u8]> + Sync,
        kind: Option<Kind>,
        at: Timestamp,
    ) -> FlowHits {
        // Sightings count every row a record hits: each row is looked up.
        let repeats = match self.counters {
            Some(_) => crate::flow::Repeats::LookUpEach,
            None => crate::flow::Repeats::Reuse,
        };
        crate::flow::lookup_rows(rows, value, repeats, |v| self.lookup(v, kind, at).ok())
    }

    /// Writes into `out[i]` whether a live indicator valid at `at` covers
    /// `addresses[i]`, as [`Index::match_ipv4`] does.
    ///
    /// # Panics
    /// When `out` and `addresses` differ in length.
    pub fn match_ipv4(&self, addresses: &[u32], at: Timestamp, out: &mut [bool]) {
        self.base.match_ipv4(addresses, at, out);
        self.correct_ip_hits(addresses, at, out, |index, addr| index.tables.ipv4.covering(addr));
    }

    /// Like [`match_ipv4`](Self::match_ipv4) for IPv6 addresses (IPv4-mapped ones are
    /// looked up as IPv4).
    ///
    /// # Panics
    /// When `out` and `addresses` differ in length.
    pub fn match_ipv6(&self, addresses: &[u128], at: Timestamp, out: &mut [bool]) {
        self.base.match_ipv6(addresses, at, out);
        self.correct_ip_hits(addresses, at, out, |index, addr| index.ip_entries(addr));
    }

    /// Turns the base's answers in `out` into this snapshot's: a base hit whose records
    /// are all removed is none, and the delta's entries (from `entries`) may add one.
    fn correct_ip_hits<A: Copy>(
        &self,
        addresses: &[A],
        at: Timestamp,
        out: &mut [bool],
        entries: impl for<'i> Fn(&'i Index, A) -> &'i [u32],
    ) {
        if self.is_plain() {
            return;
        }
        let delta = &self.delta;
        for (hit, &addr) in out.iter_mut().zip(addresses) {
            if *hit && !self.dead.is_empty() {
                *hit = self.base_covers(entries(&self.base, addr), at);
            }
            if !*hit && delta.tables.has_ip {
                *hit = entries(delta, addr).iter().any(|&e| delta.any_valid(e, at));
            }
        }
    }

    /// Whether some live record of `entries` of the base is valid at `at`.
    fn base_covers(&self, entries: &[u32], at: Timestamp) -> bool {
        let base = &self.base;
        let live = |id: u32| !self.dead.contains(id) && base.record_valid_at(id, at);
        entries.iter().any(|&e| base.records_of(e).any(live))
    }

    /// Every flow whose source or destination address a live indicator valid at `at`
    /// covers, as [`Index::match_flows`] gives them.
    ///
    /// # Panics
    /// When `src` and `dst` differ in length.
    pub fn match_flows(&self, src: &[u32], dst: &[u32], at: Timestamp) -> FlowHits {
        let mut hits = self.base.match_flows(src, dst, at);
        if !self.is_plain() {
            hits = self.merge_flows(hits, src, dst, at);
        }
        if let Some(counters) = &self.counters {
            self.count(counters, hits.indicators.iter().copied(), at);
        }
        hits
    }

    fn merge_flows(&self, base: FlowHits, src: &[u32], dst: &[u32], at: Timestamp) -> FlowHits {
        let delta = match self.delta.tables.has_ip {
            true => self.delta.match_flows(src, dst, at),
            false => FlowHits::default(),
        };
        let mut out = FlowHits::default();
        let (mut b, mut d) = (0, 0);
        while b < base.rows.len() || d < delta.rows.len() {
            let row = match (base.rows.get(b), delta.rows.get(d)) {
                (Some(&x), Some(&y)) => x.min(y),
                (Some(&x), None) => x,
                (None, Some(&y)) => y,
                (None, None) => unreachable!("the loop ends first"),
            };
            // Within a row the ids ascend, and every delta id is past every base id.
            while base.rows.get(b) == Some(&row) {
                if self.live(base.indicators[b]) {
                    out.rows.push(row);
                    out.indicators.push(base.indicators[b]);
                }
                b += 1;
            }
            while delta.rows.get(d) == Some(&row) {
                out.rows.push(row);
                out.indicators.push(self.delta_id(delta.indicators[d]));
                d += 1;
            }
        }
        out
    }

    fn count(
        &self,
        counters: &(Arc<Counters>, Arc<Counters>),
        ids: impl Iterator<Item = IndicatorId>,
        at: Timestamp,
    ) {
        for id in ids {
            match id.0.checked_sub(self.offset) {
                None => counters.0.hit(id.0, at),
                Some(local) => counters.1.hit(local, at),
            }
        }
    }

    /// The snapshot as one index, for what takes an [`Index`] (saving it, scanning files).
    /// With nothing removed from the base and nothing beside it, that is the base itself;
    /// otherwise a merge that costs about a build of all the records. Record ids differ
    /// from the snapshot's then.
    ///
    /// # Errors
    /// When the records exceed a limit of the index.
    pub fn to_index(&self) -> Result<Arc<Index>, BuildError> {
        if self.is_plain() {
            return Ok(Arc::clone(&self.base));
        }
        let delta = &self.delta;
        let extra: Vec<_> = (0..delta.record_count() as u32)
            .map(|id| {
                let entry = delta.entries.get(delta.record_entry[id as usize]);
                Some((entry.kind, entry.value, entry.ip, delta.indicator(IndicatorId(id)).meta))
            })
            .collect();
        let merged = compact::merge(&self.base, &self.dead, &extra, |_| true)?;
        Ok(Arc::new(merged.index))
    }

    /// Approximate heap bytes of the indexes, the tombstones and the counters.
    pub(super) fn memory_usage(&self, base: usize) -> usize {
        let delta: usize = self.delta.stats().memory.iter().map(|(_, bytes)| bytes).sum();
        let counters = self.counters.as_ref().map_or(0, |(b, d)| b.memory_usage() + d.memory_usage());
        base + delta + self.dead.serialized_size() + counters
    }
}

/// The distinct entries of the base's live records and the delta's together.
fn count_entries(base: &Index, dead: &RoaringBitmap, delta: &Index) -> usize {
    let mut entries = base.len();
    // Dead ids ascend, so the entries of their records come in runs.
    let mut last = u32::MAX;
    for id in dead.iter() {
        let entry = base.record_entry[id as usize];
        if entry != last && base.records_of(entry).all(|r| dead.contains(r)) {
            entries -= 1;
        }
        last = entry;
    }
    for e in delta.entries.iter() {
        let in_base = base.entry_of(e.kind, e.value, e.ip);
        if !in_base.is_some_and(|b| base.records_of(b).any(|r| !dead.contains(r))) {
            entries += 1;
        }
    }
    entries
}
