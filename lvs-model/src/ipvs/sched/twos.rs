//! Weighted random twos choice (`ip_vs_twos.c`, Linux 6.x): draw two values uniformly from
//! 0..=Σw (Σw over dests with weight > 0, not overloaded), walk the list subtracting weights,
//! and take the first dest where each value drops to ≤ 0; return the second choice if its
//! overhead per weight is strictly lower. The RNG is the caller's (`get_random_u32() % n` in
//! the kernel, `next_u32() % n` here).

use rand_core::Rng;

use super::{DestList, usable};
use crate::ipvs::dest::DestId;

pub fn schedule(list: DestList<'_>, rng: &mut impl Rng) -> Option<DestId> {
    let mut total: i64 = 0;
    let mut any = None;
    for (id, d) in list.iter() {
        if usable(d) {
            total += d.weight as i64;
            any = Some(id);
        }
    }
    let mut choice1 = any?;
    let total = total + 1;
    let mut r1 = (rng.next_u32() as i64) % total;
    let mut r2 = (rng.next_u32() as i64) % total;
    let mut c1: Option<(u64, u64)> = None;
    let mut c2: Option<(DestId, u64, u64)> = None;
    for (id, d) in list.iter() {
        if !usable(d) {
            continue;
        }
        let w = d.weight as i64;
        r1 -= w;
        r2 -= w;
        if r1 <= 0 && c1.is_none() {
            choice1 = id;
            c1 = Some((w as u64, d.overhead()));
        }
        if r2 <= 0 && c2.is_none() {
            c2 = Some((id, w as u64, d.overhead()));
        }
        if c1.is_some() && c2.is_some() {
            break;
        }
    }
    if let (Some((w1, oh1)), Some((id2, w2, oh2))) = (c1, c2)
        && w2 * oh1 > w1 * oh2
    {
        return Some(id2);
    }
    Some(choice1)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Fixture, input, ip};
    use super::super::{SchedFlags, SchedulerKind};
    use rand_core::SeedableRng;

    #[test]
    fn distribution_follows_the_formula() {
        // With equal overheads the first choice stands: P(first dest) = (w1 + 1)/(Σw + 1).
        // list: 103 (w=3), 102 (w=1): P(103) = 4/5.
        let mut f = Fixture::build(SchedulerKind::Twos, &[(102, 1), (103, 3)]);
        let mut rng = rand_chacha::ChaCha8Rng::from_seed([1; 32]);
        let n = 10_000;
        let hits = (0..n)
            .filter(|_| f.pick_rng(&input(ip(50), 1), SchedFlags::default(), &mut rng) == Some(103))
            .count();
        // 8000 expected; binomial sd = 40, so ±200 is 5 sd.
        assert!((7800..=8200).contains(&hits), "{hits}");
    }

    #[test]
    fn lower_loaded_second_choice_wins() {
        let mut f = Fixture::build(SchedulerKind::Twos, &[(102, 1), (103, 1)]);
        f.dest(103).activeconns = 10;
        let mut rng = rand_chacha::ChaCha8Rng::from_seed([2; 32]);
        let picks: Vec<_> = (0..200)
            .map(|_| f.pick_rng(&input(ip(50), 1), SchedFlags::default(), &mut rng))
            .collect();
        // 103 only wins when both draws land on it: P = (2/3)·(2/3)... never 0 or all.
        let n103 = picks.iter().filter(|&&p| p == Some(103)).count();
        assert!(n103 > 0 && n103 < 200, "{n103}");
        f.set_weight(102, 0);
        f.set_weight(103, 0);
        assert_eq!(f.pick(), None);
    }
}
