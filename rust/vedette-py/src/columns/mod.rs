//! Columns in, for the batch lookups (`match_ipv4`, `match_ipv6`, `match_flows`,
//! `lookup_many`): Arrow arrays and streams through the Arrow PyCapsule interface
//! (pyarrow, polars, pandas, nanoarrow...), numpy arrays, and Python lists.
//!
//! Arrow and numpy columns are read where they are, without a copy: a column is a list
//! of chunks (a chunked array or a stream gives several), each a slice of values and the
//! validity bitmap that says which rows are null. A null row hits nothing. Lists are
//! made numpy arrays (addresses) or read into strings (values) first.
//!
//! Types, by Arrow format: addresses are `uint32` (`I`); IPv6 addresses
//! `fixed_size_binary(16)` (`w:16`), in network order; values `string`, `large_string`
//! and `string_view` (`u`, `U`, `vu`, the last what polars gives). Anything else is a
//! `TypeError` that names the type, never a silent cast: an `int64` column of addresses
//! may hold negative numbers that a cast would wrap into other addresses.
//!
//! Why our own reader rather than `pyo3-arrow`: measured on this crate, pyo3-arrow 0.20
//! (arrow-rs 59, `default-features = false`) made the stripped extension 2.8 MB (60%)
//! larger, brought 39 more crates (a time-zone database, a table printer, casts we refuse
//! to do) and made release builds 1.8 times as long; the three layouts we read take a few
//! hundred lines of the C data interface.

mod ffi;

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

/// Which rows of a chunk hold a value: an Arrow validity bitmap, from bit `offset`.
#[derive(Clone, Copy)]
pub(crate) struct Validity<'a> {
    bits: &'a [u8],
    offset: usize,
}

impl Validity<'_> {
    #[inline]
    pub(crate) fn is_valid(&self, row: usize) -> bool {
        let bit = self.offset + row;
        self.bits[bit / 8] >> (bit % 8) & 1 == 1
    }
}

/// A chunk of fixed-width values (`T` a number, or 16 bytes of an IPv6 address).
#[derive(Clone, Copy)]
pub(crate) struct Chunk<'a, T> {
    pub(crate) values: &'a [T],
    /// None when no row is null.
    pub(crate) validity: Option<Validity<'a>>,
}

impl<T> Chunk<'_, T> {
    pub(crate) fn is_null(&self, row: usize) -> bool {
        self.validity.is_some_and(|v| !v.is_valid(row))
    }
}

/// The Arrow types we read, by format string.
fn arrow_type(format: &str) -> &str {
    match format {
        "I" => "uint32",
        "i" => "int32",
        "l" => "int64",
        "L" => "uint64",
        "u" => "string",
        "U" => "large_string",
        "vu" => "string_view",
        "z" => "binary",
        "w:16" => "fixed_size_binary(16)",
        other => other,
    }
}

/// An imported Arrow column of format `want`, or a `TypeError` naming what it is.
fn arrow_column(
    object: &Bound<'_, PyAny>,
    want: &[&str],
    what: &str,
) -> PyResult<Option<(String, Vec<ffi::Array>)>> {
    let Some((schema, arrays)) = ffi::import(object)? else {
        return Ok(None);
    };
    if schema.dictionary {
        return Err(PyTypeError::new_err(format!(
            "{what}: a dictionary-encoded Arrow column; decode it first (pyarrow: \
             .dictionary_decode(), polars: .cast(pl.String))"
        )));
    }
    if !want.contains(&schema.format.as_str()) {
        let wanted: Vec<&str> = want.iter().map(|f| arrow_type(f)).collect();
        return Err(PyTypeError::new_err(format!(
            "{what}: an Arrow column of {}, not {}",
            wanted.join(" or "),
            arrow_type(&schema.format)
        )));
    }
    Ok(Some((schema.format, arrays)))
}

/// The validity bitmap of an imported array, None when it has no nulls.
fn validity(array: &ffi::Array) -> Option<Validity<'_>> {
    let raw = array.raw();
    let bits = array.buffer(0);
    if raw.null_count == 0 || bits.is_null() {
        return None;
    }
    let (offset, length) = (raw.offset as usize, raw.length as usize);
    // SAFETY: a validity bitmap holds a bit per row from the array's offset on.
    let bits = unsafe { std::slice::from_raw_parts(bits.cast::<u8>(), (offset + length).div_ceil(8)) };
    Some(Validity { bits, offset })
}

/// Values `offset..offset + length` of buffer `i` of an array, as `T`s.
///
/// # Safety
/// Buffer `i` of the array holds at least `offset + length` values of type `T`.
unsafe fn values<'a, T>(array: &'a ffi::Array, i: usize, what: &str) -> PyResult<&'a [T]> {
    let raw = array.raw();
    let (offset, length) = (raw.offset as usize, raw.length as usize);
    let data = array.buffer(i).cast::<T>();
    if length == 0 {
        return Ok(&[]);
    }
    if data.is_null() || !data.is_aligned() {
        return Err(PyValueError::new_err(format!("{what}: an Arrow buffer is missing or misaligned")));
    }
    // SAFETY: by the caller.
    Ok(unsafe { std::slice::from_raw_parts(data.add(offset), length) })
}

fn check_lengths(arrays: &[ffi::Array], what: &str) -> PyResult<()> {
    if arrays.iter().any(|a| a.raw().length < 0 || a.raw().offset < 0) {
        return Err(PyValueError::new_err(format!("{what}: an Arrow array of negative length or offset")));
    }
    Ok(())
}

/// A column of IPv4 addresses as `u32`s.
pub(crate) enum Addresses<'py> {
    Numpy(PyReadonlyArray1<'py, u32>),
    Arrow(Vec<ffi::Array>),
}

impl<'py> Addresses<'py> {
    /// An Arrow `uint32` column, a numpy `uint32` array, or a list (or other sequence)
    /// of ints that numpy makes `uint32` (out-of-range ints raise).
    pub(crate) fn extract(object: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        if let Some((_, arrays)) = arrow_column(object, &["I"], what)? {
            check_lengths(&arrays, what)?;
            return Ok(Self::Arrow(arrays));
        }
        Ok(Self::Numpy(numpy_array(object, "uint32", what)?.extract()?))
    }

    pub(crate) fn chunks(&self) -> PyResult<Vec<Chunk<'_, u32>>> {
        match self {
            Self::Numpy(array) => {
                let values = array.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
                Ok(vec![Chunk { values, validity: None }])
            }
            Self::Arrow(arrays) => arrays
                .iter()
                // SAFETY: a uint32 array's buffer 1 holds its values.
                .map(|a| {
                    Ok(Chunk { values: unsafe { values::<u32>(a, 1, "addresses")? }, validity: validity(a) })
                })
                .collect(),
        }
    }
}

/// A numpy array of `dtype` from `object`: the array itself when it is one (of another
/// dtype: a `TypeError`), else `numpy.asarray(object)`, which must give that dtype, or,
/// for a list or tuple, `numpy.array(object, dtype)`, which refuses out-of-range ints.
fn numpy_array<'py>(object: &Bound<'py, PyAny>, dtype: &str, what: &str) -> PyResult<Bound<'py, PyAny>> {
    let py = object.py();
    let numpy = py.import("numpy")?;
    let array = if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
        numpy.call_method1("array", (object, dtype))?
    } else {
        numpy.call_method1("asarray", (object,))?
    };
    let got = array.getattr("dtype")?.str()?.to_string();
    if got != dtype {
        return Err(PyTypeError::new_err(format!(
            "{what}: a {dtype} array, an Arrow column of {dtype} or a list of ints, not an array of {got}"
        )));
    }
    Ok(array)
}

/// A column of IPv6 addresses, 16 bytes each in network order.
pub(crate) enum Addresses6<'py> {
    /// A C-ordered array, read where it is.
    Numpy(PyReadonlyArray2<'py, u8>),
    /// Another layout (a transpose), copied row by row: reading its buffer 16 bytes at a
    /// time would give other addresses.
    Copied(Vec<[u8; 16]>),
    Arrow(Vec<ffi::Array>),
}

impl<'py> Addresses6<'py> {
    /// An Arrow `fixed_size_binary(16)` column or an `(n, 16)` numpy `uint8` array.
    pub(crate) fn extract(object: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        if let Some((_, arrays)) = arrow_column(object, &["w:16"], what)? {
            check_lengths(&arrays, what)?;
            return Ok(Self::Arrow(arrays));
        }
        let array: PyReadonlyArray2<'py, u8> = numpy_array(object, "uint8", what)?.extract()?;
        if array.shape()[1] != 16 {
            return Err(PyValueError::new_err(format!("{what}: IPv6 addresses are an (n, 16) uint8 array")));
        }
        if array.as_array().as_slice().is_some() {
            return Ok(Self::Numpy(array));
        }
        let rows = array.as_array().rows().into_iter().map(|row| std::array::from_fn(|i| row[i])).collect();
        Ok(Self::Copied(rows))
    }

    pub(crate) fn chunks(&self) -> PyResult<Vec<Chunk<'_, [u8; 16]>>> {
        match self {
            Self::Numpy(array) => {
                let bytes = array.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
                Ok(vec![Chunk { values: bytes.as_chunks::<16>().0, validity: None }])
            }
            Self::Copied(rows) => Ok(vec![Chunk { values: rows, validity: None }]),
            Self::Arrow(arrays) => arrays
                .iter()
                // SAFETY: a fixed_size_binary(16) array's buffer 1 holds 16 bytes a row.
                .map(|a| {
                    Ok(Chunk {
                        values: unsafe { values::<[u8; 16]>(a, 1, "addresses")? },
                        validity: validity(a),
                    })
                })
                .collect(),
        }
    }
}

/// A chunk of string values.
pub(crate) enum Strings<'a> {
    /// `string` and `large_string`: offsets into one data buffer.
    Offsets32 {
        offsets: &'a [i32],
        data: &'a [u8],
        validity: Option<Validity<'a>>,
    },
    Offsets64 {
        offsets: &'a [i64],
        data: &'a [u8],
        validity: Option<Validity<'a>>,
    },
    /// `string_view`: 16-byte views, short values inline, long ones in data buffers.
    Views {
        views: &'a [[u8; 16]],
        buffers: Vec<&'a [u8]>,
        validity: Option<Validity<'a>>,
    },
    /// Values of a Python sequence.
    Owned(&'a [Option<String>]),
}

impl Strings<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Offsets32 { offsets, .. } => offsets.len() - 1,
            Self::Offsets64 { offsets, .. } => offsets.len() - 1,
            Self::Views { views, .. } => views.len(),
            Self::Owned(values) => values.len(),
        }
    }

    /// Row `row`'s bytes; None for a null, or for offsets that point outside the data.
    #[inline]
    pub(crate) fn get(&self, row: usize) -> Option<&[u8]> {
        let valid = |v: &Option<Validity<'_>>| v.is_none_or(|v| v.is_valid(row));
        match self {
            Self::Offsets32 { offsets, data, validity } => {
                let (start, end) =
                    (usize::try_from(offsets[row]).ok()?, usize::try_from(offsets[row + 1]).ok()?);
                valid(validity).then(|| data.get(start..end)).flatten()
            }
            Self::Offsets64 { offsets, data, validity } => {
                let (start, end) =
                    (usize::try_from(offsets[row]).ok()?, usize::try_from(offsets[row + 1]).ok()?);
                valid(validity).then(|| data.get(start..end)).flatten()
            }
            Self::Views { views, buffers, validity } => {
                if !valid(validity) {
                    return None;
                }
                let view = &views[row];
                let word = |at: usize| i32::from_le_bytes(view[at..at + 4].try_into().unwrap());
                let length = usize::try_from(word(0)).ok()?;
                if length <= 12 {
                    return Some(&view[4..4 + length]);
                }
                let (buffer, start) = (usize::try_from(word(8)).ok()?, usize::try_from(word(12)).ok()?);
                buffers.get(buffer)?.get(start..start.checked_add(length)?)
            }
            Self::Owned(values) => values[row].as_deref().map(str::as_bytes),
        }
    }
}

/// A column of string values.
pub(crate) enum Values {
    Arrow(String, Vec<ffi::Array>),
    Owned(Vec<Option<String>>),
}

impl Values {
    /// An Arrow string column, or any iterable of `str` and `None` (a list, a numpy
    /// object array, a pandas series of objects).
    pub(crate) fn extract(object: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        if let Some((format, arrays)) = arrow_column(object, &["u", "U", "vu"], what)? {
            check_lengths(&arrays, what)?;
            return Ok(Self::Arrow(format, arrays));
        }
        if object.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(format!("{what}: a column of values, not one string")));
        }
        let mut values = Vec::with_capacity(object.len().unwrap_or(0));
        for value in object.try_iter()? {
            let value = value?;
            values.push(if value.is_none() { None } else { Some(value.extract::<String>()?) });
        }
        Ok(Self::Owned(values))
    }

    pub(crate) fn chunks(&self) -> PyResult<Vec<Strings<'_>>> {
        match self {
            Self::Owned(values) => Ok(vec![Strings::Owned(values)]),
            Self::Arrow(format, arrays) => arrays.iter().map(|a| strings(format, a)).collect(),
        }
    }
}

fn strings<'a>(format: &str, array: &'a ffi::Array) -> PyResult<Strings<'a>> {
    let raw = array.raw();
    let (offset, length) = (raw.offset as usize, raw.length as usize);
    let validity = validity(array);
    let what = "values";
    // The offsets of rows `offset..=offset + length`, and the data up to the last.
    let data = |end: usize| -> PyResult<&'a [u8]> {
        let data = array.buffer(2).cast::<u8>();
        if end == 0 {
            return Ok(&[]);
        }
        if data.is_null() {
            return Err(PyValueError::new_err("values: an Arrow string array without data"));
        }
        // SAFETY: the data buffer holds the bytes up to the last offset, by the format.
        Ok(unsafe { std::slice::from_raw_parts(data, end) })
    };
    match format {
        "u" | "U" if length == 0 => Ok(Strings::Owned(&[])),
        "u" => {
            // SAFETY: a string array's buffer 1 holds `length + 1` i32 offsets.
            let offsets = unsafe { offsets_buffer::<i32>(array, offset, length)? };
            let end = usize::try_from(offsets[length]).unwrap_or(0);
            Ok(Strings::Offsets32 { offsets, data: data(end)?, validity })
        }
        "U" => {
            // SAFETY: a large_string array's buffer 1 holds `length + 1` i64 offsets.
            let offsets = unsafe { offsets_buffer::<i64>(array, offset, length)? };
            let end = usize::try_from(offsets[length]).unwrap_or(0);
            Ok(Strings::Offsets64 { offsets, data: data(end)?, validity })
        }
        _ => {
            // SAFETY: a string_view array's buffer 1 holds a 16-byte view a row.
            let views = unsafe { values::<[u8; 16]>(array, 1, what)? };
            // Buffers: validity, views, the data buffers, then their sizes (int64 each).
            let n = usize::try_from(raw.n_buffers).unwrap_or(0);
            let data_buffers = n.saturating_sub(3);
            let sizes = array.buffer(n.saturating_sub(1)).cast::<i64>();
            let mut buffers = Vec::with_capacity(data_buffers);
            for i in 0..data_buffers {
                // SAFETY: the last buffer holds one size per data buffer.
                let size = usize::try_from(unsafe { *sizes.add(i) }).unwrap_or(0);
                let data = array.buffer(2 + i).cast::<u8>();
                buffers.push(if data.is_null() || size == 0 {
                    &[][..]
                } else {
                    // SAFETY: a data buffer holds `size` bytes.
                    unsafe { std::slice::from_raw_parts(data, size) }
                });
            }
            Ok(Strings::Views { views, buffers, validity })
        }
    }
}

/// The `length + 1` offsets of rows `offset..=offset + length` of a string array.
///
/// # Safety
/// Buffer 1 of the array holds at least `offset + length + 1` offsets of type `O`.
unsafe fn offsets_buffer<O>(array: &ffi::Array, offset: usize, length: usize) -> PyResult<&[O]> {
    let base = array.buffer(1).cast::<O>();
    if base.is_null() || !base.is_aligned() {
        return Err(PyValueError::new_err("values: Arrow offsets missing or misaligned"));
    }
    // SAFETY: by the caller.
    Ok(unsafe { std::slice::from_raw_parts(base.add(offset), length + 1) })
}
