//! Invariants over a run's event log that hold for any keepalived pair once the lab has
//! converged, and the settle time that says when it has.
//!
//! The checks replay the log ([`check`]): `vrrp.state`, `vip` and `ipvs.dest` events give each
//! director's VRRP states, held VIPs and IPVS dests; `fault` events give which web servers run
//! httpd, are powered and cabled, and when a partition is active. A `power off` wipes a
//! director's VIPs and IPVS table without events (the kernel's state is lost with the power),
//! so the replay clears them itself.
//!
//! | invariant | holds |
//! |---|---|
//! | [`Invariant::OneMaster`] | from convergence on: exactly one MASTER per VRID, holding all its VIPs, and no other director holding them |
//! | [`Invariant::DualMaster`] | always: two MASTERs of one VRID for at most [`Settle::dual_master`] while no partition is active and no link loses frames |
//! | [`Invariant::DestSet`] | from convergence on: the MASTER's dests (weight > 0) of each virtual server on its VIPs are exactly the real servers configured for it (on any director) that are web servers up (httpd running, powered, link up) |
//! | [`Invariant::NoFailedRequests`] | every request started at or after convergence succeeds |
//!
//! Determinism ([`Invariant::Determinism`]) needs two runs; the fuzzer checks it.

use lvs_model::director::Director;
use lvs_model::event::{DestChange, Event, Record, VrrpStateName};
use lvs_model::host::NeighParams;
use lvs_model::ipvs::ServiceKey;
use lvs_model::time::Instant;
use sim::fault::FaultAction;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::scenario::duration::format_nanos;

/// One VRRP instance of one director, with what its timers derive from.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceModel {
    pub director: String,
    pub name: String,
    pub vrid: u8,
    pub vips: Vec<Ipv4Addr>,
    pub priority: u8,
    pub version: u8,
    pub advert_int: Duration,
    pub down_timer_adverts: u32,
    pub preempt_delay: Duration,
}

impl InstanceModel {
    /// Skew_Time: v2 `(256 − priority)/256` s, v3 `(256 − priority) × advert_int / 256`.
    pub fn skew(&self) -> Duration {
        let unit = if self.version == 3 {
            self.advert_int
        } else {
            Duration::from_secs(1)
        };
        let ns = u64::try_from(unit.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos((256 - u64::from(self.priority)) * ns / 256)
    }

    /// Master_Down_Interval: `down_timer_adverts × advert_int + Skew_Time`.
    pub fn master_down_interval(&self) -> Duration {
        self.advert_int * self.down_timer_adverts + self.skew()
    }
}

/// One virtual server of one director: its configured dests as `ip:port`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceModel {
    pub director: String,
    pub vs: String,
    /// The VIP it listens on (`None` for a fwmark service: checked on any MASTER director).
    pub vip: Option<Ipv4Addr>,
    pub dests: Vec<String>,
}

/// One checker's effective timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckTiming {
    pub delay_loop: Duration,
    pub connect_timeout: Duration,
    pub delay_before_retry: Duration,
    pub warmup: Duration,
}

/// A web server as the dest set sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct WebModel {
    pub name: String,
    /// `ip:port` of its httpd, as `ipvs.dest` events name the real server.
    pub rs: String,
}

/// What the invariants know of the lab, read from the directors' plans.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cluster {
    pub directors: Vec<String>,
    pub instances: Vec<InstanceModel>,
    pub services: Vec<ServiceModel>,
    pub checks: Vec<CheckTiming>,
    pub webs: Vec<WebModel>,
    /// Worst one-way host-to-host delay: the LAN's latency plus its jitter (plus, on a rated
    /// LAN, a full-size frame's time on each of the two links).
    pub hop: Duration,
}

impl Cluster {
    /// Adds a director's VRRP instances, virtual servers and checkers from its plan.
    pub fn add_director(&mut self, name: &str, director: &Director) {
        let plan = director.plan();
        self.directors.push(name.to_string());
        for i in &plan.vrrp.instances {
            self.instances.push(InstanceModel {
                director: name.to_string(),
                name: i.name.clone(),
                vrid: i.vrid,
                vips: i.vips.iter().chain(&i.excluded_vips).copied().collect(),
                priority: i.priority,
                version: i.version,
                advert_int: i.advert_int,
                down_timer_adverts: i.down_timer_adverts,
                preempt_delay: i.preempt_delay,
            });
        }
        for s in &plan.services {
            let vip = match s.service.key {
                ServiceKey::Addr { addr, .. } => Some(addr),
                ServiceKey::Fwmark(_) => None,
            };
            self.services.push(ServiceModel {
                director: name.to_string(),
                vs: s.name.clone(),
                vip,
                dests: s
                    .dests
                    .iter()
                    .map(|d| format!("{}:{}", d.addr, d.port))
                    .collect(),
            });
        }
        for vs in &plan.checks {
            for rs in &vs.real_servers {
                for c in &rs.checkers {
                    let t = c.effective(rs, vs);
                    self.checks.push(CheckTiming {
                        delay_loop: t.delay_loop,
                        connect_timeout: t.connect_timeout,
                        delay_before_retry: t.delay_before_retry,
                        warmup: t.warmup,
                    });
                }
            }
        }
    }

    /// The settle times (see [`Settle`]).
    pub fn settle(&self) -> Settle {
        let max = |it: &mut dyn Iterator<Item = Duration>| it.max().unwrap_or(Duration::ZERO);
        let advert = max(&mut self.instances.iter().map(|i| i.advert_int));
        let takeover = max(&mut self
            .instances
            .iter()
            .map(|i| i.preempt_delay + i.master_down_interval()));
        let rtt = self.hop * 2;
        let vrrp = if self.instances.is_empty() {
            Duration::ZERO
        } else {
            takeover + advert + rtt
        };
        let checks = max(&mut self.checks.iter().map(|c| {
            c.connect_timeout + c.delay_loop.max(c.delay_before_retry).max(c.warmup) + rtt * 2
        }));
        let n = NeighParams::default();
        Settle {
            vrrp,
            checks,
            dual_master: advert + rtt,
            client_arp: n.base_reachable_time * 3 / 2
                + n.delay_first_probe_time
                + n.retrans_time * n.ucast_probes
                + rtt,
        }
    }
}

/// How long the lab needs after its last repair, derived from keepalived's rules.
///
/// - `vrrp` = max over instances of (`preempt_delay` + Master_Down_Interval), plus the largest
///   `advert_int`, plus 2 hops. After the last repair every running instance is BACKUP or MASTER. The
///   highest-priority one becomes MASTER at most `preempt_delay` + MDI later (a restart or
///   link-up counts its down timer from then; lower-priority adverts do not reset it) and its
///   first advert demotes a lower MASTER one hop later. Two MASTERs left by a healed partition
///   resolve at the next advert of either (≤ `advert_int`): the higher one's advert demotes the
///   lower at once, the lower one's makes the higher answer at once (B.6), two hops.
/// - `checks` = max over checkers of `connect_timeout` + max(`delay_loop`,
///   `delay_before_retry`, `warmup`) + 2 round trips. A probe in flight at the repair ends
///   within `connect_timeout`; the next one starts at most max(`delay_loop`,
///   `delay_before_retry`) later (`warmup` after a keepalived start) and succeeds; one
///   success puts the real server back.
/// - `dual_master` = max `advert_int` + 2 hops: the longest two MASTERs of one VRID coexist
///   without a partition (the case above, or a preempting MASTER's first advert in flight).
/// - `client_arp` = 1.5 × `base_reachable_time` + `delay_first_probe_time` + `ucast_solicit`
///   × `retrans_time` + 1 round trip, Linux's neighbour defaults (30 s, 5 s, 3 × 1 s): 53 s.
///   When a partition heals, the higher MASTER's advert may reach the other first; the other
///   then steps down silently and the higher one, which never saw a lower-priority advert,
///   sends no gratuitous ARP (B.6). A client whose ARP entry for the VIP was last confirmed
///   through the demoted director keeps sending there until the entry goes STALE (up to
///   1.5 × base_reachable_time), waits in DELAY, fails its unicast probes and only then
///   broadcasts. So after a partition, requests count from the demotion (heal +
///   `dual_master`) + `client_arp`. keepalived's `garp_master_refresh` would shorten this;
///   the bound does not assume it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settle {
    pub vrrp: Duration,
    pub checks: Duration,
    pub dual_master: Duration,
    pub client_arp: Duration,
}

impl Settle {
    /// The time from the last repair to convergence: the larger of `vrrp` and `checks`.
    pub fn total(&self) -> Duration {
        self.vrrp.max(self.checks)
    }
}

impl fmt::Display for Settle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "settle {} (VRRP {}, checkers {}); two MASTERs allowed {}; client ARP after a \
             partition {}",
            fmt_d(self.total()),
            fmt_d(self.vrrp),
            fmt_d(self.checks),
            fmt_d(self.dual_master),
            fmt_d(self.client_arp)
        )
    }
}

fn fmt_d(d: Duration) -> String {
    format_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Which invariant a run broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    OneMaster,
    DualMaster,
    DestSet,
    NoFailedRequests,
    Determinism,
}

impl Invariant {
    pub fn as_str(self) -> &'static str {
        match self {
            Invariant::OneMaster => "one MASTER holding the VIPs",
            Invariant::DualMaster => "no lasting dual MASTER",
            Invariant::DestSet => "MASTER's dests = web servers up",
            Invariant::NoFailedRequests => "no failed requests",
            Invariant::Determinism => "determinism",
        }
    }
}

/// A broken invariant: when (simulated ns) and why, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub invariant: Invariant,
    pub at: u64,
    pub explanation: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] at {}: {}",
            self.invariant.as_str(),
            format_nanos(self.at),
            self.explanation
        )
    }
}

#[derive(Clone, Copy, Debug)]
struct WebState {
    httpd: bool,
    powered: bool,
    linked: bool,
}

/// The lab as the log has told it so far.
#[derive(Default)]
struct Replay {
    states: BTreeMap<(String, String), VrrpStateName>,
    vips: BTreeMap<String, BTreeSet<Ipv4Addr>>,
    dests: BTreeMap<(String, String), BTreeMap<String, u32>>,
    webs: BTreeMap<String, WebState>,
    partitioned: bool,
    /// Nodes whose links lose frames (`loss P%` with P > 0).
    lossy: BTreeSet<String>,
}

impl Replay {
    fn new(cluster: &Cluster) -> Replay {
        let mut r = Replay::default();
        for w in &cluster.webs {
            r.webs.insert(
                w.name.clone(),
                WebState {
                    httpd: true,
                    powered: true,
                    linked: true,
                },
            );
        }
        r
    }

    fn apply(&mut self, rec: &Record) {
        let node = rec.node.clone();
        match &rec.event {
            Event::VrrpState { instance, to, .. } => {
                self.states.insert((node, instance.clone()), *to);
            }
            Event::Vip { ip, added, .. } => {
                let held = self.vips.entry(node).or_default();
                if *added {
                    held.insert(*ip);
                } else {
                    held.remove(ip);
                }
            }
            Event::IpvsDest {
                vs,
                rs,
                change,
                weight,
            } => {
                let table = self.dests.entry((node, vs.clone())).or_default();
                match change {
                    DestChange::Removed => {
                        table.remove(rs);
                    }
                    DestChange::Added | DestChange::Weight => {
                        table.insert(rs.clone(), *weight);
                    }
                }
            }
            Event::Fault { action, target } => self.fault(action, target),
            _ => {}
        }
    }

    fn fault(&mut self, action: &str, target: &str) {
        let Ok(action) = action.parse::<FaultAction>() else {
            return;
        };
        let node = target.split(':').next().unwrap_or(target).to_string();
        match action {
            FaultAction::Partition { .. } => self.partitioned = true,
            FaultAction::Heal => self.partitioned = false,
            FaultAction::Loss { ppm } => {
                if ppm > 0 {
                    self.lossy.insert(node);
                } else {
                    self.lossy.remove(&node);
                }
            }
            FaultAction::PowerOff => {
                for ((n, _), s) in self.states.iter_mut() {
                    if *n == node {
                        *s = VrrpStateName::Stop;
                    }
                }
                self.vips.remove(&node);
                self.dests.retain(|(n, _), _| *n != node);
                if let Some(w) = self.webs.get_mut(&node) {
                    w.powered = false;
                }
            }
            FaultAction::PowerOn => {
                if let Some(w) = self.webs.get_mut(&node) {
                    // Booting starts httpd afresh.
                    w.powered = true;
                    w.httpd = true;
                }
            }
            FaultAction::LinkDown | FaultAction::LinkUp => {
                if let Some(w) = self.webs.get_mut(&node) {
                    w.linked = action == FaultAction::LinkUp;
                }
            }
            FaultAction::Process { action, process } if process == "httpd" => {
                if let Some(w) = self.webs.get_mut(&node) {
                    w.httpd = action == lvs_model::ProcessAction::Start;
                }
            }
            _ => {}
        }
    }

    /// A partition is active or some node loses frames: adverts may not arrive, and two
    /// MASTERs are what keepalived then gives.
    fn split(&self) -> bool {
        self.partitioned || !self.lossy.is_empty()
    }

    fn masters(&self, cluster: &Cluster, vrid: u8) -> Vec<String> {
        let mut m: Vec<String> = cluster
            .instances
            .iter()
            .filter(|i| i.vrid == vrid)
            .filter(|i| {
                self.states.get(&(i.director.clone(), i.name.clone()))
                    == Some(&VrrpStateName::Master)
            })
            .map(|i| i.director.clone())
            .collect();
        m.dedup();
        m
    }

    fn holds(&self, node: &str, ip: Ipv4Addr) -> bool {
        self.vips.get(node).is_some_and(|s| s.contains(&ip))
    }

    fn web_up(&self, name: &str) -> bool {
        self.webs
            .get(name)
            .is_some_and(|w| w.httpd && w.powered && w.linked)
    }
}

fn vrids(cluster: &Cluster) -> Vec<u8> {
    let set: BTreeSet<u8> = cluster.instances.iter().map(|i| i.vrid).collect();
    set.into_iter().collect()
}

/// (a): exactly one MASTER per VRID, holding its VIPs alone.
fn one_master(cluster: &Cluster, r: &Replay) -> Option<String> {
    for vrid in vrids(cluster) {
        let masters = r.masters(cluster, vrid);
        if masters.len() != 1 {
            let who = if masters.is_empty() {
                "none".to_string()
            } else {
                masters.join(", ")
            };
            return Some(format!("VRID {vrid} has {} MASTERs ({who})", masters.len()));
        }
        let m = &masters[0];
        for i in cluster
            .instances
            .iter()
            .filter(|i| i.vrid == vrid && i.director == *m)
        {
            for ip in &i.vips {
                if !r.holds(m, *ip) {
                    return Some(format!(
                        "{m} is MASTER of VRID {vrid} ({}) but does not hold VIP {ip}",
                        i.name
                    ));
                }
                for other in cluster.directors.iter().filter(|d| *d != m) {
                    if r.holds(other, *ip) {
                        return Some(format!(
                            "VIP {ip} of VRID {vrid} is on {other} as well as on the MASTER {m}"
                        ));
                    }
                }
            }
        }
    }
    None
}

/// (c): the MASTER's dests equal the configured real servers that are up web servers.
///
/// A virtual server is judged on the director that is MASTER for its VIP, against the real
/// servers *any* director configures for it: a pair whose configurations differ is a pair
/// whose service changes with a failover, which is what this invariant is for. A fwmark
/// service (no VIP) is judged on each director that configures it while MASTER of anything.
fn dest_set(cluster: &Cluster, r: &Replay) -> Option<String> {
    let is_master = |director: &str, vip: Option<Ipv4Addr>| {
        cluster.instances.iter().any(|i| {
            i.director == director
                && vip.is_none_or(|v| i.vips.contains(&v))
                && r.states.get(&(i.director.clone(), i.name.clone()))
                    == Some(&VrrpStateName::Master)
        })
    };
    let mut judged: BTreeSet<(String, String)> = BTreeSet::new();
    for s in &cluster.services {
        let on: Vec<&String> = match s.vip {
            Some(_) => cluster
                .directors
                .iter()
                .filter(|d| is_master(d, s.vip))
                .collect(),
            None if is_master(&s.director, None) => vec![&s.director],
            None => Vec::new(),
        };
        for m in on {
            if !judged.insert((m.clone(), s.vs.clone())) {
                continue;
            }
            let configured: BTreeSet<&str> = cluster
                .services
                .iter()
                .filter(|o| o.vs == s.vs && (s.vip.is_some() || o.director == *m))
                .flat_map(|o| o.dests.iter().map(String::as_str))
                .collect();
            let expected: BTreeSet<&str> = configured
                .into_iter()
                .filter(|rs| {
                    cluster
                        .webs
                        .iter()
                        .any(|w| w.rs == *rs && r.web_up(&w.name))
                })
                .collect();
            let actual: BTreeSet<&str> = r
                .dests
                .get(&(m.clone(), s.vs.clone()))
                .map(|t| {
                    t.iter()
                        .filter(|(_, w)| **w > 0)
                        .map(|(rs, _)| rs.as_str())
                        .collect()
                })
                .unwrap_or_default();
            if expected != actual {
                let list = |set: &BTreeSet<&str>| {
                    if set.is_empty() {
                        "none".to_string()
                    } else {
                        set.iter().copied().collect::<Vec<_>>().join(", ")
                    }
                };
                let missing: BTreeSet<&str> = expected.difference(&actual).copied().collect();
                let extra: BTreeSet<&str> = actual.difference(&expected).copied().collect();
                return Some(format!(
                    "on the MASTER {m}, virtual server {} has dests {} but the web servers up \
                     are {} (missing: {}; extra: {})",
                    s.vs,
                    list(&actual),
                    list(&expected),
                    list(&missing),
                    list(&extra)
                ));
            }
        }
    }
    None
}

/// Checks (a)–(d) over `log`. `converged_at` is the last repair plus [`Settle::total`];
/// requests count from `requests_from` (see [`Settle::client_arp`]); `end` is the end of the
/// run. Each invariant is reported once, at its first violation.
pub fn check(
    cluster: &Cluster,
    log: &[Record],
    converged_at: Instant,
    requests_from: Instant,
    end: Instant,
) -> Vec<Violation> {
    let conv = converged_at.as_nanos();
    let req_from = requests_from.as_nanos().max(conv);
    let bound = u64::try_from(cluster.settle().dual_master.as_nanos()).unwrap_or(u64::MAX);
    let since = |t: u64| {
        format!(
            "{} after convergence at {}",
            format_nanos(t.saturating_sub(conv)),
            format_nanos(conv)
        )
    };
    let mut out: Vec<Violation> = Vec::new();
    let mut r = Replay::new(cluster);
    // (b): per VRID, since when two MASTERs count against the bound (None: not dual, or a
    // partition excuses it).
    let mut dual: BTreeMap<u8, Option<u64>> = BTreeMap::new();
    let mut dual_reported = false;
    let mut converged_checked = false;
    let mut failed: Vec<String> = Vec::new();
    let mut first_failed: Option<u64> = None;
    let mut i = 0;
    while i < log.len() {
        let t = log[i].t;
        if !converged_checked && t >= conv && conv <= end.as_nanos() {
            converged_checked = true;
            evaluate(cluster, &r, conv, &since, &mut out);
        }
        // Every record of this instant, then the checks.
        while i < log.len() && log[i].t == t {
            r.apply(&log[i]);
            if let Event::HttpRequest {
                client,
                started,
                status,
                error,
                ..
            } = &log[i].event
                && *started >= req_from
                && (error.is_some() || status.is_none())
            {
                first_failed.get_or_insert(*started);
                if failed.len() < 5 {
                    let why = match error {
                        Some(e) => format!("{e:?}").to_lowercase(),
                        None => "no status".to_string(),
                    };
                    failed.push(format!(
                        "{client} started {} ({why})",
                        format_nanos(*started)
                    ));
                }
            }
            i += 1;
        }
        for vrid in vrids(cluster) {
            let n = r.masters(cluster, vrid).len();
            let slot = dual.entry(vrid).or_insert(None);
            if n >= 2 && !r.split() {
                slot.get_or_insert(t);
            } else if let Some(s) = slot.take()
                && t - s > bound
                && !dual_reported
            {
                dual_reported = true;
                out.push(dual_violation(vrid, s, t, bound, cluster));
            }
            if n >= 2 && r.split() {
                *slot = None;
            }
        }
        if converged_checked && t >= conv {
            evaluate(cluster, &r, t, &since, &mut out);
        }
    }
    if !converged_checked && conv <= end.as_nanos() {
        evaluate(cluster, &r, conv, &since, &mut out);
    }
    for (vrid, s) in dual {
        if let Some(s) = s
            && end.as_nanos().saturating_sub(s) > bound
            && !dual_reported
        {
            dual_reported = true;
            out.push(dual_violation(vrid, s, end.as_nanos(), bound, cluster));
        }
    }
    if let Some(t) = first_failed {
        out.push(Violation {
            invariant: Invariant::NoFailedRequests,
            at: t,
            explanation: format!(
                "requests started {} (requests count from {}) failed: {}",
                since(t),
                format_nanos(req_from),
                failed.join("; ")
            ),
        });
    }
    out.sort_by_key(|v| (v.at, v.invariant));
    out
}

fn dual_violation(vrid: u8, from: u64, to: u64, bound: u64, cluster: &Cluster) -> Violation {
    let _ = cluster;
    Violation {
        invariant: Invariant::DualMaster,
        at: from + bound,
        explanation: format!(
            "VRID {vrid} had two MASTERs from {} to {} ({}) with no partition or frame loss active; at most \
             {} (advert_int + 2 hops) is allowed",
            format_nanos(from),
            format_nanos(to),
            format_nanos(to - from),
            format_nanos(bound)
        ),
    }
}

fn evaluate(
    cluster: &Cluster,
    r: &Replay,
    t: u64,
    since: &dyn Fn(u64) -> String,
    out: &mut Vec<Violation>,
) {
    if !out.iter().any(|v| v.invariant == Invariant::OneMaster)
        && let Some(why) = one_master(cluster, r)
    {
        out.push(Violation {
            invariant: Invariant::OneMaster,
            at: t,
            explanation: format!("{}: {why}", since(t)),
        });
    }
    if !out.iter().any(|v| v.invariant == Invariant::DestSet)
        && let Some(why) = dest_set(cluster, r)
    {
        out.push(Violation {
            invariant: Invariant::DestSet,
            at: t,
            explanation: format!("{}: {why}", since(t)),
        });
    }
}
