//! [`Entries`]: the distinct `(kind, canonical value)` pairs of an index, by id.
//!
//! The values live end to end in one buffer, not in an allocation each: a million
//! entries are then a few vectors, which load, fill and free as blocks, and a lookup
//! that compares against a value reads a small offset table instead of a 16-byte
//! pointer per entry. Only IP entries carry the range they cover, in a side table.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::indicator::Kind;
use crate::normalize::IpRange;

/// One entry, borrowed from [`Entries`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    pub kind: Kind,
    pub value: &'a str,
    /// For IP entries: the addresses the value covers.
    pub ip: Option<IpRange>,
}

#[derive(Clone, Debug)]
pub(crate) struct Entries {
    kinds: Vec<Kind>,
    /// Entry `i`'s value is `text[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    text: String,
    /// The range of each IP entry, by ascending entry id.
    ips: Vec<(u32, IpRange)>,
}

impl Default for Entries {
    fn default() -> Self {
        Entries::with_capacity(0, 0)
    }
}

impl Entries {
    /// Room for `entries` values of `text_bytes` bytes in all.
    pub(crate) fn with_capacity(entries: usize, text_bytes: usize) -> Entries {
        let mut starts = Vec::with_capacity(entries + 1);
        starts.push(0);
        Entries {
            kinds: Vec::with_capacity(entries),
            starts,
            text: String::with_capacity(text_bytes),
            ips: Vec::new(),
        }
    }

    /// Appends an entry and returns its id. `ip` must be the range of an IP `value`.
    pub(crate) fn push(&mut self, kind: Kind, value: &str, ip: Option<IpRange>) -> u32 {
        let id = self.kinds.len() as u32;
        self.kinds.push(kind);
        self.text.push_str(value);
        self.starts.push(self.text.len());
        if let Some(ip) = ip {
            self.ips.push((id, ip));
        }
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.kinds.len()
    }

    /// The bytes of all values together.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The kind of each entry, by id.
    pub(crate) fn kinds(&self) -> &[Kind] {
        &self.kinds
    }

    #[inline]
    pub(crate) fn kind(&self, id: u32) -> Kind {
        self.kinds[id as usize]
    }

    /// The canonical value of entry `id`, as bytes: the form the lookup tables compare.
    #[inline]
    pub(crate) fn bytes(&self, id: u32) -> &[u8] {
        let id = id as usize;
        &self.text.as_bytes()[self.starts[id]..self.starts[id + 1]]
    }

    pub(crate) fn value(&self, id: u32) -> &str {
        let id = id as usize;
        &self.text[self.starts[id]..self.starts[id + 1]]
    }

    /// The addresses IP entry `id` covers; `None` for other kinds.
    pub(crate) fn ip(&self, id: u32) -> Option<IpRange> {
        let i = self.ips.binary_search_by_key(&id, |&(entry, _)| entry).ok()?;
        Some(self.ips[i].1)
    }

    /// Every IP entry and its range, by ascending id.
    pub(crate) fn ips(&self) -> &[(u32, IpRange)] {
        &self.ips
    }

    pub(crate) fn get(&self, id: u32) -> Entry<'_> {
        let kind = self.kind(id);
        let ip = match kind {
            Kind::Ipv4 | Kind::Ipv6 => self.ip(id),
            _ => None,
        };
        Entry { kind, value: self.value(id), ip }
    }

    /// Every entry, in id order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = Entry<'_>> + '_ {
        (0..self.len() as u32).map(|id| self.get(id))
    }

    /// Heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.kinds.capacity()
            + self.starts.capacity() * std::mem::size_of::<usize>()
            + self.text.capacity()
            + self.ips.capacity() * std::mem::size_of::<(u32, IpRange)>()
    }
}

/// [`Entries`] that hold each `(kind, value)` once: what a builder collects into.
#[derive(Clone, Debug, Default)]
pub(crate) struct DistinctEntries {
    entries: Entries,
    /// Entry ids, by the hash of their kind and value.
    ids: HashTable<u32>,
}

impl DistinctEntries {
    /// The id of `(kind, value)`, pushed with `ip` when it is new.
    pub(crate) fn intern(&mut self, kind: Kind, value: &str, ip: Option<IpRange>) -> u32 {
        let entries = &mut self.entries;
        let hash = kind_value_hash(kind, value.as_bytes());
        let same = |&id: &u32| entries.kind(id) == kind && entries.bytes(id) == value.as_bytes();
        if let Some(&id) = self.ids.find(hash, same) {
            return id;
        }
        let id = entries.push(kind, value, ip);
        let rehash = |&id: &u32| kind_value_hash(entries.kind(id), entries.bytes(id));
        self.ids.insert_unique(hash, id, rehash);
        id
    }

    pub(crate) fn entries(&self) -> &Entries {
        &self.entries
    }

    pub(crate) fn into_entries(self) -> Entries {
        self.entries
    }
}

fn kind_value_hash(kind: Kind, value: &[u8]) -> u64 {
    let mut hasher = FxBuildHasher.build_hasher();
    kind.hash(&mut hasher);
    hasher.write(value);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_with_their_kinds_and_ranges() {
        let mut set = DistinctEntries::default();
        let net = IpRange::V4 { first: 0x0a00_0000, last: 0x0aff_ffff };
        let rows = [
            (Kind::Domain, "evil.example", None),
            (Kind::Ipv4, "10.0.0.0/8", Some(net)),
            (Kind::String, "", None),
        ];
        for (i, &(kind, value, ip)) in rows.iter().enumerate() {
            assert_eq!(set.intern(kind, value, ip), i as u32);
        }
        // The same value under another kind is another entry; under its own, the same.
        assert_eq!(set.intern(Kind::Hostname, "evil.example", None), 3);
        assert_eq!(set.intern(Kind::Domain, "evil.example", None), 0);
        let entries = set.entries();
        assert_eq!(entries.len(), 4);
        for (i, &(kind, value, ip)) in rows.iter().enumerate() {
            assert_eq!(entries.get(i as u32), Entry { kind, value, ip });
            assert_eq!(entries.bytes(i as u32), value.as_bytes());
        }
        assert_eq!(entries.ips(), &[(1, net)]);
        assert_eq!(entries.ip(0), None);
    }
}
