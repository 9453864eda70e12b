//! The writer's side of the engine: which records each source holds, by key, and where
//! each record lives (the base index, or a delta slot); every change is journaled so that
//! a transaction that cannot publish is undone.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use hashbrown::HashTable;
use roaring::RoaringBitmap;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::sightings::Sightings;
use super::Update;
use crate::index::Index;
use crate::indicator::{IndicatorId, Kind, Meta, Timestamp};
use crate::normalize::IpRange;

/// A record the base does not hold: one of the delta's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Record {
    pub kind: Kind,
    pub value: Box<str>,
    pub ip: Option<IpRange>,
    pub meta: Meta,
}

/// What identifies a record within its source (docs/semantics.md §10.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key<'a> {
    Ref(&'a str),
    Value(Kind, &'a str),
}

impl<'a> Key<'a> {
    pub(super) fn of(kind: Kind, value: &'a str, meta: &'a Meta) -> Key<'a> {
        match meta.reference.as_deref() {
            Some(reference) => Key::Ref(reference),
            None => Key::Value(kind, value),
        }
    }

    pub(super) fn hash(self, source: u32) -> u64 {
        let mut hasher = FxBuildHasher.build_hasher();
        source.hash(&mut hasher);
        Hash::hash(&self, &mut hasher);
        hasher.finish()
    }
}

/// The source name of a record: the empty name stands for records without one.
pub(super) fn source_name(meta: &Meta) -> &str {
    meta.source.as_deref().unwrap_or("")
}

/// Where a record lives: a base record id, or a delta slot (top bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Loc(u32);

const DELTA_BIT: u32 = 1 << 31;

pub(super) enum Place {
    Base(u32),
    Delta(u32),
}

impl Loc {
    const NONE: Loc = Loc(u32::MAX);

    pub(super) fn base(id: u32) -> Loc {
        debug_assert!(id < DELTA_BIT);
        Loc(id)
    }

    pub(super) fn delta(slot: u32) -> Loc {
        debug_assert!(slot < DELTA_BIT - 1);
        Loc(slot | DELTA_BIT)
    }

    pub(super) fn place(self) -> Place {
        match self.0 & DELTA_BIT {
            0 => Place::Base(self.0),
            _ => Place::Delta(self.0 & !DELTA_BIT),
        }
    }
}

/// The locations of one key's records. Nearly every key has one record, so that one is
/// kept inline: a million keys then cost no allocation each.
#[derive(Clone, Debug)]
pub(super) struct Locs {
    one: Loc,
    /// All of them, when there are two or more.
    more: Option<Box<[Loc]>>,
}

impl Default for Locs {
    fn default() -> Self {
        Locs { one: Loc::NONE, more: None }
    }
}

impl Locs {
    fn from_vec(locs: Vec<Loc>) -> Locs {
        match locs.len() {
            0 => Locs::default(),
            1 => Locs { one: locs[0], more: None },
            _ => Locs { one: Loc::NONE, more: Some(locs.into_boxed_slice()) },
        }
    }

    pub(super) fn as_slice(&self) -> &[Loc] {
        match &self.more {
            Some(more) => more,
            None if self.one == Loc::NONE => &[],
            None => std::slice::from_ref(&self.one),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Replaces each location with `map`'s answer, dropping those it maps to `None`.
    pub(super) fn remap(&mut self, mut map: impl FnMut(Loc) -> Option<Loc>) {
        match &self.more {
            None if self.one == Loc::NONE => {}
            None => self.one = map(self.one).unwrap_or(Loc::NONE),
            Some(more) => *self = Locs::from_vec(more.iter().filter_map(|&loc| map(loc)).collect()),
        }
    }
}

/// The records of one key of one source.
#[derive(Clone, Debug, Default)]
pub(super) struct Group {
    /// Of the key, with the source: what the key table is hashed by.
    hash: u64,
    source: u32,
    pub locs: Locs,
}

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

/// How to undo one change.
enum Undo {
    /// A group had this content (no locations: it did not exist).
    Group(u32, Group),
    /// A group id was taken from the free list or made.
    NewGroup(u32),
    /// A base record was removed.
    Dead(u32),
    SlotAdded(u32),
    SlotKilled(u32, Arc<Record>),
    Stix(u32, Box<str>, Option<StixVersion>),
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

/// A record as a load or an add gives it, and what the feed says about ids.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub records: Vec<Record>,
    pub notices: Vec<OwnedNotice>,
    /// The source now holds exactly this batch (docs/semantics.md §10.2).
    pub sync: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum OwnedNotice {
    Version { reference: Box<str>, modified: Option<Timestamp> },
    Revoked { reference: Box<str> },
    Deleted { reference: Box<str> },
}

/// The keys of a batch and the records of each, the last record of a `(kind, value)`
/// within a key winning.
struct Keyed {
    table: HashTable<usize>,
    keys: Vec<KeyedRecords>,
}

struct KeyedRecords {
    hash: u64,
    /// The key, when no record names it (a STIX id whose version holds none).
    reference: Option<Box<str>>,
    records: Vec<Record>,
    /// An older version than the source's: mentioned, but its records do not load.
    stale: bool,
}

impl KeyedRecords {
    fn key(&self) -> Key<'_> {
        match (&self.reference, self.records.first()) {
            (Some(reference), _) => Key::Ref(reference),
            (None, Some(r)) => Key::of(r.kind, &r.value, &r.meta),
            (None, None) => unreachable!("a key without a reference has a record"),
        }
    }
}

impl Keyed {
    fn new(source: u32, records: Vec<Record>) -> Keyed {
        let mut keyed = Keyed { table: HashTable::new(), keys: Vec::new() };
        for record in records {
            let hash = Key::of(record.kind, &record.value, &record.meta).hash(source);
            let i = keyed.slot(hash, Key::of(record.kind, &record.value, &record.meta), None);
            let list = &mut keyed.keys[i].records;
            match list.iter_mut().find(|r| r.kind == record.kind && r.value == record.value) {
                Some(same) => *same = record,
                None => list.push(record),
            }
        }
        keyed
    }

    /// The position of `key`, added (with `reference` as its name) when absent.
    fn slot(&mut self, hash: u64, key: Key<'_>, reference: Option<&str>) -> usize {
        let keys = &self.keys;
        if let Some(&i) = self.table.find(hash, |&i| keys[i].hash == hash && keys[i].key() == key) {
            return i;
        }
        let i = self.keys.len();
        let reference = reference.map(Box::from);
        self.keys.push(KeyedRecords { hash, reference, records: Vec::new(), stale: false });
        let keys = &self.keys;
        self.table.insert_unique(hash, i, |&j| keys[j].hash);
        i
    }

    fn mentions(&self, hash: u64, key: Key<'_>) -> bool {
        self.table.find(hash, |&i| self.keys[i].hash == hash && self.keys[i].key() == key).is_some()
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
        let group = match self.find_group(source, key, hash) {
            Some(group) => group,
            None => self.new_group(journal, source, hash),
        };
        let mut locs = self.groups[group as usize].locs.as_slice().to_vec();
        locs.push(loc);
        self.set_locs(journal, group, locs);
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

    fn new_group(&mut self, journal: &mut Journal, source: u32, hash: u64) -> u32 {
        let id = self.free_groups.pop().unwrap_or_else(|| {
            self.groups.push(Group::default());
            self.groups.len() as u32 - 1
        });
        self.groups[id as usize] = Group { hash, source, locs: Locs::default() };
        journal.push(Undo::NewGroup(id));
        id
    }

    /// Sets the records of group `id`, journaled.
    fn set_locs(&mut self, journal: &mut Journal, id: u32, locs: Vec<Loc>) {
        let group = &self.groups[id as usize];
        let before = group.clone();
        let new = Group { locs: Locs::from_vec(locs), ..group.clone() };
        if !before.locs.is_empty() && new.locs.is_empty() {
            journal.emptied_groups.push(id);
        }
        journal.touch(before.source);
        self.put_group(id, new);
        journal.push(Undo::Group(id, before));
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
        journal.push(Undo::Stix(source, id.into(), before));
    }

    /// Undoes every change of `journal`, newest first.
    pub(super) fn rollback(&mut self, journal: Journal) {
        for undo in journal.undo.into_iter().rev() {
            match undo {
                Undo::Group(id, before) => self.put_group(id, before),
                Undo::NewGroup(id) => self.free_groups.push(id),
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
                Undo::Stix(source, id, before) => {
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

    /// Puts a batch into `source` (docs/semantics.md §10.2, §10.3).
    pub(super) fn put(&mut self, journal: &mut Journal, source: u32, batch: Batch) {
        journal.touch(source);
        let mut keyed = Keyed::new(source, batch.records);
        for notice in &batch.notices {
            let (reference, version) = match notice {
                OwnedNotice::Version { reference, modified } => (reference, Some(*modified)),
                OwnedNotice::Revoked { reference } => (reference, None),
                OwnedNotice::Deleted { reference } => {
                    let key = Key::Ref(reference);
                    keyed.slot(key.hash(source), key, Some(reference));
                    continue;
                }
            };
            let key = Key::Ref(reference);
            let i = keyed.slot(key.hash(source), key, Some(reference));
            let stored = self.sources[source as usize].stix.get(&**reference).copied();
            match (version, stored) {
                (None, _) => {
                    // Named by its reference, as it no longer has records to name it.
                    keyed.keys[i].reference.get_or_insert_with(|| reference.clone());
                    keyed.keys[i].records.clear();
                    self.set_stix(journal, source, reference, StixVersion::Revoked);
                }
                (Some(_), Some(StixVersion::Revoked)) => keyed.keys[i].stale = true,
                (Some(modified), Some(StixVersion::Modified(have))) if modified < have => {
                    keyed.keys[i].stale = true;
                }
                (Some(modified), _) => {
                    self.set_stix(journal, source, reference, StixVersion::Modified(modified))
                }
            }
        }
        if batch.sync {
            let groups: Vec<u32> = self.sources[source as usize].groups.iter().collect();
            for id in groups {
                let group = &self.groups[id as usize];
                let key = self.view(group.locs.as_slice()[0]).key();
                if !keyed.mentions(group.hash, key) {
                    self.clear_group(journal, id);
                }
            }
        }
        for entry in keyed.keys {
            if entry.stale {
                journal.update.stale += 1;
                continue;
            }
            let key = entry.key();
            let group = self.find_group(source, key, entry.hash);
            self.replace(journal, source, entry.hash, group, entry.records);
        }
    }

    /// Gives a key exactly `records`: those already there with the same metadata stay
    /// where they are, the others go, the new ones join the delta.
    fn replace(
        &mut self,
        journal: &mut Journal,
        source: u32,
        hash: u64,
        group: Option<u32>,
        records: Vec<Record>,
    ) {
        let mut fresh: Vec<Option<Record>> = records.into_iter().map(Some).collect();
        let old: Vec<Loc> = group.map_or(Vec::new(), |g| self.groups[g as usize].locs.as_slice().to_vec());
        let mut keep = Vec::with_capacity(fresh.len());
        for &loc in &old {
            let view = self.view(loc);
            match fresh.iter().position(|r| r.as_ref().is_some_and(|r| view.is(r))) {
                Some(i) => {
                    fresh[i] = None;
                    keep.push(loc);
                    journal.update.unchanged += 1;
                }
                None => self.kill(journal, loc),
            }
        }
        let unchanged = keep.len() == old.len() && fresh.iter().all(Option::is_none);
        for record in fresh.into_iter().flatten() {
            keep.push(self.add_slot(journal, record));
            journal.update.added += 1;
        }
        if unchanged {
            return;
        }
        let group = match group {
            Some(group) => group,
            None => self.new_group(journal, source, hash),
        };
        self.set_locs(journal, group, keep);
    }

    fn clear_group(&mut self, journal: &mut Journal, id: u32) {
        for loc in self.groups[id as usize].locs.as_slice().to_vec() {
            self.kill(journal, loc);
        }
        self.set_locs(journal, id, Vec::new());
    }

    /// Removes the records of `source` with ref `reference`.
    pub(super) fn remove_ref(&mut self, journal: &mut Journal, source: u32, reference: &str) {
        journal.touch(source);
        let key = Key::Ref(reference);
        if let Some(group) = self.find_group(source, key, key.hash(source)) {
            self.clear_group(journal, group);
        }
    }

    /// Removes the records of `source` with the canonical `(kind, value)`, whatever
    /// their ref.
    pub(super) fn remove_value(
        &mut self,
        journal: &mut Journal,
        source: u32,
        kind: Kind,
        value: &str,
        ip: Option<IpRange>,
    ) {
        journal.touch(source);
        let name = self.sources[source as usize].name.as_str();
        let mut found = Vec::new();
        if let Some(entry) = self.base.entry_of(kind, value, ip) {
            let live = self.base.records_of(entry).filter(|&id| !self.dead.contains(id));
            found.extend(live.map(Loc::base).filter(|&loc| source_name(self.view(loc).meta) == name));
        }
        // The delta is small: a scan is cheaper than keeping it indexed by value.
        for (slot, record) in self.slots.iter().enumerate() {
            if let Some(r) = record.as_deref() {
                if r.kind == kind && *r.value == *value && source_name(&r.meta) == name {
                    found.push(Loc::delta(slot as u32));
                }
            }
        }
        for loc in found {
            let key = self.view(loc).key();
            let group = self.find_group(source, key, key.hash(source)).expect("a live record has a group");
            let locs =
                self.groups[group as usize].locs.as_slice().iter().copied().filter(|&l| l != loc).collect();
            self.kill(journal, loc);
            self.set_locs(journal, group, locs);
        }
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
