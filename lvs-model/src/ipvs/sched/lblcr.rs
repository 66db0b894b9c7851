//! Locality-based least connection with replication (`ip_vs_lblcr.c`): each destination IP maps
//! to a *set* of dests. The set's least loaded member (wlc rule, available only) serves unless
//! it is overloaded (lblc's test); then wlc picks from the whole service and the pick joins the
//! set (at its head). A set with more than one member that has not changed for
//! `lblcr_expiration` (24 h) loses its most loaded member.
//!
//! Deviation: whole entries are never garbage-collected (the kernel drops entries unused for
//! 24 h in a periodic scan); members whose slot is freed are removed from their sets.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::lblc::is_overloaded;
use super::wlc::least_weighted;
use super::{DestList, SchedInput};
use crate::ipvs::dest::{DestId, DestTable};
use crate::time::{Duration, Instant};

/// `lblcr_expiration` default.
pub const EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Clone, Debug)]
struct DestSet {
    /// Members, head first.
    members: Vec<DestId>,
    lastmod: Instant,
}

impl DestSet {
    fn insert(&mut self, id: DestId, now: Instant) {
        if !self.members.contains(&id) {
            self.members.insert(0, id);
            self.lastmod = now;
        }
    }

    fn min(&self, dests: &DestTable) -> Option<DestId> {
        let mut it = self.members.iter().map(|&id| (id, dests.get(id)));
        let (mut least, mut lw, mut loh) = loop {
            let (id, d) = it.next()?;
            if d.overloaded {
                continue;
            }
            if d.weight > 0 && d.available {
                break (id, d.weight as u64, d.overhead());
            }
        };
        for (id, d) in it {
            if d.overloaded {
                continue;
            }
            let doh = d.overhead();
            if loh * d.weight as u64 > doh * lw && d.available {
                least = id;
                lw = d.weight as u64;
                loh = doh;
            }
        }
        Some(least)
    }

    fn max(&self, dests: &DestTable) -> Option<DestId> {
        let mut it = self.members.iter().map(|&id| (id, dests.get(id)));
        let (mut most, mut mw, mut moh) = loop {
            let (id, d) = it.next()?;
            if d.weight > 0 {
                break (id, d.weight as u64, d.overhead());
            }
        };
        for (id, d) in it {
            let doh = d.overhead();
            if moh * (d.weight as u64) < doh * mw && d.weight > 0 {
                most = id;
                mw = d.weight as u64;
                moh = doh;
            }
        }
        Some(most)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Lblcr {
    cache: BTreeMap<Ipv4Addr, DestSet>,
}

impl Lblcr {
    pub fn forget(&mut self, id: DestId) {
        for set in self.cache.values_mut() {
            set.members.retain(|&d| d != id);
        }
    }

    pub fn schedule(&mut self, list: DestList<'_>, input: &SchedInput) -> Option<DestId> {
        let now = input.now;
        if let Some(set) = self.cache.get_mut(&input.daddr) {
            let dest = set.min(list.dests);
            if set.members.len() > 1
                && now.saturating_duration_since(set.lastmod) > EXPIRATION
                && let Some(m) = set.max(list.dests)
            {
                set.members.retain(|&d| d != m);
            }
            if let Some(id) = dest
                && !is_overloaded(list.dests.get(id), list)
            {
                return Some(id);
            }
            let id = least_weighted(list, |d| d.overhead())?;
            set.insert(id, now);
            return Some(id);
        }
        let id = least_weighted(list, |d| d.overhead())?;
        self.cache.insert(
            input.daddr,
            DestSet {
                members: vec![id],
                lastmod: now,
            },
        );
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    #[test]
    fn set_grows_when_member_overloaded() {
        let mut f = Fixture::build(SchedulerKind::Lblcr, &[(102, 2), (103, 2)]);
        assert_eq!(f.pick(), Some(103));
        f.dest(103).activeconns = 3;
        assert_eq!(f.pick(), Some(102), "wlc picks 102, which joins the set");
        // Now the set {102, 103}: least loaded member 102 serves.
        f.dest(103).activeconns = 0;
        f.dest(102).activeconns = 1;
        assert_eq!(f.pick(), Some(103));
    }
}
