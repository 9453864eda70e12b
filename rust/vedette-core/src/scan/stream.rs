//! A stream given in pieces (a socket, a pipe, a followed log), matched line by line as
//! the pieces come: exactly what [`Index::find`] on the whole stream reports, since no
//! token and no boundary test reaches across a newline (docs/semantics.md §7).

use std::borrow::Borrow;

use crate::index::Index;
use crate::indicator::Timestamp;
use crate::search::Matches;

/// Matches the pieces of one stream: each piece's whole lines are scanned as it comes,
/// and its last partial line waits for the next piece.
///
/// The spans are offsets in the whole stream. A `string` indicator that holds a newline
/// is the one thing `find` on the whole stream would report and this does not.
///
/// # Example
/// ```
/// let index = vedette_core::Index::new(["evil.example"])?;
/// let mut scanner = index.scanner(0);
/// assert!(scanner.feed(b"x evil.ex").is_empty());
/// let hits = scanner.feed(b"ample\nmore");
/// assert_eq!(hits.iter().map(|m| (m.start, m.end)).collect::<Vec<_>>(), [(2, 14)]);
/// assert!(scanner.finish().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Scanner<I: Borrow<Index>> {
    index: I,
    at: Timestamp,
    /// The stream's last partial line, and where it starts in the stream.
    pending: Vec<u8>,
    offset: usize,
}

impl Index {
    /// A [`Scanner`] of a stream given in pieces, for indicators valid at `at`.
    pub fn scanner(&self, at: Timestamp) -> Scanner<&Index> {
        Scanner::new(self, at)
    }
}

impl<I: Borrow<Index>> Scanner<I> {
    /// A scanner that holds its index (`&Index`, `Arc<Index>`...).
    pub fn new(index: I, at: Timestamp) -> Scanner<I> {
        Scanner { index, at, pending: Vec::new(), offset: 0 }
    }

    /// The matches of the lines that `bytes` completes.
    pub fn feed(&mut self, bytes: &[u8]) -> Matches {
        let Some(last) = memchr::memrchr(b'\n', bytes) else {
            self.pending.extend_from_slice(bytes);
            return Matches::default();
        };
        // The line the pending bytes begin, then the piece's own whole lines, scanned in
        // place: only the partial lines at either end are copied.
        let mut out = Matches::default();
        let mut lines = &bytes[..=last];
        if !self.pending.is_empty() {
            let first = memchr::memchr(b'\n', lines).unwrap_or(last);
            self.pending.extend_from_slice(&lines[..=first]);
            out.append(self.index.borrow().find(&self.pending, self.at), self.offset);
            self.offset += self.pending.len();
            self.pending.clear();
            lines = &lines[first + 1..];
        }
        out.append(self.index.borrow().find(lines, self.at), self.offset);
        self.offset += lines.len();
        self.pending.extend_from_slice(&bytes[last + 1..]);
        out
    }

    /// The matches of the stream's last line, when it has no newline at its end.
    pub fn finish(&mut self) -> Matches {
        let mut out = Matches::default();
        out.append(self.index.borrow().find(&self.pending, self.at), self.offset);
        self.offset += self.pending.len();
        self.pending.clear();
        out
    }
}
