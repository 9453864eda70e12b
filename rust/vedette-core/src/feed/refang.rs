//! Undoing the "defanging" that reports and feeds apply so that nobody clicks an
//! indicator by accident: `evil[.]example`, `hxxps://`, `user[at]evil.example`.
//!
//! This is a textual repair, not normalization: it runs in every format that carries
//! human-written values, before the builder sees them.

use std::borrow::Cow;

use memchr::memchr3;

/// Bracketed spellings and what they stand for. Matched ASCII case-insensitively, since
/// reports write `[DOT]` as often as `[dot]`.
const TOKENS: [(&[u8], &str); 10] = [
    (b"[.]", "."),
    (b"(.)", "."),
    (b"{.}", "."),
    (b"[dot]", "."),
    (b"(dot)", "."),
    (b"[:]", ":"),
    (b"[://]", "://"),
    (b"[@]", "@"),
    (b"[at]", "@"),
    (b"(at)", "@"),
];

/// Defanged schemes and their real names, recognized at the start of a value only.
const SCHEMES: [(&str, &str); 3] = [("hxxps", "https"), ("hxxp", "http"), ("fxp", "ftp")];

/// Returns `value` with defanged separators and schemes restored, when its scheme or
/// host shows that it was defanged.
///
/// A value whose scheme and host are clean is kept whole: its path and query are the
/// URL's own bytes (`evil.example/a[.]b` is a real path, and a plain list of canonical
/// URLs must load back as written), while a defanger that touches the path touches the
/// host or scheme too (`http[:]//webserver/payload[.]sct`).
///
/// Nothing is allocated when `value` has no `[`, `(` or `{` and no defanged scheme,
/// which is every line of a typical block list.
pub(crate) fn refang(value: &str) -> Cow<'_, str> {
    let head = &value[..head_len(value)];
    if defanged_scheme(head).is_none() && matches!(refang_brackets(head), Cow::Borrowed(_)) {
        return Cow::Borrowed(value);
    }
    let bracketed = refang_brackets(value);
    // NOTE: brackets go first so that `hxxp[:]//` becomes `hxxp://` and then `http://`.
    match defanged_scheme(&bracketed) {
        None => bracketed,
        Some((len, real)) => {
            let mut out = String::with_capacity(bracketed.len());
            out.push_str(real);
            out.push_str(&bracketed[len..]);
            Cow::Owned(out)
        }
    }
}

/// The length of the scheme and host part of `value`: up to the first `/`, `?` or `#`
/// after the scheme's `://` (or a defanged `[://]`, `[:]//`), when it has one.
fn head_len(value: &str) -> usize {
    let scheme =
        value.find(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c))).unwrap_or(value.len());
    let separator = ["://", "[://]", "[:]//"].into_iter().find(|s| value[scheme..].starts_with(s));
    let start = match separator {
        Some(s) if scheme > 0 => scheme + s.len(),
        _ => 0,
    };
    start + value[start..].find(['/', '?', '#']).unwrap_or(value.len() - start)
}

fn refang_brackets(value: &str) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    let mut out: Option<String> = None;
    // `copied` is where the bytes not yet copied into `out` start; `at` is where to look
    // for the next opening bracket.
    let mut copied = 0;
    let mut at = 0;
    while let Some(i) = memchr3(b'[', b'(', b'{', &bytes[at..]).map(|i| at + i) {
        let token =
            TOKENS.iter().find(|(t, _)| bytes.get(i..i + t.len()).is_some_and(|b| b.eq_ignore_ascii_case(t)));
        match token {
            Some((t, real)) => {
                let out = out.get_or_insert_with(|| String::with_capacity(value.len()));
                // Both ends are at ASCII bytes, so they are char boundaries.
                out.push_str(&value[copied..i]);
                out.push_str(real);
                copied = i + t.len();
                at = copied;
            }
            None => at = i + 1,
        }
    }
    match out {
        None => Cow::Borrowed(value),
        Some(mut out) => {
            out.push_str(&value[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The length of a defanged scheme name at the start of `value` (it must be followed by
/// `:`, so that a host such as `fxp.example` stays as it is) and its real name.
fn defanged_scheme(value: &str) -> Option<(usize, &'static str)> {
    SCHEMES.iter().find_map(|&(fake, real)| {
        let head = value.get(..fake.len())?;
        (head.eq_ignore_ascii_case(fake) && value[fake.len()..].starts_with(':'))
            .then_some((fake.len(), real))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refang_table() {
        let rows: &[(&str, &str, &str)] = &[
            ("plain010", "evil.example", "evil.example"),
            ("plain020", "", ""),
            ("plain030", "a(b)c[d]{e}", "a(b)c[d]{e}"),
            ("plain040", "[", "["),
            ("plain050", "x[.", "x[."),
            ("dot010", "evil[.]example", "evil.example"),
            ("dot020", "1[.]2[.]3[.]4", "1.2.3.4"),
            ("dot030", "evil(.)example", "evil.example"),
            ("dot040", "evil{.}example", "evil.example"),
            ("dot050", "evil[dot]example", "evil.example"),
            ("dot060", "evil[DOT]example", "evil.example"),
            ("dot070", "evil(dot)example", "evil.example"),
            ("dot080", "[[.]]", "[.]"),
            ("colon010", "http[:]//evil.example", "http://evil.example"),
            ("colon020", "http[://]evil.example", "http://evil.example"),
            ("at010", "bad[@]evil.example", "bad@evil.example"),
            ("at020", "bad[at]evil.example", "bad@evil.example"),
            ("at030", "bad(at)evil.example", "bad@evil.example"),
            ("at040", "bad[AT]evil[.]example", "bad@evil.example"),
            ("scheme010", "hxxp://evil.example/a", "http://evil.example/a"),
            ("scheme020", "hxxps://evil.example", "https://evil.example"),
            ("scheme030", "HXXPS://evil.example", "https://evil.example"),
            ("scheme040", "hXXp://evil[.]example", "http://evil.example"),
            ("scheme050", "fxp://files.evil.example", "ftp://files.evil.example"),
            ("scheme060", "hxxp[:]//evil.example", "http://evil.example"),
            ("scheme070", "hxxps[://]evil.example", "https://evil.example"),
            // Only at the start, and only as a scheme.
            ("scheme080", "evil.example/hxxp://x", "evil.example/hxxp://x"),
            ("scheme090", "fxp.example", "fxp.example"),
            ("scheme100", "hxxp", "hxxp"),
            ("utf8010", "bücher[.]example", "bücher.example"),
            // A clean scheme and host keep the path and query as written.
            ("path010", "evil.example/a[.]b", "evil.example/a[.]b"),
            ("path020", "http://evil.example/a(dot)b?q=x[at]y", "http://evil.example/a(dot)b?q=x[at]y"),
            ("path030", "1.2.3.4/[:]", "1.2.3.4/[:]"),
            ("path040", "[2001:db8::1]:80/{.}", "[2001:db8::1]:80/{.}"),
            ("path050", "evil.example?q=[.]", "evil.example?q=[.]"),
            ("path060", "evil.example#[.]", "evil.example#[.]"),
            ("path070", "evil[.]example/a[.]b", "evil.example/a.b"),
            ("path080", "http[:]//webserver/payload[.]sct", "http://webserver/payload.sct"),
            ("path090", "hxxp://evil.example/a(dot)b", "http://evil.example/a.b"),
            ("path100", "https[://]evil.example/a[.]b", "https://evil.example/a.b"),
            ("path110", "evil.example[:]8080/a[.]b", "evil.example:8080/a.b"),
            ("utf8020", "é", "é"),
        ];
        for &(id, input, want) in rows {
            assert_eq!(refang(input), want, "{id}");
        }
    }

    #[test]
    fn refang_borrows_when_unchanged() {
        for value in ["evil.example", "a(b)c", "http://evil.example/[x]", "hxxp", "evil.example/a[.]b"] {
            assert!(matches!(refang(value), Cow::Borrowed(_)), "{value}");
        }
        assert!(matches!(refang("evil[.]example"), Cow::Owned(_)));
    }
}
