//! The engine and LAN with small synthetic nodes: timing across a switch, faults, bounds,
//! topology validation, determinism.

use lvs_model::event::{Event, Record};
use lvs_model::node::{ControlError, Node, PortId, ProcessAction, Transmit, process_list};
use lvs_model::time::{Duration, Instant};
use sim::{
    Attach, FaultAction, HostSpec, LanBuilder, LinkConfig, RunError, SwitchConfig, TopologyError,
    World,
};
use std::collections::VecDeque;
use std::net::Ipv4Addr;

const BROADCAST: [u8; 6] = [0xff; 6];

fn mac(n: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, n]
}

/// Sends a numbered frame to `peer` every `period` while its process `beacon` runs, and
/// reports every frame it receives as a `drop` event whose reason names the sender and number
/// (a cheap way to see arrivals in the event log).
struct Beacon {
    mac: [u8; 6],
    peer: [u8; 6],
    period: Option<Duration>,
    next: Instant,
    seq: u32,
    running: bool,
    out: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Beacon {
    fn new(n: u8, peer: [u8; 6], period: Option<Duration>) -> Self {
        Beacon {
            mac: mac(n),
            peer,
            period,
            next: Instant::ZERO,
            seq: 0,
            running: true,
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }
}

impl Node for Beacon {
    fn handle_frame(&mut self, _now: Instant, _port: PortId, frame: &[u8]) {
        if frame.len() >= 18 && (frame[0..6] == self.mac || frame[0] & 1 == 1) {
            let seq = u32::from_be_bytes(frame[14..18].try_into().unwrap());
            self.events.push_back(Event::Drop {
                reason: format!("rx from {:02x} #{seq}", frame[11]),
            });
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let Some(period) = self.period else { return };
        while self.running && self.next <= now {
            let mut f = Vec::with_capacity(60);
            f.extend_from_slice(&self.peer);
            f.extend_from_slice(&self.mac);
            f.extend_from_slice(&[0x88, 0xb5]);
            f.extend_from_slice(&self.seq.to_be_bytes());
            f.resize(60, 0);
            self.seq += 1;
            self.out.push_back(Transmit {
                port: PortId(0),
                frame: f,
            });
            self.next += period;
        }
    }

    fn control(
        &mut self,
        now: Instant,
        process: &str,
        action: ProcessAction,
    ) -> Result<(), ControlError> {
        if process != "beacon" {
            return Err(ControlError::NoSuchProcess(
                process.into(),
                process_list(self.processes()),
            ));
        }
        self.running = action == ProcessAction::Start;
        self.next = now;
        Ok(())
    }

    fn processes(&self) -> &[&'static str] {
        &["beacon"]
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        (self.running && self.period.is_some()).then_some(self.next)
    }
}

fn spec(name: &str, n: u8) -> HostSpec {
    HostSpec {
        name: name.into(),
        macs: vec![mac(n)],
        ips: vec![Ipv4Addr::new(10, 0, 0, n)],
    }
}

/// a → sw ← b, a sending to b every 10 ms; b silent.
fn pair(seed: u64, link: LinkConfig) -> World {
    let mut lan = LanBuilder::new(seed);
    let sw = lan.add_switch("sw0", SwitchConfig::default()).unwrap();
    let a = lan
        .add_host(
            spec("a", 1),
            Box::new(Beacon::new(1, mac(2), Some(Duration::from_millis(10)))),
        )
        .unwrap();
    let b = lan
        .add_host(spec("b", 2), Box::new(Beacon::new(2, mac(1), None)))
        .unwrap();
    lan.connect(Attach::Host(a, 0), Attach::Switch(sw), link.clone())
        .unwrap();
    lan.connect(Attach::Host(b, 0), Attach::Switch(sw), link)
        .unwrap();
    lan.build().unwrap()
}

fn arrivals(w: &World, node: &str) -> Vec<(u64, String)> {
    w.records()
        .iter()
        .filter(|r| r.node == node)
        .filter_map(|r| match &r.event {
            Event::Drop { reason } => Some((r.t, reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_frame_crosses_a_switch_in_two_link_latencies() {
    let mut w = pair(1, LinkConfig::default());
    w.run_until(Instant::from_millis(25)).unwrap();
    // Sent at 0, 10, 20 ms; each crosses two 50 µs links.
    let got = arrivals(&w, "b");
    assert_eq!(
        got,
        vec![
            (100_000, "rx from 01 #0".to_string()),
            (10_100_000, "rx from 01 #1".to_string()),
            (20_100_000, "rx from 01 #2".to_string()),
        ]
    );
    assert_eq!(w.now(), Instant::from_millis(25));
}

#[test]
fn link_down_partition_and_power_drop_frames_then_heal() {
    let mut w = pair(1, LinkConfig::default());
    w.schedule_fault(
        Instant::from_millis(15),
        "link down".parse().unwrap(),
        Some("b"),
    )
    .unwrap();
    w.schedule_fault(
        Instant::from_millis(35),
        "link up".parse().unwrap(),
        Some("b"),
    )
    .unwrap();
    w.schedule_fault(
        Instant::from_millis(45),
        "partition a -> b".parse().unwrap(),
        None,
    )
    .unwrap();
    w.schedule_fault(Instant::from_millis(65), "heal".parse().unwrap(), None)
        .unwrap();
    w.schedule_fault(Instant::from_millis(75), FaultAction::PowerOff, Some("b"))
        .unwrap();
    w.schedule_fault(Instant::from_millis(85), FaultAction::PowerOn, Some("b"))
        .unwrap();
    w.schedule_fault(
        Instant::from_millis(95),
        "stop beacon".parse().unwrap(),
        Some("a"),
    )
    .unwrap();
    w.run_until(Instant::from_millis(130)).unwrap();
    let seqs: Vec<String> = arrivals(&w, "b").into_iter().map(|(_, r)| r).collect();
    // #0 at 0 ms and #1 at 10 ms pass; 20, 30 (link down); 40 passes; 50, 60 (partition);
    // 70 passes; 80 (powered off); 90 passes; none after the stop at 95 ms.
    assert_eq!(
        seqs,
        [
            "rx from 01 #0",
            "rx from 01 #1",
            "rx from 01 #4",
            "rx from 01 #7",
            "rx from 01 #9"
        ]
    );
    let s = w.stats();
    assert_eq!(
        (
            s.dropped_link_down,
            s.dropped_partition,
            s.dropped_powered_off
        ),
        (2, 2, 1)
    );
    let faults: Vec<(u64, String, String)> = w
        .records()
        .iter()
        .filter_map(|r| match &r.event {
            Event::Fault { action, target } => Some((r.t, action.clone(), target.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(faults.len(), 7);
    assert_eq!(
        faults[2],
        (45_000_000, "partition a -> b".into(), "lan".into())
    );
}

#[test]
fn faults_name_their_culprit() {
    let mut w = pair(1, LinkConfig::default());
    let at = Instant::from_secs(1);
    let e = w
        .schedule_fault(at, "stop httpd".parse().unwrap(), Some("a"))
        .unwrap_err();
    assert_eq!(e.to_string(), "`a` has no process `httpd` (it has: beacon)");
    let e = w
        .schedule_fault(at, "link down".parse().unwrap(), Some("ghost"))
        .unwrap_err();
    assert_eq!(e.to_string(), "no node is called `ghost`");
    let e = w
        .schedule_fault(at, "power off".parse().unwrap(), None)
        .unwrap_err();
    assert_eq!(e.to_string(), "fault `power off` needs a target node");
    let e = w
        .schedule_fault(at, "power off".parse().unwrap(), Some("sw0"))
        .unwrap_err();
    assert!(e.to_string().contains("is a switch"), "{e}");
    let e = w
        .schedule_fault(at, "link down".parse().unwrap(), Some("a:3"))
        .unwrap_err();
    assert_eq!(e.to_string(), "`a` has no port 3");
}

#[test]
fn invalid_topologies_name_the_culprit() {
    let beacon = || Box::new(Beacon::new(9, BROADCAST, None));
    let mut lan = LanBuilder::new(1);
    lan.add_host(spec("a", 1), beacon()).unwrap();
    let e = lan.add_host(spec("a", 2), beacon()).unwrap_err();
    assert_eq!(e, TopologyError::DuplicateName("a".into()));
    let e = lan.add_host(spec("b", 1), beacon()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "MAC 02:00:00:00:00:01 is used by both `a` and `b`"
    );
    let e = lan
        .add_host(
            HostSpec {
                name: "c".into(),
                macs: vec![mac(3)],
                ips: vec![Ipv4Addr::new(10, 0, 0, 1)],
            },
            beacon(),
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "IP 10.0.0.1 is used by both `a` and `c`");
    let e = lan
        .add_host(
            HostSpec {
                name: "d".into(),
                macs: vec![],
                ips: vec![],
            },
            beacon(),
        )
        .unwrap_err();
    assert_eq!(e, TopologyError::NoPort("d".into()));
    assert_eq!(lan.find("zz"), Err(TopologyError::Unknown("zz".into())));
    let sw = lan.add_switch("sw", SwitchConfig::default()).unwrap();
    let a = lan.find("a").unwrap();
    let e = lan
        .connect(
            Attach::Host(a, 0),
            Attach::Switch(sw),
            LinkConfig {
                rate_bps: Some(0),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("rate must be above zero"), "{e}");
    let e = lan
        .connect(
            Attach::Host(a, 1),
            Attach::Switch(sw),
            LinkConfig::default(),
        )
        .unwrap_err();
    assert_eq!(e, TopologyError::NoSuchPort("a".into(), 1));
    lan.add_host(spec("e", 5), beacon()).unwrap();
    lan.connect(
        Attach::Host(a, 0),
        Attach::Switch(sw),
        LinkConfig::default(),
    )
    .unwrap();
    let e = lan
        .connect(
            Attach::Host(a, 0),
            Attach::Switch(sw),
            LinkConfig::default(),
        )
        .unwrap_err();
    assert_eq!(e, TopologyError::PortInUse("a".into(), 0));
    let e = lan.build().err().unwrap();
    assert_eq!(e, TopologyError::PortUnconnected("e".into(), 0));
}

/// Asks to be woken at `now` forever: a livelock the engine must stop.
struct Spinner;

impl Node for Spinner {
    fn handle_frame(&mut self, _: Instant, _: PortId, _: &[u8]) {}
    fn handle_timeout(&mut self, _: Instant) {}
    fn control(&mut self, _: Instant, p: &str, _: ProcessAction) -> Result<(), ControlError> {
        Err(ControlError::NoSuchProcess(p.into(), "none".into()))
    }
    fn processes(&self) -> &[&'static str] {
        &[]
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        None
    }
    fn poll_event(&mut self) -> Option<Event> {
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        Some(Instant::ZERO)
    }
}

#[test]
fn a_livelock_stops_with_an_error_instead_of_hanging() {
    let mut lan = LanBuilder::new(1).limits(sim::RunLimits {
        max_events: 10_000_000,
        max_events_per_instant: 1000,
    });
    let sw = lan.add_switch("sw", SwitchConfig::default()).unwrap();
    let h = lan.add_host(spec("spin", 1), Box::new(Spinner)).unwrap();
    lan.connect(
        Attach::Host(h, 0),
        Attach::Switch(sw),
        LinkConfig::default(),
    )
    .unwrap();
    let mut w = lan.build().unwrap();
    let e = w.run_until(Instant::from_secs(1)).unwrap_err();
    assert_eq!(
        e,
        RunError::Livelock {
            budget: 1000,
            at: Instant::ZERO
        }
    );
}

#[test]
fn the_event_budget_bounds_a_run() {
    let mut lan = LanBuilder::new(1).limits(sim::RunLimits {
        max_events: 50,
        max_events_per_instant: 1000,
    });
    let sw = lan.add_switch("sw", SwitchConfig::default()).unwrap();
    let a = lan
        .add_host(
            spec("a", 1),
            Box::new(Beacon::new(1, BROADCAST, Some(Duration::from_millis(1)))),
        )
        .unwrap();
    lan.connect(
        Attach::Host(a, 0),
        Attach::Switch(sw),
        LinkConfig::default(),
    )
    .unwrap();
    let mut w = lan.build().unwrap();
    assert!(matches!(
        w.run_until(Instant::from_secs(3600)),
        Err(RunError::EventBudget { budget: 50, .. })
    ));
}

/// Eight hosts beaconing to each other through two switches over jittery, lossy, rate-limited
/// links: the determinism workload.
fn busy(seed: u64) -> World {
    let link = LinkConfig {
        latency: Duration::from_micros(30),
        jitter: Duration::from_micros(20),
        loss_ppm: 10_000,
        rate_bps: Some(100_000_000),
        queue_limit: 8,
    };
    let mut lan = LanBuilder::new(seed);
    let s1 = lan.add_switch("sw1", SwitchConfig::default()).unwrap();
    let s2 = lan.add_switch("sw2", SwitchConfig::default()).unwrap();
    lan.connect(Attach::Switch(s1), Attach::Switch(s2), link.clone())
        .unwrap();
    for n in 1..=8u8 {
        let peer = if n % 3 == 0 {
            BROADCAST
        } else {
            mac(n % 8 + 1)
        };
        let period = Duration::from_micros(700 + 130 * n as u64);
        let h = lan
            .add_host(
                spec(&format!("h{n}"), n),
                Box::new(Beacon::new(n, peer, Some(period))),
            )
            .unwrap();
        lan.connect(
            Attach::Host(h, 0),
            Attach::Switch(if n <= 4 { s1 } else { s2 }),
            link.clone(),
        )
        .unwrap();
    }
    let mut w = lan.build().unwrap();
    w.schedule_fault(
        Instant::from_millis(40),
        "partition h1,h2 / h5".parse().unwrap(),
        None,
    )
    .unwrap();
    w.schedule_fault(Instant::from_millis(60), FaultAction::Heal, None)
        .unwrap();
    w.run_until(Instant::from_millis(100)).unwrap();
    w
}

fn outputs(mut w: World) -> (Vec<u8>, Vec<u8>, String) {
    let mut events = Vec::new();
    sim::trace::write_events(w.records(), &mut events).unwrap();
    let digest = w.trace().digest(w.records());
    (events, w.trace_mut().take_pcap().unwrap(), digest)
}

#[test]
fn same_seed_gives_byte_identical_event_log_and_pcap() {
    let (e1, p1, d1) = outputs(busy(42));
    let (e2, p2, d2) = outputs(busy(42));
    assert!(
        e1.len() > 10_000,
        "the workload is busy: {} bytes of events",
        e1.len()
    );
    assert_eq!(e1, e2);
    assert_eq!(p1, p2);
    assert_eq!(d1, d2);
}

#[test]
fn a_different_seed_changes_jittered_timings() {
    let arrivals_of =
        |seed| -> Vec<u64> { busy(seed).records().iter().map(|r: &Record| r.t).collect() };
    assert_ne!(arrivals_of(42), arrivals_of(43));
}
