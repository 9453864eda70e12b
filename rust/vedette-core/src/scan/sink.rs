//! Sinks that write a scan's hits out: every hit through a [`HitWriter`], or a count of
//! hits per input (`vedette scan --count`).

use std::io::{self, Write};
use std::sync::Arc;

use super::writer::HitWriter;
use super::{FileHit, HitSink};
use crate::index::Index;

/// Writes each hit as it comes, or counts them per input; the first write error ends the
/// scan and is kept for [`finish`](Self::finish).
pub struct WriteHits<'i, W: Write> {
    index: &'i Index,
    writer: HitWriter<W>,
    /// `Some` to count instead of writing: each opened input and its hits, in order.
    counts: Option<Vec<(Arc<str>, u64)>>,
    failed: Option<io::Error>,
}

impl<'i, W: Write> WriteHits<'i, W> {
    pub fn new(index: &'i Index, writer: HitWriter<W>) -> Self {
        WriteHits { index, writer, counts: None, failed: None }
    }

    /// Counts hits per input instead of writing them; [`finish`](Self::finish) writes
    /// `input:count` lines, as `grep -c` does.
    pub fn count_only(mut self) -> Self {
        self.counts = Some(Vec::new());
        self
    }

    /// Finishes the output (a Zeek log's `#close`, the counts) and flushes it.
    ///
    /// # Errors
    /// The first error writing the output met, which also ended the scan.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        match self.counts.take() {
            Some(counts) => {
                let mut out = self.writer.into_inner()?;
                for (file, hits) in counts {
                    writeln!(out, "{file}:{hits}")?;
                }
                out.flush()?;
                Ok(out)
            }
            None => {
                self.writer.finish()?;
                self.writer.into_inner()
            }
        }
    }
}

impl<W: Write + Send> HitSink for WriteHits<'_, W> {
    fn hit(&mut self, hit: FileHit) -> bool {
        if let Some(counts) = &mut self.counts {
            match counts.last_mut() {
                Some((file, hits)) if *file == hit.file => *hits += 1,
                _ => counts.push((hit.file.clone(), 1)),
            }
            return true;
        }
        match self.writer.write(self.index, &hit) {
            Ok(()) => true,
            Err(err) => {
                self.failed = Some(err);
                false
            }
        }
    }

    fn opened(&mut self, file: &str) {
        if let Some(counts) = &mut self.counts {
            counts.push((file.into(), 0));
        }
    }
}
