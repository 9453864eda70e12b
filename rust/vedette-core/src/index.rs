//! [`Index`]: the immutable compiled form of a set of indicators.

use crate::build::filter::for_each_suffix_hash;
use crate::build::tables::{NameSlot, Tables, NO_ENTRY};
use crate::entries::Entries;
use crate::error::{BuildError, DeserializeError, IndicatorError};
use crate::indicator::{Indicator, IndicatorId, Kind, Meta, Timestamp};
use crate::normalize::{self, IpRange};
use crate::wire;

/// An immutable, thread-safe compiled set of indicators.
///
/// Each distinct `(kind, value)` is one entry; each entry has one or more records (one
/// per source that published it), and every hit reports all of its valid records.
///
/// # Example
/// ```
/// let index = vedette_core::Index::new(["evil.example", "203.0.113.0/24"])?;
/// let hits = index.find(b"GET http://a.evil.example/ from 203.0.113.9", 0);
/// assert_eq!(hits.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Index {
    pub(crate) entries: Entries,
    /// Records of entry `e` are ids `record_starts[e]..record_starts[e + 1]`.
    pub(crate) record_starts: Vec<u32>,
    pub(crate) record_entry: Vec<u32>,
    /// Each record's metadata, as an index into `metas`.
    record_meta: Vec<u32>,
    /// The distinct metadata of the records: most share theirs.
    metas: Vec<Meta>,
    /// Entries none of whose records has a validity window: valid at any time, so a hit
    /// on them needs no look at their records.
    pub(crate) timeless: Vec<bool>,
    /// Whether some record has a validity window: if none has, every time gives the same
    /// answers.
    windowed: bool,
    pub(crate) tables: Tables,
    /// Tells indexes apart (its clones keep it: they hold the same records), for caches
    /// of what was read from one, such as the JSON writer's records.
    serial: u64,
}

static NEXT_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sizes of an index: entries per kind, records, and heap bytes per structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub entries: usize,
    pub records: usize,
    pub entries_per_kind: Vec<(Kind, usize)>,
    pub memory: Vec<(&'static str, usize)>,
}

impl Index {
    /// Compiles bare values with inferred kinds and no metadata.
    ///
    /// # Errors
    /// The first value that is not a valid indicator.
    pub fn new<I, S>(values: I) -> Result<Index, IndicatorError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut builder = crate::IndexBuilder::new();
        for value in values {
            builder.add(value.as_ref(), None, Meta::default())?;
        }
        Ok(builder.build().expect("a small index is within every limit"))
    }

    /// The index of no indicators.
    pub(crate) fn empty() -> Index {
        Index::from_parts(Entries::default(), Vec::new(), Vec::new())
            .expect("no indicators are within every limit")
    }

    /// Assembles an index from canonical entries and records sorted by entry, every entry
    /// having at least one record. A record is its entry and the index of its metadata in
    /// `metas`.
    pub(crate) fn from_parts(
        entries: Entries,
        records: Vec<(u32, u32)>,
        metas: Vec<Meta>,
    ) -> Result<Index, BuildError> {
        let limit = u64::from(u32::MAX - 1);
        for (what, n) in [("the number of entries", entries.len()), ("the number of records", records.len())]
        {
            if n as u64 > limit {
                return Err(BuildError::too_many(what, n as u64, limit));
            }
        }
        let tables = Tables::compile(&entries)?;
        let (entry_of, meta_of) = records.into_iter().unzip();
        let columns = RecordColumns::new(entry_of, meta_of, metas, entries.len());
        Ok(Index::assemble(entries, tables, columns))
    }

    fn assemble(entries: Entries, tables: Tables, columns: RecordColumns) -> Index {
        let RecordColumns { starts, entry, meta, metas, timeless } = columns;
        let windowed = !timeless.iter().all(|&timeless| timeless);
        Index {
            entries,
            record_starts: starts,
            record_entry: entry,
            record_meta: meta,
            metas,
            timeless,
            windowed,
            tables,
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// What tells this index from the others made in this process.
    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    /// The number of distinct `(kind, value)` entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some record has a validity window, so that the time of a search matters.
    /// Callers that default it to now can skip reading the clock when it does not.
    pub fn has_validity_windows(&self) -> bool {
        self.windowed
    }

    /// The number of indicator records (an entry has one per source that gave it).
    pub fn record_count(&self) -> usize {
        self.record_meta.len()
    }

    /// The metadata of record `id`.
    #[inline]
    fn meta(&self, id: u32) -> &Meta {
        &self.metas[self.record_meta[id as usize] as usize]
    }

    /// The position of record `id`'s metadata among the distinct metadata of the index:
    /// records that share one copy have the same.
    #[inline]
    pub(crate) fn meta_slot(&self, id: u32) -> u32 {
        self.record_meta[id as usize]
    }

    /// The distinct metadata of the records, by [`meta_slot`](Self::meta_slot).
    pub(crate) fn metas(&self) -> &[Meta] {
        &self.metas
    }

    /// Whether record `id` is in force at `at`.
    #[inline]
    pub(crate) fn record_valid_at(&self, id: u32, at: Timestamp) -> bool {
        self.meta(id).is_valid_at(at)
    }

    /// The ids of the records of `entry`.
    #[inline]
    pub(crate) fn records_of(&self, entry: u32) -> std::ops::Range<u32> {
        self.record_starts[entry as usize]..self.record_starts[entry as usize + 1]
    }

    /// The entry of the canonical `(kind, value)`, if the index has it. `ip` is the range
    /// of an IP value.
    pub(crate) fn entry_of(&self, kind: Kind, value: &str, ip: Option<IpRange>) -> Option<u32> {
        let (t, all) = (&self.tables, &self.entries);
        let entry = match kind {
            Kind::Domain => t.names.get(all, value.as_bytes()).map(|slot| slot.domain),
            Kind::Hostname => t.names.get(all, value.as_bytes()).map(|slot| slot.hostname),
            Kind::Ipv4 | Kind::Ipv6 => {
                let covering = match ip? {
                    IpRange::V4 { first, .. } => t.ipv4.covering(first),
                    IpRange::V6 { first, .. } => t.ipv6.covering(first),
                };
                covering.iter().copied().find(|&e| all.kind(e) == kind && all.value(e) == value)
            }
            Kind::Url => t.urls.get(all, value),
            Kind::Email => t.emails.get(all, value.as_bytes()).copied(),
            Kind::String => t.string_values.get(all, value.as_bytes()).copied(),
            _ => t.hashes.get(all, value.as_bytes()).copied(),
        }?;
        (entry != NO_ENTRY && all.kind(entry) == kind).then_some(entry)
    }

    /// The record with id `id`.
    ///
    /// # Panics
    /// When `id` does not belong to this index.
    pub fn indicator(&self, id: IndicatorId) -> Indicator<'_> {
        let entry = self.record_entry[id.as_usize()];
        let (kind, value) = (self.entries.kind(entry), self.entries.value(entry));
        Indicator { id, kind, value, meta: self.meta(id.0) }
    }

    /// The record with id `id`, or `None` when the index has no such id.
    pub fn get(&self, id: u32) -> Option<Indicator<'_>> {
        ((id as usize) < self.record_count()).then(|| self.indicator(IndicatorId(id)))
    }

    /// Every record, in id order.
    pub fn indicators(&self) -> impl ExactSizeIterator<Item = Indicator<'_>> + '_ {
        (0..self.record_count() as u32).map(|id| self.indicator(IndicatorId(id)))
    }

    /// Appends to `out` the records of `entry` valid at `at`.
    #[inline]
    pub(crate) fn valid_records(&self, entry: u32, at: Timestamp, out: &mut Vec<IndicatorId>) {
        let (lo, hi) = (self.record_starts[entry as usize], self.record_starts[entry as usize + 1]);
        for id in lo..hi {
            if self.meta(id).is_valid_at(at) {
                out.push(IndicatorId(id));
            }
        }
    }

    /// Whether any record of `entry` is valid at `at`.
    #[inline]
    pub(crate) fn any_valid(&self, entry: u32, at: Timestamp) -> bool {
        if self.timeless[entry as usize] {
            return true;
        }
        let (lo, hi) = (self.record_starts[entry as usize], self.record_starts[entry as usize + 1]);
        (lo..hi).any(|id| self.meta(id).is_valid_at(at))
    }

    /// The records valid at `at` that one observed value of a log field hits.
    ///
    /// The value is put in canonical form first (with `kind`, or inferring it). A host
    /// name hits `domain` indicators for itself and every parent, and a `hostname`
    /// indicator for itself; an address or network hits every entry that covers it; any
    /// other kind hits its exact canonical value.
    ///
    /// # Errors
    /// When `value` is not a valid indicator of `kind`.
    pub fn lookup(
        &self,
        value: &str,
        kind: Option<Kind>,
        at: Timestamp,
    ) -> Result<Vec<IndicatorId>, IndicatorError> {
        // The commonest value of a log column, a dotted quad, is looked up as normalize
        // reads it (an address, covered by the entries over it), without writing its
        // canonical text: that formatting cost more than the lookup.
        if matches!(kind, None | Some(Kind::Ipv4)) {
            if let Some(addr) = normalize::plain_ipv4(value) {
                let mut ids = Vec::new();
                for &entry in self.tables.ipv4.covering(addr) {
                    self.valid_records(entry, at, &mut ids);
                }
                return Ok(ids);
            }
        }
        // The other one, a host name, without normalizing it in full either.
        let mut buf = [0; 253];
        if let Some(name) = normalize::plain_host_name(value, kind, &mut buf) {
            let mut entries = Vec::new();
            self.name_entries(name, &mut entries);
            return Ok(self.valid_records_of(entries, at));
        }
        let observed = normalize::normalize(value, kind, false)?;
        let mut entries: Vec<u32> = Vec::new();
        let (t, all) = (&self.tables, &self.entries);
        match observed.kind {
            Kind::Domain | Kind::Hostname => self.name_entries(observed.value.as_bytes(), &mut entries),
            Kind::Ipv4 | Kind::Ipv6 => {
                let covering = match observed.ip {
                    Some(IpRange::V4 { first, .. }) => t.ipv4.covering(first),
                    Some(IpRange::V6 { first, .. }) => t.ipv6.covering(first),
                    None => &[],
                };
                entries.extend(covering.iter().copied().filter(|&e| covers(self.entries.ip(e), observed.ip)));
            }
            Kind::Url => entries.extend(t.urls.get(all, &observed.value)),
            Kind::Email => entries.extend(t.emails.get(all, observed.value.as_bytes())),
            Kind::String => entries.extend(t.string_values.get(all, observed.value.as_bytes())),
            _ => entries.extend(t.hashes.get(all, observed.value.as_bytes())),
        }
        Ok(self.valid_records_of(entries, at))
    }

    /// The records valid at `at` of `entries` (`NO_ENTRY` slots skipped).
    fn valid_records_of(&self, entries: Vec<u32>, at: Timestamp) -> Vec<IndicatorId> {
        let mut ids = Vec::new();
        for entry in entries.into_iter().filter(|&e| e != NO_ENTRY) {
            self.valid_records(entry, at, &mut ids);
        }
        ids
    }

    /// The entries a canonical host name hits: the hostname entry equal to it, then the
    /// domain entries of itself and every parent, longest first.
    ///
    /// The suffixes are hashed from the right as the text scanner hashes them, and the
    /// walk stops at the first suffix that ends no key, which the build's filters tell
    /// without a probe of the table: most names of a log (`www.google.com`) cost a filter
    /// probe or two, not a cache miss per label.
    fn name_entries(&self, name: &[u8], entries: &mut Vec<u32>) {
        let t = &self.tables;
        let mut found: Vec<(usize, NameSlot)> = Vec::new();
        let mut last_label = true;
        for_each_suffix_hash(name, 0, |label, hash| {
            let single_label = std::mem::take(&mut last_label);
            let suffixes = if single_label { &t.last_label_filter } else { &t.suffix_filter };
            if !suffixes.contains(hash) {
                return false;
            }
            if (!single_label || t.dotless_names) && t.name_filter.contains(hash) {
                if let Some(slot) = t.names.get(&self.entries, &name[label..]) {
                    found.push((label, *slot));
                }
            }
            true
        });
        for &(label, slot) in found.iter().rev() {
            if label == 0 {
                entries.push(slot.hostname);
            }
            entries.push(slot.domain);
        }
    }

    /// The IPv4 addresses that some indicator covers (validity aside), as a roaring
    /// bitmap in the portable format that pyroaring and CRoaring read.
    pub fn ipv4_bitmap(&self) -> Vec<u8> {
        self.tables.ipv4.bitmap_bytes()
    }

    /// Entries per kind, records, and approximate heap bytes per structure.
    pub fn stats(&self) -> Stats {
        let t = &self.tables;
        let meta_bytes: usize = self
            .metas
            .iter()
            .map(|m| {
                std::mem::size_of::<Meta>()
                    + [&m.source, &m.reference, &m.description]
                        .iter()
                        .filter_map(|s| s.as_ref())
                        .map(|s| s.len())
                        .sum::<usize>()
                    + m.tags.iter().map(|t| t.len() + 24).sum::<usize>()
            })
            .sum();
        let memory = vec![
            ("entries", self.entries.memory_usage()),
            ("records", meta_bytes + (self.record_starts.len() + 2 * self.record_count()) * 4),
            ("names", t.names.memory_usage()),
            ("urls", t.urls.memory_usage()),
            ("emails", t.emails.memory_usage()),
            ("hashes", t.hashes.memory_usage()),
            ("filters", t.filter_bytes()),
            ("ipv4_bitmap", t.ipv4.memory_usage().0),
            ("ipv4_table", t.ipv4.memory_usage().1),
            ("ipv6_table", t.ipv6.memory_usage()),
            (
                "strings",
                t.strings.as_ref().map_or(0, |ac| ac.memory_usage())
                    + t.string_entries.len() * 4
                    + t.string_values.memory_usage(),
            ),
        ];
        let entries_per_kind = Kind::ALL
            .iter()
            .map(|&k| (k, self.entries.kinds().iter().filter(|&&e| e == k).count()))
            .filter(|&(_, n)| n > 0)
            .collect();
        Stats { entries: self.entries.len(), records: self.record_count(), entries_per_kind, memory }
    }

    /// Serializes the index: versioned and checksummed. The lookup tables are not stored;
    /// [`Index::from_bytes`] rebuilds them from the canonical entries.
    pub fn to_bytes(&self) -> Vec<u8> {
        let entries: Vec<(Kind, &str)> = self.entries.iter().map(|e| (e.kind, e.value)).collect();
        let records: Vec<(u32, &Meta)> = (0..self.record_count() as u32)
            .map(|id| (self.record_entry[id as usize], self.meta(id)))
            .collect();
        wire::encode(&entries, &records)
    }

    /// Reads an index written by [`Index::to_bytes`]. Never panics, for any input: every
    /// length, id and value is validated, and every value must already be canonical.
    ///
    /// # Errors
    /// When the bytes are truncated, corrupted, of another version, or hostile.
    pub fn from_bytes(bytes: &[u8]) -> Result<Index, DeserializeError> {
        let (stored, records) = wire::decode_entries(bytes)?;
        let entry_count = stored.len();
        // The records decode on a second thread while the entries are checked and the
        // tables compiled: loading is mostly copying strings and filling hash tables.
        std::thread::scope(|scope| {
            let columns = scope.spawn(move || {
                let (entry_of, meta_of, metas) = records.decode()?;
                Ok::<_, DeserializeError>(RecordColumns::new(entry_of, meta_of, metas, entry_count))
            });
            let entries = restore_entries(&stored);
            let compiled = entries.map(|entries| {
                let tables = Tables::compile(&entries);
                (entries, tables)
            });
            // Errors in the order of the file: the records' framing, then the entries.
            let columns = columns.join().expect("decoding records does not panic")?;
            let (entries, tables) = compiled?;
            let tables = tables.map_err(|e| DeserializeError::new(0, e.to_string()))?;
            Ok(Index::assemble(entries, tables, columns))
        })
    }
}

/// The records of an index as columns: which records each entry has, and theirs.
struct RecordColumns {
    /// Records of entry `e` are ids `starts[e]..starts[e + 1]`.
    starts: Vec<u32>,
    entry: Vec<u32>,
    /// Each record's metadata, as an index into `metas`.
    meta: Vec<u32>,
    metas: Vec<Meta>,
    timeless: Vec<bool>,
}

impl RecordColumns {
    /// From the entry and the metadata of each record, sorted by entry.
    fn new(entry_of: Vec<u32>, meta_of: Vec<u32>, metas: Vec<Meta>, entries: usize) -> RecordColumns {
        let mut starts = Vec::with_capacity(entries + 1);
        for (id, &entry) in entry_of.iter().enumerate() {
            while starts.len() <= entry as usize {
                starts.push(id as u32);
            }
        }
        while starts.len() <= entries {
            starts.push(meta_of.len() as u32);
        }
        let windowed: Vec<bool> =
            metas.iter().map(|m| m.valid_from.is_some() || m.valid_until.is_some()).collect();
        let timeless = starts
            .windows(2)
            .map(|w| meta_of[w[0] as usize..w[1] as usize].iter().all(|&m| !windowed[m as usize]))
            .collect();
        RecordColumns { starts, entry: entry_of, meta: meta_of, metas, timeless }
    }
}

/// Checks the stored entries and gathers them: each must be canonical.
fn restore_entries(stored: &[(Kind, &str)]) -> Result<Entries, DeserializeError> {
    let text_bytes = stored.iter().map(|(_, value)| value.len()).sum();
    let mut entries = Entries::with_capacity(stored.len(), text_bytes);
    for (i, &(kind, value)) in stored.iter().enumerate() {
        let Some(ip) = restore_entry(kind, value) else {
            return Err(DeserializeError::new(0, format!("entry {i} to be a canonical {kind}")));
        };
        entries.push(kind, value, ip);
    }
    Ok(entries)
}

/// Checks one stored entry: a value that is canonical as it stands passes as it is, any
/// other must normalize to itself. Gives the range of an IP entry, which the tables need.
fn restore_entry(kind: Kind, value: &str) -> Option<Option<IpRange>> {
    if normalize::is_plainly_canonical(kind, value) {
        return Some(None);
    }
    match normalize::normalize(value, Some(kind), true) {
        Ok(n) if n.kind == kind && n.value == value => Some(n.ip),
        _ => None,
    }
}

/// Whether the indicator range `entry` covers all of the observed range.
fn covers(entry: Option<IpRange>, observed: Option<IpRange>) -> bool {
    match (entry, observed) {
        (Some(IpRange::V4 { first: a, last: b }), Some(IpRange::V4 { first: x, last: y })) => {
            a <= x && y <= b
        }
        (Some(IpRange::V6 { first: a, last: b }), Some(IpRange::V6 { first: x, last: y })) => {
            a <= x && y <= b
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
