//! `normalize::normalize` of any value, its kind given (one of the 13, by the first byte)
//! or inferred, strict or not: a value that normalizes must normalize again to itself,
//! strictly and with its canonical kind (docs/semantics.md §2.3), and an index of it
//! alone must be usable whole, through `to_bytes` and `from_bytes` too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vedette_core::normalize::normalize;
use vedette_core::{IndexBuilder, Kind, Meta};
use vedette_fuzz::check::check_index;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, value)) = data.split_first() else { return };
    let Ok(value) = std::str::from_utf8(value) else { return };
    // Bit 7: strict. Bits 0-3: a kind by its code, 13 and up for none.
    let strict = mode & 0x80 != 0;
    let kind = Kind::from_code(mode & 0x0f);
    let Ok(first) = normalize(value, kind, strict) else { return };
    let again = normalize(&first.value, Some(first.kind), true).unwrap_or_else(|e| {
        panic!("{value:?} normalizes to {} {:?}, which does not: {e}", first.kind, first.value)
    });
    assert_eq!(
        (again.kind, &again.value, again.ip),
        (first.kind, &first.value, first.ip),
        "{value:?} normalizes to a value that normalizes to another"
    );
    assert!(!again.masked_host_bits, "a canonical network has host bits set");
    let mut builder = IndexBuilder::new();
    builder
        .add(value, kind, Meta::default())
        .unwrap_or_else(|e| panic!("{value:?} normalizes but is not added: {e}"));
    let index = builder.build().expect("one indicator builds");
    assert_eq!(index.len(), 1);
    check_index(&index);
});
