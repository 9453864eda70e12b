//! [`Engine`]: the live, always-current set of indicators that feeds keep changing, while
//! readers match against it without ever waiting (docs/semantics.md §10).
//!
//! Readers see [`Snapshot`]s: an immutable base index, the base records removed since it
//! was built (tombstones), and a small delta index of the records added since. A publish
//! rebuilds only the delta, in time proportional to it, and swaps the new snapshot in
//! with one atomic store (`arc-swap`): a reader holds the old one or the new one, never
//! a mix, and never blocks. When the delta and tombstones grow past a fraction of the
//! base, a compaction merges them into a new base on a background thread (or on
//! [`Engine::compact`]), and writers go on meanwhile.
//!
//! Writers take one lock, for the time it takes to apply their changes and build the
//! delta: feeds are parsed before it, compactions mostly outside it.

mod compact;
mod persist;
mod sightings;
mod snapshot;
mod state;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use arc_swap::ArcSwap;

pub use self::sightings::Sighting;
pub use self::snapshot::Snapshot;
pub use self::state::SourceError;

use self::sightings::Sightings;
use self::state::{Batch, Journal, OwnedNotice, Record, State};
use crate::build::{IndexBuilder, LoadOptions, LoadReport};
use crate::entries::DistinctEntries;
use crate::error::{BuildError, EngineError, EngineErrorKind, IndicatorError};
use crate::feed::Notice;
use crate::flow::FlowHits;
use crate::index::Index;
use crate::indicator::{IndicatorId, Kind, Meta, Timestamp};
use crate::normalize::{self, IpRange};
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
    /// Compact on a background thread when the threshold is passed; otherwise only
    /// [`Engine::compact`] does.
    pub background_compaction: bool,
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
        }
    }
}

/// What one update (or one transaction) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Update {
    /// The version readers see after it: unchanged when no record changed.
    pub version: u64,
    pub added: usize,
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

struct Shared {
    current: ArcSwap<Snapshot>,
    state: Mutex<State>,
    options: EngineOptions,
    /// Held for the whole of a compaction, so that only one runs.
    compacting: Mutex<()>,
    worker: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    compactions: AtomicU64,
    last_compaction_error: Mutex<Option<String>>,
}

/// Locks `mutex`, also after a panic elsewhere: every change under these locks is
/// either complete or undone before anything that can panic, and a sensor that stops
/// updating because one thread panicked would be worse.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
            worker: Mutex::new(None),
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
        Transaction { engine: self, ops: Vec::new(), failed: false, reports: Vec::new() }
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
    /// As [`IndexBuilder::load`]; the error is also kept in [`status`](Self::status).
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
    /// [`EngineErrorKind::Closed`]. Reads go on working.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        let worker = lock(&self.shared.worker).take();
        if let Some(worker) = worker {
            let _ = worker.join();
        }
    }
}

/// Changes staged to publish together; see [`Engine::transaction`]. Dropped without a
/// commit, it publishes nothing. An operation that fails poisons it: its commit then
/// publishes nothing either.
///
/// # Example
/// ```
/// use vedette_core::{Engine, EngineErrorKind, Kind, Meta};
///
/// let engine = Engine::new();
/// let mut tx = engine.transaction();
/// tx.add("feed", "evil.example", None, Meta::default())?;
/// assert!(tx.add("feed", "999.1.1.1", Some(Kind::Ipv4), Meta::default()).is_err());
/// assert_eq!(tx.commit().unwrap_err().kind(), EngineErrorKind::Aborted);
/// assert!(engine.is_empty());
/// # Ok::<(), vedette_core::EngineError>(())
/// ```
pub struct Transaction<'e> {
    engine: &'e Engine,
    ops: Vec<Op>,
    failed: bool,
    reports: Vec<LoadReport>,
}

enum Op {
    Put { source: String, batch: Batch },
    RemoveRef { source: String, reference: String },
    RemoveValue { source: String, kind: Kind, value: String, ip: Option<IpRange> },
}

impl Transaction<'_> {
    fn check<T, E: Into<EngineError>>(&mut self, result: Result<T, E>) -> Result<T, EngineError> {
        result.map_err(|e| {
            self.failed = true;
            e.into()
        })
    }

    /// Stages [`Engine::add`].
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind`; the transaction is poisoned.
    pub fn add(
        &mut self,
        source: &str,
        value: &str,
        kind: Option<Kind>,
        meta: Meta,
    ) -> Result<&mut Self, EngineError> {
        let mut builder = IndexBuilder::new();
        let added = builder.add(value, kind, meta).map(drop);
        self.check(added)?;
        let records = records_of(&builder, source);
        let batch = Batch { records, ..Batch::default() };
        self.ops.push(Op::Put { source: source.to_string(), batch });
        Ok(self)
    }

    /// Stages [`Engine::remove_ref`].
    pub fn remove_ref(&mut self, source: &str, reference: &str) -> &mut Self {
        self.ops.push(Op::RemoveRef { source: source.to_string(), reference: reference.to_string() });
        self
    }

    /// Stages [`Engine::remove_value`].
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind`; the transaction is poisoned.
    pub fn remove_value(
        &mut self,
        source: &str,
        value: &str,
        kind: Option<Kind>,
    ) -> Result<&mut Self, EngineError> {
        let n = self.check(normalize::normalize(value, kind, false))?;
        self.ops.push(Op::RemoveValue { source: source.to_string(), kind: n.kind, value: n.value, ip: n.ip });
        Ok(self)
    }

    /// Stages [`Engine::load`]: the feed is parsed now, before any lock is taken.
    ///
    /// # Errors
    /// As [`Engine::load`]; the transaction is poisoned.
    pub fn load(
        &mut self,
        source: &str,
        data: &[u8],
        options: &LoadOptions,
        sync: bool,
    ) -> Result<&mut Self, EngineError> {
        let mut builder = IndexBuilder::new();
        let mut notices = Vec::new();
        let loaded = builder.load_noting(data, options, &mut |notice| notices.push(owned(notice)));
        if let Err(err) = &loaded {
            self.engine.shared.note_error(source, &err.to_string());
        }
        let report = self.check(loaded)?;
        let records = records_of(&builder, source);
        self.ops.push(Op::Put { source: source.to_string(), batch: Batch { records, notices, sync } });
        self.reports.push(report);
        Ok(self)
    }

    /// Applies every staged change and publishes them as one new snapshot (none when no
    /// record changed).
    ///
    /// # Errors
    /// When an operation failed ([`EngineErrorKind::Aborted`]), the engine is closed,
    /// or the records exceed a limit of the index; nothing is published then.
    pub fn commit(self) -> Result<Update, EngineError> {
        if self.failed {
            let message = "the transaction has a failed operation: nothing was published";
            return Err(EngineError::new(EngineErrorKind::Aborted, message));
        }
        let shared = &self.engine.shared;
        if shared.closed.load(Ordering::SeqCst) {
            return Err(EngineError::new(EngineErrorKind::Closed, "the engine is closed"));
        }
        let mut update = {
            let mut state = lock(&shared.state);
            let mut journal = Journal::default();
            for op in self.ops {
                state.apply(&mut journal, op);
            }
            let touched = journal.sources.clone();
            let now = crate::now();
            match shared.publish(&mut state, journal) {
                Ok(update) => {
                    for &source in &touched {
                        state.sources[source as usize].last_success = Some(now);
                    }
                    update
                }
                Err(err) => {
                    for &source in &touched {
                        let error = SourceError { at: now, message: err.to_string() };
                        state.sources[source as usize].last_error = Some(error);
                    }
                    return Err(err.into());
                }
            }
        };
        update.reports = self.reports;
        shared.maybe_compact_in_background();
        Ok(update)
    }
}

impl State {
    fn apply(&mut self, journal: &mut Journal, op: Op) {
        match op {
            Op::Put { source, batch } => {
                let id = self.source_id(&source);
                self.put(journal, id, batch);
            }
            Op::RemoveRef { source, reference } => {
                let id = self.source_id(&source);
                self.remove_ref(journal, id, &reference);
            }
            Op::RemoveValue { source, kind, value, ip } => {
                let id = self.source_id(&source);
                self.remove_value(journal, id, kind, &value, ip);
            }
        }
    }
}

/// The records a builder collected, as `source`'s.
fn records_of(builder: &IndexBuilder, source: &str) -> Vec<Record> {
    let stamp = (!source.is_empty()).then(|| source.to_string());
    (builder.records())
        .map(|(entry, meta)| Record {
            kind: entry.kind,
            value: entry.value.into(),
            ip: entry.ip,
            meta: Meta { source: stamp.clone(), ..meta.clone() },
        })
        .collect()
}

fn owned(notice: Notice<'_>) -> OwnedNotice {
    match notice {
        Notice::Version { reference, modified } => {
            OwnedNotice::Version { reference: reference.into(), modified }
        }
        Notice::Revoked { reference } => OwnedNotice::Revoked { reference: reference.into() },
        Notice::Deleted { reference } => OwnedNotice::Deleted { reference: reference.into() },
    }
}

/// The delta index of the live slots.
fn build_delta(state: &State) -> Result<Arc<Index>, BuildError> {
    index_of(state.slots.iter().filter_map(|s| s.as_deref()))
}

fn index_of<'a>(records: impl Iterator<Item = &'a Record>) -> Result<Arc<Index>, BuildError> {
    injected_failure()?;
    let mut entries = DistinctEntries::default();
    let (mut pairs, mut metas) = (Vec::new(), Vec::new());
    for record in records {
        let entry = entries.intern(record.kind, &record.value, record.ip);
        pairs.push((entry, metas.len() as u32));
        metas.push(record.meta.clone());
    }
    pairs.sort_by_key(|&(entry, _)| entry);
    Ok(Arc::new(Index::from_parts(entries.into_entries(), pairs, metas)?))
}

#[cfg(test)]
thread_local! {
    /// Makes the next index build of this thread fail: no real limit is small enough to
    /// reach in a test, and a failed publish must leave everything as it was.
    static FAIL_NEXT_BUILD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The failure a test asked for, if any.
fn injected_failure() -> Result<(), BuildError> {
    #[cfg(test)]
    if FAIL_NEXT_BUILD.with(|fail| fail.replace(false)) {
        return Err(BuildError::too_many("the index builds a test allows", 1, 0));
    }
    Ok(())
}

/// The snapshot of `state` at its version, with `delta` beside its base.
fn snapshot_of(state: &mut State, delta: Arc<Index>) -> Snapshot {
    let counters = state.sightings.as_mut().map(|s| s.layers(&state.base, &delta));
    Snapshot::new(state.version, Arc::clone(&state.base), Arc::new(state.dead.clone()), delta, counters)
}

impl Shared {
    /// The number of pending changes past which a compaction is due.
    fn threshold(&self, state: &State) -> usize {
        let of_base = (state.base.record_count() as f64 * self.options.compact_ratio) as usize;
        of_base.max(self.options.compact_min)
    }

    fn pending(state: &State) -> usize {
        state.live_slots + state.dead.len() as usize
    }

    /// Publishes the state after `journal`'s changes, or undoes them all.
    fn publish(&self, state: &mut State, journal: Journal) -> Result<Update, BuildError> {
        if !journal.changes_records() {
            let mut update = state.settle(journal);
            update.version = state.version;
            return Ok(update);
        }
        // A delta as large as the live base costs as much to build as the merge: merge
        // at once (a first load into an empty engine, most often).
        let live_base = state.base.record_count() - state.dead.len() as usize;
        let merge_now = state.compaction.is_none()
            && Self::pending(state) > self.threshold(state)
            && state.live_slots >= live_base;
        let (mut update, delta) = match merge_now {
            true => {
                let mark = state.begin_compaction(crate::now());
                match compact::build(mark) {
                    Ok(built) => {
                        // Settled first: the slots it freed are numbered as before the merge.
                        let update = state.settle(journal);
                        state.finish_compaction(built);
                        self.compactions.fetch_add(1, Ordering::Relaxed);
                        (update, Arc::new(Index::empty()))
                    }
                    Err(err) => {
                        state.abandon_compaction();
                        state.rollback(journal);
                        return Err(err);
                    }
                }
            }
            false => match build_delta(state) {
                Ok(delta) => (state.settle(journal), delta),
                Err(err) => {
                    state.rollback(journal);
                    return Err(err);
                }
            },
        };
        state.version += 1;
        let snapshot = snapshot_of(state, delta);
        update.version = snapshot.version();
        self.current.store(Arc::new(snapshot));
        Ok(update)
    }

    fn note_error(&self, source: &str, message: &str) {
        let mut state = lock(&self.state);
        let id = state.source_id(source);
        state.sources[id as usize].last_error =
            Some(SourceError { at: crate::now(), message: message.to_string() });
    }

    /// Starts a background compaction when one is due and none runs.
    fn maybe_compact_in_background(self: &Arc<Self>) {
        if !self.options.background_compaction || self.closed.load(Ordering::SeqCst) {
            return;
        }
        {
            let state = lock(&self.state);
            if state.compaction.is_some() || Self::pending(&state) <= self.threshold(&state) {
                return;
            }
        }
        let mut worker = lock(&self.worker);
        if worker.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        if let Some(done) = worker.take() {
            let _ = done.join();
        }
        let shared = Arc::clone(self);
        let spawned = std::thread::Builder::new().name("vedette-compact".into()).spawn(move || {
            let _ = shared.compact();
        });
        *worker = spawned.ok();
    }

    /// One compaction; see [`Engine::compact`].
    fn compact(&self) -> Result<(), BuildError> {
        let _one = lock(&self.compacting);
        let mark = lock(&self.state).begin_compaction(crate::now());
        let built = compact::build(mark);
        self.finish_compaction(built)
    }

    /// Installs what a compaction built, replaying what writers did meanwhile.
    fn finish_compaction(&self, built: Result<compact::Built, BuildError>) -> Result<(), BuildError> {
        let mut state = lock(&self.state);
        let built = match built {
            Ok(built) => built,
            Err(err) => {
                state.abandon_compaction();
                *lock(&self.last_compaction_error) = Some(err.to_string());
                return Err(err);
            }
        };
        // The delta that stays is built before anything changes, so that a failure
        // leaves the state as it was.
        let delta = match index_of(state.slots_since_compaction()) {
            Ok(delta) => delta,
            Err(err) => {
                state.abandon_compaction();
                *lock(&self.last_compaction_error) = Some(err.to_string());
                return Err(err);
            }
        };
        state.finish_compaction(built);
        state.version += 1;
        let snapshot = snapshot_of(&mut state, delta);
        self.current.store(Arc::new(snapshot));
        self.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
