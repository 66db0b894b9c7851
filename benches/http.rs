//! Wall time per simulated HTTP request (new TCP connection per request, `GET /` answered with
//! `from <ip>` and closed), three ways in one run:
//!
//! - `lan`: HttpClient → link → switch → link → Httpd on `sim::World` (LinuxStack + smoltcp,
//!   trace off), one request in flight at a time;
//! - `smoltcp_pair`: the same exchange between two bare smoltcp interfaces (Ethernet medium,
//!   smoltcp's own ARP) joined by in-memory queues, with a virtual clock — the floor;
//! - `turmoil`: the same request/response loop on turmoil's simulated TCP with tokio tasks.
//!
//! Targets: `lan` ≤ 2 × `smoltcp_pair`; `lan` ≥ 30 × faster than `turmoil`.

use criterion::{Criterion, Throughput, criterion_group};
use lvs_model::event::Event;
use lvs_model::host::{Ipv4Cidr, StackConfig};
use lvs_model::time::Instant as SimInstant;
use sim::hosts::{HttpClient, HttpClientConfig, Httpd, HttpdConfig, Load};
use sim::trace::TraceConfig;
use sim::{Attach, HostSpec, LanBuilder, LinkConfig, SwitchConfig};
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};
use std::collections::VecDeque;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

const REQUEST: &[u8] =
    b"GET / HTTP/1.0\r\nHost: 192.168.80.102\r\nUser-Agent: lvslab\r\nAccept: */*\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: lvslab-httpd\r\nContent-Length: 20\r\nContent-Type: text/html\r\nConnection: close\r\n\r\nfrom 192.168.80.102\n";

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 80, last)
}

fn mac(last: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, last]
}

fn stack(last: u8) -> StackConfig {
    StackConfig::single(
        u64::from(last),
        lvs_model::host::EthernetAddress(mac(last)),
        Ipv4Cidr::new(ip(last), 24),
    )
}

/// Runs `n` back-to-back requests on the LAN; returns the wall time of the run alone.
fn lan_run(n: u64) -> Duration {
    let mut lan = LanBuilder::new(1).trace(TraceConfig {
        pcap: false,
        frame_digest: false,
    });
    let sw = lan.add_switch("lan", SwitchConfig::default()).unwrap();
    let web = lan
        .add_host(
            HostSpec {
                name: "web".into(),
                macs: vec![mac(102)],
                ips: vec![ip(102)],
            },
            Box::new(Httpd::new(HttpdConfig::new(stack(102)))),
        )
        .unwrap();
    let mut cfg = HttpClientConfig::new("client", stack(50), SocketAddrV4::new(ip(102), 80));
    cfg.load = Load::Concurrency(1);
    cfg.max_requests = Some(n);
    let client = lan
        .add_host(
            HostSpec {
                name: "client".into(),
                macs: vec![mac(50)],
                ips: vec![ip(50)],
            },
            Box::new(HttpClient::new(cfg)),
        )
        .unwrap();
    for h in [web, client] {
        lan.connect(
            Attach::Host(h, 0),
            Attach::Switch(sw),
            LinkConfig::default(),
        )
        .unwrap();
    }
    let mut w = lan.build().unwrap();
    let t = Instant::now();
    w.run_until(SimInstant::from_secs(3_600)).unwrap();
    let elapsed = t.elapsed();
    let ok = w
        .records()
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                Event::HttpRequest {
                    status: Some(200),
                    ..
                }
            )
        })
        .count() as u64;
    assert_eq!(ok, n, "every request must succeed");
    elapsed
}

/// One end of an in-memory Ethernet cable.
#[derive(Default)]
struct Cable {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

impl smoltcp::phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl smoltcp::phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut b = vec![0; len];
        let r = f(&mut b);
        self.0.push_back(b);
        r
    }
}

impl Device for Cable {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;
    fn receive(&mut self, _: SmolInstant) -> Option<(Rx, Tx<'_>)> {
        let f = self.rx.pop_front()?;
        Some((Rx(f), Tx(&mut self.tx)))
    }
    fn transmit(&mut self, _: SmolInstant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }
    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c
    }
}

struct Bare {
    iface: Interface,
    dev: Cable,
    sockets: SocketSet<'static>,
    sock: smoltcp::iface::SocketHandle,
}

fn bare(last: u8) -> Bare {
    let mut dev = Cable::default();
    let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac(last))));
    cfg.random_seed = u64::from(last);
    let mut iface = Interface::new(cfg, &mut dev, SmolInstant::ZERO);
    iface.update_ip_addrs(|a| a.push(IpCidr::new(IpAddress::Ipv4(ip(last)), 24)).unwrap());
    let mut sockets = SocketSet::new(Vec::new());
    let sock = sockets.add(tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; 4096]),
        tcp::SocketBuffer::new(vec![0; 4096]),
    ));
    Bare {
        iface,
        dev,
        sockets,
        sock,
    }
}

/// Runs `n` request/response exchanges between two bare smoltcp interfaces, each on a new
/// connection, with the same application logic as Httpd/HttpClient. The clock jumps to the
/// next deadline whenever no frame is in flight.
fn smoltcp_pair_run(n: u64) -> Duration {
    let mut c = bare(50);
    let mut s = bare(102);
    let mut now = SmolInstant::ZERO;
    let mut done = 0;
    let mut port = 40_000u16;
    let mut resp = Vec::new();
    let mut server_buf = Vec::new();
    let mut sent = false;
    let mut client_busy = false;
    let t = Instant::now();
    while done < n {
        // Server application.
        {
            let sock = s.sockets.get_mut::<tcp::Socket>(s.sock);
            if matches!(sock.state(), tcp::State::Closed | tcp::State::TimeWait) {
                sock.listen(80).unwrap();
                server_buf.clear();
            }
            if sock.can_recv() {
                sock.recv(|d| {
                    server_buf.extend_from_slice(d);
                    (d.len(), ())
                })
                .unwrap();
                if server_buf.ends_with(b"\r\n\r\n") {
                    sock.send_slice(RESPONSE).unwrap();
                    sock.close();
                }
            }
        }
        // Client application.
        {
            let sock = c.sockets.get_mut::<tcp::Socket>(c.sock);
            if !client_busy && matches!(sock.state(), tcp::State::Closed | tcp::State::TimeWait) {
                port = port.wrapping_add(1).max(40_000);
                sock.connect(c.iface.context(), (IpAddress::Ipv4(ip(102)), 80), port)
                    .unwrap();
                resp.clear();
                sent = false;
                client_busy = true;
            }
            if client_busy && !sent && sock.may_send() {
                sock.send_slice(REQUEST).unwrap();
                sent = true;
            }
            while sock.can_recv() {
                sock.recv(|d| {
                    resp.extend_from_slice(d);
                    (d.len(), ())
                })
                .unwrap();
            }
            if client_busy && resp.len() >= RESPONSE.len() && !sock.may_recv() {
                assert!(resp.ends_with(b"from 192.168.80.102\n"));
                sock.close();
                done += 1;
                client_busy = false;
            }
        }
        c.iface.poll(now, &mut c.dev, &mut c.sockets);
        s.iface.poll(now, &mut s.dev, &mut s.sockets);
        let moved = !c.dev.tx.is_empty() || !s.dev.tx.is_empty();
        s.dev.rx.extend(c.dev.tx.drain(..));
        c.dev.rx.extend(s.dev.tx.drain(..));
        if !moved {
            let next = [
                c.iface.poll_at(now, &c.sockets),
                s.iface.poll_at(now, &s.sockets),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t > now => now = t,
                _ => now += smoltcp::time::Duration::from_micros(50),
            }
        }
    }
    black_box(&resp);
    t.elapsed()
}

/// Runs `n` request/response exchanges on turmoil (tokio tasks over simulated TCP).
fn turmoil_run(n: u64) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(1_000_000))
        .build();
    sim.host("server", || async {
        let l = turmoil::net::TcpListener::bind(("0.0.0.0", 80)).await?;
        loop {
            let (mut s, _) = l.accept().await?;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 512];
            while !buf.ends_with(b"\r\n\r\n") {
                let k = s.read(&mut chunk).await?;
                if k == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..k]);
            }
            s.write_all(RESPONSE).await?;
            drop(s);
        }
    });
    sim.client("client", async move {
        for _ in 0..n {
            let mut s = turmoil::net::TcpStream::connect(("server", 80)).await?;
            s.write_all(REQUEST).await?;
            let mut resp = Vec::new();
            s.read_to_end(&mut resp).await?;
            assert!(resp.ends_with(b"from 192.168.80.102\n"));
        }
        Ok(())
    });
    let t = Instant::now();
    sim.run().unwrap();
    t.elapsed()
}

fn http(c: &mut Criterion) {
    let mut g = c.benchmark_group("http_request");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.bench_function("lan", |b| {
        b.iter_custom(lan_run);
    });
    g.bench_function("smoltcp_pair", |b| {
        b.iter_custom(smoltcp_pair_run);
    });
    g.bench_function("turmoil", |b| {
        b.iter_custom(turmoil_run);
    });
    g.finish();
}

/// `HTTP_BENCH_RATIO=1 cargo bench --bench http`: instead of criterion, runs the three
/// alternately and prints the best (least disturbed) time per request of each and the
/// ratios — steadier than criterion's means on a shared, loaded machine.
fn ratio_mode() {
    const N: u64 = 2_000;
    let mut best = [Duration::MAX; 3];
    for round in 0..12 {
        let runs: [fn(u64) -> Duration; 3] = [lan_run, smoltcp_pair_run, turmoil_run];
        for (i, f) in runs.iter().enumerate() {
            // turmoil is ~50× slower: fewer requests keep the rounds short.
            let n = if i == 2 { N / 10 } else { N };
            if i == 2 && round % 3 != 0 {
                continue;
            }
            best[i] = best[i].min(f(n) / n as u32);
        }
    }
    println!(
        "per request: lan {:?}, smoltcp_pair {:?}, turmoil {:?}; lan/pair = {:.2}, turmoil/lan = {:.1}",
        best[0],
        best[1],
        best[2],
        best[0].as_secs_f64() / best[1].as_secs_f64(),
        best[2].as_secs_f64() / best[0].as_secs_f64()
    );
}

criterion_group!(benches, http);

fn main() {
    // `HTTP_BENCH_ONE=lan|smoltcp_pair|turmoil`: run 2,000 requests of one kind and exit (for
    // `perf stat`, whose instruction counts do not depend on the machine's load).
    if let Ok(which) = std::env::var("HTTP_BENCH_ONE") {
        let d = match which.as_str() {
            "lan" => lan_run(2_000),
            "smoltcp_pair" => smoltcp_pair_run(2_000),
            "turmoil" => turmoil_run(2_000),
            other => panic!("unknown HTTP_BENCH_ONE={other}"),
        };
        println!("{which}: {:?} per request", d / 2_000);
        return;
    }
    if std::env::var_os("HTTP_BENCH_RATIO").is_some() {
        ratio_mode();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
