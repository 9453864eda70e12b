//! IP tables: which entries cover an address.
//!
//! Indicators are addresses, networks and ranges, which nest and overlap freely. We cut
//! the address line at every interval boundary into elementary segments, and store for
//! each segment the entries that cover all of it. A lookup is one binary search, and
//! reports every covering network, not only the longest prefix (as Zeek does). A segment
//! list costs one id per covering interval, so the table is O(n · nesting depth).

use roaring::RoaringBitmap;

/// Sorted, non-overlapping segments of the address line, each with the entries covering it.
#[derive(Clone, Debug, Default)]
pub(crate) struct IntervalTable<T> {
    /// Start of each segment; a segment ends where the next starts (or at the top).
    starts: Vec<T>,
    /// `ids[offsets[i]..offsets[i + 1]]` are the entries covering segment `i`.
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

/// An address type for [`IntervalTable`].
pub(crate) trait Address: Copy + Ord + Default {
    /// `self + 1`, or `None` at the top of the address space.
    fn successor(self) -> Option<Self>;
}

impl Address for u32 {
    fn successor(self) -> Option<u32> {
        self.checked_add(1)
    }
}

impl Address for u128 {
    fn successor(self) -> Option<u128> {
        self.checked_add(1)
    }
}

impl<T: Address> IntervalTable<T> {
    /// Builds the table from `(first, last, entry)` triples (inclusive bounds).
    pub(crate) fn new(intervals: &[(T, T, u32)]) -> Self {
        if intervals.is_empty() {
            return IntervalTable { starts: Vec::new(), offsets: vec![0], ids: Vec::new() };
        }
        let mut starts: Vec<T> = Vec::with_capacity(intervals.len() * 2);
        for &(first, last, _) in intervals {
            starts.push(first);
            if let Some(next) = last.successor() {
                starts.push(next);
            }
        }
        starts.sort_unstable();
        starts.dedup();

        // Count, then fill: one pass to size each segment's list, one to write it.
        let segment_of = |addr: T, starts: &[T]| starts.partition_point(|&s| s <= addr) - 1;
        let mut counts = vec![0u32; starts.len() + 1];
        let mut spans = Vec::with_capacity(intervals.len());
        for &(first, last, entry) in intervals {
            let (lo, hi) = (segment_of(first, &starts), segment_of(last, &starts));
            for count in &mut counts[lo..=hi] {
                *count += 1;
            }
            spans.push((lo, hi, entry));
        }
        let mut offsets = Vec::with_capacity(counts.len());
        let mut total = 0u32;
        for &count in &counts[..starts.len()] {
            offsets.push(total);
            total += count;
        }
        offsets.push(total);
        let mut fill: Vec<u32> = offsets.clone();
        let mut ids = vec![0u32; total as usize];
        for (lo, hi, entry) in spans {
            for segment in lo..=hi {
                ids[fill[segment] as usize] = entry;
                fill[segment] += 1;
            }
        }
        IntervalTable { starts, offsets, ids }
    }

    /// The entries whose interval contains `addr`.
    #[inline]
    pub(crate) fn covering(&self, addr: T) -> &[u32] {
        let segment = self.starts.partition_point(|&s| s <= addr);
        if segment == 0 {
            return &[];
        }
        let (lo, hi) = (self.offsets[segment - 1], self.offsets[segment]);
        &self.ids[lo as usize..hi as usize]
    }

    /// Heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<T>()
            + (self.offsets.capacity() + self.ids.capacity()) * 4
    }
}

/// IPv4 entries: a roaring bitmap of every covered address answers "any hit?" for the
/// many misses; the interval table attributes the few hits.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ipv4Table {
    /// One bit per /16 that holds any covered address: 8 KiB, so it stays in L1/L2 and
    /// turns most misses away before the bitmap is touched.
    prefixes: Box<[u64]>,
    covered: RoaringBitmap,
    table: IntervalTable<u32>,
}

impl Ipv4Table {
    pub(crate) fn new(intervals: &[(u32, u32, u32)]) -> Self {
        let mut prefixes = vec![0u64; 1 << 10].into_boxed_slice();
        let mut covered = RoaringBitmap::new();
        for &(first, last, _) in intervals {
            covered.insert_range(first..=last);
            for prefix in (first >> 16)..=(last >> 16) {
                prefixes[(prefix >> 6) as usize] |= 1 << (prefix & 63);
            }
        }
        Ipv4Table { prefixes, covered, table: IntervalTable::new(intervals) }
    }

    /// Whether any entry covers `addr`.
    #[inline]
    pub(crate) fn contains(&self, addr: u32) -> bool {
        let prefix = addr >> 16;
        self.prefixes[(prefix >> 6) as usize] & (1 << (prefix & 63)) != 0 && self.covered.contains(addr)
    }

    /// The entries covering `addr`.
    #[inline]
    pub(crate) fn covering(&self, addr: u32) -> &[u32] {
        if self.contains(addr) {
            self.table.covering(addr)
        } else {
            &[]
        }
    }

    pub(crate) fn bitmap_bytes(&self) -> usize {
        self.covered.serialized_size() + self.prefixes.len() * 8
    }

    pub(crate) fn table_bytes(&self) -> usize {
        self.table.memory_usage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_overlapping() {
        let table = IntervalTable::<u32>::new(&[(0, 255, 0), (10, 20, 1), (15, 15, 2), (18, 30, 3)]);
        let cases: &[(u32, &[u32])] = &[
            (0, &[0]),
            (10, &[0, 1]),
            (15, &[0, 1, 2]),
            (18, &[0, 1, 3]),
            (21, &[0, 3]),
            (31, &[0]),
            (255, &[0]),
            (256, &[]),
        ];
        for &(addr, want) in cases {
            let mut got = table.covering(addr).to_vec();
            got.sort_unstable();
            assert_eq!(got, want, "addr {addr}");
        }
    }

    #[test]
    fn top_of_address_space() {
        let table = IntervalTable::<u32>::new(&[(u32::MAX - 1, u32::MAX, 7), (0, u32::MAX, 8)]);
        assert_eq!(table.covering(u32::MAX), &[7, 8]);
        assert_eq!(table.covering(5), &[8]);
        let v4 = Ipv4Table::new(&[(0xC0A8_0000, 0xC0A8_FFFF, 0)]);
        assert!(v4.contains(0xC0A8_0101));
        assert!(!v4.contains(0xC0A9_0000));
        assert_eq!(v4.covering(0xC0A8_0000), &[0]);
    }
}
