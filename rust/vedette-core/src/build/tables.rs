//! The lookup structures an index is made of, compiled from its canonical entries.

use aho_corasick::AhoCorasick;

use super::filter::{last_label_hash, name_hash, BitFilter};
use super::ip::{IntervalTable, Ipv4Table};
use super::keyed::{self, Key, KeyedTable};
use crate::error::BuildError;
use crate::index::Entry;
use crate::indicator::Kind;
use crate::normalize::IpRange;

/// "No entry" in a [`NameSlot`].
pub(crate) const NO_ENTRY: u32 = u32::MAX;

/// What the index knows about one host name: one entry per kind that can name it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NameSlot {
    pub domain: u32,
    pub hostname: u32,
    /// Some URL indicator has this host; only then do we build URL candidates for it.
    pub url_host: bool,
}

impl Default for NameSlot {
    fn default() -> Self {
        NameSlot { domain: NO_ENTRY, hostname: NO_ENTRY, url_host: false }
    }
}

/// Every table keys on canonical (lower-case) bytes and maps to entry ids.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tables {
    pub names: KeyedTable<NameSlot>,
    /// The hash of every key of `names`.
    pub name_filter: BitFilter,
    /// The hash of the last label of every key of `names`: most words in text are turned
    /// away by this small filter after hashing one label.
    pub last_label_filter: BitFilter,
    /// Some name (or e-mail domain) is a single label, so dotless tokens need a look.
    pub dotless_names: bool,
    pub urls: KeyedTable<u32>,
    /// Some URL has a bracketed IPv6 host.
    pub bracketed_url_hosts: bool,
    pub emails: KeyedTable<u32>,
    /// Digests by lower-case hex.
    pub hashes: KeyedTable<u32>,
    pub digest_filter: BitFilter,
    pub ipv4: Ipv4Table,
    pub ipv6: IntervalTable<u128>,
    /// Some IPv4 or IPv6 entry exists, so IP literals are worth extracting.
    pub has_ip: bool,
    pub strings: Option<AhoCorasick>,
    /// The entry of each automaton pattern.
    pub string_entries: Vec<u32>,
    /// String entries by value, for exact lookups.
    pub string_values: KeyedTable<u32>,
}

/// Whether `hex` is all hex digits; lower-cases it into `out`.
#[inline]
pub(crate) fn lower_hex<'a>(hex: &[u8], out: &'a mut [u8; 128]) -> Option<&'a [u8]> {
    let out = out.get_mut(..hex.len())?;
    for (o, &b) in out.iter_mut().zip(hex) {
        if !b.is_ascii_hexdigit() {
            return None;
        }
        *o = b.to_ascii_lowercase();
    }
    Some(out)
}

/// The length of the host part of a canonical URL (`host[:port]/...`): the name, or `[v6]`.
pub(crate) fn url_host_len(url: &str) -> usize {
    if url.starts_with('[') {
        url.find(']').map_or(url.len(), |i| i + 1)
    } else {
        url.find([':', '/']).unwrap_or(url.len())
    }
}

impl Tables {
    /// Compiles the tables of `entries`, whose position is their entry id.
    pub(crate) fn compile(entries: &[Entry]) -> Result<Tables, BuildError> {
        let count = |kinds: &[Kind]| entries.iter().filter(|e| kinds.contains(&e.kind)).count();
        let mut tables = Tables {
            names: KeyedTable::with_capacity(count(&[Kind::Domain, Kind::Hostname, Kind::Url])),
            urls: KeyedTable::with_capacity(count(&[Kind::Url])),
            emails: KeyedTable::with_capacity(count(&[Kind::Email])),
            hashes: KeyedTable::with_capacity(count(&Kind::ALL[6..12])),
            ..Tables::default()
        };
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut strings: Vec<&str> = Vec::new();
        for (id, entry) in entries.iter().enumerate() {
            let id = id as u32;
            let key = Key::whole(id, entries);
            match entry.kind {
                Kind::Domain => tables.names.entry(entries, key, NameSlot::default).domain = id,
                Kind::Hostname => tables.names.entry(entries, key, NameSlot::default).hostname = id,
                Kind::Url => {
                    let host = Key { entry: id, len: url_host_len(&entry.value) as u32 };
                    if entry.value.starts_with('[') {
                        tables.bracketed_url_hosts = true;
                    } else {
                        tables.names.entry(entries, host, NameSlot::default).url_host = true;
                    }
                    *tables.urls.entry(entries, key, || id) = id;
                }
                Kind::Email => {
                    let domain = entry.value.rsplit_once('@').map_or("", |(_, d)| d);
                    tables.dotless_names |= !domain.contains('.');
                    *tables.emails.entry(entries, key, || id) = id;
                }
                Kind::String => {
                    strings.push(&entry.value);
                    tables.string_entries.push(id);
                    *tables.string_values.entry(entries, key, || id) = id;
                }
                Kind::Ipv4 | Kind::Ipv6 => match entry.ip {
                    Some(IpRange::V4 { first, last }) => v4.push((first, last, id)),
                    Some(IpRange::V6 { first, last }) => v6.push((first, last, id)),
                    None => unreachable!("ip entries carry their range"),
                },
                Kind::Md5 | Kind::Sha1 | Kind::Sha224 | Kind::Sha256 | Kind::Sha384 | Kind::Sha512 => {
                    *tables.hashes.entry(entries, key, || id) = id;
                }
            }
        }
        tables.compile_filters(entries);
        tables.has_ip = !v4.is_empty() || !v6.is_empty();
        tables.ipv4 = Ipv4Table::new(&v4);
        tables.ipv6 = IntervalTable::new(&v6);
        if !strings.is_empty() {
            // Standard semantics, so that overlapping iteration reports every occurrence.
            tables.strings = Some(AhoCorasick::new(&strings).map_err(BuildError::automaton)?);
        }
        Ok(tables)
    }

    fn compile_filters(&mut self, entries: &[Entry]) {
        self.name_filter = BitFilter::with_capacity(self.names.len());
        self.last_label_filter = BitFilter::with_capacity(self.names.len() / 8);
        for name in self.names.keys(entries) {
            self.name_filter.insert(name_hash(name));
            self.last_label_filter.insert(last_label_hash(name));
            self.dotless_names |= !name.contains(&b'.');
        }
        self.digest_filter = BitFilter::with_capacity(self.hashes.len());
        for digest in self.hashes.keys(entries) {
            self.digest_filter.insert(keyed::hash(digest));
        }
    }

    /// Heap bytes of the filters.
    pub(crate) fn filter_bytes(&self) -> usize {
        self.name_filter.memory_usage()
            + self.last_label_filter.memory_usage()
            + self.digest_filter.memory_usage()
    }
}
