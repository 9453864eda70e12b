//! Tests of the parent module, one table row per case.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

/// Parses `data` and renders each record as `line:value` plus `k=` kind, `s=` source,
/// `r=` reference, `d=` description; each error as `line!category`.
fn render(data: &[u8], options: ParseOptions) -> Vec<String> {
    let mut out = Vec::new();
    parse(data, "t.intel", &options, &mut |r| {
        out.push(match r {
            Err(e) => format!("{}!{}", e.line().unwrap(), e.category()),
            Ok(r) => {
                let (m, kind) = (&r.meta, r.kind.map(|k| k.to_string()));
                let fields = [("k", &kind), ("s", &m.source), ("r", &m.reference), ("d", &m.description)];
                let set = fields.iter().filter_map(|(key, v)| Some(format!(" {key}={}", v.as_ref()?)));
                format!("{}:{}{}", r.line, r.value, set.collect::<String>())
            }
        });
        Ok(())
    })
    .unwrap();
    out
}

const H: &str = "#fields\tindicator\tindicator_type\tmeta.source\n";

/// `H` plus one data line per `(indicator, type)`, source `s`.
fn file(rows: &[(&str, &str)]) -> String {
    let mut out = H.to_string();
    for (value, kind) in rows {
        out.push_str(&format!("{value}\t{kind}\ts\n"));
    }
    out
}

#[test]
fn zeek_types_table() {
    const MD5: &str = "0c2674c3a97c53082187d930efb645c2";
    let sha1 = "a".repeat(40);
    let sha256 = "b".repeat(64);
    let sha512 = "c".repeat(128);
    #[rustfmt::skip]
    let rows: Vec<(&str, String, String)> = vec![
        ("addr010", file(&[("1.2.3.4", "Intel::ADDR")]), "2:1.2.3.4 k=ipv4 s=s".into()),
        ("addr020", file(&[("2001:db8::1", "Intel::ADDR")]), "2:2001:db8::1 k=ipv6 s=s".into()),
        ("subnet010", file(&[("10.0.0.0/8", "Intel::SUBNET")]), "2:10.0.0.0/8 k=ipv4 s=s".into()),
        ("subnet020", file(&[("2001:db8::/32", "Intel::SUBNET")]), "2:2001:db8::/32 k=ipv6 s=s".into()),
        // A domain filed as ADDR stays an ipv4 (the builder refuses it), not a domain.
        ("addr030", file(&[("evil.example", "Intel::ADDR")]), "2:evil.example k=ipv4 s=s".into()),
        ("domain010", file(&[("evil.example", "Intel::DOMAIN")]), "2:evil.example k=domain s=s".into()),
        ("url010", file(&[("evil.example/a?b", "Intel::URL")]), "2:evil.example/a?b k=url s=s".into()),
        ("email010", file(&[("a@evil.example", "Intel::EMAIL")]), "2:a@evil.example k=email s=s".into()),
        ("hash010", file(&[(MD5, "Intel::FILE_HASH")]), format!("2:{MD5} k=md5 s=s")),
        ("hash020", file(&[(&sha1, "Intel::FILE_HASH")]), format!("2:{sha1} k=sha1 s=s")),
        ("hash030", file(&[(&sha256, "Intel::FILE_HASH")]), format!("2:{sha256} k=sha256 s=s")),
        ("hash040", file(&[(&sha512, "Intel::FILE_HASH")]), format!("2:{sha512} k=sha512 s=s")),
        ("hash050", file(&[(&sha1, "Intel::CERT_HASH")]), format!("2:{sha1} k=sha1 s=s")),
        ("hash060", file(&[("abc", "Intel::FILE_HASH")]), "2!bad hash length".into()),
        ("hash070", file(&[(&sha1[1..], "Intel::CERT_HASH")]), "2!bad hash length".into()),
        ("string010", file(&[("evil.exe", "Intel::FILE_NAME")]), "2:evil.exe k=string s=s".into()),
        ("string020", file(&[("Mozilla/5.0 (X)", "Intel::SOFTWARE")]), "2:Mozilla/5.0 (X) k=string s=s".into()),
        ("string030", file(&[("root", "Intel::USER_NAME")]), "2:root k=string s=s".into()),
        ("unsupported010", file(&[("ab12", "Intel::PUBKEY_HASH")]), "2!unsupported type".into()),
        ("unsupported020", file(&[("771,4865", "Intel::JA3")]), "2!unsupported type".into()),
        ("unsupported030", file(&[("1.2.3.4", "ADDR")]), "2!unsupported type".into()),
    ];
    for (id, input, want) in &rows {
        let got = render(input.as_bytes(), ParseOptions::default());
        assert_eq!(got, [want.as_str()], "{id}");
    }
    let hostname = ParseOptions { zeek_domain_as_hostname: true, ..ParseOptions::default() };
    let got = render(file(&[("evil.example", "Intel::DOMAIN")]).as_bytes(), hostname);
    assert_eq!(got, ["2:evil.example k=hostname s=s"], "domain020");
}

#[test]
fn zeek_lines_table() {
    #[rustfmt::skip]
    let rows: &[(&str, &[u8], &[&str])] = &[
        ("meta010", b"#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\tmeta.desc\tmeta.url\n1.2.3.4\tIntel::ADDR\tCPS\tF\tC2 panel\thttps://r.example/1\n",
            &["2:1.2.3.4 k=ipv4 s=CPS r=https://r.example/1 d=C2 panel"]),
        // Null markers, in any column we read.
        ("null010", b"#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n1.2.3.4\tIntel::ADDR\t-\t(empty)\n", &["2:1.2.3.4 k=ipv4"]),
        ("null020", b"#fields\tindicator\tindicator_type\tmeta.desc\n-\tIntel::ADDR\tx\n(empty)\tIntel::ADDR\tx\n", &["2!empty value", "3!empty value"]),
        ("null030", b"#fields\tindicator\tindicator_type\n1.2.3.4\t-\n", &["2!empty type"]),
        ("null040", b"#unset_field\tNULL\n#fields\tindicator\tindicator_type\tmeta.desc\n1.2.3.4\tIntel::ADDR\tNULL\n1.2.3.5\tIntel::ADDR\t-\n", &["3:1.2.3.4 k=ipv4", "4:1.2.3.5 k=ipv4 d=-"]),
        // Escapes: `\x09` is a tab in the value, `\x2d` a literal `-`.
        ("escape010", b"#fields\tindicator\tindicator_type\tmeta.desc\n1.2.3.4\tIntel::ADDR\ta\\x09b\\x5cc\n", &["2:1.2.3.4 k=ipv4 d=a\tb\\c"]),
        ("escape020", b"#fields\tindicator\tindicator_type\tmeta.desc\n1.2.3.4\tIntel::ADDR\t\\x2d\n", &["2:1.2.3.4 k=ipv4 d=-"]),
        ("escape030", b"#fields\tindicator\tindicator_type\tmeta.desc\n1.2.3.4\tIntel::ADDR\t\\xzz \\x4\n", &["2:1.2.3.4 k=ipv4 d=\\xzz \\x4"]),
        ("escape040", b"#fields\tindicator\tindicator_type\tmeta.desc\n1.2.3.4\tIntel::ADDR\t\\xc3\\xa9\n", &["2:1.2.3.4 k=ipv4 d=é"]),
        ("escape050", b"#fields\tindicator\tindicator_type\tmeta.desc\n1.2.3.4\tIntel::ADDR\t\\xff\n", &["2!invalid utf-8"]),
        // A new `#fields` line re-maps the columns for the lines after it.
        ("header010", b"#fields\tindicator\tindicator_type\n1.2.3.4\tIntel::ADDR\n#close\n#fields\tmeta.source\tindicator_type\tindicator\nX\tIntel::DOMAIN\tevil.example\n",
            &["2:1.2.3.4 k=ipv4", "5:evil.example k=domain s=X"]),
        ("header020", b"1.2.3.4\tIntel::ADDR\n#fields\tindicator\tindicator_type\n1.2.3.5\tIntel::ADDR\n", &["1!missing fields header", "3:1.2.3.5 k=ipv4"]),
        ("header030", b"#fields\tindicator\tmeta.source\n1.2.3.4\tx\n", &["1!bad fields header", "2!missing fields header"]),
        ("header040", b"#fields indicator indicator_type\n1.2.3.4 Intel::ADDR\n", &["1!bad fields header", "2!missing fields header"]),
        ("header050", b"#fields\tindicator\tindicator_type\n1.2.3.4\tIntel::ADDR\n#fields\tindicator\n1.2.3.5\tIntel::ADDR\n", &["2:1.2.3.4 k=ipv4", "3!bad fields header", "4!missing fields header"]),
        ("separator010", b"#separator \\x2c\n#fields,indicator,indicator_type,meta.desc\n1.2.3.4,Intel::ADDR,a\\x2cb\n", &["3:1.2.3.4 k=ipv4 d=a,b"]),
        ("separator020", b"#separator \\x7c\\x7c\n#fields||indicator||indicator_type\n1.2.3.4||Intel::ADDR\n", &["3:1.2.3.4 k=ipv4"]),
        ("separator030", b"#separator \n#fields\tindicator\tindicator_type\n1.2.3.4\tIntel::ADDR\n", &["1!bad separator", "3:1.2.3.4 k=ipv4"]),
        ("columns010", b"#fields\tindicator\tindicator_type\tmeta.source\n1.2.3.4\tIntel::ADDR\n", &["2!too few columns"]),
        ("columns020", b"#fields\tindicator\tindicator_type\n1.2.3.4\n", &["2!too few columns"]),
        ("columns030", b"#fields\tindicator\tindicator_type\n1.2.3.4\tIntel::ADDR\textra\n", &["2:1.2.3.4 k=ipv4"]),
        ("crlf010", b"#fields\tindicator\tindicator_type\r\n1.2.3.4\tIntel::ADDR\r\n\r\n5.6.7.8\tIntel::ADDR\r\n", &["2:1.2.3.4 k=ipv4", "4:5.6.7.8 k=ipv4"]),
        ("bom010", b"\xef\xbb\xbf#fields\tindicator\tindicator_type\n1.2.3.4\tIntel::ADDR\n", &["2:1.2.3.4 k=ipv4"]),
        ("blank010", b"\n#fields\tindicator\tindicator_type\n \t \n1.2.3.4\tIntel::ADDR", &["4:1.2.3.4 k=ipv4"]),
        ("comment010", b"#separator \\x09\n#path\tintel\n#fields\tindicator\tindicator_type\n#types\tstring\tenum\n# a note \xff\n1.2.3.4\tIntel::ADDR\n", &["6:1.2.3.4 k=ipv4"]),
        ("utf8010", b"#fields\tindicator\tindicator_type\tmeta.desc\n\xff\tIntel::ADDR\tx\n1.2.3.4\tIntel::ADDR\ta\xffb\n", &["2!invalid utf-8", "3!invalid utf-8"]),
        // Columns we ignore may hold anything.
        ("utf8020", b"#fields\tindicator\tindicator_type\tmeta.do_notice\n1.2.3.4\tIntel::ADDR\t\xff\n", &["2:1.2.3.4 k=ipv4"]),
        ("trim010", b"#fields\tindicator\tindicator_type\n 1.2.3.4 \tIntel::ADDR \n", &["2:1.2.3.4 k=ipv4"]),
    ];
    for &(id, input, want) in rows {
        assert_eq!(render(input, ParseOptions::default()), want, "{id}");
    }
}

#[test]
fn messages_name_the_problem() {
    let first_error = |data: &[u8]| {
        let mut errors = Vec::new();
        parse(data, "f.intel", &ParseOptions::default(), &mut |r| {
            errors.extend(r.err());
            Ok(())
        })
        .unwrap();
        errors.remove(0).to_string()
    };
    assert_eq!(
        first_error(file(&[("x", "Intel::JA3")]).as_bytes()),
        "f.intel:2: unsupported indicator_type Intel::JA3"
    );
    assert_eq!(
        first_error(file(&[("abc", "Intel::FILE_HASH")]).as_bytes()),
        "f.intel:2: Intel::FILE_HASH \"abc\" has 3 characters: a hash has 32, 40, 56, 64, 96 or 128"
    );
    assert_eq!(first_error(b"x\tIntel::ADDR\n"), "f.intel:1: data line before a usable #fields header");
    assert_eq!(
        first_error(format!("{H}x\n").as_bytes()),
        "f.intel:2: 1 columns where the #fields header names 3"
    );
}

#[test]
fn values_borrow_from_the_feed() {
    parse(file(&[("1.2.3.4", "Intel::ADDR")]).as_bytes(), "t", &ParseOptions::default(), &mut |r| {
        assert!(matches!(r.unwrap().value, Cow::Borrowed(_)));
        Ok(())
    })
    .unwrap();
}

#[test]
fn sink_error_stops_the_parse() {
    let data = file(&[("1.2.3.4", "Intel::ADDR"), ("x", "Intel::JA3"), ("1.2.3.5", "Intel::ADDR")]);
    let (mut seen, stop) = (0, FeedError::new("f", None, "stop", "stop"));
    let result = parse(data.as_bytes(), "t", &ParseOptions::default(), &mut |_| {
        seen += 1;
        if seen == 2 {
            Err(stop.clone())
        } else {
            Ok(())
        }
    });
    assert_eq!((result, seen), (Err(stop), 2));
}

#[test]
fn sniff_table() {
    let rows: &[(&str, &[u8], bool)] = &[
        ("sniff010", b"#fields\tindicator\tindicator_type\tmeta.source\n", true),
        (
            "sniff020",
            b"\xef\xbb\xbf#separator \\x09\n#path\tintel\r\n\n#fields\tindicator\tindicator_type\n",
            true,
        ),
        ("sniff030", b"#separator \\x2c\n#fields,indicator_type,indicator\n", true),
        ("sniff040", b"#fields\tts\tuid\tid.orig_h\n", false),
        ("sniff050", b"# indicator indicator_type\n1.2.3.4\n", false),
        ("sniff060", b"1.2.3.4\n#fields\tindicator\tindicator_type\n", false),
        ("sniff070", b"", false),
        ("sniff080", b"#fields\tindicators\tindicator_type\n", false),
    ];
    for &(id, input, want) in rows {
        assert_eq!(looks_like(input), want, "{id}");
    }
}

fn write(records: &[(Kind, &str, &Meta)]) -> String {
    let mut out = Vec::new();
    write_zeek_intel(records.iter().copied(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn write_table() {
    let m = Meta { source: Some("cti".into()), ..Meta::default() };
    #[rustfmt::skip]
    // (id, kind, value, lines written, first line, last line)
    let rows: &[(&str, Kind, &str, usize, &str, &str)] = &[
        ("write010", Kind::Ipv4, "1.2.3.4", 1, "1.2.3.4\tIntel::ADDR", ""),
        ("write020", Kind::Ipv4, "10.0.0.0/8", 1, "10.0.0.0/8\tIntel::SUBNET", ""),
        // 10.0.0.1, 10.0.0.2/31, 10.0.0.4/31, 10.0.0.6
        ("write030", Kind::Ipv4, "10.0.0.1-10.0.0.6", 4, "10.0.0.1\tIntel::ADDR", "10.0.0.6\tIntel::ADDR"),
        // All but the last address: one block per bit, /1 to /32.
        ("write040", Kind::Ipv4, "0.0.0.0-255.255.255.254", 32, "0.0.0.0/1\tIntel::SUBNET", "255.255.255.254\tIntel::ADDR"),
        ("write050", Kind::Ipv6, "2001:db8::1", 1, "2001:db8::1\tIntel::ADDR", ""),
        ("write060", Kind::Ipv6, "2000::-3fff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 125, "2000::/4\tIntel::SUBNET", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:fffe\tIntel::ADDR"),
        ("write070", Kind::Ipv6, "2001:db8::/32", 1, "2001:db8::/32\tIntel::SUBNET", ""),
        ("write080", Kind::Domain, "evil.example", 1, "evil.example\tIntel::DOMAIN", ""),
        ("write090", Kind::Hostname, "a.evil.example", 1, "a.evil.example\tIntel::DOMAIN", ""),
        ("write100", Kind::Url, "evil.example/a", 1, "evil.example/a\tIntel::URL", ""),
        ("write110", Kind::Email, "a@evil.example", 1, "a@evil.example\tIntel::EMAIL", ""),
        ("write120", Kind::Md5, "0c2674c3a97c53082187d930efb645c2", 1, "0c2674c3a97c53082187d930efb645c2\tIntel::FILE_HASH", ""),
        ("write130", Kind::String, "a\tb\\x09", 1, "a\\x09b\\x5cx09\tIntel::SOFTWARE", ""),
        ("write140", Kind::String, "#x", 1, "\\x23x\tIntel::SOFTWARE", ""),
        ("write150", Kind::String, "-", 1, "\\x2d\tIntel::SOFTWARE", ""),
        ("write160", Kind::String, "(empty)", 1, "\\x28empty)\tIntel::SOFTWARE", ""),
    ];
    for &(id, kind, value, count, first, last) in rows {
        let got = write(&[(kind, value, &m)]);
        let lines: Vec<&str> = got.lines().skip(1).map(|l| l.strip_suffix("\tcti\t-").unwrap()).collect();
        let last = if last.is_empty() { first } else { last };
        assert_eq!((lines.len(), lines[0], lines[lines.len() - 1]), (count, first, last), "{id}");
    }
    let none = Meta { description: Some("c2\npanel".into()), ..Meta::default() };
    assert_eq!(
        write(&[(Kind::Domain, "a.example", &none)]).lines().nth(1),
        Some("a.example\tIntel::DOMAIN\tvedette\tc2\\x0apanel")
    );
    let err = write_zeek_intel([(Kind::Ipv4, "1.2.3.4-x", &m)].into_iter(), &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

/// Writing canonical records and reading them back gives the same canonical values
/// and kinds (ranges come back as their CIDRs, hostnames as domains unless asked).
#[test]
fn round_trip() {
    let meta = |d: &str| Meta { source: Some("s\tx".into()), description: Some(d.into()), ..Meta::default() };
    let (m1, m2, m3) = (meta("a\nb"), meta("-"), meta("\\x41 #1"));
    let (sha256, sha1) = ("ab".repeat(32), "cd".repeat(20));
    let records: Vec<(Kind, &str, &Meta)> = vec![
        (Kind::Ipv4, "1.2.3.4", &m1),
        (Kind::Ipv4, "10.0.0.0/8", &m2),
        (Kind::Ipv6, "2001:db8::1", &m3),
        (Kind::Ipv6, "2001:db8::/32", &m1),
        (Kind::Domain, "xn--bcher-kva.example", &m1),
        (Kind::Url, "evil.example/a%20b?c=d\\e", &m2),
        (Kind::Email, "a@evil.example", &m3),
        (Kind::Sha256, &sha256, &m1),
        (Kind::Sha1, &sha1, &m1),
        (Kind::String, "Mozilla/5.0 (\tx\\y)", &m2),
        (Kind::String, "-", &m3),
    ];
    for options in
        [ParseOptions::default(), ParseOptions { zeek_domain_as_hostname: true, ..ParseOptions::default() }]
    {
        let text = write(&records);
        let mut back = Vec::new();
        parse(text.as_bytes(), "rt", &options, &mut |r| {
            let r = r.unwrap();
            let n = normalize(&r.value, r.kind, true).unwrap();
            back.push((n.kind, n.value, r.meta));
            Ok(())
        })
        .unwrap();
        assert_eq!(back.len(), records.len());
        for ((kind, value, meta), (got_kind, got_value, got_meta)) in records.iter().zip(back) {
            let want_kind =
                if *kind == Kind::Domain && options.zeek_domain_as_hostname { Kind::Hostname } else { *kind };
            assert_eq!((got_kind, got_value.as_str()), (want_kind, *value));
            assert_eq!((&got_meta.source, &got_meta.description), (&meta.source, &meta.description));
        }
    }
}

/// Every real intel file loads whole: records per kind equal a plain count of the
/// type column, and every value normalizes.
#[test]
fn real_intel_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/zeek/intel");
    let Ok(dir) = std::fs::read_dir(&root) else {
        eprintln!("skipping: {} not found", root.display());
        return;
    };
    let mut total: BTreeMap<String, usize> = BTreeMap::new();
    for entry in dir {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "intel") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        assert!(looks_like(&data), "{}", path.display());
        // Independently: split each data line on tabs; type = column 2, with
        // FILE_HASH split by value length.
        let text = std::str::from_utf8(&data).unwrap();
        let mut want: BTreeMap<String, usize> = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            let name = match cols[1] {
                "Intel::ADDR" | "Intel::SUBNET" => "ip".to_string(),
                "Intel::FILE_HASH" => format!("hash{}", cols[0].len()),
                other => other.trim_start_matches("Intel::").to_ascii_lowercase(),
            };
            *want.entry(name).or_default() += 1;
        }
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        let mut normalized: BTreeMap<String, usize> = BTreeMap::new();
        parse(&data, "real", &ParseOptions::default(), &mut |r| {
            let r = r.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = match r.kind {
                Some(Kind::Ipv4 | Kind::Ipv6) | None => "ip".to_string(),
                Some(k) if k.hex_len().is_some() => format!("hash{}", k.hex_len().unwrap()),
                Some(k) => k.to_string(),
            };
            *got.entry(name).or_default() += 1;
            let n = normalize(&r.value, r.kind, false).map_err(|e| e.to_string());
            let key = n.map_or_else(|e| format!("invalid: {e}"), |n| n.kind.to_string());
            *normalized.entry(key).or_default() += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(got, want, "{}", path.display());
        eprintln!("{}: {got:?} normalized {normalized:?}", path.file_name().unwrap().to_string_lossy());
        for (k, v) in normalized {
            *total.entry(k).or_default() += v;
        }
    }
    eprintln!("all intel files, normalized: {total:?}");
}
