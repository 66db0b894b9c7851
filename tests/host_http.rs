//! Client and web server hosts wired directly (a hub with a fixed one-way latency), with exact
//! simulated times: requests, refusals after `stop httpd`, timeouts when httpd hangs,
//! keep-alive, and the DR "ARP problem" seen from a client.

use lvs_model::event::{Event, HttpError};
use lvs_model::host::{ArpSysctls, EthernetAddress, Inbound, Ipv4Cidr, LinuxStack, StackConfig};
use lvs_model::node::{Node, PortId, ProcessAction};
use lvs_model::time::{Duration, Instant};
use sim::hosts::{HttpClient, HttpClientConfig, Httpd, HttpdConfig, Load};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

const LATENCY: Duration = Duration::from_micros(50);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 80, last)
}

fn mac(last: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, last])
}

fn host(last: u8) -> StackConfig {
    StackConfig::single(u64::from(last), mac(last), Ipv4Cidr::new(ip(last), 24))
}

fn web(last: u8) -> Httpd {
    Httpd::new(HttpdConfig::new(host(last).with_realserver_vip(VIP)))
}

fn client_cfg(target: Ipv4Addr) -> HttpClientConfig {
    let mut c = HttpClientConfig::new("client", host(50), SocketAddrV4::new(target, 80));
    c.start = Instant::from_secs(1);
    c
}

/// `(finished at, started, status, server, error)` of one request.
type Outcome = (
    Instant,
    Instant,
    Option<u16>,
    Option<String>,
    Option<HttpError>,
);

/// One frame seen on the hub.
#[derive(Clone, Debug)]
struct Seen {
    t: Instant,
    from: usize,
    frame: Vec<u8>,
}

/// A hub: every frame reaches every other node `LATENCY` later. Nodes are stepped in time
/// order of frames and deadlines (ties: frames first, then nodes by index).
struct Hub {
    nodes: Vec<Box<dyn Node>>,
    now: Instant,
    in_flight: BTreeMap<(Instant, u64), (usize, Vec<u8>)>,
    seq: u64,
    seen: Vec<Seen>,
    events: Vec<(Instant, usize, Event)>,
}

impl Hub {
    fn new(nodes: Vec<Box<dyn Node>>) -> Self {
        Hub {
            nodes,
            now: Instant::ZERO,
            in_flight: BTreeMap::new(),
            seq: 0,
            seen: Vec::new(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self, i: usize) {
        while let Some(t) = self.nodes[i].poll_transmit() {
            self.seen.push(Seen {
                t: self.now,
                from: i,
                frame: t.frame.clone(),
            });
            self.seq += 1;
            self.in_flight
                .insert((self.now + LATENCY, self.seq), (i, t.frame));
        }
        while let Some(e) = self.nodes[i].poll_event() {
            self.events.push((self.now, i, e));
        }
    }

    fn control(&mut self, at: Instant, i: usize, process: &str, action: ProcessAction) {
        self.run_until(at);
        self.nodes[i].control(at, process, action).unwrap();
        self.drain(i);
    }

    fn run_until(&mut self, end: Instant) {
        for _ in 0..10_000_000 {
            let frame_t = self.in_flight.keys().next().map(|k| k.0);
            let mut node_t: Option<(Instant, usize)> = None;
            for (i, n) in self.nodes.iter_mut().enumerate() {
                if let Some(t) = n.poll_timeout()
                    && node_t.is_none_or(|(bt, _)| t < bt)
                {
                    node_t = Some((t, i));
                }
            }
            let next = match (frame_t, node_t) {
                (Some(f), Some((n, _))) => f.min(n),
                (Some(f), None) => f,
                (None, Some((n, _))) => n,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            if frame_t == Some(next) {
                let (&key, _) = self.in_flight.iter().next().unwrap();
                let (from, frame) = self.in_flight.remove(&key).unwrap();
                for i in 0..self.nodes.len() {
                    if i != from {
                        self.nodes[i].handle_frame(self.now, PortId(0), &frame);
                        self.drain(i);
                    }
                }
            } else {
                let (_, i) = node_t.unwrap();
                self.nodes[i].handle_timeout(self.now);
                self.drain(i);
            }
        }
        self.now = self.now.max(end);
    }

    /// `(finished at, started, status, server, error)` of every HTTP request logged.
    fn requests(&self) -> Vec<Outcome> {
        self.events
            .iter()
            .filter_map(|(t, _, e)| match e {
                Event::HttpRequest {
                    started,
                    status,
                    server,
                    error,
                    ..
                } => Some((
                    *t,
                    Instant::from_nanos(*started),
                    *status,
                    server.clone(),
                    *error,
                )),
                _ => None,
            })
            .collect()
    }

    /// TCP SYNs (without ACK) sent by node `i`.
    fn syns_from(&self, i: usize) -> usize {
        self.seen
            .iter()
            .filter(|s| {
                s.from == i
                    && s.frame.len() >= 14 + 20 + 14
                    && s.frame[12..14] == [0x08, 0x00]
                    && s.frame[14 + 9] == 6
                    && s.frame[14 + 20 + 13] & 0x12 == 0x02
            })
            .count()
    }
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

#[test]
fn get_over_a_new_connection_takes_six_one_way_trips() {
    let mut cfg = client_cfg(ip(102));
    cfg.max_requests = Some(1);
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.run_until(Instant::from_secs(5));
    // ARP who-has, ARP reply, SYN, SYN-ACK, ACK+GET, response+FIN: 6 × 50 µs after 1 s.
    assert_eq!(
        hub.requests(),
        vec![(
            Instant::from_secs(1) + us(300),
            Instant::from_secs(1),
            Some(200),
            Some("192.168.80.102".into()),
            None
        )]
    );
    assert_eq!(hub.syns_from(0), 1);
}

#[test]
fn stop_httpd_refuses_and_start_serves_again() {
    let mut cfg = client_cfg(ip(102));
    cfg.max_requests = Some(4);
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.control(Instant::from_millis(1_500), 1, "httpd", ProcessAction::Stop);
    hub.control(
        Instant::from_millis(3_500),
        1,
        "httpd",
        ProcessAction::Start,
    );
    hub.run_until(Instant::from_secs(10));
    let r = hub.requests();
    let s = Instant::from_secs;
    assert_eq!(r.len(), 4);
    assert_eq!((r[0].1, r[0].2), (s(1), Some(200)));
    // Stopped: the SYN is answered by RST at once — SYN, RST = 100 µs (ARP is cached).
    assert_eq!(
        r[1],
        (s(2) + us(100), s(2), None, None, Some(HttpError::Refused))
    );
    assert_eq!(
        r[2],
        (s(3) + us(100), s(3), None, None, Some(HttpError::Refused))
    );
    // Started again: SYN, SYN-ACK, GET, response = 200 µs.
    assert_eq!(
        r[3],
        (
            s(4) + us(200),
            s(4),
            Some(200),
            Some("192.168.80.102".into()),
            None
        )
    );
}

#[test]
fn hung_httpd_times_the_client_out_and_restart_recovers() {
    let mut cfg = client_cfg(ip(102));
    cfg.load = Load::Interval(Duration::from_secs(5));
    cfg.max_requests = Some(3);
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.control(Instant::from_secs(3), 1, "httpd", ProcessAction::Crash);
    hub.control(Instant::from_secs(10), 1, "httpd", ProcessAction::Start);
    hub.run_until(Instant::from_secs(20));
    let r = hub.requests();
    let s = Instant::from_secs;
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].2, Some(200));
    // Hung at 3 s: the request at 6 s is accepted by the kernel but never answered; the
    // client gives up after its 3 s timeout.
    assert_eq!(r[1], (s(9), s(6), None, None, Some(HttpError::Timeout)));
    assert_eq!(
        r[2],
        (
            s(11) + us(200),
            s(11),
            Some(200),
            Some("192.168.80.102".into()),
            None
        )
    );
}

#[test]
fn keep_alive_reuses_one_connection_and_http10_opens_one_per_request() {
    for (keep_alive, syns) in [(true, 1), (false, 3)] {
        let mut cfg = client_cfg(ip(102));
        cfg.keep_alive = keep_alive;
        cfg.max_requests = Some(3);
        let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
        hub.run_until(Instant::from_secs(10));
        let r = hub.requests();
        assert_eq!(r.len(), 3, "keep_alive={keep_alive}");
        assert!(r.iter().all(|r| r.2 == Some(200)));
        assert_eq!(hub.syns_from(0), syns, "keep_alive={keep_alive}");
        if keep_alive {
            // Request 2 and 3 only need GET and response: 100 µs.
            assert_eq!(r[1].0, Instant::from_secs(2) + us(100));
        }
    }
}

#[test]
fn keep_alive_connection_is_closed_by_the_server_after_its_timeout() {
    let mut cfg = client_cfg(ip(102));
    cfg.keep_alive = true;
    cfg.load = Load::Interval(Duration::from_secs(10));
    cfg.max_requests = Some(2);
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.run_until(Instant::from_secs(20));
    let r = hub.requests();
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.2 == Some(200)));
    // KeepAliveTimeout 5 s closed the first connection before the second request at 11 s.
    assert_eq!(hub.syns_from(0), 2);
}

#[test]
fn concurrency_keeps_requests_in_flight_until_the_count_is_reached() {
    let mut cfg = client_cfg(ip(102));
    cfg.load = Load::Concurrency(4);
    cfg.max_requests = Some(40);
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.run_until(Instant::from_secs(5));
    let r = hub.requests();
    assert_eq!(r.len(), 40);
    assert!(r.iter().all(|r| r.2 == Some(200)), "{r:?}");
    // Four start together at 1 s.
    assert_eq!(r.iter().filter(|r| r.1 == Instant::from_secs(1)).count(), 4);
}

#[test]
fn stop_time_bounds_the_run() {
    let mut cfg = client_cfg(ip(102));
    cfg.load = Load::per_second(20);
    cfg.stop_at = Some(Instant::from_secs(2));
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.run_until(Instant::from_secs(4));
    // From 1 s up to (not including) 2 s, every 50 ms.
    let r = hub.requests();
    assert_eq!(r.len(), 20);
    assert_eq!(r[19].1, Instant::from_millis(1_950));
}

#[test]
fn arp_problem_client_reaches_a_real_server_directly_when_arp_ignore_is_0() {
    // No director at all: with the defaults the real server answers who-has VIP on eth0, so
    // the client's traffic for the VIP goes straight to it — the DR "ARP problem".
    let mut web0 = HttpdConfig::new(host(102));
    web0.stack.lo_addrs.push(Ipv4Cidr::new(VIP, 32));
    let mut cfg = client_cfg(VIP);
    cfg.max_requests = Some(1);
    let mut hub = Hub::new(vec![
        Box::new(HttpClient::new(cfg.clone())),
        Box::new(Httpd::new(web0.clone())),
    ]);
    hub.run_until(Instant::from_secs(6));
    assert_eq!(
        hub.requests(),
        vec![(
            Instant::from_secs(1) + us(300),
            Instant::from_secs(1),
            Some(200),
            Some("192.168.80.102".into()),
            None
        )]
    );
    // With the realserver script's arp_ignore=1 nobody answers for the VIP: ARP fails and
    // the request times out after 3 s.
    web0.stack.all = ArpSysctls::REALSERVER;
    let mut hub = Hub::new(vec![
        Box::new(HttpClient::new(cfg)),
        Box::new(Httpd::new(web0)),
    ]);
    hub.run_until(Instant::from_secs(6));
    assert_eq!(
        hub.requests(),
        vec![(
            Instant::from_secs(4),
            Instant::from_secs(1),
            None,
            None,
            Some(HttpError::Timeout)
        )]
    );
}

/// Just enough of a DR director to test real servers: it owns the VIP on eth0 (so it answers
/// ARP for it) and sends every packet for the VIP unchanged to one real server's MAC.
struct MiniDirector {
    stack: LinuxStack,
    real_server: Ipv4Addr,
}

impl Node for MiniDirector {
    fn handle_frame(&mut self, now: Instant, port: PortId, frame: &[u8]) {
        match self.stack.classify(now, port, frame) {
            Inbound::Ipv4 { packet, .. } if packet[16..20] == VIP.octets() => {
                self.stack
                    .send_ipv4_via(now, port, self.real_server, packet)
                    .unwrap();
            }
            Inbound::Ipv4 {
                packet,
                local: true,
                ..
            } => self.stack.deliver_local(now, packet),
            _ => {}
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.stack.handle_timeout(now);
    }
    fn control(
        &mut self,
        _: Instant,
        p: &str,
        _: ProcessAction,
    ) -> Result<(), lvs_model::node::ControlError> {
        Err(lvs_model::node::ControlError::NoSuchProcess(
            p.into(),
            "none".into(),
        ))
    }
    fn processes(&self) -> &[&'static str] {
        &[]
    }
    fn poll_transmit(&mut self) -> Option<lvs_model::node::Transmit> {
        self.stack.poll_transmit()
    }
    fn poll_event(&mut self) -> Option<Event> {
        self.stack.poll_event()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.stack.poll_timeout()
    }
}

fn dr_lab(arp_announce: u8) -> Hub {
    let mut d = host(100);
    d.ports[0].addrs.push(Ipv4Cidr::new(VIP, 32));
    let director = MiniDirector {
        stack: LinuxStack::new(d),
        real_server: ip(102),
    };
    let mut w = HttpdConfig::new(host(102).with_realserver_vip(VIP));
    w.stack.all.arp_announce = arp_announce;
    w.stack.lo_sysctls.arp_announce = arp_announce;
    let mut cfg = client_cfg(VIP);
    cfg.max_requests = Some(2);
    let mut hub = Hub::new(vec![
        Box::new(HttpClient::new(cfg)),
        Box::new(director),
        Box::new(Httpd::new(w)),
    ]);
    hub.run_until(Instant::from_secs(5));
    hub
}

/// Sender IPs of the ARP requests node `i` sent.
fn arp_senders(hub: &Hub, i: usize) -> Vec<Ipv4Addr> {
    hub.seen
        .iter()
        .filter(|s| s.from == i && s.frame[12..14] == [0x08, 0x06] && s.frame[21] == 1)
        .map(|s| Ipv4Addr::new(s.frame[28], s.frame[29], s.frame[30], s.frame[31]))
        .collect()
}

/// Destination MACs of the client's SYNs.
fn syn_macs(hub: &Hub) -> Vec<EthernetAddress> {
    hub.seen
        .iter()
        .filter(|s| {
            s.from == 0
                && s.frame[12..14] == [0x08, 0x00]
                && s.frame[14 + 9] == 6
                && s.frame[14 + 20 + 13] & 0x12 == 0x02
        })
        .map(|s| EthernetAddress::from_bytes(&s.frame[0..6]))
        .collect()
}

#[test]
fn dr_real_server_replies_from_the_vip_and_arp_announce_2_keeps_the_vip_clean() {
    let hub = dr_lab(2);
    let r = hub.requests();
    // Client ARPs the VIP (director answers), SYN to the director, the director ARPs web-102
    // and gets its reply, SYN forwarded, web-102 ARPs the client and gets its reply, SYN-ACK
    // from the VIP, GET to the director, forwarded, response: 12 one-way trips = 600 µs.
    assert_eq!(
        r[0],
        (
            Instant::from_secs(1) + us(600),
            Instant::from_secs(1),
            Some(200),
            Some("192.168.80.102".into()),
            None
        )
    );
    // web-102 asked for the client from its eth0 address, so the client's VIP entry still
    // points at the director and the second SYN goes there too.
    assert_eq!(arp_senders(&hub, 2), vec![ip(102)]);
    assert_eq!(syn_macs(&hub), vec![mac(100), mac(100)]);
    assert_eq!(r[1].2, Some(200));
}

#[test]
fn dr_real_server_with_arp_announce_0_poisons_the_clients_vip_entry() {
    let hub = dr_lab(0);
    // web-102 asked "who-has .50 tell VIP": the client, answering, overrides its VIP entry
    // with web-102's MAC, and its next request bypasses the director.
    assert_eq!(arp_senders(&hub, 2), vec![VIP]);
    assert_eq!(syn_macs(&hub), vec![mac(100), mac(102)]);
    let r = hub.requests();
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.2 == Some(200)));
}

/// `(time, flags)` of TCP segments sent by node `i`.
fn tcp_flags_from(hub: &Hub, i: usize) -> Vec<(Instant, u8)> {
    hub.seen
        .iter()
        .filter(|s| s.from == i && s.frame[12..14] == [0x08, 0x00] && s.frame[14 + 9] == 6)
        .map(|s| (s.t, s.frame[14 + 20 + 13]))
        .collect()
}

#[test]
fn graceful_stop_closes_idle_keep_alive_connections_with_fin() {
    let mut cfg = client_cfg(ip(102));
    cfg.keep_alive = true;
    cfg.max_requests = Some(1);
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.control(Instant::from_secs(2), 1, "httpd", ProcessAction::Stop);
    hub.run_until(Instant::from_secs(3));
    assert_eq!(hub.requests()[0].2, Some(200));
    const FIN: u8 = 0x01;
    const RST: u8 = 0x04;
    let fins: Vec<_> = tcp_flags_from(&hub, 1)
        .into_iter()
        .filter(|(_, f)| f & (FIN | RST) != 0)
        .collect();
    // The idle keep-alive connection gets the server's FIN at the moment of the stop.
    assert_eq!(fins.len(), 1, "{fins:?}");
    assert_eq!(fins[0].0, Instant::from_secs(2));
    assert_eq!(fins[0].1 & FIN, FIN);
}

#[test]
fn powered_off_server_times_out_and_boots_with_an_empty_arp_cache() {
    let mut cfg = client_cfg(ip(102));
    cfg.load = Load::Interval(Duration::from_secs(4));
    cfg.max_requests = Some(3);
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.run_until(Instant::from_secs(2));
    hub.nodes[1].power(hub.now, false);
    hub.run_until(Instant::from_millis(8_500));
    hub.nodes[1].power(hub.now, true);
    hub.run_until(Instant::from_secs(12));
    let r = hub.requests();
    let s = Instant::from_secs;
    // The client gave up on the 5 s connection attempt silently (Linux sends no RST when a
    // SYN_SENT socket is closed).
    assert!(
        tcp_flags_from(&hub, 0)
            .iter()
            .all(|&(t, f)| f & 0x04 == 0 || t < s(5)),
        "no RST from the client"
    );
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].2, Some(200));
    // Powered off: nothing answers, not even a RST.
    assert_eq!(r[1], (s(8), s(5), None, None, Some(HttpError::Timeout)));
    // Rebooted with an empty ARP cache: the client still has the server's MAC and sends its
    // SYN at once, but the server must ARP for the client before its SYN-ACK: SYN, who-has,
    // reply, SYN-ACK, GET, response = 300 µs.
    assert_eq!(
        r[2],
        (
            s(9) + us(300),
            s(9),
            Some(200),
            Some("192.168.80.102".into()),
            None
        )
    );
}

#[test]
fn crashed_client_logs_nothing_more_and_start_resumes() {
    let mut cfg = client_cfg(ip(102));
    cfg.max_requests = Some(10);
    let mut hub = Hub::new(vec![Box::new(HttpClient::new(cfg)), Box::new(web(102))]);
    hub.control(
        Instant::from_millis(2_500),
        0,
        "client",
        ProcessAction::Crash,
    );
    hub.control(
        Instant::from_millis(4_500),
        0,
        "client",
        ProcessAction::Start,
    );
    hub.run_until(Instant::from_secs(7));
    let starts: Vec<_> = hub.requests().iter().map(|r| r.1).collect();
    let ms = Instant::from_millis;
    // 1 s and 2 s, then nothing while crashed, then again from the restart every second.
    assert_eq!(
        starts,
        vec![ms(1_000), ms(2_000), ms(4_500), ms(5_500), ms(6_500)]
    );
}

#[test]
fn a_large_page_arrives_whole() {
    let mut w = HttpdConfig::new(host(102));
    w.body = Some(format!("from 192.168.80.102\n{}", "x".repeat(9_000)));
    let mut cfg = client_cfg(ip(102));
    cfg.max_requests = Some(1);
    let mut hub = Hub::new(vec![
        Box::new(HttpClient::new(cfg)),
        Box::new(Httpd::new(w)),
    ]);
    hub.run_until(Instant::from_secs(5));
    let r = hub.requests();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].2, r[0].3.as_deref()),
        (Some(200), Some("192.168.80.102"))
    );
}
