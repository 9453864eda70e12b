//! The archive job end to end: inputs opened and inflated on one thread, their chunks of
//! whole lines scanned on a pool, hits attributed to their log fields and handed to a
//! [`HitSink`] in input order.

use std::sync::Arc;

use super::input::{self, Input};
use super::lines::LineChunks;
use super::logs::LogContext;
use super::ordered::{ordered_map, Consumer};
use super::FileHit;
use crate::error::ScanError;
use crate::index::Index;
use crate::indicator::{Kind, Timestamp};

/// How a scan runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScanOptions {
    /// Threads that scan chunks; reading and inflating the inputs takes one more. At
    /// least 1.
    pub threads: usize,
    /// Validity windows are evaluated at this time.
    pub at: Timestamp,
    /// Bytes of whole lines per chunk.
    pub chunk_bytes: usize,
    /// The longest line read whole; a longer one is scanned in pieces of this size.
    pub max_line_bytes: usize,
}

impl ScanOptions {
    /// 4 MiB chunks, lines up to 16 MiB, a thread per core, validity at `at`.
    pub fn new(at: Timestamp) -> ScanOptions {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        ScanOptions { threads, at, chunk_bytes: 4 << 20, max_line_bytes: 16 << 20 }
    }

    pub fn threads(mut self, threads: usize) -> ScanOptions {
        self.threads = threads.max(1);
        self
    }
}

/// What a scan read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanStats {
    /// Inputs opened.
    pub files: u64,
    /// Bytes scanned, after inflating.
    pub bytes: u64,
    pub lines: u64,
    pub hits: u64,
}

/// What a scan read, and what went wrong on the way: every input that could not be read
/// whole is named in `errors`, and the rest were scanned all the same.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ScanSummary {
    pub stats: ScanStats,
    pub errors: Vec<ScanError>,
}

/// Where a scan's results go: in input order, on one thread.
pub trait HitSink: Send {
    /// One hit; `false` ends the scan.
    fn hit(&mut self, hit: FileHit) -> bool;
    /// An input was opened: its hits (if any) come next.
    fn opened(&mut self, _file: &str) {}
    /// An input, or part of one, that could not be scanned; the scan goes on.
    fn error(&mut self, _error: &ScanError) {}
    /// Called after each chunk, with the totals so far; `false` ends the scan.
    fn progress(&mut self, _stats: &ScanStats) -> bool {
        true
    }
}

/// What the reading thread hands to the pool.
enum Work {
    Opened(Arc<str>),
    Chunk {
        file: Arc<str>,
        bytes: Vec<u8>,
        first_line: u64,
        newlines: u64,
        /// The chunk holds `#` lines, which may change the context within it.
        headers: bool,
        context: LogContext,
    },
    Error(ScanError),
    /// The input ended without a newline after its last line.
    PartialLastLine,
}

/// What the pool hands on to the sink.
enum Done {
    Opened(Arc<str>),
    Chunk { hits: Vec<FileHit>, bytes: u64, lines: u64 },
    Error(ScanError),
    PartialLastLine,
}

impl Index {
    /// Scans files, directories (walked recursively) and `-` (standard input) for every
    /// indicator valid at `options.at`, inflating each input by its magic bytes, and hands
    /// the hits to `sink` in input order. An input that cannot be opened or read whole is
    /// named in the summary's errors (and to `sink`), and the others are still scanned;
    /// the hits of a corrupt compressed input's readable part are kept.
    pub fn scan_files<P: AsRef<str>>(
        &self,
        paths: &[P],
        options: &ScanOptions,
        sink: &mut dyn HitSink,
    ) -> ScanSummary {
        let (inputs, missing) = input::expand(paths);
        let window = 2 * options.threads + 2;
        // Scanned chunks' buffers go back to the reader: a fresh 4 MiB buffer per chunk
        // cost its page faults on every chunk.
        let (recycle, recycled) = std::sync::mpsc::channel::<Vec<u8>>();
        let produce = |send: &mut dyn FnMut(Work) -> bool| {
            for error in missing {
                if !send(Work::Error(error)) {
                    return;
                }
            }
            for input in &inputs {
                if !read_input(input, options, &recycled, send) {
                    return;
                }
            }
        };
        let work = |item: Work| match item {
            Work::Opened(file) => Done::Opened(file),
            Work::Chunk { file, bytes, first_line, newlines, headers, context } => {
                let hits = scan_chunk(self, options.at, &file, &bytes, first_line, context, headers);
                let len = bytes.len() as u64;
                let _ = recycle.send(bytes);
                Done::Chunk { hits, bytes: len, lines: newlines }
            }
            Work::Error(error) => Done::Error(error),
            Work::PartialLastLine => Done::PartialLastLine,
        };
        ordered_map(options.threads, window, produce, work, Drain { sink, summary: ScanSummary::default() })
    }
}

/// Opens `input` and sends its chunks, each with the log context in effect where it
/// starts; `false` when the consumer stopped.
fn read_input(
    input: &Input,
    options: &ScanOptions,
    recycled: &std::sync::mpsc::Receiver<Vec<u8>>,
    send: &mut dyn FnMut(Work) -> bool,
) -> bool {
    let file: Arc<str> = input.to_string().into();
    let reader = match input::open(input) {
        Ok(reader) => reader,
        Err(error) => return send(Work::Error(error)),
    };
    if !send(Work::Opened(file.clone())) {
        return false;
    }
    let mut context: Option<LogContext> = None;
    let mut ends_in_newline = true;
    let mut chunks = LineChunks::new(reader, &file, options.chunk_bytes, options.max_line_bytes);
    loop {
        while let Ok(buffer) = recycled.try_recv() {
            chunks.recycle(buffer);
        }
        let Some(item) = chunks.next() else { break };
        let sent = match item {
            Ok(chunk) => {
                let here = context.get_or_insert_with(|| LogContext::sniff(&chunk.bytes));
                let at_start = here.clone();
                let headers = here.advance(&chunk.bytes);
                ends_in_newline = chunk.bytes.last().is_none_or(|&b| b == b'\n');
                let (first_line, newlines) = (chunk.first_line, chunk.newlines);
                let bytes = chunk.bytes;
                send(Work::Chunk {
                    file: file.clone(),
                    bytes,
                    first_line,
                    newlines,
                    headers,
                    context: at_start,
                })
            }
            Err(error) => send(Work::Error(error)),
        };
        if !sent {
            return false;
        }
    }
    ends_in_newline || send(Work::PartialLastLine)
}

/// The hits of one chunk of whole lines, in line order, each attributed to its record.
pub(super) fn scan_chunk(
    index: &Index,
    at: Timestamp,
    file: &Arc<str>,
    bytes: &[u8],
    first_line: u64,
    context: LogContext,
    headers: bool,
) -> Vec<FileHit> {
    let mut hits = Vec::new();
    let mut context = context;
    let mut line_no = first_line;
    let mut url_text = Vec::new();
    let row_urls = context.names_row_urls();
    // Lines one by one only where the log needs it: a header line changes the context,
    // and rows that name URLs in two fields are matched on those fields too. Otherwise
    // the whole chunk is one search.
    let whole = !row_urls && !headers;
    let mut segment_start = 0;
    let mut line_start = 0;
    let flush = |hits: &mut Vec<FileHit>, context: &LogContext, from: usize, to: usize, line_no: u64| {
        scan_segment(index, at, file, bytes, from, to, line_no, context, hits);
    };
    if whole {
        flush(&mut hits, &context, 0, bytes.len(), line_no);
        return hits;
    }
    let mut segment_line = line_no;
    while line_start < bytes.len() {
        let line_end = memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |p| line_start + p);
        let line = &bytes[line_start..line_end];
        if context.is_header(line) {
            flush(&mut hits, &context, segment_start, line_start, segment_line);
            context.advance(&bytes[line_start..(line_end + 1).min(bytes.len())]);
            segment_start = (line_end + 1).min(bytes.len());
            segment_line = line_no + 1;
        } else if row_urls && context.row_url(line, &mut url_text) {
            row_url_hits(index, at, file, line_no, line, &url_text, &context, &mut hits);
        }
        line_no += 1;
        line_start = line_end + 1;
    }
    flush(&mut hits, &context, segment_start, bytes.len(), segment_line);
    // Row-URL hits were added as their rows were read, the others segment by segment.
    hits.sort_by_key(|hit| (hit.line, hit.start, hit.end));
    if row_urls {
        drop_repeated_row_urls(&mut hits, context.row_url_field());
    }
    hits
}

/// Drops a row-URL hit that a hit in the row's own text already reports: a URL whose path
/// is `/` matches both a bare `host` field and `host + uri`.
fn drop_repeated_row_urls(hits: &mut Vec<FileHit>, row_field: &str) {
    let of_row = |hit: &FileHit| hit.field.as_deref() == Some(row_field);
    let mut keep = Vec::with_capacity(hits.len());
    for row in hits.chunk_by(|a, b| a.line == b.line) {
        for hit in row {
            let repeated = of_row(hit)
                && row.iter().any(|other| {
                    !of_row(other) && other.kind == Kind::Url && other.indicators == hit.indicators
                });
            keep.push(!repeated);
        }
    }
    let mut keep = keep.into_iter();
    hits.retain(|_| keep.next().unwrap_or(true));
}

/// The hits of `bytes[from..to]`, whole lines whose first is line `line_no`.
#[allow(clippy::too_many_arguments)]
fn scan_segment(
    index: &Index,
    at: Timestamp,
    file: &Arc<str>,
    bytes: &[u8],
    from: usize,
    to: usize,
    mut line_no: u64,
    context: &LogContext,
    hits: &mut Vec<FileHit>,
) {
    let text = &bytes[from..to];
    if text.is_empty() {
        return;
    }
    let matches = index.find(text, at);
    // Matches come in text order: count the newlines between one and the next only.
    let (mut counted_to, mut line_start) = (0, 0);
    for m in matches.iter() {
        let newlines = memchr::memchr_iter(b'\n', &text[counted_to..m.start]);
        for newline in newlines {
            line_no += 1;
            line_start = counted_to + newline + 1;
        }
        counted_to = m.start;
        let line_end = memchr::memchr(b'\n', &text[m.start..]).map_or(text.len(), |p| m.start + p);
        let line = &text[line_start..line_end];
        if context.is_header(line) {
            continue;
        }
        let (start, end) = (m.start - line_start, m.end - line_start);
        let attribution = context.attribute(line, start, end.min(line.len()));
        hits.push(FileHit {
            file: file.clone(),
            line: line_no,
            start,
            end,
            observed: String::from_utf8_lossy(&text[m.start..m.end]).into_owned(),
            kind: m.kind,
            field: attribution.field,
            ts: attribution.ts,
            uid: attribution.uid,
            indicators: m.indicators.to_vec(),
            version: None,
            retro: false,
        });
    }
}

/// URL indicators matched on the URL a row names in two fields (Zeek http.log `host` and
/// `uri`): the host must start the text.
#[allow(clippy::too_many_arguments)]
fn row_url_hits(
    index: &Index,
    at: Timestamp,
    file: &Arc<str>,
    line_no: u64,
    line: &[u8],
    url: &[u8],
    context: &LogContext,
    hits: &mut Vec<FileHit>,
) {
    for m in index.find(url, at).iter().filter(|m| m.kind == Kind::Url && m.start == 0) {
        let attribution = context.attribute(line, 0, 0);
        hits.push(FileHit {
            file: file.clone(),
            line: line_no,
            start: 0,
            end: 0,
            observed: String::from_utf8_lossy(&url[m.start..m.end]).into_owned(),
            kind: Kind::Url,
            field: Some(context.row_url_field().to_string()),
            ts: attribution.ts,
            uid: attribution.uid,
            indicators: m.indicators.to_vec(),
            version: None,
            retro: false,
        });
    }
}

/// Hands the pool's results to the sink, in order, and keeps the totals.
struct Drain<'s> {
    sink: &'s mut dyn HitSink,
    summary: ScanSummary,
}

impl Consumer<Done> for Drain<'_> {
    type Output = ScanSummary;

    fn take(&mut self, done: Done) -> bool {
        let stats = &mut self.summary.stats;
        match done {
            Done::Opened(file) => {
                stats.files += 1;
                self.sink.opened(&file);
            }
            Done::PartialLastLine => stats.lines += 1,
            Done::Error(error) => {
                self.sink.error(&error);
                self.summary.errors.push(error);
            }
            Done::Chunk { hits, bytes, lines } => {
                stats.bytes += bytes;
                stats.lines += lines;
                for hit in hits {
                    self.summary.stats.hits += 1;
                    if !self.sink.hit(hit) {
                        return false;
                    }
                }
                return self.sink.progress(&self.summary.stats);
            }
        }
        true
    }

    fn finish(self) -> ScanSummary {
        self.summary
    }
}
