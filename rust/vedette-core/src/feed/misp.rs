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
//! Types map as design.md §2 says (see `parts_of`); unsupported types are counted per
//! type (category `unsupported type: <type>`). Attributes are left out by policy, never
//! as errors, when `deleted` is true (on the attribute or its object) and when `to_ids`
//! is false, unless `keep_non_ids`. We look at `to_ids` before the type, so a strict load
//! of a typical event does not fail on its `text` and `link` context attributes.
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

use super::{ParseOptions, ParsedRecord, RawRecord, BOM};
use crate::error::FeedError;
use crate::indicator::{Kind, Meta, Timestamp, Tlp};
use crate::time::parse_timestamp;

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
pub(super) fn manifest_event_files(manifest: &[u8]) -> Result<Vec<String>, String> {
    let root: Value = serde_json::from_slice(manifest).map_err(|e| format!("invalid manifest json: {e}"))?;
    let Value::Object(events) = root else { return Err("manifest is not a json object".to_string()) };
    let mut files = Vec::with_capacity(events.len());
    for uuid in events.keys() {
        if uuid.is_empty() || !uuid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("manifest key {uuid:?} is not an event uuid"));
        }
        files.push(format!("{uuid}.json"));
    }
    files.sort();
    Ok(files)
}

/// What an event gives each of its attributes.
#[derive(Default)]
struct Event {
    uuid: Option<String>,
    source: String,
    info: Option<String>,
    tags: Vec<String>,
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
pub(super) fn parse<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: Sink<'_, 'a>,
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
                    deleted: object_deleted || attr.get("deleted").and_then(flag) == Some(true),
                    comment: text(attr, "comment"),
                    tags: tag_names(attr),
                    timestamp: text(attr, "timestamp"),
                    first_seen: text(attr, "first_seen"),
                    last_seen: text(attr, "last_seen"),
                };
                emit(&attribute, &ctx, position, source, options, sink)?;
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

/// What one `|`-separated part of a value becomes: a record of this kind (`Some(None)`:
/// an IP, ipv4 or ipv6 by its shape), or nothing (`None`: a port).
type Part = Option<Option<Kind>>;

/// The parts of a MISP type (one or two); `None` for an unsupported type.
fn parts_of(kind: &str) -> Option<Vec<Part>> {
    const IP: Part = Some(None);
    // Our hash kinds have MISP's names: `md5`, `sha1`, `sha224`, ... `sha512`.
    let hash = |name: &str| Kind::from_str(name).ok().filter(|k| k.hex_len().is_some());
    let k = |kind: Kind| Some(Some(kind));
    Some(match kind {
        "ip-src" | "ip-dst" => vec![IP],
        "ip-src|port" | "ip-dst|port" => vec![IP, None],
        "domain" => vec![k(Kind::Domain)],
        "hostname" => vec![k(Kind::Hostname)],
        "hostname|port" => vec![k(Kind::Hostname), None],
        "domain|ip" => vec![k(Kind::Domain), IP],
        "url" => vec![k(Kind::Url)],
        "uri" | "filename" | "user-agent" | "mutex" => vec![k(Kind::String)],
        "email" | "email-src" | "email-dst" | "email-reply-to" => vec![k(Kind::Email)],
        _ => match kind.strip_prefix("filename|") {
            Some(name) => vec![k(Kind::String), k(hash(name)?)],
            None => vec![k(hash(kind)?)],
        },
    })
}

/// Turns one attribute into its records (or the reason it gives none) for `sink`.
fn emit<'a>(
    attr: &Attribute,
    event: &Event,
    line: usize,
    source: &str,
    options: &ParseOptions,
    sink: Sink<'_, 'a>,
) -> Result<(), FeedError> {
    let name = match &attr.uuid {
        Some(uuid) => format!("attribute {uuid}"),
        None => format!("attribute {line}"),
    };
    let err = |category: &str, message: String| FeedError::new(source, Some(line), category, message);
    let skip = |category: &str, message: String| FeedError::skipped(source, Some(line), category, message);
    if attr.deleted {
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
            // An IP part gets its kind by shape (IPv6 has colons), not `None`, so that a
            // domain filed as `ip-dst` is an error rather than loading as a domain.
            let kind = kind.unwrap_or(if value.contains(':') { Kind::Ipv6 } else { Kind::Ipv4 });
            Ok(RawRecord { line, value: Cow::Owned(value.to_string()), kind: Some(kind), meta: meta.clone() })
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
        meta.tags.push(format!("misp:{field}={}", rfc3339(parsed)));
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

/// RFC 3339 in UTC, with a fraction only when there is one. Days to a civil date after
/// Howard Hinnant's `civil_from_days`, so that any i64 formats without a panic.
fn rfc3339(micros: Timestamp) -> String {
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
    let frac = if frac == 0 { String::new() } else { format!(".{frac:06}") };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{frac}Z")
}

/// Parses a MISP CSV export (`uuid,event_id,category,type,value,comment,to_ids,date,...`
/// plus, with `includeContext`, `event_info`, `event_source_org`, `event_tag`, ...).
/// Tags columns are comma-separated, as MISP joins them. A header is required.
pub(super) fn parse_csv<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: Sink<'_, 'a>,
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
            };
            Ok((attribute, event))
        };
        match read() {
            Ok((attribute, event)) => emit(&attribute, &event, line, source, options, sink)?,
            Err(err) => sink(Err(err))?,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use serde_json::json;

    use super::*;

    const KEEP: ParseOptions = ParseOptions { keep_non_ids: true, zeek_domain_as_hostname: false };

    /// Parses with `parser` and renders records as `line:value` (plus ` k=kind`), errors
    /// as `line!category`, policy skips as `line~category`.
    fn run(parser: Parser, data: &[u8], options: ParseOptions) -> Vec<String> {
        let mut out = Vec::new();
        parser(data, "t", &options, &mut |r| {
            out.push(match r {
                Ok(r) => match r.kind {
                    Some(k) => format!("{}:{} k={k}", r.line, r.value),
                    None => format!("{}:{}", r.line, r.value),
                },
                Err(e) => {
                    let mark = if e.is_policy_skip() { '~' } else { '!' };
                    format!("{}{mark}{}", e.line().map_or(0, |l| l), e.category())
                }
            });
            Ok(())
        })
        .unwrap();
        out
    }

    type Parser = for<'a> fn(&'a [u8], &str, &ParseOptions, Sink<'_, 'a>) -> Result<(), FeedError>;

    fn event(attributes: Value) -> Vec<u8> {
        let event = json!({"Event": {"uuid": "ev", "info": "Info", "Orgc": {"name": "Org"}, "Attribute": attributes}});
        event.to_string().into_bytes()
    }

    #[test]
    fn misp_types_table() {
        #[rustfmt::skip]
        let rows: &[(&str, &str, &str, &[&str])] = &[
            ("ip010", "ip-src", "1.2.3.4", &["1:1.2.3.4 k=ipv4"]),
            ("ip020", "ip-dst", "2001:db8::1", &["1:2001:db8::1 k=ipv6"]),
            ("ip030", "ip-dst", "evil.example", &["1:evil.example k=ipv4"]),
            ("ip040", "ip-dst", "::ffff:1.2.3.4", &["1:::ffff:1.2.3.4 k=ipv6"]),
            ("port010", "ip-src|port", "1.2.3.4|443", &["1:1.2.3.4 k=ipv4"]),
            ("port020", "ip-dst|port", "2001:db8::1|443", &["1:2001:db8::1 k=ipv6"]),
            ("port030", "hostname|port", "a.evil.example|8080", &["1:a.evil.example k=hostname"]),
            ("port040", "ip-dst|port", "1.2.3.4", &["1!bad composite value"]),
            ("domain010", "domain", "evil.example", &["1:evil.example k=domain"]),
            ("domain020", "hostname", "a.evil.example", &["1:a.evil.example k=hostname"]),
            ("domain030", "domain|ip", "evil.example|1.2.3.4", &["1:evil.example k=domain", "1:1.2.3.4 k=ipv4"]),
            ("domain040", "domain|ip", "|1.2.3.4", &["1!empty value", "1:1.2.3.4 k=ipv4"]),
            ("domain050", "domain", "  evil.example ", &["1:evil.example k=domain"]),
            ("url010", "url", "http://evil.example/a|b", &["1:http://evil.example/a|b k=url"]),
            ("string010", "uri", "/admin.php", &["1:/admin.php k=string"]),
            ("string020", "filename", "a.exe", &["1:a.exe k=string"]),
            ("string030", "user-agent", "Mozilla/5.0 (X)", &["1:Mozilla/5.0 (X) k=string"]),
            ("string040", "mutex", "Global\\m", &["1:Global\\m k=string"]),
            ("email010", "email", "a@e.example", &["1:a@e.example k=email"]),
            ("email020", "email-src", "a@e.example", &["1:a@e.example k=email"]),
            ("email030", "email-dst", "a@e.example", &["1:a@e.example k=email"]),
            ("email040", "email-reply-to", "a@e.example", &["1:a@e.example k=email"]),
            ("hash010", "md5", "h", &["1:h k=md5"]),
            ("hash020", "sha1", "h", &["1:h k=sha1"]),
            ("hash030", "sha224", "h", &["1:h k=sha224"]),
            ("hash040", "sha256", "h", &["1:h k=sha256"]),
            ("hash050", "sha384", "h", &["1:h k=sha384"]),
            ("hash060", "sha512", "h", &["1:h k=sha512"]),
            ("fhash010", "filename|md5", "a.exe|h", &["1:a.exe k=string", "1:h k=md5"]),
            ("fhash020", "filename|sha1", "a|h", &["1:a k=string", "1:h k=sha1"]),
            ("fhash030", "filename|sha224", "a|h", &["1:a k=string", "1:h k=sha224"]),
            ("fhash040", "filename|sha256", "a|h", &["1:a k=string", "1:h k=sha256"]),
            ("fhash050", "filename|sha384", "a|h", &["1:a k=string", "1:h k=sha384"]),
            ("fhash060", "filename|sha512", "a|h", &["1:a k=string", "1:h k=sha512"]),
            ("fhash070", "filename|sha1", "a b.doc | h ", &["1:a b.doc k=string", "1:h k=sha1"]),
            ("unsupported010", "text", "x", &["1!unsupported type: text"]),
            ("unsupported020", "comment", "x", &["1!unsupported type: comment"]),
            ("unsupported030", "link", "https://x.example", &["1!unsupported type: link"]),
            ("unsupported040", "yara", "rule x {}", &["1!unsupported type: yara"]),
            ("unsupported050", "snort", "alert", &["1!unsupported type: snort"]),
            ("unsupported060", "sigma", "x", &["1!unsupported type: sigma"]),
            ("unsupported070", "pattern-in-file", "x", &["1!unsupported type: pattern-in-file"]),
            ("unsupported080", "filename|ssdeep", "a|3:x", &["1!unsupported type: filename|ssdeep"]),
            ("unsupported090", "Domain", "evil.example", &["1!unsupported type: Domain"]),
            ("empty010", "domain", "", &["1!empty value"]),
            ("empty020", "", "x", &["1!empty type"]),
        ];
        for &(id, kind, value, want) in rows {
            let data = event(json!([{"uuid": "u", "type": kind, "value": value, "to_ids": true}]));
            assert_eq!(run(parse, &data, ParseOptions::default()), want, "{id}");
        }
    }

    #[test]
    fn to_ids_table() {
        #[rustfmt::skip]
        let rows: &[(&str, Value, ParseOptions, &[&str])] = &[
            ("ids010", json!({"to_ids": true}), ParseOptions::default(), &["1:a.example k=domain"]),
            ("ids020", json!({"to_ids": false}), ParseOptions::default(), &["1~to_ids false"]),
            ("ids030", json!({"to_ids": "0"}), ParseOptions::default(), &["1~to_ids false"]),
            ("ids040", json!({"to_ids": "1"}), ParseOptions::default(), &["1:a.example k=domain"]),
            ("ids050", json!({"to_ids": 0}), ParseOptions::default(), &["1~to_ids false"]),
            ("ids060", json!({"to_ids": "False"}), ParseOptions::default(), &["1~to_ids false"]),
            ("ids070", json!({}), ParseOptions::default(), &["1:a.example k=domain"]),
            ("ids080", json!({"to_ids": null}), ParseOptions::default(), &["1:a.example k=domain"]),
            ("ids090", json!({"to_ids": false}), KEEP, &["1:a.example k=domain"]),
            // Policy first: a context attribute is a skip, not an unsupported type.
            ("ids100", json!({"to_ids": false, "type": "text"}), ParseOptions::default(), &["1~to_ids false"]),
            ("ids110", json!({"to_ids": false, "type": "text"}), KEEP, &["1!unsupported type: text"]),
            ("deleted010", json!({"deleted": true}), KEEP, &["1~deleted"]),
            ("deleted020", json!({"deleted": "0"}), ParseOptions::default(), &["1:a.example k=domain"]),
        ];
        for (id, fields, options, want) in rows {
            let mut attr = json!({"uuid": "u", "type": "domain", "value": "a.example"});
            attr.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
            assert_eq!(run(parse, &event(json!([attr])), *options), *want, "{id}");
        }
    }

    #[test]
    fn structure_table() {
        let a = |uuid: &str, value: &str| json!({"uuid": uuid, "type": "domain", "value": value});
        let objects = json!({"Event": {"Attribute": [a("1", "a.example")], "Object": [
            {"name": "domain-ip", "Attribute": [a("2", "b.example"), a("3", "c.example")]},
            {"name": "file", "deleted": true, "Attribute": [a("4", "d.example")]},
            {"name": "empty"},
        ]}});
        let response = json!({"response": [
            {"Event": {"Attribute": [a("1", "a.example")]}},
            {"Event": {"Attribute": [a("2", "b.example")]}},
        ]});
        #[rustfmt::skip]
        let rows: Vec<(&str, Vec<u8>, &[&str])> = vec![
            ("shape010", json!({"Attribute": [a("1", "a.example")]}).to_string().into(), &["1:a.example k=domain"]),
            ("shape020", response.to_string().into(), &["1:a.example k=domain", "2:b.example k=domain"]),
            ("shape030", json!([{"Event": {"Attribute": [a("1", "a.example")]}}]).to_string().into(), &["1:a.example k=domain"]),
            ("shape040", json!({"response": {"Attribute": [a("1", "a.example")]}}).to_string().into(), &["1:a.example k=domain"]),
            ("shape050", b"\xef\xbb\xbf {\"Event\": {\"info\": \"x\"}}\n".to_vec(), &[]),
            ("object010", objects.to_string().into(), &["1:a.example k=domain", "2:b.example k=domain", "3:c.example k=domain", "4~deleted"]),
            ("bad010", b"{\"Event\": \n{".to_vec(), &["2!invalid json"]),
            ("bad020", b"{\"name\": \"warninglist\"}".to_vec(), &["0!not a misp event"]),
            ("bad030", json!({"0f-1": {"info": "x", "Orgc": {}}}).to_string().into(), &["0!not a misp event"]),
            ("bad040", json!({"Attribute": [1, a("2", "b.example")]}).to_string().into(), &["1!bad attribute", "2:b.example k=domain"]),
            ("bad050", b"\"x\"".to_vec(), &["0!not a misp event"]),
        ];
        for (id, data, want) in &rows {
            assert_eq!(run(parse, data, ParseOptions::default()), *want, "{id}");
        }
    }

    /// Every metadata rule on one attribute at a time.
    #[test]
    fn meta_table() {
        let meta_of = |event: Value| -> Result<Meta, String> {
            let mut got = Vec::new();
            parse(event.to_string().as_bytes(), "t", &KEEP, &mut |r| {
                got.push(r.map(|r| r.meta).map_err(|e| e.to_string()));
                Ok(())
            })
            .unwrap();
            got.remove(0)
        };
        let with = |event: Value, attr: Value| {
            let mut event = event;
            let mut full = json!({"uuid": "au", "type": "domain", "value": "a.example", "to_ids": true});
            full.as_object_mut().unwrap().extend(attr.as_object().unwrap().clone());
            event["Attribute"] = json!([full]);
            meta_of(json!({ "Event": event }))
        };
        let base = json!({"uuid": "eu", "info": "Info", "Orgc": {"name": "Creator"}, "Org": {"name": "Owner"},
            "Tag": [{"name": "apt"}, {"name": "tlp:amber"}, {"name": "TLP:GREEN"}, {"name": "tlp:ex:chr"}]});
        let m =
            with(base.clone(), json!({"comment": "c2", "Tag": [{"name": "apt"}, {"name": "c2"}]})).unwrap();
        assert_eq!(m.source.as_deref(), Some("Creator"), "meta010");
        assert_eq!(m.reference.as_deref(), Some("au"), "meta020");
        assert_eq!(m.description.as_deref(), Some("c2"), "meta030");
        assert_eq!(m.tlp, Some(Tlp::Amber), "meta040");
        assert_eq!(m.tags, ["apt", "tlp:ex:chr", "c2"], "meta050");
        assert_eq!((m.valid_from, m.valid_until, m.confidence), (None, None, None), "meta060");

        let m = with(json!({"uuid": "eu", "info": "Info", "Org": {"name": "Owner"}}), json!({"uuid": null}))
            .unwrap();
        assert_eq!((m.source.as_deref(), m.reference.as_deref()), (Some("Owner"), Some("eu")), "meta070");
        assert_eq!((m.description.as_deref(), m.tlp), (Some("Info"), None), "meta080");
        let m = with(json!({}), json!({"uuid": "", "comment": " "})).unwrap();
        assert_eq!((m.source.as_deref(), m.reference, m.description), (Some("misp"), None, None), "meta090");

        let tlp = |tags: Value| with(json!({}), json!({"Tag": tags})).unwrap().tlp;
        assert_eq!(tlp(json!([{"name": "tlp:white"}])), Some(Tlp::Clear), "tlp010");
        assert_eq!(tlp(json!([{"name": "tlp:red"}, {"name": "tlp:clear"}])), Some(Tlp::Red), "tlp020");
        assert_eq!(
            tlp(json!([{"name": "TLP:AMBER+STRICT"}, {"name": "tlp:amber"}])),
            Some(Tlp::AmberStrict),
            "tlp030"
        );
        assert_eq!(tlp(json!(["tlp:green"])), Some(Tlp::Green), "tlp040");

        let times = json!({"timestamp": "1713261600", "first_seen": "2024-04-16T10:00:00.000000+00:00",
            "last_seen": "2024-04-17T10:00:00.500000+02:00"});
        let m = with(json!({}), times).unwrap();
        assert_eq!(m.valid_from, Some(1_713_261_600_000_000), "time010");
        assert_eq!(m.valid_until, None, "time020");
        assert_eq!(
            m.tags,
            [
                "misp:timestamp=2024-04-16T10:00:00Z",
                "misp:first_seen=2024-04-16T10:00:00Z",
                "misp:last_seen=2024-04-17T08:00:00.500000Z"
            ],
            "time030"
        );
        let err = with(json!({}), json!({"first_seen": "soon"})).unwrap_err();
        assert_eq!(err, "t:1: attribute au: first_seen \"soon\" is not a time", "time040");
        let m = with(json!({}), json!({"to_ids": false, "timestamp": 0})).unwrap();
        assert_eq!(m.tags, ["misp:timestamp=1970-01-01T00:00:00Z", "misp:to_ids=false"], "time050");
    }

    #[test]
    fn rfc3339_table() {
        let rows: &[(&str, i64, &str)] = &[
            ("iso010", 0, "1970-01-01T00:00:00Z"),
            ("iso020", 1_713_261_600_000_000, "2024-04-16T10:00:00Z"),
            ("iso030", 951_782_400_000_001, "2000-02-29T00:00:00.000001Z"),
            ("iso040", -1, "1969-12-31T23:59:59.999999Z"),
            ("iso050", 253_402_300_799_000_000, "9999-12-31T23:59:59Z"),
        ];
        for &(id, micros, want) in rows {
            assert_eq!(rfc3339(micros), want, "{id}");
        }
        let _ = rfc3339(i64::MIN); // no panic
        let _ = rfc3339(i64::MAX);
    }

    const CSV_HEADER: &str = "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category\n";

    #[test]
    fn csv_table() {
        #[rustfmt::skip]
        let rows: &[(&str, &[u8], &[&str])] = &[
            ("csv010", b"\"u1\",7,\"Network activity\",\"domain\",\"evil.example\",\"\",1,1713261600,\"\",\"\",\"\",\"\",\"\"\n", &["2:evil.example k=domain"]),
            ("csv020", b"\"u1\",7,\"x\",\"domain|ip\",\"evil.example|1.2.3.4\",\"\",1,1,\"\",\"\",\"\",\"\",\"\"\n", &["2:evil.example k=domain", "2:1.2.3.4 k=ipv4"]),
            ("csv030", b"\"u1\",7,\"x\",\"domain\",\"a.example\",\"\",0,1,\"\",\"\",\"\",\"\",\"\"\n", &["2~to_ids false"]),
            ("csv040", b"\"u1\",7,\"x\",\"text\",\"hello\",\"\",1,1,\"\",\"\",\"\",\"\",\"\"\n", &["2!unsupported type: text"]),
            ("csv050", b"\"u1\",7,\"x\",\"md5\",\"h\",\"two\nlines\",1,1,\"\",\"\",\"\",\"\",\"\"\n\"u2\",7,\"x\",\"sha1\",\"h\",\"\",1,1\n", &["2:h k=md5", "4:h k=sha1"]),
            ("csv060", b"\"u1\",7,\"x\",\"url\",\"http://a.example/\",\"\",1,1\r\n\r\n\"u2\",7,\"x\",\"url\",\"http://b.example/\",\"\",1,1\r\n", &["2:http://a.example/ k=url", "4:http://b.example/ k=url"]),
            ("csv070", b"\"u1\",7,\"x\",\"domain\",\"\xff.example\",\"\",1,1\n\"u2\",7,\"x\",\"domain\",\"b.example\",\"\",1,1\n", &["2!invalid utf-8", "3:b.example k=domain"]),
            ("csv080", b"\"u1\",7,\"x\",\"domain\",\"a.example\",\"\",1,\"yesterday\"\n", &["2!bad timestamp"]),
            ("csv090", b"\"u1\",7,\"x\",\"domain\",\"a.example\"\n", &["2:a.example k=domain"]),
        ];
        for &(id, body, want) in rows {
            let data = [CSV_HEADER.as_bytes(), body].concat();
            assert_eq!(run(parse_csv, &data, ParseOptions::default()), want, "{id}");
        }
        let bom = format!("\u{feff}\n{CSV_HEADER}\"u\",1,\"x\",\"domain\",\"a.example\",\"\",1,1\n");
        assert_eq!(
            run(parse_csv, bom.as_bytes(), ParseOptions::default()),
            ["3:a.example k=domain"],
            "csv100"
        );
        let headerless = "\"u\",1,\"x\",\"domain\",\"a.example\",\"\",1,1\n";
        assert_eq!(
            run(parse_csv, headerless.as_bytes(), ParseOptions::default()),
            ["1!missing misp csv header"],
            "csv110"
        );
        assert_eq!(run(parse_csv, b"", ParseOptions::default()), Vec::<String>::new(), "csv120");
    }

    #[test]
    fn csv_meta() {
        let data = "uuid,type,value,comment,to_ids,date,attribute_tag,event_info,event_source_org,event_member_org,event_tag,first_seen\n\
            \"u1\",\"domain\",\"a.example\",\"\",0,20190128,\"c2, TLP:RED\",\"Op X\",\"ESET\",\"Owner\",\"tlp:green,apt\",\"2024-04-16\"\n\
            \"u2\",\"domain\",\"b.example\",\"note\",1,1713261600,\"\",\"\",\"\",\"Owner\",\"\",\"\"\n";
        let mut got = Vec::new();
        parse_csv(data.as_bytes(), "t.csv", &KEEP, &mut |r| {
            got.push(r.unwrap().meta);
            Ok(())
        })
        .unwrap();
        let m = &got[0];
        assert_eq!(
            (m.source.as_deref(), m.reference.as_deref(), m.description.as_deref()),
            (Some("ESET"), Some("u1"), Some("Op X"))
        );
        assert_eq!((m.tlp, m.valid_from), (Some(Tlp::Red), Some(1_713_225_600_000_000)));
        let tags = [
            "apt",
            "c2",
            "misp:timestamp=2019-01-28T00:00:00Z",
            "misp:first_seen=2024-04-16T00:00:00Z",
            "misp:to_ids=false",
        ];
        assert_eq!(m.tags, tags);
        let m = &got[1];
        assert_eq!(
            (m.source.as_deref(), m.description.as_deref(), m.tlp),
            (Some("Owner"), Some("note"), None)
        );
        assert_eq!(m.tags, ["misp:timestamp=2024-04-16T10:00:00Z"]);
    }

    #[test]
    fn sniff_table() {
        #[rustfmt::skip]
        let json_rows: &[(&str, &[u8], bool)] = &[
            ("json010", b"{\"Event\": {\"uuid\": \"x\"}}", true),
            ("json020", b"\xef\xbb\xbf\n  {\"response\":[{\"Event\" :{", true),
            ("json030", b"{\"uuid\": \"x\", \"info\": \"y\", \"Attribute\": []}", true),
            ("json040", b"{\"0f\": {\"info\": \"y\", \"Orgc\": {\"name\": \"TweetFeed\"}}}", true),
            ("json050", b"{\"type\": \"bundle\", \"objects\": [{\"description\": \"an \\\"Event\\\" here\"}]}", false),
            ("json060", b"{\"description\": \"x\", \"list\": [\"1.2.3.4\"], \"type\": \"cidr\"}", false),
            ("json070", b"evil.example\n", false),
            ("json080", b"# {\"Event\": 1}", false),
        ];
        for &(id, input, want) in json_rows {
            assert_eq!(looks_like(input), want, "{id}");
        }
        #[rustfmt::skip]
        let csv_rows: &[(&str, &[u8], bool)] = &[
            ("mcsv010", CSV_HEADER.as_bytes(), true),
            ("mcsv020", b"\xef\xbb\xbf\r\n\"Type\",\"VALUE\",\"to_ids\"\r\n", true),
            ("mcsv030", b"type,value,event_id\n", true),
            ("mcsv040", b"type,value\n", false),
            ("mcsv050", b"value,to_ids\n", false),
            ("mcsv060", b"", false),
        ];
        for &(id, input, want) in csv_rows {
            assert_eq!(looks_like_csv(input), want, "{id}");
        }
    }

    #[test]
    fn sink_error_stops_the_parse() {
        // Stopped at the second record: the third (the ip part, the next row) never comes.
        let row = b"\"u\",1,\"x\",\"domain|ip\",\"a.example|1.2.3.4\",\"\",1,1\n";
        let csv = [CSV_HEADER.as_bytes(), row, row].concat();
        let json = event(
            json!([{"type": "text", "value": "x"}, {"type": "domain|ip", "value": "a.example|1.2.3.4"}]),
        );
        for (parser, data) in [(parse as Parser, json), (parse_csv, csv)] {
            let (mut seen, stop) = (0, FeedError::new("f", None, "stop", "stop"));
            let result = parser(&data, "t", &ParseOptions::default(), &mut |_| {
                seen += 1;
                if seen == 2 {
                    Err(stop.clone())
                } else {
                    Ok(())
                }
            });
            assert_eq!((result, seen), (Err(stop), 2));
        }
    }

    #[test]
    fn manifest_table() {
        let ok = manifest_event_files(br#"{"b-2": {"info": "x"}, "a-1": {"info": "y"}}"#);
        assert_eq!(ok, Ok(vec!["a-1.json".to_string(), "b-2.json".to_string()]));
        assert_eq!(manifest_event_files(b"{}"), Ok(vec![]));
        assert!(manifest_event_files(br#"{"../etc/passwd": {}}"#).unwrap_err().contains("not an event uuid"));
        assert!(manifest_event_files(b"[]").unwrap_err().contains("not a json object"));
        assert!(manifest_event_files(b"{").unwrap_err().starts_with("invalid manifest json"));
    }

    /// What the real events should give, counted straight from the JSON with a mapping
    /// written here again: kinds by name per record, and skip/error categories.
    fn independent_count(root: &Value, keep_non_ids: bool) -> BTreeMap<String, usize> {
        const HASHES: [&str; 6] = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];
        let kinds = |t: &str| -> Option<Vec<String>> {
            let names: &[&str] = match t {
                "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => &["ip"],
                "domain" => &["domain"],
                "hostname" | "hostname|port" => &["hostname"],
                "domain|ip" => &["domain", "ip"],
                "url" => &["url"],
                "uri" | "filename" | "user-agent" | "mutex" => &["string"],
                "email" | "email-src" | "email-dst" | "email-reply-to" => &["email"],
                _ if HASHES.contains(&t) => &[t],
                _ => match t.strip_prefix("filename|") {
                    Some(h) if HASHES.contains(&h) => &["string", h],
                    _ => return None,
                },
            };
            Some(names.iter().map(|n| n.to_string()).collect())
        };
        let mut counts = BTreeMap::new();
        let events: Vec<&Value> = match root.get("response") {
            Some(list) => list.as_array().unwrap().iter().map(|e| &e["Event"]).collect(),
            None => vec![&root["Event"]],
        };
        for event in events {
            let mut attributes: Vec<&Value> = event["Attribute"].as_array().unwrap().iter().collect();
            for object in event.get("Object").and_then(Value::as_array).into_iter().flatten() {
                attributes.extend(object["Attribute"].as_array().unwrap());
            }
            for a in attributes {
                let t = a["type"].as_str().unwrap();
                let names = if a["to_ids"] == json!(false) && !keep_non_ids {
                    vec!["~to_ids false".to_string()]
                } else {
                    kinds(t).unwrap_or_else(|| vec![format!("!unsupported type: {t}")])
                };
                for name in names {
                    *counts.entry(name).or_default() += 1;
                }
            }
        }
        counts
    }

    fn parser_count(data: &[u8], options: &ParseOptions) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        parse(data, "real", options, &mut |r| {
            let name = match r {
                Ok(r) => match r.kind {
                    Some(Kind::Ipv4 | Kind::Ipv6) | None => "ip".to_string(),
                    Some(k) => k.to_string(),
                },
                Err(e) if e.is_policy_skip() => format!("~{}", e.category()),
                Err(e) => format!("!{}", e.category()),
            };
            *counts.entry(name).or_default() += 1;
            Ok(())
        })
        .unwrap();
        counts
    }

    #[test]
    fn real_events() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/misp");
        if !root.is_dir() {
            eprintln!("skipping: {} not found", root.display());
            return;
        }
        let feed = root.join("tweetfeed-feed");
        let listed = manifest_event_files(&std::fs::read(feed.join("manifest.json")).unwrap()).unwrap();
        let present: Vec<&String> = listed.iter().filter(|f| feed.join(f).is_file()).collect();
        eprintln!("tweetfeed manifest: {} events listed, {} on disk", listed.len(), present.len());
        let mut files: Vec<_> = present.iter().map(|f| feed.join(f)).collect();
        files.extend(std::fs::read_dir(root.join("eset-events")).unwrap().map(|e| e.unwrap().path()));
        let mut totals: [BTreeMap<String, usize>; 2] = Default::default();
        for path in files {
            let data = std::fs::read(&path).unwrap();
            assert!(looks_like(&data), "{}", path.display());
            let value: Value = serde_json::from_slice(&data).unwrap();
            for (i, options) in [ParseOptions::default(), KEEP].iter().enumerate() {
                let got = parser_count(&data, options);
                assert_eq!(
                    got,
                    independent_count(&value, options.keep_non_ids),
                    "{} {options:?}",
                    path.display()
                );
                for (k, v) in got {
                    *totals[i].entry(k).or_default() += v;
                }
            }
        }
        eprintln!("default: {:?}\nkeep_non_ids: {:?}", totals[0], totals[1]);
    }
}
