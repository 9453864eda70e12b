//! Feed parsing: bytes in, raw indicator records out, plus one error per record that
//! could not be read. Parsers never normalize: the builder does, so every format shares
//! one canonical form.

use std::borrow::Cow;
use std::io::Read;

use memchr::memchr;

use crate::error::FeedError;
use crate::indicator::{Kind, Meta, Timestamp};
use crate::scan::input::{self, Compression};

mod csv;
mod envelope;
mod lines;
mod misp;
mod refang;
mod stix;
mod stix_pattern;
mod types;
pub(crate) mod zeek;

pub use envelope::{read_envelope, Envelope};
pub use zeek::write_zeek_intel;

pub(crate) use misp::kinds_of_type as kinds_of_misp_type;

/// The feed formats [`crate::IndexBuilder::load`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One value per line: plain block lists, FireHOL netsets, IPsum, LOKI `value;comment`.
    Lines,
    /// CSV with a header naming a value column (and optionally kind, source, ...).
    Csv,
    /// Zeek intel files: `#fields indicator indicator_type meta.source ...`.
    Zeek,
    /// MISP event JSON: a feed's event file, an event export, a restSearch response.
    Misp,
    /// MISP CSV exports (`uuid,event_id,category,type,value,comment,to_ids,...`).
    MispCsv,
    /// STIX 2.1 or 2.0 JSON: a bundle, a TAXII envelope, or an array of STIX objects.
    Stix,
}

impl Format {
    /// The name [`Format::from_str`](std::str::FromStr) reads: `"lines"` or `"csv"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Lines => "lines",
            Format::Csv => "csv",
            Format::Zeek => "zeek",
            Format::Misp => "misp",
            Format::MispCsv => "misp-csv",
            Format::Stix => "stix",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "lines" => Ok(Format::Lines),
            "csv" => Ok(Format::Csv),
            "zeek" => Ok(Format::Zeek),
            "misp" => Ok(Format::Misp),
            "misp-csv" => Ok(Format::MispCsv),
            "stix" => Ok(Format::Stix),
            _ => Err(format!("unknown feed format {s:?}: expected lines, csv, zeek, misp, misp-csv or stix")),
        }
    }
}

/// Choices a feed format leaves to the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Keep MISP attributes marked `to_ids: false` (left out by default).
    pub keep_non_ids: bool,
    /// Read Zeek `Intel::DOMAIN` as `hostname` (Zeek's own exact-host semantics) instead
    /// of `domain` (the domain and its subdomains, as MISP's `domain`).
    pub zeek_domain_as_hostname: bool,
    /// A longer line of a list, CSV or Zeek intel file is a bad record ("line too long"),
    /// never parsed: an [`IndexBuilder`](crate::IndexBuilder) sets its own limit here.
    pub max_line_bytes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            keep_non_ids: false,
            zeek_domain_as_hostname: false,
            max_line_bytes: crate::build::Limits::default().max_line_bytes,
        }
    }
}

/// The error of a line longer than `max` bytes.
pub(crate) fn line_too_long(source: &str, line: usize, len: usize, max: usize) -> FeedError {
    let message = format!("line is {len} bytes, more than max_line_bytes ({max})");
    FeedError::new(source, Some(line), "line too long", message)
}

/// One record as the feed gave it, before normalization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// 1-based line (or record) number in the feed.
    pub line: usize,
    /// The value, refanged where the format calls for it, not yet normalized.
    pub value: Cow<'a, str>,
    /// The kind the feed states, if it states one.
    pub kind: Option<Kind>,
    pub meta: Meta,
}

/// What a parser hands to its sink: a record, or why one record could not be read.
pub type ParsedRecord<'a> = Result<RawRecord<'a>, FeedError>;

/// What a feed says about an indicator id besides its records. An index has no use for
/// it; the live engine keeps it across loads (docs/semantics.md §10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notice<'a> {
    /// STIX: the document's version of `reference`, its newest. The records with this
    /// ref are that version's (none, when its pattern did not compile).
    Version { reference: &'a str, modified: Option<Timestamp> },
    /// STIX: some version of `reference` is revoked, which is final.
    Revoked { reference: &'a str },
    /// MISP: an attribute with this ref is deleted (on itself, its object or its event).
    Deleted { reference: &'a str },
}

/// Where a parser sends its [`Notice`]s.
pub(crate) type NoticeSink<'s> = &'s mut dyn FnMut(Notice<'_>);

/// Guesses the format of (decompressed) feed bytes.
///
/// JSON (first byte `{` or `[`) with a `"type": "bundle"` or `"id": "bundle--..."`
/// member at its top level, or a `"type": "indicator"` or `"id": "indicator--..."`
/// member anywhere, in its first 64 KB is [`Format::Stix`]; JSON with MISP keys
/// (`"Event"`, `"Attribute"`, `"Orgc"`, `"threat_level_id"`) in its first 4 KB is
/// [`Format::Misp`]; leading `#` lines with a `#fields` line naming
/// `indicator` and `indicator_type` are [`Format::Zeek`]; a first line with `type`,
/// `value` and `to_ids` (or `event_id`, `object_relation`, `attribute_tag`) columns is
/// [`Format::MispCsv`]. Otherwise, after a BOM, blank lines and `#` comment lines, a
/// first line that has a `,` and a value column name among its comma-separated fields
/// (`value`, `indicator`, `ioc` or `observable`, in any case) is a CSV header; anything
/// else is [`Format::Lines`].
///
/// # Example
/// ```
/// use vedette_core::feed::{sniff, Format};
///
/// assert_eq!(sniff(b"# feed\ntype,value\ndomain,evil.example\n"), Format::Csv);
/// assert_eq!(sniff(b"# feed\nevil.example\n10.0.0.0/8\n"), Format::Lines);
/// ```
pub fn sniff(data: &[u8]) -> Format {
    // NOTE: JSON formats and Zeek intel files go first, before the comment skipping
    // below: Zeek's header is itself a `#` line. MISP CSV goes before CSV, whose header
    // test it also passes (it has a `value` column).
    if stix::looks_like(data) {
        return Format::Stix;
    }
    if misp::looks_like(data) {
        return Format::Misp;
    }
    if zeek::looks_like(data) {
        return Format::Zeek;
    }
    if misp::looks_like_csv(data) {
        return Format::MispCsv;
    }
    let (start, _) = skip_preamble(data);
    let rest = &data[start..];
    let first = &rest[..memchr(b'\n', rest).unwrap_or(rest.len())];
    if csv::looks_like_header(first) {
        Format::Csv
    } else {
        Format::Lines
    }
}

/// Parses `data` as `format`, calling `sink` once per record or bad record, in order.
/// `source` names the feed in errors. `sink` returning `Err` stops the parse with it.
///
/// # Errors
///
/// Only what `sink` returns: a bad record goes to `sink` as an `Err` and the parse goes
/// on, so that one bad line costs one record, not the feed. A CSV without a value
/// column is one error (at its header line) and no records.
///
/// # Example
/// ```
/// use vedette_core::feed::{parse, Format};
///
/// let data = b"# c2\nevil[.]example\n0c2674c3a97c53082187d930efb645c2;dropper\n\xff\n";
/// let (mut values, mut errors) = (Vec::new(), Vec::new());
/// parse(Format::Lines, data, "c2.txt", &mut |r| {
///     match r {
///         Ok(r) => values.push((r.line, r.value.into_owned(), r.meta.description)),
///         Err(e) => errors.push(e.to_string()),
///     }
///     Ok(())
/// })?;
/// assert_eq!(values[0], (2, "evil.example".to_string(), None));
/// assert_eq!(values[1].2.as_deref(), Some("dropper"));
/// assert_eq!(errors, ["c2.txt:4: invalid utf-8 at column 1"]);
/// # Ok::<(), vedette_core::FeedError>(())
/// ```
pub fn parse<'a>(
    format: Format,
    data: &'a [u8],
    source: &str,
    sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    parse_with_options(format, data, source, &ParseOptions::default(), sink)
}

/// [`parse`] with the choices of [`ParseOptions`].
///
/// # Errors
///
/// As [`parse`].
pub fn parse_with_options<'a>(
    format: Format,
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    parse_noting(format, data, source, options, sink, &mut |_| {})
}

/// [`parse_with_options`], also telling `notices` what the feed says about ids besides
/// their records: STIX versions and revocations, MISP deletions.
pub(crate) fn parse_noting<'a>(
    format: Format,
    data: &'a [u8],
    source: &str,
    options: &ParseOptions,
    sink: &mut dyn FnMut(ParsedRecord<'a>) -> Result<(), FeedError>,
    notices: NoticeSink<'_>,
) -> Result<(), FeedError> {
    match format {
        Format::Lines => lines::parse(data, source, options, sink),
        Format::Csv => csv::parse(data, source, options, sink),
        Format::Zeek => zeek::parse(data, source, options, sink),
        Format::Misp => misp::parse_noting(data, source, options, sink, notices),
        Format::MispCsv => misp::parse_csv_noting(data, source, options, sink, notices),
        Format::Stix => stix::parse_noting(data, source, options, sink, notices),
    }
}

/// The event files (`<uuid>.json`) a MISP feed's `manifest.json` lists, sorted.
///
/// # Errors
/// When the manifest is not a JSON object of event uuids.
pub fn misp_manifest_event_files(manifest: &[u8]) -> Result<Vec<Result<String, String>>, String> {
    misp::manifest_event_files(manifest)
}

/// The first `max + 1` bytes of the file at `path`: enough for a load to tell that a feed
/// is larger than `max` bytes, without reading a huge file whole.
///
/// # Errors
/// When the file cannot be opened or read.
pub fn read_at_most(path: &std::path::Path, max: usize) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata().map_or(0, |m| m.len());
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut data = Vec::with_capacity(usize::try_from(size.min(limit)).unwrap_or(0));
    file.take(limit).read_to_end(&mut data)?;
    Ok(data)
}

/// Inflates `data` when its first bytes are the magic of gzip (every member of a
/// multi-member file), zstd, bzip2 or xz; returns other bytes as they are. The scanner's
/// files are inflated the same way ([`crate::scan::input`]).
///
/// # Errors
///
/// A [`FeedError`] with category `corrupt gzip` (`corrupt zstd`, `corrupt bzip2`,
/// `corrupt xz`) when the data starts with the magic but does not inflate: a bad header,
/// a truncated stream, a checksum mismatch, or bytes after the last stream that are not
/// another stream.
///
/// # Example
/// ```
/// use std::borrow::Cow;
/// use vedette_core::feed::decompress;
///
/// assert!(matches!(decompress(b"evil.example\n", "list.txt")?, Cow::Borrowed(_)));
/// let err = decompress(b"\x1f\x8b\x08\x00garbage", "list.txt.gz").unwrap_err();
/// assert_eq!(err.category(), "corrupt gzip");
/// # Ok::<(), vedette_core::FeedError>(())
/// ```
pub fn decompress<'a>(data: &'a [u8], source: &str) -> Result<Cow<'a, [u8]>, FeedError> {
    decompress_at_most(data, source, usize::MAX)
}

/// [`decompress`], refusing a feed of more than `max` bytes once decompressed ("feed too
/// large"): inflating stops one byte past it, so a bomb costs `max` bytes of memory.
pub(crate) fn decompress_at_most<'a>(
    data: &'a [u8],
    source: &str,
    max: usize,
) -> Result<Cow<'a, [u8]>, FeedError> {
    let too_large = |message: String| FeedError::new(source, None, "feed too large", message);
    let compression = input::sniff(data);
    if compression == Compression::Plain {
        if data.len() > max {
            return Err(too_large(format!("the feed has more than max_feed_bytes ({max})")));
        }
        return Ok(Cow::Borrowed(data));
    }
    let corrupt = |err: std::io::Error| {
        let category = format!("corrupt {compression}");
        FeedError::new(source, None, category, input::corrupt_message(compression, &err))
    };
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(max));
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    input::decoder(compression, data).and_then(|d| d.take(limit).read_to_end(&mut out)).map_err(corrupt)?;
    if out.len() > max {
        return Err(too_large(format!(
            "the {compression} feed inflates to more than max_feed_bytes ({max})"
        )));
    }
    Ok(Cow::Owned(out))
}

/// The UTF-8 byte order mark, which editors on Windows put before the first line.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// ASCII whitespace as docs/semantics.md defines it: space, `\t`, `\n`, `\v`, `\f`, `\r`. Not
/// `u8::is_ascii_whitespace`, which leaves out `\v`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| !is_space(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| !is_space(b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Where the first line that is not blank or a `#` comment starts (after a BOM), and how
/// many lines come before it. `sniff` and the CSV parser share it so that they agree on
/// which line is the header.
fn skip_preamble(data: &[u8]) -> (usize, usize) {
    let mut start = if data.starts_with(BOM) { BOM.len() } else { 0 };
    let mut skipped = 0;
    while start < data.len() {
        let end = memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let line = trim(&data[start..end]);
        if !line.is_empty() && line[0] != b'#' {
            break;
        }
        start = (end + 1).min(data.len());
        skipped += 1;
    }
    (start, skipped)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn decompress_table() {
        let member = gzip(b"a.example\n");
        let two = [gzip(b"a.example\n"), gzip(b"b.example\n")].concat();
        let mut bad_crc = member.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1; // the CRC-32 of the trailer
        let packed = |c: input::Compression| input::tests::compress(c, b"a.example\n");
        let (zstd, bzip2, xz) = (
            packed(input::Compression::Zstd),
            packed(input::Compression::Bzip2),
            packed(input::Compression::Xz),
        );
        // `Err(category)`: the data must be refused as corrupt.
        type Row<'a> = (&'a str, &'a [u8], Result<&'a [u8], &'a str>);
        let rows: &[Row] = &[
            ("plain010", b"a.example\n", Ok(b"a.example\n")),
            ("plain020", b"", Ok(b"")),
            ("plain030", b"\x1f", Ok(b"\x1f")),
            ("plain040", b"BZh.example\n", Ok(b"BZh.example\n")),
            ("gzip010", &member, Ok(b"a.example\n")),
            ("gzip020", &two, Ok(b"a.example\nb.example\n")),
            ("gzip030", &gzip(b""), Ok(b"")),
            ("zstd010", &zstd, Ok(b"a.example\n")),
            ("bzip2010", &bzip2, Ok(b"a.example\n")),
            ("xz010", &xz, Ok(b"a.example\n")),
            ("corrupt010", b"\x1f\x8b", Err("corrupt gzip")),
            ("corrupt020", b"\x1f\x8b\x08\x00garbage", Err("corrupt gzip")),
            ("corrupt030", &member[..member.len() - 3], Err("corrupt gzip")),
            ("corrupt040", &two[..two.len() - 3], Err("corrupt gzip")),
            ("corrupt050", &bad_crc, Err("corrupt gzip")),
            ("corrupt060", &[&member[..], b"trailing"].concat(), Err("corrupt gzip")),
            ("corrupt070", &zstd[..zstd.len() - 1], Err("corrupt zstd")),
            ("corrupt080", &bzip2[..bzip2.len() - 1], Err("corrupt bzip2")),
            ("corrupt090", &xz[..xz.len() - 1], Err("corrupt xz")),
        ];
        for &(id, input, want) in rows {
            let got = decompress(input, "f.gz");
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(&*got, want, "{id}"),
                (Err(err), Err(category)) => {
                    assert_eq!(err.category(), category, "{id}");
                    assert_eq!(err.source(), "f.gz", "{id}");
                }
                (got, _) => panic!("{id}: {got:?}"),
            }
        }
        let err = decompress(&xz[..xz.len() - 1], "f.xz").unwrap_err();
        assert_eq!(err.to_string(), "f.xz: xz stream ends before its end marker");
        assert!(matches!(decompress(b"a.example", "f").unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn sniff_table() {
        let rows: &[(&str, &[u8], Format)] = &[
            ("lines010", b"evil.example\n", Format::Lines),
            ("lines020", b"", Format::Lines),
            ("lines030", b"# only\n# comments\n", Format::Lines),
            ("lines040", b"1.2.3.4\t10\n", Format::Lines),
            ("lines050", b"a.example,b.example\n", Format::Lines),
            ("lines070", b"value\nevil.example\n", Format::Lines),
            ("csv010", b"value,kind\nevil.example,domain\n", Format::Csv),
            ("csv020", b"\xef\xbb\xbf# export\r\n\r\n  Type , IOC\r\nurl,x\r\n", Format::Csv),
            ("csv030", b"\"indicator\",\"type\"\n", Format::Csv),
            ("csv040", b"date,user,observable", Format::Csv),
            ("zeek010", b"#fields\tindicator\tindicator_type\n1.2.3.4\tIntel::ADDR\n", Format::Zeek),
            ("zeek020", b"#separator \\x09\n#fields\tindicator\tindicator_type\n", Format::Zeek),
            ("misp010", b"{\"Event\": {\"Attribute\": []}}", Format::Misp),
            ("misp020", b"{\"response\": [{\"Event\": {}}]}", Format::Misp),
            ("mispcsv010", b"uuid,event_id,category,type,value,comment,to_ids,date\n", Format::MispCsv),
            ("stix010", b"{\"type\": \"bundle\", \"objects\": []}", Format::Stix),
            ("stix020", b"\xef\xbb\xbf[{\"type\": \"indicator\"}]", Format::Stix),
            ("stix030", b"{\"id\": \"bundle--1\", \"objects\": []}", Format::Stix),
            ("stix040", b"{\"bundles\": {\"x\": {\"id\": \"bundle--1\"}}}", Format::Lines),
        ];
        for &(id, input, want) in rows {
            assert_eq!(sniff(input), want, "{id}");
        }
    }

    #[test]
    fn format_names_round_trip() {
        for format in [Format::Lines, Format::Csv, Format::Zeek, Format::Misp, Format::MispCsv, Format::Stix]
        {
            assert_eq!(format.as_str().parse::<Format>(), Ok(format));
        }
        assert!("json".parse::<Format>().is_err());
    }

    #[test]
    fn sink_error_stops_the_parse() {
        for format in [Format::Lines, Format::Csv] {
            let mut seen = 0;
            let stop = FeedError::new("f", None, "stop", "stop");
            let result = parse(format, b"value\na\nb\nc\n", "f", &mut |_| {
                seen += 1;
                if seen == 2 {
                    Err(stop.clone())
                } else {
                    Ok(())
                }
            });
            assert_eq!(result, Err(stop), "{format:?}");
            assert_eq!(seen, 2, "{format:?}");
        }
    }

    #[test]
    fn preamble_table() {
        let rows: &[(&str, &[u8], (usize, usize))] = &[
            ("pre010", b"", (0, 0)),
            ("pre020", b"a", (0, 0)),
            ("pre030", b"\xef\xbb\xbfa", (3, 0)),
            ("pre040", b"#x\n\n  \r\na", (8, 3)),
            ("pre050", b"#x\n#y", (5, 2)),
            ("pre060", b"#x\n", (3, 1)),
        ];
        for &(id, input, want) in rows {
            assert_eq!(skip_preamble(input), want, "{id}");
        }
    }

    /// Parses the real feeds under `shared/data` beside the repository (when present) and checks the
    /// record counts against counts taken here the simple way.
    #[test]
    fn real_feeds() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/feeds");
        if !root.is_dir() {
            eprintln!("skipping: {} not found", root.display());
            return;
        }
        let load = |path: &str| {
            let raw = std::fs::read(root.join(path)).unwrap();
            let data = decompress(&raw, path).unwrap().into_owned();
            assert_eq!(sniff(&data), Format::Lines, "{path}");
            let mut records: Vec<(usize, String, Option<String>)> = Vec::new();
            parse(Format::Lines, &data, path, &mut |r| {
                let r = r.unwrap_or_else(|e| panic!("{e}"));
                records.push((r.line, r.value.into_owned(), r.meta.description));
                Ok(())
            })
            .unwrap();
            let text = String::from_utf8(data).unwrap();
            let data_lines: Vec<&str> =
                text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
            assert_eq!(records.len(), data_lines.len(), "{path}");
            records
        };

        let firehol = load("firehol/firehol_level1.netset");
        assert!(firehol.len() > 4000);
        assert!(firehol.iter().all(|(_, v, _)| v
            .split('/')
            .next()
            .unwrap()
            .parse::<std::net::Ipv4Addr>()
            .is_ok()));

        let loki = load("signature-base/hash-iocs.txt");
        for (line, value, description) in &loki {
            assert!(Kind::hash_of_hex_len(value.len()).is_some(), "line {line}: {value}");
            assert!(description.is_some(), "line {line}");
        }
        let first = loki.iter().find(|(_, v, _)| v.starts_with("ce583821")).unwrap();
        assert_eq!(first.2.as_deref(), Some("Dark Caracal - MS Windows HtmlHelp Data"));

        // Talos: defanged addresses, then a `usernames:` section of plain words.
        let talos = load("talos/large-scale-brute-force-2024-04.txt");
        let ips = talos.iter().filter(|(_, v, _)| v.parse::<std::net::Ipv4Addr>().is_ok()).count();
        let defanged = std::fs::read_to_string(root.join("talos/large-scale-brute-force-2024-04.txt"))
            .unwrap()
            .lines()
            .filter(|l| l.contains("[.]"))
            .count();
        assert_eq!(ips, defanged);
        assert!(talos.iter().all(|(_, v, _)| !v.contains('[')));

        let ipsum = load("ipsum/ipsum.txt.gz");
        assert!(ipsum.len() > 100_000);
        assert!(ipsum.iter().all(|(_, v, _)| v.parse::<std::net::Ipv4Addr>().is_ok()));
    }
}
