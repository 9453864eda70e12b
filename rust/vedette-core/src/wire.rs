//! The on-disk form of an index: versioned, checksummed, and validated before use.
//!
//! We store canonical values and metadata, not the automata: aho-corasick has no
//! serialization, and the hash tables rebuild in well under a second per million
//! entries, so a file that is only data is smaller, portable and easy to validate.
//!
//! Everything is little-endian. The header is 28 bytes:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `b"VDTINDEX"` |
//! | 8 | 4 | format version, `u32` (1) |
//! | 12 | 4 | flags, `u32` (0; any other value is refused) |
//! | 16 | 8 | payload length in bytes, `u64`; must equal the bytes after the header |
//! | 24 | 4 | CRC-32 (IEEE, as `crc32fast`) of the payload, `u32` |
//! | 28 | n | payload |
//!
//! The payload is three tables, each a `u32` count and then its items, and must end
//! exactly after the last record:
//!
//! | table | item |
//! | --- | --- |
//! | strings | `u32` byte length, then that many bytes of UTF-8 |
//! | entries | kind code `u8` ([`Kind::code`]), value string index `u32` |
//! | records | the fields below, 39 bytes plus 4 per tag |
//!
//! | record field | encoding |
//! | --- | --- |
//! | entry | `u32` entry index; records are sorted by it and cover every entry |
//! | source, reference, description | `u32` string index each, `u32::MAX` for none |
//! | confidence | `u8`, 0 to 100, 255 for none |
//! | tlp | `u8`, 0 to 4 for clear, green, amber, amber+strict, red; 255 for none |
//! | validity | `u8`, bit 0 set if `valid_from` is present, bit 1 for `valid_until` |
//! | valid_from, valid_until | `i64` microseconds each, always written, 0 when absent |
//! | tags | `u32` count, then a `u32` string index per tag |
//!
//! Strings are interned, so a source or tag shared by a million records is stored once.
//! As [`decode`] copies each string out for every use, a hostile file could turn one
//! long string and many references into terabytes: the strings it copies out may total
//! at most 256 times the file's size (or 16 MiB, if more), which real indexes come
//! nowhere near, since that takes a string of over 10 kB shared by every record.
//! We use a presence mask rather than `i64::MIN`/`i64::MAX` sentinels so that every
//! [`Meta`] round-trips exactly, and we require absent timestamps to be 0 so that a
//! flipped bit there cannot pass unnoticed even without the checksum.

use rustc_hash::FxHashMap as HashMap;

use crate::error::DeserializeError;
use crate::indicator::{Kind, Meta, Tlp, MAX_CONFIDENCE};
use crate::time::TIMESTAMPS;

const MAGIC: [u8; 8] = *b"VDTINDEX";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 28;
const NONE_U32: u32 = u32::MAX;
const NONE_U8: u8 = 255;
/// Tlp in the order of its codes.
const TLPS: [Tlp; 5] = [
    Tlp::Clear,       // 0
    Tlp::Green,       // 1
    Tlp::Amber,       // 2
    Tlp::AmberStrict, // 3
    Tlp::Red,         // 4
];
const HAS_FROM: u8 = 1;
const HAS_UNTIL: u8 = 2;
// The smallest encoded size of each item, used to refuse counts the bytes cannot hold.
const MIN_STRING: usize = 4;
const MIN_ENTRY: usize = 1 + 4;
const MIN_RECORD: usize = 4 * 4 + 3 + 2 * 8 + 4;
const MIN_TAG: usize = 4;
/// How many times its size the strings copied out of a file may total, and the least.
const EXPANSION: usize = 256;
const MIN_BUDGET: usize = 16 << 20;

type Res<T> = Result<T, DeserializeError>;

macro_rules! bail {
    ($at:expr, $($fmt:tt)*) => {
        return Err(DeserializeError::new($at, format!($($fmt)*)))
    };
}

/// What an index is made of, in the form it is stored: every entry (kind and canonical
/// value) and every record (its entry and metadata), in id order.
#[cfg(test)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IndexParts {
    pub entries: Vec<(Kind, String)>,
    /// `(entry index, meta)`, sorted by entry index; every entry has at least one record.
    pub records: Vec<(u32, Meta)>,
}

/// Serializes the parts of an index.
///
/// `records` must be sorted by entry index and cover every entry, and confidences must
/// be at most 100, as the builder guarantees: [`decode`] refuses anything else.
///
/// # Panics
///
/// If a table has `u32::MAX` or more items or a string is 4 GiB or longer, far beyond
/// any real index; in debug builds, also if `records` are not sorted.
pub(crate) fn encode(entries: &[(Kind, &str)], records: &[(u32, &Meta)]) -> Vec<u8> {
    let sorted = records.windows(2).all(|w| w[0].0 <= w[1].0);
    debug_assert!(sorted, "records are not sorted by entry index");
    let mut strings = Interner::default();
    // The string table comes first but is known last, so we write the rest to `body`.
    let mut body = Vec::with_capacity(8 + entries.len() * 16 + records.len() * MIN_RECORD);
    put_u32(&mut body, len_u32(entries.len()));
    for &(kind, value) in entries {
        body.push(kind.code());
        put_u32(&mut body, strings.id(value));
    }
    put_u32(&mut body, len_u32(records.len()));
    for &(entry, meta) in records {
        put_u32(&mut body, entry);
        for field in [&meta.source, &meta.reference, &meta.description] {
            let id = field.as_deref().map_or(NONE_U32, |s| strings.id(s));
            put_u32(&mut body, id);
        }
        body.push(meta.confidence.unwrap_or(NONE_U8));
        let tlp = meta.tlp.and_then(|t| TLPS.iter().position(|&x| x == t));
        body.push(tlp.map_or(NONE_U8, |code| code as u8));
        let from = meta.valid_from.map_or(0, |_| HAS_FROM);
        let until = meta.valid_until.map_or(0, |_| HAS_UNTIL);
        body.push(from | until);
        body.extend_from_slice(&meta.valid_from.unwrap_or(0).to_le_bytes());
        body.extend_from_slice(&meta.valid_until.unwrap_or(0).to_le_bytes());
        put_u32(&mut body, len_u32(meta.tags.len()));
        for tag in &meta.tags {
            put_u32(&mut body, strings.id(tag));
        }
    }
    let table_len: usize = strings.list.iter().map(|s| 4 + s.len()).sum();
    let mut payload = Vec::with_capacity(4 + table_len + body.len());
    put_u32(&mut payload, len_u32(strings.list.len()));
    for s in &strings.list {
        put_u32(&mut payload, len_u32(s.len()));
        payload.extend_from_slice(s.as_bytes());
    }
    payload.extend_from_slice(&body);
    seal(&payload)
}

/// Prepends the header (magic, version, flags, length, checksum) to a payload.
fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    put_u32(&mut out, VERSION);
    put_u32(&mut out, 0);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    put_u32(&mut out, crc32fast::hash(payload));
    out.extend_from_slice(payload);
    out
}

/// Gives each distinct string an index, in order of first use.
#[derive(Default)]
struct Interner<'a> {
    ids: HashMap<&'a str, u32>,
    list: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: &'a str) -> u32 {
        *self.ids.entry(s).or_insert_with(|| {
            self.list.push(s);
            len_u32(self.list.len() - 1)
        })
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn len_u32(n: usize) -> u32 {
    // NOTE: u32::MAX is refused too, as it means "none" where a string index goes.
    let n = u32::try_from(n).ok().filter(|&n| n != NONE_U32);
    n.expect("too many items to serialize an index")
}

/// Both steps of decoding at once.
#[cfg(test)]
pub(crate) fn decode(bytes: &[u8]) -> Res<IndexParts> {
    let (entries, records) = decode_entries(bytes)?;
    let (entry_of, meta_of, metas) = records.decode()?;
    let entries = entries.into_iter().map(|(kind, value)| (kind, value.to_string())).collect();
    let records = entry_of.into_iter().zip(meta_of.iter().map(|&m| metas[m as usize].clone())).collect();
    Ok(IndexParts { entries, records })
}

/// The records of a file whose header, strings and entries have been read; decoding them
/// can run on another thread while the entries are checked and compiled.
pub(crate) struct PendingRecords<'a> {
    reader: Reader<'a>,
    strings: Vec<&'a str>,
    entries: usize,
}

/// Reads bytes written by [`encode`], up to the records, which
/// [`PendingRecords::decode`] reads. Never panics, for any input.
///
/// Each count is checked against the bytes left before anything is allocated, and the
/// strings copied out are limited as the module docs say, so a hostile file cannot make
/// us allocate more than a small multiple of its own size.
///
/// # Errors
///
/// If the bytes are not a complete, uncorrupted index of this format version. The error
/// names the byte offset and what was expected there.
pub(crate) fn decode_entries(bytes: &[u8]) -> Res<(Vec<(Kind, &str)>, PendingRecords<'_>)> {
    let mut r = Reader {
        bytes,
        pos: 0,
        // See the module docs for why copied-out strings are limited.
        budget: bytes.len().saturating_mul(EXPANSION).max(MIN_BUDGET),
    };
    // Note that validation order is important here: the version comes before the length
    // and checksum, so a newer file says so rather than "corrupt", and the checksum before
    // any count, so a flipped bit is reported as such, not as what the bad count implies.
    if r.array::<8>("the magic bytes VDTINDEX")? != MAGIC {
        bail!(0, "the magic bytes VDTINDEX");
    }
    let version = r.u32("a u32 format version")?;
    if version != VERSION {
        let newer = version > VERSION;
        let from = if newer { " from a newer vedette" } else { "" };
        bail!(8, "format version {VERSION}, found {version}{from}");
    }
    let flags = r.u32("u32 flags")?;
    if flags != 0 {
        bail!(12, "flags 0, found {flags:#010x}");
    }
    let len = u64::from_le_bytes(r.array("a u64 payload length")?);
    let stored = r.u32("a u32 checksum")?;
    let payload = r.rest();
    if len != payload.len() as u64 {
        bail!(16, "a payload of {len} bytes, found {}", payload.len());
    }
    let actual = crc32fast::hash(payload);
    if actual != stored {
        bail!(24, "checksum {stored:#010x}, found {actual:#010x}");
    }

    let n = r.count("a u32 string count", MIN_STRING)?;
    let mut strings = Vec::with_capacity(n);
    for i in 0..n {
        let len = r.u32("a u32 string length")? as usize;
        let at = r.pos;
        match std::str::from_utf8(r.take(len, "the bytes of a string")?) {
            Ok(s) => strings.push(s),
            Err(e) => bail!(at + e.valid_up_to(), "valid UTF-8 in string {i}"),
        }
    }

    let n = r.count("a u32 entry count", MIN_ENTRY)?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let at = r.pos;
        let code = r.u8("a u8 kind code")?;
        let Some(kind) = Kind::from_code(code) else {
            bail!(at, "a kind code below {}, found {code}", Kind::ALL.len());
        };
        entries.push((kind, r.str(&strings, "a u32 value string index")?));
    }
    let entry_count = entries.len();
    Ok((entries, PendingRecords { reader: r, strings, entries: entry_count }))
}

impl PendingRecords<'_> {
    /// Reads the records, to the end of the file. Returns each record's entry and the
    /// index of its metadata in the third column: a record whose metadata is stored in
    /// the same bytes as the record before's shares that copy, decoded once.
    ///
    /// # Errors
    /// As [`decode_entries`], for the records.
    pub(crate) fn decode(self) -> Res<(Vec<u32>, Vec<u32>, Vec<Meta>)> {
        let PendingRecords { reader: mut r, strings, entries } = self;
        let bytes = r.bytes;
        let n = r.count("a u32 record count", MIN_RECORD)?;
        let (mut entry_of, mut meta_of, mut metas) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::new());
        // The bytes of the last metadata decoded.
        let mut last: Option<&[u8]> = None;
        // Records are sorted and skip no entry, so each belongs to the entry of the record
        // before or the one after it, and the first to entry 0: then every entry has one.
        let mut next: u64 = 0;
        for _ in 0..n {
            let at = r.pos;
            let entry = r.u32("a u32 entry index")?;
            if entry as usize >= entries {
                bail!(at, "an entry index below {entries}, found {entry}");
            }
            let e = u64::from(entry);
            if next == 0 && e != 0 {
                bail!(at, "entry index 0 in the first record, found {e}");
            } else if e > next || e + 1 < next {
                let prev = next - 1;
                bail!(at, "records in order: entry {prev} or {next}, found {e}");
            }
            next = e + 1;
            entry_of.push(entry);
            // Bytes that start with the last metadata's hold that metadata: its own tag
            // count says where it ends.
            match last.filter(|&last| r.rest().starts_with(last)) {
                Some(same) => r.pos += same.len(),
                None => {
                    let start = r.pos;
                    metas.push(r.meta(&strings)?);
                    last = bytes.get(start..r.pos);
                }
            }
            meta_of.push(metas.len() as u32 - 1);
        }
        if next != entries as u64 {
            bail!(r.pos, "a record for entry {next}");
        }
        if r.pos != bytes.len() {
            bail!(r.pos, "the end, found {} more bytes", bytes.len() - r.pos);
        }
        Ok((entry_of, meta_of, metas))
    }
}

/// A cursor over the whole input, so that error offsets are file offsets. Every read
/// goes through `get`, never indexing, and `pos` never passes the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// How many more bytes of strings we may copy out.
    budget: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        let Some(out) = self.rest().get(..n) else {
            bail!(self.pos, "{what}");
        };
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Res<[u8; N]> {
        let Some(&out) = self.rest().first_chunk::<N>() else {
            bail!(self.pos, "{what}");
        };
        self.pos += N;
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Res<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a count of items of at least `min_size` bytes each, refusing one the bytes
    /// left cannot hold, so that `Vec::with_capacity(count)` is bounded by the input.
    fn count(&mut self, what: &str, min_size: usize) -> Res<usize> {
        let at = self.pos;
        let count = self.u32(what)? as usize;
        let most = self.rest().len() / min_size;
        if count > most {
            bail!(at, "{what} of at most {most} (bytes left), found {count}");
        }
        Ok(count)
    }

    /// Reads a string index and copies that string out.
    fn string(&mut self, strings: &[&'a str], what: &str) -> Res<String> {
        self.str(strings, what).map(str::to_string)
    }

    /// Reads a string index and gives that string, charging it to the budget: the caller
    /// copies it out.
    fn str(&mut self, strings: &[&'a str], what: &str) -> Res<&'a str> {
        let at = self.pos;
        let i = self.u32(what)?;
        let Some(&s) = strings.get(i as usize) else {
            bail!(at, "a string index below {}, found {i}", strings.len());
        };
        let Some(left) = self.budget.checked_sub(s.len()) else {
            bail!(at, "strings copied out to at most {EXPANSION}x the size");
        };
        self.budget = left;
        Ok(s)
    }

    fn opt_string(&mut self, strings: &[&'a str], what: &str) -> Res<Option<String>> {
        if self.rest().first_chunk() == Some(&NONE_U32.to_le_bytes()) {
            self.pos += 4;
            return Ok(None);
        }
        self.string(strings, what).map(Some)
    }

    fn meta(&mut self, strings: &[&'a str]) -> Res<Meta> {
        let mut meta = Meta {
            source: self.opt_string(strings, "a u32 source string index")?,
            reference: self.opt_string(strings, "a u32 reference string index")?,
            description: self.opt_string(strings, "a u32 description string index")?,
            ..Meta::default()
        };
        let at = self.pos;
        meta.confidence = match self.u8("a u8 confidence")? {
            NONE_U8 => None,
            c @ 0..=MAX_CONFIDENCE => Some(c),
            c => bail!(at, "a confidence of 0 to 100 or 255, found {c}"),
        };
        let at = self.pos;
        let code = self.u8("a u8 tlp code")?;
        meta.tlp = TLPS.get(usize::from(code)).copied();
        if meta.tlp.is_none() && code != NONE_U8 {
            bail!(at, "a tlp code of 0 to 4 or 255, found {code}");
        }
        let at = self.pos;
        let validity = self.u8("a u8 validity mask")?;
        if validity > HAS_FROM | HAS_UNTIL {
            bail!(at, "a validity mask of 0 to 3, found {validity}");
        }
        meta.valid_from = self.timestamp(validity & HAS_FROM != 0, "an i64 valid_from")?;
        meta.valid_until = self.timestamp(validity & HAS_UNTIL != 0, "an i64 valid_until")?;
        let n = self.count("a u32 tag count", MIN_TAG)?;
        meta.tags.reserve_exact(n);
        for _ in 0..n {
            let tag = self.string(strings, "a u32 tag string index")?;
            meta.tags.push(tag);
        }
        Ok(meta)
    }

    fn timestamp(&mut self, present: bool, what: &str) -> Res<Option<i64>> {
        let at = self.pos;
        match (present, i64::from_le_bytes(self.array(what)?)) {
            (true, t) if TIMESTAMPS.contains(&t) => Ok(Some(t)),
            (true, t) => bail!(at, "{what} within the years 1-9999, found {t}"),
            (false, 0) => Ok(None),
            (false, t) => bail!(at, "{what} of 0 as it is absent, found {t}"),
        }
    }
}

#[cfg(test)]
mod tests;
