//! Any sequence of updates leaves the engine answering as an index built from scratch
//! from the records that survive, by the rules of docs/semantics.md §10: a model applies
//! those rules to plain maps, and every answer is compared after every step.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::error::{BuildError, EngineErrorKind};
use crate::normalize::normalize;
use crate::IndexBuilder;

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

#[derive(Clone, Debug)]
struct Row {
    value: usize,
    reference: Option<usize>,
    description: Option<usize>,
    /// 0: none, 1: expired, 2: in the future.
    until: usize,
}

#[derive(Clone, Copy, Debug)]
enum Commit {
    Ok,
    /// One more staged change fails, so none publish.
    Poisoned,
    /// The publish fails: everything is undone.
    BuildFails,
}

#[derive(Clone, Debug)]
enum Op {
    Add(usize, Row),
    RemoveRef(usize, usize),
    RemoveValue(usize, usize),
    Load(usize, Vec<Row>, bool),
    /// Source, `(id, value, modified, revoked)`, sync.
    Stix(usize, Vec<(usize, usize, Option<u8>, bool)>, bool),
    /// Staged together, then committed as the [`Commit`] says.
    Tx(Vec<Op>, Commit),
    Compact,
    /// A compaction begun (its base built at once) and finished at the next `Compact`,
    /// so that the steps between run while it is pending.
    BeginCompaction,
}

fn row() -> impl Strategy<Value = Row> {
    (0..VALUES.len(), proptest::option::of(0..3usize), proptest::option::of(0..2usize), 0..3usize)
        .prop_map(|(value, reference, description, until)| Row { value, reference, description, until })
}

fn simple_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, row()).prop_map(|(s, r)| Op::Add(s, r)),
        1 => (0..3usize, 0..3usize).prop_map(|(s, r)| Op::RemoveRef(s, r)),
        1 => (0..3usize, 0..VALUES.len()).prop_map(|(s, v)| Op::RemoveValue(s, v)),
        2 => (0..3usize, proptest::collection::vec(row(), 0..5), any::<bool>()).prop_map(|(s, rows, sync)| Op::Load(s, rows, sync)),
        2 => (0..3usize, proptest::collection::vec((0..3usize, 0..3usize, proptest::option::of(0..3u8), proptest::bool::weighted(0.15)), 0..4), any::<bool>())
            .prop_map(|(s, objects, sync)| Op::Stix(s, objects, sync)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => simple_op(),
        2 => (proptest::collection::vec(simple_op(), 0..4), prop_oneof![3 => Just(Commit::Ok), 1 => Just(Commit::Poisoned), 1 => Just(Commit::BuildFails)])
            .prop_map(|(ops, commit)| Op::Tx(ops, commit)),
        1 => Just(Op::Compact),
        1 => Just(Op::BeginCompaction),
    ]
}

fn reference(r: usize) -> String {
    format!("r{r}")
}

fn until(choice: usize) -> Option<Timestamp> {
    [None, Some(PAST), Some(FUTURE)][choice]
}

fn meta_of(source: usize, row: &Row) -> Meta {
    let source = SOURCES[source];
    Meta {
        source: (!source.is_empty()).then(|| source.to_string()),
        reference: row.reference.map(reference),
        description: row.description.map(|d| format!("d{d}")),
        valid_until: until(row.until),
        ..Meta::default()
    }
}

/// Domains for STIX patterns.
fn stix_value(v: usize) -> &'static str {
    ["a.example", "b.a.example", "c.example"][v]
}

fn stix_bundle(objects: &[(usize, usize, Option<u8>, bool)]) -> String {
    let objects: Vec<String> = (objects.iter())
        .map(|&(id, value, modified, revoked)| {
            let mut o = format!(
                r#"{{"type": "indicator", "id": "indicator--{id}", "pattern": "[domain-name:value = '{}']""#,
                stix_value(value)
            );
            if let Some(m) = modified {
                o += &format!(r#", "modified": "202{m}-01-01T00:00:00Z""#);
            }
            if revoked {
                o += r#", "revoked": true"#;
            }
            o + "}"
        })
        .collect();
    format!(r#"{{"type": "bundle", "id": "bundle--1", "objects": [{}]}}"#, objects.join(","))
}

fn csv(rows: &[Row]) -> String {
    let mut out = String::from("value,ref,description,valid_until\n");
    for row in rows {
        let time = ["", "1970-01-01T00:00:01Z", "2999-01-01T00:00:00Z"][row.until];
        let reference = row.reference.map(reference).unwrap_or_default();
        let description = row.description.map(|d| format!("d{d}")).unwrap_or_default();
        out += &format!("{},{reference},{description},{time}\n", VALUES[row.value]);
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ModelKey {
    Ref(String),
    Value(Kind, String),
}

type Rec = (Kind, String, Meta);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Version {
    Modified(Option<u8>),
    Revoked,
}

/// The rules of docs/semantics.md §10 on plain maps.
#[derive(Clone, Debug, Default)]
struct Model {
    groups: BTreeMap<(usize, ModelKey), Vec<Rec>>,
    stix: BTreeMap<(usize, usize), Version>,
}

fn record(value: &str, meta: Meta) -> Rec {
    let n = normalize(value, None, false).expect("the alphabet is valid");
    (n.kind, n.value, meta)
}

fn key_of(rec: &Rec) -> ModelKey {
    match &rec.2.reference {
        Some(r) => ModelKey::Ref(r.clone()),
        None => ModelKey::Value(rec.0, rec.1.clone()),
    }
}

impl Model {
    /// A load's records by key, the last of a `(kind, value)` within a key winning.
    fn put(&mut self, source: usize, records: Vec<Rec>, mentioned: &mut Vec<ModelKey>) {
        let mut keyed: BTreeMap<ModelKey, Vec<Rec>> = BTreeMap::new();
        for rec in records {
            let list = keyed.entry(key_of(&rec)).or_default();
            list.retain(|r| (r.0, &r.1) != (rec.0, &rec.1));
            list.push(rec);
        }
        for (key, list) in keyed {
            mentioned.push(key.clone());
            self.groups.insert((source, key), list);
        }
    }

    fn sync(&mut self, source: usize, mentioned: &[ModelKey]) {
        self.groups.retain(|(s, key), _| *s != source || mentioned.contains(key));
    }

    /// Applies `op`; a transaction only when `committed`.
    fn apply(&mut self, op: &Op, committed: bool) {
        match op {
            Op::Add(source, row) => {
                let rec = record(VALUES[row.value], meta_of(*source, row));
                self.groups.insert((*source, key_of(&rec)), vec![rec]);
            }
            Op::RemoveRef(source, r) => {
                self.groups.remove(&(*source, ModelKey::Ref(reference(*r))));
            }
            Op::RemoveValue(source, v) => {
                let gone = record(VALUES[*v], Meta::default());
                for ((s, _), list) in self.groups.iter_mut() {
                    if s == source {
                        list.retain(|r| (r.0, &r.1) != (gone.0, &gone.1));
                    }
                }
                self.groups.retain(|_, list| !list.is_empty());
            }
            Op::Load(source, rows, sync) => {
                let records =
                    rows.iter().map(|row| record(VALUES[row.value], meta_of(*source, row))).collect();
                let mut mentioned = Vec::new();
                self.put(*source, records, &mut mentioned);
                if *sync {
                    self.sync(*source, &mentioned);
                }
            }
            Op::Stix(source, objects, sync) => self.stix(*source, objects, *sync),
            Op::Tx(ops, _) => {
                if committed {
                    ops.iter().for_each(|op| self.apply(op, true));
                }
            }
            Op::Compact | Op::BeginCompaction => {}
        }
    }

    fn stix(&mut self, source: usize, objects: &[(usize, usize, Option<u8>, bool)], sync: bool) {
        // Within the bundle: the newest modified wins, the later on a tie; any revoked
        // version revokes the id.
        let mut winners: BTreeMap<usize, (Option<u8>, usize, bool)> = BTreeMap::new();
        for &(id, value, modified, revoked) in objects {
            let w = winners.entry(id).or_insert((modified, value, false));
            if modified >= w.0 {
                (w.0, w.1) = (modified, value);
            }
            w.2 |= revoked;
        }
        let mut mentioned = Vec::new();
        for (id, (modified, value, revoked)) in winners {
            let key = ModelKey::Ref(format!("indicator--{id}"));
            mentioned.push(key.clone());
            let stored = self.stix.get(&(source, id)).cloned();
            if revoked {
                self.stix.insert((source, id), Version::Revoked);
                self.groups.remove(&(source, key));
                continue;
            }
            let stale = match stored {
                Some(Version::Revoked) => true,
                Some(Version::Modified(have)) => modified < have,
                None => false,
            };
            if stale {
                continue;
            }
            self.stix.insert((source, id), Version::Modified(modified));
            let meta = Meta {
                source: (!SOURCES[source].is_empty()).then(|| SOURCES[source].to_string()),
                reference: Some(format!("indicator--{id}")),
                ..Meta::default()
            };
            self.groups.insert((source, key), vec![record(stix_value(value), meta)]);
        }
        if sync {
            self.sync(source, &mentioned);
        }
    }

    fn records(&self) -> Vec<Rec> {
        let mut out: Vec<Rec> = self.groups.values().flatten().filter(|r| live(&r.2)).cloned().collect();
        out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out
    }
}

/// Not expired: an expired record may or may not be compacted away yet.
fn live(meta: &Meta) -> bool {
    meta.valid_until != Some(PAST)
}

/// Stages `op` on `tx`; the changes of [`Op::Tx`] are simple ones.
fn stage(tx: &mut Transaction<'_>, op: &Op) {
    let staged = match op {
        Op::Add(source, row) => {
            let mut meta = meta_of(*source, row);
            meta.source = Some("ignored: the source argument wins".into());
            tx.add(SOURCES[*source], VALUES[row.value], None, meta).map(drop)
        }
        Op::RemoveRef(source, r) => {
            tx.remove_ref(SOURCES[*source], &reference(*r));
            Ok(())
        }
        Op::RemoveValue(source, v) => tx.remove_value(SOURCES[*source], VALUES[*v], None).map(drop),
        Op::Load(source, rows, sync) => {
            tx.load(SOURCES[*source], csv(rows).as_bytes(), &LoadOptions::default(), *sync).map(drop)
        }
        Op::Stix(source, objects, sync) => {
            let data = stix_bundle(objects);
            tx.load(SOURCES[*source], data.as_bytes(), &LoadOptions::default(), *sync).map(drop)
        }
        Op::Tx(..) | Op::Compact | Op::BeginCompaction => unreachable!("not staged"),
    };
    staged.unwrap();
}

struct Run {
    engine: Engine,
    /// A compaction begun, with what it built.
    pending: Option<Result<compact::Built, BuildError>>,
}

impl Run {
    /// Applies `op`; whether it committed.
    fn apply(&mut self, op: &Op) -> bool {
        match op {
            Op::Tx(ops, commit) => {
                let mut tx = self.engine.transaction();
                ops.iter().for_each(|op| stage(&mut tx, op));
                match commit {
                    Commit::Ok => {
                        tx.commit().unwrap();
                        return true;
                    }
                    Commit::Poisoned => {
                        let _ = tx.add("s0", "999.1.1.1", Some(Kind::Ipv4), Meta::default());
                        assert_eq!(tx.commit().unwrap_err().kind(), EngineErrorKind::Aborted);
                        return false;
                    }
                    Commit::BuildFails => {
                        FAIL_NEXT_BUILD.with(|fail| fail.set(true));
                        // A transaction that changes no record publishes nothing, and
                        // then cannot fail.
                        let committed = tx.commit().map_err(|e| e.kind());
                        FAIL_NEXT_BUILD.with(|fail| fail.set(false));
                        assert!(matches!(committed, Ok(_) | Err(EngineErrorKind::Build)), "{committed:?}");
                        return committed.is_ok();
                    }
                }
            }
            Op::Compact => match self.pending.take() {
                Some(built) => self.engine.shared.finish_compaction(built).unwrap(),
                None => self.engine.compact().unwrap(),
            },
            Op::BeginCompaction => {
                if self.pending.is_none() {
                    let mark = lock(&self.engine.shared.state).begin_compaction(crate::now());
                    self.pending = Some(compact::build(mark));
                }
            }
            op => {
                let mut tx = self.engine.transaction();
                stage(&mut tx, op);
                tx.commit().unwrap();
            }
        }
        true
    }
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
        builder.add(value, Some(*kind), meta.clone()).unwrap();
    }
    builder.build().unwrap()
}

fn compare(engine: &Engine, model: &Model, step: usize) {
    lock(&engine.shared.state).check();
    let snap = engine.snapshot();
    let mut got: Vec<Rec> = snap
        .indicators()
        .filter(|r| live(r.meta))
        .map(|r| (r.kind, r.value.to_string(), r.meta.clone()))
        .collect();
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    let want = model.records();
    assert_eq!(got, want, "records after step {step}");

    let index = index_of(&want);
    let now = crate::now();
    let found = flat(&snap.find(TEXT, now), |id| snap.indicator(id).meta.clone());
    assert_eq!(
        found,
        flat(&index.find(TEXT, now), |id| index.indicator(id).meta.clone()),
        "find after step {step}"
    );
    assert_eq!(snap.is_match(TEXT, now), index.is_match(TEXT, now), "is_match after step {step}");
    for value in VALUES {
        let metas = |ids: Vec<IndicatorId>, m: &dyn Fn(IndicatorId) -> Meta| {
            let mut metas: Vec<String> = ids.into_iter().map(|id| format!("{:?}", m(id))).collect();
            metas.sort();
            metas
        };
        let got = metas(snap.lookup(value, None, now).unwrap(), &|id| snap.indicator(id).meta.clone());
        let want = metas(index.lookup(value, None, now).unwrap(), &|id| index.indicator(id).meta.clone());
        assert_eq!(got, want, "lookup {value} after step {step}");
    }
    let addresses = [0x0a00_0001, 0x0a00_0002, 0x0a00_0102];
    let (mut got, mut want) = ([false; 3], [false; 3]);
    snap.match_ipv4(&addresses, now, &mut got);
    index.match_ipv4(&addresses, now, &mut want);
    assert_eq!(got, want, "match_ipv4 after step {step}");
    // The entry count, against the engine's own records (expired ones included).
    let all: Vec<Rec> = snap.indicators().map(|r| (r.kind, r.value.to_string(), r.meta.clone())).collect();
    assert_eq!(snap.len(), index_of(&all).len(), "len after step {step}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn engine_answers_as_an_index_of_its_surviving_records(
        ops in proptest::collection::vec(op(), 1..14),
        eager in any::<bool>(),
    ) {
        // Eager: compactions (inline ones too) past two pending changes.
        let compact_min = if eager { 2 } else { 4096 };
        let options = EngineOptions { compact_min, background_compaction: false, ..EngineOptions::default() };
        let mut run = Run { engine: Engine::with_options(options), pending: None };
        let mut model = Model::default();
        for (step, op) in ops.iter().enumerate() {
            let committed = run.apply(op);
            model.apply(op, committed);
            compare(&run.engine, &model, step);
        }
        run.apply(&Op::Compact);
        compare(&run.engine, &model, ops.len());
    }
}
