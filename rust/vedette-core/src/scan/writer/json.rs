//! JSON lines: one object per hit, every key always present (null where unset), so
//! that a reader needs no defaults (docs/semantics.md §9.6).
//!
//! We write through serde_json's serializer from borrowed views of the hit and its
//! records, rather than building a `serde_json::Value` per hit: keys keep the order
//! written here, and nothing is copied.

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::index::Index;
use crate::indicator::{Indicator, IndicatorId};
use crate::scan::FileHit;
use crate::time::format_rfc3339;

/// Writes `hit` as one line of JSON.
pub(super) fn write_hit(out: &mut impl Write, index: &Index, hit: &FileHit) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &Hit { index, hit })?;
    out.write_all(b"\n")
}

struct Hit<'a> {
    index: &'a Index,
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
        m.serialize_entry("indicators", &Records { index: self.index, ids: &hit.indicators })?;
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
    index: &'a Index,
    ids: &'a [IndicatorId],
}

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.ids.iter().map(|&id| Record(self.index.indicator(id))))
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
