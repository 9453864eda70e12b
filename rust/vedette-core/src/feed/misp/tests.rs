//! Tests of the parent module, one table row per case.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::*;

const KEEP: ParseOptions =
    ParseOptions { keep_non_ids: true, zeek_domain_as_hostname: false, max_line_bytes: 1 << 20 };

/// Parses with `parser` and renders records as `line:value` (plus ` k=kind`), errors
/// as `line!category`, policy skips as `line~category`.
fn run(parser: Parser, data: &[u8], options: ParseOptions) -> Vec<String> {
    let mut out = Vec::new();
    parser(data, "t", &options, &mut |r| {
        out.push(match r {
            Ok(r) => match r.kind {
                Some(k) => format!("{}:{} k={k}", r.line, r.value),
                None => format!("{}:{}", r.line, r.value),
            },
            Err(e) => {
                let mark = if e.is_policy_skip() { '~' } else { '!' };
                format!("{}{mark}{}", e.line().map_or(0, |l| l), e.category())
            }
        });
        Ok(())
    })
    .unwrap();
    out
}

type Parser = for<'a> fn(&'a [u8], &str, &ParseOptions, Sink<'_, 'a>) -> Result<(), FeedError>;

fn event(attributes: Value) -> Vec<u8> {
    let event =
        json!({"Event": {"uuid": "ev", "info": "Info", "Orgc": {"name": "Org"}, "Attribute": attributes}});
    event.to_string().into_bytes()
}

#[test]
fn misp_types_table() {
    #[rustfmt::skip]
    let rows: &[(&str, &str, &str, &[&str])] = &[
        ("ip010", "ip-src", "1.2.3.4", &["1:1.2.3.4 k=ipv4"]),
        ("ip020", "ip-dst", "2001:db8::1", &["1:2001:db8::1 k=ipv6"]),
        ("ip030", "ip-dst", "evil.example", &["1:evil.example k=ipv4"]),
        ("ip040", "ip-dst", "::ffff:1.2.3.4", &["1:::ffff:1.2.3.4 k=ipv6"]),
        ("port010", "ip-src|port", "1.2.3.4|443", &["1:1.2.3.4 k=ipv4"]),
        ("port020", "ip-dst|port", "2001:db8::1|443", &["1:2001:db8::1 k=ipv6"]),
        ("port030", "hostname|port", "a.evil.example|8080", &["1:a.evil.example k=hostname"]),
        ("port040", "ip-dst|port", "1.2.3.4", &["1!bad composite value"]),
        ("domain010", "domain", "evil.example", &["1:evil.example k=domain"]),
        ("domain020", "hostname", "a.evil.example", &["1:a.evil.example k=hostname"]),
        ("domain030", "domain|ip", "evil.example|1.2.3.4", &["1:evil.example k=domain", "1:1.2.3.4 k=ipv4"]),
        ("domain040", "domain|ip", "|1.2.3.4", &["1!empty value", "1:1.2.3.4 k=ipv4"]),
        ("domain050", "domain", "  evil.example ", &["1:evil.example k=domain"]),
        ("url010", "url", "http://evil.example/a|b", &["1:http://evil.example/a|b k=url"]),
        ("string010", "uri", "/admin.php", &["1:/admin.php k=string"]),
        ("string020", "filename", "a.exe", &["1:a.exe k=string"]),
        ("string030", "user-agent", "Mozilla/5.0 (X)", &["1:Mozilla/5.0 (X) k=string"]),
        ("string040", "mutex", "Global\\m", &["1:Global\\m k=string"]),
        ("email010", "email", "a@e.example", &["1:a@e.example k=email"]),
        ("email020", "email-src", "a@e.example", &["1:a@e.example k=email"]),
        ("email030", "email-dst", "a@e.example", &["1:a@e.example k=email"]),
        ("email040", "email-reply-to", "a@e.example", &["1:a@e.example k=email"]),
        ("hash010", "md5", "h", &["1:h k=md5"]),
        ("hash020", "sha1", "h", &["1:h k=sha1"]),
        ("hash030", "sha224", "h", &["1:h k=sha224"]),
        ("hash040", "sha256", "h", &["1:h k=sha256"]),
        ("hash050", "sha384", "h", &["1:h k=sha384"]),
        ("hash060", "sha512", "h", &["1:h k=sha512"]),
        ("fhash010", "filename|md5", "a.exe|h", &["1:a.exe k=string", "1:h k=md5"]),
        ("fhash020", "filename|sha1", "a|h", &["1:a k=string", "1:h k=sha1"]),
        ("fhash030", "filename|sha224", "a|h", &["1:a k=string", "1:h k=sha224"]),
        ("fhash040", "filename|sha256", "a|h", &["1:a k=string", "1:h k=sha256"]),
        ("fhash050", "filename|sha384", "a|h", &["1:a k=string", "1:h k=sha384"]),
        ("fhash060", "filename|sha512", "a|h", &["1:a k=string", "1:h k=sha512"]),
        ("fhash070", "filename|sha1", "a b.doc | h ", &["1:a b.doc k=string", "1:h k=sha1"]),
        ("unsupported010", "text", "x", &["1!unsupported type: text"]),
        ("unsupported020", "comment", "x", &["1!unsupported type: comment"]),
        ("unsupported030", "link", "https://x.example", &["1!unsupported type: link"]),
        ("unsupported040", "yara", "rule x {}", &["1!unsupported type: yara"]),
        ("unsupported050", "snort", "alert", &["1!unsupported type: snort"]),
        ("unsupported060", "sigma", "x", &["1!unsupported type: sigma"]),
        ("unsupported070", "pattern-in-file", "x", &["1!unsupported type: pattern-in-file"]),
        ("unsupported080", "filename|ssdeep", "a|3:x", &["1!unsupported type: filename|ssdeep"]),
        ("unsupported090", "Domain", "evil.example", &["1!unsupported type: Domain"]),
        ("empty010", "domain", "", &["1!empty value"]),
        ("empty020", "", "x", &["1!empty type"]),
    ];
    for &(id, kind, value, want) in rows {
        let data = event(json!([{"uuid": "u", "type": kind, "value": value, "to_ids": true}]));
        assert_eq!(run(parse, &data, ParseOptions::default()), want, "{id}");
    }
}

#[test]
fn to_ids_table() {
    #[rustfmt::skip]
    let rows: &[(&str, Value, ParseOptions, &[&str])] = &[
        ("ids010", json!({"to_ids": true}), ParseOptions::default(), &["1:a.example k=domain"]),
        ("ids020", json!({"to_ids": false}), ParseOptions::default(), &["1~to_ids false"]),
        ("ids030", json!({"to_ids": "0"}), ParseOptions::default(), &["1~to_ids false"]),
        ("ids040", json!({"to_ids": "1"}), ParseOptions::default(), &["1:a.example k=domain"]),
        ("ids050", json!({"to_ids": 0}), ParseOptions::default(), &["1~to_ids false"]),
        ("ids060", json!({"to_ids": "False"}), ParseOptions::default(), &["1~to_ids false"]),
        ("ids070", json!({}), ParseOptions::default(), &["1:a.example k=domain"]),
        ("ids080", json!({"to_ids": null}), ParseOptions::default(), &["1:a.example k=domain"]),
        ("ids090", json!({"to_ids": false}), KEEP, &["1:a.example k=domain"]),
        // Policy first: a context attribute is a skip, not an unsupported type.
        ("ids100", json!({"to_ids": false, "type": "text"}), ParseOptions::default(), &["1~to_ids false"]),
        ("ids110", json!({"to_ids": false, "type": "text"}), KEEP, &["1!unsupported type: text"]),
        ("deleted010", json!({"deleted": true}), KEEP, &["1~deleted"]),
        ("deleted020", json!({"deleted": "0"}), ParseOptions::default(), &["1:a.example k=domain"]),
    ];
    for (id, fields, options, want) in rows {
        let mut attr = json!({"uuid": "u", "type": "domain", "value": "a.example"});
        attr.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        assert_eq!(run(parse, &event(json!([attr])), *options), *want, "{id}");
    }
}

#[test]
fn structure_table() {
    let a = |uuid: &str, value: &str| json!({"uuid": uuid, "type": "domain", "value": value});
    let objects = json!({"Event": {"Attribute": [a("1", "a.example")], "Object": [
        {"name": "domain-ip", "Attribute": [a("2", "b.example"), a("3", "c.example")]},
        {"name": "file", "deleted": true, "Attribute": [a("4", "d.example")]},
        {"name": "empty"},
    ]}});
    let response = json!({"response": [
        {"Event": {"Attribute": [a("1", "a.example")]}},
        {"Event": {"Attribute": [a("2", "b.example")]}},
    ]});
    #[rustfmt::skip]
    let rows: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("shape010", json!({"Attribute": [a("1", "a.example")]}).to_string().into(), &["1:a.example k=domain"]),
        ("shape020", response.to_string().into(), &["1:a.example k=domain", "2:b.example k=domain"]),
        ("shape030", json!([{"Event": {"Attribute": [a("1", "a.example")]}}]).to_string().into(), &["1:a.example k=domain"]),
        ("shape040", json!({"response": {"Attribute": [a("1", "a.example")]}}).to_string().into(), &["1:a.example k=domain"]),
        ("shape050", b"\xef\xbb\xbf {\"Event\": {\"info\": \"x\"}}\n".to_vec(), &[]),
        ("object010", objects.to_string().into(), &["1:a.example k=domain", "2:b.example k=domain", "3:c.example k=domain", "4~deleted"]),
        ("object020", json!({"Event": {"deleted": true, "Attribute": [a("1", "a.example")]}}).to_string().into(), &["1~deleted"]),
        ("bad010", b"{\"Event\": \n{".to_vec(), &["2!invalid json"]),
        ("bad020", b"{\"name\": \"warninglist\"}".to_vec(), &["0!not a misp event"]),
        ("bad030", json!({"0f-1": {"info": "x", "Orgc": {}}}).to_string().into(), &["0!not a misp event"]),
        ("bad040", json!({"Attribute": [1, a("2", "b.example")]}).to_string().into(), &["1!bad attribute", "2:b.example k=domain"]),
        ("bad050", b"\"x\"".to_vec(), &["0!not a misp event"]),
    ];
    for (id, data, want) in &rows {
        assert_eq!(run(parse, data, ParseOptions::default()), *want, "{id}");
    }
}

/// Every metadata rule on one attribute at a time.
#[test]
fn meta_table() {
    let meta_of = |event: Value| -> Result<Meta, String> {
        let mut got = Vec::new();
        parse(event.to_string().as_bytes(), "t", &KEEP, &mut |r| {
            got.push(r.map(|r| r.meta).map_err(|e| e.to_string()));
            Ok(())
        })
        .unwrap();
        got.remove(0)
    };
    let with = |event: Value, attr: Value| {
        let mut event = event;
        let mut full = json!({"uuid": "au", "type": "domain", "value": "a.example", "to_ids": true});
        full.as_object_mut().unwrap().extend(attr.as_object().unwrap().clone());
        event["Attribute"] = json!([full]);
        meta_of(json!({ "Event": event }))
    };
    let base = json!({"uuid": "eu", "info": "Info", "Orgc": {"name": "Creator"}, "Org": {"name": "Owner"},
        "Tag": [{"name": "apt"}, {"name": "tlp:amber"}, {"name": "TLP:GREEN"}, {"name": "tlp:ex:chr"}]});
    let m = with(base.clone(), json!({"comment": "c2", "Tag": [{"name": "apt"}, {"name": "c2"}]})).unwrap();
    assert_eq!(m.source.as_deref(), Some("Creator"), "meta010");
    assert_eq!(m.reference.as_deref(), Some("au"), "meta020");
    assert_eq!(m.description.as_deref(), Some("c2"), "meta030");
    assert_eq!(m.tlp, Some(Tlp::Amber), "meta040");
    assert_eq!(m.tags, ["apt", "tlp:ex:chr", "c2"], "meta050");
    assert_eq!((m.valid_from, m.valid_until, m.confidence), (None, None, None), "meta060");

    let m =
        with(json!({"uuid": "eu", "info": "Info", "Org": {"name": "Owner"}}), json!({"uuid": null})).unwrap();
    assert_eq!((m.source.as_deref(), m.reference.as_deref()), (Some("Owner"), Some("eu")), "meta070");
    assert_eq!((m.description.as_deref(), m.tlp), (Some("Info"), None), "meta080");
    let m = with(json!({}), json!({"uuid": "", "comment": " "})).unwrap();
    assert_eq!((m.source.as_deref(), m.reference, m.description), (Some("misp"), None, None), "meta090");

    let tlp = |tags: Value| with(json!({}), json!({"Tag": tags})).unwrap().tlp;
    assert_eq!(tlp(json!([{"name": "tlp:white"}])), Some(Tlp::Clear), "tlp010");
    assert_eq!(tlp(json!([{"name": "tlp:red"}, {"name": "tlp:clear"}])), Some(Tlp::Red), "tlp020");
    assert_eq!(
        tlp(json!([{"name": "TLP:AMBER+STRICT"}, {"name": "tlp:amber"}])),
        Some(Tlp::AmberStrict),
        "tlp030"
    );
    assert_eq!(tlp(json!(["tlp:green"])), Some(Tlp::Green), "tlp040");

    let times = json!({"timestamp": "1713261600", "first_seen": "2024-04-16T10:00:00.000000+00:00",
        "last_seen": "2024-04-17T10:00:00.500000+02:00"});
    let m = with(json!({}), times).unwrap();
    assert_eq!(m.valid_from, Some(1_713_261_600_000_000), "time010");
    assert_eq!(m.valid_until, None, "time020");
    assert_eq!(
        m.tags,
        [
            "misp:timestamp=2024-04-16T10:00:00Z",
            "misp:first_seen=2024-04-16T10:00:00Z",
            "misp:last_seen=2024-04-17T08:00:00.500000Z"
        ],
        "time030"
    );
    let err = with(json!({}), json!({"first_seen": "soon"})).unwrap_err();
    assert_eq!(err, "t:1: attribute au: first_seen \"soon\" is not a time", "time040");
    let m = with(json!({}), json!({"to_ids": false, "timestamp": 0})).unwrap();
    assert_eq!(m.tags, ["misp:timestamp=1970-01-01T00:00:00Z", "misp:to_ids=false"], "time050");
}

#[test]
fn rfc3339_table() {
    let rows: &[(&str, i64, &str)] = &[
        ("iso010", 0, "1970-01-01T00:00:00Z"),
        ("iso020", 1_713_261_600_000_000, "2024-04-16T10:00:00Z"),
        ("iso030", 951_782_400_000_001, "2000-02-29T00:00:00.000001Z"),
        ("iso040", -1, "1969-12-31T23:59:59.999999Z"),
        ("iso050", 253_402_300_799_000_000, "9999-12-31T23:59:59Z"),
    ];
    for &(id, micros, want) in rows {
        assert_eq!(format_rfc3339(micros), want, "{id}");
    }
    let _ = format_rfc3339(i64::MIN); // no panic
    let _ = format_rfc3339(i64::MAX);
}

const CSV_HEADER: &str = "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category\n";

#[test]
fn csv_table() {
    #[rustfmt::skip]
    let rows: &[(&str, &[u8], &[&str])] = &[
        ("csv010", b"\"u1\",7,\"Network activity\",\"domain\",\"evil.example\",\"\",1,1713261600,\"\",\"\",\"\",\"\",\"\"\n", &["2:evil.example k=domain"]),
        ("csv020", b"\"u1\",7,\"x\",\"domain|ip\",\"evil.example|1.2.3.4\",\"\",1,1,\"\",\"\",\"\",\"\",\"\"\n", &["2:evil.example k=domain", "2:1.2.3.4 k=ipv4"]),
        ("csv030", b"\"u1\",7,\"x\",\"domain\",\"a.example\",\"\",0,1,\"\",\"\",\"\",\"\",\"\"\n", &["2~to_ids false"]),
        ("csv040", b"\"u1\",7,\"x\",\"text\",\"hello\",\"\",1,1,\"\",\"\",\"\",\"\",\"\"\n", &["2!unsupported type: text"]),
        ("csv050", b"\"u1\",7,\"x\",\"md5\",\"h\",\"two\nlines\",1,1,\"\",\"\",\"\",\"\",\"\"\n\"u2\",7,\"x\",\"sha1\",\"h\",\"\",1,1\n", &["2:h k=md5", "4:h k=sha1"]),
        ("csv060", b"\"u1\",7,\"x\",\"url\",\"http://a.example/\",\"\",1,1\r\n\r\n\"u2\",7,\"x\",\"url\",\"http://b.example/\",\"\",1,1\r\n", &["2:http://a.example/ k=url", "4:http://b.example/ k=url"]),
        ("csv070", b"\"u1\",7,\"x\",\"domain\",\"\xff.example\",\"\",1,1\n\"u2\",7,\"x\",\"domain\",\"b.example\",\"\",1,1\n", &["2!invalid utf-8", "3:b.example k=domain"]),
        ("csv080", b"\"u1\",7,\"x\",\"domain\",\"a.example\",\"\",1,\"yesterday\"\n", &["2!bad timestamp"]),
        ("csv090", b"\"u1\",7,\"x\",\"domain\",\"a.example\"\n", &["2:a.example k=domain"]),
    ];
    for &(id, body, want) in rows {
        let data = [CSV_HEADER.as_bytes(), body].concat();
        assert_eq!(run(parse_csv, &data, ParseOptions::default()), want, "{id}");
    }
    let bom = format!("\u{feff}\n{CSV_HEADER}\"u\",1,\"x\",\"domain\",\"a.example\",\"\",1,1\n");
    assert_eq!(run(parse_csv, bom.as_bytes(), ParseOptions::default()), ["3:a.example k=domain"], "csv100");
    let headerless = "\"u\",1,\"x\",\"domain\",\"a.example\",\"\",1,1\n";
    assert_eq!(
        run(parse_csv, headerless.as_bytes(), ParseOptions::default()),
        ["1!missing misp csv header"],
        "csv110"
    );
    assert_eq!(run(parse_csv, b"", ParseOptions::default()), Vec::<String>::new(), "csv120");
}

#[test]
fn csv_meta() {
    let data = "uuid,type,value,comment,to_ids,date,attribute_tag,event_info,event_source_org,event_member_org,event_tag,first_seen\n\
        \"u1\",\"domain\",\"a.example\",\"\",0,20190128,\"c2, TLP:RED\",\"Op X\",\"ESET\",\"Owner\",\"tlp:green,apt\",\"2024-04-16\"\n\
        \"u2\",\"domain\",\"b.example\",\"note\",1,1713261600,\"\",\"\",\"\",\"Owner\",\"\",\"\"\n";
    let mut got = Vec::new();
    parse_csv(data.as_bytes(), "t.csv", &KEEP, &mut |r| {
        got.push(r.unwrap().meta);
        Ok(())
    })
    .unwrap();
    let m = &got[0];
    assert_eq!(
        (m.source.as_deref(), m.reference.as_deref(), m.description.as_deref()),
        (Some("ESET"), Some("u1"), Some("Op X"))
    );
    assert_eq!((m.tlp, m.valid_from), (Some(Tlp::Red), Some(1_713_225_600_000_000)));
    let tags = [
        "apt",
        "c2",
        "misp:timestamp=2019-01-28T00:00:00Z",
        "misp:first_seen=2024-04-16T00:00:00Z",
        "misp:to_ids=false",
    ];
    assert_eq!(m.tags, tags);
    let m = &got[1];
    assert_eq!((m.source.as_deref(), m.description.as_deref(), m.tlp), (Some("Owner"), Some("note"), None));
    assert_eq!(m.tags, ["misp:timestamp=2024-04-16T10:00:00Z"]);
}

#[test]
fn sniff_table() {
    #[rustfmt::skip]
    let json_rows: &[(&str, &[u8], bool)] = &[
        ("json010", b"{\"Event\": {\"uuid\": \"x\"}}", true),
        ("json020", b"\xef\xbb\xbf\n  {\"response\":[{\"Event\" :{", true),
        ("json030", b"{\"uuid\": \"x\", \"info\": \"y\", \"Attribute\": []}", true),
        ("json040", b"{\"0f\": {\"info\": \"y\", \"Orgc\": {\"name\": \"TweetFeed\"}}}", true),
        ("json050", b"{\"type\": \"bundle\", \"objects\": [{\"description\": \"an \\\"Event\\\" here\"}]}", false),
        ("json060", b"{\"description\": \"x\", \"list\": [\"1.2.3.4\"], \"type\": \"cidr\"}", false),
        ("json070", b"evil.example\n", false),
        ("json080", b"# {\"Event\": 1}", false),
    ];
    for &(id, input, want) in json_rows {
        assert_eq!(looks_like(input), want, "{id}");
    }
    #[rustfmt::skip]
    let csv_rows: &[(&str, &[u8], bool)] = &[
        ("mcsv010", CSV_HEADER.as_bytes(), true),
        ("mcsv020", b"\xef\xbb\xbf\r\n\"Type\",\"VALUE\",\"to_ids\"\r\n", true),
        ("mcsv030", b"type,value,event_id\n", true),
        ("mcsv040", b"type,value\n", false),
        ("mcsv050", b"value,to_ids\n", false),
        ("mcsv060", b"", false),
    ];
    for &(id, input, want) in csv_rows {
        assert_eq!(looks_like_csv(input), want, "{id}");
    }
}

#[test]
fn sink_error_stops_the_parse() {
    // Stopped at the second record: the third (the ip part, the next row) never comes.
    let row = b"\"u\",1,\"x\",\"domain|ip\",\"a.example|1.2.3.4\",\"\",1,1\n";
    let csv = [CSV_HEADER.as_bytes(), row, row].concat();
    let json =
        event(json!([{"type": "text", "value": "x"}, {"type": "domain|ip", "value": "a.example|1.2.3.4"}]));
    for (parser, data) in [(parse as Parser, json), (parse_csv, csv)] {
        let (mut seen, stop) = (0, FeedError::new("f", None, "stop", "stop"));
        let result = parser(&data, "t", &ParseOptions::default(), &mut |_| {
            seen += 1;
            if seen == 2 {
                Err(stop.clone())
            } else {
                Ok(())
            }
        });
        assert_eq!((result, seen), (Err(stop), 2));
    }
}

#[test]
fn manifest_table() {
    let ok = manifest_event_files(br#"{"b-2": {"info": "x"}, "a-1": {"info": "y"}}"#);
    assert_eq!(ok, Ok(vec![Ok("a-1.json".to_string()), Ok("b-2.json".to_string())]));
    assert_eq!(manifest_event_files(b"{}"), Ok(vec![]));
    // A bad key costs its own event only.
    let one_bad = manifest_event_files(br#"{"../etc/passwd": {}, "a-1": {}}"#).unwrap();
    assert_eq!(one_bad[0], Err("manifest key \"../etc/passwd\" is not an event uuid".to_string()));
    assert_eq!(one_bad[1], Ok("a-1.json".to_string()));
    assert!(manifest_event_files(b"[]").unwrap_err().contains("not a json object"));
    assert!(manifest_event_files(b"{").unwrap_err().starts_with("invalid manifest json"));
}

/// What the real events should give, counted straight from the JSON with a mapping
/// written here again: kinds by name per record, and skip/error categories.
fn independent_count(root: &Value, keep_non_ids: bool) -> BTreeMap<String, usize> {
    const HASHES: [&str; 6] = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];
    let kinds = |t: &str| -> Option<Vec<String>> {
        let names: &[&str] = match t {
            "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => &["ip"],
            "domain" => &["domain"],
            "hostname" | "hostname|port" => &["hostname"],
            "domain|ip" => &["domain", "ip"],
            "url" => &["url"],
            "uri" | "filename" | "user-agent" | "mutex" => &["string"],
            "email" | "email-src" | "email-dst" | "email-reply-to" => &["email"],
            _ if HASHES.contains(&t) => &[t],
            _ => match t.strip_prefix("filename|") {
                Some(h) if HASHES.contains(&h) => &["string", h],
                _ => return None,
            },
        };
        Some(names.iter().map(|n| n.to_string()).collect())
    };
    let mut counts = BTreeMap::new();
    let events: Vec<&Value> = match root.get("response") {
        Some(list) => list.as_array().unwrap().iter().map(|e| &e["Event"]).collect(),
        None => vec![&root["Event"]],
    };
    for event in events {
        let mut attributes: Vec<&Value> = event["Attribute"].as_array().unwrap().iter().collect();
        for object in event.get("Object").and_then(Value::as_array).into_iter().flatten() {
            attributes.extend(object["Attribute"].as_array().unwrap());
        }
        for a in attributes {
            let t = a["type"].as_str().unwrap();
            let names = if a["to_ids"] == json!(false) && !keep_non_ids {
                vec!["~to_ids false".to_string()]
            } else {
                kinds(t).unwrap_or_else(|| vec![format!("!unsupported type: {t}")])
            };
            for name in names {
                *counts.entry(name).or_default() += 1;
            }
        }
    }
    counts
}

fn parser_count(data: &[u8], options: &ParseOptions) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    parse(data, "real", options, &mut |r| {
        let name = match r {
            Ok(r) => match r.kind {
                Some(Kind::Ipv4 | Kind::Ipv6) | None => "ip".to_string(),
                Some(k) => k.to_string(),
            },
            Err(e) if e.is_policy_skip() => format!("~{}", e.category()),
            Err(e) => format!("!{}", e.category()),
        };
        *counts.entry(name).or_default() += 1;
        Ok(())
    })
    .unwrap();
    counts
}

#[test]
fn real_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/misp");
    if !root.is_dir() {
        eprintln!("skipping: {} not found", root.display());
        return;
    }
    let feed = root.join("tweetfeed-feed");
    let listed = manifest_event_files(&std::fs::read(feed.join("manifest.json")).unwrap()).unwrap();
    let listed: Vec<String> = listed.into_iter().map(Result::unwrap).collect();
    let present: Vec<&String> = listed.iter().filter(|f| feed.join(f).is_file()).collect();
    eprintln!("tweetfeed manifest: {} events listed, {} on disk", listed.len(), present.len());
    let mut files: Vec<_> = present.iter().map(|f| feed.join(f)).collect();
    files.extend(std::fs::read_dir(root.join("eset-events")).unwrap().map(|e| e.unwrap().path()));
    let mut totals: [BTreeMap<String, usize>; 2] = Default::default();
    for path in files {
        let data = std::fs::read(&path).unwrap();
        assert!(looks_like(&data), "{}", path.display());
        let value: Value = serde_json::from_slice(&data).unwrap();
        for (i, options) in [ParseOptions::default(), KEEP].iter().enumerate() {
            let got = parser_count(&data, options);
            assert_eq!(
                got,
                independent_count(&value, options.keep_non_ids),
                "{} {options:?}",
                path.display()
            );
            for (k, v) in got {
                *totals[i].entry(k).or_default() += v;
            }
        }
    }
    eprintln!("default: {:?}\nkeep_non_ids: {:?}", totals[0], totals[1]);
}

#[test]
fn deleted_attributes_are_noted_by_ref() {
    // The ref a deleted attribute's records would have had: its uuid, else the event's.
    let event = json!({"Event": {"uuid": "ev", "Attribute": [
        {"uuid": "a1", "type": "domain", "value": "a.example", "deleted": true},
        {"type": "domain", "value": "b.example", "deleted": true},
        {"uuid": "a3", "type": "domain", "value": "c.example"},
    ]}});
    let mut noted = Vec::new();
    let mut sink = |_: super::ParsedRecord<'_>| Ok(());
    let mut notices = |n: super::Notice<'_>| noted.push(format!("{n:?}"));
    super::parse_noting(event.to_string().as_bytes(), "t", &KEEP, &mut sink, &mut notices).unwrap();
    assert_eq!(noted, [r#"Deleted { reference: "a1" }"#, r#"Deleted { reference: "ev" }"#]);
    let csv = "uuid,type,value,to_ids,deleted\nc1,domain,a.example,1,1\nc2,domain,b.example,1,0\n";
    noted.clear();
    let mut notices = |n: super::Notice<'_>| noted.push(format!("{n:?}"));
    super::parse_csv_noting(csv.as_bytes(), "t.csv", &KEEP, &mut sink, &mut notices).unwrap();
    assert_eq!(noted, [r#"Deleted { reference: "c1" }"#]);
}
