//! The live engine's operations, decoded from the fuzzer's bytes with `arbitrary`, and two
//! oracles: the engine must answer as an [`Index`] built from scratch of the records its
//! snapshot holds, and, as long as every change is one the model follows, hold exactly
//! the records the rules of docs/semantics.md §10 leave. This is the idea of the core's
//! `engine/proptests.rs`, steered by coverage, plus feeds of any bytes and saves.

mod model;

use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};
use vedette_core::normalize::{self, IpRange};
use vedette_core::{
    Engine, EngineErrorKind, EngineOptions, Index, IndexBuilder, IndicatorId, Kind, LoadOptions, Matches,
    Meta, Snapshot, Timestamp, Transaction,
};

use self::model::{live, Model, Rec};
use crate::check::check_matches;
use crate::fixed::AT;

const SOURCES: [&str; 3] = ["s0", "s1", ""];
const VALUES: [&str; 9] = [
    "a.example",
    "b.a.example",
    "c.example",
    "10.0.0.1",
    "10.0.0.0/24",
    "2001:db8::1",
    "d41d8cd98f00b204e9800998ecf8427e",
    "http://c.example/x",
    "mail@c.example",
];
const TEXT: &[u8] = b"a.example b.a.example http://c.example/x 10.0.0.1 [2001:db8::1] \
    d41d8cd98f00b204e9800998ecf8427e mail@c.example ::ffff:10.0.0.9";
/// 1970-01-01T00:00:01Z: long expired. 2999-01-01: far off.
const PAST: Timestamp = 1_000_000;
const FUTURE: Timestamp = 32_472_144_000_000_000;

/// Limits that keep one input fast: longer scripts find little more.
const MAX_OPS: usize = 24;
const MAX_CHANGES: usize = 6;
const MAX_ROWS: usize = 8;
const MAX_FEED: usize = 4096;
/// How many of the snapshot's own values are added to the text and looked up.
const MAX_OWN_VALUES: usize = 32;

/// One CSV row of a load, or one added record.
#[derive(Arbitrary, Clone, Debug)]
pub struct Row {
    value: u8,
    reference: Option<u8>,
    description: Option<u8>,
    /// 0: none, 1: expired, 2: in the future.
    until: u8,
}

/// One STIX indicator of a bundle: an id of three, a domain of three.
#[derive(Arbitrary, Clone, Debug)]
pub struct StixObject {
    id: u8,
    value: u8,
    modified: Option<u8>,
    revoked: bool,
}

/// One change staged on a transaction.
#[derive(Arbitrary, Clone, Debug)]
pub enum Change {
    Add {
        source: u8,
        row: Row,
    },
    RemoveRef {
        source: u8,
        reference: u8,
    },
    RemoveValue {
        source: u8,
        value: u8,
    },
    Load {
        source: u8,
        rows: Vec<Row>,
        sync: bool,
    },
    Stix {
        source: u8,
        objects: Vec<StixObject>,
        sync: bool,
    },
    /// A feed of any bytes, its format sniffed: the model cannot follow it.
    Feed {
        source: u8,
        data: Vec<u8>,
        sync: bool,
    },
}

/// One step of a script.
#[derive(Arbitrary, Clone, Debug)]
pub enum Op {
    /// One change, committed alone.
    Change(Change),
    /// Changes committed together; `poisoned` stages one more that fails, so that none
    /// publish.
    Tx {
        changes: Vec<Change>,
        poisoned: bool,
    },
    Compact,
    /// Saves the engine and goes on with the engine opened from what was saved.
    SaveAndReopen,
}

/// What one input does.
#[derive(Debug)]
pub struct Script {
    /// Compactions (inline ones too) past two pending changes.
    eager: bool,
    /// Whether feeds of any bytes are loaded: without them, the model follows every step
    /// of the script.
    feeds: bool,
    ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Script {
    /// Two flags, then operations until the bytes run out. (A derived `Vec` stops at each
    /// element with even odds, so that most scripts would be of one step.)
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let (eager, feeds) = (u.arbitrary()?, u.arbitrary()?);
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(u.arbitrary()?);
        }
        Ok(Script { eager, feeds, ops })
    }
}

fn pick<T: Copy>(list: &[T], i: u8) -> T {
    list[usize::from(i) % list.len()]
}

fn reference(r: u8) -> String {
    format!("r{}", r % 3)
}

fn until(choice: u8) -> Option<Timestamp> {
    [None, Some(PAST), Some(FUTURE)][usize::from(choice % 3)]
}

fn source_name(source: u8) -> Option<String> {
    let name = pick(&SOURCES, source);
    (!name.is_empty()).then(|| name.to_string())
}

fn meta_of(source: u8, row: &Row) -> Meta {
    Meta {
        source: source_name(source),
        reference: row.reference.map(reference),
        description: row.description.map(|d| format!("d{}", d % 2)),
        valid_until: until(row.until),
        ..Meta::default()
    }
}

fn stix_value(v: u8) -> &'static str {
    pick(&["a.example", "b.a.example", "c.example"], v)
}

fn stix_bundle(objects: &[StixObject]) -> String {
    let objects: Vec<String> = (objects.iter())
        .map(|o| {
            let mut json = format!(
                r#"{{"type": "indicator", "id": "indicator--{}", "pattern": "[domain-name:value = '{}']""#,
                o.id % 3,
                stix_value(o.value)
            );
            if let Some(m) = o.modified {
                json += &format!(r#", "modified": "202{}-01-01T00:00:00Z""#, m % 3);
            }
            if o.revoked {
                json += r#", "revoked": true"#;
            }
            json + "}"
        })
        .collect();
    format!(r#"{{"type": "bundle", "id": "bundle--1", "objects": [{}]}}"#, objects.join(","))
}

fn csv(rows: &[Row]) -> String {
    let mut out = String::from("value,ref,description,valid_until\n");
    for row in rows {
        let time = ["", "1970-01-01T00:00:01Z", "2999-01-01T00:00:00Z"][usize::from(row.until % 3)];
        let reference = row.reference.map(reference).unwrap_or_default();
        let description = row.description.map(|d| format!("d{}", d % 2)).unwrap_or_default();
        out += &format!("{},{reference},{description},{time}\n", pick(&VALUES, row.value));
    }
    out
}

/// Stages `change` on `tx`; `Err` when staging fails, which poisons the transaction.
fn stage(tx: &mut Transaction<'_>, change: &Change) -> Result<(), ()> {
    let staged = match change {
        Change::Add { source, row } => {
            let mut meta = meta_of(*source, row);
            meta.source = Some("ignored: the source argument wins".into());
            tx.add(pick(&SOURCES, *source), pick(&VALUES, row.value), None, meta).map(drop)
        }
        Change::RemoveRef { source, reference: r } => {
            tx.remove_ref(pick(&SOURCES, *source), &reference(*r));
            Ok(())
        }
        Change::RemoveValue { source, value } => {
            tx.remove_value(pick(&SOURCES, *source), pick(&VALUES, *value), None).map(drop)
        }
        Change::Load { source, rows, sync } => {
            let data = csv(&rows[..rows.len().min(MAX_ROWS)]);
            tx.load(pick(&SOURCES, *source), data.as_bytes(), &LoadOptions::default(), *sync).map(drop)
        }
        Change::Stix { source, objects, sync } => {
            let data = stix_bundle(&objects[..objects.len().min(MAX_ROWS)]);
            tx.load(pick(&SOURCES, *source), data.as_bytes(), &LoadOptions::default(), *sync).map(drop)
        }
        Change::Feed { source, data, sync } => {
            let data = &data[..data.len().min(MAX_FEED)];
            return tx
                .load(pick(&SOURCES, *source), data, &LoadOptions::default(), *sync)
                .map(drop)
                .map_err(drop);
        }
    };
    staged.unwrap_or_else(|e| panic!("staging {change:?} fails: {e}"));
    Ok(())
}

/// Bounds a change's lists, so that the model sees what the engine was given.
fn bounded(change: &Change) -> Change {
    let mut change = change.clone();
    match &mut change {
        Change::Load { rows, .. } => rows.truncate(MAX_ROWS),
        Change::Stix { objects, .. } => objects.truncate(MAX_ROWS),
        Change::Feed { data, .. } => data.truncate(MAX_FEED),
        _ => {}
    }
    change
}

/// Commits `changes` (poisoned or not); which of them published.
fn commit(engine: &Engine, changes: &[Change], poisoned: bool) -> bool {
    let version = engine.version();
    let mut tx = engine.transaction();
    let mut failed = false;
    for change in changes {
        failed |= stage(&mut tx, change).is_err();
    }
    if poisoned {
        assert!(
            tx.add("s0", "999.1.1.1", Some(Kind::Ipv4), Meta::default()).is_err(),
            "999.1.1.1 is an address"
        );
        failed = true;
    }
    match tx.commit() {
        Ok(_) => {
            assert!(!failed, "a transaction with a failed change commits");
            true
        }
        Err(err) => {
            assert!(failed, "a transaction of good changes fails: {err}");
            assert_eq!(
                err.kind(),
                EngineErrorKind::Aborted,
                "a poisoned transaction fails as {:?}",
                err.kind()
            );
            assert_eq!(engine.version(), version, "a failed transaction publishes");
            false
        }
    }
}

/// Where [`Op::SaveAndReopen`] saves: one directory per fuzzing process.
fn state_dir() -> PathBuf {
    std::env::temp_dir().join(format!("vedette-fuzz-engine-{}", std::process::id()))
}

fn owned_records(snapshot: &Snapshot) -> Vec<Rec> {
    let mut out: Vec<Rec> =
        snapshot.indicators().map(|r| (r.kind, r.value.to_string(), r.meta.clone())).collect();
    out.sort_by_cached_key(|r| format!("{r:?}"));
    out
}

fn save_and_reopen(engine: Engine, options: &EngineOptions) -> Engine {
    let dir = state_dir();
    let _ = std::fs::remove_dir_all(&dir);
    engine.save(&dir).unwrap_or_else(|e| panic!("save fails: {e}"));
    let reopened =
        Engine::open_with(&dir, options.clone()).unwrap_or_else(|e| panic!("open of a save fails: {e}"));
    let (before, after) = (engine.snapshot(), reopened.snapshot());
    assert_eq!(after.version(), before.version(), "the version changes through save and open");
    crate::assert_same(
        &owned_records(&after),
        &owned_records(&before),
        "the records change through save and open",
    );
    reopened
}

/// `(start, end, kind, metadata)` per record of every match, sorted.
fn flat(matches: &Matches, meta: impl Fn(IndicatorId) -> Meta) -> Vec<String> {
    let mut out: Vec<String> = (matches.iter())
        .flat_map(|m| m.indicators.iter().map(move |&id| (m.start, m.end, m.kind, id)))
        .map(|(start, end, kind, id)| format!("{start} {end} {kind} {:?}", meta(id)))
        .collect();
    out.sort();
    out
}

fn index_of(records: &[Rec]) -> Index {
    let mut builder = IndexBuilder::new();
    for (kind, value, meta) in records {
        builder
            .add(value, Some(*kind), meta.clone())
            .unwrap_or_else(|e| panic!("the engine holds {value:?}: {e}"));
    }
    builder.build().expect("a few records build")
}

/// The engine's answers against an index of its snapshot's records, and its live records
/// against the model's when there is one.
fn compare(engine: &Engine, model: Option<&Model>, step: usize) {
    let snap = engine.snapshot();
    let all = owned_records(&snap);
    if let Some(model) = model {
        let live: Vec<Rec> = all.iter().filter(|r| live(&r.2)).cloned().collect();
        crate::assert_same(&live, &model.records(), &format!("records after step {step}"));
    }
    let index = index_of(&all);
    assert_eq!(snap.len(), index.len(), "len after step {step}");
    assert_eq!(snap.record_count(), all.len(), "record_count after step {step}");

    let own: Vec<&str> = all.iter().take(MAX_OWN_VALUES).map(|r| r.1.as_str()).collect();
    let mut text = TEXT.to_vec();
    for value in &own {
        text.push(b'\n');
        text.extend_from_slice(value.as_bytes());
    }
    let found = snap.find(&text, AT);
    check_matches(&text, AT, &found, |id| snap.get(id.as_u32()).map(|r| (r.kind, r.meta)));
    let want = index.find(&text, AT);
    let want = flat(&want, |id| index.indicator(id).meta.clone());
    let got = flat(&found, |id| snap.indicator(id).meta.clone());
    crate::assert_same(&got, &want, &format!("find after step {step}"));
    assert_eq!(snap.is_match(&text, AT), !want.is_empty(), "is_match after step {step}");
    let merged = snap.to_index().expect("a snapshot's records fit one index");
    assert_eq!(
        flat(&merged.find(&text, AT), |id| merged.indicator(id).meta.clone()),
        want,
        "to_index after step {step}"
    );

    let metas = |ids: Vec<IndicatorId>, meta: &dyn Fn(IndicatorId) -> Meta| {
        let mut metas: Vec<String> = ids.into_iter().map(|id| format!("{:?}", meta(id))).collect();
        metas.sort();
        metas
    };
    let mut v4 = vec![0x0a00_0001, 0x0a00_0002, 0x0a00_0102];
    let mut v6 = vec![0x2001_0db8_u128 << 96 | 1];
    for value in VALUES.iter().chain(&own) {
        let got = snap.lookup(value, None, AT).map(|ids| metas(ids, &|id| snap.indicator(id).meta.clone()));
        let want =
            index.lookup(value, None, AT).map(|ids| metas(ids, &|id| index.indicator(id).meta.clone()));
        assert_eq!(got.ok(), want.ok(), "lookup {value} after step {step}");
        match normalize::normalize(value, None, false).ok().and_then(|n| n.ip) {
            Some(IpRange::V4 { first, last }) => v4.extend([first, last]),
            Some(IpRange::V6 { first, last }) => v6.extend([first, last]),
            None => {}
        }
    }
    let (mut got, mut want) = (vec![false; v4.len()], vec![false; v4.len()]);
    snap.match_ipv4(&v4, AT, &mut got);
    index.match_ipv4(&v4, AT, &mut want);
    assert_eq!(got, want, "match_ipv4 after step {step}");
    let (mut got, mut want) = (vec![false; v6.len()], vec![false; v6.len()]);
    snap.match_ipv6(&v6, AT, &mut got);
    index.match_ipv6(&v6, AT, &mut want);
    assert_eq!(got, want, "match_ipv6 after step {step}");
}

/// Runs `script` on a fresh engine, comparing after every step.
pub fn run(script: &Script) {
    let mut options = EngineOptions::default();
    options.compact_min = if script.eager { 2 } else { 4096 };
    options.background_compaction = false;
    let mut engine = Engine::with_options(options.clone());
    let mut model = Some(Model::default());
    let wanted = |change: &&Change| script.feeds || !matches!(change, Change::Feed { .. });
    for (step, op) in script.ops.iter().take(MAX_OPS).enumerate() {
        match op {
            Op::Change(change) if wanted(&change) => {
                let change = bounded(change);
                if commit(&engine, std::slice::from_ref(&change), false) {
                    model = model.and_then(|mut m| m.apply(&change).then_some(m));
                }
            }
            Op::Tx { changes, poisoned } => {
                let changes: Vec<Change> =
                    changes.iter().filter(wanted).take(MAX_CHANGES).map(bounded).collect();
                if commit(&engine, &changes, *poisoned) {
                    model = model.and_then(|mut m| changes.iter().all(|c| m.apply(c)).then_some(m));
                }
            }
            Op::Compact => engine.compact().unwrap_or_else(|e| panic!("compact fails: {e}")),
            Op::SaveAndReopen => engine = save_and_reopen(engine, &options),
            Op::Change(_) => {}
        }
        compare(&engine, model.as_ref(), step);
    }
    engine.compact().unwrap_or_else(|e| panic!("compact fails: {e}"));
    compare(&engine, model.as_ref(), script.ops.len().min(MAX_OPS));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: u8, reference: Option<u8>) -> Row {
        Row { value, reference, description: None, until: 0 }
    }

    fn load(rows: Vec<Row>, sync: bool) -> Op {
        Op::Change(Change::Load { source: 0, rows, sync })
    }

    /// Scripts whose every rule the model states: each runs clean, and each fails when
    /// the engine or the model gets its rule wrong.
    #[test]
    fn scripts_of_each_rule_run_clean() {
        let stix = |id, value, modified, revoked| StixObject { id, value, modified, revoked };
        let scripts = [
            // sync: the second load leaves out a.example, which goes.
            vec![load(vec![row(0, None), row(2, None)], false), load(vec![row(2, None)], true)],
            // A ref's records are replaced whole by a later load of the ref.
            vec![load(vec![row(0, Some(1)), row(3, Some(1))], false), load(vec![row(5, Some(1))], false)],
            vec![
                Op::Change(Change::Add { source: 1, row: row(6, Some(0)) }),
                Op::Change(Change::RemoveRef { source: 1, reference: 0 }),
            ],
            vec![
                Op::Change(Change::Stix {
                    source: 0,
                    objects: vec![stix(0, 0, Some(2), false)],
                    sync: false,
                }),
                Op::Change(Change::Stix {
                    source: 0,
                    objects: vec![stix(0, 1, Some(1), false)],
                    sync: false,
                }),
                Op::Change(Change::Stix { source: 0, objects: vec![stix(0, 1, Some(2), true)], sync: false }),
            ],
            vec![Op::Tx { changes: vec![Change::RemoveValue { source: 0, value: 2 }], poisoned: true }],
            vec![load(vec![row(4, None), row(7, None)], false), Op::SaveAndReopen, Op::Compact],
        ];
        for (eager, ops) in [false, true].into_iter().flat_map(|e| scripts.iter().map(move |ops| (e, ops))) {
            run(&Script { eager, feeds: false, ops: ops.clone() });
        }
    }
}
