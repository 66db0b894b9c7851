//! keepalived's VRRP child for one director: all its instances, sync groups and trackers,
//! behind the node contract the director composes.
//!
//! Inputs: [`VrrpProcess::handle_frame`], [`VrrpProcess::handle_timeout`], the process
//! actions [`VrrpProcess::start`] / [`VrrpProcess::stop`] / [`VrrpProcess::crash`], and the
//! tracker inputs [`VrrpProcess::set_link`] / [`VrrpProcess::set_script_result`]. After every
//! input drain [`VrrpProcess::poll_transmit`] (complete Ethernet frames), then
//! [`VrrpProcess::poll_event`] and [`VrrpProcess::poll_vip_change`], then ask
//! [`VrrpProcess::poll_timeout`].
//!
//! A new process is not running; call `start`. Link state belongs to the host and survives
//! stop/crash/start (all links start up); script results belong to the process and are reset
//! by `start`. VIPs belong to the interface: a crash leaves them configured
//! ([`VrrpProcess::vips_held`]) until a later `start` removes them, as keepalived's forced
//! restore does.

use super::config::{InterfaceConfig, ProcessConfig, TrackInterface, TrackScript};
use super::instance::{InstanceTransmit, RxMeta, VrrpInstance};
use super::stats::{ProcessStats, VrrpStats};
use super::track::ScriptState;
use crate::event::{Event, VrrpStateName};
use crate::node::{PortId, Transmit};
use crate::time::Instant;
use crate::wire::vrrp::{self as wire, AdvertIp};
use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet};
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

/// A VIP was added to or removed from one of the director's interfaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipChange {
    pub port: PortId,
    pub ip: Ipv4Addr,
    pub added: bool,
}

#[derive(Clone, Debug)]
struct SyncGroup {
    members: Vec<usize>,
    track_interfaces: Vec<String>,
    track_scripts: Vec<usize>,
}

/// Resolved tracker of one instance.
#[derive(Clone, Debug)]
struct InstanceTrack {
    iface: usize,
    /// (interface index, weight, reverse)
    interfaces: Vec<(usize, i32, bool)>,
    /// (script index, weight, reverse)
    scripts: Vec<(usize, i32, bool)>,
    dont_track_primary: bool,
}

/// One director's VRRP child process.
#[derive(Clone, Debug)]
pub struct VrrpProcess {
    interfaces: Vec<InterfaceConfig>,
    links: Vec<bool>,
    scripts: Vec<ScriptState>,
    instances: Vec<VrrpInstance>,
    tracks: Vec<InstanceTrack>,
    groups: Vec<SyncGroup>,
    /// Which group each instance is in.
    group_of: Vec<Option<usize>>,
    running: bool,
    /// IPv4 identification for our adverts (the kernel fills it for keepalived; any value is
    /// fine on the wire, a counter keeps runs deterministic).
    ip_ident: u16,
    neighbors: BTreeMap<Ipv4Addr, EthernetAddress>,
    /// VIP → (instance index) for VIPs configured on an interface.
    held: BTreeMap<(PortId, Ipv4Addr), usize>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    vip_changes: VecDeque<VipChange>,
    stats: ProcessStats,
}

/// Why a configuration cannot be run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("vrrp_instance {instance}: unknown interface `{interface}`")]
    UnknownInterface { instance: String, interface: String },
    #[error("vrrp_instance {instance}: virtual_router_id {vrid} already used on {interface}")]
    DuplicateVrid {
        instance: String,
        vrid: u8,
        interface: String,
    },
    #[error("vrrp_instance {0}: virtual_router_id must be 1..255")]
    BadVrid(String),
    #[error("vrrp_instance {0}: version must be 2 or 3")]
    BadVersion(String),
}

impl VrrpProcess {
    /// Build the (stopped) process. Unknown tracked interfaces or scripts are ignored, as
    /// keepalived ignores them with a warning; an instance on an unknown interface is an error.
    pub fn new(cfg: ProcessConfig) -> Result<Self, ConfigError> {
        let iface_index = |name: &str| cfg.interfaces.iter().position(|i| i.name == name);
        let script_index = |name: &str| cfg.scripts.iter().position(|s| s.name == name);
        let mut instances = Vec::new();
        let mut tracks = Vec::new();
        let mut seen: BTreeMap<(usize, u8), ()> = BTreeMap::new();
        let mut group_of = vec![None; cfg.instances.len()];
        let mut groups = Vec::new();
        for (gi, g) in cfg.sync_groups.iter().enumerate() {
            let members: Vec<usize> = g
                .members
                .iter()
                .filter_map(|m| cfg.instances.iter().position(|i| &i.name == m))
                .filter(|&i| group_of[i].is_none())
                .collect();
            for &m in &members {
                group_of[m] = Some(gi);
            }
            groups.push(SyncGroup {
                members,
                track_interfaces: g.track_interfaces.clone(),
                track_scripts: g
                    .track_scripts
                    .iter()
                    .filter_map(|s| script_index(s))
                    .collect(),
            });
        }
        for (ii, ic) in cfg.instances.iter().enumerate() {
            if ic.vrid == 0 {
                return Err(ConfigError::BadVrid(ic.name.clone()));
            }
            if ic.version != 2 && ic.version != 3 {
                return Err(ConfigError::BadVersion(ic.name.clone()));
            }
            let iface =
                iface_index(&ic.interface).ok_or_else(|| ConfigError::UnknownInterface {
                    instance: ic.name.clone(),
                    interface: ic.interface.clone(),
                })?;
            if seen.insert((iface, ic.vrid), ()).is_some() {
                return Err(ConfigError::DuplicateVrid {
                    instance: ic.name.clone(),
                    vrid: ic.vrid,
                    interface: ic.interface.clone(),
                });
            }
            // In a sync group without sync_group_tracking_weight, member weights are ignored:
            // a weighted interface becomes weight 0, a weighted script is dropped.
            let weights_allowed = group_of[ii]
                .map(|g| cfg.sync_groups[g].sync_group_tracking_weight)
                .unwrap_or(true);
            let interfaces = ic
                .track_interfaces
                .iter()
                .filter_map(
                    |TrackInterface {
                         interface,
                         weight,
                         reverse,
                     }| {
                        let w = if weights_allowed { *weight } else { 0 };
                        iface_index(interface).map(|x| (x, w, *reverse))
                    },
                )
                .collect();
            let scripts = ic
                .track_scripts
                .iter()
                .filter_map(
                    |TrackScript {
                         script,
                         weight,
                         reverse,
                     }| {
                        let si = script_index(script)?;
                        let sc = &cfg.scripts[si];
                        let w = weight.unwrap_or(sc.weight);
                        if !weights_allowed && w != 0 {
                            return None;
                        }
                        Some((si, w, reverse.unwrap_or(sc.reverse)))
                    },
                )
                .collect();
            tracks.push(InstanceTrack {
                iface,
                interfaces,
                scripts,
                dont_track_primary: ic.dont_track_primary,
            });
            let mut inst = VrrpInstance::new(ic.clone(), cfg.interfaces[iface].ip);
            inst.set_in_sync_group(group_of[ii].is_some());
            instances.push(inst);
        }
        Ok(VrrpProcess {
            links: vec![true; cfg.interfaces.len()],
            scripts: cfg.scripts.iter().map(ScriptState::new).collect(),
            interfaces: cfg.interfaces,
            instances,
            tracks,
            groups,
            group_of,
            running: false,
            ip_ident: 0,
            neighbors: BTreeMap::new(),
            held: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            vip_changes: VecDeque::new(),
            stats: ProcessStats::default(),
        })
    }

    // ---- getters ----

    pub fn is_running(&self) -> bool {
        self.running
    }

    pub fn instances(&self) -> &[VrrpInstance] {
        &self.instances
    }

    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name() == name)
    }

    /// Per-instance counters.
    pub fn instance_stats(&self, name: &str) -> Option<&VrrpStats> {
        self.instance(name).map(|i| i.stats())
    }

    /// Counters of the packet path before an instance.
    pub fn stats(&self) -> &ProcessStats {
        &self.stats
    }

    /// VIPs currently configured on the director's interfaces (in address order). The
    /// director answers ARP for these.
    pub fn vips_held(&self) -> impl Iterator<Item = (PortId, Ipv4Addr)> + '_ {
        self.held.keys().copied()
    }

    /// Whether `ip` is configured on `port`.
    pub fn holds_vip(&self, port: PortId, ip: Ipv4Addr) -> bool {
        self.held.contains_key(&(port, ip))
    }

    // ---- outputs ----

    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    #[must_use]
    pub fn poll_vip_change(&mut self) -> Option<VipChange> {
        self.vip_changes.pop_front()
    }

    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.running {
            return None;
        }
        self.instances.iter().filter_map(|i| i.poll_timeout()).min()
    }

    // ---- inputs ----

    /// Start the process as a fresh keepalived: scripts back to "not yet run", every
    /// instance to BACKUP (or FAULT), VIPs left over from a crash removed. Ignored when running.
    pub fn start(&mut self, now: Instant) {
        if self.running {
            return;
        }
        self.running = true;
        for s in &mut self.scripts {
            s.reset();
        }
        for idx in 0..self.instances.len() {
            let fault = self.fault_of(idx);
            let total = self.total_priority(idx);
            self.instances[idx].set_total_priority(now, total);
            self.instances[idx].start(now, fault);
        }
        self.flush(now);
    }

    /// Graceful stop (SIGTERM): each MASTER sends a priority-0 advert and removes its VIPs.
    pub fn stop(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        for i in &mut self.instances {
            i.stop(now);
        }
        self.flush(now);
        self.running = false;
    }

    /// Crash (SIGKILL): nothing is sent, VIPs stay configured.
    pub fn crash(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        for i in &mut self.instances {
            i.crash(now);
        }
        self.flush(now);
        self.running = false;
    }

    /// The link of `port` went up or down (keepalived learns it from netlink).
    pub fn set_link(&mut self, now: Instant, port: PortId, up: bool) {
        for (i, iface) in self.interfaces.iter().enumerate() {
            if iface.port == port {
                self.links[i] = up;
            }
        }
        self.retrack(now);
    }

    /// A run of `vrrp_script` `name` finished: `ok` is exit status 0. Unknown names are
    /// ignored. Ignored while the process is not running (no script runs then).
    pub fn set_script_result(&mut self, now: Instant, name: &str, ok: bool) {
        if !self.running {
            return;
        }
        if let Some(s) = self.scripts.iter_mut().find(|s| s.name() == name) {
            s.record(ok);
        }
        self.retrack(now);
    }

    /// Add or replace a neighbour entry (used for unicast peers' MACs).
    pub fn set_neighbor(&mut self, ip: Ipv4Addr, mac: EthernetAddress) {
        self.neighbors.insert(ip, mac);
    }

    /// A frame arrived on `port`. Returns `true` when it is an IPv4 VRRP packet (protocol 112),
    /// which this process consumes whether or not it is valid; other frames are left to the
    /// caller. Invalid packets are counted and dropped.
    pub fn handle_frame(&mut self, now: Instant, port: PortId, frame: &[u8]) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return false;
        };
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            return false;
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return false;
        };
        if ip.next_header() != IpProtocol::Unknown(wire::IP_PROTOCOL) {
            return false;
        }
        self.stats.vrrp_frames += 1;
        if !self.running {
            self.stats.not_running += 1;
            return true;
        }
        if !ip.verify_checksum() {
            self.stats.ip_checksum_err += 1;
            return true;
        }
        if ip.more_frags() || ip.frag_offset() != 0 {
            self.stats.ip_fragment += 1;
            return true;
        }
        let Some(ifx) = self.interfaces.iter().position(|i| i.port == port) else {
            self.stats.unknown_port += 1;
            return true;
        };
        // The NIC only passes frames for our MAC, broadcast, or a multicast group we joined.
        let dst_mac = eth.dst_addr();
        let joined = |m: EthernetAddress| {
            self.instances
                .iter()
                .zip(&self.tracks)
                .any(|(i, t)| t.iface == ifx && wire::multicast_mac(i.config().mcast_group) == m)
        };
        if dst_mac != self.interfaces[ifx].mac && !dst_mac.is_broadcast() && !joined(dst_mac) {
            self.stats.not_for_us += 1;
            return true;
        }
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if src == self.interfaces[ifx].ip {
            self.stats.own_packet += 1;
            return true;
        }
        let payload = &ip.payload()[..usize::from(ip.total_len()) - usize::from(ip.header_len())];
        if payload.len() < wire::HEADER_LEN {
            self.stats.too_short += 1;
            return true;
        }
        let vrid = payload[1];
        let Some(idx) = self
            .instances
            .iter()
            .enumerate()
            .position(|(k, i)| i.config().vrid == vrid && self.tracks[k].iface == ifx)
        else {
            self.stats.unknown_vrid += 1;
            return true;
        };
        let inst = &self.instances[idx];
        let for_us = if dst.is_multicast() {
            dst == inst.config().mcast_group
        } else {
            dst == inst.src_ip() || dst == self.interfaces[ifx].ip
        };
        if !for_us {
            self.stats.not_for_us += 1;
            return true;
        }
        if !dst.is_multicast() || !inst.config().unicast_peers.is_empty() {
            self.neighbors.insert(src, eth.src_addr());
        }
        let rx = RxMeta {
            src,
            dst,
            ttl: ip.hop_limit(),
        };
        if self.instances[idx].handle_packet(now, &rx, payload).is_ok() {
            self.flush(now);
        }
        true
    }

    /// Deadlines that have come are processed; early or spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        for i in &mut self.instances {
            if i.poll_timeout().is_some_and(|t| t <= now) {
                i.handle_timeout(now);
            }
        }
        self.flush(now);
    }

    // ---- internals ----

    fn link_up(&self, iface: usize) -> bool {
        self.links[iface]
    }

    fn tracker_up(&self, up: bool, reverse: bool) -> bool {
        up != reverse
    }

    /// The instance's own fault conditions: its interface down (unless dont_track_primary),
    /// a weight-0 tracked interface down, a weight-0 script not (yet) good.
    fn own_fault(&self, idx: usize) -> bool {
        let t = &self.tracks[idx];
        if !t.dont_track_primary && !self.link_up(t.iface) {
            return true;
        }
        if t.interfaces
            .iter()
            .any(|&(i, w, _)| w == 0 && !self.link_up(i))
        {
            return true;
        }
        t.scripts
            .iter()
            .any(|&(s, w, _)| w == 0 && !self.scripts[s].is_good())
    }

    /// FAULT for an instance: its own conditions, or (in a sync group) any member's, or a
    /// failed group tracker.
    fn fault_of(&self, idx: usize) -> bool {
        match self.group_of[idx] {
            None => self.own_fault(idx),
            Some(g) => {
                let grp = &self.groups[g];
                grp.members.iter().any(|&m| self.own_fault(m))
                    || grp.track_interfaces.iter().any(|name| {
                        self.interfaces
                            .iter()
                            .position(|i| &i.name == name)
                            .is_some_and(|i| !self.link_up(i))
                    })
                    || grp
                        .track_scripts
                        .iter()
                        .any(|&s| !self.scripts[s].is_good())
            }
        }
    }

    /// Base priority plus weighted trackers: `+w` while up for w > 0, `w` while down for
    /// w < 0 (`reverse` swaps up and down). Scripts that have not reported yet count neither way.
    fn total_priority(&self, idx: usize) -> i32 {
        let t = &self.tracks[idx];
        let mut total = i32::from(self.instances[idx].config().priority);
        for &(i, w, rev) in &t.interfaces {
            let up = self.tracker_up(self.link_up(i), rev);
            if (w > 0 && up) || (w < 0 && !up) {
                total += w;
            }
        }
        for &(s, w, rev) in &t.scripts {
            let Some(good) = self.scripts[s].result() else {
                continue;
            };
            let up = self.tracker_up(good, rev);
            if (w > 0 && up) || (w < 0 && !up) {
                total += w;
            }
        }
        total
    }

    fn retrack(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        for idx in 0..self.instances.len() {
            let total = self.total_priority(idx);
            self.instances[idx].set_total_priority(now, total);
            let fault = self.fault_of(idx);
            let can_send = self.link_up(self.tracks[idx].iface);
            self.instances[idx].set_fault(now, fault, can_send);
        }
        self.flush(now);
    }

    /// Drain the instances' outputs into frames, events and VIP changes, then apply the sync
    /// group rules until nothing changes.
    fn flush(&mut self, now: Instant) {
        loop {
            let mut left_master = Vec::new();
            for idx in 0..self.instances.len() {
                while let Some(t) = self.instances[idx].poll_transmit() {
                    self.emit(idx, t);
                }
                while let Some(e) = self.instances[idx].poll_event() {
                    match &e {
                        Event::Vip { ip, added, .. } => {
                            let port = self.interfaces[self.tracks[idx].iface].port;
                            if *added {
                                self.held.insert((port, *ip), idx);
                            } else {
                                self.held.remove(&(port, *ip));
                            }
                            self.vip_changes.push_back(VipChange {
                                port,
                                ip: *ip,
                                added: *added,
                            });
                        }
                        Event::VrrpState {
                            from: VrrpStateName::Master,
                            to: VrrpStateName::Backup,
                            ..
                        } => left_master.push(idx),
                        _ => {}
                    }
                    self.events.push_back(e);
                }
            }
            let mut changed = false;
            // One member leaving MASTER takes the whole group to BACKUP.
            for idx in left_master {
                if let Some(g) = self.group_of[idx] {
                    for m in self.groups[g].members.clone() {
                        if self.instances[m].state() == VrrpStateName::Master {
                            self.instances[m].force_backup(now);
                            changed = true;
                        }
                    }
                }
            }
            // The group goes MASTER only when every member wants it.
            for g in 0..self.groups.len() {
                let members = &self.groups[g].members;
                if !members.is_empty() && members.iter().all(|&m| self.instances[m].wants_master())
                {
                    for m in members.clone() {
                        self.instances[m].become_master(now);
                    }
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn emit(&mut self, idx: usize, t: InstanceTransmit) {
        let iface = &self.interfaces[self.tracks[idx].iface];
        if !self.links[self.tracks[idx].iface] {
            // The kernel refuses to send on a down link.
            return;
        }
        let frame = match t {
            InstanceTransmit::Advert {
                src,
                dst,
                ttl,
                vrrp,
            } => {
                self.ip_ident = self.ip_ident.wrapping_add(1);
                let dst_mac = if dst.is_multicast() {
                    wire::multicast_mac(dst)
                } else {
                    // Without a learned neighbour we broadcast (the kernel would ARP first).
                    self.neighbors
                        .get(&dst)
                        .copied()
                        .unwrap_or(EthernetAddress::BROADCAST)
                };
                let ip = AdvertIp {
                    src_mac: iface.mac,
                    dst_mac,
                    src,
                    dst,
                    ttl,
                    ident: self.ip_ident,
                };
                wire::advert_frame(&ip, &vrrp)
            }
            InstanceTransmit::Garp { ip } => wire::garp_frame(iface.mac, ip),
        };
        self.transmits.push_back(Transmit {
            port: iface.port,
            frame,
        });
    }
}
