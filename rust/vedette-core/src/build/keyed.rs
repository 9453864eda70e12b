//! A hash table whose keys are not stored: each key is a prefix of an entry's canonical
//! value, named by entry id and length. A million keys cost no allocation of their own,
//! and a lookup compares against the one copy of the value the index already holds.

use std::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::entries::Entries;

/// A key: the first `len` bytes of the value of entry `entry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub entry: u32,
    pub len: u32,
}

impl Key {
    pub(crate) fn whole(entry: u32, entries: &Entries) -> Key {
        Key { entry, len: entries.bytes(entry).len() as u32 }
    }

    #[inline]
    pub(crate) fn bytes(self, entries: &Entries) -> &[u8] {
        &entries.bytes(self.entry)[..self.len as usize]
    }
}

#[inline]
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = FxBuildHasher.build_hasher();
    hasher.write(bytes);
    hasher.finish()
}

#[derive(Clone, Debug)]
pub(crate) struct KeyedTable<V> {
    table: HashTable<u32>,
    items: Vec<(Key, V)>,
}

impl<V> Default for KeyedTable<V> {
    fn default() -> Self {
        KeyedTable { table: HashTable::new(), items: Vec::new() }
    }
}

impl<V> KeyedTable<V> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        KeyedTable { table: HashTable::with_capacity(n), items: Vec::with_capacity(n) }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[inline]
    pub(crate) fn get(&self, entries: &Entries, key: &[u8]) -> Option<&V> {
        self.get_hashed(entries, key, hash(key))
    }

    /// [`get`](Self::get), with `hash(key)` already computed.
    #[inline]
    pub(crate) fn get_hashed(&self, entries: &Entries, key: &[u8], hash: u64) -> Option<&V> {
        let items = &self.items;
        self.table.find(hash, |&i| items[i as usize].0.bytes(entries) == key).map(|&i| &items[i as usize].1)
    }

    /// The value of `key`, inserted with `make` when absent.
    pub(crate) fn entry(&mut self, entries: &Entries, key: Key, make: impl FnOnce() -> V) -> &mut V {
        let bytes = key.bytes(entries);
        let items = &mut self.items;
        let found = self.table.find(hash(bytes), |&i| items[i as usize].0.bytes(entries) == bytes);
        let i = match found {
            Some(&i) => i,
            None => {
                let i = items.len() as u32;
                items.push((key, make()));
                self.table.insert_unique(hash(bytes), i, |&j| hash(items[j as usize].0.bytes(entries)));
                i
            }
        };
        &mut self.items[i as usize].1
    }

    /// Every key, as bytes.
    pub(crate) fn keys<'a>(&'a self, entries: &'a Entries) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.items.iter().map(move |(key, _)| key.bytes(entries))
    }

    /// Heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.table.capacity() * 5 + self.items.capacity() * std::mem::size_of::<(Key, V)>()
    }
}
