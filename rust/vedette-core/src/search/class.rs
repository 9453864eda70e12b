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

/// Whether `hay[..pos]` ends with a percent escape `%XX`, which every boundary rule reads
/// as one byte outside every class (docs/semantics.md §4.3): `%2Fmail.evil.example` holds
/// the host `mail.evil.example`.
#[inline]
pub(crate) fn escape_before(hay: &[u8], pos: usize) -> bool {
    pos >= 3 && hay[pos - 3] == b'%' && hay[pos - 2].is_ascii_hexdigit() && hay[pos - 1].is_ascii_hexdigit()
}

/// The start of the run `hay[start..end]` once the `XX` of a `%XX` it begins with is left
/// out: the run of host bytes in `%2Fmail.evil.example` begins
/// at `2F`, the host after it.
#[inline]
pub(crate) fn past_escape(hay: &[u8], start: usize, end: usize) -> usize {
    // Most runs follow no `%`: one byte tells, and the rest is out of the scan's loops.
    if start == 0 || hay[start - 1] != b'%' {
        return start;
    }
    past_escape_digits(hay, start, end)
}

#[cold]
#[inline(never)]
fn past_escape_digits(hay: &[u8], start: usize, end: usize) -> usize {
    match start + 2 <= end && escape_before(hay, start + 2) {
        true => start + 2,
        false => start,
    }
}

/// Whether a URL may end just before `pos`: the end of the text, a URL terminator, or one
/// of the closing typographic quotes `”` `’` `»` (docs/semantics.md §4.9).
#[inline]
pub(crate) fn ends_url(hay: &[u8], pos: usize) -> bool {
    match hay.get(pos..) {
        None | Some([]) => true,
        Some([b, ..]) if is(*b, URL_END) => true,
        Some([0xE2, 0x80, 0x9D | 0x99, ..] | [0xC2, 0xBB, ..]) => true,
        Some(_) => false,
    }
}

/// Whether a URL whose bytes end just before `end` ends there: followed by a URL
/// terminator, by `?` when it has no query (`http://evil.example/a` is in
/// `evil.example/a?x=1`), or by a run of trailing punctuation and then a terminator
/// (`(see http://evil.example/a).`, docs/semantics.md §4.10).
#[inline]
pub(crate) fn url_ends_at(hay: &[u8], end: usize, has_query: bool) -> bool {
    if ends_url(hay, end) || (!has_query && hay.get(end) == Some(&b'?')) {
        return true;
    }
    let punctuation = hay.get(end..).unwrap_or_default().iter();
    let run =
        punctuation.take_while(|b| matches!(b, b'.' | b',' | b':' | b';' | b'!' | b'?' | b')' | b']' | b'}'));
    ends_url(hay, end + run.count())
}

/// Whether `b` has any of the class bits in `class`.
#[inline(always)]
pub(crate) fn is(b: u8, class: u8) -> bool {
    TABLE[b as usize] & class != 0
}
