//! The Arrow C data interface's structures (arrow.apache.org/docs/format/CDataInterface),
//! and their import from the PyCapsules of the Arrow PyCapsule interface.
//!
//! A capsule owns its structure until a consumer moves it out: we copy the structure and
//! mark the capsule's copy released (its `release` set to null), so that the capsule's
//! destructor leaves the data to us, and we release it when we drop it.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::{self, NonNull};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyTuple};

#[repr(C)]
pub(super) struct ArrowSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut ArrowSchema,
    dictionary: *mut ArrowSchema,
    release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    private_data: *mut c_void,
}

#[repr(C)]
pub(super) struct ArrowArray {
    pub(super) length: i64,
    pub(super) null_count: i64,
    pub(super) offset: i64,
    pub(super) n_buffers: i64,
    n_children: i64,
    pub(super) buffers: *mut *const c_void,
    children: *mut *mut ArrowArray,
    dictionary: *mut ArrowArray,
    release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    private_data: *mut c_void,
}

#[repr(C)]
struct ArrowArrayStream {
    get_schema: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowSchema) -> c_int>,
    get_next: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowArray) -> c_int>,
    get_last_error: Option<unsafe extern "C" fn(*mut ArrowArrayStream) -> *const c_char>,
    release: Option<unsafe extern "C" fn(*mut ArrowArrayStream)>,
    private_data: *mut c_void,
}

/// An imported array: ours to read until dropped, when its producer's `release` runs.
pub(crate) struct Array(ArrowArray);

impl Array {
    pub(super) fn raw(&self) -> &ArrowArray {
        &self.0
    }

    /// Buffer `i`: null when absent (a validity bitmap of an array without nulls).
    pub(super) fn buffer(&self, i: usize) -> *const c_void {
        if i as i64 >= self.0.n_buffers || self.0.buffers.is_null() {
            return ptr::null();
        }
        // SAFETY: `buffers` holds `n_buffers` pointers, by the interface.
        unsafe { *self.0.buffers.add(i) }
    }
}

impl Drop for Array {
    fn drop(&mut self) {
        if let Some(release) = self.0.release {
            // SAFETY: the array is ours (moved out of its capsule or stream) and alive.
            unsafe { release(&mut self.0) }
        }
    }
}

/// What we keep of a schema: its format string (`I`, `u`, `w:16`...), and whether it is
/// dictionary-encoded (then the format is the indices').
pub(super) struct Schema {
    pub(super) format: String,
    pub(super) dictionary: bool,
}

/// Reads a schema moved out of its producer, and releases it.
///
/// # Safety
/// `schema` is a live schema of the interface that we own.
unsafe fn take_schema(mut schema: ArrowSchema) -> Schema {
    let format = if schema.format.is_null() {
        String::new()
    } else {
        // SAFETY: the format is a NUL-terminated string, by the interface.
        unsafe { CStr::from_ptr(schema.format) }.to_string_lossy().into_owned()
    };
    let dictionary = !schema.dictionary.is_null();
    if let Some(release) = schema.release {
        // SAFETY: ours, alive, released once.
        unsafe { release(&mut schema) }
    }
    Schema { format, dictionary }
}

/// Moves the structure out of a capsule of `name`, marking the capsule's copy released.
///
/// # Safety
/// The capsule of that name holds a `T` of the interface whose `release` is `release(t)`.
unsafe fn take<T>(
    capsule: &Bound<'_, PyAny>,
    name: &CStr,
    release: impl Fn(&mut T) -> &mut Option<unsafe extern "C" fn(*mut T)>,
) -> PyResult<T> {
    let capsule = capsule.cast::<PyCapsule>()?;
    let pointer: NonNull<T> = capsule.pointer_checked(Some(name))?.cast();
    // SAFETY: the caller vouches for the type; copying it and nulling the source's
    // `release` is the interface's move.
    unsafe {
        let source = &mut *pointer.as_ptr();
        if release(source).is_none() {
            return Err(PyValueError::new_err("the Arrow data was already consumed"));
        }
        let value = ptr::read(source);
        *release(source) = None;
        Ok(value)
    }
}

/// The schema and arrays of an object of the Arrow PyCapsule interface: one array of
/// `__arrow_c_array__` (pyarrow and nanoarrow arrays), or every array of
/// `__arrow_c_stream__` (chunked arrays, polars and pandas series). None when the object
/// has neither method.
pub(super) fn import(object: &Bound<'_, PyAny>) -> PyResult<Option<(Schema, Vec<Array>)>> {
    if object.hasattr("__arrow_c_array__")? {
        let pair = object.call_method0("__arrow_c_array__")?;
        let pair = pair.cast::<PyTuple>()?;
        if pair.len() != 2 {
            return Err(PyValueError::new_err("__arrow_c_array__ must return two capsules"));
        }
        // SAFETY: capsules of these names hold these structures, by the interface.
        let schema = unsafe { take::<ArrowSchema>(&pair.get_item(0)?, c"arrow_schema", |s| &mut s.release)? };
        // SAFETY: as above; the schema is ours now.
        let schema = unsafe { take_schema(schema) };
        let array = unsafe { take::<ArrowArray>(&pair.get_item(1)?, c"arrow_array", |a| &mut a.release)? };
        return Ok(Some((schema, vec![Array(array)])));
    }
    if object.hasattr("__arrow_c_stream__")? {
        let capsule = object.call_method0("__arrow_c_stream__")?;
        // SAFETY: a capsule of this name holds a stream, by the interface.
        let stream =
            unsafe { take::<ArrowArrayStream>(&capsule, c"arrow_array_stream", |s| &mut s.release)? };
        return read_stream(stream).map(Some);
    }
    Ok(None)
}

/// A stream we own, released when dropped.
struct Stream(ArrowArrayStream);

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(release) = self.0.release {
            // SAFETY: ours and alive.
            unsafe { release(&mut self.0) }
        }
    }
}

impl Stream {
    fn error(&mut self, what: &str, code: c_int) -> PyErr {
        let message = self.0.get_last_error.and_then(|last| {
            // SAFETY: the stream is alive; the message lives until the next call.
            let text = unsafe { last(&mut self.0) };
            (!text.is_null()).then(|| unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned())
        });
        PyValueError::new_err(format!(
            "the Arrow stream failed to {what} (error {code}): {}",
            message.unwrap_or_default()
        ))
    }
}

fn read_stream(stream: ArrowArrayStream) -> PyResult<(Schema, Vec<Array>)> {
    let mut stream = Stream(stream);
    let (Some(get_schema), Some(get_next)) = (stream.0.get_schema, stream.0.get_next) else {
        return Err(PyValueError::new_err("the Arrow stream has no get_schema or get_next"));
    };
    // SAFETY: zeroed structures are released ones (all pointers null), what the
    // producer fills in.
    let mut schema: ArrowSchema = unsafe { std::mem::zeroed() };
    let code = unsafe { get_schema(&mut stream.0, &mut schema) };
    if code != 0 {
        return Err(stream.error("give its schema", code));
    }
    // SAFETY: filled in by the producer, and ours.
    let schema = unsafe { take_schema(schema) };
    let mut arrays = Vec::new();
    loop {
        // SAFETY: as above.
        let mut array: ArrowArray = unsafe { std::mem::zeroed() };
        let code = unsafe { get_next(&mut stream.0, &mut array) };
        if code != 0 {
            return Err(stream.error("give its next array", code));
        }
        if array.release.is_none() {
            return Ok((schema, arrays)); // the end of the stream
        }
        arrays.push(Array(array));
    }
}
