//! IP tables: which entries cover an address.
//!
//! Indicators are addresses, networks and ranges, which nest and overlap freely. We cut
//! the address line at every interval boundary into elementary segments, and store for
//! each segment the entries that cover all of it. A lookup is one binary search, and
//! reports every covering network, not only the longest prefix (as Zeek does). A segment
//! list costs one id per covering interval, so the table is O(n · nesting depth).

use roaring::RoaringBitmap;

use super::filter::BitFilter;
use crate::swar;

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
        self.covering_after(addr, 0, self.starts.len())
    }

    /// Like [`covering`](Self::covering), knowing that exactly `below` segments start at
    /// or before `addr`... somewhere in `below..=upto`.
    #[inline]
    fn covering_after(&self, addr: T, below: usize, upto: usize) -> &[u32] {
        let segment = below + self.starts[below..upto].partition_point(|&s| s <= addr);
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

/// The hash of the little-endian word of a /16's text `a.b.`, the bytes after it zero.
#[inline]
fn spelling_hash(word: u64) -> u64 {
    word.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// IPv4 entries: the interval table, with a directory over the top 16 bits so that a
/// lookup searches only the few segments of one /16 (a plain binary search over a million
/// segments misses the cache at every step), and the covered addresses as a roaring
/// bitmap, the portable form other tools (pyroaring, CRoaring) read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ipv4Table {
    /// One bit per /24 that holds a covered address (2 MiB): with IPs spread over the
    /// whole space, nearly every /16 holds an indicator, but few /24s do, so this one
    /// probe turns most misses away before the table is touched.
    slash24: Box<[u64]>,
    /// One bit per /16 that holds a covered address (8 KiB, in L1): the /24 bitmap is
    /// too large for the nearer caches, and when the indicators leave most /16s empty
    /// (a feed of one region's or one provider's networks) this probe spares it.
    slash16: Box<[u64]>,
    /// The text `a.b.` of every /16 `a.b` that `slash16` holds, as the little-endian word
    /// of those bytes: text that does not spell one of them there is no address an entry
    /// covers, and is turned away without reading its octets.
    slash16_spellings: BitFilter,
    /// `directory[k]`: how many segments start at or before `k << 16` (65,537 entries).
    directory: Box<[u32]>,
    table: IntervalTable<u32>,
    covered: RoaringBitmap,
}

impl Ipv4Table {
    pub(crate) fn new(intervals: &[(u32, u32, u32)]) -> Self {
        if intervals.is_empty() {
            return Ipv4Table::default();
        }
        let table = IntervalTable::new(intervals);
        let directory = (0..=1u64 << 16)
            .map(|k| match u32::try_from(k << 16) {
                Ok(base) => table.starts.partition_point(|&s| s <= base) as u32,
                Err(_) => table.starts.len() as u32,
            })
            .collect();
        // Ranges inserted in address order append to the bitmap instead of shifting it.
        let mut ranges: Vec<(u32, u32)> = intervals.iter().map(|&(first, last, _)| (first, last)).collect();
        ranges.sort_unstable();
        let mut covered = RoaringBitmap::new();
        let mut slash24 = vec![0u64; 1 << 18].into_boxed_slice();
        let mut slash16 = vec![0u64; 1 << 10].into_boxed_slice();
        for (first, last) in ranges {
            covered.insert_range(first..=last);
            for block in (first >> 8)..=(last >> 8) {
                slash24[(block >> 6) as usize] |= 1 << (block & 63);
            }
            for block in (first >> 16)..=(last >> 16) {
                slash16[(block >> 6) as usize] |= 1 << (block & 63);
            }
        }
        let prefixes = || (0..1u32 << 16).filter(|&p| slash16[(p >> 6) as usize] & (1 << (p & 63)) != 0);
        let mut slash16_spellings = BitFilter::with_capacity(prefixes().count());
        for prefix in prefixes() {
            let mut word = [0u8; 8];
            let text = format!("{}.{}.", prefix >> 8, prefix & 0xff);
            word[..text.len()].copy_from_slice(text.as_bytes());
            slash16_spellings.insert(spelling_hash(u64::from_le_bytes(word)));
        }
        Ipv4Table { slash24, slash16, slash16_spellings, directory, table, covered }
    }

    /// Whether the text whose first 8 bytes are `word` (little-endian) may start with a
    /// /16 that holds an indicator, spelled `a.b.` as an address spells it. False for
    /// every text that is no such /16's spelling; true for about one in twenty others.
    #[inline]
    pub(crate) fn may_start_covered_slash16(&self, word: u64) -> bool {
        let dots = swar::lanes_equal(word, b'.');
        let after_first = dots & dots.wrapping_sub(1);
        // The bytes up to the second dot: its high bit, and every bit below.
        let second = after_first & after_first.wrapping_neg();
        let spelled = word & (second << 1).wrapping_sub(1);
        self.slash16_spellings.contains(spelling_hash(spelled))
    }

    /// Whether some entry covers an address of the /16 `prefix` (its top 16 bits).
    #[inline]
    pub(crate) fn covers_in_slash16(&self, prefix: u32) -> bool {
        !self.slash16.is_empty() && self.slash16[(prefix >> 6) as usize] & (1 << (prefix & 63)) != 0
    }

    /// The entries covering `addr`.
    #[inline]
    pub(crate) fn covering(&self, addr: u32) -> &[u32] {
        let has = |bits: &[u64], block: u32| bits[(block >> 6) as usize] & (1 << (block & 63)) != 0;
        if !self.covers_in_slash16(addr >> 16) || !has(&self.slash24, addr >> 8) {
            return &[];
        }
        let k = (addr >> 16) as usize;
        let below = self.directory[k] as usize;
        let upto = self.directory[k + 1] as usize;
        // Segments starting in (k << 16, addr] are among starts[below..upto].
        self.table.covering_after(addr, below, upto)
    }

    /// The covered addresses, serialized in the roaring portable format.
    pub(crate) fn bitmap_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.covered.serialized_size());
        self.covered.serialize_into(&mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Heap bytes held.
    pub(crate) fn memory_usage(&self) -> (usize, usize) {
        let bitmaps = (self.slash24.len() + self.slash16.len()) * 8 + self.slash16_spellings.memory_usage();
        let tables = self.table.memory_usage() + self.directory.len() * 4 + bitmaps;
        (self.covered.serialized_size(), tables)
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
    fn slash16_spellings_turn_away_only_uncovered_slash16s() {
        // A network per 7th /16, and one that spans /16s.
        let mut intervals: Vec<(u32, u32, u32)> =
            (0..1u32 << 16).step_by(7).map(|p| (p << 16 | 5, p << 16 | 5, p)).collect();
        intervals.push((0xC0A8_0000, 0xC0AB_FFFF, 1 << 16));
        let table = Ipv4Table::new(&intervals);
        let word = |text: &str| u64::from_le_bytes(text.as_bytes()[..8].try_into().unwrap());
        let mut passed_uncovered = 0;
        for prefix in 0..1u32 << 16 {
            let (a, b) = (prefix >> 8, prefix & 0xff);
            let covered = table.covers_in_slash16(prefix);
            for text in [format!("{a}.{b}.0.5 x"), format!("{a}.{b}.255.255"), format!("{a}.{b}.1.1/24 ")] {
                let may = table.may_start_covered_slash16(word(&text));
                assert!(may || !covered, "{text}");
                passed_uncovered += usize::from(may && !covered);
            }
        }
        // About 56k uncovered /16s, three texts each: few get through.
        assert!(passed_uncovered < 3 * 56_000 / 10, "{passed_uncovered}");
        assert!(table.may_start_covered_slash16(word("192.170.0.1")));
    }

    #[test]
    fn top_of_address_space() {
        let table = IntervalTable::<u32>::new(&[(u32::MAX - 1, u32::MAX, 7), (0, u32::MAX, 8)]);
        assert_eq!(table.covering(u32::MAX), &[7, 8]);
        assert_eq!(table.covering(5), &[8]);
        let v4 = Ipv4Table::new(&[(0xC0A8_0000, 0xC0A8_FFFF, 0), (0xC0A9_0005, 0xC0A9_0005, 1), (0, 3, 2)]);
        let cases: &[(u32, &[u32])] = &[
            (0xC0A8_0101, &[0]),
            (0xC0A8_0000, &[0]),
            (0xC0A8_FFFF, &[0]),
            (0xC0A9_0000, &[]),
            (0xC0A9_0005, &[1]),
            (0xC0A9_0006, &[]),
            (0xC0A7_FFFF, &[]),
            (2, &[2]),
            (4, &[]),
            (u32::MAX, &[]),
        ];
        for &(addr, want) in cases {
            assert_eq!(v4.covering(addr), want, "addr {addr:#x}");
        }
        assert_eq!(Ipv4Table::new(&[]).covering(7), &[] as &[u32]);
    }
}
