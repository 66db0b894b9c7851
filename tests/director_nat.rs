//! LVS-NAT end to end on the LAN: a client on the outside subnet, the director holding the VIP
//! and routing for the real servers (their default gateway), DNAT on the way in and SNAT on the
//! way back, health checks over the director's own stack.

use lvs_model::config::{ParseOptions, parse_str};
use lvs_model::director::from_config::DirectorPort;
use lvs_model::director::{Director, DirectorConfig};
use lvs_model::event::{Event, Record};
use lvs_model::host::{EthernetAddress, Ipv4Cidr, StackConfig};
use lvs_model::time::{Duration, Instant};
use sim::hosts::{HttpClient, HttpClientConfig, Httpd, HttpdConfig, Load};
use sim::{Attach, HostSpec, LanBuilder, LinkConfig, SwitchConfig, World};
use std::net::{Ipv4Addr, SocketAddrV4};

/// One director, VRRP owner of the VIP 10.0.0.200 on the outside, NAT to two real servers
/// inside. `priority 255` makes it the address owner: MASTER at once.
const NAT_CONF: &str = r#"
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 7
    priority 255
    advert_int 1
    virtual_ipaddress {
        10.0.0.200
    }
}
virtual_server 10.0.0.200 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.168.80.102 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.80.103 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"#;

fn mac(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [2, 0, o[0], o[1], o[2], o[3]]
}

fn nat_lab() -> World {
    let mut lan = LanBuilder::new(5);
    let sw = lan.add_switch("sw", SwitchConfig::default()).unwrap();
    let link = LinkConfig {
        latency: Duration::from_micros(25),
        ..Default::default()
    };
    let inside = Ipv4Addr::new(192, 168, 80, 100);
    let parsed = parse_str(NAT_CONF, &ParseOptions::default());
    assert!(parsed.reported().next().is_none(), "the config is clean");
    // The director has the inside address on its port and the outside one as a second port
    // address (one LAN, two subnets).
    let mut director = Director::new(DirectorConfig {
        ports: vec![DirectorPort {
            name: "eth0".into(),
            mac: EthernetAddress(mac(inside)),
            addr: inside,
            prefix_len: 24,
        }],
        gateway: None,
        keepalived: parsed.config,
        seed: lan.seeds().seed_for("host:lvs"),
    });
    director.add_port_address(0, Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 1), 24));
    let id = lan
        .add_host(
            HostSpec {
                name: "lvs".into(),
                macs: vec![mac(inside)],
                ips: vec![inside],
            },
            Box::new(director),
        )
        .unwrap();
    lan.connect(Attach::Host(id, 0), Attach::Switch(sw), link.clone())
        .unwrap();
    for n in [102u8, 103] {
        let ip = Ipv4Addr::new(192, 168, 80, n);
        let seed = lan.seeds().seed_for(&format!("host:web-{n}"));
        let stack = StackConfig::single(seed, EthernetAddress(mac(ip)), Ipv4Cidr::new(ip, 24))
            .with_gateway(inside);
        let mut hc = HttpdConfig::new(stack);
        hc.port = 8080;
        let id = lan
            .add_host(
                HostSpec {
                    name: format!("web-{n}"),
                    macs: vec![mac(ip)],
                    ips: vec![ip],
                },
                Box::new(Httpd::new(hc)),
            )
            .unwrap();
        lan.connect(Attach::Host(id, 0), Attach::Switch(sw), link.clone())
            .unwrap();
    }
    let cip = Ipv4Addr::new(10, 0, 0, 50);
    let seed = lan.seeds().seed_for("host:client");
    let stack = StackConfig::single(seed, EthernetAddress(mac(cip)), Ipv4Cidr::new(cip, 24));
    let mut cc = HttpClientConfig::new(
        "client",
        stack,
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 200), 80),
    );
    cc.load = Load::per_second(10);
    cc.start = Instant::from_secs(5);
    cc.stop_at = Some(Instant::from_secs(15));
    let id = lan
        .add_host(
            HostSpec {
                name: "client".into(),
                macs: vec![mac(cip)],
                ips: vec![cip],
            },
            Box::new(HttpClient::new(cc)),
        )
        .unwrap();
    lan.connect(Attach::Host(id, 0), Attach::Switch(sw), link)
        .unwrap();
    lan.build().unwrap()
}

fn responses(records: &[Record]) -> Vec<(Option<String>, Option<u16>)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::HttpRequest { server, status, .. } => Some((server.clone(), *status)),
            _ => None,
        })
        .collect()
}

#[test]
fn nat_rewrites_both_ways_and_round_robins() {
    let mut w = nat_lab();
    w.run_until(Instant::from_secs(20)).unwrap();
    let got = responses(w.records());
    // 10 requests/s from 5 s to 15 s, all answered: the client only accepts segments from the
    // VIP it connected to, so every answer went back through the director's SNAT.
    assert_eq!(got.len(), 100, "{got:?}");
    assert!(
        got.iter().all(|(_, status)| *status == Some(200)),
        "{got:?}"
    );
    // rr over a list where the dest added last (.103) comes first: .103, .102, .103, …
    let servers: Vec<&str> = got
        .iter()
        .map(|(s, _)| s.as_deref().unwrap_or("-"))
        .collect();
    for (i, s) in servers.iter().enumerate() {
        let want = if i % 2 == 0 {
            "192.168.80.103"
        } else {
            "192.168.80.102"
        };
        assert_eq!(*s, want, "response {i}: {servers:?}");
    }
}

#[test]
fn nat_removes_a_stopped_server_and_its_share_goes_to_the_other() {
    let mut w = nat_lab();
    w.schedule_fault(
        Instant::from_secs(8),
        "stop httpd".parse().unwrap(),
        Some("web-102"),
    )
    .unwrap();
    w.run_until(Instant::from_secs(20)).unwrap();
    let removed: Vec<u64> = w
        .records()
        .iter()
        .filter(|r| matches!(&r.event, Event::IpvsDest { rs, change, .. } if rs == "192.168.80.102:8080" && *change == lvs_model::event::DestChange::Removed))
        .map(|r| r.t)
        .collect();
    assert_eq!(removed.len(), 1, "removed once");
    // delay_loop 2: the first failed check is within 2 s of the fault; the retry
    // (delay_before_retry 1 s for TCP_CHECK) fails too, then the dest goes: ≤ 8 + 2 + 1 s + RTTs.
    assert!(
        removed[0] > 8_000_000_000 && removed[0] <= 11_001_000_000,
        "{removed:?}"
    );
    let late: Vec<_> = w
        .records()
        .iter()
        .filter(|r| r.t > removed[0] + 100_000_000)
        .filter_map(|r| match &r.event {
            Event::HttpRequest {
                server,
                error,
                started,
                ..
            } if *started > removed[0] => Some((server.clone(), *error)),
            _ => None,
        })
        .collect();
    assert!(!late.is_empty());
    assert!(
        late.iter()
            .all(|(s, e)| s.as_deref() == Some("192.168.80.103") && e.is_none()),
        "{late:?}"
    );
}
