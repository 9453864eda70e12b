//! The rules of docs/semantics.md §10 on plain maps, as the core's `engine/proptests.rs`
//! states them: what records each source holds after each change.

use std::collections::BTreeMap;

use vedette_core::normalize;
use vedette_core::{Kind, Meta};

use super::{meta_of, pick, reference, source_name, stix_value, Change, StixObject, PAST, VALUES};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Key {
    Ref(String),
    Value(Kind, String),
}

pub(super) type Rec = (Kind, String, Meta);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Version {
    Modified(Option<u8>),
    Revoked,
}

/// The rules of docs/semantics.md §10 on plain maps: each source's records by key.
#[derive(Clone, Debug, Default)]
pub(super) struct Model {
    groups: BTreeMap<(u8, Key), Vec<Rec>>,
    stix: BTreeMap<(u8, u8), Version>,
}

fn record(value: &str, meta: Meta) -> Rec {
    let n = normalize::normalize(value, None, false).expect("the model's values are valid");
    (n.kind, n.value, meta)
}

fn key_of(rec: &Rec) -> Key {
    match &rec.2.reference {
        Some(r) => Key::Ref(r.clone()),
        None => Key::Value(rec.0, rec.1.clone()),
    }
}

impl Model {
    /// A load's records by key, the last of a `(kind, value)` within a key winning.
    fn put(&mut self, source: u8, records: Vec<Rec>, mentioned: &mut Vec<Key>) {
        let mut keyed: BTreeMap<Key, Vec<Rec>> = BTreeMap::new();
        for rec in records {
            let list = keyed.entry(key_of(&rec)).or_default();
            list.retain(|r| (r.0, &r.1) != (rec.0, &rec.1));
            list.push(rec);
        }
        for (key, list) in keyed {
            mentioned.push(key.clone());
            self.groups.insert((source, key), list);
        }
    }

    fn sync(&mut self, source: u8, mentioned: &[Key]) {
        self.groups.retain(|(s, key), _| *s != source || mentioned.contains(key));
    }

    /// Applies a committed change; false when the model cannot follow it.
    pub(super) fn apply(&mut self, change: &Change) -> bool {
        match change {
            Change::Add { source, row } => {
                let rec = record(pick(&VALUES, row.value), meta_of(*source, row));
                self.groups.insert((source % 3, key_of(&rec)), vec![rec]);
            }
            Change::RemoveRef { source, reference: r } => {
                self.groups.remove(&(source % 3, Key::Ref(reference(*r))));
            }
            Change::RemoveValue { source, value } => {
                let gone = record(pick(&VALUES, *value), Meta::default());
                for ((s, _), list) in self.groups.iter_mut() {
                    if *s == source % 3 {
                        list.retain(|r| (r.0, &r.1) != (gone.0, &gone.1));
                    }
                }
                self.groups.retain(|_, list| !list.is_empty());
            }
            Change::Load { source, rows, sync } => {
                let records = rows.iter().map(|row| record(pick(&VALUES, row.value), meta_of(*source, row)));
                let mut mentioned = Vec::new();
                self.put(source % 3, records.collect(), &mut mentioned);
                if *sync {
                    self.sync(source % 3, &mentioned);
                }
            }
            Change::Stix { source, objects, sync } => self.stix(source % 3, objects, *sync),
            Change::Feed { .. } => return false,
        }
        true
    }

    fn stix(&mut self, source: u8, objects: &[StixObject], sync: bool) {
        // Within the bundle: the newest modified wins, the later on a tie; any revoked
        // version revokes the id.
        let mut winners: BTreeMap<u8, (Option<u8>, u8, bool)> = BTreeMap::new();
        for o in objects {
            let (id, modified) = (o.id % 3, o.modified.map(|m| m % 3));
            let w = winners.entry(id).or_insert((modified, o.value, false));
            if modified >= w.0 {
                (w.0, w.1) = (modified, o.value);
            }
            w.2 |= o.revoked;
        }
        let mut mentioned = Vec::new();
        for (id, (modified, value, revoked)) in winners {
            let key = Key::Ref(format!("indicator--{id}"));
            mentioned.push(key.clone());
            let stored = self.stix.get(&(source, id)).cloned();
            if revoked {
                self.stix.insert((source, id), Version::Revoked);
                self.groups.remove(&(source, key));
                continue;
            }
            let stale = match stored {
                Some(Version::Revoked) => true,
                Some(Version::Modified(have)) => modified < have,
                None => false,
            };
            if stale {
                continue;
            }
            self.stix.insert((source, id), Version::Modified(modified));
            let meta = Meta {
                source: source_name(source),
                reference: Some(format!("indicator--{id}")),
                ..Meta::default()
            };
            self.groups.insert((source, key), vec![record(stix_value(value), meta)]);
        }
        if sync {
            self.sync(source, &mentioned);
        }
    }

    pub(super) fn records(&self) -> Vec<Rec> {
        let mut out: Vec<Rec> = self.groups.values().flatten().filter(|r| live(&r.2)).cloned().collect();
        out.sort_by_cached_key(|r| format!("{r:?}"));
        out
    }
}

/// Not expired: an expired record may or may not be compacted away yet.
pub(super) fn live(meta: &Meta) -> bool {
    meta.valid_until != Some(PAST)
}
