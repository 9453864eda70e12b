//! STIX 2.1 and 2.0: the patterns of indicator objects, compiled into records.
//!
//! Shapes read: a bundle (`{"type": "bundle", "objects": [...]}`), a TAXII 2.1 envelope
//! (`{"objects": [...], "more": false}`), a bare array of STIX objects, and one STIX
//! object alone. Of the objects, indicators give records (see [`super::stix_pattern`]
//! for the patterns we compile), identities give `created_by_ref` its name, marking
//! definitions give `object_marking_refs` its TLP; everything else is context we skip.
//!
//! Versions: an indicator id may appear several times in one bundle; the newest
//! `modified` (compared as a time: `...00Z` and `...00.000Z` are one instant) wins, and
//! on a tie the later object. The others are counted as superseded. Revocation is
//! final (STIX 2.1 §3.6): when any version is revoked, nothing of that id loads.
//!
//! Memory: a `serde_json::Value` of a whole 1M-indicator bundle takes several GB, so we
//! read the top level ourselves, by its punctuation only, and let serde parse (and
//! validate) one object at a time, keeping what an indicator needs, with the strings
//! most indicators repeat (creator, markings, labels) kept once. Records are emitted
//! once the whole document has parsed: invalid JSON is one error and no records.

use std::borrow::Cow;
use std::str::FromStr;

use memchr::memchr2;
use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::stix_pattern::{Atom, Compiler, Rejected};
use super::{Notice, NoticeSink, ParseOptions, ParsedRecord, RawRecord, BOM};
use crate::error::FeedError;
use crate::indicator::{Meta, Timestamp, Tlp};
use crate::time::parse_timestamp;

/// How much of the data [`looks_like`] reads.
const SNIFF_WINDOW: usize = 64 * 1024;

/// The TLP marking definitions every STIX producer shares, by id: TLP 1.0 from STIX 2.1
/// §7.2.1.4, TLP 2.0 from the OASIS TLP 2.0 extension. A bundle need not include them.
const STANDARD_TLP: [(&str, Tlp); 9] = [
    ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::Clear),
    ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::Green),
    ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::Amber),
    ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::Red),
    ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", Tlp::Clear),
    ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", Tlp::Green),
    ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", Tlp::Amber),
    ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", Tlp::AmberStrict),
    ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", Tlp::Red),
];

/// Whether `data` looks like STIX: JSON whose top level is an object or array, with a
/// `"type": "indicator"` or `"id": "indicator--..."` member anywhere, or a `"type":
/// "bundle"` or `"id": "bundle--..."` member at the top, in the first 64 KiB. The `id`
/// forms are for producers that sort keys, which puts `type` after `objects`. Matching
/// keys by depth keeps out JSON that merely mentions a bundle (TweetFeed's manifest).
pub(super) fn looks_like(data: &[u8]) -> bool {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let data = &data[..data.len().min(SNIFF_WINDOW)];
    let start = data.iter().position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).unwrap_or(data.len());
    if !matches!(data.get(start), Some(b'{' | b'[')) {
        return false;
    }
    let (mut depth, mut i) = (0usize, start);
    let mut key: Option<&[u8]> = None;
    while i < data.len() {
        match data[i] {
            b'{' | b'[' => {
                depth += 1;
                key = None;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let Some(len) = string_len(&data[i..]) else { return false };
                let text = &data[i + 1..i + len - 1];
                i += len;
                let colon = data[i..].iter().find(|&&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
                if colon == Some(&b':') {
                    key = Some(text);
                    continue;
                }
                let top = depth == 1 && data[start] == b'{';
                match key.take() {
                    Some(b"type") if text == b"indicator" || (top && text == b"bundle") => return true,
                    Some(b"id")
                        if text.starts_with(b"indicator--") || (top && text.starts_with(b"bundle--")) =>
                    {
                        return true
                    }
                    _ => {}
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// The length of the JSON string at the start of `data`, quotes included.
fn string_len(data: &[u8]) -> Option<usize> {
    let mut i = 1;
    loop {
        let at = i + memchr2(b'"', b'\\', data.get(i..)?)?;
        if data[at] == b'"' {
            return Some(at + 1);
        }
        i = at + 2;
    }
}

/// Parses a STIX document; see the module docs. `options` has nothing for STIX yet.
#[cfg(test)]
pub(super) fn parse<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    parse_noting(data, source, options, sink, &mut |_| {})
}

/// [`parse`], also telling `notices` the version of every indicator id (its winning
/// object's `modified`), or that it is revoked. Nothing is noted for a document that
/// does not parse: it loads nothing.
pub(super) fn parse_noting<'a>(
    data: &'a [u8],
    source: &str,
    _options: &ParseOptions,
    sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
    notices: NoticeSink<'_>,
) -> Result<(), FeedError> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let mut bundle = Bundle { source, ..Bundle::default() };
    if let Err(err) = walk(data, source, &mut |position, start| bundle.object(data, position, start)) {
        return sink(Err(err));
    }
    bundle.emit(sink, notices)
}

/// What an indicator object gives, kept until the versions are known.
struct Candidate {
    /// 1-based position in the objects array.
    position: usize,
    /// `None` for an object we cannot tell apart from others: its error is all it gives.
    id: Option<String>,
    /// `None` when absent (or unreadable): older than any time.
    modified: Option<Timestamp>,
    revoked: bool,
    body: Result<Body, FeedError>,
}

/// The parts of an indicator's metadata we keep until it is emitted (the `Meta` is
/// built then, once `source` and `tlp` can be resolved).
struct Body {
    pattern: String,
    description: Option<String>,
    valid_from: Option<Timestamp>,
    valid_until: Option<Timestamp>,
    confidence: Option<u8>,
    /// In `Bundle::tag_sets`.
    tags: u32,
    /// In `Bundle::creators`.
    created_by: Option<u32>,
    /// The `object_marking_refs`, in `Bundle::marking_sets`.
    markings: Option<u32>,
}

/// Values most objects of a bundle repeat (the producer's identity, its markings, its
/// labels) kept once, so that a million indicators do not hold a million copies.
struct Interner<T> {
    values: Vec<T>,
    ids: FxHashMap<T, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner { values: Vec::new(), ids: FxHashMap::default() }
    }
}

impl<T: Clone + Eq + std::hash::Hash> Interner<T> {
    fn id(&mut self, value: T) -> u32 {
        if let Some(&id) = self.ids.get(&value) {
            return id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }
}

#[derive(Default)]
struct Bundle<'s> {
    source: &'s str,
    candidates: Vec<Candidate>,
    /// Identity id → (modified, name), the newest version's.
    identities: FxHashMap<String, (Option<Timestamp>, String)>,
    markings: FxHashMap<String, Tlp>,
    creators: Interner<String>,
    marking_sets: Interner<Vec<String>>,
    tag_sets: Interner<Vec<String>>,
}

fn take_str(object: &mut Map<String, Value>, key: &str) -> Option<String> {
    match object.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

fn strings(value: Option<Value>) -> impl Iterator<Item = String> {
    let items = match value {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    items.into_iter().filter_map(|v| match v {
        Value::String(s) => Some(s),
        _ => None,
    })
}

impl<'s> Bundle<'s> {
    fn error(&self, category: &str, message: String) -> FeedError {
        FeedError::new(self.source, None, category, message)
    }

    /// One element of the objects array, the JSON value at `data[start..]`; where it ends.
    fn object(&mut self, data: &[u8], position: usize, start: usize) -> Result<usize, FeedError> {
        // serde finds the end of the value as it parses it: no second pass over its bytes.
        let mut stream = serde_json::Deserializer::from_slice(&data[start..]).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(value)) => value,
            Some(Err(err)) => return Err(json_error(self.source, data, start, &err)),
            None => return Err(Scan { data, i: start, source: self.source }.fail("a value")),
        };
        let end = start + stream.byte_offset();
        let Value::Object(object) = value else {
            let body = Err(self.error("invalid object", format!("object #{position} is not a JSON object")));
            self.candidates.push(Candidate { position, id: None, modified: None, revoked: false, body });
            return Ok(end);
        };
        match object.get("type").and_then(Value::as_str) {
            Some("indicator") => self.indicator(position, object),
            Some("identity") => self.identity(object),
            Some("marking-definition") => self.marking(object),
            _ => {}
        }
        Ok(end)
    }

    fn indicator(&mut self, position: usize, mut object: Map<String, Value>) {
        let Some(id) = take_str(&mut object, "id") else {
            let body = Err(self.error("invalid object", format!("indicator #{position} has no id")));
            self.candidates.push(Candidate { position, id: None, modified: None, revoked: false, body });
            return;
        };
        let modified = self.timestamp(&id, &object, "modified");
        let revoked = object.get("revoked") == Some(&Value::Bool(true));
        let body = match modified {
            Ok(_) => self.body(&id, object),
            Err(ref err) => Err(err.clone()),
        };
        let modified = modified.unwrap_or(None);
        self.candidates.push(Candidate { position, id: Some(id), modified, revoked, body });
    }

    fn timestamp(
        &self,
        id: &str,
        object: &Map<String, Value>,
        key: &str,
    ) -> Result<Option<Timestamp>, FeedError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_str().and_then(parse_timestamp) {
                Some(time) => Ok(Some(time)),
                None => Err(self.error("bad timestamp", format!("{id}: {key} {value} is no RFC 3339 time"))),
            },
        }
    }

    fn body(&mut self, id: &str, mut object: Map<String, Value>) -> Result<Body, FeedError> {
        match object.get("pattern_type") {
            None | Some(Value::Null) => {} // STIX 2.0 has no pattern_type: its patterns are STIX
            Some(Value::String(t)) if t.eq_ignore_ascii_case("stix") => {}
            Some(Value::String(t)) => {
                let message = format!("{id}: pattern_type {t:?} is not supported (only stix)");
                return Err(self.error("unsupported pattern type", message));
            }
            Some(other) => return Err(self.error("invalid object", format!("{id}: pattern_type {other}"))),
        }
        let Some(pattern) = take_str(&mut object, "pattern") else {
            return Err(self.error("invalid object", format!("{id}: no pattern string")));
        };
        let valid_from = self.timestamp(id, &object, "valid_from")?;
        let valid_until = self.timestamp(id, &object, "valid_until")?;
        let confidence = match object.get("confidence") {
            None | Some(Value::Null) => None,
            Some(c) => match c.as_u64().and_then(|c| u8::try_from(c).ok()).filter(|&c| c <= 100) {
                Some(c) => Some(c),
                None => {
                    return Err(self.error("bad confidence", format!("{id}: confidence {c} is not 0-100")))
                }
            },
        };
        // Tags in the order a reader meets them; STIX 2.0 feeds often repeat a label as
        // an indicator type, so repeats are dropped.
        let mut tags: Vec<String> = Vec::new();
        let phases = object.remove("kill_chain_phases");
        let phases = phases.as_ref().and_then(Value::as_array).into_iter().flatten().filter_map(|p| {
            let chain = p.get("kill_chain_name")?.as_str()?;
            Some(format!("{chain}:{}", p.get("phase_name")?.as_str()?))
        });
        let labels = strings(object.remove("labels")).chain(strings(object.remove("indicator_types")));
        for tag in labels.chain(phases) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        let tags = self.tag_sets.id(tags);
        let description = take_str(&mut object, "description").or_else(|| take_str(&mut object, "name"));
        let created_by = take_str(&mut object, "created_by_ref").map(|by| self.creators.id(by));
        let markings: Vec<String> = strings(object.remove("object_marking_refs")).collect();
        let markings = (!markings.is_empty()).then(|| self.marking_sets.id(markings));
        Ok(Body { pattern, description, valid_from, valid_until, confidence, tags, created_by, markings })
    }

    fn identity(&mut self, mut object: Map<String, Value>) {
        let (Some(id), Some(name)) = (take_str(&mut object, "id"), take_str(&mut object, "name")) else {
            return;
        };
        let modified = self.timestamp(&id, &object, "modified").unwrap_or(None);
        let entry = self.identities.entry(id).or_insert((None, String::new()));
        if modified >= entry.0 {
            *entry = (modified, name);
        }
    }

    /// A TLP marking definition: STIX 2.0/2.1 `definition_type: "tlp"`, the TLP 2.0
    /// extension's `tlp_2_0`, or failing both a `TLP:...` name.
    fn marking(&mut self, mut object: Map<String, Value>) {
        let Some(id) = take_str(&mut object, "id") else { return };
        let definition_type = object.get("definition_type").and_then(Value::as_str);
        let tlp = match definition_type {
            Some("tlp") => object.get("definition").and_then(|d| d.get("tlp")).and_then(Value::as_str),
            Some(_) => None,
            None => object
                .get("extensions")
                .and_then(Value::as_object)
                .and_then(|e| e.values().find_map(|x| x.get("tlp_2_0")?.as_str()))
                .or_else(|| object.get("name").and_then(Value::as_str).filter(|n| n.starts_with("TLP:"))),
        };
        if let Some(tlp) = tlp.and_then(|t| Tlp::from_str(t).ok()) {
            self.markings.insert(id, tlp);
        }
    }

    /// Resolves the versions, then emits every candidate in bundle order.
    fn emit<'a>(
        self,
        sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
        notices: NoticeSink<'_>,
    ) -> Result<(), FeedError> {
        // id → (the winning candidate, whether any version is revoked)
        let mut latest: FxHashMap<&str, (usize, bool)> =
            FxHashMap::with_capacity_and_hasher(self.candidates.len(), Default::default());
        for (i, c) in self.candidates.iter().enumerate() {
            let Some(id) = c.id.as_deref() else { continue };
            let (winner, revoked) = latest.entry(id).or_insert((i, false));
            if c.modified >= self.candidates[*winner].modified {
                *winner = i;
            }
            *revoked |= c.revoked;
        }
        // Per candidate: the newer candidate that supersedes it, or whether it is revoked.
        let fates: Vec<(Option<usize>, bool)> = (self.candidates.iter().enumerate())
            .map(|(i, c)| match c.id.as_deref().map(|id| latest[id]) {
                Some((winner, _)) if winner != i => (Some(winner), false),
                Some((_, revoked)) => (None, revoked),
                None => (None, false),
            })
            .collect();
        drop(latest);

        // An identity's name when the bundle has it, else its id.
        let sources: Vec<String> = (self.creators.values.iter())
            .map(|by| self.identities.get(by).map_or(by, |(_, name)| name).clone())
            .collect();
        // The most restrictive TLP among the markings we know.
        let tlps: Vec<Option<Tlp>> = (self.marking_sets.values.iter())
            .map(|set| {
                let tlp = |m: &str| STANDARD_TLP.iter().find(|(id, _)| *id == m).map(|&(_, t)| t);
                set.iter().filter_map(|m| tlp(m).or_else(|| self.markings.get(m).copied())).max()
            })
            .collect();
        let positions: Vec<usize> = self.candidates.iter().map(|c| c.position).collect();
        let mut compiler = Compiler::default();
        let mut atoms: Vec<Result<Atom, Rejected>> = Vec::new();
        for (candidate, fate) in self.candidates.into_iter().zip(fates) {
            let has_id = candidate.id.is_some();
            let mut id = candidate.id.unwrap_or_default();
            if let (Some(newer), _) = fate {
                let newer = positions[newer];
                let message =
                    format!("{id}: object #{} is superseded by object #{newer}", candidate.position);
                sink(Err(FeedError::skipped(self.source, None, "superseded by a newer version", message)))?;
                continue;
            }
            if fate.1 {
                if has_id {
                    notices(Notice::Revoked { reference: &id });
                }
                sink(Err(FeedError::skipped(self.source, None, "revoked", format!("{id} is revoked"))))?;
                continue;
            }
            if has_id {
                notices(Notice::Version { reference: &id, modified: candidate.modified });
            }
            let body = match candidate.body {
                Ok(body) => body,
                Err(err) => {
                    sink(Err(err))?;
                    continue;
                }
            };
            if let Err(rejected) = compiler.compile(&body.pattern, &mut atoms) {
                let message = format!("{id}: {}", rejected.message);
                sink(Err(FeedError::new(self.source, None, rejected.category, message)))?;
                continue;
            }
            // The id goes into the metadata, and into the errors of an OR's atoms if any.
            let reference =
                if atoms.iter().any(Result::is_err) { id.clone() } else { std::mem::take(&mut id) };
            let mut meta = Meta {
                source: body.created_by.map(|by| sources[by as usize].clone()),
                reference: Some(reference),
                confidence: body.confidence,
                tlp: body.markings.and_then(|set| tlps[set as usize]),
                tags: self.tag_sets.values[body.tags as usize].clone(),
                valid_from: body.valid_from,
                valid_until: body.valid_until,
                description: body.description,
            };
            let last = atoms.iter().rposition(Result::is_ok);
            for (i, atom) in atoms.drain(..).enumerate() {
                let atom = match atom {
                    Ok(atom) => atom,
                    Err(rejected) => {
                        let message = format!("{id}: {}", rejected.message);
                        sink(Err(FeedError::new(self.source, None, rejected.category, message)))?;
                        continue;
                    }
                };
                let mut meta = if Some(i) == last { std::mem::take(&mut meta) } else { meta.clone() };
                if let Some(context) = atom.context {
                    meta.description = Some(match meta.description {
                        Some(d) => format!("{d}; {context}"),
                        None => context,
                    });
                }
                let value = Cow::Owned(atom.value);
                sink(Ok(RawRecord { line: candidate.position, value, kind: atom.kind, meta }))?;
            }
        }
        Ok(())
    }
}

/// A serde error in the JSON at `data[base..]`, placed in the whole document.
fn json_error(source: &str, data: &[u8], base: usize, err: &serde_json::Error) -> FeedError {
    let (base_line, base_column) = line_column(data, base);
    let line = base_line + err.line().saturating_sub(1);
    let column = if err.line() <= 1 { base_column + err.column().saturating_sub(1) } else { err.column() };
    let text = err.to_string();
    let bare = text.rfind(" at line ").map_or(text.as_str(), |i| &text[..i]);
    FeedError::new(
        source,
        Some(line),
        "invalid json",
        format!("invalid json: {bare} at line {line} column {column}"),
    )
}

/// 1-based line and column (in bytes) of `offset`.
fn line_column(data: &[u8], offset: usize) -> (usize, usize) {
    let before = &data[..offset.min(data.len())];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (1 + memchr::memchr_iter(b'\n', before).count(), offset - line_start + 1)
}

/// Calls `visit(position, start)` for every STIX object of the document, in order;
/// `visit` parses the object at `data[start..]` and says where it ends. We read only the
/// punctuation of the top level and of the objects array: each object, key and other
/// member goes to serde, so the whole document is validated as JSON.
fn walk(
    data: &[u8],
    source: &str,
    visit: &mut dyn FnMut(usize, usize) -> Result<usize, FeedError>,
) -> Result<(), FeedError> {
    let mut s = Scan { data, i: 0, source };
    if s.eat(b'[') {
        s.elements(visit)?;
        return s.end();
    }
    if !s.eat(b'{') {
        // No object or array: what serde says of it, or that it is no bundle.
        return Err(match serde_json::from_slice::<Value>(data) {
            Err(err) => json_error(source, data, 0, &err),
            Ok(_) => not_bundle(source, "the top level is not an object or an array"),
        });
    }
    let top = s.i - 1;
    let (mut objects, mut stix_type) = (false, None);
    if !s.eat(b'}') {
        loop {
            s.blank();
            if s.data.get(s.i) != Some(&b'"') {
                return Err(s.fail("a key"));
            }
            let span = s.value()?;
            let Value::String(key) = s.parse(span)? else { return Err(s.fail("a key")) };
            if !s.eat(b':') {
                return Err(s.fail("':'"));
            }
            s.blank();
            if key == "objects" && s.data.get(s.i) == Some(&b'[') {
                s.i += 1;
                s.elements(visit)?;
                objects = true;
            } else {
                let span = s.value()?;
                match (key.as_str(), s.parse(span)?) {
                    ("objects", _) => return Err(not_bundle(source, "its objects member is not an array")),
                    ("type", Value::String(t)) => stix_type = Some(t),
                    _ => {}
                }
            }
            if s.eat(b',') {
                continue;
            }
            if s.eat(b'}') {
                break;
            }
            return Err(s.fail("',' or '}'"));
        }
    }
    s.end()?;
    match stix_type.as_deref() {
        _ if objects => Ok(()),
        Some("bundle") => Ok(()),           // an empty bundle
        Some(_) => visit(1, top).map(drop), // one object alone
        None => Err(not_bundle(source, "no objects member and no type")),
    }
}

fn not_bundle(source: &str, why: &str) -> FeedError {
    FeedError::new(source, None, "not a stix bundle", format!("not a STIX bundle: {why}"))
}

/// A cursor over the top level of a JSON document.
struct Scan<'d> {
    data: &'d [u8],
    i: usize,
    source: &'d str,
}

impl Scan<'_> {
    /// JSON's white space: only these four.
    fn blank(&mut self) {
        while matches!(self.data.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.blank();
        let hit = self.data.get(self.i) == Some(&byte);
        self.i += usize::from(hit);
        hit
    }

    fn end(&mut self) -> Result<(), FeedError> {
        self.blank();
        if self.i == self.data.len() {
            Ok(())
        } else {
            Err(self.fail("the end of the data"))
        }
    }

    fn fail(&self, expected: &str) -> FeedError {
        let (line, column) = line_column(self.data, self.i);
        let message = format!("invalid json: expected {expected} at line {line} column {column}");
        FeedError::new(self.source, Some(line), "invalid json", message)
    }

    fn parse(&self, span: (usize, usize)) -> Result<Value, FeedError> {
        serde_json::from_slice(&self.data[span.0..span.1])
            .map_err(|e| json_error(self.source, self.data, span.0, &e))
    }

    /// Steps over one value by its punctuation (strings, brackets): its span. Whether
    /// it is valid JSON is for serde to say.
    fn value(&mut self) -> Result<(usize, usize), FeedError> {
        self.blank();
        let start = self.i;
        match self.data.get(start) {
            None | Some(b',' | b'}' | b']' | b':') => return Err(self.fail("a value")),
            Some(b'"') => self.string()?,
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.data.get(self.i) {
                        None => return Err(self.fail("'}' or ']'")),
                        Some(b'"') => self.string()?,
                        Some(b'{' | b'[') => {
                            depth += 1;
                            self.i += 1;
                        }
                        Some(b'}' | b']') => {
                            depth -= 1;
                            self.i += 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => self.i += 1,
                    }
                }
            }
            // A number or a literal: up to the next punctuation or space.
            Some(_) => {
                let rest = &self.data[start..];
                self.i += rest.iter().position(|b| b",:{}[]\" \t\n\r".contains(b)).unwrap_or(rest.len());
            }
        }
        Ok((start, self.i))
    }

    fn string(&mut self) -> Result<(), FeedError> {
        match string_len(&self.data[self.i..]) {
            Some(len) => {
                self.i += len;
                Ok(())
            }
            None => Err(self.fail("a closing quote")),
        }
    }

    /// The elements of an array whose `[` was just read, each visited with its
    /// 1-based position.
    fn elements(
        &mut self,
        visit: &mut dyn FnMut(usize, usize) -> Result<usize, FeedError>,
    ) -> Result<(), FeedError> {
        if self.eat(b']') {
            return Ok(());
        }
        let mut position = 0;
        loop {
            position += 1;
            self.blank();
            self.i = visit(position, self.i)?;
            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                return Ok(());
            }
            return Err(self.fail("',' or ']'"));
        }
    }
}

#[cfg(test)]
mod tests;
