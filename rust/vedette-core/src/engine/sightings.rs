//! Sightings: how often each record was hit, and when first and last.
//!
//! Each layer of a snapshot (the base, the delta) has a counter per record, bumped by
//! the readers with relaxed atomics: no lock, no allocation, nothing shared but the
//! counter's cache line. An engine that does not count has no counters, and the read
//! path pays one branch. The writer drains the counters of layers no snapshot uses any
//! more into totals keyed by record identity, so that the counts outlive the ids.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::index::Index;
use crate::indicator::{IndicatorId, Kind, Timestamp};

/// The hits of one record since the last reset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sighting {
    pub source: String,
    pub reference: Option<String>,
    pub kind: Kind,
    pub value: String,
    pub count: u64,
    /// The `at` of the earliest hit.
    pub first_seen: Timestamp,
    /// The `at` of the latest hit.
    pub last_seen: Timestamp,
}

struct Tally {
    count: AtomicU64,
    first: AtomicI64,
    last: AtomicI64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally { count: AtomicU64::new(0), first: AtomicI64::new(i64::MAX), last: AtomicI64::new(i64::MIN) }
    }
}

/// The counters of one layer's records.
pub(super) struct Counters {
    layer: Arc<Index>,
    tallies: Box<[Tally]>,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters").field("records", &self.tallies.len()).finish()
    }
}

impl Counters {
    fn new(layer: &Arc<Index>) -> Arc<Counters> {
        let tallies = (0..layer.record_count()).map(|_| Tally::default()).collect();
        Arc::new(Counters { layer: Arc::clone(layer), tallies })
    }

    #[inline]
    pub(super) fn hit(&self, id: u32, at: Timestamp) {
        let tally = &self.tallies[id as usize];
        tally.count.fetch_add(1, Relaxed);
        tally.first.fetch_min(at, Relaxed);
        tally.last.fetch_max(at, Relaxed);
    }

    /// Moves the counts into `totals`, leaving zeros.
    fn drain_into(&self, totals: &mut FxHashMap<Identity, Total>) {
        for (id, tally) in self.tallies.iter().enumerate() {
            if tally.count.load(Relaxed) == 0 {
                continue;
            }
            // A hit between these swaps is split between two drains: counted once.
            let count = tally.count.swap(0, Relaxed);
            let first = tally.first.swap(i64::MAX, Relaxed);
            let last = tally.last.swap(i64::MIN, Relaxed);
            let record = self.layer.indicator(IndicatorId(id as u32));
            let identity = Identity {
                source: record.meta.source.clone().unwrap_or_default(),
                reference: record.meta.reference.clone(),
                kind: record.kind,
                value: record.value.to_string(),
            };
            let total = totals.entry(identity).or_insert(Total { count: 0, first: i64::MAX, last: i64::MIN });
            total.count += count;
            total.first = total.first.min(first);
            total.last = total.last.max(last);
        }
    }

    pub(super) fn memory_usage(&self) -> usize {
        self.tallies.len() * std::mem::size_of::<Tally>()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Identity {
    source: String,
    reference: Option<String>,
    kind: Kind,
    value: String,
}

struct Total {
    count: u64,
    first: Timestamp,
    last: Timestamp,
}

/// The writer's side: the counters of the current layers, those of layers replaced, and
/// the totals drained so far.
pub(super) struct Sightings {
    base: Arc<Counters>,
    delta: Arc<Counters>,
    /// Replaced layers, kept while some snapshot may still count into them.
    retired: Vec<Arc<Counters>>,
    totals: FxHashMap<Identity, Total>,
}

impl Sightings {
    pub(super) fn new(base: &Arc<Index>, delta: &Arc<Index>) -> Sightings {
        let (base, delta) = (Counters::new(base), Counters::new(delta));
        Sightings { base, delta, retired: Vec::new(), totals: FxHashMap::default() }
    }

    /// The counters for a snapshot of `base` and `delta`: a layer kept keeps its own.
    pub(super) fn layers(&mut self, base: &Arc<Index>, delta: &Arc<Index>) -> (Arc<Counters>, Arc<Counters>) {
        if !Arc::ptr_eq(&self.base.layer, base) {
            self.retired.push(std::mem::replace(&mut self.base, Counters::new(base)));
        }
        if !Arc::ptr_eq(&self.delta.layer, delta) {
            self.retired.push(std::mem::replace(&mut self.delta, Counters::new(delta)));
        }
        // Only a layer no snapshot holds is drained here, once and for all: one still
        // held may be a large base, and draining it on every publish would cost a scan.
        let totals = &mut self.totals;
        self.retired.retain(|counters| {
            let held = Arc::strong_count(counters) > 1;
            if !held {
                counters.drain_into(totals);
            }
            held
        });
        (Arc::clone(&self.base), Arc::clone(&self.delta))
    }

    /// The hits of every record since the last reset, by source, kind and value.
    pub(super) fn report(&mut self, reset: bool) -> Vec<Sighting> {
        for counters in self.retired.iter().chain([&self.base, &self.delta]) {
            counters.drain_into(&mut self.totals);
        }
        let mut out: Vec<Sighting> = (self.totals.iter())
            .map(|(id, total)| Sighting {
                source: id.source.clone(),
                reference: id.reference.clone(),
                kind: id.kind,
                value: id.value.clone(),
                count: total.count,
                first_seen: total.first,
                last_seen: total.last,
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.source, &a.reference, a.kind, &a.value).cmp(&(&b.source, &b.reference, b.kind, &b.value))
        });
        if reset {
            self.totals.clear();
        }
        out
    }
}
