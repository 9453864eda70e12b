//! The batch lookups of `Index`, `Engine` and `Snapshot` over columns (`match_ipv4`,
//! `match_ipv6`, `match_flows`, `lookup_many`): each reads its columns with
//! [`crate::columns`] and passes the core call that does the lookup, run without the GIL.

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use vedette_core::FlowHits;

use crate::columns::{Addresses, Addresses6, Chunk, Strings, Values};
use crate::errors::Result;

/// The arrays Python gets of a `FlowHits`: `(rows, indicator_ids)`.
type HitArrays<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>);

/// The mask `lookup` writes for the IPv4 addresses of a column; a null row is false.
pub(crate) fn ipv4<'py>(
    py: Python<'py>,
    addresses: &Bound<'py, PyAny>,
    lookup: impl Fn(&[u32], &mut [bool]) + Sync,
) -> Result<Bound<'py, PyArray1<bool>>> {
    let column = Addresses::extract(addresses, "addresses")?;
    let chunks = column.chunks()?;
    let mask = py.detach(|| {
        let mut mask = vec![false; chunks.iter().map(|c| c.values.len()).sum()];
        let mut start = 0;
        for chunk in &chunks {
            let out = &mut mask[start..start + chunk.values.len()];
            lookup(chunk.values, out);
            clear_nulls(chunk, out);
            start += chunk.values.len();
        }
        mask
    });
    Ok(mask.into_pyarray(py))
}

/// As [`ipv4`] for IPv6 addresses (16 bytes each, network order).
pub(crate) fn ipv6<'py>(
    py: Python<'py>,
    addresses: &Bound<'py, PyAny>,
    lookup: impl Fn(&[u128], &mut [bool]) + Sync,
) -> Result<Bound<'py, PyArray1<bool>>> {
    let column = Addresses6::extract(addresses, "addresses")?;
    let chunks = column.chunks()?;
    let mask = py.detach(|| {
        let mut mask = vec![false; chunks.iter().map(|c| c.values.len()).sum()];
        let mut start = 0;
        for chunk in &chunks {
            let addrs: Vec<u128> = chunk.values.iter().map(|b| u128::from_be_bytes(*b)).collect();
            let out = &mut mask[start..start + addrs.len()];
            lookup(&addrs, out);
            clear_nulls(chunk, out);
            start += addrs.len();
        }
        mask
    });
    Ok(mask.into_pyarray(py))
}

fn clear_nulls<T>(chunk: &Chunk<'_, T>, out: &mut [bool]) {
    if chunk.validity.is_some() {
        for (row, hit) in out.iter_mut().enumerate() {
            *hit &= !chunk.is_null(row);
        }
    }
}

/// `(rows, indicator_ids)` of the flows `lookup` finds. A flow with one end null is
/// looked up by its other end; with both null, it hits nothing.
pub(crate) fn flows<'py>(
    py: Python<'py>,
    src: &Bound<'py, PyAny>,
    dst: &Bound<'py, PyAny>,
    lookup: impl Fn(&[u32], &[u32]) -> FlowHits + Sync,
) -> Result<HitArrays<'py>> {
    let (src, dst) = (Addresses::extract(src, "src")?, Addresses::extract(dst, "dst")?);
    let (src, dst) = (src.chunks()?, dst.chunks()?);
    let rows = |chunks: &[Chunk<'_, u32>]| chunks.iter().map(|c| c.values.len()).sum::<usize>();
    if rows(&src) != rows(&dst) {
        return Err(PyValueError::new_err(format!("src has {} rows, dst {}", rows(&src), rows(&dst))).into());
    }
    let hits = py.detach(|| match (&src[..], &dst[..]) {
        // One chunk each and no nulls: the columns as they are.
        ([s], [d]) if s.validity.is_none() && d.validity.is_none() => lookup(s.values, d.values),
        _ => flows_of_chunks(&src, &dst, &lookup),
    });
    Ok(hit_arrays(py, hits))
}

/// [`flows`] of columns chunked differently or holding nulls: the rows gathered into
/// one pair of columns, a null end replaced by the other end, both-null rows left out.
fn flows_of_chunks(
    src: &[Chunk<'_, u32>],
    dst: &[Chunk<'_, u32>],
    lookup: &impl Fn(&[u32], &[u32]) -> FlowHits,
) -> FlowHits {
    let flat = |chunks: &[Chunk<'_, u32>]| -> Vec<Option<u32>> {
        let rows = chunks
            .iter()
            .flat_map(|c| c.values.iter().enumerate().map(move |(i, &v)| (!c.is_null(i)).then_some(v)));
        rows.collect()
    };
    let (src, dst) = (flat(src), flat(dst));
    let (mut s, mut d, mut rows) = (Vec::with_capacity(src.len()), Vec::with_capacity(src.len()), Vec::new());
    let gaps = src.iter().zip(&dst).any(|(a, b)| a.is_none() || b.is_none());
    for (row, (&a, &b)) in src.iter().zip(&dst).enumerate() {
        let Some((a, b)) = a.zip(b).or(a.map(|a| (a, a))).or(b.map(|b| (b, b))) else {
            continue;
        };
        s.push(a);
        d.push(b);
        if gaps {
            rows.push(row as u64);
        }
    }
    let mut hits = lookup(&s, &d);
    if gaps {
        for row in &mut hits.rows {
            *row = rows[*row as usize];
        }
    }
    hits
}

/// `(rows, indicator_ids)` of the values of a column that `lookup` (the core's
/// `lookup_many` of one chunk) hits.
pub(crate) fn values<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    lookup: impl Fn(&Strings<'_>) -> FlowHits + Sync,
) -> Result<HitArrays<'py>> {
    let column = Values::extract(values, "values")?;
    let chunks = column.chunks()?;
    let hits = py.detach(|| {
        let mut all = FlowHits::default();
        let mut start = 0u64;
        for chunk in &chunks {
            let hits = lookup(chunk);
            all.rows.extend(hits.rows.iter().map(|row| row + start));
            all.indicators.extend(hits.indicators);
            start += chunk.len() as u64;
        }
        all
    });
    Ok(hit_arrays(py, hits))
}

fn hit_arrays(py: Python<'_>, hits: FlowHits) -> HitArrays<'_> {
    let ids: Vec<u32> = hits.indicators.iter().map(|id| id.as_u32()).collect();
    (hits.rows.into_pyarray(py), ids.into_pyarray(py))
}
