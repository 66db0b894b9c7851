//! Weighted least connection (`ip_vs_wlc.c`, the default): start at the first dest with
//! weight > 0 that is not overloaded, then replace the choice `least` by a later dest `d` when
//! `overhead(least) × w(d) > overhead(d) × w(least)` — strictly smaller overhead per weight.
//! Ties go to the first in list; a weight-0 dest can never win.

use super::{DestList, usable};
use crate::ipvs::dest::{DestHot, DestId};

pub fn schedule(list: DestList<'_>) -> Option<DestId> {
    // least_weighted(list, |d| d.overhead()) on the compact records, where an overloaded
    // dest has weight 0: `loh × 0 > doh × lw` never holds, as skipping it would. A walk
    // starts with the sentinel `lw = 0, loh = 1`, which every usable dest (w > 0) replaces
    // and no unusable one does. The wrapping multiply only ever wraps for an unusable dest
    // (overhead u64::MAX), whose left side is 0.
    let hot = list.dests.hot_records();
    if list.ids.len() >= 8 {
        return schedule_long(hot, list.ids);
    }
    let (mut least, mut lw, mut loh) = (None, 0u64, 1u64);
    for id in list.ids {
        let d = rec(hot, id);
        if loh * d.weight as u64 > d.overhead.wrapping_mul(lw) {
            (least, lw, loh) = (Some(*id), d.weight as u64, d.overhead);
        }
    }
    least
}

/// A dest's record; the default (weight 0) for an id without one, which ids never are.
#[inline(always)]
fn rec(hot: &[DestHot], id: &DestId) -> DestHot {
    hot.get(id.0 as usize).copied().unwrap_or_default()
}

/// [`schedule`] for longer lists, out of line so that short ones stay cheap.
///
/// `loh × w(d) > overhead(d) × lw` compares overhead/weight ratios exactly, so the walk
/// returns the first dest (nearest the head) with the least ratio. That is what two
/// interleaved walks (even and odd positions) return too once their winners are compared
/// with ties going to the lower position; splitting halves the chain of multiply-compare-
/// select that each dest waits on.
#[inline(never)]
fn schedule_long(hot: &[DestHot], ids: &[DestId]) -> Option<DestId> {
    // (position, lw, loh) per walk.
    let mut a = (0usize, 0u64, 1u64);
    let mut b = (0usize, 0u64, 1u64);
    let mut pairs = ids.chunks_exact(2);
    let mut pos = 0;
    for pair in &mut pairs {
        let (da, db) = (rec(hot, &pair[0]), rec(hot, &pair[1]));
        if a.2 * da.weight as u64 > da.overhead.wrapping_mul(a.1) {
            a = (pos, da.weight as u64, da.overhead);
        }
        if b.2 * db.weight as u64 > db.overhead.wrapping_mul(b.1) {
            b = (pos + 1, db.weight as u64, db.overhead);
        }
        pos += 2;
    }
    if let [last] = pairs.remainder() {
        let d = rec(hot, last);
        if a.2 * d.weight as u64 > d.overhead.wrapping_mul(a.1) {
            a = (pos, d.weight as u64, d.overhead);
        }
    }
    let best = match (a.1, b.1) {
        (0, 0) => return None,
        (0, _) => b,
        (_, 0) => a,
        // b wins on a strictly smaller ratio, or an equal one nearer the head.
        _ if a.2 * b.1 > b.2 * a.1 || (a.2 * b.1 == b.2 * a.1 && b.0 < a.0) => b,
        _ => a,
    };
    ids.get(best.0).copied()
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

#[cfg(test)]
mod compact_records {
    //! lc and wlc read the compact per-dest records; these tests hold them to the same picks
    //! as the straightforward walk over the dests themselves.
    use super::super::testutil::Fixture;
    use super::super::{DestList, SchedulerKind, lc, usable};
    use super::least_weighted;
    use crate::ipvs::dest::DestId;
    use proptest::prelude::*;

    /// `ip_vs_lc_schedule` over the full dest records.
    fn lc_reference(list: DestList<'_>) -> Option<DestId> {
        let mut least: Option<(DestId, u64)> = None;
        for (id, d) in list.iter() {
            if usable(d) && least.is_none_or(|(_, l)| d.overhead() < l) {
                least = Some((id, d.overhead()));
            }
        }
        least.map(|(id, _)| id)
    }

    proptest! {
        #[test]
        fn lc_and_wlc_pick_as_the_full_records_do(
            dests in proptest::collection::vec(
                (0u32..4, 0u32..3, 0u32..600, any::<bool>(), 0u32..3), 1..12),
        ) {
            let adds: Vec<(u8, u32)> =
                dests.iter().enumerate().map(|(i, d)| (100 + i as u8, d.0)).collect();
            let mut f = Fixture::build(SchedulerKind::Wlc, &adds);
            for (i, &(w, act, inact, over, _)) in dests.iter().enumerate() {
                let mut d = f.dest(100 + i as u8);
                d.activeconns = act;
                d.inactconns = inact;
                d.overloaded = over && w % 2 == 0;
                drop(d);
                if dests[i].4 == 0 {
                    // Change the weight after the counters, as `ipvsadm -e` would.
                    f.set_weight(100 + i as u8, (w + 1) % 4);
                }
            }
            let list = DestList::new(&f.ids, &f.dests);
            prop_assert_eq!(super::schedule(list), least_weighted(list, |d| d.overhead()));
            prop_assert_eq!(lc::schedule(list), lc_reference(list));
        }
    }
}
