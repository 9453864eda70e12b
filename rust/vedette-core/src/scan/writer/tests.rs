use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::indicator::{IndicatorId, Kind, Meta, Tlp};
use crate::scan::FileHit;
use crate::IndexBuilder;

mod zeek;

use zeek::ZEEK_HEADER;

/// 2018-11-01T12:00:00Z, the pinned clock of every test.
const CLOCK: Timestamp = 1_541_073_600_000_000;
/// 2018-11-02T00:05:37.434664Z, the `ts` of a real dns.log row.
const TS: Timestamp = 1_541_117_137_434_664;

/// Records with every piece of metadata set, with none, and with hostile text; `source`
/// tells same-valued records apart.
fn index() -> Index {
    let full = Meta {
        source: Some("cti".into()),
        reference: Some("indicator--8e2e2d2b".into()),
        confidence: Some(80),
        tlp: Some(Tlp::AmberStrict),
        tags: vec!["c2".into(), "apt".into()],
        valid_from: Some(1_514_764_800_000_000),
        valid_until: Some(1_893_456_000_123_456),
        description: Some("c2 panel".into()),
    };
    let source = |s: &str| Meta { source: Some(s.into()), ..Meta::default() };
    let hostile = Meta {
        source: Some("feed,with,commas".into()),
        description: Some("tab\there\nnew \"quoted\" \\ \u{1}\u{7f} \u{2028} \u{fffd}".into()),
        ..Meta::default()
    };
    let records: Vec<(&str, Kind, Meta)> = vec![
        ("198.51.100.7", Kind::Ipv4, full.clone()),
        ("198.51.100.0/24", Kind::Ipv4, source("firehol")),
        ("2001:db8::1", Kind::Ipv6, Meta { confidence: Some(0), ..Meta::default() }),
        ("evil.example", Kind::Domain, source("cti")),
        ("evil.example", Kind::Domain, hostile),
        ("evil.example", Kind::Hostname, source("-")),
        ("evil.example/gate.php", Kind::Url, Meta { confidence: Some(29), ..source("(empty)") }),
        ("phish@evil.example", Kind::Email, Meta { confidence: Some(30), ..source("\\back") }),
        ("d41d8cd98f00b204e9800998ecf8427e", Kind::Md5, Meta { confidence: Some(69), ..Meta::default() }),
        ("d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f", Kind::Sha224, Meta::default()),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            Kind::Sha256,
            Meta { confidence: Some(70), tlp: Some(Tlp::Clear), ..source("") },
        ),
        ("EvilAgent/1.0", Kind::String, Meta::default()),
    ];
    let mut builder = IndexBuilder::new();
    for (value, kind, meta) in records {
        builder.add(value, Some(kind), meta).unwrap();
    }
    builder.build().unwrap()
}

/// The id of the record of `kind` and `value` whose source is `source`.
fn id(index: &Index, kind: Kind, value: &str, source: Option<&str>) -> IndicatorId {
    let found =
        index.indicators().find(|r| r.kind == kind && r.value == value && r.meta.source.as_deref() == source);
    found.unwrap_or_else(|| panic!("no record {kind} {value} {source:?}")).id
}

fn hit(kind: Kind, observed: &str, field: Option<&str>, indicators: Vec<IndicatorId>) -> FileHit {
    FileHit {
        file: Arc::from("logs/dns.log"),
        line: 9,
        start: 4,
        end: 4 + observed.len(),
        observed: observed.to_string(),
        kind,
        field: field.map(str::to_string),
        ts: Some(TS),
        uid: Some("CvAwef3mv2ryjT3QBc".to_string()),
        indicators,
        version: None,
        retro: false,
    }
}

/// Everything `hits` write as `format`, the clock pinned.
fn write_all(format: OutputFormat, index: &Index, hits: &[FileHit]) -> String {
    let mut writer = HitWriter::new(format, Vec::new()).fixed_time(CLOCK);
    for hit in hits {
        writer.write(index, hit).unwrap();
    }
    writer.finish().unwrap();
    assert_eq!(writer.hits(), hits.len() as u64);
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

#[test]
fn format_names() {
    for format in OutputFormat::ALL {
        assert_eq!(format.as_str().parse::<OutputFormat>(), Ok(format), "{format}");
    }
    assert_eq!(OutputFormat::default(), OutputFormat::JsonLines);
    let err = "json".parse::<OutputFormat>().unwrap_err();
    assert_eq!(err.to_string(), r#"unknown output format "json": expected one of jsonl, zeek, ecs"#);
}

// ---------------------------------------------------------------------------------------
// JSON lines

/// The JSON of a record as JSON lines writes it.
fn record_json(index: &Index, id: IndicatorId) -> Value {
    let line = write_all(OutputFormat::JsonLines, index, &[hit(Kind::String, "x", None, vec![id])]);
    let hit: Value = serde_json::from_str(&line).unwrap();
    hit["indicators"][0].clone()
}

#[test]
fn json_record_table() {
    let index = index();
    let bare = |value: &str, kind: &str| {
        json!({"value": value, "kind": kind, "source": null, "ref": null, "confidence": null, "tlp": null,
               "tags": [], "valid_from": null, "valid_until": null, "description": null})
    };
    let rows: Vec<(&str, IndicatorId, Value)> = vec![
        (
            "jrec010",
            id(&index, Kind::Ipv4, "198.51.100.7", Some("cti")),
            json!({"value": "198.51.100.7", "kind": "ipv4", "source": "cti", "ref": "indicator--8e2e2d2b",
                   "confidence": 80, "tlp": "amber+strict", "tags": ["c2", "apt"],
                   "valid_from": "2018-01-01T00:00:00Z", "valid_until": "2030-01-01T00:00:00.123456Z",
                   "description": "c2 panel"}),
        ),
        ("jrec020", id(&index, Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e", None), {
            let mut v = bare("d41d8cd98f00b204e9800998ecf8427e", "md5");
            v["confidence"] = json!(69);
            v
        }),
        ("jrec030", id(&index, Kind::String, "EvilAgent/1.0", None), bare("EvilAgent/1.0", "string")),
        ("jrec040", id(&index, Kind::Hostname, "evil.example", Some("-")), {
            let mut v = bare("evil.example", "hostname");
            v["source"] = json!("-");
            v
        }),
        ("jrec050", id(&index, Kind::Domain, "evil.example", Some("feed,with,commas")), {
            let mut v = bare("evil.example", "domain");
            v["source"] = json!("feed,with,commas");
            v["description"] = json!("tab\there\nnew \"quoted\" \\ \u{1}\u{7f} \u{2028} \u{fffd}");
            v
        }),
    ];
    for (row, id, want) in rows {
        assert_eq!(record_json(&index, id), want, "{row}");
    }
}

#[test]
fn json_hit_table() {
    let index = index();
    let ip = id(&index, Kind::Ipv4, "198.51.100.7", Some("cti"));
    let net = id(&index, Kind::Ipv4, "198.51.100.0/24", Some("firehol"));
    let plain = FileHit {
        field: None,
        ts: None,
        uid: None,
        file: Arc::from("-"),
        ..hit(Kind::Ipv4, "198.51.100.7", None, vec![ip])
    };
    let live = FileHit { version: Some(42), retro: true, ..plain.clone() };
    let hostile_text = "\"q\"\\\u{0}\u{1b}\t\r\n\u{fffd}é\u{2028}";
    let hostile = FileHit {
        file: Arc::from("dir/we\"ird\n.log"),
        field: Some("\u{7}field".into()),
        uid: Some("C\"\\".into()),
        ..hit(Kind::Ipv4, hostile_text, None, vec![ip])
    };
    let conn = hit(Kind::Ipv4, "198.51.100.7", Some("id.resp_h"), vec![ip, net]);
    // The hit's own keys (the records are `json_record_table`'s).
    let rows: Vec<(&str, &FileHit, Vec<IndicatorId>, Value)> = vec![
        (
            "jhit010",
            &conn,
            vec![ip, net],
            json!({"file": "logs/dns.log", "line": 9, "start": 4, "end": 16, "observed": "198.51.100.7",
                   "kind": "ipv4", "field": "id.resp_h", "ts": "2018-11-02T00:05:37.434664Z",
                   "uid": "CvAwef3mv2ryjT3QBc"}),
        ),
        (
            "jhit020",
            &plain,
            vec![ip],
            json!({"file": "-", "line": 9, "start": 4, "end": 16, "observed": "198.51.100.7", "kind": "ipv4",
                   "field": null, "ts": null, "uid": null}),
        ),
        (
            "jhit030",
            &live,
            vec![ip],
            json!({"file": "-", "line": 9, "start": 4, "end": 16, "observed": "198.51.100.7", "kind": "ipv4",
                   "field": null, "ts": null, "uid": null, "version": 42, "retro": true}),
        ),
        (
            "jhit040",
            &hostile,
            vec![ip],
            json!({"file": "dir/we\"ird\n.log", "line": 9, "start": 4, "end": 4 + hostile_text.len(),
                   "observed": hostile_text, "kind": "ipv4", "field": "\u{7}field",
                   "ts": "2018-11-02T00:05:37.434664Z", "uid": "C\"\\"}),
        ),
    ];
    for (row, hit, records, want) in rows {
        let out = write_all(OutputFormat::JsonLines, &index, std::slice::from_ref(hit));
        // One line, and JSON escapes every control byte: no raw one is left.
        assert_eq!(out.matches('\n').count(), 1, "{row}");
        assert!(out.trim_end().bytes().all(|b| b >= 0x20), "{row}: {out}");
        let mut got: Value = serde_json::from_str(&out).unwrap();
        let indicators = got.as_object_mut().unwrap().remove("indicators").unwrap();
        let want_records: Vec<Value> = records.iter().map(|&r| record_json(&index, r)).collect();
        assert_eq!(indicators, Value::Array(want_records), "{row}");
        assert_eq!(got, want, "{row}");
        assert!(out.starts_with(r#"{"file":"#), "{row}");
    }
    // The key order of a line, which a reader of the raw text sees.
    let out = write_all(OutputFormat::JsonLines, &index, &[live]);
    let order = ["file", "line", "start", "end", "observed", "kind", "field", "ts", "uid", "indicators"];
    let at: Vec<usize> = order.iter().map(|k| out.find(&format!("\"{k}\":")).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");
    assert!(out.trim_end().ends_with(r#""version":42,"retro":true}"#), "{out}");
}

// ---------------------------------------------------------------------------------------
// ECS

#[test]
fn ecs_document() {
    let index = index();
    let ip = id(&index, Kind::Ipv4, "198.51.100.7", Some("cti"));
    let net = id(&index, Kind::Ipv4, "198.51.100.0/24", Some("firehol"));
    let live = FileHit {
        version: Some(7),
        retro: true,
        ..hit(Kind::Ipv4, "198.51.100.7", Some("id.resp_h"), vec![ip, net])
    };
    let out = write_all(OutputFormat::Ecs, &index, &[live]);
    assert!(out.starts_with(r#"{"@timestamp":"2018-11-02T00:05:37.434664Z","#), "{out}");
    let got: Value = serde_json::from_str(&out).unwrap();
    let matched = json!({"atomic": "198.51.100.7", "field": "id.resp_h", "type": "indicator_match_rule",
                         "occurred": "2018-11-01T12:00:00Z"});
    let want = json!({
        "@timestamp": "2018-11-02T00:05:37.434664Z",
        "ecs": {"version": "8.11.0"},
        "event": {"kind": "alert", "category": ["threat"], "type": ["indicator"]},
        "log": {"file": {"path": "logs/dns.log"}},
        "threat": {"enrichments": [
            {"indicator": {"type": "ipv4-addr", "name": "198.51.100.7", "ip": "198.51.100.7", "provider": "cti",
                           "reference": "indicator--8e2e2d2b", "confidence": "High",
                           "marking": {"tlp": "AMBER+STRICT", "tlp_version": "2.0"}, "description": "c2 panel"},
             "matched": matched},
            {"indicator": {"type": "ipv4-addr", "name": "198.51.100.0/24", "provider": "firehol",
                           "confidence": "Not Specified"},
             "matched": matched},
        ]},
        "vedette": {"line": 9, "start": 4, "end": 16, "uid": "CvAwef3mv2ryjT3QBc", "version": 7, "retro": true},
    });
    assert_eq!(got, want);

    // Plain text from standard input: no log file, the clock's time, the `message` field.
    let plain = FileHit {
        file: Arc::from("-"),
        field: None,
        ts: None,
        uid: None,
        ..hit(Kind::Ipv4, "198.51.100.7", None, vec![ip])
    };
    let got: Value = serde_json::from_str(&write_all(OutputFormat::Ecs, &index, &[plain])).unwrap();
    assert_eq!(got["@timestamp"], "2018-11-01T12:00:00Z");
    assert_eq!(got.get("log"), None);
    assert_eq!(got["threat"]["enrichments"][0]["matched"]["field"], "message");
    assert_eq!(got["vedette"], json!({"line": 9, "start": 4, "end": 16}));
}

#[test]
fn ecs_indicator_table() {
    let index = index();
    let sha224 = "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f";
    let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    // The record, then `threat.enrichments[0].indicator`.
    let rows: Vec<(&str, IndicatorId, Value)> = vec![
        (
            "ecs010",
            id(&index, Kind::Ipv6, "2001:db8::1", None),
            json!({"type": "ipv6-addr", "name": "2001:db8::1", "ip": "2001:db8::1", "confidence": "None"}),
        ),
        (
            "ecs020",
            id(&index, Kind::Domain, "evil.example", Some("cti")),
            json!({"type": "domain-name", "name": "evil.example", "url": {"domain": "evil.example"},
                   "provider": "cti", "confidence": "Not Specified"}),
        ),
        (
            "ecs030",
            id(&index, Kind::Hostname, "evil.example", Some("-")),
            json!({"type": "domain-name", "name": "evil.example", "url": {"domain": "evil.example"},
                   "provider": "-", "confidence": "Not Specified"}),
        ),
        (
            "ecs040",
            id(&index, Kind::Url, "evil.example/gate.php", Some("(empty)")),
            json!({"type": "url", "name": "evil.example/gate.php", "url": {"original": "evil.example/gate.php"},
                   "provider": "(empty)", "confidence": "Low"}),
        ),
        (
            "ecs050",
            id(&index, Kind::Email, "phish@evil.example", Some("\\back")),
            json!({"type": "email-addr", "name": "phish@evil.example", "email": {"address": "phish@evil.example"},
                   "provider": "\\back", "confidence": "Medium"}),
        ),
        (
            "ecs060",
            id(&index, Kind::Md5, md5, None),
            json!({"type": "file", "name": md5, "file": {"hash": {"md5": md5}}, "confidence": "Medium"}),
        ),
        (
            "ecs070",
            id(&index, Kind::Sha224, sha224, None),
            json!({"type": "file", "name": sha224, "confidence": "Not Specified"}),
        ),
        (
            "ecs080",
            id(&index, Kind::Sha256, sha256, Some("")),
            json!({"type": "file", "name": sha256, "file": {"hash": {"sha256": sha256}}, "provider": "",
                   "confidence": "High", "marking": {"tlp": "CLEAR", "tlp_version": "2.0"}}),
        ),
        (
            "ecs090",
            id(&index, Kind::String, "EvilAgent/1.0", None),
            json!({"type": "artifact", "name": "EvilAgent/1.0", "confidence": "Not Specified"}),
        ),
        (
            "ecs100",
            id(&index, Kind::Domain, "evil.example", Some("feed,with,commas")),
            json!({"type": "domain-name", "name": "evil.example", "url": {"domain": "evil.example"},
                   "provider": "feed,with,commas", "confidence": "Not Specified",
                   "description": "tab\there\nnew \"quoted\" \\ \u{1}\u{7f} \u{2028} \u{fffd}"}),
        ),
    ];
    for (row, id, want) in rows {
        let record = index.indicator(id);
        let out =
            write_all(OutputFormat::Ecs, &index, &[hit(record.kind, record.value, Some("query"), vec![id])]);
        assert!(out.trim_end().bytes().all(|b| b >= 0x20), "{row}: {out}");
        let got: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(got["threat"]["enrichments"][0]["indicator"], want, "{row}");
    }
}

// ---------------------------------------------------------------------------------------
// The writer

/// A sink whose bytes the test can see while the writer still holds it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn flush_each_hit() {
    let index = index();
    let dom = id(&index, Kind::Domain, "evil.example", Some("cti"));
    for (row, flush, format) in [
        ("flush010", true, OutputFormat::JsonLines),
        ("flush020", false, OutputFormat::JsonLines),
        ("flush030", true, OutputFormat::ZeekIntel),
        ("flush040", true, OutputFormat::Ecs),
    ] {
        let sink = Shared::default();
        let mut writer = HitWriter::new(format, sink.clone()).flush_each_hit(flush).fixed_time(CLOCK);
        writer.write(&index, &hit(Kind::Domain, "evil.example", Some("query"), vec![dom])).unwrap();
        let seen = String::from_utf8(sink.0.borrow().clone()).unwrap();
        assert_eq!(seen.ends_with('\n') && seen.contains("evil.example"), flush, "{row}: {seen:?}");
        writer.finish().unwrap();
        assert!(sink.0.borrow().ends_with(b"\n"), "{row}");
    }
}

#[test]
fn writer_errors() {
    let index = index();
    let other = Index::new(["other.example"]).unwrap();
    let dom = id(&index, Kind::Domain, "evil.example", Some("cti"));
    let stray = IndicatorId(index.record_count() as u32);
    for format in OutputFormat::ALL {
        let mut writer = HitWriter::new(format, Vec::new()).fixed_time(CLOCK);
        let err =
            writer.write(&index, &hit(Kind::Domain, "evil.example", None, vec![dom, stray])).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{format}");
        assert_eq!(
            err.to_string(),
            format!("indicator id {} is not in the index (12 records)", stray.as_u32())
        );
        // A hit of another index is refused the same way, when its ids are out of range.
        assert!(writer
            .write(&other, &hit(Kind::Domain, "evil.example", None, vec![IndicatorId(3)]))
            .is_err());
        assert_eq!(writer.hits(), 0);
        writer.finish().unwrap();
        writer.finish().unwrap();
        let err = writer.write(&index, &hit(Kind::Domain, "evil.example", None, vec![dom])).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{format}");
        let out = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        // Nothing but a Zeek log's header and one `#close`.
        match format {
            OutputFormat::ZeekIntel => assert_eq!(out, format!("{ZEEK_HEADER}#close\t2018-11-01-12-00-00\n")),
            _ => assert_eq!(out, "", "{format}"),
        }
    }
}

/// Records are written once per index and their text reused; a writer handed the hits of
/// two indexes (a live engine's snapshots) writes each record of its own index.
#[test]
fn json_records_follow_their_index() {
    let one = |value: &str| {
        let mut builder = IndexBuilder::new();
        builder.add(value, Some(Kind::Domain), Meta::default()).unwrap();
        builder.build().unwrap()
    };
    let (first, second) = (one("first.example"), one("second.example"));
    let mut writer = HitWriter::new(OutputFormat::JsonLines, Vec::new()).fixed_time(CLOCK);
    let id = first.indicators().next().unwrap().id;
    for index in [&first, &first, &second, &first] {
        writer.write(index, &hit(Kind::Domain, "x", None, vec![id])).unwrap();
    }
    let out = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    let values: Vec<String> = out
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["indicators"][0]["value"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(values, ["first.example", "first.example", "second.example", "first.example"]);
}
