//! MISP: event JSON (one event per feed file, or an export of several) and CSV exports
//! of attributes.
//!
//! Events come as `{"Event": {...}}` (feed files, single exports), a bare event object,
//! `{"response": [{"Event": ...}, ...]}` (restSearch), or a JSON array of either.
//! Attributes are read from `Event.Attribute` and then from every `Event.Object[]`'s
//! `Attribute`, in file order; a record's `line` is the attribute's 1-based position in
//! that order over the whole file (JSON has no useful lines, and the position finds the
//! attribute again). Messages name the attribute by uuid.
//!
//! Types map by the one table of `types.rs` (docs/semantics.md §3.4), composite ones split
//! into their parts in `parts_of`; unsupported types are counted per type (category
//! `unsupported type: <type>`). Attributes are left out by policy, never as errors, when
//! `deleted` is true (on the attribute, its object or its event) and when `to_ids` is
//! false, unless `keep_non_ids`. We look at `to_ids` before the type, so a strict load of
//! a typical event does not fail on its `text` and `link` context attributes.
//!
//! Metadata: `ref` is the attribute uuid (else the event's); `source` is the event's
//! `Orgc.name`, else `Org.name`, else `misp`; the description is the attribute comment,
//! else the event `info`; tags are the event tags, then the attribute tags, without
//! repeats. TLP tags (`tlp:clear`/`white`, `green`, `amber`, `amber+strict`, `red`, any
//! case) become `tlp`, the most restrictive one winning, and are not also kept as tags:
//! `tlp` is the one place filters look. `first_seen` is also `valid_from`, while
//! `last_seen` (the last sighting, not an expiry) sets no validity. The attribute's
//! `timestamp`, `first_seen` and `last_seen` are kept as tags `misp:timestamp=<time>`,
//! `misp:first_seen=<time>`, `misp:last_seen=<time>`, in RFC 3339 UTC. A kept non-IDS
//! attribute is tagged `misp:to_ids=false`.

use std::borrow::Cow;
use std::str::FromStr;

use ::csv::{ByteRecord, ReaderBuilder};
use serde_json::{Map, Value};

use super::types::{self, TypeKind, Vocabulary};
use super::{Notice, NoticeSink, ParseOptions, ParsedRecord, RawRecord, BOM};
use crate::error::FeedError;
use crate::indicator::{Kind, Meta, Timestamp, Tlp};
use crate::time::{format_rfc3339, parse_timestamp};

const SNIFF_LEN: usize = 4096;

type Sink<'s, 'a> = &'s mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>;

/// Whether `data` looks like MISP event JSON: it opens with `{` or `[` and an `"Event"`,
/// `"Attribute"`, `"Orgc"` or `"threat_level_id"` key shows in the first few KB.
pub(super) fn looks_like(data: &[u8]) -> bool {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let head = &data[..data.len().min(SNIFF_LEN)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
    if !matches!(head.get(start), Some(b'{' | b'[')) {
        return false;
    }
    ["\"Event\"", "\"Attribute\"", "\"Orgc\"", "\"threat_level_id\""].iter().any(|key| {
        // A key, not the same text inside a string value: a `:` follows.
        memchr::memmem::find_iter(head, key.as_bytes()).any(|at| {
            let rest = &head[at + key.len()..];
            rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':')
        })
    })
}

/// Whether the first line is the header of a MISP CSV export: `type` and `value`
/// columns, and one of `to_ids`, `event_id`, `object_relation`, `attribute_tag`.
pub(super) fn looks_like_csv(data: &[u8]) -> bool {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let Some(line) = data.split(|&b| b == b'\n').find(|l| !super::trim(l).is_empty()) else { return false };
    let names: Vec<Vec<u8>> = line
        .split(|&b| b == b',')
        .map(|f| {
            let f = super::trim(f);
            let unquoted = f.strip_prefix(b"\"").and_then(|f| f.strip_suffix(b"\"")).unwrap_or(f);
            super::trim(unquoted).to_ascii_lowercase()
        })
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name.as_bytes());
    has("type")
        && has("value")
        && ["to_ids", "event_id", "object_relation", "attribute_tag"].iter().any(|n| has(n))
}

/// The event files (`<uuid>.json`) a feed's `manifest.json` lists, sorted.
///
/// # Errors
/// When the manifest is not a JSON object, or a key is not a uuid (only ASCII letters,
/// digits and `-`: the names are joined to a directory path).
/// The event file each key of a feed's manifest names, in key order: `<uuid>.json`, or
/// why the key names none. A bad key costs only its own event.
pub(super) fn manifest_event_files(manifest: &[u8]) -> Result<Vec<Result<String, String>>, String> {
    let root: Value = serde_json::from_slice(manifest).map_err(|e| format!("invalid manifest json: {e}"))?;
    let Value::Object(events) = root else { return Err("manifest is not a json object".to_string()) };
    let mut keys: Vec<&String> = events.keys().collect();
    keys.sort();
    let file = |uuid: &String| match !uuid.is_empty()
        && uuid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        true => Ok(format!("{uuid}.json")),
        false => Err(format!("manifest key {:?} is not an event uuid", crate::error::quote(uuid))),
    };
    Ok(keys.into_iter().map(file).collect())
}

/// What an event gives each of its attributes.
#[derive(Default)]
struct Event {
    uuid: Option<String>,
    source: String,
    info: Option<String>,
    tags: Vec<String>,
    /// The event itself is marked deleted: so is each of its attributes.
    deleted: bool,
}

/// One attribute, as either format gives it.
#[derive(Default)]
struct Attribute {
    uuid: Option<String>,
    kind: String,
    value: String,
    to_ids: bool,
    deleted: bool,
    comment: Option<String>,
    tags: Vec<String>,
    timestamp: Option<String>,
    first_seen: Option<String>,
    last_seen: Option<String>,
}

/// Parses MISP event JSON; see the module docs.
#[cfg(test)]
pub(super) fn parse<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: Sink<'_, 'a>,
) -> Result<(), FeedError> {
    parse_noting(data, source, options, sink, &mut |_| {})
}

/// [`parse`], also telling `notices` the ref of every deleted attribute.
pub(super) fn parse_noting<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: Sink<'_, 'a>,
    notices: NoticeSink<'_>,
) -> Result<(), FeedError> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let root: Value = match serde_json::from_slice(data) {
        Ok(root) => root,
        Err(e) => return sink(Err(FeedError::new(source, Some(e.line()), "invalid json", e.to_string()))),
    };
    let events = match events(&root) {
        Ok(events) => events,
        Err(message) => return sink(Err(FeedError::new(source, None, "not a misp event", message))),
    };
    let mut position = 0;
    for event in events {
        let ctx = Event {
            uuid: text(event, "uuid"),
            source: ["Orgc", "Org"]
                .iter()
                .find_map(|org| event.get(*org).and_then(Value::as_object).and_then(|o| text(o, "name")))
                .unwrap_or_else(|| "misp".to_string()),
            info: text(event, "info"),
            tags: tag_names(event),
            deleted: event.get("deleted").and_then(flag) == Some(true),
        };
        let objects = event.get("Object").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        // (attribute list, deleted object) pairs: the event's own list, then each object's.
        let lists = std::iter::once((event.get("Attribute"), false)).chain(
            objects.iter().map(|o| (o.get("Attribute"), o.get("deleted").and_then(flag) == Some(true))),
        );
        for (list, object_deleted) in lists {
            for attr in list.and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
                position += 1;
                let Some(attr) = attr.as_object() else {
                    let message = format!("attribute {position} is not a json object");
                    sink(Err(FeedError::new(source, Some(position), "bad attribute", message)))?;
                    continue;
                };
                let attribute = Attribute {
                    uuid: text(attr, "uuid"),
                    kind: text(attr, "type").unwrap_or_default(),
                    value: text(attr, "value").unwrap_or_default(),
                    to_ids: attr.get("to_ids").and_then(flag).unwrap_or(true),
                    deleted: ctx.deleted
                        || object_deleted
                        || attr.get("deleted").and_then(flag) == Some(true),
                    comment: text(attr, "comment"),
                    tags: tag_names(attr),
                    timestamp: text(attr, "timestamp"),
                    first_seen: text(attr, "first_seen"),
                    last_seen: text(attr, "last_seen"),
                };
                emit(&attribute, &ctx, position, source, options, sink, notices)?;
            }
        }
    }
    Ok(())
}

/// The event objects in a parsed file, or why there are none.
fn events(root: &Value) -> Result<Vec<&Map<String, Value>>, String> {
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(value) = todo.pop() {
        match value {
            Value::Array(items) => todo.extend(items.iter().rev()),
            Value::Object(map) => {
                if let Some(event) = map.get("Event").and_then(Value::as_object) {
                    out.push(event);
                } else if let Some(response) = map.get("response") {
                    todo.push(response);
                } else if ["Attribute", "Object", "info", "Orgc"].iter().any(|k| map.contains_key(*k)) {
                    out.push(map);
                } else if !map.is_empty() && map.values().all(|v| v.get("info").is_some()) {
                    return Err("this is a misp feed manifest: load the feed directory".to_string());
                } else {
                    return Err("no misp event (expected an Event, response or Attribute key)".to_string());
                }
            }
            _ => return Err("no misp event (expected a json object or array)".to_string()),
        }
    }
    Ok(out)
}

/// A JSON string (trimmed, non-empty) or number as text.
fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A MISP boolean: JSON `true`/`false`, `"1"`/`"0"`, `"true"`/`"false"` (any case), `1`/`0`.
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `Tag[].name` of an event or attribute.
fn tag_names(map: &Map<String, Value>) -> Vec<String> {
    let tags = map.get("Tag").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    tags.iter()
        .filter_map(|t| match t {
            Value::Object(t) => text(t, "name"),
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            _ => None,
        })
        .collect()
}

/// What one `|`-separated part of a value becomes: records of this type, or nothing
/// (`None`: a port).
type Part = Option<TypeKind>;

/// The parts of a MISP type (one or two); `None` for an unsupported type. The composite
/// types split into the types of their parts, which the table of `types` maps.
fn parts_of(kind: &str) -> Option<Vec<Part>> {
    let of = |name: &str| types::type_kind(Vocabulary::Misp, name);
    let is_hash = |part: &Part| matches!(part, Some(TypeKind::Is(k)) if k.hex_len().is_some());
    let parts = match kind {
        "ip-src|port" | "ip-dst|port" | "hostname|port" => {
            let (host, _) = kind.split_once('|')?;
            vec![Some(of(host)?), None]
        }
        "domain|ip" => vec![of("domain"), of("ip-dst")],
        _ => match kind.strip_prefix("filename|") {
            Some(hash) => vec![of("filename"), Some(of(hash)).filter(is_hash)?],
            None => vec![Some(of(kind)?)],
        },
    };
    Some(parts)
}

/// Every kind of the records a MISP type gives (none for an unsupported type): what an
/// allowlist's `matching_attributes` of that type apply to.
pub(crate) fn kinds_of_type(kind: &str) -> impl Iterator<Item = Kind> {
    parts_of(kind).into_iter().flatten().flatten().flat_map(|part| part.kinds().iter().copied())
}

/// Turns one attribute into its records (or the reason it gives none) for `sink`.
fn emit<'a>(
    attr: &Attribute,
    event: &Event,
    line: usize,
    source: &str,
    options: &ParseOptions,
    sink: Sink<'_, 'a>,
    notices: NoticeSink<'_>,
) -> Result<(), FeedError> {
    let name = match &attr.uuid {
        Some(uuid) => format!("attribute {uuid}"),
        None => format!("attribute {line}"),
    };
    let err = |category: &str, message: String| FeedError::new(source, Some(line), category, message);
    let skip = |category: &str, message: String| FeedError::skipped(source, Some(line), category, message);
    if attr.deleted {
        // The ref its records would have had (see `meta`).
        if let Some(reference) = attr.uuid.as_ref().or(event.uuid.as_ref()) {
            notices(Notice::Deleted { reference });
        }
        return sink(Err(skip("deleted", format!("{name} is deleted"))));
    }
    if !attr.to_ids && !options.keep_non_ids {
        return sink(Err(skip("to_ids false", format!("{name} ({}) has to_ids false", attr.kind))));
    }
    if attr.kind.is_empty() {
        return sink(Err(err("empty type", format!("{name} has no type"))));
    }
    let Some(parts) = parts_of(&attr.kind) else {
        let category = format!("unsupported type: {}", attr.kind);
        return sink(Err(err(&category, format!("{name}: unsupported type {:?}", attr.kind))));
    };
    let values: Vec<&str> =
        if parts.len() == 1 { vec![attr.value.as_str()] } else { attr.value.splitn(2, '|').collect() };
    if values.len() != parts.len() {
        let message = format!("{name}: {} value {:?} has no '|'", attr.kind, attr.value);
        return sink(Err(err("bad composite value", message)));
    }
    let meta = match meta(attr, event, &name) {
        Ok(meta) => meta,
        Err(message) => return sink(Err(err("bad timestamp", message))),
    };
    for (value, part) in values.into_iter().zip(&parts) {
        let Some(kind) = part else { continue };
        let value = value.trim_matches(|c: char| c.is_ascii() && super::is_space(c as u8));
        let record = if value.is_empty() {
            Err(err("empty value", format!("{name} ({}) has an empty value", attr.kind)))
        } else {
            // The MISP types are all of one kind or IP: `kind_of` cannot fail for them.
            let kind = kind.kind_of(value).ok().flatten();
            Ok(RawRecord { line, value: Cow::Owned(value.to_string()), kind, meta: meta.clone() })
        };
        sink(record)?;
    }
    Ok(())
}

/// The metadata of an attribute's records; an error names a time we cannot read.
fn meta(attr: &Attribute, event: &Event, name: &str) -> Result<Meta, String> {
    let mut meta = Meta {
        source: Some(event.source.clone()),
        reference: attr.uuid.clone().or_else(|| event.uuid.clone()),
        description: attr.comment.clone().or_else(|| event.info.clone()),
        ..Meta::default()
    };
    for tag in event.tags.iter().chain(&attr.tags) {
        let is_tlp = tag.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tlp:"));
        match Tlp::from_str(tag) {
            Ok(tlp) if is_tlp => meta.tlp = meta.tlp.max(Some(tlp)),
            _ if !meta.tags.contains(tag) => meta.tags.push(tag.clone()),
            _ => {}
        }
    }
    let mut time = |field: &str, text: &Option<String>| -> Result<Option<Timestamp>, String> {
        let Some(text) = text else { return Ok(None) };
        let parsed = misp_time(text).ok_or_else(|| format!("{name}: {field} {text:?} is not a time"))?;
        meta.tags.push(format!("misp:{field}={}", format_rfc3339(parsed)));
        Ok(Some(parsed))
    };
    time("timestamp", &attr.timestamp)?;
    meta.valid_from = time("first_seen", &attr.first_seen)?;
    time("last_seen", &attr.last_seen)?;
    if !attr.to_ids {
        meta.tags.push("misp:to_ids=false".to_string());
    }
    Ok(meta)
}

/// A time as MISP writes one: Unix seconds, RFC 3339 (`first_seen`, with microseconds),
/// or `YYYYMMDD` (the `date` column of older CSV exports; eight digits are never a
/// plausible attribute timestamp, which would be 1970).
fn misp_time(text: &str) -> Option<Timestamp> {
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_timestamp(&format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]));
    }
    parse_timestamp(text)
}

/// Parses a MISP CSV export (`uuid,event_id,category,type,value,comment,to_ids,date,...`
/// plus, with `includeContext`, `event_info`, `event_source_org`, `event_tag`, ...).
/// Tags columns are comma-separated, as MISP joins them. A header is required.
#[cfg(test)]
pub(super) fn parse_csv<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: Sink<'_, 'a>,
) -> Result<(), FeedError> {
    parse_csv_noting(data, source, options, sink, &mut |_| {})
}

/// [`parse_csv`], also telling `notices` the ref of every deleted attribute.
pub(super) fn parse_csv_noting<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: Sink<'_, 'a>,
    notices: NoticeSink<'_>,
) -> Result<(), FeedError> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let mut reader = ReaderBuilder::new().has_headers(false).flexible(true).from_reader(data);
    let (mut row, mut names) = (ByteRecord::new(), None::<Vec<String>>);
    let (mut counted_to, mut newlines) = (0, 0);
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return sink(Err(FeedError::new(source, None, "invalid csv", e.to_string()))),
        }
        // The reader's position can sit before the line end that closed the last
        // record (see csv.rs): step over line ends, then count the `\n`s before.
        let mut at = row.position().map_or(0, |p| p.byte() as usize).min(data.len());
        while at < data.len() && matches!(data[at], b'\r' | b'\n') {
            at += 1;
        }
        newlines += memchr::memchr_iter(b'\n', &data[counted_to.min(at)..at]).count();
        counted_to = counted_to.max(at);
        let line = newlines + 1;
        if row.as_slice().len() > options.max_line_bytes {
            sink(Err(super::line_too_long(source, line, row.as_slice().len(), options.max_line_bytes)))?;
            continue;
        }
        if row.iter().all(|f| super::trim(f).is_empty()) {
            continue;
        }
        let Some(names) = &names else {
            let header: Vec<String> =
                row.iter().map(|f| String::from_utf8_lossy(super::trim(f)).to_ascii_lowercase()).collect();
            if !(header.iter().any(|n| n == "type") && header.iter().any(|n| n == "value")) {
                let message =
                    format!("no type and value columns in the header (found {})", header.join(", "));
                return sink(Err(FeedError::new(source, Some(line), "missing misp csv header", message)));
            }
            names = Some(header);
            continue;
        };
        // A column's trimmed text by header name; `None` when absent, short or empty.
        let field = |name: &str| -> Result<Option<String>, FeedError> {
            let col = names.iter().position(|n| n == name);
            let Some(bytes) = col.and_then(|i| row.get(i)) else { return Ok(None) };
            match std::str::from_utf8(super::trim(bytes)) {
                Ok(s) => Ok(Some(s.to_string()).filter(|s| !s.is_empty())),
                Err(e) => {
                    let message = format!("invalid utf-8 in column {name} at byte {}", e.valid_up_to() + 1);
                    Err(FeedError::new(source, Some(line), "invalid utf-8", message))
                }
            }
        };
        let split_tags = |text: Option<String>| -> Vec<String> {
            text.iter()
                .flat_map(|t| t.split(','))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        };
        let read = || -> Result<(Attribute, Event), FeedError> {
            let is_true = |text: Option<String>, default: bool| {
                text.map_or(default, |t| flag(&Value::String(t)).unwrap_or(default))
            };
            let attribute = Attribute {
                uuid: field("uuid")?,
                kind: field("type")?.unwrap_or_default(),
                value: field("value")?.unwrap_or_default(),
                to_ids: is_true(field("to_ids")?, true),
                deleted: is_true(field("deleted")?, false),
                comment: field("comment")?,
                tags: split_tags(field("attribute_tag")?),
                // MISP names the attribute timestamp `date` in CSV headers.
                timestamp: field("date")?.or(field("timestamp")?),
                first_seen: field("first_seen")?,
                last_seen: field("last_seen")?,
            };
            let event = Event {
                uuid: field("event_uuid")?,
                source: field("event_source_org")?
                    .or(field("event_member_org")?)
                    .unwrap_or_else(|| "misp".to_string()),
                info: field("event_info")?,
                tags: split_tags(field("event_tag")?),
                deleted: false,
            };
            Ok((attribute, event))
        };
        match read() {
            Ok((attribute, event)) => emit(&attribute, &event, line, source, options, sink, notices)?,
            Err(err) => sink(Err(err))?,
        }
    }
}

#[cfg(test)]
mod tests;
