//! Eight bytes at a time in a `u64`: the lane tricks that the host-name hash and the
//! address filter share. Both are exact: no lane borrows from another.

pub(crate) const LOW_BITS: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The byte lanes of `word` that equal `byte`, as their high bits.
#[inline(always)]
pub(crate) fn lanes_equal(word: u64, byte: u8) -> u64 {
    let zero = word ^ (LOW_BITS * u64::from(byte));
    !(((zero & !HIGH_BITS).wrapping_add(!HIGH_BITS)) | zero) & HIGH_BITS
}

/// ASCII upper case to lower case in every lane; other bytes stay as they are.
#[inline(always)]
pub(crate) fn to_lowercase(word: u64) -> u64 {
    let heptets = word & !HIGH_BITS;
    let from_a = heptets.wrapping_add(LOW_BITS * (0x80 - u64::from(b'A')));
    let past_z = heptets.wrapping_add(LOW_BITS * (0x80 - u64::from(b'Z') - 1));
    let upper = from_a & !past_z & !word & HIGH_BITS;
    word | upper >> 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_agree_with_bytes() {
        for b in 0..=255u8 {
            let bytes = [b, b'A', b'z', 0x80, b'Z', b'@', b'[', b];
            let word = u64::from_le_bytes(bytes);
            assert_eq!(to_lowercase(word), u64::from_le_bytes(bytes.map(|x| x.to_ascii_lowercase())));
            for probe in [b, b'A', 0, 0x80] {
                let want =
                    bytes.iter().enumerate().fold(0, |m, (i, &x)| m | u64::from(x == probe) << (8 * i + 7));
                assert_eq!(lanes_equal(word, probe), want, "{b:#04x} {probe:#04x}");
            }
        }
    }
}
