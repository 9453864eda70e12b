//! The archive job end to end (`Index::scan_files`) on the real logs of `shared/data`,
//! compressed by the tests themselves: every compression gives the hits of the plain
//! bytes, bad inputs are named while the rest is scanned, and Zeek logs attribute hits.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use vedette_core::scan::{FileHit, HitSink, ScanOptions};
use vedette_core::{Index, IndexBuilder, Kind, Meta, ScanError, ScanErrorKind};

/// The shared corpus beside the repository, or `$VEDETTE_DATA`.
fn data(rel: &str) -> Option<Vec<u8>> {
    let root = match std::env::var_os("VEDETTE_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let bytes = std::fs::read(root.join(rel)).ok()?;
    match bytes.starts_with(&[0x1f, 0x8b]) {
        true => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out).ok()?;
            Some(out)
        }
        false => Some(bytes),
    }
}

macro_rules! data_or_skip {
    ($rel:expr) => {
        match data($rel) {
            Some(bytes) => bytes,
            None => {
                eprintln!("skipping: {} not found", $rel);
                return;
            }
        }
    };
}

#[derive(Default)]
struct Collect {
    hits: Vec<FileHit>,
    errors: Vec<ScanError>,
}

impl HitSink for Collect {
    fn hit(&mut self, hit: FileHit) -> bool {
        self.hits.push(hit);
        true
    }
    fn error(&mut self, error: &ScanError) {
        self.errors.push(error.clone());
    }
}

fn scan(index: &Index, paths: &[&Path], options: &ScanOptions) -> (Collect, vedette_core::scan::ScanSummary) {
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut sink = Collect::default();
    let summary = index.scan_files(&paths, options, &mut sink);
    (sink, summary)
}

/// What the hits say, without the file: (line, start, end, kind, observed).
fn spans(hits: &[FileHit]) -> Vec<(u64, usize, usize, Kind, String)> {
    hits.iter().map(|h| (h.line, h.start, h.end, h.kind, h.observed.clone())).collect()
}

/// The hits `find` gives on each line of `text`, as `spans` shows them.
fn expected(index: &Index, text: &[u8]) -> Vec<(u64, usize, usize, Kind, String)> {
    let mut out = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        for m in index.find(line, 0).iter() {
            let observed = String::from_utf8_lossy(&line[m.start..m.end]).into_owned();
            out.push((i as u64 + 1, m.start, m.end, m.kind, observed));
        }
    }
    out
}

fn compressed(kind: &str, text: &[u8]) -> Vec<u8> {
    match kind {
        "plain" => text.to_vec(),
        "gz" => {
            // Two members, as `cat a.gz b.gz` makes.
            let half = text.len() / 2;
            let mut out = Vec::new();
            for part in [&text[..half], &text[half..]] {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(part).unwrap();
                out.extend(e.finish().unwrap());
            }
            out
        }
        "zst" => zstd::encode_all(text, 3).unwrap(),
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!(),
    }
}

/// An index of values that occur in the apache log: some client addresses and a few of
/// the request paths' hosts are not there, so hits come from addresses.
fn web_index(text: &[u8]) -> Index {
    let mut builder = IndexBuilder::new();
    let mut seen = 0;
    for line in text.split(|&b| b == b'\n').step_by(37) {
        let Some(ip) = line.split(|&b| b == b' ').next() else { continue };
        let ip = String::from_utf8_lossy(ip);
        if builder.add(&ip, Some(Kind::Ipv4), Meta { source: Some("test".into()), ..Meta::default() }).is_ok()
        {
            seen += 1;
        }
    }
    assert!(seen > 100, "{seen} addresses");
    builder.build().unwrap()
}

#[test]
fn every_compression_gives_the_hits_of_the_plain_bytes() {
    let text = data_or_skip!("logs/web/apache_logs.log.gz");
    let index = web_index(&text);
    let want = expected(&index, &text);
    assert!(want.len() > 1000, "{} hits", want.len());
    let dir = tempfile::tempdir().unwrap();
    for kind in ["plain", "gz", "zst", "bz2", "xz"] {
        // The names say nothing: inputs are told apart by their magic bytes.
        let path = dir.path().join(format!("{kind}.log"));
        std::fs::write(&path, compressed(kind, &text)).unwrap();
        for (threads, chunk) in [(1, 4 << 20), (2, 4 << 20), (2, 4096)] {
            let mut options = ScanOptions::new(0).threads(threads);
            options.chunk_bytes = chunk;
            let (sink, summary) = scan(&index, &[&path], &options);
            assert!(sink.errors.is_empty(), "{kind}: {:?}", sink.errors);
            assert_eq!(spans(&sink.hits), want, "{kind}, {threads} threads, {chunk}-byte chunks");
            assert_eq!(summary.stats.bytes, text.len() as u64, "{kind}");
            assert_eq!(summary.stats.hits, want.len() as u64, "{kind}");
            assert_eq!(
                summary.stats.lines,
                text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64,
                "{kind}"
            );
            assert_eq!(summary.stats.files, 1);
            assert!(sink.hits.iter().all(|h| h.file.as_ref() == path.display().to_string()));
        }
    }
}

#[test]
fn bad_inputs_are_named_and_the_rest_is_scanned() {
    let text = data_or_skip!("logs/web/apache_logs.log.gz");
    let index = web_index(&text);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.log");
    std::fs::write(&good, &text).unwrap();
    let missing = dir.path().join("missing.log");
    let truncated = dir.path().join("truncated.log.gz");
    let gz = compressed("gz", &text);
    std::fs::write(&truncated, &gz[..gz.len() * 3 / 4]).unwrap();
    let nested = dir.path().join("nested");
    std::fs::create_dir_all(nested.join("deeper")).unwrap();
    std::fs::write(nested.join("deeper/in-a-dir.log.zst"), compressed("zst", &text)).unwrap();

    let options = ScanOptions::new(0).threads(2);
    let (sink, summary) = scan(&index, &[&good, &missing, &truncated, &nested], &options);
    let errors: Vec<(String, ScanErrorKind)> =
        summary.errors.iter().map(|e| (e.file().to_string(), e.kind())).collect();
    assert_eq!(
        errors,
        [
            (missing.display().to_string(), ScanErrorKind::Unreadable),
            (truncated.display().to_string(), ScanErrorKind::Corrupt)
        ]
    );
    assert_eq!(sink.errors, summary.errors, "the sink hears of each error");
    let want = expected(&index, &text);
    let of = |path: &Path| -> Vec<_> {
        let hits: Vec<FileHit> =
            sink.hits.iter().filter(|h| h.file.as_ref() == path.display().to_string()).cloned().collect();
        spans(&hits)
    };
    assert_eq!(of(&good), want, "the good file");
    assert_eq!(of(&nested.join("deeper/in-a-dir.log.zst")), want, "the file found in the directory");
    // The readable part of the truncated file: a prefix of its hits, and not nothing.
    let part = of(&truncated);
    assert!(!part.is_empty() && part.len() < want.len(), "{} of {}", part.len(), want.len());
    assert_eq!(part[..], want[..part.len()]);
    assert_eq!(summary.stats.files, 3, "the missing file was never opened");
}

#[test]
fn zeek_logs_name_the_field_time_and_uid_of_each_hit() {
    let dns = data_or_skip!("zeek/trickbot-2018-11/dns.log");
    let text = String::from_utf8_lossy(&dns).into_owned();
    let fields: Vec<&str> =
        text.lines().find(|l| l.starts_with("#fields")).unwrap().split('\t').skip(1).collect();
    let column = |name: &str| fields.iter().position(|f| *f == name).unwrap();
    let (ts, uid, query) = (column("ts"), column("uid"), column("query"));
    let rows: Vec<Vec<&str>> =
        text.lines().filter(|l| !l.starts_with('#')).map(|l| l.split('\t').collect()).collect();
    // A query name from a row in the middle, which the log names more than once at most.
    let row = &rows[rows.len() / 2];
    let name = row[query];
    let mut builder = IndexBuilder::new();
    builder.add(name, Some(Kind::Hostname), Meta::default()).unwrap();
    let index = builder.build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dns.log.gz");
    std::fs::write(&path, compressed("gz", &dns)).unwrap();
    let (sink, _) = scan(&index, &[&path], &ScanOptions::new(0));
    let in_query: Vec<&FileHit> = sink.hits.iter().filter(|h| h.field.as_deref() == Some("query")).collect();
    let want = rows.iter().filter(|r| r[query] == name).count();
    assert_eq!(in_query.len(), want, "{name}");
    let hit = in_query.iter().find(|h| h.uid.as_deref() == Some(row[uid])).expect("the chosen row's hit");
    let seconds: f64 = row[ts].parse().unwrap();
    assert_eq!(hit.ts, Some((seconds * 1e6).round() as i64));
    assert_eq!(hit.observed, name);
}

#[test]
fn zeek_http_rows_match_urls_on_host_and_uri() {
    let http = data_or_skip!("zeek/trickbot-2018-11/http.log");
    let text = String::from_utf8_lossy(&http).into_owned();
    let fields: Vec<&str> =
        text.lines().find(|l| l.starts_with("#fields")).unwrap().split('\t').skip(1).collect();
    let column = |name: &str| fields.iter().position(|f| *f == name).unwrap();
    let (host, uri) = (column("host"), column("uri"));
    let row: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|r| r[host] != "-" && r[uri].len() > 1 && !r[uri].contains(['\\', '#']))
        .unwrap();
    let url = format!("http://{}{}", row[host], row[uri]);
    let mut builder = IndexBuilder::new();
    builder.add(&url, None, Meta::default()).unwrap();
    let index = builder.build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    std::fs::write(&path, &http).unwrap();
    let (sink, _) = scan(&index, &[&path], &ScanOptions::new(0));
    assert!(!sink.hits.is_empty(), "{url}");
    assert!(
        sink.hits.iter().all(|h| h.kind == Kind::Url && h.field.as_deref() == Some("host+uri")),
        "{:?}",
        sink.hits
    );
    assert!(sink.hits.iter().any(|h| h.observed == url["http://".len()..] || url.contains(&h.observed)));
}

/// A stream cut at every byte gives what one `find` of it gives.
#[test]
fn a_stream_in_pieces_matches_as_the_whole() {
    let mut builder = IndexBuilder::new();
    for value in ["evil.example", "http://bad.example/a,b", "10.0.0.0/8", "d41d8cd98f00b204e9800998ecf8427e"]
    {
        builder.add(value, None, Meta::default()).unwrap();
    }
    let index = builder.build().unwrap();
    let text = b"GET http://bad.example/a,b 200\nx.evil.example 10.1.2.3\n%2F10.9.9.9 d41d8cd98f00b204e9800998ecf8427e\nlast evil.example";
    let whole: Vec<(usize, usize, Kind)> =
        index.find(text, 0).iter().map(|m| (m.start, m.end, m.kind)).collect();
    assert_eq!(whole.len(), 6);
    for cut in 0..=text.len() {
        for second in [cut, (cut + 7).min(text.len()), text.len()] {
            let mut scanner = index.scanner(0);
            let mut got = Vec::new();
            for piece in [&text[..cut], &text[cut..second], &text[second..]] {
                got.extend(scanner.feed(piece).iter().map(|m| (m.start, m.end, m.kind)));
            }
            got.extend(scanner.finish().iter().map(|m| (m.start, m.end, m.kind)));
            assert_eq!(got, whole, "cut at {cut} and {second}");
        }
    }
}
