//! The matching semantics of docs/semantics.md §4, one row per case.
//!
//! A row: id, indicators (`kind:value`, or a bare value whose kind is inferred), the
//! text, and the expected matches as `(start, end, kind, canonical values)`.

use vedette_core::{Index, IndexBuilder, Kind, Meta};

fn index(indicators: &[&str]) -> Index {
    let mut builder = IndexBuilder::new();
    for spec in indicators {
        let (kind, value) = match spec.split_once(':') {
            Some((k, v)) if k.parse::<Kind>().is_ok() => (Some(k.parse().unwrap()), v),
            _ => (None, *spec),
        };
        builder.add(value, kind, Meta::default()).unwrap_or_else(|e| panic!("{spec}: {e}"));
    }
    builder.build().unwrap()
}

type Expected<'a> = &'a [(usize, usize, &'a str, &'a [&'a str])];

fn check(id: &str, indicators: &[&str], text: &str, expected: Expected<'_>) {
    let index = index(indicators);
    let found = index.find(text.as_bytes(), 0);
    let got: Vec<(usize, usize, String, Vec<String>)> = found
        .iter()
        .map(|m| {
            let mut values: Vec<String> =
                m.indicators.iter().map(|&i| index.indicator(i).value.to_string()).collect();
            values.sort();
            (m.start, m.end, m.kind.to_string(), values)
        })
        .collect();
    let want: Vec<(usize, usize, String, Vec<String>)> = expected
        .iter()
        .map(|&(s, e, k, vs)| {
            let mut values: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
            values.sort();
            (s, e, k.to_string(), values)
        })
        .collect();
    assert_eq!(got, want, "row {id}: {indicators:?} in {text:?}");
    assert_eq!(index.is_match(text.as_bytes(), 0), !want.is_empty(), "row {id}: is_match");
}

macro_rules! rows {
    ($name:ident: $( $id:ident => ($inds:expr, $text:expr, $want:expr) ),* $(,)?) => {
        #[test]
        fn $name() {
            $( check(stringify!($id), &$inds, $text, &$want); )*
        }
    };
}

const NONE: [(usize, usize, &str, &[&str]); 0] = [];

rows! { domains:
    domain010 => (["evil.example"], "evil.example", [(0, 12, "domain", &["evil.example"])]),
    domain020 => (["evil.example"], "GET http://a.b.evil.example/x", [(11, 27, "domain", &["evil.example"])]),
    domain030 => (["evil.example"], "notevil.example", NONE),
    domain040 => (["evil.example"], "evil.example.org", NONE),
    domain050 => (["evil.example"], "see evil.example.", [(4, 16, "domain", &["evil.example"])]),
    domain060 => (["evil.example"], "EVIL.Example", [(0, 12, "domain", &["evil.example"])]),
    domain070 => (["evil.example"], "x-evil.example", NONE),
    domain080 => (["evil.example"], "x_evil.example", NONE),
    domain090 => (["evil.example", "b.evil.example"], "a.b.evil.example", [(0, 16, "domain", &["b.evil.example", "evil.example"])]),
    domain100 => (["evil.example"], "evil.example-x", NONE),
    domain110 => (["evil.example"], "\u{e9}evil.example", NONE),
    domain120 => (["evil.example"], "..a.evil.example", [(2, 16, "domain", &["evil.example"])]),
    domain130 => (["evil.example"], "evil.example..org", [(0, 12, "domain", &["evil.example"])]),
    domain140 => (["evil.example"], "mail@evil.example", [(5, 17, "domain", &["evil.example"])]),
    domain150 => (["bücher.de"], "xn--bcher-kva.de and bücher.de", [(0, 16, "domain", &["xn--bcher-kva.de"])]),
    domain160 => (["evil.example"], "evil.example:443", [(0, 12, "domain", &["evil.example"])]),
    domain170 => (["evil.example"], "(evil.example)", [(1, 13, "domain", &["evil.example"])]),
}

rows! { hostnames:
    host010 => (["hostname:mail.evil.example"], "mail.evil.example", [(0, 17, "hostname", &["mail.evil.example"])]),
    host020 => (["hostname:mail.evil.example"], "x.mail.evil.example", NONE),
    host030 => (["domain:evil.example", "hostname:mail.evil.example"], "x.mail.evil.example", [(0, 19, "domain", &["evil.example"])]),
    host040 => (["hostname:evil.example"], ".evil.example", NONE),
    host050 => (["hostname:evil.example"], "EVIL.EXAMPLE.", [(0, 12, "hostname", &["evil.example"])]),
    host060 => (["hostname:evil.example", "domain:evil.example"], "evil.example", [(0, 12, "domain", &["evil.example"]), (0, 12, "hostname", &["evil.example"])]),
}

rows! { emails:
    email010 => (["bad@evil.example"], "from: bad@evil.example>", [(6, 22, "email", &["bad@evil.example"])]),
    email020 => (["bad@evil.example"], "BAD@Evil.Example", [(0, 16, "email", &["bad@evil.example"])]),
    email030 => (["bad@evil.example"], "notbad@evil.example", NONE),
    email040 => (["bad@evil.example"], "x.bad@evil.example", NONE),
    email050 => (["bad@evil.example"], "bad@evil.example.org", NONE),
    email060 => (["bad@evil.example"], "<bad@evil.example.>", [(1, 17, "email", &["bad@evil.example"])]),
    email070 => (["a.b+c@evil.example"], "to=a.b+c@evil.example;", [(3, 21, "email", &["a.b+c@evil.example"])]),
}

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

rows! { hashes:
    hash010 => ([MD5], "md5=d41d8cd98f00b204e9800998ecf8427e;", [(4, 36, "md5", &[MD5])]),
    hash020 => ([MD5], "D41D8CD98F00B204E9800998ECF8427E", [(0, 32, "md5", &[MD5])]),
    hash030 => ([MD5], "x_d41d8cd98f00b204e9800998ecf8427e", [(2, 34, "md5", &[MD5])]),
    hash040 => ([MD5], "0xd41d8cd98f00b204e9800998ecf8427e", NONE),
    hash050 => ([MD5], "d41d8cd98f00b204e9800998ecf8427e0", NONE),
    hash060 => ([MD5], "e3b0c44298fc1c149afbf4c8996fb924d41d8cd98f00b204e9800998ecf8427e", NONE),
    hash070 => ([SHA256, MD5], SHA256, [(0, 64, "sha256", &[SHA256])]),
    hash080 => ([MD5], "d41d8cd98f00b204e9800998ecf8427e.exe", [(0, 32, "md5", &[MD5])]),
}

rows! { urls:
    url010 => (["http://evil.example/a"], "GET http://evil.example/a HTTP/1.1", [(11, 25, "url", &["evil.example/a"])]),
    url020 => (["http://evil.example/a"], "evil.example/a?x=1", [(0, 14, "url", &["evil.example/a"])]),
    url030 => (["http://evil.example/a"], "evil.example/ab", NONE),
    url040 => (["http://evil.example/a"], "evil.example/a/b", NONE),
    url050 => (["http://evil.example/a"], "EVIL.EXAMPLE/a", [(0, 14, "url", &["evil.example/a"])]),
    url060 => (["http://evil.example/a"], "evil.example/A", NONE),
    url070 => (["http://evil.example/a"], "evil.example:80/a", NONE),
    url080 => (["http://evil.example/a?x=1"], "evil.example/a?x=1#frag", [(0, 18, "url", &["evil.example/a?x=1"])]),
    url090 => (["http://evil.example/a?x=1"], "evil.example/a?x=12", NONE),
    url100 => (["http://evil.example/a?x=1"], "evil.example/a", NONE),
    url110 => (["http://evil.example/"], "http://evil.example and more", [(7, 19, "url", &["evil.example/"])]),
    url120 => (["http://evil.example/"], "http://evil.example/", [(7, 20, "url", &["evil.example/"])]),
    url130 => (["evil.example:8080/x"], "http://evil.example:8080/x\"", [(7, 26, "url", &["evil.example:8080/x"])]),
    url140 => (["evil.example:8080/"], "evil.example:8080,", [(0, 17, "url", &["evil.example:8080/"])]),
    url150 => (["http://evil.example/a"], "a.evil.example/a", NONE),
    url160 => (["http://evil.example/a"], "'evil.example/a'", [(1, 15, "url", &["evil.example/a"])]),
    url170 => (["http://evil.example/a"], "evil.example/a|b", [(0, 14, "url", &["evil.example/a"])]),
    url180 => (["http://evil.example/a", "http://evil.example/a?q"], "evil.example/a?q", [(0, 14, "url", &["evil.example/a"]), (0, 16, "url", &["evil.example/a?q"])]),
    url190 => (["http://[2001:db8::1]:8080/x"], "GET http://[2001:DB8::1]:8080/x ", [(11, 31, "url", &["[2001:db8::1]:8080/x"])]),
    url200 => (["http://1.2.3.4/x"], "http://1.2.3.4/x", [(7, 16, "url", &["1.2.3.4/x"])]),
    url210 => (["http://evil.example/a", "domain:evil.example"], "http://evil.example/a", [(7, 19, "domain", &["evil.example"]), (7, 21, "url", &["evil.example/a"])]),
}

rows! { url_bytes:
    url220 => (["http://evil.example/a,b"], "GET \"http://evil.example/a,b\" 200", [(12, 28, "url", &["evil.example/a,b"])]),
    url230 => (["http://evil.example/a,b"], "evil.example/a,bc", NONE),
    url240 => (["http://www.google.com/url?sa=t&bvm=bv.61535280,d.Yms"], "GET http://www.google.com/url?sa=t&bvm=bv.61535280,d.Yms HTTP/1.1", [(11, 56, "url", &["www.google.com/url?sa=t&bvm=bv.61535280,d.Yms"])]),
    url250 => (["http://evil.example/Farney's_Home/"], "see http://evil.example/Farney's_Home/ now", [(11, 38, "url", &["evil.example/Farney's_Home/"])]),
    url260 => (["http://evil.example/a|b<c>d\"e'f`g"], "x evil.example/a|b<c>d\"e'f`g\n", [(2, 28, "url", &["evil.example/a|b<c>d\"e'f`g"])]),
    url270 => (["http://evil.example/a", "http://evil.example/a,b"], "evil.example/a,b ", [(0, 14, "url", &["evil.example/a"]), (0, 16, "url", &["evil.example/a,b"])]),
    url280 => (["http://evil.example/a\"b"], "href=\"http://evil.example/a\"b\"", [(13, 29, "url", &["evil.example/a\"b"])]),
    url290 => (["http://evil.example/a\"b"], "href=\"http://evil.example/a\"", NONE),
    url300 => (["http://1.2.3.4/", "1.2.3.4"], "1.2.3.4..", [(0, 7, "ipv4", &["1.2.3.4"]), (0, 7, "url", &["1.2.3.4/"])]),
    url310 => (["http://evil.example/"], "see http://evil.example.. and evil.example..com", [(11, 23, "url", &["evil.example/"])]),
}

rows! { percent_escapes:
    pct010 => (["evil.example"], "?url=https%3A%2F%2Fmail.evil.example%2Flogin", [(19, 36, "domain", &["evil.example"])]),
    pct020 => (["hostname:mail.evil.example"], "?url=https%3A%2F%2Fmail.evil.example%2Flogin", [(19, 36, "hostname", &["mail.evil.example"])]),
    pct030 => (["1.2.3.4"], "%2F%2F1.2.3.4%2F", [(6, 13, "ipv4", &["1.2.3.4"])]),
    pct040 => (["http://evil.example/login"], "?u=https%3A%2F%2Fevil.example%2Flogin", NONE),
    pct050 => (["http://evil.example/login"], "GET /r?u=https%3A%2F%2Fevil.example/login HTTP/1.1", [(23, 41, "url", &["evil.example/login"])]),
    pct060 => (["d41d8cd98f00b204e9800998ecf8427e"], "h=%3Dd41d8cd98f00b204e9800998ecf8427e%26", [(5, 37, "md5", &["d41d8cd98f00b204e9800998ecf8427e"])]),
    pct070 => (["a@b.example"], "mailto%3Aa@b.example", [(9, 20, "email", &["a@b.example"])]),
    pct080 => (["2001:db8::1"], "%5B2001:db8::1%5D", [(3, 14, "ipv6", &["2001:db8::1"])]),
    pct090 => (["evil.example"], "%2Gevil.example %zzevil.example", NONE),
    pct100 => (["hostname:2fab.example"], "%2Fab.example", NONE),
    pct110 => (["1.2.3.4"], "%2G1.2.3.4 x1.2.3.4", NONE),
    pct120 => (["domain:fab.example", "ab.example"], "%2Fab.example", [(3, 13, "domain", &["ab.example"])]),
    pct130 => (["1.2.3.4", "201.2.3.4"], "%201.2.3.4", [(3, 10, "ipv4", &["1.2.3.4"])]),
    pct140 => (["domain:b.example", "1b.example"], "%41b.example x%2b.example", [(3, 12, "domain", &["b.example"])]),
}

rows! { url_punctuation:
    punct010 => (["http://evil.example/a"], "(see http://evil.example/a).", [(12, 26, "url", &["evil.example/a"])]),
    punct020 => (["http://evil.example/a"], "[x](http://evil.example/a)", [(11, 25, "url", &["evil.example/a"])]),
    punct030 => (["http://evil.example/a"], "go to http://evil.example/a!", [(13, 27, "url", &["evil.example/a"])]),
    punct040 => (["http://evil.example/a"], "at evil.example/a; then", [(3, 17, "url", &["evil.example/a"])]),
    punct050 => (["http://evil.example/a"], "“http://evil.example/a”", [(10, 24, "url", &["evil.example/a"])]),
    punct060 => (["http://evil.example/a"], "«http://evil.example/a»", [(9, 23, "url", &["evil.example/a"])]),
    punct070 => (["http://evil.example/a"], "‘http://evil.example/a’ x", [(10, 24, "url", &["evil.example/a"])]),
    punct080 => (["http://evil.example/a"], "evil.example/a.html", NONE),
    punct090 => (["http://evil.example/a"], "evil.example/a)b", NONE),
    punct100 => (["http://evil.example/a"], "evil.example/a...x", NONE),
    punct110 => (["http://evil.example/"], "(http://evil.example).", [(8, 20, "url", &["evil.example/"])]),
    punct120 => (["http://evil.example/a?x=1"], "evil.example/a?x=1?!", [(0, 18, "url", &["evil.example/a?x=1"])]),
}

rows! { url_canonical_text:
    canon010 => (["http://1.2.3.4/bins/x.sh"], "GET http://1.2.3.4:80/bins/x.sh HTTP/1.1", [(11, 31, "url", &["1.2.3.4/bins/x.sh"])]),
    canon020 => (["https://evil.example/x"], "https://evil.example:443/x", [(8, 26, "url", &["evil.example/x"])]),
    canon030 => (["http://evil.example/x"], "https://evil.example:80/x", NONE),
    canon040 => (["http://evil.example/a"], "http://evil.example./a", [(7, 22, "url", &["evil.example/a"])]),
    canon050 => (["http://[2001:db8::1]/x"], "http://[2001:db8:0:0:0:0:0:1]/x", [(7, 31, "url", &["[2001:db8::1]/x"])]),
    canon060 => (["http://evil.example/A"], "HTTP://EVIL.Example/A HTTP://EVIL.Example/a", [(7, 21, "url", &["evil.example/A"])]),
    canon070 => (["http://evil.example/a"], "http://evil.example:/a", [(7, 22, "url", &["evil.example/a"])]),
    canon080 => (["evil.example:8080/x"], "evil.example:08080/x", [(0, 20, "url", &["evil.example:8080/x"])]),
    canon090 => (["http://evil.example/a"], "http://user:pw@evil.example:80/a", [(15, 32, "url", &["evil.example/a"])]),
    canon100 => (["http://evil.example/x"], "evil.example:99999/x", NONE),
    canon110 => (["http://evil.example/x"], "FTP://evil.example:21/x", [(6, 23, "url", &["evil.example/x"])]),
    canon120 => (["http://evil.example/"], "http://evil.example.:80 ok", [(7, 23, "url", &["evil.example/"])]),
    canon130 => (["http://[::ffff:1.2.3.4]/x"], "http://[::FFFF:1.2.3.4]:80/x", [(7, 28, "url", &["[::ffff:1.2.3.4]/x"])]),
    canon140 => (["http://evil.example/?x=1"], "GET http://evil.example?x=1 HTTP/1.1", [(11, 27, "url", &["evil.example/?x=1"])]),
    canon150 => (["http://evil.example/"], "evil.example?x=1", [(0, 12, "url", &["evil.example/"])]),
    canon160 => (["http://evil.example/?x=1"], "evil.example?x=12 evil.example/x?x=1", NONE),
}

rows! { ipv4:
    ip010 => (["1.2.3.4"], "1.2.3.4", [(0, 7, "ipv4", &["1.2.3.4"])]),
    ip020 => (["1.2.3.4"], "1.2.3.4:443 [1.2.3.4] ip=1.2.3.4. 1.2.3.4/24", [(0, 7, "ipv4", &["1.2.3.4"]), (13, 20, "ipv4", &["1.2.3.4"]), (25, 32, "ipv4", &["1.2.3.4"]), (34, 41, "ipv4", &["1.2.3.4"])]),
    ip030 => (["1.2.3.4"], "1.2.3.4.5", NONE),
    ip040 => (["1.2.3.4"], "01.2.3.4", NONE),
    ip050 => (["1.2.3.4"], "1.2.3.4abc", NONE),
    ip060 => (["4.3.2.1"], "1.2.3.4.in-addr.arpa", NONE),
    ip070 => (["1.2.3.4"], "11.2.3.4 1.2.3.45 a1.2.3.4 .1.2.3.4", NONE),
    ip080 => (["1.2.3.4"], "x-1.2.3.4 y_1.2.3.4", [(2, 9, "ipv4", &["1.2.3.4"]), (12, 19, "ipv4", &["1.2.3.4"])]),
    ip090 => (["1.2.3.4"], "1.2.3.4..", [(0, 7, "ipv4", &["1.2.3.4"])]),
    ip100 => (["1.2.3.4"], "1.2.3.004", NONE),
    ip110 => (["1.2.3.0/24"], "1.2.3.0 1.2.3.255 1.2.4.0 1.2.2.255", [(0, 7, "ipv4", &["1.2.3.0/24"]), (8, 17, "ipv4", &["1.2.3.0/24"])]),
    ip120 => (["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3"], "src=10.1.2.3", [(4, 12, "ipv4", &["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3"])]),
    ip130 => (["10.0.0.5-10.0.0.9"], "10.0.0.4 10.0.0.5 10.0.0.9 10.0.0.10", [(9, 17, "ipv4", &["10.0.0.5-10.0.0.9"]), (18, 26, "ipv4", &["10.0.0.5-10.0.0.9"])]),
    ip140 => (["0.0.0.0/0"], "255.255.255.255 0.0.0.0", [(0, 15, "ipv4", &["0.0.0.0/0"]), (16, 23, "ipv4", &["0.0.0.0/0"])]),
    ip150 => (["1.2.3.4"], "256.2.3.4 1.2.3.4", [(10, 17, "ipv4", &["1.2.3.4"])]),
}

rows! { ipv6:
    ip6010 => (["2001:db8::1"], "2001:db8::1", [(0, 11, "ipv6", &["2001:db8::1"])]),
    ip6020 => (["2001:db8::1"], "src:2001:db8::1 ip6:2001:DB8::1", [(4, 15, "ipv6", &["2001:db8::1"]), (20, 31, "ipv6", &["2001:db8::1"])]),
    ip6030 => (["2001:db8::1"], "dst=[2001:db8::1]:443", [(5, 16, "ipv6", &["2001:db8::1"])]),
    ip6040 => (["2001:db8::1"], "2001:0db8:0000:0000:0000:0000:0000:0001", [(0, 39, "ipv6", &["2001:db8::1"])]),
    ip6050 => (["2001:db8::/32"], "fe80::1%eth0 2001:db8:ffff::2", [(13, 29, "ipv6", &["2001:db8::/32"])]),
    ip6060 => (["::/0"], "00:1a:2b:3c:4d:5e 12:34:56 ::", NONE),
    ip6070 => (["1.2.3.4"], "64:ff9b::1.2.3.4", NONE),
    ip6080 => (["64:ff9b::/96"], "64:ff9b::1.2.3.4", [(0, 16, "ipv6", &["64:ff9b::/96"])]),
    ip6090 => (["1.2.3.4"], "::ffff:1.2.3.4", [(0, 14, "ipv4", &["1.2.3.4"])]),
    ip6100 => (["1.2.3.4"], "::ffff:1.2.3.4:443", [(7, 14, "ipv4", &["1.2.3.4"])]),
    ip6110 => (["2001:db8::1"], "2001:db8::1.", [(0, 11, "ipv6", &["2001:db8::1"])]),
    ip6120 => (["2001:db8::1"], "at 2001:db8::1: done", [(3, 14, "ipv6", &["2001:db8::1"])]),
}

rows! { strings:
    str010 => (["string:Mozilla/5.0 (evil)"], "UA: Mozilla/5.0 (evil) x", [(4, 22, "string", &["Mozilla/5.0 (evil)"])]),
    str020 => (["string:aa"], "aaa", [(0, 2, "string", &["aa"]), (1, 3, "string", &["aa"])]),
    str030 => (["string:abc", "string:bc"], "xabcx", [(1, 4, "string", &["abc"]), (2, 4, "string", &["bc"])]),
    str040 => (["string:ABC"], "abc", NONE),
}
