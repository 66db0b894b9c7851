//! Shortest expected delay (`ip_vs_sed.c`): wlc's shape with cost (active + 1) / weight;
//! inactive connections are ignored. Ties go to the first in list.

use super::DestList;
use super::wlc::least_weighted;
use crate::ipvs::dest::DestId;

pub fn schedule(list: DestList<'_>) -> Option<DestId> {
    least_weighted(list, |d| d.activeconns as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    #[test]
    fn expected_delay_ignores_inactive() {
        // list 103(w=1), 102(w=3); 103: (0+1)/1 = 1; 102: (2+1)/3 = 1 → tie → 103.
        let mut f = Fixture::build(SchedulerKind::Sed, &[(102, 3), (103, 1)]);
        f.dest(102).activeconns = 2;
        f.dest(103).inactconns = 1000;
        assert_eq!(f.pick(), Some(103));
        f.dest(102).activeconns = 1; // 2/3 < 1
        assert_eq!(f.pick(), Some(102));
    }
}
