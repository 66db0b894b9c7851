//! Weighted least connection (`ip_vs_wlc.c`, the default): start at the first dest with
//! weight > 0 that is not overloaded, then replace the choice `least` by a later dest `d` when
//! `overhead(least) × w(d) > overhead(d) × w(least)` — strictly smaller overhead per weight.
//! Ties go to the first in list; a weight-0 dest can never win.

use super::{DestList, usable};
use crate::ipvs::dest::DestId;

pub fn schedule(list: DestList<'_>) -> Option<DestId> {
    // least_weighted(list, |d| d.overhead()) on the compact records.
    let mut it = list.iter_hot();
    let (mut least, mut lw, mut loh) = loop {
        let (id, d) = it.next()?;
        if !d.overloaded && d.weight > 0 {
            break (id, d.weight as u64, d.overhead);
        }
    };
    for (id, d) in it {
        if d.overloaded {
            continue;
        }
        if loh * d.weight as u64 > d.overhead * lw {
            least = id;
            lw = d.weight as u64;
            loh = d.overhead;
        }
    }
    Some(least)
}

/// The wlc shape shared by wlc, sed, lblc and lblcr: `cost` is the per-dest overhead.
#[inline]
pub(crate) fn least_weighted(
    list: DestList<'_>,
    cost: impl Fn(&crate::ipvs::dest::RealServer) -> u64,
) -> Option<DestId> {
    let mut it = list.iter();
    let (mut least, mut lw, mut loh) = loop {
        let (id, d) = it.next()?;
        if usable(d) {
            break (id, d.weight as u64, cost(d));
        }
    };
    for (id, d) in it {
        if d.overloaded {
            continue;
        }
        let doh = cost(d);
        if loh * d.weight as u64 > doh * lw {
            least = id;
            lw = d.weight as u64;
            loh = doh;
        }
    }
    Some(least)
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    #[test]
    fn reference_example() {
        // §D.2: A(w=1, 0/0) and B(w=2, 1 active): loads 0 and 128, A chosen.
        let mut f = Fixture::build(SchedulerKind::Wlc, &[(102, 1), (103, 2)]);
        f.dest(103).activeconns = 1;
        assert_eq!(f.pick(), Some(102));
    }

    #[test]
    fn overhead_per_weight_and_ties_to_the_head() {
        let mut f = Fixture::build(SchedulerKind::Wlc, &[(102, 1), (103, 3)]);
        // list 103, 102; 103: 3 inactive / 3 = 1, 102: 1 / 1 = 1 → tie → 103 (head).
        f.dest(103).inactconns = 3;
        f.dest(102).inactconns = 1;
        assert_eq!(f.pick(), Some(103));
        f.dest(103).inactconns = 4; // 4/3 > 1
        assert_eq!(f.pick(), Some(102));
    }

    #[test]
    fn e5_sequential_like_lc() {
        let mut f = Fixture::build(SchedulerKind::Wlc, &[(102, 1), (103, 1), (104, 1)]);
        assert_eq!(f.sequence(6), [104, 103, 102, 104, 103, 102]);
    }

    #[test]
    fn weight_zero_never_wins_and_none_when_all_unusable() {
        let mut f = Fixture::build(SchedulerKind::Wlc, &[(102, 0), (103, 1)]);
        f.dest(103).activeconns = 1000;
        assert_eq!(f.pick(), Some(103));
        f.dest(103).overloaded = true;
        assert_eq!(f.pick(), None);
    }
}
