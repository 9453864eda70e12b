//! Small bitset filters that answer "certainly not in the index" for most candidate
//! tokens before any hash table is touched. Built at compile time, never stored.

/// One bit per hashed key, at about 8 bits per key: a false positive rate near 12%,
/// for a filter that stays in L1/L2 for the sets vedette sees.
#[derive(Clone, Debug)]
pub(crate) struct BitFilter {
    bits: Box<[u64]>,
    shift: u32,
}

impl Default for BitFilter {
    fn default() -> Self {
        BitFilter::with_capacity(0)
    }
}

impl BitFilter {
    pub(crate) fn with_capacity(keys: usize) -> Self {
        let bits = (keys * 8).max(1 << 12).next_power_of_two();
        BitFilter { bits: vec![0; bits / 64].into_boxed_slice(), shift: 64 - bits.trailing_zeros() }
    }

    #[inline]
    fn slot(&self, hash: u64) -> (usize, u64) {
        let i = (hash >> self.shift) as usize;
        (i / 64, 1 << (i % 64))
    }

    pub(crate) fn insert(&mut self, hash: u64) {
        let (word, bit) = self.slot(hash);
        self.bits[word] |= bit;
    }

    #[inline]
    pub(crate) fn contains(&self, hash: u64) -> bool {
        let (word, bit) = self.slot(hash);
        self.bits[word] & bit != 0
    }

    pub(crate) fn memory_usage(&self) -> usize {
        self.bits.len() * 8
    }
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;

/// Hashes the label suffixes of a host name, lower-casing ASCII on the fly, from the
/// right: `f(start, hash)` is called for each suffix `name[start..]` that starts a label,
/// shortest first (the last label first, the whole name last), until it returns false.
///
/// Build and scan both hash names with this one function, so a name hashes the same
/// whichever side it comes from.
#[inline]
pub(crate) fn for_each_suffix_hash(name: &[u8], mut f: impl FnMut(usize, u64) -> bool) {
    let mut hash = SEED;
    for i in (0..name.len()).rev() {
        let b = name[i];
        if b == b'.' && !f(i + 1, hash) {
            return;
        }
        hash = (hash.rotate_left(5) ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    f(0, hash);
}

/// The hash of a whole name (its longest suffix).
pub(crate) fn name_hash(name: &[u8]) -> u64 {
    let mut whole = 0;
    for_each_suffix_hash(name, |start, hash| {
        whole = hash;
        start != 0
    });
    whole
}

/// The hash of a name's last label (its shortest suffix).
pub(crate) fn last_label_hash(name: &[u8]) -> u64 {
    let mut last = 0;
    for_each_suffix_hash(name, |_, hash| {
        last = hash;
        false
    });
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_hash_like_whole_names() {
        let mut seen = Vec::new();
        for_each_suffix_hash(b"A.Evil.example", |start, hash| {
            seen.push((start, hash));
            true
        });
        let starts: Vec<usize> = seen.iter().map(|&(s, _)| s).collect();
        assert_eq!(starts, [7, 2, 0]);
        assert_eq!(seen[0].1, name_hash(b"example"));
        assert_eq!(seen[1].1, name_hash(b"evil.example"));
        assert_eq!(seen[2].1, name_hash(b"a.evil.example"));
        assert_eq!(last_label_hash(b"a.evil.example"), name_hash(b"example"));
    }

    #[test]
    fn filter_has_no_false_negatives() {
        let mut filter = BitFilter::with_capacity(1000);
        let hashes: Vec<u64> =
            (0..1000u64).map(|i| name_hash(format!("host{i}.example").as_bytes())).collect();
        hashes.iter().for_each(|&h| filter.insert(h));
        assert!(hashes.iter().all(|&h| filter.contains(h)));
        let misses =
            (0..10_000u64).filter(|i| filter.contains(name_hash(format!("other{i}.test").as_bytes())));
        assert!(misses.count() < 2_000);
    }
}
