//! Scanning files and logs, the archive job: open each input, inflate it by its magic
//! bytes, cut it into chunks of whole lines, scan the chunks on a thread pool, attribute
//! each hit to the log field it is in, and hand the hits on in input order to a writer
//! (docs/semantics.md §9). `vedette scan`, `vedette watch`, `Index.scan_files` and the
//! Dask adapter all read files through this module.

pub mod follow;
pub mod logs;
mod ordered;
mod pipeline;
mod sink;
mod stream;
mod watch;

use std::sync::Arc;

pub use pipeline::{HitSink, ScanOptions, ScanStats, ScanSummary};
pub use sink::WriteHits;
pub use stream::Scanner;
pub use watch::{Watch, WatchStats};

use crate::indicator::{IndicatorId, Kind, Timestamp};

pub mod input;
pub mod lines;
pub mod writer;

/// One hit in a file: where it is, what was seen, the log fields around it, and every
/// indicator record valid at the scan's time that explains it.
#[derive(Clone, Debug, PartialEq)]
pub struct FileHit {
    /// The input as it was named (`-` for standard input).
    pub file: Arc<str>,
    /// 1-based line number in the inflated input.
    pub line: u64,
    /// Byte offsets of the observed text within its line, half-open; `0..0` for a URL
    /// matched on a row's `host` + `uri`, which is not one run of the line's bytes.
    pub start: usize,
    pub end: usize,
    /// The observed bytes, as UTF-8 (invalid bytes replaced).
    pub observed: String,
    pub kind: Kind,
    /// The log field the hit is in (`query`, `id.resp_h`, `dns.rrname`, ...), for a
    /// recognised log; `host+uri` for a URL matched on a Zeek http.log row's host and uri.
    pub field: Option<String>,
    /// The record's time, for a recognised log (Zeek `ts`, EVE `timestamp`).
    pub ts: Option<Timestamp>,
    /// The record's connection id (Zeek `uid`, EVE `flow_id`).
    pub uid: Option<String>,
    /// Never empty.
    pub indicators: Vec<IndicatorId>,
    /// The live engine's snapshot version that found it (`vedette watch`).
    pub version: Option<u64>,
    /// Found by a retro-hunt: lines read before the indicator arrived, scanned again.
    pub retro: bool,
}
