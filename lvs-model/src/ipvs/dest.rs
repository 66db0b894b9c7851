//! Real servers ("destinations" in the kernel): configuration, connection counters and the
//! OVERLOAD flag.
//!
//! A dest lives in the [`DestTable`] arena for as long as it is in a service's list *or*
//! connections still point at it. A dest removed while connections remain goes to the kernel's
//! "trash": it stays here, unavailable, and re-adding the same address:port to the same service
//! key revives it with its counters — even after the service itself was deleted and created
//! again (recorded in E5: a re-created service inherited InActConn). Once no connection refers
//! to it, its slot is freed. (The kernel also keeps an unreferenced dest in the trash for a
//! while; only its byte/packet statistics would differ, and those restart at zero here.)

use std::net::Ipv4Addr;

use super::service::{ServiceId, ServiceKey};
use super::stats::Stats;

/// How packets reach a real server (`lb_kind` in keepalived, `-g/-m/-i` in ipvsadm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ForwardMethod {
    /// Direct routing (`-g`, "Route"): frame re-addressed to the RS, IP packet unchanged.
    DirectRoute,
    /// NAT (`-m`, "Masq"): destination rewritten inbound, source rewritten on replies.
    Masquerade,
    /// IP-in-IP (`-i`, "Tunnel").
    Tunnel,
}

impl ForwardMethod {
    /// The word `ipvsadm -L` prints in the Forward column.
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            ForwardMethod::DirectRoute => "Route",
            ForwardMethod::Masquerade => "Masq",
            ForwardMethod::Tunnel => "Tunnel",
        }
    }
}

/// A real server as ipvsadm `-a/-e` or keepalived's `real_server` describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DestConfig {
    pub addr: Ipv4Addr,
    /// 0 means "the port the client asked for" (port-0 and fwmark services).
    pub port: u16,
    pub forward: ForwardMethod,
    /// 0..=65535; 0 quiesces the dest (no new connections).
    pub weight: u32,
    /// Upper connection threshold (`-x`, keepalived `uthreshold`); 0 = none.
    pub u_threshold: u32,
    /// Lower connection threshold (`-y`, keepalived `lthreshold`); 0 = ¾ of the upper one.
    pub l_threshold: u32,
}

impl DestConfig {
    /// A DR dest with weight 1 and no thresholds, as `ipvsadm -a -t VIP -r RIP` makes.
    pub fn new(addr: Ipv4Addr, port: u16) -> Self {
        DestConfig {
            addr,
            port,
            forward: ForwardMethod::DirectRoute,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
        }
    }
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }
    pub fn forward(mut self, forward: ForwardMethod) -> Self {
        self.forward = forward;
        self
    }
    pub fn thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.u_threshold = upper;
        self.l_threshold = lower;
        self
    }
}

/// Index of a dest in the [`DestTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestId(pub(crate) u32);

/// A dest's live state (`struct ip_vs_dest`).
#[derive(Clone, Debug)]
pub struct RealServer {
    pub addr: Ipv4Addr,
    pub port: u16,
    pub forward: ForwardMethod,
    pub weight: u32,
    /// The last non-zero weight (mh keeps a quiesced dest's slots with it).
    pub last_weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    /// Connections in ESTABLISHED (TCP only).
    pub activeconns: u32,
    /// Every other connection, including all UDP ones.
    pub inactconns: u32,
    /// Persistence templates pointing here.
    pub persistconns: u32,
    /// Set when the upper threshold is reached; every scheduler skips the dest then.
    pub overloaded: bool,
    /// False once the dest was removed from its service (it sits in the trash).
    pub available: bool,
    pub stats: Stats,
    /// The service it belongs (or belonged) to; `None` once that service was deleted.
    pub(crate) service: Option<ServiceId>,
    /// That service's key: the dest trash is keyed by it and outlives the service.
    pub(crate) service_key: ServiceKey,
}

impl RealServer {
    pub(crate) fn new(cfg: &DestConfig, service: ServiceId, service_key: ServiceKey) -> Self {
        RealServer {
            addr: cfg.addr,
            port: cfg.port,
            forward: cfg.forward,
            weight: cfg.weight,
            last_weight: cfg.weight,
            u_threshold: cfg.u_threshold,
            l_threshold: cfg.l_threshold,
            activeconns: 0,
            inactconns: 0,
            persistconns: 0,
            overloaded: false,
            available: true,
            stats: Stats::default(),
            service: Some(service),
            service_key,
        }
    }

    /// `ip_vs_dest_conn_overhead`: an active connection weighs 256 inactive ones.
    pub fn overhead(&self) -> u64 {
        ((self.activeconns as u64) << 8) + self.inactconns as u64
    }

    /// Active plus inactive (`ip_vs_dest_totalconns`), what the thresholds compare with.
    pub fn total_conns(&self) -> u32 {
        self.activeconns + self.inactconns
    }

    /// Entries of any kind that still point at this dest.
    pub(crate) fn refs(&self) -> u32 {
        self.activeconns + self.inactconns + self.persistconns
    }

    /// `__ip_vs_update_dest`: new weight and thresholds; raising or clearing the upper
    /// threshold clears OVERLOAD.
    pub(crate) fn apply(&mut self, cfg: &DestConfig) {
        self.forward = cfg.forward;
        self.weight = cfg.weight;
        if cfg.weight > 0 {
            self.last_weight = cfg.weight;
        }
        if cfg.u_threshold == 0 || cfg.u_threshold > self.u_threshold {
            self.overloaded = false;
        }
        self.u_threshold = cfg.u_threshold;
        self.l_threshold = cfg.l_threshold;
        self.available = true;
    }

    /// After a connection was bound (`ip_vs_bind_dest`).
    pub(crate) fn check_overload_on_bind(&mut self) {
        if self.u_threshold != 0 && self.total_conns() >= self.u_threshold {
            self.overloaded = true;
        }
    }

    /// After a connection was unbound (`ip_vs_unbind_dest`).
    pub(crate) fn check_overload_on_unbind(&mut self) {
        let total = self.total_conns() as u64;
        if self.l_threshold != 0 {
            if total < self.l_threshold as u64 {
                self.overloaded = false;
            }
        } else if self.u_threshold != 0 {
            if total * 4 < self.u_threshold as u64 * 3 {
                self.overloaded = false;
            }
        } else {
            self.overloaded = false;
        }
    }
}

/// What lc/wlc read of a dest, 16 bytes, in an array beside the arena so that a scan of
/// 1,000 dests stays in L1. Kept equal to the [`RealServer`] by [`DestMut`], the only way to
/// change one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DestHot {
    /// [`RealServer::overhead`], or `u64::MAX` when `weight` is 0: lc then needs one compare
    /// per dest (no real overhead reaches it: at most 2^32 × 257), and wlc never looks at
    /// the overhead of a dest it cannot pick.
    pub overhead: u64,
    /// The weight, or 0 while OVERLOADED: either way lc/wlc never pick the dest, so one
    /// field answers both questions.
    pub weight: u32,
}

impl DestHot {
    #[inline]
    fn of(d: &RealServer) -> DestHot {
        let weight = if d.overloaded { 0 } else { d.weight };
        DestHot {
            overhead: if weight == 0 { u64::MAX } else { d.overhead() },
            weight,
        }
    }
}

/// A dest borrowed for change; on drop it refreshes the dest's [`DestHot`] record.
pub struct DestMut<'a> {
    d: &'a mut RealServer,
    hot: &'a mut DestHot,
}

impl core::ops::Deref for DestMut<'_> {
    type Target = RealServer;
    #[inline]
    fn deref(&self) -> &RealServer {
        self.d
    }
}

impl core::ops::DerefMut for DestMut<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut RealServer {
        self.d
    }
}

impl Drop for DestMut<'_> {
    #[inline]
    fn drop(&mut self) {
        *self.hot = DestHot::of(self.d);
    }
}

/// The arena of dests, indexed by [`DestId`]. Freed slots are reused lowest-first, so ids are
/// deterministic.
#[derive(Clone, Debug, Default)]
pub struct DestTable {
    slots: Vec<Option<RealServer>>,
    /// `hot[i]` mirrors `slots[i]` (stale, and never read, for a free slot).
    hot: Vec<DestHot>,
    free: std::collections::BTreeSet<u32>,
}

impl DestTable {
    pub(crate) fn insert(&mut self, d: RealServer) -> DestId {
        let h = DestHot::of(&d);
        if let Some(i) = self.free.pop_first() {
            self.slots[i as usize] = Some(d);
            self.hot[i as usize] = h;
            DestId(i)
        } else {
            self.slots.push(Some(d));
            self.hot.push(h);
            DestId((self.slots.len() - 1) as u32)
        }
    }

    pub(crate) fn remove(&mut self, id: DestId) -> Option<RealServer> {
        let d = self.slots.get_mut(id.0 as usize)?.take();
        if d.is_some() {
            self.free.insert(id.0);
        }
        d
    }

    /// The dest behind `id`.
    ///
    /// # Panics
    /// If `id` was freed; ids held by the tables are always live (an internal invariant).
    #[inline]
    pub fn get(&self, id: DestId) -> &RealServer {
        self.slots[id.0 as usize].as_ref().expect("live dest id")
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: DestId) -> DestMut<'_> {
        DestMut {
            d: self.slots[id.0 as usize].as_mut().expect("live dest id"),
            hot: &mut self.hot[id.0 as usize],
        }
    }

    /// A dest's counters (which no scheduler reads) and its service, without the
    /// [`DestMut`] refresh.
    #[inline(always)]
    pub(crate) fn stats_mut(&mut self, id: DestId) -> (&mut Stats, Option<ServiceId>) {
        let d = self.slots[id.0 as usize].as_mut().expect("live dest id");
        (&mut d.stats, d.service)
    }

    /// The scheduling fields of a live dest.
    #[inline]
    pub(crate) fn hot(&self, id: DestId) -> &DestHot {
        &self.hot[id.0 as usize]
    }

    /// Every slot's scheduling record, indexed by [`DestId`] (a free slot's is stale): lc and
    /// wlc scan it through the list's ids without re-borrowing the table per dest.
    #[inline]
    pub(crate) fn hot_records(&self) -> &[DestHot] {
        &self.hot
    }

    /// Whether every live dest's [`DestHot`] equals its fields (for the invariant check).
    pub(crate) fn hot_in_sync(&self) -> bool {
        self.iter().all(|(id, d)| *self.hot(id) == DestHot::of(d))
    }
    pub fn try_get(&self, id: DestId) -> Option<&RealServer> {
        self.slots.get(id.0 as usize).and_then(|s| s.as_ref())
    }

    /// Live dests (in a list or in the trash), in id order.
    pub fn iter(&self) -> impl Iterator<Item = (DestId, &RealServer)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|d| (DestId(i as u32), d)))
    }

    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
