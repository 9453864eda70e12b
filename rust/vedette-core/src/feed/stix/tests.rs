//! Tests of the parent module, one table row per case.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::indicator::Kind;

/// Every record and error of `data`, in order.
fn run(data: &[u8]) -> Vec<Result<RawRecord<'_>, FeedError>> {
    let mut out = Vec::new();
    parse(data, "t.json", &ParseOptions::default(), &mut |r| {
        out.push(r);
        Ok(())
    })
    .unwrap();
    out
}

/// `line:kind:value` per record (`?` for no kind) and `!category` per error.
fn render(data: &str) -> Vec<String> {
    run(data.as_bytes())
        .into_iter()
        .map(|r| match r {
            Ok(r) => format!("{}:{}:{}", r.line, r.kind.map_or("?", Kind::as_str), r.value),
            Err(e) => format!("!{}", e.category()),
        })
        .collect()
}

/// An indicator object: `fields` are extra JSON members, after a comma.
fn ind(id: &str, pattern: &str, fields: &str) -> String {
    let pattern = serde_json::to_string(pattern).unwrap();
    let sep = if fields.is_empty() { "" } else { ", " };
    format!(r#"{{"type": "indicator", "id": "indicator--{id}", "pattern": {pattern}{sep}{fields}}}"#)
}

fn bundle(objects: &[String]) -> String {
    format!(r#"{{"type": "bundle", "id": "bundle--1", "objects": [{}]}}"#, objects.join(",\n"))
}

#[test]
fn looks_like_table() {
    let rows: &[(&str, &str, bool)] = &[
        ("yes010", r#"{"type": "bundle", "id": "bundle--1", "objects": []}"#, true),
        ("yes020", "\u{feff}\n  {\"type\":\"bundle\"}", true),
        ("yes030", r#"{"id": "bundle--1", "objects": [], "type": "bundle"}"#, true),
        ("yes040", r#"{"more": false, "objects": [{"type": "indicator"}]}"#, true),
        ("yes050", r#"[{"type": "indicator", "pattern": "[url:value = 'a']"}]"#, true),
        ("yes060", r#"{"objects": [{"id": "indicator--1", "type": "x"}]}"#, true),
        ("yes070", r#"{"type": "indicator", "id": "indicator--1"}"#, true),
        ("yes080", r#"{"a": {"b": [1, 2.5, true, null, "x"]}, "type" : "bundle"}"#, true),
        ("no010", r#"{"spec_version": "2.1", "bundles": {"today": {"id": "bundle--1"}}}"#, false),
        ("no020", r#"{"Event": {"Attribute": [{"type": "ip-dst", "value": "10.0.0.1"}]}}"#, false),
        ("no030", r#"[{"x": {"type": "bundle"}}]"#, false),
        ("no040", r#"{"name": "type", "value": "bundle"}"#, false),
        ("no050", r#"{"description": "\"type\": \"bundle\""}"#, false),
        ("no060", "type,value\nindicator,a.example\n", false),
        ("no070", "# \"type\": \"bundle\"\n", false),
        ("no080", "", false),
        ("no090", r#"{"type": "bund"#, false),
        ("no100", r#"{"x": ["type", "bundle"]}"#, false),
    ];
    for &(id, input, want) in rows {
        assert_eq!(looks_like(input.as_bytes()), want, "{id}");
    }
    // The window: a marker past 64 KiB is not seen.
    let far = format!(r#"{{"x": "{}", "type": "bundle"}}"#, "a".repeat(SNIFF_WINDOW));
    assert!(!looks_like(far.as_bytes()));
}

#[test]
fn shapes() {
    let one = ind("1", "[url:value = 'a.example/x']", "");
    let rows: Vec<(&str, String, Vec<&str>)> = vec![
        ("shape010", bundle(std::slice::from_ref(&one)), vec!["1:url:a.example/x"]),
        ("shape020", format!("[{one}, {one}]"), vec!["!superseded by a newer version", "2:url:a.example/x"]),
        ("shape030", format!(r#"{{"more": false, "objects": [{one}]}}"#), vec!["1:url:a.example/x"]),
        ("shape040", one.clone(), vec!["1:url:a.example/x"]),
        ("shape050", r#"{"type": "bundle", "id": "bundle--1"}"#.to_string(), vec![]),
        ("shape060", r#"{"type": "bundle", "objects": []}"#.to_string(), vec![]),
        ("shape070", "[]".to_string(), vec![]),
        (
            "shape080",
            format!("\u{feff} \r\n{}\n", bundle(std::slice::from_ref(&one))),
            vec!["1:url:a.example/x"],
        ),
        ("shape090", r#"{"Event": {}}"#.to_string(), vec!["!not a stix bundle"]),
        ("shape100", r#"{"objects": {}}"#.to_string(), vec!["!not a stix bundle"]),
        ("shape110", r#""bundle""#.to_string(), vec!["!not a stix bundle"]),
        ("shape120", format!("[1, {one}]"), vec!["!invalid object", "2:url:a.example/x"]),
        (
            "shape130",
            bundle(&[r#"{"type": "relationship", "id": "relationship--1"}"#.into(), one.clone()]),
            vec!["2:url:a.example/x"],
        ),
        (
            "shape140",
            bundle(&[r#"{"type": "indicator", "pattern": "[url:value = 'a']"}"#.into()]),
            vec!["!invalid object"],
        ),
    ];
    for (id, input, want) in rows {
        assert_eq!(render(&input), want, "{id}");
    }
}

#[test]
fn invalid_json() {
    let good = ind("1", "[url:value = 'a']", "");
    // (id, input, line of the error)
    let rows: Vec<(&str, String, usize)> = vec![
        ("json010", format!("{{\"type\": \"bundle\", \"objects\": [\n{good},\n{good}\n"), 4),
        ("json020", format!("{{\"type\": \"bundle\", \"objects\": [\n{good}\n{good}]}}"), 3),
        (
            "json030",
            format!(
                "{{\"type\": \"bundle\", \"objects\": [\n{good},\n{{\"type\": \"indicator\",\n\"id\": x}}]}}"
            ),
            4,
        ),
        ("json040", format!("[{good}] x"), 1),
        ("json050", "{\"type\": \"bundle\",\n\"objects\": [], }".to_string(), 2),
        ("json060", "{\"type\": bundle}".to_string(), 1),
        ("json070", "{\"type\" \"bundle\"}".to_string(), 1),
        ("json080", "[\n\"abc".to_string(), 2),
        ("json090", "{\"a\": [1,}".to_string(), 1),
        ("json100", "{".to_string(), 1),
        ("json110", "{\"objects\": [1 2]}".to_string(), 1),
        ("json120", "nul".to_string(), 1),
        ("json130", format!("[{good},]"), 1),
        ("json140", "{\"objects\": [{\"a\": \"\u{1}\"}]}".to_string(), 1),
        ("json150", "{\"a\": 01}".to_string(), 1),
    ];
    for (id, input, line) in rows {
        let got = run(input.as_bytes());
        assert_eq!(got.len(), 1, "{id}: {got:?}");
        let err = got[0].as_ref().unwrap_err();
        assert_eq!((err.category(), err.line()), ("invalid json", Some(line)), "{id}: {err}");
        assert!(err.message().starts_with("invalid json: "), "{id}: {err}");
    }
    let err = run(b"[\n  {\"type\": \"indicator\",\n   \"id\": x}]")[0].clone().unwrap_err();
    assert_eq!(err.to_string(), "t.json:3: invalid json: expected value at line 3 column 10");
    // Strict: the sink's error is the parse's.
    let result = parse(b"[", "t.json", &ParseOptions::default(), &mut |r| r.map(|_| ()));
    assert_eq!(result.unwrap_err().category(), "invalid json");
}

/// A bundle cut at any byte is one "invalid json" error and no records, never a
/// panic nor a half-loaded feed.
#[test]
fn truncated_bundles() {
    let objects = [
        ind("1", "[url:value = 'a' OR file:hashes.'SHA-256' = 'b']", r#""labels": ["x"], "confidence": 5"#),
        r#"{"type": "identity", "id": "identity--1", "name": "é\"\\"}"#.to_string(),
    ];
    let data = format!("\u{feff}{}\n", bundle(&objects));
    let body_end = data.trim_end().len();
    for end in (0..body_end).filter(|&i| data.is_char_boundary(i)) {
        let got = run(&data.as_bytes()[..end]);
        assert_eq!(got.len(), 1, "{end}: {got:?}");
        let category = got[0].as_ref().unwrap_err().category();
        assert!(["invalid json", "not a stix bundle"].contains(&category), "{end}: {category}");
    }
    assert_eq!(run(data.as_bytes()).len(), 2);
}

#[test]
fn indicator_errors() {
    let rows: Vec<(&str, String, Vec<&str>)> = vec![
        ("type010", ind("1", "title: x", r#""pattern_type": "sigma""#), vec!["!unsupported pattern type"]),
        ("type020", ind("1", "rule x {}", r#""pattern_type": "yara""#), vec!["!unsupported pattern type"]),
        ("type030", ind("1", "[url:value = 'a']", r#""pattern_type": "stix""#), vec!["1:url:a"]),
        ("type040", ind("1", "[url:value = 'a']", r#""pattern_type": "STIX""#), vec!["1:url:a"]),
        ("type050", ind("1", "[url:value = 'a']", r#""pattern_type": 5"#), vec!["!invalid object"]),
        ("time010", ind("1", "[url:value = 'a']", r#""valid_from": "yesterday""#), vec!["!bad timestamp"]),
        ("time020", ind("1", "[url:value = 'a']", r#""valid_until": 5"#), vec!["!bad timestamp"]),
        ("time030", ind("1", "[url:value = 'a']", r#""modified": "x""#), vec!["!bad timestamp"]),
        ("conf010", ind("1", "[url:value = 'a']", r#""confidence": 101"#), vec!["!bad confidence"]),
        ("conf020", ind("1", "[url:value = 'a']", r#""confidence": "high""#), vec!["!bad confidence"]),
        ("conf030", ind("1", "[url:value = 'a']", r#""confidence": -1"#), vec!["!bad confidence"]),
        ("pat010", r#"{"type": "indicator", "id": "indicator--1"}"#.to_string(), vec!["!invalid object"]),
        ("pat020", ind("1", "[url:value = 'a'", ""), vec!["!invalid pattern"]),
        ("pat030", ind("1", "[url:value MATCHES 'a']", ""), vec!["!unsupported pattern: MATCHES"]),
        (
            "pat040",
            ind("1", "[url:value = 'a' OR url:value LIKE 'b%']", ""),
            vec!["1:url:a", "!unsupported pattern: LIKE"],
        ),
        (
            "pat050",
            ind("1", "[domain-name:value = 'a' OR domain-name:value = 'b']", ""),
            vec!["1:domain:a", "1:domain:b"],
        ),
    ];
    for (id, input, want) in rows {
        assert_eq!(render(&bundle(&[input])), want, "{id}");
    }
    let data =
        br#"[{"type": "indicator", "id": "indicator--8", "pattern": "[url:value = 'a' OR url:x = 'b']"}]"#;
    let got = run(data);
    assert_eq!(got[0].as_ref().unwrap().meta.reference.as_deref(), Some("indicator--8"));
    assert_eq!(got[1].as_ref().unwrap_err().message(), "indicator--8: unsupported object path: url:x");
    let errors = run(br#"[{"type": "indicator", "id": "indicator--9", "pattern": "[a:b MATCHES 'c']"}]"#);
    let err = errors[0].as_ref().unwrap_err();
    assert_eq!(err.message(), "indicator--9: unsupported pattern: MATCHES: a:b MATCHES 'c'");
    assert_eq!((err.line(), err.is_policy_skip()), (None, false));
}

#[test]
fn versions() {
    let v = |id: &str, value: &str, fields: &str| ind(id, &format!("[url:value = '{value}']"), fields);
    let rows: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        (
            "ver010",
            vec![
                v("1", "old", r#""modified": "2020-01-01T00:00:00Z""#),
                v("1", "new", r#""modified": "2021-01-01T00:00:00Z""#),
            ],
            vec!["!superseded by a newer version", "2:url:new"],
        ),
        (
            "ver020",
            vec![
                v("1", "new", r#""modified": "2021-01-01T00:00:00Z""#),
                v("1", "old", r#""modified": "2020-01-01T00:00:00Z""#),
            ],
            vec!["1:url:new", "!superseded by a newer version"],
        ),
        // Text order says the first is newer; time order says the second.
        (
            "ver030",
            vec![
                v("1", "a", r#""modified": "2020-01-01T10:00:00.5Z""#),
                v("1", "b", r#""modified": "2020-01-01T09:00:00-02:00""#),
            ],
            vec!["!superseded by a newer version", "2:url:b"],
        ),
        (
            "ver040",
            vec![
                v("1", "a", r#""modified": "2020-01-01T00:00:00.000Z""#),
                v("1", "b", r#""modified": "2020-01-01T00:00:00Z""#),
            ],
            vec!["!superseded by a newer version", "2:url:b"],
        ),
        (
            "ver050",
            vec![v("1", "a", r#""modified": "2020-01-01T00:00:00Z""#), v("1", "b", "")],
            vec!["1:url:a", "!superseded by a newer version"],
        ),
        ("ver060", vec![v("1", "a", ""), v("2", "b", "")], vec!["1:url:a", "2:url:b"]),
        ("rev010", vec![v("1", "a", r#""revoked": true"#)], vec!["!revoked"]),
        ("rev020", vec![v("1", "a", r#""revoked": false"#)], vec!["1:url:a"]),
        (
            "rev030",
            vec![
                v("1", "a", r#""modified": "2020-01-01T00:00:00Z""#),
                v("1", "a", r#""modified": "2021-01-01T00:00:00Z", "revoked": true"#),
            ],
            vec!["!superseded by a newer version", "!revoked"],
        ),
        // Revocation is final: a later version does not bring the id back.
        (
            "rev040",
            vec![
                v("1", "a", r#""modified": "2021-01-01T00:00:00Z", "revoked": true"#),
                v("1", "b", r#""modified": "2022-01-01T00:00:00Z""#),
            ],
            vec!["!superseded by a newer version", "!revoked"],
        ),
        ("rev050", vec![v("1", "a", r#""revoked": true"#), v("2", "b", "")], vec!["!revoked", "2:url:b"]),
        ("rev060", vec![v("1", "a", r#""revoked": true, "pattern_type": "sigma""#)], vec!["!revoked"]),
    ];
    for (id, objects, want) in rows {
        assert_eq!(render(&bundle(&objects)), want, "{id}");
    }
    let data = bundle(&[v("1", "a", ""), v("1", "b", r#""revoked": true"#)]);
    let skips = run(data.as_bytes());
    assert!(skips.iter().all(|r| r.as_ref().unwrap_err().is_policy_skip()));
    assert_eq!(
        skips[0].as_ref().unwrap_err().message(),
        "indicator--1: object #1 is superseded by object #2"
    );
    assert_eq!(skips[1].as_ref().unwrap_err().message(), "indicator--1 is revoked");
}

#[test]
fn versions_are_noted_once_per_id() {
    let v = |id: &str, value: &str, fields: &str| ind(id, &format!("[url:value = '{value}']"), fields);
    let t2020 = r#""modified": "2020-01-01T00:00:00Z""#;
    let t2021 = r#""modified": "2021-01-01T00:00:00Z""#;
    // `v<seconds>` for a version, `-` for one without `modified`, `revoked`.
    let rows: Vec<(&str, Vec<String>, &[&str])> = vec![
        ("note010", vec![v("1", "a", t2021), v("1", "b", t2020)], &["indicator--1 v1609459200"]),
        (
            "note020",
            vec![v("1", "a", ""), v("2", "b", t2020)],
            &["indicator--1 -", "indicator--2 v1577836800"],
        ),
        ("note030", vec![v("1", "a", t2020), v("1", "a", r#""revoked": true"#)], &["indicator--1 revoked"]),
        // The winner that does not compile is still the id's version: it replaces the older.
        ("note040", vec![ind("1", "[url:value MATCHES 'a']", t2021)], &["indicator--1 v1609459200"]),
        ("note050", vec![r#"{"type": "indicator", "pattern": "[url:value = 'a']"}"#.to_string()], &[]),
    ];
    for (id, objects, want) in rows {
        let mut noted = Vec::new();
        let mut notices = |n: Notice<'_>| {
            noted.push(match n {
                Notice::Version { reference, modified: Some(t) } => format!("{reference} v{}", t / 1_000_000),
                Notice::Version { reference, modified: None } => format!("{reference} -"),
                Notice::Revoked { reference } => format!("{reference} revoked"),
                Notice::Deleted { reference } => format!("{reference} deleted"),
            })
        };
        let data = bundle(&objects);
        parse_noting(data.as_bytes(), "t", &ParseOptions::default(), &mut |_| Ok(()), &mut notices).unwrap();
        assert_eq!(noted, want, "{id}");
    }
}

#[test]
fn metadata() {
    let identity = r#"{"type": "identity", "id": "identity--1", "name": "ACME CERT", "modified": "2020-01-01T00:00:00Z"}"#;
    let older =
        r#"{"type": "identity", "id": "identity--1", "name": "ACME", "modified": "2019-01-01T00:00:00Z"}"#;
    let full = ind(
        "1",
        "[domain-name:value = 'a.example' OR ipv4-addr:value = '10.0.0.1']",
        r#""created_by_ref": "identity--1", "confidence": 80, "labels": ["malicious-activity", "c2"],
           "indicator_types": ["malicious-activity"], "name": "C2", "description": "C2 servers",
           "kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "command-and-control"}, {"x": 1}],
           "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2021-01-01T00:00:00+01:00",
           "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]"#,
    );
    let data = bundle(&[full, identity.into(), older.into()]);
    let records = run(data.as_bytes());
    let want = Meta {
        source: Some("ACME CERT".into()),
        reference: Some("indicator--1".into()),
        confidence: Some(80),
        tlp: Some(Tlp::Green),
        tags: vec![
            "malicious-activity".into(),
            "c2".into(),
            "lockheed-martin-cyber-kill-chain:command-and-control".into(),
        ],
        valid_from: parse_timestamp("2020-01-01T00:00:00Z"),
        valid_until: parse_timestamp("2020-12-31T23:00:00Z"),
        description: Some("C2 servers".into()),
    };
    assert_eq!(records.len(), 2);
    for (r, value) in records.iter().zip(["a.example", "10.0.0.1"]) {
        let r = r.as_ref().unwrap();
        assert_eq!((r.line, r.value.as_ref(), &r.meta), (1, value, &want));
    }

    // (id, extra fields, source, tlp, description)
    let markings = r#"{"type": "marking-definition", "id": "marking-definition--a", "definition_type": "tlp", "definition": {"tlp": "amber"}},
        {"type": "marking-definition", "id": "marking-definition--b", "name": "TLP:CLEAR", "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension", "tlp_2_0": "amber+strict"}}},
        {"type": "marking-definition", "id": "marking-definition--c", "name": "TLP:RED"},
        {"type": "marking-definition", "id": "marking-definition--d", "definition_type": "statement", "definition": {"statement": "TLP:RED"}, "name": "TLP:RED"},
        {"type": "identity", "id": "identity--2", "name": "Later"}"#;
    type Row<'r> = (&'r str, &'r str, Option<&'r str>, Option<Tlp>, Option<&'r str>);
    let rows: &[Row] = &[
        ("meta010", "", None, None, None),
        ("meta020", r#""created_by_ref": "identity--9""#, Some("identity--9"), None, None),
        ("meta030", r#""created_by_ref": "identity--2""#, Some("Later"), None, None),
        ("meta040", r#""name": "n""#, None, None, Some("n")),
        (
            "tlp010",
            r#""object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]"#,
            None,
            Some(Tlp::Clear),
            None,
        ),
        (
            "tlp020",
            r#""object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]"#,
            None,
            Some(Tlp::Amber),
            None,
        ),
        (
            "tlp030",
            r#""object_marking_refs": ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]"#,
            None,
            Some(Tlp::Red),
            None,
        ),
        (
            "tlp040",
            r#""object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"]"#,
            None,
            Some(Tlp::Clear),
            None,
        ),
        (
            "tlp050",
            r#""object_marking_refs": ["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]"#,
            None,
            Some(Tlp::AmberStrict),
            None,
        ),
        ("tlp060", r#""object_marking_refs": ["marking-definition--a"]"#, None, Some(Tlp::Amber), None),
        ("tlp070", r#""object_marking_refs": ["marking-definition--b"]"#, None, Some(Tlp::AmberStrict), None),
        ("tlp080", r#""object_marking_refs": ["marking-definition--c"]"#, None, Some(Tlp::Red), None),
        ("tlp090", r#""object_marking_refs": ["marking-definition--d"]"#, None, None, None),
        ("tlp100", r#""object_marking_refs": ["marking-definition--x"]"#, None, None, None),
        (
            "tlp110",
            r#""object_marking_refs": ["marking-definition--a", "marking-definition--c", "marking-definition--x"]"#,
            None,
            Some(Tlp::Red),
            None,
        ),
        (
            "hash010",
            r#""pattern": "[file:hashes.MD5 = 'ab' AND file:name = 'x.exe']""#,
            None,
            None,
            Some("file:name = 'x.exe'"),
        ),
        (
            "hash020",
            r#""pattern": "[file:hashes.MD5 = 'ab' AND file:name = 'x.exe']", "description": "d""#,
            None,
            None,
            Some("d; file:name = 'x.exe'"),
        ),
    ];
    for &(id, fields, source, tlp, description) in rows {
        let mut object = ind("1", "[url:value = 'a']", fields);
        if fields.contains("\"pattern\"") {
            // serde_json keeps the last of a repeated key.
            object = object.replacen(r#""pattern": "[url:value = 'a']", "#, "", 1);
        }
        let data = format!(r#"{{"type": "bundle", "objects": [{object}, {markings}]}}"#);
        let got = run(data.as_bytes());
        let meta = &got[0].as_ref().unwrap().meta;
        let got = (meta.source.as_deref(), meta.tlp, meta.description.as_deref());
        assert_eq!(got, (source, tlp, description), "{id}");
    }
}

/// The `path = 'value'` comparisons of a pattern, found by plain string search
/// (not by the parser under test): a quoted path component (`hashes.'SHA-256'`)
/// joins the path, any other literal after `=` is a value.
fn naive_equals(pattern: &str) -> Vec<(String, String)> {
    let (mut out, mut rest, mut path) = (Vec::new(), pattern, String::new());
    while let Some(open) = rest.find('\'') {
        let (head, body) = (&rest[..open], &rest[open + 1..]);
        let mut end = 0;
        while end < body.len() && body.as_bytes()[end] != b'\'' {
            end += if body.as_bytes()[end] == b'\\' { 2 } else { 1 };
        }
        let literal = &body[..end.min(body.len())];
        let word = head.rsplit([' ', '[', '(']).next().unwrap_or_default();
        if word.ends_with('.') {
            path = format!("{word}{literal}");
        } else if let Some(before) = head.trim_end().strip_suffix('=') {
            let word = before.trim_end().rsplit([' ', '[', '(']).next().unwrap_or_default();
            if !word.is_empty() {
                path = word.to_string();
            }
            out.push((std::mem::take(&mut path), literal.replace(r"\'", "'").replace(r"\\", r"\")));
        }
        rest = &body[(end + 1).min(body.len())..];
    }
    out
}

/// The kind of a path in the subset, or `None` outside it.
fn naive_kind(path: &str) -> Option<Option<Kind>> {
    if let Some(name) = path.strip_prefix("file:hashes.") {
        let name = name.trim_matches('\'').replace('-', "").to_ascii_lowercase();
        return name.parse::<Kind>().ok().filter(|k| k.hex_len().is_some()).map(Some);
    }
    Some(match path {
        "ipv4-addr:value" => Some(Kind::Ipv4),
        "ipv6-addr:value" => Some(Kind::Ipv6),
        "domain-name:value" => Some(Kind::Domain),
        "url:value" => Some(Kind::Url),
        "email-addr:value" | "email-message:from_ref.value" => Some(Kind::Email),
        "file:name" => Some(Kind::String),
        "network-traffic:dst_ref.value" | "network-traffic:src_ref.value" => None,
        _ => return None,
    })
}

/// The records an indicator's pattern should give, read without the parser.
fn naive_records(pattern: &str) -> Vec<(Option<Kind>, String)> {
    let equals = naive_equals(pattern);
    let with_kind = |(path, value): &(String, String)| Some((naive_kind(path)?, value.clone()));
    if !pattern.contains(" AND ") {
        return equals.iter().filter_map(with_kind).collect();
    }
    let hashes: Vec<_> =
        equals.iter().filter(|(p, _)| p.starts_with("file:hashes.")).filter_map(with_kind).collect();
    if !hashes.is_empty() {
        return hashes;
    }
    let (types, values): (Vec<_>, Vec<_>) = equals.iter().partition(|(p, _)| p.ends_with(".type"));
    match (types.as_slice(), values.as_slice()) {
        ([(_, t)], [value]) => with_kind(value)
            .map(|(kind, v)| {
                let typed = match t.as_str() {
                    "ipv4-addr" => Some(Kind::Ipv4),
                    "ipv6-addr" => Some(Kind::Ipv6),
                    _ => kind,
                };
                (typed, v)
            })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The real bundles under `shared/data/stix` beside the repository (when present): every record of
/// every file, by kind and value, equals the plain reading above, and the known
/// feeds have no pattern we cannot parse.
#[test]
fn real_bundles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/stix");
    let Ok(folders) = std::fs::read_dir(&root) else {
        eprintln!("skipping: {} not found", root.display());
        return;
    };
    let mut folders: Vec<_> = folders.map(|f| f.unwrap().path()).collect();
    folders.sort();
    for folder in folders {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        let mut files: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|f| f.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let name = file.display().to_string();
            if !looks_like(&data) {
                assert!(name.ends_with("manifest.json"), "{name} not sniffed as STIX");
                continue;
            }
            let mut got: Vec<(Option<Kind>, String)> = Vec::new();
            for r in run(&data) {
                match r {
                    Ok(r) => {
                        *kinds.entry(r.kind.map_or("none", Kind::as_str).to_string()).or_default() += 1;
                        got.push((r.kind, r.value.into_owned()));
                    }
                    Err(e) => *errors.entry(e.category().to_string()).or_default() += 1,
                }
            }
            let doc: Value = serde_json::from_slice(&data).unwrap();
            let objects = doc.get("objects").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut newest: BTreeMap<&str, &Value> = BTreeMap::new();
            for o in objects.iter().filter(|o| o["type"] == "indicator") {
                let time = |o: &Value| o["modified"].as_str().and_then(parse_timestamp);
                let id = o["id"].as_str().unwrap();
                if newest.get(id).is_none_or(|old| time(o) >= time(old)) {
                    newest.insert(id, o);
                }
            }
            let mut want: Vec<(Option<Kind>, String)> = Vec::new();
            for o in objects.iter().filter(|o| newest.get(o["id"].as_str().unwrap_or_default()) == Some(o)) {
                if o["revoked"] != true && o.get("pattern_type").is_none_or(|t| t == "stix") {
                    want.extend(naive_records(o["pattern"].as_str().unwrap()));
                }
            }
            got.sort();
            want.sort();
            assert_eq!(got, want, "{name}");
        }
        let folder = folder.file_name().unwrap().to_string_lossy().into_owned();
        eprintln!("{folder}: records {kinds:?}; errors {errors:?}");
        assert!(!errors.contains_key("invalid pattern"), "{folder}");
        assert!(!errors.contains_key("invalid json"), "{folder}");
    }
}

/// Speed: a generated bundle of 100k indicators in the shapes real feeds publish.
/// `cargo test --release -- --ignored --nocapture stix_speed`
#[test]
#[ignore]
fn stix_speed() {
    let n = std::env::var("VEDETTE_STIX_N").map_or(100_000, |n| n.parse().unwrap());
    let mut objects = Vec::with_capacity(n);
    let mut patterns = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b) = (i >> 8 & 255, i & 255);
        let pattern = match i % 5 {
            0 => format!("[ipv4-addr:value = '10.1.{a}.{b}']"),
            1 => format!("[domain-name:value = 'h{i}.evil.example']"),
            2 => format!("[url:value = 'http://h{i}.evil.example/p/{i}?q=1']"),
            3 => format!("[file:hashes.'SHA-256' = '{i:064x}']"),
            _ => format!(
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '10.2.{a}.{b}']"
            ),
        };
        objects.push(ind(
            &format!("{i:08x}-4a6f-4b2c-9d1e-2f3a4b5c6d7e"),
            &pattern,
            r#""spec_version": "2.1", "created": "2024-04-16T10:00:00.000Z", "modified": "2024-04-16T10:00:00.000Z",
            "valid_from": "2024-04-16T10:00:00Z", "pattern_type": "stix", "pattern_version": "2.1",
            "indicator_types": ["malicious-activity"], "labels": ["phishing"], "name": "IOC",
            "description": "IOC reported by @someone.", "created_by_ref": "identity--1",
            "object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"],
            "external_references": [{"source_name": "x", "url": "https://example.com/x"}]"#,
        ));
        patterns.push(pattern);
    }
    let data = bundle(&objects);

    let mut compiler = Compiler::default();
    let mut atoms = Vec::new();
    let start = std::time::Instant::now();
    for p in &patterns {
        compiler.compile(p, &mut atoms).unwrap();
    }
    let compile = start.elapsed().as_secs_f64();

    let start = std::time::Instant::now();
    let mut records = 0;
    parse(data.as_bytes(), "speed", &ParseOptions::default(), &mut |r| {
        records += usize::from(r.is_ok());
        Ok(())
    })
    .unwrap();
    let total = start.elapsed().as_secs_f64();
    assert_eq!(records, n);
    let mb = data.len() as f64 / 1e6;
    eprintln!(
        "{n} patterns compiled in {compile:.3} s ({:.0} patterns/s); bundle of {mb:.0} MB parsed in {total:.3} s \
         ({:.0} indicators/s, {:.0} MB/s)",
        n as f64 / compile,
        n as f64 / total,
        mb / total
    );
}
