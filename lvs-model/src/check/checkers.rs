//! [`Checkers`]: one keepalived checker process (the "Healthcheck child"), sans-IO.
//!
//! Methods come in four kinds, as in quinn-proto:
//! - process control: [`Checkers::start`], [`Checkers::stop`] (SIGTERM: every destination it
//!   installed is removed, then the service), [`Checkers::crash`] (SIGKILL: nothing is undone);
//! - inputs: [`Checkers::handle_timeout`], [`Checkers::handle_probe_result`], and the scenario's
//!   MISC_CHECK script outcomes ([`Checkers::set_misc_result`], [`Checkers::queue_misc_result`]);
//! - outputs, to drain after every input in this order: [`Checkers::poll_event`] (one
//!   `check.result` per attempt), [`Checkers::poll_dest_action`] (apply to IPVS in order),
//!   [`Checkers::poll_notification`], [`Checkers::poll_probe`] (start each probe now), then
//!   [`Checkers::poll_timeout`];
//! - getters.
//!
//! Contract with the driver: every [`ProbeRequest`] gets exactly one
//! [`Checkers::handle_probe_result`] with its id. A TCP connect that has no result by
//! `start + timeout` is taken as [`ProbeOutcome::Timeout`] by the checker itself; a later result
//! for it is counted in [`Checkers::stale_results`] and ignored, as are results after a stop.

use super::checker::{CheckerState, Epilog, MiscEnd, MiscOutcome, WeightOp};
use super::config::{BOOTSTRAP_DELAY, CheckerKind, VirtualServerCheckConfig};
use super::probe::{ProbeId, ProbeKind, ProbeOutcome, ProbeRequest};
use super::service::{DestAction, Notification, Outputs, ServiceState};
use crate::event::Event;
use crate::time::{Duration, Instant};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddrV4;

/// glibc's `RAND_MAX`: keepalived scales the warmup by `random() / RAND_MAX`.
const RAND_MAX: u64 = (1 << 31) - 1;

/// A configuration the checker process cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckConfigError {
    #[error("virtual server {vs}: real server {rs}: checker {checker} has delay_loop 0")]
    ZeroDelayLoop {
        vs: String,
        rs: SocketAddrV4,
        checker: usize,
    },
    #[error(
        "virtual server {vs}: real server {rs}: HTTP checker {checker} has no url (keepalived drops it)"
    )]
    NoUrl {
        vs: String,
        rs: SocketAddrV4,
        checker: usize,
    },
}

/// Where a checker sits in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckerRef {
    /// Index of the virtual server.
    pub vs: usize,
    /// Index of the real server within it.
    pub rs: usize,
    /// Index of the checker within the real server.
    pub checker: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting(Instant),
    Probing {
        id: ProbeId,
        /// TCP_CHECK's connect_timeout; HTTP leaves its per-wait timeouts to the executor.
        deadline: Option<Instant>,
    },
    MiscRunning {
        until: Instant,
        end: MiscEnd,
    },
}

#[derive(Clone, Debug)]
struct Slot {
    at: CheckerRef,
    target: SocketAddrV4,
    state: CheckerState,
    phase: Phase,
}

impl Slot {
    fn due(&self) -> Option<Instant> {
        match self.phase {
            Phase::Waiting(t) => Some(t),
            Phase::Probing { deadline, .. } => deadline,
            Phase::MiscRunning { until, .. } => Some(until),
        }
    }
}

/// Scenario-scripted outcomes of one MISC_CHECK; kept across restarts of the process.
#[derive(Clone, Debug, Default)]
struct MiscScript {
    queue: VecDeque<MiscOutcome>,
    sticky: Option<MiscOutcome>,
}

/// One keepalived checker process for a fixed configuration.
#[derive(Debug)]
pub struct Checkers {
    config: Vec<VirtualServerCheckConfig>,
    running: bool,
    services: Vec<ServiceState>,
    slots: Vec<Slot>,
    next_probe: u64,
    out: Outputs,
    probes: VecDeque<ProbeRequest>,
    events: VecDeque<Event>,
    misc_scripts: BTreeMap<CheckerRef, MiscScript>,
    stale_results: u64,
}

impl Checkers {
    /// A stopped checker process for `config` (one entry per `virtual_server`, in file order).
    pub fn new(config: Vec<VirtualServerCheckConfig>) -> Result<Self, CheckConfigError> {
        for vs in &config {
            for rs in &vs.real_servers {
                for (i, c) in rs.checkers.iter().enumerate() {
                    if c.effective(rs, vs).delay_loop.is_zero() {
                        return Err(CheckConfigError::ZeroDelayLoop {
                            vs: vs.name.clone(),
                            rs: rs.addr,
                            checker: i,
                        });
                    }
                    if let CheckerKind::Http(h) = &c.kind
                        && h.urls.is_empty()
                    {
                        return Err(CheckConfigError::NoUrl {
                            vs: vs.name.clone(),
                            rs: rs.addr,
                            checker: i,
                        });
                    }
                }
            }
        }
        Ok(Checkers {
            config,
            running: false,
            services: Vec::new(),
            slots: Vec::new(),
            next_probe: 0,
            out: Outputs::default(),
            probes: VecDeque::new(),
            events: VecDeque::new(),
            misc_scripts: BTreeMap::new(),
            stale_results: 0,
        })
    }

    // ---- process control ----

    /// The process starts: services and their initial destinations are installed at once
    /// (all real servers alive unless `alpha`), then each checker's first run is scheduled at
    /// `1 s + warmup × random()/RAND_MAX`, drawing from `rng` in configuration order (no draw
    /// when warmup is 0). Does nothing if already running.
    pub fn start(&mut self, now: Instant, rng: &mut impl rand_core::Rng) {
        if self.running {
            return;
        }
        self.running = true;
        self.services = self
            .config
            .iter()
            .enumerate()
            .map(|(i, vs)| ServiceState::new(i, vs))
            .collect();
        for svc in &mut self.services {
            svc.init(&mut self.out);
        }
        self.slots.clear();
        for (v, vs) in self.config.iter().enumerate() {
            for (r, rs) in vs.real_servers.iter().enumerate() {
                for (c, chk) in rs.checkers.iter().enumerate() {
                    let timing = chk.effective(rs, vs);
                    let state = CheckerState::new(
                        &chk.kind,
                        timing,
                        vs.effective_delay_loop(),
                        i64::from(rs.weight),
                    );
                    let first = now + BOOTSTRAP_DELAY + scaled_warmup(timing.warmup, rng);
                    self.slots.push(Slot {
                        at: CheckerRef {
                            vs: v,
                            rs: r,
                            checker: c,
                        },
                        target: chk.target(rs),
                        state,
                        phase: Phase::Waiting(first),
                    });
                }
            }
        }
    }

    /// SIGTERM: every destination this process installed is deleted (inhibited ones too, and
    /// the sorry server), then each service. Probes in flight are abandoned.
    pub fn stop(&mut self, _now: Instant) {
        if !self.running {
            return;
        }
        for svc in &mut self.services {
            svc.shutdown(&mut self.out);
        }
        self.halt();
    }

    /// SIGKILL: the process vanishes and IPVS keeps whatever it had.
    pub fn crash(&mut self, _now: Instant) {
        if self.running {
            self.halt();
        }
    }

    fn halt(&mut self) {
        self.running = false;
        self.services.clear();
        self.slots.clear();
        self.probes.clear();
    }

    // ---- inputs ----

    /// Runs every checker whose deadline is `<= now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        // Each step moves a checker to a later deadline or to an outstanding probe, so this
        // ends; the bound only guards against a bug turning into a hang.
        let mut budget = 8 * self.slots.len() + 8;
        while budget > 0 {
            budget -= 1;
            let next = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.due().filter(|&t| t <= now).map(|t| (t, i)))
                .min();
            let Some((_, i)) = next else { break };
            self.fire(now, i);
        }
    }

    fn fire(&mut self, now: Instant, i: usize) {
        match self.slots[i].phase {
            Phase::Waiting(_) => self.begin_attempt(now, i),
            Phase::Probing { .. } => self.finish_probe(now, i, ProbeOutcome::Timeout),
            Phase::MiscRunning { end, .. } => {
                let (epilog, ok) = self.slots[i].state.misc_result(now, end);
                self.emit_result(i, ok);
                self.apply(i, epilog);
            }
        }
    }

    fn begin_attempt(&mut self, now: Instant, i: usize) {
        let at = self.slots[i].at;
        let vs = &self.config[at.vs];
        let rs = &vs.real_servers[at.rs];
        let chk = &rs.checkers[at.checker];
        let timeout = self.slots[i].state.timing.connect_timeout;
        let target = self.slots[i].target;
        let kind = match &chk.kind {
            CheckerKind::Tcp => ProbeKind::TcpConnect,
            CheckerKind::Http(h) => {
                let url = &h.urls[self.slots[i].state.http_url().unwrap_or(0)];
                let host = url
                    .virtualhost
                    .as_ref()
                    .or(h.virtualhost.as_ref())
                    .or(rs.virtualhost.as_ref())
                    .or(vs.virtualhost.as_ref())
                    .cloned()
                    .unwrap_or_else(|| target.to_string());
                ProbeKind::HttpGet {
                    path: url.path.clone(),
                    host,
                    protocol: h.protocol,
                }
            }
            CheckerKind::Misc(_) => {
                let outcome = self
                    .misc_scripts
                    .get_mut(&at)
                    .and_then(|s| s.queue.pop_front().or(s.sticky))
                    .unwrap_or(MiscOutcome::exit(0));
                let (until, end) = self.slots[i].state.misc_begin(now, outcome);
                self.slots[i].phase = Phase::MiscRunning { until, end };
                return;
            }
        };
        let deadline = matches!(kind, ProbeKind::TcpConnect).then(|| now + timeout);
        let id = ProbeId(self.next_probe);
        self.next_probe += 1;
        self.probes.push_back(ProbeRequest {
            id,
            target,
            kind,
            timeout,
        });
        self.slots[i].phase = Phase::Probing { id, deadline };
    }

    /// The driver finished probe `id`.
    pub fn handle_probe_result(&mut self, now: Instant, id: ProbeId, outcome: ProbeOutcome) {
        let found = self
            .slots
            .iter()
            .position(|s| matches!(s.phase, Phase::Probing { id: p, .. } if p == id));
        match found {
            Some(i) if self.running => self.finish_probe(now, i, outcome),
            _ => self.stale_results += 1,
        }
    }

    fn finish_probe(&mut self, now: Instant, i: usize, outcome: ProbeOutcome) {
        let at = self.slots[i].at;
        let chk = &self.config[at.vs].real_servers[at.rs].checkers[at.checker];
        let epilog = match &chk.kind {
            CheckerKind::Tcp => {
                let ok = outcome.tcp_ok();
                self.emit_result(i, ok);
                self.slots[i].state.tcp_result(now, ok)
            }
            CheckerKind::Http(h) => {
                let url = &h.urls[self.slots[i].state.http_url().unwrap_or(0)];
                let ok = match outcome {
                    ProbeOutcome::HttpResponse { status, body_md5 } => {
                        url.accepts(status) && url.digest.is_none_or(|d| d == body_md5)
                    }
                    _ => false,
                };
                self.emit_result(i, ok);
                self.slots[i].state.http_result(now, ok)
            }
            CheckerKind::Misc(_) => {
                // MISC_CHECK never asks for a probe; treat a stray result as stale.
                self.stale_results += 1;
                return;
            }
        };
        self.apply(i, epilog);
    }

    fn emit_result(&mut self, i: usize, ok: bool) {
        let at = self.slots[i].at;
        let vs = &self.config[at.vs];
        let rs = &vs.real_servers[at.rs];
        self.events.push_back(Event::CheckResult {
            vs: vs.name.clone(),
            rs: rs.addr.to_string(),
            checker: rs.checkers[at.checker].kind.name().to_string(),
            ok,
        });
    }

    fn apply(&mut self, i: usize, e: Epilog) {
        let at = self.slots[i].at;
        let svc = &mut self.services[at.vs];
        match e.weight {
            Some(WeightOp::Update(delta)) => {
                let w = svc.rs[at.rs].effective_weight + delta;
                svc.update_svr_wgt(at.rs, w, &mut self.out);
            }
            Some(WeightOp::Silent(delta)) => svc.rs[at.rs].effective_weight += delta,
            None => {}
        }
        if let Some(up) = e.transition {
            svc.checker_flipped(at.rs, up, &mut self.out);
        }
        self.slots[i].phase = Phase::Waiting(e.next);
    }

    /// Scenario input: from now on every run of the MISC_CHECKs of real server `rs` (in every
    /// virtual server) ends like `outcome`; pending queued outcomes are dropped.
    /// Without any input a script exits 0 at once.
    pub fn set_misc_result(&mut self, rs: SocketAddrV4, outcome: MiscOutcome) {
        for at in self.misc_refs(rs) {
            let s = self.misc_scripts.entry(at).or_default();
            s.queue.clear();
            s.sticky = Some(outcome);
        }
    }

    /// Scenario input: the next not-yet-started run of each MISC_CHECK of `rs` ends like
    /// `outcome` (queued outcomes are used before the one set by `set_misc_result`).
    pub fn queue_misc_result(&mut self, rs: SocketAddrV4, outcome: MiscOutcome) {
        for at in self.misc_refs(rs) {
            self.misc_scripts
                .entry(at)
                .or_default()
                .queue
                .push_back(outcome);
        }
    }

    fn misc_refs(&self, addr: SocketAddrV4) -> Vec<CheckerRef> {
        let mut refs = Vec::new();
        for (v, vs) in self.config.iter().enumerate() {
            for (r, rs) in vs.real_servers.iter().enumerate() {
                if rs.addr != addr {
                    continue;
                }
                for (c, chk) in rs.checkers.iter().enumerate() {
                    if matches!(chk.kind, CheckerKind::Misc(_)) {
                        refs.push(CheckerRef {
                            vs: v,
                            rs: r,
                            checker: c,
                        });
                    }
                }
            }
        }
        refs
    }

    // ---- outputs ----

    /// The next `check.result` event (one per attempt).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next IPVS change, in the order keepalived issues them.
    #[must_use]
    pub fn poll_dest_action(&mut self) -> Option<DestAction> {
        self.out.dest_actions.pop_front()
    }

    /// The next notification (quorum and real-server up/down).
    #[must_use]
    pub fn poll_notification(&mut self) -> Option<Notification> {
        self.out.notifications.pop_front()
    }

    /// The next probe for the driver to start now.
    #[must_use]
    pub fn poll_probe(&mut self) -> Option<ProbeRequest> {
        self.probes.pop_front()
    }

    /// The earliest deadline at which [`Checkers::handle_timeout`] has work.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.running {
            return None;
        }
        self.slots.iter().filter_map(Slot::due).min()
    }

    // ---- getters ----

    pub fn is_running(&self) -> bool {
        self.running
    }

    pub fn config(&self) -> &[VirtualServerCheckConfig] {
        &self.config
    }

    /// Whether keepalived counts real server `rs` of virtual server `vs` as alive
    /// (`None` when stopped or out of range).
    pub fn real_server_alive(&self, vs: usize, rs: usize) -> Option<bool> {
        Some(self.services.get(vs)?.rs.get(rs)?.alive)
    }

    /// Whether the checker's own state is UP (`None` when stopped or out of range).
    pub fn checker_up(&self, at: CheckerRef) -> Option<bool> {
        self.slots
            .iter()
            .find(|s| s.at == at)
            .map(|s| s.state.is_up)
    }

    /// Whether virtual server `vs` has quorum (`None` when stopped or out of range).
    pub fn quorum_up(&self, vs: usize) -> Option<bool> {
        Some(self.services.get(vs)?.quorum_up)
    }

    /// Probe results that matched no outstanding probe (late, duplicate or after a stop).
    pub fn stale_results(&self) -> u64 {
        self.stale_results
    }
}

/// `warmup × random() / RAND_MAX`, in keepalived's whole microseconds.
fn scaled_warmup(warmup: Duration, rng: &mut impl rand_core::Rng) -> Duration {
    let us = u64::try_from(warmup.as_micros()).unwrap_or(u64::MAX);
    if us == 0 {
        return Duration::ZERO;
    }
    let r = u64::from(rng.next_u32() >> 1);
    Duration::from_micros((u128::from(us) * u128::from(r) / u128::from(RAND_MAX)) as u64)
}
