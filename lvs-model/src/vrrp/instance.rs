//! One `vrrp_instance`: keepalived 2.2.7's state machine for a virtual router, sans-IO.
//!
//! Inputs: [`VrrpInstance::start`], [`VrrpInstance::handle_packet`] (the VRRP message of an IPv4
//! packet, with the IP fields validation needs), [`VrrpInstance::handle_timeout`],
//! [`VrrpInstance::stop`] / [`VrrpInstance::crash`], and the tracking inputs
//! [`VrrpInstance::set_fault`] / [`VrrpInstance::set_total_priority`]. After every input drain
//! [`VrrpInstance::poll_transmit`], then [`VrrpInstance::poll_event`], then ask
//! [`VrrpInstance::poll_timeout`].
//!
//! Timers are computed in nanoseconds from keepalived's formulas, not from its microsecond
//! integers: the v2 skew for priority 99 is exactly 157/256 s = 613 281 250 ns (keepalived's
//! `(256-p)*1000000/256` µs truncates it to 613 281 µs). The lab asserts these exact fractions.

use super::config::InstanceConfig;
use super::stats::VrrpStats;
use crate::event::{Event, VrrpStateName};
use crate::time::{Duration, Instant};
use crate::wire::vrrp::{self as wire, AuthType, Packet, Type, VersionRepr};
use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// Nanoseconds per second.
const NS: u64 = 1_000_000_000;

/// VRRPv2 Skew_Time: `(256 - p)/256` s, independent of advert_int (RFC 3768).
pub fn skew_v2(priority: u8) -> Duration {
    Duration::from_nanos((256 - u64::from(priority)) * NS / 256)
}

/// VRRPv3 Skew_Time: `(256 - p) × Master_Adver_Interval / 256` (RFC 5798), not rounded to
/// centiseconds.
pub fn skew_v3(priority: u8, master_adver_int: Duration) -> Duration {
    let ns = master_adver_int.as_nanos() as u64;
    Duration::from_nanos((256 - u64::from(priority)) * ns / 256)
}

/// IP-level facts about a received advert that validation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMeta {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
}

/// Why a received packet was not acted on (each maps to one [`VrrpStats`] counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxError {
    /// The instance is not BACKUP or MASTER (INIT, FAULT, stopped).
    NotListening,
    PacketLength,
    IpTtl,
    Version,
    InvalidAuthType,
    AuthTypeMismatch,
    AuthFailure,
    AdvertInterval,
    InvalidType,
    Checksum,
    DestinationMode,
}

/// What an instance wants sent; the process turns it into an Ethernet frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstanceTransmit {
    /// A VRRP message (checksummed for `src`/`dst`) to put in an IPv4 packet.
    Advert {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        vrrp: Vec<u8>,
    },
    /// One gratuitous ARP for `ip`.
    Garp { ip: Ipv4Addr },
}

/// One virtual router instance.
#[derive(Clone, Debug)]
pub struct VrrpInstance {
    cfg: InstanceConfig,
    src_ip: Ipv4Addr,
    state: VrrpStateName,
    effective_priority: u8,
    /// v3: learned from the master; v2: always `advert_int`.
    master_adver_int: Duration,
    down_deadline: Option<Instant>,
    advert_deadline: Option<Instant>,
    garp_delay_deadline: Option<Instant>,
    garp_refresh_deadline: Option<Instant>,
    garp_lower_prio_deadline: Option<Instant>,
    /// End of the `preempt_delay` window opened by the first lower-priority advert.
    preempt_until: Option<Instant>,
    /// In a sync group: the down timer ran out and the group has not yet let us go MASTER.
    want_master: bool,
    in_sync_group: bool,
    /// The VIPs are on the interface. Survives a crash, which cleans nothing up.
    vips_configured: bool,
    master_ip: Option<Ipv4Addr>,
    transmits: VecDeque<InstanceTransmit>,
    events: VecDeque<Event>,
    stats: VrrpStats,
}

impl VrrpInstance {
    /// A not-yet-started instance (state INIT). `src_ip` is the advert source: the configured
    /// `src_ip`, else the interface's primary address.
    pub fn new(cfg: InstanceConfig, interface_ip: Ipv4Addr) -> Self {
        let src_ip = cfg.src_ip.unwrap_or(interface_ip);
        let effective_priority = cfg.priority;
        let master_adver_int = cfg.advert_int;
        VrrpInstance {
            cfg,
            src_ip,
            state: VrrpStateName::Init,
            effective_priority,
            master_adver_int,
            down_deadline: None,
            advert_deadline: None,
            garp_delay_deadline: None,
            garp_refresh_deadline: None,
            garp_lower_prio_deadline: None,
            preempt_until: None,
            want_master: false,
            in_sync_group: false,
            vips_configured: false,
            master_ip: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: VrrpStats::default(),
        }
    }

    // ---- getters ----

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn state(&self) -> VrrpStateName {
        self.state
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    pub fn stats(&self) -> &VrrpStats {
        &self.stats
    }

    pub fn src_ip(&self) -> Ipv4Addr {
        self.src_ip
    }

    /// Whether this instance's VIPs are configured on the interface.
    pub fn vips_configured(&self) -> bool {
        self.vips_configured
    }

    /// The master's address as last learned from an accepted advert.
    pub fn master_ip(&self) -> Option<Ipv4Addr> {
        self.master_ip
    }

    /// The Master_Adver_Interval in use (v3 learns it from the master).
    pub fn master_adver_int(&self) -> Duration {
        self.master_adver_int
    }

    /// The priority used in timer formulas: an owner always counts as 255.
    fn timer_priority(&self) -> u8 {
        if self.cfg.is_owner() {
            255
        } else {
            self.effective_priority
        }
    }

    /// Skew_Time for the current effective priority.
    pub fn skew(&self) -> Duration {
        if self.cfg.version == 3 {
            skew_v3(self.timer_priority(), self.master_adver_int)
        } else {
            skew_v2(self.timer_priority())
        }
    }

    /// `down_timer_adverts × Master_Adver_Interval + Skew_Time`.
    pub fn master_down_interval(&self) -> Duration {
        self.master_adver_int * self.cfg.down_timer_adverts + self.skew()
    }

    /// In a sync group, the down timer expired and this member waits for the others.
    pub fn wants_master(&self) -> bool {
        self.want_master
    }

    // ---- outputs ----

    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<InstanceTransmit> {
        self.transmits.pop_front()
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest pending deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.down_deadline,
            self.advert_deadline,
            self.garp_delay_deadline,
            self.garp_refresh_deadline,
            self.garp_lower_prio_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- inputs ----

    /// Mark the instance as a member of a sync group: a down-timer expiry then only records
    /// that it wants MASTER ([`VrrpInstance::wants_master`]); the group decides.
    pub fn set_in_sync_group(&mut self, yes: bool) {
        self.in_sync_group = yes;
    }

    /// Start as a fresh process does: remove any VIPs left configured (keepalived's forced
    /// restore), then enter BACKUP with the down timer at Master_Down_Interval (an address
    /// owner with `state MASTER`: 1 µs), or FAULT when `fault`.
    pub fn start(&mut self, now: Instant, fault: bool) {
        self.reset_runtime();
        self.remove_vips();
        if fault {
            self.set_state(VrrpStateName::Fault);
            return;
        }
        self.set_state(VrrpStateName::Backup);
        let d = if self.cfg.is_owner() && self.cfg.state_master {
            Duration::from_micros(1)
        } else {
            self.master_down_interval()
        };
        self.down_deadline = Some(now + d);
    }

    fn reset_runtime(&mut self) {
        self.state = VrrpStateName::Init;
        self.master_adver_int = self.cfg.advert_int;
        self.clear_timers();
        self.preempt_until = None;
        self.want_master = false;
        self.master_ip = None;
    }

    fn clear_timers(&mut self) {
        self.down_deadline = None;
        self.advert_deadline = None;
        self.garp_delay_deadline = None;
        self.garp_refresh_deadline = None;
        self.garp_lower_prio_deadline = None;
    }

    /// Graceful stop (SIGTERM): a MASTER sends one priority-0 advert, then removes its VIPs.
    pub fn stop(&mut self, _now: Instant) {
        if self.state == VrrpStateName::Master {
            self.send_advert(0);
            self.remove_vips();
        }
        self.clear_timers();
        self.want_master = false;
        self.set_state(VrrpStateName::Stop);
    }

    /// Crash (SIGKILL): nothing is sent and the VIPs stay on the interface.
    pub fn crash(&mut self, _now: Instant) {
        self.clear_timers();
        self.want_master = false;
        self.transmits.clear();
        self.set_state(VrrpStateName::Stop);
    }

    /// A tracker change put the instance in FAULT (`fault`) or cleared it. Entering FAULT
    /// from MASTER sends a priority-0 advert when `can_send` (its interface is up), then
    /// releases the VIPs. Leaving FAULT enters BACKUP with a fresh Master_Down_Interval (an
    /// owner: advert_int + skew).
    pub fn set_fault(&mut self, now: Instant, fault: bool, can_send: bool) {
        match (fault, self.state) {
            (true, VrrpStateName::Backup | VrrpStateName::Master) => {
                if self.state == VrrpStateName::Master {
                    if can_send {
                        self.send_advert(0);
                    }
                    self.remove_vips();
                    self.stats.release_master += 1;
                }
                self.clear_timers();
                self.want_master = false;
                self.preempt_until = None;
                self.set_state(VrrpStateName::Fault);
            }
            (false, VrrpStateName::Fault) => {
                self.set_state(VrrpStateName::Backup);
                let d = if self.cfg.is_owner() && self.cfg.state_master {
                    self.cfg.advert_int + self.skew()
                } else {
                    self.master_down_interval()
                };
                self.down_deadline = Some(now + d);
            }
            _ => {}
        }
    }

    /// The tracked total priority changed (base + tracker weights). The effective priority is
    /// clamped to 1..254; an owner stays 255. In BACKUP the pending down deadline moves by the
    /// change in Master_Down_Interval, as keepalived does.
    pub fn set_total_priority(&mut self, _now: Instant, total: i32) {
        if self.cfg.is_owner() {
            return;
        }
        let new = total.clamp(1, 254) as u8;
        if new == self.effective_priority {
            return;
        }
        let old_mdi = self.master_down_interval();
        self.effective_priority = new;
        let new_mdi = self.master_down_interval();
        if self.state == VrrpStateName::Backup
            && let Some(d) = self.down_deadline
        {
            self.down_deadline = Some(if new_mdi >= old_mdi {
                d + (new_mdi - old_mdi)
            } else {
                Instant::from_nanos(
                    d.as_nanos()
                        .saturating_sub((old_mdi - new_mdi).as_nanos() as u64),
                )
            });
        }
    }

    /// A VRRP message arrived (`vrrp` = the IPv4 payload). Validated in keepalived's order;
    /// a packet that fails is counted and changes nothing.
    pub fn handle_packet(&mut self, now: Instant, rx: &RxMeta, vrrp: &[u8]) -> Result<(), RxError> {
        let r = self.validate(rx, vrrp);
        if let Err(e) = r {
            self.stats.count(e);
            return Err(e);
        }
        let p = Packet::new_unchecked(vrrp);
        self.stats.advert_rcvd += 1;
        let prio = p.priority();
        if prio == 0 {
            self.stats.pri_zero_rcvd += 1;
        }
        if usize::from(p.addr_count()) != self.cfg.vips.len().min(255) {
            // keepalived only logs this.
            self.stats.addr_list_err += 1;
        }
        let interval = if self.cfg.version == 3 {
            Duration::from_millis(10 * u64::from(p.max_adver_int_v3()))
        } else {
            self.cfg.advert_int
        };
        match self.state {
            VrrpStateName::Backup => self.backup_rx(now, rx.src, prio, interval),
            VrrpStateName::Master => self.master_rx(now, rx.src, prio, interval),
            _ => {}
        }
        Ok(())
    }

    fn validate(&self, rx: &RxMeta, vrrp: &[u8]) -> Result<(), RxError> {
        if !matches!(self.state, VrrpStateName::Backup | VrrpStateName::Master) {
            return Err(RxError::NotListening);
        }
        if vrrp.len() < wire::HEADER_LEN {
            return Err(RxError::PacketLength);
        }
        let p = Packet::new_unchecked(vrrp);
        // Expected length by *our* version, as keepalived checks it before the version.
        let mut expected = wire::HEADER_LEN + 4 * usize::from(p.addr_count());
        if self.cfg.version == 2 {
            expected += wire::AUTH_DATA_LEN;
        }
        if vrrp.len() != expected {
            return Err(RxError::PacketLength);
        }
        let unicast = !self.cfg.unicast_peers.is_empty();
        if !unicast && rx.ttl != 255 {
            return Err(RxError::IpTtl);
        }
        if p.version() != self.cfg.version {
            return Err(RxError::Version);
        }
        if self.cfg.version == 2 {
            let at = p.auth_type();
            if matches!(at, AuthType::Unknown(_)) {
                return Err(RxError::InvalidAuthType);
            }
            if at != self.cfg.auth_type {
                return Err(RxError::AuthTypeMismatch);
            }
            match at {
                AuthType::Pass if p.auth_data() != self.cfg.auth_pass => {
                    return Err(RxError::AuthFailure);
                }
                // AH is carried in an IPsec header we do not model: never verifies.
                AuthType::Ah => return Err(RxError::AuthFailure),
                _ => {}
            }
            if u64::from(p.adver_int_v2()) != self.cfg.advert_int.as_secs() {
                return Err(RxError::AdvertInterval);
            }
        }
        if p.packet_type() != Type::Advertisement {
            return Err(RxError::InvalidType);
        }
        if !p.verify_checksum(rx.src, rx.dst) {
            return Err(RxError::Checksum);
        }
        if rx.dst.is_multicast() == unicast {
            return Err(RxError::DestinationMode);
        }
        Ok(())
    }

    fn backup_rx(&mut self, now: Instant, src: Ipv4Addr, prio: u8, interval: Duration) {
        let ours = self.effective_priority;
        if prio == 0 {
            // The master is leaving: take over after the skew only.
            self.want_master = false;
            self.down_deadline = Some(now + self.skew());
            return;
        }
        let in_delay_window =
            !self.cfg.preempt_delay.is_zero() && self.preempt_until.is_none_or(|until| now < until);
        if self.cfg.nopreempt || prio >= ours || in_delay_window {
            if prio >= ours {
                self.preempt_until = None;
            } else if !self.cfg.nopreempt && self.preempt_until.is_none() {
                self.preempt_until = Some(now + self.cfg.preempt_delay);
            }
            if self.cfg.version == 3 {
                self.master_adver_int = interval;
            }
            self.master_ip = Some(src);
            self.want_master = false;
            self.down_deadline = Some(now + self.master_down_interval());
        } else {
            // "received lower priority advert - discarding": the down timer keeps running.
            self.stats.lower_prio_discarded += 1;
        }
    }

    fn master_rx(&mut self, now: Instant, src: Ipv4Addr, prio: u8, interval: Duration) {
        let ours = self.timer_priority();
        if prio == 0 {
            self.send_advert(ours);
            self.advert_deadline = Some(now + self.cfg.advert_int);
        } else if prio > ours || (prio == ours && u32::from(src) > u32::from(self.src_ip)) {
            if self.cfg.higher_prio_send_advert {
                self.send_advert(ours);
            }
            if self.cfg.version == 3 {
                self.master_adver_int = interval;
            }
            self.master_ip = Some(src);
            self.leave_master(now);
        } else if prio < ours || u32::from(src) < u32::from(self.src_ip) {
            // "forcing new election"
            if !self.cfg.lower_prio_no_advert {
                self.send_advert(ours);
                self.advert_deadline = Some(now + self.cfg.advert_int);
            }
            if self.cfg.garp_lower_prio_repeat > 0 {
                self.send_garps(self.cfg.garp_lower_prio_repeat);
                if !self.cfg.garp_lower_prio_delay.is_zero() {
                    self.garp_lower_prio_deadline = Some(now + self.cfg.garp_lower_prio_delay);
                }
            }
        }
        // Equal priority from our own address: keepalived only warns.
    }

    /// MASTER → BACKUP without a priority-0 advert (a better master exists, or the sync group
    /// forced it).
    fn leave_master(&mut self, now: Instant) {
        self.remove_vips();
        self.stats.release_master += 1;
        self.clear_timers();
        self.set_state(VrrpStateName::Backup);
        self.down_deadline = Some(now + self.master_down_interval());
    }

    /// Sync group: another member left MASTER, so this one does too.
    pub fn force_backup(&mut self, now: Instant) {
        if self.state == VrrpStateName::Master {
            self.leave_master(now);
        }
    }

    /// The deadline from [`VrrpInstance::poll_timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            VrrpStateName::Backup if self.down_deadline.is_some_and(|d| d <= now) => {
                self.down_deadline = None;
                if self.in_sync_group {
                    self.want_master = true;
                } else {
                    self.become_master(now);
                }
            }
            VrrpStateName::Master => {
                // GARP timers first: when a second burst and an advert fall due together, the
                // recordings show the GARPs on the wire first.
                if self.garp_delay_deadline.is_some_and(|d| d <= now) {
                    self.garp_delay_deadline = None;
                    self.send_garps(self.cfg.garp_master_repeat);
                }
                if self.garp_lower_prio_deadline.is_some_and(|d| d <= now) {
                    self.garp_lower_prio_deadline = None;
                    self.send_garps(self.cfg.garp_lower_prio_repeat);
                }
                if self.garp_refresh_deadline.is_some_and(|d| d <= now) {
                    self.send_garps(self.cfg.garp_master_refresh_repeat);
                    self.garp_refresh_deadline = Some(now + self.cfg.garp_master_refresh);
                }
                if self.advert_deadline.is_some_and(|d| d <= now) {
                    self.send_advert(self.timer_priority());
                    self.advert_deadline = Some(now + self.cfg.advert_int);
                }
            }
            _ => {}
        }
    }

    /// Take over: advert first (so an old master releases), then the VIPs, then
    /// `garp_master_repeat` GARPs per VIP back to back; the second burst after
    /// `garp_master_delay`.
    pub fn become_master(&mut self, now: Instant) {
        if self.state != VrrpStateName::Backup {
            return;
        }
        self.want_master = false;
        self.down_deadline = None;
        self.preempt_until = None;
        self.send_advert(self.timer_priority());
        self.set_state(VrrpStateName::Master);
        self.stats.become_master += 1;
        self.add_vips();
        self.send_garps(self.cfg.garp_master_repeat);
        self.advert_deadline = Some(now + self.cfg.advert_int);
        if !self.cfg.garp_master_delay.is_zero() && self.cfg.garp_master_repeat > 0 {
            self.garp_delay_deadline = Some(now + self.cfg.garp_master_delay);
        }
        if !self.cfg.garp_master_refresh.is_zero() {
            self.garp_refresh_deadline = Some(now + self.cfg.garp_master_refresh);
        }
    }

    // ---- helpers ----

    fn set_state(&mut self, to: VrrpStateName) {
        let from = self.state;
        self.state = to;
        if from != to {
            self.events.push_back(Event::VrrpState {
                instance: self.cfg.name.clone(),
                from,
                to,
            });
        }
    }

    /// The VRRP message of an advert with `priority`, for destination `dst`.
    pub fn advert_message(&self, priority: u8, dst: Ipv4Addr) -> Vec<u8> {
        let version = if self.cfg.version == 3 {
            let cs = (self.cfg.advert_int.as_millis() / 10).min(4095) as u16;
            VersionRepr::V3 { max_adver_int: cs }
        } else {
            let auth_data = if self.cfg.auth_type == AuthType::Pass {
                self.cfg.auth_pass
            } else {
                [0; 8]
            };
            VersionRepr::V2 {
                auth_type: self.cfg.auth_type,
                adver_int: self.cfg.advert_int.as_secs().min(255) as u8,
                auth_data,
            }
        };
        let repr = wire::Repr {
            vrid: self.cfg.vrid,
            priority,
            addrs: self.cfg.vips.iter().take(255).copied().collect(),
            version,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf), self.src_ip, dst);
        buf
    }

    fn send_advert(&mut self, priority: u8) {
        let (dsts, ttl): (Vec<Ipv4Addr>, u8) = if self.cfg.unicast_peers.is_empty() {
            (vec![self.cfg.mcast_group], 255)
        } else {
            (self.cfg.unicast_peers.clone(), self.cfg.unicast_ttl)
        };
        for dst in dsts {
            let vrrp = self.advert_message(priority, dst);
            self.transmits.push_back(InstanceTransmit::Advert {
                src: self.src_ip,
                dst,
                ttl,
                vrrp,
            });
            self.stats.advert_sent += 1;
            if priority == 0 {
                self.stats.pri_zero_sent += 1;
            }
            self.events.push_back(Event::VrrpAdvert {
                instance: self.cfg.name.clone(),
                vrid: self.cfg.vrid,
                priority,
                version: self.cfg.version,
            });
        }
    }

    fn all_vips(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.cfg
            .vips
            .iter()
            .chain(self.cfg.excluded_vips.iter())
            .copied()
    }

    /// `repeat` rounds of one GARP per VIP: keepalived interleaves them (VIP1, VIP2, VIP1,
    /// VIP2, ...), as a capture of 2.2.7 with two VIPs shows.
    fn send_garps(&mut self, repeat: u32) {
        let vips: Vec<Ipv4Addr> = self.all_vips().collect();
        for _ in 0..repeat {
            for &ip in &vips {
                self.transmits.push_back(InstanceTransmit::Garp { ip });
                self.events.push_back(Event::Garp { ip });
            }
        }
    }

    fn add_vips(&mut self) {
        if self.vips_configured {
            return;
        }
        self.vips_configured = true;
        let vips: Vec<Ipv4Addr> = self.all_vips().collect();
        for ip in vips {
            self.events.push_back(Event::Vip {
                instance: self.cfg.name.clone(),
                ip,
                added: true,
            });
        }
    }

    fn remove_vips(&mut self) {
        if !self.vips_configured {
            return;
        }
        self.vips_configured = false;
        let vips: Vec<Ipv4Addr> = self.all_vips().collect();
        for ip in vips {
            self.events.push_back(Event::Vip {
                instance: self.cfg.name.clone(),
                ip,
                added: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skews_are_exact_fractions() {
        // (256-99)/256 s = 0.61328125 s; (256-100)/256 s = 0.609375 s.
        assert_eq!(skew_v2(99), Duration::from_nanos(613_281_250));
        assert_eq!(skew_v2(100), Duration::from_nanos(609_375_000));
        // v3, 0.5 s interval, p=100: 156 × 0.5 / 256 s = 0.3046875 s (not rounded to cs).
        assert_eq!(
            skew_v3(100, Duration::from_millis(500)),
            Duration::from_nanos(304_687_500)
        );
    }

    #[test]
    fn master_down_interval_v2_and_v3() {
        let mut cfg = InstanceConfig {
            priority: 50,
            advert_int: Duration::from_secs(3),
            ..Default::default()
        };
        let i = VrrpInstance::new(cfg.clone(), Ipv4Addr::new(10, 0, 0, 1));
        // v2: 3 × 3 s + 206/256 s.
        assert_eq!(
            i.master_down_interval(),
            Duration::from_nanos(9_000_000_000 + 804_687_500)
        );
        cfg.version = 3;
        let i = VrrpInstance::new(cfg, Ipv4Addr::new(10, 0, 0, 1));
        // v3: 3 × 3 s + 206 × 3/256 s.
        assert_eq!(
            i.master_down_interval(),
            Duration::from_nanos(9_000_000_000 + 2_414_062_500)
        );
    }
}
