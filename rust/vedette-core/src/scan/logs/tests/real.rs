//! The real logs under `shared/data` beside the repository (or `$VEDETTE_DATA`), each test
//! skipped when they are absent: values read independently of the code under test.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::super::*;

/// The shared data directory, or `None` (the test is skipped) when it is absent.
fn data_dir() -> Option<PathBuf> {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let root = std::env::var_os("VEDETTE_DATA").map_or(default, PathBuf::from);
    if root.join("zeek").is_dir() {
        Some(root)
    } else {
        eprintln!("skipping: {} not found", root.display());
        None
    }
}

/// A file's bytes, inflated when it is gzip.
fn read(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return raw;
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
    out
}

/// The first chunk a reader hands on: up to 64 KiB, cut after a line end.
fn first_chunk(data: &[u8]) -> &[u8] {
    let head = &data[..data.len().min(64 << 10)];
    match memchr::memrchr(b'\n', head) {
        Some(end) if head.len() < data.len() => &head[..=end],
        _ => head,
    }
}

#[test]
fn every_file_sniffs_as_its_format() {
    let Some(root) = data_dir() else { return };
    let mut seen = 0;
    let mut check = |dir: &str, want: &dyn Fn(&str) -> LogFormat| {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "README.md" {
                continue;
            }
            let data = read(&path);
            assert_eq!(LogContext::sniff(first_chunk(&data)).format(), want(&name), "{dir}/{name}");
            seen += 1;
        }
    };
    check("zeek/trickbot-2018-11", &|_| LogFormat::ZeekTsv);
    check("zeek/wrccdc-2018", &|_| LogFormat::ZeekTsv);
    check("zeek/infected-2010", &|_| LogFormat::ZeekTsv);
    for dir in ["001-njrat", "003-android-rat", "004-ssh", "005-simda", "008-mixed", "009-kovter"] {
        // The ssh.log of this capture was written by Zeek as JSON.
        let want = |name: &str| if name == "ssh.log" { LogFormat::ZeekJson } else { LogFormat::ZeekTsv };
        check(&format!("zeek/stratosphere/{dir}"), &want);
    }
    check("zeek/json-format", &|_| LogFormat::ZeekJson);
    check("logs/suricata-eve", &|_| LogFormat::SuricataEve);
    check("zeek/intel", &|_| LogFormat::Plain);
    check("logs/loghub", &|_| LogFormat::Plain);
    check("logs/auth", &|_| LogFormat::Plain);
    check("logs/web", &|_| LogFormat::Plain);
    assert!(seen > 50, "{seen} files");
}

/// A Zeek TSV log read independently: its `#fields` names and its data rows split on tabs.
struct Tsv {
    names: Vec<String>,
    rows: Vec<String>,
}

impl Tsv {
    fn read(data: &[u8]) -> Tsv {
        let text = String::from_utf8(data.to_vec()).unwrap();
        let fields = text.lines().find_map(|l| l.strip_prefix("#fields\t")).unwrap();
        let names = fields.split('\t').map(str::to_owned).collect();
        let rows = text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(str::to_owned).collect();
        Tsv { names, rows }
    }

    fn column(&self, name: &str) -> usize {
        self.names.iter().position(|n| n == name).unwrap()
    }
}

/// Zeek's `ts` text to microseconds, by its digits.
fn zeek_ts(text: &str) -> i64 {
    let (seconds, fraction) = text.split_once('.').unwrap();
    seconds.parse::<i64>().unwrap() * 1_000_000 + format!("{fraction:0<6}")[..6].parse::<i64>().unwrap()
}

/// Checks that a hit on column `name` of each row (its whole text) is attributed to
/// `name` and the row's `ts` and `uid`; the number of rows checked.
fn check_tsv_column(data: &[u8], name: &str, file: &str) -> usize {
    let context = LogContext::sniff(first_chunk(data));
    let tsv = Tsv::read(data);
    let (column, ts, uid) = (tsv.column(name), tsv.column("ts"), tsv.column("uid"));
    let mut checked = 0;
    for row in &tsv.rows {
        let cols: Vec<&str> = row.split('\t').collect();
        let start: usize = cols[..column].iter().map(|c| c.len() + 1).sum();
        let end = start + cols[column].len();
        let got = context.attribute(row.as_bytes(), start, end);
        let want_uid = Some(cols[uid]).filter(|u| *u != "-").map(str::to_owned);
        let want = Attribution { field: Some(name.to_owned()), ts: Some(zeek_ts(cols[ts])), uid: want_uid };
        assert_eq!(got, want, "{file}: {row}");
        checked += 1;
    }
    checked
}

#[test]
fn zeek_tsv_attribution() {
    let Some(root) = data_dir() else { return };
    let cases = [
        ("zeek/trickbot-2018-11/dns.log", "query"),
        ("zeek/trickbot-2018-11/conn.log.gz", "id.resp_h"),
        ("zeek/trickbot-2018-11/http.log", "host"),
        ("zeek/trickbot-2018-11/ssl.log.gz", "server_name"),
        ("zeek/wrccdc-2018/dns.log.gz", "query"),
        ("zeek/wrccdc-2018/dns.log.gz", "answers"),
        ("zeek/stratosphere/005-simda/dns.log", "query"),
        ("zeek/stratosphere/008-mixed/conn.log.labeled", "id.resp_h"),
        ("zeek/stratosphere/009-kovter/dns.log.labeled.gz", "query"),
    ];
    for (file, name) in cases {
        let checked = check_tsv_column(&read(&root.join(file)), name, file);
        assert!(checked > 100, "{file}: {checked} rows");
    }
}

/// Microseconds of an EVE time, `YYYY-MM-DDTHH:MM:SS.ffffff+HHMM`, read by position
/// (days from the civil date after Howard Hinnant).
fn eve_ts(text: &str) -> i64 {
    let num = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let seconds = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    let sign = if &text[26..27] == "-" { -1 } else { 1 };
    let offset = sign * (num(27..29) * 3600 + num(29..31) * 60);
    (seconds - offset) * 1_000_000 + num(20..26)
}

/// The span of the value of the first `"key":` in `line` (inside the quotes of a string).
fn value_span(line: &str, key: &str, value: &Value) -> (usize, usize) {
    let text = value.to_string();
    let needle = format!("\"{key}\":{text}");
    let at = line.find(&needle).unwrap_or_else(|| panic!("{needle} in {line}")) + key.len() + 3;
    let quoted = usize::from(value.is_string());
    (at + quoted, at + text.len() - quoted)
}

#[test]
fn eve_attribution() {
    let Some(root) = data_dir() else { return };
    let dir = root.join("logs/suricata-eve");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut counts = std::collections::BTreeMap::new();
    for entry in entries {
        let path = entry.unwrap().path();
        let data = read(&path);
        let context = LogContext::sniff(first_chunk(&data));
        for line in String::from_utf8(data).unwrap().lines().filter(|l| !l.is_empty()) {
            let event: Value = serde_json::from_str(line).unwrap();
            let want_ts = Some(eve_ts(event["timestamp"].as_str().unwrap()));
            let want_uid = event.get("flow_id").map(|id| id.as_u64().unwrap().to_string());
            let cases = [
                ("dest_ip", "dest_ip", &event["dest_ip"]),
                ("dns.rrname", "rrname", &event["dns"]["rrname"]),
                ("http.hostname", "hostname", &event["http"]["hostname"]),
                ("tls.sni", "sni", &event["tls"]["sni"]),
                ("dns.answers.rdata", "rdata", &event["dns"]["answers"][0]["rdata"]),
            ];
            for (path, key, value) in cases {
                if !value.is_string() {
                    continue;
                }
                let (start, end) = value_span(line, key, value);
                let got = context.attribute(line.as_bytes(), start, end);
                let want = Attribution { field: Some(path.to_owned()), ts: want_ts, uid: want_uid.clone() };
                assert_eq!(got, want, "{line}");
                *counts.entry(path).or_insert(0) += 1;
            }
        }
    }
    for path in ["dest_ip", "dns.rrname", "http.hostname", "tls.sni", "dns.answers.rdata"] {
        assert!(counts.get(path).copied().unwrap_or(0) > 0, "no {path} in {counts:?}");
    }
    assert!(counts["dest_ip"] > 800, "{counts:?}");
}

#[test]
fn zeek_json_attribution() {
    let Some(root) = data_dir() else { return };
    let cases = [
        ("zeek/json-format/dns.log", "query"),
        ("zeek/json-format/conn.log", "id.resp_h"),
        ("zeek/json-format/ssl.log", "cipher"),
        ("zeek/stratosphere/004-ssh/ssh.log", "client"),
    ];
    for (file, key) in cases {
        let data = read(&root.join(file));
        let context = LogContext::sniff(first_chunk(&data));
        let mut checked = 0;
        for line in String::from_utf8(data).unwrap().lines().filter(|l| !l.is_empty()) {
            let record: Value = serde_json::from_str(line).unwrap();
            if !record[key].is_string() {
                continue;
            }
            let (start, end) = value_span(line, key, &record[key]);
            let got = context.attribute(line.as_bytes(), start, end);
            assert_eq!(got.field.as_deref(), Some(key), "{file}: {line}");
            assert_eq!(got.uid.as_deref(), record["uid"].as_str(), "{file}: {line}");
            // Through a double the last digit may round either way.
            let want_ts = (record["ts"].as_f64().unwrap() * 1e6).round() as i64;
            assert!(got.ts.is_some_and(|ts| (ts - want_ts).abs() <= 1), "{file}: {line}");
            checked += 1;
        }
        assert!(checked > 30, "{file}: {checked}");
    }
}

#[test]
fn http_row_urls() {
    let Some(root) = data_dir() else { return };
    let files = [
        "zeek/trickbot-2018-11/http.log",
        "zeek/stratosphere/005-simda/http.log",
        "zeek/stratosphere/008-mixed/http.log.labeled",
        "zeek/stratosphere/009-kovter/http.log.labeled",
        "zeek/infected-2010/http.log",
    ];
    let (mut url, mut total) = (Vec::new(), 0);
    for file in files {
        let data = read(&root.join(file));
        let context = LogContext::sniff(first_chunk(&data));
        let tsv = Tsv::read(&data);
        let (host, uri) = (tsv.column("host"), tsv.column("uri"));
        let mut urls = 0;
        for row in &tsv.rows {
            let cols: Vec<&str> = row.split('\t').collect();
            let (h, u) = (cols[host], cols[uri]);
            assert!(!h.contains("\\x") && !u.contains("\\x"), "{file}: escapes the test does not undo");
            let want = (h != "-" && u.starts_with('/')).then(|| format!("{h}{u}"));
            let found = context.row_url(row.as_bytes(), &mut url);
            assert_eq!(found.then(|| String::from_utf8(url.clone()).unwrap()), want, "{file}: {row}");
            urls += usize::from(found);
        }
        assert!(urls > 0, "{file}: no urls");
        total += urls;
    }
    assert!(total > 1000, "{total} urls");
    // EVE: an alert that carries its HTTP transaction.
    let line = std::fs::read_to_string(root.join("logs/suricata-eve/beats-eve-6.0.log")).unwrap();
    let context = LogContext::sniff(line.as_bytes());
    assert!(context.row_url(line.trim_end().as_bytes(), &mut url));
    assert_eq!(url, b"testmynids.org/uid/index.html");
}

/// Feeds `data` to a context chunk by chunk (`chunk_len` bytes, cut after a line end) as
/// the reader does, and attributes a hit on each data line's second column as a worker
/// does: advancing a clone of the chunk's context over the lines before the hit. The
/// field name of each line's hit, with each header line marked `#`.
fn second_columns(data: &[u8], chunk_len: usize) -> Vec<String> {
    let mut context = LogContext::sniff(first_chunk(data));
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let cut = memchr::memrchr(b'\n', &rest[..rest.len().min(chunk_len)]).map_or(rest.len(), |i| i + 1);
        let (chunk, tail) = rest.split_at(cut);
        let mut worker = context.clone();
        for line in chunk.split_inclusive(|&b| b == b'\n') {
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            if worker.is_header(text) {
                out.push("#".to_string());
            } else {
                let start = memchr::memchr(b'\t', text).unwrap() + 1;
                let end = memchr::memchr(b'\t', &text[start..]).map_or(text.len(), |i| start + i);
                out.push(worker.attribute(text, start, end).field.unwrap_or_default());
            }
            worker.advance(line);
        }
        context.advance(chunk);
        rest = tail;
    }
    out
}

#[test]
fn header_blocks_in_the_middle() {
    let Some(root) = data_dir() else { return };
    // Logs joined as `cat` joins them, with different columns: the second column is
    // `uid` in dns.log and `id` in x509.log.
    let dns = read(&root.join("zeek/trickbot-2018-11/dns.log"));
    let x509 = read(&root.join("zeek/trickbot-2018-11/x509.log"));
    let joined = [&dns[..], &x509[..], &dns[..]].concat();
    let dns_names = Tsv::read(&dns).names;
    let x509_names = Tsv::read(&x509).names;
    assert_ne!(dns_names[1], x509_names[1]);
    for chunk_len in [1 << 10, 64 << 10, 1 << 30] {
        let got = second_columns(&joined, chunk_len);
        let want: Vec<String> = [(&dns, &dns_names), (&x509, &x509_names), (&dns, &dns_names)]
            .iter()
            .flat_map(|(data, names)| {
                data.split(|&b| b == b'\n').filter(|line| !line.is_empty()).map(|line| {
                    if line[0] == b'#' {
                        "#".to_string()
                    } else {
                        names[1].clone()
                    }
                })
            })
            .collect();
        assert_eq!(got.len(), want.len(), "{chunk_len}");
        assert_eq!(got, want, "{chunk_len}");
    }
}
