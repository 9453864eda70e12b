//! Writing hits out: JSON lines (the default), a Zeek intel.log, or ECS documents
//! (docs/semantics.md §9.6). `vedette scan` and `vedette watch` write through
//! [`HitWriter`], so that every caller gets the same bytes for the same hits.
//!
//! Each format reads the hit's indicator records from the index that found it, so a
//! writer needs no copy of the metadata: a hit carries record ids only.

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::str::FromStr;

use super::FileHit;
use crate::index::Index;
use crate::indicator::{now, Timestamp};

mod ecs;
mod json;
mod zeek;

#[cfg(test)]
mod tests;

/// How hits are written.
///
/// # Example
/// ```
/// use vedette_core::scan::writer::OutputFormat;
///
/// let format: OutputFormat = "zeek".parse()?;
/// assert_eq!(format, OutputFormat::ZeekIntel);
/// assert_eq!(format.as_str(), "zeek");
/// assert!("csv".parse::<OutputFormat>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// One JSON object per line and hit, with every indicator record that explains it
    /// (`jsonl`).
    #[default]
    JsonLines,
    /// A Zeek intel.log, header and all, as Zeek's ASCII log writer writes it (`zeek`).
    ZeekIntel,
    /// One Elastic Common Schema document per line and hit, its records under
    /// `threat.enrichments` (`ecs`).
    Ecs,
}

impl OutputFormat {
    /// Every format, the default first.
    pub const ALL: [OutputFormat; 3] = [OutputFormat::JsonLines, OutputFormat::ZeekIntel, OutputFormat::Ecs];

    /// The name used on the command line and in Python: `jsonl`, `zeek`, `ecs`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::JsonLines => "jsonl",
            OutputFormat::ZeekIntel => "zeek",
            OutputFormat::Ecs => "ecs",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown output format name; its message lists the known ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = OutputFormat::ALL.iter().map(|k| k.as_str()).collect();
        write!(f, "unknown output format {:?}: expected one of {}", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for OutputFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<OutputFormat, UnknownFormat> {
        OutputFormat::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// Where the writer is in its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing written yet: a Zeek log's header comes with the first hit (or `finish`),
    /// so that it carries the time the first hit was written.
    Fresh,
    Open,
    Finished,
}

/// Writes hits in one [`OutputFormat`] to `out`, through a buffer of its own (so `out`
/// needs none: pass a `File` or `Stdout` as it is).
///
/// Call [`finish`](HitWriter::finish) after the last hit: it ends a Zeek log with its
/// `#close` line and flushes. A writer dropped without `finish` flushes what it
/// buffered (ignoring errors, as [`BufWriter`] does) but writes no `#close`.
///
/// Times: a hit without a `ts` of its own (plain text) is written with the clock's
/// time, read at each write; [`fixed_time`](HitWriter::fixed_time) pins it.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use vedette_core::scan::writer::{HitWriter, OutputFormat};
/// use vedette_core::scan::FileHit;
/// use vedette_core::Index;
///
/// let index = Index::new(["evil.example"])?;
/// let hit = FileHit {
///     file: Arc::from("dns.log"),
///     line: 9,
///     start: 0,
///     end: 12,
///     observed: "evil.example".to_string(),
///     kind: vedette_core::Kind::Domain,
///     field: Some("query".to_string()),
///     ts: Some(1_541_073_600_000_000),
///     uid: Some("CvAwef3mv2ryjT3QBc".to_string()),
///     indicators: index.indicators().map(|r| r.id).collect(),
///     version: None,
///     retro: false,
/// };
/// let mut writer = HitWriter::new(OutputFormat::JsonLines, Vec::new());
/// writer.write(&index, &hit)?;
/// writer.finish()?;
/// assert_eq!(writer.hits(), 1);
/// let line = String::from_utf8(writer.into_inner()?).unwrap();
/// assert!(line.starts_with(r#"{"file":"dns.log","line":9,"start":0,"end":12,"observed":"evil.example""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HitWriter<W: Write> {
    out: BufWriter<W>,
    format: OutputFormat,
    flush_each_hit: bool,
    fixed_time: Option<Timestamp>,
    hits: u64,
    state: State,
    records: json::RecordCache,
}

impl<W: Write> HitWriter<W> {
    /// A writer of `format` to `out`.
    pub fn new(format: OutputFormat, out: W) -> HitWriter<W> {
        HitWriter {
            out: BufWriter::new(out),
            format,
            flush_each_hit: false,
            fixed_time: None,
            hits: 0,
            state: State::Fresh,
            records: json::RecordCache::default(),
        }
    }

    /// Flushes each hit as soon as it is written (`vedette watch`, where a hit must
    /// reach the reader at once), rather than when the buffer fills.
    pub fn flush_each_hit(mut self, yes: bool) -> Self {
        self.flush_each_hit = yes;
        self
    }

    /// Pins the clock at `at`: the time of hits without a `ts` of their own, of an ECS
    /// `matched.occurred`, and of a Zeek log's `#open` and `#close` lines. Without it
    /// the writer reads the system clock each time; pinned, the output is reproducible.
    pub fn fixed_time(mut self, at: Timestamp) -> Self {
        self.fixed_time = Some(at);
        self
    }

    /// The format this writer writes.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// How many hits have been written.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Writes one hit, its indicator records read from `index` (the index that found it).
    ///
    /// # Errors
    /// What `out` returns; `InvalidInput` when a record id of the hit is not in `index`
    /// (nothing is written then), or when the writer is already finished.
    pub fn write(&mut self, index: &Index, hit: &FileHit) -> io::Result<()> {
        if self.state == State::Finished {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "hit written after finish"));
        }
        if let Some(id) = hit.indicators.iter().find(|id| id.as_usize() >= index.record_count()) {
            let message = format!(
                "indicator id {} is not in the index ({} records)",
                id.as_u32(),
                index.record_count()
            );
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        let clock = self.clock();
        self.open(clock)?;
        match self.format {
            OutputFormat::JsonLines => json::write_hit(&mut self.out, index, hit, &mut self.records)?,
            OutputFormat::ZeekIntel => zeek::write_row(&mut self.out, index, hit, clock)?,
            OutputFormat::Ecs => ecs::write_document(&mut self.out, index, hit, clock)?,
        }
        self.hits += 1;
        if self.flush_each_hit {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Ends the output and flushes it. A Zeek log gets its `#close` line, and its header
    /// first if no hit was written, so that an empty scan still gives a well-formed log.
    /// A second call only flushes.
    ///
    /// # Errors
    /// What `out` returns.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.state != State::Finished {
            let clock = self.clock();
            self.open(clock)?;
            if self.format == OutputFormat::ZeekIntel {
                zeek::write_close(&mut self.out, clock)?;
            }
            self.state = State::Finished;
        }
        self.out.flush()
    }

    /// The underlying writer, after flushing the buffer. It writes no `#close`: call
    /// [`finish`](HitWriter::finish) first.
    ///
    /// # Errors
    /// The error of the flush.
    pub fn into_inner(self) -> io::Result<W> {
        self.out.into_inner().map_err(io::IntoInnerError::into_error)
    }

    fn clock(&self) -> Timestamp {
        self.fixed_time.unwrap_or_else(now)
    }

    /// Writes what comes before the first hit.
    fn open(&mut self, clock: Timestamp) -> io::Result<()> {
        if self.state == State::Fresh {
            if self.format == OutputFormat::ZeekIntel {
                zeek::write_header(&mut self.out, clock)?;
            }
            self.state = State::Open;
        }
        Ok(())
    }
}
