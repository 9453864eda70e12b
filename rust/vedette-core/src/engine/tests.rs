//! The engine's rules (docs/semantics.md §10), one table row per case.

use super::*;
use crate::error::EngineErrorKind;
use crate::feed::Format;
use crate::indicator::parse_timestamp;

/// One change, as the rows write it.
#[derive(Clone, Debug)]
enum Step {
    /// Source, value, ref, description.
    Add(&'static str, &'static str, Option<&'static str>, Option<&'static str>),
    RemoveRef(&'static str, &'static str),
    RemoveValue(&'static str, &'static str),
    /// Source, feed bytes, sync.
    Load(&'static str, String, bool),
    /// A strict load that must fail.
    BadLoad(&'static str, String),
    /// Changes committed together; `true` when one of them fails, so that none publish.
    Tx(Vec<Step>, bool),
    /// Changes committed together whose publish fails: none of them stays.
    TxBuildFails(Vec<Step>),
}

use Step::*;

fn list(values: &[&str]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

/// The pattern of the URL `http://<host>.example/`.
fn url(host: &str) -> String {
    format!("[url:value = 'http://{host}.example/']")
}

/// A STIX bundle of indicators `(id, pattern or URL host, modified, revoked)`; an empty
/// modified is none.
fn stix(objects: &[(&str, &str, &str, bool)]) -> String {
    let objects: Vec<String> = (objects.iter())
        .map(|&(id, pattern, modified, revoked)| {
            let pattern = if pattern.starts_with('[') { pattern.to_string() } else { url(pattern) };
            let mut o = format!(r#"{{"type": "indicator", "id": "indicator--{id}", "pattern": "{pattern}""#);
            if !modified.is_empty() {
                o += &format!(r#", "modified": "{modified}""#);
            }
            if revoked {
                o += r#", "revoked": true"#;
            }
            o + "}"
        })
        .collect();
    format!(r#"{{"type": "bundle", "id": "bundle--1", "objects": [{}]}}"#, objects.join(", "))
}

/// A MISP event of domain attributes `(uuid, value, deleted)`.
fn misp(event_deleted: bool, attributes: &[(&str, &str, bool)]) -> String {
    let attributes: Vec<String> = (attributes.iter())
        .map(|&(uuid, value, deleted)| {
            format!(r#"{{"uuid": "{uuid}", "type": "domain", "value": "{value}", "deleted": {deleted}}}"#)
        })
        .collect();
    let deleted = if event_deleted { r#""deleted": true, "# } else { "" };
    format!(r#"{{"Event": {{{deleted}"uuid": "ev", "Attribute": [{}]}}}}"#, attributes.join(", "))
}

fn apply(engine: &Engine, step: &Step) -> Result<Update, EngineError> {
    match step {
        Add(source, value, reference, description) => {
            let meta = Meta {
                reference: reference.map(String::from),
                description: description.map(String::from),
                ..Meta::default()
            };
            engine.add(source, value, None, meta)
        }
        RemoveRef(source, reference) => engine.remove_ref(source, reference),
        RemoveValue(source, value) => engine.remove_value(source, value, None),
        Load(source, data, sync) => engine.load(source, data.as_bytes(), &LoadOptions::default(), *sync),
        BadLoad(source, data) => {
            let options = LoadOptions { strict: true, format: Some(Format::Lines), ..LoadOptions::default() };
            let got = engine.load(source, data.as_bytes(), &options, false);
            assert!(got.is_err(), "a strict load of {data:?} fails");
            got
        }
        Tx(steps, fails) => {
            let mut tx = engine.transaction();
            for step in steps {
                let _ = stage(&mut tx, step);
            }
            let got = tx.commit();
            assert_eq!(got.is_err(), *fails, "{got:?}");
            got
        }
        TxBuildFails(steps) => {
            let mut tx = engine.transaction();
            for step in steps {
                stage(&mut tx, step).unwrap();
            }
            FAIL_NEXT_BUILD.with(|fail| fail.set(true));
            let got = tx.commit();
            assert_eq!(got.as_ref().map_err(EngineError::kind).unwrap_err(), EngineErrorKind::Build);
            got
        }
    }
}

fn stage(tx: &mut Transaction<'_>, step: &Step) -> Result<(), EngineError> {
    match step {
        Add(source, value, reference, _) => {
            let meta = Meta { reference: reference.map(String::from), ..Meta::default() };
            tx.add(source, value, None, meta).map(drop)
        }
        RemoveRef(source, reference) => {
            tx.remove_ref(source, reference);
            Ok(())
        }
        RemoveValue(source, value) => tx.remove_value(source, value, None).map(drop),
        Load(source, data, sync) => {
            tx.load(source, data.as_bytes(), &LoadOptions::default(), *sync).map(drop)
        }
        BadLoad(..) | Tx(..) | TxBuildFails(..) => unreachable!("not staged"),
    }
}

/// The live records as `source|ref|value|description`, sorted.
fn records(snapshot: &Snapshot) -> Vec<String> {
    let mut out: Vec<String> = (snapshot.indicators())
        .map(|r| {
            let m = r.meta;
            let field = |f: &Option<String>| f.clone().unwrap_or_else(|| "-".into());
            format!("{}|{}|{}|{}", field(&m.source), field(&m.reference), r.value, field(&m.description))
        })
        .collect();
    out.sort();
    out
}

fn options() -> EngineOptions {
    EngineOptions { background_compaction: false, ..EngineOptions::default() }
}

#[test]
fn engine_table() {
    let t2020 = "2020-01-01T00:00:00Z";
    let t2021 = "2021-01-01T00:00:00Z";
    let a = |d| Add("s1", "a.example", None, d);
    #[rustfmt::skip]
    let rows: Vec<(&str, Vec<Step>, &[&str], u64)> = vec![
        ("add010", vec![a(None)], &["s1|-|a.example|-"], 1),
        // The same record again changes nothing: no publish.
        ("add020", vec![a(None), a(None), Add("s1", "A.example.", None, None)], &["s1|-|a.example|-"], 1),
        // No ref: the key is the value, and the record's metadata is replaced.
        ("add030", vec![a(Some("x")), a(Some("y"))], &["s1|-|a.example|y"], 2),
        ("add040", vec![a(None), Add("s2", "a.example", None, None)], &["s1|-|a.example|-", "s2|-|a.example|-"], 2),
        // A ref is the key: its record is replaced, whatever the value.
        ("add050", vec![Add("s1", "a.example", Some("r1"), None), Add("s1", "b.example", Some("r1"), None)], &["s1|r1|b.example|-"], 2),
        ("add060", vec![Add("s1", "a.example", Some("r1"), None), Add("s1", "a.example", Some("r2"), None)], &["s1|r1|a.example|-", "s1|r2|a.example|-"], 2),
        ("add070", vec![a(None), Add("s1", "a.example", Some("r1"), None)], &["s1|-|a.example|-", "s1|r1|a.example|-"], 2),
        // Refs are per source.
        ("add080", vec![Add("s1", "a.example", Some("r1"), None), Add("s2", "b.example", Some("r1"), None)], &["s1|r1|a.example|-", "s2|r1|b.example|-"], 2),
        ("rm010", vec![Add("s1", "a.example", Some("r1"), None), RemoveRef("s1", "r1")], &[], 2),
        ("rm020", vec![a(None), RemoveRef("s1", "r1"), RemoveRef("s2", "a.example")], &["s1|-|a.example|-"], 1),
        // By value: every record of the source with that value, ref or not.
        ("rm030", vec![a(None), Add("s1", "a.example", Some("r1"), None), Add("s2", "a.example", None, None), RemoveValue("s1", "a.example")], &["s2|-|a.example|-"], 4),
        ("rm040", vec![a(None), RemoveValue("s1", "A.EXAMPLE.")], &[], 2),
        ("rm050", vec![Add("s1", "10.0.0.0/24", None, None), RemoveValue("s1", "10.0.0.1")], &["s1|-|10.0.0.0/24|-"], 1),
        ("sync010", vec![Load("s1", list(&["a.example", "b.example"]), true), Load("s1", list(&["b.example", "c.example"]), true)], &["s1|-|b.example|-", "s1|-|c.example|-"], 2),
        ("sync020", vec![Load("s1", list(&["a.example", "b.example"]), true), Load("s1", list(&["b.example", "c.example"]), false)], &["s1|-|a.example|-", "s1|-|b.example|-", "s1|-|c.example|-"], 2),
        ("sync030", vec![Load("s2", list(&["a.example"]), false), Load("s1", list(&["b.example"]), true)], &["s1|-|b.example|-", "s2|-|a.example|-"], 2),
        ("sync040", vec![Load("s1", list(&["a.example", "b.example"]), false), Load("s1", String::new(), true)], &[], 2),
        // An unchanged feed publishes nothing.
        ("sync050", vec![Load("s1", list(&["a.example"]), true), Load("s1", list(&["a.example"]), true)], &["s1|-|a.example|-"], 1),
        // The later line of one value wins, as for adds.
        ("sync060", vec![Load("s1", "value,description\na.example,x\na.example,y\n".into(), true)], &["s1|-|a.example|y"], 1),
        ("stix010", vec![Load("s1", stix(&[("1", "a", t2020, false)]), false), Load("s1", stix(&[("1", "b", t2021, false)]), false)], &["s1|indicator--1|b.example/|-"], 2),
        // A stale version arriving later is ignored.
        ("stix020", vec![Load("s1", stix(&[("1", "b", t2021, false)]), false), Load("s1", stix(&[("1", "a", t2020, false)]), false)], &["s1|indicator--1|b.example/|-"], 1),
        ("stix025", vec![Load("s1", stix(&[("1", "b", t2020, false)]), false), Load("s1", stix(&[("1", "a", "", false)]), false)], &["s1|indicator--1|b.example/|-"], 1),
        // Revocation is final: a newer version does not bring it back.
        ("stix030", vec![Load("s1", stix(&[("1", "a", t2020, false)]), false), Load("s1", stix(&[("1", "a", t2020, true)]), false), Load("s1", stix(&[("1", "c", t2021, false)]), false)], &[], 2),
        // A stale version in a sync load still counts as given: the newer one stays.
        ("stix040", vec![Load("s1", stix(&[("1", "b", t2021, false), ("2", "x", t2021, false)]), false), Load("s1", stix(&[("1", "a", t2020, false)]), true)], &["s1|indicator--1|b.example/|-"], 2),
        // The newest version replaces the older even when it does not compile.
        ("stix050", vec![Load("s1", stix(&[("1", "a", t2020, false)]), false), Load("s1", stix(&[("1", "[url:value MATCHES 'b']", t2021, false)]), false)], &[], 2),
        ("stix055", vec![Load("s1", stix(&[("1", "a", t2020, false)]), false), Load("s1", stix(&[("1", "[url:value = 'http://c.example/' OR url:value MATCHES 'b']", t2021, false)]), false)], &["s1|indicator--1|c.example/|-"], 2),
        // The same version again changes nothing.
        ("stix060", vec![Load("s1", stix(&[("1", "a", t2020, false)]), false), Load("s1", stix(&[("1", "a", t2020, false)]), false)], &["s1|indicator--1|a.example/|-"], 1),
        // Versions are per source.
        ("stix070", vec![Load("s1", stix(&[("1", "b", t2021, false)]), false), Load("s2", stix(&[("1", "a", t2020, false)]), false)], &["s1|indicator--1|b.example/|-", "s2|indicator--1|a.example/|-"], 2),
        ("misp010", vec![Load("s1", misp(false, &[("u1", "a.example", false), ("u2", "b.example", false)]), false), Load("s1", misp(false, &[("u1", "a.example", true)]), false)], &["s1|u2|b.example|-"], 2),
        ("misp020", vec![Load("s1", misp(false, &[("u1", "a.example", false)]), false), Load("s1", misp(true, &[("u1", "a.example", false)]), false)], &[], 2),
        ("tx010", vec![Tx(vec![Add("s1", "a.example", None, None), Add("s1", "b.example", None, None), RemoveValue("s1", "a.example")], false)], &["s1|-|b.example|-"], 1),
        ("tx020", vec![a(None), Tx(vec![RemoveValue("s1", "a.example"), Add("s1", "999.1.1.1/8", None, None)], true)], &["s1|-|a.example|-"], 1),
        ("tx030", vec![a(None), Tx(vec![Load("s1", String::new(), true), Add("s1", "b.example", Some("r"), None), RemoveRef("s1", "r")], false)], &[], 2),
        ("tx040", vec![a(None), BadLoad("s1", list(&["b.example", "not an indicator"]))], &["s1|-|a.example|-"], 1),
        // Every kind of change undone: base and delta records removed, slots added, keys
        // made and emptied, STIX versions moved, a sync.
        ("tx050", vec![
            Load("s1", list(&["a.example", "b.example"]), false),
            Load("s2", stix(&[("1", "a", t2020, false)]), false),
            TxBuildFails(vec![
                RemoveValue("s1", "a.example"),
                Add("s1", "c.example", Some("r"), None),
                Load("s2", stix(&[("1", "b", t2021, false), ("2", "c", t2021, true)]), true),
                Load("s1", list(&["d.example"]), true),
                Add("s1", "d.example", None, None),
            ]),
            Load("s2", stix(&[("1", "a", t2020, false), ("2", "c", t2020, false)]), false),
        ], &["s1|-|a.example|-", "s1|-|b.example|-", "s2|indicator--1|a.example/|-", "s2|indicator--2|c.example/|-"], 3),
    ];
    for (id, steps, want, version) in &rows {
        // Once as the steps leave it, once compacted after every step: the records
        // removed from a base take the other path.
        for compacting in [false, true] {
            let engine = Engine::with_options(options());
            for step in steps {
                let _ = apply(&engine, step);
                if compacting {
                    engine.compact().unwrap();
                }
                lock(&engine.shared.state).check();
            }
            assert_eq!(records(&engine.snapshot()), *want, "{id} compacting={compacting}");
            if !compacting {
                assert_eq!(engine.version(), *version, "{id}: version");
            }
        }
    }
}

#[test]
fn updates_count_what_they_did() {
    let engine = Engine::with_options(options());
    let load = |data: &str, sync| engine.load("s1", data.as_bytes(), &LoadOptions::default(), sync).unwrap();
    let got = load("a.example\nb.example\n", false);
    assert_eq!((got.added, got.removed, got.unchanged, got.version), (2, 0, 0, 1));
    assert_eq!(got.reports[0].loaded, 2);
    let got = load("b.example\nc.example\n", true);
    assert_eq!((got.added, got.removed, got.unchanged, got.version), (1, 1, 1, 2));
    let older = stix(&[("1", "a", "2020-01-01T00:00:00Z", false)]);
    let newer = stix(&[("1", "b", "2021-01-01T00:00:00Z", false)]);
    load(&newer, false);
    let got = load(&older, false);
    assert_eq!((got.added, got.stale, got.version), (0, 1, 3));
}

#[test]
fn snapshots_are_pinned_across_updates() {
    let engine = Engine::with_options(options());
    engine.add("s1", "a.example", None, Meta::default()).unwrap();
    let first = engine.snapshot();
    engine.add("s1", "b.example", None, Meta::default()).unwrap();
    engine.remove_value("s1", "a.example", None).unwrap();
    let second = engine.snapshot();
    engine.compact().unwrap();
    engine.add("s1", "c.example", None, Meta::default()).unwrap();
    let text = b"a.example b.example c.example";
    let values = |s: &Snapshot| -> Vec<String> {
        let hits = s.find(text, 0);
        hits.iter().flat_map(|m| m.indicators.iter().map(|&id| s.indicator(id).value.to_string())).collect()
    };
    assert_eq!(values(&first), ["a.example"]);
    assert_eq!((first.version(), second.version()), (1, 3));
    assert_eq!(values(&second), ["b.example"]);
    assert_eq!(values(&engine.snapshot()), ["b.example", "c.example"]);
    assert_eq!(engine.version(), 5, "a compaction publishes a version too");
}

#[test]
fn expired_records_stop_matching_and_are_compacted_away() {
    let engine = Engine::with_options(options());
    let until = parse_timestamp("2020-01-01T00:00:00Z").unwrap();
    let expired = Meta { valid_until: Some(until), ..Meta::default() };
    engine.add("s1", "a.example", None, expired).unwrap();
    engine.add("s1", "b.example", None, Meta::default()).unwrap();
    // At event time, the window still holds: a replayed old log line hits.
    assert!(engine.is_match(b"a.example", until - 1));
    assert!(!engine.is_match(b"a.example", crate::now()));
    assert_eq!(engine.snapshot().record_count(), 2);
    engine.compact().unwrap();
    assert_eq!(records(&engine.snapshot()), ["s1|-|b.example|-"]);
    assert_eq!(engine.status().sources[0].records, 1);
    lock(&engine.shared.state).check();
}

#[test]
fn reads_agree_across_base_and_delta() {
    // 10.0.0.0/8 in the base, removed; 10.1.0.0/16 in the delta; 192.0.2.1 in the base.
    let engine = Engine::with_options(options());
    let load =
        |source, data: &str| engine.load(source, data.as_bytes(), &LoadOptions::default(), false).unwrap();
    load("s1", "10.0.0.0/8\n192.0.2.1\nevil.example\n");
    engine.compact().unwrap();
    engine.remove_value("s1", "10.0.0.0/8", None).unwrap();
    load("s2", "10.1.0.0/16\nevil.example\n");
    let snap = engine.snapshot();
    let addresses = [0x0a01_0203, 0x0a02_0000, 0xc000_0201];
    let mut out = [false; 3];
    snap.match_ipv4(&addresses, 0, &mut out);
    assert_eq!(out, [true, false, true]);
    let v6: Vec<u128> = addresses.iter().map(|&a| 0xffff_0000_0000 | u128::from(a)).collect();
    snap.match_ipv6(&v6, 0, &mut out);
    assert_eq!(out, [true, false, true]);
    let flows = snap.match_flows(&[0x0a01_0203, 0x0a02_0000, 0xc000_0201], &[0xc000_0201, 1, 2], 0);
    let sources: Vec<(u64, &str)> = (flows.rows.iter().zip(&flows.indicators))
        .map(|(&row, &id)| (row, snap.indicator(id).meta.source.as_deref().unwrap()))
        .collect();
    assert_eq!(sources, [(0, "s1"), (0, "s2"), (2, "s1")]);
    let ids = snap.lookup("x.evil.example", None, 0).unwrap();
    let mut found: Vec<&str> =
        ids.iter().map(|&id| snap.indicator(id).meta.source.as_deref().unwrap()).collect();
    found.sort();
    assert_eq!(found, ["s1", "s2"]);
    // One match for the span both layers give, with the records of both.
    let hits = snap.find(b"http://evil.example/ 10.1.2.3", 0);
    let spans: Vec<(usize, usize, usize)> =
        hits.iter().map(|m| (m.start, m.end, m.indicators.len())).collect();
    assert_eq!(spans, [(7, 19, 2), (21, 29, 1)]);
    assert!(snap.is_match(b"10.1.2.3", 0));
    assert!(!snap.is_match(b"10.2.0.0", 0), "the base's only record there is removed");
    assert_eq!((snap.len(), snap.record_count()), (3, 4));
    assert_eq!(snap.get(snap.indicator(ids[0]).id.as_u32()).map(|r| r.value), Some("evil.example"));
    let index = snap.to_index().unwrap();
    assert_eq!((index.len(), index.record_count()), (3, 4));
}

#[test]
fn plain_snapshots_answer_with_the_base_itself() {
    let engine = Engine::with_options(options());
    engine.load("s1", b"evil.example\n", &LoadOptions::default(), false).unwrap();
    assert!(!Arc::ptr_eq(&engine.snapshot().to_index().unwrap(), engine.snapshot().base()));
    engine.compact().unwrap();
    let snap = engine.snapshot();
    let index = snap.to_index().unwrap();
    assert!(Arc::ptr_eq(&index, snap.base()), "no copy when nothing is beside the base");
    assert_eq!(snap.find(b"evil.example", 0), index.find(b"evil.example", 0));
}

#[test]
fn status_tracks_sources_errors_and_checkpoints() {
    let engine = Engine::with_options(options());
    engine.load("abuse", b"a.example\nb.example\n", &LoadOptions::default(), false).unwrap();
    engine.set_checkpoint("taxii", "2024-04-16T10:00:00Z");
    engine.note_error("taxii", "cannot reach the server");
    let strict = LoadOptions { strict: true, ..LoadOptions::default() };
    let err = engine.load("abuse", b"c.example\nnot one\n", &strict, false).unwrap_err();
    assert_eq!(err.kind(), EngineErrorKind::Feed);
    assert!(std::error::Error::source(&err).unwrap().downcast_ref::<crate::FeedError>().is_some());
    let status = engine.status();
    assert_eq!((status.version, status.records, status.entries), (1, 2, 2));
    let abuse = &status.sources[0];
    assert_eq!((abuse.name.as_str(), abuse.records), ("abuse", 2));
    assert!(abuse.last_success.is_some());
    assert!(abuse.last_error.as_ref().unwrap().message.contains(r#""not" is no ip"#), "{abuse:?}");
    let taxii = &status.sources[1];
    assert_eq!(taxii.checkpoint.as_deref(), Some("2024-04-16T10:00:00Z"));
    assert_eq!(taxii.last_error.as_ref().unwrap().message, "cannot reach the server");
    assert!(taxii.last_success.is_none(), "an error noted is no success");
    assert!(status.memory > 0);
}

#[test]
fn a_closed_engine_takes_no_updates() {
    let engine = Engine::with_options(options());
    engine.add("s1", "a.example", None, Meta::default()).unwrap();
    engine.close();
    let err = engine.add("s1", "b.example", None, Meta::default()).unwrap_err();
    assert_eq!((err.kind(), err.to_string().as_str()), (EngineErrorKind::Closed, "the engine is closed"));
    assert!(engine.is_match(b"a.example", 0));
}

#[test]
fn sightings_count_hits_per_record() {
    let options = EngineOptions { sightings: true, ..options() };
    let engine = Engine::with_options(options);
    let meta = Meta { reference: Some("r1".into()), ..Meta::default() };
    engine.add("s1", "a.example", None, meta).unwrap();
    engine.compact().unwrap();
    engine.add("s2", "a.example", None, Meta::default()).unwrap();
    engine.find(b"a.example", 10);
    engine.find(b"x a.example", 30);
    // Counts outlive the snapshot that took them, and the ids.
    engine.remove_value("s2", "a.example", None).unwrap();
    engine.lookup("a.example", None, 20).unwrap();
    let got: Vec<_> = (engine.sightings(true).into_iter())
        .map(|s| (s.source, s.reference, s.value, s.count, s.first_seen, s.last_seen))
        .collect();
    let want = [
        ("s1".to_string(), Some("r1".to_string()), "a.example".to_string(), 3, 10, 30),
        ("s2".to_string(), None, "a.example".to_string(), 2, 10, 30),
    ];
    assert_eq!(got, want);
    assert!(engine.sightings(false).is_empty(), "reset");
    assert!(Engine::with_options(super::tests::options()).sightings(true).is_empty());
}

/// A fresh directory under the system's temporary one.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vedette-engine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn save_and_open_round_trip() {
    let dir = temp_dir("round-trip");
    let engine = Engine::with_options(options());
    let newer = stix(&[("1", "b", "2021-01-01T00:00:00Z", false), ("2", "c", "", true)]);
    engine.load("alliance", newer.as_bytes(), &LoadOptions::default(), false).unwrap();
    engine.load("abuse", b"a.example\nd.example\n", &LoadOptions::default(), false).unwrap();
    engine.compact().unwrap();
    engine.remove_value("abuse", "d.example", None).unwrap();
    engine.add("abuse", "e.example", None, Meta::default()).unwrap();
    engine.set_checkpoint("alliance", "page 7");
    engine.save(&dir).unwrap();
    // Saved again at a later version: the files of the first save go.
    engine.add("abuse", "f.example", None, Meta::default()).unwrap();
    engine.save(&dir).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["base-6.vdx", "delta-6.vdx", "state.json"]);

    let opened = Engine::open_with(&dir, options()).unwrap();
    assert_eq!(records(&opened.snapshot()), records(&engine.snapshot()));
    assert_eq!(opened.version(), engine.version());
    assert_eq!(opened.status().sources, engine.status().sources);
    lock(&opened.shared.state).check();
    // The STIX versions came back: a stale one is still ignored, a revoked id stays so.
    let older = stix(&[("1", "a", "2020-01-01T00:00:00Z", false), ("2", "c", "2030-01-01T00:00:00Z", false)]);
    let update = opened.load("alliance", older.as_bytes(), &LoadOptions::default(), false).unwrap();
    assert_eq!((update.added, update.stale), (0, 2));
    // And a later save of the opened engine opens again.
    opened.remove_value("abuse", "a.example", None).unwrap();
    opened.save(&dir).unwrap();
    let again = Engine::open(&dir).unwrap();
    assert_eq!(records(&again.snapshot()), records(&opened.snapshot()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn open_refuses_what_save_does_not_write() {
    let dir = temp_dir("refuse");
    Engine::new().save(&dir).unwrap();
    let state = std::fs::read_to_string(dir.join("state.json")).unwrap();
    let rows: &[(&str, &str, &str)] = &[
        ("open010", r#""format_version":1"#, r#""format_version":2"#),
        ("open020", r#""base":"base-0.vdx""#, r#""base":"../base-0.vdx""#),
        ("open030", r#""removed":[]"#, r#""removed":[0]"#),
        ("open040", r#""sources":[]"#, r#""sources":[{"name":1}]"#),
        ("open050", r#""version":0"#, r#""version":-1"#),
        (
            "open060",
            r#""sources":[]"#,
            r#""sources":[{"name":"a","stix":{},"last_success":null,"last_error":null,"checkpoint":null},{"name":"a","stix":{},"last_success":null,"last_error":null,"checkpoint":null}]"#,
        ),
    ];
    for &(id, from, to) in rows {
        assert!(state.contains(from), "{id}: {state}");
        std::fs::write(dir.join("state.json"), state.replace(from, to)).unwrap();
        let err = Engine::open(&dir).unwrap_err();
        assert_eq!(err.kind(), EngineErrorKind::State, "{id}: {err}");
    }
    std::fs::write(dir.join("state.json"), &state).unwrap();
    std::fs::write(dir.join("base-0.vdx"), b"VDTINDEX").unwrap();
    let err = Engine::open(&dir).unwrap_err();
    assert!(err.to_string().contains("base-0.vdx: invalid index"), "{err}");
    std::fs::remove_file(dir.join("base-0.vdx")).unwrap();
    assert_eq!(Engine::open(&dir).unwrap_err().kind(), EngineErrorKind::Io);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn engine_is_send_and_sync() {
    fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    check::<Engine>();
    check::<Snapshot>();
}

#[test]
fn a_pause_in_updates_compacts_what_is_pending() {
    let options =
        EngineOptions { compact_idle: std::time::Duration::from_millis(50), ..EngineOptions::default() };
    let engine = Engine::with_options(options);
    engine.add("s1", "a.example", None, Meta::default()).unwrap();
    engine.add("s1", "b.example", None, Meta::default()).unwrap();
    engine.remove_value("s1", "a.example", None).unwrap();
    assert_eq!(engine.status().delta_records, 1, "far below the threshold");
    let start = std::time::Instant::now();
    while engine.status().compactions == 0 && start.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let status = engine.status();
    assert_eq!((status.compactions, status.delta_records, status.removed_records), (1, 0, 0));
    assert_eq!(records(&engine.snapshot()), ["s1|-|b.example|-"]);
    assert!(engine.snapshot().find(b"b.example", 0).len() == 1);
    engine.close();
}

/// A column looked up counts a sighting per row that hits, repeated values included
/// (the batch reuses a repeated value's answer only where nothing is counted).
#[test]
fn lookup_many_counts_every_row() {
    let engine = Engine::with_options(EngineOptions { sightings: true, ..options() });
    engine.add("s1", "a.example", None, Meta::default()).unwrap();
    let column: [&[u8]; 4] = [b"a.example", b"www.a.example", b"a.example", b"b.example"];
    let snapshot = engine.snapshot();
    let hits = snapshot.lookup_many(column.len(), |i| Some(column[i]), None, 5);
    assert_eq!(hits.rows, [0, 1, 2]);
    let counts: Vec<_> = engine.sightings(true).into_iter().map(|s| (s.value, s.count)).collect();
    assert_eq!(counts, [("a.example".to_string(), 3)]);
}
