//! Tests of the parent module, one table row per case.

use super::*;

/// Compiles `pattern` and renders the outcome: `kind:value` (`?` for no kind, `|ctx`
/// for a context) per atom and `!category` per rejected atom; `!!category` when the
/// whole pattern is rejected.
fn render(compiler: &mut Compiler, pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = compiler.compile(pattern, &mut out) {
        assert!(e.message.starts_with(e.category), "{pattern}: {}", e.message);
        return vec![format!("!!{}", e.category)];
    }
    out.into_iter()
        .map(|r| match r {
            Ok(a) => {
                let kind = a.kind.map_or("?", Kind::as_str);
                match a.context {
                    Some(c) => format!("{kind}:{}|{c}", a.value),
                    None => format!("{kind}:{}", a.value),
                }
            }
            Err(e) => format!("!{}", e.category),
        })
        .collect()
}

#[test]
fn hash_names() {
    let rows: &[(&str, Option<Kind>)] = &[
        ("MD5", Some(Kind::Md5)),
        ("md5", Some(Kind::Md5)),
        ("SHA-1", Some(Kind::Sha1)),
        ("sha1", Some(Kind::Sha1)),
        ("SHA_1", Some(Kind::Sha1)),
        ("SHA-224", Some(Kind::Sha224)),
        ("SHA-256", Some(Kind::Sha256)),
        ("Sha256", Some(Kind::Sha256)),
        ("SHA-384", Some(Kind::Sha384)),
        ("sha512", Some(Kind::Sha512)),
        ("SHA3-256", None),
        ("SSDEEP", None),
        ("TLSH", None),
        ("SHA-512/256", None),
        ("", None),
        ("SHA2566", None),
        ("MD5-SHA1-SHA256", None),
    ];
    for &(name, want) in rows {
        assert_eq!(hash_kind(name), want, "{name}");
    }
}

#[test]
fn unescape_table() {
    assert_eq!(unescape(r"a\'b", true), "a'b");
    assert_eq!(unescape(r"C:\\x\\y", true), r"C:\x\y");
    assert_eq!(unescape(r"\\\'", true), r"\'");
    assert!(matches!(unescape("plain", false), Cow::Borrowed("plain")));
}

#[test]
fn compiler_is_reusable() {
    let mut compiler = Compiler::default();
    for _ in 0..3 {
        assert_eq!(render(&mut compiler, "[x:y = 1 OR"), ["!!invalid pattern"]);
        assert_eq!(render(&mut compiler, "[url:value = 'a' OR url:value = 'b']"), ["url:a", "url:b"]);
    }
}

#[test]
fn deep_nesting_is_refused_not_a_crash() {
    let mut compiler = Compiler::default();
    let deep = format!("{}[url:value = 'a']{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(render(&mut compiler, &deep), ["!!invalid pattern"]);
    let deep = format!("[{}url:value = 'a'{}]", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(render(&mut compiler, &deep), ["!!invalid pattern"]);
    let ok = format!("{}[url:value = 'a']{}", "(".repeat(60), ")".repeat(60));
    assert_eq!(render(&mut compiler, &ok), ["url:a"]);
    // A long OR chain is flat, not deep.
    let long = vec!["[ipv4-addr:value = '10.0.0.1']"; 50_000].join(" OR ");
    let mut out = Vec::new();
    compiler.compile(&long, &mut out).unwrap();
    assert_eq!(out.len(), 50_000);
}

#[test]
fn pattern_table() {
    const MD5: &str = "0c2674c3a97c53082187d930efb645c2";
    let mut compiler = Compiler::default();
    for &(id, pattern, want) in PATTERN_ROWS {
        let pattern = pattern.replace("{md5}", MD5);
        let want: Vec<String> = want.iter().map(|w| w.replace("{md5}", MD5)).collect();
        assert_eq!(render(&mut compiler, &pattern), want, "{id}: {pattern}");
    }
}

/// Every prefix of every pattern of the table, and each with a byte replaced by a
/// character the grammar gives meaning to: no panic, and an answer either way.
#[test]
fn mangled_patterns_never_panic() {
    let mut compiler = Compiler::default();
    let mut out = Vec::new();
    for &(_, pattern, _) in PATTERN_ROWS {
        for end in (0..=pattern.len()).filter(|&i| pattern.is_char_boundary(i)) {
            let _ = compiler.compile(&pattern[..end], &mut out);
        }
        for (i, _) in pattern.char_indices() {
            for c in ['\'', '\\', '[', ']', '(', ')', ' ', '.', ':', '*', '/', 'é', '\u{2028}'] {
                let mut mangled = pattern.to_string();
                mangled.replace_range(i..i + pattern[i..].chars().next().unwrap().len_utf8(), &c.to_string());
                match compiler.compile(&mangled, &mut out) {
                    Ok(()) => assert!(out.iter().any(Result::is_ok), "{mangled}"),
                    Err(e) => assert!(e.message.starts_with(e.category), "{mangled}"),
                }
            }
        }
    }
}

/// `(id, pattern, outcome)` as [`render`] writes it.
const PATTERN_ROWS: &[(&str, &str, &[&str])] = &[
    // The paths we compile, with `=`.
    ("path010", "[ipv4-addr:value = '198.51.100.1']", &["ipv4:198.51.100.1"]),
    ("path020", "[ipv4-addr:value = '198.51.100.0/24']", &["ipv4:198.51.100.0/24"]),
    ("path030", "[ipv6-addr:value = '2001:db8::/32']", &["ipv6:2001:db8::/32"]),
    ("path040", "[domain-name:value = 'evil.example']", &["domain:evil.example"]),
    ("path050", "[url:value = 'http://evil.example/a?b=1']", &["url:http://evil.example/a?b=1"]),
    ("path060", "[email-addr:value = 'a@evil.example']", &["email:a@evil.example"]),
    ("path070", "[email-message:from_ref.value = 'a@evil.example']", &["email:a@evil.example"]),
    ("path080", "[file:name = 'payload.exe']", &["string:payload.exe"]),
    ("path090", "[network-traffic:dst_ref.value = '198.51.100.1']", &["?:198.51.100.1"]),
    ("path100", "[network-traffic:src_ref.value = '2001:db8::1']", &["?:2001:db8::1"]),
    ("path110", "[file:'name' = 'a.exe']", &["string:a.exe"]),
    ("path120", "[domain-name:'value' = 'evil.example']", &["domain:evil.example"]),
    // Hash names in every spelling.
    ("hash010", "[file:hashes.MD5 = '{md5}']", &["md5:{md5}"]),
    ("hash020", "[file:hashes.md5 = '{md5}']", &["md5:{md5}"]),
    ("hash030", "[file:hashes.'MD5' = '{md5}']", &["md5:{md5}"]),
    ("hash040", "[file:hashes.'SHA-256' = 'ab']", &["sha256:ab"]),
    ("hash050", "[file:hashes.SHA256 = 'ab']", &["sha256:ab"]),
    ("hash060", "[file:hashes.sha256 = 'ab']", &["sha256:ab"]),
    ("hash070", "[file:hashes.SHA-256 = 'ab']", &["sha256:ab"]),
    ("hash080", "[file:hashes.'SHA-1' = 'ab']", &["sha1:ab"]),
    ("hash090", "[file:hashes.SHA1 = 'ab']", &["sha1:ab"]),
    ("hash100", "[file:hashes.'SHA-224' = 'ab']", &["sha224:ab"]),
    ("hash110", "[file:hashes.'SHA-384' = 'ab']", &["sha384:ab"]),
    ("hash120", "[file:hashes.sha512 = 'ab']", &["sha512:ab"]),
    ("hash130", "[file:hashes.'SHA-512' = 'ab']", &["sha512:ab"]),
    ("hash140", "[file:hashes.'SHA3-256' = 'ab']", &["!!unsupported hash"]),
    ("hash150", "[file:hashes.SSDEEP = '3:a:b']", &["!!unsupported hash"]),
    ("hash160", "[file:hashes.TLSH = 'ab']", &["!!unsupported hash"]),
    ("hash170", "[file:hashes.'md5' = '{md5}']", &["md5:{md5}"]),
    // IN and ISSUBSET.
    ("in010", "[ipv4-addr:value IN ('10.0.0.1', '10.0.0.2')]", &["ipv4:10.0.0.1", "ipv4:10.0.0.2"]),
    ("in020", "[domain-name:value IN ('a.example')]", &["domain:a.example"]),
    ("in030", "[domain-name:value IN ()]", &["!!unsupported pattern: empty set"]),
    ("in040", "[domain-name:value IN ('a.example', 1)]", &["!!unsupported pattern: non-string value"]),
    ("in050", "[file:hashes.MD5 IN ('{md5}','{md5}')]", &["md5:{md5}", "md5:{md5}"]),
    ("in060", "[domain-name:value IN 'a.example']", &["!!invalid pattern"]),
    ("sub010", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']", &["ipv4:198.51.100.0/24"]),
    ("sub020", "[ipv6-addr:value ISSUBSET '2001:db8::/32']", &["ipv6:2001:db8::/32"]),
    ("sub030", "[network-traffic:dst_ref.value ISSUBSET '10.0.0.0/8']", &["?:10.0.0.0/8"]),
    ("sub040", "[domain-name:value ISSUBSET 'example']", &["!!unsupported pattern: ISSUBSET"]),
    ("sub050", "[ipv4-addr:value ISSUBSET 5]", &["!!invalid pattern"]),
    // OR: one atom each, inside and between observations; bad atoms on their own.
    ("or010", "[domain-name:value = 'a.example' OR ipv4-addr:value = '10.0.0.1']", &["domain:a.example", "ipv4:10.0.0.1"]),
    ("or020", "[url:value = 'a'] OR [url:value = 'b'] OR [url:value = 'c']", &["url:a", "url:b", "url:c"]),
    ("or030", "([url:value = 'a'] OR [url:value = 'b'])", &["url:a", "url:b"]),
    ("or040", "[(url:value = 'a' OR url:value = 'b') OR url:value = 'c']", &["url:a", "url:b", "url:c"]),
    ("or050", "[url:value = 'a' OR url:value MATCHES 'b']", &["url:a", "!unsupported pattern: MATCHES"]),
    ("or060", "[url:value = 'a'] OR [x509-certificate:issuer = 'b']", &["url:a", "!unsupported object path"]),
    ("or070", "[url:value = 'a'] OR ([url:value = 'b'] FOLLOWEDBY [url:value = 'c'])", &["url:a", "!unsupported pattern: FOLLOWEDBY"]),
    ("or080", "[url:value MATCHES 'a' OR url:value LIKE 'b']", &["!!unsupported pattern: MATCHES"]),
    ("or090", "[url:value = 'a'] OR [url:value = 'b'] WITHIN 5 SECONDS", &["url:a", "!unsupported pattern: qualifier"]),
    // AND: a type constraint on the same ref.
    ("and010", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '10.0.0.1']", &["ipv4:10.0.0.1"]),
    ("and020", "[network-traffic:dst_ref.value = '2001:db8::1' AND network-traffic:dst_ref.type = 'ipv6-addr']", &["ipv6:2001:db8::1"]),
    ("and030", "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'a.example']", &["domain:a.example"]),
    ("and040", "[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '10.0.0.1']", &["!!unsupported pattern: AND of values"]),
    ("and050", "[network-traffic:dst_ref.type = 'mac-addr' AND network-traffic:dst_ref.value = '00:11:22:33:44:55']", &["!!unsupported object path"]),
    ("and060", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '10.0.0.1']", &["!!unsupported pattern: AND of values"]),
    ("and070", "[network-traffic:dst_ref.type = 'ipv4-addr' AND (network-traffic:dst_ref.value = '10.0.0.1' OR network-traffic:dst_ref.value = '10.0.0.2')]", &["ipv4:10.0.0.1", "ipv4:10.0.0.2"]),
    ("and080", "[network-traffic:dst_ref.type = 'ipv4-addr' AND (network-traffic:dst_ref.value = '10.0.0.1' OR network-traffic:src_ref.value = '10.0.0.2')]", &["ipv4:10.0.0.1", "!unsupported pattern: AND of values"]),
    ("and090", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value IN ('10.0.0.1', '10.0.0.2')]", &["ipv4:10.0.0.1", "ipv4:10.0.0.2"]),
    ("and100", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ISSUBSET '10.0.0.0/8']", &["ipv4:10.0.0.0/8"]),
    ("and110", "[email-message:from_ref.type = 'email-addr' AND email-message:from_ref.value = 'a@b.example']", &["email:a@b.example"]),
    ("and120", "[email-message:from_ref.type = 'url' AND email-message:from_ref.value = 'a@b.example']", &["!!unsupported pattern: AND of values"]),
    ("and130", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:src_ref.type = 'ipv4-addr']", &["!!unsupported pattern: AND of values"]),
    // AND with a file hash: the hashes load, the rest is context.
    ("and200", "[file:hashes.MD5 = '{md5}' AND file:name = 'x.exe']", &["md5:{md5}|file:name = 'x.exe'"]),
    ("and210", "[file:name = 'x.exe' AND file:hashes.'SHA-256' = 'ab' AND file:size = 10]", &["sha256:ab|file:name = 'x.exe' AND file:size = 10"]),
    ("and220", "[file:hashes.MD5 = '{md5}' AND file:hashes.'SHA-1' = 'ab']", &["md5:{md5}", "sha1:ab"]),
    ("and230", "[file:hashes.MD5 = '{md5}' AND (file:name = 'a' OR file:name = 'b')]", &["md5:{md5}|(file:name = 'a' OR file:name = 'b')"]),
    ("and240", "[file:hashes.SSDEEP = 'x' AND file:name = 'a']", &["!!unsupported pattern: AND of values"]),
    ("and250", "[file:hashes.MD5 != '{md5}' AND file:name = 'a']", &["!!unsupported pattern: AND of values"]),
    ("and260", "[file:hashes.MD5 = '{md5}' AND file:name MATCHES '^a']", &["md5:{md5}|file:name MATCHES '^a'"]),
    // AND of values, and everything else outside the subset.
    ("and300", "[domain-name:value = 'a.example' AND domain-name:value = 'b.example']", &["!!unsupported pattern: AND of values"]),
    ("and310", "[x509-certificate:issuer = 'CN=a' AND x509-certificate:serial_number = '01']", &["!!unsupported pattern: AND of values"]),
    ("and320", "[url:value = 'a'] AND [url:value = 'b']", &["!!unsupported pattern: AND of observations"]),
    ("seq010", "[url:value = 'a'] FOLLOWEDBY [url:value = 'b']", &["!!unsupported pattern: FOLLOWEDBY"]),
    ("qual010", "[url:value = 'a'] WITHIN 300 SECONDS", &["!!unsupported pattern: qualifier"]),
    ("qual020", "[url:value = 'a'] REPEATS 5 TIMES", &["!!unsupported pattern: qualifier"]),
    ("qual030", "[url:value = 'a'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", &["!!unsupported pattern: qualifier"]),
    ("qual040", "[url:value = 'a'] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'", &["!!invalid pattern"]),
    ("qual050", "([url:value = 'a'] OR [url:value = 'b']) WITHIN 1.5 SECONDS REPEATS 2 TIMES", &["!!unsupported pattern: qualifier"]),
    ("qual060", "[url:value = 'a'] WITHIN SECONDS", &["!!invalid pattern"]),
    ("qual070", "[url:value = 'a'] START t'2016-13-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", &["!!invalid pattern"]),
    ("qual080", "[url:value = 'a'] START t'2016-06-01T00:00:00.123Z' STOP t'2016-07-01T23:59:60Z'", &["!!unsupported pattern: qualifier"]),
    ("lit010", "[file:x = t'2016-06-01T00:00:00']", &["!!invalid pattern"]),
    ("lit020", "[file:x = t'2016-06-01T00:00:00.Z']", &["!!invalid pattern"]),
    ("lit030", "[file:x = h'abc']", &["!!invalid pattern"]),
    ("lit040", "[file:x = h'']", &["!!unsupported object path"]),
    ("lit050", "[file:x = b'aGk=']", &["!!unsupported object path"]),
    ("lit060", "[file:x = b'aGk']", &["!!invalid pattern"]),
    ("lit070", "[file:x = b'']", &["!!invalid pattern"]),
    ("lit080", "[file:x = b'a===']", &["!!invalid pattern"]),
    ("op010", "[email-message:subject MATCHES '^x']", &["!!unsupported pattern: MATCHES"]),
    ("op020", "[domain-name:value LIKE '%.example']", &["!!unsupported pattern: LIKE"]),
    ("op030", "[domain-name:value != 'a.example']", &["!!unsupported pattern: !="]),
    ("op040", "[domain-name:value <> 'a.example']", &["!!unsupported pattern: !="]),
    ("op050", "[domain-name:value NOT = 'a.example']", &["!!unsupported pattern: NOT"]),
    ("op060", "[file:size > 10]", &["!!unsupported pattern: >"]),
    ("op070", "[file:size <= 10]", &["!!unsupported pattern: <="]),
    ("op080", "[ipv4-addr:value ISSUPERSET '10.0.0.1']", &["!!unsupported pattern: ISSUPERSET"]),
    ("op090", "[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']", &["!!unsupported pattern: NOT"]),
    ("op100", "[EXISTS file:name]", &["!!unsupported pattern: EXISTS"]),
    ("op110", "[domain-name:value == 'a.example']", &["domain:a.example"]),
    ("op120", "[file:hashes.MD5 = h'0c2674c3']", &["!!unsupported pattern: non-string value"]),
    ("op130", "[ipv4-addr:value = 1]", &["!!unsupported pattern: non-string value"]),
    ("op140", "[file:created = t'2016-01-01T00:00:00Z']", &["!!unsupported object path"]),
    ("op150", "[file:x = true]", &["!!unsupported object path"]),
    ("path200", "[process:command_line = 'a']", &["!!unsupported object path"]),
    ("path210", "[email-message:body_multipart[*].body_raw_ref.name MATCHES 'a']", &["!!unsupported pattern: MATCHES"]),
    ("path220", "[email-message:body_multipart[0].body_raw_ref.name = 'a']", &["!!unsupported object path"]),
    ("path230", "[network-traffic:dst_port = 443]", &["!!unsupported object path"]),
    ("path240", "[network-traffic:dst_ref.type = 'ipv4-addr']", &["!!unsupported object path"]),
    ("path250", "[ipv4-addr:value.x = 'a']", &["!!unsupported object path"]),
    ("path260", "[Domain-Name:value = 'a']", &["!!unsupported object path"]),
    ("path270", "[file:hashes = 'a']", &["!!unsupported object path"]),
    // Escapes and white space.
    ("esc010", r"[file:name = 'it\'s.exe']", &["string:it's.exe"]),
    ("esc020", r"[file:name = 'C:\\x\\a.exe']", &[r"string:C:\x\a.exe"]),
    ("esc030", r"[file:name = '\\']", &[r"string:\"]),
    ("esc040", r"[file:name = 'a\nb']", &["!!invalid pattern"]),
    ("esc050", r"[file:name = 'a\']", &["!!invalid pattern"]),
    ("esc060", "[file:hashes.'SHA\\'256' = 'ab']", &["!!unsupported hash"]),
    ("esc070", "[url:value = 'http://a.example/é']", &["url:http://a.example/é"]),
    ("esc080", "[url:value = '']", &["url:"]),
    ("ws010", "  [ ipv4-addr:value = '10.0.0.1' ]  ", &["ipv4:10.0.0.1"]),
    ("ws020", "[ipv4-addr:value='10.0.0.1']", &["ipv4:10.0.0.1"]),
    ("ws030", "[\n\tipv4-addr:value\r\n=\x0b'10.0.0.1'\x0c]", &["ipv4:10.0.0.1"]),
    ("ws040", "[ipv4-addr:value\u{a0}=\u{2028}'10.0.0.1']", &["ipv4:10.0.0.1"]),
    ("ws050", "[ipv4-addr : value = '10.0.0.1']", &["ipv4:10.0.0.1"]),
    ("ws060", "/* c */ [url:value = 'a'] // trailing", &["url:a"]),
    ("ws070", "[url:value = 'a' /* OR url:value = 'b' */]", &["url:a"]),
    ("ws080", "[url:value = 'a'] /* open", &["!!invalid pattern"]),
    ("ws090", "[url:value = 'a' OR\nurl:value = 'b']", &["url:a", "url:b"]),
    // Syntax errors.
    ("syn010", "", &["!!invalid pattern"]),
    ("syn020", "ipv4-addr:value = '10.0.0.1'", &["!!invalid pattern"]),
    ("syn030", "[ipv4-addr:value = '10.0.0.1'", &["!!invalid pattern"]),
    ("syn040", "[ipv4-addr:value = '10.0.0.1]", &["!!invalid pattern"]),
    ("syn050", "[ipv4-addr:value = \"10.0.0.1\"]", &["!!invalid pattern"]),
    ("syn060", "[ipv4-addr:value = '10.0.0.1'] [url:value = 'a']", &["!!invalid pattern"]),
    ("syn070", "[ipv4-addr:value '10.0.0.1']", &["!!invalid pattern"]),
    ("syn080", "[ipv4-addr = '10.0.0.1']", &["!!invalid pattern"]),
    ("syn090", "[url:value = 'a' or url:value = 'b']", &["!!invalid pattern"]),
    ("syn100", "[url:value = 'a' OR]", &["!!invalid pattern"]),
    ("syn110", "[]", &["!!invalid pattern"]),
    ("syn120", "[url:value = 'a']]", &["!!invalid pattern"]),
    ("syn130", "[url:value = 'a'] OR", &["!!invalid pattern"]),
    ("syn140", "[url:value = 'a'] WITHIN 5 MINUTES", &["!!invalid pattern"]),
    ("syn150", "[url:value = 'a' WITHIN 5 SECONDS]", &["!!invalid pattern"]),
    ("syn160", "[url:value = 'a'] AND", &["!!invalid pattern"]),
    ("syn170", "[url:value MATCHES 1]", &["!!invalid pattern"]),
    ("syn180", "[url:value ! 'a']", &["!!invalid pattern"]),
    ("syn190", "[url:value = 'a') ", &["!!invalid pattern"]),
    ("syn200", "[file:hashes.'MD5 = 'a']", &["!!invalid pattern"]),
    ("syn210", "[url:value = 'a' # x]", &["!!invalid pattern"]),
    ("syn220", "[url:value = - 'a']", &["!!invalid pattern"]),
    ("syn230", "[file:name[x] = 'a']", &["!!invalid pattern"]),
    ("syn240", "[url:value IN ('a',)]", &["!!invalid pattern"]),
];
