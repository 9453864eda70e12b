//! The lookup structures an index is made of, compiled from its canonical entries.

use aho_corasick::AhoCorasick;
use rustc_hash::FxHashMap;

use super::filter::{digest_hash, last_label_hash, name_hash, BitFilter};
use super::ip::{IntervalTable, Ipv4Table};
use crate::error::BuildError;
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

/// Keys are canonical (lower-case) bytes; hash keys are the raw digest, half the size
/// of its hex.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tables {
    pub names: FxHashMap<Box<[u8]>, NameSlot>,
    /// The hash of every key of `names`.
    pub name_filter: BitFilter,
    /// The hash of the last label of every key of `names`: most words in text are turned
    /// away by this 8 KiB-ish filter after hashing one label.
    pub last_label_filter: BitFilter,
    /// Some name (or e-mail domain) is a single label, so dotless tokens need a look.
    pub dotless_names: bool,
    pub urls: FxHashMap<Box<[u8]>, u32>,
    /// Some URL has a bracketed IPv6 host.
    pub bracketed_url_hosts: bool,
    pub emails: FxHashMap<Box<[u8]>, u32>,
    pub hashes: FxHashMap<Box<[u8]>, u32>,
    pub digest_filter: BitFilter,
    pub ipv4: Ipv4Table,
    pub ipv6: IntervalTable<u128>,
    /// Some IPv4 or IPv6 entry exists, so IP literals are worth extracting.
    pub has_ip: bool,
    pub strings: Option<AhoCorasick>,
    /// The entry of each automaton pattern.
    pub string_entries: Vec<u32>,
    /// String entries by value, for exact lookups.
    pub string_values: FxHashMap<Box<[u8]>, u32>,
}

/// Decodes lower-case hex into `out`; `None` when a byte is not hex or `out` is too short.
pub(crate) fn decode_hex<'a>(hex: &[u8], out: &'a mut [u8; 64]) -> Option<&'a [u8]> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    if !hex.len().is_multiple_of(2) || hex.len() / 2 > out.len() {
        return None;
    }
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(&out[..hex.len() / 2])
}

/// The host part of a canonical URL (`host[:port]/...`): the name, or `[v6]`.
pub(crate) fn url_host(url: &str) -> &str {
    let end = if url.starts_with('[') {
        url.find(']').map_or(url.len(), |i| i + 1)
    } else {
        url.find([':', '/']).unwrap_or(url.len())
    };
    &url[..end]
}

impl Tables {
    fn compile_filters(&mut self) {
        self.name_filter = BitFilter::with_capacity(self.names.len());
        self.last_label_filter = BitFilter::with_capacity(self.names.len() / 8);
        for name in self.names.keys() {
            self.name_filter.insert(name_hash(name));
            self.last_label_filter.insert(last_label_hash(name));
            self.dotless_names |= !name.contains(&b'.');
        }
        self.digest_filter = BitFilter::with_capacity(self.hashes.len());
        for digest in self.hashes.keys() {
            self.digest_filter.insert(digest_hash(digest));
        }
    }

    /// Heap bytes of the filters.
    pub(crate) fn filter_bytes(&self) -> usize {
        self.name_filter.memory_usage()
            + self.last_label_filter.memory_usage()
            + self.digest_filter.memory_usage()
    }

    /// Compiles the tables of `entries` (canonical kind, value and IP range), whose
    /// position is their entry id.
    pub(crate) fn compile<'a>(
        entries: impl Iterator<Item = (Kind, &'a str, Option<IpRange>)>,
    ) -> Result<Tables, BuildError> {
        let mut tables = Tables::default();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut strings: Vec<&str> = Vec::new();
        for (id, (kind, value, ip)) in entries.enumerate() {
            let id = id as u32;
            let key = || value.as_bytes().to_vec().into_boxed_slice();
            match kind {
                Kind::Domain => tables.names.entry(key()).or_default().domain = id,
                Kind::Hostname => tables.names.entry(key()).or_default().hostname = id,
                Kind::Url => {
                    let host = url_host(value);
                    if host.starts_with('[') {
                        tables.bracketed_url_hosts = true;
                    } else {
                        tables.names.entry(host.as_bytes().into()).or_default().url_host = true;
                    }
                    tables.urls.insert(key(), id);
                }
                Kind::Email => {
                    let domain = value.rsplit_once('@').map_or("", |(_, d)| d);
                    tables.dotless_names |= !domain.contains('.');
                    tables.emails.insert(key(), id);
                }
                Kind::String => {
                    strings.push(value);
                    tables.string_entries.push(id);
                    tables.string_values.insert(key(), id);
                }
                Kind::Ipv4 | Kind::Ipv6 => match ip {
                    Some(IpRange::V4 { first, last }) => v4.push((first, last, id)),
                    Some(IpRange::V6 { first, last }) => v6.push((first, last, id)),
                    None => unreachable!("ip entries carry their range"),
                },
                Kind::Md5 | Kind::Sha1 | Kind::Sha224 | Kind::Sha256 | Kind::Sha384 | Kind::Sha512 => {
                    let mut buf = [0u8; 64];
                    let digest = decode_hex(value.as_bytes(), &mut buf).expect("canonical hashes are hex");
                    tables.hashes.insert(digest.into(), id);
                }
            }
        }
        tables.compile_filters();
        tables.has_ip = !v4.is_empty() || !v6.is_empty();
        tables.ipv4 = Ipv4Table::new(&v4);
        tables.ipv6 = IntervalTable::new(&v6);
        if !strings.is_empty() {
            // Standard semantics, so that overlapping iteration reports every occurrence.
            tables.strings = Some(AhoCorasick::new(&strings).map_err(BuildError::automaton)?);
        }
        Ok(tables)
    }
}
