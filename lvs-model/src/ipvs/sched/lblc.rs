//! Locality-based least connection (`ip_vs_lblc.c`): a cache from destination IP to dest. A hit
//! is used if the dest is available, has weight > 0 and is not "overloaded" in lblc's sense
//! (active > weight while some dest has active × 2 < weight); otherwise wlc picks and the entry
//! is replaced.
//!
//! Deviation: the kernel expires entries unused for `lblc_expiration` (24 h) in a periodic
//! scan; here an entry older than that is dropped when next looked up. Entries for a dest whose
//! slot is freed are dropped (the kernel would find it unavailable and replace it).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::wlc::least_weighted;
use super::{DestList, SchedInput};
use crate::ipvs::dest::{DestId, RealServer};
use crate::time::{Duration, Instant};

/// `lblc_expiration` default.
pub const EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Clone, Debug, Default)]
pub struct Lblc {
    cache: BTreeMap<Ipv4Addr, (DestId, Instant)>,
}

/// lblc/lblcr's overload test.
pub(crate) fn is_overloaded(dest: &RealServer, list: DestList<'_>) -> bool {
    dest.activeconns > dest.weight
        && list
            .iter()
            .any(|(_, d)| (d.activeconns as u64) * 2 < d.weight as u64)
}

impl Lblc {
    pub fn forget(&mut self, id: DestId) {
        self.cache.retain(|_, (d, _)| *d != id);
    }

    pub fn schedule(&mut self, list: DestList<'_>, input: &SchedInput) -> Option<DestId> {
        if let Some(&(id, lastuse)) = self.cache.get(&input.daddr) {
            if input.now.saturating_duration_since(lastuse) > EXPIRATION {
                self.cache.remove(&input.daddr);
            } else {
                self.cache.insert(input.daddr, (id, input.now));
                if let Some(d) = list.dests.try_get(id)
                    && d.available
                    && d.weight > 0
                    && !is_overloaded(d, list)
                {
                    return Some(id);
                }
            }
        }
        let id = least_weighted(list, |d| d.overhead())?;
        self.cache.insert(input.daddr, (id, input.now));
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    #[test]
    fn sticks_to_the_cached_dest_until_overloaded() {
        let mut f = Fixture::build(SchedulerKind::Lblc, &[(102, 2), (103, 2)]);
        assert_eq!(
            f.sequence(3),
            [103, 103, 103],
            "cache hit whatever the load"
        );
        f.dest(103).activeconns = 3; // > weight 2, and 102 has 0·2 < 2
        assert_eq!(f.pick(), Some(102));
        assert_eq!(f.pick(), Some(102), "entry replaced");
    }
}
