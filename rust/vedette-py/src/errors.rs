//! Core errors as the Python exceptions of `vedette.exceptions`.

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::PyErr;

pyo3::import_exception!(vedette.exceptions, FeedError);
pyo3::import_exception!(vedette.exceptions, IndicatorError);
pyo3::import_exception!(vedette.exceptions, BuildError);
pyo3::import_exception!(vedette.exceptions, IndexFormatError);
pyo3::import_exception!(vedette.exceptions, EngineError);

/// Any core error, on its way to becoming a Python exception (so `?` just works).
pub(crate) struct PyVedetteError(PyErr);

fn feed(e: &vedette_core::FeedError) -> PyErr {
    FeedError::new_err((e.to_string(), e.source().to_string(), e.line()))
}

fn indicator(e: &vedette_core::IndicatorError) -> PyErr {
    let kind = e.kind().map(|k| k.as_str());
    IndicatorError::new_err((e.to_string(), kind, e.value().to_string()))
}

impl From<vedette_core::FeedError> for PyVedetteError {
    fn from(e: vedette_core::FeedError) -> Self {
        PyVedetteError(feed(&e))
    }
}

impl From<vedette_core::IndicatorError> for PyVedetteError {
    fn from(e: vedette_core::IndicatorError) -> Self {
        PyVedetteError(indicator(&e))
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

/// An engine error as the exception of its cause when it has one of a phase (a bad
/// value, feed or limit, a corrupt index file) or is an I/O error (an `OSError`), else
/// as `EngineError` with its `category`. The engine's
/// message, which names the file of a state directory, is kept.
impl From<vedette_core::EngineError> for PyVedetteError {
    fn from(e: vedette_core::EngineError) -> Self {
        let cause = std::error::Error::source(&e);
        let err = if let Some(c) = cause.and_then(|c| c.downcast_ref::<vedette_core::FeedError>()) {
            feed(c)
        } else if let Some(c) = cause.and_then(|c| c.downcast_ref::<vedette_core::IndicatorError>()) {
            indicator(c)
        } else if cause.is_some_and(|c| c.is::<vedette_core::BuildError>()) {
            BuildError::new_err(e.to_string())
        } else if let Some(c) = cause.and_then(|c| c.downcast_ref::<vedette_core::DeserializeError>()) {
            IndexFormatError::new_err((e.to_string(), c.offset()))
        } else if let Some(c) = cause.and_then(|c| c.downcast_ref::<std::io::Error>()) {
            // `OSError(errno, message)` makes the subclass of the errno: FileNotFoundError...
            match c.raw_os_error() {
                Some(errno) => PyOSError::new_err((errno, e.to_string())),
                None => PyOSError::new_err(e.to_string()),
            }
        } else {
            EngineError::new_err((e.to_string(), e.category()))
        };
        PyVedetteError(err)
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
