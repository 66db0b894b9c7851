//! Clients and web servers on the engine's LAN (`sim::world::World`): two clients, two DR
//! real servers, one switch; `stop httpd` / `start httpd` as scheduled faults.

use lvs_model::event::{Event, HttpError, Record};
use lvs_model::host::{EthernetAddress, Ipv4Cidr, StackConfig};
use lvs_model::node::ProcessAction;
use lvs_model::time::{Duration, Instant};
use sim::hosts::{HttpClient, HttpClientConfig, Httpd, HttpdConfig, Load};
use sim::{Attach, FaultAction, HostSpec, LanBuilder, LinkConfig, SwitchConfig, World};
use std::net::{Ipv4Addr, SocketAddrV4};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 80, last)
}

fn mac(last: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, last]
}

fn stack(seed: u64, last: u8) -> StackConfig {
    StackConfig::single(
        seed,
        EthernetAddress(mac(last)),
        Ipv4Cidr::new(ip(last), 24),
    )
}

/// Clients .50 → web .102 and .51 → web .103, 5 requests/s from 1 s until 10 s.
fn lan(seed: u64) -> World {
    let mut lan = LanBuilder::new(seed);
    let sw = lan.add_switch("lan", SwitchConfig::default()).unwrap();
    let add = |lan: &mut LanBuilder, name: &str, last: u8, ips: Vec<Ipv4Addr>, node| {
        let id = lan
            .add_host(
                HostSpec {
                    name: name.into(),
                    macs: vec![mac(last)],
                    ips,
                },
                node,
            )
            .unwrap();
        lan.connect(
            Attach::Host(id, 0),
            Attach::Switch(sw),
            LinkConfig::default(),
        )
        .unwrap();
    };
    for last in [102, 103] {
        let cfg = HttpdConfig::new(stack(seed ^ u64::from(last), last).with_realserver_vip(VIP));
        add(
            &mut lan,
            &format!("web-{last}"),
            last,
            vec![ip(last)],
            Box::new(Httpd::new(cfg)),
        );
    }
    for (last, target) in [(50, 102), (51, 103)] {
        let mut cfg = HttpClientConfig::new(
            format!("client-{last}"),
            stack(seed ^ u64::from(last), last),
            SocketAddrV4::new(ip(target), 80),
        );
        cfg.load = Load::per_second(5);
        cfg.start = Instant::from_secs(1);
        cfg.stop_at = Some(Instant::from_secs(10));
        add(
            &mut lan,
            &format!("client-{last}"),
            last,
            vec![ip(last)],
            Box::new(HttpClient::new(cfg)),
        );
    }
    lan.build().unwrap()
}

/// `(t, started, status, server, error)` of one request, times in ns.
type Outcome = (u64, u64, Option<u16>, Option<String>, Option<HttpError>);

fn requests(records: &[Record], client: &str) -> Vec<Outcome> {
    records
        .iter()
        .filter(|r| r.node == client)
        .filter_map(|r| match &r.event {
            Event::HttpRequest {
                started,
                status,
                server,
                error,
                ..
            } => Some((r.t, *started, *status, server.clone(), *error)),
            _ => None,
        })
        .collect()
}

fn run(seed: u64) -> World {
    let mut w = lan(seed);
    w.schedule_fault(
        Instant::from_millis(4_100),
        FaultAction::Process {
            action: ProcessAction::Stop,
            process: "httpd".into(),
        },
        Some("web-102"),
    )
    .unwrap();
    w.schedule_fault(
        Instant::from_millis(6_100),
        FaultAction::Process {
            action: ProcessAction::Start,
            process: "httpd".into(),
        },
        Some("web-102"),
    )
    .unwrap();
    w.run_until(Instant::from_secs(12)).unwrap();
    w
}

#[test]
fn two_clients_two_web_servers_through_a_switch() {
    let w = run(1);
    let ms = |n: u64| Duration::from_millis(n).as_nanos() as u64;
    let us = |n: u64| Duration::from_micros(n).as_nanos() as u64;
    let c51 = requests(w.records(), "client-51");
    // 1 s to 10 s at 5/s: 45 requests, all answered by .103.
    assert_eq!(c51.len(), 45);
    assert!(
        c51.iter()
            .all(|r| r.2 == Some(200) && r.3.as_deref() == Some("192.168.80.103"))
    );
    // First request: ARP, reply, SYN, SYN-ACK, GET, response = 6 crossings of the switch,
    // each two 50 µs links = 600 µs.
    assert_eq!((c51[0].0, c51[0].1), (ms(1_000) + us(600), ms(1_000)));
    // Later ones have the ARP entry: 4 crossings = 400 µs.
    assert_eq!((c51[1].0, c51[1].1), (ms(1_200) + us(400), ms(1_200)));

    let c50 = requests(w.records(), "client-50");
    assert_eq!(c50.len(), 45);
    for r in &c50 {
        let started = r.1;
        if (ms(4_100)..ms(6_100)).contains(&started) {
            // httpd on .102 is stopped: refused after SYN + RST = 200 µs.
            assert_eq!(
                (r.0, r.2, r.4),
                (started + us(200), None, Some(HttpError::Refused)),
                "{r:?}"
            );
        } else {
            assert_eq!(
                (r.2, r.3.as_deref()),
                (Some(200), Some("192.168.80.102")),
                "{r:?}"
            );
        }
    }
    // Requests at 4.2 .. 6.0 s were refused: 10 of them.
    assert_eq!(c50.iter().filter(|r| r.4.is_some()).count(), 10);
}

#[test]
fn same_seed_same_log() {
    let a = run(7);
    let b = run(7);
    assert_eq!(a.records(), b.records());
    assert!(a.records().len() > 90);
}
