//! The archive pipeline's line and log readers over any bytes: `LineChunks` and
//! `LineSplitter` (with a line limit and chunk size taken from the input, the splitter
//! pushed in pieces) must give back every byte in order with consistent line numbers;
//! then a `LogContext` sniffed from the first chunk is carried over the lines, advanced
//! at each header line, and every line not a header gets `row_url` and `attribute` for
//! each hit of the fixed index in it and for a few other spans.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vedette_core::scan::lines::{LineChunks, LineSplitter};
use vedette_core::scan::logs::LogContext;
use vedette_core::ScanErrorKind;
use vedette_fuzz::fixed::{self, AT};
use vedette_fuzz::{pieces, seed_of};

fuzz_target!(|data: &[u8]| {
    let seed = seed_of(data);
    let max_line = 1 + (seed % 300) as usize;
    let chunk_bytes = 1 + (seed >> 16) as usize % 200;

    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut splitter = LineSplitter::new("fuzz", max_line);
    let mut lines = Vec::new();
    let mut at = 0;
    let mut pushed_newlines = 0;
    for len in pieces(data.len(), seed.rotate_left(7)) {
        let piece = &data[at..at + len];
        for err in splitter.push(piece, &mut lines) {
            assert_eq!(err.kind(), ScanErrorKind::LongLine, "a push fails with {err}");
        }
        pushed_newlines += piece.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(splitter.line(), pushed_newlines + 1, "the splitter's line number after a push");
        assert!(
            splitter.pending() <= max_line,
            "{} pending bytes over a {max_line}-byte limit",
            splitter.pending()
        );
        at += len;
    }
    assert_eq!(pushed_newlines, newlines);
    lines.extend(splitter.finish());
    assert!(lines == data, "the splitter does not give back the bytes pushed");

    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut next_line = 1;
    for item in LineChunks::new(Cursor::new(data), "fuzz", chunk_bytes, max_line) {
        match item {
            Ok(chunk) => {
                assert_eq!(chunk.first_line, next_line, "a chunk starts at the wrong line");
                let counted = chunk.bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(chunk.newlines, counted, "a chunk miscounts its newlines");
                next_line += counted;
                chunks.push(chunk.bytes);
            }
            Err(err) => assert_eq!(err.kind(), ScanErrorKind::LongLine, "reading memory fails with {err}"),
        }
    }
    assert!(chunks.concat() == data, "the chunks do not give back the input");

    let Some(first) = chunks.first() else { return };
    let index = fixed::index();
    let mut context = LogContext::sniff(first);
    let mut url = Vec::new();
    for chunk in &chunks {
        for line in chunk.split_inclusive(|&b| b == b'\n') {
            if context.is_header(line) {
                context.advance(line);
                continue;
            }
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            if context.row_url(line, &mut url) {
                assert!(context.names_row_urls(), "a row names a URL in a log that names none");
                assert!(!url.is_empty(), "a row names an empty URL");
            } else {
                assert!(url.is_empty(), "row_url leaves bytes behind when it finds none");
            }
            let len = line.len();
            let spans = [(0, 0), (0, len), (len / 2, len), (len / 3, len / 2)];
            let hits = index.find(line, AT);
            for (start, end) in spans.into_iter().chain(hits.iter().map(|m| (m.start, m.end))) {
                let _ = context.attribute(line, start, end);
            }
        }
    }
});
