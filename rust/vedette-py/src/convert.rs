//! Conversions between Python values and core types: kinds, times, indicator records.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};
use vedette_core::feed::ParseOptions;
use vedette_core::{Indicator as CoreIndicator, Kind, LoadOptions, Meta, Timestamp, Tlp};

use crate::errors::Result;

/// A kind name, or `None`.
pub(crate) fn kind(name: Option<&str>) -> Result<Option<Kind>> {
    Ok(name.map(str::parse).transpose()?)
}

fn epoch(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static EPOCH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    EPOCH
        .get_or_try_init(py, || {
            let datetime = py.import("datetime")?;
            let utc = datetime.getattr("timezone")?.getattr("utc")?;
            Ok::<_, PyErr>(datetime.getattr("datetime")?.call1((1970, 1, 1, 0, 0, 0, 0, utc))?.unbind())
        })
        .map(|epoch| epoch.bind(py))
}

/// A time given as an RFC 3339 string, a `datetime` (naive means UTC) or Unix seconds.
pub(crate) fn timestamp(value: &Bound<'_, PyAny>) -> Result<Timestamp> {
    if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_str()?;
        return vedette_core::parse_timestamp(text).map_err(|reason| {
            pyo3::exceptions::PyValueError::new_err(format!("bad time {text:?}: {reason}")).into()
        });
    }
    if let Ok(seconds) = value.extract::<f64>() {
        // NaN would read as 1970 and infinities as the end of time: refuse them, and
        // times outside what RFC 3339 writes (years 1-9999), as the core's parser does.
        if !(-62_135_596_800.0..253_402_300_800.0).contains(&seconds) {
            let reason = format!("time {seconds} is not Unix seconds within years 1-9999");
            return Err(pyo3::exceptions::PyValueError::new_err(reason).into());
        }
        return Ok((seconds * 1e6).round() as Timestamp);
    }
    let py = value.py();
    let delta = value.call_method1("__sub__", (epoch(py)?,)).or_else(|_| {
        let utc = py.import("datetime")?.getattr("timezone")?.getattr("utc")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("tzinfo", utc)?;
        value.call_method("replace", (), Some(&kwargs))?.call_method1("__sub__", (epoch(py)?,))
    })?;
    let days: i64 = delta.getattr("days")?.extract()?;
    let seconds: i64 = delta.getattr("seconds")?.extract()?;
    let micros: i64 = delta.getattr("microseconds")?.extract()?;
    Ok((days * 86_400 + seconds) * 1_000_000 + micros)
}

/// `at`, or now when `None`. The clock is read only when the time can change the answer
/// (`windows`: some record has a validity window): reading it cost a sixth of a call on
/// a log line.
pub(crate) fn at(value: Option<&Bound<'_, PyAny>>, windows: bool) -> Result<Timestamp> {
    match value {
        Some(value) if !value.is_none() => timestamp(value),
        _ if windows => Ok(vedette_core::now()),
        _ => Ok(Timestamp::default()),
    }
}

pub(crate) fn datetime(py: Python<'_>, micros: Option<Timestamp>) -> PyResult<Option<Py<PyAny>>> {
    let Some(micros) = micros else { return Ok(None) };
    let timedelta = py.import("datetime")?.getattr("timedelta")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("microseconds", micros)?;
    Ok(Some(epoch(py)?.call_method1("__add__", (timedelta.call((), Some(&kwargs))?,))?.unbind()))
}

/// One indicator record: a canonical value, its kind and what its feed said of it.
#[pyclass(frozen, get_all, module = "vedette._core")]
pub(crate) struct Indicator {
    id: u32,
    value: String,
    kind: &'static str,
    source: Option<String>,
    r#ref: Option<String>,
    confidence: Option<u8>,
    tlp: Option<&'static str>,
    tags: Vec<String>,
    valid_from: Option<Py<PyAny>>,
    valid_until: Option<Py<PyAny>>,
    description: Option<String>,
}

#[pymethods]
impl Indicator {
    /// The fields in the order `__repr__` shows them: what pickling needs, and what makes
    /// a repr read back.
    #[new]
    #[pyo3(signature = (id, value, kind, source=None, r#ref=None, confidence=None, tlp=None,
                        tags=Vec::new(), valid_from=None, valid_until=None, description=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: u32,
        value: String,
        kind: &str,
        source: Option<String>,
        r#ref: Option<String>,
        confidence: Option<u8>,
        tlp: Option<&str>,
        tags: Vec<String>,
        valid_from: Option<Py<PyAny>>,
        valid_until: Option<Py<PyAny>>,
        description: Option<String>,
    ) -> Result<Self> {
        let kind = kind.parse::<Kind>()?.as_str();
        let tlp = tlp.map(str::parse::<Tlp>).transpose().map_err(PyValueError::new_err)?.map(Tlp::as_str);
        Ok(Indicator {
            id,
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
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        reduce(slf.as_any(), &INDICATOR_FIELDS)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr(slf.as_any(), &INDICATOR_FIELDS)
    }
}

const INDICATOR_FIELDS: [&str; 11] = [
    "id",
    "value",
    "kind",
    "source",
    "ref",
    "confidence",
    "tlp",
    "tags",
    "valid_from",
    "valid_until",
    "description",
];

/// `(type(obj), (obj.field, ...))`: a value class pickles as a call of its constructor
/// with its fields, which its getters give back as they were.
pub(crate) fn reduce<'py>(
    obj: &Bound<'py, PyAny>,
    fields: &[&str],
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
    let values = fields.iter().map(|field| obj.getattr(*field)).collect::<PyResult<Vec<_>>>()?;
    Ok((obj.get_type().into_any(), PyTuple::new(obj.py(), values)?))
}

/// `Class(field=..., ...)` with Python's repr of what each getter returns: `'etisp'`,
/// `None`, `['c2']`, a `datetime`, never Rust's `Some("etisp")`.
pub(crate) fn repr(obj: &Bound<'_, PyAny>, fields: &[&str]) -> PyResult<String> {
    let mut out = format!("{}(", obj.get_type().name()?);
    for (i, field) in fields.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        out.push_str(&format!("{sep}{field}={}", obj.getattr(*field)?.repr()?));
    }
    out.push(')');
    Ok(out)
}

pub(crate) fn indicator(py: Python<'_>, record: CoreIndicator<'_>) -> PyResult<Indicator> {
    let meta = record.meta;
    Ok(Indicator {
        id: record.id.as_u32(),
        value: record.value.to_string(),
        kind: record.kind.as_str(),
        source: meta.source.clone(),
        r#ref: meta.reference.clone(),
        confidence: meta.confidence,
        tlp: meta.tlp.map(|t| t.as_str()),
        tags: meta.tags.clone(),
        valid_from: datetime(py, meta.valid_from)?,
        valid_until: datetime(py, meta.valid_until)?,
        description: meta.description.clone(),
    })
}

/// The metadata of one added record, from the keyword arguments of `add`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn meta(
    source: Option<String>,
    reference: Option<String>,
    confidence: Option<u8>,
    tlp: Option<&str>,
    tags: Vec<String>,
    valid_from: Option<&Bound<'_, PyAny>>,
    valid_until: Option<&Bound<'_, PyAny>>,
    description: Option<String>,
) -> Result<Meta> {
    Ok(Meta {
        source,
        reference,
        confidence,
        tlp: tlp.map(str::parse::<Tlp>).transpose().map_err(PyValueError::new_err)?,
        tags,
        valid_from: valid_from.map(timestamp).transpose()?,
        valid_until: valid_until.map(timestamp).transpose()?,
        description,
    })
}

/// A feed: a path, or its bytes.
#[derive(FromPyObject)]
pub(crate) enum FeedInput {
    Bytes(PyBackedBytes),
    Path(PathBuf),
}

impl FeedInput {
    /// The name reports and errors give the feed: its path, or empty for bytes.
    pub(crate) fn name(&self) -> String {
        match self {
            FeedInput::Path(path) => path.display().to_string(),
            FeedInput::Bytes(_) => String::new(),
        }
    }

    /// The feed's bytes, as given or read from its file (still compressed: the core
    /// load inflates them), a file read no further than the core needs to refuse one of
    /// more than `max_feed_bytes`. Call it without the GIL.
    pub(crate) fn read(&self, max_feed_bytes: usize) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        Ok(match self {
            FeedInput::Bytes(bytes) => std::borrow::Cow::Borrowed(bytes),
            FeedInput::Path(path) => {
                std::borrow::Cow::Owned(vedette_core::feed::read_at_most(path, max_feed_bytes)?)
            }
        })
    }
}

/// The options of a feed load, from the keyword arguments of `load`.
pub(crate) fn load_options(
    feed: &FeedInput,
    format: Option<&str>,
    source: Option<String>,
    kind: Option<&str>,
    strict: bool,
    keep_non_ids: bool,
    zeek_domain_as_hostname: bool,
) -> Result<LoadOptions> {
    let format = format.map(str::parse).transpose().map_err(PyValueError::new_err)?;
    let parse = ParseOptions { keep_non_ids, zeek_domain_as_hostname, ..ParseOptions::default() };
    Ok(LoadOptions { name: feed.name(), format, source, kind: self::kind(kind)?, strict, parse })
}

/// What one feed load did.
#[pyclass(frozen, get_all, module = "vedette._core")]
pub(crate) struct LoadReport {
    name: String,
    format: Option<&'static str>,
    loaded: usize,
    skipped: BTreeMap<String, usize>,
    /// `(line, reason, message)` of the first bad records.
    errors: Vec<(Option<usize>, String, String)>,
    masked_host_bits: usize,
    public_suffix_domains: usize,
}

const LOAD_REPORT_FIELDS: [&str; 7] =
    ["name", "format", "loaded", "skipped", "errors", "masked_host_bits", "public_suffix_domains"];

#[pymethods]
impl LoadReport {
    #[new]
    #[pyo3(signature = (name, format, loaded, skipped, errors, masked_host_bits=0, public_suffix_domains=0))]
    fn new(
        name: String,
        format: Option<&str>,
        loaded: usize,
        skipped: BTreeMap<String, usize>,
        errors: Vec<(Option<usize>, String, String)>,
        masked_host_bits: usize,
        public_suffix_domains: usize,
    ) -> Result<Self> {
        let format = format
            .map(str::parse::<vedette_core::feed::Format>)
            .transpose()
            .map_err(PyValueError::new_err)?;
        let format = format.map(|f| f.as_str());
        Ok(LoadReport { name, format, loaded, skipped, errors, masked_host_bits, public_suffix_domains })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        reduce(slf.as_any(), &LOAD_REPORT_FIELDS)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr(slf.as_any(), &LOAD_REPORT_FIELDS)
    }
}

impl From<vedette_core::LoadReport> for LoadReport {
    fn from(report: vedette_core::LoadReport) -> Self {
        LoadReport {
            errors: (report.errors.iter())
                .map(|e| (e.line(), e.category().to_string(), e.to_string()))
                .collect(),
            name: report.name,
            format: report.format.map(|f| f.as_str()),
            loaded: report.loaded,
            skipped: report.skipped,
            masked_host_bits: report.masked_host_bits,
            public_suffix_domains: report.public_suffix_domains,
        }
    }
}

/// An engine's status as a dict; `sources` maps each source's name to its own dict.
pub(crate) fn engine_status<'py>(
    py: Python<'py>,
    status: &vedette_core::EngineStatus,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("version", status.version)?;
    out.set_item("entries", status.entries)?;
    out.set_item("records", status.records)?;
    out.set_item("delta_records", status.delta_records)?;
    out.set_item("removed_records", status.removed_records)?;
    out.set_item("compactions", status.compactions)?;
    out.set_item("last_compaction_error", status.last_compaction_error.as_deref())?;
    out.set_item("memory", status.memory)?;
    let sources = PyDict::new(py);
    for source in &status.sources {
        let s = PyDict::new(py);
        s.set_item("records", source.records)?;
        s.set_item("stix_ids", source.stix_ids)?;
        s.set_item("last_success", datetime(py, source.last_success)?)?;
        let error = match &source.last_error {
            None => None,
            Some(e) => {
                let error = PyDict::new(py);
                error.set_item("at", datetime(py, Some(e.at))?)?;
                error.set_item("message", &e.message)?;
                Some(error)
            }
        };
        s.set_item("last_error", error)?;
        s.set_item("checkpoint", source.checkpoint.as_deref())?;
        sources.set_item(&source.name, s)?;
    }
    out.set_item("sources", sources)?;
    Ok(out)
}

/// Sightings as a list of dicts, one per record hit.
pub(crate) fn sightings<'py>(
    py: Python<'py>,
    sightings: &[vedette_core::Sighting],
) -> PyResult<Bound<'py, pyo3::types::PyList>> {
    let out = pyo3::types::PyList::empty(py);
    for s in sightings {
        let d = PyDict::new(py);
        d.set_item("source", &s.source)?;
        d.set_item("ref", s.reference.as_deref())?;
        d.set_item("kind", s.kind.as_str())?;
        d.set_item("value", &s.value)?;
        d.set_item("count", s.count)?;
        d.set_item("first_seen", datetime(py, Some(s.first_seen))?)?;
        d.set_item("last_seen", datetime(py, Some(s.last_seen))?)?;
        out.append(d)?;
    }
    Ok(out)
}
