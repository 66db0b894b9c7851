//! The Linux kernel's IPVS (6.1, "IP Virtual Server version 1.2.1"), sans-IO.
//!
//! [`Ipvs`] owns the virtual services, their dests, the connection table and the counters.
//! It is driven like every node part (quinn-proto style):
//! - administration, as ipvsadm/keepalived perform it: [`Ipvs::add_service`],
//!   [`Ipvs::edit_service`], [`Ipvs::delete_service`], [`Ipvs::add_dest`], [`Ipvs::edit_dest`],
//!   [`Ipvs::delete_dest`], [`Ipvs::set_timeouts`], [`Ipvs::clear`], [`Ipvs::zero_stats`];
//! - inputs: [`Ipvs::process_inbound`] (a packet for a local address — the VIP — at
//!   LOCAL_IN), [`Ipvs::process_outbound`] (a packet the director forwards, for NAT replies),
//!   [`Ipvs::handle_timeout`];
//! - output: each `process_*` returns a [`Verdict`]; [`Ipvs::poll_timeout`] is the next
//!   deadline (connection expiry, the 2 s stats estimator tick);
//! - getters and [`ipvsadm`] renderings of `-Ln`, `-Ln --stats`, `-Lnc`, `--timeout`;
//!   [`Ipvs::pick_dest`] asks a scheduler without creating an entry; [`Ipvs::check_invariants`]
//!   is what the property tests assert after every step.
//!
//! Packets are raw IPv4 (no Ethernet header): the director strips and adds Ethernet and
//! resolves the verdict's `next_hop` through its ARP cache. Time is an argument; randomness
//! (twos, IP ids) comes from the RNG passed in.

pub mod conn;
pub mod dest;
pub mod forward;
pub mod ipvsadm;
pub mod sched;
pub mod service;
pub mod stats;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

pub use conn::{Conn, ConnId, ConnProto, ConnTable, Direction, TcpFlags, TcpState, Timeouts};
pub use dest::{DestConfig, DestId, DestMut, DestTable, ForwardMethod, RealServer};
pub use forward::{Action, Verdict};
pub use sched::{SchedFlags, SchedulerKind};
pub use service::{Persistence, Protocol, ServiceConfig, ServiceId, ServiceKey, VirtualService};
pub use stats::{DropCounters, DropReason, Stats};

use crate::time::{Duration, Instant};
use sched::{DestChange, DestList, SchedState};

/// `/proc/sys/net/ipv4/vs/*` switches the model honours (defaults as recorded in E6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sysctls {
    /// 1: a packet for a connection whose dest was removed expires it (and it is rescheduled
    /// if it is a SYN); removing a dest also flushes its connections. 0: such packets are
    /// dropped.
    pub expire_nodest_conn: bool,
    /// 1: a template pointing at a weight-0 dest is invalidated when next used.
    pub expire_quiescent_template: bool,
    /// Bit 0: a SYN matching a TIME_WAIT/CLOSE entry reschedules; bit 1 adds FIN_WAIT for
    /// DR/TUN entries.
    pub conn_reuse_mode: u8,
    /// 1: TUN copies DF from the inner packet; 0: outer DF clear.
    pub pmtu_disc: bool,
}

impl Default for Sysctls {
    fn default() -> Self {
        Sysctls {
            expire_nodest_conn: false,
            expire_quiescent_template: false,
            conn_reuse_mode: 1,
            pmtu_disc: true,
        }
    }
}

/// The director's network facts IPVS needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpvsConfig {
    /// The director's own address: outer source of TUN packets and source of ICMP errors about
    /// forwarded (non-local) packets.
    pub local_addr: Ipv4Addr,
    /// MTU of the route toward the real servers (and clients).
    pub route_mtu: u16,
}

impl Default for IpvsConfig {
    fn default() -> Self {
        IpvsConfig {
            local_addr: Ipv4Addr::UNSPECIFIED,
            route_mtu: 1500,
        }
    }
}

/// Why an administrative command failed (ipvsadm's messages).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpvsError {
    #[error("Service already exists")]
    ServiceExists,
    #[error("No such service")]
    NoSuchService,
    #[error("Destination already exists")]
    DestExists,
    #[error("No such destination")]
    NoSuchDest,
    #[error("Zero port specified for non-persistent service")]
    ZeroPortNotPersistent,
    #[error("Invalid weight {0} (0..=65535)")]
    InvalidWeight(u32),
    #[error("Lower threshold {lower} above upper threshold {upper}")]
    InvalidThresholds { upper: u32, lower: u32 },
    #[error("Too many destinations for the mh scheduler")]
    TooManyDests,
}

/// Service key → id for the per-packet lookup of a new connection: [`ServiceKey`]s packed into
/// a `u64`, so a lookup compares integers rather than walking a B-tree of enum comparisons.
/// A director has a handful of services, which a scan of a short vector finds fastest; past
/// [`ServiceLookup::SCAN`] services a hash table answers instead.
#[derive(Clone, Debug, Default)]
struct ServiceLookup {
    /// Every service, in no particular order.
    all: Vec<(u64, ServiceId)>,
    /// The same, hashed, once there are more than `SCAN`.
    hashed: Option<hashbrown::HashTable<(u64, ServiceId)>>,
}

impl ServiceLookup {
    const SCAN: usize = 8;

    /// Distinct for distinct keys: protocol numbers fit in bits 48..56, a fwmark sets bit 56.
    #[inline]
    fn pack(key: &ServiceKey) -> u64 {
        match *key {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                ((protocol.number() as u64) << 48) | ((u32::from(addr) as u64) << 16) | port as u64
            }
            ServiceKey::Fwmark(m) => (1 << 56) | m as u64,
        }
    }

    /// murmur3's fmix64.
    #[inline]
    fn hash(k: u64) -> u64 {
        let mut h = k;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn rebuild(&mut self) {
        self.hashed = (self.all.len() > Self::SCAN).then(|| {
            let mut t = hashbrown::HashTable::with_capacity(self.all.len());
            for &e in &self.all {
                t.insert_unique(Self::hash(e.0), e, |e| Self::hash(e.0));
            }
            t
        });
    }

    fn insert(&mut self, key: ServiceKey, id: ServiceId) {
        let k = Self::pack(&key);
        match self.all.iter_mut().find(|e| e.0 == k) {
            Some(e) => e.1 = id,
            None => self.all.push((k, id)),
        }
        self.rebuild();
    }

    fn remove(&mut self, key: &ServiceKey) {
        let k = Self::pack(key);
        self.all.retain(|e| e.0 != k);
        self.rebuild();
    }

    fn len(&self) -> usize {
        self.all.len()
    }

    #[inline]
    fn get(&self, key: &ServiceKey) -> Option<ServiceId> {
        let k = Self::pack(key);
        match &self.hashed {
            None => self.all.iter().find(|e| e.0 == k).map(|e| e.1),
            Some(t) => t.find(Self::hash(k), |e| e.0 == k).map(|e| e.1),
        }
    }
}

/// The estimator tick: `ipvsadm --stats` sees counters as of the last one (E1, E5).
pub const ESTIMATOR_PERIOD: Duration = Duration::from_secs(2);
/// The first estimator tick (a multiple of [`ESTIMATOR_PERIOD`] since the start of the run)
/// strictly after `t`.
fn next_estimator_tick(t: Instant) -> Instant {
    let p = ESTIMATOR_PERIOD.as_nanos() as u64;
    Instant::from_nanos((t.as_nanos() / p + 1).saturating_mul(p))
}

/// How long a template that still controls connections is kept past its deadline.
pub const TEMPLATE_RECHECK: Duration = Duration::from_secs(60);

/// One director's IPVS.
#[derive(Clone, Debug)]
pub struct Ipvs {
    services: Vec<Option<VirtualService>>,
    svc_free: std::collections::BTreeSet<u32>,
    svc_index: BTreeMap<ServiceKey, ServiceId>,
    /// The same map hashed, for the per-packet lookup of a new connection (never iterated).
    svc_lookup: ServiceLookup,
    dests: DestTable,
    /// Removed dests still referenced by entries, by (service, address, port).
    trash: BTreeMap<(ServiceKey, Ipv4Addr, u16), DestId>,
    conns: ConnTable,
    timeouts: Timeouts,
    /// `timeouts` in ns, as entries take them.
    timeouts_ns: conn::TimeoutsNs,
    pub sysctl: Sysctls,
    pub config: IpvsConfig,
    total: Stats,
    drops: DropCounters,
    /// What `--stats` shows: copies taken at the last estimator tick.
    est: Estimates,
}

#[derive(Clone, Debug, Default)]
struct Estimates {
    /// The earliest counter change not yet in the snapshot.
    dirty_since: Option<Instant>,
    total: Stats,
    services: BTreeMap<ServiceKey, Stats>,
    dests: BTreeMap<(ServiceKey, Ipv4Addr, u16), Stats>,
}

impl Default for Ipvs {
    fn default() -> Self {
        Ipvs::new(IpvsConfig::default())
    }
}

impl Ipvs {
    pub fn new(config: IpvsConfig) -> Self {
        Ipvs {
            services: Vec::new(),
            svc_free: Default::default(),
            svc_index: BTreeMap::new(),
            svc_lookup: ServiceLookup::default(),
            dests: DestTable::default(),
            trash: BTreeMap::new(),
            conns: ConnTable::default(),
            timeouts: Timeouts::default(),
            timeouts_ns: (&Timeouts::default()).into(),
            sysctl: Sysctls::default(),
            config,
            total: Stats::default(),
            drops: DropCounters::default(),
            est: Estimates::default(),
        }
    }

    // ----- getters -------------------------------------------------------------------------

    /// Services in the order `ipvsadm -L` prints them.
    pub fn services(&self) -> impl Iterator<Item = &VirtualService> {
        let mut v: Vec<&VirtualService> = self.services.iter().flatten().collect();
        v.sort_by_key(|s| s.config.key.ipvsadm_order());
        v.into_iter()
    }

    pub fn service(&self, key: &ServiceKey) -> Option<&VirtualService> {
        let id = self.svc_index.get(key)?;
        self.services[id.0 as usize].as_ref()
    }

    /// A service's dests in kernel list order (head first).
    pub fn dests_of(&self, key: &ServiceKey) -> impl Iterator<Item = &RealServer> {
        self.service(key)
            .into_iter()
            .flat_map(|s| s.dests.iter().map(|&id| self.dests.get(id)))
    }

    pub fn dest(&self, key: &ServiceKey, addr: Ipv4Addr, port: u16) -> Option<&RealServer> {
        self.dests_of(key)
            .find(|d| d.addr == addr && d.port == port)
    }

    /// The dest arena (dests in lists and in the trash).
    pub fn dest_table(&self) -> &DestTable {
        &self.dests
    }

    pub fn conns(&self) -> &ConnTable {
        &self.conns
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Live totals (`/proc/net/ip_vs_stats` as summed per-CPU).
    pub fn total_stats(&self) -> Stats {
        self.total
    }

    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }

    // ----- administration ------------------------------------------------------------------

    /// `ipvsadm -A` / keepalived creating a `virtual_server`.
    pub fn add_service(&mut self, cfg: ServiceConfig) -> Result<ServiceId, IpvsError> {
        if self.svc_index.contains_key(&cfg.key) {
            return Err(IpvsError::ServiceExists);
        }
        if let ServiceKey::Addr { port: 0, .. } = cfg.key
            && cfg.persistence.is_none()
        {
            return Err(IpvsError::ZeroPortNotPersistent);
        }
        let sched = SchedState::new(cfg.scheduler, DestList::new(&[], &self.dests));
        let svc = VirtualService {
            config: cfg,
            dests: Vec::new(),
            stats: Stats::default(),
            sched,
        };
        let id = match self.svc_free.pop_first() {
            Some(i) => {
                self.services[i as usize] = Some(svc);
                ServiceId(i)
            }
            None => {
                self.services.push(Some(svc));
                ServiceId((self.services.len() - 1) as u32)
            }
        };
        self.svc_index.insert(cfg.key, id);
        self.svc_lookup.insert(cfg.key, id);
        Ok(id)
    }

    /// `ipvsadm -E`: scheduler, flags and persistence; a new scheduler starts fresh on the
    /// current list.
    pub fn edit_service(&mut self, cfg: ServiceConfig) -> Result<(), IpvsError> {
        let id = *self
            .svc_index
            .get(&cfg.key)
            .ok_or(IpvsError::NoSuchService)?;
        let svc = self.services[id.0 as usize]
            .as_mut()
            .ok_or(IpvsError::NoSuchService)?;
        if svc.config.scheduler != cfg.scheduler {
            svc.sched = SchedState::new(cfg.scheduler, DestList::new(&svc.dests, &self.dests));
        }
        svc.config = cfg;
        Ok(())
    }

    /// `ipvsadm -D`: the dests go to the trash while entries use them.
    pub fn delete_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        let id = self.svc_index.remove(key).ok_or(IpvsError::NoSuchService)?;
        self.svc_lookup.remove(key);
        let svc = self.services[id.0 as usize]
            .take()
            .ok_or(IpvsError::NoSuchService)?;
        self.svc_free.insert(id.0);
        for did in svc.dests {
            let (refs, addr, port) = {
                let mut d = self.dests.get_mut(did);
                d.available = false;
                d.service = None;
                (d.refs(), d.addr, d.port)
            };
            if refs == 0 {
                self.dests.remove(did);
            } else {
                // To the trash, where a re-created service finds it again (E5).
                self.trash.insert((*key, addr, port), did);
            }
        }
        for did in self
            .trash
            .iter()
            .filter(|((k, _, _), _)| k == key)
            .map(|(_, &id)| id)
            .collect::<Vec<_>>()
        {
            self.dests.get_mut(did).service = None;
        }
        if self.sysctl.expire_nodest_conn {
            self.flush_nodest_conns();
        }
        Ok(())
    }

    /// `ipvsadm -C`.
    pub fn clear(&mut self) {
        let keys: Vec<ServiceKey> = self.svc_index.keys().copied().collect();
        for k in keys {
            let _ = self.delete_service(&k);
        }
    }

    /// `ipvsadm -Z`: zero every counter.
    pub fn zero_stats(&mut self) {
        self.total = Stats::default();
        for s in self.services.iter_mut().flatten() {
            s.stats = Stats::default();
        }
        let ids: Vec<DestId> = self.dests.iter().map(|(id, _)| id).collect();
        for id in ids {
            self.dests.get_mut(id).stats = Stats::default();
        }
        // `-Z` clears the estimator's copy too, so `--stats` shows zeros at once.
        self.snapshot_estimates();
    }

    fn validate_dest(cfg: &DestConfig) -> Result<(), IpvsError> {
        if cfg.weight > 65535 {
            return Err(IpvsError::InvalidWeight(cfg.weight));
        }
        if cfg.u_threshold != 0 && cfg.l_threshold > cfg.u_threshold {
            return Err(IpvsError::InvalidThresholds {
                upper: cfg.u_threshold,
                lower: cfg.l_threshold,
            });
        }
        Ok(())
    }

    fn svc_id(&self, key: &ServiceKey) -> Result<ServiceId, IpvsError> {
        self.svc_index
            .get(key)
            .copied()
            .ok_or(IpvsError::NoSuchService)
    }

    /// `ipvsadm -a` / keepalived adding a real server: the dest goes to the **head** of the
    /// list. A dest of this service still in the trash is revived with its counters.
    pub fn add_dest(&mut self, key: &ServiceKey, cfg: DestConfig) -> Result<DestId, IpvsError> {
        Self::validate_dest(&cfg)?;
        let sid = self.svc_id(key)?;
        let svc = self.services[sid.0 as usize]
            .as_ref()
            .ok_or(IpvsError::NoSuchService)?;
        if svc
            .dests
            .iter()
            .any(|&id| self.dests.get(id).addr == cfg.addr && self.dests.get(id).port == cfg.port)
        {
            return Err(IpvsError::DestExists);
        }
        if svc.config.scheduler == SchedulerKind::Mh && svc.dests.len() >= sched::mh::TAB_SIZE {
            return Err(IpvsError::TooManyDests);
        }
        let id = match self.trash.remove(&(*key, cfg.addr, cfg.port)) {
            Some(id) => {
                let mut d = self.dests.get_mut(id);
                d.apply(&cfg);
                if d.service != Some(sid) {
                    // Bound to a new service object: the kernel zeroes its statistics
                    // (connection counters stay with their entries).
                    d.stats = Stats::default();
                }
                d.service = Some(sid);
                id
            }
            None => self.dests.insert(RealServer::new(&cfg, sid, *key)),
        };
        let svc = self.services[sid.0 as usize]
            .as_mut()
            .ok_or(IpvsError::NoSuchService)?;
        svc.dests.insert(0, id);
        svc.sched.dest_changed(
            DestList::new(&svc.dests, &self.dests),
            DestChange::Added(id),
        );
        Ok(id)
    }

    fn find_dest(&self, sid: ServiceId, addr: Ipv4Addr, port: u16) -> Result<usize, IpvsError> {
        let svc = self.services[sid.0 as usize]
            .as_ref()
            .ok_or(IpvsError::NoSuchService)?;
        svc.dests
            .iter()
            .position(|&id| self.dests.get(id).addr == addr && self.dests.get(id).port == port)
            .ok_or(IpvsError::NoSuchDest)
    }

    /// `ipvsadm -e` / keepalived changing a weight (e.g. `inhibit_on_failure` sets 0).
    pub fn edit_dest(&mut self, key: &ServiceKey, cfg: DestConfig) -> Result<(), IpvsError> {
        Self::validate_dest(&cfg)?;
        let sid = self.svc_id(key)?;
        let pos = self.find_dest(sid, cfg.addr, cfg.port)?;
        let svc = self.services[sid.0 as usize]
            .as_mut()
            .ok_or(IpvsError::NoSuchService)?;
        let id = svc.dests[pos];
        self.dests.get_mut(id).apply(&cfg);
        svc.sched.dest_changed(
            DestList::new(&svc.dests, &self.dests),
            DestChange::Updated(id),
        );
        Ok(())
    }

    /// `ipvsadm -d` / keepalived removing a failed real server. Its entries stay (packets for
    /// them are dropped, or expire them with `expire_nodest_conn`).
    pub fn delete_dest(
        &mut self,
        key: &ServiceKey,
        addr: Ipv4Addr,
        port: u16,
    ) -> Result<(), IpvsError> {
        let sid = self.svc_id(key)?;
        let pos = self.find_dest(sid, addr, port)?;
        let svc = self.services[sid.0 as usize]
            .as_mut()
            .ok_or(IpvsError::NoSuchService)?;
        let id = svc.dests.remove(pos);
        let prev = pos.checked_sub(1).map(|p| svc.dests[p]);
        self.dests.get_mut(id).available = false;
        svc.sched.dest_changed(
            DestList::new(&svc.dests, &self.dests),
            DestChange::Removed { id, prev },
        );
        if self.dests.get(id).refs() == 0 {
            self.free_dest(id);
        } else {
            self.trash.insert((*key, addr, port), id);
        }
        if self.sysctl.expire_nodest_conn {
            self.flush_nodest_conns();
        }
        Ok(())
    }

    /// `ipvsadm --set tcp tcpfin udp` (0 leaves a value unchanged). Entries pick the new
    /// values up on their next packet (E6).
    pub fn set_timeouts(&mut self, tcp: Duration, tcpfin: Duration, udp: Duration) {
        self.timeouts.set(tcp, tcpfin, udp);
        self.timeouts_ns = (&self.timeouts).into();
    }

    fn free_dest(&mut self, id: DestId) {
        let Some(d) = self.dests.remove(id) else {
            return;
        };
        let tkey = (d.service_key, d.addr, d.port);
        if self.trash.get(&tkey) == Some(&id) {
            self.trash.remove(&tkey);
        }
        if let Some(sid) = d.service
            && let Some(svc) = self.services[sid.0 as usize].as_mut()
        {
            svc.sched.forget(id);
        }
    }

    /// Expire every connection whose dest is unavailable, then templates left without
    /// children (`ip_vs_expire_nodest_conn_flush`).
    fn flush_nodest_conns(&mut self) {
        let victims: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.template && !self.dests.get(c.dest).available)
            .map(|(id, _)| id)
            .collect();
        for id in victims {
            self.expire_now(id);
        }
        let templates: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.template && c.n_control == 0 && !self.dests.get(c.dest).available)
            .map(|(id, _)| id)
            .collect();
        for id in templates {
            self.expire_now(id);
        }
    }

    // ----- entry lifecycle -----------------------------------------------------------------

    /// Remove an entry that has no children: unhash, uncount, detach from its template, and
    /// free its dest if that was the last reference to a removed dest.
    fn remove_conn(&mut self, id: ConnId) {
        let Some(c) = self.conns.remove(id) else {
            return;
        };
        conn::unbind(&c, &mut self.dests);
        if let Some(t) = c.control()
            && let Some(tc) = self.conns.get_mut(t)
        {
            tc.n_control = tc.n_control.saturating_sub(1);
        }
        let d = self.dests.get(c.dest);
        if !d.available && d.refs() == 0 {
            self.free_dest(c.dest);
        }
    }

    /// `ip_vs_conn_expire_now`: gone at once unless it still controls connections.
    fn expire_now(&mut self, id: ConnId) {
        match self.conns.get(id) {
            Some(c) if c.n_control == 0 => self.remove_conn(id),
            Some(_) => self.conns.unhash(id),
            None => {}
        }
    }

    /// The next deadline: an entry's expiry or the estimator tick.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let est = self.est.dirty_since.map(next_estimator_tick);
        match (self.conns.poll_timeout(), est) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// [`Ipvs::poll_timeout`] after settling the timers that would expire nothing (see
    /// `ConnTable::settle_timers`): the same expiries at the same times, without the
    /// wake-ups that do nothing.
    #[must_use]
    pub fn poll_timeout_mut(&mut self) -> Option<Instant> {
        self.conns.settle_timers();
        self.poll_timeout()
    }

    /// Expire due entries (a template with live children is kept another 60 s) and run the
    /// estimator tick.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((id, due)) = self.conns.pop_due(now) {
            let Some(c) = self.conns.get(id) else {
                continue;
            };
            if c.n_control > 0 {
                // Re-armed from when the timer fired, however late the driver calls.
                self.conns.extend(id, due, TEMPLATE_RECHECK);
            } else {
                self.remove_conn(id);
            }
        }
        if let Some(since) = self.est.dirty_since
            && next_estimator_tick(since) <= now
        {
            self.snapshot_estimates();
        }
    }

    /// Counters changed at `now`: the next estimator tick will copy them.
    pub(crate) fn mark_stats_dirty(&mut self, now: Instant) {
        if self.est.dirty_since.is_none() {
            self.est.dirty_since = Some(now);
        }
    }

    fn snapshot_estimates(&mut self) {
        self.est.dirty_since = None;
        self.est.total = self.total;
        self.est.services.clear();
        self.est.dests.clear();
        for svc in self.services.iter().flatten() {
            self.est.services.insert(svc.config.key, svc.stats);
            for &id in &svc.dests {
                let d = self.dests.get(id);
                self.est
                    .dests
                    .insert((svc.config.key, d.addr, d.port), d.stats);
            }
        }
    }

    /// Counters as `ipvsadm --stats` shows them: as of the last estimator tick.
    pub fn estimated_service_stats(&self, key: &ServiceKey) -> Stats {
        self.est.services.get(key).copied().unwrap_or_default()
    }

    pub fn estimated_dest_stats(&self, key: &ServiceKey, addr: Ipv4Addr, port: u16) -> Stats {
        self.est
            .dests
            .get(&(*key, addr, port))
            .copied()
            .unwrap_or_default()
    }

    pub fn estimated_total_stats(&self) -> Stats {
        self.est.total
    }

    /// Ask the service's scheduler for a dest, as a new connection from `saddr:sport` to
    /// `daddr:dport` would, without creating an entry. Stateful schedulers (rr, wrr, lblc…)
    /// advance exactly as for a real connection. For benches and "where would it go" queries.
    pub fn pick_dest(
        &mut self,
        key: &ServiceKey,
        now: Instant,
        saddr: Ipv4Addr,
        sport: u16,
        rng: &mut impl rand_core::Rng,
    ) -> Option<&RealServer> {
        let sid = *self.svc_index.get(key)?;
        let svc = self.services.get_mut(sid.0 as usize)?.as_mut()?;
        let (daddr, dport) = match svc.config.key {
            ServiceKey::Addr { addr, port, .. } => (addr, port),
            ServiceKey::Fwmark(_) => (Ipv4Addr::UNSPECIFIED, 0),
        };
        let input = sched::SchedInput {
            now,
            saddr,
            sport,
            daddr,
            dport,
        };
        let id = svc.sched.schedule(
            DestList::new(&svc.dests, &self.dests),
            svc.config.flags,
            &input,
            rng,
        )?;
        Some(self.dests.get(id))
    }

    /// Check the invariants the property tests rely on; `Err` names the first broken one.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut counts: BTreeMap<DestId, (u32, u32, u32)> = BTreeMap::new();
        let mut children: BTreeMap<ConnId, u32> = BTreeMap::new();
        for (id, c) in self.conns.iter() {
            if self.dests.try_get(c.dest).is_none() {
                return Err(format!("entry {id:?} points at a freed dest"));
            }
            let e = counts.entry(c.dest).or_default();
            if c.template {
                e.2 += 1;
            } else if c.inactive {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
            if c.protocol == ConnProto::Udp && !c.inactive {
                return Err(format!("UDP entry {id:?} counted active"));
            }
            if !c.inactive && c.state != TcpState::Established {
                return Err(format!("active entry {id:?} in {:?}", c.state));
            }
            if let Some(t) = c.control() {
                *children.entry(t).or_default() += 1;
            }
        }
        if self.svc_lookup.len() != self.svc_index.len()
            || self
                .svc_index
                .iter()
                .any(|(k, &id)| self.svc_lookup.get(k) != Some(id))
        {
            return Err("the hashed service lookup differs from the service index".into());
        }
        if !self.dests.hot_in_sync() {
            return Err("a dest's scheduling record differs from the dest".into());
        }
        for (id, d) in self.dests.iter() {
            let (a, i, p) = counts.get(&id).copied().unwrap_or_default();
            if (d.activeconns, d.inactconns, d.persistconns) != (a, i, p) {
                return Err(format!(
                    "dest {}:{} counters {}/{}/{} but entries {a}/{i}/{p}",
                    d.addr, d.port, d.activeconns, d.inactconns, d.persistconns
                ));
            }
            if !d.available && d.refs() == 0 {
                return Err(format!("removed dest {}:{} not freed", d.addr, d.port));
            }
        }
        for (id, c) in self.conns.iter() {
            let n = children.get(&id).copied().unwrap_or_default();
            if c.n_control != n {
                return Err(format!("template {id:?} n_control {} != {n}", c.n_control));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed lookup answers as the B-tree does, scanning and hashed, through adds,
    /// replacements and removals.
    #[test]
    fn service_lookup_agrees_with_the_index() {
        let mut lookup = ServiceLookup::default();
        let mut index: BTreeMap<ServiceKey, ServiceId> = BTreeMap::new();
        let mut keys = Vec::new();
        for i in 0..12u32 {
            keys.push(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, i as u8), 80));
            keys.push(ServiceKey::udp(Ipv4Addr::new(10, 0, 0, i as u8), 80));
            keys.push(ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, i as u8), 0));
            keys.push(ServiceKey::Fwmark(i + 1));
        }
        let probe = |lookup: &ServiceLookup, index: &BTreeMap<ServiceKey, ServiceId>| {
            assert_eq!(lookup.len(), index.len());
            for k in &keys {
                assert_eq!(lookup.get(k), index.get(k).copied(), "{k:?}");
            }
        };
        for (i, k) in keys.iter().enumerate() {
            lookup.insert(*k, ServiceId(i as u32));
            index.insert(*k, ServiceId(i as u32));
            probe(&lookup, &index);
        }
        lookup.insert(keys[3], ServiceId(99));
        index.insert(keys[3], ServiceId(99));
        probe(&lookup, &index);
        assert!(lookup.hashed.is_some());
        for k in keys.iter().step_by(2) {
            lookup.remove(k);
            index.remove(k);
            probe(&lookup, &index);
        }
        for k in &keys {
            lookup.remove(k);
            index.remove(k);
        }
        probe(&lookup, &index);
        assert!(lookup.hashed.is_none());
    }
}
