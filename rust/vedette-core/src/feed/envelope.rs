//! The paging of a TAXII 2.1 envelope (`{"more": true, "next": "...", "objects": [...]}`),
//! read without building its objects.
//!
//! A TAXII client needs three things of each page: whether there is more, the `next`
//! token, and where the objects are, so that pages can be joined into one bundle for
//! [`super::Format::Stix`] by slicing bytes. Parsing the page into values only to write
//! them back out is what this saves: the objects are checked to be JSON and skipped.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::value::RawValue;
use serde_json::Value;

/// What a TAXII client reads of one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The envelope's `more`: false when absent.
    pub more: bool,
    /// The envelope's `next`, a string (a number some servers send is written out).
    pub next: Option<String>,
    /// How many objects the page holds.
    pub objects: usize,
    /// The bytes from the first object's start to the last one's end: the objects joined
    /// by commas, as they stand inside the array. Empty when there are none.
    pub span: Range<usize>,
}

/// Reads the paging of an envelope. An error says what is wrong with the page: not JSON,
/// not an object, or members of the wrong type.
pub fn read_envelope(data: &[u8]) -> Result<Envelope, String> {
    let members: HashMap<String, &RawValue> =
        serde_json::from_slice(data).map_err(|err| format!("not a TAXII envelope: {err}"))?;
    let more = match members.get("more").map(|raw| raw.get()) {
        None | Some("null") => false,
        Some("true") => true,
        Some("false") => false,
        Some(other) => return Err(format!("`more` is not a boolean: {}", cut(other))),
    };
    let next = match members.get("next") {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Null) => None,
            Ok(Value::String(next)) => Some(next),
            Ok(Value::Number(next)) => Some(next.to_string()),
            _ => return Err(format!("`next` is not a string: {}", cut(raw.get()))),
        },
    };
    let objects: Vec<&RawValue> = match members.get("objects") {
        None => Vec::new(),
        Some(raw) if raw.get() == "null" => Vec::new(),
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| format!("`objects` is not an array: {}", cut(raw.get())))?,
    };
    let offset = |text: &str| text.as_ptr() as usize - data.as_ptr() as usize;
    let span = match (objects.first(), objects.last()) {
        (Some(first), Some(last)) => offset(first.get())..offset(last.get()) + last.get().len(),
        _ => 0..0,
    };
    Ok(Envelope { more, next, objects: objects.len(), span })
}

/// A member's text cut short for a message.
fn cut(text: &str) -> &str {
    let mut end = text.len().min(40);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(name, page, Ok((more, next, objects, the span's text)) or Err(part of the message))`.
    #[allow(clippy::type_complexity)]
    const ROWS: &[(&str, &str, Result<(bool, Option<&str>, usize, &str), &str>)] = &[
        ("env010", r#"{}"#, Ok((false, None, 0, ""))),
        ("env020", r#"{"more": false}"#, Ok((false, None, 0, ""))),
        ("env030", r#"{"objects": []}"#, Ok((false, None, 0, ""))),
        ("env040", r#"{"objects": [{"a": 1}]}"#, Ok((false, None, 1, r#"{"a": 1}"#))),
        (
            "env050",
            "{\"more\": true, \"next\": \"p2\", \"objects\": [ {\"a\": [1]} ,\n {\"b\": \"]\"} ]}",
            Ok((true, Some("p2"), 2, "{\"a\": [1]} ,\n {\"b\": \"]\"}")),
        ),
        ("env060", r#"{"next": 7, "more": true}"#, Ok((true, Some("7"), 0, ""))),
        ("env070", r#"{"next": null, "more": null, "objects": null}"#, Ok((false, None, 0, ""))),
        ("env080", r#"{"objects": [1, "x"], "extra": {"more": true}}"#, Ok((false, None, 2, r#"1, "x""#))),
        ("env090", r#"{"next": "\u00e9"}"#, Ok((false, Some("é"), 0, ""))),
        ("env100", r#"[]"#, Err("not a TAXII envelope")),
        ("env110", r#"{"objects": [{"a": 1}"#, Err("not a TAXII envelope")),
        ("env120", r#"{"more": "yes"}"#, Err("`more` is not a boolean")),
        ("env130", r#"{"next": {}}"#, Err("`next` is not a string")),
        ("env140", r#"{"objects": {}}"#, Err("`objects` is not an array")),
        ("env150", "", Err("not a TAXII envelope")),
    ];

    #[test]
    fn envelopes() {
        for (name, page, want) in ROWS {
            let got = read_envelope(page.as_bytes());
            match (want, got) {
                (Ok((more, next, objects, text)), Ok(env)) => {
                    assert_eq!(
                        (env.more, env.next.as_deref(), env.objects, &page[env.span.clone()]),
                        (*more, *next, *objects, *text),
                        "{name}"
                    );
                }
                (Err(part), Err(message)) => assert!(message.contains(part), "{name}: {message}"),
                (want, got) => panic!("{name}: want {want:?}, got {got:?}"),
            }
        }
    }
}
