//! Small bitset filters that answer "certainly not in the index" for most candidate
//! tokens before any hash table is touched. Built at compile time, never stored.

use crate::swar::{lanes_equal, to_lowercase};

/// Two bits per hashed key in one 64-bit word, at about 8 bits per key: a false
/// positive rate near 5% (half that of one bit per key), still one cache line per
/// probe, for a filter that stays in L1/L2 for the sets vedette sees.
#[derive(Clone, Debug)]
pub(crate) struct BitFilter {
    words: Box<[u64]>,
    /// The top `64 - shift` bits of a hash pick the word, the next 12 its two bits.
    shift: u32,
    /// How far hashes are rotated first: filters probed one after the other with one
    /// hash must read different bits of it, or they fail together.
    rotation: u32,
}

impl Default for BitFilter {
    fn default() -> Self {
        BitFilter::with_capacity(0)
    }
}

impl BitFilter {
    pub(crate) fn with_capacity(keys: usize) -> Self {
        let words = (keys * 8 / 64).max(1 << 6).next_power_of_two();
        BitFilter {
            words: vec![0; words].into_boxed_slice(),
            shift: 64 - words.trailing_zeros(),
            rotation: 0,
        }
    }

    /// A filter that reads other bits of the hash than one made by `with_capacity`.
    pub(crate) fn with_capacity_rotated(keys: usize) -> Self {
        BitFilter { rotation: 32, ..BitFilter::with_capacity(keys) }
    }

    #[inline]
    fn slot(&self, hash: u64) -> (usize, u64) {
        let hash = hash.rotate_left(self.rotation);
        let word = (hash >> self.shift) as usize;
        let bits = hash >> (self.shift - 12);
        (word, 1 << (bits & 63) | 1 << (bits >> 6 & 63))
    }

    pub(crate) fn insert(&mut self, hash: u64) {
        let (word, bits) = self.slot(hash);
        self.words[word] |= bits;
    }

    #[inline]
    pub(crate) fn contains(&self, hash: u64) -> bool {
        let (word, bits) = self.slot(hash);
        self.words[word] & bits == bits
    }

    pub(crate) fn memory_usage(&self) -> usize {
        self.words.len() * 8
    }
}

/// A set of byte values.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    pub(crate) fn insert(&mut self, b: u8) {
        self.0[usize::from(b / 64)] |= 1 << (b % 64);
    }

    #[inline]
    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b / 64)] & 1 << (b % 64) != 0
    }

    /// Whether the set holds an ASCII digit.
    #[inline]
    pub(crate) fn has_digit(&self) -> bool {
        self.0[0] & 0x3ff << b'0' != 0
    }
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;

/// Mixes one word into a hash: the rotation brings the product's well-mixed high bits
/// down before the next multiply.
#[inline(always)]
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(23) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Mixed in after each label. No label word equals it: labels hold no `.`.
const LABEL_END: u64 = b'.' as u64;

/// The little-endian word of the (at most 8) bytes of `text[start..end]` that end at
/// `end`, in the word's high lanes; the lanes before `start` are zero. A label word always
/// reaches the mix with its bytes in the low lanes, wherever it was loaded from.
#[inline(always)]
fn word_ending_at(text: &[u8], start: usize, end: usize) -> u64 {
    let word = match text.get(end.wrapping_sub(8)..end) {
        Some(bytes) => u64::from_le_bytes(bytes.try_into().expect("8 bytes")),
        None => text[..end].iter().fold(0, |word, &b| word >> 8 | u64::from(b) << 56),
    };
    let len = end - start;
    if len >= 8 {
        word
    } else {
        word & !(u64::MAX >> (8 * len))
    }
}

/// Hashes the label suffixes of the host name `text[start..]`, lower-casing ASCII, from
/// the right: `f(label, hash)` is called for each suffix `text[label..]` that starts a
/// label, shortest first (the last label first, the whole name last), until it returns
/// false. It may read `text` before `start` (never past its end) to load whole words.
///
/// Build and scan both hash names with this one function, so a name hashes the same
/// whichever side it comes from. Labels are hashed 8 bytes at a time, and the dots are
/// found in the same words: a name costs a few operations per label, not per byte.
#[inline]
pub(crate) fn for_each_suffix_hash(text: &[u8], start: usize, mut f: impl FnMut(usize, u64) -> bool) {
    let mut hash = SEED;
    let mut end = text.len();
    loop {
        // The label that ends at `end`, one word at a time from its end.
        let label = loop {
            let word = word_ending_at(text, start, end);
            let dots = lanes_equal(word, b'.');
            if dots == 0 {
                let len = end - start;
                if len <= 8 {
                    // The label's first bytes, moved to the low lanes as after a dot. An
                    // empty label (no stored name has one, §11.2) shifts all of it out.
                    let first_bytes = word.checked_shr(8 * (8 - len) as u32).unwrap_or(0);
                    hash = mix(hash, to_lowercase(first_bytes));
                    break start;
                }
                hash = mix(hash, to_lowercase(word));
                end -= 8;
                continue;
            }
            // The last dot in the word, and the label bytes after it.
            let dot_lane = (63 - dots.leading_zeros() as usize) / 8;
            if dot_lane < 7 {
                hash = mix(hash, to_lowercase(word >> (8 * (dot_lane + 1))));
            }
            break end + dot_lane + 1 - 8;
        };
        hash = mix(hash, LABEL_END);
        if label == start {
            f(start, hash);
            return;
        }
        if !f(label, hash) {
            return;
        }
        end = label - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash of a whole name (its longest suffix).
    fn name_hash(name: &[u8]) -> u64 {
        let mut whole = 0;
        for_each_suffix_hash(name, 0, |start, hash| {
            whole = hash;
            start != 0
        });
        whole
    }

    fn suffixes(text: &[u8], start: usize) -> Vec<(usize, u64)> {
        let mut seen = Vec::new();
        for_each_suffix_hash(text, start, |label, hash| {
            seen.push((label, hash));
            true
        });
        seen
    }

    #[test]
    fn suffixes_hash_like_whole_names() {
        let seen = suffixes(b"A.Evil.example", 0);
        let starts: Vec<usize> = seen.iter().map(|&(s, _)| s).collect();
        assert_eq!(starts, [7, 2, 0]);
        assert_eq!(seen[0].1, name_hash(b"example"));
        assert_eq!(seen[1].1, name_hash(b"evil.example"));
        assert_eq!(seen[2].1, name_hash(b"a.evil.example"));
    }

    #[test]
    fn hashes_ignore_ascii_case_and_the_bytes_before_the_name() {
        let names =
            ["a", "ab.c", "a.bc", "abcdefgh.ij", "abcdefghi.j", "abcdefghijklmnopq.r.stuvwxyz", "x\u{e9}.Y"];
        for name in names {
            let lower = name.to_ascii_lowercase();
            let whole = name_hash(lower.as_bytes());
            assert_eq!(name_hash(name.to_ascii_uppercase().as_bytes()), whole, "{name}");
            for prefix in ["", ".", "zz", "0123456789.abcdef"] {
                let text = format!("{prefix}{name}");
                let seen = suffixes(text.as_bytes(), prefix.len());
                assert_eq!(seen.last().unwrap(), &(prefix.len(), whole), "{text}");
                for &(label, hash) in &seen {
                    assert_eq!(hash, name_hash(text[label..].to_ascii_lowercase().as_bytes()), "{text}");
                }
            }
        }
        let distinct: std::collections::HashSet<u64> =
            names.iter().map(|n| name_hash(n.as_bytes())).collect();
        assert_eq!(distinct.len(), names.len());
    }

    #[test]
    fn filters_have_no_false_negatives_and_few_false_positives() {
        // 8,192 keys fill their filters exactly at 8 bits per key: the worst case.
        let keys: Vec<u64> = (0..8192u64).map(|i| name_hash(format!("host{i}.example").as_bytes())).collect();
        let others: Vec<u64> =
            (0..100_000u64).map(|i| name_hash(format!("other{i}.test").as_bytes())).collect();
        for make in [BitFilter::with_capacity, BitFilter::with_capacity_rotated] {
            let mut filter = make(keys.len());
            keys.iter().for_each(|&h| filter.insert(h));
            assert!(keys.iter().all(|&h| filter.contains(h)));
            let passed = others.iter().filter(|&&h| filter.contains(h)).count();
            assert!(passed < 6_500, "{passed} false positives in 100,000");
        }
    }

    #[test]
    fn a_rotated_filter_fails_apart_from_the_other() {
        // Of what passes a filter of every key by error, a rotated filter of half the
        // keys lets its own error rate through, not the half that share the other's bits.
        let keys: Vec<u64> = (0..8192u64).map(|i| name_hash(format!("host{i}.example").as_bytes())).collect();
        let (mut all, mut half) = (BitFilter::with_capacity(8192), BitFilter::with_capacity_rotated(8192));
        keys.iter().for_each(|&h| all.insert(h));
        keys.iter().step_by(2).for_each(|&h| half.insert(h));
        let fooled: Vec<u64> = (0..200_000u64)
            .map(|i| name_hash(format!("other{i}.test").as_bytes()))
            .filter(|&h| all.contains(h))
            .collect();
        let both = fooled.iter().filter(|&&h| half.contains(h)).count();
        assert!(both * 20 < fooled.len(), "{both} of {}", fooled.len());
    }
}
