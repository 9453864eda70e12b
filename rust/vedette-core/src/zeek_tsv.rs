//! Zeek's tab-separated format, the one owner of its header lines and escapes: Zeek's
//! ASCII logs and the intel files its Intel framework reads share it, so the intel reader
//! (`feed/zeek.rs`) and the log scanner (`scan/logs`) both read it through this module.
//!
//! A file starts with a header block of `#` lines: `#separator \x09` (the one line
//! written with a space, since it defines the separator), then `#set_separator`,
//! `#empty_field`, `#unset_field`, `#path`, `#open`, `#fields` and `#types`, each
//! followed by the separator and its values. A later header block (after a log rotation,
//! or in concatenated files) replaces what the earlier one said. Values are escaped:
//! `\xHH` is the byte HH.

use std::borrow::Cow;
use std::io::{self, Write};

use memchr::memmem;

use crate::feed::trim;

/// What the header lines read so far say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) separator: Vec<u8>,
    /// Between the elements of a `set[...]` or `vector[...]` value.
    pub(crate) set_separator: Vec<u8>,
    pub(crate) unset: Vec<u8>,
    pub(crate) empty: Vec<u8>,
    /// The log's name (`conn`, `http`), unescaped; `None` before a `#path` line.
    pub(crate) path: Option<Vec<u8>>,
    /// The column names of the last `#fields` line, as written; `None` before one, or
    /// after one that the separator does not split.
    pub(crate) fields: Option<Vec<Vec<u8>>>,
}

impl Default for Header {
    /// Zeek's defaults, in force before (or without) the header lines that change them.
    fn default() -> Self {
        Header {
            separator: b"\t".to_vec(),
            set_separator: b",".to_vec(),
            unset: b"-".to_vec(),
            empty: b"(empty)".to_vec(),
            path: None,
            fields: None,
        }
    }
}

impl Header {
    /// Whether a column's raw text is one of the null markers (or empty).
    pub(crate) fn is_null(&self, raw: &[u8]) -> bool {
        raw.is_empty() || raw == self.unset || raw == self.empty
    }
}

/// Which header line [`header_line`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderLine {
    /// A `#fields` line: [`Header::fields`] now holds its names.
    Fields,
    /// `#separator`, `#path` and the other lines of the block, or a comment.
    Other,
}

/// A header line that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// `#separator` with no value: the separator stays what it was.
    EmptySeparator,
    /// `#fields` glued to its names by something other than the separator, so the names
    /// cannot be split: [`Header::fields`] is now `None`.
    FieldsNotSeparated,
}

/// Reads one `#` line (without its line end) into `header`.
pub(crate) fn header_line(header: &mut Header, line: &[u8]) -> Result<HeaderLine, HeaderError> {
    if let Some(rest) = line.strip_prefix(b"#separator ") {
        let separator = unescape(trim(rest)).into_owned();
        if separator.is_empty() {
            return Err(HeaderError::EmptySeparator);
        }
        header.separator = separator;
        return Ok(HeaderLine::Other);
    }
    let mut words = Vec::new();
    split(line, &header.separator, &mut words);
    let (keyword, rest) = (words[0], &words[1..]);
    let second = || unescape(rest.first().copied().unwrap_or_default()).into_owned();
    match keyword {
        b"#set_separator" => header.set_separator = second(),
        b"#unset_field" => header.unset = second(),
        b"#empty_field" => header.empty = second(),
        b"#path" => header.path = Some(second()),
        b"#fields" => {
            header.fields = Some(rest.iter().map(|name| name.to_vec()).collect());
            return Ok(HeaderLine::Fields);
        }
        // A header we cannot split, not a comment to skip silently.
        _ if keyword.starts_with(b"#fields") => {
            header.fields = None;
            return Err(HeaderError::FieldsNotSeparated);
        }
        _ => {} // #open, #types, #close, and plain comments
    }
    Ok(HeaderLine::Other)
}

/// Splits `line` on a (possibly multi-byte) separator into `out`, cleared first.
pub(crate) fn split<'s>(line: &'s [u8], separator: &[u8], out: &mut Vec<&'s [u8]>) {
    out.clear();
    let mut start = 0;
    for at in memmem::find_iter(line, separator) {
        // Overlapping matches of a separator such as `::` would split twice.
        if at >= start {
            out.push(&line[start..at]);
            start = at + separator.len();
        }
    }
    out.push(&line[start..]);
}

/// The index of the column that byte `at` of `line` lies in: the separators that end
/// before it, counted as [`split`] counts them. `None` when `at` is inside a separator.
pub(crate) fn column_at(line: &[u8], separator: &[u8], at: usize) -> Option<usize> {
    // Zeek's separator is one byte (a tab) in every log we have seen: count it with
    // memchr, with no searcher to build at each of a hit-dense log's hits.
    if let &[separator] = separator {
        return match line.get(at) == Some(&separator) {
            true => None,
            false => Some(memchr::memchr_iter(separator, &line[..at.min(line.len())]).count()),
        };
    }
    let mut column = 0;
    let mut start = 0;
    for sep in memmem::find_iter(line, separator) {
        if sep < start {
            continue;
        }
        if sep > at {
            break;
        }
        if at < sep + separator.len() {
            return None;
        }
        column += 1;
        start = sep + separator.len();
    }
    Some(column)
}

/// Zeek's value escapes: `\xHH` is the byte HH. Any other backslash is kept, as Zeek
/// keeps it.
pub(crate) fn unescape(field: &[u8]) -> Cow<'_, [u8]> {
    if memmem::find(field, b"\\x").is_none() {
        return Cow::Borrowed(field);
    }
    let mut out = Vec::with_capacity(field.len());
    unescape_into(field, &mut out);
    Cow::Owned(out)
}

/// [`unescape`], appending to `out`: no allocation when `out` has room.
pub(crate) fn unescape_into(field: &[u8], out: &mut Vec<u8>) {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while let Some(found) = memmem::find(&field[i..], b"\\x") {
        let at = i + found;
        out.extend_from_slice(&field[i..at]);
        if let (Some(hi), Some(lo)) =
            (field.get(at + 2).and_then(|&b| hex(b)), field.get(at + 3).and_then(|&b| hex(b)))
        {
            out.push(hi << 4 | lo);
            i = at + 4;
        } else {
            out.push(b'\\');
            i = at + 1;
        }
    }
    out.extend_from_slice(&field[i..]);
}

/// Which bytes of a value a Zeek writer escapes besides control bytes: Zeek's input
/// framework and its log writer differ.
struct Escapes {
    /// How `\` is written. The input framework unescapes only `\xHH`, so an intel file
    /// needs `\x5c`; the log writer writes `\\`, and log readers expect that.
    backslash: &'static [u8],
    /// A leading `#` would make the first column of an intel file a comment line. A
    /// log's first column is its `ts`, so the log writer leaves `#` alone.
    leading_hash: bool,
    /// An element of a set field: the set separator `,` is escaped too.
    set_element: bool,
}

/// Writes one field of an intel file, escaped so that Zeek's reader (and ours) gives
/// back `text`.
pub(crate) fn write_field(out: &mut impl Write, text: &str) -> io::Result<()> {
    write_escaped(out, text, &Escapes { backslash: b"\\x5c", leading_hash: true, set_element: false })
}

/// Writes one string or enum field of a Zeek log (`set_element` for an element of a set
/// field) as Zeek's ASCII log writer does: the tab separator and every control byte as
/// `\xHH`, `\` as `\\`, a `,` in a set element as `\x2c`, and a value that reads as a
/// null marker with its first byte as `\xHH`. Other UTF-8 text is written as it is.
pub(crate) fn write_log_field(out: &mut impl Write, text: &str, set_element: bool) -> io::Result<()> {
    write_escaped(out, text, &Escapes { backslash: b"\\\\", leading_hash: false, set_element })
}

fn write_escaped(out: &mut impl Write, text: &str, escapes: &Escapes) -> io::Result<()> {
    if text.is_empty() {
        return out.write_all(b"(empty)");
    }
    // Escaping the first byte is enough to keep a value from reading as a null marker
    // or, in the first column, a comment line.
    let escape_first = text == "-" || text == "(empty)" || (escapes.leading_hash && text.starts_with('#'));
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let hex = b < 0x20 || b == 0x7f || (b == b',' && escapes.set_element) || (i == 0 && escape_first);
        if hex || b == b'\\' {
            out.write_all(&text.as_bytes()[start..i])?;
            if hex {
                write!(out, "\\x{b:02x}")?;
            } else {
                out.write_all(escapes.backslash)?;
            }
            start = i + 1;
        }
    }
    out.write_all(&text.as_bytes()[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_table() {
        let rows: &[(&str, &[u8], &[u8])] = &[
            ("esc010", b"plain", b"plain"),
            ("esc020", b"a\\x09b", b"a\tb"),
            ("esc030", b"\\x2d", b"-"),
            ("esc040", b"\\x", b"\\x"),
            ("esc050", b"\\xg0", b"\\xg0"),
            ("esc060", b"\\x4", b"\\x4"),
            ("esc070", b"\\\\x41", b"\\A"),
            ("esc080", b"\\x41\\x42c", b"ABc"),
            ("esc090", b"a\\b", b"a\\b"),
        ];
        for &(id, input, want) in rows {
            assert_eq!(&*unescape(input), want, "{id}");
        }
    }

    #[test]
    fn column_at_table() {
        // (id, line, separator, byte, column)
        type Row<'a> = (&'a str, &'a [u8], &'a [u8], usize, Option<usize>);
        let rows: &[Row] = &[
            ("col010", b"a\tbb\tc", b"\t", 0, Some(0)),
            ("col020", b"a\tbb\tc", b"\t", 1, None),
            ("col030", b"a\tbb\tc", b"\t", 2, Some(1)),
            ("col040", b"a\tbb\tc", b"\t", 5, Some(2)),
            ("col050", b"a\tbb\tc", b"\t", 6, Some(2)),
            ("col060", b"a::b", b"::", 3, Some(1)),
            ("col070", b"a:::b", b"::", 3, Some(1)), // split gives `a`, `:b`
            ("col080", b"a:::b", b"::", 2, None),
        ];
        for &(id, line, sep, at, want) in rows {
            assert_eq!(column_at(line, sep, at), want, "{id}");
            if let Some(column) = want {
                let mut cols = Vec::new();
                split(line, sep, &mut cols);
                let starts: Vec<usize> =
                    cols.iter().map(|c| c.as_ptr() as usize - line.as_ptr() as usize).collect();
                assert!(
                    starts[column] <= at && (column + 1 == starts.len() || at < starts[column + 1]),
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn header_table() {
        let read = |lines: &[&[u8]]| {
            let mut header = Header::default();
            let results: Vec<_> = lines.iter().map(|l| header_line(&mut header, l)).collect();
            (header, results)
        };
        let (h, r) = read(&[b"#separator \\x2c", b"#fields,ts,uid", b"#path,conn", b"#unset_field,??"]);
        assert_eq!(h.separator, b",");
        assert_eq!(h.fields, Some(vec![b"ts".to_vec(), b"uid".to_vec()]));
        assert_eq!(h.path.as_deref(), Some(&b"conn"[..]));
        assert_eq!(h.unset, b"??");
        assert_eq!(r[1], Ok(HeaderLine::Fields));
        let (h, r) = read(&[b"#fields\tts", b"#fields ts uid"]);
        assert_eq!((h.fields, r[1]), (None, Err(HeaderError::FieldsNotSeparated)));
        let (h, r) = read(&[b"#separator  "]);
        assert_eq!((h.separator, r[0]), (b"\t".to_vec(), Err(HeaderError::EmptySeparator)));
        let (h, _) = read(&[b"#set_separator\t;", b"#empty_field\tnone"]);
        assert_eq!((h.set_separator, h.empty), (b";".to_vec(), b"none".to_vec()));
    }
}
