//! Loading refuses every file that holds what no builder writes (docs/semantics.md §11.2):
//! each row is a CRC-valid file made by the encoder itself.

use super::*;
use crate::time::TIMESTAMPS;
use crate::wire;

/// One record of default metadata per entry, or `meta` for every record.
fn file(entries: &[(Kind, &str)], meta: &Meta) -> Vec<u8> {
    let records: Vec<(u32, &Meta)> = (0..entries.len() as u32).map(|e| (e, meta)).collect();
    wire::encode(entries, &records)
}

#[test]
fn files_no_builder_writes_are_refused() {
    use Kind::*;
    let plain = Meta::default();
    let far = Meta { valid_from: Some(1 << 62), ..Meta::default() };
    let early = Meta { valid_until: Some(i64::MIN), ..Meta::default() };
    type Row<'a> = (&'a str, &'a [(Kind, &'a str)], &'a Meta, &'a str);
    #[rustfmt::skip]
    let rows: &[Row<'_>] = &[
        // Values normalization never writes: the first was found by fuzzing, and compiling
        // its tables met an empty label.
        ("load010", &[(Url, ".example/p")], &plain, "entry 0 to be a canonical url"),
        ("load020", &[(Url, "..example/p")], &plain, "entry 0 to be a canonical url"),
        ("load030", &[(Url, "./p")], &plain, "entry 0 to be a canonical url"),
        ("load040", &[(Url, "a..b.example/p")], &plain, "entry 0 to be a canonical url"),
        ("load050", &[(Url, "example./p")], &plain, "entry 0 to be a canonical url"),
        ("load060", &[(Domain, "evil.example"), (Domain, ".example")], &plain, "entry 1 to be a canonical domain"),
        ("load070", &[(Email, "a@b@evil.example")], &plain, "entry 0 to be a canonical email"),
        ("load080", &[(Url, "evil.example:/p")], &plain, "entry 0 to be a canonical url"),
        ("load090", &[(Kind::String, " cmd")], &plain, "entry 0 to be a canonical string"),
        // Two entries of one (kind, value).
        ("load100", &[(Domain, "evil.example"), (Domain, "evil.example")], &plain,
            "distinct entries, but entries 0 and 1 are both domain \"evil.example\""),
        ("load110", &[(Domain, "evil.example"), (Hostname, "evil.example"), (Hostname, "evil.example")], &plain,
            "entries 1 and 2 are both hostname"),
        ("load120", &[(Url, "evil.example/a"), (Url, "evil.example/b"), (Url, "evil.example/a")], &plain,
            "entries 0 and 2 are both url"),
        ("load130", &[(Md5, "d41d8cd98f00b204e9800998ecf8427e"), (Md5, "d41d8cd98f00b204e9800998ecf8427e")], &plain,
            "entries 0 and 1 are both md5"),
        ("load140", &[(Email, "a@evil.example"), (Email, "a@evil.example")], &plain, "entries 0 and 1 are both email"),
        ("load150", &[(Kind::String, "cmd"), (Kind::String, "cmd")], &plain, "entries 0 and 1 are both string"),
        ("load160", &[(Ipv4, "1.2.3.4"), (Ipv4, "1.2.0.0/16"), (Ipv4, "1.2.3.4")], &plain,
            "entries 0 and 2 are both ipv4"),
        ("load170", &[(Ipv6, "2001:db8::/32"), (Ipv6, "2001:db8::/32")], &plain, "entries 0 and 1 are both ipv6"),
        // Times no date can hold.
        ("load180", &[(Domain, "evil.example")], &far, "an i64 valid_from within the years 1-9999"),
        ("load190", &[(Domain, "evil.example")], &early, "an i64 valid_until within the years 1-9999"),
    ];
    for &(id, entries, meta, want) in rows {
        let got = Index::from_bytes(&file(entries, meta)).map(|_| ()).map_err(|e| e.to_string());
        assert!(got.as_ref().is_err_and(|e| e.contains(want)), "row {id}: {got:?}, want {want:?}");
    }
}

#[test]
fn files_a_builder_writes_load() {
    use Kind::*;
    let edge = Meta {
        valid_from: Some(*TIMESTAMPS.start()),
        valid_until: Some(*TIMESTAMPS.end()),
        ..Meta::default()
    };
    #[rustfmt::skip]
    let entries: &[(Kind, &str)] = &[
        (Domain, "evil.example"), (Hostname, "evil.example"), (Url, "evil.example/a"),
        (Url, "evil.example:8080/a?b"), (Url, "[2001:db8::1]/x"), (Url, "1.2.3.4/x"),
        (Email, "a.b+c@evil.example"), (Ipv4, "1.2.3.4"), (Ipv4, "1.2.0.0/16"), (Ipv6, "2001:db8::/32"),
        (Md5, "d41d8cd98f00b204e9800998ecf8427e"), (Kind::String, "cmd.exe /c"),
    ];
    let index = Index::from_bytes(&file(entries, &edge)).unwrap();
    assert_eq!(index.len(), entries.len());
    assert!(index.indicators().all(|i| i.meta.valid_from == edge.valid_from));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    /// `lookup` of a host name hits what docs/semantics.md §5.1 says, read plainly: the
    /// hostname indicator equal to it and the domain indicators equal to it or to a parent,
    /// whatever the filters the walk consults say. Few labels, so that names share them.
    #[test]
    fn lookup_of_a_name_hits_itself_and_its_parents(
        indicators in proptest::collection::vec(("[ab]{1,2}(\\.[ab]{1,2}){0,3}", proptest::bool::ANY), 1..12),
        queries in proptest::collection::vec("[ab]{1,2}(\\.[ab]{1,2}){0,4}", 1..24),
    ) {
        // `.example` makes every name one of several labels with a known top-level label.
        let mut builder = crate::IndexBuilder::new();
        let mut values = Vec::new();
        for (name, as_domain) in &indicators {
            let (kind, value) = (if *as_domain { Kind::Domain } else { Kind::Hostname }, format!("{name}.example"));
            if builder.add(&value, Some(kind), Meta::default()).is_ok() {
                values.push((kind, value));
            }
        }
        let index = builder.build().unwrap();
        for query in &queries {
            let query = format!("{query}.example");
            let mut want: Vec<(Kind, String)> = values
                .iter()
                .filter(|(kind, value)| match kind {
                    Kind::Hostname => *value == query,
                    _ => query == *value || query.ends_with(&format!(".{value}")),
                })
                .cloned()
                .collect();
            let mut got: Vec<(Kind, String)> = index
                .lookup(&query, None, 0)
                .unwrap()
                .into_iter()
                .map(|id| {
                    let record = index.indicator(id);
                    (record.kind, record.value.to_string())
                })
                .collect();
            want.sort();
            want.dedup();
            got.sort();
            proptest::prop_assert_eq!(got, want, "{}", query);
        }
    }
}
