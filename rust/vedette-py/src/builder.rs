//! `vedette.IndexBuilder`.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;
use vedette_core::{Allowlist, Limits};

use crate::convert::{self, FeedInput, LoadReport};
use crate::errors::Result;
use crate::index::PyIndex;

/// An allowlist: bare values, or the path of a MISP warninglist.
#[derive(FromPyObject)]
pub(crate) enum AllowInput {
    Values(Vec<String>),
    Path(PathBuf),
}

/// Collects indicators, then compiles them into an `Index`.
///
/// Threads may share one: each call takes the builder's lock, so calls run one at a time
/// in some order. A call waits for the lock with the GIL released, so a long `load` in
/// one thread stalls no other Python thread.
#[pyclass(name = "IndexBuilder", module = "vedette._core", frozen)]
pub(crate) struct PyIndexBuilder {
    inner: Mutex<vedette_core::IndexBuilder>,
}

impl PyIndexBuilder {
    /// Runs `f` on the builder, its lock taken with the GIL released.
    fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut vedette_core::IndexBuilder) -> R + Send,
    ) -> R {
        py.detach(|| f(&mut self.lock()))
    }

    /// A panic in another call leaves nothing half-done that matters here: the builder
    /// only appends, and a failed call appended nothing or whole records.
    fn lock(&self) -> MutexGuard<'_, vedette_core::IndexBuilder> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl PyIndexBuilder {
    #[new]
    #[pyo3(signature = (*, max_records=None, max_feed_bytes=None, max_line_bytes=None))]
    fn new(max_records: Option<usize>, max_feed_bytes: Option<usize>, max_line_bytes: Option<usize>) -> Self {
        let default = Limits::default();
        let limits = Limits {
            max_records: max_records.unwrap_or(default.max_records),
            max_feed_bytes: max_feed_bytes.unwrap_or(default.max_feed_bytes),
            max_line_bytes: max_line_bytes.unwrap_or(default.max_line_bytes),
        };
        PyIndexBuilder { inner: Mutex::new(vedette_core::IndexBuilder::with_limits(limits)) }
    }

    /// The limits, as `{"max_records": ..., "max_feed_bytes": ..., "max_line_bytes": ...}`.
    #[getter]
    fn limits(&self, py: Python<'_>) -> std::collections::BTreeMap<&'static str, usize> {
        let limits = self.with(py, |b| b.limits());
        [
            ("max_records", limits.max_records),
            ("max_feed_bytes", limits.max_feed_bytes),
            ("max_line_bytes", limits.max_line_bytes),
        ]
        .into_iter()
        .collect()
    }

    #[pyo3(signature = (value, kind=None, *, source=None, confidence=None, tlp=None, tags=Vec::new(),
                        r#ref=None, valid_from=None, valid_until=None, description=None,
                        override_allowlist=false))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        py: Python<'_>,
        value: &str,
        kind: Option<&str>,
        source: Option<String>,
        confidence: Option<u8>,
        tlp: Option<&str>,
        tags: Vec<String>,
        r#ref: Option<String>,
        valid_from: Option<&Bound<'_, PyAny>>,
        valid_until: Option<&Bound<'_, PyAny>>,
        description: Option<String>,
        override_allowlist: bool,
    ) -> Result<()> {
        let meta = convert::meta(source, r#ref, confidence, tlp, tags, valid_from, valid_until, description)?;
        let kind = convert::kind(kind)?;
        self.with(py, |builder| {
            builder.add(value, kind, meta)?;
            if override_allowlist {
                builder.override_allowlist(value, kind)?;
            }
            Ok(())
        })
    }

    /// Returns the number of the list's values that were invalid and left out.
    #[pyo3(signature = (allowlist, *, name=None))]
    fn allow(&self, py: Python<'_>, allowlist: AllowInput, name: Option<String>) -> Result<usize> {
        let list = match allowlist {
            AllowInput::Values(values) => {
                let values: Vec<&str> = values.iter().map(String::as_str).collect();
                Allowlist::from_values(name.unwrap_or_else(|| "allowlist".to_string()), &values)
            }
            AllowInput::Path(path) => {
                let source = path.display().to_string();
                let data = py.detach(|| std::fs::read(&path))?;
                let list = Allowlist::from_misp_json(&data, &source)?;
                match name {
                    Some(name) => list.renamed(name),
                    None => list,
                }
            }
        };
        let invalid = list.invalid_values();
        self.with(py, |builder| {
            builder.allow(list);
        });
        Ok(invalid)
    }

    /// How many indicators each allowlist suppresses, by list name.
    fn suppressed(&self, py: Python<'_>) -> std::collections::BTreeMap<String, usize> {
        self.with(py, |builder| builder.suppressed())
    }

    #[pyo3(signature = (feed, format=None, *, source=None, kind=None, strict=false,
                        keep_non_ids=false, zeek_domain_as_hostname=false))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        &self,
        py: Python<'_>,
        feed: FeedInput,
        format: Option<&str>,
        source: Option<String>,
        kind: Option<&str>,
        strict: bool,
        keep_non_ids: bool,
        zeek_domain_as_hostname: bool,
    ) -> Result<LoadReport> {
        let options = convert::load_options(
            &feed,
            format,
            source,
            kind,
            strict,
            keep_non_ids,
            zeek_domain_as_hostname,
        )?;
        let report = py.detach(|| -> Result<vedette_core::LoadReport> {
            Ok(match &feed {
                // A directory is a MISP feed: manifest.json and its event files.
                FeedInput::Path(path) if path.is_dir() => self.lock().load_misp_feed(path, &options)?,
                // Read before the lock is taken: other threads need not wait for the disk.
                feed => {
                    let data = feed.read(self.lock().limits().max_feed_bytes)?;
                    self.lock().load(&data, &options)?
                }
            })
        })?;
        Ok(report.into())
    }

    fn build(&self, py: Python<'_>) -> Result<PyIndex> {
        let index = self.with(py, |builder| builder.build())?;
        Ok(PyIndex::new(index))
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.with(py, |builder| builder.len())
    }
}

/// The paging of a TAXII 2.1 envelope (`vedette_core::feed::read_envelope`): `(more,
/// next, objects, start, end)`, where `data[start:end]` is its objects as they stand in
/// the array. `vedette.taxii` joins pages into bundles by these bytes.
#[pyfunction]
pub(crate) fn read_taxii_envelope(
    py: Python<'_>,
    data: &[u8],
) -> PyResult<(bool, Option<String>, usize, usize, usize)> {
    let envelope = py.detach(|| vedette_core::feed::read_envelope(data));
    let envelope = envelope.map_err(pyo3::exceptions::PyValueError::new_err)?;
    Ok((envelope.more, envelope.next, envelope.objects, envelope.span.start, envelope.span.end))
}
