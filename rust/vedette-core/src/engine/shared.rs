//! What the engine's handles share: the current snapshot readers load, the writer state
//! behind its lock, and the publish and compaction steps.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use super::compact;
use super::state::{Journal, Record, SourceError, State};
use super::worker::Worker;
use super::{EngineOptions, Snapshot, Update};
use crate::entries::DistinctEntries;
use crate::error::BuildError;
use crate::index::Index;

pub(super) struct Shared {
    pub(super) current: ArcSwap<Snapshot>,
    pub(super) state: Mutex<State>,
    pub(super) options: EngineOptions,
    /// Held for the whole of a compaction, so that only one runs.
    pub(super) compacting: Mutex<()>,
    pub(super) worker: Worker,
    pub(super) closed: AtomicBool,
    pub(super) compactions: AtomicU64,
    pub(super) last_compaction_error: Mutex<Option<String>>,
}

/// Locks `mutex`, also after a panic elsewhere: every change under these locks is
/// either complete or undone before anything that can panic, and a sensor that stops
/// updating because one thread panicked would be worse.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The delta index of the live slots.
pub(super) fn build_delta(state: &State) -> Result<Arc<Index>, BuildError> {
    index_of(state.slots.iter().filter_map(|s| s.as_deref()))
}

pub(super) fn index_of<'a>(records: impl Iterator<Item = &'a Record>) -> Result<Arc<Index>, BuildError> {
    injected_failure()?;
    let mut entries = DistinctEntries::default();
    let (mut pairs, mut metas) = (Vec::new(), Vec::new());
    for record in records {
        let entry = entries.intern(record.kind, &record.value, record.ip);
        // Neighbours with the same metadata share one copy, as in the builder.
        if metas.last() != Some(&record.meta) {
            metas.push(record.meta.clone());
        }
        pairs.push((entry, metas.len() as u32 - 1));
    }
    pairs.sort_by_key(|&(entry, _)| entry);
    Ok(Arc::new(Index::from_parts(entries.into_entries(), pairs, metas)?))
}

#[cfg(test)]
thread_local! {
    /// Makes the next index build of this thread fail: no real limit is small enough to
    /// reach in a test, and a failed publish must leave everything as it was.
    pub(super) static FAIL_NEXT_BUILD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The failure a test asked for, if any.
pub(super) fn injected_failure() -> Result<(), BuildError> {
    #[cfg(test)]
    if FAIL_NEXT_BUILD.with(|fail| fail.replace(false)) {
        return Err(BuildError::too_many("the index builds a test allows", 1, 0));
    }
    Ok(())
}

/// The snapshot of `state` at its version, with `delta` beside its base.
pub(super) fn snapshot_of(state: &mut State, delta: Arc<Index>) -> Snapshot {
    let counters = state.sightings.as_mut().map(|s| s.layers(&state.base, &delta));
    Snapshot::new(state.version, Arc::clone(&state.base), Arc::new(state.dead.clone()), delta, counters)
}

impl Shared {
    /// The number of pending changes past which a compaction is due.
    pub(super) fn threshold(&self, state: &State) -> usize {
        let of_base = (state.base.record_count() as f64 * self.options.compact_ratio) as usize;
        of_base.max(self.options.compact_min)
    }

    pub(super) fn pending(state: &State) -> usize {
        state.live_slots + state.dead.len() as usize
    }

    /// Publishes the state after `journal`'s changes, or undoes them all.
    pub(super) fn publish(&self, state: &mut State, journal: Journal) -> Result<Update, BuildError> {
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

    pub(super) fn note_error(&self, source: &str, message: &str) {
        let mut state = lock(&self.state);
        let id = state.source_id(source);
        state.sources[id as usize].last_error =
            Some(SourceError { at: crate::now(), message: message.to_string() });
    }

    /// One compaction; see [`Engine::compact`].
    pub(super) fn compact(&self) -> Result<(), BuildError> {
        let _one = lock(&self.compacting);
        let mark = lock(&self.state).begin_compaction(crate::now());
        let built = compact::build(mark);
        self.finish_compaction(built)
    }

    /// Installs what a compaction built, replaying what writers did meanwhile.
    pub(super) fn finish_compaction(
        &self,
        built: Result<compact::Built, BuildError>,
    ) -> Result<(), BuildError> {
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
