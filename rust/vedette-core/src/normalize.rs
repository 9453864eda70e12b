//! The canonical form of every kind. Build and match both call this module, so a value
//! means the same thing on either side.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};

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
        Kind::Domain | Kind::Hostname => host_name(v),
        Kind::Url => url(v),
        Kind::Email => email(v),
        Kind::String => Ok(v.to_string()),
        Kind::Md5 | Kind::Sha1 | Kind::Sha224 | Kind::Sha256 | Kind::Sha384 | Kind::Sha512 => hash(v, kind),
    };
    value.map(|value| text(kind, value)).map_err(|reason| fail(Some(kind), reason))
}

/// Whether `label` (ASCII case-insensitive) is a top-level label of the Public Suffix List
/// (ICANN section) or a special-use name (`example`, `test`, `invalid`, `localhost`,
/// `local`, `onion`). IDN labels count in their Unicode and their A-label form.
pub fn is_top_level_label(label: &str) -> bool {
    is_top_level_label_bytes(label.as_bytes())
}

/// [`is_top_level_label`] of ASCII bytes (any other byte: never), remembered for labels
/// of up to 7 bytes: a column of host names asks about `com` and a few others again and
/// again, and the list lookup costs a few hundred instructions.
fn is_top_level_label_bytes(label: &[u8]) -> bool {
    // A slot holds the label's bytes, lowercased, in its low 56 bits, its length in the
    // next three, then a bit saying
    // the slot is set and one for the answer. Threads may race on a slot; each store is a
    // whole answer, so a reader sees an old answer or a new one, both right.
    static MEMO: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
    const SET: u64 = 1 << 62;
    const YES: u64 = 1 << 63;
    if label.is_empty() || label.len() > 7 {
        return is_top_level_label_uncached(label);
    }
    let bytes = label.iter().rev().fold(0u64, |word, &b| word << 8 | u64::from(b.to_ascii_lowercase()));
    let packed = bytes | (label.len() as u64) << 56;
    let slot = &MEMO[(packed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize];
    let seen = slot.load(Ordering::Relaxed);
    if seen & SET != 0 && seen & !(SET | YES) == packed {
        return seen & YES != 0;
    }
    let answer = is_top_level_label_uncached(label);
    slot.store(packed | SET | if answer { YES } else { 0 }, Ordering::Relaxed);
    answer
}

fn is_top_level_label_uncached(label: &[u8]) -> bool {
    let Ok(label) = std::str::from_utf8(label) else {
        return false;
    };
    let mut buf = [0; 65];
    dotted_lower(label, &mut buf).is_some_and(|dotted| {
        matches!(&dotted[1..], b"example" | b"test" | b"invalid" | b"localhost" | b"local" | b"onion")
            || is_icann_tld(dotted)
    })
}

/// `.label`, ASCII-lowercased on the stack (the text scanner asks for top-level labels at
/// every candidate host); `None` when no label that long can be one.
fn dotted_lower<'b>(label: &str, buf: &'b mut [u8; 65]) -> Option<&'b [u8]> {
    let dotted = buf.get_mut(..=label.len())?;
    dotted[0] = b'.';
    dotted[1..].copy_from_slice(label.as_bytes());
    dotted[1..].make_ascii_lowercase();
    Some(dotted)
}

/// Whether `.label` (a lowercase label after a dot) is a top-level label of the ICANN
/// section of the Public Suffix List.
fn is_icann_tld(dotted: &[u8]) -> bool {
    let label = &dotted[1..];
    let icann = |info: psl::Info| info.typ == Some(psl::Type::Icann);
    // NOTE: `psl` gives a TLD that the list names only through the rules below it no type
    // of its own. A wildcard (`*.ck`, `*.er`, `*.pg`) shows when we ask for the empty name
    // under it (`.ck`), which no rule but a wildcard covers; `za` is the one TLD the list
    // names only through its second-level rules (`co.za`, `org.za`).
    !label.is_empty()
        && !label.contains(&b'.')
        && (icann(psl_find(label)) || icann(psl_find(dotted)) || label == b"za")
}

/// The Public Suffix List's rule for `name`. Every lookup goes through this one call:
/// `psl` compiles its list into a generic function, and each iterator type it is called
/// with would build all of that code once more.
fn psl_find(name: &[u8]) -> psl::Info {
    fn is_dot(b: &u8) -> bool {
        *b == b'.'
    }
    psl::Psl::find(&psl::List, name.rsplit(is_dot as fn(&u8) -> bool))
}

/// Whether `name` (canonical: lowercase, no trailing dot) is itself a public suffix, in
/// the ICANN or the private section of the Public Suffix List: `com`, `co.uk`,
/// `github.io`, `s3.us-east-1.amazonaws.com` are, `evil.github.io` and `example.com` are
/// not. Anyone may register a name directly below a public suffix, so a rule about the
/// suffix says nothing about the names under it.
pub(crate) fn is_public_suffix(name: &str) -> bool {
    if name.is_empty() || name.ends_with('.') || name.starts_with('.') {
        return false;
    }
    if !name.contains('.') {
        let mut buf = [0; 65];
        return dotted_lower(name, &mut buf).is_some_and(is_icann_tld);
    }
    let info = psl_find(name.as_bytes());
    info.typ.is_some() && info.len == name.len()
}

/// A strict dotted quad: four octets 0-255 without leading zeros, nothing else.
/// The canonical form of a value that is a plain host name, written into `buf`, when
/// [`normalize`] would give exactly that as a `domain` (with `kind` `domain` or
/// `hostname`, or none: then inference must call it a host name too); `None` for
/// anything else, which the caller normalizes in full.
///
/// Plain: ASCII letters, digits, `-`, `_` and dots only (one trailing dot allowed), at
/// least two labels, each of 1 to 63 bytes, 253 at most, the last not all digits, and,
/// when the kind is inferred, a last label that is a top-level one. Such a value holds no
/// byte that an address, hash, URL, e-mail or string rule of inference looks for before
/// the host-name rule (no `:`, `/`, `@`, whitespace; a letter, so no dotted quad or range;
/// a dot, so no hash), so inference reaches that rule, and [`host_name`] only lowercases it.
pub(crate) fn plain_host_name<'b>(
    value: &str,
    kind: Option<Kind>,
    buf: &'b mut [u8; 253],
) -> Option<&'b [u8]> {
    if !matches!(kind, None | Some(Kind::Domain | Kind::Hostname)) {
        return None;
    }
    // Whitespace that this trims and normalize keeps is none; a vertical tab, which
    // normalize trims and this keeps, is a byte of no class below: the long way.
    let v = value.as_bytes().trim_ascii();
    let v = v.strip_suffix(b".").unwrap_or(v);
    let name = buf.get_mut(..v.len())?;
    // One pass over the bytes with a table: lower-cased into `name`, labels measured as
    // the dots go by.
    let (mut label_start, mut labels, mut digits_only) = (0, 0, true);
    for (i, (out, &b)) in name.iter_mut().zip(v).enumerate() {
        let class = HOST_BYTES[b as usize];
        *out = b | (class & LOWER_BIT);
        match class & !LOWER_BIT {
            DIGIT => {}
            NAME => digits_only = false,
            DOT => {
                if i == label_start || i - label_start > 63 {
                    return None;
                }
                (label_start, labels, digits_only) = (i + 1, labels + 1, true);
            }
            _ => return None,
        }
    }
    let last = &name[label_start..];
    if labels == 0 || last.is_empty() || last.len() > 63 || digits_only {
        return None;
    }
    if kind.is_none() && !is_top_level_label_bytes(last) {
        return None;
    }
    Some(name)
}

/// What [`plain_host_name`] reads of each byte: its class, and the bit that lower-cases
/// it (set for `A`-`Z` only).
const HOST_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = match c {
            b'0'..=b'9' => DIGIT,
            b'a'..=b'z' | b'-' | b'_' => NAME,
            b'A'..=b'Z' => NAME | LOWER_BIT,
            b'.' => DOT,
            _ => 0,
        };
        b += 1;
    }
    table
};
const DIGIT: u8 = 1;
const NAME: u8 = 2;
const DOT: u8 = 3;
const LOWER_BIT: u8 = 0x20;

/// The address of a value that is one dotted quad (whitespace around it aside), as
/// [`normalize`] reads it with kind `ipv4` or none: `None` for anything else.
pub(crate) fn plain_ipv4(value: &str) -> Option<u32> {
    parse_ipv4(value.trim_matches(is_ws).as_bytes())
}

pub(crate) fn parse_ipv4(bytes: &[u8]) -> Option<u32> {
    ipv4_prefix(bytes).and_then(|(len, addr)| (len == bytes.len()).then_some(addr))
}

/// The strict dotted quad at the start of `bytes`, and its length. The digit runs are
/// maximal: `1.2.3.4567` holds no address, not `1.2.3.456`.
#[inline]
pub(crate) fn ipv4_prefix(bytes: &[u8]) -> Option<(usize, u32)> {
    ipv4_prefix_in(bytes, |_| true)
}

/// [`ipv4_prefix`], giving up as soon as the first two octets make a /16 (its top 16 bits)
/// that `wanted` refuses: the scan need not read the rest of an address no indicator can
/// cover.
#[inline]
pub(crate) fn ipv4_prefix_in(bytes: &[u8], wanted: impl Fn(u32) -> bool) -> Option<(usize, u32)> {
    let (mut len, mut addr) = octet(bytes, 0)?;
    for octet_index in 1..4 {
        if bytes.get(len) != Some(&b'.') {
            return None;
        }
        let (octet_len, value) = octet(bytes, len + 1)?;
        len += 1 + octet_len;
        addr = addr << 8 | value;
        if octet_index == 1 && !wanted(addr) {
            return None;
        }
    }
    Some((len, addr))
}

/// The octet at `bytes[at..]`: one to three digits, no leading zero, at most 255, and
/// no digit after. Returns its length and value.
#[inline(always)]
fn octet(bytes: &[u8], at: usize) -> Option<(usize, u32)> {
    // Each digit's value, or 10 and more for anything else.
    let digit = |k: usize| bytes.get(at + k).map_or(10, |&b| u32::from(b.wrapping_sub(b'0')));
    let (a, b) = (digit(0), digit(1));
    if a > 9 {
        return None;
    }
    if b > 9 {
        return Some((1, a));
    }
    let c = digit(2);
    if a == 0 {
        return None;
    }
    if c > 9 {
        return Some((2, a * 10 + b));
    }
    let value = a * 100 + b * 10 + c;
    (value <= 255 && digit(3) > 9).then_some((3, value))
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

/// ASCII whitespace: space, `\t`, `\n`, `\v`, `\f`, `\r` (`str::trim_ascii` misses `\v`).
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// A canonical value of a non-IP kind.
fn text(kind: Kind, value: String) -> Normalized {
    Normalized { kind, value, ip: None, masked_host_bits: false }
}

/// The kind of a bare value (a plain list line, `add` without a kind) and its canonical
/// form (docs/semantics.md §2). The first rule that fits decides:
///
/// 1. an IPv4 or IPv6 address, network or range → `ipv4`/`ipv6` (a dotted quad with a bad
///    octet is an error, not a string; `1.2.3.4/24` is a network, never a URL);
/// 2. hex of a digest's length (32, 40, 56, 64, 96, 128) → that hash;
/// 3. whitespace or a control byte → `string` (`Mozilla/5.0 (+http://a.example/)`);
/// 4. `://` anywhere → `url`;
/// 5. an `@` with no `/` before it → `email` (`evil.example/login@x.example` goes on);
/// 6. a host followed by `/` or `:port/` → `url`, where the host is a host name, a
///    dotted quad (`1.1.1.1/ca`) or an IPv6 address in brackets (`[2001:db8::1]/x`);
/// 7. a host name alone → `domain`;
/// 8. anything else → `string` (`payload.exe`, `Mozilla/5.0`, `localhost`).
///
/// A host name here is at least two labels of letters, digits, `-` and `_` (non-ASCII
/// letters for IDNs), one trailing dot allowed, whose last label is a top-level label
/// ([`is_top_level_label`]). Real feeds list hosts such as
/// `securely_ledger_download.teachable.com`: DNS names may hold `_`, only host names in
/// the strict RFC 952 sense may not.
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
    } else if v.find('@').is_some_and(|at| !v[..at].contains('/')) {
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
        Kind::Email => email(v),
        Kind::Domain => host_name(v),
        _ => Ok(v.to_string()),
    };
    value.map(|value| text(kind, value)).map_err(|r| IndicatorError::new(Some(kind), v, r))
}

/// A host name as inference sees one: at least two labels of letters, digits, `-` and `_`
/// (non-ASCII letters for IDNs), one trailing dot allowed, ending in a top-level label.
fn looks_like_hostname(v: &str) -> bool {
    let v = v.strip_suffix('.').unwrap_or(v);
    if v.is_ascii() {
        // The same rule on bytes, the common case: a column of host names goes through here.
        let Some(dot) = memchr::memrchr(b'.', v.as_bytes()) else {
            return false;
        };
        let label_ok = |l: &[u8]| {
            !l.is_empty() && l.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        return v.as_bytes().split(|&b| b == b'.').all(label_ok) && is_top_level_label(&v[dot + 1..]);
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| {
                c.is_ascii_alphanumeric() || c == '-' || c == '_' || (!c.is_ascii() && c.is_alphanumeric())
            })
    };
    let Some((rest, last)) = v.rsplit_once('.') else {
        return false;
    };
    let tld_ok =
        if last.is_ascii() { is_top_level_label(last) } else { is_top_level_label(&last.to_lowercase()) };
    tld_ok && label_ok(last) && rest.split('.').all(label_ok)
}

/// A host followed by `/` or `:port/`: a host name, a dotted quad, or an IPv6 address in
/// brackets.
///
/// A quad with a bad octet (`010.1.1.1/x`) counts as one, so that [`url`] reports the
/// octet rather than the value loading as a string, as rule 1 of [`infer`] does for a
/// bare address.
fn looks_like_host_then_path(v: &str) -> bool {
    let Some((authority, _)) = v.split_once('/') else {
        return false;
    };
    let port_ok = |port: &str| port.bytes().all(|b| b.is_ascii_digit());
    if let Some(inner) = authority.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return false;
        };
        let addr = addr.split_once('%').map_or(addr, |(addr, _zone)| addr);
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(port_ok);
        return port_ok && parse_ipv6(addr.as_bytes()).is_some();
    }
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
    let quad = |h: &str| parse_ipv4(h.as_bytes()).is_some() || quad_error(h).is_some();
    port_ok(port) && (quad(host) || looks_like_hostname(host))
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
    // Addresses, networks and ranges are written with hex digits, `.`, `:`, `/`, `-` and
    // spaces only (a zone after `%` aside, refused below with its reason): any other
    // byte, as most host names hold, makes every branch below give None, so we say so at
    // once.
    if cannot_be_ip(v) {
        return None;
    }
    parse_ip_text(v, strict)
}

/// The quick test of [`parse_ip`]: a byte no address, network or range is written with.
fn cannot_be_ip(v: &str) -> bool {
    let ip_byte = |b: u8| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'/' | b'-') || is_ws(b as char);
    !v.contains('%') && !v.bytes().all(ip_byte)
}

fn parse_ip_text(v: &str, strict: bool) -> Option<Result<ParsedIp, IpError>> {
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
        // "1.2.3.4/admin" is not a network; inference goes on (to `url`).
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(parse_addr(a)?.and_then(|(addr, v4)| {
            let (family, bits) = if v4 { (Kind::Ipv4, 32) } else { (Kind::Ipv6, 128) };
            // As for octets: `/024` is refused as `024.1.2.3` is, not read as `/24`.
            if len.len() > 1 && len.starts_with('0') {
                return Err((family, format!("prefix length {len} has a leading zero")));
            }
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
    let shaped = |o: &str| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit());
    if s.split('.').count() != 4 || !s.split('.').all(shaped) {
        return None;
    }
    s.split('.').find_map(|o| {
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
fn host_name(v: &str) -> Result<String, String> {
    let v = v.strip_suffix('.').unwrap_or(v);
    if v.is_empty() {
        return Err("empty host name".into());
    }
    let ascii = if v.is_ascii() {
        v.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(v).map_err(|_| "not a valid internationalized host name")?
    };
    check_host_name(&ascii)?;
    Ok(ascii)
}

/// Whether `ascii`, lower-case ASCII, is a host name as [`host_name`] writes one: at most
/// 253 bytes, labels of 1 to 63 bytes of `[a-z0-9_-]`, and a last label that is not a
/// number. Limits are on the A-label form, the one DNS and the text scanner see.
fn check_host_name(ascii: &str) -> Result<(), String> {
    if ascii.len() > 253 {
        return Err(format!("host name is {} bytes, longer than the 253-byte limit", ascii.len()));
    }
    // Label by label, as memchr finds the dots: a lookup of a column of host names
    // spends much of its time here.
    let bytes = ascii.as_bytes();
    let mut start = 0;
    loop {
        let end = memchr::memchr(b'.', &bytes[start..]).map_or(bytes.len(), |dot| start + dot);
        let label = &bytes[start..end];
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label is {} bytes, longer than the 63-byte limit", label.len()));
        }
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        if let Some(&b) = label.iter().find(|&&b| !allowed(b)) {
            return Err(format!("character {:?} is not allowed in a host name", b as char));
        }
        if end == bytes.len() {
            // As in the WHATWG URL parser: a numeric last label means an IPv4 address, not
            // a name.
            if label.iter().all(u8::is_ascii_digit) {
                return Err("last label is numeric: not a host name".into());
            }
            return Ok(());
        }
        start = end + 1;
    }
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
        (BracketedIpv6(addr).to_string(), port)
    } else if parse_ipv6(host_port.as_bytes()).is_some() {
        return Err("an ipv6 host needs brackets: [addr]".into());
    } else {
        let (host, port) = host_port.split_once(':').map_or((host_port, None), |(h, p)| (h, Some(p)));
        let bare = host.strip_suffix('.').unwrap_or(host);
        let host = match (parse_ipv4(bare.as_bytes()), quad_error(bare)) {
            (Some(addr), _) => Ipv4Addr::from(addr).to_string(),
            (None, Some(reason)) => return Err(reason),
            (None, None) if host.is_empty() => return Err("empty host".into()),
            (None, None) => host_name(host)?,
        };
        (host, port)
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None => None,
        Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!("port {p} is not a number"));
        }
        Some(p) => {
            let n = parse_port(p.as_bytes()).ok_or_else(|| format!("port {p} is out of range 0-65535"))?;
            (default_port(scheme.as_deref().unwrap_or_default().as_bytes()) != Some(n)).then_some(n)
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

/// A URL port written as decimal digits: leading zeros are allowed and dropped (`0080` is
/// port 80); `None` past 65535.
pub(crate) fn parse_port(digits: &[u8]) -> Option<u32> {
    let first = digits.iter().position(|&b| b != b'0').unwrap_or(digits.len());
    let digits = &digits[first..];
    if digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0'));
    (n <= 65535).then_some(n)
}

/// The port a URL of `scheme` (ASCII case-insensitive) has when it names none.
pub(crate) fn default_port(scheme: &[u8]) -> Option<u32> {
    const DEFAULTS: [(&str, u32); 5] = [("http", 80), ("https", 443), ("ws", 80), ("wss", 443), ("ftp", 21)];
    DEFAULTS.iter().find(|(name, _)| scheme.eq_ignore_ascii_case(name.as_bytes())).map(|&(_, port)| port)
}

/// The canonical spelling of an IPv6 URL host: the RFC 5952 text of the address, in
/// brackets.
pub(crate) struct BracketedIpv6(pub u128);

impl std::fmt::Display for BracketedIpv6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", Ipv6Addr::from(self.0))
    }
}

/// An e-mail address: local part as written (lowercased), domain as a host name.
fn email(v: &str) -> Result<String, String> {
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
    if let Some(reason) = unmatchable_local_part(local.as_bytes()) {
        return Err(reason);
    }
    let domain = host_name(domain)?;
    Ok(format!("{}@{domain}", local.to_ascii_lowercase()))
}

/// The longest e-mail local part the text scanner walks back over from an `@` (RFC 5321
/// allows 64 bytes; feeds hold longer ones now and then).
pub(crate) const MAX_LOCAL_PART: usize = 256;

/// Why a local part of the allowed bytes could still never be found in text: longer than
/// the scanner reads, or holding a percent escape, which every boundary rule reads as a
/// separator (docs/semantics.md §4.3), so that the address found ends at the escape.
fn unmatchable_local_part(local: &[u8]) -> Option<String> {
    if local.len() > MAX_LOCAL_PART {
        return Some(format!(
            "local part is {} bytes, longer than the {MAX_LOCAL_PART} bytes text is read back for",
            local.len()
        ));
    }
    let escape =
        local.windows(3).find(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())?;
    Some(format!(
        "percent escape {} in the local part can never match: text reads it as a separator",
        String::from_utf8_lossy(escape)
    ))
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

/// Whether `value` is certainly in the canonical form of `kind` from its bytes alone:
/// a host name as [`check_host_name`] has it for names, and as the host of a URL (then
/// a port without leading zeros, a path, no fragment) or the domain of an e-mail address
/// (after one `@` and a local part of `[a-z0-9._%+-]`); lower-case hex of the right
/// length for digests; no whitespace around a string. Never for IPs, whose ranges must be
/// parsed anyway, nor for a URL with an IP host.
///
/// Loading a saved index asks this first: normalizing a million entries again would
/// double the load time. Anything it turns away is normalized in full, so an index loads
/// only values normalization writes: no table ever sees an empty label or a `..`.
pub(crate) fn is_plainly_canonical(kind: Kind, value: &str) -> bool {
    let host = |host: &str| check_host_name(host).is_ok();
    match kind {
        Kind::Domain | Kind::Hostname => host(value),
        Kind::Email => value.split_once('@').is_some_and(|(local, domain)| {
            let local_byte =
                |b: u8| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'%' | b'+' | b'-');
            !local.is_empty()
                && local.bytes().all(local_byte)
                && unmatchable_local_part(local.as_bytes()).is_none()
                && host(domain)
        }),
        Kind::Url => {
            let (name, rest) = value.split_at(crate::build::tables::url_host_len(value));
            let (port, path) = match rest.strip_prefix(':') {
                Some(port_path) => port_path.split_at(port_path.find('/').unwrap_or(port_path.len())),
                None => ("", rest),
            };
            let port_ok = rest.len() == path.len()
                || (!port.is_empty() && !port.starts_with('0') && parse_port(port.as_bytes()).is_some());
            host(name)
                && port_ok
                && path.starts_with('/')
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
        }
        Kind::String => !value.is_empty() && value.trim_matches(is_ws) == value,
        Kind::Ipv4 | Kind::Ipv6 => false,
        _ => {
            kind.hex_len() == Some(value.len())
                && value.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }
    }
}

#[cfg(test)]
mod tests;
