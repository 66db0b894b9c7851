//! The discrete-event world: hosts (any [`Node`]), switches and links, one event queue, one
//! seed, one trace.
//!
//! The driver only pumps the node contract: after every input to a host it drains
//! `poll_transmit`, then `poll_event`, then asks `poll_timeout` for the next wake-up. Frames
//! travel link → switch → link with the links' delays; faults are scheduled data.
//!
//! Runs are bounded: [`World::run_until`] stops at the requested simulated time, and a run that
//! exceeds its event budget (a livelock, a storm) stops with [`RunError`] instead of hanging.

use crate::fault::FaultAction;
use crate::lan::{
    Attach, ElementId, Endpoint, Forward, Graph, HostSpec, Link, LinkConfig, LinkDrop, Mac, Switch,
    SwitchConfig, TopologyError, graph_node, mac_to_string,
};
use crate::queue::{EventQueue, Key, WakeQueue, key};
use crate::rng::SeedTree;
use crate::trace::{Trace, TraceConfig};
use lvs_model::event::{Event, Record};
use lvs_model::node::{Node, PortId, ProcessAction, process_list};
use lvs_model::time::Instant;
use std::collections::{BTreeMap, BTreeSet};

/// Limits that make every run finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Events processed over the whole run.
    pub max_events: u64,
    /// Events processed at one simulated instant (a zero-delay loop between nodes).
    pub max_events_per_instant: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_events: 500_000_000,
            max_events_per_instant: 1_000_000,
        }
    }
}

/// Why a run stopped early.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("event budget of {budget} events exhausted at {at}")]
    EventBudget { budget: u64, at: Instant },
    #[error("livelock: more than {budget} events at the single instant {at}")]
    Livelock { budget: u64, at: Instant },
}

/// A fault that cannot be scheduled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("fault `{0}` needs a target node")]
    NeedsTarget(String),
    #[error("no node is called `{0}`")]
    UnknownNode(String),
    #[error("`{node}` has no port {port}")]
    NoSuchPort { node: String, port: String },
    #[error("`{node}` has no process `{process}` (it has: {has})")]
    NoSuchProcess {
        node: String,
        process: String,
        has: String,
    },
    #[error("fault `{0}` applies to hosts, and `{1}` is a switch")]
    NotAHost(String, String),
}

/// Counters of what the LAN did with frames.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LanStats {
    pub frames_sent: u64,
    pub frames_delivered: u64,
    pub dropped_link_down: u64,
    pub dropped_queue_full: u64,
    pub dropped_loss: u64,
    pub dropped_partition: u64,
    pub dropped_powered_off: u64,
    pub dropped_unconnected: u64,
    pub dropped_runt: u64,
    pub events: u64,
}

/// What the event queue holds; host wake-ups have their own [`WakeQueue`].
enum Ev {
    /// A frame reaches end `to` of `link`; `origin` is the host that sent it. The frame moves
    /// with the event (a flood copies it per port).
    Arrive {
        link: u32,
        to: u8,
        frame: Vec<u8>,
        origin: u32,
    },
    /// The scheduled fault with this index.
    Fault { index: usize },
}

/// The next thing [`World::run_until`] handles.
enum Next {
    Queued(Ev),
    Wake(u32),
}

struct HostSlot {
    spec: HostSpec,
    node: Box<dyn Node>,
    /// The link on each port, and which end of it is ours.
    ports: Vec<Option<(usize, usize)>>,
    powered: bool,
}

/// A fault resolved against the topology.
#[derive(Clone, Debug)]
enum Resolved {
    Process {
        host: usize,
        process: String,
        action: ProcessAction,
    },
    Power {
        host: usize,
        on: bool,
    },
    Link {
        links: Vec<usize>,
        up: bool,
    },
    Loss {
        links: Vec<usize>,
        ppm: u32,
    },
    Partition(Partition),
    Heal,
}

#[derive(Clone, Debug)]
struct Partition {
    from: BTreeSet<usize>,
    to: BTreeSet<usize>,
    one_way: bool,
}

impl Partition {
    fn blocks(&self, from: usize, to: usize) -> bool {
        (self.from.contains(&from) && self.to.contains(&to))
            || (!self.one_way && self.to.contains(&from) && self.from.contains(&to))
    }
}

struct ScheduledFault {
    action: FaultAction,
    target: String,
    resolved: Resolved,
}

/// Builds a [`World`]: add switches and hosts, connect them, then [`LanBuilder::build`].
pub struct LanBuilder {
    seeds: SeedTree,
    hosts: Vec<HostSlot>,
    switches: Vec<Switch>,
    links: Vec<Link>,
    graph: Graph,
    names: BTreeMap<String, ElementId>,
    limits: RunLimits,
    trace: TraceConfig,
}

impl LanBuilder {
    pub fn new(seed: u64) -> Self {
        LanBuilder {
            seeds: SeedTree::new(seed),
            hosts: Vec::new(),
            switches: Vec::new(),
            links: Vec::new(),
            graph: Graph::default(),
            names: BTreeMap::new(),
            limits: RunLimits::default(),
            trace: TraceConfig::default(),
        }
    }

    /// The run's seed tree, to give each node its own named random stream.
    pub fn seeds(&self) -> &SeedTree {
        &self.seeds
    }

    pub fn limits(mut self, limits: RunLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn trace(mut self, trace: TraceConfig) -> Self {
        self.trace = trace;
        self
    }

    fn claim_name(&mut self, name: &str, id: ElementId) -> Result<(), TopologyError> {
        if self.names.contains_key(name) {
            return Err(TopologyError::DuplicateName(name.to_string()));
        }
        self.names.insert(name.to_string(), id);
        self.graph.add_node(id);
        Ok(())
    }

    pub fn add_switch(
        &mut self,
        name: &str,
        config: SwitchConfig,
    ) -> Result<ElementId, TopologyError> {
        let id = ElementId::Switch(self.switches.len());
        self.claim_name(name, id)?;
        self.switches.push(Switch::new(name.to_string(), config));
        Ok(id)
    }

    /// Adds a host; `spec.macs` gives its ports.
    pub fn add_host(
        &mut self,
        spec: HostSpec,
        node: Box<dyn Node>,
    ) -> Result<ElementId, TopologyError> {
        if spec.macs.is_empty() {
            return Err(TopologyError::NoPort(spec.name));
        }
        for other in &self.hosts {
            if let Some(mac) = spec.macs.iter().find(|m| other.spec.macs.contains(m)) {
                return Err(TopologyError::DuplicateMac {
                    mac: mac_to_string(mac),
                    first: other.spec.name.clone(),
                    second: spec.name,
                });
            }
            if let Some(ip) = spec.ips.iter().find(|ip| other.spec.ips.contains(ip)) {
                return Err(TopologyError::DuplicateIp {
                    ip: *ip,
                    first: other.spec.name.clone(),
                    second: spec.name,
                });
            }
        }
        if let Some((i, mac)) = spec
            .macs
            .iter()
            .enumerate()
            .find(|(i, m)| spec.macs[..*i].contains(m))
        {
            let _ = i;
            return Err(TopologyError::DuplicateMac {
                mac: mac_to_string(mac),
                first: spec.name.clone(),
                second: spec.name,
            });
        }
        let id = ElementId::Host(self.hosts.len());
        self.claim_name(&spec.name, id)?;
        let ports = vec![None; spec.macs.len()];
        self.hosts.push(HostSlot {
            spec,
            node,
            ports,
            powered: true,
        });
        Ok(id)
    }

    /// Looks an element up by name.
    pub fn find(&self, name: &str) -> Result<ElementId, TopologyError> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| TopologyError::Unknown(name.to_string()))
    }

    fn element_name(&self, id: ElementId) -> Result<&str, TopologyError> {
        match id {
            ElementId::Host(i) => self.hosts.get(i).map(|h| h.spec.name.as_str()),
            ElementId::Switch(i) => self.switches.get(i).map(|s| s.name.as_str()),
        }
        .ok_or(TopologyError::BadId(id))
    }

    /// Resolves one end of a new link, claiming the port.
    fn attach(&mut self, at: Attach) -> Result<Endpoint, TopologyError> {
        match at {
            Attach::Host(id @ ElementId::Host(h), port) => {
                let name = self.element_name(id)?.to_string();
                let slot = self.hosts[h]
                    .ports
                    .get_mut(port as usize)
                    .ok_or(TopologyError::NoSuchPort(name.clone(), port))?;
                if slot.is_some() {
                    return Err(TopologyError::PortInUse(name, port));
                }
                Ok(Endpoint { element: id, port })
            }
            Attach::Switch(id @ ElementId::Switch(s)) => {
                self.element_name(id)?;
                Ok(Endpoint {
                    element: id,
                    port: self.switches[s].ports.len() as u16,
                })
            }
            Attach::Host(id, _) | Attach::Switch(id) => Err(TopologyError::BadId(id)),
        }
    }

    /// Connects two ends with a link.
    pub fn connect(
        &mut self,
        a: Attach,
        b: Attach,
        config: LinkConfig,
    ) -> Result<(), TopologyError> {
        let index = self.links.len();
        let ea = self.attach(a)?;
        let eb = self.attach(b)?;
        let name = format!(
            "{}-{}",
            self.element_name(ea.element)?,
            self.element_name(eb.element)?
        );
        if config.rate_bps == Some(0) {
            return Err(TopologyError::BadLink {
                link: name,
                reason: "rate must be above zero".into(),
            });
        }
        if config.loss_ppm > 1_000_000 {
            return Err(TopologyError::BadLink {
                link: name,
                reason: "loss above 100%".into(),
            });
        }
        if ea.element == eb.element && matches!(ea.element, ElementId::Switch(_)) {
            return Err(TopologyError::BadLink {
                link: name,
                reason: "a switch linked to itself".into(),
            });
        }
        for (end, e) in [ea, eb].into_iter().enumerate() {
            match e.element {
                ElementId::Host(h) => self.hosts[h].ports[e.port as usize] = Some((index, end)),
                ElementId::Switch(s) => self.switches[s].ports.push((index, end)),
            }
        }
        let (na, nb) = (
            graph_node(&self.graph, ea.element).ok_or(TopologyError::BadId(ea.element))?,
            graph_node(&self.graph, eb.element).ok_or(TopologyError::BadId(eb.element))?,
        );
        self.graph.add_edge(na, nb, index);
        let rng = self.seeds.stream(&format!("link:{name}:{index}"));
        self.links.push(Link::new(name, [ea, eb], config, rng));
        Ok(())
    }

    /// Validates the topology and starts the world at time zero.
    pub fn build(self) -> Result<World, TopologyError> {
        for h in &self.hosts {
            if let Some(port) = h.ports.iter().position(Option::is_none) {
                return Err(TopologyError::PortUnconnected(
                    h.spec.name.clone(),
                    port as u16,
                ));
            }
        }
        let mut world = World {
            now: Instant::ZERO,
            queue: EventQueue::new(),
            wakes: WakeQueue::new(),
            hosts: self.hosts,
            switches: self.switches,
            links: self.links,
            graph: self.graph,
            names: self.names,
            trace: Trace::new(self.trace),
            faults: Vec::new(),
            partitions: Vec::new(),
            limits: self.limits,
            stats: LanStats::default(),
            instant_events: 0,
        };
        for h in 0..world.hosts.len() {
            world.pump(h);
        }
        Ok(world)
    }
}

/// A running virtual LAN.
pub struct World {
    now: Instant,
    queue: EventQueue<Ev>,
    /// Each host's next wake-up.
    wakes: WakeQueue,
    hosts: Vec<HostSlot>,
    switches: Vec<Switch>,
    links: Vec<Link>,
    graph: Graph,
    names: BTreeMap<String, ElementId>,
    trace: Trace,
    faults: Vec<ScheduledFault>,
    partitions: Vec<Partition>,
    limits: RunLimits,
    stats: LanStats,
    /// Events processed at `now` so far (livelock guard).
    instant_events: u64,
}

impl World {
    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn stats(&self) -> &LanStats {
        &self.stats
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }

    pub fn records(&self) -> &[Record] {
        self.trace.records()
    }

    /// Link names (`a-b`), in the order they were connected.
    pub fn link_names(&self) -> impl Iterator<Item = &str> {
        self.links.iter().map(|l| l.name.as_str())
    }

    /// Hosts and switches joined by links, for reports and path queries.
    pub fn graph(&self) -> &petgraph::graph::UnGraph<ElementId, usize> {
        &self.graph
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Option<&dyn Node> {
        match self.names.get(name)? {
            ElementId::Host(h) => Some(self.hosts[*h].node.as_ref()),
            ElementId::Switch(_) => None,
        }
    }

    /// The host called `name`, mutably (tests and drivers that poke a node directly must call
    /// [`World::pump_host`] afterwards).
    pub fn host_mut(&mut self, name: &str) -> Option<&mut dyn Node> {
        match self.names.get(name)? {
            ElementId::Host(h) => Some(self.hosts[*h].node.as_mut()),
            ElementId::Switch(_) => None,
        }
    }

    /// Drains a host's outputs after it was poked directly.
    pub fn pump_host(&mut self, name: &str) {
        if let Some(ElementId::Host(h)) = self.names.get(name).copied() {
            self.pump(h);
        }
    }

    fn host_index(&self, name: &str) -> Result<usize, FaultError> {
        match self.names.get(name) {
            Some(ElementId::Host(h)) => Ok(*h),
            Some(ElementId::Switch(_)) => {
                Err(FaultError::NotAHost(String::new(), name.to_string()))
            }
            None => Err(FaultError::UnknownNode(name.to_string())),
        }
    }

    /// The links of a `node` or `node:port` target.
    fn target_links(&self, target: &str) -> Result<Vec<usize>, FaultError> {
        let (name, port) = match target.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (target, None),
        };
        let h = self.host_index(name)?;
        let ports = &self.hosts[h].ports;
        match port {
            None => Ok(ports.iter().flatten().map(|(l, _)| *l).collect()),
            Some(p) => {
                let bad = || FaultError::NoSuchPort {
                    node: name.to_string(),
                    port: p.to_string(),
                };
                let i: usize = p.trim_start_matches("port").parse().map_err(|_| bad())?;
                let (l, _) = ports.get(i).copied().flatten().ok_or_else(bad)?;
                Ok(vec![l])
            }
        }
    }

    fn resolve(&self, action: &FaultAction, target: Option<&str>) -> Result<Resolved, FaultError> {
        let need = || target.ok_or_else(|| FaultError::NeedsTarget(action.to_string()));
        let host = |name: &str| {
            self.host_index(name).map_err(|e| match e {
                FaultError::NotAHost(_, n) => FaultError::NotAHost(action.to_string(), n),
                e => e,
            })
        };
        Ok(match action {
            FaultAction::Process { action: a, process } => {
                let name = need()?;
                let h = host(name)?;
                let has = self.hosts[h].node.processes();
                if !has.contains(&process.as_str()) {
                    return Err(FaultError::NoSuchProcess {
                        node: name.to_string(),
                        process: process.clone(),
                        has: process_list(has),
                    });
                }
                Resolved::Process {
                    host: h,
                    process: process.clone(),
                    action: *a,
                }
            }
            FaultAction::PowerOff => Resolved::Power {
                host: host(need()?)?,
                on: false,
            },
            FaultAction::PowerOn => Resolved::Power {
                host: host(need()?)?,
                on: true,
            },
            FaultAction::LinkDown => Resolved::Link {
                links: self.target_links(need()?)?,
                up: false,
            },
            FaultAction::LinkUp => Resolved::Link {
                links: self.target_links(need()?)?,
                up: true,
            },
            FaultAction::Loss { ppm } => Resolved::Loss {
                links: self.target_links(need()?)?,
                ppm: *ppm,
            },
            FaultAction::Partition { from, to, one_way } => {
                let group = |names: &[String]| {
                    names
                        .iter()
                        .map(|n| host(n))
                        .collect::<Result<BTreeSet<_>, _>>()
                };
                Resolved::Partition(Partition {
                    from: group(from)?,
                    to: group(to)?,
                    one_way: *one_way,
                })
            }
            FaultAction::Heal => Resolved::Heal,
        })
    }

    /// Schedules `action` on `target` at `at` (not before now). Errors name the culprit.
    pub fn schedule_fault(
        &mut self,
        at: Instant,
        action: FaultAction,
        target: Option<&str>,
    ) -> Result<(), FaultError> {
        let resolved = self.resolve(&action, target)?;
        let index = self.faults.len();
        let target = target
            .map(str::to_string)
            .unwrap_or_else(|| "lan".to_string());
        self.faults.push(ScheduledFault {
            action,
            target,
            resolved,
        });
        self.queue.push_ahead(at.max(self.now), Ev::Fault { index });
        Ok(())
    }

    /// Runs every event up to and including `end`, then sets the clock to `end`.
    pub fn run_until(&mut self, end: Instant) -> Result<(), RunError> {
        // The counters live in locals through the loop (the handlers never read them) and are
        // written back once.
        let (mut events, mut instant_events) = (self.stats.events, self.instant_events);
        let result = loop {
            // The earlier of the next queued event and the next wake-up, by (time, sequence):
            // a queued event goes first if it is no later than both the next wake-up and the
            // end (sequence numbers are unique across both queues, so there are no ties).
            let wake = self.wakes.peek_key().unwrap_or(Key::MAX);
            let limit = wake.min(key(end, u64::MAX));
            let (at, next) = if let Some((at, ev)) = self.queue.pop_before(limit) {
                (at, Next::Queued(ev))
            } else if wake <= limit {
                // (`Key::MAX` stands for "no wake-up": with `end` at `Instant::MAX` it passes.)
                match self.wakes.pop() {
                    Some((at, host)) => (at, Next::Wake(host)),
                    None => break Ok(()),
                }
            } else {
                break Ok(());
            };
            if at != self.now {
                self.now = at;
                instant_events = 0;
            }
            events += 1;
            instant_events += 1;
            if events > self.limits.max_events {
                break Err(RunError::EventBudget {
                    budget: self.limits.max_events,
                    at,
                });
            }
            if instant_events > self.limits.max_events_per_instant {
                break Err(RunError::Livelock {
                    budget: self.limits.max_events_per_instant,
                    at,
                });
            }
            match next {
                Next::Queued(Ev::Arrive {
                    link,
                    to,
                    frame,
                    origin,
                }) => self.arrive(link as usize, to as usize, frame, origin as usize),
                Next::Queued(Ev::Fault { index }) => self.apply_fault(index),
                Next::Wake(host) => self.wake(host as usize),
            }
        };
        (self.stats.events, self.instant_events) = (events, instant_events);
        result?;
        self.now = self.now.max(end);
        Ok(())
    }

    fn wake(&mut self, h: usize) {
        let slot = &mut self.hosts[h];
        if !slot.powered {
            return;
        }
        slot.node.handle_timeout(self.now);
        self.pump(h);
    }

    /// Drains a host's outputs in the contract's order and schedules its next wake-up.
    fn pump(&mut self, h: usize) {
        let now = self.now;
        loop {
            let slot = &mut self.hosts[h];
            let Some(tx) = slot.node.poll_transmit() else {
                break;
            };
            if !slot.powered {
                continue;
            }
            let Some((link, end)) = slot.ports.get(tx.port.0 as usize).copied().flatten() else {
                self.stats.dropped_unconnected += 1;
                continue;
            };
            self.trace.frame(now, &tx.frame);
            self.stats.frames_sent += 1;
            self.send(link, end, tx.frame, h);
        }
        loop {
            let slot = &mut self.hosts[h];
            let Some(event) = slot.node.poll_event() else {
                break;
            };
            let record = Record::new(now, slot.spec.name.clone(), event);
            self.trace.record(record);
        }
        let slot = &mut self.hosts[h];
        if !slot.powered {
            self.wakes.remove(h as u32);
            return;
        }
        // A host that no longer names a deadline keeps the one it had (a spurious wake-up is
        // harmless; nodes re-check their timers).
        if let Some(t) = slot.node.poll_timeout() {
            let t = t.max(now);
            if self.wakes.get(h as u32) != Some(t) {
                let seq = self.queue.take_seq();
                self.wakes.set(h as u32, t, seq);
            }
        }
    }

    /// Puts a frame on `link` from end `from`.
    #[inline(always)]
    fn send(&mut self, link: usize, from: usize, frame: Vec<u8>, origin: usize) {
        match self.links[link].transmit(self.now, from, frame.len()) {
            Ok(arrival) => self.queue.push(
                arrival,
                Ev::Arrive {
                    link: link as u32,
                    to: (1 - from) as u8,
                    frame,
                    origin: origin as u32,
                },
            ),
            Err(LinkDrop::Down) => self.stats.dropped_link_down += 1,
            Err(LinkDrop::QueueFull) => self.stats.dropped_queue_full += 1,
            Err(LinkDrop::Loss) => self.stats.dropped_loss += 1,
        }
    }

    fn arrive(&mut self, link: usize, to: usize, frame: Vec<u8>, origin: usize) {
        let l = &self.links[link];
        if !l.up {
            self.stats.dropped_link_down += 1;
            return;
        }
        let end = l.ends[to];
        match end.element {
            ElementId::Host(h) => {
                if !self.hosts[h].powered {
                    self.stats.dropped_powered_off += 1;
                    return;
                }
                if self.partitions.iter().any(|p| p.blocks(origin, h)) {
                    self.stats.dropped_partition += 1;
                    return;
                }
                self.stats.frames_delivered += 1;
                let node = &mut self.hosts[h].node;
                node.handle_frame(self.now, PortId(end.port), &frame);
                node.recycle_frame(frame);
                self.pump(h);
            }
            ElementId::Switch(s) => {
                if frame.len() < 14 {
                    self.stats.dropped_runt += 1;
                    return;
                }
                let mut dst: Mac = [0; 6];
                let mut src: Mac = [0; 6];
                dst.copy_from_slice(&frame[0..6]);
                src.copy_from_slice(&frame[6..12]);
                let ingress = end.port;
                match self.switches[s].forward(self.now, ingress, &dst, &src) {
                    Forward::One(port) => {
                        let (l, e) = self.switches[s].ports[port as usize];
                        self.send(l, e, frame, origin);
                    }
                    Forward::Flood => {
                        for port in 0..self.switches[s].ports.len() {
                            if port != ingress as usize {
                                let (l, e) = self.switches[s].ports[port];
                                self.send(l, e, frame.clone(), origin);
                            }
                        }
                    }
                    Forward::Filter => {}
                }
            }
        }
    }

    fn apply_fault(&mut self, index: usize) {
        let now = self.now;
        let fault = &self.faults[index];
        let (action, target) = (fault.action.to_string(), fault.target.clone());
        let node = match &fault.resolved {
            Resolved::Process { host, .. } | Resolved::Power { host, .. } => {
                self.hosts[*host].spec.name.clone()
            }
            _ => target.split(':').next().unwrap_or("lan").to_string(),
        };
        self.trace
            .record(Record::new(now, node, Event::Fault { action, target }));
        match self.faults[index].resolved.clone() {
            Resolved::Process {
                host,
                process,
                action,
            } => {
                // Validated when scheduled; a node that changes its process list is its own bug.
                let _ = self.hosts[host].node.control(now, &process, action);
                self.pump(host);
            }
            Resolved::Power { host, on } => {
                let slot = &mut self.hosts[host];
                if slot.powered != on {
                    if on {
                        slot.powered = true;
                        slot.node.power(now, true);
                    } else {
                        slot.node.power(now, false);
                        slot.powered = false;
                    }
                    self.pump(host);
                }
            }
            Resolved::Link { links, up } => {
                for l in links {
                    self.links[l].set_up(up);
                    for end in self.links[l].ends {
                        if let ElementId::Host(h) = end.element {
                            self.hosts[h].node.handle_link(now, PortId(end.port), up);
                            self.pump(h);
                        }
                    }
                }
            }
            Resolved::Loss { links, ppm } => {
                for l in links {
                    for d in &mut self.links[l].dirs {
                        d.loss_ppm = ppm;
                    }
                }
            }
            Resolved::Partition(p) => self.partitions.push(p),
            Resolved::Heal => self.partitions.clear(),
        }
    }
}
