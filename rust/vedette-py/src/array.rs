//! The numpy side of `match_ipv4`, `match_ipv6` and `match_flows`, shared by `Index`,
//! `Engine` and `Snapshot`: each passes the core call that does the lookup.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use vedette_core::FlowHits;

use crate::errors::Result;

fn slice<'a, T: numpy::Element>(array: &'a PyReadonlyArray1<'_, T>) -> Result<&'a [T]> {
    Ok(array.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?)
}

/// The mask `lookup` writes for `addresses`, computed without the GIL.
pub(crate) fn ipv4<'py>(
    py: Python<'py>,
    addresses: PyReadonlyArray1<'py, u32>,
    lookup: impl FnOnce(&[u32], &mut [bool]) + Send,
) -> Result<Bound<'py, PyArray1<bool>>> {
    let addresses = slice(&addresses)?;
    let mask = py.detach(|| {
        let mut mask = vec![false; addresses.len()];
        lookup(addresses, &mut mask);
        mask
    });
    Ok(mask.into_pyarray(py))
}

/// As [`ipv4`] for an `(n, 16)` array of IPv6 addresses in network order.
pub(crate) fn ipv6<'py>(
    py: Python<'py>,
    addresses: PyReadonlyArray2<'py, u8>,
    lookup: impl FnOnce(&[u128], &mut [bool]) + Send,
) -> Result<Bound<'py, PyArray1<bool>>> {
    let addresses = addresses.as_array();
    if addresses.ncols() != 16 {
        return Err(PyValueError::new_err("IPv6 addresses are an (n, 16) uint8 array").into());
    }
    let mask = py.detach(|| {
        // Row by row whatever the layout: a Fortran-ordered array (a transpose) is
        // contiguous too, and its buffer read 16 bytes at a time gave other addresses.
        let rows = addresses.as_standard_layout();
        let bytes = rows.as_slice().expect("a standard layout is contiguous");
        let addrs: Vec<u128> =
            bytes.chunks_exact(16).map(|b| u128::from_be_bytes(b.try_into().unwrap())).collect();
        let mut mask = vec![false; addrs.len()];
        lookup(&addrs, &mut mask);
        mask
    });
    Ok(mask.into_pyarray(py))
}

/// `(rows, indicator_ids)` of the flows `lookup` finds, computed without the GIL.
#[allow(clippy::type_complexity)]
pub(crate) fn flows<'py>(
    py: Python<'py>,
    src: PyReadonlyArray1<'py, u32>,
    dst: PyReadonlyArray1<'py, u32>,
    lookup: impl FnOnce(&[u32], &[u32]) -> FlowHits + Send,
) -> Result<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>)> {
    let (src, dst) = (slice(&src)?, slice(&dst)?);
    if src.len() != dst.len() {
        return Err(PyValueError::new_err(format!("src has {} rows, dst {}", src.len(), dst.len())).into());
    }
    let hits = py.detach(|| lookup(src, dst));
    let ids: Vec<u32> = hits.indicators.iter().map(|id| id.as_u32()).collect();
    Ok((hits.rows.into_pyarray(py), ids.into_pyarray(py)))
}
