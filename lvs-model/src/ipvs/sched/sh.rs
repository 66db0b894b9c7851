//! Source hashing (`ip_vs_sh.c`): 256 buckets filled by walking the list round robin, each dest
//! taking `weight` consecutive buckets per turn (a weight-0 dest still takes one). The bucket
//! is `hash_32(client address [+ source port with sh-port], 8)`. A bucket whose dest has weight
//! 0 or is overloaded gives no destination, unless sh-fallback probes on from it.

use super::{DestList, SchedFlags, SchedInput, hash_32, usable};
use crate::ipvs::dest::DestId;

pub const TAB_BITS: u32 = 8;
pub const TAB_SIZE: usize = 1 << TAB_BITS;

#[derive(Clone, Debug)]
pub struct Sh {
    buckets: [Option<DestId>; TAB_SIZE],
}

/// The bucket for `addr` (+ `port`), before the fallback offset.
pub fn hashkey(addr: std::net::Ipv4Addr, port: u16, offset: u32) -> usize {
    (offset.wrapping_add(hash_32(
        (port as u32).wrapping_add(u32::from(addr)),
        TAB_BITS,
    )) & (TAB_SIZE as u32 - 1)) as usize
}

impl Sh {
    pub fn new(list: DestList<'_>) -> Self {
        let mut s = Sh {
            buckets: [None; TAB_SIZE],
        };
        s.rebuild(list);
        s
    }

    pub fn rebuild(&mut self, list: DestList<'_>) {
        let n = list.ids.len();
        if n == 0 {
            self.buckets = [None; TAB_SIZE];
            return;
        }
        let mut p = 0;
        let mut count = 0u32;
        for b in self.buckets.iter_mut() {
            let id = list.ids[p];
            *b = Some(id);
            count += 1;
            if count >= list.dests.get(id).weight {
                p = (p + 1) % n;
                count = 0;
            }
        }
    }

    /// Which dest a bucket holds (for tests and the table dump).
    pub fn bucket(&self, i: usize) -> Option<DestId> {
        self.buckets.get(i).copied().flatten()
    }

    pub fn schedule(
        &self,
        list: DestList<'_>,
        flags: SchedFlags,
        input: &SchedInput,
    ) -> Option<DestId> {
        let port = if flags.flag2 { input.sport } else { 0 };
        let ihash = hashkey(input.saddr, port, 0);
        let first = self.buckets[ihash]?;
        if usable(list.dests.get(first)) {
            return Some(first);
        }
        if !flags.flag1 {
            return None;
        }
        for offset in 0..TAB_SIZE as u32 {
            let roffset = (offset + ihash as u32) % TAB_SIZE as u32;
            let h = hashkey(input.saddr, port, roffset);
            if let Some(id) = self.buckets[h]
                && usable(list.dests.get(id))
            {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Fixture, input, ip};
    use super::super::{SchedFlags, SchedState, SchedulerKind};
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn reference_buckets() {
        // §D.2: 10.0.0.1 → bucket 39, 192.168.1.100 → 89 (hash_32, no port).
        assert_eq!(hashkey(Ipv4Addr::new(10, 0, 0, 1), 0, 0), 39);
        assert_eq!(hashkey(Ipv4Addr::new(192, 168, 1, 100), 0, 0), 89);
    }

    #[test]
    fn weights_expand_buckets() {
        // §D.2: list [B(1), A(3)] reads B A A A B A A A …
        let f = Fixture::build(SchedulerKind::Sh, &[(102, 3), (103, 1)]);
        let SchedState::Sh(s) = &f.sched else {
            unreachable!()
        };
        let got: Vec<_> = (0..8)
            .map(|i| f.dests.get(s.bucket(i).unwrap()).addr.octets()[3])
            .collect();
        assert_eq!(got, [103, 102, 102, 102, 103, 102, 102, 102]);
    }

    #[test]
    fn quiesced_bucket_gives_none_unless_fallback() {
        let mut f = Fixture::build(SchedulerKind::Sh, &[(102, 1), (103, 1)]);
        let client = ip(50);
        let first = f
            .pick_with(&input(client, 1), SchedFlags::default())
            .unwrap();
        // Same client, same dest, whatever the source port.
        assert_eq!(
            f.pick_with(&input(client, 2), SchedFlags::default()),
            Some(first)
        );
        f.set_weight(first, 0);
        assert_eq!(f.pick_with(&input(client, 1), SchedFlags::default()), None);
        let other = if first == 102 { 103 } else { 102 };
        assert_eq!(
            f.pick_with(&input(client, 1), SchedFlags::default().fallback()),
            Some(other)
        );
    }

    #[test]
    fn sh_port_spreads_one_client_over_dests() {
        let mut f = Fixture::build(SchedulerKind::Sh, &[(102, 1), (103, 1)]);
        let client = ip(50);
        let picks: std::collections::BTreeSet<u8> = (1000..1040)
            .map(|p| {
                f.pick_with(&input(client, p), SchedFlags::default().port())
                    .unwrap()
            })
            .collect();
        assert_eq!(picks.len(), 2, "the source port joins the hash");
        // Bucket = hash_32(addr + port): the same sum gives the same bucket.
        assert_eq!(
            hashkey(Ipv4Addr::new(10, 0, 0, 1), 5, 0),
            hashkey(Ipv4Addr::new(10, 0, 0, 6), 0, 0)
        );
    }
}
