//! The Zeek intel.log writer, its output read back as a Zeek log reader reads it.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

/// A Zeek log read back: its header, and each row's raw (still escaped) fields.
#[derive(Debug)]
struct ZeekLog {
    header: Vec<(String, String)>,
    fields: Vec<String>,
    types: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Reads a Zeek ASCII log as a log reader does, checking what every reader relies on:
/// the header lines, in Zeek's order, and as many fields in every row as `#fields`
/// names.
fn read_zeek_log(text: &str) -> ZeekLog {
    assert!(text.ends_with('\n'), "a log ends with a newline");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(r"#separator \x09"));
    let mut log = ZeekLog { header: Vec::new(), fields: Vec::new(), types: Vec::new(), rows: Vec::new() };
    for line in lines {
        if let Some(meta) = line.strip_prefix('#') {
            let (key, value) =
                meta.split_once('\t').unwrap_or_else(|| panic!("header without a tab: {line}"));
            match key {
                "fields" => log.fields = value.split('\t').map(str::to_string).collect(),
                "types" => log.types = value.split('\t').map(str::to_string).collect(),
                _ => log.header.push((key.to_string(), value.to_string())),
            }
            continue;
        }
        assert!(!log.types.is_empty(), "row before #types: {line}");
        let row: Vec<String> = line.split('\t').map(str::to_string).collect();
        assert_eq!(row.len(), log.fields.len(), "{line}");
        log.rows.push(row);
    }
    assert_eq!(log.fields.len(), log.types.len());
    log
}

impl ZeekLog {
    fn raw(&self, row: usize, name: &str) -> &str {
        &self.rows[row][self.fields.iter().position(|f| f == name).unwrap()]
    }

    /// A string field, unescaped: `None` when unset.
    fn value(&self, row: usize, name: &str) -> Option<String> {
        self.value_of(&self.rows[row], self.fields.iter().position(|f| f == name).unwrap())
    }

    /// Column `col` of `row`, unescaped: `None` when unset.
    fn value_of(&self, row: &[String], col: usize) -> Option<String> {
        match row[col].as_str() {
            "-" => None,
            "(empty)" => Some(String::new()),
            raw => Some(unescape(raw)),
        }
    }

    /// A set field's elements, unescaped.
    fn set(&self, row: usize, name: &str) -> Vec<String> {
        match self.raw(row, name) {
            "(empty)" => Vec::new(),
            raw => raw.split(',').map(unescape).collect(),
        }
    }
}

/// Undoes Zeek's log escapes: `\xHH` is the byte HH, `\\` a backslash.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'\\', Some(b'x')) => {
                out.push(u8::from_str_radix(&field[i + 2..i + 4], 16).unwrap());
                i += 4;
            }
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Rows that pin where, types and sets; the hit, then the row after its `ts` and `uid`.
fn zeek_rows(index: &Index) -> Vec<(&'static str, FileHit, &'static str)> {
    let r = |kind, value, source| id(index, kind, value, source);
    let (dom, dom2) = (
        r(Kind::Domain, "evil.example", Some("cti")),
        r(Kind::Domain, "evil.example", Some("feed,with,commas")),
    );
    let host = r(Kind::Hostname, "evil.example", Some("-"));
    let (ip, net) =
        (r(Kind::Ipv4, "198.51.100.7", Some("cti")), r(Kind::Ipv4, "198.51.100.0/24", Some("firehol")));
    let url = r(Kind::Url, "evil.example/gate.php", Some("(empty)"));
    let email = r(Kind::Email, "phish@evil.example", Some("\\back"));
    let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let sha256 = r(Kind::Sha256, sha, Some(""));
    let agent = r(Kind::String, "EvilAgent/1.0", None);
    let unset = |hit: FileHit| FileHit { field: None, ts: None, uid: None, ..hit };
    vec![
        (
            "zeek010",
            hit(Kind::Domain, "evil.example", Some("query"), vec![dom, dom2, host]),
            "evil.example\tIntel::DOMAIN\tDNS::IN_REQUEST\t-\tIntel::DOMAIN\t\\x2d,cti,feed\\x2cwith\\x2ccommas",
        ),
        (
            "zeek020",
            hit(Kind::Ipv4, "198.51.100.7", Some("id.resp_h"), vec![ip, net]),
            "198.51.100.7\tIntel::ADDR\tConn::IN_RESP\t-\tIntel::ADDR,Intel::SUBNET\tcti,firehol",
        ),
        (
            "zeek030",
            hit(Kind::Ipv4, "198.51.100.9", Some("id.orig_h"), vec![net]),
            "198.51.100.9\tIntel::ADDR\tConn::IN_ORIG\t-\tIntel::SUBNET\tfirehol",
        ),
        (
            "zeek040",
            hit(Kind::Url, "evil.example/gate.php", Some("host+uri"), vec![url]),
            "evil.example/gate.php\tIntel::URL\tHTTP::IN_URL\t-\tIntel::URL\t\\x28empty)",
        ),
        (
            "zeek050",
            hit(Kind::Email, "phish@evil.example", Some("mailfrom"), vec![email]),
            "phish@evil.example\tIntel::EMAIL\tSMTP::IN_MAIL_FROM\t-\tIntel::EMAIL\t\\\\back",
        ),
        // A source set but empty is no source.
        (
            "zeek060",
            hit(Kind::Sha256, sha, Some("sha256"), vec![sha256]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\tIntel::FILE_HASH\tFiles::IN_HASH\t-\tIntel::FILE_HASH\t(empty)",
        ),
        (
            "zeek070",
            hit(Kind::Sha256, sha, Some("fingerprint"), vec![sha256]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\tIntel::CERT_HASH\tX509::IN_CERT\t-\tIntel::CERT_HASH\t(empty)",
        ),
        (
            "zeek080",
            hit(Kind::String, "EvilAgent/1.0", Some("user_agent"), vec![agent]),
            "EvilAgent/1.0\tIntel::SOFTWARE\tHTTP::IN_USER_AGENT_HEADER\t-\tIntel::SOFTWARE\t(empty)",
        ),
        (
            "zeek090",
            hit(Kind::String, "EvilAgent/1.0", Some("filename"), vec![agent]),
            "EvilAgent/1.0\tIntel::FILE_NAME\tFiles::IN_NAME\t-\tIntel::FILE_NAME\t(empty)",
        ),
        (
            "zeek100",
            hit(Kind::Domain, "evil.example", Some("server_name"), vec![dom]),
            "evil.example\tIntel::DOMAIN\tSSL::IN_SERVER_NAME\t-\tIntel::DOMAIN\tcti",
        ),
        (
            "zeek110",
            hit(Kind::Domain, "evil.example", Some("host"), vec![dom]),
            "evil.example\tIntel::DOMAIN\tHTTP::IN_HOST_HEADER\t-\tIntel::DOMAIN\tcti",
        ),
        (
            "zeek120",
            hit(Kind::Domain, "evil.example", Some("dns.rrname"), vec![dom]),
            "evil.example\tIntel::DOMAIN\tDNS::IN_REQUEST\t-\tIntel::DOMAIN\tcti",
        ),
        // Plain text: no field, no time of its own, no uid.
        (
            "zeek130",
            unset(hit(Kind::Domain, "evil.example", None, vec![dom])),
            "evil.example\tIntel::DOMAIN\tIntel::IN_ANYWHERE\t-\tIntel::DOMAIN\tcti",
        ),
        (
            "zeek140",
            hit(Kind::Domain, "evil.example", Some("no_such_field"), vec![dom]),
            "evil.example\tIntel::DOMAIN\tIntel::IN_ANYWHERE\t-\tIntel::DOMAIN\tcti",
        ),
        // Hostile observed text: the separator, newlines and backslashes escaped, a comma
        // kept outside a set, a null marker's first byte escaped.
        (
            "zeek150",
            hit(Kind::String, "a\tb\\c,d\ne\u{1}\u{7f}é", None, vec![agent]),
            "a\\x09b\\\\c,d\\x0ae\\x01\\x7fé\tIntel::SOFTWARE\tIntel::IN_ANYWHERE\t-\tIntel::SOFTWARE\t(empty)",
        ),
        (
            "zeek160",
            hit(Kind::String, "-", None, vec![agent]),
            "\\x2d\tIntel::SOFTWARE\tIntel::IN_ANYWHERE\t-\tIntel::SOFTWARE\t(empty)",
        ),
        (
            "zeek170",
            hit(Kind::String, "", None, vec![agent]),
            "(empty)\tIntel::SOFTWARE\tIntel::IN_ANYWHERE\t-\tIntel::SOFTWARE\t(empty)",
        ),
    ]
}

pub(super) const ZEEK_HEADER: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tintel
#open\t2018-11-01-12-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tseen.indicator\tseen.indicator_type\tseen.where\tseen.node\tmatched\tsources\tfuid\tfile_mime_type\tfile_desc
#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tenum\tenum\tstring\tset[enum]\tset[string]\tstring\tstring\tstring
";

#[test]
fn zeek_table() {
    let index = index();
    for (row, hit, want) in zeek_rows(&index) {
        let out = write_all(OutputFormat::ZeekIntel, &index, std::slice::from_ref(&hit));
        let (ts, uid) = match hit.ts {
            Some(_) => ("1541117137.434664", "CvAwef3mv2ryjT3QBc"),
            None => ("1541073600.000000", "-"),
        };
        let want =
            format!("{ZEEK_HEADER}{ts}\t{uid}\t-\t-\t-\t-\t{want}\t-\t-\t-\n#close\t2018-11-01-12-00-00\n");
        assert_eq!(out, want, "{row}");
    }
}

#[test]
fn zeek_read_back() {
    let index = index();
    let rows = zeek_rows(&index);
    let hits: Vec<FileHit> = rows.iter().map(|(_, hit, _)| hit.clone()).collect();
    let log = read_zeek_log(&write_all(OutputFormat::ZeekIntel, &index, &hits));
    let header: Vec<(&str, &str)> = log.header.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        header,
        [
            ("set_separator", ","),
            ("empty_field", "(empty)"),
            ("unset_field", "-"),
            ("path", "intel"),
            ("open", "2018-11-01-12-00-00"),
            ("close", "2018-11-01-12-00-00"),
        ]
    );
    assert_eq!(log.rows.len(), hits.len());
    for (i, (row, hit, _)) in rows.iter().enumerate() {
        assert_eq!(log.value(i, "seen.indicator").as_deref(), Some(hit.observed.as_str()), "{row}");
        assert_eq!(log.value(i, "uid"), hit.uid, "{row}");
        for unset in ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "seen.node", "fuid"] {
            assert_eq!(log.value(i, unset), None, "{row} {unset}");
        }
        let mut sources: Vec<String> = hit
            .indicators
            .iter()
            .filter_map(|&id| index.indicator(id).meta.source.clone())
            .filter(|s| !s.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        sources.sort();
        assert_eq!(log.set(i, "sources"), sources, "{row}");
        let ts: f64 = log.raw(i, "ts").parse().unwrap();
        let want_ts = hit.ts.unwrap_or(CLOCK) as f64 / 1e6;
        assert!((ts - want_ts).abs() < 1e-6, "{row}");
    }
}

/// Runs `zeek-cut` (or its older name `bro-cut`) on the log when one is installed.
#[test]
fn zeek_cut() {
    let Some(tool) = ["zeek-cut", "bro-cut"].into_iter().find(|name| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
    }) else {
        eprintln!("skipping: no zeek-cut or bro-cut on PATH");
        return;
    };
    let index = index();
    let rows = zeek_rows(&index);
    let hits: Vec<FileHit> = rows.iter().map(|(_, hit, _)| hit.clone()).collect();
    let log = write_all(OutputFormat::ZeekIntel, &index, &hits);
    let mut child = std::process::Command::new(tool)
        .args(["seen.indicator", "seen.where", "sources"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), log.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let got = String::from_utf8(out.stdout).unwrap();
    let parsed = read_zeek_log(&log);
    let want: String = (0..hits.len())
        .map(|i| {
            let cols = ["seen.indicator", "seen.where", "sources"].map(|c| parsed.raw(i, c).to_string());
            cols.join("\t") + "\n"
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn zeek_empty_log() {
    let out = write_all(OutputFormat::ZeekIntel, &index(), &[]);
    assert_eq!(out, format!("{ZEEK_HEADER}#close\t2018-11-01-12-00-00\n"));
    assert!(read_zeek_log(&out).rows.is_empty());
}

/// The shared corpus of real feeds and logs: `$VEDETTE_DATA`, or beside the repository.
fn data_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("VEDETTE_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    dir.is_dir().then_some(dir)
}

/// Every query of a real Zeek dns.log as a hit: the intel.log rows carry the log's own
/// `ts` and `uid` through unchanged, and every format parses back.
#[test]
fn real_dns_log() {
    let Some(dir) = data_dir() else {
        eprintln!("skipping: shared/data not found");
        return;
    };
    let text = std::fs::read_to_string(dir.join("zeek/trickbot-2018-11/dns.log")).unwrap();
    let source = read_zeek_log(&text);
    let col = |name: &str| source.fields.iter().position(|f| f == name).unwrap();
    let (ts, uid, query) = (col("ts"), col("uid"), col("query"));
    let mut builder = IndexBuilder::new();
    let mut rows = Vec::new();
    for row in &source.rows {
        let meta = Meta { source: Some("trickbot-2018-11".into()), ..Meta::default() };
        // `-` is an unset query.
        if row[query] != "-" && builder.add(&row[query], Some(Kind::Domain), meta).is_ok() {
            rows.push(row);
        }
    }
    let index = builder.build().unwrap();
    assert!(rows.len() > 1000, "{} usable rows", rows.len());
    let hits: Vec<FileHit> = rows
        .iter()
        .map(|row| {
            let (secs, frac) = row[ts].split_once('.').unwrap();
            let micros = secs.parse::<i64>().unwrap() * 1_000_000 + frac.parse::<i64>().unwrap();
            let value = row[query].to_ascii_lowercase();
            let ids =
                index.indicators().filter(|r| r.value == value.trim_end_matches('.')).map(|r| r.id).collect();
            FileHit {
                ts: Some(micros),
                uid: source.value_of(row, uid),
                ..hit(Kind::Domain, &row[query], Some("query"), ids)
            }
        })
        .collect();
    let log = read_zeek_log(&write_all(OutputFormat::ZeekIntel, &index, &hits));
    assert_eq!(log.rows.len(), rows.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(log.raw(i, "ts"), row[ts], "row {i}");
        assert_eq!(log.raw(i, "uid"), row[uid], "row {i}");
        assert_eq!(log.raw(i, "seen.indicator"), row[query], "row {i}");
        assert_eq!(log.raw(i, "seen.where"), "DNS::IN_REQUEST", "row {i}");
        assert_eq!(log.set(i, "sources"), ["trickbot-2018-11"], "row {i}");
    }
    for format in [OutputFormat::JsonLines, OutputFormat::Ecs] {
        let out = write_all(format, &index, &hits);
        let docs: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(docs.len(), hits.len(), "{format}");
    }
}
