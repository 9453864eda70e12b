//! Compaction: the base's live records and the delta's merged into a new base, off the
//! readers' path and mostly off the writers' too.
//!
//! It runs in three steps. [`State::begin_compaction`] (under the writer lock) takes the
//! base, its tombstones and the delta slots as they are; [`build`] (no lock) merges them,
//! dropping the records expired by then; [`State::finish_compaction`] (under the lock
//! again) replays what writers did meanwhile: base records and captured slots removed
//! since become tombstones of the new base, and the slots added since stay the delta.
//! Slots are not reused while a compaction runs, so "added since" is "numbered past the
//! slots it captured".

use std::sync::Arc;

use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;

use super::state::{index_memory, Loc, Place, Record, State};
use crate::entries::Entries;
use crate::error::BuildError;
use crate::index::Index;
use crate::indicator::{Kind, Meta, Timestamp};
use crate::normalize::IpRange;

const NONE: u32 = u32::MAX;

/// What a compaction captured when it began.
pub(super) struct Mark {
    base: Arc<Index>,
    dead: RoaringBitmap,
    slots: Vec<Option<Arc<Record>>>,
    /// Records whose `valid_until` is at or before this are dropped.
    now: Timestamp,
}

/// A new base, and where each captured record went.
pub(super) struct Built {
    index: Index,
    /// The tombstones when the compaction began.
    dead: RoaringBitmap,
    /// The new id of each old base record, [`NONE`] for one removed or expired.
    base_map: Vec<u32>,
    /// The new id of each captured slot, [`NONE`] for one empty or expired.
    slot_map: Vec<u32>,
    /// Approximate heap bytes of the new base.
    memory: usize,
}

/// Records of an old base and others merged into one index, with where each went.
pub(super) struct Merged {
    pub index: Index,
    pub base_map: Vec<u32>,
    pub extra_map: Vec<u32>,
}

/// One record to merge beside a base: kind, canonical value, IP range, metadata.
pub(super) type Extra<'a> = Option<(Kind, &'a str, Option<IpRange>, &'a Meta)>;

/// Merges the records of `base` not in `dead` with `extra`, keeping only the records
/// whose metadata `keep` accepts. The base's entries and shared metadata are reused as
/// they are: nothing is normalized again.
pub(super) fn merge(
    base: &Index,
    dead: &RoaringBitmap,
    extra: &[Extra<'_>],
    keep: impl Fn(&Meta) -> bool,
) -> Result<Merged, BuildError> {
    super::shared::injected_failure()?;
    let extra_text: usize = extra.iter().flatten().map(|(_, value, _, _)| value.len()).sum();
    let mut entries = Entries::with_capacity(base.len() + extra.len(), base.entries.text_len() + extra_text);
    let mut entry_of_base = vec![NONE; base.len()];
    let mut meta_of_base = vec![NONE; base.metas().len()];
    let mut metas: Vec<Meta> = Vec::new();
    // (new entry, metadata, origin): a base id, or the position in `extra` with the top bit.
    let mut records: Vec<(u32, u32, u32)> = Vec::with_capacity(base.record_count() + extra.len());
    for id in 0..base.record_count() as u32 {
        let slot = base.meta_slot(id);
        if dead.contains(id) || !keep(&base.metas()[slot as usize]) {
            continue;
        }
        let entry = base.record_entry[id as usize];
        if entry_of_base[entry as usize] == NONE {
            let e = base.entries.get(entry);
            entry_of_base[entry as usize] = entries.push(e.kind, e.value, e.ip);
        }
        if meta_of_base[slot as usize] == NONE {
            meta_of_base[slot as usize] = metas.len() as u32;
            metas.push(base.metas()[slot as usize].clone());
        }
        records.push((entry_of_base[entry as usize], meta_of_base[slot as usize], id));
    }
    let mut new_entries: FxHashMap<(Kind, &str), u32> =
        FxHashMap::with_capacity_and_hasher(extra.len(), Default::default());
    // A record with the metadata of the one before shares its copy, as in the builder:
    // a feed's records mostly say the same thing one after another.
    let mut last_meta: Option<u32> = None;
    for (i, record) in extra.iter().enumerate() {
        let Some((kind, value, ip, meta)) = *record else { continue };
        if !keep(meta) {
            continue;
        }
        let entry = match base.entry_of(kind, value, ip) {
            Some(e) => {
                if entry_of_base[e as usize] == NONE {
                    entry_of_base[e as usize] = entries.push(kind, value, ip);
                }
                entry_of_base[e as usize]
            }
            None => *new_entries.entry((kind, value)).or_insert_with(|| entries.push(kind, value, ip)),
        };
        let slot = match last_meta.filter(|&m| metas[m as usize] == *meta) {
            Some(m) => m,
            None => {
                metas.push(meta.clone());
                metas.len() as u32 - 1
            }
        };
        last_meta = Some(slot);
        records.push((entry, slot, i as u32 | 1 << 31));
    }
    // Nearly sorted already: the base's records come in entry order.
    records.sort_by_key(|&(entry, _, _)| entry);
    let mut base_map = vec![NONE; base.record_count()];
    let mut extra_map = vec![NONE; extra.len()];
    for (new, &(_, _, origin)) in records.iter().enumerate() {
        match origin & 1 << 31 {
            0 => base_map[origin as usize] = new as u32,
            _ => extra_map[(origin & !(1 << 31)) as usize] = new as u32,
        }
    }
    let records = records.into_iter().map(|(entry, meta, _)| (entry, meta)).collect();
    let index = Index::from_parts(entries, records, metas)?;
    Ok(Merged { index, base_map, extra_map })
}

/// Merges what `mark` captured into a new base, dropping expired records.
pub(super) fn build(mark: Mark) -> Result<Built, BuildError> {
    let extra: Vec<Extra<'_>> =
        (mark.slots.iter()).map(|slot| slot.as_deref().map(|r| (r.kind, &*r.value, r.ip, &r.meta))).collect();
    let now = mark.now;
    let keep = |meta: &Meta| meta.valid_until.is_none_or(|until| until > now);
    let merged = merge(&mark.base, &mark.dead, &extra, keep)?;
    drop(extra);
    let memory = index_memory(&merged.index);
    let (base_map, slot_map) = (merged.base_map, merged.extra_map);
    Ok(Built { index: merged.index, dead: mark.dead, base_map, slot_map, memory })
}

impl State {
    /// Begins a compaction: what it merges is the state as it is now.
    pub(super) fn begin_compaction(&mut self, now: Timestamp) -> Mark {
        self.compaction = Some(self.slots.len() as u32);
        Mark { base: Arc::clone(&self.base), dead: self.dead.clone(), slots: self.slots.clone(), now }
    }

    /// Gives up a compaction begun: slots can be reused again.
    pub(super) fn abandon_compaction(&mut self) {
        self.compaction = None;
    }

    /// The records of the slots added since the compaction began: the delta that stays
    /// once it finishes.
    pub(super) fn slots_since_compaction(&self) -> impl Iterator<Item = &Record> + '_ {
        let from = self.compaction.map_or(0, |n| n as usize);
        self.slots[from..].iter().filter_map(|s| s.as_deref())
    }

    /// Installs the new base of `built`, replaying the changes made since the compaction
    /// began (see the module docs). Never fails.
    pub(super) fn finish_compaction(&mut self, built: Built) {
        let captured = self.compaction.take().expect("a compaction was begun") as usize;
        let Built { index, dead: dead_then, base_map, slot_map, memory } = built;
        let mapped = |id: u32| (id != NONE).then_some(id);
        let mut dead = RoaringBitmap::new();
        for id in self.dead.iter().filter(|&id| !dead_then.contains(id)) {
            dead.extend(mapped(base_map[id as usize]));
        }
        let slots = self.take_slots();
        for (slot, record) in slots.iter().enumerate().take(captured) {
            if record.is_none() {
                dead.extend(mapped(slot_map[slot]));
            }
        }
        let mut renumbered = vec![NONE; slots.len() - captured];
        let mut kept = Vec::with_capacity(renumbered.len());
        for (i, record) in slots.into_iter().enumerate().skip(captured) {
            if record.is_some() {
                renumbered[i - captured] = kept.len() as u32;
                kept.push(record);
            }
        }
        self.remap_groups(|loc| match loc.place() {
            Place::Base(id) => mapped(base_map[id as usize]).map(Loc::base),
            Place::Delta(slot) if (slot as usize) < captured => {
                mapped(slot_map[slot as usize]).map(Loc::base)
            }
            Place::Delta(slot) => Some(Loc::delta(renumbered[slot as usize - captured])),
        });
        self.base = Arc::new(index);
        self.base_memory = memory;
        self.dead = dead;
        self.set_slots(kept);
    }
}
