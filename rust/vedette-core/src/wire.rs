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
use crate::indicator::{Kind, Meta, Tlp};

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

/// Reads bytes written by [`encode`]. Never panics, for any input.
///
/// Each count is checked against the bytes left before anything is allocated, and the
/// strings copied out are limited as the module docs say, so a hostile file cannot make
/// us allocate more than a small multiple of its own size.
///
/// # Errors
///
/// If the bytes are not a complete, uncorrupted index of this format version. The error
/// names the byte offset and what was expected there.
pub(crate) fn decode(bytes: &[u8]) -> Res<IndexParts> {
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
        entries.push((kind, r.string(&strings, "a u32 value string index")?));
    }

    let n = r.count("a u32 record count", MIN_RECORD)?;
    let mut records = Vec::with_capacity(n);
    // Records are sorted and skip no entry, so each belongs to the entry of the record
    // before or the one after it, and the first to entry 0: then every entry has one.
    let mut next: u64 = 0;
    for _ in 0..n {
        let at = r.pos;
        let entry = r.u32("a u32 entry index")?;
        if entry as usize >= entries.len() {
            bail!(at, "an entry index below {}, found {entry}", entries.len());
        }
        let e = u64::from(entry);
        if next == 0 && e != 0 {
            bail!(at, "entry index 0 in the first record, found {e}");
        } else if e > next || e + 1 < next {
            let prev = next - 1;
            bail!(at, "records in order: entry {prev} or {next}, found {e}");
        }
        next = e + 1;
        records.push((entry, r.meta(&strings)?));
    }
    if next != entries.len() as u64 {
        bail!(r.pos, "a record for entry {next}");
    }
    if r.pos != bytes.len() {
        bail!(r.pos, "the end, found {} more bytes", bytes.len() - r.pos);
    }
    Ok(IndexParts { entries, records })
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

    /// Reads a string index and copies that string out, charging it to the budget.
    fn string(&mut self, strings: &[&str], what: &str) -> Res<String> {
        let at = self.pos;
        let i = self.u32(what)?;
        let Some(&s) = strings.get(i as usize) else {
            bail!(at, "a string index below {}, found {i}", strings.len());
        };
        let Some(left) = self.budget.checked_sub(s.len()) else {
            bail!(at, "strings copied out to at most {EXPANSION}x the size");
        };
        self.budget = left;
        Ok(s.to_string())
    }

    fn opt_string(&mut self, strings: &[&str], what: &str) -> Res<Option<String>> {
        if self.rest().first_chunk() == Some(&NONE_U32.to_le_bytes()) {
            self.pos += 4;
            return Ok(None);
        }
        self.string(strings, what).map(Some)
    }

    fn meta(&mut self, strings: &[&str]) -> Res<Meta> {
        let mut meta = Meta {
            source: self.opt_string(strings, "a u32 source string index")?,
            reference: self.opt_string(strings, "a u32 reference string index")?,
            description: self.opt_string(strings, "a u32 description string index")?,
            ..Meta::default()
        };
        let at = self.pos;
        meta.confidence = match self.u8("a u8 confidence")? {
            NONE_U8 => None,
            c @ 0..=100 => Some(c),
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
            (true, t) => Ok(Some(t)),
            (false, 0) => Ok(None),
            (false, t) => bail!(at, "{what} of 0 as it is absent, found {t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IndexParts {
        let full = Meta {
            source: Some("feed-a".into()),
            reference: Some("indicator--1".into()),
            confidence: Some(100),
            tlp: Some(Tlp::AmberStrict),
            tags: vec!["c2".into(), "botnet".into()],
            valid_from: Some(-5),
            valid_until: Some(i64::MAX),
            description: Some("d\u{e9}j\u{e0} vu".into()),
        };
        let some = Meta {
            source: Some("feed-a".into()),
            confidence: Some(0),
            tlp: Some(Tlp::Clear),
            tags: vec!["c2".into()],
            valid_until: Some(i64::MIN),
            ..Meta::default()
        };
        let entries = vec![
            (Kind::Domain, "evil.example".to_string()),
            (Kind::Ipv4, "10.0.0.1".to_string()),
            (Kind::Sha256, "ab".repeat(32)),
            (Kind::String, String::new()),
        ];
        let records = vec![(0, full.clone()), (0, Meta::default()), (1, some)];
        let records = [records, vec![(2, full.clone()), (3, full)]].concat();
        IndexParts { entries, records }
    }

    fn to_bytes(parts: &IndexParts) -> Vec<u8> {
        let entries: Vec<_> = parts.entries.iter().map(|(k, v)| (*k, &**v)).collect();
        let records: Vec<_> = parts.records.iter().map(|(e, m)| (*e, m)).collect();
        encode(&entries, &records)
    }

    fn message(bytes: &[u8]) -> String {
        decode(bytes).expect_err("decoded").to_string()
    }

    #[test]
    fn round_trip() {
        let parts = sample();
        let bytes = to_bytes(&parts);
        assert_eq!(decode(&bytes), Ok(parts));
        // Interned: "feed-a" is used by four records and stored once.
        assert_eq!(bytes.windows(6).filter(|w| w == b"feed-a").count(), 1);
        let bytes = encode(&[], &[]);
        assert_eq!(bytes.len(), HEADER_LEN + 12);
        assert_eq!(decode(&bytes), Ok(IndexParts::default()));
    }

    #[test]
    fn every_truncation_fails() {
        let bytes = to_bytes(&sample());
        for len in 0..bytes.len() {
            let e = decode(&bytes[..len]).expect_err("truncated bytes decoded");
            assert!(e.offset() <= len, "{e} is past the end, {len}");
        }
    }

    #[test]
    fn every_byte_change_fails() {
        let bytes = to_bytes(&sample());
        for i in 0..bytes.len() {
            for change in [|b: u8| b ^ 0xff, |b: u8| b.wrapping_add(1)] {
                let mut bad = bytes.clone();
                bad[i] = change(bad[i]);
                assert!(decode(&bad).is_err(), "byte {i} changed and still decoded");
            }
        }
    }

    #[test]
    fn every_resealed_byte_change_is_checked() {
        // Past the checksum: whatever a changed byte decodes to must encode back to it.
        let payload = to_bytes(&sample()).split_off(HEADER_LEN);
        for i in 0..payload.len() {
            for change in [|b: u8| b ^ 0xff, |b: u8| b.wrapping_add(1)] {
                let mut bad = payload.clone();
                bad[i] = change(bad[i]);
                if let Ok(parts) = decode(&seal(&bad)) {
                    assert_eq!(decode(&to_bytes(&parts)), Ok(parts), "byte {i}");
                }
            }
        }
    }

    #[test]
    fn header() {
        let good = encode(&[], &[]);
        let with = |at: usize, byte: u8| {
            let mut bad = good.clone();
            bad[at] = byte;
            message(&bad)
        };
        assert!(with(0, b'X').ends_with("byte 0: expected the magic bytes VDTINDEX"));
        assert!(with(8, 0).ends_with("byte 8: expected format version 1, found 0"));
        assert!(with(8, 7).contains("format version 1, found 7 from a newer vedette"));
        assert!(with(12, 4).ends_with("byte 12: expected flags 0, found 0x00000004"));
        assert!(with(16, 13).ends_with("a payload of 13 bytes, found 12"));
        assert!(with(HEADER_LEN, 1).contains("byte 24: expected checksum 0x"));
        assert!(message(&[good, vec![0]].concat()).contains("payload of 12 bytes, found 13"));
    }

    fn u32s(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A payload of the string "a", one domain entry "a", and `n` records.
    fn one(n: u32, records: &[u8]) -> Vec<u8> {
        let entries = [&u32s(&[1, 1])[..], b"a", &u32s(&[1]), &[0; 5]].concat();
        [entries, u32s(&[n]), records.to_vec()].concat()
    }

    /// A payload of the string "a", two domain entries "a", and `n` records.
    fn two(n: u32, records: &[u8]) -> Vec<u8> {
        let entries = [&u32s(&[1, 1])[..], b"a", &u32s(&[2]), &[0; 10]].concat();
        [entries, u32s(&[n]), records.to_vec()].concat()
    }

    /// A record with no strings and no timestamps.
    fn rec(entry: u32, confidence: u8, tlp: u8, tags: &[u32]) -> Vec<u8> {
        let mut r = u32s(&[entry, NONE_U32, NONE_U32, NONE_U32]);
        r.extend([confidence, tlp, 0]);
        r.extend([0; 16]);
        r.extend(u32s(&[tags.len() as u32]));
        r.extend(u32s(tags));
        r
    }

    fn patch(mut bytes: Vec<u8>, at: usize, with: &[u8]) -> Vec<u8> {
        bytes[at..at + with.len()].copy_from_slice(with);
        bytes
    }

    #[test]
    fn crafted_payloads_decode() {
        let skip = [rec(0, 0, 0, &[]), rec(0, 0, 0, &[]), rec(1, 0, 0, &[])].concat();
        let parts = decode(&seal(&two(3, &skip))).expect("valid payload");
        assert_eq!(parts.records.len(), 3);
        let both = patch(rec(0, 7, 2, &[0]), 18, &[3]);
        let parts = decode(&seal(&one(2, &[rec(0, 255, 255, &[]), both].concat())));
        let records = parts.expect("valid payload").records;
        assert_eq!(records[0].1, Meta::default());
        assert_eq!(records[1].1.tlp, Some(Tlp::Amber));
        assert_eq!(records[1].1.valid_until, Some(0));
    }

    /// Payloads sealed with a correct checksum, so that decoding gets past it, and the
    /// message each must fail with. One row each, as rustfmt leaves brace macros alone.
    macro_rules! bad {
        ($($id:ident: $payload:expr => $want:expr;)*) => {$(
            #[test]
            fn $id() {
                let m = message(&seal(&$payload));
                assert!(m.contains($want), "{m:?} does not contain {:?}", $want);
            }
        )*};
    }

    #[test]
    fn string_bomb() {
        // One 64 kB string used as 1000 tags: 64 MB out of a 68 kB file.
        let mut p = [&u32s(&[1, 1 << 16])[..], &[b'x'; 1 << 16]].concat();
        p.extend([&u32s(&[1])[..], &[0; 5], &u32s(&[1])].concat());
        p.extend(rec(0, 0, 0, &[0; 1000]));
        let m = message(&seal(&p));
        let want = "strings copied out to at most 256x the size";
        assert!(m.contains(want), "{m}");
    }

    bad! {
        // Hostile counts: each must fail at once, before allocating.
        strings_huge: u32s(&[u32::MAX]) => "byte 28: expected a u32 string count of at most 0";
        entries_huge: u32s(&[0, u32::MAX, 0]) => "entry count of at most 0 (bytes left), found";
        records_huge: one(u32::MAX, &rec(0, 0, 0, &[])) => "record count of at most 1 (bytes left)";
        tags_huge: one(1, &patch(rec(0, 0, 0, &[]), 35, &[9])) => "tag count of at most 0";
        string_long: u32s(&[1, u32::MAX - 1]) => "byte 36: expected the bytes of a string";
        string_utf8: [&u32s(&[1, 2])[..], &[0xc3, 0x28]].concat() => "UTF-8 in string 0";
        // Indexes, codes and values out of range.
        value_index: patch(one(1, &[]), 14, &[1]) => "byte 42: expected a string index below 1";
        kind: patch(one(1, &[]), 13, &[13]) => "byte 41: expected a kind code below 13, found 13";
        entry_index: one(1, &rec(1, 0, 0, &[])) => "byte 50: expected an entry index below 1";
        confidence: one(1, &rec(0, 101, 0, &[])) => "a confidence of 0 to 100 or 255, found 101";
        tlp: one(1, &rec(0, 0, 5, &[])) => "a tlp code of 0 to 4 or 255, found 5";
        validity: one(1, &patch(rec(0, 0, 0, &[]), 18, &[4])) => "mask of 0 to 3, found 4";
        absent_from: one(1, &patch(rec(0, 0, 0, &[]), 19, &[1]))
            => "valid_from of 0 as it is absent, found 1";
        source_index: one(1, &patch(rec(0, 0, 0, &[]), 4, &[1; 4])) => "byte 54: expected a string";
        tag_index: one(1, &rec(0, 0, 0, &[1])) => "a string index below 1, found 1";
        // Records out of order, an entry without one, and bytes after the end.
        not_first_0: two(2, &[rec(1, 0, 0, &[]), rec(0, 0, 0, &[])].concat())
            => "byte 55: expected entry index 0 in the first record, found 1";
        not_sorted: two(3, &[rec(0, 0, 0, &[]), rec(1, 0, 0, &[]), rec(0, 0, 0, &[])].concat())
            => "byte 133: expected records in order: entry 1 or 2, found 0";
        two_uncovered: two(2, &[rec(0, 0, 0, &[]), rec(0, 0, 0, &[])].concat())
            => "byte 133: expected a record for entry 1";
        uncovered: one(0, &[]) => "a record for entry 0";
        trailing: [one(1, &rec(0, 0, 0, &[])), vec![0]].concat() => "found 1 more bytes";
    }
}
