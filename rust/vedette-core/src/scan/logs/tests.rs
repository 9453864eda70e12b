//! Tests of the parent module, one table row per case, on small literal lines; `real`
//! runs the same on the real logs.

mod real;

use super::*;

/// The usual header block of a Zeek TSV log, with `fields` tab-separated.
fn zeek_header(path: &str, fields: &str) -> String {
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n\
         #open\t2018-11-01-20-29-44\n#fields\t{fields}\n#types\t...\n"
    )
}

#[test]
fn sniff_table() {
    let dns = zeek_header("dns", "ts\tuid\tquery");
    let bom_dns = format!("\u{feff}\n\n{dns}");
    #[rustfmt::skip]
    let rows: &[(&str, &[u8], LogFormat)] = &[
        ("sniff010", dns.as_bytes(), LogFormat::ZeekTsv),
        ("sniff020", bom_dns.as_bytes(), LogFormat::ZeekTsv),
        ("sniff030", b"#separator \\x09\n", LogFormat::ZeekTsv),
        ("sniff040", br#"{"ts":1591425407.765563,"uid":"CdCP464YLOr79eqaje","query":"a.example"}"#, LogFormat::ZeekJson),
        ("sniff050", br#"{"_path":"dns","ts":"2020-06-06T06:36:39.925532Z","query":"a.example"}"#, LogFormat::ZeekJson),
        ("sniff060", br#"{"ts":1.5,"id":"FQ1","certificate.version":3}"#, LogFormat::ZeekJson),
        ("sniff070", br#"{"ts":1.5,"fuid":"FQ1"}"#, LogFormat::ZeekJson),
        ("sniff080", b"{\"ts\":1.5,\"uid\":\"C1\"}\n{\"ts\":", LogFormat::ZeekJson),
        ("sniff090", br#"{"timestamp":"2019-08-22T23:48:27.924120+0000","flow_id":1,"event_type":"dns"}"#, LogFormat::SuricataEve),
        ("sniff100", br#"{"event_type":"dns","timestamp":"x","ts":1.5,"uid":"C1"}"#, LogFormat::SuricataEve),
        ("sniff110", br#"{"timestamp":"2019-08-22T23:48:27Z","message":"x"}"#, LogFormat::Plain),
        ("sniff120", br#"{"ts":1.5,"msg":"no zeek key"}"#, LogFormat::Plain),
        ("sniff130", br#"["ts","uid"]"#, LogFormat::Plain),
        ("sniff140", br#"{"ts":1.5,"uid":"#, LogFormat::Plain),
        ("sniff150", b"#fields\tindicator\tindicator_type\n", LogFormat::Plain),
        ("sniff160", b"May 10 sshd[1]: Accepted publickey for root\n", LogFormat::Plain),
        ("sniff170", b"", LogFormat::Plain),
        ("sniff180", b"{\"ts\":1.5,\"uid\":\"C\xff\"}", LogFormat::ZeekJson),
        ("sniff190", b"  \n  {\"ts\":1.5,\"uid\":\"C1\"}", LogFormat::ZeekJson),
    ];
    for &(id, first, want) in rows {
        assert_eq!(LogContext::sniff(first).format(), want, "{id}");
    }
}

/// Attributes a hit on the first `needle` in the last line of `text`, under the context
/// sniffed from the whole text.
fn attribute_last(text: &[u8], needle: &[u8]) -> Attribution {
    let context = LogContext::sniff(text);
    let line = text.split(|&b| b == b'\n').rfind(|line| !line.is_empty()).unwrap();
    let start = memmem::find(line, needle).expect("needle in the last line");
    context.attribute(line, start, start + needle.len())
}

/// `(id, text, needle, field, ts, uid)`.
type AttributeRow<'a> = (&'a str, String, &'a str, Option<&'a str>, Option<i64>, Option<&'a str>);

#[test]
fn attribute_table() {
    let dns = zeek_header("dns", "ts\tuid\tid.orig_h\tid.resp_h\tquery\tanswers");
    let dns_row = |row: &str| format!("{dns}{row}\n");
    let pipe = "#separator \\x7c\n#fields|ts|uid|query\n1.25|C2|p.example\n".to_string();
    let colons = "#separator \\x3a\\x3a\n#fields::ts::uid::query\n1.25::C2::c.example\n".to_string();
    let eve = |body: &str| {
        format!(r#"{{"timestamp":"2017-07-05T20:29:22.580418+0000","flow_id":1805461738637437,{body}}}"#)
    };
    let (t0, f0) = (Some(1_499_286_562_580_418), Some("1805461738637437"));
    #[rustfmt::skip]
    let rows: Vec<AttributeRow> = vec![
        ("zeektsv010", dns_row("1541117142.680642\tCQ6S\t10.0.0.1\t8.8.8.8\tevil.example\t-"), "evil.example", Some("query"), Some(1_541_117_142_680_642), Some("CQ6S")),
        ("zeektsv020", dns_row("1541117142.680642\tCQ6S\t10.0.0.1\t8.8.8.8\tevil.example\t-"), "8.8.8.8", Some("id.resp_h"), Some(1_541_117_142_680_642), Some("CQ6S")),
        ("zeektsv030", dns_row("1.5\tC1\t10.0.0.1\t8.8.8.8\tq.example\ta.example,10.9.9.9"), "10.9.9.9", Some("answers"), Some(1_500_000), Some("C1")),
        ("zeektsv040", dns_row("1.5\tC1\t10.0.0.1\t8.8.8.8\tq.example\t-"), "8.8\tq", None, Some(1_500_000), Some("C1")),
        ("zeektsv050", dns_row("1.5\t-\t10.0.0.1\t8.8.8.8\tq.example\t-"), "q.example", Some("query"), Some(1_500_000), None),
        ("zeektsv060", dns_row("-\t(empty)\t10.0.0.1\t8.8.8.8\tq.example\t-"), "q.example", Some("query"), None, None),
        ("zeektsv070", dns_row("1.5\tC1\t10.0.0.1\t8.8.8.8\tq.example\t-\textra.example"), "extra.example", None, Some(1_500_000), Some("C1")),
        ("zeektsv080", dns_row("1.5\tC1\t10.0.0.1\t8.8.8.8\tq.example\tcr.example\r"), "cr.example", Some("answers"), Some(1_500_000), Some("C1")),
        ("zeektsv090", pipe, "p.example", Some("query"), Some(1_250_000), Some("C2")),
        ("zeektsv100", colons, "c.example", Some("query"), Some(1_250_000), Some("C2")),
        ("zeektsv110", "#separator \\x09\n1.5\tC1\tq.example\n".to_string(), "q.example", None, None, None),
        ("zeektsv120", dns_row("1.5"), "1.5", Some("ts"), Some(1_500_000), None),
        ("zeekjson010", r#"{"ts":1591425407.765563,"uid":"CdCP","id.resp_h":"8.8.8.8","query":"evil.example"}"#.into(), "evil.example", Some("query"), Some(1_591_425_407_765_563), Some("CdCP")),
        ("zeekjson020", r#"{"ts":1591425407.765563,"uid":"CdCP","id.resp_h":"8.8.8.8","query":"evil.example"}"#.into(), "8.8.8.8", Some("id.resp_h"), Some(1_591_425_407_765_563), Some("CdCP")),
        ("zeekjson030", r#"{"ts":1.5,"uid":"C1","query":"q.example","answers":["a.example","10.9.9.9"],"TTLs":[1.0]}"#.into(), "10.9.9.9", Some("answers"), Some(1_500_000), Some("C1")),
        ("zeekjson040", r#"{"ts":"2020-06-06T06:36:39.925532Z","uid":"C1","query":"q.example"}"#.into(), "q.example", Some("query"), Some(1_591_425_399_925_532), Some("C1")),
        ("zeekjson050", r#"{"ts":1.5,"uid":"C1","query":"q.example"}"#.into(), "query", None, Some(1_500_000), Some("C1")),
        ("zeekjson060", "{\"ts\":1,\"uid\":\"C0\"}\n{\"ts\":1.5,\"uid\":\"C1\",\"query\":\"q.example\",\"answ".into(), "q.example", None, Some(1_500_000), Some("C1")),
        ("zeekjson070", r#"{"ts":1.5,"uid":"C1","query":"a\"b.evil.example"}"#.into(), "evil.example", Some("query"), Some(1_500_000), Some("C1")),
        ("zeekjson080", r#"{"ts":1.5,"uid":"C1","id.resp_p":4444}"#.into(), "4444", Some("id.resp_p"), Some(1_500_000), Some("C1")),
        ("zeekjson090", r#"{"ts":1.5,"uid":"C1","id":{"orig_h":"10.0.0.1","resp_h":"10.0.0.2"}}"#.into(), "10.0.0.2", Some("id.resp_h"), Some(1_500_000), Some("C1")),
        ("zeekjson100", r#"{"ts":1.5,"uid":"C1","query":"q.example"}   "#.into(), "   ", None, Some(1_500_000), Some("C1")),
        ("eve010", eve(r#""event_type":"dns","dest_ip":"10.0.2.3","dns":{"type":"query","rrname":"evil.example"}"#), "evil.example", Some("dns.rrname"), t0, f0),
        ("eve020", eve(r#""event_type":"dns","dest_ip":"10.0.2.3","dns":{"type":"query","rrname":"evil.example"}"#), "10.0.2.3", Some("dest_ip"), t0, f0),
        ("eve030", eve(r#""event_type":"http","http":{"hostname":"evil.example","url":"/a"}"#), "evil.example", Some("http.hostname"), t0, f0),
        ("eve040", eve(r#""event_type":"tls","tls":{"sni":"l2.io","version":"TLS 1.2"}"#), "l2.io", Some("tls.sni"), t0, f0),
        ("eve050", eve(r#""event_type":"dns","dns":{"answers":[{"rrname":"q.example","rdata":"10.9.9.9"}]}"#), "10.9.9.9", Some("dns.answers.rdata"), t0, f0),
        ("eve060", eve(r#""event_type":"dns","dns":{"grouped":{"A":["10.9.9.9"]}}"#), "10.9.9.9", Some("dns.grouped.A"), t0, f0),
        ("eve070", r#"{"timestamp":"2018-07-05T15:01:09.820360-0400","event_type":"ssh","src_ip":"192.168.86.85"}"#.into(), "192.168.86.85", Some("src_ip"), Some(1_530_817_269_820_360), None),
        ("eve080", eve(r#""event_type":"alert","alert":{"metadata":{"created_at":["2010_09_23"]}}"#), "2010_09_23", Some("alert.metadata.created_at"), t0, f0),
        ("eve090", format!("{}\n{}", eve(r#""event_type":"dns""#), eve(r#""event_type":"dns","dns":{"rrname":"evil.exa"#)), "evil.exa", None, t0, f0),
        ("eve100", format!("{}\n{}", eve(r#""event_type":"dns""#), eve(r#""event_type":"dns","dns":{"rrname":"evil.example"}"#).replace("2017-07-05T20:29:22.580418+0000", "yesterday")), "evil.example", Some("dns.rrname"), None, f0),
        ("plain010", "May 10 sshd[1]: Accepted for root from 10.0.0.1\n".into(), "10.0.0.1", None, None, None),
        ("plain020", "{\"ts\":1.5,\"msg\":\"10.0.0.1\"}".into(), "10.0.0.1", None, None, None),
    ];
    for (id, text, needle, field, ts, uid) in rows {
        let got = attribute_last(text.as_bytes(), needle.as_bytes());
        let want = Attribution { field: field.map(str::to_owned), ts, uid: uid.map(str::to_owned) };
        assert_eq!(got, want, "{id}");
    }
}

#[test]
fn invalid_utf8_keeps_offsets() {
    // A byte that is not UTF-8 before the hit: the spans must still agree with the line's.
    let line = b"{\"ts\":1.5,\"uid\":\"C1\",\"msg\":\"\xff\xfe\",\"query\":\"q.example\"}";
    let context = LogContext::sniff(br#"{"ts":1.5,"uid":"C1"}"#);
    let start = memmem::find(line, b"q.example").unwrap();
    let got = context.attribute(line, start, start + 9);
    assert_eq!((got.field.as_deref(), got.uid.as_deref()), (Some("query"), Some("C1")));
}

/// `(id, (the text the context is sniffed from, the line), the URL)`.
type UrlRow<'a> = (&'a str, (String, String), Option<&'a [u8]>);

#[test]
fn row_url_table() {
    let http = zeek_header("http", "ts\tuid\tid.resp_h\thost\turi\tuser_agent");
    let conn = zeek_header("conn", "ts\tuid\tid.resp_h");
    let tsv = |header: &str, row: &str| (format!("{header}{row}\n"), row.to_string());
    let json = |line: &str| (line.to_string(), line.to_string());
    let eve = |body: &str| json(&format!(r#"{{"timestamp":"2017-07-05T20:29:22Z",{body}}}"#));
    #[rustfmt::skip]
    let rows: Vec<UrlRow> = vec![
        ("url010", tsv(&http, "1.5\tC1\t10.0.0.2\tevil.example\t/a?x=1\tcurl"), Some(b"evil.example/a?x=1")),
        ("url020", tsv(&http, "1.5\tC1\t10.0.0.2\t-\t/a?x=1\tcurl"), None),
        ("url030", tsv(&http, "1.5\tC1\t10.0.0.2\tevil.example\t(empty)\tcurl"), None),
        ("url040", tsv(&http, "1.5\tC1\t10.0.0.2\tevil.example\t/a\\x09b\\x5c\tcurl"), Some(b"evil.example/a\tb\\")),
        ("url050", tsv(&http, "1.5\tC1\t10.0.0.2\tproxy.example\thttp://evil.example/a\tcurl"), None),
        ("url060", tsv(&http, "1.5\tC1\t10.0.0.2\tevil.example\t/a\r"), Some(b"evil.example/a")),
        ("url070", tsv(&http, "1.5\tC1\t10.0.0.2\tevil.example"), None),
        ("url080", tsv(&conn, "1.5\tC1\t10.0.0.2"), None),
        ("url090", json(r#"{"ts":1.5,"uid":"C1","host":"evil.example","uri":"/a?x=1"}"#), Some(b"evil.example/a?x=1")),
        ("url100", json(r#"{"ts":1.5,"uid":"C1","uri":"/a?x=1"}"#), None),
        ("url110", json(r#"{"ts":1.5,"uid":"C1","host":"evil.example","uri":"/a\\x09b"}"#), Some(b"evil.example/a\tb")),
        ("url120", json(r#"{"ts":1.5,"uid":"C1","host":"evil.example","uri":"/a","uri":"/b"}"#), Some(b"evil.example/a")),
        ("url130", eve(r#""event_type":"http","http":{"hostname":"evil.example","url":"\/a\u0020b"}"#), Some(b"evil.example/a b")),
        ("url140", eve(r#""event_type":"dns","app_proto":"http","dns":{"rrname":"evil.example"}"#), None),
        ("url150", eve(r#""event_type":"http","http":{"hostname":"evil.example"}"#), None),
        ("url160", eve(r#""event_type":"http","http":{"hostname":"","url":"/a"}"#), None),
        ("url170", json("GET evil.example/a HTTP/1.1"), None),
    ];
    for (id, (text, line), want) in rows {
        let context = LogContext::sniff(text.as_bytes());
        let mut out = b"stale".to_vec();
        let found = context.row_url(line.as_bytes(), &mut out);
        assert_eq!(found.then_some(&out[..]), want, "{id}");
        assert!(found || out.is_empty(), "{id}");
    }
    assert_eq!(LogContext::sniff(http.as_bytes()).row_url_field(), "host+uri");
    let eve = br#"{"timestamp":"2017-07-05T20:29:22Z","event_type":"http"}"#;
    assert_eq!(LogContext::sniff(eve).row_url_field(), "http.hostname+http.url");
    assert_eq!(LogContext::default().row_url_field(), "");
}

/// `(id, (format, field) got, (format, field) wanted)`.
type AdvanceRow<'a> = (&'a str, (LogFormat, Option<String>), (LogFormat, Option<&'a str>));

#[test]
fn advance_table() {
    let dns = zeek_header("dns", "ts\tuid\tquery");
    let http = zeek_header("http", "ts\tuid\thost");
    let row = b"1.5\tC1\tq.example";
    // The format, and the field of a hit on `q.example` in `row`, after sniffing `first`
    // and advancing over each of `chunks`.
    let field = |first: &str, chunks: &[&str]| {
        let mut context = LogContext::sniff(first.as_bytes());
        for chunk in chunks {
            context.advance(chunk.as_bytes());
        }
        (context.format(), context.attribute(row, 7, 16).field)
    };
    let rotated = format!("1.5\tC1\tq.example\n#close\t2018\n{http}");
    let more_dns = format!("more text\n{dns}");
    let tsv = LogFormat::ZeekTsv;
    #[rustfmt::skip]
    let rows: Vec<AdvanceRow> = vec![
        ("adv010", field(&dns, &[]), (tsv, Some("query"))),
        ("adv020", field(&dns, &[&rotated]), (tsv, Some("host"))),
        ("adv030", field(&dns, &[&http]), (tsv, Some("host"))),
        ("adv040", field(&dns, &[&http, &http]), (tsv, Some("host"))),
        ("adv050", field(&dns, &[&rotated, &rotated]), (tsv, Some("host"))),
        ("adv060", field(&dns, &["1.5\tC1\tq.example\n#fields\tts\tuid\tother\n"]), (tsv, Some("other"))),
        ("adv070", field(&dns, &["#fields ts uid other\n"]), (tsv, None)),
        ("adv080", field("plain text\n", &[&more_dns]), (tsv, Some("query"))),
        ("adv090", field("plain text\n", &["# a comment\n#fields\tts\tuid\tquery\n"]), (LogFormat::Plain, None)),
        ("adv100", field(&dns, &["1.5\tC1\tq.example\r\n#separator \\x09\r\n#fields\tts\tuid\thost\r\n"]), (tsv, Some("host"))),
        // A new block forgets the old one's `#fields` until it states its own.
        ("adv110", field(&dns, &["#separator \\x09\n#path\tdns\n"]), (tsv, None)),
        ("adv120", field(r#"{"ts":1.5,"uid":"C1"}"#, &["#not a header\n"]), (LogFormat::ZeekJson, None)),
    ];
    for (id, got, (format, want)) in rows {
        assert_eq!(got, (format, want.map(str::to_owned)), "{id}");
    }
}

#[test]
fn is_header_table() {
    let tsv = LogContext::sniff(b"#separator \\x09\n");
    let eve = LogContext::sniff(br#"{"timestamp":"2017-07-05T20:29:22Z","event_type":"http"}"#);
    let plain = LogContext::default();
    let rows: &[(&str, &LogContext, &[u8], bool)] = &[
        ("hdr010", &tsv, b"#fields\tts", true),
        ("hdr020", &tsv, b"#close\t2018-11-01-20-39-49", true),
        ("hdr030", &tsv, b"\xef\xbb\xbf#separator \\x09", true),
        ("hdr040", &tsv, b"1.5\t#not", false),
        ("hdr050", &tsv, b"", false),
        ("hdr060", &eve, b"#fields\tts", false),
        ("hdr070", &plain, b"# comment", false),
    ];
    for &(id, context, line, want) in rows {
        assert_eq!(context.is_header(line), want, "{id}");
    }
}

#[test]
#[should_panic(expected = "outside a line")]
fn attribute_outside_the_line_panics() {
    LogContext::default().attribute(b"abc", 2, 4);
}

#[test]
fn context_is_send_and_sync() {
    // The reader hands each chunk's context to a worker thread.
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<LogContext>();
    shared::<Attribution>();
}
