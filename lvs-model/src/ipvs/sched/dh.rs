//! Destination hashing (`ip_vs_dh.c`): 256 buckets filled one per dest round robin (weights do
//! not matter); bucket = (daddr × 2654435761) mod 256. An unusable dest gives no destination,
//! with no fallback.
//!
//! Note: keepalived-ipvs.md §D.2 says dh uses `hash_32`; the kernel source (6.1) still uses
//! this older multiplicative hash for dh — only sh moved to `hash_32`.

use super::{DestList, SchedInput, usable};
use crate::ipvs::dest::DestId;

pub const TAB_SIZE: usize = 256;

#[derive(Clone, Debug)]
pub struct Dh {
    buckets: [Option<DestId>; TAB_SIZE],
}

pub fn hashkey(addr: std::net::Ipv4Addr) -> usize {
    (u32::from(addr).wrapping_mul(2_654_435_761) & (TAB_SIZE as u32 - 1)) as usize
}

impl Dh {
    pub fn new(list: DestList<'_>) -> Self {
        let mut s = Dh {
            buckets: [None; TAB_SIZE],
        };
        s.rebuild(list);
        s
    }

    pub fn rebuild(&mut self, list: DestList<'_>) {
        let n = list.ids.len();
        for (i, b) in self.buckets.iter_mut().enumerate() {
            *b = (n > 0).then(|| list.ids[i % n]);
        }
    }

    pub fn schedule(&self, list: DestList<'_>, input: &SchedInput) -> Option<DestId> {
        let id = self.buckets[hashkey(input.daddr)]?;
        usable(list.dests.get(id)).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn one_vip_one_dest() {
        // 192.168.80.200 = 0xC0A850C8; × 2654435761 mod 256 = 0xC8 × 0xB1 mod 256 = 0x48.
        assert_eq!(hashkey(Ipv4Addr::new(192, 168, 80, 200)), 0x48);
        let mut f = Fixture::build(SchedulerKind::Dh, &[(102, 1), (103, 5)]);
        // list 103, 102: bucket 0x48 (even) holds the head.
        assert_eq!(f.sequence(4), [103, 103, 103, 103]);
        f.set_weight(103, 0);
        assert_eq!(f.pick(), None, "no fallback in dh");
    }
}
