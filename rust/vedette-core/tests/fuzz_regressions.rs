//! The inputs fuzzing found (`fuzz/regressions/`, one file each), each a named test of
//! what the code now does with it.
//!
//! `index_from_bytes` inputs are raw fuzzer bytes: the target (and so this test) makes
//! their header's length and CRC-32 right before loading, so the payload is what counts.

use vedette_core::Index;

/// `bytes` with the payload length and checksum of the header made right, as the
/// `index_from_bytes` target loads them.
fn resealed(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.len() >= 28 {
        let payload_len = (out.len() - 28) as u64;
        out[16..24].copy_from_slice(&payload_len.to_le_bytes());
        let crc = crc32fast::hash(&out[28..]);
        out[24..28].copy_from_slice(&crc.to_le_bytes());
    }
    out
}

macro_rules! refused {
    ($($name:ident => ($file:literal, $expected:literal)),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let bytes = include_bytes!(concat!("../../../fuzz/regressions/", $file));
                let err = Index::from_bytes(&resealed(bytes)).map(|_| ()).unwrap_err().to_string();
                assert!(err.contains($expected), "{err}");
            }
        )*
    };
}

refused! {
    duplicate_entries => ("index_from_bytes-duplicate-entries", "are both domain \"evil.example\""),
    email_percent_host => ("index_from_bytes-email-percent-host", "to be a canonical email"),
    empty_label_shift => ("index_from_bytes-empty-label-shift", "invalid index"),
    untrimmed_string => ("index_from_bytes-untrimmed-string", "to be a canonical string"),
    url_host_trailing_dot => ("index_from_bytes-url-host-trailing-dot", "to be a canonical url"),
    url_port_not_number => ("index_from_bytes-url-port-not-number", "to be a canonical url"),
}

/// `normalize_value`: the mode byte `0x0f` (kind inferred, lenient), then the value. An
/// e-mail address whose local part holds `%44` normalized, and could never be found in
/// text, where a percent escape is a separator: it is refused now, with the reason.
#[test]
fn email_percent_escape() {
    let bytes = include_bytes!("../../../fuzz/regressions/normalize_value-email-percent-escape");
    assert_eq!(bytes[0], 0x0f);
    let value = std::str::from_utf8(&bytes[1..]).unwrap();
    let err = vedette_core::normalize::normalize(value, None, false).unwrap_err().to_string();
    assert!(err.contains("percent escape %44 in the local part"), "{err}");
    assert!(Index::new([value]).is_err());
}
