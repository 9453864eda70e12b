//! Zeek intel files (the input of Zeek's Intel framework), read and written.
//!
//! A file is tab-separated text under a `#fields` header that names the columns. We read
//! `indicator`, `indicator_type`, `meta.source`, `meta.desc` and `meta.url` and ignore
//! the rest (`meta.do_notice`, `meta.if_in`, `meta.cif_*`, ...). As Zeek's reader does:
//! - a later `#fields` line replaces the columns for the lines after it (concatenated
//!   intel files keep working);
//! - `#separator \x09` sets the separator, `#unset_field` and `#empty_field` the null
//!   markers (`-` and `(empty)` by default); every other `#` line is a comment;
//! - values are unescaped: `\xHH` is the byte HH (Zeek writes a tab in a value as `\x09`).
//!
//! These header and escape rules are those of Zeek's logs, and `zeek_tsv` owns them.
//!
//! We also take a UTF-8 BOM, CRLF line ends and blank lines.
//!
//! Types map as docs/semantics.md §3.3 says: `ADDR`/`SUBNET` are ipv4 or ipv6 (by the
//! value's shape), `DOMAIN` is a domain (or a hostname with `zeek_domain_as_hostname`),
//! `URL`, `EMAIL`, `FILE_HASH`/`CERT_HASH` (the hash kind by hex length), and
//! `FILE_NAME`/`SOFTWARE`/`USER_NAME` as strings. Other types are unsupported.
//!
//! `meta.url` becomes the record's reference: Zeek intel has no id of its own, and the
//! URL where the indicator is documented is what `ref` is for (the STIX id or MISP uuid
//! that leads back to the source). A tag would make every URL a filter value, and the
//! description is prose.

use std::borrow::Cow;
use std::io::{self, Write};

use super::types::{self, Vocabulary};
use super::{is_space, trim, ParseOptions, ParsedRecord, RawRecord, BOM};
use crate::error::FeedError;
use crate::indicator::{Kind, Meta};
use crate::normalize::{normalize, IpRange};
use crate::zeek_tsv::{self, split, unescape, write_field, Header, HeaderError, HeaderLine};

/// How much of a file `looks_like` reads: a header comes first, after at most a few
/// `#separator`/`#path`-style lines.
const SNIFF_LEN: usize = 4096;

/// The source written for records that have none: Zeek's `Intel::MetaData` requires
/// `source`, and a line with an unset one is refused by Zeek.
const DEFAULT_SOURCE: &str = "vedette";

/// Whether `data` starts like a Zeek intel file: among its leading `#` lines (and
/// blank lines), a `#fields` line naming `indicator` and `indicator_type`.
pub(super) fn looks_like(data: &[u8]) -> bool {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let head = &data[..data.len().min(SNIFF_LEN)];
    for line in head.split(|&b| b == b'\n') {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(b"#") {
            return false;
        }
        if line.starts_with(b"#fields") {
            // Any separator: we only ask whether the two names are there as words.
            let words = line.split(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.'));
            let (mut indicator, mut kind) = (false, false);
            for word in words {
                indicator |= word == b"indicator";
                kind |= word == b"indicator_type";
            }
            return indicator && kind;
        }
    }
    false
}

/// Where the columns we read are, from the last `#fields` line.
struct Columns {
    count: usize,
    indicator: usize,
    kind: usize,
    source: Option<usize>,
    desc: Option<usize>,
    url: Option<usize>,
}

/// Parses a Zeek intel file; see the module docs.
pub(super) fn parse<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    let data = data.strip_prefix(BOM).unwrap_or(data);
    let mut header = Header::default();
    // `None` before any `#fields` line, or after one without the two required columns
    // (its error is reported once, at that line; the lines under it each count as bad).
    let mut columns: Option<Columns> = None;
    let mut cols: Vec<&'a [u8]> = Vec::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        if line.len() > options.max_line_bytes {
            sink(Err(super::line_too_long(source, line_no, line.len(), options.max_line_bytes)))?;
            continue;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|&b| is_space(b)) {
            continue;
        }
        if line.starts_with(b"#") {
            if let Err(err) = header_line(&mut header, &mut columns, line, line_no, source) {
                sink(Err(err))?;
            }
            continue;
        }
        let err = |category: &str, message: String| FeedError::new(source, Some(line_no), category, message);
        let Some(columns) = &columns else {
            sink(Err(err("missing fields header", "data line before a usable #fields header".to_string())))?;
            continue;
        };
        split(line, &header.separator, &mut cols);
        if cols.len() < columns.count {
            let message = format!("{} columns where the #fields header names {}", cols.len(), columns.count);
            sink(Err(err("too few columns", message)))?;
            continue;
        }
        sink(record(&cols, columns, &header, line_no, source, options))?;
    }
    Ok(())
}

/// Reads one `#` line into `header` and, for a `#fields` line, `columns`; an error for a
/// `#separator` or `#fields` line we cannot use.
fn header_line(
    header: &mut Header,
    columns: &mut Option<Columns>,
    line: &[u8],
    line_no: usize,
    source: &str,
) -> Result<(), FeedError> {
    let err = |category: &str, message: String| FeedError::new(source, Some(line_no), category, message);
    match zeek_tsv::header_line(header, line) {
        Ok(HeaderLine::Other) => Ok(()),
        Ok(HeaderLine::Fields) => {
            let names = header.fields.as_deref().unwrap_or_default();
            let find = |name: &[u8]| names.iter().position(|n| n == name);
            *columns = None;
            let (Some(indicator), Some(kind)) = (find(b"indicator"), find(b"indicator_type")) else {
                let message = "#fields names no indicator and indicator_type columns".to_string();
                return Err(err("bad fields header", message));
            };
            *columns = Some(Columns {
                count: names.len(),
                indicator,
                kind,
                source: find(b"meta.source"),
                desc: find(b"meta.desc"),
                url: find(b"meta.url"),
            });
            Ok(())
        }
        Err(HeaderError::EmptySeparator) => Err(err("bad separator", "empty #separator".to_string())),
        Err(HeaderError::FieldsNotSeparated) => {
            *columns = None;
            let message = format!(
                "#fields is not followed by the separator {:?}",
                String::from_utf8_lossy(&header.separator)
            );
            Err(err("bad fields header", message))
        }
    }
}

/// Reads one data line whose columns are split out.
fn record<'a>(
    cols: &[&'a [u8]],
    columns: &Columns,
    header: &Header,
    line_no: usize,
    source: &str,
    options: &ParseOptions,
) -> ParsedRecord<'a> {
    let err = |category: &str, message: String| FeedError::new(source, Some(line_no), category, message);
    // A column's text, unescaped; `None` when absent or null.
    let text = |col: Option<usize>, name: &str| -> Result<Option<Cow<'a, str>>, FeedError> {
        let Some(raw) = col.map(|i| trim(cols[i])) else { return Ok(None) };
        if header.is_null(raw) {
            return Ok(None);
        }
        let bytes = unescape(raw);
        let text = match bytes {
            Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed),
            Cow::Owned(b) => String::from_utf8(b).map(Cow::Owned).map_err(|e| e.utf8_error()),
        };
        text.map(Some).map_err(|e| {
            err("invalid utf-8", format!("invalid utf-8 in {name} at byte {}", e.valid_up_to() + 1))
        })
    };
    let Some(value) = text(Some(columns.indicator), "indicator")? else {
        return Err(err("empty value", "empty indicator".to_string()));
    };
    let Some(type_name) = text(Some(columns.kind), "indicator_type")? else {
        return Err(err("empty type", "empty indicator_type".to_string()));
    };
    let Some(type_kind) = types::type_kind(Vocabulary::Zeek, &type_name) else {
        return Err(err("unsupported type", format!("unsupported indicator_type {type_name}")));
    };
    let kind = match type_kind.kind_of(&value) {
        Ok(Some(Kind::Domain)) if options.zeek_domain_as_hostname => Some(Kind::Hostname),
        Ok(kind) => kind,
        Err(()) => return Err(err("bad hash length", types::bad_hash_length(&type_name, &value))),
    };
    let meta = Meta {
        source: text(columns.source, "meta.source")?.map(Cow::into_owned),
        reference: text(columns.url, "meta.url")?.map(Cow::into_owned),
        description: text(columns.desc, "meta.desc")?.map(Cow::into_owned),
        ..Meta::default()
    };
    Ok(RawRecord { line: line_no, value, kind, meta })
}

/// Writes indicators as a Zeek intel file that Zeek's Intel framework loads.
///
/// The header is `#fields indicator indicator_type meta.source meta.desc`, tab-separated.
/// Kinds map back as: an ipv4/ipv6 address → `Intel::ADDR`, a network → `Intel::SUBNET`,
/// a range that is not one CIDR → one `Intel::SUBNET` line per CIDR of its exact cover
/// (Zeek has no ranges; together the lines match the same addresses), domain and
/// hostname → `Intel::DOMAIN` (Zeek has one domain type, so reading the file back gives
/// domains unless the hostname option is set), url → `Intel::URL` (our canonical URL is
/// scheme-less, the form Zeek compares against `host + uri`), email → `Intel::EMAIL`,
/// hashes → `Intel::FILE_HASH`, string → `Intel::SOFTWARE`: Zeek checks user agents,
/// the most common string indicator, as `SOFTWARE`.
///
/// Values are escaped as Zeek escapes them: control bytes, `\` and a leading `#` as
/// `\xHH`, a value that reads as a null marker as `\x2d` / `\x28empty)`. A record without
/// a source is written with source `vedette`, since Zeek requires one.
///
/// # Errors
/// What `out` returns, or `InvalidInput` for an ipv4/ipv6 value that is not canonical.
///
/// # Example
/// ```
/// use vedette_core::feed::write_zeek_intel;
/// use vedette_core::{Kind, Meta};
///
/// let meta = Meta { source: Some("cti".into()), description: Some("c2\tpanel".into()), ..Meta::default() };
/// let mut out = Vec::new();
/// write_zeek_intel([(Kind::Ipv4, "10.0.0.1-10.0.0.2", &meta)].into_iter(), &mut out)?;
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n\
///      10.0.0.1\tIntel::ADDR\tcti\tc2\\x09panel\n\
///      10.0.0.2\tIntel::ADDR\tcti\tc2\\x09panel\n",
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_zeek_intel<'r>(
    records: impl Iterator<Item = (Kind, &'r str, &'r Meta)>,
    out: &mut impl Write,
) -> io::Result<()> {
    out.write_all(b"#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n")?;
    for (kind, value, meta) in records {
        let source = meta.source.as_deref().filter(|s| !s.is_empty()).unwrap_or(DEFAULT_SOURCE);
        let desc = meta.description.as_deref().filter(|d| !d.is_empty());
        let mut line = |indicator: &str, zeek_type: &str| -> io::Result<()> {
            write_field(out, indicator)?;
            write!(out, "\t{zeek_type}\t")?;
            write_field(out, source)?;
            out.write_all(b"\t")?;
            match desc {
                Some(desc) => write_field(out, desc)?,
                None => out.write_all(b"-")?,
            }
            out.write_all(b"\n")
        };
        let zeek_type = match kind {
            Kind::Ipv4 | Kind::Ipv6 if value.contains('-') => {
                for cidr in range_cidrs(kind, value)? {
                    // Zeek reads a SUBNET only in CIDR notation: a lone address is an ADDR.
                    line(&cidr, if cidr.contains('/') { "Intel::SUBNET" } else { "Intel::ADDR" })?;
                }
                continue;
            }
            Kind::Ipv4 | Kind::Ipv6 if value.contains('/') => "Intel::SUBNET",
            Kind::Ipv4 | Kind::Ipv6 => "Intel::ADDR",
            Kind::Domain | Kind::Hostname => "Intel::DOMAIN",
            Kind::Url => "Intel::URL",
            Kind::Email => "Intel::EMAIL",
            Kind::Md5 | Kind::Sha1 | Kind::Sha224 | Kind::Sha256 | Kind::Sha384 | Kind::Sha512 => {
                "Intel::FILE_HASH"
            }
            Kind::String => "Intel::SOFTWARE",
        };
        line(value, zeek_type)?;
    }
    Ok(())
}

/// The CIDRs that together cover exactly the range `value` (`first-last`), smallest
/// count first to last.
fn range_cidrs(kind: Kind, value: &str) -> io::Result<Vec<String>> {
    let not_canonical =
        || io::Error::new(io::ErrorKind::InvalidInput, format!("not a {kind} range: {value:?}"));
    let range =
        normalize(value, Some(kind), false).map_err(|_| not_canonical())?.ip.ok_or_else(not_canonical)?;
    let (first, last, width) = match range {
        IpRange::V4 { first, last } => (u128::from(first), u128::from(last), 32),
        IpRange::V6 { first, last } => (first, last, 128),
    };
    let mut cidrs = Vec::new();
    let mut at = first;
    loop {
        // The largest aligned block starting at `at` that ends within the range.
        let mut host_bits = at.trailing_zeros().min(width);
        let block_last = |bits: u32| if bits == 128 { u128::MAX } else { at | ((1u128 << bits) - 1) };
        while block_last(host_bits) > last {
            host_bits -= 1;
        }
        let prefix = width - host_bits;
        let text = match range {
            IpRange::V4 { .. } => std::net::Ipv4Addr::from(at as u32).to_string(),
            IpRange::V6 { .. } => std::net::Ipv6Addr::from(at).to_string(),
        };
        cidrs.push(if prefix == width { text } else { format!("{text}/{prefix}") });
        let end = block_last(host_bits);
        if end >= last {
            return Ok(cidrs);
        }
        at = end + 1;
    }
}

#[cfg(test)]
mod tests;
