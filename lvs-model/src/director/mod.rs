//! One LVS director: keepalived (the VRRP child and the checker child) driving the kernel's
//! IPVS on a Linux host, behind the [`Node`] contract.
//!
//! The parts and who owns what:
//! - the *kernel*: [`LinuxStack`] (addresses, ARP, TCP for the health checks) and [`Ipvs`]. They
//!   survive a keepalived crash: the VIP stays on the interface and IPVS keeps forwarding, as
//!   the real S02c recording shows. Only a power-off wipes them.
//! - *keepalived*: [`VrrpProcess`] and [`Checkers`] (+ the [`ProbeExecutor`] that runs their
//!   probes over the stack). `stop keepalived` sends priority-0 adverts, removes the VIPs and
//!   deletes the IPVS services it installed; `crash keepalived` does nothing at all.
//!
//! Packet path: a frame is offered to VRRP first (adverts), then the stack classifies it; an
//! IPv4 packet for a local address (the VIP) goes through IPVS at LOCAL_IN, which forwards it
//! (DR/NAT/TUN), replies (ICMP), or leaves it to the local stack; a packet for another host is
//! offered to IPVS's NAT reply path and otherwise dropped (the director does not route).

pub mod from_config;

use crate::check::executor::ProbeExecutor;
use crate::check::{Checkers, DestAction};
use crate::config::model::KeepalivedConfig;
use crate::event::Event;
use crate::host::{Iface, Inbound, Ipv4Cidr, LinuxStack, StackConfig, boot_seed};
use crate::ipvs::{Action, Ipvs, IpvsConfig};
use crate::node::{ControlError, Node, PortId, ProcessAction, Transmit, process_list};
use crate::time::Instant;
use crate::vrrp::VrrpProcess;
use from_config::{DirectorPlan, DirectorPort};
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

/// What a director is built from.
#[derive(Clone, Debug)]
pub struct DirectorConfig {
    pub ports: Vec<DirectorPort>,
    pub gateway: Option<Ipv4Addr>,
    /// keepalived's parsed configuration (already validated; diagnostics are the caller's).
    pub keepalived: KeepalivedConfig,
    /// Seeds the node's own random stream (TCP ISNs, checker warm-up, `twos`).
    pub seed: u64,
}

/// One director node.
pub struct Director {
    config: DirectorConfig,
    plan: DirectorPlan,
    stack: LinuxStack,
    ipvs: Ipvs,
    vrrp: Option<VrrpProcess>,
    checkers: Option<Checkers>,
    probes: ProbeExecutor,
    /// Whether keepalived runs. It does not when its configuration makes it exit at start.
    running: bool,
    rng: ChaCha12Rng,
    /// Addresses added with [`Director::add_port_address`].
    extra_addrs: Vec<(u16, Ipv4Cidr)>,
    /// The director's own events and frames (keepalived's, and the stack's caught up by
    /// [`Director::catch_up`]). The stack's own queues are polled after these, directly (see
    /// [`Node::poll_transmit`] below).
    events: VecDeque<Event>,
    out: VecDeque<Transmit>,
    /// Whether the driver polled the stack's frames (resp. events) to the end since the last
    /// input; when not, the next input moves what is left behind the director's own first.
    stack_out_polled: bool,
    stack_events_polled: bool,
    /// Moves the stack's outputs into the director's own queues after every input, as the
    /// director did before it polled the stack lazily: the plain form the proptest holds the
    /// lazy one to.
    #[cfg(test)]
    eager: bool,
    /// keepalived's next deadline (VRRP, checkers, probes) as last computed; `None` once any
    /// of them may have changed. A frame IPVS forwards touches none of them, and the director
    /// is asked for its deadline after every such frame.
    keepalived_at: Option<Option<Instant>>,
    /// Power-ons since the director was built (each boot seeds its kernel afresh).
    boots: u64,
}

const PROCESSES: &[&str] = &["keepalived"];

impl Director {
    /// Builds the director; keepalived starts at the first `handle_timeout` (time zero).
    pub fn new(config: DirectorConfig) -> Self {
        let plan = from_config::plan(&config.keepalived, &config.ports);
        let stack = Self::new_stack(&config, 0);
        let ipvs = Self::new_ipvs(&config);
        let rng = ChaCha12Rng::seed_from_u64(config.seed);
        let mut d = Director {
            config,
            plan,
            stack,
            ipvs,
            vrrp: None,
            checkers: None,
            probes: ProbeExecutor::new(),
            running: false,
            rng,
            extra_addrs: Vec::new(),
            events: VecDeque::new(),
            out: VecDeque::new(),
            stack_out_polled: false,
            stack_events_polled: false,
            #[cfg(test)]
            eager: false,
            keepalived_at: None,
            boots: 0,
        };
        d.start_keepalived(Instant::ZERO);
        d
    }

    /// The kernel's stack for the director's `boot`-th boot (see [`boot_seed`]).
    fn new_stack(config: &DirectorConfig, boot: u64) -> LinuxStack {
        let mut sc = StackConfig::new(boot_seed(config.seed ^ 0x5eed_57ac, boot));
        for p in &config.ports {
            sc = sc.with_port(p.mac, Ipv4Cidr::new(p.addr, p.prefix_len));
        }
        sc.gateway = config.gateway;
        LinuxStack::new(sc)
    }

    fn new_ipvs(config: &DirectorConfig) -> Ipvs {
        let local_addr = config
            .ports
            .first()
            .map_or(Ipv4Addr::UNSPECIFIED, |p| p.addr);
        Ipvs::new(IpvsConfig {
            local_addr,
            ..IpvsConfig::default()
        })
    }

    /// What the director runs, after mapping keepalived.conf.
    pub fn plan(&self) -> &DirectorPlan {
        &self.plan
    }

    pub fn ipvs(&self) -> &Ipvs {
        &self.ipvs
    }

    pub fn stack(&self) -> &LinuxStack {
        &self.stack
    }

    pub fn vrrp(&self) -> Option<&VrrpProcess> {
        self.vrrp.as_ref()
    }

    /// Adds a further address to a port (a NAT director with an outside and an inside subnet
    /// on one LAN). It survives a power cycle.
    pub fn add_port_address(&mut self, port: u16, cidr: Ipv4Cidr) {
        self.extra_addrs.push((port, cidr));
        self.stack.add_address(Iface::Port(PortId(port)), cidr);
    }

    /// Whether keepalived is running.
    pub fn keepalived_running(&self) -> bool {
        self.running
    }

    fn start_keepalived(&mut self, now: Instant) {
        if self.running || self.config.keepalived.startup_failure.is_some() {
            return;
        }
        self.running = true;
        // keepalived's forced restore at start-up: every instance starts BACKUP (or FAULT) and
        // takes its VIPs off the interface, whoever put them there — a crashed predecessor's
        // too. The new process starts empty, so the old one's leftovers are removed here.
        let leftovers: Vec<(PortId, Ipv4Addr)> = self
            .vrrp
            .as_ref()
            .map(|v| v.vips_held().collect())
            .unwrap_or_default();
        for (port, ip) in leftovers {
            if self.stack.remove_address(Iface::Port(port), ip) {
                let instance = self
                    .plan
                    .vrrp
                    .instances
                    .iter()
                    .find(|i| i.vips.contains(&ip) || i.excluded_vips.contains(&ip))
                    .map(|i| i.name.clone())
                    .unwrap_or_default();
                self.events.push_back(Event::Vip {
                    instance,
                    ip,
                    added: false,
                });
            }
        }
        self.vrrp = match VrrpProcess::new(self.plan.vrrp.clone()) {
            Ok(mut v) => {
                v.start(now);
                Some(v)
            }
            Err(_) => None,
        };
        self.checkers = match Checkers::new(self.plan.checks.clone()) {
            Ok(mut c) => {
                c.start(now, &mut self.rng);
                Some(c)
            }
            Err(_) => None,
        };
        self.pump(now);
    }

    fn stop_keepalived(&mut self, now: Instant, graceful: bool) {
        if !self.running {
            return;
        }
        self.running = false;
        if let Some(v) = &mut self.vrrp {
            if graceful { v.stop(now) } else { v.crash(now) }
        }
        if let Some(c) = &mut self.checkers {
            if graceful { c.stop(now) } else { c.crash(now) }
        }
        let (_, sockets) = self.stack.iface_and_sockets();
        self.probes.cancel_all(sockets);
        self.pump(now);
    }

    /// Applies one of the checker's IPVS operations, logging `ipvs.dest` for each dest change
    /// the kernel accepted.
    fn apply(&mut self, action: DestAction) {
        let Some(plan) = self.plan.services.get(action.vs()) else {
            return;
        };
        let key = plan.service.key;
        // The configured dest (or sorry server) an Add/SetWeight refers to, at the new weight.
        let dest = |rs: SocketAddrV4, weight: u32| {
            plan.dests
                .iter()
                .chain(plan.sorry.iter())
                .find(|d| d.addr == *rs.ip() && d.port == rs.port())
                .map(|d| d.weight(weight))
        };
        let accepted = match action {
            DestAction::AddService { .. } => self.ipvs.add_service(plan.service).is_ok(),
            DestAction::RemoveService { .. } => self.ipvs.delete_service(&key).is_ok(),
            DestAction::Add { rs, weight, .. } => {
                dest(rs, weight).is_some_and(|cfg| self.ipvs.add_dest(&key, cfg).is_ok())
            }
            DestAction::SetWeight { rs, weight, .. } => {
                dest(rs, weight).is_some_and(|cfg| self.ipvs.edit_dest(&key, cfg).is_ok())
            }
            DestAction::Remove { rs, .. } => {
                self.ipvs.delete_dest(&key, *rs.ip(), rs.port()).is_ok()
            }
        };
        if accepted && let Some(event) = action.ipvs_event(&plan.name) {
            self.events.push_back(event);
        }
    }

    /// Moves work between the parts until nothing is left to do at `now`.
    fn pump(&mut self, now: Instant) {
        self.keepalived_at = None;
        loop {
            let mut progressed = false;
            if let Some(v) = &mut self.vrrp {
                while let Some(change) = v.poll_vip_change() {
                    progressed = true;
                    if change.added {
                        self.stack
                            .add_address(Iface::Port(change.port), Ipv4Cidr::new(change.ip, 32));
                    } else {
                        self.stack
                            .remove_address(Iface::Port(change.port), change.ip);
                    }
                }
                while let Some(tx) = v.poll_transmit() {
                    self.out.push_back(tx);
                }
                while let Some(e) = v.poll_event() {
                    self.events.push_back(e);
                }
            }
            if let Some(c) = &mut self.checkers {
                while let Some(req) = c.poll_probe() {
                    progressed = true;
                    let src = self.stack.source_address(*req.target.ip());
                    let (iface, sockets) = self.stack.iface_and_sockets();
                    self.probes.start_from(now, &req, src, iface, sockets);
                }
                let mut actions = Vec::new();
                while let Some(a) = c.poll_dest_action() {
                    actions.push(a);
                }
                while let Some(e) = c.poll_event() {
                    self.events.push_back(e);
                }
                while c.poll_notification().is_some() {}
                for a in actions {
                    progressed = true;
                    self.apply(a);
                }
            }
            self.stack.poll(now);
            let (_, sockets) = self.stack.iface_and_sockets();
            self.probes.poll(now, sockets);
            while let Some((id, outcome)) = self.probes.poll_outcome() {
                progressed = true;
                if let Some(c) = &mut self.checkers {
                    c.handle_probe_result(now, id, outcome);
                }
            }
            if !progressed {
                break;
            }
        }
        #[cfg(test)]
        if self.eager {
            self.drain_stack();
        }
    }

    /// Runs a packet through IPVS; returns whether the local stack (smoltcp) got something to
    /// do, so the caller can skip polling it for the common forwarded packet. `frame` is the
    /// frame `packet` came in, which starts [`LinuxStack::HEADROOM`] bytes into it.
    fn handle_ipv4(&mut self, now: Instant, frame: &[u8], packet: &[u8], local: bool) -> bool {
        if !local {
            return self.handle_outbound(now, packet);
        }
        // The frame is copied once, into a pooled buffer (no allocation per packet): IPVS
        // rewrites the packet behind the old Ethernet header, and a forwarded packet leaves
        // in that same buffer with the new header written over the old.
        let head = LinuxStack::HEADROOM;
        let end = head + packet.len();
        debug_assert!(
            frame
                .get(head..end)
                .is_some_and(|p| std::ptr::eq(p, packet))
        );
        let mut buf = self.stack.take_buffer();
        buf.extend_from_slice(&frame[..end]);
        let action = self
            .ipvs
            .process_inbound_in_place_at(now, 0, &mut buf, head, &mut self.rng);
        let local_work = match action {
            Action::Forward { next_hop } => {
                // The next hop is the RIP; route it like the kernel's output path would,
                // through the gateway when off-link.
                if let Some(route) = self.stack.route(next_hop) {
                    let _ = self
                        .stack
                        .send_ipv4_buffer_via(now, route.port, route.next_hop, buf);
                } else {
                    self.stack.recycle_frame(buf);
                }
                return false;
            }
            Action::LocalDeliver => {
                self.stack.deliver_local(now, packet);
                true
            }
            Action::Reply(reply) => {
                let _ = self.stack.send_ipv4(now, &reply);
                true
            }
            Action::Pass | Action::Drop(_) => false,
        };
        self.stack.recycle_frame(buf);
        local_work
    }

    /// A packet for another host: IPVS's NAT reply path takes it or it is dropped (the
    /// director does not route).
    fn handle_outbound(&mut self, now: Instant, packet: &[u8]) -> bool {
        // IPVS rewrites a copy of the packet in a pooled buffer (no allocation per packet).
        let mut buf = self.stack.take_buffer();
        buf.extend_from_slice(packet);
        let action = self
            .ipvs
            .process_outbound_in_place(now, &mut buf, &mut self.rng);
        let local_work = match action {
            Action::Forward { next_hop } => {
                // The next hop is the NAT client; routed like the kernel's output path would,
                // through the gateway when off-link.
                if let Some(route) = self.stack.route(next_hop) {
                    let _ = self
                        .stack
                        .send_ipv4_via(now, route.port, route.next_hop, &buf);
                }
                false
            }
            Action::Reply(reply) => {
                let _ = self.stack.send_ipv4(now, &reply);
                true
            }
            Action::LocalDeliver | Action::Pass | Action::Drop(_) => false,
        };
        self.stack.recycle_frame(buf);
        local_work
    }

    /// Called first by every input. Within one input the director's own outputs all come
    /// before the stack's (the director used to move the stack's behind its own at the end of
    /// each input), and a driver that polls everything after every input leaves the stack
    /// empty; one that did not gets the stack's leftovers moved behind the director's own
    /// now, before the new input adds to either, which keeps the old order exactly.
    #[inline(always)]
    fn catch_up(&mut self) {
        if !(self.stack_out_polled && self.stack_events_polled) {
            self.drain_stack();
        }
        self.stack_out_polled = false;
        self.stack_events_polled = false;
    }

    /// Moves the stack's frames and events out, without polling anything.
    #[inline(never)]
    fn drain_stack(&mut self) {
        while let Some(tx) = self.stack.poll_transmit() {
            self.out.push_back(tx);
        }
        while let Some(e) = self.stack.poll_event() {
            self.events.push_back(e);
        }
    }
}

/// Whether `frame` may be a VRRP advert: IPv4 (ethertype 0x0800) carrying IP protocol 112,
/// long enough for an IPv4 header. [`VrrpProcess::handle_frame`] declines any other frame
/// without counting it, and the director offers it every frame it forwards.
#[inline]
fn may_be_vrrp(frame: &[u8]) -> bool {
    frame.len() >= 34
        && frame[12..14] == [0x08, 0x00]
        && frame[23] == crate::wire::vrrp::IP_PROTOCOL
}

impl Node for Director {
    fn handle_frame(&mut self, now: Instant, port: PortId, frame: &[u8]) {
        self.catch_up();
        if self.running
            && may_be_vrrp(frame)
            && let Some(v) = &mut self.vrrp
            && v.handle_frame(now, port, frame)
        {
            self.pump(now);
            return;
        }
        let local_work = match self.stack.classify(now, port, frame) {
            // ARP: answered by the shim, but a resolution may release queued smoltcp packets.
            Inbound::Done => true,
            Inbound::Ipv4 { packet, local, .. } => self.handle_ipv4(now, frame, packet, local),
        };
        if local_work {
            self.pump(now);
        } else {
            // A packet IPVS forwarded (or dropped) touches neither keepalived nor smoltcp.
            #[cfg(test)]
            if self.eager {
                self.drain_stack();
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.catch_up();
        // Most wake-ups are connection expiries. When keepalived's cached deadline and the
        // stack's are both later, nothing else is due and IPVS (which sends nothing) is all
        // there is to run.
        if let Some(keepalived) = self.keepalived_at
            && keepalived.is_none_or(|at| at > now)
            && self.stack.poll_timeout().is_none_or(|at| at > now)
        {
            self.ipvs.handle_timeout(now);
            return;
        }
        self.keepalived_at = None;
        self.stack.handle_timeout(now);
        self.ipvs.handle_timeout(now);
        if self.running {
            if let Some(v) = &mut self.vrrp {
                v.handle_timeout(now);
            }
            if let Some(c) = &mut self.checkers {
                c.handle_timeout(now);
            }
        }
        self.pump(now);
    }

    fn control(
        &mut self,
        now: Instant,
        process: &str,
        action: ProcessAction,
    ) -> Result<(), ControlError> {
        self.catch_up();
        self.keepalived_at = None;
        if process != "keepalived" {
            return Err(ControlError::NoSuchProcess(
                process.to_string(),
                process_list(PROCESSES),
            ));
        }
        match action {
            ProcessAction::Stop => self.stop_keepalived(now, true),
            ProcessAction::Crash => self.stop_keepalived(now, false),
            ProcessAction::Start => self.start_keepalived(now),
        }
        Ok(())
    }

    fn processes(&self) -> &[&'static str] {
        PROCESSES
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn handle_link(&mut self, now: Instant, port: PortId, up: bool) {
        self.catch_up();
        self.keepalived_at = None;
        if self.running
            && let Some(v) = &mut self.vrrp
        {
            v.set_link(now, port, up);
        }
        self.stack.handle_link(port, up);
        self.pump(now);
    }

    fn power(&mut self, now: Instant, on: bool) {
        self.catch_up();
        self.keepalived_at = None;
        if on {
            self.boots += 1;
            self.stack = Self::new_stack(&self.config, self.boots);
            for (port, cidr) in &self.extra_addrs {
                self.stack.add_address(Iface::Port(PortId(*port)), *cidr);
            }
            self.ipvs = Self::new_ipvs(&self.config);
            self.probes = ProbeExecutor::seeded(boot_seed(self.config.seed, self.boots));
            self.start_keepalived(now);
        } else {
            self.stop_keepalived(now, false);
            // Frames not yet sent are lost, the stack's as well as the director's own.
            self.out.clear();
            while self.stack.poll_transmit().is_some() {}
        }
    }

    fn recycle_frame(&mut self, frame: Vec<u8>) {
        self.stack.recycle_frame(frame);
    }

    /// The director's own frames, then the stack's: the order in which they were made (see
    /// [`Director::catch_up`]).
    fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(tx) = self.out.pop_front() {
            return Some(tx);
        }
        let tx = self.stack.poll_transmit();
        self.stack_out_polled = tx.is_none();
        tx
    }

    /// The director's own events, then the stack's, as [`Node::poll_transmit`].
    fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        let e = self.stack.poll_event();
        self.stack_events_polled = e.is_none();
        e
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let keepalived = match self.keepalived_at {
            Some(at) => at,
            None => {
                let (vrrp, checkers) = if self.running {
                    (
                        self.vrrp.as_ref().and_then(VrrpProcess::poll_timeout),
                        self.checkers.as_ref().and_then(Checkers::poll_timeout),
                    )
                } else {
                    (None, None)
                };
                let at = earliest(earliest(self.probes.poll_timeout(), vrrp), checkers);
                self.keepalived_at = Some(at);
                at
            }
        };
        earliest(
            earliest(self.stack.poll_timeout(), self.ipvs.poll_timeout_mut()),
            keepalived,
        )
    }
}

/// The earlier of two optional deadlines (`None` is "no deadline"), without branching on
/// which are present: absent ones read as a time later than any (`Instant::MAX` included).
#[inline(always)]
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    const NEVER: u128 = u128::MAX;
    let key = |t: Option<Instant>| t.map_or(NEVER, |t| u128::from(t.as_nanos()));
    let k = key(a).min(key(b));
    (k != NEVER).then(|| Instant::from_nanos(k as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::EthernetAddress;
    use crate::host::tests::{arp_frame, web_arp_reply_to_director};
    use proptest::prelude::*;
    use smoltcp::wire::{ArpOperation, EthernetFrame, EthernetProtocol};

    const DIRECTOR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x64]);
    const WEB_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x66]);

    fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 80, last)
    }

    /// A director's kernel stack with one port on 192.168.80.0/24 and a gateway (.1).
    fn stack() -> LinuxStack {
        let mut sc = StackConfig::single(5, DIRECTOR_MAC, Ipv4Cidr::new(ip(100), 24));
        sc.gateway = Some(ip(1));
        LinuxStack::new(sc)
    }

    fn drain(s: &mut LinuxStack) -> (Vec<Transmit>, Vec<Event>) {
        let t = std::iter::from_fn(|| s.poll_transmit()).collect();
        let e = std::iter::from_fn(|| s.poll_event()).collect();
        (t, e)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The forwarding path's send of a filled buffer (headroom of any content, then the
        /// packet) makes the same frames, results, events and counters as the copying send:
        /// resolved and unresolved next hops, broadcast and multicast destinations, unknown
        /// ports, malformed packets, and an ARP reply releasing queued packets.
        #[test]
        fn buffer_send_matches_copying_send(
            sends in proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u8>(), 0..64),
                    prop_oneof![Just(0x45u8), any::<u8>()],
                    prop_oneof![Just([192u8, 168, 80, 200]), Just([255; 4]), Just([224, 0, 0, 18]),
                        Just([192, 168, 80, 255]), any::<[u8; 4]>()],
                    prop_oneof![4 => Just(0u16), 1 => Just(1u16)],
                    prop_oneof![Just(102u8), Just(103u8), Just(1u8)],
                    any::<u8>(),
                    any::<bool>(),
                ),
                1..24,
            ),
        ) {
            let (mut a, mut b) = (stack(), stack());
            let mut now = Instant::ZERO;
            for (mut packet, version, dst, port, hop, fill, arp) in sends {
                now += crate::time::Duration::from_millis(300);
                a.handle_timeout(now);
                b.handle_timeout(now);
                if arp {
                    a.handle_frame(now, PortId(0), &web_arp_reply_to_director());
                    b.handle_frame(now, PortId(0), &web_arp_reply_to_director());
                }
                if let Some(v) = packet.first_mut() {
                    *v = version;
                }
                if let Some(d) = packet.get_mut(16..20) {
                    d.copy_from_slice(&dst);
                }
                let mut buf = vec![fill; LinuxStack::HEADROOM];
                buf.extend_from_slice(&packet);
                let x = a.send_ipv4_via(now, PortId(port), ip(hop), &packet);
                let y = b.send_ipv4_buffer_via(now, PortId(port), ip(hop), buf);
                prop_assert_eq!(x, y);
                prop_assert_eq!(drain(&mut a), drain(&mut b));
                prop_assert_eq!(a.counters(), b.counters());
                prop_assert_eq!(a.poll_timeout(), b.poll_timeout());
            }
        }
    }

    proptest! {
        /// `earliest` is the least of the deadlines present, `None` if none is.
        #[test]
        fn earliest_is_the_min_of_the_present_deadlines(
            a in proptest::option::of(prop_oneof![Just(u64::MAX), Just(0u64), any::<u64>()]),
            b in proptest::option::of(prop_oneof![Just(u64::MAX), Just(0u64), any::<u64>()]),
        ) {
            let (a, b) = (a.map(Instant::from_nanos), b.map(Instant::from_nanos));
            prop_assert_eq!(earliest(a, b), [a, b].into_iter().flatten().min());
        }
    }

    /// The director of the seed's keepalived-master.conf on 192.168.80.100.
    fn seed_director() -> Director {
        seed_director_on(
            include_str!("../../../scenarios/seed/keepalived-master.conf"),
            DIRECTOR_MAC,
            100,
        )
    }

    /// A director running keepalived configuration `conf` on 192.168.80.`last` at `mac`.
    fn seed_director_on(conf: &str, mac: EthernetAddress, last: u8) -> Director {
        let parsed = crate::config::parse_str(conf, &crate::config::ParseOptions::default());
        Director::new(DirectorConfig {
            ports: vec![DirectorPort {
                name: "eth1".into(),
                mac,
                addr: ip(last),
                prefix_len: 24,
            }],
            gateway: None,
            keepalived: parsed.config,
            seed: u64::from(last),
        })
    }

    const BACKUP_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x65]);
    const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x32]);

    /// The client's TCP segment from port `port` to VIP:80 (a SYN, or with `ack` an ACK of a
    /// connection IPVS may know), sent to `to`.
    fn client_segment(to: EthernetAddress, port: u16, ack: bool) -> Vec<u8> {
        use smoltcp::phy::ChecksumCapabilities;
        use smoltcp::wire::{
            IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
        };
        let (src, dst) = (ip(50), ip(200));
        let tcp = TcpRepr {
            src_port: port,
            dst_port: 80,
            control: if ack {
                TcpControl::None
            } else {
                TcpControl::Syn
            },
            seq_number: TcpSeqNumber(1000),
            ack_number: ack.then_some(TcpSeqNumber(1)),
            window_len: 1000,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ipr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut f = vec![0u8; 14 + ipr.buffer_len() + tcp.buffer_len()];
        let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
        eth.set_dst_addr(to);
        eth.set_src_addr(CLIENT_MAC);
        eth.set_ethertype(EthernetProtocol::Ipv4);
        let caps = ChecksumCapabilities::default();
        ipr.emit(&mut Ipv4Packet::new_unchecked(&mut f[14..34]), &caps);
        tcp.emit(
            &mut TcpPacket::new_unchecked(&mut f[34..]),
            &src.into(),
            &dst.into(),
            &caps,
        );
        f
    }

    /// The seed's two directors, wired to each other, and what they put out, in order.
    struct Pair {
        d: [Director; 2],
        powered: [bool; 2],
        link: [bool; 2],
        sent: Vec<(usize, Transmit)>,
        events: Vec<(usize, Event)>,
    }

    impl Pair {
        fn new(eager: bool) -> Self {
            let mut d = [
                seed_director(),
                seed_director_on(
                    include_str!("../../../scenarios/seed/keepalived-backup.conf"),
                    BACKUP_MAC,
                    101,
                ),
            ];
            for d in &mut d {
                d.eager = eager;
            }
            Pair {
                d,
                powered: [true; 2],
                link: [true; 2],
                sent: Vec::new(),
                events: Vec::new(),
            }
        }

        /// Polls up to `frames` frames and `events` events of director `i`; each frame is
        /// handed to the other director at once.
        fn poll(&mut self, now: Instant, i: usize, frames: usize, events: usize) {
            for _ in 0..frames {
                let Some(tx) = self.d[i].poll_transmit() else {
                    break;
                };
                if self.powered[1 - i] && self.link[i] && self.link[1 - i] {
                    self.d[1 - i].handle_frame(now, PortId(0), &tx.frame);
                }
                self.sent.push((i, tx));
            }
            for _ in 0..events {
                let Some(e) = self.d[i].poll_event() else {
                    break;
                };
                self.events.push((i, e));
            }
        }

        /// One input or poll; `op` in 0..100 weighs them (time steps and frames most often).
        fn step(&mut self, now: Instant, op: u8, i: usize, arg: u16) {
            let mac = [DIRECTOR_MAC, BACKUP_MAC][i];
            let d = &mut self.d[i];
            match op {
                0..30 => {
                    for i in 0..2 {
                        if self.powered[i] && self.d[i].poll_timeout().is_some_and(|t| t <= now) {
                            self.d[i].handle_timeout(now);
                        }
                    }
                }
                30..55 if self.powered[i] => {
                    let frame = match arg % 7 {
                        0 => arp_frame(
                            mac,
                            ArpOperation::Reply,
                            WEB_MAC,
                            ip(102),
                            mac,
                            ip(100 + i as u8),
                        ),
                        1 => arp_frame(
                            mac,
                            ArpOperation::Reply,
                            EthernetAddress([2, 0, 0, 0, 0, 0x67]),
                            ip(103),
                            mac,
                            ip(100 + i as u8),
                        ),
                        2 => arp_frame(
                            EthernetAddress::BROADCAST,
                            ArpOperation::Request,
                            CLIENT_MAC,
                            ip(50),
                            EthernetAddress([0; 6]),
                            ip(200),
                        ),
                        3 | 4 => client_segment(mac, 1000 + arg % 4, arg % 7 == 4),
                        // Malformed frames: the stack's `drop` events.
                        5 => vec![0xff; 6 + arg as usize % 8],
                        _ => {
                            let mut f = client_segment(mac, 1000, false);
                            f[14] = 0x40 | (arg % 5) as u8;
                            f
                        }
                    };
                    d.handle_frame(now, PortId(0), &frame);
                }
                55..58 if self.powered[i] => {
                    let action = [
                        ProcessAction::Stop,
                        ProcessAction::Crash,
                        ProcessAction::Start,
                    ][arg as usize % 3];
                    d.control(now, "keepalived", action).unwrap();
                }
                58..60 => {
                    self.powered[i] = !self.powered[i];
                    d.power(now, self.powered[i]);
                }
                60..62 if self.powered[i] => {
                    self.link[i] = !self.link[i];
                    d.handle_link(now, PortId(0), self.link[i]);
                }
                62..80 => self.poll(now, i, arg as usize % 4, arg as usize / 4 % 3),
                _ => self.poll(now, i, usize::MAX, usize::MAX),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Polling the stack's outputs lazily (behind the director's own) gives the frames and
        /// events in the same order as moving them behind the director's own after every
        /// input, whether or not the driver polls everything between inputs: two directors
        /// exchanging adverts, health checks and forwarded traffic, through keepalived stops,
        /// crashes, power cycles and cable pulls.
        #[test]
        fn lazy_stack_polling_matches_eager_draining(
            ops in proptest::collection::vec((0u8..100, 0usize..2, any::<u16>(), 0u64..2500), 1..300),
        ) {
            let (mut lazy, mut eager) = (Pair::new(false), Pair::new(true));
            let mut now = Instant::ZERO;
            for (op, i, arg, dt) in ops {
                if op < 30 {
                    now += crate::time::Duration::from_millis(dt);
                }
                lazy.step(now, op, i, arg);
                eager.step(now, op, i, arg);
                prop_assert_eq!(&lazy.sent, &eager.sent);
                prop_assert_eq!(&lazy.events, &eager.events);
                for i in 0..2 {
                    prop_assert_eq!(lazy.d[i].poll_timeout(), eager.d[i].poll_timeout());
                }
            }
            // And once everything is polled.
            for p in [&mut lazy, &mut eager] {
                p.poll(now, 0, usize::MAX, usize::MAX);
                p.poll(now, 1, usize::MAX, usize::MAX);
            }
            prop_assert_eq!(&lazy.sent, &eager.sent);
            prop_assert_eq!(&lazy.events, &eager.events);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// A frame `may_be_vrrp` turns away is one keepalived's VRRP declines without counting
        /// it: random frames, with the ethertype and IP protocol bytes often VRRP's, the
        /// lengths around the IPv4 header's end, and real adverts bent.
        #[test]
        fn frames_turned_away_are_not_vrrp(
            mut frame in prop_oneof![Just(33usize), Just(34), 0usize..80]
                .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n)),
            ethertype in prop_oneof![Just([0x08u8, 0x00]), Just([0x08, 0x06]), any::<[u8; 2]>()],
            proto in prop_oneof![Just(112u8), Just(6), any::<u8>()],
            ihl in prop_oneof![Just(0x45u8), any::<u8>()],
            total_len in prop_oneof![Just(20u16), 20u16..66, any::<u16>()],
        ) {
            if let Some(b) = frame.get_mut(16..18) {
                b.copy_from_slice(&total_len.to_be_bytes());
            }
            if let Some(b) = frame.get_mut(12..14) {
                b.copy_from_slice(&ethertype);
            }
            if let Some(b) = frame.get_mut(14) {
                *b = ihl;
            }
            if let Some(b) = frame.get_mut(23) {
                *b = proto;
            }
            let mut d = seed_director();
            let v = d.vrrp.as_mut().unwrap();
            let before = format!("{:?}", v.stats());
            let taken = v.handle_frame(Instant::ZERO, PortId(0), &frame);
            if !may_be_vrrp(&frame) {
                prop_assert!(!taken);
                prop_assert_eq!(before, format!("{:?}", v.stats()));
            }
        }
    }
}
