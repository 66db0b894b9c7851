//! Weighted round robin (`ip_vs_wrr.c`).
//!
//! State: `cl` (position, initially the list head), `cw` (current weight), `mw` (max weight −
//! (gcd − 1)) and `di` (gcd of the positive weights). A schedule walks on from `cl` to the
//! first dest, not overloaded, with weight ≥ cw; each time the walk passes the end of the list
//! cw drops by di, and at cw ≤ 0 it restarts at mw. Every add, delete or edit of a dest resets
//! `cl` to the head and clamps `cw`, so the first picks depend on how the service was built:
//! keepalived's one-at-a-time adds of A4, B3, C2 leave cw = 1 and the list C B A, giving
//! C B A, then the 9-cycle A B A C B A C B A (recorded in E5).

use super::{DestList, gcd};
use crate::ipvs::dest::DestId;

#[derive(Clone, Debug)]
pub struct Wrr {
    /// Index of the last dest chosen; `None` is the list head. Any list change resets it, so an
    /// index stays valid.
    cl: Option<usize>,
    cw: i64,
    mw: i64,
    di: i64,
}

fn gcd_weight(list: DestList<'_>) -> i64 {
    let g = list
        .iter()
        .map(|(_, d)| d.weight)
        .filter(|&w| w > 0)
        .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
    if g == 0 { 1 } else { g as i64 }
}

fn max_weight(list: DestList<'_>) -> i64 {
    list.iter().map(|(_, d)| d.weight as i64).max().unwrap_or(0)
}

impl Wrr {
    pub fn new(list: DestList<'_>) -> Self {
        let di = gcd_weight(list);
        let mw = max_weight(list) - (di - 1);
        Wrr {
            cl: None,
            cw: mw,
            mw,
            di,
        }
    }

    pub fn dest_changed(&mut self, list: DestList<'_>) {
        self.cl = None;
        self.di = gcd_weight(list);
        self.mw = max_weight(list) - (self.di - 1);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    pub fn schedule(&mut self, list: DestList<'_>) -> Option<DestId> {
        if self.mw == 0 {
            return None;
        }
        let n = list.ids.len();
        let last = self.cl;
        let mut pos = self.cl;
        let mut stop: Option<usize> = None;
        let mut last_pass = false;
        let mut restarted = false;
        // The kernel's loop ends by its own guards; this bound only protects against a broken
        // invariant (never reached in tests).
        let max_passes = 2 * (self.mw / self.di.max(1) + 2) as usize + 2;
        for _ in 0..max_passes {
            let start = pos.map_or(0, |i| i + 1);
            for i in start..n {
                let d = list.dests.get(list.ids[i]);
                if !d.overloaded && d.weight as i64 >= self.cw {
                    self.cl = Some(i);
                    return Some(list.ids[i]);
                }
                if stop == Some(i) {
                    self.cl = Some(i);
                    return None;
                }
            }
            pos = None;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                // A pass at the lowest weight from the head has seen every dest.
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    const A: u8 = 102;
    const B: u8 = 103;
    const C: u8 = 104;

    #[test]
    fn e5_wrr_432_added_one_by_one() {
        // E5 (a)/(b)/(b4): the exact 18-connection sequence the kernel chose.
        let mut f = Fixture::build(SchedulerKind::Wrr, &[(A, 4), (B, 3), (C, 2)]);
        assert_eq!(
            f.sequence(18),
            [
                104, 103, 102, 102, 103, 102, 104, 103, 102, 104, 103, 102, 102, 103, 102, 104,
                103, 102
            ]
        );
    }

    #[test]
    fn e5_wrr_432_added_with_weight_1_then_edited() {
        // E5 (b3): added with weight 1, then -e to 4, 3, 2: identical to (a).
        let mut f = Fixture::build(SchedulerKind::Wrr, &[(A, 1), (B, 1), (C, 1)]);
        f.set_weight(A, 4);
        f.set_weight(B, 3);
        f.set_weight(C, 2);
        assert_eq!(
            f.sequence(12),
            [104, 103, 102, 102, 103, 102, 104, 103, 102, 104, 103, 102]
        );
    }

    #[test]
    fn e5_wrr_432_added_cba() {
        // E5 (b2): C, B, A added in that order (list A B C).
        let mut f = Fixture::build(SchedulerKind::Wrr, &[(C, 2), (B, 3), (A, 4)]);
        assert_eq!(
            f.sequence(18),
            [
                102, 103, 104, 102, 102, 103, 102, 103, 104, 102, 103, 104, 102, 102, 103, 102,
                103, 104
            ]
        );
    }

    #[test]
    fn e5_seed_wrr_33_alternates_starting_with_103() {
        // E5 (e2) and E1: .102 then .103 added with weight 3; first pick .103.
        let mut f = Fixture::build(SchedulerKind::Wrr, &[(A, 3), (B, 3)]);
        assert_eq!(
            f.sequence(10),
            [103, 102, 103, 102, 103, 102, 103, 102, 103, 102]
        );
    }

    #[test]
    fn gcd_reduces_the_walk() {
        // Weights 4 and 2 (di = 2, mw = 3): 2:1 ratio, keepalived order.
        let mut f = Fixture::build(SchedulerKind::Wrr, &[(A, 4), (B, 2)]);
        let seq = f.sequence(12);
        let a = seq.iter().filter(|&&x| x == A).count();
        assert_eq!(a, 8, "{seq:?}");
    }

    #[test]
    fn all_quiesced_or_overloaded_gives_none() {
        let mut f = Fixture::build(SchedulerKind::Wrr, &[(A, 0), (B, 0)]);
        assert_eq!(f.pick(), None);
        f.set_weight(A, 2);
        assert_eq!(f.pick(), Some(A));
        f.dest(A).overloaded = true;
        assert_eq!(f.pick(), None);
        assert_eq!(f.pick(), None);
    }
}
