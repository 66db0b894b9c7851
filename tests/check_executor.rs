//! The smoltcp probe executor against a second smoltcp stack joined by an in-memory wire:
//! connect, refused (no listener → RST), timeout (peer silent), and HTTP GET with status and
//! body MD5. The wire has no delay, so a round trip takes no simulated time and every
//! timeout below is exactly `start + timeout`.

use lvs_model::check::executor::ProbeExecutor;
use lvs_model::check::{
    CheckerConfig, Checkers, DestAction, HttpProtocol, ProbeId, ProbeKind, ProbeOutcome,
    ProbeRequest, RealServerCheckConfig, VirtualServerCheckConfig, body_md5,
};
use lvs_model::{Duration, Instant};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

#[derive(Default)]
struct Wire {
    /// Frames waiting for side 0 (director) and side 1 (server).
    queues: [VecDeque<Vec<u8>>; 2],
    /// Drop everything sent to the server: a crashed host.
    blackhole: bool,
}

struct End {
    wire: Rc<RefCell<Wire>>,
    side: usize,
}

struct Rx(Vec<u8>);
struct Tx {
    wire: Rc<RefCell<Wire>>,
    to: usize,
}

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        let mut w = self.wire.borrow_mut();
        if !(self.to == 1 && w.blackhole) {
            w.queues[self.to].push_back(buf);
        }
        r
    }
}

impl Device for End {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn receive(&mut self, _: smoltcp::time::Instant) -> Option<(Rx, Tx)> {
        let frame = self.wire.borrow_mut().queues[self.side].pop_front()?;
        let tx = Tx {
            wire: self.wire.clone(),
            to: 1 - self.side,
        };
        Some((Rx(frame), tx))
    }

    fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<Tx> {
        Some(Tx {
            wire: self.wire.clone(),
            to: 1 - self.side,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        caps
    }
}

struct Host {
    iface: Interface,
    dev: End,
    sockets: SocketSet<'static>,
}

impl Host {
    fn new(wire: &Rc<RefCell<Wire>>, side: usize, ip: [u8; 4]) -> Host {
        let mut dev = End {
            wire: wire.clone(),
            side,
        };
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ip),
            &mut dev,
            smoltcp::time::Instant::ZERO,
        );
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::v4(ip[0], ip[1], ip[2], ip[3]), 24))
                .unwrap();
        });
        Host {
            iface,
            dev,
            sockets: SocketSet::new(vec![]),
        }
    }

    fn poll(&mut self, now: Instant) {
        self.iface
            .poll(now.to_smoltcp(), &mut self.dev, &mut self.sockets);
    }

    fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        self.iface
            .poll_at(now.to_smoltcp(), &self.sockets)
            .map(Instant::from_smoltcp_ceil)
    }
}

/// What the web server does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    /// No listener: the kernel answers SYNs with RST.
    Closed,
    /// Listens; closes after the client does.
    Listen,
    /// Answers a GET with this status and body, then closes.
    Respond(u16, &'static [u8]),
    /// Accepts and reads the request, never answers.
    Mute,
    /// Accepts, reads the request, then resets the connection.
    Reset,
}

struct Net {
    wire: Rc<RefCell<Wire>>,
    director: Host,
    web: Host,
    listener: Option<SocketHandle>,
    mode: Server,
    request: Vec<u8>,
    exec: ProbeExecutor,
    now: Instant,
}

impl Net {
    fn new(mode: Server) -> Net {
        let wire = Rc::new(RefCell::new(Wire::default()));
        let director = Host::new(&wire, 0, [10, 0, 0, 100]);
        let mut web = Host::new(&wire, 1, [10, 0, 0, 1]);
        let listener = (mode != Server::Closed).then(|| {
            let mut s = tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; 4096]),
                tcp::SocketBuffer::new(vec![0; 4096]),
            );
            s.listen(80).unwrap();
            web.sockets.add(s)
        });
        Net {
            wire,
            director,
            web,
            listener,
            mode,
            request: Vec::new(),
            exec: ProbeExecutor::new(),
            now: Instant::ZERO,
        }
    }

    fn web_app(&mut self) {
        let Some(h) = self.listener else { return };
        let s = self.web.sockets.get_mut::<tcp::Socket>(h);
        if s.can_recv() {
            let mut buf = [0u8; 1024];
            let n = s.recv_slice(&mut buf).unwrap();
            self.request.extend_from_slice(&buf[..n]);
        }
        let complete = self.request.ends_with(b"\r\n\r\n");
        match self.mode {
            Server::Respond(status, body) if complete && s.may_send() => {
                let head =
                    format!("HTTP/1.0 {status} Whatever\r\nContent-Type: text/plain\r\n\r\n");
                s.send_slice(head.as_bytes()).unwrap();
                s.send_slice(body).unwrap();
                s.close();
                self.request.push(b'!'); // answered once
            }
            Server::Reset if complete => s.abort(),
            _ if s.state() == tcp::State::CloseWait => s.close(),
            _ => {}
        }
    }

    /// One round of packets at `now`: both stacks until quiet, the web app, the executor.
    fn step(&mut self) {
        for _ in 0..8 {
            self.director.poll(self.now);
            self.web.poll(self.now);
            self.web_app();
        }
        self.exec.poll(self.now, &mut self.director.sockets);
    }

    fn next_wake(&mut self) -> Option<Instant> {
        let now = self.now;
        [
            self.director.poll_at(now),
            self.web.poll_at(now),
            self.exec.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Starts `req` now and runs until it ends: (end time, outcome).
    fn probe(&mut self, req: ProbeRequest) -> (Instant, ProbeOutcome) {
        self.exec.start(
            self.now,
            &req,
            &mut self.director.iface,
            &mut self.director.sockets,
        );
        for _ in 0..10_000 {
            self.step();
            if let Some((id, outcome)) = self.exec.poll_outcome() {
                assert_eq!(id, req.id);
                return (self.now, outcome);
            }
            let next = self
                .next_wake()
                .expect("a probe in flight always has a deadline");
            self.now = self.now.max(next);
        }
        panic!("probe never ended");
    }

    /// Lets time pass until `end`, processing whatever is due.
    fn run_until(&mut self, end: Instant) {
        for _ in 0..10_000 {
            self.step();
            match self.next_wake() {
                Some(n) if n <= end => self.now = self.now.max(n),
                _ => {
                    self.now = end;
                    self.step();
                    return;
                }
            }
        }
        panic!("run_until: livelock");
    }
}

fn tcp_req(id: u64, secs: u64) -> ProbeRequest {
    ProbeRequest {
        id: ProbeId(id),
        target: "10.0.0.1:80".parse().unwrap(),
        kind: ProbeKind::TcpConnect,
        timeout: Duration::from_secs(secs),
    }
}

fn http_req(id: u64, secs: u64) -> ProbeRequest {
    ProbeRequest {
        id: ProbeId(id),
        target: "10.0.0.1:80".parse().unwrap(),
        kind: ProbeKind::HttpGet {
            path: "/index.html".into(),
            host: "10.0.0.1:80".into(),
            protocol: HttpProtocol::Http10,
        },
        timeout: Duration::from_secs(secs),
    }
}

#[test]
fn connect_to_a_listener_succeeds_and_the_socket_is_released() {
    let mut net = Net::new(Server::Listen);
    assert_eq!(
        net.probe(tcp_req(1, 10)),
        (Instant::ZERO, ProbeOutcome::Connected)
    );
    assert_eq!(net.exec.in_flight(), 0);
    // The FIN exchange completes (the server closes on CLOSE_WAIT) and the socket goes away.
    net.run_until(Instant::from_secs(1));
    assert_eq!(net.director.sockets.iter().count(), 0);
}

#[test]
fn no_listener_is_refused() {
    let mut net = Net::new(Server::Closed);
    assert_eq!(
        net.probe(tcp_req(1, 10)),
        (Instant::ZERO, ProbeOutcome::Refused)
    );
    assert_eq!(net.director.sockets.iter().count(), 0);
}

#[test]
fn a_silent_peer_times_out_at_exactly_the_connect_timeout() {
    let mut net = Net::new(Server::Listen);
    net.wire.borrow_mut().blackhole = true;
    // smoltcp retransmits the SYN meanwhile; the probe still ends at 0 + 10 s.
    assert_eq!(
        net.probe(tcp_req(1, 10)),
        (Instant::from_secs(10), ProbeOutcome::Timeout)
    );
    assert_eq!(
        net.director.sockets.iter().count(),
        0,
        "dropped without a packet"
    );
}

#[test]
fn cancel_all_drops_probes_in_flight() {
    let mut net = Net::new(Server::Listen);
    net.wire.borrow_mut().blackhole = true;
    let req = tcp_req(1, 10);
    net.exec.start(
        net.now,
        &req,
        &mut net.director.iface,
        &mut net.director.sockets,
    );
    net.step();
    assert_eq!(net.exec.in_flight(), 1);
    net.exec.cancel_all(&mut net.director.sockets);
    assert_eq!(net.exec.in_flight(), 0);
    assert_eq!(net.director.sockets.iter().count(), 0);
    assert_eq!(net.exec.poll_timeout(), None);
    net.run_until(Instant::from_secs(20));
    assert_eq!(
        net.exec.poll_outcome(),
        None,
        "a cancelled probe reports nothing"
    );
}

#[test]
fn http_get_reads_status_and_body_digest() {
    let mut net = Net::new(Server::Respond(200, b"from 10.0.0.1\n"));
    let (at, outcome) = net.probe(http_req(7, 5));
    assert_eq!(at, Instant::ZERO);
    assert_eq!(
        outcome,
        ProbeOutcome::HttpResponse {
            status: 200,
            body_md5: body_md5(b"from 10.0.0.1\n")
        }
    );
    assert!(
        net.request.starts_with(
            b"GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:80\r\n\r\n"
        ),
        "the server saw keepalived's request"
    );
}

#[test]
fn http_status_is_reported_as_is() {
    let mut net = Net::new(Server::Respond(503, b""));
    assert_eq!(
        net.probe(http_req(1, 5)).1,
        ProbeOutcome::HttpResponse {
            status: 503,
            body_md5: body_md5(b"")
        }
    );
}

#[test]
fn http_refused_mute_and_reset() {
    let mut net = Net::new(Server::Closed);
    assert_eq!(net.probe(http_req(1, 5)).1, ProbeOutcome::Refused);
    // Connected and request sent at 0; no answer: the read wait ends at 0 + 5 s.
    let mut net = Net::new(Server::Mute);
    assert_eq!(
        net.probe(http_req(1, 5)),
        (Instant::from_secs(5), ProbeOutcome::Timeout)
    );
    let mut net = Net::new(Server::Reset);
    assert_eq!(net.probe(http_req(1, 5)).1, ProbeOutcome::Error);
}

#[test]
fn checkers_and_executor_end_to_end() {
    // One real server with TCP_CHECK, warmup 0: the first check is at exactly 1 s. No
    // listener, so it is refused at once (the wire has no delay) and removed at 1 s.
    let mut vs = VirtualServerCheckConfig::new("10.0.0.200:80");
    vs.warmup = Some(Duration::ZERO);
    let mut rs = RealServerCheckConfig::new("10.0.0.1:80".parse().unwrap(), 1);
    rs.checkers.push(CheckerConfig::tcp());
    vs.real_servers.push(rs);
    let mut checkers = Checkers::new(vec![vs]).unwrap();
    let mut net = Net::new(Server::Closed);
    checkers.start(
        net.now,
        &mut <rand_chacha::ChaCha8Rng as rand_core::SeedableRng>::seed_from_u64(1),
    );
    let mut removed = None;
    for _ in 0..100 {
        while let Some(p) = checkers.poll_probe() {
            net.exec.start(
                net.now,
                &p,
                &mut net.director.iface,
                &mut net.director.sockets,
            );
        }
        net.step();
        while let Some((id, outcome)) = net.exec.poll_outcome() {
            checkers.handle_probe_result(net.now, id, outcome);
        }
        while let Some(a) = checkers.poll_dest_action() {
            if let DestAction::Remove { .. } = a {
                removed.get_or_insert(net.now);
            }
        }
        while checkers.poll_event().is_some() {}
        if removed.is_some() {
            break;
        }
        let next = [checkers.poll_timeout(), net.next_wake()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        net.now = net.now.max(next);
        checkers.handle_timeout(net.now);
    }
    assert_eq!(removed, Some(Instant::from_secs(1)));
}
