//! `vedette.Engine`, its `Snapshot`s, `Transaction`s and `Update`s: the live engine of
//! the core (docs/semantics.md §10), bound thinly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use numpy::PyArray1;
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use vedette_core::{EngineOptions, IndicatorId, Kind, LoadOptions, Meta, Timestamp};

use crate::array;
use crate::convert::{self, FeedInput, Indicator, LoadReport};
use crate::errors::Result;
use crate::index::{self, Haystack, PyIndex};

/// A live set of indicators that updates publish to while readers match; safe to share
/// between threads. Subclassable: `vedette.Engine` adds the background pollers in Python.
#[pyclass(frozen, subclass, name = "Engine", module = "vedette._core")]
pub(crate) struct PyEngine {
    inner: vedette_core::Engine,
    /// Whether the engine counts sightings: then a search reads the clock, so that the
    /// sightings say when.
    sightings: bool,
}

/// One version of an engine's records, pinned: updates after it do not change it.
#[pyclass(frozen, name = "Snapshot", module = "vedette._core")]
pub(crate) struct PySnapshot {
    inner: Arc<vedette_core::Snapshot>,
    sightings: bool,
    /// The Python object of each record hit so far, shared by its hits.
    records: Mutex<HashMap<u32, Py<Indicator>>>,
}

/// What one update (or one transaction) did.
#[pyclass(frozen, get_all, module = "vedette._core")]
pub(crate) struct Update {
    version: u64,
    added: usize,
    removed: usize,
    unchanged: usize,
    stale: usize,
    reports: Vec<Py<LoadReport>>,
}

#[pymethods]
impl Update {
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        convert::repr(slf.as_any(), &["version", "added", "removed", "unchanged", "stale", "reports"])
    }
}

/// Changes recorded in a `with engine.transaction() as tx:` block, published together
/// when it ends without an exception.
#[pyclass(name = "Transaction", module = "vedette._core")]
pub(crate) struct PyTransaction {
    engine: Py<PyEngine>,
    ops: Vec<Op>,
    /// What the commit did, once the block has ended.
    #[pyo3(get)]
    update: Option<Py<Update>>,
    ended: bool,
}

/// One change, recorded: the core stages it on a transaction.
enum Op {
    Add { source: String, value: String, kind: Option<Kind>, meta: Meta },
    RemoveRef { source: String, reference: String },
    RemoveValue { source: String, value: String, kind: Option<Kind> },
    Load { source: String, feed: FeedInput, options: LoadOptions, sync: bool },
}

#[allow(clippy::too_many_arguments)]
fn add_op(
    value: String,
    kind: Option<&str>,
    source: String,
    reference: Option<String>,
    confidence: Option<u8>,
    tlp: Option<&str>,
    tags: Vec<String>,
    valid_from: Option<&Bound<'_, PyAny>>,
    valid_until: Option<&Bound<'_, PyAny>>,
    description: Option<String>,
) -> Result<Op> {
    let meta = convert::meta(None, reference, confidence, tlp, tags, valid_from, valid_until, description)?;
    Ok(Op::Add { source, value, kind: convert::kind(kind)?, meta })
}

fn remove_op(
    source: String,
    reference: Option<String>,
    value: Option<String>,
    kind: Option<&str>,
) -> Result<Op> {
    match (reference, value) {
        (Some(reference), None) if kind.is_none() => Ok(Op::RemoveRef { source, reference }),
        (None, Some(value)) => Ok(Op::RemoveValue { source, value, kind: convert::kind(kind)? }),
        (Some(_), None) => Err(PyValueError::new_err("kind goes with value, not with ref").into()),
        _ => Err(PyValueError::new_err("give exactly one of ref and value").into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn load_op(
    feed: FeedInput,
    format: Option<&str>,
    source: String,
    sync: bool,
    kind: Option<&str>,
    strict: bool,
    keep_non_ids: bool,
    zeek_domain_as_hostname: bool,
) -> Result<Op> {
    let options =
        convert::load_options(&feed, format, None, kind, strict, keep_non_ids, zeek_domain_as_hostname)?;
    Ok(Op::Load { source, feed, options, sync })
}

/// Stages `ops` on one core transaction and commits it, without the GIL: the first
/// failed operation raises, and nothing is published then.
fn apply(py: Python<'_>, engine: &vedette_core::Engine, ops: Vec<Op>) -> Result<Py<Update>> {
    let update = py.detach(|| -> Result<vedette_core::Update> {
        let mut tx = engine.transaction();
        for op in ops {
            match op {
                Op::Add { source, value, kind, meta } => {
                    tx.add(&source, &value, kind, meta)?;
                }
                Op::RemoveRef { source, reference } => {
                    tx.remove_ref(&source, &reference);
                }
                Op::RemoveValue { source, value, kind } => {
                    tx.remove_value(&source, &value, kind)?;
                }
                Op::Load { source, feed, options, sync } => {
                    // An engine load is a builder load with the default limits.
                    let data = feed.read(vedette_core::Limits::default().max_feed_bytes)?;
                    tx.load(&source, &data, &options, sync)?;
                }
            }
        }
        Ok(tx.commit()?)
    })?;
    let reports =
        (update.reports.into_iter()).map(|r| Py::new(py, LoadReport::from(r))).collect::<PyResult<_>>()?;
    let update = Update {
        version: update.version,
        added: update.added,
        removed: update.removed,
        unchanged: update.unchanged,
        stale: update.stale,
        reports,
    };
    Ok(Py::new(py, update)?)
}

impl PySnapshot {
    fn new(inner: Arc<vedette_core::Snapshot>, sightings: bool) -> PySnapshot {
        PySnapshot { inner, sightings, records: Mutex::new(HashMap::new()) }
    }

    fn at(&self, at: Option<&Bound<'_, PyAny>>) -> Result<Timestamp> {
        convert::at(at, self.sightings || self.inner.has_validity_windows())
    }

    /// The shared object of record `id`, made at its first hit. The lock is never held
    /// while Python runs, so another thread's call cannot deadlock on it.
    fn record(&self, py: Python<'_>, id: IndicatorId) -> PyResult<Py<Indicator>> {
        let records = || self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(record) = records().get(&id.as_u32()) {
            return Ok(record.clone_ref(py));
        }
        let made = Py::new(py, convert::indicator(py, self.inner.indicator(id))?)?;
        Ok(records().entry(id.as_u32()).or_insert(made).clone_ref(py))
    }
}

#[pymethods]
impl PySnapshot {
    #[getter]
    fn version(&self) -> u64 {
        self.inner.version()
    }

    #[pyo3(signature = (data, *, at=None))]
    fn find<'py>(
        &self,
        py: Python<'py>,
        data: Haystack,
        at: Option<&Bound<'_, PyAny>>,
    ) -> Result<Bound<'py, PyTuple>> {
        let at = self.at(at)?;
        let matches = index::find(py, &data, |text| self.inner.find(text, at));
        Ok(index::matches_of(py, &matches, |id| self.record(py, id))?)
    }

    #[pyo3(signature = (data, *, at=None))]
    fn is_match(&self, py: Python<'_>, data: Haystack, at: Option<&Bound<'_, PyAny>>) -> Result<bool> {
        let at = self.at(at)?;
        Ok(index::detach_if_long(py, data.bytes().len(), || self.inner.is_match(data.bytes(), at)))
    }

    #[pyo3(signature = (value, kind=None, *, at=None))]
    fn lookup(
        &self,
        py: Python<'_>,
        value: &str,
        kind: Option<&str>,
        at: Option<&Bound<'_, PyAny>>,
    ) -> Result<Vec<Py<Indicator>>> {
        let (kind, at) = (convert::kind(kind)?, self.at(at)?);
        let ids = py.detach(|| self.inner.lookup(value, kind, at))?;
        Ok(ids.iter().map(|&id| self.record(py, id)).collect::<PyResult<_>>()?)
    }

    #[pyo3(signature = (addresses, *, at=None))]
    fn match_ipv4<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyArray1<bool>>> {
        let at = self.at(at)?;
        array::ipv4(py, addresses, |a, out| self.inner.match_ipv4(a, at, out))
    }

    #[pyo3(signature = (addresses, *, at=None))]
    fn match_ipv6<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyArray1<bool>>> {
        let at = self.at(at)?;
        array::ipv6(py, addresses, |a, out| self.inner.match_ipv6(a, at, out))
    }

    #[pyo3(signature = (src, dst, *, at=None))]
    #[allow(clippy::type_complexity)]
    fn match_flows<'py>(
        &self,
        py: Python<'py>,
        src: &Bound<'py, PyAny>,
        dst: &Bound<'py, PyAny>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> Result<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>)> {
        let at = self.at(at)?;
        array::flows(py, src, dst, |s, d| self.inner.match_flows(s, d, at))
    }

    #[pyo3(signature = (values, kind=None, *, at=None))]
    #[allow(clippy::type_complexity)]
    fn lookup_many<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        kind: Option<&str>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> Result<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>)> {
        let (kind, at) = (convert::kind(kind)?, self.at(at)?);
        array::values(py, values, |chunk| self.inner.lookup_many(chunk.len(), |row| chunk.get(row), kind, at))
    }

    /// The record with id `id`, as a match of this snapshot gave it.
    fn indicator(&self, py: Python<'_>, id: u32) -> PyResult<Py<Indicator>> {
        let record =
            (self.inner.get(id)).ok_or_else(|| PyIndexError::new_err(format!("no indicator {id}")))?;
        self.record(py, record.id)
    }

    fn indicators(&self, py: Python<'_>) -> PyResult<Vec<Indicator>> {
        self.inner.indicators().map(|record| convert::indicator(py, record)).collect()
    }

    /// The snapshot as one `Index` (its record ids may differ from the snapshot's).
    fn to_index(&self, py: Python<'_>) -> Result<PyIndex> {
        let index = py.detach(|| self.inner.to_index())?;
        Ok(PyIndex::from_arc(index))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        let (version, entries, records) = (self.inner.version(), self.inner.len(), self.inner.record_count());
        format!("Snapshot(version={version}, entries={entries}, records={records})")
    }
}

impl PyEngine {
    fn options(sightings: bool) -> EngineOptions {
        let mut options = EngineOptions::default();
        options.sightings = sightings;
        options
    }

    /// The current snapshot: each read takes one, and resolves its ids with it.
    fn current(&self) -> PySnapshot {
        PySnapshot::new(self.inner.snapshot(), self.sightings)
    }
}

#[pymethods]
impl PyEngine {
    /// `_dir` is how `open` makes an instance of a subclass: PyO3 builds one only through
    /// the constructor.
    #[new]
    #[pyo3(signature = (index=None, *, sightings=false, _dir=None))]
    fn new(
        py: Python<'_>,
        index: Option<PyRef<'_, PyIndex>>,
        sightings: bool,
        _dir: Option<PathBuf>,
    ) -> Result<PyEngine> {
        let options = PyEngine::options(sightings);
        let inner = match (index, _dir) {
            (None, None) => vedette_core::Engine::with_options(options),
            (Some(index), None) => {
                let index = Arc::clone(&index.inner);
                py.detach(|| vedette_core::Engine::from_index((*index).clone(), options))
            }
            (None, Some(dir)) => py.detach(|| vedette_core::Engine::open_with(&dir, options))?,
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err("give an index or a dir, not both").into())
            }
        };
        Ok(PyEngine { inner, sightings })
    }

    /// Reopens what `save` wrote into `dir`, as an instance of `cls`.
    #[classmethod]
    #[pyo3(signature = (dir, *, sightings=false))]
    fn open<'py>(cls: &Bound<'py, PyType>, dir: PathBuf, sightings: bool) -> PyResult<Bound<'py, PyAny>> {
        let kwargs = PyDict::new(cls.py());
        kwargs.set_item("sightings", sightings)?;
        kwargs.set_item("_dir", dir)?;
        cls.call((), Some(&kwargs))
    }

    #[pyo3(signature = (value, kind=None, *, source, r#ref=None, confidence=None, tlp=None,
                        tags=Vec::new(), valid_from=None, valid_until=None, description=None))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        py: Python<'_>,
        value: String,
        kind: Option<&str>,
        source: String,
        r#ref: Option<String>,
        confidence: Option<u8>,
        tlp: Option<&str>,
        tags: Vec<String>,
        valid_from: Option<&Bound<'_, PyAny>>,
        valid_until: Option<&Bound<'_, PyAny>>,
        description: Option<String>,
    ) -> Result<Py<Update>> {
        let op =
            add_op(value, kind, source, r#ref, confidence, tlp, tags, valid_from, valid_until, description)?;
        apply(py, &self.inner, vec![op])
    }

    #[pyo3(signature = (*, source, r#ref=None, value=None, kind=None))]
    fn remove(
        &self,
        py: Python<'_>,
        source: String,
        r#ref: Option<String>,
        value: Option<String>,
        kind: Option<&str>,
    ) -> Result<Py<Update>> {
        apply(py, &self.inner, vec![remove_op(source, r#ref, value, kind)?])
    }

    #[pyo3(signature = (feed, format=None, *, source, sync=false, kind=None, strict=false,
                        keep_non_ids=false, zeek_domain_as_hostname=false))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        &self,
        py: Python<'_>,
        feed: FeedInput,
        format: Option<&str>,
        source: String,
        sync: bool,
        kind: Option<&str>,
        strict: bool,
        keep_non_ids: bool,
        zeek_domain_as_hostname: bool,
    ) -> Result<Py<Update>> {
        let op = load_op(feed, format, source, sync, kind, strict, keep_non_ids, zeek_domain_as_hostname)?;
        apply(py, &self.inner, vec![op])
    }

    fn transaction(slf: Bound<'_, Self>) -> PyTransaction {
        PyTransaction { engine: slf.unbind(), ops: Vec::new(), update: None, ended: false }
    }

    fn snapshot(&self) -> PySnapshot {
        self.current()
    }

    #[getter]
    fn version(&self) -> u64 {
        self.inner.version()
    }

    #[pyo3(signature = (data, *, at=None))]
    fn find<'py>(
        &self,
        py: Python<'py>,
        data: Haystack,
        at: Option<&Bound<'_, PyAny>>,
    ) -> Result<Bound<'py, PyTuple>> {
        self.current().find(py, data, at)
    }

    #[pyo3(signature = (data, *, at=None))]
    fn is_match(&self, py: Python<'_>, data: Haystack, at: Option<&Bound<'_, PyAny>>) -> Result<bool> {
        self.current().is_match(py, data, at)
    }

    #[pyo3(signature = (value, kind=None, *, at=None))]
    fn lookup(
        &self,
        py: Python<'_>,
        value: &str,
        kind: Option<&str>,
        at: Option<&Bound<'_, PyAny>>,
    ) -> Result<Vec<Py<Indicator>>> {
        self.current().lookup(py, value, kind, at)
    }

    #[pyo3(signature = (addresses, *, at=None))]
    fn match_ipv4<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyArray1<bool>>> {
        self.current().match_ipv4(py, addresses, at)
    }

    #[pyo3(signature = (addresses, *, at=None))]
    fn match_ipv6<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyArray1<bool>>> {
        self.current().match_ipv6(py, addresses, at)
    }

    /// As `Snapshot.match_flows` on the current snapshot: to resolve the ids, take a
    /// `snapshot()` and match on it.
    #[pyo3(signature = (src, dst, *, at=None))]
    #[allow(clippy::type_complexity)]
    fn match_flows<'py>(
        &self,
        py: Python<'py>,
        src: &Bound<'py, PyAny>,
        dst: &Bound<'py, PyAny>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> Result<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>)> {
        self.current().match_flows(py, src, dst, at)
    }

    /// As `Snapshot.lookup_many` on the current snapshot.
    #[pyo3(signature = (values, kind=None, *, at=None))]
    #[allow(clippy::type_complexity)]
    fn lookup_many<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        kind: Option<&str>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> Result<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>)> {
        self.current().lookup_many(py, values, kind, at)
    }

    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        convert::engine_status(py, &self.inner.status())
    }

    #[pyo3(signature = (reset=true))]
    fn sightings<'py>(&self, py: Python<'py>, reset: bool) -> PyResult<Bound<'py, PyList>> {
        convert::sightings(py, &self.inner.sightings(reset))
    }

    fn set_checkpoint(&self, source: &str, checkpoint: &str) {
        self.inner.set_checkpoint(source, checkpoint)
    }

    fn note_error(&self, source: &str, message: &str) {
        self.inner.note_error(source, message)
    }

    fn compact(&self, py: Python<'_>) -> Result<()> {
        Ok(py.detach(|| self.inner.compact())?)
    }

    fn save(&self, py: Python<'_>, dir: PathBuf) -> Result<()> {
        Ok(py.detach(|| self.inner.save(&dir))?)
    }

    fn close(&self, py: Python<'_>) {
        py.detach(|| self.inner.close())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        self.close(py);
        false
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("Engine(version={}, entries={})", self.inner.version(), self.inner.len())
    }
}

impl PyTransaction {
    fn record(&mut self, op: Op) -> Result<()> {
        if self.ended {
            return Err(PyValueError::new_err("the transaction has ended").into());
        }
        self.ops.push(op);
        Ok(())
    }
}

#[pymethods]
impl PyTransaction {
    #[pyo3(signature = (value, kind=None, *, source, r#ref=None, confidence=None, tlp=None,
                        tags=Vec::new(), valid_from=None, valid_until=None, description=None))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        value: String,
        kind: Option<&str>,
        source: String,
        r#ref: Option<String>,
        confidence: Option<u8>,
        tlp: Option<&str>,
        tags: Vec<String>,
        valid_from: Option<&Bound<'_, PyAny>>,
        valid_until: Option<&Bound<'_, PyAny>>,
        description: Option<String>,
    ) -> Result<()> {
        self.record(add_op(
            value,
            kind,
            source,
            r#ref,
            confidence,
            tlp,
            tags,
            valid_from,
            valid_until,
            description,
        )?)
    }

    #[pyo3(signature = (*, source, r#ref=None, value=None, kind=None))]
    fn remove(
        &mut self,
        source: String,
        r#ref: Option<String>,
        value: Option<String>,
        kind: Option<&str>,
    ) -> Result<()> {
        self.record(remove_op(source, r#ref, value, kind)?)
    }

    #[pyo3(signature = (feed, format=None, *, source, sync=false, kind=None, strict=false,
                        keep_non_ids=false, zeek_domain_as_hostname=false))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        &mut self,
        feed: FeedInput,
        format: Option<&str>,
        source: String,
        sync: bool,
        kind: Option<&str>,
        strict: bool,
        keep_non_ids: bool,
        zeek_domain_as_hostname: bool,
    ) -> Result<()> {
        self.record(load_op(feed, format, source, sync, kind, strict, keep_non_ids, zeek_domain_as_hostname)?)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Publishes the recorded changes when the block ended without an exception; an
    /// exception, or a failed change (raised here), publishes nothing.
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> Result<bool> {
        self.ended = true;
        let ops = std::mem::take(&mut self.ops);
        if exc_type.is_none() {
            self.update = Some(apply(py, &self.engine.get().inner, ops)?);
        }
        Ok(false)
    }
}
