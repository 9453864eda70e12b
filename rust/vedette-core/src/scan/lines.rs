//! Where lines end: the line-aligned chunks of an input ([`LineChunks`], for archives)
//! and the whole lines of bytes pushed as a file grows ([`LineSplitter`], for followed
//! files). One splitter decides for both where a line ends and where a line longer than
//! the limit is cut, so that memory is bounded by the chunk and the line limit, never by
//! the file (docs/semantics.md §9.2).

use std::io::Read;

use memchr::memchr;

use super::input::scan_error;
use crate::error::{ScanError, ScanErrorKind};

/// A run of whole lines of an input, in input order.
///
/// Every chunk but an input's last ends with `\n`, except where a line longer than the
/// line limit is cut: then the chunk ends with a piece of that line, and the next chunk
/// starts with the rest of it (or its next piece).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    /// The 1-based number of the line that the chunk's first byte is in, so that the line
    /// of any byte is `first_line` plus the `\n` before it in the chunk. A chunk that
    /// starts with the rest of a cut line has that line's number, the same as the chunk
    /// before it ends in.
    pub first_line: u64,
    /// The `\n` in `bytes`: where the next chunk's `first_line` is counted from.
    pub newlines: u64,
}

/// A place where the bytes handed to [`Splitter::next`] may be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Boundary {
    /// A line ends before `at`: its `\n` is at `at - 1`.
    Line { at: usize },
    /// The line in progress reaches the limit: a piece of it ends before `at`, and the
    /// byte at `at` is not its end. `first` for the line's first cut.
    Cut { at: usize, line: u64, first: bool },
}

/// The one owner of where lines end: the state of the line in progress.
#[derive(Clone, Debug)]
struct Splitter {
    max_line_bytes: usize,
    /// The number of the line in progress.
    line: u64,
    /// Its bytes seen since it started or was last cut.
    len: usize,
    /// It has been cut already (its error is reported once).
    cut: bool,
}

impl Splitter {
    fn new(max_line_bytes: usize) -> Splitter {
        Splitter { max_line_bytes: max_line_bytes.max(1), line: 1, len: 0, cut: false }
    }

    /// The first boundary in `bytes`, which go on from the line in progress; `None`
    /// when they hold none. Either way the state moves past what was looked at (up to the
    /// boundary, or all of `bytes`).
    ///
    /// A line is long when it has more than `max_line_bytes` before its `\n`: it is cut
    /// into pieces of `max_line_bytes`, and its last piece is at most that and its `\n`.
    fn next(&mut self, bytes: &[u8]) -> Option<Boundary> {
        let room = self.max_line_bytes - self.len;
        // A `\n` within the line's room, or right after it, ends the line in time.
        let window = &bytes[..bytes.len().min(room + 1)];
        if let Some(i) = memchr(b'\n', window) {
            self.line += 1;
            self.len = 0;
            self.cut = false;
            return Some(Boundary::Line { at: i + 1 });
        }
        if bytes.len() > room {
            let first = !self.cut;
            self.len = 0;
            self.cut = true;
            return Some(Boundary::Cut { at: room, line: self.line, first });
        }
        self.len += bytes.len();
        None
    }

    /// Steps over `bytes`, whole lines none of which is over the limit.
    fn whole_lines(&mut self, bytes: &[u8]) {
        self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
        self.len = 0;
        self.cut = false;
    }

    fn long_line(&self, name: &str, line: u64) -> ScanError {
        let max = self.max_line_bytes;
        ScanError::new(
            name,
            ScanErrorKind::LongLine,
            format!("line {line} is longer than the {max}-byte line limit: it is scanned in pieces of {max} bytes"),
        )
    }
}

/// The chunks of whole lines of an input, read `chunk_bytes` at a time.
///
/// Each chunk holds at least `chunk_bytes` (unless the input ends first) and ends at the
/// first line end after that, so it is at most `chunk_bytes + max_line_bytes` bytes.
/// A line with more than `max_line_bytes` before its `\n` is cut into pieces of
/// `max_line_bytes`: its first piece ends a chunk, and each other piece starts one (see
/// [`Chunk::first_line`]). Such a line yields one [`ScanErrorKind::LongLine`] error, right
/// after the chunk that its first piece ends.
///
/// After a read error (a corrupt or truncated compressed input), the bytes read before
/// it come out first, its partial last line ending the last chunk, then the error, and
/// then the iterator ends: the readable part of a truncated file is scanned.
///
/// # Example
/// ```
/// use vedette_core::scan::lines::LineChunks;
///
/// let text = &b"one\ntwo\nthree\nfour"[..];
/// let chunks: Vec<_> = LineChunks::new(text, "-", 5, 1 << 20).map(Result::unwrap).collect();
/// assert_eq!(chunks[0].bytes, b"one\ntwo\n");
/// assert_eq!((chunks[1].bytes.as_slice(), chunks[1].first_line), (&b"three\n"[..], 3));
/// assert_eq!((chunks[2].bytes.as_slice(), chunks[2].first_line), (&b"four"[..], 4));
/// ```
pub struct LineChunks<R: Read> {
    reader: R,
    name: String,
    chunk_bytes: usize,
    splitter: Splitter,
    /// Bytes read past the end of the last chunk: the start of the next.
    carry: Vec<u8>,
    /// Buffers handed back by [`LineChunks::recycle`].
    spare: Vec<Vec<u8>>,
    /// The error of a line just cut, to yield before going on.
    long_line: Option<ScanError>,
    /// The read error that ended the input, to yield after its last chunk.
    failure: Option<ScanError>,
    /// The reader has ended (or failed): what is left is `carry`, then `failure`.
    eof: bool,
    /// The last chunk is out: what is left is `failure`.
    done: bool,
}

/// How much more than a chunk is read in one go, so that the line that crosses the
/// chunk's size usually ends within what was read.
const SLACK: usize = 16 << 10;

/// How many recycled buffers are kept: the ones in flight come back in turn.
const MAX_SPARE: usize = 8;

impl<R: Read> LineChunks<R> {
    /// Chunks of `reader`, named `name` in errors. `chunk_bytes` and `max_line_bytes` of 0
    /// are taken as 1.
    pub fn new(reader: R, name: &str, chunk_bytes: usize, max_line_bytes: usize) -> LineChunks<R> {
        LineChunks {
            reader,
            name: name.to_string(),
            chunk_bytes: chunk_bytes.max(1),
            splitter: Splitter::new(max_line_bytes),
            carry: Vec::new(),
            spare: Vec::new(),
            long_line: None,
            failure: None,
            eof: false,
            done: false,
        }
    }

    /// Hands back a chunk's buffer once it has been scanned, to be filled again rather
    /// than a new one allocated. A buffer bigger than a chunk can grow is dropped.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.spare.len() < MAX_SPARE && buffer.capacity() <= self.limit() {
            buffer.clear();
            self.spare.push(buffer);
        }
    }

    /// The largest a chunk's buffer grows: the chunk size and the line limit.
    fn limit(&self) -> usize {
        self.chunk_bytes.saturating_add(self.splitter.max_line_bytes)
    }

    /// Reads more into `buf`: up to the chunk size and some slack, or some slack when the
    /// chunk is already that big but its last line has not ended, never past
    /// [`Self::limit`]. Sets `eof` when the reader ends.
    fn fill(&mut self, buf: &mut Vec<u8>) -> Result<(), ScanError> {
        let len = buf.len();
        let want = self.chunk_bytes.saturating_sub(len).saturating_add(SLACK).min(self.limit() - len);
        if buf.capacity() < len + want {
            let cap = (len + want).max(buf.capacity().saturating_mul(2)).min(self.limit());
            buf.reserve_exact(cap - len);
        }
        // `read_to_end` on a `Take` appends into the spare capacity without zeroing it
        // first (a memset of every byte read, before), and stops at `want` bytes or the
        // end; what it read before an error stays in `buf`.
        let read = (&mut self.reader).take(want as u64).read_to_end(buf);
        match read {
            Ok(n) if n < want => {
                self.eof = true;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(err) => {
                self.eof = true;
                Err(scan_error(&self.name, &err))
            }
        }
    }

    fn emit(&mut self, mut buf: Vec<u8>, end: usize, first_line: u64) -> Chunk {
        let mut carry = self.spare.pop().unwrap_or_default();
        carry.extend_from_slice(&buf[end..]);
        buf.truncate(end);
        self.carry = carry;
        Chunk { bytes: buf, first_line, newlines: self.splitter.line - first_line }
    }
}

impl<R: Read> Iterator for LineChunks<R> {
    type Item = Result<Chunk, ScanError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(err) = self.long_line.take() {
            return Some(Err(err));
        }
        if self.done {
            return self.failure.take().map(Err);
        }
        let first_line = self.splitter.line;
        let mut buf = std::mem::take(&mut self.carry);
        // Most chunks hold no line near the limit: then the chunk ends at the first line
        // end past `chunk_bytes`, and its lines are counted in one pass, instead of a
        // search per line.
        while !self.eof && self.splitter.len + buf.len() <= self.splitter.max_line_bytes {
            if let Some(end) = buf.get(self.chunk_bytes - 1..).and_then(|rest| memchr(b'\n', rest)) {
                let end = self.chunk_bytes + end;
                self.splitter.whole_lines(&buf[..end]);
                return Some(Ok(self.emit(buf, end, first_line)));
            }
            if let Err(err) = self.fill(&mut buf) {
                self.failure = Some(err);
            }
        }
        let mut pos = 0;
        loop {
            while let Some(boundary) = self.splitter.next(&buf[pos..]) {
                match boundary {
                    Boundary::Line { at } => {
                        pos += at;
                        if pos >= self.chunk_bytes {
                            return Some(Ok(self.emit(buf, pos, first_line)));
                        }
                    }
                    Boundary::Cut { at, line, first } => {
                        if first {
                            self.long_line = Some(self.splitter.long_line(&self.name, line));
                        }
                        return Some(Ok(self.emit(buf, pos + at, first_line)));
                    }
                }
            }
            pos = buf.len();
            if self.eof {
                self.done = true;
                if buf.is_empty() {
                    self.recycle(buf);
                    return self.failure.take().map(Err);
                }
                return Some(Ok(Chunk { bytes: buf, first_line, newlines: self.splitter.line - first_line }));
            }
            if let Err(err) = self.fill(&mut buf) {
                self.failure = Some(err);
            }
        }
    }
}

/// The whole lines of bytes that arrive in pieces, as a followed file grows: each
/// [`LineSplitter::push`] hands on the lines it completes and keeps the partial last line
/// for the next. A line with more than `max_line_bytes` before its `\n` is handed on in
/// pieces of `max_line_bytes`, so the partial line kept never exceeds that; the line's
/// number is the same for its pieces (as in [`LineChunks`]).
///
/// # Example
/// ```
/// use vedette_core::scan::lines::LineSplitter;
///
/// let mut lines = LineSplitter::new("auth.log", 1 << 20);
/// let mut out = Vec::new();
/// lines.push(b"one\ntw", &mut out);
/// assert_eq!((out.as_slice(), lines.pending(), lines.line()), (&b"one\n"[..], 2, 2));
/// out.clear();
/// lines.push(b"o\nthr", &mut out);
/// assert_eq!(out, b"two\n");
/// assert_eq!(lines.finish(), b"thr");
/// ```
#[derive(Clone, Debug)]
pub struct LineSplitter {
    name: String,
    splitter: Splitter,
    partial: Vec<u8>,
}

impl LineSplitter {
    /// A splitter at the start of an input named `name` in errors. A `max_line_bytes` of
    /// 0 is taken as 1.
    pub fn new(name: &str, max_line_bytes: usize) -> LineSplitter {
        LineSplitter { name: name.to_string(), splitter: Splitter::new(max_line_bytes), partial: Vec::new() }
    }

    /// Appends to `out` the partial line kept from before and the bytes of `bytes` up to
    /// their last line end (or cut of a long line), and keeps the rest. The first byte
    /// appended is in line [`LineSplitter::line`] as it was before the call. Returns one
    /// [`ScanErrorKind::LongLine`] error per line that this push cut first.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Vec<ScanError> {
        let mut errors = Vec::new();
        let (mut pos, mut end) = (0, None);
        while let Some(boundary) = self.splitter.next(&bytes[pos..]) {
            match boundary {
                Boundary::Line { at } => pos += at,
                Boundary::Cut { at, line, first } => {
                    pos += at;
                    if first {
                        errors.push(self.splitter.long_line(&self.name, line));
                    }
                }
            }
            end = Some(pos);
        }
        match end {
            Some(end) => {
                out.append(&mut self.partial);
                out.extend_from_slice(&bytes[..end]);
                self.partial.extend_from_slice(&bytes[end..]);
            }
            None => self.partial.extend_from_slice(bytes),
        }
        errors
    }

    /// The bytes of the partial line kept, at most `max_line_bytes`.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// The number of the line in progress: the line of the next byte [`push`] appends.
    ///
    /// [`push`]: LineSplitter::push
    pub fn line(&self) -> u64 {
        self.splitter.line
    }

    /// The partial last line, for the end of the input (a last line without `\n`).
    pub fn finish(self) -> Vec<u8> {
        self.partial
    }
}

#[cfg(test)]
mod tests;
