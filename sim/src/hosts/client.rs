//! [`HttpClient`]: a load generator host (process `client`) that GETs a URL and logs every
//! request as `Event::HttpRequest` when it ends.
//!
//! Requests start at a fixed interval (open loop, deterministic spacing) or keep a fixed number
//! in flight (closed loop). Each uses a new TCP connection with HTTP/1.0, or reuses idle
//! HTTP/1.1 keep-alive connections. A request ends with the full response, or with an error:
//! `refused` (RST in answer to the SYN), `reset` (RST or FIN before a complete response once
//! established — curl's "Empty reply from server" counts here too) or `timeout` (no complete
//! response within the per-request timeout; the connection is then closed, as curl does).
//!
//! Process faults: `stop client` starts no new requests and lets those in flight finish;
//! `crash client` abandons them (the kernel closes their sockets, nothing is logged);
//! `start client` resumes from now. Power off/on loses the whole host.

use super::Deadline;
use super::http::{KnownResponses, Parsed};
use lvs_model::event::{Event, HttpError};
use lvs_model::host::{LinuxStack, SocketHandle, StackConfig, tcp};
use lvs_model::node::{ControlError, Node, PortId, ProcessAction, Transmit, process_list};
use lvs_model::time::{Duration, Instant};
use std::collections::VecDeque;
use std::net::SocketAddrV4;

/// How requests are paced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// One request every `interval`, whatever is still in flight.
    Interval(Duration),
    /// Keep this many requests in flight; a finished one starts the next at once.
    Concurrency(u32),
}

impl Load {
    /// `n` requests per second, evenly spaced (1/n s apart, to the nanosecond).
    pub fn per_second(n: u32) -> Load {
        Load::Interval(Duration::from_nanos(1_000_000_000 / u64::from(n.max(1))))
    }
}

/// How an [`HttpClient`] is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpClientConfig {
    /// The name logged in `Event::HttpRequest::client`.
    pub name: String,
    pub stack: StackConfig,
    /// Where to connect, e.g. the VIP port 80.
    pub target: SocketAddrV4,
    pub path: String,
    pub load: Load,
    /// HTTP/1.1 with keep-alive instead of HTTP/1.0 and a connection per request.
    pub keep_alive: bool,
    /// A request with no complete response after this long fails as `timeout`.
    pub timeout: Duration,
    /// When the first request starts.
    pub start: Instant,
    /// Total requests to start (`None`: no limit).
    pub max_requests: Option<u64>,
    /// No request starts at or after this time (`None`: no limit).
    pub stop_at: Option<Instant>,
}

impl HttpClientConfig {
    /// 1 request per second of `GET /` to `target` with HTTP/1.0, 3 s timeout, from t = 0.
    pub fn new(name: impl Into<String>, stack: StackConfig, target: SocketAddrV4) -> Self {
        HttpClientConfig {
            name: name.into(),
            stack,
            target,
            path: "/".into(),
            load: Load::per_second(1),
            keep_alive: false,
            timeout: Duration::from_secs(3),
            start: Instant::ZERO,
            max_requests: None,
            stop_at: None,
        }
    }
}

#[derive(Debug)]
struct InFlight {
    h: SocketHandle,
    started: Instant,
    sent: bool,
    established: bool,
    buf: Vec<u8>,
    /// The socket state when last looked at; the response is parsed only when something changed.
    last_state: tcp::State,
}

/// Linux's ephemeral port range (`ip_local_port_range`).
const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;
const RX: usize = 4096;
const TX: usize = 1024;
/// Released sockets the stack keeps for reuse at most (the test
/// `the_stack_keeps_64_spares_and_reuses_the_last` holds this to the stack).
const SPARES_KEPT: usize = 64;
/// Spare response buffers kept at most.
const BUFS_MAX: usize = 16;

/// An HTTP load generator host.
pub struct HttpClient {
    config: HttpClientConfig,
    stack: LinuxStack,
    powered: bool,
    generating: bool,
    next_start: Option<Instant>,
    started: u64,
    inflight: Vec<InFlight>,
    /// Keep-alive connections waiting for the next request.
    idle: Vec<SocketHandle>,
    /// Sockets we closed, kept until the close completes, then reused.
    closing: Vec<SocketHandle>,
    free: Vec<SocketHandle>,
    /// A closed socket whose release is deferred (see [`HttpClient::park`]).
    parked: Option<SocketHandle>,
    /// Whether closed sockets are parked (always, but for the test holding parking to the
    /// plain release).
    parking: bool,
    /// The sockets in the stack's spare pool: a released CLOSED socket goes there while there
    /// is room, an added socket comes from there when there is one (they all have one size).
    spares: usize,
    /// Response buffers of finished requests, emptied, for the next ones (one allocation
    /// fewer per request).
    bufs: Vec<Vec<u8>>,
    next_port: u16,
    events: VecDeque<Event>,
    request: Vec<u8>,
    /// Responses read before (a lab's web server sends the same one every time).
    known: KnownResponses,
    deadline: Deadline,
    /// Boots so far (0: the first); each seeds its kernel afresh.
    boots: u64,
}

impl HttpClient {
    pub fn new(config: HttpClientConfig) -> Self {
        Self::booted(config, 0)
    }

    /// The client on its `boot`-th boot: a kernel seeded for that boot picks other ISNs and
    /// ephemeral ports than the last one did (see `lvs_model::host::boot_seed`).
    fn booted(config: HttpClientConfig, boot: u64) -> Self {
        let stack_config = config.stack.for_boot(boot);
        let span = u64::from(EPHEMERAL.end() - EPHEMERAL.start()) + 1;
        let next_port = EPHEMERAL.start() + (splitmix(stack_config.seed) % span) as u16;
        let stack = LinuxStack::new(stack_config);
        let request = format!(
            "GET {} HTTP/1.{}\r\nHost: {}\r\nUser-Agent: lvslab\r\nAccept: */*\r\n\r\n",
            config.path,
            if config.keep_alive { 1 } else { 0 },
            config.target.ip()
        )
        .into_bytes();
        HttpClient {
            next_start: Some(config.start),
            config,
            stack,
            powered: true,
            generating: true,
            started: 0,
            inflight: Vec::new(),
            idle: Vec::new(),
            closing: Vec::new(),
            free: Vec::new(),
            parked: None,
            parking: true,
            spares: 0,
            bufs: Vec::new(),
            next_port,
            events: VecDeque::new(),
            request,
            known: KnownResponses::new(),
            deadline: Deadline::default(),
            boots: boot,
        }
    }

    pub fn stack(&self) -> &LinuxStack {
        &self.stack
    }

    pub fn stack_mut(&mut self) -> &mut LinuxStack {
        // Whoever changes the socket set must find the parked socket released, and may
        // change the spare pool behind the client's back.
        self.unpark();
        self.parking = false;
        &mut self.stack
    }

    /// Requests started so far.
    pub fn requests_started(&self) -> u64 {
        self.started
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// No more requests will start and none is in flight.
    pub fn is_done(&self) -> bool {
        self.inflight.is_empty() && !self.may_start_more()
    }

    fn may_start_more(&self) -> bool {
        self.generating && self.config.max_requests.is_none_or(|m| self.started < m)
    }

    fn ephemeral_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = if p >= *EPHEMERAL.end() {
            *EPHEMERAL.start()
        } else {
            p + 1
        };
        p
    }

    fn start_request(&mut self, now: Instant) {
        self.started += 1;
        // Reuse a live keep-alive connection if there is one.
        while let Some(h) = self.idle.pop() {
            let s = self.stack.tcp(h);
            if s.state() == tcp::State::Established && s.may_recv() {
                self.inflight.push(InFlight {
                    h,
                    started: now,
                    sent: false,
                    established: true,
                    buf: self.bufs.pop().unwrap_or_else(|| Vec::with_capacity(512)),
                    last_state: tcp::State::Established,
                });
                return;
            }
            s.close();
            self.closing.push(h);
        }
        let h = match self.free.pop() {
            Some(h) => h,
            None => self.add_socket(),
        };
        let port = self.ephemeral_port();
        match self.stack.tcp_connect(h, self.config.target, port) {
            Ok(()) => self.inflight.push(InFlight {
                h,
                started: now,
                sent: false,
                established: false,
                buf: self.bufs.pop().unwrap_or_else(|| Vec::with_capacity(512)),
                last_state: tcp::State::SynSent,
            }),
            Err(_) => {
                // No route: connect(2) fails at once (ENETUNREACH); curl reports a refusal-like
                // failure without any packet.
                self.release(h);
                self.finish(now, None, None, Some(HttpError::Refused));
            }
        }
    }

    fn finish(
        &mut self,
        started: Instant,
        status: Option<u16>,
        server: Option<String>,
        error: Option<HttpError>,
    ) {
        self.events.push_back(Event::HttpRequest {
            client: self.config.name.clone(),
            started: started.as_nanos(),
            status,
            server,
            error,
        });
    }

    fn step(&mut self, now: Instant) {
        if !self.powered {
            return;
        }
        let started_before = self.started;
        // Start what is due.
        match self.config.load {
            Load::Interval(interval) => {
                while let Some(t) = self.next_start {
                    if t > now {
                        break;
                    }
                    if !self.may_start_more() || self.config.stop_at.is_some_and(|s| t >= s) {
                        self.next_start = None;
                        break;
                    }
                    self.start_request(t.max(now));
                    self.next_start = Some(t + interval.max(Duration::from_nanos(1)));
                }
            }
            Load::Concurrency(n) => {
                if self.next_start.is_some_and(|t| t <= now) {
                    self.next_start = None;
                    self.fill(now, n);
                }
            }
        }
        let timeout = self.config.timeout;
        let keep_alive = self.config.keep_alive;
        // Whether smoltcp has something new to send (see Httpd::serve); a started request
        // always does (its SYN).
        let mut dirty = self.started != started_before;
        let mut i = 0;
        let mut finished = 0;
        while i < self.inflight.len() {
            let r = &mut self.inflight[i];
            // Looked at without `tcp` (which drops the stack's cached deadline) until there is
            // something to send or read.
            let s = self.stack.tcp_ref(r.h);
            let state = s.state();
            if !r.established
                && !matches!(
                    state,
                    tcp::State::SynSent | tcp::State::SynReceived | tcp::State::Closed
                )
            {
                r.established = true;
            }
            let send = r.established && !r.sent && s.may_send();
            let changed = state != r.last_state;
            r.last_state = state;
            let mut news = false;
            if send || s.can_recv() {
                let s = self.stack.tcp(r.h);
                if send {
                    let _ = s.send_slice(&self.request);
                    r.sent = true;
                    dirty = true;
                }
                while s.can_recv() {
                    let _ = s.recv(|d| {
                        r.buf.extend_from_slice(d);
                        (d.len(), ())
                    });
                    news = true;
                    dirty = true;
                }
            }
            let eof = !self.stack.tcp_ref(r.h).may_recv() && r.established;
            // Parse when data came, or when the peer's FIN may have ended a body.
            let parsed = if news || (changed && eof) {
                self.known.parse(&r.buf, eof)
            } else {
                Parsed::Incomplete
            };
            let outcome = match parsed {
                Parsed::Complete(resp) => Some(Ok(resp)),
                Parsed::Malformed => Some(Err(HttpError::Reset)),
                Parsed::Incomplete if state == tcp::State::Closed => Some(Err(if r.established {
                    HttpError::Reset
                } else {
                    HttpError::Refused
                })),
                Parsed::Incomplete if eof => Some(Err(HttpError::Reset)),
                Parsed::Incomplete if now >= r.started + timeout => Some(Err(HttpError::Timeout)),
                Parsed::Incomplete => None,
            };
            let Some(outcome) = outcome else {
                i += 1;
                continue;
            };
            let mut r = self.inflight.swap_remove(i);
            if self.bufs.len() < BUFS_MAX {
                let mut buf = std::mem::take(&mut r.buf);
                buf.clear();
                self.bufs.push(buf);
            }
            let s = self.stack.tcp(r.h);
            finished += 1;
            dirty = true;
            match outcome {
                Ok(resp) => {
                    let reuse = keep_alive && !resp.close && s.state() == tcp::State::Established;
                    if reuse {
                        self.idle.push(r.h);
                    } else {
                        s.close();
                        self.closing.push(r.h);
                    }
                    self.finish(r.started, Some(resp.status), resp.server, None);
                }
                Err(e) => {
                    if s.state() == tcp::State::SynSent {
                        // Linux closes a SYN_SENT socket without a packet; smoltcp's close
                        // would send RST, so the socket is dropped instead.
                        self.stack.remove_socket(r.h);
                    } else {
                        s.close();
                        self.closing.push(r.h);
                    }
                    self.finish(r.started, None, None, Some(e));
                }
            }
        }
        if let Load::Concurrency(n) = self.config.load
            && finished > 0
            && self.next_start.is_none()
            && now >= self.config.start
        {
            self.fill(now, n);
        }
        // Recycle sockets whose close has completed: a TIME-WAIT one stays in the stack (it
        // still answers a retransmitted FIN) until a new connection reuses it; a CLOSED one goes
        // back to the stack's spares, out of smoltcp's way.
        let mut j = 0;
        while j < self.closing.len() {
            let h = self.closing[j];
            match self.stack.tcp_ref(h).state() {
                tcp::State::TimeWait => {
                    self.closing.swap_remove(j);
                    self.free.push(h);
                }
                tcp::State::Closed => {
                    self.closing.swap_remove(j);
                    self.park(h);
                }
                _ => j += 1,
            }
        }
        if dirty || self.started != started_before {
            self.stack.poll(now);
        }
    }

    /// Releases a socket to the stack (see [`LinuxStack::release_socket`]).
    fn release(&mut self, h: SocketHandle) {
        self.unpark();
        let closed = self.stack.tcp_ref(h).state() == tcp::State::Closed;
        self.stack.release_socket(h);
        if closed {
            self.spares = (self.spares + 1).min(SPARES_KEPT);
        }
    }

    /// Releases the parked socket, if any: its deferred release happens now, before any other
    /// change to the socket set or the spare pool, so those see what they would have.
    fn unpark(&mut self) {
        if let Some(p) = self.parked.take() {
            self.stack.release_socket(p);
            self.spares = (self.spares + 1).min(SPARES_KEPT);
        }
    }

    /// Releases a CLOSED socket — later. Releasing it and adding a socket for the next request
    /// (most requests end this way) costs a removal from smoltcp's socket set and an insertion
    /// into it; [`Self::add_socket`] instead reconnects the parked socket in place when that is
    /// what the release and the insertion would have given. Until then the socket is inert in
    /// the set: CLOSED with no connection, smoltcp accepts no packet for it, has nothing to send
    /// and no deadline for it. A socket still holding a connection (an RST to send) is released
    /// at once.
    fn park(&mut self, h: SocketHandle) {
        self.unpark();
        if self.parking && self.stack.tcp_ref(h).remote_endpoint().is_none() {
            self.parked = Some(h);
        } else {
            self.release(h);
        }
    }

    /// A socket for a new connection: [`LinuxStack::add_tcp_socket`], or the parked socket
    /// when release plus add would give back the same socket in the same slot. They would
    /// when the spare pool has room (the release puts the parked socket there, last, and the
    /// add takes the last one of the right size: the same socket, not just an equal one, as a
    /// reset leaves some of smoltcp's fields alone) and the parked socket has the set's first
    /// slot (smoltcp adds a socket in the first empty slot). A socket's slot decides where
    /// each poll visits it, so the frame order stays as well. Its smoltcp metadata is kept
    /// instead of made afresh; with `Medium::Ip` it never leaves its initial state.
    fn add_socket(&mut self) -> SocketHandle {
        if let Some(p) = self.parked {
            if self.spares < SPARES_KEPT && p == SocketHandle::default() {
                self.parked = None;
                return p;
            }
            self.unpark();
        }
        self.spares = self.spares.saturating_sub(1);
        self.stack.add_tcp_socket(RX, TX)
    }

    fn fill(&mut self, now: Instant, n: u32) {
        while self.inflight.len() < n as usize
            && self.may_start_more()
            && self.config.stop_at.is_none_or(|s| now < s)
        {
            self.start_request(now);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let start = match self.config.load {
            Load::Interval(_) => self.next_start.filter(|_| self.may_start_more()),
            Load::Concurrency(_) => self.next_start,
        };
        let timeout = self
            .inflight
            .iter()
            .map(|r| r.started + self.config.timeout)
            .min();
        match (start, timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A cheap deterministic mix of the seed for the first ephemeral port.
fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Node for HttpClient {
    fn handle_frame(&mut self, now: Instant, port: PortId, frame: &[u8]) {
        if !self.powered {
            return;
        }
        self.stack.handle_frame(now, port, frame);
        self.step(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if !self.powered {
            return;
        }
        self.stack.handle_timeout(now);
        self.step(now);
    }

    fn control(
        &mut self,
        now: Instant,
        process: &str,
        action: ProcessAction,
    ) -> Result<(), ControlError> {
        if process != "client" {
            return Err(ControlError::NoSuchProcess(
                process.to_string(),
                process_list(self.processes()),
            ));
        }
        if !self.powered {
            return Ok(());
        }
        match action {
            ProcessAction::Stop => {
                self.generating = false;
                self.next_start = None;
            }
            ProcessAction::Crash => {
                self.generating = false;
                self.next_start = None;
                // The kernel closes a dead process's sockets: FIN, or RST with unread data.
                for r in std::mem::take(&mut self.inflight) {
                    let s = self.stack.tcp(r.h);
                    if s.state() == tcp::State::SynSent {
                        // Nothing is sent for a connection still in SYN_SENT.
                        self.stack.remove_socket(r.h);
                        continue;
                    }
                    if s.can_recv() {
                        s.abort();
                    } else {
                        s.close();
                    }
                    self.closing.push(r.h);
                }
                for h in std::mem::take(&mut self.idle) {
                    self.stack.tcp(h).close();
                    self.closing.push(h);
                }
                self.stack.poll(now);
            }
            ProcessAction::Start => {
                if !self.generating {
                    self.generating = true;
                    self.next_start = Some(now.max(self.config.start));
                }
            }
        }
        self.step(now);
        Ok(())
    }

    fn processes(&self) -> &[&'static str] {
        &["client"]
    }

    fn power(&mut self, now: Instant, on: bool) {
        if on && !self.powered {
            let config = self.config.clone();
            let events = std::mem::take(&mut self.events);
            let started = self.started;
            *self = HttpClient::booted(config, self.boots + 1);
            self.events = events;
            self.started = started;
            self.next_start = Some(now.max(self.config.start));
        } else if !on {
            self.powered = false;
        }
    }

    fn handle_link(&mut self, _now: Instant, port: PortId, up: bool) {
        self.stack.handle_link(port, up);
    }

    fn recycle_frame(&mut self, frame: Vec<u8>) {
        self.stack.recycle_frame(frame);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if !self.powered {
            return super::transmit_unpowered(&mut self.stack);
        }
        self.stack.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front().or_else(|| self.stack.poll_event())
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        if !self.powered {
            return None;
        }
        let next = match (self.stack.poll_timeout(), self.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.deadline.report(self.stack.now(), next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultAction;
    use crate::hosts::{Httpd, HttpdConfig};
    use crate::lan::{Attach, HostSpec, LinkConfig, SwitchConfig};
    use crate::trace::TraceConfig;
    use crate::world::LanBuilder;
    use lvs_model::host::{EthernetAddress, Ipv4Cidr};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 80, last)
    }

    fn stack(last: u8, seed: u64) -> StackConfig {
        StackConfig::single(
            seed ^ u64::from(last),
            EthernetAddress([0x02, 0, 0, 0, 0, last]),
            Ipv4Cidr::new(ip(last), 24),
        )
    }

    /// One client and one web server on a lossy switch, with the web server's process stopped,
    /// hung and restarted and the client crashed and restarted at the given times: requests
    /// end in every way (success, refusal, reset, timeout) and sockets pile up and drain.
    /// Returns the event log and the pcap.
    fn run(
        parking: bool,
        seed: u64,
        load: Load,
        keep_alive: bool,
        faults: &[(u64, &str, &str)],
    ) -> (Vec<u8>, Vec<u8>) {
        let mut lan = LanBuilder::new(seed).trace(TraceConfig {
            pcap: true,
            frame_digest: true,
        });
        let sw = lan.add_switch("lan", SwitchConfig::default()).unwrap();
        // A host named `name` at 10.0.0.`last` with MAC 02:00:00:00:00:`last`.
        let spec = |name: &str, last: u8| HostSpec {
            name: name.into(),
            macs: vec![[0x02, 0, 0, 0, 0, last]],
            ips: vec![ip(last)],
        };
        let web = lan
            .add_host(
                spec("web", 102),
                Box::new(Httpd::new(HttpdConfig::new(stack(102, seed)))),
            )
            .unwrap();
        let mut cfg =
            HttpClientConfig::new("client", stack(50, seed), SocketAddrV4::new(ip(102), 80));
        cfg.load = load;
        cfg.keep_alive = keep_alive;
        cfg.timeout = Duration::from_millis(700);
        let mut client = HttpClient::new(cfg);
        client.parking = parking;
        let client = lan.add_host(spec("client", 50), Box::new(client)).unwrap();
        for h in [web, client] {
            let link = LinkConfig {
                latency: Duration::from_micros(40),
                jitter: Duration::from_micros(30),
                loss_ppm: 20_000,
                ..LinkConfig::default()
            };
            lan.connect(Attach::Host(h, 0), Attach::Switch(sw), link)
                .unwrap();
        }
        let mut w = lan.build().unwrap();
        for &(ms, fault, on) in faults {
            w.schedule_fault(
                Instant::from_millis(ms),
                fault.parse::<FaultAction>().unwrap(),
                Some(on),
            )
            .unwrap();
        }
        w.run_until(Instant::from_secs(6)).unwrap();
        let mut events = Vec::new();
        crate::trace::write_events(w.records(), &mut events).unwrap();
        (events, w.trace_mut().take_pcap().unwrap())
    }

    /// [`HttpClient::add_socket`] counts on the stack keeping up to [`SPARES_KEPT`] released
    /// sockets and handing back the last one kept. A socket's hop limit survives its reset, so
    /// it tells which socket came back.
    #[test]
    fn the_stack_keeps_64_spares_and_reuses_the_last() {
        let mut stack = LinuxStack::new(stack(50, 1));
        let handles: Vec<_> = (1..=SPARES_KEPT + 1)
            .map(|i| {
                let h = stack.add_tcp_socket(RX, TX);
                stack.tcp(h).set_hop_limit(Some(i as u8));
                h
            })
            .collect();
        for h in handles {
            stack.release_socket(h);
        }
        let h = stack.add_tcp_socket(RX, TX);
        assert_eq!(
            stack.tcp_ref(h).hop_limit(),
            Some(SPARES_KEPT as u8),
            "the 65th release found no room; the 64th is handed back first"
        );
    }

    const FAULTS: [&str; 5] = [
        "stop httpd",
        "start httpd",
        "crash httpd",
        "crash client",
        "start client",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Parking closed sockets changes nothing on the wire or in the log.
        #[test]
        fn parking_matches_the_plain_release(
            seed in any::<u64>(),
            concurrency in prop::option::of(1u32..6),
            per_second in 20u32..400,
            keep_alive in any::<bool>(),
            faults in prop::collection::vec((0u64..5_000, 0usize..FAULTS.len()), 0..6),
        ) {
            let load = match concurrency {
                Some(n) => Load::Concurrency(n),
                None => Load::per_second(per_second),
            };
            let faults: Vec<(u64, &str, &str)> = faults
                .iter()
                .map(|&(ms, f)| (ms, FAULTS[f], if FAULTS[f].ends_with("client") { "client" } else { "web" }))
                .collect();
            let fast = run(true, seed, load, keep_alive, &faults);
            let plain = run(false, seed, load, keep_alive, &faults);
            prop_assert!(fast.0 == plain.0, "event logs differ");
            prop_assert!(fast.1 == plain.1, "pcaps differ");
        }
    }
}
