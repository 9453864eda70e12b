//! `Index::from_bytes` on any bytes, once as they are and once with the header's magic,
//! version, length and checksum made right, so that most inputs reach the validation of
//! the payload. An index that loads must be usable whole: see `check::check_index`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vedette_core::Index;
use vedette_fuzz::check::check_index;

/// The header: magic, version, flags, payload length, CRC-32 of the payload.
const HEADER: usize = 28;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = Index::from_bytes(data) {
        check_index(&index);
    }
    if data.len() < HEADER {
        return;
    }
    let mut fixed = data.to_vec();
    fixed[..8].copy_from_slice(b"VDTINDEX");
    fixed[8..12].copy_from_slice(&1u32.to_le_bytes());
    fixed[16..24].copy_from_slice(&((data.len() - HEADER) as u64).to_le_bytes());
    fixed[24..28].copy_from_slice(&crc32fast::hash(&data[HEADER..]).to_le_bytes());
    if fixed != data {
        if let Ok(index) = Index::from_bytes(&fixed) {
            check_index(&index);
        }
    }
});
