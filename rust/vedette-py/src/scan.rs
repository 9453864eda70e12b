//! `Index.scan_files` and `Index.scan_to`: the archive job of the core, run on a thread of
//! its own while Python iterates its hits, or waits for it with a progress callback.
//! Waiting is in slices, so that Ctrl-C ends a scan of any length.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use vedette_core::scan::writer::{HitWriter, OutputFormat};
use vedette_core::scan::{FileHit as CoreFileHit, HitSink, ScanOptions, ScanStats, ScanSummary, WriteHits};
use vedette_core::ScanError;

use crate::convert::{self, Indicator};
use crate::errors::Result;
use crate::index::PyIndex;

/// How long a wait for the scan's thread lasts before Python's signals are checked.
const WAIT: Duration = Duration::from_millis(100);

/// Batches of hits (one chunk's each) between the scan's thread and the iterator.
const BATCHES_IN_FLIGHT: usize = 16;

/// The scan's options from the call's arguments.
pub(crate) fn options(
    index: &vedette_core::Index,
    threads: Option<usize>,
    at: Option<&Bound<'_, PyAny>>,
) -> Result<ScanOptions> {
    let mut options = ScanOptions::new(convert::at(at, index.has_validity_windows())?);
    if let Some(threads) = threads {
        if threads == 0 {
            return Err(PyValueError::new_err("threads must be at least 1").into());
        }
        options = options.threads(threads);
    }
    Ok(options)
}

/// One hit in a file (`Index.scan_files`).
#[pyclass(frozen, get_all, module = "vedette._core")]
pub(crate) struct FileHit {
    file: String,
    line: u64,
    start: usize,
    end: usize,
    observed: String,
    kind: &'static str,
    field: Option<String>,
    ts: Option<Py<PyAny>>,
    uid: Option<String>,
    indicators: Vec<Py<Indicator>>,
}

const FILE_HIT_FIELDS: [&str; 10] =
    ["file", "line", "start", "end", "observed", "kind", "field", "ts", "uid", "indicators"];

#[pymethods]
impl FileHit {
    #[new]
    #[pyo3(signature = (file, line, start, end, observed, kind, field=None, ts=None, uid=None,
                        indicators=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        file: String,
        line: u64,
        start: usize,
        end: usize,
        observed: String,
        kind: &str,
        field: Option<String>,
        ts: Option<Py<PyAny>>,
        uid: Option<String>,
        indicators: Vec<Py<Indicator>>,
    ) -> Result<Self> {
        let kind = kind.parse::<vedette_core::Kind>()?.as_str();
        Ok(FileHit { file, line, start, end, observed, kind, field, ts, uid, indicators })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        convert::reduce(slf.as_any(), &FILE_HIT_FIELDS)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        convert::repr(slf.as_any(), &FILE_HIT_FIELDS)
    }
}

impl FileHit {
    fn from_core(py: Python<'_>, index: &PyIndex, hit: CoreFileHit) -> PyResult<FileHit> {
        Ok(FileHit {
            file: hit.file.to_string(),
            line: hit.line,
            start: hit.start,
            end: hit.end,
            observed: hit.observed,
            kind: hit.kind.as_str(),
            field: hit.field,
            ts: convert::datetime(py, hit.ts)?,
            uid: hit.uid,
            indicators: index.indicators_of(py, &hit.indicators)?,
        })
    }
}

/// What a finished scan read and what went wrong: `errors` are `(file, category,
/// message)` tuples.
#[pyclass(frozen, get_all, module = "vedette._core")]
pub(crate) struct ScanReport {
    files: u64,
    bytes: u64,
    lines: u64,
    hits: u64,
    seconds: f64,
    errors: Vec<ErrorTuple>,
}

#[pymethods]
impl ScanReport {
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        convert::repr(slf.as_any(), &["files", "bytes", "lines", "hits", "seconds", "errors"])
    }
}

impl ScanReport {
    fn new(summary: &ScanSummary, seconds: f64) -> ScanReport {
        let s = &summary.stats;
        ScanReport {
            files: s.files,
            bytes: s.bytes,
            lines: s.lines,
            hits: s.hits,
            seconds,
            errors: summary.errors.iter().map(error_tuple).collect(),
        }
    }
}

/// The inputs that a scan of `paths` reads, named as its hits name them, and an error per
/// path that names nothing (`vedette_core::scan::input::expand`): what a cluster
/// partitions a scan by, walked by the same rules.
#[pyfunction]
pub(crate) fn scan_inputs(py: Python<'_>, paths: Vec<String>) -> (Vec<String>, Vec<ErrorTuple>) {
    let (inputs, errors) = py.detach(|| vedette_core::scan::input::expand(&paths));
    let names = inputs.iter().map(|input| input.name().into_owned()).collect();
    (names, errors.iter().map(error_tuple).collect())
}

/// A scan error as Python sees it: `(file, category, message)`.
type ErrorTuple = (String, &'static str, String);

/// What a watcher's poll did: `(bytes, hits, errors, hits per record id)`.
type Polled = (u64, u64, Vec<ErrorTuple>, Vec<(u32, u64)>);

fn error_tuple(e: &ScanError) -> ErrorTuple {
    (e.file().to_string(), e.category(), e.message().to_string())
}

fn stats_dict<'py>(py: Python<'py>, stats: &ScanStats, seconds: f64) -> PyResult<Bound<'py, PyDict>> {
    report_dict(py, [stats.files, stats.bytes, stats.lines, stats.hits], seconds)
}

fn report_dict<'py>(py: Python<'py>, counts: [u64; 4], seconds: f64) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for (name, n) in ["files", "bytes", "lines", "hits"].into_iter().zip(counts) {
        out.set_item(name, n)?;
    }
    out.set_item("seconds", seconds)?;
    Ok(out)
}

enum Message {
    Hits(Vec<CoreFileHit>),
    Done(ScanSummary),
}

/// Hands a chunk's hits on to the iterator as one batch.
struct Forward {
    to: SyncSender<Message>,
    batch: Vec<CoreFileHit>,
    cancel: Arc<AtomicBool>,
}

impl HitSink for Forward {
    fn hit(&mut self, hit: CoreFileHit) -> bool {
        self.batch.push(hit);
        true
    }

    fn progress(&mut self, _: &ScanStats) -> bool {
        if !self.batch.is_empty() && self.to.send(Message::Hits(std::mem::take(&mut self.batch))).is_err() {
            return false;
        }
        !self.cancel.load(Ordering::Relaxed)
    }
}

/// The hits of `Index.scan_files`, in input order; once they are all read, `errors` and
/// `stats` say what the scan read and what went wrong.
#[pyclass(module = "vedette._core")]
pub(crate) struct Scan {
    index: Py<PyIndex>,
    /// In a mutex only so that the iterator may wait with the GIL released.
    from: Mutex<Receiver<Message>>,
    pending: std::collections::VecDeque<CoreFileHit>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
    report: Option<Py<ScanReport>>,
}

impl Scan {
    pub(crate) fn start(index: Bound<'_, PyIndex>, paths: Vec<String>, options: ScanOptions) -> Scan {
        let (to, from) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let cancel = Arc::new(AtomicBool::new(false));
        let core = index.get().inner.clone();
        let sink_cancel = cancel.clone();
        let thread = std::thread::spawn(move || {
            let mut sink = Forward { to, batch: Vec::new(), cancel: sink_cancel };
            let summary = core.scan_files(&paths, &options, &mut sink);
            let _ = sink.to.send(Message::Done(summary));
        });
        Scan {
            index: index.unbind(),
            from: Mutex::new(from),
            pending: Default::default(),
            cancel,
            thread: Some(thread),
            started: Instant::now(),
            report: None,
        }
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        // An iterator given up early stops its scan; the thread ends at its next chunk.
        self.cancel.store(true, Ordering::Relaxed);
    }
}

#[pymethods]
impl Scan {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<FileHit>> {
        loop {
            if let Some(hit) = self.pending.pop_front() {
                return FileHit::from_core(py, self.index.get(), hit).map(Some);
            }
            if self.report.is_some() {
                return Ok(None);
            }
            let from = &self.from;
            match py.detach(|| from.lock().unwrap_or_else(|e| e.into_inner()).recv_timeout(WAIT)) {
                Ok(Message::Hits(batch)) => self.pending.extend(batch),
                Ok(Message::Done(summary)) => {
                    if let Some(thread) = self.thread.take() {
                        let _ = thread.join();
                    }
                    let report = ScanReport::new(&summary, self.started.elapsed().as_secs_f64());
                    self.report = Some(Py::new(py, report)?);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(err) = py.check_signals() {
                        self.cancel.store(true, Ordering::Relaxed);
                        return Err(err);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PyRuntimeError::new_err("the scan's thread ended without a summary"));
                }
            }
        }
    }

    /// `(file, category, message)` of each input that could not be read whole; empty
    /// until the hits are all read.
    #[getter]
    fn errors(&self) -> Vec<ErrorTuple> {
        self.report.as_ref().map(|r| r.get().errors.clone()).unwrap_or_default()
    }

    /// `files`, `bytes`, `lines`, `hits` and `seconds` of the scan, once the hits are all
    /// read (`None` before).
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(report) = &self.report else { return Ok(None) };
        let r = report.get();
        report_dict(py, [r.files, r.bytes, r.lines, r.hits], r.seconds).map(Some)
    }
}

/// Where `Index.scan_to` writes: a path, or an open file descriptor (not closed).
pub(crate) enum Output {
    Path(std::path::PathBuf),
    Fd(i32),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Output {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<i32>() {
            Ok(fd) => Ok(Output::Fd(fd)),
            Err(_) => Ok(Output::Path(obj.extract()?)),
        }
    }
}

impl Output {
    fn open(&self) -> io::Result<File> {
        match self {
            Output::Path(path) => File::create(path),
            Output::Fd(fd) if *fd < 0 => Err(io::Error::from(io::ErrorKind::InvalidInput)),
            Output::Fd(fd) => {
                // SAFETY: the caller passed an open descriptor it keeps open for the call;
                // we write through a duplicate of it, closed when we are done.
                let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(*fd) };
                Ok(File::from(borrowed.try_clone_to_owned()?))
            }
        }
    }
}

/// Counts what the writing sink has done, for the progress callback on Python's thread.
struct Watched<S> {
    inner: S,
    stats: Arc<Mutex<ScanStats>>,
    errors: Arc<Mutex<Vec<ScanError>>>,
    cancel: Arc<AtomicBool>,
}

impl<S: HitSink> HitSink for Watched<S> {
    fn hit(&mut self, hit: CoreFileHit) -> bool {
        self.inner.hit(hit)
    }
    fn opened(&mut self, file: &str) {
        self.inner.opened(file);
    }
    fn error(&mut self, error: &ScanError) {
        self.errors.lock().unwrap_or_else(|e| e.into_inner()).push(error.clone());
        self.inner.error(error);
    }
    fn progress(&mut self, stats: &ScanStats) -> bool {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = stats.clone();
        self.inner.progress(stats) && !self.cancel.load(Ordering::Relaxed)
    }
}

/// Runs `Index.scan_to`: the scan and its writer on a thread, Python's thread waiting in
/// slices, calling `progress(stats)` every `every` and `on_error(file, category,
/// message)` as errors come.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scan_to(
    py: Python<'_>,
    index: Arc<vedette_core::Index>,
    paths: Vec<String>,
    output: Output,
    format: OutputFormat,
    options: ScanOptions,
    count: bool,
    progress: Option<Bound<'_, PyAny>>,
    on_error: Option<Bound<'_, PyAny>>,
) -> Result<ScanReport> {
    let out = output.open()?;
    let started = Instant::now();
    let stats = Arc::new(Mutex::new(ScanStats::default()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let cancel = Arc::new(AtomicBool::new(false));
    let (done_to, done) = mpsc::channel::<(ScanSummary, io::Result<()>)>();
    let done = Mutex::new(done);
    let (thread_stats, thread_errors, thread_cancel) = (stats.clone(), errors.clone(), cancel.clone());
    let thread = std::thread::spawn(move || {
        let writer = HitWriter::new(format, out);
        let mut sink = WriteHits::new(&index, writer);
        if count {
            sink = sink.count_only();
        }
        let mut watched =
            Watched { inner: sink, stats: thread_stats, errors: thread_errors, cancel: thread_cancel };
        let summary = index.scan_files(&paths, &options, &mut watched);
        let written = watched.inner.finish().and_then(|mut out| out.flush());
        let _ = done_to.send((summary, written));
    });
    let mut reported = 0;
    let result = loop {
        let waited = py.detach(|| done.lock().unwrap_or_else(|e| e.into_inner()).recv_timeout(WAIT));
        let new_errors: Vec<ScanError> = {
            let errors = errors.lock().unwrap_or_else(|e| e.into_inner());
            errors[reported..].to_vec()
        };
        reported += new_errors.len();
        if let Some(on_error) = &on_error {
            for e in &new_errors {
                on_error.call1(error_tuple(e))?;
            }
        }
        match waited {
            Ok(done) => break done,
            Err(RecvTimeoutError::Timeout) => {
                if let Some(progress) = &progress {
                    let now = stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    progress.call1((stats_dict(py, &now, started.elapsed().as_secs_f64())?,))?;
                }
                if let Err(err) = py.check_signals() {
                    cancel.store(true, Ordering::Relaxed);
                    let _ = py.detach(|| thread.join());
                    return Err(err.into());
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("the scan's thread ended without a summary").into());
            }
        }
    };
    let _ = py.detach(|| thread.join());
    let (summary, written) = result;
    // Errors the last slice did not show yet.
    if let Some(on_error) = &on_error {
        for e in &summary.errors[reported.min(summary.errors.len())..] {
            on_error.call1(error_tuple(e))?;
        }
    }
    written?;
    Ok(ScanReport::new(&summary, started.elapsed().as_secs_f64()))
}

/// A stream given in pieces, matched line by line as they come (`Index.scanner`).
#[pyclass(module = "vedette._core")]
pub(crate) struct Scanner {
    index: Py<PyIndex>,
    inner: vedette_core::scan::Scanner<Arc<vedette_core::Index>>,
}

impl Scanner {
    pub(crate) fn new(index: Bound<'_, PyIndex>, at: vedette_core::Timestamp) -> Scanner {
        let inner = vedette_core::scan::Scanner::new(index.get().inner.clone(), at);
        Scanner { index: index.unbind(), inner }
    }
}

#[pymethods]
impl Scanner {
    /// The matches of the lines `data` completes; spans are offsets in the whole stream.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        let inner = &mut self.inner;
        let matches = py.detach(|| inner.feed(data));
        self.index.get().matches(py, &matches)
    }

    /// The matches of the stream's last line, when it ends without a newline.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
        let matches = self.inner.finish();
        self.index.get().matches(py, &matches)
    }
}

/// Hands a poll's hits to the watcher's writer.
struct WriteTo<'w, W: Write> {
    writer: &'w mut HitWriter<W>,
    index: &'w vedette_core::Index,
    failed: Option<io::Error>,
    /// Hits per record id: what a sensor reports back as sightings.
    seen: std::collections::BTreeMap<u32, u64>,
}

impl<W: Write + Send> HitSink for WriteTo<'_, W> {
    fn hit(&mut self, hit: CoreFileHit) -> bool {
        for id in &hit.indicators {
            *self.seen.entry(id.as_u32()).or_default() += 1;
        }
        match self.writer.write(self.index, &hit) {
            Ok(()) => true,
            Err(err) => {
                self.failed = Some(err);
                false
            }
        }
    }
}

/// Follows growing logs and writes the hits of their new lines as they come, each
/// flushed (`vedette watch`); see `vedette_core::scan::Watch`.
#[pyclass(module = "vedette._core")]
pub(crate) struct Watcher {
    watch: vedette_core::scan::Watch,
    writer: Option<HitWriter<File>>,
}

impl Watcher {
    fn run(
        &mut self,
        py: Python<'_>,
        index: &PyIndex,
        version: Option<u64>,
        at: Option<&Bound<'_, PyAny>>,
        retro: bool,
    ) -> Result<Polled> {
        let at = convert::at(at, index.inner.has_validity_windows())?;
        let Some(writer) = self.writer.as_mut() else {
            return Err(PyValueError::new_err("the watcher is closed").into());
        };
        let (watch, core) = (&mut self.watch, &index.inner);
        let (stats, errors, failed, seen) = py.detach(|| {
            let mut sink = WriteTo { writer, index: core, failed: None, seen: Default::default() };
            let (stats, errors) = match retro {
                true => (watch.retro_hunt(core, at, version, &mut sink), Vec::new()),
                false => watch.poll(core, at, version, &mut sink),
            };
            (stats, errors, sink.failed, sink.seen)
        });
        if let Some(err) = failed {
            return Err(err.into());
        }
        Ok((stats.bytes, stats.hits, errors.iter().map(error_tuple).collect(), seen.into_iter().collect()))
    }
}

#[pymethods]
impl Watcher {
    #[new]
    #[pyo3(signature = (paths, output, *, format="jsonl", from_start=false, retro_bytes=67108864))]
    fn new(
        paths: Vec<String>,
        output: Output,
        format: &str,
        from_start: bool,
        retro_bytes: usize,
    ) -> Result<Watcher> {
        let format: OutputFormat = format
            .parse()
            .map_err(|e: vedette_core::scan::writer::UnknownFormat| PyValueError::new_err(e.to_string()))?;
        let writer = HitWriter::new(format, output.open()?).flush_each_hit(true);
        let watch = vedette_core::scan::Watch::new(&paths, from_start, 16 << 20, retro_bytes);
        Ok(Watcher { watch, writer: Some(writer) })
    }

    /// Reads what the logs appended and writes the hits of their whole lines against
    /// `index`, each with `version`; returns `(bytes, hits, errors, seen)`, `seen` the
    /// hits per record id of `index`.
    #[pyo3(signature = (index, *, version=None, at=None))]
    fn poll(
        &mut self,
        py: Python<'_>,
        index: PyRef<'_, PyIndex>,
        version: Option<u64>,
        at: Option<&Bound<'_, PyAny>>,
    ) -> Result<Polled> {
        self.run(py, &index, version, at, false)
    }

    /// Scans the lines read lately (the retro budget of each log) again against `index`,
    /// the indicators that just arrived; their hits say `"retro": true`. Returns
    /// `(bytes, hits)`.
    #[pyo3(signature = (index, *, version=None, at=None))]
    fn retro_hunt(
        &mut self,
        py: Python<'_>,
        index: PyRef<'_, PyIndex>,
        version: Option<u64>,
        at: Option<&Bound<'_, PyAny>>,
    ) -> Result<(u64, u64)> {
        let (bytes, hits, _, _) = self.run(py, &index, version, at, true)?;
        Ok((bytes, hits))
    }

    /// Ends the output (a Zeek log's `#close`) and closes it.
    fn close(&mut self) -> Result<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.finish()?;
        }
        Ok(())
    }
}
