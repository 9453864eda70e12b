//! ECS documents: one per hit, one `threat.enrichments` entry per indicator record
//! (docs/semantics.md §9.6). Fields without a value are left out, as ECS documents do,
//! rather than written as null.
//!
//! Choices ECS leaves open, and why:
//! - `event.kind` is `alert`: ECS reserves `enrichment` for indicator documents from a
//!   provider, and Elastic's indicator match rules read `event.kind:enrichment`
//!   documents as indicators, so a hit written so would be matched as one;
//! - `indicator.ip` only for a single address: a network or range (a STIX `ipv4-addr`
//!   may be a CIDR) goes to `indicator.name` alone, since an Elasticsearch `ip` field
//!   refuses the document for it;
//! - URLs go to `indicator.url.original`, not `url.full`: ECS wants a scheme in
//!   `url.full`, and canonical URLs have none (§1.3);
//! - strings are `artifact`, bytes of no other type; sha224 has no ECS hash field, so
//!   its value is in `indicator.name` alone (as every value is);
//! - confidence maps 0-100 to the STIX 2.1 scale ECS names (STIX Appendix A): 0 is
//!   `None`, 1-29 `Low`, 30-69 `Medium`, 70-100 `High`, unset `Not Specified`;
//! - validity, tags: ECS has no field for them (`first_seen`, `last_seen` and
//!   `modified_at` are sighting and edit times, not validity); JSON lines has them;
//! - line and offsets go to `vedette.*`: ECS `log.offset` is a byte offset in the file.

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::index::Index;
use crate::indicator::{Indicator, IndicatorId, Kind, Timestamp, Tlp};
use crate::scan::FileHit;
use crate::time::format_rfc3339;

/// The ECS version whose fields we write: TLP 2.0 markings came in 8.4.
const ECS_VERSION: &str = "8.11.0";

/// Writes `hit` as one line: an ECS document, at its `ts` (else at `clock`), matched at
/// `clock`.
pub(super) fn write_document(
    out: &mut impl Write,
    index: &Index,
    hit: &FileHit,
    clock: Timestamp,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &Document { index, hit, clock })?;
    out.write_all(b"\n")
}

/// A map of one entry, `{key: value}`, for the many one-field objects of ECS.
struct One<V>(&'static str, V);

impl<V: Serialize> Serialize for One<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, &self.1)?;
        m.end()
    }
}

struct Document<'a> {
    index: &'a Index,
    hit: &'a FileHit,
    clock: Timestamp,
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hit = self.hit;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &format_rfc3339(hit.ts.unwrap_or(self.clock)))?;
        m.serialize_entry("ecs", &One("version", ECS_VERSION))?;
        m.serialize_entry("event", &Event)?;
        // ECS: "If the event wasn't read from a log file, do not populate this field."
        if &*hit.file != "-" {
            m.serialize_entry("log", &One("file", One("path", &*hit.file)))?;
        }
        m.serialize_entry("threat", &One("enrichments", Enrichments(self)))?;
        m.serialize_entry("vedette", &Extra(hit))?;
        m.end()
    }
}

struct Event;

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("kind", "alert")?;
        m.serialize_entry("category", &["threat"])?;
        m.serialize_entry("type", &["indicator"])?;
        m.end()
    }
}

struct Enrichments<'a>(&'a Document<'a>);

impl Serialize for Enrichments<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Document { index, hit, clock } = *self.0;
        s.collect_seq(hit.indicators.iter().map(|&id: &IndicatorId| Enrichment {
            record: index.indicator(id),
            hit,
            clock,
        }))
    }
}

struct Enrichment<'a> {
    record: Indicator<'a>,
    hit: &'a FileHit,
    clock: Timestamp,
}

impl Serialize for Enrichment<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("indicator", &EcsIndicator(self.record))?;
        m.serialize_entry("matched", &Matched { hit: self.hit, clock: self.clock })?;
        m.end()
    }
}

struct EcsIndicator<'a>(Indicator<'a>);

impl Serialize for EcsIndicator<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Indicator { kind, value, meta, .. } = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", indicator_type(kind))?;
        m.serialize_entry("name", value)?;
        match kind {
            Kind::Ipv4 | Kind::Ipv6 if !value.contains(['/', '-']) => m.serialize_entry("ip", value)?,
            Kind::Ipv4 | Kind::Ipv6 => {}
            Kind::Domain | Kind::Hostname => m.serialize_entry("url", &One("domain", value))?,
            Kind::Url => m.serialize_entry("url", &One("original", value))?,
            Kind::Email => m.serialize_entry("email", &One("address", value))?,
            _ => {
                if let Some(name) = hash_field(kind) {
                    m.serialize_entry("file", &One("hash", One(name, value)))?;
                }
            }
        }
        if let Some(source) = &meta.source {
            m.serialize_entry("provider", source)?;
        }
        if let Some(reference) = &meta.reference {
            m.serialize_entry("reference", reference)?;
        }
        m.serialize_entry("confidence", confidence(meta.confidence))?;
        if let Some(tlp) = meta.tlp {
            m.serialize_entry("marking", &Marking(tlp))?;
        }
        if let Some(description) = &meta.description {
            m.serialize_entry("description", description)?;
        }
        m.end()
    }
}

struct Marking(Tlp);

impl Serialize for Marking {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("tlp", &self.0.as_str().to_ascii_uppercase())?;
        // Our names are TLP 2.0's (`clear`, `amber+strict`), whatever the feed wrote.
        m.serialize_entry("tlp_version", "2.0")?;
        m.end()
    }
}

struct Matched<'a> {
    hit: &'a FileHit,
    clock: Timestamp,
}

impl Serialize for Matched<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("atomic", &self.hit.observed)?;
        // A line of plain text is what ECS calls the `message`.
        m.serialize_entry("field", self.hit.field.as_deref().unwrap_or("message"))?;
        m.serialize_entry("type", "indicator_match_rule")?;
        m.serialize_entry("occurred", &format_rfc3339(self.clock))?;
        m.end()
    }
}

/// What ECS has no field for: where in the file, the log's connection id, and the
/// live engine's context.
struct Extra<'a>(&'a FileHit);

impl Serialize for Extra<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hit = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("line", &hit.line)?;
        m.serialize_entry("start", &hit.start)?;
        m.serialize_entry("end", &hit.end)?;
        if let Some(uid) = &hit.uid {
            m.serialize_entry("uid", uid)?;
        }
        if let Some(version) = hit.version {
            m.serialize_entry("version", &version)?;
        }
        if hit.retro {
            m.serialize_entry("retro", &true)?;
        }
        m.end()
    }
}

/// The ECS `threat.indicator.type` (a STIX 2 cyber-observable type) of a kind.
fn indicator_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Ipv4 => "ipv4-addr",
        Kind::Ipv6 => "ipv6-addr",
        Kind::Domain | Kind::Hostname => "domain-name",
        Kind::Url => "url",
        Kind::Email => "email-addr",
        Kind::Md5 | Kind::Sha1 | Kind::Sha224 | Kind::Sha256 | Kind::Sha384 | Kind::Sha512 => "file",
        Kind::String => "artifact",
    }
}

/// The ECS `file.hash.*` field of a hash kind, for those ECS has.
fn hash_field(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Md5 => Some("md5"),
        Kind::Sha1 => Some("sha1"),
        Kind::Sha256 => Some("sha256"),
        Kind::Sha384 => Some("sha384"),
        Kind::Sha512 => Some("sha512"),
        _ => None,
    }
}

/// A 0-100 confidence on the STIX 2.1 None/Low/Med/High scale that ECS names.
fn confidence(value: Option<u8>) -> &'static str {
    match value {
        None => "Not Specified",
        Some(0) => "None",
        Some(1..=29) => "Low",
        Some(30..=69) => "Medium",
        Some(_) => "High",
    }
}
