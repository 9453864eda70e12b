//! Updates applied to the state: a batch of records (an add, a load), removals by ref
//! and by value, each journaled (docs/semantics.md §10.1 to §10.3).

use hashbrown::HashTable;

use super::keys::{source_name, Key, Loc, Record};
use super::{Journal, State, StixVersion};
use crate::indicator::{Kind, Timestamp};
use crate::normalize::IpRange;

/// A record as a load or an add gives it, and what the feed says about ids.
#[derive(Debug, Default)]
pub(in crate::engine) struct Batch {
    pub records: Vec<Record>,
    pub notices: Vec<OwnedNotice>,
    /// The source now holds exactly this batch (docs/semantics.md §10.2).
    pub sync: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::engine) enum OwnedNotice {
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
        let n = records.len();
        let mut keyed = Keyed { table: HashTable::with_capacity(n), keys: Vec::with_capacity(n) };
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

impl State {
    /// Puts a batch into `source` (docs/semantics.md §10.2, §10.3).
    pub(in crate::engine) fn put(&mut self, journal: &mut Journal, source: u32, batch: Batch) {
        journal.touch(source);
        let mut keyed = Keyed::new(source, batch.records);
        // As many new keys as the source grows by, at a guess: all of a first load's.
        let held = self.sources[source as usize].groups.len() as usize;
        self.reserve_keys(keyed.keys.len().saturating_sub(held));
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
        let Some(group) = group else {
            // A new key, the common case of a first load: every record is new.
            if !records.is_empty() {
                journal.update.added += records.len();
                let locs = records.into_iter().map(|r| self.add_slot(journal, r)).collect();
                self.new_group(journal, source, hash, locs);
            }
            return;
        };
        let mut fresh: Vec<Option<Record>> = records.into_iter().map(Some).collect();
        let old: Vec<Loc> = self.groups[group as usize].locs.as_slice().to_vec();
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
        if !unchanged {
            self.set_locs(journal, group, keep);
        }
    }

    fn clear_group(&mut self, journal: &mut Journal, id: u32) {
        for loc in self.groups[id as usize].locs.as_slice().to_vec() {
            self.kill(journal, loc);
        }
        self.set_locs(journal, id, Vec::new());
    }

    /// Removes the records of `source` with ref `reference`.
    pub(in crate::engine) fn remove_ref(&mut self, journal: &mut Journal, source: u32, reference: &str) {
        journal.touch(source);
        let key = Key::Ref(reference);
        if let Some(group) = self.find_group(source, key, key.hash(source)) {
            self.clear_group(journal, group);
        }
    }

    /// Removes the records of `source` with the canonical `(kind, value)`, whatever
    /// their ref.
    pub(in crate::engine) fn remove_value(
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
}
