//! Python bindings of vedette-core: extract arguments, release the GIL, call the core,
//! convert the result. No matching logic lives here.

mod array;
mod builder;
mod columns;
mod convert;
mod engine;
mod errors;
mod index;
mod scan;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<builder::PyIndexBuilder>()?;
    m.add_class::<convert::LoadReport>()?;
    m.add_class::<index::PyIndex>()?;
    m.add_class::<index::Match>()?;
    m.add_class::<convert::Indicator>()?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<engine::PySnapshot>()?;
    m.add_class::<engine::PyTransaction>()?;
    m.add_class::<engine::Update>()?;
    m.add_class::<scan::Scan>()?;
    m.add_class::<scan::FileHit>()?;
    m.add_class::<scan::ScanReport>()?;
    m.add_class::<scan::Scanner>()?;
    m.add_class::<scan::Watcher>()?;
    m.add_function(wrap_pyfunction!(scan::scan_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(builder::read_taxii_envelope, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
