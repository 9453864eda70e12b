//! `scan::input::Reader` over any bytes, read to the end (or to 8 MiB of output, so that a
//! compression bomb is not a crash), and `feed::decompress` of the same bytes: the
//! compression is the one the magic bytes name, plain bytes come out as they went in,
//! a failed read is a `corrupt` error that repeats, and the two agree on the output and
//! on whether the data is corrupt.

#![no_main]

use std::io::{Cursor, ErrorKind, Read};

use libfuzzer_sys::fuzz_target;
use vedette_core::feed;
use vedette_core::scan::input::{self, Compression, Reader, MAGIC_BYTES};
use vedette_core::ScanErrorKind;

/// The most output read: past it the input counts as a bomb and is let go.
const CAP: usize = 8 << 20;

fuzz_target!(|data: &[u8]| {
    let mut reader = Reader::new(Cursor::new(data.to_vec()), "fuzz")
        .unwrap_or_else(|e| panic!("a reader over memory fails to start: {e}"));
    let compression = reader.compression();
    assert_eq!(
        compression,
        input::sniff(&data[..data.len().min(MAGIC_BYTES)]),
        "not the sniffed compression"
    );
    let mut out = Vec::new();
    let mut buf = vec![0; 64 << 10];
    let read = loop {
        match reader.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > CAP {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        }
    };
    if let Err(err) = &read {
        let scan = input::scan_error("fuzz", err);
        assert_eq!(
            scan.kind(),
            ScanErrorKind::Corrupt,
            "a read from memory fails as {:?}: {scan}",
            scan.kind()
        );
        assert!(reader.read(&mut buf).is_err(), "a read after an error succeeds");
    }
    if compression == Compression::Plain {
        assert!(read.is_ok() && out == data, "plain bytes do not come out as they went in");
    }
    match (&read, feed::decompress(data, "fuzz")) {
        (Ok(()), Ok(whole)) => assert!(*whole == out[..], "decompress and the reader give different bytes"),
        (Err(_), Err(err)) => assert_eq!(err.category(), format!("corrupt {compression}"), "{err}"),
        (Ok(()), Err(err)) => panic!("decompress fails where the reader does not: {err}"),
        (Err(err), Ok(_)) => panic!("the reader fails where decompress does not: {err}"),
    }
});
