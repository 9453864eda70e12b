//! [`Engine`]: the live, always-current set of indicators that feeds keep changing, while
//! readers match against it without ever waiting (docs/semantics.md §10).
//!
//! Readers see [`Snapshot`]s: an immutable base index, the base records removed since it
//! was built (tombstones), and a small delta index of the records added since. A publish
//! rebuilds only the delta, in time proportional to it, and swaps the new snapshot in
//! with one atomic store (`arc-swap`): a reader holds the old one or the new one, never
//! a mix, and never blocks. When the delta and tombstones grow past a fraction of the
//! base, or once updates pause, a compaction merges them into a new base on a background
//! thread (or on [`Engine::compact`]), and writers go on meanwhile.
//!
//! The price of a non-empty delta is a second pass over each text: until a compaction,
//! a reader scans the base and the delta one after the other. With the delta and the
//! tombstones empty, a snapshot's `find` is the base index's `find` itself.
//!
//! Writers take one lock, for the time it takes to apply their changes and build the
//! delta: feeds are parsed before it, compactions mostly outside it.

mod compact;
mod persist;
mod shared;
mod sightings;
mod snapshot;
mod state;
mod transaction;
mod worker;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;

pub use self::sightings::Sighting;
pub use self::snapshot::Snapshot;
pub use self::state::SourceError;
pub use self::transaction::Transaction;

#[cfg(test)]
use self::shared::FAIL_NEXT_BUILD;
use self::shared::{build_delta, lock, snapshot_of, Shared};
use self::sightings::Sightings;
use self::state::State;
use self::worker::Worker;
use crate::build::{LoadOptions, LoadReport};
use crate::error::{EngineError, IndicatorError};
use crate::flow::FlowHits;
use crate::index::Index;
use crate::indicator::{IndicatorId, Kind, Meta, Timestamp};
use crate::search::Matches;

/// How an [`Engine`] counts and compacts.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EngineOptions {
    /// Count hits per record for [`Engine::sightings`]. Off, the read path pays one
    /// branch; on, three relaxed atomic adds per record hit.
    pub sightings: bool,
    /// Compact once the delta and the tombstones hold more than this fraction of the
    /// base's records (and more than `compact_min`).
    pub compact_ratio: f64,
    /// Never compact for fewer pending changes than this.
    pub compact_min: usize,
    /// Compact on a background thread when the threshold is passed, or when updates
    /// pause for `compact_idle`; otherwise only [`Engine::compact`] does.
    pub background_compaction: bool,
    /// After a pause of this long in updates, compact whatever is pending: the delta
    /// costs readers a second pass over the text, and the merge a fraction of a second
    /// per million records.
    pub compact_idle: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        // A publish rebuilds the whole delta: at 1/64 of a million records, 16k, that
        // stays within a few milliseconds.
        EngineOptions {
            sightings: false,
            compact_ratio: 1.0 / 64.0,
            compact_min: 4096,
            background_compaction: true,
            compact_idle: Duration::from_secs(1),
        }
    }
}

/// What one update (or one transaction) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Update {
    /// The version readers see after it: unchanged when no record changed.
    pub version: u64,
    /// Records added (a replaced record counts as one removed and one added).
    pub added: usize,
    /// Records removed.
    pub removed: usize,
    /// Records given again exactly as they were: nothing to publish for them.
    pub unchanged: usize,
    /// STIX ids given in an older version than the source holds, or already revoked:
    /// ignored (docs/semantics.md §10.3).
    pub stale: usize,
    /// The report of each load, in order.
    pub reports: Vec<LoadReport>,
}

/// How the engine and each of its sources are doing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineStatus {
    pub version: u64,
    /// Distinct `(kind, value)` entries, as [`Snapshot::len`].
    pub entries: usize,
    pub records: usize,
    /// Records beside the base, waiting for a compaction.
    pub delta_records: usize,
    /// Base records removed, kept in memory until a compaction.
    pub removed_records: usize,
    pub compactions: u64,
    pub last_compaction_error: Option<String>,
    /// Approximate heap bytes of the current snapshot and of the engine's own state.
    pub memory: usize,
    pub sources: Vec<SourceStatus>,
}

/// How one source is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceStatus {
    pub name: String,
    pub records: usize,
    /// STIX ids whose version the engine keeps for this source.
    pub stix_ids: usize,
    /// When an update of the source last published (or found nothing to change).
    pub last_success: Option<Timestamp>,
    /// The last failed update, kept after later successes.
    pub last_error: Option<SourceError>,
    /// What the source's poller stored with [`Engine::set_checkpoint`].
    pub checkpoint: Option<String>,
}

/// The live set of indicators; see the module docs. `Send + Sync`: share it (in an
/// `Arc`) between the threads that read and those that update.
///
/// # Example
/// ```
/// use vedette_core::{Engine, LoadOptions, Meta};
///
/// let engine = Engine::new();
/// let meta = Meta { reference: Some("ind-1".into()), ..Meta::default() };
/// engine.add("etisp", "evil.example", None, meta)?;
/// engine.load("abuse", b"203.0.113.0/24\n", &LoadOptions::default(), true)?;
/// assert!(engine.is_match(b"GET http://a.evil.example/ from 203.0.113.9", 0));
/// assert_eq!(engine.remove_ref("etisp", "ind-1")?.removed, 1);
/// assert_eq!(engine.len(), 1);
/// # Ok::<(), vedette_core::EngineError>(())
/// ```
pub struct Engine {
    shared: Arc<Shared>,
}

impl Drop for Engine {
    /// Stops the background compactor, without waiting for a compaction it runs.
    fn drop(&mut self) {
        drop(self.shared.worker.stop());
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("version", &self.version()).field("len", &self.len()).finish()
    }
}

impl Engine {
    /// An empty engine with the default options.
    pub fn new() -> Engine {
        Engine::with_options(EngineOptions::default())
    }

    pub fn with_options(options: EngineOptions) -> Engine {
        Engine::from_state(
            State::restore(Arc::new(Index::empty()), Default::default(), Vec::new(), Vec::new(), 0),
            options,
        )
    }

    /// An engine holding the records of `index`, each in the source its metadata names
    /// (the empty name for none).
    pub fn from_index(index: Index, options: EngineOptions) -> Engine {
        Engine::from_state(
            State::restore(Arc::new(index), Default::default(), Vec::new(), Vec::new(), 0),
            options,
        )
    }

    /// Reopens what [`save`](Self::save) wrote into `dir`, with the default options.
    ///
    /// # Errors
    /// When a file cannot be read, or holds something `save` does not write.
    pub fn open(dir: impl AsRef<Path>) -> Result<Engine, EngineError> {
        Engine::open_with(dir, EngineOptions::default())
    }

    /// [`open`](Self::open) with `options`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(dir: impl AsRef<Path>, options: EngineOptions) -> Result<Engine, EngineError> {
        let loaded = persist::open(dir.as_ref())?;
        let state =
            State::restore(Arc::new(loaded.base), loaded.dead, loaded.delta, loaded.sources, loaded.version);
        Ok(Engine::from_state(state, options))
    }

    fn from_state(mut state: State, options: EngineOptions) -> Engine {
        // These records were one index before (or none): they fit one again.
        let delta = build_delta(&state).expect("records that were one index fit one again");
        if options.sightings {
            state.sightings = Some(Sightings::new(&state.base, &delta));
        }
        let snapshot = snapshot_of(&mut state, delta);
        let shared = Shared {
            current: ArcSwap::from_pointee(snapshot),
            state: Mutex::new(state),
            options,
            compacting: Mutex::new(()),
            worker: Worker::default(),
            closed: AtomicBool::new(false),
            compactions: AtomicU64::new(0),
            last_compaction_error: Mutex::new(None),
        };
        Engine { shared: Arc::new(shared) }
    }

    /// The current snapshot, pinned: it answers the same however the engine changes.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.current.load_full()
    }

    /// The version of the current snapshot; it increases with every publish.
    pub fn version(&self) -> u64 {
        self.shared.current.load().version()
    }

    /// The current snapshot's distinct `(kind, value)` entries.
    pub fn len(&self) -> usize {
        self.shared.current.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`Snapshot::find`] on the current snapshot. The ids are that snapshot's: to
    /// resolve them, take a [`snapshot`](Self::snapshot) and ask it.
    pub fn find(&self, haystack: &[u8], at: Timestamp) -> Matches {
        self.shared.current.load().find(haystack, at)
    }

    /// [`Snapshot::is_match`] on the current snapshot.
    pub fn is_match(&self, haystack: &[u8], at: Timestamp) -> bool {
        self.shared.current.load().is_match(haystack, at)
    }

    /// [`Snapshot::lookup`] on the current snapshot (ids as for [`find`](Self::find)).
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind`.
    pub fn lookup(
        &self,
        value: &str,
        kind: Option<Kind>,
        at: Timestamp,
    ) -> Result<Vec<IndicatorId>, IndicatorError> {
        self.shared.current.load().lookup(value, kind, at)
    }

    /// [`Snapshot::match_ipv4`] on the current snapshot.
    ///
    /// # Panics
    /// When `out` and `addresses` differ in length.
    pub fn match_ipv4(&self, addresses: &[u32], at: Timestamp, out: &mut [bool]) {
        self.shared.current.load().match_ipv4(addresses, at, out)
    }

    /// [`Snapshot::match_ipv6`] on the current snapshot.
    ///
    /// # Panics
    /// When `out` and `addresses` differ in length.
    pub fn match_ipv6(&self, addresses: &[u128], at: Timestamp, out: &mut [bool]) {
        self.shared.current.load().match_ipv6(addresses, at, out)
    }

    /// [`Snapshot::match_flows`] on the current snapshot (ids as for [`find`](Self::find)).
    ///
    /// # Panics
    /// When `src` and `dst` differ in length.
    pub fn match_flows(&self, src: &[u32], dst: &[u32], at: Timestamp) -> FlowHits {
        self.shared.current.load().match_flows(src, dst, at)
    }

    /// Starts a transaction: changes staged on it publish together on
    /// [`commit`](Transaction::commit), or not at all.
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction::new(self)
    }

    /// Adds one record to `source`, replacing the record of the same key
    /// (docs/semantics.md §10.1); publishes on return. `meta.source` is set to `source`.
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind` (or `meta` is out of range), or
    /// the engine is closed.
    pub fn add(
        &self,
        source: &str,
        value: &str,
        kind: Option<Kind>,
        meta: Meta,
    ) -> Result<Update, EngineError> {
        let mut tx = self.transaction();
        tx.add(source, value, kind, meta)?;
        tx.commit()
    }

    /// Removes the records of `source` with ref `reference`; publishes on return.
    ///
    /// # Errors
    /// When the engine is closed.
    pub fn remove_ref(&self, source: &str, reference: &str) -> Result<Update, EngineError> {
        let mut tx = self.transaction();
        tx.remove_ref(source, reference);
        tx.commit()
    }

    /// Removes the records of `source` whose value is `value` (in canonical form, with
    /// `kind` or inferring it), whatever their ref; publishes on return.
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind`, or the engine is closed.
    pub fn remove_value(&self, source: &str, value: &str, kind: Option<Kind>) -> Result<Update, EngineError> {
        let mut tx = self.transaction();
        tx.remove_value(source, value, kind)?;
        tx.commit()
    }

    /// Loads a feed into `source` (docs/semantics.md §10.2): with `sync`, the source then
    /// holds exactly the feed's records. `options.source` is not read. Publishes on
    /// return; the report is in [`Update::reports`].
    ///
    /// # Errors
    /// As [`IndexBuilder::load`](crate::IndexBuilder::load); the error is also kept in [`status`](Self::status).
    pub fn load(
        &self,
        source: &str,
        data: &[u8],
        options: &LoadOptions,
        sync: bool,
    ) -> Result<Update, EngineError> {
        let mut tx = self.transaction();
        tx.load(source, data, options, sync)?;
        tx.commit()
    }

    /// Stores what a poller needs to resume `source` (a TAXII `added_after`, a file's
    /// modification time): shown in [`status`](Self::status), kept by
    /// [`save`](Self::save).
    pub fn set_checkpoint(&self, source: &str, checkpoint: &str) {
        let mut state = lock(&self.shared.state);
        let id = state.source_id(source);
        state.sources[id as usize].checkpoint = Some(checkpoint.to_string());
    }

    /// Keeps `message` as the last error of `source`, for an update that failed before
    /// it reached the engine (a poller's network error): shown in [`status`](Self::status),
    /// kept by [`save`](Self::save). The snapshot is left as it is.
    pub fn note_error(&self, source: &str, message: &str) {
        self.shared.note_error(source, message);
    }

    /// Merges the delta and the tombstones into a new base now, dropping the records
    /// whose `valid_until` has passed. Readers go on meanwhile; writers wait only while
    /// the merged base is installed. Waits for a background compaction first.
    ///
    /// # Errors
    /// When the records exceed a limit of the index (nothing changes then).
    pub fn compact(&self) -> Result<(), EngineError> {
        Ok(self.shared.compact()?)
    }

    /// The engine's status and every source's, sorted by name.
    pub fn status(&self) -> EngineStatus {
        let state = lock(&self.shared.state);
        let snapshot = self.shared.current.load_full();
        let mut sources: Vec<SourceStatus> = (state.sources.iter())
            .map(|s| SourceStatus {
                name: s.name.clone(),
                records: s.records,
                stix_ids: s.stix.len(),
                last_success: s.last_success,
                last_error: s.last_error.clone(),
                checkpoint: s.checkpoint.clone(),
            })
            .collect();
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        EngineStatus {
            version: snapshot.version(),
            entries: snapshot.len(),
            records: snapshot.record_count(),
            delta_records: snapshot.delta().record_count(),
            removed_records: snapshot.dead().len() as usize,
            compactions: self.shared.compactions.load(Ordering::Relaxed),
            last_compaction_error: lock(&self.shared.last_compaction_error).clone(),
            memory: snapshot.memory_usage(state.base_memory) + state.memory_usage(),
            sources,
        }
    }

    /// The hits of every record since the last reset (of all of them, when `reset`), by
    /// source, ref, kind and value. Empty unless [`EngineOptions::sightings`] is on.
    pub fn sightings(&self, reset: bool) -> Vec<Sighting> {
        let mut state = lock(&self.shared.state);
        state.sightings.as_mut().map_or_else(Vec::new, |s| s.report(reset))
    }

    /// Writes the current snapshot and the engine's state (sources, checkpoints, STIX
    /// versions) into `dir`, atomically: a crash leaves the previous save or this one.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<(), EngineError> {
        let (snapshot, json) = {
            let state = lock(&self.shared.state);
            let snapshot = self.shared.current.load_full();
            let json = persist::state_json(&snapshot, &state.sources);
            (snapshot, json)
        };
        persist::save(dir.as_ref(), &snapshot, &json)
    }

    /// Waits for a background compaction and takes no more updates: they fail with
    /// [`EngineErrorKind::Closed`](crate::EngineErrorKind::Closed). Reads go on working.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Some(worker) = self.shared.worker.stop() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
