//! Tests of the parent module, one table row per case.

use super::*;

fn sample() -> IndexParts {
    let full = Meta {
        source: Some("feed-a".into()),
        reference: Some("indicator--1".into()),
        confidence: Some(100),
        tlp: Some(Tlp::AmberStrict),
        tags: vec!["c2".into(), "botnet".into()],
        valid_from: Some(-5),
        valid_until: Some(*TIMESTAMPS.end()),
        description: Some("d\u{e9}j\u{e0} vu".into()),
    };
    let some = Meta {
        source: Some("feed-a".into()),
        confidence: Some(0),
        tlp: Some(Tlp::Clear),
        tags: vec!["c2".into()],
        valid_until: Some(*TIMESTAMPS.start()),
        ..Meta::default()
    };
    let entries = vec![
        (Kind::Domain, "evil.example".to_string()),
        (Kind::Ipv4, "10.0.0.1".to_string()),
        (Kind::Sha256, "ab".repeat(32)),
        (Kind::String, String::new()),
    ];
    let records = vec![(0, full.clone()), (0, Meta::default()), (1, some)];
    let records = [records, vec![(2, full.clone()), (3, full)]].concat();
    IndexParts { entries, records }
}

fn to_bytes(parts: &IndexParts) -> Vec<u8> {
    let entries: Vec<_> = parts.entries.iter().map(|(k, v)| (*k, &**v)).collect();
    let records: Vec<_> = parts.records.iter().map(|(e, m)| (*e, m)).collect();
    encode(&entries, &records)
}

fn message(bytes: &[u8]) -> String {
    decode(bytes).expect_err("decoded").to_string()
}

#[test]
fn round_trip() {
    let parts = sample();
    let bytes = to_bytes(&parts);
    assert_eq!(decode(&bytes), Ok(parts));
    // Interned: "feed-a" is used by four records and stored once.
    assert_eq!(bytes.windows(6).filter(|w| w == b"feed-a").count(), 1);
    let bytes = encode(&[], &[]);
    assert_eq!(bytes.len(), HEADER_LEN + 12);
    assert_eq!(decode(&bytes), Ok(IndexParts::default()));
}

#[test]
fn metadata_like_the_record_befores_is_decoded_once() {
    let bytes = to_bytes(&sample());
    let (_, records) = decode_entries(&bytes).expect("valid");
    let (entry_of, meta_of, metas) = records.decode().expect("valid");
    assert_eq!(entry_of, [0, 0, 1, 2, 3]);
    // The last two records of `full` share one decoded copy; the first, apart, has its own.
    assert_eq!(meta_of, [0, 1, 2, 3, 3]);
    assert_eq!(metas.len(), 4);
}

#[test]
fn every_truncation_fails() {
    let bytes = to_bytes(&sample());
    for len in 0..bytes.len() {
        let e = decode(&bytes[..len]).expect_err("truncated bytes decoded");
        assert!(e.offset() <= len, "{e} is past the end, {len}");
    }
}

#[test]
fn every_byte_change_fails() {
    let bytes = to_bytes(&sample());
    for i in 0..bytes.len() {
        for change in [|b: u8| b ^ 0xff, |b: u8| b.wrapping_add(1)] {
            let mut bad = bytes.clone();
            bad[i] = change(bad[i]);
            assert!(decode(&bad).is_err(), "byte {i} changed and still decoded");
        }
    }
}

#[test]
fn every_resealed_byte_change_is_checked() {
    // Past the checksum: whatever a changed byte decodes to must encode back to it.
    let payload = to_bytes(&sample()).split_off(HEADER_LEN);
    for i in 0..payload.len() {
        for change in [|b: u8| b ^ 0xff, |b: u8| b.wrapping_add(1)] {
            let mut bad = payload.clone();
            bad[i] = change(bad[i]);
            if let Ok(parts) = decode(&seal(&bad)) {
                assert_eq!(decode(&to_bytes(&parts)), Ok(parts), "byte {i}");
            }
        }
    }
}

#[test]
fn header() {
    let good = encode(&[], &[]);
    let with = |at: usize, byte: u8| {
        let mut bad = good.clone();
        bad[at] = byte;
        message(&bad)
    };
    assert!(with(0, b'X').ends_with("byte 0: expected the magic bytes VDTINDEX"));
    assert!(with(8, 0).ends_with("byte 8: expected format version 1, found 0"));
    assert!(with(8, 7).contains("format version 1, found 7 from a newer vedette"));
    assert!(with(12, 4).ends_with("byte 12: expected flags 0, found 0x00000004"));
    assert!(with(16, 13).ends_with("a payload of 13 bytes, found 12"));
    assert!(with(HEADER_LEN, 1).contains("byte 24: expected checksum 0x"));
    assert!(message(&[good, vec![0]].concat()).contains("payload of 12 bytes, found 13"));
}

fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A payload of the string "a", one domain entry "a", and `n` records.
fn one(n: u32, records: &[u8]) -> Vec<u8> {
    let entries = [&u32s(&[1, 1])[..], b"a", &u32s(&[1]), &[0; 5]].concat();
    [entries, u32s(&[n]), records.to_vec()].concat()
}

/// A payload of the string "a", two domain entries "a", and `n` records.
fn two(n: u32, records: &[u8]) -> Vec<u8> {
    let entries = [&u32s(&[1, 1])[..], b"a", &u32s(&[2]), &[0; 10]].concat();
    [entries, u32s(&[n]), records.to_vec()].concat()
}

/// A record with no strings and no timestamps.
fn rec(entry: u32, confidence: u8, tlp: u8, tags: &[u32]) -> Vec<u8> {
    let mut r = u32s(&[entry, NONE_U32, NONE_U32, NONE_U32]);
    r.extend([confidence, tlp, 0]);
    r.extend([0; 16]);
    r.extend(u32s(&[tags.len() as u32]));
    r.extend(u32s(tags));
    r
}

fn patch(mut bytes: Vec<u8>, at: usize, with: &[u8]) -> Vec<u8> {
    bytes[at..at + with.len()].copy_from_slice(with);
    bytes
}

#[test]
fn crafted_payloads_decode() {
    let skip = [rec(0, 0, 0, &[]), rec(0, 0, 0, &[]), rec(1, 0, 0, &[])].concat();
    let parts = decode(&seal(&two(3, &skip))).expect("valid payload");
    assert_eq!(parts.records.len(), 3);
    let both = patch(rec(0, 7, 2, &[0]), 18, &[3]);
    let parts = decode(&seal(&one(2, &[rec(0, 255, 255, &[]), both].concat())));
    let records = parts.expect("valid payload").records;
    assert_eq!(records[0].1, Meta::default());
    assert_eq!(records[1].1.tlp, Some(Tlp::Amber));
    assert_eq!(records[1].1.valid_until, Some(0));
}

/// Payloads sealed with a correct checksum, so that decoding gets past it, and the
/// message each must fail with. One row each, as rustfmt leaves brace macros alone.
macro_rules! bad {
    ($($id:ident: $payload:expr => $want:expr;)*) => {$(
        #[test]
        fn $id() {
            let m = message(&seal(&$payload));
            assert!(m.contains($want), "{m:?} does not contain {:?}", $want);
        }
    )*};
}

#[test]
fn string_bomb() {
    // One 64 kB string used as 1000 tags: 64 MB out of a 68 kB file.
    let mut p = [&u32s(&[1, 1 << 16])[..], &[b'x'; 1 << 16]].concat();
    p.extend([&u32s(&[1])[..], &[0; 5], &u32s(&[1])].concat());
    p.extend(rec(0, 0, 0, &[0; 1000]));
    let m = message(&seal(&p));
    let want = "strings copied out to at most 256x the size";
    assert!(m.contains(want), "{m}");
}

bad! {
    // Hostile counts: each must fail at once, before allocating.
    strings_huge: u32s(&[u32::MAX]) => "byte 28: expected a u32 string count of at most 0";
    entries_huge: u32s(&[0, u32::MAX, 0]) => "entry count of at most 0 (bytes left), found";
    records_huge: one(u32::MAX, &rec(0, 0, 0, &[])) => "record count of at most 1 (bytes left)";
    tags_huge: one(1, &patch(rec(0, 0, 0, &[]), 35, &[9])) => "tag count of at most 0";
    string_long: u32s(&[1, u32::MAX - 1]) => "byte 36: expected the bytes of a string";
    string_utf8: [&u32s(&[1, 2])[..], &[0xc3, 0x28]].concat() => "UTF-8 in string 0";
    // Indexes, codes and values out of range.
    value_index: patch(one(1, &[]), 14, &[1]) => "byte 42: expected a string index below 1";
    kind: patch(one(1, &[]), 13, &[13]) => "byte 41: expected a kind code below 13, found 13";
    entry_index: one(1, &rec(1, 0, 0, &[])) => "byte 50: expected an entry index below 1";
    confidence: one(1, &rec(0, 101, 0, &[])) => "a confidence of 0 to 100 or 255, found 101";
    tlp: one(1, &rec(0, 0, 5, &[])) => "a tlp code of 0 to 4 or 255, found 5";
    validity: one(1, &patch(rec(0, 0, 0, &[]), 18, &[4])) => "mask of 0 to 3, found 4";
    absent_from: one(1, &patch(rec(0, 0, 0, &[]), 19, &[1]))
        => "valid_from of 0 as it is absent, found 1";
    source_index: one(1, &patch(rec(0, 0, 0, &[]), 4, &[1; 4])) => "byte 54: expected a string";
    tag_index: one(1, &rec(0, 0, 0, &[1])) => "a string index below 1, found 1";
    // Records out of order, an entry without one, and bytes after the end.
    not_first_0: two(2, &[rec(1, 0, 0, &[]), rec(0, 0, 0, &[])].concat())
        => "byte 55: expected entry index 0 in the first record, found 1";
    not_sorted: two(3, &[rec(0, 0, 0, &[]), rec(1, 0, 0, &[]), rec(0, 0, 0, &[])].concat())
        => "byte 133: expected records in order: entry 1 or 2, found 0";
    two_uncovered: two(2, &[rec(0, 0, 0, &[]), rec(0, 0, 0, &[])].concat())
        => "byte 133: expected a record for entry 1";
    uncovered: one(0, &[]) => "a record for entry 0";
    trailing: [one(1, &rec(0, 0, 0, &[])), vec![0]].concat() => "found 1 more bytes";
}
