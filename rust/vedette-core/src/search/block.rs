//! The scan's first pass: byte-class bitmasks of the text, 64 bytes per `u64` (bit `i` is
//! byte `i`), computed with SIMD compares ([`classify`]), the way simdjson's first stage
//! finds structural characters.
//!
//! From those, a few word operations per 64 bytes give the seeds of each token pass: the
//! last byte of each run that holds a dot (carry propagation through the run, as simdjson
//! finds string ends), the first digit of each run shaped like the start of a dotted quad,
//! colons with another colon near them, positions inside runs of 32 alphanumerics. The
//! passes then never walk the text byte by byte: they iterate over the seeds and find a
//! token's extent with one count of leading or trailing ones. Only where a token crosses
//! the edge of a chunk do they fall back to the byte-class table.

use self::classify::{classify_into, BlockMasks};
use super::class::{self, ALNUM, RUN, V6};

/// Bytes of text per chunk: its masks (6 × 128 bytes) stay in L1, and a one-line call
/// classifies only the words it covers.
pub(super) const CHUNK: usize = 1024;
const WORDS: usize = CHUNK / 64;

/// Masks over `text[base..base + len]`. The words past `len` may hold an earlier chunk's
/// masks: every reader stops at `len`.
#[derive(Default)]
pub(super) struct Chunk {
    pub base: usize,
    len: usize,
    pub dot: [u64; WORDS],
    pub colon: [u64; WORDS],
    pub run: [u64; WORDS],
    pub v6: [u64; WORDS],
    pub digit: [u64; WORDS],
    pub alnum: [u64; WORDS],
    percent: [u64; WORDS],
    /// The words of `percent` with a bit set: most chunks have no `%` at all.
    percent_words: u32,
}

/// The seeds of one pass over a chunk: a mask per word, and a bit per word that has any,
/// set as the masks are made, so that iterating skips the empty words without a branch
/// on each.
#[derive(Clone)]
pub(super) struct Seeds {
    base: usize,
    bits: [u64; WORDS],
    nonzero: u32,
}

impl Seeds {
    fn new(chunk: &Chunk) -> Seeds {
        Seeds { base: chunk.base, bits: [0; WORDS], nonzero: 0 }
    }

    #[inline(always)]
    fn set(&mut self, w: usize, bits: u64) {
        self.bits[w] = bits;
        self.nonzero |= u32::from(bits != 0) << w;
    }

    /// The seed at `offset` from the chunk's start.
    fn add(&mut self, offset: usize) {
        let w = offset / 64;
        self.set(w, self.bits[w] | 1 << (offset % 64));
    }

    /// The positions of the seeds in the text, in order.
    pub(super) fn positions(&self) -> Positions<'_> {
        Positions { seeds: self, nonzero: self.nonzero, word: 0, rest: 0 }
    }
}

/// The positions of a pass's seeds in the text.
pub(super) struct Positions<'a> {
    seeds: &'a Seeds,
    /// The words with seeds not yet visited.
    nonzero: u32,
    word: usize,
    /// The bits of `seeds.bits[word]` not yet returned.
    rest: u64,
}

impl Iterator for Positions<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.rest == 0 {
            if self.nonzero == 0 {
                return None;
            }
            self.word = self.nonzero.trailing_zeros() as usize;
            self.nonzero &= self.nonzero - 1;
            self.rest = self.seeds.bits[self.word];
        }
        let bit = self.rest.trailing_zeros() as usize;
        self.rest &= self.rest - 1;
        Some(self.seeds.base + self.word * 64 + bit)
    }
}

/// What the name passes of several indexes over one chunk share: whether it has a `..`,
/// and its run ends for the last pair of flags asked (the base and the delta of an
/// engine's snapshot ask the same, most often), made once for all.
pub(super) struct NameSeeds<'c> {
    chunk: &'c Chunk,
    double_dot: Option<bool>,
    run_ends: Option<((bool, bool), Seeds)>,
}

impl<'c> NameSeeds<'c> {
    pub(super) fn new(chunk: &'c Chunk) -> NameSeeds<'c> {
        NameSeeds { chunk, double_dot: None, run_ends: None }
    }

    pub(super) fn has_double_dot(&mut self) -> bool {
        *self.double_dot.get_or_insert_with(|| self.chunk.has_double_dot())
    }

    /// [`Chunk::name_run_ends`].
    pub(super) fn run_ends(&mut self, text: &[u8], dotless: bool, skip_digit_ends: bool) -> &Seeds {
        let key = (dotless, skip_digit_ends);
        if self.run_ends.as_ref().is_none_or(|(made, _)| *made != key) {
            self.run_ends = Some((key, self.chunk.name_run_ends(text, dotless, skip_digit_ends)));
        }
        &self.run_ends.as_ref().expect("just made").1
    }
}

/// Which mask an extent is measured in; the byte-class bit says the same past the chunk.
#[derive(Clone, Copy)]
pub(super) enum Class {
    Run,
    V6,
    Alnum,
}

impl Class {
    fn bit(self) -> u8 {
        match self {
            Class::Run => RUN,
            Class::V6 => V6,
            Class::Alnum => ALNUM,
        }
    }
}

impl Chunk {
    /// Classifies the chunk of `text` that starts at `base`, in place: returned by value,
    /// its 800 bytes were copied on each call, and the first read of the copy waited for it.
    pub(super) fn load(&mut self, text: &[u8], base: usize) {
        self.base = base;
        self.len = (text.len() - base).min(CHUNK);
        self.percent_words = 0;
        classify_into(&text[base..self.end()], self);
        prefetch(&text[self.end()..(base + 2 * CHUNK).min(text.len())]);
    }

    /// Stores the masks of the 64-byte block `w`.
    #[inline(always)]
    fn set(&mut self, w: usize, masks: BlockMasks) {
        self.dot[w] = masks.dot;
        self.colon[w] = masks.colon;
        self.run[w] = masks.run;
        self.v6[w] = masks.v6;
        self.digit[w] = masks.digit;
        self.alnum[w] = masks.alnum;
        self.percent[w] = masks.percent;
        self.percent_words |= u32::from(masks.percent != 0) << w;
    }

    fn words(&self) -> usize {
        self.len.div_ceil(64)
    }

    /// The end of the chunk in the text.
    pub(super) fn end(&self) -> usize {
        self.base + self.len
    }

    fn mask(&self, class: Class) -> &[u64; WORDS] {
        match class {
            Class::Run => &self.run,
            Class::V6 => &self.v6,
            Class::Alnum => &self.alnum,
        }
    }

    /// Where to look for digests: the positions `31 (mod 32)` (bits 31 and 63 of each
    /// word, as chunks start at multiples of 64) inside a run of 32 alphanumerics or
    /// more, or one that may be, where the run reaches past what the chunk shows. Every
    /// such run covers one of these positions.
    pub(super) fn alnum_probes(&self) -> Seeds {
        let words = self.words();
        let mut out = Seeds::new(self);
        for w in 0..words {
            let word = self.alnum[w];
            // Past the chunk, assume the run goes on: the extents will tell.
            let next = if w + 1 < words { self.alnum[w + 1] } else { u64::MAX };
            // Ones through bit 31: down to bit 0 and up to bit 63.
            let down = (!(word << 32)).leading_zeros();
            let up = (!(word >> 31)).trailing_zeros();
            let at_31 = u64::from(down + up > 32);
            // Ones through bit 63: down in this word, on into the next.
            let down = (!word).leading_zeros();
            let on = (!next).trailing_zeros();
            let at_63 = u64::from(down > 0 && down + on >= 32);
            out.set(w, at_31 << 31 | at_63 << 63);
        }
        out
    }

    /// The colons with another colon at most 6 bytes before them and only `[0-9A-Fa-f:.]`
    /// between: every IPv6 literal has such a pair, and most colons in text (`"key":1`,
    /// `host:port`, times) are not in one. The colons in the first bytes of the chunk are
    /// all kept, since their pair may lie in the chunk before.
    pub(super) fn colon_pairs(&self) -> Seeds {
        let mut out = Seeds::new(self);
        // `reach` marks the bytes with a colon at most 1, then 3, then 5 bytes before and
        // only `v6` bytes from it on; each step shifts in the bits of the word before at
        // the same step.
        let (mut colon_before, mut v6_before) = (0, 0);
        let (mut reach1_before, mut reach3_before, mut reach5_before) = (0, 0, 0);
        for w in 0..self.words() {
            let (colon, v6) = (self.colon[w], self.v6[w]);
            // Bytes that are `v6` with a `v6` byte before.
            let v6_pairs = v6 & (v6 << 1 | v6_before >> 63);
            let reach1 = colon | ((colon << 1 | colon_before >> 63) & v6);
            let reach3 = reach1 | ((reach1 << 2 | reach1_before >> 62) & v6_pairs);
            let reach5 = reach3 | ((reach3 << 2 | reach3_before >> 62) & v6_pairs);
            // The colons in the first bytes of the chunk are all kept.
            let first = match w {
                0 => colon & 0x7f,
                _ => 0,
            };
            out.set(w, (reach5 << 1 | reach5_before >> 63) & colon | first);
            (colon_before, v6_before) = (colon, v6);
            (reach1_before, reach3_before, reach5_before) = (reach1, reach3, reach5);
        }
        out
    }

    /// The last byte of every run of [`Class::Run`] bytes that holds a dot (of every run,
    /// with `dotless`), where a name found in the run may end. With `skip_digit_ends`
    /// the runs that end in a digit are left out: numbers, versions and addresses, most
    /// runs of most logs, whose last byte ends no name when no key ends in a digit.
    ///
    /// A run that comes from the chunk before is taken as holding a dot, and its end is
    /// kept whatever its last byte: what came before (a `..` perhaps) is not in the masks.
    pub(super) fn name_run_ends(&self, text: &[u8], dotless: bool, skip_digit_ends: bool) -> Seeds {
        let is_run = |pos: usize| text.get(pos).is_some_and(|&b| class::is(b, RUN));
        let words = self.words();
        let from_before = self.base.checked_sub(1).is_some_and(is_run);
        let mut previous_run = u64::from(from_before);
        let mut carry = 0;
        let mut out = Seeds::new(self);
        for w in 0..words {
            let (run, dot) = (self.run[w], self.dot[w]);
            let next_run = match w + 1 < words {
                true => self.run[w + 1] & 1,
                false => u64::from(is_run(self.base + 64 * (w + 1))),
            };
            let last = run & !(run >> 1 | next_run << 63);
            // From each start that is not a dot, carry through the bytes before the first
            // dot: the bytes the carry clears are those with no dot before them in the run.
            let starts = run & !(run << 1 | previous_run);
            let undotted = run & !dot;
            let (sum, c1) = undotted.overflowing_add(starts & !dot);
            let (sum, c2) = sum.overflowing_add(carry);
            carry = u64::from(c1 | c2);
            let dotted = match dotless {
                true => run,
                false => run & !(undotted & !sum),
            };
            let skipped = match skip_digit_ends {
                true => self.digit[w],
                false => 0,
            };
            out.set(w, last & dotted & !skipped);
            previous_run = run >> 63;
        }
        if from_before {
            if let Some(end) = self.run_end_within(text, Class::Run) {
                out.add(end - 1);
            }
        }
        out
    }

    /// Where the run of `class` bytes that starts the chunk ends, as an offset in the
    /// chunk, if it ends in it (or at its end) and is not empty. Only the chunk's masks
    /// are read: a run that goes on is found again by the chunks after, so a run of any
    /// length costs each chunk one pass over its own words, never a walk to the run's end.
    fn run_end_within(&self, text: &[u8], class: Class) -> Option<usize> {
        let mask = self.mask(class);
        let ends = (0..self.words()).find_map(|w| {
            let ones = (!mask[w]).trailing_zeros() as usize;
            (ones < 64).then_some(w * 64 + ones)
        });
        let end = ends.unwrap_or(self.len).min(self.len);
        let goes_on = end == self.len && text.get(self.end()).is_some_and(|&b| class::is(b, class.bit()));
        (end > 0 && !goes_on).then_some(end)
    }

    /// Whether two dots follow each other somewhere in the chunk.
    pub(super) fn has_double_dot(&self) -> bool {
        let dot = &self.dot[..self.words()];
        dot.iter()
            .zip(dot.iter().skip(1).chain([&0]))
            .any(|(&word, &next)| word & (word >> 1 | next << 63) != 0)
    }

    /// Where dotted quads may start: the first digit of each run of one to three digits
    /// that starts where an address may (after a byte that is not `[A-Za-z0-9.]`) and is
    /// followed by `.`, another run of one to three digits, `.` and a digit. This turns
    /// away most numbers that are not addresses (times, versions, decimals) before any
    /// byte is read. Past the chunk the bytes are unknown, so a run near its end that
    /// may go on as an address is kept.
    pub(super) fn quad_starts(&self, text: &[u8]) -> Seeds {
        // `x` moved down by `k` bits, with the low bits of the word after coming in on top.
        let down = |x: u64, after: u64, k: u32| x >> k | after << (64 - k);
        let before = self.base.checked_sub(1).map(|p| text[p]);
        let alnum_or_dot_before = u64::from(before.is_some_and(|b| class::is(b, ALNUM) || b == b'.'));
        let ahead = match self.end() < text.len() {
            true => u64::MAX,
            false => 0,
        };
        // The `digit`, `follow` and `octet` masks of the word after, in this backward walk.
        let mut after = (ahead, ahead, ahead);
        let mut out = Seeds::new(self);
        for w in (0..self.words()).rev() {
            let (digit, dot) = (self.digit[w], self.dot[w]);
            let (digit_after, follow_after, octet_after) = after;
            // A dot followed by a digit.
            let follow = dot & down(digit, digit_after, 1);
            // Runs of exactly one, two and three digits followed by `follow`, by their first
            // byte (a longer run may show up by its later bytes, never by its first).
            let digits_2 = digit & down(digit, digit_after, 1);
            let one = digit & down(follow, follow_after, 1);
            let two = digits_2 & down(follow, follow_after, 2);
            let three = digits_2 & down(digit, digit_after, 2) & down(follow, follow_after, 3);
            let octet = one | two | three;
            let alnum_or_dot_previous = match w {
                0 => alnum_or_dot_before,
                _ => (self.alnum[w - 1] | self.dot[w - 1]) >> 63,
            };
            let starts = digit & !((self.alnum[w] | dot) << 1 | alnum_or_dot_previous);
            let quads = one & down(octet, octet_after, 2)
                | two & down(octet, octet_after, 3)
                | three & down(octet, octet_after, 4);
            out.set(w, starts & quads);
            after = (digit, follow, octet);
        }
        out
    }

    /// Whether a percent escape may end in the chunk: it holds a `%`, or the chunk before
    /// may end with one. Escapes are rare, and a text that is one log line has no chunk
    /// before it.
    #[inline]
    pub(super) fn may_end_escapes(&self) -> bool {
        self.percent_words != 0 || self.base != 0
    }

    /// Adds to `out` (the [`quad_starts`](Self::quad_starts)) the digits right after a
    /// percent escape, which start addresses too (`%2F1.2.3.4`), the escapes the chunk
    /// before ends with included.
    #[cold]
    #[inline(never)]
    pub(super) fn add_escape_quad_starts(&self, text: &[u8], out: &mut Seeds) {
        let mut add = |digit: usize| {
            if digit < self.end() && text[digit].is_ascii_digit() && class::escape_before(text, digit) {
                out.add(digit - self.base);
            }
        };
        for digit in self.base.max(3)..self.base + 3 {
            add(digit);
        }
        let mut words = self.percent_words;
        while words != 0 {
            let w = words.trailing_zeros() as usize;
            words &= words - 1;
            let mut percents = self.percent[w];
            while percents != 0 {
                add(self.base + w * 64 + percents.trailing_zeros() as usize + 3);
                percents &= percents - 1;
            }
        }
    }

    /// The bits of `mask` for `text[start..end]`, bit 0 for `start`, if that span lies in
    /// the chunk and is at most 64 bytes long.
    #[inline]
    pub(super) fn bits(&self, mask: &[u64; WORDS], start: usize, end: usize) -> Option<u64> {
        if start < self.base || end > self.end() || end - start > 64 {
            return None;
        }
        let offset = start - self.base;
        let (w, bit) = (offset / 64, offset % 64);
        let low = mask[w] >> bit;
        let high = match (bit, mask.get(w + 1)) {
            (1.., Some(next)) => next << (64 - bit),
            _ => 0,
        };
        Some((low | high) & (u64::MAX >> (64 - (end - start))))
    }

    /// The first position at or after `pos` whose byte is not in `class`.
    #[inline]
    pub(super) fn extent_end(&self, text: &[u8], class: Class, pos: usize) -> usize {
        // Most runs end in the word they start in: one count of trailing ones.
        let offset = pos.wrapping_sub(self.base);
        if offset < self.len {
            let (w, bit) = (offset / 64, offset % 64);
            let ones = (!(self.mask(class)[w % WORDS] >> bit)).trailing_zeros() as usize;
            if bit + ones < 64 {
                return pos + ones;
            }
        }
        self.extent_end_across(text, class, pos)
    }

    #[inline(never)]
    fn extent_end_across(&self, text: &[u8], class: Class, mut pos: usize) -> usize {
        let mask = self.mask(class);
        while pos >= self.base && pos < self.end() {
            let offset = pos - self.base;
            let (w, bit) = (offset / 64, offset % 64);
            let ones = (!(mask[w] >> bit)).trailing_zeros() as usize;
            // Bits past the word's end shift in as zeros, so `ones` never runs over it.
            pos += ones;
            if bit + ones < 64 {
                return pos;
            }
        }
        while pos < text.len() && class::is(text[pos], class.bit()) {
            pos += 1;
        }
        pos
    }

    /// The first position of the run of `class` bytes that ends at `pos` (exclusive).
    #[inline]
    pub(super) fn extent_start(&self, text: &[u8], class: Class, pos: usize) -> usize {
        let offset = pos.wrapping_sub(self.base + 1);
        if offset < self.len {
            let (w, bit) = (offset / 64, offset % 64);
            // The bits up to `bit`, moved to the top, with zeros shifted in below.
            let ones = (!(self.mask(class)[w % WORDS] << (63 - bit))).leading_zeros() as usize;
            if ones <= bit {
                return pos - ones;
            }
        }
        self.extent_start_across(text, class, pos)
    }

    #[inline(never)]
    fn extent_start_across(&self, text: &[u8], class: Class, mut pos: usize) -> usize {
        let mask = self.mask(class);
        while pos > self.base && pos <= self.end() {
            let offset = pos - 1 - self.base;
            let (w, bit) = (offset / 64, offset % 64);
            let ones = (!(mask[w] << (63 - bit))).leading_zeros() as usize;
            pos -= ones;
            if ones <= bit {
                return pos;
            }
        }
        while pos > 0 && class::is(text[pos - 1], class.bit()) {
            pos -= 1;
        }
        pos
    }
}

/// Asks for `bytes` (the next chunk) to be brought into the cache while this one is
/// scanned. The hardware prefetchers stop at each 4 KiB page, and a chunk's token work
/// leaves them too few misses to start again in time: without this the loads of the
/// text stalled for a tenth of a scan of a large buffer.
#[cfg(target_arch = "x86_64")]
#[inline]
fn prefetch(bytes: &[u8]) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    for line in bytes.chunks(64) {
        // SAFETY: SSE is part of x86-64, and a prefetch reads nothing the program sees.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn prefetch(_: &[u8]) {}

mod classify;
#[cfg(test)]
mod tests;
