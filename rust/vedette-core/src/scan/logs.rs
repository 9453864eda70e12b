//! Log formats: which kind of log an input is, and which field, time and connection id of
//! its record a hit belongs to (docs/semantics.md §9).
//!
//! An input is recognised from its first chunk ([`LogContext::sniff`]): a Zeek TSV log
//! starts with `#separator`; a Zeek JSON log or a Suricata EVE log has a JSON object on
//! its first line with the keys each writes; anything else is plain text. The reader
//! then carries a [`LogContext`] through the input, and each chunk's header lines
//! ([`LogContext::advance`]) update it, since Zeek starts a new header block after a log
//! rotation and `cat` joins files.
//!
//! Attribution reads only the lines that hit, so it parses a JSON line in full for
//! clarity, not speed. The one thing done for every row, the URL of a Zeek http.log or
//! EVE HTTP record ([`LogContext::row_url`]), splits a TSV row only up to its `host` and
//! `uri` columns and allocates nothing.

mod json;
mod tsv;

use std::sync::Arc;

use memchr::{memchr, memmem};

use crate::indicator::Timestamp;
use tsv::Layout;

/// The kinds of log the scanner recognises.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// Text with no known record structure: hits have no field, time or uid.
    Plain,
    /// Zeek's tab-separated logs, under a `#separator` ... `#fields` header.
    ZeekTsv,
    /// Zeek's JSON logs (`LogAscii::use_json`), one object per line.
    ZeekJson,
    /// Suricata's EVE JSON, one event per line.
    SuricataEve,
}

impl LogFormat {
    /// The format's name: `plain`, `zeek-tsv`, `zeek-json` or `suricata-eve`.
    ///
    /// # Example
    /// ```
    /// use vedette_core::scan::logs::LogFormat;
    /// assert_eq!(LogFormat::SuricataEve.as_str(), "suricata-eve");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Plain => "plain",
            LogFormat::ZeekTsv => "zeek-tsv",
            LogFormat::ZeekJson => "zeek-json",
            LogFormat::SuricataEve => "suricata-eve",
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a hit lies in its log record: the field, and the record's time and uid. Each is
/// `None` when the log does not say (or for plain text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution {
    /// The field the hit lies in: a Zeek column name (`query`, `id.resp_h`) or a JSON key
    /// path (`dns.rrname`, `tls.sni`).
    pub field: Option<String>,
    /// The record's time: Zeek `ts`, EVE `timestamp`.
    pub ts: Option<Timestamp>,
    /// The record's connection id: Zeek `uid`, EVE `flow_id` (as its decimal text).
    pub uid: Option<String>,
}

/// What a reader knows at one point of one input: its format and, for a Zeek TSV log,
/// the header in effect. Cheap to clone (the header is shared).
#[derive(Clone, Debug)]
pub struct LogContext {
    format: LogFormat,
    /// The header in effect, for a Zeek TSV log (and only for one).
    layout: Option<Arc<Layout>>,
}

impl Default for LogContext {
    /// Plain text.
    fn default() -> Self {
        LogContext { format: LogFormat::Plain, layout: None }
    }
}

/// The UTF-8 byte order mark, which some tools put before the first line.
const BOM: &[u8] = b"\xef\xbb\xbf";

impl LogContext {
    /// Recognises an input from its first chunk (whole lines), and reads the header lines
    /// in it: the context in effect after `first`.
    ///
    /// A first line starting `#separator` is a Zeek TSV log. A first line that is a JSON
    /// object is a Suricata EVE log when it has `event_type` and `timestamp`, and a Zeek
    /// JSON log when it has `ts` and one of `uid`, `_path`, `_write_ts`, `fuid` or a
    /// dotted key (Zeek writes a record's fields flat, as `id.orig_h`). Anything else is
    /// plain text. Blank lines and a byte order mark before the first line are skipped.
    ///
    /// # Example
    /// ```
    /// use vedette_core::scan::logs::{LogContext, LogFormat};
    ///
    /// let eve = br#"{"timestamp":"2019-08-22T23:48:27.924120+0000","event_type":"dns"}"#;
    /// assert_eq!(LogContext::sniff(eve).format(), LogFormat::SuricataEve);
    /// assert_eq!(LogContext::sniff(b"#separator \\x09\n#fields\tts\n").format(), LogFormat::ZeekTsv);
    /// assert_eq!(LogContext::sniff(b"May 10 sshd[1]: Accepted\n").format(), LogFormat::Plain);
    /// ```
    pub fn sniff(first: &[u8]) -> LogContext {
        let data = first.strip_prefix(BOM).unwrap_or(first);
        let line = data
            .split(|&b| b == b'\n')
            .map(<[u8]>::trim_ascii)
            .find(|line| !line.is_empty())
            .unwrap_or_default();
        let mut context = LogContext::default();
        if line.starts_with(b"#separator") {
            context = LogContext::zeek_tsv();
        } else if line.starts_with(b"{") {
            context.format = json::sniff(line);
        }
        context.advance(data);
        context
    }

    fn zeek_tsv() -> LogContext {
        LogContext { format: LogFormat::ZeekTsv, layout: Some(Arc::new(Layout::default())) }
    }

    /// The format of the input.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Reads the header lines of `chunk`, the next run of whole lines of the input, so
    /// that the context is the one in effect after it.
    ///
    /// A `#separator` line starts a new Zeek header block: its lines (`#fields`, `#path`,
    /// ...) replace the header for the lines after them, and the input is a Zeek TSV log
    /// from there on, whatever it was before (`cat notes.txt conn.log`). Other `#` lines
    /// of a plain or JSON input are text. A chunk without a header line costs one search
    /// for `\n#`. Reading the same lines twice changes nothing, so a context that was
    /// [`sniff`](Self::sniff)ed from a chunk may be advanced over that chunk again.
    ///
    /// A chunk may hold a header block in the middle: to attribute a hit there, advance a
    /// clone of the chunk's starting context over the lines before the hit's line.
    ///
    /// Returns whether the chunk held a `#` line: only then may the context have changed
    /// within it.
    ///
    /// # Example
    /// ```
    /// use vedette_core::scan::logs::LogContext;
    ///
    /// let mut context = LogContext::sniff(b"#separator \\x09\n#fields\tts\tquery\n");
    /// let line = b"1.5\tevil.example";
    /// assert_eq!(context.attribute(line, 4, 16).field.as_deref(), Some("query"));
    /// context.advance(b"#separator \\x09\n#fields\tts\thost\n");
    /// assert_eq!(context.attribute(line, 4, 16).field.as_deref(), Some("host"));
    /// ```
    pub fn advance(&mut self, chunk: &[u8]) -> bool {
        let mut at = if chunk.first() == Some(&b'#') {
            0
        } else {
            match memmem::find(chunk, b"\n#") {
                Some(newline) => newline + 1,
                None => return false,
            }
        };
        loop {
            let end = memchr(b'\n', &chunk[at..]).map_or(chunk.len(), |i| at + i);
            let line = &chunk[at..end];
            self.header_line(line.strip_suffix(b"\r").unwrap_or(line));
            match memmem::find(&chunk[end..], b"\n#") {
                Some(newline) => at = end + newline + 1,
                None => return true,
            }
        }
    }

    /// Reads one line that starts with `#`.
    fn header_line(&mut self, line: &[u8]) {
        let block = line.starts_with(b"#separator ");
        if block {
            // Only `#separator` starts a block, and every block restates all its lines:
            // nothing of the previous log's header carries over.
            *self = LogContext::zeek_tsv();
        }
        if let Some(layout) = &mut self.layout {
            Arc::make_mut(layout).header_line(line);
        }
    }

    /// Whether `line` is a header line of a Zeek TSV log (`#fields`, `#close`, ...), which
    /// holds no record.
    ///
    /// # Example
    /// ```
    /// use vedette_core::scan::logs::LogContext;
    ///
    /// let context = LogContext::sniff(b"#separator \\x09\n");
    /// assert!(context.is_header(b"#close\t2018-11-01-20-39-49"));
    /// assert!(!LogContext::default().is_header(b"# a comment in a plain file"));
    /// ```
    pub fn is_header(&self, line: &[u8]) -> bool {
        self.format == LogFormat::ZeekTsv && line.strip_prefix(BOM).unwrap_or(line).first() == Some(&b'#')
    }

    /// Attributes a hit at `line[start..end]` (a line without its `\n`) to its record:
    /// the field it lies in, and the record's time and uid.
    ///
    /// In a Zeek TSV log the field is the column the hit starts in, counted by
    /// separators (a set or vector column is one field); a hit across a separator has
    /// none. In a JSON log it is the key path of the string or number whose text holds
    /// the hit, dotted for nested objects (`dns.rrname`); the elements of an array keep
    /// the array's key (`dns.answers.rdata` for `{"dns":{"answers":[{"rdata":...}]}}`,
    /// `answers` for Zeek's `"answers":[...]`, as in its TSV logs). A hit in a key or
    /// a line that is not JSON has no field, but still the time and uid when they can be
    /// read.
    ///
    /// # Panics
    /// When `start > end` or `end > line.len()`.
    ///
    /// # Example
    /// ```
    /// use vedette_core::scan::logs::LogContext;
    ///
    /// let line = br#"{"timestamp":"2019-08-22T23:48:27.924120+0000","flow_id":885455453886936,"event_type":"dns","dns":{"rrname":"google.com"}}"#;
    /// let context = LogContext::sniff(line);
    /// let start = line.windows(10).position(|w| w == b"google.com").unwrap();
    /// let hit = context.attribute(line, start, start + 10);
    /// assert_eq!(hit.field.as_deref(), Some("dns.rrname"));
    /// assert_eq!(hit.ts, Some(1_566_517_707_924_120));
    /// assert_eq!(hit.uid.as_deref(), Some("885455453886936"));
    /// ```
    pub fn attribute(&self, line: &[u8], start: usize, end: usize) -> Attribution {
        assert!(start <= end && end <= line.len(), "hit {start}..{end} outside a line of {}", line.len());
        match (self.format, &self.layout) {
            (LogFormat::ZeekTsv, Some(layout)) => layout.attribute(line, start, end),
            (LogFormat::ZeekJson | LogFormat::SuricataEve, _) => {
                json::attribute(self.format, line, start, end)
            }
            _ => Attribution::default(),
        }
    }

    /// Writes the URL that a record names in two fields into `out` (cleared first), and
    /// returns true; false when the record names none.
    ///
    /// The records are Zeek http.log rows, `host` + `uri` (TSV and JSON), and Suricata
    /// EVE records with an `http` object (`http` events, and the alerts and file events
    /// that carry one), `http.hostname` + `http.url`: `evil.example` and `/a?x=1` give
    /// `evil.example/a?x=1`, the scheme-less form URL indicators take. A record whose host
    /// or uri is unset or empty, or whose uri does not start with `/` (a proxy's absolute
    /// URL already holds its host, and is matched in the line), names none. Zeek's `\xHH`
    /// escapes are undone. A TSV row is split only up to its host and uri columns.
    ///
    /// # Example
    /// ```
    /// use vedette_core::scan::logs::LogContext;
    ///
    /// let context = LogContext::sniff(b"#separator \\x09\n#fields\tts\thost\turi\n");
    /// let mut url = Vec::new();
    /// assert!(context.row_url(b"1.5\tevil.example\t/a?x=1", &mut url));
    /// assert_eq!(url, b"evil.example/a?x=1");
    /// assert!(!context.row_url(b"1.5\t-\t/a?x=1", &mut url));
    /// ```
    pub fn row_url(&self, line: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        let found = match (self.format, &self.layout) {
            (LogFormat::ZeekTsv, Some(layout)) => layout.row_url(line, out),
            (LogFormat::ZeekJson | LogFormat::SuricataEve, _) => json::row_url(self.format, line, out),
            _ => false,
        };
        if !found {
            out.clear();
        }
        found
    }

    /// Whether some records of this log may name a URL in two fields
    /// ([`row_url`](Self::row_url)): a Zeek TSV log with `host` and `uri` columns, or a
    /// JSON log, whose records each say for themselves.
    pub fn names_row_urls(&self) -> bool {
        match (self.format, &self.layout) {
            (LogFormat::ZeekTsv, Some(layout)) => layout.names_row_urls(),
            (LogFormat::ZeekJson | LogFormat::SuricataEve, _) => true,
            _ => false,
        }
    }

    /// The field named for a hit on [`row_url`](Self::row_url)'s text: `host+uri` for a
    /// Zeek log, `http.hostname+http.url` for an EVE log, empty for a plain one.
    pub fn row_url_field(&self) -> &'static str {
        match self.format {
            LogFormat::ZeekTsv | LogFormat::ZeekJson => "host+uri",
            LogFormat::SuricataEve => "http.hostname+http.url",
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests;
