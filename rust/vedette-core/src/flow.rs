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
    /// When `out` and `addresses` differ in length: a mask of another length would be
    /// answered in part, or leave stale answers past the addresses.
    ///
    /// # Example
    /// ```
    /// let index = vedette_core::Index::new(["10.0.0.0/8"])?;
    /// let mut out = [true; 2];
    /// index.match_ipv4(&[0x0a01_0203, 0x0808_0808], 0, &mut out);
    /// assert_eq!(out, [true, false]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn match_ipv4(&self, addresses: &[u32], at: Timestamp, out: &mut [bool]) {
        check_out(addresses.len(), out.len());
        let table = &self.tables.ipv4;
        for (hit, &addr) in out.iter_mut().zip(addresses) {
            *hit = table.covering(addr).iter().any(|&e| self.any_valid(e, at));
        }
    }

    /// Like [`Index::match_ipv4`] for IPv6 addresses (IPv4-mapped ones are looked up as
    /// IPv4).
    ///
    /// # Panics
    /// When `out` and `addresses` differ in length.
    pub fn match_ipv6(&self, addresses: &[u128], at: Timestamp, out: &mut [bool]) {
        check_out(addresses.len(), out.len());
        for (hit, &addr) in out.iter_mut().zip(addresses) {
            *hit = self.ip_entries(addr).iter().any(|&e| self.any_valid(e, at));
        }
    }

    /// The entries that cover the IPv6 address `addr` (an IPv4-mapped one as IPv4).
    pub(crate) fn ip_entries(&self, addr: u128) -> &[u32] {
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

fn check_out(addresses: usize, out: usize) {
    assert_eq!(out, addresses, "out has {out} slots for {addresses} addresses");
}

#[cfg(test)]
mod tests {
    use crate::Index;

    fn index() -> Index {
        Index::new(["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]).unwrap()
    }

    #[test]
    fn masks_have_one_answer_per_address() {
        let v4 = [0x0a00_0001, 0xc000_0201, 0xc000_0202];
        let v6 = [0x2001_0db8 << 96, 0xffff_c000_0201, 1];
        let mut out = [false; 3];
        index().match_ipv4(&v4, 0, &mut out);
        assert_eq!(out, [true, true, false], "ipv4");
        index().match_ipv6(&v6, 0, &mut out);
        assert_eq!(out, [true, true, false], "ipv6");
    }

    #[test]
    #[should_panic(expected = "out has 1 slots for 2 addresses")]
    fn ipv4_short_out() {
        index().match_ipv4(&[1, 2], 0, &mut [false; 1]);
    }

    #[test]
    #[should_panic(expected = "out has 3 slots for 2 addresses")]
    fn ipv4_long_out() {
        index().match_ipv4(&[1, 2], 0, &mut [false; 3]);
    }

    #[test]
    #[should_panic(expected = "out has 0 slots for 1 addresses")]
    fn ipv6_short_out() {
        index().match_ipv6(&[1], 0, &mut []);
    }
}
