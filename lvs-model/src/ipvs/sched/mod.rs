//! The kernel's schedulers, one module each, with its exact selection rules and tie-breaks.
//!
//! Every scheduler sees the service's dests in kernel list order (head first, which is the
//! most recently added) and returns one [`DestId`] or `None` ("no destination available",
//! after which IPVS answers with ICMP port-unreachable). Shared rules:
//! - a dest flagged OVERLOAD is skipped by all of them;
//! - weight 0 quiesces: no scheduler picks it for a new connection (sh, dh and mh map the
//!   bucket to nothing instead, unless a fallback flag is set);
//! - "ties → first in list" means the dest nearest the head.
//!
//! Stateful schedulers (rr, wrr, sh, dh, mh, lblc, lblcr) are told about every add, delete and
//! edit of a dest through [`SchedState::dest_changed`], as the kernel's `add_dest`/`del_dest`/
//! `upd_dest` hooks are. twos draws its randomness from the RNG passed in.

use core::fmt;
use core::str::FromStr;
use std::net::Ipv4Addr;

use rand_core::Rng;

use super::dest::{DestId, DestTable, RealServer};
use crate::time::Instant;

pub mod dh;
pub mod fo;
pub mod lblc;
pub mod lblcr;
pub mod lc;
pub mod mh;
pub mod nq;
pub mod ovf;
pub mod rr;
pub mod sed;
pub mod sh;
pub mod twos;
pub mod wlc;
pub mod wrr;

/// The scheduler names ipvsadm `-s` and keepalived `lb_algo` accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SchedulerKind {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
}

impl SchedulerKind {
    pub const ALL: [SchedulerKind; 14] = [
        SchedulerKind::Rr,
        SchedulerKind::Wrr,
        SchedulerKind::Lc,
        SchedulerKind::Wlc,
        SchedulerKind::Lblc,
        SchedulerKind::Lblcr,
        SchedulerKind::Dh,
        SchedulerKind::Sh,
        SchedulerKind::Sed,
        SchedulerKind::Nq,
        SchedulerKind::Fo,
        SchedulerKind::Ovf,
        SchedulerKind::Mh,
        SchedulerKind::Twos,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SchedulerKind::Rr => "rr",
            SchedulerKind::Wrr => "wrr",
            SchedulerKind::Lc => "lc",
            SchedulerKind::Wlc => "wlc",
            SchedulerKind::Lblc => "lblc",
            SchedulerKind::Lblcr => "lblcr",
            SchedulerKind::Dh => "dh",
            SchedulerKind::Sh => "sh",
            SchedulerKind::Sed => "sed",
            SchedulerKind::Nq => "nq",
            SchedulerKind::Fo => "fo",
            SchedulerKind::Ovf => "ovf",
            SchedulerKind::Mh => "mh",
            SchedulerKind::Twos => "twos",
        }
    }
}

impl fmt::Display for SchedulerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown scheduler name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown scheduler `{0}`")]
pub struct UnknownScheduler(pub String);

impl FromStr for SchedulerKind {
    type Err = UnknownScheduler;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchedulerKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownScheduler(s.to_string()))
    }
}

/// The three scheduler flags (`-b flag-1,flag-2,flag-3`). sh and mh read flag-1 as
/// `*-fallback` and flag-2 as `*-port`; the others ignore them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SchedFlags {
    pub flag1: bool,
    pub flag2: bool,
    pub flag3: bool,
}

impl SchedFlags {
    /// `sh-fallback` / `mh-fallback`: probe further buckets when the hashed dest is unusable.
    pub fn fallback(mut self) -> Self {
        self.flag1 = true;
        self
    }
    /// `sh-port` / `mh-port`: hash the client's source port too.
    pub fn port(mut self) -> Self {
        self.flag2 = true;
        self
    }
    pub fn is_empty(&self) -> bool {
        !(self.flag1 || self.flag2 || self.flag3)
    }
}

/// What a scheduler may look at in the packet that opens a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedInput {
    pub now: Instant,
    pub saddr: Ipv4Addr,
    pub sport: u16,
    pub daddr: Ipv4Addr,
    pub dport: u16,
}

/// The dest list a scheduler works on: ids in kernel list order plus the arena.
#[derive(Clone, Copy)]
pub struct DestList<'a> {
    pub ids: &'a [DestId],
    pub dests: &'a DestTable,
}

impl<'a> DestList<'a> {
    pub fn new(ids: &'a [DestId], dests: &'a DestTable) -> Self {
        DestList { ids, dests }
    }
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (DestId, &'a RealServer)> + 'a {
        let dests = self.dests;
        self.ids.iter().map(move |&id| (id, dests.get(id)))
    }
    pub fn position(&self, id: DestId) -> Option<usize> {
        self.ids.iter().position(|&d| d == id)
    }
}

/// What changed in a service's dest list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestChange {
    /// A dest was inserted at the head.
    Added(DestId),
    /// A dest was unlinked; `prev` is the dest that was before it (None: it was the head).
    Removed { id: DestId, prev: Option<DestId> },
    /// Weight, thresholds or forwarding changed.
    Updated(DestId),
}

/// Per-service scheduler state.
#[derive(Clone, Debug)]
pub enum SchedState {
    Rr(rr::Rr),
    Wrr(wrr::Wrr),
    Lc,
    Wlc,
    Lblc(lblc::Lblc),
    Lblcr(lblcr::Lblcr),
    Dh(dh::Dh),
    Sh(sh::Sh),
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh(Box<mh::Mh>),
    Twos,
}

impl SchedState {
    /// `init_service`: a scheduler bound to a service that already has `list`.
    pub fn new(kind: SchedulerKind, list: DestList<'_>) -> Self {
        match kind {
            SchedulerKind::Rr => SchedState::Rr(rr::Rr::default()),
            SchedulerKind::Wrr => SchedState::Wrr(wrr::Wrr::new(list)),
            SchedulerKind::Lc => SchedState::Lc,
            SchedulerKind::Wlc => SchedState::Wlc,
            SchedulerKind::Lblc => SchedState::Lblc(lblc::Lblc::default()),
            SchedulerKind::Lblcr => SchedState::Lblcr(lblcr::Lblcr::default()),
            SchedulerKind::Dh => SchedState::Dh(dh::Dh::new(list)),
            SchedulerKind::Sh => SchedState::Sh(sh::Sh::new(list)),
            SchedulerKind::Sed => SchedState::Sed,
            SchedulerKind::Nq => SchedState::Nq,
            SchedulerKind::Fo => SchedState::Fo,
            SchedulerKind::Ovf => SchedState::Ovf,
            SchedulerKind::Mh => SchedState::Mh(Box::new(mh::Mh::new(list))),
            SchedulerKind::Twos => SchedState::Twos,
        }
    }

    pub fn kind(&self) -> SchedulerKind {
        match self {
            SchedState::Rr(_) => SchedulerKind::Rr,
            SchedState::Wrr(_) => SchedulerKind::Wrr,
            SchedState::Lc => SchedulerKind::Lc,
            SchedState::Wlc => SchedulerKind::Wlc,
            SchedState::Lblc(_) => SchedulerKind::Lblc,
            SchedState::Lblcr(_) => SchedulerKind::Lblcr,
            SchedState::Dh(_) => SchedulerKind::Dh,
            SchedState::Sh(_) => SchedulerKind::Sh,
            SchedState::Sed => SchedulerKind::Sed,
            SchedState::Nq => SchedulerKind::Nq,
            SchedState::Fo => SchedulerKind::Fo,
            SchedState::Ovf => SchedulerKind::Ovf,
            SchedState::Mh(_) => SchedulerKind::Mh,
            SchedState::Twos => SchedulerKind::Twos,
        }
    }

    /// The kernel's `add_dest`/`del_dest`/`upd_dest` hooks; `list` is the list after the change.
    pub fn dest_changed(&mut self, list: DestList<'_>, change: DestChange) {
        match self {
            SchedState::Rr(s) => s.dest_changed(change),
            SchedState::Wrr(s) => s.dest_changed(list),
            SchedState::Dh(s) => s.rebuild(list),
            SchedState::Sh(s) => s.rebuild(list),
            SchedState::Mh(s) => s.rebuild(list),
            _ => {}
        }
    }

    /// A dest's slot is about to be freed: drop every reference to it (lblc/lblcr caches).
    pub(crate) fn forget(&mut self, id: DestId) {
        match self {
            SchedState::Lblc(s) => s.forget(id),
            SchedState::Lblcr(s) => s.forget(id),
            _ => {}
        }
    }

    /// Pick a dest for a new connection.
    pub fn schedule(
        &mut self,
        list: DestList<'_>,
        flags: SchedFlags,
        input: &SchedInput,
        rng: &mut impl Rng,
    ) -> Option<DestId> {
        match self {
            SchedState::Rr(s) => s.schedule(list),
            SchedState::Wrr(s) => s.schedule(list),
            SchedState::Lc => lc::schedule(list),
            SchedState::Wlc => wlc::schedule(list),
            SchedState::Lblc(s) => s.schedule(list, input),
            SchedState::Lblcr(s) => s.schedule(list, input),
            SchedState::Dh(s) => s.schedule(list, input),
            SchedState::Sh(s) => s.schedule(list, flags, input),
            SchedState::Sed => sed::schedule(list),
            SchedState::Nq => nq::schedule(list),
            SchedState::Fo => fo::schedule(list),
            SchedState::Ovf => ovf::schedule(list),
            SchedState::Mh(s) => s.schedule(list, flags, input),
            SchedState::Twos => twos::schedule(list, rng),
        }
    }
}

/// `hash_32(val, bits)` from include/linux/hash.h: multiply by the 32-bit golden ratio and keep
/// the top `bits` bits.
pub(crate) fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(0x61C8_8647) >> (32 - bits)
}

/// Greatest common divisor, for wrr and mh weight reduction.
pub(crate) fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// "weight > 0 and not overloaded": what most schedulers require of a candidate.
#[inline]
pub(crate) fn usable(d: &RealServer) -> bool {
    !d.overloaded && d.weight > 0
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A dest list built the way ipvsadm/keepalived build one: one add at a time, at the head.
    use super::*;
    use crate::ipvs::dest::{DestConfig, RealServer};
    use crate::ipvs::service::ServiceId;

    pub struct Fixture {
        pub dests: DestTable,
        pub ids: Vec<DestId>,
        pub sched: SchedState,
    }

    pub fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 80, last)
    }

    impl Fixture {
        /// An empty service with `kind`; then `add` each (last octet, weight) in order.
        pub fn build(kind: SchedulerKind, adds: &[(u8, u32)]) -> Fixture {
            let dests = DestTable::default();
            let sched = SchedState::new(kind, DestList::new(&[], &dests));
            let mut f = Fixture {
                dests,
                ids: Vec::new(),
                sched,
            };
            for &(last, w) in adds {
                f.add(last, w);
            }
            f
        }
        pub fn add(&mut self, last: u8, weight: u32) -> DestId {
            let cfg = DestConfig::new(ip(last), 80).weight(weight);
            let key = crate::ipvs::service::ServiceKey::Fwmark(1);
            let id = self.dests.insert(RealServer::new(&cfg, ServiceId(0), key));
            self.ids.insert(0, id);
            self.sched
                .dest_changed(DestList::new(&self.ids, &self.dests), DestChange::Added(id));
            id
        }
        pub fn set_weight(&mut self, last: u8, weight: u32) {
            let id = self.id(last);
            let mut d = self.dests.get_mut(id);
            let mut cfg = DestConfig::new(d.addr, d.port).weight(weight);
            cfg.u_threshold = d.u_threshold;
            cfg.l_threshold = d.l_threshold;
            d.apply(&cfg);
            drop(d);
            self.sched.dest_changed(
                DestList::new(&self.ids, &self.dests),
                DestChange::Updated(id),
            );
        }
        pub fn remove(&mut self, last: u8) {
            let id = self.id(last);
            let pos = self.ids.iter().position(|&d| d == id).unwrap();
            let prev = if pos == 0 {
                None
            } else {
                Some(self.ids[pos - 1])
            };
            self.ids.remove(pos);
            self.sched.dest_changed(
                DestList::new(&self.ids, &self.dests),
                DestChange::Removed { id, prev },
            );
        }
        pub fn id(&self, last: u8) -> DestId {
            *self
                .ids
                .iter()
                .find(|&&id| self.dests.get(id).addr == ip(last))
                .unwrap()
        }
        pub fn dest(&mut self, last: u8) -> crate::ipvs::dest::DestMut<'_> {
            let id = self.id(last);
            self.dests.get_mut(id)
        }
        pub fn pick_with(&mut self, input: &SchedInput, flags: SchedFlags) -> Option<u8> {
            let mut rng = rand_chacha::ChaCha8Rng::from_seed([7; 32]);
            self.pick_rng(input, flags, &mut rng)
        }
        pub fn pick_rng(
            &mut self,
            input: &SchedInput,
            flags: SchedFlags,
            rng: &mut impl Rng,
        ) -> Option<u8> {
            let list = DestList::new(&self.ids, &self.dests);
            self.sched
                .schedule(list, flags, input, rng)
                .map(|id| self.dests.get(id).addr.octets()[3])
        }
        pub fn pick(&mut self) -> Option<u8> {
            self.pick_with(&input(ip(50), 40000), SchedFlags::default())
        }
        /// Pick `n` times, counting each pick as one new inactive connection (as the E5
        /// sequential requests ended in FIN_WAIT).
        pub fn sequence(&mut self, n: usize) -> Vec<u8> {
            (0..n)
                .map(|_| {
                    let last = self.pick().expect("a dest");
                    self.dest(last).inactconns += 1;
                    last
                })
                .collect()
        }
    }

    pub fn input(saddr: Ipv4Addr, sport: u16) -> SchedInput {
        SchedInput {
            now: Instant::ZERO,
            saddr,
            sport,
            daddr: Ipv4Addr::new(192, 168, 80, 200),
            dport: 80,
        }
    }

    use rand_core::SeedableRng;
}
