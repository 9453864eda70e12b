//! JSON logs, Zeek's and Suricata's EVE: one object per line, read with its values left as
//! raw text borrowed from the line, so that each value's place in the line is known.

use std::borrow::Cow;
use std::fmt;

use memchr::memmem;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{Attribution, LogFormat};
use crate::time::parse_log_time;
use crate::zeek_tsv::unescape_into;

/// A JSON string, borrowed from the line when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// The members of one JSON object, in order (a repeated key is kept each time), each
/// value raw.
struct Members<'a>(Vec<(Text<'a>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<Text<'de>, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

impl<'a> Members<'a> {
    /// Parses the object `text`; `None` when it is not one.
    fn parse(text: &'a str) -> Option<Members<'a>> {
        serde_json::from_str(text).ok()
    }

    /// The raw value of the first member named `key`.
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(name, _)| name.0 == key).map(|&(_, value)| value)
    }

    /// The value of `key` when it is a string.
    fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key).and_then(|raw| serde_json::from_str::<Text<'a>>(raw.get()).ok()).map(|text| text.0)
    }
}

/// The format of a log whose first line is `line`, a JSON object: see
/// [`LogContext::sniff`](super::LogContext::sniff).
pub(super) fn sniff(line: &[u8]) -> LogFormat {
    let line = valid_utf8(line);
    let Some(members) = Members::parse(&line) else { return LogFormat::Plain };
    let has = |key: &str| members.get(key).is_some();
    if has("event_type") && has("timestamp") {
        return LogFormat::SuricataEve;
    }
    let zeek_keys = ["uid", "_path", "_write_ts", "fuid"].iter().any(|key| has(key));
    if has("ts") && (zeek_keys || members.0.iter().any(|(name, _)| name.0.contains('.'))) {
        return LogFormat::ZeekJson;
    }
    LogFormat::Plain
}

/// `line` as text of the same length: each byte of invalid UTF-8 (which neither Zeek nor
/// Suricata writes, but a damaged file may hold) becomes `?`, so that offsets still
/// agree with the line's.
fn valid_utf8(line: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(line) {
        return Cow::Borrowed(text);
    }
    let mut text = String::with_capacity(line.len());
    for chunk in line.utf8_chunks() {
        text.push_str(chunk.valid());
        text.extend(std::iter::repeat_n('?', chunk.invalid().len()));
    }
    Cow::Owned(text)
}

/// The names of the time and uid members in each format.
fn time_and_uid_keys(format: LogFormat) -> (&'static str, &'static str) {
    match format {
        LogFormat::SuricataEve => ("timestamp", "flow_id"),
        _ => ("ts", "uid"),
    }
}

pub(super) fn attribute(format: LogFormat, line: &[u8], start: usize, end: usize) -> Attribution {
    let text = valid_utf8(line);
    let (ts_key, uid_key) = time_and_uid_keys(format);
    let Some(members) = Members::parse(&text) else {
        // A line cut short (the last line of a damaged file) still names its time and
        // uid near its start.
        let member = |key| scan_member(&text, key);
        let ts = member(ts_key).and_then(parse_log_time);
        return Attribution { field: None, ts, uid: member(uid_key).map(str::to_owned) };
    };
    // A string's text, or a number's (EVE's `flow_id`).
    let scalar = |key| {
        let raw = members.get(key)?;
        if raw.get().starts_with('"') {
            members.text(key)
        } else {
            Some(Cow::Borrowed(raw.get()))
        }
    };
    Attribution {
        field: field_path(&text, &members, start, end),
        ts: scalar(ts_key).and_then(|ts| parse_log_time(&ts)),
        uid: scalar(uid_key).map(Cow::into_owned),
    }
}

/// The dotted key path of the scalar whose raw text holds `text[start..end]`, descending
/// from the object `root`; array elements keep their array's key.
fn field_path(text: &str, root: &Members<'_>, start: usize, end: usize) -> Option<String> {
    let base = text.as_ptr() as usize;
    let holds = |raw: &RawValue| {
        let at = raw.get().as_ptr() as usize - base;
        at <= start && end <= at + raw.get().len()
    };
    let (key, mut value) = root.0.iter().find(|(_, raw)| holds(raw))?;
    let mut path = key.0.clone().into_owned();
    loop {
        let raw = value.get();
        value = match raw.as_bytes().first() {
            Some(b'{') => {
                let members = Members::parse(raw)?;
                let (key, inner) = members.0.iter().find(|(_, raw)| holds(raw))?;
                path.push('.');
                path.push_str(&key.0);
                inner
            }
            Some(b'[') => {
                let elements: Vec<&RawValue> = serde_json::from_str(raw).ok()?;
                elements.into_iter().find(|raw| holds(raw))?
            }
            _ => return Some(path),
        };
    }
}

/// The value text of the first `"key":` in a line that is not valid JSON: a string
/// without escapes, or a bare number. A best effort for a damaged line.
fn scan_member<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let needle = format!("\"{key}\":");
    let at = memmem::find(text.as_bytes(), needle.as_bytes())? + needle.len();
    let rest = text[at..].trim_start();
    if let Some(string) = rest.strip_prefix('"') {
        let end = string.find(['"', '\\'])?;
        return (string.as_bytes()[end] == b'"').then(|| &string[..end]);
    }
    let end = rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))?;
    Some(&rest[..end]).filter(|number| !number.is_empty())
}

pub(super) fn row_url(format: LogFormat, line: &[u8], out: &mut Vec<u8>) -> bool {
    // Most lines of most logs name no URL: a search, before any parse, skips them.
    let marker: &[u8] = if format == LogFormat::SuricataEve { b"\"http\":" } else { b"\"uri\":" };
    if memmem::find(line, marker).is_none() {
        return false;
    }
    let Ok(text) = std::str::from_utf8(line) else { return false };
    let Some(members) = Members::parse(text) else { return false };
    let (host, uri) = if format == LogFormat::SuricataEve {
        let Some(http) = members.get("http").and_then(|raw| Members::parse(raw.get())) else { return false };
        (http.text("hostname"), http.text("url"))
    } else {
        (members.text("host"), members.text("uri"))
    };
    let (Some(host), Some(uri)) = (host, uri) else { return false };
    let named = |s: &str| !s.is_empty() && s != "-";
    if !named(&host) || !uri.starts_with('/') {
        return false;
    }
    if format == LogFormat::ZeekJson {
        // Zeek writes the bytes of a value that are not UTF-8 as `\xHH`, in JSON too.
        unescape_into(host.as_bytes(), out);
        unescape_into(uri.as_bytes(), out);
    } else {
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(uri.as_bytes());
    }
    true
}
