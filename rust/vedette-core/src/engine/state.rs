//! The writer's side of the engine: which records each source holds, by key, and where
//! each record lives (the base index, or a delta slot); every change is journaled so that
//! a transaction that cannot publish is undone.

mod apply;
mod keys;

use std::sync::Arc;

use hashbrown::HashTable;
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

pub(super) use self::apply::{Batch, OwnedNotice};
pub(super) use self::keys::{source_name, Loc, Place, Record};

use self::keys::{Group, Key, Locs};
use super::sightings::Sightings;
use super::Update;
use crate::index::Index;
use crate::indicator::{IndicatorId, Kind, Meta, Timestamp};

/// The newest version of a STIX id that a source has loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StixVersion {
    /// Its `modified` (`None`: absent, older than any time).
    Modified(Option<Timestamp>),
    /// Some version was revoked: no later one loads (docs/semantics.md §10.3).
    Revoked,
}

/// The last failure of a source's update.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceError {
    pub at: Timestamp,
    pub message: String,
}

/// One source: the records it holds, its STIX versions, how its updates went.
#[derive(Debug, Default)]
pub(super) struct Source {
    pub name: String,
    /// The ids of its groups.
    pub groups: RoaringBitmap,
    pub records: usize,
    pub stix: FxHashMap<Box<str>, StixVersion>,
    pub last_success: Option<Timestamp>,
    pub last_error: Option<SourceError>,
    pub checkpoint: Option<String>,
}

/// How to undo one change. Small (32 bytes): a first load of a million records
/// journals two million of them.
enum Undo {
    /// A group had these records.
    Locs(u32, Locs),
    /// A group was made.
    Created(u32),
    /// A base record was removed.
    Dead(u32),
    SlotAdded(u32),
    SlotKilled(u32, Arc<Record>),
    /// A source's STIX id had this version (or none).
    Stix(Box<(u32, Box<str>, Option<StixVersion>)>),
}

/// The changes of one transaction, to undo them or to settle them.
#[derive(Default)]
pub(super) struct Journal {
    undo: Vec<Undo>,
    /// Keep no undo log: the changes cannot be undone (restoring a saved state).
    untracked: bool,
    /// Freed by the transaction; reusable once it commits.
    freed_slots: Vec<u32>,
    emptied_groups: Vec<u32>,
    pub update: Update,
    /// The sources the transaction touched.
    pub sources: Vec<u32>,
}

impl Journal {
    /// Whether the records readers see change.
    pub(super) fn changes_records(&self) -> bool {
        self.update.added > 0 || self.update.removed > 0
    }

    fn push(&mut self, undo: Undo) {
        if !self.untracked {
            self.undo.push(undo);
        }
    }

    fn touch(&mut self, source: u32) {
        if !self.sources.contains(&source) {
            self.sources.push(source);
        }
    }
}

/// Everything the writer knows; see the module docs.
pub(super) struct State {
    pub sources: Vec<Source>,
    source_ids: FxHashMap<String, u32>,
    /// Group ids, by the hash of their key.
    keys: HashTable<u32>,
    groups: Vec<Group>,
    free_groups: Vec<u32>,
    pub base: Arc<Index>,
    /// Base records removed since the base was built.
    pub dead: RoaringBitmap,
    pub slots: Vec<Option<Arc<Record>>>,
    free_slots: Vec<u32>,
    pub live_slots: usize,
    /// While a compaction runs: how many slots there were when it began. Slots are not
    /// reused then, so that those past this number are the ones added since.
    pub compaction: Option<u32>,
    /// The version of the current snapshot.
    pub version: u64,
    /// Approximate heap bytes of the base, computed once per base.
    pub base_memory: usize,
    /// Hit counters, when the engine counts sightings.
    pub sightings: Option<Sightings>,
}

/// A record's kind, value and metadata, wherever it lives.
pub(super) struct View<'a> {
    pub kind: Kind,
    pub value: &'a str,
    pub meta: &'a Meta,
}

impl<'a> View<'a> {
    fn key(&self) -> Key<'a> {
        Key::of(self.kind, self.value, self.meta)
    }

    fn is(&self, record: &Record) -> bool {
        self.kind == record.kind && self.value == &*record.value && self.meta == &record.meta
    }
}

impl State {
    /// The state of `base` (its live records all but those in `dead`) and of the records
    /// `delta` beside it; sources as given, or made for the records that name others.
    pub(super) fn restore(
        base: Arc<Index>,
        dead: RoaringBitmap,
        delta: Vec<Record>,
        sources: Vec<Source>,
        version: u64,
    ) -> State {
        let mut state = State {
            sources: Vec::new(),
            source_ids: FxHashMap::default(),
            keys: HashTable::new(),
            groups: Vec::new(),
            free_groups: Vec::new(),
            base,
            dead,
            slots: Vec::new(),
            free_slots: Vec::new(),
            live_slots: 0,
            compaction: None,
            version,
            base_memory: 0,
            sightings: None,
        };
        state.base_memory = index_memory(&state.base);
        for source in sources {
            let id = state.sources.len() as u32;
            state.source_ids.insert(source.name.clone(), id);
            state.sources.push(Source { groups: RoaringBitmap::new(), records: 0, ..source });
        }
        let mut journal = Journal { untracked: true, ..Journal::default() };
        let base = Arc::clone(&state.base);
        for id in 0..base.record_count() as u32 {
            if !state.dead.contains(id) {
                state.attach(&mut journal, Loc::base(id));
            }
        }
        for record in delta {
            let loc = state.add_slot(&mut journal, record);
            state.attach(&mut journal, loc);
        }
        state.settle(journal);
        state
    }

    /// Files the record at `loc` under its key, as a new record of the key.
    fn attach(&mut self, journal: &mut Journal, loc: Loc) {
        let name = source_name(self.view(loc).meta);
        let source = match self.source_ids.get(name) {
            Some(&id) => id,
            None => {
                let name = name.to_string();
                self.source_id(&name)
            }
        };
        let key = self.view(loc).key();
        let hash = key.hash(source);
        match self.find_group(source, key, hash) {
            Some(group) => {
                let mut locs = self.groups[group as usize].locs.as_slice().to_vec();
                locs.push(loc);
                self.set_locs(journal, group, locs);
            }
            None => drop(self.new_group(journal, source, hash, vec![loc])),
        }
    }

    /// The id of source `name`, made when it is new.
    pub(super) fn source_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.source_ids.get(name) {
            return id;
        }
        let id = self.sources.len() as u32;
        self.sources.push(Source { name: name.to_string(), ..Source::default() });
        self.source_ids.insert(name.to_string(), id);
        id
    }

    pub(super) fn view(&self, loc: Loc) -> View<'_> {
        match loc.place() {
            Place::Base(id) => {
                let record = self.base.indicator(IndicatorId(id));
                View { kind: record.kind, value: record.value, meta: record.meta }
            }
            Place::Delta(slot) => {
                let record = self.slots[slot as usize].as_deref().expect("a key's slot is live");
                View { kind: record.kind, value: &record.value, meta: &record.meta }
            }
        }
    }

    fn find_group(&self, source: u32, key: Key<'_>, hash: u64) -> Option<u32> {
        let same = |&g: &u32| {
            let group = &self.groups[g as usize];
            group.hash == hash && group.source == source && self.view(group.locs.as_slice()[0]).key() == key
        };
        self.keys.find(hash, same).copied()
    }

    /// Makes the group of a new key, with records `locs` (not none), journaled.
    fn new_group(&mut self, journal: &mut Journal, source: u32, hash: u64, locs: Vec<Loc>) -> u32 {
        let id = self.free_groups.pop().unwrap_or_else(|| {
            self.groups.push(Group::default());
            self.groups.len() as u32 - 1
        });
        self.groups[id as usize] = Group { hash, source, locs: Locs::default() };
        self.put_group(id, Group { hash, source, locs: Locs::from_vec(locs) });
        journal.touch(source);
        journal.push(Undo::Created(id));
        id
    }

    /// Sets the records of group `id`, journaled.
    fn set_locs(&mut self, journal: &mut Journal, id: u32, locs: Vec<Loc>) {
        let group = &self.groups[id as usize];
        let new = Group { locs: Locs::from_vec(locs), ..group.clone() };
        let before = group.locs.clone();
        if !before.is_empty() && new.locs.is_empty() {
            journal.emptied_groups.push(id);
        }
        journal.touch(group.source);
        self.put_group(id, new);
        journal.push(Undo::Locs(id, before));
    }

    /// Makes room for `n` more keys at once, rather than growing the table in steps
    /// through a large load.
    fn reserve_keys(&mut self, n: usize) {
        let groups = &self.groups;
        self.keys.reserve(n, |&g| groups[g as usize].hash);
    }

    /// Sets group `id` to `group`, keeping the key table, the source's group set and its
    /// record count in step: a group is in the table while it has records.
    fn put_group(&mut self, id: u32, group: Group) {
        let slot = &mut self.groups[id as usize];
        let (was, now) = (slot.locs.as_slice().len(), group.locs.as_slice().len());
        let source = &mut self.sources[group.source as usize];
        source.records = source.records + now - was;
        if was > 0 && now == 0 {
            let entry = self.keys.find_entry(slot.hash, |&g| g == id);
            entry.expect("a group with records is in the key table").remove();
            source.groups.remove(id);
        }
        if was == 0 && now > 0 {
            let groups = &self.groups;
            self.keys.insert_unique(group.hash, id, |&g| groups[g as usize].hash);
            source.groups.insert(id);
        }
        self.groups[id as usize] = group;
    }

    fn kill(&mut self, journal: &mut Journal, loc: Loc) {
        match loc.place() {
            Place::Base(id) => {
                self.dead.insert(id);
                journal.push(Undo::Dead(id));
            }
            Place::Delta(slot) => {
                let record = self.slots[slot as usize].take().expect("a killed slot is live");
                self.live_slots -= 1;
                journal.freed_slots.push(slot);
                journal.push(Undo::SlotKilled(slot, record));
            }
        }
        journal.update.removed += 1;
    }

    fn add_slot(&mut self, journal: &mut Journal, record: Record) -> Loc {
        let reuse = if self.compaction.is_none() { self.free_slots.pop() } else { None };
        let slot = reuse.unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() as u32 - 1
        });
        self.slots[slot as usize] = Some(Arc::new(record));
        self.live_slots += 1;
        journal.push(Undo::SlotAdded(slot));
        Loc::delta(slot)
    }

    fn set_stix(&mut self, journal: &mut Journal, source: u32, id: &str, version: StixVersion) {
        let before = self.sources[source as usize].stix.insert(id.into(), version);
        journal.push(Undo::Stix(Box::new((source, id.into(), before))));
    }

    /// Undoes every change of `journal`, newest first.
    pub(super) fn rollback(&mut self, journal: Journal) {
        for undo in journal.undo.into_iter().rev() {
            match undo {
                Undo::Locs(id, locs) => {
                    self.put_group(id, Group { locs, ..self.groups[id as usize].clone() })
                }
                Undo::Created(id) => {
                    self.put_group(id, Group { locs: Locs::default(), ..self.groups[id as usize].clone() });
                    self.free_groups.push(id);
                }
                Undo::Dead(id) => {
                    self.dead.remove(id);
                }
                Undo::SlotAdded(slot) => {
                    self.slots[slot as usize] = None;
                    self.live_slots -= 1;
                    self.free_slots.push(slot);
                }
                Undo::SlotKilled(slot, record) => {
                    self.slots[slot as usize] = Some(record);
                    self.live_slots += 1;
                }
                Undo::Stix(change) => {
                    let (source, id, before) = *change;
                    let stix = &mut self.sources[source as usize].stix;
                    match before {
                        Some(version) => stix.insert(id, version),
                        None => stix.remove(&id),
                    };
                }
            }
        }
    }

    /// Keeps the changes of `journal`: what it freed can be reused.
    pub(super) fn settle(&mut self, journal: Journal) -> Update {
        if self.compaction.is_none() {
            self.free_slots.extend(journal.freed_slots);
        }
        for id in journal.emptied_groups {
            if self.groups[id as usize].locs.is_empty() {
                self.free_groups.push(id);
            }
        }
        journal.update
    }

    /// Checks what the rest of the state relies on: every live record is in exactly one
    /// group, under its own key; every group in the key table has records; the counts and
    /// sets of each source agree.
    #[cfg(test)]
    pub(super) fn check(&self) {
        let mut seen = std::collections::HashSet::new();
        let mut records = vec![0usize; self.sources.len()];
        assert_eq!(self.keys.len(), self.sources.iter().map(|s| s.groups.len() as usize).sum::<usize>());
        for &id in self.keys.iter() {
            let group = &self.groups[id as usize];
            assert!(!group.locs.is_empty(), "group {id} in the table has records");
            assert!(self.sources[group.source as usize].groups.contains(id));
            for &loc in group.locs.as_slice() {
                assert!(seen.insert(loc), "{loc:?} is in one group");
                let view = self.view(loc);
                assert_eq!(view.key().hash(group.source), group.hash);
                assert_eq!(source_name(view.meta), self.sources[group.source as usize].name);
                records[group.source as usize] += 1;
            }
        }
        let live_base = (0..self.base.record_count() as u32).filter(|&id| !self.dead.contains(id));
        let live_slots = (self.slots.iter().enumerate()).filter(|(_, s)| s.is_some()).map(|(i, _)| i as u32);
        let live: Vec<Loc> = live_base.map(Loc::base).chain(live_slots.map(Loc::delta)).collect();
        assert_eq!(live.len(), seen.len(), "every live record is in a group");
        assert!(live.iter().all(|loc| seen.contains(loc)));
        assert_eq!(self.live_slots, self.slots.iter().filter(|s| s.is_some()).count());
        for (source, &n) in self.sources.iter().zip(&records) {
            assert_eq!(source.records, n, "records of {}", source.name);
        }
    }

    /// Remaps every group's locations after a compaction: `map` gives the new location of
    /// each, `None` for a record the compaction dropped (expired).
    pub(super) fn remap_groups(&mut self, mut map: impl FnMut(Loc) -> Option<Loc>) {
        for id in 0..self.groups.len() as u32 {
            let group = &self.groups[id as usize];
            if group.locs.is_empty() {
                continue;
            }
            let mut locs = group.locs.clone();
            let before = locs.as_slice().len();
            locs.remap(&mut map);
            if locs.as_slice().len() == before {
                self.groups[id as usize].locs = locs;
            } else {
                let group = Group { locs, ..self.groups[id as usize].clone() };
                self.put_group(id, group);
                if self.groups[id as usize].locs.is_empty() {
                    self.free_groups.push(id);
                }
            }
        }
    }

    /// Takes the slots out, leaving none (a compaction renumbers them).
    pub(super) fn take_slots(&mut self) -> Vec<Option<Arc<Record>>> {
        self.free_slots.clear();
        self.live_slots = 0;
        std::mem::take(&mut self.slots)
    }

    /// Puts slots back, densely numbered.
    pub(super) fn set_slots(&mut self, slots: Vec<Option<Arc<Record>>>) {
        self.live_slots = slots.iter().filter(|s| s.is_some()).count();
        self.slots = slots;
    }

    /// Approximate heap bytes of the state, besides the indexes.
    pub(super) fn memory_usage(&self) -> usize {
        let slot_records: usize = (self.slots.iter().flatten())
            .map(|r| std::mem::size_of::<Record>() + 16 + r.value.len() + meta_bytes(&r.meta))
            .sum();
        let sources: usize = (self.sources.iter())
            .map(|s| {
                s.groups.serialized_size()
                    + s.stix.capacity() * (std::mem::size_of::<(Box<str>, StixVersion)>() + 1)
                    + s.stix.keys().map(|k| k.len()).sum::<usize>()
            })
            .sum();
        self.groups.capacity() * std::mem::size_of::<Group>()
            + self.keys.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.slots.capacity() * std::mem::size_of::<Option<Arc<Record>>>()
            + slot_records
            + self.dead.serialized_size()
            + sources
    }
}

/// Approximate heap bytes of an index.
pub(super) fn index_memory(index: &Index) -> usize {
    index.stats().memory.iter().map(|(_, bytes)| bytes).sum()
}

/// Approximate heap bytes of a record's metadata.
pub(super) fn meta_bytes(meta: &Meta) -> usize {
    let strings = [&meta.source, &meta.reference, &meta.description];
    strings.iter().filter_map(|s| s.as_ref()).map(|s| s.len()).sum::<usize>()
        + meta.tags.iter().map(|t| t.len() + std::mem::size_of::<String>()).sum::<usize>()
}
