//! URL entries grouped by `host[:port]`, each group's paths sorted, so that the scanner can
//! find every URL of a host that the text spells out, whatever bytes its path holds.
//!
//! A URL's path and query may hold any byte, terminators included (`/a,b`, `/a|b`), so
//! the text cannot tell where a URL ends before it knows which URLs it may be: we walk the
//! text's bytes after the host down the host's sorted paths instead (docs/semantics.md
//! §4.8). The walk stops where the text leaves every path, so it reads at most as many
//! bytes as the longest path of that host.

use super::keyed::{Key, KeyedTable};
use super::tables::url_host_len;
use crate::entries::Entries;
use crate::indicator::Kind;

/// The URLs of one `host[:port]`: `paths[first..first + len]`, whose path (from its `/`)
/// starts at byte `path_at` of each value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UrlHost {
    first: u32,
    len: u32,
    path_at: u32,
}

/// The text after a URL's host, read as its path: `/` then the bytes when the text goes
/// straight on with a query (`evil.example?x=1` is `evil.example/?x=1`), else the bytes.
#[derive(Clone, Copy)]
pub(crate) struct PathText<'t> {
    pub implied_slash: bool,
    pub bytes: &'t [u8],
}

impl PathText<'_> {
    #[inline]
    fn get(self, i: usize) -> Option<u8> {
        match (self.implied_slash, i) {
            (true, 0) => Some(b'/'),
            (true, i) => self.bytes.get(i - 1).copied(),
            (false, i) => self.bytes.get(i).copied(),
        }
    }

    /// Whether `path[from..]` is what the text holds from `from` on.
    #[inline]
    fn holds(self, from: usize, path: &[u8]) -> bool {
        let tail = &path[from.min(path.len())..];
        match (self.implied_slash, from) {
            (false, _) => self.bytes.get(from..path.len()) == Some(tail),
            (true, 0) => path.first() == Some(&b'/') && self.bytes.get(..path.len() - 1) == Some(&path[1..]),
            (true, _) => self.bytes.get(from - 1..path.len() - 1) == Some(tail),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct UrlTable {
    hosts: KeyedTable<UrlHost>,
    /// URL entry ids, grouped by `host[:port]`, each group sorted by path.
    paths: Vec<u32>,
}

/// Where the path of a canonical URL starts: its first `/` after the host.
fn path_at(url: &str) -> usize {
    let host = url_host_len(url);
    url[host..].find('/').map_or(url.len(), |p| host + p)
}

impl UrlTable {
    pub(crate) fn compile(entries: &Entries) -> UrlTable {
        let mut paths: Vec<u32> =
            (0..entries.len() as u32).filter(|&id| entries.kind(id) == Kind::Url).collect();
        // Sorted by whole value, the URLs of one `host[:port]` are contiguous (they share
        // the prefix `host[:port]/`) and in path order.
        paths.sort_unstable_by(|&a, &b| entries.bytes(a).cmp(entries.bytes(b)));
        let mut hosts = KeyedTable::with_capacity(paths.len());
        let mut i = 0;
        while i < paths.len() {
            let url = entries.value(paths[i]);
            let at = path_at(url);
            // Every canonical URL has a path: `host[:port]/` is the group's prefix.
            let prefix = &url.as_bytes()[..=at.min(url.len() - 1)];
            let len = paths[i..].iter().take_while(|&&id| entries.bytes(id).starts_with(prefix)).count();
            let key = Key { entry: paths[i], len: at as u32 };
            *hosts.entry(entries, key, || UrlHost { first: 0, len: 0, path_at: 0 }) =
                UrlHost { first: i as u32, len: len as u32, path_at: at as u32 };
            i += len;
        }
        UrlTable { hosts, paths }
    }

    /// The first two entries that are one URL, `(first, second)`: sorted, they are
    /// neighbours.
    pub(crate) fn first_duplicate(&self, entries: &Entries) -> Option<(u32, u32)> {
        let pairs = self.paths.windows(2).filter(|w| entries.bytes(w[0]) == entries.bytes(w[1]));
        pairs.map(|w| (w[0].min(w[1]), w[0].max(w[1]))).min()
    }

    /// The URLs whose canonical `host[:port]` is `host_port`.
    #[inline]
    pub(crate) fn host(&self, entries: &Entries, host_port: &[u8]) -> Option<UrlHost> {
        self.hosts.get(entries, host_port).copied()
    }

    /// The entry of the canonical URL `url`.
    pub(crate) fn get(&self, entries: &Entries, url: &str) -> Option<u32> {
        let host = self.host(entries, &url.as_bytes()[..path_at(url)])?;
        let group = self.group(host);
        let path = &url.as_bytes()[host.path_at as usize..];
        let i = group.binary_search_by(|&id| self.path(entries, host, id).cmp(path)).ok()?;
        Some(group[i])
    }

    /// The entry of the URL of `host` whose path is `/` (it also matches the bare host).
    pub(crate) fn root(&self, entries: &Entries, host: UrlHost) -> Option<u32> {
        let first = *self.group(host).first()?;
        (self.path(entries, host, first) == b"/").then_some(first)
    }

    /// Calls `each(entry, path_len)` for every URL of `host` whose path is a prefix of
    /// `text`, shortest first (`path_len` counts an implied `/`).
    ///
    /// The URLs left in `lo..hi` share the first `depth` bytes of `text`, and those whose
    /// path is exactly that long sort first; each step narrows the range to the paths
    /// whose next byte is the text's. Few paths left are compared whole.
    pub(crate) fn prefixes_of(
        &self,
        entries: &Entries,
        host: UrlHost,
        text: PathText<'_>,
        mut each: impl FnMut(u32, usize),
    ) {
        let group = self.group(host);
        let path = |id: u32| self.path(entries, host, id);
        let (mut lo, mut hi, mut depth) = (0, group.len(), 0);
        loop {
            while lo < hi && path(group[lo]).len() == depth {
                each(group[lo], depth);
                lo += 1;
            }
            if hi - lo <= 4 {
                for &id in &group[lo..hi] {
                    let p = path(id);
                    if text.holds(depth, p) {
                        each(id, p.len());
                    }
                }
                return;
            }
            let Some(b) = text.get(depth) else { return };
            let range = &group[lo..hi];
            lo += range.partition_point(|&id| path(id)[depth] < b);
            hi = lo + group[lo..hi].partition_point(|&id| path(id)[depth] == b);
            depth += 1;
        }
    }

    fn group(&self, host: UrlHost) -> &[u32] {
        &self.paths[host.first as usize..(host.first + host.len) as usize]
    }

    #[inline]
    fn path<'e>(&self, entries: &'e Entries, host: UrlHost, id: u32) -> &'e [u8] {
        &entries.bytes(id)[host.path_at as usize..]
    }

    /// Heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.hosts.memory_usage() + self.paths.capacity() * 4
    }
}
