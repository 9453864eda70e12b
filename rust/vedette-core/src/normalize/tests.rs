//! Tests of the parent module, one table row per case.

use super::*;
use Kind::{Domain, Email, Hostname, Ipv4, Ipv6, Md5, Sha1, Sha224, Sha256, Sha384, Sha512, Url};

type Want = Result<(Kind, &'static str), (Option<Kind>, &'static str)>;
const STR: Kind = Kind::String;
const N: Option<Kind> = None;

/// (id, input, kind asked for, canonical kind and value, or error kind and reason part)
#[rustfmt::skip]
const CASES: &[(&str, &str, Option<Kind>, Want)] = &[
    // inference, in rule order
    ("inf-domain", "evil.example", N, Ok((Domain, "evil.example"))),
    ("inf-domain-case-dot", "EVIL.example.", N, Ok((Domain, "evil.example"))),
    ("inf-ws", " \t\x0bevil.example\r\n\x0c", N, Ok((Domain, "evil.example"))),
    ("inf-idn", "bücher.de", N, Ok((Domain, "xn--bcher-kva.de"))),
    ("inf-idn-tld", "пример.рф", N, Ok((Domain, "xn--e1afmkfd.xn--p1ai"))),
    ("inf-zip", "invoice.zip", N, Ok((Domain, "invoice.zip"))),
    ("inf-exe", "payload.exe", N, Ok((STR, "payload.exe"))),
    ("inf-ua", "Mozilla/5.0", N, Ok((STR, "Mozilla/5.0"))),
    ("inf-ua-url", "Mozilla/5.0 (+http://a.example/bot)", N, Ok((STR, "Mozilla/5.0 (+http://a.example/bot)"))),
    ("inf-one-label", "localhost", N, Ok((STR, "localhost"))),
    ("inf-underscore", "_dmarc.evil.example", N, Ok((Domain, "_dmarc.evil.example"))),
    ("inf-underscore-real", "securely_ledger_download.teachable.com", N, Ok((Domain, "securely_ledger_download.teachable.com"))),
    ("inf-underscore-exe", "a_b.exe", N, Ok((STR, "a_b.exe"))),
    ("inf-underscore-only", "_._", N, Ok((STR, "_._"))),
    ("inf-ipv4", "1.2.3.4", N, Ok((Ipv4, "1.2.3.4"))),
    ("inf-lead0", "010.1.1.1", N, Err((Some(Ipv4), "octet 010 has a leading zero"))),
    ("inf-octet", "1.2.3.256", N, Err((Some(Ipv4), "octet 256 is out of range 0-255"))),
    ("inf-cidr", "10.0.0.0/8", N, Ok((Ipv4, "10.0.0.0/8"))),
    ("inf-range", "1.2.3.0 - 1.2.3.255", N, Ok((Ipv4, "1.2.3.0/24"))),
    ("inf-ip-path", "1.2.3.4/admin", N, Ok((Url, "1.2.3.4/admin"))),
    ("inf-ip-path-real", "1.1.1.1/ca", N, Ok((Url, "1.1.1.1/ca"))),
    ("inf-ip-root", "1.2.3.4/", N, Ok((Url, "1.2.3.4/"))),
    ("inf-ip-port-path", "1.2.3.4:8080/x", N, Ok((Url, "1.2.3.4:8080/x"))),
    ("inf-ip-port-digits", "1.2.3.4:8080/24", N, Ok((Url, "1.2.3.4:8080/24"))),
    ("inf-ip-query", "1.2.3.4/24?x", N, Ok((Url, "1.2.3.4/24?x"))),
    ("inf-ip-prefix", "1.2.3.4/24", N, Ok((Ipv4, "1.2.3.0/24"))),
    ("inf-ip-prefix0", "1.2.3.4/024", N, Err((Some(Ipv4), "prefix length 024 has a leading zero"))),
    ("inf-ip-prefix00", "10.0.0.0/0", N, Ok((Ipv4, "0.0.0.0/0"))),
    ("inf-ip-prefix-range", "1.2.3.4/33", N, Err((Some(Ipv4), "prefix length 33 is out of range"))),
    ("inf-ip-path-lead0", "010.1.1.1/x", N, Err((Some(Url), "octet 010 has a leading zero"))),
    ("inf-ip-path-octet", "1.2.3.256/x", N, Err((Some(Url), "octet 256 is out of range"))),
    ("inf-ip-port", "1.2.3.4:8080", N, Ok((STR, "1.2.3.4:8080"))),
    ("inf-ip-five", "1.2.3.4.5/x", N, Ok((STR, "1.2.3.4.5/x"))),
    ("inf-v6-path", "[2001:DB8::1]/x", N, Ok((Url, "[2001:db8::1]/x"))),
    ("inf-v6-port-path", "[2001:db8::1]:8080/x", N, Ok((Url, "[2001:db8::1]:8080/x"))),
    ("inf-v6-zone-path", "[fe80::1%eth0]/x", N, Err((Some(Url), "zone"))),
    ("inf-v6-junk-path", "[2001:db8::1]x/y", N, Ok((STR, "[2001:db8::1]x/y"))),
    ("inf-v6-not-addr", "[INFO]/x", N, Ok((STR, "[INFO]/x"))),
    ("inf-v6-bare-path", "2001:db8::1/x", N, Ok((STR, "2001:db8::1/x"))),
    ("inf-ipv6", "2001:DB8:0:0:0:0:0:1", N, Ok((Ipv6, "2001:db8::1"))),
    ("inf-mapped", "::ffff:1.2.3.4", N, Ok((Ipv4, "1.2.3.4"))),
    ("inf-zone", "fe80::1%eth0", N, Err((Some(Ipv6), "zone %eth0 is not allowed"))),
    ("inf-mac", "00:1a:2b:3c:4d:5e", N, Ok((STR, "00:1a:2b:3c:4d:5e"))),
    ("inf-md5", "D41D8CD98F00B204E9800998ECF8427E", N, Ok((Md5, "d41d8cd98f00b204e9800998ecf8427e"))),
    ("inf-hex33", "d41d8cd98f00b204e9800998ecf8427e0", N, Ok((STR, "d41d8cd98f00b204e9800998ecf8427e0"))),
    ("inf-url", "http://evil.example/a", N, Ok((Url, "evil.example/a"))),
    ("inf-url-bad", "http://ev!l.example/", N, Err((Some(Url), "character '!' is not allowed"))),
    ("inf-host-path", "evil.example/a", N, Ok((Url, "evil.example/a"))),
    ("inf-host-port-path", "evil.example:8080/x", N, Ok((Url, "evil.example:8080/x"))),
    ("inf-host-port", "evil.example:8080", N, Ok((STR, "evil.example:8080"))),
    ("inf-host-_-path", "a_b.evil.example/x", N, Ok((Url, "a_b.evil.example/x"))),
    ("inf-path-@", "evil.example/login@x.example", N, Ok((Url, "evil.example/login@x.example"))),
    ("inf-query-@", "evil.example/?to=a@x.example", N, Ok((Url, "evil.example/?to=a@x.example"))),
    ("inf-ip-path-@", "1.2.3.4/a@b", N, Ok((Url, "1.2.3.4/a@b"))),
    ("inf-path-@-no-host", "payload/x@y.example", N, Ok((STR, "payload/x@y.example"))),
    ("inf-userinfo", "user@evil.example/x", N, Err((Some(Email), "character '/' is not allowed"))),
    ("inf-email", "Alice@Evil.Example", N, Ok((Email, "alice@evil.example"))),
    ("inf-email-_", "a@b_c.example", N, Ok((Email, "a@b_c.example"))),
    ("inf-email-plain", "a@b.example", N, Ok((Email, "a@b.example"))),
    ("inf-email-ws", "Al <a@b.example>", N, Ok((STR, "Al <a@b.example>"))),
    ("inf-empty", " \t ", N, Err((None, "empty value"))),
    // ipv4
    ("v4-one", "1.2.3.4", Some(Ipv4), Ok((Ipv4, "1.2.3.4"))),
    ("v4-32", "1.2.3.4/32", Some(Ipv4), Ok((Ipv4, "1.2.3.4"))),
    ("v4-masked", "10.1.2.3/8", Some(Ipv4), Ok((Ipv4, "10.0.0.0/8"))),
    ("v4-slash0", "0.0.0.0/0", Some(Ipv4), Ok((Ipv4, "0.0.0.0/0"))),
    ("v4-prefix", "1.2.3.4/33", Some(Ipv4), Err((Some(Ipv4), "prefix length 33 is out of range 0-32"))),
    ("v4-range-cidr", "1.2.3.0-1.2.3.255", Some(Ipv4), Ok((Ipv4, "1.2.3.0/24"))),
    ("v4-range-one", "1.2.3.4-1.2.3.4", Some(Ipv4), Ok((Ipv4, "1.2.3.4"))),
    ("v4-range", "1.2.3.1 -\t1.2.3.6", Some(Ipv4), Ok((Ipv4, "1.2.3.1-1.2.3.6"))),
    ("v4-range-all", "0.0.0.0-255.255.255.255", Some(Ipv4), Ok((Ipv4, "0.0.0.0/0"))),
    ("v4-range-back", "1.2.3.9-1.2.3.1", Some(Ipv4), Err((Some(Ipv4), "start 1.2.3.9 is after its end 1.2.3.1"))),
    ("v4-range-mix", "1.2.3.4-2001:db8::1", Some(Ipv4), Err((Some(Ipv4), "range mixes ipv4 and ipv6"))),
    ("v4-range-mapped", "1.2.3.4-::ffff:1.2.3.9", Some(Ipv4), Ok((Ipv4, "1.2.3.4-1.2.3.9"))),
    ("v4-lead0", "1.2.3.04", Some(Ipv4), Err((Some(Ipv4), "octet 04 has a leading zero"))),
    ("v4-given-v6", "2001:db8::1", Some(Ipv4), Err((Some(Ipv4), "an ipv6 value is not ipv4"))),
    ("v4-given-mapped", "::ffff:1.2.3.4", Some(Ipv4), Ok((Ipv4, "1.2.3.4"))),
    ("v4-short", "1.2.3", Some(Ipv4), Err((Some(Ipv4), "not an ipv4 address, network or range"))),
    ("v4-five", "1.2.3.4.5", Some(Ipv4), Err((Some(Ipv4), "not an ipv4 address"))),
    ("v4-no-prefix", "1.2.3.4/", Some(Ipv4), Err((Some(Ipv4), "not an ipv4 address"))),
    ("v4-port", "1.2.3.4:80", Some(Ipv4), Err((Some(Ipv4), "not an ipv4 address"))),
    // ipv6
    ("v6-5952", "2001:DB8:0:0:0:0:0:1", Some(Ipv6), Ok((Ipv6, "2001:db8::1"))),
    ("v6-quad-tail", "1:2:3:4:5:6:1.2.3.4", Some(Ipv6), Ok((Ipv6, "1:2:3:4:5:6:102:304"))),
    ("v6-net", "2001:db8::/32", Some(Ipv6), Ok((Ipv6, "2001:db8::/32"))),
    ("v6-masked", "2001:db8::1/32", Some(Ipv6), Ok((Ipv6, "2001:db8::/32"))),
    ("v6-128", "2001:db8::1/128", Some(Ipv6), Ok((Ipv6, "2001:db8::1"))),
    ("v6-prefix", "2001:db8::/129", Some(Ipv6), Err((Some(Ipv6), "prefix length 129 is out of range 0-128"))),
    ("v6-mapped-96", "::ffff:0:0/96", Some(Ipv6), Ok((Ipv4, "0.0.0.0/0"))),
    ("v6-mapped-120", "::ffff:1.2.3.0/120", Some(Ipv6), Ok((Ipv4, "1.2.3.0/24"))),
    ("v6-mapped-128", "::FFFF:102:304/128", Some(Ipv6), Ok((Ipv4, "1.2.3.4"))),
    ("v6-mapped-95", "::ffff:0:0/95", Some(Ipv6), Ok((Ipv6, "::fffe:0:0/95"))),
    ("v6-range", "2001:db8::1 - 2001:db8::ff", Some(Ipv6), Ok((Ipv6, "2001:db8::1-2001:db8::ff"))),
    ("v6-range-cidr", "2001:db8::-2001:db8::ffff", Some(Ipv6), Ok((Ipv6, "2001:db8::/112"))),
    ("v6-range-all", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some(Ipv6), Ok((Ipv6, "::/0"))),
    ("v6-range-one", "::1-0::1", Some(Ipv6), Ok((Ipv6, "::1"))),
    ("v6-range-mapped", "::ffff:1.2.3.0-::ffff:1.2.3.127", Some(Ipv6), Ok((Ipv4, "1.2.3.0/25"))),
    ("v6-zone", "fe80::1%eth0", Some(Ipv6), Err((Some(Ipv6), "zone %eth0 is not allowed"))),
    ("v6-given-quad", "1.2.3.4", Some(Ipv6), Err((Some(Ipv6), "a dotted quad is ipv4, not ipv6"))),
    ("v6-given-mapped", "::ffff:1.2.3.4", Some(Ipv6), Ok((Ipv4, "1.2.3.4"))),
    ("v6-brackets", "[2001:db8::1]", Some(Ipv6), Err((Some(Ipv6), "not an ipv6 address"))),
    ("v6-bad", "2001:db8:::1", Some(Ipv6), Err((Some(Ipv6), "not an ipv6 address"))),
    // domain and hostname
    ("dom-case-dot", "EVIL.example.", Some(Domain), Ok((Domain, "evil.example"))),
    ("dom-idn", "BÜCHER.de", Some(Domain), Ok((Domain, "xn--bcher-kva.de"))),
    ("dom-one-label", "localhost", Some(Domain), Ok((Domain, "localhost"))),
    ("dom-any-tld", "payload.exe", Some(Domain), Ok((Domain, "payload.exe"))),
    ("dom-_", "_dmarc.Evil.Example", Some(Domain), Ok((Domain, "_dmarc.evil.example"))),
    ("dom-empty-label", "evil..example", Some(Domain), Err((Some(Domain), "empty label"))),
    ("dom-two-dots", "evil.example..", Some(Domain), Err((Some(Domain), "empty label"))),
    ("dom-dot", ".", Some(Domain), Err((Some(Domain), "empty host name"))),
    ("dom-char", "evil!.example", Some(Domain), Err((Some(Domain), "character '!' is not allowed"))),
    ("dom-slash", "evil.example/x", Some(Domain), Err((Some(Domain), "character '/' is not allowed"))),
    ("dom-numeric", "1.2.3.4", Some(Domain), Err((Some(Domain), "last label is numeric"))),
    ("dom-bad-idn", "a\u{200d}b.example", Some(Domain), Err((Some(Domain), "not a valid internationalized"))),
    ("host-_", "_Srv.Evil.Example.", Some(Hostname), Ok((Hostname, "_srv.evil.example"))),
    ("host-idn", "bücher.de", Some(Hostname), Ok((Hostname, "xn--bcher-kva.de"))),
    // url
    ("url-all", "HTTP://User:pw@Evil.Example:80/a?b#c", Some(Url), Ok((Url, "evil.example/a?b"))),
    ("url-https-443", "https://evil.example:443", Some(Url), Ok((Url, "evil.example/"))),
    ("url-https-8443", "https://evil.example:8443", Some(Url), Ok((Url, "evil.example:8443/"))),
    ("url-http-443", "http://evil.example:443/", Some(Url), Ok((Url, "evil.example:443/"))),
    ("url-ftp", "ftp://evil.example:21/f", Some(Url), Ok((Url, "evil.example/f"))),
    ("url-ws", "ws://evil.example:80/", Some(Url), Ok((Url, "evil.example/"))),
    ("url-wss", "WSS://evil.example:443/s", Some(Url), Ok((Url, "evil.example/s"))),
    ("url-other-scheme", "hxxp://evil.example:80/", Some(Url), Ok((Url, "evil.example:80/"))),
    ("url-no-scheme-port", "evil.example:80/x", Some(Url), Ok((Url, "evil.example:80/x"))),
    ("url-port-zeros", "http://evil.example:0080/", Some(Url), Ok((Url, "evil.example/"))),
    ("url-port-zeros2", "evil.example:08080", Some(Url), Ok((Url, "evil.example:8080/"))),
    ("url-port-range", "http://evil.example:65536/", Some(Url), Err((Some(Url), "port 65536 is out of range"))),
    ("url-port-nan", "http://evil.example:8o/", Some(Url), Err((Some(Url), "port 8o is not a number"))),
    ("url-host-dot", "http://evil.example./a", Some(Url), Ok((Url, "evil.example/a"))),
    ("url-empty-port", "http://evil.example:/a", Some(Url), Ok((Url, "evil.example/a"))),
    ("url-v6", "http://[2001:DB8::1]:8080/x", Some(Url), Ok((Url, "[2001:db8::1]:8080/x"))),
    ("url-v6-default", "https://[2001:db8:0::1]:443", Some(Url), Ok((Url, "[2001:db8::1]/"))),
    ("url-v6-zone", "http://[fe80::1%25eth0]/", Some(Url), Err((Some(Url), "zone"))),
    ("url-v6-bare", "http://2001:db8::1/", Some(Url), Err((Some(Url), "needs brackets"))),
    ("url-v6-junk", "http://[::1]x/", Some(Url), Err((Some(Url), "unexpected text after ']'"))),
    ("url-v4", "http://1.2.3.4:8080/x", Some(Url), Ok((Url, "1.2.3.4:8080/x"))),
    ("url-v4-lead0", "http://010.1.1.1/", Some(Url), Err((Some(Url), "octet 010 has a leading zero"))),
    ("url-empty-query", "http://evil.example/a?", Some(Url), Ok((Url, "evil.example/a?"))),
    ("url-query-no-path", "http://evil.example?q=1#f", Some(Url), Ok((Url, "evil.example/?q=1"))),
    ("url-fragment", "http://evil.example#top", Some(Url), Ok((Url, "evil.example/"))),
    ("url-exact-path", "http://Evil.example/A%2f/ä?Q=1&x", Some(Url), Ok((Url, "evil.example/A%2f/ä?Q=1&x"))),
    ("url-idn", "http://Bücher.de/x", Some(Url), Ok((Url, "xn--bcher-kva.de/x"))),
    ("url-_", "http://a_b.evil.example/", Some(Url), Ok((Url, "a_b.evil.example/"))),
    ("url-userinfo-@", "http://a@b@evil.example/", Some(Url), Ok((Url, "evil.example/"))),
    ("url-scheme-in-query", "evil.example/r?u=http://x", Some(Url), Ok((Url, "evil.example/r?u=http://x"))),
    ("url-space", "http://evil.example/a b", Some(Url), Err((Some(Url), "0x20"))),
    ("url-control", "http://evil.example/a\x01", Some(Url), Err((Some(Url), "0x01"))),
    ("url-bad-scheme", "1http://evil.example/", Some(Url), Err((Some(Url), "scheme \"1http\" is not valid"))),
    ("url-empty-scheme", "://evil.example/", Some(Url), Err((Some(Url), "scheme \"\" is not valid"))),
    ("url-no-host", "file:///etc/passwd", Some(Url), Err((Some(Url), "empty host"))),
    // email
    ("mail-case", "Alice.B+tag@Evil.Example.", Some(Email), Ok((Email, "alice.b+tag@evil.example"))),
    ("mail-idn", "a@Bücher.de", Some(Email), Ok((Email, "a@xn--bcher-kva.de"))),
    ("mail-_", "a@b_c.example", Some(Email), Ok((Email, "a@b_c.example"))),
    ("mail-one-label", "root@localhost", Some(Email), Ok((Email, "root@localhost"))),
    ("mail-local-char", "a!b@evil.example", Some(Email), Err((Some(Email), "'!' in the local part can never match"))),
    ("mail-two-@", "a@b@evil.example", Some(Email), Err((Some(Email), "character '@' in the local part"))),
    ("mail-escape", "a%2Fb@evil.example", Some(Email), Err((Some(Email), "percent escape %2F in the local part"))),
    ("mail-percent", "a%zb%4@evil.example", Some(Email), Ok((Email, "a%zb%4@evil.example"))),
    ("mail-long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@evil.example", Some(Email), Err((Some(Email), "local part is 257 bytes"))),
    ("mail-no-local", "@evil.example", Some(Email), Err((Some(Email), "empty local part"))),
    ("mail-no-domain", "a@", Some(Email), Err((Some(Email), "empty host name"))),
    ("mail-no-@", "alice", Some(Email), Err((Some(Email), "no '@'"))),
    // hashes
    ("md5-upper", "D41D8CD98F00B204E9800998ECF8427E", Some(Md5), Ok((Md5, "d41d8cd98f00b204e9800998ecf8427e"))),
    ("md5-short", "d41d8cd98f00b204e9800998ecf8427", Some(Md5), Err((Some(Md5), "31 hex digits, md5 needs 32"))),
    ("sha1-short", "ABC", Some(Sha1), Err((Some(Sha1), "3 hex digits, sha1 needs 40"))),
    ("sha256-char", "0g", Some(Sha256), Err((Some(Sha256), "character 'g' is not a hex digit"))),
    // string
    ("str-trim", " \tMozilla/5.0 (X)\r\n", Some(STR), Ok((STR, "Mozilla/5.0 (X)"))),
    ("str-exact", "Evil.Example", Some(STR), Ok((STR, "Evil.Example"))),
    ("str-nbsp", "\u{a0}x\u{a0}", Some(STR), Ok((STR, "\u{a0}x\u{a0}"))),
    ("str-empty", "\x0b", Some(STR), Err((Some(STR), "empty value"))),
];

fn check(id: &str, got: Result<Normalized, IndicatorError>, want: Want) {
    match (got, want) {
        (Ok(n), Ok((kind, value))) => {
            assert_eq!((n.kind, n.value.as_str()), (kind, value), "{id}")
        }
        (Err(e), Err((kind, reason))) => {
            assert_eq!(e.kind(), kind, "{id}: {e}");
            assert!(e.reason().contains(reason), "{id}: {:?} lacks {reason:?}", e.reason());
            let r = e.reason();
            assert!(!r.starts_with(char::is_uppercase), "{id}: {r}");
            assert!(!r.ends_with('.'), "{id}: {r}");
        }
        (got, want) => panic!("{id}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn table() {
    for &(id, input, kind, want) in CASES {
        check(id, normalize(input, kind, false), want);
    }
}

#[test]
fn hash_lengths_by_kind() {
    let kinds = [Md5, Sha1, Sha224, Sha256, Sha384, Sha512];
    for kind in kinds {
        let hex = "aB".repeat(kind.hex_len().unwrap() / 2);
        let want = Ok((kind, hex.to_lowercase()));
        let got = |k| normalize(&hex, k, false).map(|n| (n.kind, n.value));
        assert_eq!(got(None), want, "inferred {kind}");
        assert_eq!(got(Some(kind)), want, "{kind}");
    }
}

#[test]
fn strict_rejects_host_bits() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, Option<Kind>, Want)] = &[
        ("v4", "10.1.2.3/8", Some(Ipv4), Err((Some(Ipv4), "host bits set in 10.1.2.3/8 (strict)"))),
        ("v4-inferred", "10.1.2.3/8", N, Err((Some(Ipv4), "host bits set in 10.1.2.3/8 (strict)"))),
        ("v6", "2001:db8::1/32", Some(Ipv6), Err((Some(Ipv6), "host bits set in 2001:db8::1/32 (strict)"))),
        ("v4-clean", "10.0.0.0/8", Some(Ipv4), Ok((Ipv4, "10.0.0.0/8"))),
        ("range", "1.2.3.1-1.2.3.6", Some(Ipv4), Ok((Ipv4, "1.2.3.1-1.2.3.6"))),
    ];
    for &(id, input, kind, want) in cases {
        check(id, normalize(input, kind, true), want);
    }
}

#[test]
fn ip_ranges_and_masking() {
    let v4 = |first, last| Some(IpRange::V4 { first, last });
    let v6 = |first, last| Some(IpRange::V6 { first, last });
    let cases = [
        ("1.2.3.4", v4(0x0102_0304, 0x0102_0304), false),
        ("10.1.2.3/8", v4(0x0a00_0000, 0x0aff_ffff), true),
        ("1.2.3.1-1.2.3.6", v4(0x0102_0301, 0x0102_0306), false),
        ("0.0.0.0/0", v4(0, u32::MAX), false),
        ("::ffff:1.2.3.0/120", v4(0x0102_0300, 0x0102_03ff), false),
        ("2001:db8::1/127", v6(0x2001_0db8 << 96, (0x2001_0db8 << 96) | 1), true),
        ("::/0", v6(0, u128::MAX), false),
        ("::ffff:0:0/95", v6(0xfffe << 32, (1 << 48) - 1), true),
    ];
    for (input, ip, masked) in cases {
        let n = normalize(input, None, false).unwrap();
        assert_eq!((n.ip, n.masked_host_bits), (ip, masked), "{input}");
    }
    let n = normalize("evil.example", None, false).unwrap();
    assert_eq!((n.ip, n.masked_host_bits), (None, false));
}

#[test]
fn host_length_limits() {
    let label63 = "a".repeat(63);
    let label64 = "a".repeat(64);
    // 4 labels of 63 and the dots: 255 bytes. 253 with a shorter last label.
    let host253 = format!("{label63}.{label63}.{label63}.{}", "a".repeat(61));
    let host254 = format!("{host253}a");
    // 55 ASCII letters and one 'ü' make a 63-byte A-label, 56 make a 64-byte one.
    let idn_long = format!("{}ü.example", "a".repeat(55));
    let idn_over = format!("{}ü.example", "a".repeat(56));
    let cases: Vec<(String, Result<&str, &str>)> = vec![
        (format!("{label63}.example"), Ok("")),
        (format!("{label64}.example"), Err("label is 64 bytes, longer than the 63-byte limit")),
        (host253.clone(), Ok("")),
        (format!("{host253}."), Ok("")),
        (host254, Err("host name is 254 bytes, longer than the 253-byte limit")),
        (idn_long, Ok("")),
        (idn_over, Err("label is 64 bytes, longer than the 63-byte limit")),
    ];
    for (input, want) in cases {
        let got = normalize(&input, Some(Domain), false);
        match want {
            Ok(_) => assert!(got.is_ok(), "{input}: {got:?}"),
            Err(reason) => assert_eq!(got.unwrap_err().reason(), reason, "{input}"),
        }
    }
}

#[test]
fn parse_ipv4_strict_quads() {
    #[rustfmt::skip]
    let cases: &[(&str, Option<u32>)] = &[
        ("1.2.3.4", Some(0x0102_0304)), ("0.0.0.0", Some(0)), ("255.255.255.255", Some(u32::MAX)),
        ("10.0.0.1", Some(0x0a00_0001)), ("256.0.0.1", None), ("01.2.3.4", None), ("1.2.3.00", None),
        ("1.2.3", None), ("1.2.3.4.", None), ("1.2.3.4.5", None), (" 1.2.3.4", None), ("1..3.4", None),
        ("1.2.3.1000", None), ("1.2.3.-4", None), ("", None), ("1.2.3.4/8", None), ("a.b.c.d", None),
    ];
    for &(input, want) in cases {
        assert_eq!(parse_ipv4(input.as_bytes()), want, "{input}");
    }
}

#[test]
fn parse_ipv6_rfc4291_forms() {
    #[rustfmt::skip]
    let cases: &[(&[u8], Option<u128>)] = &[
        (b"::", Some(0)), (b"::1", Some(1)), (b"1::", Some(1 << 112)),
        (b"1:2:3:4:5:6:7:8", Some(0x0001_0002_0003_0004_0005_0006_0007_0008)),
        (b"1:2:3:4:5:6:7::", Some(0x0001_0002_0003_0004_0005_0006_0007_0000)),
        (b"0000:0000:0000:0000:0000:ffff:255.255.255.255", Some(0xffff_ffff_ffff)),
        (b"::FFFF:1.2.3.4", Some(0xffff_0102_0304)), (b"::1.2.3.4", Some(0x0102_0304)),
        (b"::ffff:01.2.3.4", None), (b"1:2:3:4:5:6:7:8:9", None), (b"12345::", None),
        (b"[::1]", None), (b"fe80::1%1", None), (b"::1/128", None), (b":::", None),
        (b"1::2::3", None), (b"g::", None), (b":", None), (b"1.2.3.4", None), (b"::\xff", None),
    ];
    for &(input, want) in cases {
        assert_eq!(parse_ipv6(input), want, "{}", String::from_utf8_lossy(input));
    }
}

#[test]
fn ipv4_mapped_block() {
    assert_eq!(ipv4_mapped(0xffff_0102_0304), Some(0x0102_0304));
    assert_eq!(ipv4_mapped(0xffff_0000_0000), Some(0));
    assert_eq!(ipv4_mapped(0x0102_0304), None); // ::1.2.3.4 (compatible, not mapped)
    assert_eq!(ipv4_mapped(0x1_ffff_0102_0304), None);
    assert_eq!(ipv4_mapped(0xfffe_0102_0304), None);
}

#[test]
fn top_level_labels() {
    let yes = ["com", "COM", "de", "zip", "example", "test", "invalid", "localhost", "local"];
    let more = ["onion", "xn--p1ai", "рф", "XN--P1AI"];
    for label in yes.into_iter().chain(more) {
        assert!(is_top_level_label(label), "{label}");
    }
    // The list names `ck`, `er` and `pg` only through wildcards below them, `za` only
    // through its second-level rules (`co.za`).
    for label in ["ck", "er", "pg", "za", "ZA"] {
        assert!(is_top_level_label(label), "{label}");
    }
    // Suffixes of two labels are no top-level labels.
    let long = "a".repeat(100);
    for label in ["exe", "", "com.", ".com", "# top", long.as_str(), "co.uk", "github.io", "www"] {
        assert!(!is_top_level_label(label), "{label}");
    }
}

#[test]
fn public_suffixes() {
    #[rustfmt::skip]
    let rows: &[(&str, &str, bool)] = &[
        ("psl010", "com", true),
        ("psl020", "co.uk", true),
        ("psl030", "github.io", true),                    // private section
        ("psl040", "pages.dev", true),
        ("psl050", "s3.us-east-1.amazonaws.com", true),
        ("psl060", "evil.github.io", false),
        ("psl070", "example.com", false),
        ("psl080", "x.ck", true),                         // wildcard `*.ck`
        ("psl090", "www.ck", false),                      // exception `!www.ck`
        ("psl100", "ck", true),
        ("psl110", "za", true),
        ("psl120", "exe", false),                         // no TLD
        ("psl130", "example", false),                     // special-use, not in the list
        ("psl140", "io", true),
        ("psl150", "xn--p1ai", true),
        ("psl160", "", false),
        ("psl170", "com.", false),
        ("psl180", ".com", false),
        ("psl190", "duckdns.org", true),
        ("psl200", "evil.duckdns.org", false),
    ];
    for &(id, name, want) in rows {
        assert_eq!(is_public_suffix(name), want, "row {id}: {name}");
    }
}

#[test]
fn plainly_canonical_rows() {
    #[rustfmt::skip]
    let rows: &[(&str, Kind, &str, bool)] = &[
        ("plain010", Domain, "evil.example", true),
        ("plain020", Domain, ".example", false),          // empty first label
        ("plain030", Domain, "a..b.example", false),
        ("plain040", Domain, "example.", false),
        ("plain050", Domain, "Evil.example", false),
        ("plain060", Domain, "evil.123", false),          // numeric last label
        ("plain070", Hostname, &"a".repeat(64), false),   // label over 63 bytes
        ("plain080", Url, "evil.example/p", true),
        ("plain090", Url, ".example/p", false),
        ("plain100", Url, "./p", false),
        ("plain110", Url, "evil.example:8080/p", true),
        ("plain120", Url, "evil.example:080/p", false),   // leading zero
        ("plain130", Url, "evil.example:/p", false),      // empty port
        ("plain140", Url, "evil.example:70000/p", false),
        ("plain150", Url, "evil.example/p#f", false),     // fragment
        ("plain160", Url, "evil.example?q", false),       // no path
        ("plain170", Url, "1.2.3.4/p", false),            // IP hosts are parsed
        ("plain180", Email, "a@evil.example", true),
        ("plain190", Email, "a@b@evil.example", false),
        ("plain200", Email, "@evil.example", false),
        ("plain210", Email, "a@.example", false),
        ("plain220", STR, "cmd.exe /c", true),
        ("plain230", STR, " cmd", false),
        ("plain240", Md5, "d41d8cd98f00b204e9800998ecf8427e", true),
        ("plain250", Md5, "D41d8cd98f00b204e9800998ecf8427e", false),
    ];
    for &(id, kind, value, want) in rows {
        assert_eq!(is_plainly_canonical(kind, value), want, "row {id}: {kind} {value}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8192))]
    /// What the quick check passes, normalization writes unchanged: a saved index loads
    /// only values a builder could have made.
    #[test]
    fn plainly_canonical_values_normalize_to_themselves(
        value in "[a-z0-9._+-]{0,6}(@[a-z0-9._-]{0,8})?(:[0-9]{0,3})?(/[a-z0-9.#?%/]{0,6})?|[a-z0-9 ._@:/%#?-]{0,24}",
        kind in proptest::sample::select(&[Domain, Hostname, Url, Email, STR, Md5][..]),
    ) {
        if is_plainly_canonical(kind, &value) {
            let n = normalize(&value, Some(kind), true);
            proptest::prop_assert!(n.as_ref().is_ok_and(|n| n.kind == kind && n.value == value), "{kind} {value:?}: {n:?}");
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8192))]
    /// The quick test of `parse_ip` turns away only what the parse would: values of
    /// address bytes mixed with a few others, zones, ranges and networks among them.
    #[test]
    fn what_cannot_be_an_ip_does_not_parse_as_one(
        value in "[0-9a-fA-F.:/ %-]{0,12}[g-zG-Z_\\[\\]@]?[0-9a-fA-F.:/ %-]{0,12}|(::ffff:)?[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9x]{1,2}| ?- ?[0-9.x]{1,12})?",
        strict in proptest::bool::ANY,
    ) {
        if cannot_be_ip(&value) {
            proptest::prop_assert!(parse_ip_text(&value, strict).is_none(), "{value:?}");
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8192))]
    /// What the quick host-name path of a lookup writes is what normalization writes, of
    /// the kind given or inferred.
    #[test]
    fn plain_host_names_normalize_as_the_quick_path_writes_them(
        value in " ?[a-zA-Z0-9_-]{0,5}(\\.[a-zA-Z0-9_-]{0,4}){0,3}\\.(com|DE|example|exe|xn--p1ai|[a-z0-9-]{0,3})\\.{0,2} ?",
        kind in proptest::sample::select(&[None, Some(Domain), Some(Hostname), Some(Url)][..]),
    ) {
        let mut buf = [0; 253];
        if let Some(name) = plain_host_name(&value, kind, &mut buf) {
            let n = normalize(&value, kind, false);
            let want = std::str::from_utf8(name).unwrap();
            proptest::prop_assert!(
                n.as_ref().is_ok_and(|n| matches!(n.kind, Domain | Hostname) && n.value == want),
                "{kind:?} {value:?}: {n:?} against {want:?}"
            );
        }
    }
}

/// The memo of top-level labels answers as the list does, whatever shares its slots.
#[test]
fn remembered_top_level_labels_are_the_lists() {
    let labels: Vec<Vec<u8>> =
        ["com", "COM", "exe", "de", "example", "zz", "xn--p1ai", "local", "a", "a\0", "onion", "io"]
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .chain((0..300u32).map(|n| format!("l{n}").into_bytes()))
            .collect();
    for _ in 0..3 {
        for label in &labels {
            assert_eq!(is_top_level_label_bytes(label), is_top_level_label_uncached(label), "{label:?}");
        }
    }
    assert!(
        is_top_level_label_bytes(b"com")
            && is_top_level_label_bytes(b"COM")
            && !is_top_level_label_bytes(b"exe")
    );
}
