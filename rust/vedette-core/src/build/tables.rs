//! The lookup structures an index is made of, compiled from its canonical entries.

use aho_corasick::AhoCorasick;

use super::filter::{for_each_suffix_hash, BitFilter, ByteSet};
use super::ip::{IntervalTable, Ipv4Table};
use super::keyed::{self, Key, KeyedTable};
use super::urls::UrlTable;
use crate::entries::Entries;
use crate::error::BuildError;
use crate::indicator::Kind;
use crate::normalize::{parse_ipv6, IpRange};

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
    /// The hash of every key of `names`. Probed only after `suffix_filter` passed the same
    /// hash, so it reads other bits of it: with the same bits, most of that filter's false
    /// positives passed this one too.
    pub name_filter: BitFilter,
    /// The hash of the last label of every key of `names`: most words in text are turned
    /// away by this small filter after hashing one label.
    pub last_label_filter: BitFilter,
    /// The hash of every suffix of two labels or more of every key of `names`: a name in
    /// text stops being hashed at its first suffix that ends no key.
    pub suffix_filter: BitFilter,
    /// Some name (or e-mail domain) is a single label, so dotless tokens need a look.
    pub dotless_names: bool,
    /// The last bytes of the keys of `names` and `emails`, in both ASCII cases: a token
    /// that ends in another byte needs no hashing at all (a number, most often).
    pub name_ends: ByteSet,
    pub urls: UrlTable,
    /// The bracketed IPv6 hosts of URLs, sorted: a literal in text is spelled out as a
    /// URL host key only when it is one of them.
    pub bracketed_url_hosts: Box<[u128]>,
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
    // No early exit, so that the loop vectorizes: digits are unchanged by `| 0x20`.
    let mut all_hex = true;
    for (o, &b) in out.iter_mut().zip(hex) {
        let lower = b | 0x20;
        all_hex &= b.is_ascii_digit() | (b'a'..=b'f').contains(&lower);
        *o = lower;
    }
    all_hex.then_some(out)
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
    ///
    /// The host-name tables (the largest) build on a second thread while this one builds
    /// the rest: loading a million-entry index is mostly hash-table inserts.
    pub(crate) fn compile(entries: &Entries) -> Result<Tables, BuildError> {
        let (names, exact) = std::thread::scope(|scope| {
            let names = scope.spawn(|| Names::compile(entries));
            let exact = Exact::compile(entries);
            (names.join().expect("building the name tables does not panic"), exact)
        });
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for &(id, range) in entries.ips() {
            match range {
                IpRange::V4 { first, last } => v4.push((first, last, id)),
                IpRange::V6 { first, last } => v6.push((first, last, id)),
            }
        }
        let urls = UrlTable::compile(entries);
        // The builder makes each `(kind, value)` one entry; only a file can hold one twice.
        // Each table meets its duplicates as it is filled, so telling costs almost nothing.
        let duplicate = [names.duplicate, exact.duplicate, urls.first_duplicate(entries)]
            .into_iter()
            .flatten()
            .chain(first_duplicate_range(&v4))
            .chain(first_duplicate_range(&v6))
            .min();
        if let Some((first, second)) = duplicate {
            return Err(BuildError::duplicate_entry(
                first,
                second,
                entries.kind(first),
                entries.value(first),
            ));
        }
        let strings = match exact.strings.is_empty() {
            true => None,
            // Standard semantics, so that overlapping iteration reports every occurrence.
            false => Some(AhoCorasick::new(&exact.strings).map_err(BuildError::automaton)?),
        };
        let mut name_ends = ByteSet::default();
        for key in names.table.keys(entries).chain(exact.emails.keys(entries)) {
            if let Some(&last) = key.last() {
                name_ends.insert(last);
                name_ends.insert(last.to_ascii_uppercase());
            }
        }
        Ok(Tables {
            name_ends,
            names: names.table,
            name_filter: names.filter,
            last_label_filter: names.last_label_filter,
            suffix_filter: names.suffix_filter,
            dotless_names: names.dotless || exact.dotless_email,
            bracketed_url_hosts: names.bracketed_url_hosts,
            urls,
            emails: exact.emails,
            digest_filter: exact.digest_filter,
            hashes: exact.hashes,
            has_ip: !v4.is_empty() || !v6.is_empty(),
            ipv4: Ipv4Table::new(&v4),
            ipv6: IntervalTable::new(&v6),
            strings,
            string_entries: exact.string_entries,
            string_values: exact.string_values,
        })
    }

    /// Heap bytes of the filters.
    pub(crate) fn filter_bytes(&self) -> usize {
        self.name_filter.memory_usage()
            + self.last_label_filter.memory_usage()
            + self.suffix_filter.memory_usage()
            + self.digest_filter.memory_usage()
    }
}

/// The host-name table: every domain, host name and URL host, and its filters.
struct Names {
    table: KeyedTable<NameSlot>,
    filter: BitFilter,
    last_label_filter: BitFilter,
    suffix_filter: BitFilter,
    dotless: bool,
    bracketed_url_hosts: Box<[u128]>,
    /// Two entries with one key, `(first, second)`.
    duplicate: Option<(u32, u32)>,
}

impl Names {
    fn compile(entries: &Entries) -> Names {
        let hosts = entries.kinds().iter().filter(|k| matches!(k, Kind::Domain | Kind::Hostname | Kind::Url));
        let mut table = KeyedTable::with_capacity(hosts.count());
        let mut bracketed_url_hosts = Vec::new();
        let mut duplicate = None;
        let mut set = |slot: &mut u32, id: u32| {
            if *slot != NO_ENTRY {
                duplicate = duplicate.or(Some((*slot, id)));
            }
            *slot = id;
        };
        for (id, entry) in entries.iter().enumerate() {
            let id = id as u32;
            let key = Key::whole(id, entries);
            match entry.kind {
                Kind::Domain => set(&mut table.entry(entries, key, NameSlot::default).domain, id),
                Kind::Hostname => set(&mut table.entry(entries, key, NameSlot::default).hostname, id),
                Kind::Url if entry.value.starts_with('[') => {
                    let host = &entry.value[1..entry.value.find(']').unwrap_or(1)];
                    bracketed_url_hosts.extend(parse_ipv6(host.as_bytes()));
                }
                Kind::Url => {
                    let host = Key { entry: id, len: url_host_len(entry.value) as u32 };
                    table.entry(entries, host, NameSlot::default).url_host = true;
                }
                _ => {}
            }
        }
        let mut filter = BitFilter::with_capacity_rotated(table.len());
        let mut last_label_filter = BitFilter::with_capacity(table.len() / 8);
        // Parents are mostly shared ("com", "evil.com"): about two suffixes per key.
        let mut suffix_filter = BitFilter::with_capacity(table.len() * 2);
        let mut dotless = false;
        for name in table.keys(entries) {
            let mut last_label = true;
            for_each_suffix_hash(name, 0, |label, hash| {
                match std::mem::take(&mut last_label) {
                    true => last_label_filter.insert(hash),
                    false => suffix_filter.insert(hash),
                }
                if label == 0 {
                    filter.insert(hash);
                }
                true
            });
            dotless |= !name.contains(&b'.');
        }
        bracketed_url_hosts.sort_unstable();
        bracketed_url_hosts.dedup();
        let bracketed_url_hosts = bracketed_url_hosts.into_boxed_slice();
        Names { table, filter, last_label_filter, suffix_filter, dotless, bracketed_url_hosts, duplicate }
    }
}

/// The tables of values matched whole: e-mail addresses, digests, strings.
struct Exact<'a> {
    emails: KeyedTable<u32>,
    /// Some e-mail domain is a single label.
    dotless_email: bool,
    hashes: KeyedTable<u32>,
    digest_filter: BitFilter,
    strings: Vec<&'a str>,
    string_entries: Vec<u32>,
    string_values: KeyedTable<u32>,
    /// Two entries with one key, `(first, second)`.
    duplicate: Option<(u32, u32)>,
}

impl<'a> Exact<'a> {
    fn compile(entries: &'a Entries) -> Exact<'a> {
        let count = |kinds: &[Kind]| entries.kinds().iter().filter(|k| kinds.contains(k)).count();
        let mut exact = Exact {
            emails: KeyedTable::with_capacity(count(&[Kind::Email])),
            dotless_email: false,
            hashes: KeyedTable::with_capacity(count(&Kind::ALL[6..12])),
            digest_filter: BitFilter::default(),
            strings: Vec::new(),
            string_entries: Vec::new(),
            string_values: KeyedTable::default(),
            duplicate: None,
        };
        for (id, entry) in entries.iter().enumerate() {
            let id = id as u32;
            let key = Key::whole(id, entries);
            let table = match entry.kind {
                Kind::Email => {
                    let domain = entry.value.rsplit_once('@').map_or("", |(_, d)| d);
                    exact.dotless_email |= !domain.contains('.');
                    &mut exact.emails
                }
                Kind::String => {
                    exact.strings.push(entry.value);
                    exact.string_entries.push(id);
                    &mut exact.string_values
                }
                kind if kind.hex_len().is_some() => &mut exact.hashes,
                _ => continue,
            };
            let slot = table.entry(entries, key, || id);
            if *slot != id {
                exact.duplicate = exact.duplicate.or(Some((*slot, id)));
            }
        }
        exact.digest_filter = BitFilter::with_capacity(exact.hashes.len());
        for digest in exact.hashes.keys(entries) {
            exact.digest_filter.insert(keyed::hash(digest));
        }
        exact
    }
}

/// The first two entries of `intervals` (`(first, last, entry)`) that cover the same
/// addresses: equal ranges have one canonical value.
fn first_duplicate_range<T: Ord + Copy>(intervals: &[(T, T, u32)]) -> Option<(u32, u32)> {
    let mut sorted = intervals.to_vec();
    sorted.sort_unstable();
    let pairs = sorted.windows(2).filter(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1));
    pairs.map(|w| (w[0].2, w[1].2)).min()
}
