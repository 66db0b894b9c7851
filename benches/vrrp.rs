//! VRRP packet path: one advert into a BACKUP instance (validated in keepalived's order,
//! checksum included, down timer reset), and the same advert as an Ethernet frame into the
//! whole process. Target for `handle_packet`: ≤ 200 ns.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lvs_model::node::PortId;
use lvs_model::time::{Duration, Instant};
use lvs_model::vrrp::{
    GlobalVrrpConfig, InstanceConfig, InterfaceConfig, ProcessConfig, RxMeta, VrrpInstance,
    VrrpProcess,
};
use lvs_model::wire::vrrp::{AdvertIp, AuthType, MCAST_GROUP4, advert_frame, multicast_mac};
use smoltcp::wire::EthernetAddress;
use std::hint::black_box;
use std::net::Ipv4Addr;

const PEER: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 101);

fn cfg() -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", "eth1", 51, &GlobalVrrpConfig::default());
    c.priority = 99;
    c.auth_type = AuthType::Pass;
    c.set_auth_pass(b"1111");
    c.vips = vec![Ipv4Addr::new(192, 168, 80, 200)];
    c
}

fn vrrp(c: &mut Criterion) {
    let advert = VrrpInstance::new(cfg(), PEER).advert_message(100, MCAST_GROUP4);
    let rx = RxMeta {
        src: PEER,
        dst: MCAST_GROUP4,
        ttl: 255,
    };
    let mut g = c.benchmark_group("vrrp");
    g.throughput(Throughput::Elements(1));

    let mut inst = VrrpInstance::new(cfg(), Ipv4Addr::new(192, 168, 80, 100));
    inst.start(Instant::ZERO, false);
    while inst.poll_event().is_some() {}
    let mut now = Instant::from_secs(1);
    g.bench_function("instance_handle_packet_advert", |b| {
        b.iter(|| {
            now += Duration::from_nanos(1);
            black_box(inst.handle_packet(now, &rx, black_box(&advert))).unwrap();
        })
    });

    let frame = advert_frame(
        &AdvertIp {
            src_mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
            dst_mac: multicast_mac(MCAST_GROUP4),
            src: PEER,
            dst: MCAST_GROUP4,
            ttl: 255,
            ident: 1,
        },
        &advert,
    );
    let mut p = VrrpProcess::new(ProcessConfig {
        interfaces: vec![InterfaceConfig {
            name: "eth1".into(),
            port: PortId(0),
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(192, 168, 80, 100),
        }],
        instances: vec![cfg()],
        ..Default::default()
    })
    .unwrap();
    p.start(Instant::ZERO);
    while p.poll_event().is_some() {}
    let mut now = Instant::from_secs(1);
    g.bench_function("process_handle_frame_advert", |b| {
        b.iter(|| {
            now += Duration::from_nanos(1);
            assert!(p.handle_frame(now, PortId(0), black_box(&frame)));
        })
    });
    g.finish();
}

criterion_group!(benches, vrrp);
criterion_main!(benches);
