//! [`DistinctMetas`]: the metadata of an index's records, each distinct one stored once.
//!
//! A feed's million records mostly say the same thing (one source, one confidence, the
//! same tags). Stored per record, their strings alone were a million allocations to
//! make, load and free; records name their metadata by id instead. Feeds whose records
//! each carry their own reference (STIX and MISP ids) store as many as before.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::indicator::Meta;

#[derive(Clone, Debug, Default)]
pub(crate) struct DistinctMetas {
    list: Vec<Meta>,
    /// Ids into `list`, by the hash of the metadata.
    ids: HashTable<u32>,
}

impl DistinctMetas {
    /// The id of `meta`, stored when it is new.
    pub(crate) fn intern(&mut self, meta: Meta) -> u32 {
        let list = &mut self.list;
        let hash = FxBuildHasher.hash_one(&meta);
        if let Some(&id) = self.ids.find(hash, |&id| list[id as usize] == meta) {
            return id;
        }
        let id = list.len() as u32;
        list.push(meta);
        self.ids.insert_unique(hash, id, |&id| FxBuildHasher.hash_one(&list[id as usize]));
        id
    }

    pub(crate) fn get(&self, id: u32) -> &Meta {
        &self.list[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_metadata_is_stored_once() {
        let mut metas = DistinctMetas::default();
        let a = Meta { source: Some("a".into()), ..Meta::default() };
        let b = Meta { tags: vec!["x".into()], ..a.clone() };
        assert_eq!(metas.intern(a.clone()), 0);
        assert_eq!(metas.intern(b.clone()), 1);
        assert_eq!(metas.intern(a.clone()), 0);
        assert_eq!(metas.intern(Meta::default()), 2);
        assert_eq!(metas.len(), 3);
        assert_eq!((metas.get(0), metas.get(1)), (&a, &b));
    }
}
