//! A tiny driver for `lvs_model::check::Checkers`: real servers whose behaviour changes at
//! scripted times, probes that complete after a fixed round trip, and an IPVS table built from
//! the dest actions. Time jumps to the earliest deadline or probe completion (no ticks).
#![allow(dead_code)]

use lvs_model::check::{
    Checkers, DestAction, ProbeId, ProbeKind, ProbeOutcome, VirtualServerCheckConfig, body_md5,
};
use lvs_model::{Duration, Event, Instant};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddrV4};

/// An RNG that always returns the same word, so the warmup draw is known.
pub struct FixedRng(pub u32);

impl rand_core::TryRng for FixedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(u64::from(self.0) << 32 | u64::from(self.0))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.fill(0);
        Ok(())
    }
}

/// How a real server answers from some moment on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts connections; an HTTP GET gets `200` and the body `ok`.
    Up,
    /// httpd stopped: the SYN is answered by an RST.
    Refusing,
    /// Host crashed or cut off: nothing comes back.
    Silent,
    /// Accepts connections and answers HTTP GETs with this status and body.
    Http { status: u16, body: Vec<u8> },
    /// Like `Http`, per path; other paths get `404`.
    HttpByPath(Vec<(String, u16, Vec<u8>)>),
}

pub fn t(secs: f64) -> Instant {
    Instant::from_nanos((secs * 1e9).round() as u64)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn addr(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

pub struct Lab {
    pub checkers: Checkers,
    pub now: Instant,
    /// One-way trip; a connect completes after 2 of them, an HTTP GET after 4.
    pub one_way: Duration,
    /// (vs, rs) → weight: the IPVS table the dest actions built.
    pub ipvs: BTreeMap<(usize, SocketAddrV4), u32>,
    pub services: BTreeMap<usize, bool>,
    /// Everything that happened, as `(time, line)`.
    pub log: Vec<(Instant, String)>,
    pub actions: Vec<(Instant, DestAction)>,
    behaviour: BTreeMap<Ipv4Addr, Vec<(Instant, Behaviour)>>,
    pending: Vec<(Instant, ProbeId, ProbeOutcome)>,
}

impl Lab {
    pub fn new(config: Vec<VirtualServerCheckConfig>, one_way: Duration) -> Self {
        Lab {
            checkers: Checkers::new(config).expect("valid config"),
            now: Instant::ZERO,
            one_way,
            ipvs: BTreeMap::new(),
            services: BTreeMap::new(),
            log: Vec::new(),
            actions: Vec::new(),
            behaviour: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// From `at` on, `ip` behaves like `b` (every host starts `Up`).
    pub fn at(&mut self, at: Instant, ip: &str, b: Behaviour) {
        let ip: Ipv4Addr = ip.parse().unwrap();
        self.behaviour.entry(ip).or_default().push((at, b));
    }

    fn behaviour_of(&self, ip: Ipv4Addr, at: Instant) -> Behaviour {
        self.behaviour
            .get(&ip)
            .and_then(|v| v.iter().rev().find(|(t, _)| *t <= at))
            .map(|(_, b)| b.clone())
            .unwrap_or(Behaviour::Up)
    }

    pub fn start(&mut self, word: u32) {
        self.checkers.start(self.now, &mut FixedRng(word));
        self.drain();
    }

    pub fn stop(&mut self) {
        self.checkers.stop(self.now);
        self.drain();
    }

    pub fn crash(&mut self) {
        self.checkers.crash(self.now);
        self.drain();
    }

    fn drain(&mut self) {
        let now = self.now;
        while let Some(ev) = self.checkers.poll_event() {
            if let Event::CheckResult {
                rs, ok, checker, ..
            } = ev
            {
                let verdict = if ok { "ok" } else { "fail" };
                self.log
                    .push((now, format!("check {checker} {rs} {verdict}")));
            }
        }
        while let Some(a) = self.checkers.poll_dest_action() {
            self.actions.push((now, a));
            let line = match a {
                DestAction::AddService { vs } => {
                    self.services.insert(vs, true);
                    format!("service {vs} add")
                }
                DestAction::RemoveService { vs } => {
                    self.services.remove(&vs);
                    self.ipvs.retain(|(v, _), _| *v != vs);
                    format!("service {vs} remove")
                }
                DestAction::Add { vs, rs, weight } => {
                    assert!(
                        self.ipvs.insert((vs, rs), weight).is_none(),
                        "add of a present dest {rs} at {now}"
                    );
                    format!("dest add {rs} w{weight}")
                }
                DestAction::SetWeight { vs, rs, weight } => {
                    let w = self
                        .ipvs
                        .get_mut(&(vs, rs))
                        .expect("edit of a missing dest");
                    *w = weight;
                    format!("dest weight {rs} w{weight}")
                }
                DestAction::Remove { vs, rs } => {
                    assert!(
                        self.ipvs.remove(&(vs, rs)).is_some(),
                        "remove of a missing dest {rs} at {now}"
                    );
                    format!("dest remove {rs}")
                }
            };
            self.log.push((now, line));
        }
        while let Some(n) = self.checkers.poll_notification() {
            self.log.push((now, format!("notify {n:?}")));
        }
        while let Some(p) = self.checkers.poll_probe() {
            let b = self.behaviour_of(*p.target.ip(), now);
            let rtt = self.one_way * 2;
            let done = match (&p.kind, b) {
                (_, Behaviour::Refusing) => Some((now + rtt, ProbeOutcome::Refused)),
                // TCP_CHECK's own deadline ends a silent connect; an HTTP executor reports it.
                (ProbeKind::TcpConnect, Behaviour::Silent) => None,
                (ProbeKind::HttpGet { .. }, Behaviour::Silent) => {
                    Some((now + p.timeout, ProbeOutcome::Timeout))
                }
                (ProbeKind::TcpConnect, _) => Some((now + rtt, ProbeOutcome::Connected)),
                (ProbeKind::HttpGet { .. }, Behaviour::Up) => Some((
                    now + rtt * 2,
                    ProbeOutcome::HttpResponse {
                        status: 200,
                        body_md5: body_md5(b"ok"),
                    },
                )),
                (ProbeKind::HttpGet { path, .. }, Behaviour::HttpByPath(paths)) => {
                    let (status, body) = paths
                        .iter()
                        .find(|(p, _, _)| p == path)
                        .map(|(_, s, b)| (*s, b.clone()))
                        .unwrap_or((404, b"not found".to_vec()));
                    Some((
                        now + rtt * 2,
                        ProbeOutcome::HttpResponse {
                            status,
                            body_md5: body_md5(&body),
                        },
                    ))
                }
                (ProbeKind::HttpGet { .. }, Behaviour::Http { status, body }) => Some((
                    now + rtt * 2,
                    ProbeOutcome::HttpResponse {
                        status,
                        body_md5: body_md5(&body),
                    },
                )),
            };
            if let Some((at, outcome)) = done {
                self.pending.push((at, p.id, outcome));
            }
        }
    }

    /// Runs the process until `end` (inclusive), jumping from deadline to deadline.
    pub fn run_until(&mut self, end: Instant) {
        for _ in 0..1_000_000 {
            let next_probe = self.pending.iter().map(|p| p.0).min();
            let next = [next_probe, self.checkers.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(n) if n <= end => {
                    self.now = n;
                    // Probe results first, in the order they were started.
                    while let Some(i) = self.pending.iter().position(|p| p.0 <= self.now) {
                        let (_, id, outcome) = self.pending.remove(i);
                        self.checkers.handle_probe_result(self.now, id, outcome);
                        self.drain();
                    }
                    self.checkers.handle_timeout(self.now);
                    self.drain();
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
        panic!("run_until: livelock");
    }

    /// Log lines that contain `needle`, with their times.
    pub fn lines(&self, needle: &str) -> Vec<(Instant, String)> {
        self.log
            .iter()
            .filter(|(_, l)| l.contains(needle))
            .cloned()
            .collect()
    }

    /// Times of log lines that contain `needle`.
    pub fn times(&self, needle: &str) -> Vec<Instant> {
        self.lines(needle).into_iter().map(|(t, _)| t).collect()
    }

    pub fn weight(&self, vs: usize, rs: &str) -> Option<u32> {
        self.ipvs.get(&(vs, addr(rs))).copied()
    }
}
