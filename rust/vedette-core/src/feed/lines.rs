//! The plain format of real block lists: one value per line.
//!
//! What we accept, each seen in a feed we load:
//! - comment lines starting with `#`, `;` or `//` (after optional whitespace), blank
//!   lines, a UTF-8 BOM, CRLF line ends;
//! - a value followed by anything after ASCII whitespace, which we drop: IPsum's
//!   `ip<TAB>count`, `value  # trailing comment`;
//! - LOKI IOC files, `value;comment`, when the value is a hash or an IP address or
//!   network: the comment becomes the description;
//! - defanged values (`evil[.]example`, `hxxps://...`), which we refang (a URL's path and
//!   query only when its scheme or host is defanged too).

use std::borrow::Cow;

use memchr::memchr;

use super::refang::refang;
use super::{is_space, trim, ParseOptions, ParsedRecord, RawRecord, BOM};
use crate::error::FeedError;
use crate::indicator::{Kind, Meta};

/// Parses `data` one line at a time; see the module docs for what a line may hold.
pub(super) fn parse<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let mut start = 0;
    let mut line_no = 0;
    while start < data.len() {
        let end = memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        line_no += 1;
        if end - start > options.max_line_bytes {
            sink(Err(super::line_too_long(source, line_no, end - start, options.max_line_bytes)))?;
        } else if let Some(record) = parse_line(&data[start..end], line_no, source) {
            sink(record)?;
        }
        start = end + 1;
    }
    Ok(())
}

/// One line without its `\n`; `None` for a blank or comment line.
fn parse_line<'a>(line: &'a [u8], line_no: usize, source: &str) -> Option<ParsedRecord<'a>> {
    let indent = line.iter().position(|&b| !is_space(b))?;
    let text = &line[indent..];
    if text[0] == b'#' || text[0] == b';' || text.starts_with(b"//") {
        return None;
    }
    // The value is the first field. Every separator we split on is ASCII, so we find it
    // in the bytes and check UTF-8 only on what we keep: a Latin-1 comment after the
    // value costs nothing.
    let field_len = text.iter().position(|&b| is_space(b)).unwrap_or(text.len());
    let field = &text[..field_len];
    let utf8_error = |offset: usize, err: std::str::Utf8Error| {
        let column = indent + offset + err.valid_up_to() + 1;
        FeedError::new(source, Some(line_no), "invalid utf-8", format!("invalid utf-8 at column {column}"))
    };

    if let Some(semi) = memchr(b';', field) {
        if let Some(value) = loki_value(&field[..semi]) {
            // The comment runs to the end of the line: it has spaces in it.
            let rest = &text[semi + 1..];
            let comment = trim(rest);
            let leading = rest.iter().position(|&b| !is_space(b)).unwrap_or(rest.len());
            let offset = semi + 1 + leading;
            let description = match std::str::from_utf8(comment) {
                Ok(d) => (!d.is_empty()).then(|| d.to_string()),
                Err(err) => return Some(Err(utf8_error(offset, err))),
            };
            let meta = Meta { description, ..Meta::default() };
            return Some(Ok(RawRecord { line: line_no, value, kind: None, meta }));
        }
    }
    Some(match std::str::from_utf8(field) {
        Ok(value) => Ok(RawRecord { line: line_no, value: refang(value), kind: None, meta: Meta::default() }),
        Err(err) => Err(utf8_error(0, err)),
    })
}

/// The refanged value before a LOKI `;`, when it looks like a hash or an IP address or
/// network. Only these: a domain or string may hold a `;` of its own, and we would
/// rather keep such a value whole than cut it.
fn loki_value(head: &[u8]) -> Option<Cow<'_, str>> {
    let head = refang(std::str::from_utf8(head).ok()?);
    (is_hex_hash(&head) || is_ip_literal(&head)).then_some(head)
}

/// Hex of a hash length. Cheap and syntactic: the builder validates for real.
fn is_hex_hash(s: &str) -> bool {
    Kind::hash_of_hex_len(s.len()).is_some() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An IPv4 or IPv6 literal with an optional `/prefix`, by shape only. We keep shapes the
/// builder will reject (`010.1.1.1`, `1.2.3.999`) so that its error names the address,
/// instead of loading `010.1.1.1;comment` as a string.
fn is_ip_literal(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (s, None),
    };
    let digits = |p: &str, max: usize| (1..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if prefix.is_some_and(|p| !digits(p, 3)) {
        return false;
    }
    let ipv4 = addr.split('.').count() == 4 && addr.split('.').all(|p| digits(p, 3));
    let ipv6 = addr.len() <= 45
        && addr.bytes().filter(|&b| b == b':').count() >= 2
        && addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    ipv4 || ipv6
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `data` and renders each record as `line:value` (plus `|description`) and
    /// each error as `line!category`.
    fn render(data: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        parse(data, "t", &ParseOptions::default(), &mut |r| {
            out.push(match r {
                Ok(r) => match r.meta.description {
                    Some(d) => format!("{}:{}|{}", r.line, r.value, d),
                    None => format!("{}:{}", r.line, r.value),
                },
                Err(e) => format!("{}!{}", e.line().unwrap(), e.category()),
            });
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_table() {
        const SHA256: &str = "ce583821191345274cd954b2db7da9742c239fe413fc17dcb97ffdd7b51cb072";
        let loki = format!("{SHA256};Dark Caracal - PE32 executable\n");
        let loki_want = format!("1:{SHA256}|Dark Caracal - PE32 executable");
        let rows: &[(&str, &[u8], &[&str])] = &[
            ("basic010", b"a.example\nb.example\n", &["1:a.example", "2:b.example"]),
            ("basic020", b"a.example", &["1:a.example"]),
            ("basic030", b"", &[]),
            ("basic040", b"\n\n", &[]),
            ("crlf010", b"a.example\r\nb.example\r\n", &["1:a.example", "2:b.example"]),
            ("crlf020", b"a.example\r\n\r\nb.example", &["1:a.example", "3:b.example"]),
            ("bom010", b"\xef\xbb\xbfa.example\nb.example", &["1:a.example", "2:b.example"]),
            ("bom020", b"\xef\xbb\xbf# c\na.example", &["2:a.example"]),
            ("blank010", b"  \t \n\x0b\x0c\na.example\n   \n", &["3:a.example"]),
            ("indent010", b"   a.example  \n\tb.example", &["1:a.example", "2:b.example"]),
            ("comment010", b"# x\n#\na.example\n", &["3:a.example"]),
            ("comment020", b"  # x\n\t#x\na.example", &["3:a.example"]),
            ("comment030", b"; x\n// x\na.example", &["3:a.example"]),
            ("comment040", b"#\xff latin-1 \xe9\na.example", &["2:a.example"]),
            ("trailing010", b"a.example # seen 2024\n", &["1:a.example"]),
            ("trailing020", b"a.example\t# x\n", &["1:a.example"]),
            ("trailing030", b"a.example # \xe9t\xe9\n", &["1:a.example"]),
            // `#` glued to the value is a URL fragment, not a comment.
            ("trailing040", b"evil.example/a#b\n", &["1:evil.example/a#b"]),
            ("tab010", b"1.2.3.4\t10\n5.6.7.8\t3", &["1:1.2.3.4", "2:5.6.7.8"]),
            ("tab020", b"1.2.3.4 \t 10", &["1:1.2.3.4"]),
            ("field010", b"Mozilla/5.0 (Windows NT)", &["1:Mozilla/5.0"]),
            ("loki010", loki.as_bytes(), &[&loki_want]),
            (
                "loki020",
                b"0c2674c3a97c53082187d930efb645c2;DEEP PANDA - http://goo.gl/x\n",
                &["1:0c2674c3a97c53082187d930efb645c2|DEEP PANDA - http://goo.gl/x"],
            ),
            (
                "loki030",
                b"0c2674c3a97c53082187d930efb645c2;  spaced  \r\n",
                &["1:0c2674c3a97c53082187d930efb645c2|spaced"],
            ),
            ("loki040", b"0c2674c3a97c53082187d930efb645c2;\n", &["1:0c2674c3a97c53082187d930efb645c2"]),
            ("loki050", b"176.123.5.126;65\n", &["1:176.123.5.126|65"]),
            ("loki060", b"10.0.0.0/8;rfc1918 # kept\n", &["1:10.0.0.0/8|rfc1918 # kept"]),
            ("loki070", b"2001:db8::1;v6\n", &["1:2001:db8::1|v6"]),
            ("loki080", b"2001:db8::/32;v6 net", &["1:2001:db8::/32|v6 net"]),
            ("loki090", b"1[.]2[.]3[.]4;defanged", &["1:1.2.3.4|defanged"]),
            ("loki100", b"010.1.1.1;shape only", &["1:010.1.1.1|shape only"]),
            // Not a hash or an IP before the `;`: the whole field is the value.
            ("loki110", b"evil.example;65", &["1:evil.example;65"]),
            ("loki120", b"0c2674c3a97c53082187d930efb645c;31 hex", &["1:0c2674c3a97c53082187d930efb645c;31"]),
            ("loki130", b"1.2.3;x", &["1:1.2.3;x"]),
            ("loki140", b"1.2.3.4/;x", &["1:1.2.3.4/;x"]),
            ("loki150", b"a;b", &["1:a;b"]),
            (
                "refang010",
                b"1[.]2[.]3[.]4\nhxxps://evil[.]example/a",
                &["1:1.2.3.4", "2:https://evil.example/a"],
            ),
            ("refang020", b"bad[at]evil(dot)example # mail", &["1:bad@evil.example"]),
            ("utf8010", b"a.example\n\xffbad\nb.example", &["1:a.example", "2!invalid utf-8", "3:b.example"]),
            ("utf8020", "bücher.example\n".as_bytes(), &["1:bücher.example"]),
            ("utf8030", b"0c2674c3a97c53082187d930efb645c2;\xff", &["1!invalid utf-8"]),
            ("utf8040", b"\xc3", &["1!invalid utf-8"]),
        ];
        for &(id, input, want) in rows {
            assert_eq!(render(input), want, "{id}");
        }
    }

    #[test]
    fn utf8_error_names_the_column() {
        let mut errors = Vec::new();
        parse(b"ok\n  ab\xffc\n", "feed.txt", &ParseOptions::default(), &mut |r| {
            errors.extend(r.err());
            Ok(())
        })
        .unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].to_string(), "feed.txt:2: invalid utf-8 at column 5");
    }

    #[test]
    fn values_borrow_from_the_feed() {
        let data = b"a.example\n1.2.3.4\t9\n0c2674c3a97c53082187d930efb645c2;x";
        let mut n = 0;
        parse(data, "t", &ParseOptions::default(), &mut |r| {
            assert!(matches!(r.unwrap().value, Cow::Borrowed(_)));
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 3);
    }
}
