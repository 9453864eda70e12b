//! `vedette.Index`: the compiled, immutable index.

use std::sync::Arc;

use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::sync::PyOnceLock;
use pyo3::types::{IntoPyDict, PyBytes, PyDict, PyString, PyTuple};

use crate::array;
use crate::convert::{self, Indicator};
use crate::errors::Result;

/// Text to search: bytes (byte offsets) or str (character offsets).
pub(crate) enum Haystack {
    Bytes(PyBackedBytes),
    Str(PyBackedStr),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Haystack {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        // By type, not by trying each variant: a failed extraction builds an exception,
        // which costs more than scanning a log line.
        match obj.cast::<PyString>() {
            Ok(text) => Ok(Haystack::Str(text.to_owned().try_into()?)),
            Err(_) => Ok(Haystack::Bytes(obj.extract()?)),
        }
    }
}

/// Texts shorter than this are scanned holding the GIL: releasing and re-taking it costs
/// about as much as scanning a 100-byte log line, and another thread gains nothing from
/// a pause that short.
const DETACH_FROM: usize = 4096;

/// Runs `f`, with the GIL released if `len` bytes are worth it.
pub(crate) fn detach_if_long<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    match len < DETACH_FROM {
        true => f(),
        false => py.detach(f),
    }
}

impl Haystack {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Haystack::Bytes(b) => b,
            Haystack::Str(s) => s.as_bytes(),
        }
    }
}

/// `m`, out of the cycle collector's lists. A `Match` holds numbers, a static string and
/// indicator records, none of which can refer back to it, so it is never part of a cycle;
/// tracked, the hundred thousand matches of a scan of real logs kept the collector busy
/// for a third of the call, traversing them again at every collection.
fn untracked(m: Bound<'_, Match>) -> Bound<'_, Match> {
    // SAFETY: `m` is a live object of a GC type (every pyclass is one); untracking only
    // removes it from the collector's lists, and its dealloc untracks it again harmlessly.
    unsafe { pyo3::ffi::PyObject_GC_UnTrack(m.as_ptr().cast()) };
    m
}

/// One occurrence in the text, with every indicator record that explains it.
#[pyclass(frozen, get_all, module = "vedette._core")]
pub(crate) struct Match {
    start: usize,
    end: usize,
    kind: &'static str,
    indicators: Vec<Py<Indicator>>,
}

const MATCH_FIELDS: [&str; 4] = ["start", "end", "kind", "indicators"];

#[pymethods]
impl Match {
    #[new]
    fn new(start: usize, end: usize, kind: &str, indicators: Vec<Py<Indicator>>) -> Result<Self> {
        let kind = kind.parse::<vedette_core::Kind>()?.as_str();
        Ok(Match { start, end, kind, indicators })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        convert::reduce(slf.as_any(), &MATCH_FIELDS)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        convert::repr(slf.as_any(), &MATCH_FIELDS)
    }
}

/// A compiled, immutable set of indicators; safe to share between threads.
#[pyclass(frozen, name = "Index", module = "vedette._core")]
pub(crate) struct PyIndex {
    pub(crate) inner: Arc<vedette_core::Index>,
    /// The Python object of each record, made at its first hit: the hits on one indicator
    /// share one (immutable) object instead of each copying its strings. The table itself
    /// is made at the first hit too, so that loading an index does not wait for it.
    records: PyOnceLock<Box<[PyOnceLock<Py<Indicator>>]>>,
}

impl PyIndex {
    pub(crate) fn new(index: vedette_core::Index) -> PyIndex {
        PyIndex::from_arc(Arc::new(index))
    }

    pub(crate) fn from_arc(index: Arc<vedette_core::Index>) -> PyIndex {
        PyIndex { inner: index, records: PyOnceLock::new() }
    }

    /// The shared object of record `id`, made at its first use.
    fn record(&self, py: Python<'_>, id: vedette_core::IndicatorId) -> PyResult<Py<Indicator>> {
        let records = self
            .records
            .get_or_init(py, || (0..self.inner.record_count()).map(|_| PyOnceLock::new()).collect());
        let record = records[id.as_usize()]
            .get_or_try_init(py, || Py::new(py, convert::indicator(py, self.inner.indicator(id))?))?;
        Ok(record.clone_ref(py))
    }

    fn at(&self, at: Option<&Bound<'_, PyAny>>) -> Result<vedette_core::Timestamp> {
        convert::at(at, self.inner.has_validity_windows())
    }

    /// `matches` as a tuple of `Match`, with this index's record objects.
    pub(crate) fn matches<'py>(
        &self,
        py: Python<'py>,
        matches: &vedette_core::Matches,
    ) -> PyResult<Bound<'py, PyTuple>> {
        matches_of(py, matches, |id| self.record(py, id))
    }

    pub(crate) fn indicators_of(
        &self,
        py: Python<'_>,
        ids: &[vedette_core::IndicatorId],
    ) -> PyResult<Vec<Py<Indicator>>> {
        ids.iter().map(|&id| self.record(py, id)).collect()
    }
}

/// `matches` as a tuple of `Match`, each record made by `record`: the empty tuple is
/// shared, so a line without a match allocates nothing.
pub(crate) fn matches_of<'py>(
    py: Python<'py>,
    matches: &vedette_core::Matches,
    mut record: impl FnMut(vedette_core::IndicatorId) -> PyResult<Py<Indicator>>,
) -> PyResult<Bound<'py, PyTuple>> {
    if matches.is_empty() {
        return Ok(PyTuple::empty(py));
    }
    let matches = matches
        .iter()
        .map(|m| {
            let indicators = m.indicators.iter().map(|&id| record(id)).collect::<PyResult<_>>()?;
            let m = Match { start: m.start, end: m.end, kind: m.kind.as_str(), indicators };
            Ok(untracked(Bound::new(py, m)?))
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, matches)
}

/// What `search` finds in `data`, with the GIL released for a long text, in character
/// offsets for a `str`.
pub(crate) fn find(
    py: Python<'_>,
    data: &Haystack,
    search: impl FnOnce(&[u8]) -> vedette_core::Matches + Send,
) -> vedette_core::Matches {
    detach_if_long(py, data.bytes().len(), || {
        let mut matches = search(data.bytes());
        if let Haystack::Str(text) = data {
            matches.to_char_offsets(text);
        }
        matches
    })
}

#[pymethods]
impl PyIndex {
    #[pyo3(signature = (data, *, at=None))]
    fn find<'py>(
        &self,
        py: Python<'py>,
        data: Haystack,
        at: Option<&Bound<'_, PyAny>>,
    ) -> Result<Bound<'py, PyTuple>> {
        let at = self.at(at)?;
        let matches = find(py, &data, |text| self.inner.find(text, at));
        Ok(self.matches(py, &matches)?)
    }

    /// A scanner of a stream given in pieces; see `scan::Scanner`.
    #[pyo3(signature = (*, at=None))]
    fn scanner(slf: Bound<'_, Self>, at: Option<&Bound<'_, PyAny>>) -> Result<crate::scan::Scanner> {
        let at = slf.get().at(at)?;
        Ok(crate::scan::Scanner::new(slf, at))
    }

    #[pyo3(signature = (data, *, at=None))]
    fn is_match(&self, py: Python<'_>, data: Haystack, at: Option<&Bound<'_, PyAny>>) -> Result<bool> {
        let at = self.at(at)?;
        Ok(detach_if_long(py, data.bytes().len(), || self.inner.is_match(data.bytes(), at)))
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
        Ok(self.indicators_of(py, &ids)?)
    }

    /// The hits of files, directories and `-` (standard input), scanned on a thread of
    /// their own; see `scan::Scan`.
    #[pyo3(signature = (paths, *, threads=None, at=None))]
    fn scan_files(
        slf: Bound<'_, Self>,
        paths: Vec<String>,
        threads: Option<usize>,
        at: Option<&Bound<'_, PyAny>>,
    ) -> Result<crate::scan::Scan> {
        let options = crate::scan::options(&slf.get().inner, threads, at)?;
        Ok(crate::scan::Scan::start(slf, paths, options))
    }

    /// Scans files and writes their hits to `output` (a path, or an open file
    /// descriptor) in `format`; see `scan::scan_to`.
    #[pyo3(signature = (paths, output, *, format="jsonl", threads=None, at=None, count=false, progress=None, on_error=None))]
    #[allow(clippy::too_many_arguments)]
    fn scan_to(
        &self,
        py: Python<'_>,
        paths: Vec<String>,
        output: crate::scan::Output,
        format: &str,
        threads: Option<usize>,
        at: Option<&Bound<'_, PyAny>>,
        count: bool,
        progress: Option<Bound<'_, PyAny>>,
        on_error: Option<Bound<'_, PyAny>>,
    ) -> Result<crate::scan::ScanReport> {
        let format = format
            .parse()
            .map_err(|e: vedette_core::scan::writer::UnknownFormat| PyValueError::new_err(e.to_string()))?;
        let options = crate::scan::options(&self.inner, threads, at)?;
        crate::scan::scan_to(
            py,
            self.inner.clone(),
            paths,
            output,
            format,
            options,
            count,
            progress,
            on_error,
        )
    }

    fn indicators(&self, py: Python<'_>) -> PyResult<Vec<Indicator>> {
        self.inner.indicators().map(|record| convert::indicator(py, record)).collect()
    }

    fn indicator(&self, py: Python<'_>, id: u32) -> PyResult<Py<Indicator>> {
        let record = self
            .inner
            .get(id)
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(format!("no indicator {id}")))?;
        self.record(py, record.id)
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.inner.stats();
        let out = PyDict::new(py);
        out.set_item("entries", stats.entries)?;
        out.set_item("records", stats.records)?;
        let kinds = PyDict::new(py);
        for (kind, n) in stats.entries_per_kind {
            kinds.set_item(kind.as_str(), n)?;
        }
        out.set_item("kinds", kinds)?;
        out.set_item("memory", stats.memory.into_iter().collect::<Vec<_>>().into_py_dict(py)?)?;
        Ok(out)
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

    /// Writes every indicator as a Zeek intel file.
    fn write_zeek_intel(&self, py: Python<'_>, path: std::path::PathBuf) -> Result<()> {
        py.detach(|| -> std::io::Result<()> {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
            let records = self.inner.indicators().map(|i| (i.kind, i.value, i.meta));
            vedette_core::feed::write_zeek_intel(records, &mut out)?;
            std::io::Write::flush(&mut out)
        })?;
        Ok(())
    }

    fn ipv4_bitmap<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.ipv4_bitmap())
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = py.detach(|| self.inner.to_bytes());
        PyBytes::new(py, &bytes)
    }

    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: PyBackedBytes) -> Result<PyIndex> {
        let index = py.detach(|| vedette_core::Index::from_bytes(&data))?;
        Ok(PyIndex::new(index))
    }

    fn save(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        py.detach(|| std::fs::write(&path, self.inner.to_bytes()))?;
        Ok(())
    }

    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> Result<PyIndex> {
        let index = py.detach(|| -> Result<vedette_core::Index> {
            let bytes = std::fs::read(&path)?;
            Ok(vedette_core::Index::from_bytes(&bytes)?)
        })?;
        Ok(PyIndex::new(index))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = slf.get_type().getattr("from_bytes")?;
        Ok((from_bytes, (slf.get().to_bytes(slf.py()),)))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("Index(entries={}, records={})", self.inner.len(), self.inner.record_count())
    }
}
