use std::io::{Cursor, Write};
use std::path::PathBuf;

use super::*;
use crate::scan::lines::LineChunks;

/// Every compression `open` reads, plain first.
pub(crate) const ALL: [Compression; 5] =
    [Compression::Plain, Compression::Gzip, Compression::Zstd, Compression::Bzip2, Compression::Xz];

/// `data` compressed as `compression` by the crates' own encoders: one member, frame or
/// stream.
pub(crate) fn compress(compression: Compression, data: &[u8]) -> Vec<u8> {
    match compression {
        Compression::Plain => data.to_vec(),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(data, 3).unwrap(),
        Compression::Bzip2 => {
            let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        Compression::Xz => {
            let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 6);
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
    }
}

/// `data` as two members (frames, streams) back to back, split in its middle, as
/// `cat a.gz b.gz` makes.
fn compress_two(compression: Compression, data: &[u8]) -> Vec<u8> {
    let (a, b) = data.split_at(data.len() / 2);
    [compress(compression, a), compress(compression, b)].concat()
}

/// What `open` + `LineChunks` make of `bytes`: the chunks' bytes end to end, and the
/// errors, in order (an error must be the last item).
fn scan(bytes: Vec<u8>, name: &str, chunk_bytes: usize) -> (Compression, Vec<u8>, Vec<ScanError>) {
    let reader = Reader::new(Cursor::new(bytes), name).unwrap();
    let compression = reader.compression();
    let (mut text, mut errors) = (Vec::new(), Vec::new());
    for item in LineChunks::new(reader, name, chunk_bytes, 1 << 20) {
        match item {
            Ok(chunk) => {
                assert!(errors.is_empty(), "{name}: a chunk after an error");
                text.extend_from_slice(&chunk.bytes);
            }
            Err(err) => errors.push(err),
        }
    }
    (compression, text, errors)
}

/// A real log file under `shared/data/logs` beside the repository (or `$VEDETTE_DATA`),
/// inflated, or `None` when the data is absent.
pub(crate) fn real_log(path: &str) -> Option<Vec<u8>> {
    let root = match std::env::var_os("VEDETTE_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let raw = fs::read(root.join("logs").join(path)).ok()?;
    let mut text = Vec::new();
    // An inflater other than the one under test: flate2's own reader over a slice.
    flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut text).unwrap();
    Some(text)
}

const TEXTS: &[(&str, &[u8])] = &[
    ("text010", b""),
    ("text020", b"one line without a newline"),
    ("text030", b"Jan  1 00:00:01 host sshd[1]: Failed password for root from 203.0.113.9\n"),
    ("text040", b"a\r\nb\r\n\r\n\x00\xff\xfe binary\n\n"),
    ("text050", b"BZh then no digit\n"),
    ("text060", b"\x1f not gzip\n"),
];

#[test]
fn round_trip_table() {
    let long: Vec<u8> =
        (0..5000).flat_map(|i| format!("line {i} 198.51.100.{}\n", i % 256).into_bytes()).collect();
    let mut texts: Vec<(&str, &[u8])> = TEXTS.to_vec();
    texts.push(("text070", &long));
    for &(id, text) in &texts {
        for compression in ALL {
            let framings: [(&str, Vec<u8>); 2] =
                [("one", compress(compression, text)), ("two", compress_two(compression, text))];
            for (framing, bytes) in framings {
                if compression == Compression::Plain && framing == "two" {
                    continue;
                }
                for chunk_bytes in [1, 7, 4096] {
                    let (got, inflated, errors) = scan(bytes.clone(), id, chunk_bytes);
                    let case = format!("{id} {compression} {framing} chunk {chunk_bytes}");
                    assert_eq!(got, compression, "{case}");
                    assert!(errors.is_empty(), "{case}: {errors:?}");
                    assert_eq!(inflated, text, "{case}");
                }
            }
        }
    }
}

/// The real logs, made into every compression by the test, through `open` on a file.
#[test]
fn real_logs() {
    let Some(auth) = real_log("auth/auth.log.gz") else {
        eprintln!("skipping: shared/data/logs not found");
        return;
    };
    let web = real_log("web/apache_logs.log.gz").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (id, text) in [("auth", &auth), ("web", &web)] {
        for compression in ALL {
            // A name that says nothing of the compression: the bytes decide.
            let path = dir.path().join(format!("{id}-{compression}.log"));
            fs::write(&path, compress_two(compression, text)).unwrap();
            let input = Input::Path(path);
            let reader = open(&input).unwrap();
            assert_eq!(reader.compression(), compression, "{id}");
            let mut inflated = Vec::new();
            let mut next_line = 1;
            for chunk in LineChunks::new(reader, &input.name(), 64 << 10, 1 << 20) {
                let chunk = chunk.unwrap_or_else(|e| panic!("{id} {compression}: {e}"));
                assert_eq!(chunk.first_line, next_line, "{id} {compression}");
                next_line += memchr::memchr_iter(b'\n', &chunk.bytes).count() as u64;
                inflated.extend_from_slice(&chunk.bytes);
            }
            assert_eq!(inflated.len(), text.len(), "{id} {compression}");
            assert!(inflated == *text, "{id} {compression}");
        }
    }
}

/// A compressed file cut short yields a prefix of its text, then a `Corrupt` error that
/// names the file and the compression, then nothing.
#[test]
fn truncated_table() {
    let text = real_log("auth/auth.log.gz").unwrap_or_else(|| {
        (0..20_000)
            .flat_map(|i| format!("Jan  1 sshd[{i}]: from 192.0.2.{}\n", i % 256).into_bytes())
            .collect()
    });
    for compression in &ALL[1..] {
        let whole = compress(*compression, &text);
        for cut in [whole.len() / 2, whole.len() - 1, MAGIC_BYTES, 12] {
            let case = format!("{compression} cut at {cut} of {}", whole.len());
            let (_, prefix, errors) = scan(whole[..cut].to_vec(), "cut.log", 4096);
            assert!(text.starts_with(&prefix), "{case}");
            let [err] = &errors[..] else { panic!("{case}: {errors:?}") };
            assert_eq!((err.kind(), err.file()), (ScanErrorKind::Corrupt, "cut.log"), "{case}");
            assert_eq!(err.message(), format!("{compression} stream ends before its end marker"), "{case}");
            if cut == whole.len() / 2 && *compression != Compression::Bzip2 {
                // bzip2 gives nothing before its 900 kB block ends.
                assert!(!prefix.is_empty(), "{case}");
            }
        }
    }
}

#[test]
fn corrupt_table() {
    let text = b"203.0.113.7 - - [01/Jan/2024] \"GET / HTTP/1.1\" 200\n";
    let gzip = compress(Compression::Gzip, text);
    let mut bad_crc = gzip.clone();
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 1; // the CRC-32 of the trailer
    let mut bad_xz = compress(Compression::Xz, text);
    bad_xz[30] ^= 0x55;
    // (id, bytes, compression, message)
    let rows: &[(&str, Vec<u8>, Compression, &str)] = &[
        (
            "gzip010",
            b"\x1f\x8b\x08\x00garbage".to_vec(),
            Compression::Gzip,
            "gzip stream ends before its end marker",
        ),
        ("gzip020", bad_crc, Compression::Gzip, "gzip stream is corrupt: invalid checksum"),
        (
            "gzip030",
            [&gzip[..], b"trailing bytes"].concat(),
            Compression::Gzip,
            "gzip stream is corrupt: invalid gzip header",
        ),
        // Too short for a header: read as a member cut short.
        ("gzip035", [&gzip[..], b"\n"].concat(), Compression::Gzip, "gzip stream ends before its end marker"),
        (
            "gzip040",
            b"\x1f\x8b\xff\xff\xff\xff\xff\xff\xff\xff".to_vec(),
            Compression::Gzip,
            "gzip stream is corrupt: invalid gzip header",
        ),
        (
            "zstd010",
            b"\x28\xb5\x2f\xfdgarbage garbage".to_vec(),
            Compression::Zstd,
            "zstd stream is corrupt: dictionary mismatch",
        ),
        (
            "zstd020",
            [&compress(Compression::Zstd, text)[..], b"trailing"].concat(),
            Compression::Zstd,
            "zstd stream is corrupt: unknown frame descriptor",
        ),
        (
            "bzip2010",
            b"BZh9garbage garbage garbage".to_vec(),
            Compression::Bzip2,
            "bzip2 stream is corrupt: invalid data",
        ),
        (
            "bzip2020",
            [&compress(Compression::Bzip2, text)[..], b"trailing"].concat(),
            Compression::Bzip2,
            "bzip2 stream is corrupt: bz2 header missing",
        ),
        (
            "xz010",
            b"\xfd7zXZ\x00garbage garbage".to_vec(),
            Compression::Xz,
            "xz stream is corrupt: lzma data error",
        ),
        (
            "xz020",
            [&compress(Compression::Xz, text)[..], b"trailing bytes that are no stream"].concat(),
            Compression::Xz,
            "xz stream is corrupt: lzma data error",
        ),
        ("xz030", bad_xz, Compression::Xz, "xz stream is corrupt: lzma data error"),
    ];
    for (id, bytes, compression, message) in rows {
        let (got, prefix, errors) = scan(bytes.clone(), "bad.log", 4096);
        assert_eq!(got, *compression, "{id}");
        assert!(text.starts_with(&prefix), "{id}");
        let [err] = &errors[..] else { panic!("{id}: {errors:?}") };
        assert_eq!((err.kind(), err.file()), (ScanErrorKind::Corrupt, "bad.log"), "{id}");
        assert_eq!(err.message(), *message, "{id}");
        assert_eq!(err.to_string(), format!("bad.log: {}", err.message()), "{id}");
    }
}

/// Gives `data`, then fails, like a disk that goes bad mid-file.
struct Failing {
    data: Cursor<Vec<u8>>,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.data.read(buf)? {
            0 => Err(io::Error::other("Input/output error")),
            n => Ok(n),
        }
    }
}

/// An error of the file under a decoder is `Unreadable`, not `Corrupt`: the decoder
/// passes it up untouched.
#[test]
fn source_errors_are_unreadable() {
    let text: Vec<u8> = (0..2000).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
    for compression in ALL {
        let whole = compress(compression, &text);
        let data = Cursor::new(whole[..whole.len() / 2].to_vec());
        let reader = Reader::new(Failing { data }, "disk.log").unwrap();
        let items: Vec<_> = LineChunks::new(reader, "disk.log", 100, 1 << 20).collect();
        let Some(Err(err)) = items.last() else { panic!("{compression}: no error last") };
        assert_eq!(err.kind(), ScanErrorKind::Unreadable, "{compression}: {err}");
        assert_eq!(err.to_string(), "disk.log: cannot read: input/output error", "{compression}");
        assert!(items[..items.len() - 1].iter().all(Result::is_ok), "{compression}");
    }
    let err = Reader::new(Failing { data: Cursor::new(b"\x1f".to_vec()) }, "-").unwrap_err();
    assert_eq!(err.to_string(), "-: cannot read: input/output error");
}

/// After an error, every read gives it again: a decoder is never read past its error,
/// nor a file that failed once.
#[test]
fn errors_stick() {
    /// `abc` twice (the first bytes, sniffed), an error, then `abc` again.
    struct Flaky(u8);
    impl Read for Flaky {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0 += 1;
            match self.0 {
                3 => Err(io::Error::other("flaky")),
                _ => Read::read(&mut &b"abc"[..], buf),
            }
        }
    }
    let mut reader = Reader::new(Flaky(0), "x").unwrap();
    let mut buf = [0; 64];
    assert_eq!(reader.read(&mut buf).unwrap(), 6);
    let first = scan_error("x", &reader.read(&mut buf).unwrap_err());
    let again = scan_error("x", &reader.read(&mut buf).unwrap_err());
    assert_eq!((first.kind(), &first), (ScanErrorKind::Unreadable, &again));
    let mut reader = Reader::new(Cursor::new(b"\x1f\x8b\x08\x00garbage".to_vec()), "x").unwrap();
    let first = scan_error("x", &reader.read(&mut buf).unwrap_err());
    let again = scan_error("x", &reader.read(&mut buf).unwrap_err());
    assert_eq!((first.kind(), &first), (ScanErrorKind::Corrupt, &again));
}

#[test]
fn sniff_table() {
    let rows: &[(&str, &[u8], Compression)] = &[
        ("sniff010", b"", Compression::Plain),
        ("sniff020", b"\x1f", Compression::Plain),
        ("sniff030", b"\x1f\x8b", Compression::Gzip),
        ("sniff040", b"\x28\xb5\x2f\xfd\x04", Compression::Zstd),
        ("sniff050", b"\x28\xb5\x2f", Compression::Plain),
        ("sniff060", b"BZh1", Compression::Bzip2),
        ("sniff070", b"BZh0", Compression::Plain),
        ("sniff080", b"BZh", Compression::Plain),
        ("sniff090", b"\xfd7zXZ\x00", Compression::Xz),
        ("sniff100", b"\xfd7zXZ", Compression::Plain),
        ("sniff110", b"{\"ts\":1}", Compression::Plain),
    ];
    for &(id, magic, want) in rows {
        assert_eq!(sniff(magic), want, "{id}");
    }
}

/// The first bytes come out again after sniffing, from a reader that gives one byte per
/// read (as a slow pipe may).
#[test]
fn sniffing_keeps_the_first_bytes() {
    struct Trickle(Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let end = buf.len().min(1);
            self.0.read(&mut buf[..end])
        }
    }
    for compression in ALL {
        let bytes = compress(compression, b"a\nb\n");
        let mut reader = Reader::new(Trickle(Cursor::new(bytes)), "-").unwrap();
        assert_eq!(reader.compression(), compression);
        let mut text = Vec::new();
        reader.read_to_end(&mut text).unwrap();
        assert_eq!(text, b"a\nb\n", "{compression}");
    }
}

#[test]
fn open_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Input::Path(dir.path().join("missing.log"));
    let err = open(&missing).unwrap_err();
    assert_eq!(err.kind(), ScanErrorKind::Unreadable);
    assert_eq!(err.file(), missing.name());
    assert!(err.message().starts_with("cannot open: no such file or directory"), "{err}");
    let err = open(&Input::Path(dir.path().to_path_buf())).unwrap_err();
    assert!(err.message().starts_with("cannot read: is a directory"), "{err}");
}

#[test]
fn input_names() {
    assert_eq!(Input::Stdin.to_string(), "-");
    assert_eq!(Input::Path("logs/./a.log".into()).to_string(), "logs/./a.log");
    assert_eq!(Input::Path("a.log".into()).name(), "a.log");
}

#[test]
fn expand_walks_directories() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for path in ["logs/b.log", "logs/a/z.log.gz", "logs/a/deep/x", "logs/c.txt", "other.log"] {
        fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        fs::write(root.join(path), b"x\n").unwrap();
    }
    fs::create_dir(root.join("logs/empty")).unwrap();
    #[cfg(unix)]
    {
        // A link back up would loop; a link to a file is a file; a socket is no file.
        std::os::unix::fs::symlink(root.join("logs"), root.join("logs/a/up")).unwrap();
        std::os::unix::fs::symlink(root.join("other.log"), root.join("logs/link.log")).unwrap();
        std::os::unix::fs::symlink(root.join("gone"), root.join("logs/broken")).unwrap();
        std::os::unix::net::UnixListener::bind(root.join("logs/sock")).unwrap();
    }
    let name = |path: &str| root.join(path).to_string_lossy().into_owned();
    let args = [name("logs"), "-".to_string(), name("missing.log"), name("other.log")];
    let (inputs, errors) = expand(&args);
    let got: Vec<String> = inputs.iter().map(|input| input.to_string()).collect();
    let mut want =
        vec![name("logs/a/deep/x"), name("logs/a/z.log.gz"), name("logs/b.log"), name("logs/c.txt")];
    if cfg!(unix) {
        want.push(name("logs/link.log"));
    }
    want.extend(["-".to_string(), name("other.log")]);
    assert_eq!(got, want);
    let [err] = &errors[..] else { panic!("{errors:?}") };
    assert_eq!((err.kind(), err.file()), (ScanErrorKind::Unreadable, name("missing.log").as_str()));
    assert!(err.message().starts_with("cannot open: no such file or directory"), "{err}");
}

#[test]
fn a_corrupt_block_loses_little_of_what_came_before() {
    // A decoder drops what it inflated in the read that met the bad data: reads of at most
    // 64 KiB bound that, whatever the size of the chunks asked for. The bad data is a
    // block of the reserved type, right after a flush: the stream fails there.
    let lines = |n: u32| -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("{i} host{}.example GET /p?{i}\n", i * 7919 % 1000).into_bytes())
            .collect()
    };
    let (before, after) = (lines(40_000), lines(1000));
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&before).unwrap();
    enc.flush().unwrap();
    let bad_block = enc.get_ref().len();
    enc.write_all(&after).unwrap();
    let mut gz = enc.finish().unwrap();
    gz[bad_block] = 0b111; // the last block, of type 3: "invalid block type"
    let (_, small, small_errors) = scan(gz.clone(), "a.log.gz", 359);
    let (_, large, large_errors) = scan(gz, "a.log.gz", 4 << 20);
    assert_eq!((small_errors.len(), large_errors.len()), (1, 1));
    assert!(before.len() - small.len() < 1 << 10, "{} of {}", small.len(), before.len());
    assert!(before.len() - large.len() <= 64 << 10, "{} of {}", large.len(), before.len());
}
