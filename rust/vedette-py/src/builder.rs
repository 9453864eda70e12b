//! `vedette.IndexBuilder` and the report of a feed load.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use vedette_core::feed::ParseOptions;
use vedette_core::{Allowlist, LoadOptions, Meta, Tlp};

use crate::convert;
use crate::errors::Result;
use crate::index::PyIndex;

/// A feed: a path, or its bytes.
#[derive(FromPyObject)]
pub(crate) enum FeedInput {
    Bytes(PyBackedBytes),
    Path(PathBuf),
}

/// An allowlist: bare values, or the path of a MISP warninglist.
#[derive(FromPyObject)]
pub(crate) enum AllowInput {
    Values(Vec<String>),
    Path(PathBuf),
}

/// What one `IndexBuilder.load` did.
#[pyclass(frozen, get_all, module = "vedette._core")]
pub(crate) struct LoadReport {
    name: String,
    format: Option<&'static str>,
    loaded: usize,
    skipped: std::collections::BTreeMap<String, usize>,
    /// `(line, reason, message)` of the first bad records.
    errors: Vec<(Option<usize>, String, String)>,
    masked_host_bits: usize,
    public_suffix_domains: usize,
}

#[pymethods]
impl LoadReport {
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let fields = ["name", "format", "loaded", "skipped", "errors", "masked_host_bits"];
        convert::repr(slf.as_any(), &fields)
    }
}

/// Collects indicators, then compiles them into an `Index`.
#[pyclass(name = "IndexBuilder", module = "vedette._core")]
#[derive(Default)]
pub(crate) struct PyIndexBuilder {
    inner: vedette_core::IndexBuilder,
}

#[pymethods]
impl PyIndexBuilder {
    #[new]
    fn new() -> Self {
        PyIndexBuilder::default()
    }

    #[pyo3(signature = (value, kind=None, *, source=None, confidence=None, tlp=None, tags=Vec::new(),
                        r#ref=None, valid_from=None, valid_until=None, description=None,
                        override_allowlist=false))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
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
        let meta = Meta {
            source,
            reference: r#ref,
            confidence,
            tlp: tlp.map(str::parse::<Tlp>).transpose().map_err(pyo3::exceptions::PyValueError::new_err)?,
            tags,
            valid_from: valid_from.map(convert::timestamp).transpose()?,
            valid_until: valid_until.map(convert::timestamp).transpose()?,
            description,
        };
        let kind = convert::kind(kind)?;
        self.inner.add(value, kind, meta)?;
        if override_allowlist {
            self.inner.override_allowlist(value, kind)?;
        }
        Ok(())
    }

    /// Returns the number of the list's values that were invalid and left out.
    #[pyo3(signature = (allowlist, *, name=None))]
    fn allow(&mut self, py: Python<'_>, allowlist: AllowInput, name: Option<String>) -> Result<usize> {
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
        self.inner.allow(list);
        Ok(invalid)
    }

    /// How many indicators each allowlist suppresses, by list name.
    fn suppressed(&self) -> std::collections::BTreeMap<String, usize> {
        self.inner.suppressed()
    }

    #[pyo3(signature = (feed, format=None, *, source=None, kind=None, strict=false,
                        keep_non_ids=false, zeek_domain_as_hostname=false))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        &mut self,
        py: Python<'_>,
        feed: FeedInput,
        format: Option<&str>,
        source: Option<String>,
        kind: Option<&str>,
        strict: bool,
        keep_non_ids: bool,
        zeek_domain_as_hostname: bool,
    ) -> Result<LoadReport> {
        let format = format.map(str::parse).transpose().map_err(pyo3::exceptions::PyValueError::new_err)?;
        let name = match &feed {
            FeedInput::Path(path) => path.display().to_string(),
            FeedInput::Bytes(_) => String::new(),
        };
        let parse = ParseOptions { keep_non_ids, zeek_domain_as_hostname };
        let options = LoadOptions { name, format, source, kind: convert::kind(kind)?, strict, parse };
        let inner = &mut self.inner;
        let report = py.detach(|| -> Result<vedette_core::LoadReport> {
            Ok(match &feed {
                FeedInput::Bytes(bytes) => inner.load(bytes, &options)?,
                // A directory is a MISP feed: manifest.json and its event files.
                FeedInput::Path(path) if path.is_dir() => inner.load_misp_feed(path, &options)?,
                FeedInput::Path(path) => inner.load(&std::fs::read(path)?, &options)?,
            })
        })?;
        Ok(LoadReport {
            name: report.name,
            format: report.format.map(|f| f.as_str()),
            loaded: report.loaded,
            skipped: report.skipped,
            errors: report
                .errors
                .iter()
                .map(|e| (e.line(), e.category().to_string(), e.to_string()))
                .collect(),
            masked_host_bits: report.masked_host_bits,
            public_suffix_domains: report.public_suffix_domains,
        })
    }

    fn build(&self, py: Python<'_>) -> Result<PyIndex> {
        let index = py.detach(|| self.inner.build())?;
        Ok(PyIndex::new(index))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}
