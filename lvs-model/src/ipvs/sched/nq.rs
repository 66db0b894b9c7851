//! Never queue (`ip_vs_nq.c`): the first dest (weight ≠ 0, not overloaded) with no active
//! connection; otherwise sed's rule, (active + 1) / weight with strict `>`.

use super::{DestList, usable};
use crate::ipvs::dest::DestId;

pub fn schedule(list: DestList<'_>) -> Option<DestId> {
    let mut least: Option<(DestId, u64, u64)> = None;
    for (id, d) in list.iter() {
        if !usable(d) {
            continue;
        }
        let doh = d.activeconns as u64 + 1;
        if d.activeconns == 0 {
            return Some(id);
        }
        let w = d.weight as u64;
        if least.is_none_or(|(_, lw, loh)| loh * w > doh * lw) {
            least = Some((id, w, doh));
        }
    }
    least.map(|(id, _, _)| id)
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    #[test]
    fn idle_dest_first_then_sed() {
        let mut f = Fixture::build(SchedulerKind::Nq, &[(102, 1), (103, 10)]);
        f.dest(103).activeconns = 5;
        assert_eq!(f.pick(), Some(102), "102 is idle though 103 is at the head");
        f.dest(102).activeconns = 1; // 2/1 vs 6/10
        assert_eq!(f.pick(), Some(103));
    }
}
