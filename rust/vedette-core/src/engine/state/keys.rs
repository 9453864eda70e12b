//! What a record is keyed by within its source, and where it lives: the base index or a
//! delta slot.

use std::hash::{BuildHasher, Hash, Hasher};

use rustc_hash::FxBuildHasher;

use crate::indicator::{Kind, Meta};
use crate::normalize::IpRange;

/// A record the base does not hold: one of the delta's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::engine) struct Record {
    pub kind: Kind,
    pub value: Box<str>,
    pub ip: Option<IpRange>,
    pub meta: Meta,
}

/// What identifies a record within its source (docs/semantics.md §10.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::engine) enum Key<'a> {
    Ref(&'a str),
    Value(Kind, &'a str),
}

impl<'a> Key<'a> {
    pub(in crate::engine) fn of(kind: Kind, value: &'a str, meta: &'a Meta) -> Key<'a> {
        match meta.reference.as_deref() {
            Some(reference) => Key::Ref(reference),
            None => Key::Value(kind, value),
        }
    }

    pub(in crate::engine) fn hash(self, source: u32) -> u64 {
        let mut hasher = FxBuildHasher.build_hasher();
        source.hash(&mut hasher);
        Hash::hash(&self, &mut hasher);
        hasher.finish()
    }
}

/// The source name of a record: the empty name stands for records without one.
pub(in crate::engine) fn source_name(meta: &Meta) -> &str {
    meta.source.as_deref().unwrap_or("")
}

/// Where a record lives: a base record id, or a delta slot (top bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::engine) struct Loc(u32);

const DELTA_BIT: u32 = 1 << 31;

pub(in crate::engine) enum Place {
    Base(u32),
    Delta(u32),
}

impl Loc {
    const NONE: Loc = Loc(u32::MAX);

    pub(in crate::engine) fn base(id: u32) -> Loc {
        debug_assert!(id < DELTA_BIT);
        Loc(id)
    }

    pub(in crate::engine) fn delta(slot: u32) -> Loc {
        debug_assert!(slot < DELTA_BIT - 1);
        Loc(slot | DELTA_BIT)
    }

    pub(in crate::engine) fn place(self) -> Place {
        match self.0 & DELTA_BIT {
            0 => Place::Base(self.0),
            _ => Place::Delta(self.0 & !DELTA_BIT),
        }
    }
}

/// The locations of one key's records. Nearly every key has one record, so that one is
/// kept inline: a million keys then cost no allocation each.
#[derive(Clone, Debug)]
pub(in crate::engine) struct Locs {
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
    pub(super) fn from_vec(locs: Vec<Loc>) -> Locs {
        match locs.len() {
            0 => Locs::default(),
            1 => Locs { one: locs[0], more: None },
            _ => Locs { one: Loc::NONE, more: Some(locs.into_boxed_slice()) },
        }
    }

    pub(in crate::engine) fn as_slice(&self) -> &[Loc] {
        match &self.more {
            Some(more) => more,
            None if self.one == Loc::NONE => &[],
            None => std::slice::from_ref(&self.one),
        }
    }

    pub(in crate::engine) fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Replaces each location with `map`'s answer, dropping those it maps to `None`.
    pub(in crate::engine) fn remap(&mut self, mut map: impl FnMut(Loc) -> Option<Loc>) {
        match &self.more {
            None if self.one == Loc::NONE => {}
            None => self.one = map(self.one).unwrap_or(Loc::NONE),
            Some(more) => *self = Locs::from_vec(more.iter().filter_map(|&loc| map(loc)).collect()),
        }
    }
}

/// The records of one key of one source.
#[derive(Clone, Debug, Default)]
pub(in crate::engine) struct Group {
    /// Of the key, with the source: what the key table is hashed by.
    pub(super) hash: u64,
    pub(super) source: u32,
    pub locs: Locs,
}
