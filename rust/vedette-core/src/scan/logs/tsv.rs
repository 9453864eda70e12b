//! Zeek TSV logs: the header in effect, and the columns of a row.

use memchr::memmem::Finder;

use super::Attribution;
use crate::time::parse_log_time;
use crate::zeek_tsv::{self, unescape_into, Header, HeaderLine};

/// The header in effect and where the columns we read are in it.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    header: Header,
    /// Finds the separator; built once per header, since a row is split on every call.
    separator: Finder<'static>,
    ts: Option<usize>,
    uid: Option<usize>,
    host: Option<usize>,
    uri: Option<usize>,
}

impl Default for Layout {
    fn default() -> Self {
        let header = Header::default();
        let separator = Finder::new(&header.separator).into_owned();
        Layout { header, separator, ts: None, uid: None, host: None, uri: None }
    }
}

impl Layout {
    /// Reads one `#` line. A line we cannot use changes what it can: an empty
    /// `#separator` keeps the separator, an unsplittable `#fields` leaves no columns.
    pub(super) fn header_line(&mut self, line: &[u8]) {
        let read = zeek_tsv::header_line(&mut self.header, line);
        if line.starts_with(b"#separator ") {
            self.separator = Finder::new(&self.header.separator).into_owned();
        }
        if matches!(read, Ok(HeaderLine::Fields) | Err(zeek_tsv::HeaderError::FieldsNotSeparated)) {
            let names = self.header.fields.as_deref().unwrap_or_default();
            let find = |name: &[u8]| names.iter().position(|n| n == name);
            (self.ts, self.uid) = (find(b"ts"), find(b"uid"));
            (self.host, self.uri) = (find(b"host"), find(b"uri"));
        }
    }

    pub(super) fn attribute(&self, line: &[u8], start: usize, end: usize) -> Attribution {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let sep = &self.header.separator;
        let column = zeek_tsv::column_at(line, sep, start.min(line.len()));
        // The hit must end in the column it starts in.
        let last = zeek_tsv::column_at(line, sep, end.saturating_sub(1).max(start).min(line.len()));
        let names = self.header.fields.as_deref().unwrap_or_default();
        let field = column.filter(|_| last == column).and_then(|c| names.get(c));
        let [ts, uid] = self.pick(line, [self.ts, self.uid]);
        let text = |raw: Option<&[u8]>| {
            raw.filter(|raw| !self.header.is_null(raw)).map(|raw| String::from_utf8_lossy(raw).into_owned())
        };
        Attribution {
            field: field.map(|name| String::from_utf8_lossy(name).into_owned()),
            ts: text(ts).and_then(|ts| parse_log_time(&ts)),
            uid: text(uid),
        }
    }

    pub(super) fn names_row_urls(&self) -> bool {
        self.host.is_some() && self.uri.is_some()
    }

    pub(super) fn row_url(&self, line: &[u8], out: &mut Vec<u8>) -> bool {
        if self.host.is_none() || self.uri.is_none() {
            return false;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let [Some(host), Some(uri)] = self.pick(line, [self.host, self.uri]) else { return false };
        if self.header.is_null(host) || self.header.is_null(uri) {
            return false;
        }
        unescape_into(host, out);
        let host_len = out.len();
        unescape_into(uri, out);
        out.get(host_len) == Some(&b'/')
    }

    /// The text of the columns at the `wanted` indexes (`None` for an index the row does
    /// not reach), splitting the row only as far as the largest.
    fn pick<'l, const N: usize>(&self, line: &'l [u8], wanted: [Option<usize>; N]) -> [Option<&'l [u8]>; N] {
        let mut out = [None; N];
        let Some(last) = wanted.iter().flatten().max().copied() else { return out };
        let mut ends = self.separator.find_iter(line);
        let (mut column, mut start) = (0, 0);
        loop {
            let end = ends.next();
            let text = &line[start..end.unwrap_or(line.len())];
            for (slot, want) in out.iter_mut().zip(wanted) {
                if want == Some(column) {
                    *slot = Some(text);
                }
            }
            match end {
                Some(end) if column < last => {
                    (column, start) = (column + 1, end + self.header.separator.len())
                }
                _ => return out,
            }
        }
    }
}
