//! Byte classes as bitmasks, 64 bytes at a time: AVX-512 or AVX2 where the CPU has them,
//! the class table elsewhere, chosen once per chunk.

use super::Chunk;
use crate::search::class::{self, ALNUM, DIGIT, RUN, V6};

/// The class masks of one 64-byte block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct BlockMasks {
    pub dot: u64,
    pub colon: u64,
    /// [`class::RUN`]: host-name bytes and dots.
    pub run: u64,
    /// [`class::V6`]: hex digits, `:` and `.`.
    pub v6: u64,
    pub digit: u64,
    pub alnum: u64,
    /// `%`: where a percent escape may start.
    pub percent: u64,
}

/// Fills `chunk` with the masks of `bytes` (its text), a block at a time, the last short
/// block through `classify_tail`.
#[inline(always)]
fn classify_blocks(
    bytes: &[u8],
    chunk: &mut Chunk,
    classify: impl Fn(&[u8; 64]) -> BlockMasks,
    classify_tail: impl Fn(&[u8]) -> BlockMasks,
) {
    let mut blocks = bytes.chunks_exact(64);
    for (w, block) in blocks.by_ref().enumerate() {
        chunk.set(w, classify(block.try_into().unwrap()));
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        chunk.set(bytes.len() / 64, classify_tail(tail));
    }
}

/// The masks of a short block, copied into a zeroed one: zero bytes belong to no class.
#[inline(always)]
fn padded(tail: &[u8], classify: impl Fn(&[u8; 64]) -> BlockMasks) -> BlockMasks {
    let mut block = [0u8; 64];
    block[..tail.len()].copy_from_slice(tail);
    classify(&block)
}

/// The masks of a chunk: with AVX-512 or AVX2 where the CPU has them (AVX2: every x86-64
/// CPU since 2015), from the class table otherwise. The feature test is made once per
/// chunk, and the SIMD code inlined into one loop per instruction set.
#[cfg(target_arch = "x86_64")]
pub(super) fn classify_into(bytes: &[u8], chunk: &mut Chunk) {
    #[target_feature(enable = "avx512bw")]
    fn avx512(bytes: &[u8], chunk: &mut Chunk) {
        use std::arch::x86_64::_mm512_maskz_loadu_epi8;
        // A masked load for the tail, not a copy to a padded block: a 64-byte load of
        // bytes just stored in pieces waits for the stores, which cost a short text a
        // tenth of its scan.
        let masked = |tail: &[u8]| {
            // SAFETY: the lanes past `tail` are masked off: never read, so never a fault.
            let v = unsafe { _mm512_maskz_loadu_epi8(u64::MAX >> (64 - tail.len()), tail.as_ptr().cast()) };
            classify_avx512_vector(v)
        };
        classify_blocks(bytes, chunk, |block| classify_avx512(block), masked);
    }
    #[target_feature(enable = "avx2")]
    fn avx2(bytes: &[u8], chunk: &mut Chunk) {
        let classify = |block: &[u8; 64]| classify_avx2(block);
        classify_blocks(bytes, chunk, classify, |tail| padded(tail, classify));
    }
    if is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU has AVX-512BW.
        unsafe { avx512(bytes, chunk) }
    } else if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        unsafe { avx2(bytes, chunk) }
    } else {
        classify_blocks(bytes, chunk, classify_bytes, |tail| padded(tail, classify_bytes));
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn classify_into(bytes: &[u8], chunk: &mut Chunk) {
    classify_blocks(bytes, chunk, classify_bytes, |tail| padded(tail, classify_bytes));
}

/// One 64-byte compare gives one mask: no movemask, no shifts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
pub(super) fn classify_avx512(block: &[u8; 64]) -> BlockMasks {
    // SAFETY: an unaligned load of the 64 bytes of `block`.
    classify_avx512_vector(unsafe { std::arch::x86_64::_mm512_loadu_si512(block.as_ptr().cast()) })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
fn classify_avx512_vector(v: std::arch::x86_64::__m512i) -> BlockMasks {
    use std::arch::x86_64::*;
    let splat = |b: u8| _mm512_set1_epi8(b as i8);
    let is = |b: u8| _mm512_cmpeq_epi8_mask(v, splat(b));
    // `x - from <= span`, unsigned: `x` in `from..=from + span`.
    let within = |x, from: u8, span: u8| _mm512_cmple_epu8_mask(_mm512_sub_epi8(x, splat(from)), splat(span));
    let dot = is(b'.');
    let colon = is(b':');
    let digit = within(v, b'0', 9);
    // `b | 0x20` is in `a..=z` exactly for ASCII letters.
    let lower = _mm512_or_si512(v, splat(0x20));
    let letter = within(lower, b'a', 25);
    let hex_letter = within(lower, b'a', 5);
    let alnum = digit | letter;
    // Bytes >= 0x80 are run bytes too: their sign bit is set.
    let high = _mm512_movepi8_mask(v);
    BlockMasks {
        dot,
        colon,
        run: alnum | dot | is(b'-') | is(b'_') | high,
        v6: digit | hex_letter | colon | dot,
        digit,
        alnum,
        percent: is(b'%'),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) fn classify_avx2(block: &[u8; 64]) -> BlockMasks {
    use std::arch::x86_64::*;
    let splat = |b: u8| _mm256_set1_epi8(b as i8);
    // `x <= limit`, unsigned, bytewise.
    let at_most = |x, limit| _mm256_cmpeq_epi8(_mm256_min_epu8(x, splat(limit)), x);
    let bits = |m| _mm256_movemask_epi8(m) as u32 as u64;
    let mut masks = BlockMasks::default();
    for (half, bytes) in block.chunks_exact(32).enumerate() {
        // SAFETY: an unaligned load of the 32 bytes of `bytes`.
        let v = unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) };
        let dot = _mm256_cmpeq_epi8(v, splat(b'.'));
        let colon = _mm256_cmpeq_epi8(v, splat(b':'));
        let percent = _mm256_cmpeq_epi8(v, splat(b'%'));
        let digit = at_most(_mm256_sub_epi8(v, splat(b'0')), 9);
        // `b | 0x20` is in `a..=z` exactly for ASCII letters.
        let letter_offset = _mm256_sub_epi8(_mm256_or_si256(v, splat(0x20)), splat(b'a'));
        let letter = at_most(letter_offset, 25);
        let hex_letter = at_most(letter_offset, 5);
        let dash = _mm256_cmpeq_epi8(v, splat(b'-'));
        let underscore = _mm256_cmpeq_epi8(v, splat(b'_'));
        let alnum = _mm256_or_si256(digit, letter);
        let run = _mm256_or_si256(_mm256_or_si256(alnum, dot), _mm256_or_si256(dash, underscore));
        let v6 = _mm256_or_si256(_mm256_or_si256(digit, hex_letter), _mm256_or_si256(colon, dot));
        let shift = 32 * half;
        masks.dot |= bits(dot) << shift;
        masks.colon |= bits(colon) << shift;
        // Bytes >= 0x80 are run bytes too: `v` has their sign bit set.
        masks.run |= (bits(run) | bits(v)) << shift;
        masks.v6 |= bits(v6) << shift;
        masks.digit |= bits(digit) << shift;
        masks.alnum |= bits(alnum) << shift;
        masks.percent |= bits(percent) << shift;
    }
    masks
}

/// The masks of one block, from the byte-class table.
pub(super) fn classify_bytes(block: &[u8; 64]) -> BlockMasks {
    let mut masks = BlockMasks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = |yes: bool| u64::from(yes) << i;
        masks.dot |= bit(b == b'.');
        masks.colon |= bit(b == b':');
        masks.run |= bit(class::is(b, RUN));
        masks.v6 |= bit(class::is(b, V6));
        masks.digit |= bit(class::is(b, DIGIT));
        masks.alnum |= bit(class::is(b, ALNUM));
        masks.percent |= bit(b == b'%');
    }
    masks
}
