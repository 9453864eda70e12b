//! The canonical form of every kind. Build and match both call this module, so a value
//! means the same thing on either side.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use crate::error::IndicatorError;
use crate::indicator::Kind;

/// The addresses an IP indicator covers, inclusive at both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpRange {
    V4 { first: u32, last: u32 },
    V6 { first: u128, last: u128 },
}

/// A value in canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    pub kind: Kind,
    pub value: String,
    /// For `ipv4` and `ipv6`: the addresses the value covers.
    pub ip: Option<IpRange>,
    /// A network was given with host bits set and was masked to its network address.
    pub masked_host_bits: bool,
}

/// Puts `value` (ASCII whitespace around it ignored) in the canonical form of `kind`,
/// inferring the kind when it is `None`.
///
/// With `strict`, a network with host bits set is an error instead of being masked.
///
/// The canonical kind wins over the kind asked for: an IPv4-mapped IPv6 value
/// (`::ffff:1.2.3.4`, or a network inside `::ffff:0:0/96`) asked for as `ipv6` comes back
/// as `ipv4`, so both spellings are one entry. A dotted quad asked for as `ipv6`, and an
/// unmapped IPv6 value asked for as `ipv4`, are errors.
pub fn normalize(value: &str, kind: Option<Kind>, strict: bool) -> Result<Normalized, IndicatorError> {
    let v = value.trim_matches(is_ws);
    let fail = |kind: Option<Kind>, reason: String| IndicatorError::new(kind, v, reason);
    if v.is_empty() {
        return Err(fail(kind, "empty value".into()));
    }
    let Some(kind) = kind else {
        return infer(v, strict);
    };
    let value = match kind {
        Kind::Ipv4 | Kind::Ipv6 => {
            let ip = match parse_ip(v, strict) {
                None => Err(format!("not an {kind} address, network or range")),
                Some(parsed) => parsed.map_err(|(_, reason)| reason),
            };
            return match ip {
                Ok(ip) if kind == Kind::Ipv4 && ip.norm.kind == Kind::Ipv6 => {
                    Err(fail(Some(kind), "an ipv6 value is not ipv4".into()))
                }
                Ok(ip) if kind == Kind::Ipv6 && ip.wrote_v4 => {
                    Err(fail(Some(kind), "a dotted quad is ipv4, not ipv6".into()))
                }
                Ok(ip) => Ok(ip.norm),
                Err(reason) => Err(fail(Some(kind), reason)),
            };
        }
        Kind::Domain | Kind::Hostname => host_name(v, true),
        Kind::Url => url(v),
        Kind::Email => email(v, true),
        Kind::String => Ok(v.to_string()),
        Kind::Md5 | Kind::Sha1 | Kind::Sha224 | Kind::Sha256 | Kind::Sha384 | Kind::Sha512 => hash(v, kind),
    };
    value.map(|value| text(kind, value)).map_err(|reason| fail(Some(kind), reason))
}

/// Whether `label` (ASCII case-insensitive) is a top-level label of the Public Suffix List
/// or a special-use name.
pub fn is_top_level_label(label: &str) -> bool {
    static SET: OnceLock<HashSet<&'static [u8]>> = OnceLock::new();
    let set = SET.get_or_init(|| {
        let special_use = ["example", "test", "invalid", "localhost", "local", "onion"];
        include_str!("tld.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .chain(special_use)
            .map(str::as_bytes)
            .collect()
    });
    // Lowercase on the stack: the text scanner asks this at every candidate host.
    let mut buf = [0u8; 64];
    let Some(lower) = buf.get_mut(..label.len()) else {
        return false;
    };
    lower.copy_from_slice(label.as_bytes());
    lower.make_ascii_lowercase();
    set.contains(&*lower)
}

/// A strict dotted quad: four octets 0-255 without leading zeros, nothing else.
pub(crate) fn parse_ipv4(bytes: &[u8]) -> Option<u32> {
    if !(7..=15).contains(&bytes.len()) {
        return None;
    }
    let (mut addr, mut i) = (0u32, 0usize);
    for octet in 0..4 {
        if octet > 0 {
            if bytes.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut n = 0u32;
        // At most three digits: a fourth one is then not a '.', which fails below.
        while i - start < 3 && i < bytes.len() && bytes[i].is_ascii_digit() {
            n = n * 10 + u32::from(bytes[i] - b'0');
            i += 1;
        }
        if i == start || n > 255 || (i - start > 1 && bytes[start] == b'0') {
            return None;
        }
        addr = addr << 8 | n;
    }
    (i == bytes.len()).then_some(addr)
}

/// Any RFC 4291 text form of one IPv6 address (no brackets, no zone, no prefix).
pub(crate) fn parse_ipv6(bytes: &[u8]) -> Option<u128> {
    // 45 bytes is the longest form: six 4-digit groups and a dotted quad.
    if !(2..=45).contains(&bytes.len()) {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    text.parse::<Ipv6Addr>().ok().map(u128::from)
}

/// The IPv4 address of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
pub(crate) fn ipv4_mapped(addr: u128) -> Option<u32> {
    (addr >> 32 == 0xffff).then_some(addr as u32)
}

/// The start of `::ffff:0:0/96`: IPv4 values are computed as IPv6 ones inside it.
const MAPPED: u128 = 0xffff << 32;

/// The six bytes design.md calls ASCII whitespace (`str::trim_ascii` misses `\v`).
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// A canonical value of a non-IP kind.
fn text(kind: Kind, value: String) -> Normalized {
    Normalized { kind, value, ip: None, masked_host_bits: false }
}

/// The kind-inference rules of design.md §2, first rule that fits.
fn infer(v: &str, strict: bool) -> Result<Normalized, IndicatorError> {
    if let Some(parsed) = parse_ip(v, strict) {
        return parsed.map(|ip| ip.norm).map_err(|(kind, r)| IndicatorError::new(Some(kind), v, r));
    }
    if let Some(kind) = Kind::hash_of_hex_len(v.len()) {
        if v.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(text(kind, v.to_ascii_lowercase()));
        }
    }
    // No URL, e-mail address or host name holds whitespace or a control byte; such a value
    // (a user agent with "+http://...", "Name <a@b.example>") can only be a string.
    let kind = if v.bytes().any(|b| b <= b' ' || b == 0x7f) {
        Kind::String
    } else if v.contains("://") {
        Kind::Url
    } else if v.contains('@') {
        Kind::Email
    } else if looks_like_host_then_path(v) {
        Kind::Url
    } else if looks_like_hostname(v) {
        Kind::Domain
    } else {
        Kind::String
    };
    let value = match kind {
        Kind::Url => url(v),
        Kind::Email => email(v, false),
        Kind::Domain => host_name(v, false),
        _ => Ok(v.to_string()),
    };
    value.map(|value| text(kind, value)).map_err(|r| IndicatorError::new(Some(kind), v, r))
}

/// A host name as inference sees one: at least two labels of letters, digits and `-`
/// (non-ASCII letters for IDNs), one trailing dot allowed, ending in a top-level label.
fn looks_like_hostname(v: &str) -> bool {
    let v = v.strip_suffix('.').unwrap_or(v);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric()))
    };
    let Some((rest, last)) = v.rsplit_once('.') else {
        return false;
    };
    let tld_ok =
        if last.is_ascii() { is_top_level_label(last) } else { is_top_level_label(&last.to_lowercase()) };
    tld_ok && label_ok(last) && rest.split('.').all(label_ok)
}

/// A host name followed by `/` or `:port/`.
fn looks_like_host_then_path(v: &str) -> bool {
    let Some((authority, _)) = v.split_once('/') else {
        return false;
    };
    match authority.rsplit_once(':') {
        Some((host, port)) => port.bytes().all(|b| b.is_ascii_digit()) && looks_like_hostname(host),
        None => looks_like_hostname(authority),
    }
}

/// An IP value in canonical form, and whether any address in it was written as a dotted
/// quad (the `ipv6` kind refuses those).
struct ParsedIp {
    norm: Normalized,
    wrote_v4: bool,
}

/// An IP failure: the family the value was written in (the inferred kind) and why.
type IpError = (Kind, String);

/// Parses an address, a network `addr/len` or a range `first-last` of either family.
/// `None`: the value does not look like one (inference moves on to the next rule).
fn parse_ip(v: &str, strict: bool) -> Option<Result<ParsedIp, IpError>> {
    // IPv4 and IPv6 text never holds '-' or '/', so the first one splits the value.
    if let Some((a, b)) = v.split_once('-') {
        let (a_text, b_text) = (a.trim_matches(is_ws), b.trim_matches(is_ws));
        let (a, b) = (parse_addr(a_text)?, parse_addr(b_text)?);
        return Some(a.and_then(|a| b.map(|b| (a, b))).and_then(|((first, v4a), (last, v4b))| {
            let family = if v4a { Kind::Ipv4 } else { Kind::Ipv6 };
            // A v4 end makes the other one mapped: 1.2.3.4-::ffff:1.2.3.9 is fine.
            if v4a != v4b && ipv4_mapped(if v4a { last } else { first }).is_none() {
                return Err((family, "range mixes ipv4 and ipv6 addresses".into()));
            }
            if first > last {
                return Err((family, format!("range start {a_text} is after its end {b_text}")));
            }
            Ok(finish(first, last, v4a || v4b, false))
        }));
    }
    if let Some((a, len)) = v.split_once('/') {
        // "1.2.3.4/admin" is not a network; inference goes on (to `string`).
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(parse_addr(a)?.and_then(|(addr, v4)| {
            let (family, bits) = if v4 { (Kind::Ipv4, 32) } else { (Kind::Ipv6, 128) };
            let prefix = len.parse::<u32>().ok().filter(|&p| p <= bits);
            let Some(prefix) = prefix else {
                return Err((family, format!("prefix length {len} is out of range 0-{bits}")));
            };
            let host = u128::MAX.checked_shr(prefix + 128 - bits).unwrap_or(0);
            let masked = addr & host != 0;
            if masked && strict {
                return Err((family, format!("host bits set in {v} (strict)")));
            }
            Ok(finish(addr & !host, addr | host, v4, masked))
        }));
    }
    Some(parse_addr(v)?.map(|(addr, v4)| finish(addr, addr, v4, false)))
}

/// One address, as IPv6 (IPv4 mapped into `::ffff:0:0/96`), and whether it was a dotted
/// quad. `None` when it looks like no address; an error when it looks like one but is not.
fn parse_addr(s: &str) -> Option<Result<(u128, bool), IpError>> {
    if let Some(addr) = parse_ipv4(s.as_bytes()) {
        return Some(Ok((MAPPED | u128::from(addr), true)));
    }
    if let Some(reason) = quad_error(s) {
        return Some(Err((Kind::Ipv4, reason)));
    }
    if let Some(addr) = parse_ipv6(s.as_bytes()) {
        return Some(Ok((addr, false)));
    }
    let (addr, zone) = s.split_once('%')?;
    parse_ipv6(addr.as_bytes())?;
    Some(Err((Kind::Ipv6, format!("zone %{zone} is not allowed"))))
}

/// Why `s`, four dot-separated runs of digits (what a user means as a dotted quad), is not
/// a valid one; `None` when it is not shaped like that or is valid.
fn quad_error(s: &str) -> Option<String> {
    let octets: Vec<&str> = s.split('.').collect();
    let shaped = |o: &&str| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit());
    if octets.len() != 4 || !octets.iter().all(shaped) {
        return None;
    }
    octets.into_iter().find_map(|o| {
        if o.len() > 1 && o.starts_with('0') {
            Some(format!("octet {o} has a leading zero"))
        } else if o.len() > 3 || o.parse::<u32>().is_ok_and(|n| n > 255) {
            Some(format!("octet {o} is out of range 0-255"))
        } else {
            None
        }
    })
}

/// The canonical form of the interval `first..=last` (IPv6 space): the address, the CIDR
/// when the interval is exactly one, else `first-last`; IPv4 when both ends are mapped.
fn finish(first: u128, last: u128, wrote_v4: bool, masked_host_bits: bool) -> ParsedIp {
    fn interval(first: u128, last: u128, bits: u32, show: impl Fn(u128) -> String) -> String {
        let span = last - first;
        if span == 0 {
            show(first)
        } else if span & span.wrapping_add(1) == 0 && first & span == 0 {
            format!("{}/{}", show(first), bits - span.count_ones())
        } else {
            format!("{}-{}", show(first), show(last))
        }
    }
    let (kind, value, ip) = match (ipv4_mapped(first), ipv4_mapped(last)) {
        (Some(a), Some(b)) => {
            let value = interval(a.into(), b.into(), 32, |x| Ipv4Addr::from(x as u32).to_string());
            (Kind::Ipv4, value, IpRange::V4 { first: a, last: b })
        }
        _ => {
            let value = interval(first, last, 128, |x| Ipv6Addr::from(x).to_string());
            (Kind::Ipv6, value, IpRange::V6 { first, last })
        }
    };
    ParsedIp { norm: Normalized { kind, value, ip: Some(ip), masked_host_bits }, wrote_v4 }
}

/// A `domain`/`hostname` value: lowercase ASCII, no trailing dot, A-labels.
fn host_name(v: &str, underscore: bool) -> Result<String, String> {
    let v = v.strip_suffix('.').unwrap_or(v);
    if v.is_empty() {
        return Err("empty host name".into());
    }
    let ascii = if v.is_ascii() {
        v.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(v).map_err(|_| "not a valid internationalized host name")?
    };
    // Limits are on the A-label form, the one DNS and the text scanner see.
    if ascii.len() > 253 {
        return Err(format!("host name is {} bytes, longer than the 253-byte limit", ascii.len()));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label is {} bytes, longer than the 63-byte limit", label.len()));
        }
        let bad = label.bytes().find(|&b| {
            !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (underscore && b == b'_'))
        });
        match bad {
            Some(b'_') => return Err("'_' in a host name needs an explicit kind".into()),
            Some(b) => return Err(format!("character {:?} is not allowed in a host name", b as char)),
            None => {}
        }
    }
    // As in the WHATWG URL parser: a numeric last label means an IPv4 address, not a name.
    if ascii.rsplit('.').next().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return Err("last label is numeric: not a host name".into());
    }
    Ok(ascii)
}

/// A URL as `host[:port]/path[?query]`: scheme, userinfo and fragment dropped.
fn url(v: &str) -> Result<String, String> {
    if let Some(b) = v.bytes().find(|&b| b <= b' ' || b == 0x7f) {
        return Err(format!("byte {b:#04x} (whitespace or control) is not allowed in a url"));
    }
    // A "://" after the path started ("evil.example/r?u=http://x") is not a scheme.
    let (scheme, rest) = match v.find("://") {
        Some(i) if !v[..i].contains(['/', '?', '#']) => (Some(v[..i].to_ascii_lowercase()), &v[i + 3..]),
        _ => (None, v),
    };
    if let Some(s) = &scheme {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) {
            return Err(format!("scheme {s:?} is not valid"));
        }
    }
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host_port = authority.rsplit_once('@').map_or(authority, |(_userinfo, hp)| hp);
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let (addr, after) = inner.split_once(']').ok_or("missing ']' after the ipv6 host")?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("unexpected text after ']'")?),
        };
        if addr.contains('%') {
            return Err("a zone is not allowed in an ipv6 host".into());
        }
        let addr = parse_ipv6(addr.as_bytes()).ok_or("not an ipv6 address inside '[]'")?;
        (format!("[{}]", Ipv6Addr::from(addr)), port)
    } else if parse_ipv6(host_port.as_bytes()).is_some() {
        return Err("an ipv6 host needs brackets: [addr]".into());
    } else {
        let (host, port) = host_port.split_once(':').map_or((host_port, None), |(h, p)| (h, Some(p)));
        let bare = host.strip_suffix('.').unwrap_or(host);
        let host = match (parse_ipv4(bare.as_bytes()), quad_error(bare)) {
            (Some(addr), _) => Ipv4Addr::from(addr).to_string(),
            (None, Some(reason)) => return Err(reason),
            (None, None) if host.is_empty() => return Err("empty host".into()),
            (None, None) => host_name(host, true)?,
        };
        (host, port)
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None => None,
        Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!("port {p} is not a number"));
        }
        Some(p) => {
            // Leading zeros are allowed and dropped: "0080" is port 80.
            let n = match p.trim_start_matches('0') {
                "" => Some(0),
                digits if digits.len() <= 5 => digits.parse::<u32>().ok().filter(|&n| n <= 65535),
                _ => None,
            };
            let n = n.ok_or_else(|| format!("port {p} is out of range 0-65535"))?;
            let default = match scheme.as_deref() {
                Some("http" | "ws") => Some(80),
                Some("https" | "wss") => Some(443),
                Some("ftp") => Some(21),
                _ => None,
            };
            (default != Some(n)).then_some(n)
        }
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let path = if path_end == 0 { "/" } else { &tail[..path_end] };
    let after = &tail[path_end..];
    let query = if after.starts_with('?') { &after[..after.find('#').unwrap_or(after.len())] } else { "" };
    Ok(match port {
        Some(port) => format!("{host}:{port}{path}{query}"),
        None => format!("{host}{path}{query}"),
    })
}

/// An e-mail address: local part as written (lowercased), domain as a host name.
fn email(v: &str, explicit: bool) -> Result<String, String> {
    let (local, domain) = v.rsplit_once('@').ok_or("no '@' in an e-mail address")?;
    if local.is_empty() {
        return Err("empty local part".into());
    }
    // The text scanner bounds an address on the left by a byte outside this set, so a
    // local part with any other byte could never be found.
    if let Some(c) = local.chars().find(|&c| !(c.is_ascii_alphanumeric() || "._%+-".contains(c))) {
        return Err(format!(
            "character {c:?} in the local part can never match in text (only letters, digits and ._%+- can)"
        ));
    }
    let domain = host_name(domain, explicit)?;
    Ok(format!("{}@{domain}", local.to_ascii_lowercase()))
}

/// A hash digest: hex of exactly the kind's length, lowercased.
fn hash(v: &str, kind: Kind) -> Result<String, String> {
    let want = kind.hex_len().unwrap_or_default();
    if let Some(c) = v.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("character {c:?} is not a hex digit"));
    }
    if v.len() != want {
        return Err(format!("{} hex digits, {kind} needs {want}", v.len()));
    }
    Ok(v.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
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
        ("inf-underscore", "_dmarc.evil.example", N, Ok((STR, "_dmarc.evil.example"))),
        ("inf-ipv4", "1.2.3.4", N, Ok((Ipv4, "1.2.3.4"))),
        ("inf-lead0", "010.1.1.1", N, Err((Some(Ipv4), "octet 010 has a leading zero"))),
        ("inf-octet", "1.2.3.256", N, Err((Some(Ipv4), "octet 256 is out of range 0-255"))),
        ("inf-cidr", "10.0.0.0/8", N, Ok((Ipv4, "10.0.0.0/8"))),
        ("inf-range", "1.2.3.0 - 1.2.3.255", N, Ok((Ipv4, "1.2.3.0/24"))),
        ("inf-ip-path", "1.2.3.4/admin", N, Ok((STR, "1.2.3.4/admin"))),
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
        ("inf-email", "Alice@Evil.Example", N, Ok((Email, "alice@evil.example"))),
        ("inf-email-_", "a@b_c.example", N, Err((Some(Email), "'_' in a host name needs an explicit kind"))),
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
        let long = "a".repeat(100);
        for label in ["exe", "", "com.", ".com", "# top", long.as_str()] {
            assert!(!is_top_level_label(label), "{label}");
        }
    }
}
