//! Watching growing logs (`vedette watch`): each poll reads what the followed logs
//! appended, through the same line splitter, log recognition and chunk scan as the
//! archive job, and hands the hits to a sink; a retro-hunt scans the lines read lately
//! again, against new indicators only.

use std::path::Path;
use std::sync::Arc;

use super::follow::Follow;
use super::logs::LogContext;
use super::pipeline::scan_chunk;
use super::{FileHit, HitSink};
use crate::error::ScanError;
use crate::index::Index;
use crate::indicator::Timestamp;

/// What a poll read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchStats {
    pub bytes: u64,
    pub hits: u64,
}

/// The logs being followed.
#[derive(Debug)]
pub struct Watch {
    logs: Vec<Followed>,
}

#[derive(Debug)]
struct Followed {
    file: Arc<str>,
    follow: Follow,
    /// Recognised from the first lines read.
    context: Option<LogContext>,
}

impl Watch {
    /// Follows `paths` from their current ends (`from_start`: from their first bytes),
    /// keeping the last `retro_bytes` read of each for retro-hunts.
    pub fn new<P: AsRef<Path>>(
        paths: &[P],
        from_start: bool,
        max_line_bytes: usize,
        retro_bytes: usize,
    ) -> Watch {
        let logs = paths
            .iter()
            .map(|path| {
                let follow = Follow::new(path, from_start, max_line_bytes, retro_bytes);
                Followed { file: follow.name().into(), follow, context: None }
            })
            .collect();
        Watch { logs }
    }

    /// Reads what each log appended since the last poll and hands the hits of its whole
    /// lines against `index` (valid at `at`) to `sink`, each marked with `version`. A log
    /// that cannot be read is named in the errors and polled again next time.
    pub fn poll(
        &mut self,
        index: &Index,
        at: Timestamp,
        version: Option<u64>,
        sink: &mut dyn HitSink,
    ) -> (WatchStats, Vec<ScanError>) {
        let mut stats = WatchStats::default();
        let mut errors = Vec::new();
        for log in &mut self.logs {
            let lines = match log.follow.poll() {
                Ok(lines) => lines,
                Err(error) => {
                    sink.error(&error);
                    errors.push(error);
                    continue;
                }
            };
            if lines.bytes.is_empty() {
                continue;
            }
            let context = log.context.get_or_insert_with(|| LogContext::sniff(&lines.bytes));
            let at_start = context.clone();
            let headers = context.advance(&lines.bytes);
            stats.bytes += lines.bytes.len() as u64;
            let hits = scan_chunk(index, at, &log.file, &lines.bytes, lines.first_line, at_start, headers);
            if !hand_on(hits, version, false, sink, &mut stats) {
                break;
            }
        }
        (stats, errors)
    }

    /// Scans the lines each log read lately again, against `index`: the indicators that
    /// just arrived. Their hits are marked `retro`; their line numbers are unknown (0),
    /// since the lines kept are the last bytes read, not a counted part of the file.
    pub fn retro_hunt(
        &mut self,
        index: &Index,
        at: Timestamp,
        version: Option<u64>,
        sink: &mut dyn HitSink,
    ) -> WatchStats {
        let mut stats = WatchStats::default();
        for log in &self.logs {
            let retro = log.follow.retro();
            if retro.is_empty() {
                continue;
            }
            let context = log.context.clone().unwrap_or_else(|| LogContext::sniff(&retro));
            stats.bytes += retro.len() as u64;
            let headers = context.clone().advance(&retro);
            let mut hits = scan_chunk(index, at, &log.file, &retro, 1, context, headers);
            for hit in &mut hits {
                hit.line = 0;
            }
            if !hand_on(hits, version, true, sink, &mut stats) {
                break;
            }
        }
        stats
    }
}

fn hand_on(
    hits: Vec<FileHit>,
    version: Option<u64>,
    retro: bool,
    sink: &mut dyn HitSink,
    stats: &mut WatchStats,
) -> bool {
    for mut hit in hits {
        hit.version = version;
        hit.retro = retro;
        stats.hits += 1;
        if !sink.hit(hit) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::{IndexBuilder, Kind, Meta};

    #[derive(Default)]
    struct Collect(Vec<FileHit>);

    impl HitSink for Collect {
        fn hit(&mut self, hit: FileHit) -> bool {
            self.0.push(hit);
            true
        }
    }

    fn index(values: &[&str]) -> Index {
        let mut builder = IndexBuilder::new();
        for value in values {
            builder.add(value, Some(Kind::Domain), Meta::default()).unwrap();
        }
        builder.build().unwrap()
    }

    #[test]
    fn new_lines_hit_and_a_retro_hunt_finds_the_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dns.log");
        std::fs::write(&log, "before the watch: bad.example\n").unwrap();
        let mut watch = Watch::new(&[&log], false, 1 << 20, 1 << 20);
        let first = index(&["evil.example"]);
        let mut sink = Collect::default();
        let append = |text: &str| {
            std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(text.as_bytes()).unwrap()
        };
        append("query evil.example\nquery bad.example\n");
        let (stats, errors) = watch.poll(&first, 0, Some(1), &mut sink);
        assert!(errors.is_empty());
        assert_eq!(stats.hits, 1);
        let hit = &sink.0[0];
        assert_eq!(
            (hit.line, hit.observed.as_str(), hit.version, hit.retro),
            (1, "evil.example", Some(1), false)
        );
        // bad.example arrives: the lines read since the watch began are scanned again.
        let news = index(&["bad.example"]);
        watch.retro_hunt(&news, 0, Some(2), &mut sink);
        let retro: Vec<_> = sink.0[1..].iter().map(|h| (h.observed.as_str(), h.version, h.retro)).collect();
        assert_eq!(
            retro,
            [("bad.example", Some(2), true)],
            "the line from before the watch is not among them"
        );
    }
}
