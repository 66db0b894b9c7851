//! Least connection (`ip_vs_lc.c`): the smallest overhead (active × 256 + inactive) among dests
//! with weight ≠ 0 that are not overloaded; strict `<`, so ties go to the first in list.

use super::{DestList, usable};
use crate::ipvs::dest::DestId;

pub fn schedule(list: DestList<'_>) -> Option<DestId> {
    let mut least: Option<(DestId, u64)> = None;
    for (id, d) in list.iter() {
        if !usable(d) {
            continue;
        }
        let doh = d.overhead();
        if least.is_none_or(|(_, loh)| doh < loh) {
            least = Some((id, doh));
        }
    }
    least.map(|(id, _)| id)
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
