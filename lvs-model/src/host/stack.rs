//! [`LinuxStack`]: one Linux host's IPv4 layer — addresses, routes, ARP — around smoltcp.

use super::device::{Borrowed, HEADROOM, QueueDevice};
use super::neighbour::{NeighParams, NeighbourTable, NeighbourView, Resolve, TimerAction};
use super::slots::SlotTrim;
use crate::event::Event;
use crate::node::{PortId, Transmit};
use crate::time::Instant;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, HardwareAddress, IpAddress, IpEndpoint,
    IpListenEndpoint, Ipv4Cidr,
};
use std::cell::Cell;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The ARP sysctls of one interface (`/proc/sys/net/ipv4/conf/<if>/`), or of `all`.
///
/// The value in force on an interface is the larger of `all` and the interface's own, as in
/// Linux (`IN_DEV_MAXCONF`), for all three.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArpSysctls {
    /// 0 reply for any local address; 1 only for addresses on the incoming interface; 2 as 1
    /// and the sender must be in that interface's subnet; 3 not for host-scope addresses;
    /// 8 never. 4–7 behave as 0.
    pub arp_ignore: u8,
    /// 0 any local address (the packet's source) as the ARP sender IP; 1 the packet's source
    /// only if it is on-link with the target; 2 always the best address of the outgoing port.
    pub arp_announce: u8,
    /// 0: unsolicited ARP (gratuitous, or replies with no entry) creates no entry; ≥1 it does.
    pub arp_accept: u8,
}

impl ArpSysctls {
    /// The DR real-server recipe: `arp_ignore = 1`, `arp_announce = 2`.
    pub const REALSERVER: ArpSysctls = ArpSysctls {
        arp_ignore: 1,
        arp_announce: 2,
        arp_accept: 0,
    };

    fn max(self, other: ArpSysctls) -> ArpSysctls {
        ArpSysctls {
            arp_ignore: self.arp_ignore.max(other.arp_ignore),
            arp_announce: self.arp_announce.max(other.arp_announce),
            arp_accept: self.arp_accept.max(other.arp_accept),
        }
    }
}

/// Where an address lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Iface {
    /// An Ethernet port (`eth0` is `Port(PortId(0))`).
    Port(PortId),
    /// The loopback device; a DR real server's VIP sits here (`lo:0`).
    Lo,
}

/// One Ethernet port of the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConfig {
    pub mac: EthernetAddress,
    /// Addresses with their prefix; the first one whose subnet holds a target is its primary.
    pub addrs: Vec<Ipv4Cidr>,
    pub sysctls: ArpSysctls,
}

/// Everything a [`LinuxStack`] starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackConfig {
    /// Ports in `PortId` order.
    pub ports: Vec<PortConfig>,
    /// Addresses on `lo` besides 127.0.0.1/8 (e.g. the VIP/32 of a DR real server).
    pub lo_addrs: Vec<Ipv4Cidr>,
    pub lo_sysctls: ArpSysctls,
    /// `conf/all`.
    pub all: ArpSysctls,
    /// The default route's gateway (it must be on a port's subnet to be used).
    pub gateway: Option<Ipv4Addr>,
    pub neigh: NeighParams,
    /// Seeds smoltcp (ISNs, ephemeral choices) and the neighbour reachable time.
    pub seed: u64,
    /// `tunl0` is up (the `ipip` module): IP-in-IP packets to a local address are
    /// decapsulated and the inner packet delivered — what an LVS-TUN real server needs.
    /// Without it they are counted and dropped.
    pub ipip: bool,
}

/// The seed of a host's `boot`-th boot (0: the first). Linux draws fresh secrets at every boot
/// (the ISN and ephemeral-port secrets come from the boot's random pool), so a host that
/// powers back on must not replay its last boot's ISNs and ports: with the same seed, its
/// first connection after the boot reused the 4-tuple and ISN of a connection a peer still
/// held, and the peer ignored the SYN. Boot 0 keeps the seed itself, so runs without a power
/// cycle are unchanged.
pub fn boot_seed(seed: u64, boot: u64) -> u64 {
    if boot == 0 {
        return seed;
    }
    let mut z =
        (seed ^ boot.wrapping_mul(0xd1b5_4a32_d192_ed03)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl StackConfig {
    /// This configuration for the host's `boot`-th boot (see [`boot_seed`]).
    pub fn for_boot(&self, boot: u64) -> StackConfig {
        StackConfig {
            seed: boot_seed(self.seed, boot),
            ..self.clone()
        }
    }

    /// A host with no ports yet.
    pub fn new(seed: u64) -> Self {
        StackConfig {
            ports: Vec::new(),
            lo_addrs: Vec::new(),
            lo_sysctls: ArpSysctls::default(),
            all: ArpSysctls::default(),
            gateway: None,
            neigh: NeighParams::default(),
            seed,
            ipip: false,
        }
    }

    /// A host with one port `eth0` holding `addr` — the usual LAN box.
    pub fn single(seed: u64, mac: EthernetAddress, addr: Ipv4Cidr) -> Self {
        StackConfig::new(seed).with_port(mac, addr)
    }

    /// Adds a port with one address.
    pub fn with_port(mut self, mac: EthernetAddress, addr: Ipv4Cidr) -> Self {
        self.ports.push(PortConfig {
            mac,
            addrs: vec![addr],
            sysctls: ArpSysctls::default(),
        });
        self
    }

    /// The seed's `realserver start`: VIP/32 on `lo:0` and arp_ignore=1/arp_announce=2 on
    /// `all` and `lo`.
    pub fn with_realserver_vip(mut self, vip: Ipv4Addr) -> Self {
        self.lo_addrs.push(Ipv4Cidr::new(vip, 32));
        self.all = ArpSysctls::REALSERVER;
        self.lo_sysctls = ArpSysctls::REALSERVER;
        self
    }

    pub fn with_gateway(mut self, gateway: Ipv4Addr) -> Self {
        self.gateway = Some(gateway);
        self
    }
}

/// Counters of what the stack dropped or could not do. Names are stable (`Event::Drop` reasons).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackCounters {
    pub rx_frames: u64,
    pub tx_frames: u64,
    /// Shorter than an Ethernet header, or arrived on a port that does not exist.
    pub malformed_ethernet: u64,
    /// Truncated ARP, or not Ethernet/IPv4 ARP.
    pub malformed_arp: u64,
    /// Bad IPv4 header: length, version, header checksum.
    pub malformed_ipv4: u64,
    /// Neither ARP nor IPv4.
    pub unsupported_ethertype: u64,
    /// Unicast frames for another MAC (flooded by a switch).
    pub other_host: u64,
    /// IPv4 packets not for a local address (this host does not forward).
    pub not_local: u64,
    /// Outgoing packets with no route.
    pub no_route: u64,
    /// Outgoing packets dropped because ARP resolution failed or the queue was full.
    pub unresolved: u64,
    /// IP-in-IP packets decapsulated (tunl0, LVS-TUN).
    pub decapsulated: u64,
    /// IP-in-IP packets dropped: no tunl0, or the inner packet is not for this host.
    pub ipip_dropped: u64,
}

/// The route to a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub port: PortId,
    /// The neighbour to hand the packet to: the destination itself, or the gateway.
    pub next_hop: Ipv4Addr,
}

/// What [`LinuxStack::classify`] found in a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// ARP (handled), or dropped and counted.
    Done,
    /// An IPv4 packet, trimmed to its total length, with a valid header.
    Ipv4 {
        port: PortId,
        src_mac: EthernetAddress,
        packet: &'a [u8],
        /// Its destination is a local address (any interface, weak host) or a broadcast.
        local: bool,
    },
}

/// Why [`LinuxStack::send_ipv4`] could not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("not a well-formed IPv4 packet")]
    Malformed,
    #[error("no route to {0}")]
    NoRoute(Ipv4Addr),
    #[error("no such port {0}")]
    NoSuchPort(PortId),
}

/// Why [`LinuxStack::tcp_connect`] could not start a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TcpConnectError {
    #[error("no route to {0}")]
    NoRoute(Ipv4Addr),
    #[error("smoltcp refused the connect: {0}")]
    Socket(tcp::ConnectError),
}

struct Port {
    mac: EthernetAddress,
    addrs: Vec<Ipv4Cidr>,
    sysctls: ArpSysctls,
}

/// One Linux host's network layer: Ethernet ports with addresses, `lo`, a default gateway,
/// ARP as Linux does it, and smoltcp for TCP above.
pub struct LinuxStack {
    iface: Interface,
    device: QueueDevice,
    sockets: SocketSet<'static>,
    ports: Vec<Port>,
    lo_addrs: Vec<Ipv4Cidr>,
    ipip: bool,
    lo_sysctls: ArpSysctls,
    all: ArpSysctls,
    gateway: Option<Ipv4Addr>,
    neigh: NeighbourTable,
    now: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    counters: StackCounters,
    timer_actions: Vec<TimerAction>,
    /// Closed TCP sockets kept out of the set for reuse (see [`Self::release_socket`]).
    spare: Vec<tcp::Socket<'static>>,
    /// smoltcp's next deadline as last computed, `None` once a socket or the interface may
    /// have changed. smoltcp's answer depends only on socket state (never on the time, on an
    /// IP medium), and a director forwarding IPVS traffic asks after every frame without
    /// touching a socket.
    smol_at: Option<Option<Instant>>,
    /// Bookkeeping to shrink smoltcp's socket set (see [`SlotTrim`]).
    trim: SlotTrim,
    /// The last routes looked up. Every frame in and out asks for one, and a host talks to few
    /// peers at a time: a client to the VIP, a web server to its client, a director to the
    /// client whose packets it takes in and to the real servers it forwards them to.
    routes: RouteCache,
    /// Every local address (ports and `lo`, 127/8 aside) as a number, rebuilt when addresses
    /// change: every frame in and out asks whether an address is local.
    local_ips: Vec<u32>,
    /// The subnet broadcast address of every port address with a prefix shorter than /31.
    broadcast_ips: Vec<u32>,
    /// Tests turn the fast paths off (hints, caches) to hold them to the plain code.
    #[cfg(test)]
    pub(super) plain: bool,
}

/// A few routes, replaced round robin. A host with one peer finds it in the first slot.
#[derive(Default)]
struct RouteCache {
    slots: [Cell<CachedRoute>; ROUTE_CACHE],
    /// Slots in use (the first `filled`).
    filled: Cell<usize>,
    /// The slot the next new route replaces once all are in use.
    next: Cell<usize>,
}

/// A destination and its route (`None`: unreachable), with where the route's neighbour entry
/// was last found in the neighbour table: every frame in and out of a host concerns a peer
/// whose entry it then looks up, and the table checks the hint before trusting it.
#[derive(Clone, Copy, Debug)]
struct CachedRoute {
    dst: Ipv4Addr,
    route: Option<Route>,
    neighbour: usize,
}

impl Default for CachedRoute {
    fn default() -> Self {
        CachedRoute {
            dst: Ipv4Addr::UNSPECIFIED,
            route: None,
            neighbour: usize::MAX,
        }
    }
}

/// Routes [`RouteCache`] keeps: the director's three peers of a DR lab (client, two real
/// servers) and one more.
const ROUTE_CACHE: usize = 4;

impl RouteCache {
    /// The slot holding `dst`'s route.
    #[inline]
    fn find(&self, dst: Ipv4Addr) -> Option<usize> {
        let filled = self.filled.get().min(ROUTE_CACHE);
        self.slots[..filled].iter().position(|s| s.get().dst == dst)
    }

    #[inline]
    fn get(&self, slot: usize) -> CachedRoute {
        self.slots[slot].get()
    }

    /// Caches a route; returns its slot.
    fn insert(&self, dst: Ipv4Addr, route: Option<Route>) -> usize {
        let filled = self.filled.get();
        let slot = if filled < ROUTE_CACHE {
            self.filled.set(filled + 1);
            filled
        } else {
            let i = self.next.get();
            self.next.set((i + 1) % ROUTE_CACHE);
            i
        };
        self.slots[slot].set(CachedRoute {
            dst,
            route,
            neighbour: usize::MAX,
        });
        slot
    }

    /// Where the neighbour entry of the slot's route was found.
    #[inline]
    fn set_neighbour(&self, slot: usize, neighbour: usize) {
        let mut c = self.slots[slot].get();
        c.neighbour = neighbour;
        self.slots[slot].set(c);
    }

    fn clear(&self) {
        self.filled.set(0);
        self.next.set(0);
    }
}

/// Closed sockets [`LinuxStack::release_socket`] keeps for reuse.
const SPARE_MAX: usize = 64;

impl LinuxStack {
    pub fn new(config: StackConfig) -> Self {
        LinuxStack::build(config, false)
    }

    /// A stack with its fast paths off (see `plain`) and smoltcp checking TCP checksums
    /// itself, to hold the stack to.
    #[cfg(test)]
    pub(super) fn new_plain(config: StackConfig) -> Self {
        let mut stack = LinuxStack::build(config, true);
        stack.plain = true;
        stack
    }

    fn build(config: StackConfig, smoltcp_checks_tcp: bool) -> Self {
        let mut device = QueueDevice::default();
        device.smoltcp_checks_tcp = smoltcp_checks_tcp;
        let mut ic = Config::new(HardwareAddress::Ip);
        ic.random_seed = config.seed;
        let mut iface = Interface::new(ic, &mut device, Instant::ZERO.to_smoltcp());
        // The shim decides what is local; smoltcp takes every packet it is given and, to let
        // sockets send, needs a route for every destination (the gateway value is unused).
        iface.set_any_ip(true);
        let _ = iface
            .routes_mut()
            .add_default_ipv4_route(Ipv4Addr::new(0, 0, 0, 1));
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x6e65_6967_6862_6f72);
        let mut stack = LinuxStack {
            iface,
            device,
            sockets: SocketSet::new(Vec::new()),
            smol_at: None,
            trim: SlotTrim::default(),
            routes: RouteCache::default(),
            local_ips: Vec::new(),
            broadcast_ips: Vec::new(),
            ports: config
                .ports
                .into_iter()
                .map(|p| Port {
                    mac: p.mac,
                    addrs: p.addrs,
                    sysctls: p.sysctls,
                })
                .collect(),
            lo_addrs: config.lo_addrs,
            ipip: config.ipip,
            lo_sysctls: config.lo_sysctls,
            all: config.all,
            gateway: config.gateway,
            neigh: NeighbourTable::new(config.neigh, rng.next_u64()),
            now: Instant::ZERO,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counters: StackCounters::default(),
            timer_actions: Vec::new(),
            spare: Vec::new(),
            #[cfg(test)]
            plain: false,
        };
        stack.addresses_changed();
        stack
    }

    /// Rebuilds what is derived from the addresses: the local and broadcast lists, the routes.
    fn addresses_changed(&mut self) {
        self.local_ips.clear();
        self.broadcast_ips.clear();
        for c in self.ports.iter().flat_map(|p| &p.addrs) {
            self.local_ips.push(u32::from(c.address()));
            if c.prefix_len() < 31
                && let Some(b) = c.broadcast()
            {
                self.broadcast_ips.push(u32::from(b));
            }
        }
        for c in &self.lo_addrs {
            self.local_ips.push(u32::from(c.address()));
        }
        self.routes.clear();
    }

    // ---- getters ----

    /// The latest time the stack was given.
    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// The MAC address of a port.
    pub fn mac(&self, port: PortId) -> Option<EthernetAddress> {
        self.ports.get(port.0 as usize).map(|p| p.mac)
    }

    /// The addresses on an interface (for `lo`, without 127.0.0.1/8).
    pub fn addresses(&self, iface: Iface) -> &[Ipv4Cidr] {
        match iface {
            Iface::Port(p) => self
                .ports
                .get(p.0 as usize)
                .map(|p| p.addrs.as_slice())
                .unwrap_or(&[]),
            Iface::Lo => &self.lo_addrs,
        }
    }

    /// The first address of the first port: the host's "own" IP.
    pub fn primary_address(&self) -> Option<Ipv4Addr> {
        self.ports
            .iter()
            .find_map(|p| p.addrs.first())
            .map(|c| c.address())
    }

    /// `ip` is an address of this host, on any interface (Linux's weak host model).
    #[inline]
    pub fn is_local(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        // 127.0.0.0/8 (`lo`'s 127.0.0.1/8).
        ip >> 24 == 127 || scan(&self.local_ips, ip)
    }

    #[inline]
    fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip == u32::MAX || scan(&self.broadcast_ips, ip)
    }

    pub fn counters(&self) -> StackCounters {
        self.counters
    }

    pub fn sysctls(&self, iface: Option<Iface>) -> ArpSysctls {
        match iface {
            None => self.all,
            Some(Iface::Lo) => self.lo_sysctls,
            Some(Iface::Port(p)) => self
                .ports
                .get(p.0 as usize)
                .map(|p| p.sysctls)
                .unwrap_or_default(),
        }
    }

    /// The ARP cache entry for `ip` on `port`, as `ip neigh` would show it.
    pub fn neighbour(&self, port: PortId, ip: Ipv4Addr) -> Option<NeighbourView> {
        self.neigh.view(self.now, (port, ip))
    }

    /// Every ARP cache entry, in (port, IP) order.
    pub fn neighbours(&self) -> Vec<(PortId, Ipv4Addr, NeighbourView)> {
        self.neigh
            .iter()
            .filter_map(|((p, ip), _)| self.neigh.view(self.now, (p, ip)).map(|v| (p, ip, v)))
            .collect()
    }

    /// The route to `dst` by longest prefix: connected subnets of the ports, then the default
    /// gateway. Local addresses have no route (they are delivered locally).
    pub fn route(&self, dst: Ipv4Addr) -> Option<Route> {
        self.routes.get(self.route_slot(dst)).route
    }

    /// The route cache's slot for `dst`, filled from the table if `dst` is not cached.
    #[inline]
    fn route_slot(&self, dst: Ipv4Addr) -> usize {
        match self.routes.find(dst) {
            Some(slot) => slot,
            None => self.route_miss(dst),
        }
    }

    #[cold]
    fn route_miss(&self, dst: Ipv4Addr) -> usize {
        self.routes.insert(dst, self.lookup_route(dst))
    }

    /// The neighbour entry of a cached route: where the slot's hint says, or found afresh (and
    /// remembered).
    #[inline(always)]
    fn route_neighbour(&self, slot: usize) -> Option<(Route, usize)> {
        let c = self.routes.get(slot);
        let r = c.route?;
        #[cfg(test)]
        let c = CachedRoute {
            neighbour: if self.plain { usize::MAX } else { c.neighbour },
            ..c
        };
        let i = self.neigh.locate((r.port, r.next_hop), c.neighbour)?;
        if i != c.neighbour {
            self.routes.set_neighbour(slot, i);
        }
        Some((r, i))
    }

    fn lookup_route(&self, dst: Ipv4Addr) -> Option<Route> {
        let mut best: Option<(u8, Route)> = None;
        for (i, p) in self.ports.iter().enumerate() {
            for c in &p.addrs {
                if c.contains_addr(&dst) && best.is_none_or(|(len, _)| c.prefix_len() > len) {
                    best = Some((
                        c.prefix_len(),
                        Route {
                            port: PortId(i as u16),
                            next_hop: dst,
                        },
                    ));
                }
            }
        }
        if let Some((_, r)) = best {
            return Some(r);
        }
        let gw = self.gateway?;
        let (i, _) = self
            .ports
            .iter()
            .enumerate()
            .find(|(_, p)| p.addrs.iter().any(|c| c.contains_addr(&gw)))?;
        Some(Route {
            port: PortId(i as u16),
            next_hop: gw,
        })
    }

    /// The source address Linux would pick for a connection to `dst` (`inet_select_addr` on
    /// the outgoing port: the address whose subnet holds the next hop, else the port's first).
    pub fn source_address(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        if self.is_local(dst) {
            return Some(dst);
        }
        let r = self.route(dst)?;
        self.select_addr(r.port, r.next_hop)
    }

    fn select_addr(&self, port: PortId, target: Ipv4Addr) -> Option<Ipv4Addr> {
        let p = self.ports.get(port.0 as usize)?;
        p.addrs
            .iter()
            .find(|c| c.contains_addr(&target))
            .or(p.addrs.first())
            .map(|c| c.address())
            .or_else(|| {
                // inet_select_addr falls back to any other device's address.
                self.ports
                    .iter()
                    .flat_map(|p| p.addrs.iter())
                    .chain(self.lo_addrs.iter())
                    .next()
                    .map(|c| c.address())
            })
    }

    // ---- application mutators ----

    /// Adds an address (e.g. a VIP) at run time. Returns false if it was already there.
    pub fn add_address(&mut self, iface: Iface, cidr: Ipv4Cidr) -> bool {
        let list = match iface {
            Iface::Lo => &mut self.lo_addrs,
            Iface::Port(p) => match self.ports.get_mut(p.0 as usize) {
                Some(p) => &mut p.addrs,
                None => return false,
            },
        };
        if list.iter().any(|c| c.address() == cidr.address()) {
            return false;
        }
        list.push(cidr);
        self.addresses_changed();
        true
    }

    /// Removes an address. Returns false if it was not there.
    pub fn remove_address(&mut self, iface: Iface, addr: Ipv4Addr) -> bool {
        let list = match iface {
            Iface::Lo => &mut self.lo_addrs,
            Iface::Port(p) => match self.ports.get_mut(p.0 as usize) {
                Some(p) => &mut p.addrs,
                None => return false,
            },
        };
        let before = list.len();
        list.retain(|c| c.address() != addr);
        let removed = list.len() != before;
        self.addresses_changed();
        removed
    }

    /// Sets `conf/all` (`None`) or one interface's ARP sysctls.
    pub fn set_sysctls(&mut self, iface: Option<Iface>, sysctls: ArpSysctls) {
        match iface {
            None => self.all = sysctls,
            Some(Iface::Lo) => self.lo_sysctls = sysctls,
            Some(Iface::Port(p)) => {
                if let Some(p) = self.ports.get_mut(p.0 as usize) {
                    p.sysctls = sysctls;
                }
            }
        }
    }

    /// Forgets every ARP entry of a port (`ip neigh flush dev`); waiting packets are dropped.
    pub fn flush_neighbours(&mut self, port: PortId) {
        self.counters.unresolved += self.neigh.flush_port(port) as u64;
    }

    /// The carrier of `port` went down or came back. Linux (`arp_evict_nocarrier`, on by
    /// default) flushes the port's ARP entries when it goes down, so the host resolves its peers
    /// afresh when the cable is back.
    pub fn handle_link(&mut self, port: PortId, up: bool) {
        if !up {
            self.flush_neighbours(port);
        }
    }

    pub fn set_gateway(&mut self, gateway: Option<Ipv4Addr>) {
        self.gateway = gateway;
        self.routes.clear();
    }

    /// The smoltcp interface and socket set, for code that drives its own sockets (the health
    /// checkers' probe executor). Call [`Self::poll`] afterwards.
    pub fn iface_and_sockets(&mut self) -> (&mut Interface, &mut SocketSet<'static>) {
        self.smol_at = None;
        (&mut self.iface, &mut self.sockets)
    }

    /// Adds a TCP socket with the given buffer sizes, reusing a released one when it has them.
    pub fn add_tcp_socket(&mut self, rx: usize, tx: usize) -> SocketHandle {
        let spare = self
            .spare
            .iter()
            .rposition(|s| s.recv_capacity() == rx && s.send_capacity() == tx);
        let s = match spare {
            Some(i) => self.spare.swap_remove(i),
            None => tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; rx]),
                tcp::SocketBuffer::new(vec![0; tx]),
            ),
        };
        self.smol_at = None;
        let h = self.sockets.add(s);
        self.trim.added(h);
        h
    }

    /// A TCP socket to read (state, readiness): unlike [`Self::tcp`] it keeps the cached
    /// smoltcp deadline, which hosts would otherwise recompute after every look. Panics if the
    /// handle is not a TCP socket of this stack (a caller bug).
    pub fn tcp_ref(&self, h: SocketHandle) -> &tcp::Socket<'static> {
        self.sockets.get::<tcp::Socket>(h)
    }

    /// A TCP socket. Panics if the handle is not a TCP socket of this stack (a caller bug).
    pub fn tcp(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.smol_at = None;
        self.sockets.get_mut::<tcp::Socket>(h)
    }

    /// Removes a socket silently (no RST); for a crashed process or a finished socket.
    pub fn remove_socket(&mut self, h: SocketHandle) {
        self.smol_at = None;
        self.sockets.remove(h);
        self.removed();
    }

    /// Takes a socket out of the set once its owner is done with it. smoltcp visits every
    /// socket of the set on each poll, so closed sockets left there for reuse slow down every
    /// frame; a released CLOSED socket is kept aside (buffers and all) for
    /// [`Self::add_tcp_socket`], which resets it on `connect`/`listen` as smoltcp always does.
    /// A socket in any other state is removed silently, as [`Self::remove_socket`] does.
    pub fn release_socket(&mut self, h: SocketHandle) {
        self.smol_at = None;
        if let smoltcp::socket::Socket::Tcp(s) = self.sockets.remove(h)
            && s.state() == tcp::State::Closed
            && self.spare.len() < SPARE_MAX
        {
            self.spare.push(s);
        }
        self.removed();
    }

    /// A socket left the set: shrink the set when most of its slots are empty.
    fn removed(&mut self) {
        self.trim.removed(&mut self.sockets);
    }

    /// Starts a connection from the source address Linux would choose. Call [`Self::poll`]
    /// afterwards to send the SYN.
    pub fn tcp_connect(
        &mut self,
        h: SocketHandle,
        remote: SocketAddrV4,
        local_port: u16,
    ) -> Result<(), TcpConnectError> {
        let src = self
            .source_address(*remote.ip())
            .ok_or(TcpConnectError::NoRoute(*remote.ip()))?;
        self.smol_at = None;
        let cx = self.iface.context();
        self.sockets
            .get_mut::<tcp::Socket>(h)
            .connect(
                cx,
                IpEndpoint::new(IpAddress::Ipv4(*remote.ip()), remote.port()),
                IpListenEndpoint {
                    addr: Some(IpAddress::Ipv4(src)),
                    port: local_port,
                },
            )
            .map_err(TcpConnectError::Socket)
    }

    // ---- inputs ----

    /// Takes a frame apart: handles ARP, drops and counts what is malformed or not for this
    /// host, and hands back IPv4 packets without delivering them. Inlined: every frame in
    /// comes through here, from a director's or a host's frame handler.
    #[inline(always)]
    pub fn classify<'a>(&mut self, now: Instant, port: PortId, frame: &'a [u8]) -> Inbound<'a> {
        self.now = self.now.max(now);
        self.counters.rx_frames += 1;
        let (Some(port_mac), Some((eth, payload))) =
            (self.mac(port), frame.split_first_chunk::<ETHERNET_HEADER>())
        else {
            self.drop("malformed_ethernet");
            return Inbound::Done;
        };
        let to_us = eth[0..6] == port_mac.0;
        // The group bit: multicast, and broadcast (all ones) with it.
        if !to_us && eth[0] & 0x01 == 0 {
            self.counters.other_host += 1;
            return Inbound::Done;
        }
        let src_mac = EthernetAddress([eth[6], eth[7], eth[8], eth[9], eth[10], eth[11]]);
        match u16::from_be_bytes([eth[12], eth[13]]) {
            ETHERTYPE_IPV4 => {
                let Some((h, packet)) = ipv4_checked(payload) else {
                    self.drop("malformed_ipv4");
                    return Inbound::Done;
                };
                let src = Ipv4Addr::from([h[12], h[13], h[14], h[15]]);
                let dst = Ipv4Addr::from([h[16], h[17], h[18], h[19]]);
                let local = self.is_local(dst) || self.is_broadcast(dst);
                if local && to_us {
                    // Traffic from a neighbour confirms its entry (Linux: TCP's dst_confirm).
                    if let Some((_, i)) = self.route_neighbour(self.route_slot(src)) {
                        self.neigh.confirm_at(now, i, src_mac);
                    }
                }
                Inbound::Ipv4 {
                    port,
                    src_mac,
                    packet,
                    local,
                }
            }
            ETHERTYPE_ARP => {
                self.handle_arp(now, port, to_us, payload);
                Inbound::Done
            }
            _ => {
                self.counters.unsupported_ethertype += 1;
                Inbound::Done
            }
        }
    }

    /// Delivers an IPv4 packet to the local stack (smoltcp), whatever its destination.
    /// Inlined for its usual case, a packet smoltcp reads where it lies; the rest is apart.
    #[inline]
    pub fn deliver_local(&mut self, now: Instant, packet: &[u8]) {
        if packet.len() >= 20 && packet[9] == IPIP_PROTOCOL {
            return self.deliver_ipip(now, packet);
        }
        if self.checks_tcp() && tcp_checksum_wrong(packet) {
            return self.drop_tcp_segment(now);
        }
        if !self.device.rx.is_empty() {
            return self.deliver_queued(now, packet);
        }
        // smoltcp reads the packet where it lies (in the caller's frame).
        self.poll_with(now, Some(packet));
    }

    /// IP-in-IP (LVS-TUN): decapsulate once when tunl0 is up and the inner packet is for
    /// this host; never deliver a tunnel packet to smoltcp.
    #[cold]
    #[inline(never)]
    fn deliver_ipip(&mut self, now: Instant, packet: &[u8]) {
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        let inner = packet.get(ihl..).unwrap_or(&[]);
        match ipv4_dst(inner) {
            Some(dst)
                if self.ipip && self.is_local(dst) && inner.get(9) != Some(&IPIP_PROTOCOL) =>
            {
                self.counters.decapsulated += 1;
                self.deliver_local(now, inner);
            }
            _ => self.drop("ipip"),
        }
    }

    /// Whether the stack verifies TCP checksums itself, smoltcp's check being off: smoltcp's
    /// check sums the pseudo-header, then the segment, by a general 16-bit routine; the
    /// stack's sums both in one pass, eight bytes at a time ([`tcp_checksum_valid`]).
    #[inline(always)]
    fn checks_tcp(&self) -> bool {
        !self.device.smoltcp_checks_tcp
    }

    /// A TCP segment with a wrong checksum: smoltcp would have dropped it silently (no reply,
    /// no counter) and gone on with its poll, so the stack polls without it.
    #[cold]
    #[inline(never)]
    fn drop_tcp_segment(&mut self, now: Instant) {
        self.poll(now);
    }

    /// A packet delivered while others wait in the device's queue goes in behind them.
    #[cold]
    #[inline(never)]
    fn deliver_queued(&mut self, now: Instant, packet: &[u8]) {
        let mut b = self.device.buffer();
        if b.capacity() < packet.len() {
            b = Vec::with_capacity(packet.len().max(256));
        }
        b.extend_from_slice(packet);
        self.device.rx.push_back(b);
        self.poll(now);
    }

    /// A frame arrived: ARP is answered, local IPv4 is delivered, the rest is counted.
    pub fn handle_frame(&mut self, now: Instant, port: PortId, frame: &[u8]) {
        match self.classify(now, port, frame) {
            Inbound::Done => {}
            Inbound::Ipv4 {
                packet,
                local: true,
                ..
            } => self.deliver_local(now, packet),
            Inbound::Ipv4 { local: false, .. } => self.counters.not_local += 1,
        }
    }

    /// Runs due ARP timers and smoltcp's.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.neigh.next_timer().is_some_and(|t| t <= now) {
            let mut actions = std::mem::take(&mut self.timer_actions);
            self.neigh.handle_timeout(now, &mut actions);
            for a in actions.drain(..) {
                match a {
                    TimerAction::Probe {
                        key,
                        unicast,
                        src_hint,
                    } => self.send_arp_request(key.0, key.1, unicast, src_hint),
                    TimerAction::Failed { dropped, .. } => {
                        self.counters.unresolved += dropped as u64
                    }
                }
            }
            self.timer_actions = actions;
        }
        // A host woken for its application's own timer (a client's next request, a director's
        // IPVS expiry) skips smoltcp when no socket is due: such a poll would send nothing.
        if !self.device.rx.is_empty() || self.smol_deadline().is_some_and(|t| t <= now) {
            self.poll(now);
        }
    }

    /// Lets smoltcp process received packets and socket changes, and sends what it produced.
    pub fn poll(&mut self, now: Instant) {
        self.poll_with(now, None);
    }

    /// [`Self::poll`] with `packet` received before the device's queue (which must be empty,
    /// so the packet is received where it would have been queued).
    fn poll_with(&mut self, now: Instant, mut packet: Option<&[u8]>) {
        self.now = self.now.max(now);
        let ts = now.to_smoltcp();
        // Packets to a local address loop back; a few rounds settle any exchange with ourself.
        self.smol_at = None;
        for _ in 0..8 {
            let settled = match packet.take() {
                Some(p) => {
                    let mut device = Borrowed {
                        packet: Some(p),
                        device: &mut self.device,
                    };
                    smol_poll(&mut self.iface, &mut self.sockets, &mut device, ts)
                }
                None => smol_poll(&mut self.iface, &mut self.sockets, &mut self.device, ts),
            };
            self.device.rebalance();
            let mut looped = false;
            while let Some(buf) = self.device.tx.pop_front() {
                let Some(dst) = ipv4_dst(&buf[HEADROOM..]) else {
                    self.device.recycle(buf);
                    continue;
                };
                if self.is_local(dst) {
                    let mut b = self.device.buffer();
                    b.extend_from_slice(&buf[HEADROOM..]);
                    self.device.rx.push_back(b);
                    self.device.recycle(buf);
                    looped = true;
                } else {
                    self.route_out(now, dst, buf);
                }
            }
            if !looped {
                // The deadline smoltcp gave when it settled holds until a socket changes; a
                // poll at an earlier time than the stack's clock leaves it to be asked anew.
                if let Some(at) = settled
                    && now >= self.now
                {
                    self.smol_at = Some(at.map(Instant::from_smoltcp_ceil));
                }
                break;
            }
        }
    }

    /// Sends an IPv4 packet (built by the caller, e.g. an IPVS-forwarded one) by the routing
    /// table; a packet for a local address is delivered locally instead.
    pub fn send_ipv4(&mut self, now: Instant, packet: &[u8]) -> Result<(), SendError> {
        let dst = ipv4_dst(packet).ok_or(SendError::Malformed)?;
        if self.is_local(dst) {
            // A local destination (IPVS LOCALNODE) never reaches the wire.
            self.deliver_local(now, packet);
            return Ok(());
        }
        let r = self.route(dst).ok_or(SendError::NoRoute(dst))?;
        self.send_ipv4_via(now, r.port, r.next_hop, packet)
    }

    /// Sends an IPv4 packet to a chosen next hop on a chosen port — IPVS DR sends the unchanged
    /// packet (destination VIP) to the real server's MAC this way. Multicast and broadcast
    /// destinations go to their group/broadcast MAC without ARP.
    pub fn send_ipv4_via(
        &mut self,
        now: Instant,
        port: PortId,
        next_hop: Ipv4Addr,
        packet: &[u8],
    ) -> Result<(), SendError> {
        let mut buf = self.device.buffer();
        buf.resize(HEADROOM, 0);
        buf.extend_from_slice(packet);
        self.send_ipv4_buffer_via(now, port, next_hop, buf)
    }

    /// The bytes a buffer given to [`Self::send_ipv4_buffer_via`] keeps before the packet:
    /// room for the Ethernet header, which is written there.
    pub const HEADROOM: usize = HEADROOM;

    /// [`Self::send_ipv4_via`] for a packet already in `buf` after [`Self::HEADROOM`] bytes
    /// (whatever they hold), e.g. a received frame rewritten in place (the director's
    /// forwarding path): the buffer itself becomes the frame, without a copy. The buffer
    /// returns to the pool when it is not sent.
    pub fn send_ipv4_buffer_via(
        &mut self,
        now: Instant,
        port: PortId,
        next_hop: Ipv4Addr,
        buf: Vec<u8>,
    ) -> Result<(), SendError> {
        self.now = self.now.max(now);
        let error = match ipv4_dst(buf.get(HEADROOM..).unwrap_or(&[])) {
            None => SendError::Malformed,
            Some(_) if self.mac(port).is_none() => SendError::NoSuchPort(port),
            Some(dst) => {
                let slot = self.routes.find(next_hop);
                self.output(now, port, next_hop, dst, buf, slot);
                return Ok(());
            }
        };
        self.device.recycle(buf);
        Err(error)
    }

    /// Sends a gratuitous ARP for `ip` from `port`, as keepalived does: a broadcast request
    /// with sender and target IP both `ip` and target MAC ff:ff:ff:ff:ff:ff.
    pub fn send_gratuitous_arp(&mut self, port: PortId, ip: Ipv4Addr) {
        let Some(mac) = self.mac(port) else { return };
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: mac,
            source_protocol_addr: ip,
            target_hardware_addr: EthernetAddress::BROADCAST,
            target_protocol_addr: ip,
        };
        self.send_arp(port, EthernetAddress::BROADCAST, repr);
    }

    /// Queues a complete frame as it is.
    pub fn send_frame(&mut self, port: PortId, frame: Vec<u8>) {
        self.counters.tx_frames += 1;
        self.transmits.push_back(Transmit { port, frame });
    }

    /// Keeps a spent buffer (a delivered frame) for the next packet smoltcp sends.
    pub fn recycle_frame(&mut self, frame: Vec<u8>) {
        self.device.recycle(frame);
    }

    /// An empty buffer from the stack's pool (give it back with [`Self::recycle_frame`]), for a
    /// caller that rewrites a packet in place.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        self.device.buffer()
    }

    // ---- outputs ----

    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// `Event::Drop` for malformed input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next ARP or smoltcp deadline.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let smol = self.smol_deadline().map(|t| t.max(self.now));
        match (smol, self.neigh.next_timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- internals ----

    /// smoltcp's next deadline (possibly past), from the cache when no socket changed.
    fn smol_deadline(&mut self) -> Option<Instant> {
        match self.smol_at {
            Some(at) => at,
            None => {
                let at = self
                    .iface
                    .poll_at(self.now.to_smoltcp(), &self.sockets)
                    .map(Instant::from_smoltcp_ceil);
                self.smol_at = Some(at);
                at
            }
        }
    }

    fn drop(&mut self, reason: &'static str) {
        match reason {
            "malformed_ethernet" => self.counters.malformed_ethernet += 1,
            "malformed_arp" => self.counters.malformed_arp += 1,
            "malformed_ipv4" => self.counters.malformed_ipv4 += 1,
            "ipip" => self.counters.ipip_dropped += 1,
            _ => {}
        }
        if self.events.len() < 1024 {
            self.events.push_back(Event::Drop {
                reason: reason.to_string(),
            });
        }
    }

    /// Sends a packet smoltcp produced (in `buf` after the headroom, for `dst`) by the routing
    /// table.
    fn route_out(&mut self, now: Instant, dst: Ipv4Addr, buf: Vec<u8>) {
        let slot = self.route_slot(dst);
        match self.routes.get(slot).route {
            Some(r) => self.output(now, r.port, r.next_hop, dst, buf, Some(slot)),
            None => {
                self.counters.no_route += 1;
                self.device.recycle(buf);
            }
        }
    }

    /// Frames a packet (in `buf` after the headroom, for `dst`, as the caller read it from
    /// the packet) for `next_hop`, resolving it first.
    /// `slot` is the route cache's slot of the route that chose `next_hop`, if there is one.
    /// Inlined (always) into its two callers: every frame out of a host or a director comes
    /// through here.
    #[inline(always)]
    fn output(
        &mut self,
        now: Instant,
        port: PortId,
        next_hop: Ipv4Addr,
        dst: Ipv4Addr,
        buf: Vec<u8>,
        slot: Option<usize>,
    ) {
        let mac = if self.is_broadcast(dst) {
            EthernetAddress::BROADCAST
        } else if dst.is_multicast() {
            let o = dst.octets();
            EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
        } else {
            let key = (port, next_hop);
            let found = match slot.and_then(|s| self.route_neighbour(s)) {
                Some((r, i)) if (r.port, r.next_hop) == key => Some(i),
                _ => self.neigh.locate(key, usize::MAX),
            };
            match found.and_then(|i| self.neigh.resolve_at(now, i)) {
                Some(mac) => mac,
                None => return self.output_unresolved(now, port, next_hop, buf),
            }
        };
        self.emit_ipv4(port, mac, buf);
    }

    /// A packet waits for its next hop's MAC; a new entry sends the first ARP probe.
    #[cold]
    fn output_unresolved(&mut self, now: Instant, port: PortId, next_hop: Ipv4Addr, buf: Vec<u8>) {
        let Resolve::Queued { probe, dropped } = self.neigh.enqueue(now, (port, next_hop), buf);
        self.counters.unresolved += dropped as u64;
        if probe {
            let hint = self.neigh.src_hint((port, next_hop));
            self.send_arp_request(port, next_hop, None, hint);
        }
    }

    /// Writes the Ethernet header into the headroom of `buf` and queues the frame.
    #[inline(always)]
    fn emit_ipv4(&mut self, port: PortId, dst: EthernetAddress, mut buf: Vec<u8>) {
        let src = self.ports[port.0 as usize].mac;
        let mut header = [0u8; HEADROOM];
        header[0..6].copy_from_slice(dst.as_bytes());
        header[6..12].copy_from_slice(src.as_bytes());
        header[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        buf[..HEADROOM].copy_from_slice(&header);
        self.send_frame(port, buf);
    }

    fn send_arp(&mut self, port: PortId, dst: EthernetAddress, repr: ArpRepr) {
        let Some(src) = self.mac(port) else { return };
        let mut buf = vec![0u8; 14 + repr.buffer_len()];
        buf[0..6].copy_from_slice(dst.as_bytes());
        buf[6..12].copy_from_slice(src.as_bytes());
        buf[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[14..]));
        self.send_frame(port, buf);
    }

    /// Linux `arp_solicit`: the sender IP follows arp_announce.
    fn send_arp_request(
        &mut self,
        port: PortId,
        target: Ipv4Addr,
        unicast: Option<EthernetAddress>,
        src_hint: Option<Ipv4Addr>,
    ) {
        let Some(p) = self.ports.get(port.0 as usize) else {
            return;
        };
        let announce = self.all.max(p.sysctls).arp_announce;
        let hinted = src_hint.filter(|&s| self.is_local(s));
        let chosen = match announce {
            0 => hinted,
            1 => hinted.filter(|s| {
                p.addrs
                    .iter()
                    .any(|c| c.contains_addr(&target) && c.contains_addr(s))
            }),
            _ => None,
        };
        let sender = chosen
            .or_else(|| self.select_addr(port, target))
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let mac = p.mac;
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: mac,
            source_protocol_addr: sender,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        self.send_arp(port, unicast.unwrap_or(EthernetAddress::BROADCAST), repr);
    }

    /// Linux `arp_ignore`: true when a request for `tip` from `sip` on `port` gets no reply.
    fn arp_ignored(&self, port: PortId, sip: Ipv4Addr, tip: Ipv4Addr) -> bool {
        let p = &self.ports[port.0 as usize];
        let on_port = p.addrs.iter().any(|c| c.address() == tip);
        match self.all.max(p.sysctls).arp_ignore {
            1 => !on_port,
            2 => {
                !(on_port
                    && (sip.is_unspecified() || p.addrs.iter().any(|c| c.contains_addr(&sip))))
            }
            // Only 127/8 has host scope here, and ARP for it is dropped before this point.
            3 => false,
            8 => true,
            _ => false,
        }
    }

    /// Linux `arp_process`.
    fn handle_arp(&mut self, now: Instant, port: PortId, to_us: bool, payload: &[u8]) {
        let Ok(pkt) = ArpPacket::new_checked(payload) else {
            self.drop("malformed_arp");
            return;
        };
        let Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr: sha,
            source_protocol_addr: sip,
            target_hardware_addr: tha,
            target_protocol_addr: tip,
        }) = ArpRepr::parse(&pkt)
        else {
            self.drop("malformed_arp");
            return;
        };
        let is_request = match operation {
            ArpOperation::Request => true,
            ArpOperation::Reply => false,
            _ => return,
        };
        if tip.is_multicast() || tip.is_loopback() || sha.is_multicast() {
            return;
        }
        let my_mac = self.ports[port.0 as usize].mac;
        let reply = |stack: &mut Self| {
            let repr = ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Reply,
                source_hardware_addr: my_mac,
                source_protocol_addr: tip,
                target_hardware_addr: sha,
                target_protocol_addr: sip,
            };
            stack.send_arp(port, sha, repr);
        };
        if is_request && self.is_local(tip) {
            // A request for one of our addresses: answer or not, it never updates the cache
            // beyond the requester's entry (arp_process "goto out").
            if !self.arp_ignored(port, sip, tip) {
                if !sip.is_unspecified() {
                    // neigh_event_ns: create/update the requester as STALE, overriding.
                    if let Some((mac, queue)) =
                        self.neigh.update(now, (port, sip), sha, false, true, true)
                    {
                        self.flush(port, mac, queue);
                    }
                }
                reply(self);
            }
            return;
        }
        if sip.is_unspecified() {
            return;
        }
        let key = (port, sip);
        let accept = self.all.max(self.ports[port.0 as usize].sysctls).arp_accept != 0;
        let exists = self.neigh.contains(key);
        if !exists && !accept {
            // Unsolicited ARP creates nothing by default.
            return;
        }
        let is_garp = sip == tip && (is_request || tha == sha) && !self.is_local(sip);
        let create = !exists && (is_garp || !is_request);
        let override_mac = is_garp
            || self
                .neigh
                .view(now, key)
                .is_none_or(|v| now > v.updated + self.neigh.params.locktime);
        // Broadcast replies and requests do not assert reachability.
        let reachable = !is_request && to_us;
        if let Some((mac, queue)) =
            self.neigh
                .update(now, key, sha, reachable, override_mac, create)
        {
            self.flush(port, mac, queue);
        }
    }

    /// Sends the packets that waited for `mac`.
    fn flush(&mut self, port: PortId, mac: EthernetAddress, queue: VecDeque<Vec<u8>>) {
        for buf in queue {
            self.emit_ipv4(port, mac, buf);
        }
    }
}

/// smoltcp's `Interface::poll` without its last egress pass: every received packet, then
/// egress passes while one sends something. smoltcp ends with a pass that sends nothing,
/// which visits every socket again; after a pass that sent, this loop asks `poll_at`
/// instead and stops when no socket is due — the answer is the deadline the stack wants
/// next anyway. A pass with no socket due is a no-op: a TCP socket's `dispatch` only sends,
/// or changes state, for the reasons its `poll_at` reports as due (data, FIN, ACK, window
/// update, RST, and the retransmit, keep-alive, zero-window, TIME-WAIT and timeout timers),
/// and the rest of what it does is inert here (AnyIP keeps every source address valid;
/// without a congestion-control feature `pre_transmit` is empty; on an IP medium every
/// neighbour is known). Frames, their order and socket states are smoltcp's.
///
/// Returns smoltcp's next deadline when the loop ended on it (the stack caches it), `None`
/// when it ended on a pass that sent nothing.
fn smol_poll(
    iface: &mut Interface,
    sockets: &mut SocketSet<'static>,
    device: &mut impl Device,
    ts: smoltcp::time::Instant,
) -> Option<Option<smoltcp::time::Instant>> {
    iface.poll_maintenance(ts);
    while iface.poll_ingress_single(ts, device, sockets) != PollIngressSingleResult::None {}
    loop {
        if iface.poll_egress(ts, device, sockets) == PollResult::None {
            return None;
        }
        let at = iface.poll_at(ts, sockets);
        if at.is_none_or(|t| t > ts) {
            return Some(at);
        }
    }
}

/// Whether `list` holds `x`, by a plain loop: the address lists hold a few entries, and every
/// frame asks; `contains` sets up a vector loop for them that costs more than the scan.
#[inline]
#[allow(clippy::manual_contains)]
fn scan(list: &[u32], x: u32) -> bool {
    list.iter().any(|&y| y == x)
}

/// IP protocol number of IP-in-IP.
const IPIP_PROTOCOL: u8 = 4;
/// Bytes of an Ethernet II header.
const ETHERNET_HEADER: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;

/// The IPv4 packet at the start of `payload`, trimmed to its total length, if its header passes
/// the checks of smoltcp's `Ipv4Packet::new_checked` (at least 20 bytes; a header length of at
/// least 20, at most the total length, which is at most the bytes there), is version 4 and
/// sums right. Every frame in is checked, so the fields are read in place.
/// Returns the packet with its first 20 bytes (the fixed header) as an array.
#[inline]
pub(crate) fn ipv4_checked(payload: &[u8]) -> Option<(&[u8; 20], &[u8])> {
    let h = payload.first_chunk::<20>()?;
    let header = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if h[0] >> 4 != 4 || header < 20 || header > total || total > payload.len() {
        return None;
    }
    ipv4_header_valid(&payload[..header]).then(|| (h, &payload[..total]))
}

/// Whether an IPv4 header (its checksum field included) sums to all ones, as an intact one
/// does; the same answer as smoltcp's `verify_checksum`. Every frame in is checked, and a header
/// is a multiple of four bytes: summed a 32-bit word at a time and folded, it costs a fraction
/// of the general 16-bit checksum routine.
#[inline]
pub(crate) fn ipv4_header_valid(header: &[u8]) -> bool {
    let word = |w: &[u8; 4]| u64::from(u32::from_be_bytes(*w));
    let (words, rest) = header.as_chunks::<4>();
    let mut sum: u64 = match words {
        // The usual header, without options: five words, no loop.
        [a, b, c, d, e] => word(a) + word(b) + word(c) + word(d) + word(e),
        _ => words.iter().map(word).sum(),
    };
    // A header length is a multiple of four; a ragged end (never from `new_checked`) counts
    // as zero-padded, as in the 16-bit sum.
    for (i, b) in rest.iter().enumerate() {
        sum += u64::from(*b) << (24 - 8 * i);
    }
    // 2^16 = 1 (mod 2^16 - 1): folding the carries gives the one's-complement 16-bit sum.
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

/// IP protocol number of TCP.
const TCP_PROTOCOL: u8 = 6;

/// Whether `packet` is a TCP segment in an IPv4 packet that smoltcp would take apart (its
/// header and total lengths pass `Ipv4Packet::new_checked`) and whose checksum is wrong: the
/// segments smoltcp's `TcpRepr::parse` rejects by their checksum. Anything else smoltcp
/// judges for itself.
#[inline]
pub(crate) fn tcp_checksum_wrong(packet: &[u8]) -> bool {
    let Some(h) = packet.first_chunk::<20>() else {
        return false;
    };
    if h[9] != TCP_PROTOCOL {
        return false;
    }
    let header = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if header < 20 || header > total || total > packet.len() {
        return false;
    }
    let addresses: [u8; 8] = h[12..20].try_into().expect("8 bytes");
    !tcp_checksum_valid(addresses, &packet[header..total])
}

/// Whether a TCP segment sums to all ones with its pseudo-header (`addresses`: source and
/// destination as they lie in the IPv4 header), as an intact one does; the same answer as
/// smoltcp's `TcpPacket::verify_checksum`.
///
/// One pass, eight bytes at a time, in the machine's little-endian order: the one's-complement
/// sum does not care about byte order (RFC 1071: summed in swapped order, the result comes out
/// swapped, and all ones is all ones either way), and 2^64 = 2^16 = 1 modulo 2^16 - 1, so a
/// 64-bit word with its carry wrapped around stands for its four 16-bit words. The protocol
/// and length words of the pseudo-header go in byte-swapped, as every other word does.
#[inline]
pub(crate) fn tcp_checksum_valid(addresses: [u8; 8], segment: &[u8]) -> bool {
    let len = u16::try_from(segment.len()).unwrap_or(u16::MAX);
    let pseudo = u64::from(u16::from(TCP_PROTOCOL).swap_bytes()) + u64::from(len.swap_bytes());
    let (words, rest) = segment.as_chunks::<8>();
    let mut sum = pseudo;
    let mut add = |w: u64| {
        let (s, carry) = sum.overflowing_add(w);
        sum = s + u64::from(carry);
    };
    add(u64::from_le_bytes(addresses));
    for w in words {
        add(u64::from_le_bytes(*w));
    }
    // A ragged end counts as zero-padded.
    let mut tail = 0u64;
    for (i, b) in rest.iter().enumerate() {
        tail |= u64::from(*b) << (8 * i);
    }
    add(tail);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

/// The destination of an IPv4 packet, if it has at least a minimal header.
fn ipv4_dst(packet: &[u8]) -> Option<Ipv4Addr> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    let b: [u8; 4] = packet[16..20].try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

impl core::fmt::Debug for LinuxStack {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LinuxStack")
            .field(
                "ports",
                &self
                    .ports
                    .iter()
                    .map(|p| (p.mac, p.addrs.clone()))
                    .collect::<Vec<_>>(),
            )
            .field("lo", &self.lo_addrs)
            .field("gateway", &self.gateway)
            .field("counters", &self.counters)
            .finish()
    }
}

#[cfg(test)]
mod slot_trim_tests {
    use super::*;

    #[test]
    fn a_stack_shrinks_its_set_after_a_burst() {
        let cidr = Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 1), 24);
        let mut stack = LinuxStack::new(StackConfig::single(
            1,
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            cidr,
        ));
        let handles: Vec<_> = (0..64).map(|_| stack.add_tcp_socket(64, 64)).collect();
        for (i, h) in handles.iter().enumerate() {
            stack.tcp(*h).listen(2000 + i as u16).unwrap();
        }
        assert_eq!((stack.trim.len, stack.trim.live), (64, 64));
        // The burst ends: all but the first three go.
        for h in &handles[3..] {
            stack.release_socket(*h);
        }
        assert!(stack.trim.len < 16, "set not shrunk: {:?}", stack.trim);
        assert_eq!(stack.trim.live, 3);
        for (i, h) in handles[..3].iter().enumerate() {
            assert_eq!(stack.tcp(*h).listen_endpoint().port, 2000 + i as u16);
        }
        // New sockets take the next slots, as smoltcp would have given them.
        assert_eq!(stack.add_tcp_socket(64, 64), handles[3]);
    }
}
