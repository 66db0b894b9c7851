//! Least connection (`ip_vs_lc.c`): the smallest overhead (active × 256 + inactive) among dests
//! with weight ≠ 0 that are not overloaded; strict `<`, so ties go to the first in list.

use super::DestList;
use crate::ipvs::dest::DestId;

/// Reads the compact [`DestHot`](crate::ipvs::dest::DestHot) records, where an unusable dest
/// has overhead `u64::MAX`, which never beats the strict `<`; so `least` stays `u64::MAX`
/// exactly when no dest is usable.
pub fn schedule(list: DestList<'_>) -> Option<DestId> {
    let hot = list.dests.hot_records();
    let mut least = u64::MAX;
    let mut at = 0u32;
    for &id in list.ids {
        let Some(d) = hot.get(id.0 as usize) else {
            continue;
        };
        if d.overhead < least {
            least = d.overhead;
            at = id.0;
        }
    }
    (least != u64::MAX).then_some(DestId(at))
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    #[test]
    fn e5_lc_sequential_connections() {
        // E5 (e3): each finished connection stays inactive (FIN_WAIT), so the least loaded is
        // always the next one in list order C, B, A.
        let mut f = Fixture::build(SchedulerKind::Lc, &[(102, 1), (103, 1), (104, 1)]);
        assert_eq!(f.sequence(9), [104, 103, 102, 104, 103, 102, 104, 103, 102]);
    }

    #[test]
    fn active_weighs_256_inactive_and_weight_is_ignored() {
        let mut f = Fixture::build(SchedulerKind::Lc, &[(102, 1), (103, 100)]);
        f.dest(103).activeconns = 1; // overhead 256
        f.dest(102).inactconns = 255; // overhead 255
        assert_eq!(f.pick(), Some(102));
        f.dest(102).inactconns = 256; // tie: first in list (103, added last)
        assert_eq!(f.pick(), Some(103));
        f.set_weight(103, 0);
        assert_eq!(f.pick(), Some(102));
    }
}
