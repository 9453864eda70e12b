use std::io::{self, Cursor};

use proptest::prelude::*;

use super::*;

/// What `LineChunks` yields, in a form to compare: a chunk as `Ok((bytes, first_line))`,
/// an error as `Err((kind, message))`.
type Item = Result<(Vec<u8>, u64), (ScanErrorKind, String)>;

fn chunks(text: &[u8], chunk_bytes: usize, max_line_bytes: usize) -> Vec<Item> {
    LineChunks::new(text, "t.log", chunk_bytes, max_line_bytes)
        .map(|item| match item {
            Ok(chunk) => Ok((chunk.bytes, chunk.first_line)),
            Err(err) => {
                assert_eq!(err.file(), "t.log");
                Err((err.kind(), err.message().to_string()))
            }
        })
        .collect()
}

fn long_line(line: u64, max: usize) -> Item {
    let message = format!(
        "line {line} is longer than the {max}-byte line limit: it is scanned in pieces of {max} bytes"
    );
    Err((ScanErrorKind::LongLine, message))
}

/// The reference: cuts `text` into its lines, each line of more than `max` bytes before
/// its `\n` into pieces of `max` (the last with the `\n`), then gathers them into chunks
/// as the docs say. Written as plainly as it can be, apart from the splitter.
fn model(text: &[u8], chunk_bytes: usize, max: usize) -> Vec<Item> {
    let (chunk_bytes, max) = (chunk_bytes.max(1), max.max(1));
    let mut items = Vec::new();
    let (mut chunk, mut first_line, mut line) = (Vec::new(), 1, 1);
    for raw in text.split_inclusive(|&b| b == b'\n') {
        let ends = raw.ends_with(b"\n");
        let content = raw.len() - usize::from(ends);
        let mut pieces = Vec::new();
        let mut start = 0;
        while content - start > max {
            pieces.push(&raw[start..start + max]);
            start += max;
        }
        pieces.push(&raw[start..]);
        let n = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            chunk.extend_from_slice(piece);
            if i + 1 < n {
                // A piece that is not the line's last ends its chunk.
                items.push(Ok((std::mem::take(&mut chunk), first_line)));
                first_line = line;
                if i == 0 {
                    items.push(long_line(line, max));
                }
            } else if ends {
                line += 1;
                if chunk.len() >= chunk_bytes {
                    items.push(Ok((std::mem::take(&mut chunk), first_line)));
                    first_line = line;
                }
            }
        }
    }
    if !chunk.is_empty() {
        items.push(Ok((chunk, first_line)));
    }
    items
}

/// The model, checked on a few cases worked out by hand, so that it is not merely the
/// code again.
#[test]
fn model_table() {
    let ok = |bytes: &[u8], line: u64| -> Item { Ok((bytes.to_vec(), line)) };
    // (id, text, chunk_bytes, max_line_bytes, items)
    type Row<'a> = (&'a str, &'a [u8], usize, usize, Vec<Item>);
    let rows: &[Row] = &[
        ("model010", b"", 4, 8, vec![]),
        ("model020", b"a\nb\nc", 1, 8, vec![ok(b"a\n", 1), ok(b"b\n", 2), ok(b"c", 3)]),
        ("model030", b"a\nbb\nc\n", 3, 8, vec![ok(b"a\nbb\n", 1), ok(b"c\n", 3)]),
        (
            "model040",
            b"abcdefg\nh\n",
            1,
            3,
            vec![ok(b"abc", 1), long_line(1, 3), ok(b"def", 1), ok(b"g\n", 1), ok(b"h\n", 2)],
        ),
        ("model050", b"x\nabcdef\n", 100, 3, vec![ok(b"x\nabc", 1), long_line(2, 3), ok(b"def\n", 2)]),
        ("model060", b"abc\n", 1, 3, vec![ok(b"abc\n", 1)]),
        ("model070", b"abcd", 1, 3, vec![ok(b"abc", 1), long_line(1, 3), ok(b"d", 1)]),
        ("model080", b"\n\n", 1, 1, vec![ok(b"\n", 1), ok(b"\n", 2)]),
    ];
    for (id, text, chunk_bytes, max, want) in rows {
        assert_eq!(&model(text, *chunk_bytes, *max), want, "{id} model");
        assert_eq!(&chunks(text, *chunk_bytes, *max), want, "{id}");
    }
}

/// Every chunk size and line limit on a small text with lines of every length.
#[test]
fn every_boundary() {
    let text: &[u8] = b"a\nbb\n\nccc\ndddd\neeeee\nffffff\n\n\ng";
    for chunk_bytes in 0..=text.len() + 2 {
        for max in [0, 1, 2, 3, 4, 5, 6, 7, 100] {
            let case = format!("chunk {chunk_bytes} max {max}");
            let got = chunks(text, chunk_bytes, max);
            assert_eq!(got, model(text, chunk_bytes, max), "{case}");
            check_laws(text, chunk_bytes, max, &got);
        }
    }
}

/// What holds of any chunking, whatever the model says.
fn check_laws(text: &[u8], chunk_bytes: usize, max: usize, items: &[Item]) {
    let (chunk_bytes, max) = (chunk_bytes.max(1), max.max(1));
    let chunks: Vec<&(Vec<u8>, u64)> = items.iter().filter_map(|item| item.as_ref().ok()).collect();
    assert_eq!(chunks.iter().flat_map(|(bytes, _)| bytes.clone()).collect::<Vec<u8>>(), text);
    let mut line = 1;
    for (i, (bytes, first_line)) in chunks.iter().enumerate() {
        assert!(!bytes.is_empty());
        assert_eq!(*first_line, line, "chunk {i}");
        line += memchr::memchr_iter(b'\n', bytes).count() as u64;
        assert!(bytes.len() <= chunk_bytes + max, "chunk {i} is {} bytes", bytes.len());
        let last = i + 1 == chunks.len();
        if !last && bytes.ends_with(b"\n") {
            assert!(bytes.len() >= chunk_bytes, "chunk {i} is short");
        }
        if !last && !bytes.ends_with(b"\n") {
            // A cut: the piece before it is `max` bytes of one line.
            let piece = &bytes[bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)..];
            assert!(piece.len() <= max && !chunks[i + 1].0.is_empty(), "chunk {i}");
        }
    }
}

proptest! {
    #[test]
    fn chunks_match_the_model(
        text in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), Just(b'b')], 0..200),
        chunk_bytes in 0usize..40,
        max in 0usize..12,
    ) {
        let got = chunks(&text, chunk_bytes, max);
        prop_assert_eq!(&got, &model(&text, chunk_bytes, max));
        check_laws(&text, chunk_bytes, max, &got);
    }

    /// Pushed in any pieces, a splitter hands on the same lines as the chunker, and keeps
    /// no more than the line limit.
    #[test]
    fn splitter_matches_chunks(
        text in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a')], 0..200),
        cuts in proptest::collection::vec(0usize..200, 0..10),
        max in 1usize..12,
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(text.len())).collect();
        cuts.sort_unstable();
        let mut splitter = LineSplitter::new("t.log", max);
        let (mut out, mut errors, mut start) = (Vec::new(), Vec::new(), 0);
        for cut in cuts.into_iter().chain([text.len()]) {
            let before = out.len();
            let line = splitter.line();
            errors.extend(splitter.push(&text[start..cut], &mut out).into_iter().map(|e| e.message().to_string()));
            start = cut;
            prop_assert!(splitter.pending() <= max);
            // The first byte handed on is in the line `line` said.
            prop_assert_eq!(line, 1 + memchr::memchr_iter(b'\n', &out[..before]).count() as u64);
        }
        let pending = splitter.pending();
        let rest = splitter.finish();
        prop_assert_eq!(rest.len(), pending);
        out.extend_from_slice(&rest);
        prop_assert_eq!(&out, &text);
        let want: Vec<String> = chunks(&text, 1, max)
            .into_iter()
            .filter_map(|item| item.err().map(|(_, message)| message))
            .collect();
        prop_assert_eq!(errors, want);
    }
}

#[test]
fn splitter_table() {
    // (id, pushes, max, what each push hands on, errors, what is left)
    type Row<'a> = (&'a str, &'a [&'a [u8]], usize, &'a [&'a [u8]], usize, &'a [u8]);
    let rows: &[Row] = &[
        ("split010", &[b"one\ntw", b"o\nthr"], 8, &[b"one\n", b"two\n"], 0, b"thr"),
        ("split020", &[b"abc", b"def", b"g\n"], 2, &[b"ab", b"cd", b"efg\n"], 1, b""),
        ("split030", &[b"ab", b"\n"], 2, &[b"", b"ab\n"], 0, b""),
        ("split040", &[b"", b"\n\n"], 2, &[b"", b"\n\n"], 0, b""),
        ("split050", &[b"abcdef\nxyzxyz"], 3, &[b"abcdef\nxyz"], 2, b"xyz"),
    ];
    for &(id, pushes, max, want, want_errors, left) in rows {
        let mut splitter = LineSplitter::new("f", max);
        let mut errors = 0;
        for (push, want) in pushes.iter().zip(want) {
            let mut out = Vec::new();
            errors += splitter.push(push, &mut out).len();
            assert_eq!(&out, want, "{id}");
        }
        assert_eq!(errors, want_errors, "{id}");
        assert_eq!(splitter.finish(), left, "{id}");
    }
}

/// Gives its bytes, then fails.
struct Failing(Cursor<Vec<u8>>);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(io::Error::other("device error")),
            n => Ok(n),
        }
    }
}

/// After a read error, the bytes read come out (the partial last line ending the last
/// chunk), then the error, then nothing.
#[test]
fn read_error_after_the_readable_part() {
    for chunk_bytes in [1, 4, 1000] {
        let reader = Failing(Cursor::new(b"one\ntwo\nthr".to_vec()));
        let items: Vec<_> = LineChunks::new(reader, "f.log", chunk_bytes, 100).collect();
        let (last, chunks) = items.split_last().unwrap();
        let text: Vec<u8> = chunks.iter().flat_map(|c| c.as_ref().unwrap().bytes.clone()).collect();
        assert_eq!(text, b"one\ntwo\nthr", "chunk {chunk_bytes}");
        let err = last.as_ref().unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string()),
            (ScanErrorKind::Unreadable, "f.log: cannot read: device error".into())
        );
    }
    let items: Vec<_> = LineChunks::new(Failing(Cursor::new(Vec::new())), "f.log", 10, 10).collect();
    assert!(matches!(&items[..], [Err(_)]), "{items:?}");
}

/// A chunk's buffer never grows past the chunk size and the line limit, however long the
/// input and its lines.
#[test]
fn memory_is_bounded_by_the_chunk() {
    let mut text = Vec::new();
    for i in 0..20_000 {
        text.extend_from_slice(format!("{i} 192.0.2.{} GET /index.html\n", i % 256).as_bytes());
        if i % 5000 == 0 {
            text.extend(std::iter::repeat_n(b'x', 100_000));
            text.push(b'\n');
        }
    }
    let (chunk_bytes, max) = (4096, 1000);
    let mut chunks = LineChunks::new(&text[..], "big.log", chunk_bytes, max);
    let (mut total, mut long) = (0, 0);
    while let Some(item) = chunks.next() {
        let Ok(chunk) = item else {
            long += 1;
            continue;
        };
        assert!(chunk.bytes.capacity() <= chunk_bytes + max, "{}", chunk.bytes.capacity());
        total += chunk.bytes.len();
        chunks.recycle(chunk.bytes);
    }
    assert_eq!((total, long), (text.len(), 4));
}

/// Recycled buffers are filled again, and one bigger than a chunk can grow is dropped.
#[test]
fn buffers_are_recycled() {
    let text: Vec<u8> = (0..10_000).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
    let (chunk_bytes, max) = (1000, 100_000);
    for (capacity, reused) in [(90_000, true), (chunk_bytes + max + 1, false)] {
        let mut chunks = LineChunks::new(&text[..], "f", chunk_bytes, max);
        chunks.next().unwrap().unwrap();
        chunks.recycle(Vec::with_capacity(capacity));
        let caps: Vec<usize> = chunks.take(3).map(|chunk| chunk.unwrap().bytes.capacity()).collect();
        assert_eq!(caps.iter().any(|&cap| cap >= capacity), reused, "{capacity}: {caps:?}");
    }
}
