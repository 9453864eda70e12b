//! `vedette.IndexBuilder`.

use std::path::PathBuf;

use pyo3::prelude::*;
use vedette_core::Allowlist;

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
        let meta = convert::meta(source, r#ref, confidence, tlp, tags, valid_from, valid_until, description)?;
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
        let options = convert::load_options(
            &feed,
            format,
            source,
            kind,
            strict,
            keep_non_ids,
            zeek_domain_as_hostname,
        )?;
        let inner = &mut self.inner;
        let report = py.detach(|| -> Result<vedette_core::LoadReport> {
            Ok(match &feed {
                // A directory is a MISP feed: manifest.json and its event files.
                FeedInput::Path(path) if path.is_dir() => inner.load_misp_feed(path, &options)?,
                feed => inner.load(&feed.read()?, &options)?,
            })
        })?;
        Ok(report.into())
    }

    fn build(&self, py: Python<'_>) -> Result<PyIndex> {
        let index = py.detach(|| self.inner.build())?;
        Ok(PyIndex::new(index))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}
