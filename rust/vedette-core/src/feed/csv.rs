//! CSV with a header row that names the columns.
//!
//! Columns are found by name, ASCII case-insensitively after trimming; the first column
//! with a given meaning wins, and columns we do not know are ignored:
//!
//! | meaning | header names |
//! |---|---|
//! | value (required) | `value` `indicator` `ioc` `observable` |
//! | kind | `kind` `type` |
//! | source | `source` |
//! | confidence, 0 to 100 | `confidence` |
//! | tlp | `tlp` |
//! | tags, split on `;` `\|` `,` | `tags` |
//! | reference | `ref` `id` `uuid` |
//! | valid from | `valid_from` `first_seen` |
//! | valid until | `valid_until` `expiration` `expires` |
//! | description | `description` `comment` |
//!
//! A header is required: a header-less CSV (TweetFeed's `month.csv` is one) needs a
//! header line added before it loads.

use std::borrow::Cow;
use std::str::FromStr;

use ::csv::{ByteRecord, ReaderBuilder};

use super::refang::refang;
use super::types::{self, TypeKind, Vocabulary};
use super::{is_space, skip_preamble, ParseOptions, ParsedRecord, RawRecord};
use crate::error::FeedError;
use crate::indicator::{Kind, Meta, Timestamp, Tlp};
use crate::time::parse_timestamp;

/// Header names of the value column. `sniff` calls a file CSV when its first line has one.
pub(super) const VALUE_COLUMNS: [&str; 4] = ["value", "indicator", "ioc", "observable"];

/// Where each meaning lives in a row, plus the header names for messages.
#[derive(Default)]
struct Columns {
    names: Vec<String>,
    value: Option<usize>,
    kind: Option<usize>,
    source: Option<usize>,
    confidence: Option<usize>,
    tlp: Option<usize>,
    tags: Option<usize>,
    reference: Option<usize>,
    valid_from: Option<usize>,
    valid_until: Option<usize>,
    description: Option<usize>,
}

impl Columns {
    fn from_header(header: &ByteRecord) -> Columns {
        let mut cols = Columns::default();
        for (i, raw) in header.iter().enumerate() {
            let name = trim_str(&String::from_utf8_lossy(raw)).to_ascii_lowercase();
            let slot = match name.as_str() {
                n if VALUE_COLUMNS.contains(&n) => &mut cols.value,
                "kind" | "type" => &mut cols.kind,
                "source" => &mut cols.source,
                "confidence" => &mut cols.confidence,
                "tlp" => &mut cols.tlp,
                "tags" => &mut cols.tags,
                "ref" | "id" | "uuid" => &mut cols.reference,
                "valid_from" | "first_seen" => &mut cols.valid_from,
                "valid_until" | "expiration" | "expires" => &mut cols.valid_until,
                "description" | "comment" => &mut cols.description,
                _ => &mut None,
            };
            slot.get_or_insert(i);
            cols.names.push(name);
        }
        cols
    }
}

/// Parses `data`: leading blank and `#` lines, then the header, then one record a row.
pub(super) fn parse<'a>(
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    // We skip the preamble ourselves, the way `sniff` does, so that both agree on which
    // line is the header; csv line numbers are then offset by the lines skipped.
    let (start, skipped) = skip_preamble(data);
    let body = &data[start..];
    let mut lines = LineCounter { data: body, counted_to: 0, newlines: skipped };
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // NOTE: a row whose first byte is `#` is a comment, as in the preamble. A value
        // column placed first with a value starting with `#` would be lost; we take that
        // over loading comment text as indicators.
        .comment(Some(b'#'))
        .from_reader(body);
    let mut row = ByteRecord::new();
    let mut cols: Option<Columns> = None;
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            // Reading from a slice, with flexible rows, the csv crate has no error to give;
            // if a later version finds one, we report it and stop rather than loop.
            Err(err) => {
                let line = err.position().map(|p| lines.line_at(p.byte() as usize));
                return sink(Err(FeedError::new(source, line, "invalid csv", err.to_string())));
            }
        }
        let line = lines.line_at(row.position().map_or(0, |p| p.byte() as usize));
        if row.as_slice().len() > options.max_line_bytes {
            sink(Err(super::line_too_long(source, line, row.as_slice().len(), options.max_line_bytes)))?;
            continue;
        }
        if row.len() == 1 && row[0].iter().all(|&b| is_space(b)) {
            continue; // a line of spaces is a blank line, not a row with an empty value
        }
        let Some(cols) = &cols else {
            let header = Columns::from_header(&row);
            if header.value.is_none() {
                let message = format!(
                    "no value column in the header (expected one of {}; found {})",
                    VALUE_COLUMNS.join(", "),
                    header.names.join(", ")
                );
                return sink(Err(FeedError::new(source, Some(line), "missing value column", message)));
            }
            cols = Some(header);
            continue;
        };
        sink(record(&row, cols, line, source))?;
    }
}

/// Line numbers of csv records.
///
/// NOTE: we count lines ourselves because `csv::Position::line()` is where the reader
/// started looking for the record: before the `\n` of a CRLF, and before any blank or
/// comment lines it then skipped. So after a CRLF header, the first row claims line 1.
/// `Position::byte()` has the same offset, so we step over what the reader skipped
/// (line ends, and `#` lines at a record start) and count the `\n`s before the record.
struct LineCounter<'a> {
    data: &'a [u8],
    counted_to: usize,
    /// Newlines before `counted_to`, plus the lines of the preamble.
    newlines: usize,
}

impl LineCounter<'_> {
    /// The 1-based line of the record the reader started looking for at `byte`. Calls
    /// must come with non-decreasing `byte`, as records do.
    fn line_at(&mut self, byte: usize) -> usize {
        let data = self.data;
        let mut at = byte.min(data.len());
        loop {
            while at < data.len() && matches!(data[at], b'\r' | b'\n') {
                at += 1;
            }
            if data.get(at) != Some(&b'#') {
                break;
            }
            at = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i);
        }
        let at = at.max(self.counted_to);
        self.newlines += memchr::memchr_iter(b'\n', &data[self.counted_to..at]).count();
        self.counted_to = at;
        self.newlines + 1
    }
}

/// Reads one data row. The first problem found makes the whole row an error.
fn record<'a>(row: &ByteRecord, cols: &Columns, line: usize, source: &str) -> ParsedRecord<'a> {
    let err = |category: &str, message: String| FeedError::new(source, Some(line), category, message);
    // A column's text, trimmed; `None` when the column is absent, short or empty.
    let text = |col: Option<usize>| -> Result<Option<&str>, FeedError> {
        let Some(bytes) = col.and_then(|i| row.get(i)) else { return Ok(None) };
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Some(trim_str(s)).filter(|s| !s.is_empty())),
            Err(e) => Err(err(
                "invalid utf-8",
                format!(
                    "invalid utf-8 in column {} at byte {}",
                    cols.names[col.unwrap()],
                    e.valid_up_to() + 1
                ),
            )),
        }
    };
    let Some(value) = text(cols.value)? else {
        return Err(err("empty value", format!("empty {} column", cols.names[cols.value.unwrap()])));
    };
    let kind = match text(cols.kind)? {
        None => None,
        Some(name) => {
            let Some(type_kind) = kind_of(name) else {
                return Err(err("unknown kind", format!("unknown kind {name:?}")));
            };
            type_kind
                .kind_of(value)
                .map_err(|()| err("bad hash length", types::bad_hash_length(name, value)))?
        }
    };
    let confidence = match text(cols.confidence)? {
        None => None,
        Some(c) => match c.parse::<u8>() {
            Ok(c) if c <= 100 => Some(c),
            _ => {
                return Err(err(
                    "bad confidence",
                    format!("confidence {c:?} is not an integer from 0 to 100"),
                ))
            }
        },
    };
    let tlp = match text(cols.tlp)? {
        None => None,
        Some(t) => Some(Tlp::from_str(t).map_err(|m| err("bad tlp", m))?),
    };
    let time = |col: Option<usize>| -> Result<Option<Timestamp>, FeedError> {
        let Some(t) = text(col)? else { return Ok(None) };
        let bad = || {
            err(
                "bad timestamp",
                format!("{} {t:?} is not an RFC 3339 time or Unix seconds", cols.names[col.unwrap()]),
            )
        };
        parse_timestamp(t).map(Some).ok_or_else(bad)
    };
    let meta = Meta {
        source: text(cols.source)?.map(str::to_string),
        reference: text(cols.reference)?.map(str::to_string),
        confidence,
        tlp,
        tags: text(cols.tags)?.map_or_else(Vec::new, split_tags),
        valid_from: time(cols.valid_from)?,
        valid_until: time(cols.valid_until)?,
        description: text(cols.description)?.map(str::to_string),
    };
    Ok(RawRecord { line, value: Cow::Owned(refang(value).into_owned()), kind, meta })
}

/// A kind column's name for a kind: ours (`ipv4`, `sha256`), then the names other tools
/// write in CSV exports; `None` for a name we do not read.
fn kind_of(name: &str) -> Option<TypeKind> {
    let name = name.to_ascii_lowercase();
    match Kind::from_str(&name) {
        Ok(kind) => Some(TypeKind::Is(kind)),
        Err(_) => types::type_kind(Vocabulary::Csv, &name),
    }
}

fn split_tags(field: &str) -> Vec<String> {
    field.split([';', '|', ',']).map(trim_str).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

fn trim_str(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_space(c as u8))
}

/// Whether `line` (one line, no `\n`) reads as a CSV header with a value column. Quotes
/// around a name are allowed, as the csv reader allows them.
pub(super) fn looks_like_header(line: &[u8]) -> bool {
    memchr::memchr(b',', line).is_some()
        && line.split(|&b| b == b',').any(|field| {
            let field = super::trim(field);
            let name =
                field.strip_prefix(b"\"").and_then(|f| f.strip_suffix(b"\"")).map_or(field, super::trim);
            VALUE_COLUMNS.iter().any(|v| name.eq_ignore_ascii_case(v.as_bytes()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `data` and renders each record as `line:value` plus the fields it set
    /// (`k=` kind, `s=` source, `c=` confidence, `t=` tlp, `g=` tags, `r=` reference,
    /// `f=`/`u=` valid from/until in seconds, `d=` description), each error as
    /// `line!category`.
    fn render(data: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        parse(data, "t.csv", &ParseOptions::default(), &mut |r| {
            out.push(match r {
                Err(e) => format!("{}!{}", e.line().unwrap(), e.category()),
                Ok(r) => {
                    let m = &r.meta;
                    let mut s = format!("{}:{}", r.line, r.value);
                    let mut field = |key: &str, v: Option<String>| {
                        if let Some(v) = v {
                            s.push_str(&format!(" {key}={v}"));
                        }
                    };
                    field("k", r.kind.map(|k| k.to_string()));
                    field("s", m.source.clone());
                    field("c", m.confidence.map(|c| c.to_string()));
                    field("t", m.tlp.map(|t| t.as_str().to_string()));
                    field("g", (!m.tags.is_empty()).then(|| m.tags.join("/")));
                    field("r", m.reference.clone());
                    field("f", m.valid_from.map(|t| (t / 1_000_000).to_string()));
                    field("u", m.valid_until.map(|t| (t / 1_000_000).to_string()));
                    field("d", m.description.clone());
                    s
                }
            });
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn csv_table() {
        #[rustfmt::skip]
        let rows: &[(&str, &[u8], &[&str])] = &[
            ("basic010", b"value\nevil.example\n", &["2:evil.example"]),
            ("basic020", b"value,kind\na.example,domain\n1.2.3.4,ipv4", &["2:a.example k=domain", "3:1.2.3.4 k=ipv4"]),
            ("basic030", b"value\n", &[]),
            ("basic040", b"", &[]),
            ("header010", b" Indicator , TYPE \na.example,Domain\n", &["2:a.example k=domain"]),
            ("header020", b"\"ioc\",\"kind\"\n\"a.example\",\"hostname\"\n", &["2:a.example k=hostname"]),
            ("header030", b"observable\nx\n", &["2:x"]),
            ("header040", b"# exported\n\n#x\nvalue\na.example\n", &["5:a.example"]),
            ("header050", b"\xef\xbb\xbfvalue,kind\r\na.example,url\r\n", &["2:a.example k=url"]),
            // The first column of a meaning wins.
            ("header060", b"kind,value,value,type\nurl,a,b,md5\n", &["2:a k=url"]),
            ("missing010", b"kind,name\ndomain,a.example\nurl,x\n", &["1!missing value column"]),
            ("missing020", b"# c\na.example\n", &["2!missing value column"]),
            ("crlf010", b"value\r\na.example\r\n\r\nb.example\r\n", &["2:a.example", "4:b.example"]),
            ("blank010", b"value\n\n  \na.example\n", &["4:a.example"]),
            ("comment010", b"value\n# mid-file comment\na.example\n", &["3:a.example"]),
            ("quoted010", b"value,comment\n\"a.example\",\"has, comma\"\n", &["2:a.example d=has, comma"]),
            ("quoted020", b"value,comment\n\"a\",\"two\nlines\"\nb\n", &["2:a d=two\nlines", "4:b"]),
            ("quoted030", b"value\n\"say \"\"hi\"\"\"\n", &["2:say \"hi\""]),
            ("extra010", b"value,kind\na,domain,extra,more\nb\n", &["2:a k=domain", "3:b"]),
            ("extra020", b"date,value,user\n2024,a.example,bob\n", &["2:a.example"]),
            ("empty010", b"kind,value\ndomain,\nurl,  \n,\n", &["2!empty value", "3!empty value", "4!empty value"]),
            ("empty020", b"kind,value\nurl\n", &["2!empty value"]),
            ("refang010", b"value\nhxxps://evil[.]example/a\n", &["2:https://evil.example/a"]),
            ("trim010", b"value,kind\n  a.example  , domain \n", &["2:a.example k=domain"]),
            ("kind010", b"kind,value\nIPv4-Addr,1.2.3.4\nipv6-addr,::1\n", &["2:1.2.3.4 k=ipv4", "3:::1 k=ipv6"]),
            ("kind020", b"kind,value\nip,1\nip-src,2\nip-dst,3\nip-addr,4\n", &["2:1", "3:2", "4:3", "5:4"]),
            ("kind030", b"type,value\nSHA-256,x\nsha1,x\nMD5,x\n", &["2:x k=sha256", "3:x k=sha1", "4:x k=md5"]),
            ("kind040", b"type,value\nsha-1,x\nsha-224,x\nsha-384,x\nsha-512,x\n", &["2:x k=sha1", "3:x k=sha224", "4:x k=sha384", "5:x k=sha512"]),
            ("kind050", b"type,value\nhash,x\nfilehash,x\n,x\n", &["2:x", "3:x", "4:x"]),
            ("kind060", b"type,value\nfqdn,x\ndomain-name,x\n", &["2:x k=domain", "3:x k=domain"]),
            ("kind070", b"type,value\nemail-src,x\nemail-dst,x\nemail-addr,x\n", &["2:x k=email", "3:x k=email", "4:x k=email"]),
            // `uri` is inferred: MISP writes bare paths under it.
            ("kind080", b"type,value\nuri,x\nurl,x\nstring,x\n", &["2:x", "3:x k=url", "4:x k=string"]),
            ("kind090", b"type,value\nregkey,x\nlink,x\ndomain,ok\n", &["2!unknown kind", "3!unknown kind", "4:ok k=domain"]),
            ("source010", b"value,source\na.example, etisp \n", &["2:a.example s=etisp"]),
            ("conf010", b"value,confidence\na,0\nb,100\nc,\n", &["2:a c=0", "3:b c=100", "4:c"]),
            ("conf020", b"value,confidence\na,101\nb,-1\nc,high\nd,50.0\n", &["2!bad confidence", "3!bad confidence", "4!bad confidence", "5!bad confidence"]),
            ("tlp010", b"value,tlp\na,TLP:AMBER+STRICT\nb,white\nc,green\n", &["2:a t=amber+strict", "3:b t=clear", "4:c t=green"]),
            ("tlp020", b"value,tlp\na,purple\n", &["2!bad tlp"]),
            ("tags010", b"value,tags\na,\"c2; botnet|#phish ,x,,\"\nb,\n", &["2:a g=c2/botnet/#phish/x", "3:b"]),
            ("ref010", b"value,uuid\na,5f4c-1\n", &["2:a r=5f4c-1"]),
            ("ref020", b"id,value,ref\n7,a,r9\n", &["2:a r=7"]),
            ("desc010", b"value,comment\na,seen in phishing\n", &["2:a d=seen in phishing"]),
            ("desc020", b"value,description\na,x\n", &["2:a d=x"]),
            // Every spelling is in time.rs; here, that each column lands in its field.
            ("time010", b"value,first_seen,expires\na,2024-04-16,1713261600\n", &["2:a f=1713225600 u=1713261600"]),
            ("time020", b"value,valid_from,valid_until\na,0,2024-04-16T10:00:00Z\n", &["2:a f=0 u=1713261600"]),
            ("time030", b"value,expiration\na,1713261600\n", &["2:a u=1713261600"]),
            ("time040", b"value,valid_from\na,yesterday\nb,1713261600000\n", &["2!bad timestamp", "3!bad timestamp"]),
            ("time050", b"value,expires\na,2024-13-01\n", &["2!bad timestamp"]),
            ("utf8010", b"value,comment\na,ok\n\xff,x\nb,\xe9\nc\n", &["2:a d=ok", "3!invalid utf-8", "4!invalid utf-8", "5:c"]),
            // An ignored column may hold anything.
            ("utf8020", b"value,other\na.example,\xff\n", &["2:a.example"]),
        ];
        for &(id, input, want) in rows {
            assert_eq!(render(input), want, "{id}");
        }
    }

    #[test]
    fn messages_name_the_problem() {
        let first_error = |data: &[u8]| {
            let mut errors = Vec::new();
            parse(data, "f.csv", &ParseOptions::default(), &mut |r| {
                errors.extend(r.err());
                Ok(())
            })
            .unwrap();
            errors.remove(0).to_string()
        };
        assert_eq!(
            first_error(b"kind,name\n"),
            "f.csv:1: no value column in the header (expected one of value, indicator, ioc, observable; found kind, name)"
        );
        assert_eq!(first_error(b"value,type\nx,regkey\n"), "f.csv:2: unknown kind \"regkey\"");
        assert_eq!(
            first_error(b"value,confidence\nx,101\n"),
            "f.csv:2: confidence \"101\" is not an integer from 0 to 100"
        );
        assert_eq!(
            first_error(b"value,comment\nx,a\xffb\n"),
            "f.csv:2: invalid utf-8 in column comment at byte 2"
        );
    }

    #[test]
    fn header_detection() {
        let rows: &[(&str, &[u8], bool)] = &[
            ("hdr010", b"value,kind", true),
            ("hdr020", b"type, Indicator ", true),
            ("hdr030", b"\"IOC\",\"type\"\r", true),
            ("hdr040", b"value", false),
            ("hdr050", b"a.example,b.example", false),
            ("hdr060", b"values,kind", false),
            ("hdr070", b"", false),
        ];
        for &(id, line, want) in rows {
            assert_eq!(looks_like_header(line), want, "{id}");
        }
    }
}
