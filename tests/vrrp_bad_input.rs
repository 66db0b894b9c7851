//! Bad input on the VRRP packet path: arbitrary frames, and valid adverts truncated, extended,
//! corrupted, with the wrong TTL, version or type. None may panic or change the instance's
//! state or timers; every VRRP frame is counted exactly once (accepted or under one reason).

use lvs_model::event::VrrpStateName as St;
use lvs_model::node::PortId;
use lvs_model::time::{Duration, Instant};
use lvs_model::vrrp::{
    GlobalVrrpConfig, InstanceConfig, InterfaceConfig, ProcessConfig, VrrpInstance, VrrpProcess,
};
use lvs_model::wire::vrrp::{AdvertIp, AuthType, MCAST_GROUP4, advert_frame, multicast_mac};
use proptest::prelude::*;
use smoltcp::wire::EthernetAddress;
use std::net::Ipv4Addr;

const PEER: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 101);

fn cfg() -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", "eth1", 51, &GlobalVrrpConfig::default());
    c.auth_type = AuthType::Pass;
    c.set_auth_pass(b"1111");
    c.vips = vec![Ipv4Addr::new(192, 168, 80, 200)];
    c
}

fn backup() -> VrrpProcess {
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
    p
}

/// A valid advert from the peer (priority 200, so it would reset the down timer).
fn valid_frame(ttl: u8) -> Vec<u8> {
    let vrrp = VrrpInstance::new(cfg(), PEER).advert_message(200, MCAST_GROUP4);
    advert_frame(
        &AdvertIp {
            src_mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
            dst_mac: multicast_mac(MCAST_GROUP4),
            src: PEER,
            dst: MCAST_GROUP4,
            ttl,
            ident: 7,
        },
        &vrrp,
    )
}

/// Every protocol-112 frame lands in exactly one counter.
fn assert_counted_once(p: &VrrpProcess) {
    let s = p.stats();
    let i = p.instance_stats("VI_1").unwrap();
    let accounted = s.not_running
        + s.ip_checksum_err
        + s.ip_fragment
        + s.not_for_us
        + s.own_packet
        + s.too_short
        + s.unknown_vrid
        + s.unknown_port
        + i.advert_rcvd
        + i.dropped();
    assert_eq!(s.vrrp_frames, accounted, "{s:?} {i:?}");
}

#[test]
fn the_valid_frame_is_accepted_and_a_wrong_ttl_is_not() {
    let mut p = backup();
    let before = p.poll_timeout();
    assert!(p.handle_frame(Instant::from_secs(1), PortId(0), &valid_frame(254)));
    assert_eq!(p.poll_timeout(), before);
    assert_eq!(p.instance_stats("VI_1").unwrap().ip_ttl_err, 1);
    assert!(p.handle_frame(Instant::from_secs(1), PortId(0), &valid_frame(255)));
    assert_eq!(
        p.poll_timeout(),
        Some(Instant::from_secs(1) + Duration::from_nanos(3_609_375_000))
    );
    // Not VRRP: left to the caller.
    assert!(!p.handle_frame(Instant::from_secs(1), PortId(0), &[0u8; 60]));
    assert_counted_once(&p);
}

#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Extend(Vec<u8>),
    Flip { at: usize, mask: u8 },
    Ttl(u8),
    VersionType(u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0usize..54).prop_map(Mutation::Truncate),
        prop::collection::vec(any::<u8>(), 1..40).prop_map(Mutation::Extend),
        (0usize..54, 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (0u8..255).prop_map(Mutation::Ttl),
        any::<u8>()
            .prop_filter("not v2 advert", |b| *b != 0x21)
            .prop_map(Mutation::VersionType),
    ]
}

proptest! {
    #[test]
    fn arbitrary_frames_never_panic_or_change_state(frame in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut p = backup();
        let before = p.poll_timeout();
        let _ = p.handle_frame(Instant::from_secs(1), PortId(0), &frame);
        prop_assert_eq!(p.instance("VI_1").unwrap().state(), St::Backup);
        prop_assert_eq!(p.poll_timeout(), before);
        prop_assert!(p.poll_transmit().is_none());
        assert_counted_once(&p);
    }

    #[test]
    fn corrupted_adverts_are_counted_and_dropped(m in mutation(), port in 0u16..2) {
        let mut f = valid_frame(255);
        match &m {
            Mutation::Truncate(n) => f.truncate(*n),
            Mutation::Extend(extra) => {
                // Inside the IP packet: raise its total length so the VRRP payload grows.
                f.extend_from_slice(extra);
                let total = (f.len() - 14) as u16;
                f[16..18].copy_from_slice(&total.to_be_bytes());
                f[24..26].copy_from_slice(&[0, 0]);
                let mut ip = smoltcp::wire::Ipv4Packet::new_unchecked(&mut f[14..]);
                ip.fill_checksum();
            }
            Mutation::Flip { at, mask } => f[*at] ^= mask,
            Mutation::Ttl(t) => {
                f[22] = *t;
                let mut ip = smoltcp::wire::Ipv4Packet::new_unchecked(&mut f[14..]);
                ip.fill_checksum();
            }
            Mutation::VersionType(b) => f[34] = *b,
        }
        let mut p = backup();
        let before = p.poll_timeout();
        let _ = p.handle_frame(Instant::from_secs(1), PortId(port), &f);
        // The source MAC and the IP identification do not matter to VRRP.
        let harmless = matches!(m, Mutation::Flip { at: 6..=11 | 18 | 19, .. });
        let i = p.instance_stats("VI_1").unwrap();
        if !harmless {
            // Nothing but the valid advert may be acted on.
            prop_assert_eq!(i.advert_rcvd, 0, "{:?}", m);
            prop_assert_eq!(p.poll_timeout(), before);
        }
        prop_assert_eq!(p.instance("VI_1").unwrap().state(), St::Backup);
        prop_assert!(p.poll_transmit().is_none());
        assert_counted_once(&p);
    }
}
