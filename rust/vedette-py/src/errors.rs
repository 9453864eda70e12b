//! Core errors as the Python exceptions of `vedette.exceptions`.

use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

pyo3::import_exception!(vedette.exceptions, FeedError);
pyo3::import_exception!(vedette.exceptions, IndicatorError);
pyo3::import_exception!(vedette.exceptions, BuildError);
pyo3::import_exception!(vedette.exceptions, IndexFormatError);

/// Any core error, on its way to becoming a Python exception (so `?` just works).
pub(crate) struct PyVedetteError(PyErr);

impl From<vedette_core::FeedError> for PyVedetteError {
    fn from(e: vedette_core::FeedError) -> Self {
        PyVedetteError(FeedError::new_err((e.to_string(), e.source().to_string(), e.line())))
    }
}

impl From<vedette_core::IndicatorError> for PyVedetteError {
    fn from(e: vedette_core::IndicatorError) -> Self {
        let kind = e.kind().map(|k| k.as_str());
        PyVedetteError(IndicatorError::new_err((e.to_string(), kind, e.value().to_string())))
    }
}

impl From<vedette_core::BuildError> for PyVedetteError {
    fn from(e: vedette_core::BuildError) -> Self {
        PyVedetteError(BuildError::new_err(e.to_string()))
    }
}

impl From<vedette_core::DeserializeError> for PyVedetteError {
    fn from(e: vedette_core::DeserializeError) -> Self {
        PyVedetteError(IndexFormatError::new_err((e.to_string(), e.offset())))
    }
}

impl From<vedette_core::UnknownKind> for PyVedetteError {
    fn from(e: vedette_core::UnknownKind) -> Self {
        PyVedetteError(PyValueError::new_err(e.to_string()))
    }
}

impl From<std::io::Error> for PyVedetteError {
    fn from(e: std::io::Error) -> Self {
        PyVedetteError(e.into())
    }
}

impl From<PyErr> for PyVedetteError {
    fn from(e: PyErr) -> Self {
        PyVedetteError(e)
    }
}

impl From<PyVedetteError> for PyErr {
    fn from(e: PyVedetteError) -> PyErr {
        e.0
    }
}

pub(crate) type Result<T> = std::result::Result<T, PyVedetteError>;
