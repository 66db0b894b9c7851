//! The virtual LAN's parts: links with latency, jitter, loss, rate and a queue; learning
//! switches; the topology graph (petgraph) and its validation.
//!
//! Units: times are simulated nanoseconds, rates are bits per second on the wire (each frame
//! costs its length plus 24 bytes of preamble, FCS and inter-frame gap, as on real Ethernet).

use crate::rng::{Stream, below};
use lvs_model::time::{Duration, Instant};
use petgraph::graph::{NodeIndex, UnGraph};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;

/// Bytes of Ethernet overhead per frame on the wire besides the frame itself:
/// preamble and start delimiter (8), FCS (4), inter-frame gap (12).
pub const WIRE_OVERHEAD_BYTES: u64 = 24;

/// A 48-bit MAC address.
pub type Mac = [u8; 6];

/// A host or a switch in the topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ElementId {
    Host(usize),
    Switch(usize),
}

/// One end of a link: a host's port, or a switch (which gets its next free port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    Host(ElementId, u16),
    Switch(ElementId),
}

/// Impairments and capacity of one link (both directions alike).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// Propagation delay, added to every frame.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` per frame (frames may reorder, as with
    /// netem).
    pub jitter: Duration,
    /// Frames lost, in parts per million.
    pub loss_ppm: u32,
    /// Bits per second; `None` is infinitely fast (no serialisation delay).
    pub rate_bps: Option<u64>,
    /// Frames that may wait for the wire in each direction before new ones are dropped.
    pub queue_limit: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_micros(50),
            jitter: Duration::ZERO,
            loss_ppm: 0,
            rate_bps: None,
            queue_limit: 1000,
        }
    }
}

/// A learning switch's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SwitchConfig {
    /// A learned MAC is forgotten after this long without a frame from it (Linux bridge: 300 s).
    pub mac_aging: Duration,
}

impl Default for SwitchConfig {
    fn default() -> Self {
        SwitchConfig {
            mac_aging: Duration::from_secs(300),
        }
    }
}

/// What the topology knows about a host, for validation and lookup.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSpec {
    pub name: String,
    /// One MAC per port, in port order.
    pub macs: Vec<Mac>,
    /// The host's addresses (all ports and `lo`), for duplicate detection.
    pub ips: Vec<Ipv4Addr>,
}

/// An invalid topology, naming the culprit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    #[error("two elements are called `{0}`")]
    DuplicateName(String),
    #[error("MAC {mac} is used by both `{first}` and `{second}`")]
    DuplicateMac {
        mac: String,
        first: String,
        second: String,
    },
    #[error("IP {ip} is used by both `{first}` and `{second}`")]
    DuplicateIp {
        ip: Ipv4Addr,
        first: String,
        second: String,
    },
    #[error("host `{0}` has no port")]
    NoPort(String),
    #[error("host `{0}` has no port {1}")]
    NoSuchPort(String, u16),
    #[error("port {1} of host `{0}` is connected twice")]
    PortInUse(String, u16),
    #[error("port {1} of host `{0}` is not connected to anything")]
    PortUnconnected(String, u16),
    #[error("no host or switch is called `{0}`")]
    Unknown(String),
    #[error("an id that this topology never handed out: {0:?}")]
    BadId(ElementId),
    #[error("link `{link}`: {reason}")]
    BadLink { link: String, reason: String },
}

/// Formats a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn mac_to_string(mac: &Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Where a link's end is attached, resolved to a concrete port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub element: ElementId,
    pub port: u16,
}

/// One direction of a link: the wire's queue.
#[derive(Debug, Default)]
pub struct Direction {
    /// When the last queued frame finishes serialising.
    busy_until: Instant,
    /// Departure times of frames still queued or on the wire, oldest first.
    departures: VecDeque<Instant>,
    pub loss_ppm: u32,
}

/// Why a link refused a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkDrop {
    Down,
    QueueFull,
    Loss,
}

/// One cable between two ends. Public (like [`Switch`]) so benchmarks can time one
/// transmission alone; the world owns the real ones.
pub struct Link {
    pub name: String,
    pub ends: [Endpoint; 2],
    /// Private: `latency_ns` is derived from it, so it is read through [`Link::config`].
    config: LinkConfig,
    /// `config.latency` in nanoseconds (saturated at `u64::MAX`), so the plain-cable path of
    /// [`Link::transmit`] is an integer add.
    latency_ns: u64,
    pub up: bool,
    pub dirs: [Direction; 2],
    pub rng: Stream,
}

impl Link {
    pub fn new(name: String, ends: [Endpoint; 2], config: LinkConfig, rng: Stream) -> Self {
        let dir = || Direction {
            loss_ppm: config.loss_ppm,
            ..Default::default()
        };
        Link {
            name,
            ends,
            up: true,
            dirs: [dir(), dir()],
            latency_ns: u64::try_from(config.latency.as_nanos()).unwrap_or(u64::MAX),
            config,
            rng,
        }
    }

    /// The link's impairments and capacity as configured (loss may since have changed per
    /// direction, see [`Direction::loss_ppm`]).
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// `at + latency`, saturating at [`Instant::MAX`] as `Instant + Duration` does.
    #[inline(always)]
    fn after_latency(&self, at: Instant) -> Instant {
        Instant::from_nanos(at.as_nanos().saturating_add(self.latency_ns))
    }

    /// Puts a frame on the wire from end `from` at `now`; returns its arrival time at the
    /// other end, or why it is lost.
    ///
    /// Every frame of a run crosses a link twice, and nearly every link is a plain up cable
    /// (no rate, loss or jitter) whose answer is `now + latency`: that case is inlined into
    /// the caller, the rest is [`Self::transmit_slow`].
    #[inline]
    pub fn transmit(&mut self, now: Instant, from: usize, len: usize) -> Result<Instant, LinkDrop> {
        let config = &self.config;
        if self.up
            && config.rate_bps.is_none()
            && config.jitter.is_zero()
            && self.dirs[from].loss_ppm == 0
        {
            return Ok(self.after_latency(now));
        }
        self.transmit_slow(now, from, len)
    }

    /// [`Self::transmit`] for any link: down, rate-limited, lossy or jittery.
    #[inline(never)]
    pub fn transmit_slow(
        &mut self,
        now: Instant,
        from: usize,
        len: usize,
    ) -> Result<Instant, LinkDrop> {
        if !self.up {
            return Err(LinkDrop::Down);
        }
        let config = &self.config;
        let dir = &mut self.dirs[from];
        let mut departure = now;
        if let Some(rate) = config.rate_bps {
            while dir.departures.front().is_some_and(|&d| d <= now) {
                dir.departures.pop_front();
            }
            if dir.departures.len() >= config.queue_limit {
                return Err(LinkDrop::QueueFull);
            }
            let bits = (len as u64 + WIRE_OVERHEAD_BYTES) * 8;
            let tx = Duration::from_nanos(((bits as u128 * 1_000_000_000) / rate as u128) as u64);
            departure = dir.busy_until.max(now) + tx;
            dir.busy_until = departure;
            dir.departures.push_back(departure);
        }
        if dir.loss_ppm > 0 && below(&mut self.rng, 1_000_000) < dir.loss_ppm as u64 {
            return Err(LinkDrop::Loss);
        }
        let mut arrival = self.after_latency(departure);
        if !config.jitter.is_zero() {
            arrival +=
                Duration::from_nanos(below(&mut self.rng, config.jitter.as_nanos() as u64 + 1));
        }
        Ok(arrival)
    }

    /// Pulls or plugs the cable; frames queued on a pulled cable are lost.
    pub fn set_up(&mut self, up: bool) {
        self.up = up;
        if !up {
            for d in &mut self.dirs {
                d.departures.clear();
            }
        }
    }
}

/// A learning switch: floods broadcast, multicast and unknown unicast; forwards known unicast.
pub struct Switch {
    pub name: String,
    pub config: SwitchConfig,
    /// The link attached to each port, and which end of it is ours.
    pub ports: Vec<(usize, usize)>,
    table: MacTable,
}

/// A switch's MAC table: MAC → (port, last seen). Only looked up, never iterated into output.
///
/// Every frame learns its source and looks up its destination. A LAN of a few hosts is
/// scanned in a short vector, several times cheaper than hashing twice per frame; past
/// [`SMALL_TABLE`] entries the table moves to a hash map.
enum MacTable {
    Small(Vec<(u64, u16, Instant)>),
    Large(HashMap<u64, (u16, Instant), BuildHasherDefault<MacHasher>>),
}

/// The most MACs a [`MacTable`] scans linearly.
const SMALL_TABLE: usize = 8;

impl MacTable {
    #[inline]
    fn learn(&mut self, mac: u64, port: u16, now: Instant) {
        match self {
            MacTable::Small(v) => {
                if let Some(e) = v.iter_mut().find(|e| e.0 == mac) {
                    (e.1, e.2) = (port, now);
                } else if v.len() < SMALL_TABLE {
                    v.push((mac, port, now));
                } else {
                    let mut map: HashMap<_, _, _> =
                        v.iter().map(|&(m, p, t)| (m, (p, t))).collect();
                    map.insert(mac, (port, now));
                    *self = MacTable::Large(map);
                }
            }
            MacTable::Large(map) => {
                map.insert(mac, (port, now));
            }
        }
    }

    #[inline]
    fn get(&self, mac: u64) -> Option<(u16, Instant)> {
        match self {
            MacTable::Small(v) => v.iter().find(|e| e.0 == mac).map(|e| (e.1, e.2)),
            MacTable::Large(map) => map.get(&mac).copied(),
        }
    }
}

/// Where a switch sends a frame.
pub enum Forward {
    /// To one port.
    One(u16),
    /// To every port but the ingress.
    Flood,
    /// Nowhere (the destination is behind the ingress port).
    Filter,
}

impl Switch {
    pub fn new(name: String, config: SwitchConfig) -> Self {
        Switch {
            name,
            config,
            ports: Vec::new(),
            table: MacTable::Small(Vec::new()),
        }
    }

    /// Learns the source and decides where a frame from `ingress` goes.
    #[inline]
    pub fn forward(&mut self, now: Instant, ingress: u16, dst: &Mac, src: &Mac) -> Forward {
        if src[0] & 1 == 0 {
            self.table.learn(mac_key(src), ingress, now);
        }
        if dst[0] & 1 == 1 {
            return Forward::Flood;
        }
        match self.table.get(mac_key(dst)) {
            Some((port, seen)) if now.saturating_duration_since(seen) < self.config.mac_aging => {
                if port == ingress {
                    Forward::Filter
                } else {
                    Forward::One(port)
                }
            }
            _ => Forward::Flood,
        }
    }
}

fn mac_key(mac: &Mac) -> u64 {
    let mut k = [0u8; 8];
    k[..6].copy_from_slice(mac);
    u64::from_le_bytes(k)
}

/// A multiplicative hash for MAC keys: the switch's table is on the per-frame path, and MACs
/// are not attacker-chosen here, so SipHash's cost buys nothing.
#[derive(Default)]
pub struct MacHasher(u64);

impl Hasher for MacHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The topology as a graph: hosts and switches joined by links (edge weight = link index).
pub(crate) type Graph = UnGraph<ElementId, usize>;

/// Finds the graph node of an element.
pub(crate) fn graph_node(graph: &Graph, id: ElementId) -> Option<NodeIndex> {
    graph.node_indices().find(|&n| graph[n] == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;

    fn link(config: LinkConfig) -> Link {
        let e = Endpoint {
            element: ElementId::Host(0),
            port: 0,
        };
        Link::new("l".into(), [e, e], config, SeedTree::new(1).stream("l"))
    }

    #[test]
    fn latency_only_link_delivers_after_latency() {
        let mut l = link(LinkConfig::default());
        assert_eq!(
            l.transmit(Instant::from_secs(1), 0, 60),
            Ok(Instant::from_nanos(1_000_050_000))
        );
    }

    /// The latency kept in nanoseconds adds as `Instant + Duration` does, saturating too.
    #[test]
    fn latency_in_nanoseconds_adds_as_instant_plus_duration() {
        for latency in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_micros(50),
            Duration::from_secs(u64::MAX / 1_000_000_000),
            Duration::from_secs(u64::MAX / 1_000_000_000 + 1),
            Duration::MAX,
        ] {
            for from_secs in [0, 1, 1 << 33, u64::MAX / 1_000_000_000] {
                let now = Instant::from_secs(from_secs);
                let mut l = link(LinkConfig {
                    latency,
                    ..Default::default()
                });
                assert_eq!(l.config().latency, latency);
                assert_eq!(
                    l.transmit(now, 0, 60),
                    Ok(now + latency),
                    "{latency:?} {now}"
                );
                assert_eq!(l.transmit_slow(now, 1, 60), Ok(now + latency));
            }
        }
    }

    #[test]
    fn rate_adds_serialisation_and_queues() {
        // 1 Gbit/s: (60 + 24) bytes * 8 = 672 bits = 672 ns on the wire.
        let mut l = link(LinkConfig {
            latency: Duration::ZERO,
            rate_bps: Some(1_000_000_000),
            queue_limit: 2,
            ..Default::default()
        });
        let t0 = Instant::ZERO;
        assert_eq!(l.transmit(t0, 0, 60), Ok(Instant::from_nanos(672)));
        assert_eq!(l.transmit(t0, 0, 60), Ok(Instant::from_nanos(1344)));
        assert_eq!(l.transmit(t0, 0, 60), Err(LinkDrop::QueueFull));
        // The other direction has its own queue.
        assert_eq!(l.transmit(t0, 1, 60), Ok(Instant::from_nanos(672)));
        // Once the first frame left, there is room again.
        assert_eq!(
            l.transmit(Instant::from_nanos(672), 0, 60),
            Ok(Instant::from_nanos(2016))
        );
    }

    #[test]
    fn down_link_drops_and_loss_is_drawn() {
        let mut l = link(LinkConfig::default());
        l.set_up(false);
        assert_eq!(l.transmit(Instant::ZERO, 0, 60), Err(LinkDrop::Down));
        l.set_up(true);
        l.dirs[0].loss_ppm = 1_000_000;
        assert_eq!(l.transmit(Instant::ZERO, 0, 60), Err(LinkDrop::Loss));
        l.dirs[0].loss_ppm = 500_000;
        let lost = (0..1000)
            .filter(|_| l.transmit(Instant::ZERO, 0, 60).is_err())
            .count();
        assert!((400..600).contains(&lost), "{lost} of 1000 lost at 50%");
    }

    #[test]
    fn switch_learns_floods_and_ages() {
        let mut s = Switch::new("sw".into(), SwitchConfig::default());
        let (a, b) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let bcast = [0xff; 6];
        assert!(matches!(
            s.forward(Instant::ZERO, 0, &b, &a),
            Forward::Flood
        ));
        assert!(matches!(
            s.forward(Instant::ZERO, 1, &a, &b),
            Forward::One(0)
        ));
        assert!(matches!(
            s.forward(Instant::ZERO, 0, &bcast, &a),
            Forward::Flood
        ));
        assert!(matches!(
            s.forward(Instant::ZERO, 0, &a, &b),
            Forward::Filter
        ));
        // After 300 s without a frame from a, it is unknown again.
        assert!(matches!(
            s.forward(Instant::from_secs(301), 1, &a, &b),
            Forward::Flood
        ));
    }

    /// The table answers as a plain map does, before and after it outgrows the short vector.
    #[test]
    fn mac_table_is_a_map_on_both_sides_of_its_size_switch() {
        let mut table = MacTable::Small(Vec::new());
        let mut model = std::collections::BTreeMap::new();
        for i in 0..3 * SMALL_TABLE as u64 {
            for step in 0..4u64 {
                let mac = (i * 7 + step * 13) % (2 * SMALL_TABLE as u64 + 5);
                let (port, now) = ((i + step) as u16 % 5, Instant::from_nanos(i * 10 + step));
                table.learn(mac, port, now);
                model.insert(mac, (port, now));
            }
            for mac in 0..3 * SMALL_TABLE as u64 {
                assert_eq!(
                    table.get(mac),
                    model.get(&mac).copied(),
                    "mac {mac} after {i}"
                );
            }
        }
        assert!(matches!(table, MacTable::Large(_)));
    }

    proptest::proptest! {
        /// The inlined plain-link answer agrees with the general path on every kind of link,
        /// through cables pulled and plugged and loss changed mid-run.
        #[test]
        fn transmit_fast_path_matches_the_general_path(
            latency in 0u64..100_000,
            jitter in proptest::prop_oneof![proptest::strategy::Just(0u64), 0u64..5_000],
            rate in proptest::option::of(1_000_000u64..10_000_000_000),
            loss in proptest::prop_oneof![proptest::strategy::Just(0u32), 0u32..1_000_001],
            ops in proptest::collection::vec((0u64..20_000, 0usize..2, 14usize..1600, 0u8..20), 0..200),
        ) {
            let config = LinkConfig {
                latency: Duration::from_nanos(latency),
                jitter: Duration::from_nanos(jitter),
                loss_ppm: loss,
                rate_bps: rate,
                queue_limit: 4,
            };
            let (mut fast, mut slow) = (link(config.clone()), link(config));
            for l in [&mut fast, &mut slow] {
                for d in &mut l.dirs {
                    d.loss_ppm = loss;
                }
            }
            let mut now = Instant::ZERO;
            for (step, from, len, op) in ops {
                now += Duration::from_nanos(step);
                match op {
                    0 | 1 => {
                        fast.set_up(op == 1);
                        slow.set_up(op == 1);
                    }
                    2 => {
                        let ppm = (step * 37 % 3) as u32 * 400_000;
                        for l in [&mut fast, &mut slow] {
                            l.dirs[from].loss_ppm = ppm;
                        }
                    }
                    _ => proptest::prop_assert_eq!(
                        fast.transmit(now, from, len),
                        slow.transmit_slow(now, from, len)
                    ),
                }
            }
        }
    }
}
