//! Weighted overflow (`ip_vs_ovf.c`): among dests with weight > 0, not overloaded and with
//! activeconns ≤ weight, the highest weight; ties go to the first in list. A dest thus takes
//! up to weight + 1 active connections before the next one is used.

use super::DestList;
use crate::ipvs::dest::DestId;

pub fn schedule(list: DestList<'_>) -> Option<DestId> {
    let mut best: Option<(DestId, u32)> = None;
    for (id, d) in list.iter() {
        if d.overloaded || d.activeconns > d.weight || d.weight == 0 {
            continue;
        }
        if best.is_none_or(|(_, w)| d.weight > w) {
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
    fn overflows_after_weight_plus_one_active() {
        let mut f = Fixture::build(SchedulerKind::Ovf, &[(102, 2), (103, 1)]);
        f.dest(102).activeconns = 2;
        assert_eq!(f.pick(), Some(102), "2 active ≤ weight 2");
        f.dest(102).activeconns = 3;
        assert_eq!(f.pick(), Some(103));
        f.dest(103).activeconns = 2;
        assert_eq!(f.pick(), None);
    }
}
