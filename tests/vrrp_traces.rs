//! Conformance with real keepalived 2.2.7: the recorded scenarios of the shared reference
//! (`keepalived-traces/`: S01 graceful stop, S02 crash, S02b kill of the parent only, S03
//! restart with preemption, S04 nopreempt, S06a/S06b advert_int 3 with priorities 150/50, S08a
//! link down, S10c the seed config run VRRP-only) replayed on two [`VrrpProcess`]es joined by a
//! tiny deterministic bus (every frame delivered to the other node 50 µs later). The recorded
//! timelines are inlined at the bottom (`mod real`), t relative to the fault (t0).
//!
//! What is compared, and why this way:
//! * The same adverts (with their priority) in the same order across both nodes; per node the
//!   same packets, adverts and GARPs, with the same counts. An advert and a GARP burst that fall
//!   due together may leave in either order (keepalived handles whichever timer it sees first;
//!   the model's are exactly simultaneous), so each node's packets less than 5 ms apart are
//!   compared as a set with adverts first.
//! * The same state changes per node in the same order.
//! * Every packet is timed from its cause, within 1 ms of the recording: from the node's
//!   previous packet (advert interval, GARP bursts), from the signal that made it send
//!   (SIGTERM → priority-0 advert), or, for the advert that takes over MASTER, from the other
//!   node's last packet (priority-0 advert: skew; last advert: Master_Down_Interval). Absolute
//!   times cannot be compared over a whole run: keepalived re-arms its advert timer from the
//!   moment it handled it, so the real adverts drift by 0.1–0.3 ms per interval (S01: 11
//!   intervals take 11.002 s), while the model's intervals are exact.
//! * Where the recording is itself further than 1 ms from keepalived's own formula (e.g. S06a's
//!   takeover 0.8068 s against 206/256 s = 0.8047 s), the test names that packet with the
//!   number and gives it a wider tolerance; S08a (a visibly slower run) uses 2 ms / 10 ms.
//! * The intervals that matter (takeover after the priority-0 advert or after the master's last
//!   advert, preemption, release) are also asserted one by one, exactly in the simulation, with
//!   their formulas.
//! * State changes come from log time stamps, which lag the packets by up to ~1.6 ms, so a
//!   state change, timed from the latest packet or action before it, may be logged up to 2 ms
//!   after the simulated one and at most 1 ms before. Start-up `(init)` lines carry late stamps
//!   (SUMMARY.md) and are compared by order only.
//! * Harness actions (signals, link changes) are applied at their recorded times. keepalived's
//!   start-up takes 15–60 ms of wall time before its timers start, which the recordings show
//!   only through the first advert of a node that times out into MASTER: for those starts the
//!   simulated process starts at (first advert − its Master_Down_Interval); other starts use the
//!   harness mark. S08a's link change is given to keepalived when it logged the netlink message.

use lvs_model::event::{Event, VrrpStateName};
use lvs_model::node::PortId;
use lvs_model::time::{Duration, Instant};
use lvs_model::vrrp::{
    GlobalVrrpConfig, InstanceConfig, InterfaceConfig, ProcessConfig, VrrpInstance, VrrpProcess,
};
use lvs_model::wire::vrrp::{AuthType, Packet};
use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol, Ipv4Packet};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// The recordings' t0 is placed this far into the simulated run (all times become positive).
const OFFSET_S: f64 = 30.0;
const LATENCY: Duration = Duration::from_micros(50);
const MS: i64 = 1_000_000;

fn to_instant(t_rel_s: f64) -> Instant {
    Instant::from_micros(((t_rel_s + OFFSET_S) * 1e6).round() as u64)
}

/// Simulated time relative to t0, in ns.
fn rel_ns(t: Instant) -> i64 {
    t.as_nanos() as i64 - (OFFSET_S * 1e9) as i64
}

fn real_ns(t_rel_s: f64) -> i64 {
    (t_rel_s * 1e6).round() as i64 * 1_000
}

struct NodeSpec {
    name: &'static str,
    ip: Ipv4Addr,
    mac: [u8; 6],
    /// Configuration for each start, in order (S03/S04 restart 100 with `-restart.conf`,
    /// which is the same file).
    cfg: InstanceConfig,
}

/// The seed `vrrp_instance` (S01–S09): vrid 51, eth1, PASS 1111, VIP 192.168.80.200.
fn seed_instance(state_master: bool, priority: u8, advert_int_s: u64) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", "eth1", 51, &GlobalVrrpConfig::default());
    c.state_master = state_master;
    c.priority = priority;
    c.advert_int = Duration::from_secs(advert_int_s);
    c.auth_type = AuthType::Pass;
    c.set_auth_pass(b"1111");
    c.vips = vec![Ipv4Addr::new(192, 168, 80, 200)];
    c
}

fn node(name: &'static str, cfg: InstanceConfig) -> NodeSpec {
    // MACs from the recordings' nodes.json (they differ per run; these are S01's).
    let (ip, mac) = match name {
        "100" => (
            Ipv4Addr::new(192, 168, 80, 100),
            [0xee, 0x85, 0xee, 0x87, 0x4d, 0x8d],
        ),
        _ => (
            Ipv4Addr::new(192, 168, 80, 101),
            [0x16, 0x4e, 0x43, 0x42, 0xd0, 0xb9],
        ),
    };
    NodeSpec { name, ip, mac, cfg }
}

fn process(spec: &NodeSpec) -> VrrpProcess {
    VrrpProcess::new(ProcessConfig {
        interfaces: vec![InterfaceConfig {
            name: "eth1".into(),
            port: PortId(0),
            mac: EthernetAddress(spec.mac),
            ip: spec.ip,
        }],
        instances: vec![spec.cfg.clone()],
        ..Default::default()
    })
    .expect("valid config")
}

#[derive(Clone, Debug, PartialEq)]
struct Row {
    t: i64,
    node: String,
    kind: String,
}

/// The deterministic two-node bus.
struct Bus {
    names: Vec<&'static str>,
    procs: Vec<VrrpProcess>,
    /// LAN side of each node's link (S08a takes 101's bridge port down).
    lan_up: Vec<bool>,
    now: Instant,
    /// (delivery time, sequence, destination, frame)
    in_flight: BTreeMap<(Instant, u64), (usize, Vec<u8>)>,
    seq: u64,
    rows: Vec<Row>,
}

impl Bus {
    fn drain(&mut self, i: usize) {
        while let Some(tx) = self.procs[i].poll_transmit() {
            // The recordings capture on the bridge: a node cut off from it is not seen.
            if self.lan_up[i] {
                let kind = describe(&tx.frame);
                self.rows.push(Row {
                    t: rel_ns(self.now),
                    node: self.names[i].into(),
                    kind,
                });
                let to = 1 - i;
                self.seq += 1;
                self.in_flight
                    .insert((self.now + LATENCY, self.seq), (to, tx.frame));
            }
        }
        while let Some(e) = self.procs[i].poll_event() {
            if let Event::VrrpState { from, to, .. } = e {
                if to == VrrpStateName::Stop {
                    continue;
                }
                let kind = if from == VrrpStateName::Init {
                    format!("state {} (init)", to.as_str())
                } else {
                    format!("state {}", to.as_str())
                };
                self.rows.push(Row {
                    t: rel_ns(self.now),
                    node: self.names[i].into(),
                    kind,
                });
            }
        }
        while self.procs[i].poll_vip_change().is_some() {}
    }

    fn apply(&mut self, i: usize, action: &str) {
        let now = self.now;
        match action {
            "action start" => self.procs[i].start(now),
            "action stop" => self.procs[i].stop(now),
            "action crash" => self.procs[i].crash(now),
            "action lan down" => self.lan_up[i] = false,
            "action lan up" => self.lan_up[i] = true,
            "action netlink down" => self.procs[i].set_link(now, PortId(0), false),
            "action netlink up" => self.procs[i].set_link(now, PortId(0), true),
            other => panic!("unknown action {other}"),
        }
        self.drain(i);
    }

    /// Run until `end`, applying `actions` (time, node index, action) on the way.
    fn run(&mut self, mut actions: Vec<(Instant, usize, &'static str)>, end: Instant) {
        actions.sort_by_key(|a| a.0);
        let mut actions = actions.into_iter().peekable();
        for _step in 0..1_000_000 {
            let next_action = actions.peek().map(|a| a.0);
            let next_frame = self.in_flight.keys().next().map(|k| k.0);
            let next_timer = self.procs.iter().filter_map(|p| p.poll_timeout()).min();
            let Some(next) = [next_action, next_frame, next_timer]
                .into_iter()
                .flatten()
                .min()
            else {
                return;
            };
            if next > end {
                return;
            }
            assert!(next >= self.now, "time went backwards");
            self.now = next;
            if next_action == Some(next) {
                let (_, i, a) = actions.next().unwrap();
                self.apply(i, a);
            } else if next_frame == Some(next) {
                let key = *self.in_flight.keys().next().unwrap();
                let (to, frame) = self.in_flight.remove(&key).unwrap();
                if self.lan_up[to] {
                    assert!(
                        self.procs[to].handle_frame(next, PortId(0), &frame)
                            || frame[12] == 8 && frame[13] == 6
                    );
                    self.drain(to);
                }
            } else {
                for i in 0..self.procs.len() {
                    if self.procs[i].poll_timeout().is_some_and(|t| t <= next) {
                        self.procs[i].handle_timeout(next);
                        self.drain(i);
                    }
                }
            }
        }
        panic!("livelock: more than 1e6 steps");
    }
}

/// "advert P" or "garp", as the recordings name packets.
fn describe(frame: &[u8]) -> String {
    let eth = EthernetFrame::new_checked(frame).expect("ethernet");
    match eth.ethertype() {
        EthernetProtocol::Arp => "garp".into(),
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).expect("ipv4");
            let p = Packet::new_checked(ip.payload()).expect("vrrp");
            format!("advert {}", p.priority())
        }
        other => panic!("unexpected frame {other}"),
    }
}

struct Scenario {
    name: &'static str,
    real: &'static [(f64, &'static str, &'static str)],
    nodes: [NodeSpec; 2],
    /// (node, n-th start of that node, adverts it sent unrecorded before its first recorded
    /// one) whose start is aligned on that advert.
    fitted_starts: &'static [(&'static str, usize, u32)],
    /// Whether the recording has state changes (our own recordings have only packets).
    states_recorded: bool,
}

struct Outcome {
    sim: Vec<Row>,
    real: Vec<Row>,
    actions: Vec<ActionRow>,
}

/// A harness action as applied (`sim`) and as recorded (`real`), ns from t0; `fitted` when a
/// start was aligned on the node's first advert (then `real` is that aligned time too).
struct ActionRow {
    node: String,
    kind: String,
    sim: i64,
    real: i64,
    fitted: bool,
}

impl Outcome {
    /// The single event of `node`/`kind` number `n` (0-based) in sim and real, in ns from t0.
    fn nth(&self, node: &str, kind: &str, n: usize) -> (i64, i64) {
        let pick = |rows: &[Row]| {
            rows.iter()
                .filter(|r| r.node == node && r.kind == kind)
                .nth(n)
                .unwrap_or_else(|| panic!("no {kind} #{n} from {node}"))
                .t
        };
        (pick(&self.sim), pick(&self.real))
    }

    /// The first event of `node`/`kind` at or after `t_real` (ns) in the real timeline, and
    /// the matching (same ordinal) simulated one.
    fn first_after(&self, node: &str, kind: &str, t_real: i64) -> (i64, i64) {
        let n = self
            .real
            .iter()
            .filter(|r| r.node == node && r.kind == kind && r.t < t_real)
            .count();
        self.nth(node, kind, n)
    }

    /// The last event of `node`/`kind` strictly before `t` (ns) in the real timeline, and the
    /// matching (same ordinal) simulated one.
    fn last_before(&self, node: &str, kind: &str, t_real: i64) -> (i64, i64) {
        let n = self
            .real
            .iter()
            .filter(|r| r.node == node && r.kind == kind && r.t < t_real)
            .count();
        assert!(n > 0, "no {kind} from {node} before {t_real}");
        self.nth(node, kind, n - 1)
    }
}

fn run(sc: &Scenario) -> Outcome {
    let procs: Vec<VrrpProcess> = sc.nodes.iter().map(process).collect();
    let names: Vec<&'static str> = sc.nodes.iter().map(|n| n.name).collect();
    let idx = |n: &str| names.iter().position(|x| *x == n).expect("node");
    let mut starts_seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut actions = Vec::new();
    let mut action_rows = Vec::new();
    for (k, &(t, n, kind)) in sc.real.iter().enumerate() {
        if !kind.starts_with("action") {
            continue;
        }
        let mut at = to_instant(t);
        let mut fitted = false;
        if kind == "action start" {
            let nth = *starts_seen.entry(n).and_modify(|c| *c += 1).or_insert(0);
            if let Some(&(_, _, unrecorded)) =
                sc.fitted_starts.iter().find(|f| f.0 == n && f.1 == nth)
            {
                let first_advert = sc.real[k..]
                    .iter()
                    .find(|r| r.1 == n && r.2.starts_with("advert"))
                    .expect("a first advert")
                    .0;
                let cfg = &sc.nodes[idx(n)].cfg;
                let mdi = VrrpInstance::new(cfg.clone(), Ipv4Addr::UNSPECIFIED)
                    .master_down_interval()
                    + cfg.advert_int * unrecorded;
                at = Instant::from_nanos(
                    to_instant(first_advert).as_nanos() - mdi.as_nanos() as u64,
                );
                fitted = true;
            }
        }
        actions.push((at, idx(n), kind));
        action_rows.push(ActionRow {
            node: n.into(),
            kind: kind.into(),
            sim: rel_ns(at),
            real: if fitted { rel_ns(at) } else { real_ns(t) },
            fitted,
        });
    }
    let end = to_instant(sc.real.last().unwrap().0 + 0.5);
    let mut bus = Bus {
        names,
        procs,
        lan_up: vec![true, true],
        now: Instant::ZERO,
        in_flight: BTreeMap::new(),
        seq: 0,
        rows: Vec::new(),
    };
    bus.run(actions, end);
    let real = sc
        .real
        .iter()
        .filter(|r| !r.2.starts_with("action"))
        .map(|&(t, n, k)| Row {
            t: real_ns(t),
            node: n.into(),
            kind: k.into(),
        })
        .collect();
    let mut sim = bus.rows;
    if !sc.states_recorded {
        sim.retain(|r| !r.kind.starts_with("state"));
    }
    Outcome {
        sim,
        real,
        actions: action_rows,
    }
}

fn packets(rows: &[Row]) -> Vec<&Row> {
    rows.iter()
        .filter(|r| !r.kind.starts_with("state"))
        .collect()
}

fn seq(rows: &[&Row]) -> Vec<String> {
    rows.iter()
        .map(|r| format!("{} {}", r.node, r.kind))
        .collect()
}

/// Within one node's packets, an advert and a GARP burst due at the same instant may leave in
/// either order (real keepalived sends whichever timer it handles first; the model's timers
/// are exactly simultaneous). Sort each run of packets less than 5 ms apart: adverts first.
fn canonical<'a>(rows: &[&'a Row]) -> Vec<&'a Row> {
    let mut out: Vec<&Row> = Vec::new();
    let mut run: Vec<&Row> = Vec::new();
    for &r in rows {
        if run.last().is_some_and(|l| r.t - l.t >= 5 * MS) {
            run.sort_by_key(|x| x.kind == "garp");
            out.append(&mut run);
        }
        run.push(r);
    }
    run.sort_by_key(|x| x.kind == "garp");
    out.append(&mut run);
    out
}

/// The generic checks (see the module docs); `advert_tol`/`garp_tol` in ns. `noisy` lists
/// recorded packets (node, approximate real time in s) where keepalived itself was late by
/// more than the tolerance, with the tolerance they get instead.
fn check_timeline(
    sc: &Scenario,
    o: &Outcome,
    advert_tol: i64,
    garp_tol: i64,
    noisy: &[(&str, f64, i64)],
) {
    let (sp, rp) = (packets(&o.sim), packets(&o.real));
    let adverts = |v: &[&Row]| -> Vec<String> {
        seq(&v
            .iter()
            .copied()
            .filter(|r| r.kind != "garp")
            .collect::<Vec<_>>())
    };
    assert_eq!(adverts(&sp), adverts(&rp), "{}: adverts differ", sc.name);
    let mut violations = Vec::new();
    // (sim, real) times of matched packets and harness actions: the anchors of state changes.
    let mut matched: Vec<(i64, i64)> = o.actions.iter().map(|a| (a.sim, a.real)).collect();
    for node in ["100", "101"] {
        fn pick<'a>(v: &[&'a Row], node: &str) -> Vec<&'a Row> {
            canonical(
                &v.iter()
                    .copied()
                    .filter(|r| r.node == node)
                    .collect::<Vec<_>>(),
            )
        }
        let (s_node, r_node) = (pick(&sp, node), pick(&rp, node));
        assert_eq!(
            seq(&s_node),
            seq(&r_node),
            "{}: packets of {node} differ",
            sc.name
        );
        // Takeover adverts (sent at the instant the node enters MASTER) are caused by the other
        // node; they are checked below against the other node's last packet.
        let takeovers: Vec<i64> = o
            .sim
            .iter()
            .filter(|r| r.node == node && r.kind == "state MASTER")
            .map(|r| r.t)
            .collect();
        // Anchors: the node's previous packet, or the signal that made it send (a SIGTERM's
        // priority-0 advert), or its aligned start.
        let anchors: Vec<(i64, i64)> = o
            .actions
            .iter()
            .filter(|a| a.node == node && (a.kind == "action stop" || a.fitted))
            .map(|a| (a.sim, a.real))
            .collect();
        let mut prev: Option<(i64, i64)> = None;
        for (s, r) in s_node.iter().zip(&r_node) {
            matched.push((s.t, r.t));
            let from_action = anchors
                .iter()
                .copied()
                .filter(|&(_, ra)| ra <= r.t)
                .max_by_key(|&(_, ra)| ra);
            let is_takeover = s.kind != "garp" && takeovers.contains(&s.t);
            // In the simulation causality is exact: a packet sent one bus latency after the
            // other node's packet answers it (a MASTER meeting a lower priority).
            let last_other = |v: &[&Row], before: i64| -> Option<i64> {
                v.iter()
                    .filter(|x| x.node != node && x.t < before)
                    .map(|x| x.t)
                    .max()
            };
            let answers = last_other(&sp, s.t).is_some_and(|t| t + LAT == s.t);
            let anchor = if answers {
                last_other(&sp, s.t).zip(last_other(&rp, r.t))
            } else if is_takeover {
                // Aligned start: the node's own timer; otherwise the other node's last packet.
                match from_action.filter(|a| prev.is_none_or(|p| a.1 > p.1)) {
                    Some(a) => Some(a),
                    None => last_other(&sp, s.t).zip(last_other(&rp, r.t)),
                }
            } else {
                match (prev, from_action) {
                    (Some(p), Some(a)) => Some(if a.1 > p.1 { a } else { p }),
                    (p, a) => p.or(a),
                }
            };
            if let Some((sa, ra)) = anchor {
                let err = (s.t - sa) - (r.t - ra);
                let mut tol = if s.kind == "garp" {
                    garp_tol
                } else {
                    advert_tol
                };
                if let Some(&(_, _, t)) = noisy
                    .iter()
                    .find(|(n, t, _)| *n == node && (real_ns(*t) - r.t).abs() < MS)
                {
                    tol = t;
                }
                if err.abs() > tol {
                    violations.push(format!(
                        "{node} {} at real {:.6}: off by {:.3} ms since its anchor",
                        s.kind,
                        r.t as f64 / 1e9,
                        err as f64 / 1e6
                    ));
                }
            }
            prev = Some((s.t, r.t));
        }
    }
    // State changes, per node in order; each timed from the latest packet or action before
    // it. The log stamp lags by up to 2 ms and never leads by more than 1 ms.
    for node in ["100", "101"] {
        let pick = |v: &[Row]| -> Vec<Row> {
            v.iter()
                .filter(|r| r.node == node && r.kind.starts_with("state"))
                .cloned()
                .collect()
        };
        let (ss, rs) = (pick(&o.sim), pick(&o.real));
        let names = |v: &[Row]| v.iter().map(|r| r.kind.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&ss),
            names(&rs),
            "{}: state changes of {node} differ",
            sc.name
        );
        for (s, r) in ss.iter().zip(&rs) {
            if r.kind.ends_with("(init)") {
                continue;
            }
            let Some(&(sa, ra)) = matched
                .iter()
                .filter(|&&(_, ra)| ra <= r.t)
                .max_by_key(|&&(_, ra)| ra)
            else {
                continue;
            };
            let lag = (r.t - ra) - (s.t - sa);
            if !(-MS..=2 * MS).contains(&lag) {
                violations.push(format!(
                    "{node} {} logged at {:.6}, simulated at {:.6} (anchor real {:.6})",
                    s.kind,
                    r.t as f64 / 1e9,
                    s.t as f64 / 1e9,
                    ra as f64 / 1e9
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "{}:\n{}",
        sc.name,
        violations.join("\n")
    );
}

fn snapshot(o: &Outcome) -> String {
    let mut s = String::new();
    for r in &o.sim {
        let sign = if r.t < 0 { "-" } else { " " };
        let a = r.t.unsigned_abs();
        writeln!(
            s,
            "{sign}{}.{:09} {} {}",
            a / 1_000_000_000,
            a % 1_000_000_000,
            r.node,
            r.kind
        )
        .unwrap();
    }
    s
}

/// Assert a sim interval exactly and the real one within `tol` ns of it.
fn assert_interval(what: &str, sim: i64, real: i64, expected: i64, tol: i64) {
    assert_eq!(sim, expected, "{what}: simulated interval");
    assert!(
        (real - expected).abs() <= tol,
        "{what}: real {:.6} s vs expected {:.6} s",
        real as f64 / 1e9,
        expected as f64 / 1e9
    );
}

const LAT: i64 = 50_000;
/// (256 - 99)/256 s: v2 skew of priority 99.
const SKEW_99: i64 = 613_281_250;
/// (256 - 100)/256 s.
const SKEW_100: i64 = 609_375_000;
/// (256 - 50)/256 s: v2 skew does not scale with advert_int.
const SKEW_50: i64 = 804_687_500;
const S: i64 = 1_000_000_000;

fn seed_pair(master_state: bool, backup_state: bool) -> [NodeSpec; 2] {
    [
        node("100", seed_instance(master_state, 100, 1)),
        node("101", seed_instance(backup_state, 99, 1)),
    ]
}

#[test]
fn s01_sigterm_on_master() {
    let sc = Scenario {
        name: "S01",
        real: real::S01,
        nodes: seed_pair(true, false),
        fitted_starts: &[("100", 0, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    check_timeline(&sc, &o, MS, MS, &[]);
    let (s0, r0) = o.nth("100", "advert 0", 0);
    let (s1, r1) = o.nth("101", "advert 99", 0);
    // Backup takes over the skew after the priority-0 advert arrives: 50 µs + 157/256 s.
    assert_interval(
        "S01 takeover after prio 0",
        s1 - s0,
        r1 - r0,
        LAT + SKEW_99,
        MS,
    );
    // The prio-0 advert goes out at the signal.
    assert_eq!(s0, 0);
    // Second GARP burst garp_master_delay = 5 s after the first.
    let (g1, rg1) = o.nth("101", "garp", 0);
    let (g2, rg2) = o.nth("101", "garp", 5);
    assert_interval("S01 second GARP burst", g2 - g1, rg2 - rg1, 5 * S, MS);
    insta::assert_snapshot!("vrrp_s01", snapshot(&o));
}

#[test]
fn s02_crash_of_master() {
    let sc = Scenario {
        name: "S02",
        real: real::S02,
        nodes: seed_pair(true, false),
        fitted_starts: &[("100", 0, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    check_timeline(&sc, &o, MS, MS, &[]);
    let (sl, rl) = o.last_before("100", "advert 100", 0);
    let (s1, r1) = o.nth("101", "advert 99", 0);
    // Master_Down_Interval after the last advert arrived: 50 µs + 3 × 1 s + 157/256 s.
    assert_interval(
        "S02 takeover after last advert",
        s1 - sl,
        r1 - rl,
        LAT + 3 * S + SKEW_99,
        MS,
    );
    insta::assert_snapshot!("vrrp_s02", snapshot(&o));
}

#[test]
fn s03_restart_preempts_after_its_own_master_down_interval() {
    let sc = Scenario {
        name: "S03",
        real: real::S03,
        nodes: seed_pair(true, false),
        fitted_starts: &[("100", 0, 0), ("100", 1, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    // keepalived itself was late here: its first GARP 2.97 ms after the advert (usually
    // 0.1 ms), one advert interval 1.00169 s right after the second burst, and 101's advert
    // interval 1.00239 s when its second burst fell due.
    let noisy = [
        ("100", 3.645411, 4 * MS),
        ("100", 8.648514, 2 * MS),
        ("101", -3.487065, 3 * MS),
    ];
    check_timeline(&sc, &o, MS, MS, &noisy);
    // Lower-priority adverts do not reset the restarted node's timer: it preempts one full
    // Master_Down_Interval (3 + 156/256 s) after its start, although 101 advertised 4 times.
    let (sp, _) = o.first_after("100", "advert 100", 0);
    let restart = o
        .actions
        .iter()
        .find(|a| a.node == "100" && a.kind == "action start" && a.real >= 0)
        .expect("restart");
    // 3 × 1 s + (256 - 100)/256 s after its start (the start is aligned on this advert, so
    // what this checks is the formula; that the timer was not reset shows in the sequence).
    assert_eq!(sp - restart.sim, 3 * S + SKEW_100);
    let adverts_between = o
        .sim
        .iter()
        .filter(|r| r.node == "101" && r.kind == "advert 99" && r.t > 0 && r.t < sp)
        .count();
    assert_eq!(adverts_between, 4);
    // 101 releases on the higher-priority advert (one-way latency later), sends nothing more.
    let (sb, _) = o.nth("101", "state BACKUP", 0);
    assert_eq!(sb - sp, LAT);
    let sim_101_after = o
        .sim
        .iter()
        .filter(|r| r.node == "101" && r.t > sp && !r.kind.starts_with("state"))
        .count();
    assert_eq!(
        sim_101_after, 0,
        "no prio-0 advert or GARP from the releasing master"
    );
    // Earlier SIGTERM phase: 50 µs + 157/256 s after the prio-0 advert.
    let (s0, r0) = o.nth("100", "advert 0", 0);
    let (s1, r1) = o.nth("101", "advert 99", 0);
    assert_interval(
        "S03 takeover after prio 0",
        s1 - s0,
        r1 - r0,
        LAT + SKEW_99,
        MS,
    );
    insta::assert_snapshot!("vrrp_s03", snapshot(&o));
}

#[test]
fn s04_nopreempt_keeps_the_lower_priority_master() {
    let mut nodes = seed_pair(false, false);
    for n in &mut nodes {
        n.cfg.nopreempt = true;
    }
    let sc = Scenario {
        name: "S04",
        real: real::S04,
        nodes,
        fitted_starts: &[("100", 0, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    // Recorded takeover 0.610468 s after the prio-0 advert: 1.09 ms over the formula.
    check_timeline(&sc, &o, MS, MS, &[("100", 15.712183, 3 * MS / 2)]);
    // 101 stays MASTER until its own SIGTERM; then 100 takes over after the skew of 100:
    // 50 µs + 156/256 s.
    let (s0, r0) = o.nth("101", "advert 0", 0);
    let (s1, r1) = o.first_after("100", "advert 100", 0);
    assert_interval(
        "S04 takeover after prio 0",
        s1 - s0,
        r1 - r0,
        LAT + SKEW_100,
        3 * MS / 2,
    );
    insta::assert_snapshot!("vrrp_s04", snapshot(&o));
}

fn s06_nodes() -> [NodeSpec; 2] {
    [
        node("100", seed_instance(true, 150, 3)),
        node("101", seed_instance(false, 50, 3)),
    ]
}

#[test]
fn s06a_sigterm_with_advert_int_3() {
    let sc = Scenario {
        name: "S06a",
        real: real::S06a,
        nodes: s06_nodes(),
        fitted_starts: &[("100", 0, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    // Recorded takeover 0.806754 s after the prio-0 advert: 2.0 ms over the formula
    // (SUMMARY: "0.8068 s, expected 0.8047").
    check_timeline(&sc, &o, MS, MS, &[("101", 0.807286, 5 * MS / 2)]);
    let (s0, r0) = o.nth("100", "advert 0", 0);
    let (s1, r1) = o.nth("101", "advert 50", 0);
    // v2 skew ignores advert_int: 50 µs + 206/256 s.
    assert_interval(
        "S06a takeover after prio 0",
        s1 - s0,
        r1 - r0,
        LAT + SKEW_50,
        3 * MS,
    );
    insta::assert_snapshot!("vrrp_s06a", snapshot(&o));
}

#[test]
fn s06b_crash_with_advert_int_3() {
    let sc = Scenario {
        name: "S06b",
        real: real::S06b,
        nodes: s06_nodes(),
        fitted_starts: &[("100", 0, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    check_timeline(&sc, &o, MS, MS, &[]);
    let (sl, rl) = o.last_before("100", "advert 150", 0);
    let (s1, r1) = o.nth("101", "advert 50", 0);
    // 50 µs + 3 × 3 s + 206/256 s.
    assert_interval(
        "S06b takeover after last advert",
        s1 - sl,
        r1 - rl,
        LAT + 9 * S + SKEW_50,
        MS,
    );
    insta::assert_snapshot!("vrrp_s06b", snapshot(&o));
}

#[test]
fn s08a_link_down_on_backup() {
    let sc = Scenario {
        name: "S08a",
        real: real::S08a,
        nodes: seed_pair(true, false),
        fitted_starts: &[("100", 0, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    // This run's keepalived was visibly slower: its GARPs went out 1 ms apart (0.03 ms in
    // every other run) and an advert after a GARP burst left 6 ms late, so the tolerances are
    // 2 ms for adverts and 10 ms for GARPs here.
    // The advert due with the second GARP burst left 6 ms late, after the burst.
    check_timeline(&sc, &o, 2 * MS, 10 * MS, &[("100", 0.229739, 7 * MS)]);
    // FAULT when keepalived learns of the carrier loss; BACKUP again when it comes back.
    let (sf, rf) = o.nth("101", "state FAULT", 0);
    assert_eq!(sf, 3_250_000);
    assert!(rf - sf <= MS);
    // Final SIGTERM of 100: 101 takes over 50 µs + 157/256 s after the prio-0 advert.
    let (s0, r0) = o.nth("100", "advert 0", 0);
    let (s1, r1) = o.nth("101", "advert 99", 0);
    assert_interval(
        "S08a takeover after prio 0",
        s1 - s0,
        r1 - r0,
        LAT + SKEW_99,
        2 * MS,
    );
    insta::assert_snapshot!("vrrp_s08a", snapshot(&o));
}

#[test]
fn s02b_kill_of_the_parent_only_is_a_graceful_stop() {
    // The VRRP child gets its parent-death signal and shuts down cleanly: same as SIGTERM.
    let sc = Scenario {
        name: "S02b",
        real: real::S02b,
        nodes: seed_pair(true, false),
        fitted_starts: &[("100", 0, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    check_timeline(&sc, &o, MS, MS, &[]);
    let (s0, r0) = o.nth("100", "advert 0", 0);
    let (s1, r1) = o.nth("101", "advert 99", 0);
    // 50 µs + 157/256 s.
    assert_interval(
        "S02b takeover after prio 0",
        s1 - s0,
        r1 - r0,
        LAT + SKEW_99,
        MS,
    );
    insta::assert_snapshot!("vrrp_s02b", snapshot(&o));
}

#[test]
fn s10c_seed_config_vrrp_only() {
    let sc = Scenario {
        name: "S10c",
        real: real::S10c,
        nodes: seed_pair(true, false),
        fitted_starts: &[("100", 0, 0)],
        states_recorded: true,
    };
    let o = run(&sc);
    // Recorded takeover 0.6148 s after the prio-0 advert: 1.5 ms over the formula.
    check_timeline(&sc, &o, MS, MS, &[("101", 0.615301, 2 * MS)]);
    let (s0, r0) = o.nth("100", "advert 0", 0);
    let (s1, r1) = o.nth("101", "advert 99", 0);
    // 50 µs + 157/256 s (recorded: 0.6148 s).
    assert_interval(
        "S10c takeover after prio 0",
        s1 - s0,
        r1 - r0,
        LAT + SKEW_99,
        2 * MS,
    );
    insta::assert_snapshot!("vrrp_s10c", snapshot(&o));
}

#[test]
fn x01_split_brain_heal_lower_priority_master_forces_an_election() {
    // Our own recording (keepalived 2.2.7, three network namespaces, bridge): 101 (prio 99) is
    // cut off the bridge (its carrier stays up) and becomes MASTER alongside 100 (prio 100);
    // at t0 its port rejoins the bridge. 100 receives 101's lower-priority advert, answers at
    // once with its own advert and garp_lower_prio_repeat = 5 GARPs, restarts its advert timer
    // from then, and sends 5 more GARPs garp_lower_prio_delay = 5 s later; 101 steps down
    // silently. The recording has packets only (logs with whole-second stamps).
    let sc = Scenario {
        name: "X01",
        real: real::X01,
        nodes: seed_pair(false, false),
        fitted_starts: &[("100", 0, 0), ("101", 0, 3)],
        states_recorded: false,
    };
    let o = run(&sc);
    // Recorded on a loaded 2-core machine: keepalived ran up to 9.5 ms late (one advert
    // interval 1.0095 s, a GARP burst 5.5 ms after its advert), so the generic check uses 10 ms
    // here; the intervals that matter are asserted below with 2 ms.
    check_timeline(&sc, &o, 10 * MS, 10 * MS, &[]);
    let (sb, rb) = o.nth("101", "advert 99", 0);
    let (sa, ra) = o.first_after("100", "advert 100", 0);
    // 100's answer comes one bus latency after 101's advert (1.07 ms on the real bridge).
    assert_interval(
        "X01 answer to a lower priority",
        sa - sb,
        ra - rb,
        LAT,
        2 * MS,
    );
    // Its next adverts run from the answer: +1 s.
    let (sn, rn) = o.first_after("100", "advert 100", ra + 1);
    assert_interval("X01 advert timer restarted", sn - sa, rn - ra, S, 2 * MS);
    // Lower-priority GARPs: 5 at once, 5 more 5 s later (garps #5..#9 are the takeover's
    // second burst, #15..#19 the delayed lower-priority burst).
    let (g0, rg0) = o.first_after("100", "garp", 0);
    assert_eq!(g0, sa);
    let (g1, rg1) = o.nth("100", "garp", 15);
    assert_interval(
        "X01 delayed lower-priority GARPs",
        g1 - g0,
        rg1 - rg0,
        5 * S,
        MS,
    );
    assert_eq!(
        o.sim.iter().filter(|r| r.node == "101" && r.t > 0).count(),
        1,
        "101 sends one advert after the heal and nothing when it steps down"
    );
    insta::assert_snapshot!("vrrp_x01", snapshot(&o));
}

/// The targets, exactly, with no bus latency: seed cluster 100/99, advert_int 1, v2.
#[test]
fn seed_cluster_takeover_targets_are_exact() {
    for crash in [false, true] {
        let nodes = seed_pair(true, false);
        let mut p: Vec<VrrpProcess> = nodes.iter().map(process).collect();
        let mut now = Instant::ZERO;
        p[0].start(now);
        p[1].start(now);
        let mut last_advert_from_100 = None;
        let mut prio0_at = None;
        let mut takeover_at = None;
        let fault_at = Instant::from_secs(10);
        let mut faulted = false;
        for _ in 0..10_000 {
            // Deliver with zero latency, in node order.
            for i in 0..2 {
                while let Some(tx) = p[i].poll_transmit() {
                    let k = describe(&tx.frame);
                    if i == 0 && k == "advert 100" {
                        last_advert_from_100 = Some(now);
                    }
                    if i == 0 && k == "advert 0" {
                        prio0_at = Some(now);
                    }
                    if i == 1 && k == "advert 99" && takeover_at.is_none() {
                        takeover_at = Some(now);
                    }
                    let _ = p[1 - i].handle_frame(now, PortId(0), &tx.frame);
                }
                while p[i].poll_event().is_some() {}
            }
            if takeover_at.is_some() {
                break;
            }
            let next_timer = p.iter().filter_map(|x| x.poll_timeout()).min().unwrap();
            if !faulted && fault_at <= next_timer {
                now = fault_at;
                faulted = true;
                if crash {
                    p[0].crash(now);
                } else {
                    p[0].stop(now);
                }
                continue;
            }
            now = next_timer;
            for x in &mut p {
                x.handle_timeout(now);
            }
        }
        let takeover = takeover_at.expect("101 took over");
        if crash {
            // 3 × 1 s + 157/256 s = 3.61328125 s after the master's last advert.
            let since = takeover - last_advert_from_100.unwrap();
            assert_eq!(since, Duration::from_nanos(3_613_281_250));
        } else {
            // 157/256 s = 0.61328125 s after the priority-0 advert.
            assert_eq!(
                takeover - prio0_at.unwrap(),
                Duration::from_nanos(613_281_250)
            );
        }
    }
}

#[allow(non_upper_case_globals)]
mod real {
    //! Generated from the recordings' `timeline.json` (t relative to the fault, seconds):
    //! harness actions, `advert <priority>`, `garp`, and `state` lines from the logs.
    /// `S01/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S01: &[(f64, &str, &str)] = &[
        (-8.401838, "100", "action start"),
        (-8.341946, "100", "state BACKUP (init)"),
        (-8.100844, "101", "action start"),
        (-8.052739, "101", "state BACKUP (init)"),
        (-4.745589, "100", "advert 100"),
        (-4.745433, "100", "garp"),
        (-4.745399, "100", "garp"),
        (-4.745374, "100", "garp"),
        (-4.745345, "100", "garp"),
        (-4.745318, "100", "garp"),
        (-4.745196, "100", "state MASTER"),
        (-3.745229, "100", "advert 100"),
        (-2.745080, "100", "advert 100"),
        (-1.744936, "100", "advert 100"),
        (-0.744722, "100", "advert 100"),
        (0.000000, "100", "action stop"),
        (0.000611, "100", "advert 0"),
        (0.614443, "101", "advert 99"),
        (0.614599, "101", "garp"),
        (0.614635, "101", "garp"),
        (0.614661, "101", "garp"),
        (0.614686, "101", "garp"),
        (0.614712, "101", "garp"),
        (0.614840, "101", "state MASTER"),
        (1.614861, "101", "advert 99"),
        (2.615016, "101", "advert 99"),
        (3.615169, "101", "advert 99"),
        (4.615315, "101", "advert 99"),
        (5.615354, "101", "garp"),
        (5.615391, "101", "garp"),
        (5.615418, "101", "garp"),
        (5.615451, "101", "garp"),
        (5.615483, "101", "garp"),
        (5.615528, "101", "advert 99"),
        (6.615618, "101", "advert 99"),
        (7.615765, "101", "advert 99"),
        (8.615914, "101", "advert 99"),
        (9.616037, "101", "advert 99"),
        (10.616358, "101", "advert 99"),
        (11.616481, "101", "advert 99"),
        (12.000249, "101", "action stop"),
        (12.001030, "101", "advert 0"),
    ];

    /// `S02/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S02: &[(f64, &str, &str)] = &[
        (-8.402138, "100", "action start"),
        (-8.371150, "100", "state BACKUP (init)"),
        (-8.101033, "101", "action start"),
        (-8.070121, "101", "state BACKUP (init)"),
        (-4.780414, "100", "advert 100"),
        (-4.780234, "100", "garp"),
        (-4.780194, "100", "garp"),
        (-4.780169, "100", "garp"),
        (-4.780146, "100", "garp"),
        (-4.780121, "100", "garp"),
        (-4.779983, "100", "state MASTER"),
        (-3.779967, "100", "advert 100"),
        (-2.779788, "100", "advert 100"),
        (-1.779613, "100", "advert 100"),
        (-0.779468, "100", "advert 100"),
        (0.000000, "100", "action crash"),
        (2.834475, "101", "advert 99"),
        (2.834530, "101", "state MASTER"),
        (2.834718, "101", "garp"),
        (2.834769, "101", "garp"),
        (2.834810, "101", "garp"),
        (2.834862, "101", "garp"),
        (2.834910, "101", "garp"),
        (3.835072, "101", "advert 99"),
        (4.835176, "101", "advert 99"),
        (5.835337, "101", "advert 99"),
        (6.835438, "101", "advert 99"),
        (7.835539, "101", "garp"),
        (7.835593, "101", "garp"),
        (7.835619, "101", "garp"),
        (7.835644, "101", "garp"),
        (7.835666, "101", "garp"),
        (7.835718, "101", "advert 99"),
        (8.835913, "101", "advert 99"),
        (9.836099, "101", "advert 99"),
        (10.836294, "101", "advert 99"),
        (11.836443, "101", "advert 99"),
        (12.016746, "101", "action stop"),
        (12.017565, "101", "advert 0"),
    ];

    /// `S03/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S03: &[(f64, &str, &str)] = &[
        (-17.506923, "100", "action start"),
        (-17.456340, "100", "state BACKUP (init)"),
        (-17.206071, "101", "action start"),
        (-17.164561, "101", "state BACKUP (init)"),
        (-13.883029, "100", "advert 100"),
        (-13.882872, "100", "garp"),
        (-13.882843, "100", "state MASTER"),
        (-13.882836, "100", "garp"),
        (-13.882812, "100", "garp"),
        (-13.882785, "100", "garp"),
        (-13.882751, "100", "garp"),
        (-12.882662, "100", "advert 100"),
        (-11.882536, "100", "advert 100"),
        (-10.882409, "100", "advert 100"),
        (-9.882314, "100", "advert 100"),
        (-9.105140, "100", "action stop"),
        (-9.104633, "100", "advert 0"),
        (-8.490386, "101", "advert 99"),
        (-8.490296, "101", "state MASTER"),
        (-8.490189, "101", "garp"),
        (-8.490147, "101", "garp"),
        (-8.490121, "101", "garp"),
        (-8.490086, "101", "garp"),
        (-8.490054, "101", "garp"),
        (-7.489931, "101", "advert 99"),
        (-6.489783, "101", "advert 99"),
        (-5.489655, "101", "advert 99"),
        (-4.489451, "101", "advert 99"),
        (-3.487065, "101", "advert 99"),
        (-3.486615, "101", "garp"),
        (-3.486579, "101", "garp"),
        (-3.486553, "101", "garp"),
        (-3.486529, "101", "garp"),
        (-3.486505, "101", "garp"),
        (-2.486874, "101", "advert 99"),
        (-1.486736, "101", "advert 99"),
        (-0.486586, "101", "advert 99"),
        (0.000000, "100", "action start"),
        (0.041408, "100", "state BACKUP (init)"),
        (0.513567, "101", "advert 99"),
        (1.513717, "101", "advert 99"),
        (2.513889, "101", "advert 99"),
        (3.514016, "101", "advert 99"),
        (3.642443, "100", "advert 100"),
        (3.643453, "101", "state BACKUP"),
        (3.643549, "100", "state MASTER"),
        (3.645411, "100", "garp"),
        (3.645580, "100", "garp"),
        (3.645932, "100", "garp"),
        (3.646114, "100", "garp"),
        (3.646292, "100", "garp"),
        (4.646399, "100", "advert 100"),
        (5.646573, "100", "advert 100"),
        (6.646682, "100", "advert 100"),
        (7.646824, "100", "advert 100"),
        (8.647578, "100", "garp"),
        (8.647794, "100", "garp"),
        (8.648031, "100", "garp"),
        (8.648247, "100", "garp"),
        (8.648454, "100", "garp"),
        (8.648514, "100", "advert 100"),
        (9.648738, "100", "advert 100"),
        (10.648937, "100", "advert 100"),
        (11.649112, "100", "advert 100"),
        (12.649215, "100", "advert 100"),
        (13.649332, "100", "advert 100"),
        (14.649434, "100", "advert 100"),
        (15.100748, "101", "action stop"),
        (15.649615, "100", "advert 100"),
        (16.204571, "100", "action stop"),
        (16.205480, "100", "advert 0"),
    ];

    /// `S04/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S04: &[(f64, &str, &str)] = &[
        (-17.507092, "100", "action start"),
        (-17.476531, "100", "state BACKUP (init)"),
        (-17.205970, "101", "action start"),
        (-17.174900, "101", "state BACKUP (init)"),
        (-13.866607, "100", "advert 100"),
        (-13.866526, "100", "state MASTER"),
        (-13.866314, "100", "garp"),
        (-13.866243, "100", "garp"),
        (-13.866185, "100", "garp"),
        (-13.866132, "100", "garp"),
        (-13.866081, "100", "garp"),
        (-12.865981, "100", "advert 100"),
        (-11.865755, "100", "advert 100"),
        (-10.865628, "100", "advert 100"),
        (-9.865520, "100", "advert 100"),
        (-9.104996, "100", "action stop"),
        (-9.104517, "100", "advert 0"),
        (-8.490250, "101", "advert 99"),
        (-8.489593, "101", "garp"),
        (-8.489426, "101", "garp"),
        (-8.489256, "101", "garp"),
        (-8.489084, "101", "garp"),
        (-8.488911, "101", "garp"),
        (-8.488642, "101", "state MASTER"),
        (-7.488813, "101", "advert 99"),
        (-6.488642, "101", "advert 99"),
        (-5.488489, "101", "advert 99"),
        (-4.488324, "101", "advert 99"),
        (-3.488356, "101", "garp"),
        (-3.488303, "101", "garp"),
        (-3.488263, "101", "garp"),
        (-3.488226, "101", "garp"),
        (-3.488190, "101", "garp"),
        (-3.488141, "101", "advert 99"),
        (-2.487986, "101", "advert 99"),
        (-1.487872, "101", "advert 99"),
        (-0.487756, "101", "advert 99"),
        (0.000000, "100", "action start"),
        (0.059490, "100", "state BACKUP (init)"),
        (0.512409, "101", "advert 99"),
        (1.512657, "101", "advert 99"),
        (2.512836, "101", "advert 99"),
        (3.512990, "101", "advert 99"),
        (4.513089, "101", "advert 99"),
        (5.513184, "101", "advert 99"),
        (6.513365, "101", "advert 99"),
        (7.513576, "101", "advert 99"),
        (8.513800, "101", "advert 99"),
        (9.514036, "101", "advert 99"),
        (10.514229, "101", "advert 99"),
        (11.514408, "101", "advert 99"),
        (12.514589, "101", "advert 99"),
        (13.514791, "101", "advert 99"),
        (14.514976, "101", "advert 99"),
        (15.100718, "101", "action stop"),
        (15.101715, "101", "advert 0"),
        (15.712183, "100", "advert 100"),
        (15.712217, "100", "state MASTER"),
        (15.712420, "100", "garp"),
        (15.712542, "100", "garp"),
        (15.712585, "100", "garp"),
        (15.712623, "100", "garp"),
        (15.712660, "100", "garp"),
        (16.205781, "100", "action stop"),
        (16.206720, "100", "advert 0"),
    ];

    /// `S06a_term/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S06a: &[(f64, &str, &str)] = &[
        (-14.401965, "100", "action start"),
        (-14.345401, "100", "state BACKUP (init)"),
        (-14.100911, "101", "action start"),
        (-14.044394, "101", "state BACKUP (init)"),
        (-4.966245, "100", "advert 150"),
        (-4.966201, "100", "state MASTER"),
        (-4.965973, "100", "garp"),
        (-4.965928, "100", "garp"),
        (-4.965896, "100", "garp"),
        (-4.965866, "100", "garp"),
        (-4.965833, "100", "garp"),
        (-1.965648, "100", "advert 150"),
        (0.000000, "100", "action stop"),
        (0.000532, "100", "advert 0"),
        (0.807286, "101", "advert 50"),
        (0.807436, "101", "garp"),
        (0.807471, "101", "garp"),
        (0.807496, "101", "garp"),
        (0.807521, "101", "garp"),
        (0.807545, "101", "garp"),
        (0.807697, "101", "state MASTER"),
        (3.807736, "101", "advert 50"),
        (5.808210, "101", "garp"),
        (5.808250, "101", "garp"),
        (5.808274, "101", "garp"),
        (5.808310, "101", "garp"),
        (5.808335, "101", "garp"),
        (6.807904, "101", "advert 50"),
        (9.808093, "101", "advert 50"),
        (12.808237, "101", "advert 50"),
        (15.808421, "101", "advert 50"),
        (16.000631, "101", "action stop"),
        (16.001337, "101", "advert 0"),
    ];

    /// `S06b_crash/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S06b: &[(f64, &str, &str)] = &[
        (-14.402227, "100", "action start"),
        (-14.369057, "100", "state BACKUP (init)"),
        (-14.101017, "101", "action start"),
        (-14.052431, "101", "state BACKUP (init)"),
        (-4.954304, "100", "advert 150"),
        (-4.954249, "100", "state MASTER"),
        (-4.954039, "100", "garp"),
        (-4.953992, "100", "garp"),
        (-4.953956, "100", "garp"),
        (-4.953918, "100", "garp"),
        (-4.953882, "100", "garp"),
        (-1.953686, "100", "advert 150"),
        (0.000000, "100", "action crash"),
        (7.851686, "101", "advert 50"),
        (7.851745, "101", "state MASTER"),
        (7.851914, "101", "garp"),
        (7.851973, "101", "garp"),
        (7.852019, "101", "garp"),
        (7.852065, "101", "garp"),
        (7.852107, "101", "garp"),
        (10.852244, "101", "advert 50"),
        (12.853040, "101", "garp"),
        (12.853092, "101", "garp"),
        (12.853124, "101", "garp"),
        (12.853155, "101", "garp"),
        (12.853185, "101", "garp"),
        (13.852482, "101", "advert 50"),
        (16.852677, "101", "advert 50"),
        (18.007586, "101", "action stop"),
        (18.008317, "101", "advert 0"),
    ];

    /// `S08a_linkdown/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S08a: &[(f64, &str, &str)] = &[
        (-8.401879, "100", "action start"),
        (-8.370663, "100", "state BACKUP (init)"),
        (-8.100806, "101", "action start"),
        (-8.069627, "101", "state BACKUP (init)"),
        (-4.777308, "100", "advert 100"),
        (-4.777197, "100", "state MASTER"),
        (-4.777134, "100", "garp"),
        (-4.777090, "100", "garp"),
        (-4.777061, "100", "garp"),
        (-4.777029, "100", "garp"),
        (-4.776997, "100", "garp"),
        (-3.776817, "100", "advert 100"),
        (-2.776671, "100", "advert 100"),
        (-1.776480, "100", "advert 100"),
        (-0.776298, "100", "advert 100"),
        (0.000000, "101", "action lan down"),
        (0.003250, "101", "action netlink down"),
        (0.003354, "101", "state FAULT"),
        (0.225611, "100", "garp"),
        (0.226633, "100", "garp"),
        (0.227635, "100", "garp"),
        (0.228627, "100", "garp"),
        (0.229693, "100", "garp"),
        (0.229739, "100", "advert 100"),
        (1.229930, "100", "advert 100"),
        (2.230144, "100", "advert 100"),
        (3.230318, "100", "advert 100"),
        (4.230496, "100", "advert 100"),
        (5.230648, "100", "advert 100"),
        (6.230826, "100", "advert 100"),
        (7.231018, "100", "advert 100"),
        (8.231195, "100", "advert 100"),
        (9.231366, "100", "advert 100"),
        (10.004711, "101", "action lan up"),
        (10.008170, "101", "action netlink up"),
        (10.008402, "101", "state BACKUP"),
        (10.231534, "100", "advert 100"),
        (11.231692, "100", "advert 100"),
        (12.231861, "100", "advert 100"),
        (13.232026, "100", "advert 100"),
        (14.232179, "100", "advert 100"),
        (15.232338, "100", "advert 100"),
        (16.232485, "100", "advert 100"),
        (17.232649, "100", "advert 100"),
        (18.232835, "100", "advert 100"),
        (19.233004, "100", "advert 100"),
        (20.233184, "100", "advert 100"),
        (21.233310, "100", "advert 100"),
        (22.009841, "100", "action stop"),
        (22.010783, "100", "advert 0"),
        (22.625433, "101", "advert 99"),
        (22.627004, "101", "state MASTER"),
        (22.629299, "101", "garp"),
        (22.630327, "101", "garp"),
        (22.631324, "101", "garp"),
        (22.632348, "101", "garp"),
        (22.633396, "101", "garp"),
        (23.114901, "101", "action stop"),
        (23.115480, "101", "advert 0"),
    ];
    /// `S02b_kill_parent_only/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S02b: &[(f64, &str, &str)] = &[
        (-8.402134, "100", "action start"),
        (-8.369533, "100", "state BACKUP (init)"),
        (-8.101015, "101", "action start"),
        (-8.068053, "101", "state BACKUP (init)"),
        (-4.758803, "100", "advert 100"),
        (-4.758641, "100", "garp"),
        (-4.758606, "100", "garp"),
        (-4.758581, "100", "garp"),
        (-4.758557, "100", "garp"),
        (-4.758532, "100", "garp"),
        (-4.758491, "100", "state MASTER"),
        (-3.758360, "100", "advert 100"),
        (-2.758108, "100", "advert 100"),
        (-1.757933, "100", "advert 100"),
        (-0.757728, "100", "advert 100"),
        (0.000000, "100", "action stop"),
        (0.000796, "100", "advert 0"),
        (0.615064, "101", "advert 99"),
        (0.615156, "101", "state MASTER"),
        (0.615223, "101", "garp"),
        (0.615267, "101", "garp"),
        (0.615293, "101", "garp"),
        (0.615319, "101", "garp"),
        (0.615351, "101", "garp"),
        (1.615521, "101", "advert 99"),
        (2.615625, "101", "advert 99"),
        (3.615758, "101", "advert 99"),
        (4.615923, "101", "advert 99"),
        (5.615878, "101", "garp"),
        (5.615918, "101", "garp"),
        (5.615943, "101", "garp"),
        (5.615967, "101", "garp"),
        (5.615992, "101", "garp"),
        (5.616038, "101", "advert 99"),
        (6.616186, "101", "advert 99"),
        (7.616351, "101", "advert 99"),
        (8.616532, "101", "advert 99"),
        (9.616707, "101", "advert 99"),
        (10.000903, "100", "action stop"),
        (10.001156, "101", "action stop"),
        (10.001701, "101", "advert 0"),
    ];

    /// `S10c_seed_vrrp_only_P/timeline.json`: harness actions, adverts, GARPs and state changes.
    pub const S10c: &[(f64, &str, &str)] = &[
        (-8.402276, "100", "action start"),
        (-8.336974, "100", "state BACKUP (init)"),
        (-8.101052, "101", "action start"),
        (-8.060259, "101", "state BACKUP (init)"),
        (-4.772181, "100", "advert 100"),
        (-4.771986, "100", "garp"),
        (-4.771950, "100", "garp"),
        (-4.771925, "100", "garp"),
        (-4.771901, "100", "garp"),
        (-4.771876, "100", "garp"),
        (-4.771737, "100", "state MASTER"),
        (-3.771715, "100", "advert 100"),
        (-2.771493, "100", "advert 100"),
        (-1.771329, "100", "advert 100"),
        (-0.771159, "100", "advert 100"),
        (0.000000, "100", "action stop"),
        (0.000515, "100", "advert 0"),
        (0.615301, "101", "advert 99"),
        (0.615397, "101", "state MASTER"),
        (0.615549, "101", "garp"),
        (0.615619, "101", "garp"),
        (0.615662, "101", "garp"),
        (0.615716, "101", "garp"),
        (0.615759, "101", "garp"),
        (1.615934, "101", "advert 99"),
        (2.616109, "101", "advert 99"),
        (3.000669, "101", "action stop"),
        (3.001464, "101", "advert 0"),
    ];

    /// Our own recording (not in the shared reference): split brain healed at t0. 101's adverts
    /// before t0 never reached the bridge. Node 101 starts are aligned on its only recorded
    /// advert (see `run`), which is its 4th.
    pub const X01: &[(f64, &str, &str)] = &[
        (-5.770292, "100", "action start"),
        (-6.264571, "101", "action start"),
        (-6.264571, "101", "action lan down"),
        (0.000000, "101", "action lan up"),
        (-2.160917, "100", "advert 100"),
        (-2.155443, "100", "garp"),
        (-2.155418, "100", "garp"),
        (-2.155413, "100", "garp"),
        (-2.155409, "100", "garp"),
        (-2.155405, "100", "garp"),
        (-1.151437, "100", "advert 100"),
        (-0.151330, "100", "advert 100"),
        (0.348710, "101", "advert 99"),
        (0.349782, "100", "advert 100"),
        (0.350988, "100", "garp"),
        (0.351005, "100", "garp"),
        (0.351012, "100", "garp"),
        (0.351018, "100", "garp"),
        (0.351025, "100", "garp"),
        (1.351131, "100", "advert 100"),
        (2.351273, "100", "advert 100"),
        (2.848566, "100", "garp"),
        (2.848616, "100", "garp"),
        (2.848627, "100", "garp"),
        (2.848635, "100", "garp"),
        (2.848643, "100", "garp"),
        (3.351408, "100", "advert 100"),
        (4.351548, "100", "advert 100"),
        (5.351127, "100", "garp"),
        (5.351176, "100", "garp"),
        (5.351184, "100", "garp"),
        (5.351192, "100", "garp"),
        (5.351200, "100", "garp"),
        (5.351641, "100", "advert 100"),
        (6.351780, "100", "advert 100"),
        (7.351924, "100", "advert 100"),
        (8.352038, "100", "advert 100"),
        (9.352225, "100", "advert 100"),
    ];
}
