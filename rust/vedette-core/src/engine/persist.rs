//! The state directory of [`Engine::save`](super::Engine::save) and
//! [`Engine::open`](super::Engine::open).
//!
//! | file | holds |
//! | --- | --- |
//! | `base-<version>.vdx` | the snapshot's base, as [`Index::to_bytes`] writes it |
//! | `delta-<version>.vdx` | the records beside it, the same way |
//! | `state.json` | what an index does not hold: the base records removed, every source's status, checkpoint and STIX versions |
//!
//! `state.json` is the commit point: every file is written to a temporary name, synced
//! and renamed into place, the index files first, so that a crash at any moment leaves
//! the previous state or the new one, never a mix. Files of older versions go after.
//!
//! ```json
//! {"format": "vedette-engine", "format_version": 1, "version": 7,
//!  "base": "base-7.vdx", "delta": "delta-7.vdx", "removed": [3, 17],
//!  "sources": [{"name": "alliance", "last_success": 1713261600000000, "last_error": null,
//!               "checkpoint": "2024-04-16T10:00:00Z",
//!               "stix": {"indicator--1": 1713261600000000, "indicator--2": null,
//!                        "indicator--3": "revoked"}}]}
//! ```
//!
//! Times are microseconds since the epoch; a STIX version is its `modified`, `null` for
//! none, or `"revoked"`.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;
use serde_json::{json, Map, Value};

use super::state::{Record, Source, SourceError, StixVersion};
use super::Snapshot;
use crate::error::EngineError;
use crate::index::Index;
use crate::indicator::IndicatorId;

const FORMAT: &str = "vedette-engine";
const FORMAT_VERSION: u64 = 1;
const STATE_FILE: &str = "state.json";

/// The JSON of `state.json` for `snapshot` and the sources as they are.
pub(super) fn state_json(snapshot: &Snapshot, sources: &[Source]) -> String {
    let version = snapshot.version();
    let sources: Vec<Value> = sources.iter().map(source_json).collect();
    let removed: Vec<u32> = snapshot.dead().iter().collect();
    let state = json!({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": version,
        "base": format!("base-{version}.vdx"),
        "delta": format!("delta-{version}.vdx"),
        "removed": removed,
        "sources": sources,
    });
    state.to_string()
}

fn source_json(source: &Source) -> Value {
    let stix: Map<String, Value> = (source.stix.iter())
        .map(|(id, version)| {
            let version = match version {
                StixVersion::Modified(Some(t)) => json!(t),
                StixVersion::Modified(None) => Value::Null,
                StixVersion::Revoked => json!("revoked"),
            };
            (id.to_string(), version)
        })
        .collect();
    let last_error = source.last_error.as_ref().map(|e| json!({"at": e.at, "message": e.message}));
    json!({
        "name": source.name,
        "last_success": source.last_success,
        "last_error": last_error,
        "checkpoint": source.checkpoint,
        "stix": stix,
    })
}

/// Writes `snapshot` and `state` (from [`state_json`]) into `dir`; see the module docs.
pub(super) fn save(dir: &Path, snapshot: &Snapshot, state: &str) -> Result<(), EngineError> {
    fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let version = snapshot.version();
    let base = format!("base-{version}.vdx");
    let delta = format!("delta-{version}.vdx");
    write_atomic(&dir.join(&base), &snapshot.base().to_bytes())?;
    write_atomic(&dir.join(&delta), &snapshot.delta().to_bytes())?;
    write_atomic(&dir.join(STATE_FILE), state.as_bytes())?;
    // The directory entry of each rename is durable once the directory is synced.
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| EngineError::io(dir, e))?;
    let listing = fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))?;
    for entry in listing.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_index_file(&name) && name != base && name != delta {
            // An old version's file: state.json no longer names it, so leaving it is harmless.
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory, synced
/// before the rename, so that `path` is either its old content or all of the new.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        EngineError::io(path, e)
    })
}

/// `base-<n>.vdx` or `delta-<n>.vdx`: the only names `state.json` may give.
fn is_index_file(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".vdx") else { return false };
    let digits = stem.strip_prefix("base-").or_else(|| stem.strip_prefix("delta-"));
    digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// What a state directory holds.
pub(super) struct Loaded {
    pub version: u64,
    pub base: Index,
    pub dead: RoaringBitmap,
    pub delta: Vec<Record>,
    pub sources: Vec<Source>,
}

/// Reads a state directory written by [`save`], validating every part.
pub(super) fn open(dir: &Path) -> Result<Loaded, EngineError> {
    let path = dir.join(STATE_FILE);
    let text = fs::read(&path).map_err(|e| EngineError::io(&path, e))?;
    let root: Value = serde_json::from_slice(&text).map_err(|e| EngineError::state(&path, e))?;
    let bad = |why: &str| EngineError::state(&path, why);
    if root["format"] != FORMAT || root["format_version"] != FORMAT_VERSION {
        return Err(bad("not a vedette engine state of format version 1"));
    }
    let version = root["version"].as_u64().ok_or_else(|| bad("no version"))?;
    let index = |key: &str| -> Result<Index, EngineError> {
        let name =
            root[key].as_str().filter(|n| is_index_file(n)).ok_or_else(|| bad("no index file name"))?;
        let file: PathBuf = dir.join(name);
        let bytes = fs::read(&file).map_err(|e| EngineError::io(&file, e))?;
        Index::from_bytes(&bytes).map_err(|e| EngineError::index_file(&file, e))
    };
    let (base, delta) = (index("base")?, index("delta")?);
    let mut dead = RoaringBitmap::new();
    for id in root["removed"].as_array().ok_or_else(|| bad("no removed records"))? {
        let id = id.as_u64().filter(|&id| id < base.record_count() as u64);
        dead.insert(id.ok_or_else(|| bad("a removed record is not a base record id"))? as u32);
    }
    let sources = root["sources"].as_array().ok_or_else(|| bad("no sources"))?;
    let sources = sources.iter().map(read_source).collect::<Result<Vec<_>, _>>().map_err(bad)?;
    let mut names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(bad("a source is named twice"));
    }
    let delta = (0..delta.record_count() as u32)
        .map(|id| {
            let record = delta.indicator(IndicatorId(id));
            let ip = delta.entries.get(delta.record_entry[id as usize]).ip;
            Record { kind: record.kind, value: record.value.into(), ip, meta: record.meta.clone() }
        })
        .collect();
    Ok(Loaded { version, base, dead, delta, sources })
}

fn read_source(value: &Value) -> Result<Source, &'static str> {
    let name = value["name"].as_str().ok_or("a source has no name")?.to_string();
    let time = |v: &Value| match v {
        Value::Null => Ok(None),
        v => v.as_i64().map(Some).ok_or("a time is not an integer"),
    };
    let text = |v: &Value| match v {
        Value::Null => Ok(None),
        v => v.as_str().map(|s| Some(s.to_string())).ok_or("a text is not a string"),
    };
    let last_error = match &value["last_error"] {
        Value::Null => None,
        e => {
            let at = time(&e["at"])?.ok_or("an error has no time")?;
            Some(SourceError { at, message: text(&e["message"])?.ok_or("an error has no message")? })
        }
    };
    let stix = value["stix"].as_object().ok_or("a source has no stix versions")?;
    let stix = (stix.iter())
        .map(|(id, v)| {
            let version = match v {
                Value::String(s) if s == "revoked" => StixVersion::Revoked,
                v => StixVersion::Modified(time(v)?),
            };
            Ok((id.as_str().into(), version))
        })
        .collect::<Result<_, &'static str>>()?;
    Ok(Source {
        name,
        stix,
        last_success: time(&value["last_success"])?,
        last_error,
        checkpoint: text(&value["checkpoint"])?,
        ..Source::default()
    })
}
