//! keepalived 2.2.7 VRRP rules one at a time (keepalived-ipvs.md §B), each with the number
//! that makes it right.

use lvs_model::event::{Event, VrrpStateName as St};
use lvs_model::node::PortId;
use lvs_model::time::{Duration, Instant};
use lvs_model::vrrp::{
    GlobalVrrpConfig, InstanceConfig, InstanceTransmit, InterfaceConfig, ProcessConfig, RxError,
    RxMeta, ScriptConfig, SyncGroupConfig, TrackInterface, TrackScript, VrrpInstance, VrrpProcess,
};
use lvs_model::wire::vrrp::{AuthType, MCAST_GROUP4, Packet};
use smoltcp::wire::EthernetAddress;
use std::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 100);
const PEER_HI: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 101);
const PEER_LO: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 99);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);

fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

fn cfg(priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", "eth1", 51, &GlobalVrrpConfig::default());
    c.priority = priority;
    c.auth_type = AuthType::Pass;
    c.set_auth_pass(b"1111");
    c.vips = vec![VIP];
    c
}

/// An advert from `src` built by a peer instance with the same configuration.
fn advert_from(c: &InstanceConfig, src: Ipv4Addr, priority: u8) -> Vec<u8> {
    VrrpInstance::new(c.clone(), src).advert_message(priority, MCAST_GROUP4)
}

fn rx(src: Ipv4Addr) -> RxMeta {
    RxMeta {
        src,
        dst: MCAST_GROUP4,
        ttl: 255,
    }
}

fn drain(i: &mut VrrpInstance) -> (Vec<InstanceTransmit>, Vec<Event>) {
    let mut t = Vec::new();
    while let Some(x) = i.poll_transmit() {
        t.push(x);
    }
    let mut e = Vec::new();
    while let Some(x) = i.poll_event() {
        e.push(x);
    }
    (t, e)
}

fn adverts(t: &[InstanceTransmit]) -> Vec<u8> {
    t.iter()
        .filter_map(|x| match x {
            InstanceTransmit::Advert { vrrp, .. } => Some(Packet::new_unchecked(vrrp).priority()),
            _ => None,
        })
        .collect()
}

fn garps(t: &[InstanceTransmit]) -> usize {
    t.iter()
        .filter(|x| matches!(x, InstanceTransmit::Garp { .. }))
        .count()
}

/// A started instance that has become MASTER at `t` (its down timer ran out).
fn master(c: InstanceConfig) -> (VrrpInstance, Instant) {
    let mut i = VrrpInstance::new(c, ME);
    i.start(Instant::ZERO, false);
    let t = i.poll_timeout().unwrap();
    i.handle_timeout(t);
    drain(&mut i);
    assert_eq!(i.state(), St::Master);
    (i, t)
}

#[test]
fn state_master_still_starts_in_backup_and_waits_master_down_interval() {
    let mut c = cfg(100);
    c.state_master = true;
    let mut i = VrrpInstance::new(c, ME);
    i.start(Instant::ZERO, false);
    let (_, e) = drain(&mut i);
    assert_eq!(
        e,
        vec![Event::VrrpState {
            instance: "VI_1".into(),
            from: St::Init,
            to: St::Backup
        }]
    );
    // 3 × 1 s + (256 − 100)/256 s = 3.609375 s.
    assert_eq!(i.poll_timeout(), Some(Instant::from_nanos(3_609_375_000)));
    i.handle_timeout(Instant::from_nanos(3_609_374_999));
    assert_eq!(i.state(), St::Backup, "not a nanosecond early");
    i.handle_timeout(Instant::from_nanos(3_609_375_000));
    let (t, e) = drain(&mut i);
    assert_eq!(i.state(), St::Master);
    // Advert first, then 5 GARPs for the VIP.
    assert!(matches!(t[0], InstanceTransmit::Advert { .. }));
    assert_eq!(adverts(&t), vec![100]);
    assert_eq!(garps(&t), 5);
    assert!(e.contains(&Event::Vip {
        instance: "VI_1".into(),
        ip: VIP,
        added: true
    }));
}

#[test]
fn address_owner_takes_over_after_one_microsecond() {
    let mut c = cfg(255);
    c.state_master = true;
    let mut i = VrrpInstance::new(c, ME);
    i.start(Instant::ZERO, false);
    assert_eq!(i.poll_timeout(), Some(Instant::from_micros(1)));
}

#[test]
fn lower_priority_adverts_do_not_reset_the_down_timer_unless_nopreempt() {
    for nopreempt in [false, true] {
        let mut c = cfg(100);
        c.nopreempt = nopreempt;
        let mut i = VrrpInstance::new(c.clone(), ME);
        i.start(Instant::ZERO, false);
        let at = Instant::from_secs(2);
        assert!(
            i.handle_packet(at, &rx(PEER_HI), &advert_from(&c, PEER_HI, 99))
                .is_ok()
        );
        let expected = if nopreempt {
            at + ns(3_609_375_000)
        } else {
            Instant::from_nanos(3_609_375_000)
        };
        assert_eq!(i.poll_timeout(), Some(expected), "nopreempt={nopreempt}");
        assert_eq!(i.stats().lower_prio_discarded, u64::from(!nopreempt));
    }
}

#[test]
fn equal_or_higher_priority_resets_and_priority_zero_leaves_only_the_skew() {
    let c = cfg(99);
    let mut i = VrrpInstance::new(c.clone(), ME);
    i.start(Instant::ZERO, false);
    let t1 = Instant::from_secs(1);
    i.handle_packet(t1, &rx(PEER_HI), &advert_from(&c, PEER_HI, 99))
        .unwrap();
    // Equal priority: accepted, stays BACKUP. 3 + 157/256 s.
    assert_eq!(i.poll_timeout(), Some(t1 + ns(3_613_281_250)));
    let t2 = Instant::from_secs(2);
    i.handle_packet(t2, &rx(PEER_HI), &advert_from(&c, PEER_HI, 0))
        .unwrap();
    // Skew only: 157/256 s.
    assert_eq!(i.poll_timeout(), Some(t2 + ns(613_281_250)));
    assert_eq!(i.stats().pri_zero_rcvd, 1);
}

#[test]
fn preempt_delay_accepts_lower_priority_adverts_inside_its_window() {
    let mut c = cfg(150);
    c.preempt_delay = Duration::from_secs(2);
    let mut i = VrrpInstance::new(c.clone(), ME);
    i.start(Instant::ZERO, false);
    let lo = advert_from(&c, PEER_HI, 100);
    // First lower-priority advert at 1 s opens the window until 3 s and resets the timer.
    i.handle_packet(Instant::from_secs(1), &rx(PEER_HI), &lo)
        .unwrap();
    let mdi = ns(3_414_062_500); // 3 + 106/256 s
    assert_eq!(i.poll_timeout(), Some(Instant::from_secs(1) + mdi));
    i.handle_packet(Instant::from_secs(2), &rx(PEER_HI), &lo)
        .unwrap();
    assert_eq!(i.poll_timeout(), Some(Instant::from_secs(2) + mdi));
    // At 3 s the window has closed: discarded, the timer keeps running.
    i.handle_packet(Instant::from_secs(3), &rx(PEER_HI), &lo)
        .unwrap();
    assert_eq!(i.poll_timeout(), Some(Instant::from_secs(2) + mdi));
}

#[test]
fn master_meeting_higher_priority_steps_down_without_priority_zero() {
    let c = cfg(100);
    let (mut i, _) = master(c.clone());
    let t = Instant::from_secs(10);
    i.handle_packet(t, &rx(PEER_LO), &advert_from(&c, PEER_LO, 101))
        .unwrap();
    let (tx, e) = drain(&mut i);
    assert_eq!(i.state(), St::Backup);
    assert!(tx.is_empty(), "no priority-0 advert, no GARP");
    assert!(e.contains(&Event::Vip {
        instance: "VI_1".into(),
        ip: VIP,
        added: false
    }));
    assert_eq!(i.poll_timeout(), Some(t + ns(3_609_375_000)));
}

#[test]
fn equal_priority_between_masters_is_decided_by_source_ip() {
    let c = cfg(100);
    // From a higher address: we lose.
    let (mut i, _) = master(c.clone());
    i.handle_packet(
        Instant::from_secs(10),
        &rx(PEER_HI),
        &advert_from(&c, PEER_HI, 100),
    )
    .unwrap();
    assert_eq!(i.state(), St::Backup);
    // From a lower address: we win, advertise at once and send lower-priority GARPs.
    let (mut i, _) = master(c.clone());
    let t = Instant::from_secs(10);
    i.handle_packet(t, &rx(PEER_LO), &advert_from(&c, PEER_LO, 100))
        .unwrap();
    let (tx, _) = drain(&mut i);
    assert_eq!(i.state(), St::Master);
    assert_eq!(adverts(&tx), vec![100]);
    assert_eq!(garps(&tx), 5);
    // Pending: the second takeover burst (3.609375 + 5 s), then the advert timer restarted
    // from now (t + 1 s), the lower-priority GARPs again at t + 5 s.
    let burst2 = Instant::from_nanos(8_609_375_000);
    assert_eq!(i.poll_timeout(), Some(burst2));
    i.handle_timeout(burst2);
    assert_eq!(garps(&drain(&mut i).0), 5);
    assert_eq!(i.poll_timeout(), Some(t + Duration::from_secs(1)));
    i.handle_timeout(t + Duration::from_secs(1));
    assert_eq!(adverts(&drain(&mut i).0), vec![100]);
    let mut later = Vec::new();
    for _ in 0..5 {
        let at = i.poll_timeout().unwrap();
        i.handle_timeout(at);
        later.push((at, garps(&drain(&mut i).0)));
    }
    assert!(
        later.contains(&(t + Duration::from_secs(5), 5)),
        "{later:?}"
    );
}

#[test]
fn master_answers_priority_zero_with_an_advert() {
    let c = cfg(100);
    let (mut i, _) = master(c.clone());
    i.handle_packet(
        Instant::from_secs(10),
        &rx(PEER_LO),
        &advert_from(&c, PEER_LO, 0),
    )
    .unwrap();
    let (tx, _) = drain(&mut i);
    assert_eq!(adverts(&tx), vec![100]);
    assert_eq!(i.state(), St::Master);
}

#[test]
fn garp_schedule_second_burst_after_delay_and_refresh() {
    let mut c = cfg(100);
    c.garp_master_refresh = Duration::from_secs(7);
    c.garp_master_refresh_repeat = 2;
    c.excluded_vips = vec![Ipv4Addr::new(10, 0, 0, 9)];
    let mut i = VrrpInstance::new(c, ME);
    i.start(Instant::ZERO, false);
    let t0 = i.poll_timeout().unwrap();
    i.handle_timeout(t0);
    let (tx, _) = drain(&mut i);
    // 5 per VIP, eVIPs included.
    assert_eq!(garps(&tx), 10);
    let mut garp_times = Vec::new();
    let mut now = t0;
    while now < t0 + Duration::from_secs(15) {
        now = i.poll_timeout().unwrap();
        i.handle_timeout(now);
        let (tx, _) = drain(&mut i);
        if garps(&tx) > 0 {
            garp_times.push((now - t0, garps(&tx)));
        }
    }
    assert_eq!(
        garp_times,
        vec![
            (Duration::from_secs(5), 10), // garp_master_delay: repeat 5 × 2 addresses
            (Duration::from_secs(7), 4),  // refresh: refresh_repeat 2 × 2 addresses
            (Duration::from_secs(14), 4),
        ]
    );
}

#[test]
fn v3_learns_the_masters_interval_and_scales_the_skew() {
    let mut c = cfg(100);
    c.version = 3;
    c.auth_type = AuthType::None;
    c.advert_int = Duration::from_secs(1);
    let mut i = VrrpInstance::new(c.clone(), ME);
    i.start(Instant::ZERO, false);
    let mut peer = c.clone();
    peer.advert_int = Duration::from_millis(500);
    let t = Instant::from_secs(1);
    i.handle_packet(t, &rx(PEER_HI), &advert_from(&peer, PEER_HI, 200))
        .unwrap();
    // 3 × 0.5 s + 156 × 0.5/256 s = 1.5 + 0.3046875 s.
    assert_eq!(i.master_adver_int(), Duration::from_millis(500));
    assert_eq!(i.poll_timeout(), Some(t + ns(1_804_687_500)));
}

#[test]
fn receive_validation_counts_and_changes_nothing() {
    let c = cfg(100);
    let good = advert_from(&c, PEER_HI, 200);
    let mut i = VrrpInstance::new(c.clone(), ME);
    i.start(Instant::ZERO, false);
    let before = i.poll_timeout();
    let t = Instant::from_secs(1);
    let mut bad_ttl = rx(PEER_HI);
    bad_ttl.ttl = 254;
    assert_eq!(i.handle_packet(t, &bad_ttl, &good), Err(RxError::IpTtl));
    let mut wrong_pass = c.clone();
    wrong_pass.set_auth_pass(b"2222");
    assert_eq!(
        i.handle_packet(t, &rx(PEER_HI), &advert_from(&wrong_pass, PEER_HI, 200)),
        Err(RxError::AuthFailure)
    );
    let mut no_auth = c.clone();
    no_auth.auth_type = AuthType::None;
    assert_eq!(
        i.handle_packet(t, &rx(PEER_HI), &advert_from(&no_auth, PEER_HI, 200)),
        Err(RxError::AuthTypeMismatch)
    );
    let mut slow = c.clone();
    slow.advert_int = Duration::from_secs(2);
    assert_eq!(
        i.handle_packet(t, &rx(PEER_HI), &advert_from(&slow, PEER_HI, 200)),
        Err(RxError::AdvertInterval)
    );
    let mut v3 = c.clone();
    v3.version = 3;
    let v3_bytes = advert_from(&v3, PEER_HI, 200);
    // 12 bytes where a v2 instance expects 20: the length check comes first.
    assert_eq!(
        i.handle_packet(t, &rx(PEER_HI), &v3_bytes),
        Err(RxError::PacketLength)
    );
    let mut corrupt = good.clone();
    corrupt[2] ^= 0x40;
    assert_eq!(
        i.handle_packet(t, &rx(PEER_HI), &corrupt),
        Err(RxError::Checksum)
    );
    let mut ty = good.clone();
    ty[0] = 0x22;
    assert_eq!(
        i.handle_packet(t, &rx(PEER_HI), &ty),
        Err(RxError::InvalidType)
    );
    let mut ver = good.clone();
    ver[0] = 0x41;
    assert_eq!(
        i.handle_packet(t, &rx(PEER_HI), &ver),
        Err(RxError::Version)
    );
    let mut unicast_dst = rx(PEER_HI);
    unicast_dst.dst = ME;
    assert_eq!(
        i.handle_packet(t, &unicast_dst, &good),
        Err(RxError::DestinationMode)
    );
    assert_eq!(i.poll_timeout(), before);
    assert_eq!(i.state(), St::Backup);
    let s = i.stats();
    assert_eq!(
        (
            s.ip_ttl_err,
            s.auth_failure,
            s.authtype_mismatch,
            s.advert_interval_err
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        (
            s.packet_len_err,
            s.chk_err,
            s.invalid_type_rcvd,
            s.version_err
        ),
        (1, 1, 1, 1)
    );
    assert_eq!((s.dst_mode_err, s.advert_rcvd), (1, 0));
}

#[test]
fn unicast_mode_skips_the_ttl_check_and_sends_one_copy_per_peer() {
    let mut c = cfg(100);
    c.unicast_peers = vec![PEER_HI, PEER_LO];
    c.unicast_ttl = 64;
    let mut i = VrrpInstance::new(c.clone(), ME);
    i.start(Instant::ZERO, false);
    let bytes = VrrpInstance::new(c.clone(), PEER_HI).advert_message(150, ME);
    let meta = RxMeta {
        src: PEER_HI,
        dst: ME,
        ttl: 64,
    };
    assert!(
        i.handle_packet(Instant::from_secs(1), &meta, &bytes)
            .is_ok()
    );
    let (mut i, _) = master(c);
    i.handle_timeout(i.poll_timeout().unwrap());
    let (tx, _) = drain(&mut i);
    let dsts: Vec<(Ipv4Addr, u8)> = tx
        .iter()
        .filter_map(|x| match x {
            InstanceTransmit::Advert { dst, ttl, .. } => Some((*dst, *ttl)),
            _ => None,
        })
        .collect();
    assert_eq!(dsts, vec![(PEER_HI, 64), (PEER_LO, 64)]);
}

// ---- the process: tracking, sync groups, crash ----

fn iface(name: &str, port: u16, last: u8) -> InterfaceConfig {
    InterfaceConfig {
        name: name.into(),
        port: PortId(port),
        mac: EthernetAddress([2, 0, 0, 0, 0, last]),
        ip: Ipv4Addr::new(192, 168, 80 + port as u8, 100),
    }
}

fn run_until(p: &mut VrrpProcess, until: Instant) -> Vec<(Instant, Event)> {
    let mut out = Vec::new();
    while let Some(t) = p.poll_timeout() {
        if t > until {
            break;
        }
        p.handle_timeout(t);
        while p.poll_transmit().is_some() {}
        while let Some(e) = p.poll_event() {
            out.push((t, e));
        }
    }
    out
}

fn state_of(p: &VrrpProcess, name: &str) -> St {
    p.instance(name).unwrap().state()
}

#[test]
fn track_script_weights_rise_fall_and_fault() {
    let mut c = cfg(100);
    c.track_scripts = vec![
        TrackScript {
            script: "chk_weighted".into(),
            weight: None,
            reverse: None,
        },
        TrackScript {
            script: "chk_fault".into(),
            weight: None,
            reverse: None,
        },
    ];
    let mut weighted = ScriptConfig::new("chk_weighted");
    weighted.weight = -30;
    weighted.fall = 2;
    let fault = ScriptConfig::new("chk_fault");
    let mut p = VrrpProcess::new(ProcessConfig {
        interfaces: vec![iface("eth1", 0, 1)],
        scripts: vec![weighted, fault],
        instances: vec![c],
        ..Default::default()
    })
    .unwrap();
    p.start(Instant::ZERO);
    // An unweighted script that has not reported yet: FAULT.
    assert_eq!(state_of(&p, "VI_1"), St::Fault);
    let t = Instant::from_millis(100);
    p.set_script_result(t, "chk_fault", true);
    p.set_script_result(t, "chk_weighted", true);
    assert_eq!(state_of(&p, "VI_1"), St::Backup);
    assert_eq!(p.poll_timeout(), Some(t + ns(3_609_375_000)));
    // One failure of a fall-2 script changes nothing; the second takes 30 off.
    p.set_script_result(Instant::from_secs(1), "chk_weighted", false);
    assert_eq!(p.instance("VI_1").unwrap().effective_priority(), 100);
    p.set_script_result(Instant::from_secs(2), "chk_weighted", false);
    assert_eq!(p.instance("VI_1").unwrap().effective_priority(), 70);
    // The pending deadline moved by the MDI difference: (186 − 156)/256 s later.
    assert_eq!(
        p.poll_timeout(),
        Some(t + ns(3_609_375_000) + ns(30 * 1_000_000_000 / 256))
    );
    run_until(&mut p, Instant::from_secs(10));
    assert_eq!(state_of(&p, "VI_1"), St::Master);
    // A weight-0 script failing: MASTER → FAULT with a priority-0 advert, VIPs released.
    p.set_script_result(Instant::from_secs(11), "chk_fault", false);
    let frames: Vec<_> = std::iter::from_fn(|| p.poll_transmit()).collect();
    assert_eq!(frames.len(), 1);
    assert_eq!(Packet::new_unchecked(&frames[0].frame[34..]).priority(), 0);
    assert_eq!(state_of(&p, "VI_1"), St::Fault);
    assert_eq!(p.vips_held().count(), 0);
}

#[test]
fn track_interface_weight_and_own_link_down() {
    let mut c = cfg(100);
    c.track_interfaces = vec![TrackInterface {
        interface: "eth2".into(),
        weight: 20,
        reverse: false,
    }];
    let mut p = VrrpProcess::new(ProcessConfig {
        interfaces: vec![iface("eth1", 0, 1), iface("eth2", 1, 2)],
        instances: vec![c],
        ..Default::default()
    })
    .unwrap();
    p.start(Instant::ZERO);
    assert_eq!(p.instance("VI_1").unwrap().effective_priority(), 120);
    p.set_link(Instant::from_secs(1), PortId(1), false);
    assert_eq!(p.instance("VI_1").unwrap().effective_priority(), 100);
    p.set_link(Instant::from_secs(1), PortId(0), false);
    assert_eq!(state_of(&p, "VI_1"), St::Fault);
    p.set_link(Instant::from_secs(2), PortId(0), true);
    assert_eq!(state_of(&p, "VI_1"), St::Backup);
    // Leaving FAULT: a fresh Master_Down_Interval from now.
    assert_eq!(
        p.poll_timeout(),
        Some(Instant::from_secs(2) + ns(3_609_375_000))
    );
}

#[test]
fn sync_group_moves_together() {
    let mut a = cfg(100);
    a.name = "VI_A".into();
    let mut b = cfg(100);
    b.name = "VI_B".into();
    b.interface = "eth2".into();
    b.vrid = 52;
    b.vips = vec![Ipv4Addr::new(10, 1, 1, 1)];
    let mut p = VrrpProcess::new(ProcessConfig {
        interfaces: vec![iface("eth1", 0, 1), iface("eth2", 1, 2)],
        instances: vec![a.clone(), b],
        sync_groups: vec![SyncGroupConfig {
            name: "G".into(),
            members: vec!["VI_A".into(), "VI_B".into()],
            track_interfaces: vec![],
            track_scripts: vec![],
            sync_group_tracking_weight: false,
        }],
        ..Default::default()
    })
    .unwrap();
    p.start(Instant::ZERO);
    // Keep B's timer alive with adverts from a higher-priority master on eth2 until 5 s.
    let peer_b = {
        let mut b = cfg(200);
        b.vrid = 52;
        b.vips = vec![Ipv4Addr::new(10, 1, 1, 1)];
        b
    };
    let adv = advert_from(&peer_b, Ipv4Addr::new(192, 168, 81, 1), 200);
    let frame = lvs_model::wire::vrrp::advert_frame(
        &lvs_model::wire::vrrp::AdvertIp {
            src_mac: EthernetAddress([2, 0, 0, 0, 0, 9]),
            dst_mac: lvs_model::wire::vrrp::multicast_mac(MCAST_GROUP4),
            src: Ipv4Addr::new(192, 168, 81, 1),
            dst: MCAST_GROUP4,
            ttl: 255,
            ident: 1,
        },
        &adv,
    );
    for s in 0..=5 {
        run_until(&mut p, Instant::from_secs(s));
        assert!(p.handle_frame(Instant::from_secs(s), PortId(1), &frame));
    }
    // A's own timer ran out at 3.609 s, but it waits for B.
    assert_eq!(state_of(&p, "VI_A"), St::Backup);
    assert!(p.instance("VI_A").unwrap().wants_master());
    // B's runs out at 5 + 3.609375 s: both go MASTER together.
    let ev = run_until(&mut p, Instant::from_secs(9));
    let masters: Vec<Instant> = ev
        .iter()
        .filter(|(_, e)| matches!(e, Event::VrrpState { to: St::Master, .. }))
        .map(|(t, _)| *t)
        .collect();
    let t = Instant::from_secs(5) + ns(3_609_375_000);
    assert_eq!(masters, vec![t, t]);
    // B meets a higher priority: the whole group goes BACKUP.
    p.handle_frame(Instant::from_secs(10), PortId(1), &frame);
    assert_eq!(state_of(&p, "VI_A"), St::Backup);
    assert_eq!(state_of(&p, "VI_B"), St::Backup);
    // A member's interface down: the whole group is FAULT.
    p.set_link(Instant::from_secs(11), PortId(0), false);
    assert_eq!(state_of(&p, "VI_B"), St::Fault);
}

#[test]
fn crash_leaves_vips_configured_until_the_next_start() {
    let mut p = VrrpProcess::new(ProcessConfig {
        interfaces: vec![iface("eth1", 0, 1)],
        instances: vec![cfg(100)],
        ..Default::default()
    })
    .unwrap();
    p.start(Instant::ZERO);
    run_until(&mut p, Instant::from_secs(5));
    assert_eq!(p.vips_held().collect::<Vec<_>>(), vec![(PortId(0), VIP)]);
    while p.poll_vip_change().is_some() {}
    p.crash(Instant::from_secs(6));
    assert!(p.poll_transmit().is_none(), "a crash sends nothing");
    assert!(p.holds_vip(PortId(0), VIP));
    assert_eq!(p.poll_timeout(), None);
    p.start(Instant::from_secs(7));
    let change = p.poll_vip_change().unwrap();
    assert!(!change.added && change.ip == VIP);
    assert!(!p.holds_vip(PortId(0), VIP));
    // Graceful stop of a MASTER: one priority-0 advert, VIPs removed.
    run_until(&mut p, Instant::from_secs(12));
    p.stop(Instant::from_secs(13));
    let frames: Vec<_> = std::iter::from_fn(|| p.poll_transmit()).collect();
    assert_eq!(frames.len(), 1);
    assert_eq!(Packet::new_unchecked(&frames[0].frame[34..]).priority(), 0);
    assert_eq!(p.vips_held().count(), 0);
}
