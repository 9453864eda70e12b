//! Batch lookups over columns of addresses, as flow records give them.

use crate::index::Index;
use crate::indicator::{IndicatorId, Timestamp};

/// The hits of [`Index::match_flows`]: one `(row, indicator)` pair per hit, by row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowHits {
    pub rows: Vec<u64>,
    pub indicators: Vec<IndicatorId>,
}

impl Index {
    /// Writes into `out[i]` whether an indicator valid at `at` covers `addresses[i]`.
    ///
    /// # Panics
    /// When `out` is shorter than `addresses`.
    pub fn match_ipv4(&self, addresses: &[u32], at: Timestamp, out: &mut [bool]) {
        let table = &self.tables.ipv4;
        for (hit, &addr) in out.iter_mut().zip(addresses) {
            *hit = table.covering(addr).iter().any(|&e| self.any_valid(e, at));
        }
    }

    /// Like [`Index::match_ipv4`] for IPv6 addresses (IPv4-mapped ones are looked up as
    /// IPv4).
    pub fn match_ipv6(&self, addresses: &[u128], at: Timestamp, out: &mut [bool]) {
        for (hit, &addr) in out.iter_mut().zip(addresses) {
            *hit = self.ip_entries(addr).iter().any(|&e| self.any_valid(e, at));
        }
    }

    fn ip_entries(&self, addr: u128) -> &[u32] {
        match crate::normalize::ipv4_mapped(addr) {
            Some(v4) => self.tables.ipv4.covering(v4),
            None => self.tables.ipv6.covering(addr),
        }
    }

    /// Every flow whose source or destination address an indicator valid at `at` covers:
    /// one `(row, indicator)` pair per hit, an indicator hit by both sides listed once.
    ///
    /// # Panics
    /// When `src` and `dst` differ in length.
    pub fn match_flows(&self, src: &[u32], dst: &[u32], at: Timestamp) -> FlowHits {
        assert_eq!(src.len(), dst.len(), "src and dst columns differ in length");
        let table = &self.tables.ipv4;
        let mut hits = FlowHits::default();
        let mut ids = Vec::new();
        for (row, (&s, &d)) in src.iter().zip(dst).enumerate() {
            let (by_src, by_dst) = (table.covering(s), table.covering(d));
            if by_src.is_empty() && by_dst.is_empty() {
                continue;
            }
            ids.clear();
            for &entry in by_src.iter().chain(by_dst) {
                self.valid_records(entry, at, &mut ids);
            }
            ids.sort_unstable();
            ids.dedup();
            hits.rows.extend(std::iter::repeat_n(row as u64, ids.len()));
            hits.indicators.extend_from_slice(&ids);
        }
        hits
    }
}
