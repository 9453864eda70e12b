//! JSON lines: one object per hit, every key always present (null where unset), so
//! that a reader needs no defaults (docs/semantics.md §9.6).
//!
//! We write through serde_json's serializer from borrowed views of the hit, rather than
//! building a `serde_json::Value` per hit: keys keep the order written here. Each record
//! is serialized once and its text reused: on hit-dense logs most hits are on records
//! already written, and their metadata was most of the output's cost.

use std::collections::HashMap;
use std::io::{self, Write};

use rustc_hash::FxBuildHasher;
use serde_json::value::RawValue;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::index::Index;
use crate::indicator::{Indicator, IndicatorId};
use crate::scan::FileHit;
use crate::time::format_rfc3339;

/// Records kept as JSON text at the most, before the cache starts again.
const CACHED_RECORDS: usize = 1 << 16;

/// The JSON text of the records written so far, by id, and the index they are of.
#[derive(Debug, Default)]
pub(super) struct RecordCache(HashMap<u32, Box<RawValue>, FxBuildHasher>, Option<u64>);

impl RecordCache {
    fn fill(&mut self, index: &Index, ids: &[IndicatorId]) -> io::Result<()> {
        // A writer may be handed the hits of several indexes (a live engine's snapshots).
        if self.0.len() + ids.len() > CACHED_RECORDS || self.1 != Some(index.serial()) {
            self.0.clear();
            self.1 = Some(index.serial());
        }
        for &id in ids {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.0.entry(id.as_u32()) {
                let text = serde_json::to_string(&Record(index.indicator(id)))?;
                slot.insert(RawValue::from_string(text)?);
            }
        }
        Ok(())
    }
}

/// Writes `hit` as one line of JSON.
pub(super) fn write_hit(
    out: &mut impl Write,
    index: &Index,
    hit: &FileHit,
    records: &mut RecordCache,
) -> io::Result<()> {
    records.fill(index, &hit.indicators)?;
    serde_json::to_writer(&mut *out, &Hit { records, hit })?;
    out.write_all(b"\n")
}

struct Hit<'a> {
    records: &'a RecordCache,
    hit: &'a FileHit,
}

impl Serialize for Hit<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hit = self.hit;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("file", &*hit.file)?;
        m.serialize_entry("line", &hit.line)?;
        m.serialize_entry("start", &hit.start)?;
        m.serialize_entry("end", &hit.end)?;
        m.serialize_entry("observed", &hit.observed)?;
        m.serialize_entry("kind", hit.kind.as_str())?;
        m.serialize_entry("field", &hit.field)?;
        m.serialize_entry("ts", &hit.ts.map(format_rfc3339))?;
        m.serialize_entry("uid", &hit.uid)?;
        m.serialize_entry("indicators", &Records { records: self.records, ids: &hit.indicators })?;
        // Only when set, so that a plain scan's lines stay as short as they can be.
        if let Some(version) = hit.version {
            m.serialize_entry("version", &version)?;
        }
        if hit.retro {
            m.serialize_entry("retro", &true)?;
        }
        m.end()
    }
}

struct Records<'a> {
    records: &'a RecordCache,
    ids: &'a [IndicatorId],
}

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `fill` put every id of the hit in the cache.
        s.collect_seq(self.ids.iter().map(|id| &self.records.0[&id.as_u32()]))
    }
}

struct Record<'a>(Indicator<'a>);

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Indicator { value, kind, meta, .. } = self.0;
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("value", value)?;
        m.serialize_entry("kind", kind.as_str())?;
        m.serialize_entry("source", &meta.source)?;
        m.serialize_entry("ref", &meta.reference)?;
        m.serialize_entry("confidence", &meta.confidence)?;
        m.serialize_entry("tlp", &meta.tlp.map(|t| t.as_str()))?;
        m.serialize_entry("tags", &meta.tags)?;
        m.serialize_entry("valid_from", &meta.valid_from.map(format_rfc3339))?;
        m.serialize_entry("valid_until", &meta.valid_until.map(format_rfc3339))?;
        m.serialize_entry("description", &meta.description)?;
        m.end()
    }
}
