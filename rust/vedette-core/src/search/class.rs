//! Byte classes of the boundary rules (docs/semantics.md §4.2), one table lookup per byte.

/// `[A-Za-z0-9_-]` or any byte >= 0x80: a byte of a host name label.
pub(crate) const HOST: u8 = 1;
/// `HOST` or `.`: a byte of a run that may hold host names.
pub(crate) const RUN: u8 = 2;
/// `[A-Za-z0-9]`.
pub(crate) const ALNUM: u8 = 4;
/// `[0-9A-Fa-f:.]`: a byte of an IPv6 literal.
pub(crate) const V6: u8 = 16;
/// A byte that ends a URL: ASCII whitespace, one of ``"'<>`,|``, NUL or `#`.
pub(crate) const URL_END: u8 = 32;
/// `[0-9]`.
pub(crate) const DIGIT: u8 = 64;

const fn classify(b: u8) -> u8 {
    let alnum = b.is_ascii_alphanumeric();
    let mut class = 0;
    if alnum || b == b'_' || b == b'-' || b >= 0x80 {
        class |= HOST | RUN;
    }
    if b == b'.' {
        class |= RUN;
    }
    if b.is_ascii_digit() {
        class |= DIGIT;
    }
    if alnum {
        class |= ALNUM;
    }
    if b.is_ascii_hexdigit() || b == b':' || b == b'.' {
        class |= V6;
    }
    if matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | 0x0b
            | 0x0c
            | b'\r'
            | b'"'
            | b'\''
            | b'<'
            | b'>'
            | b'`'
            | b','
            | b'|'
            | 0
            | b'#'
    ) {
        class |= URL_END;
    }
    class
}

const TABLE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = classify(b as u8);
        b += 1;
    }
    table
};

/// Whether `b` can be in an e-mail local part: `[A-Za-z0-9._%+-]`.
#[inline]
pub(crate) fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// Whether `b` has any of the class bits in `class`.
#[inline(always)]
pub(crate) fn is(b: u8, class: u8) -> bool {
    TABLE[b as usize] & class != 0
}
