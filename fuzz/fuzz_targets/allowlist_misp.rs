//! `Allowlist::from_misp_json` of any bytes (MISP warninglists: `string`, `substring`,
//! `hostname`, `cidr` and `regex` lists), and a build of the fixed indicators under the
//! list: what it leaves must be a usable index of fixed records only.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vedette_core::Allowlist;
use vedette_fuzz::check::check_index;
use vedette_fuzz::fixed;

fuzz_target!(|data: &[u8]| {
    let Ok(list) = Allowlist::from_misp_json(data, "fuzz") else { return };
    let mut builder = fixed::builder().clone();
    builder.allow(list);
    let index = builder.build().expect("the fixed indicators build under any list");
    let all = fixed::index();
    assert!(index.record_count() <= all.record_count(), "an allowlist adds records");
    for r in index.indicators() {
        let kept = all.indicators().any(|f| (f.kind, f.value, f.meta) == (r.kind, r.value, r.meta));
        assert!(kept, "{} {:?} is not a fixed record", r.kind, r.value);
    }
    let suppressed: usize = builder.suppressed().values().sum();
    assert!(suppressed <= all.len(), "{suppressed} suppressed of {} entries", all.len());
    check_index(&index);
});
