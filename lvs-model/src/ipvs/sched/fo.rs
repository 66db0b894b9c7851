//! Weighted failover (`ip_vs_fo.c`): the not-overloaded dest with the highest weight (> 0);
//! ties go to the first in list; load is ignored.

use super::DestList;
use crate::ipvs::dest::DestId;

pub fn schedule(list: DestList<'_>) -> Option<DestId> {
    let mut best: Option<(DestId, u32)> = None;
    for (id, d) in list.iter() {
        if !d.overloaded && d.weight > best.map_or(0, |(_, w)| w) {
            best = Some((id, d.weight));
        }
    }
    best.map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    #[test]
    fn highest_weight_wins_ties_to_head() {
        let mut f = Fixture::build(SchedulerKind::Fo, &[(102, 5), (103, 5), (104, 1)]);
        assert_eq!(f.sequence(3), [103, 103, 103]);
        f.dest(103).overloaded = true;
        assert_eq!(f.pick(), Some(102));
        f.set_weight(102, 0);
        assert_eq!(f.pick(), Some(104));
    }
}
