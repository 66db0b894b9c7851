//! Virtual services: what clients address (TCP/UDP VIP:port, or a firewall mark), the scheduler
//! and persistence settings, and the kernel-ordered list of dests.
//!
//! The list order matters: the kernel inserts every new dest at the **head**
//! (`list_add_rcu`), so ipvsadm and keepalived, which add dests one at a time in config order,
//! leave the list in reverse config order, and schedulers break ties on the head. `ipvsadm -L`
//! sorts its output and hides this.

use core::fmt;
use std::net::Ipv4Addr;

use super::dest::DestId;
use super::sched::{SchedFlags, SchedState, SchedulerKind};
use super::stats::Stats;
use crate::time::Duration;

/// The transport protocols IPVS balances here (SCTP is not modelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// What identifies a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// `-t/-u VIP:port`; port 0 catches every port of the VIP.
    Addr {
        protocol: Protocol,
        addr: Ipv4Addr,
        port: u16,
    },
    /// `-f mark`: packets carrying this firewall mark, any protocol.
    Fwmark(u32),
}

impl ServiceKey {
    pub fn tcp(addr: Ipv4Addr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }
    pub fn udp(addr: Ipv4Addr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }
    /// The order `ipvsadm -L` sorts services in (`ipvs_cmp_services`): fwmark (0 for address
    /// services) first, then protocol number, address and port.
    pub(crate) fn ipvsadm_order(&self) -> (u32, u8, u32, u16) {
        match *self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => (0, protocol.number(), u32::from(addr), port),
            ServiceKey::Fwmark(m) => (m, 0, 0, 0),
        }
    }
}

impl fmt::Display for ServiceKey {
    /// As keepalived and ipvsadm name it: `TCP 192.168.80.200:80` or `FWM 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "{} {}:{}", protocol.name(), addr, port),
            ServiceKey::Fwmark(m) => write!(f, "FWM {m}"),
        }
    }
}

/// Persistence (`-p timeout -M netmask`, keepalived `persistence_timeout`/`_granularity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persistence {
    pub timeout: Duration,
    /// Client addresses are masked with this before the template lookup (default /32).
    pub netmask: Ipv4Addr,
}

impl Persistence {
    pub fn new(timeout: Duration) -> Self {
        Persistence {
            timeout,
            netmask: Ipv4Addr::BROADCAST,
        }
    }
}

/// A virtual service as `ipvsadm -A/-E` or keepalived's `virtual_server` describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    pub key: ServiceKey,
    pub scheduler: SchedulerKind,
    pub flags: SchedFlags,
    pub persistence: Option<Persistence>,
}

impl ServiceConfig {
    /// A service with ipvsadm's defaults: wlc, no flags, not persistent.
    pub fn new(key: ServiceKey) -> Self {
        ServiceConfig {
            key,
            scheduler: SchedulerKind::Wlc,
            flags: SchedFlags::default(),
            persistence: None,
        }
    }
    pub fn scheduler(mut self, s: SchedulerKind) -> Self {
        self.scheduler = s;
        self
    }
    pub fn flags(mut self, flags: SchedFlags) -> Self {
        self.flags = flags;
        self
    }
    pub fn persistent(mut self, p: Persistence) -> Self {
        self.persistence = Some(p);
        self
    }
}

/// Index of a service in the service arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(pub(crate) u32);

/// A service's live state (`struct ip_vs_service`).
#[derive(Clone, Debug)]
pub struct VirtualService {
    pub config: ServiceConfig,
    /// Dests in kernel list order: index 0 is the head (the most recently added).
    pub dests: Vec<DestId>,
    pub stats: Stats,
    pub(crate) sched: SchedState,
}
