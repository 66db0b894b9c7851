//! Property tests for IPVS: arbitrary bytes never panic nor corrupt the table; under any
//! sequence of packets, admin commands and time, dest counters equal the entries and every
//! entry eventually expires (no leak).

#[path = "ipvs_packets.rs"]
mod packets;

use std::net::Ipv4Addr;

use lvs_model::ipvs::{
    Action, DestConfig, ForwardMethod, Ipvs, IpvsConfig, Persistence, SchedulerKind, ServiceConfig,
    ServiceKey, Verdict, ipvsadm,
};
use lvs_model::time::{Duration, Instant};
use packets::*;
use proptest::prelude::*;

fn lab(sched: SchedulerKind, persistent: bool) -> (Ipvs, ServiceKey, ServiceKey) {
    let mut ipvs = Ipvs::new(IpvsConfig {
        local_addr: rs(100),
        route_mtu: 1500,
    });
    let tk = ServiceKey::tcp(VIP, 80);
    let uk = ServiceKey::udp(VIP, 53);
    let mut cfg = ServiceConfig::new(tk).scheduler(sched);
    if persistent {
        cfg = cfg.persistent(Persistence::new(Duration::from_secs(30)));
    }
    ipvs.add_service(cfg).unwrap();
    ipvs.add_service(ServiceConfig::new(uk).scheduler(sched))
        .unwrap();
    for (i, fwd) in [
        ForwardMethod::DirectRoute,
        ForwardMethod::Masquerade,
        ForwardMethod::Tunnel,
    ]
    .into_iter()
    .enumerate()
    {
        let a = rs(102 + i as u8);
        ipvs.add_dest(
            &tk,
            DestConfig::new(a, 80).forward(fwd).weight(1 + i as u32),
        )
        .unwrap();
        ipvs.add_dest(&uk, DestConfig::new(a, 53).forward(fwd))
            .unwrap();
    }
    (ipvs, tk, uk)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let (mut ipvs, _, _) = lab(SchedulerKind::Wlc, false);
        let mut r = rng();
        let _ = ipvs.process_inbound(Instant::ZERO, &bytes, &mut r);
        let _ = ipvs.process_outbound(Instant::ZERO, &bytes, &mut r);
        prop_assert!(ipvs.check_invariants().is_ok());
    }

    #[test]
    fn mutated_packets_never_panic(
        which in 0usize..4,
        flips in proptest::collection::vec((0usize..80, any::<u8>()), 1..6),
        cut in 0usize..80,
    ) {
        let (mut ipvs, _, _) = lab(SchedulerKind::Rr, true);
        let mut r = rng();
        let base = match which {
            0 => tcp((CLIENT, 1000), (VIP, 80), "S", b"hello"),
            1 => udp((CLIENT, 1000), (VIP, 53), b"query"),
            2 => tcp((rs(103), 80), (CLIENT, 1000), "SA", b""),
            _ => ipv4(CLIENT, VIP, 1, &[8, 0, 0, 0, 0, 0, 0, 0]),
        };
        // First a valid SYN so entries exist, then the damaged packet both ways.
        let _ = ipvs.process_inbound(Instant::ZERO, &tcp((CLIENT, 1000), (VIP, 80), "S", b""), &mut r);
        let mut p = base.clone();
        for (i, b) in flips {
            if i < p.len() { p[i] = b; }
        }
        p.truncate(cut.max(1));
        let _ = ipvs.process_inbound(Instant::from_millis(1), &p, &mut r);
        let _ = ipvs.process_outbound(Instant::from_millis(1), &p, &mut r);
        prop_assert!(ipvs.check_invariants().is_ok());
        let _ = ipvsadm::list_conns(&ipvs, Instant::from_millis(1));
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// A client packet: client index, source port index, TCP flags (or UDP).
    In {
        client: u8,
        port: u8,
        flags: &'static str,
    },
    /// A real server's reply for NAT (server index, client, port).
    Out {
        server: u8,
        client: u8,
        port: u8,
        flags: &'static str,
    },
    Wait(u32),
    Weight {
        server: u8,
        weight: u32,
    },
    Delete {
        server: u8,
    },
    Add {
        server: u8,
    },
    ExpireNodest(bool),
    /// `ipvsadm -D` of the TCP service, then `-A` again (dests come back from the trash).
    RecreateService,
    ExpireQuiescent(bool),
    SetTimeouts(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let flags = prop_oneof![
        Just("S"),
        Just("A"),
        Just("PA"),
        Just("FA"),
        Just("R"),
        Just("SA"),
        Just(""),
        Just("udp"),
    ];
    prop_oneof![
        6 => (0u8..3, 0u8..4, flags.clone()).prop_map(|(client, port, flags)| Op::In { client, port, flags }),
        2 => (0u8..3, 0u8..3, 0u8..4, flags).prop_map(|(server, client, port, flags)| Op::Out { server, client, port, flags }),
        3 => (0u32..200_000).prop_map(Op::Wait),
        1 => (0u8..3, 0u32..4).prop_map(|(server, weight)| Op::Weight { server, weight }),
        1 => (0u8..3).prop_map(|server| Op::Delete { server }),
        1 => (0u8..3).prop_map(|server| Op::Add { server }),
        1 => any::<bool>().prop_map(Op::ExpireNodest),
        1 => Just(Op::RecreateService),
        1 => any::<bool>().prop_map(Op::ExpireQuiescent),
        1 => (0u8..60).prop_map(Op::SetTimeouts),
    ]
}

fn sched() -> impl Strategy<Value = SchedulerKind> {
    proptest::sample::select(SchedulerKind::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn counters_match_entries_and_nothing_leaks(
        kind in sched(),
        persistent in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let (mut ipvs, tk, uk) = lab(kind, persistent);
        let mut r = rng();
        let mut now = Instant::ZERO;
        let fwds = [ForwardMethod::DirectRoute, ForwardMethod::Masquerade, ForwardMethod::Tunnel];
        for op in ops {
            match op {
                Op::In { client, port, flags } => {
                    let c = (Ipv4Addr::new(10, 0, 0, client + 1), 1000 + port as u16);
                    let p = if flags == "udp" { udp(c, (VIP, 53), b"q") } else { tcp(c, (VIP, 80), flags, b"") };
                    let _ = ipvs.process_inbound(now, &p, &mut r);
                }
                Op::Out { server, client, port, flags } => {
                    let c = (Ipv4Addr::new(10, 0, 0, client + 1), 1000 + port as u16);
                    let s = rs(102 + server);
                    let p = if flags == "udp" { udp((s, 53), c, b"a") } else { tcp((s, 80), c, flags, b"") };
                    let _ = ipvs.process_outbound(now, &p, &mut r);
                }
                Op::Wait(ms) => {
                    now += Duration::from_millis(ms as u64);
                    // Drive every deadline up to now, as the director does.
                    while let Some(t) = ipvs.poll_timeout() {
                        if t > now { break; }
                        ipvs.handle_timeout(t);
                    }
                }
                Op::Weight { server, weight } => {
                    let a = rs(102 + server);
                    let _ = ipvs.edit_dest(&tk, DestConfig::new(a, 80).forward(fwds[server as usize]).weight(weight));
                }
                Op::Delete { server } => {
                    let _ = ipvs.delete_dest(&tk, rs(102 + server), 80);
                    let _ = ipvs.delete_dest(&uk, rs(102 + server), 53);
                }
                Op::Add { server } => {
                    let a = rs(102 + server);
                    let _ = ipvs.add_dest(&tk, DestConfig::new(a, 80).forward(fwds[server as usize]));
                    let _ = ipvs.add_dest(&uk, DestConfig::new(a, 53).forward(fwds[server as usize]));
                }
                Op::ExpireNodest(b) => ipvs.sysctl.expire_nodest_conn = b,
                Op::RecreateService => {
                    let cfg = ipvs.service(&tk).map(|s| s.config);
                    if let Some(cfg) = cfg {
                        ipvs.delete_service(&tk).unwrap();
                        ipvs.add_service(cfg).unwrap();
                    }
                }
                Op::ExpireQuiescent(b) => ipvs.sysctl.expire_quiescent_template = b,
                Op::SetTimeouts(s) => {
                    let d = Duration::from_secs(s as u64);
                    ipvs.set_timeouts(d, d, d);
                }
            }
            if let Err(e) = ipvs.check_invariants() {
                return Err(TestCaseError::fail(e));
            }
        }
        // No leak: with no more traffic every entry (templates included) expires.
        let mut wakeups = 0u32;
        while let Some(t) = ipvs.poll_timeout() {
            ipvs.handle_timeout(t);
            wakeups += 1;
            prop_assert!(wakeups < 10_000, "livelock");
            if ipvs.conns().is_empty() && t >= now + Duration::from_secs(3) { break; }
        }
        prop_assert!(ipvs.conns().is_empty());
        prop_assert!(ipvs.check_invariants().is_ok());
        for (_, d) in ipvs.dest_table().iter() {
            prop_assert_eq!((d.activeconns, d.inactconns, d.persistconns), (0, 0, 0));
        }
        prop_assert_eq!(ipvs.dest_table().iter().filter(|(_, d)| !d.available).count(), 0,
            "trashed dests are freed once unreferenced");
    }
}

/// A copying call's verdict and an in-place call's action on `buf` say the same thing.
fn same_outcome(v: &Verdict, a: &Action, buf: &[u8], orig: &[u8]) -> Result<(), TestCaseError> {
    match (v, a) {
        (Verdict::Forward { next_hop, packet }, Action::Forward { next_hop: h }) => {
            prop_assert_eq!(next_hop, h);
            prop_assert_eq!(packet.as_slice(), buf);
        }
        (Verdict::LocalDeliver, Action::LocalDeliver) | (Verdict::Pass, Action::Pass) => {
            prop_assert_eq!(orig, buf, "unforwarded packets stay as they were");
        }
        (Verdict::Reply(x), Action::Reply(y)) => {
            prop_assert_eq!(x, y);
            prop_assert_eq!(orig, buf);
        }
        (Verdict::Drop(x), Action::Drop(y)) => {
            prop_assert_eq!(x, y);
            prop_assert_eq!(orig, buf);
        }
        _ => prop_assert!(false, "{v:?} vs {a:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The in-place calls make the same decisions, bytes, counters and entries as the copying
    /// ones, over DR, NAT and TUN dests, admin changes and time.
    #[test]
    fn in_place_calls_match_copying_calls(
        kind in sched(),
        persistent in any::<bool>(),
        mtu in prop_oneof![Just(1500u16), Just(60u16), Just(80u16)],
        ops in proptest::collection::vec(op(), 1..80),
        trailing in 0usize..3,
    ) {
        let (mut a, tk, uk) = lab(kind, persistent);
        a.config.route_mtu = mtu;
        let mut b = a.clone();
        let (mut ra, mut rb) = (rng(), rng());
        let mut now = Instant::ZERO;
        let mut ttl = 64u8;
        for op in ops {
            match op {
                Op::In { client, port, flags } | Op::Out { client, port, flags, .. } => {
                    let c = (Ipv4Addr::new(10, 0, 0, client + 1), 1000 + port as u16);
                    let inbound = matches!(op, Op::In { .. });
                    let s = match op { Op::Out { server, .. } => rs(102 + server), _ => VIP };
                    let mut p = match (inbound, flags == "udp") {
                        (true, true) => udp(c, (VIP, 53), b"q"),
                        (true, false) => tcp(c, (VIP, 80), flags, b"0123456789abcdefghijklmnopqrstuvwxyz"),
                        (false, true) => udp((s, 53), c, b"a"),
                        (false, false) => tcp((s, 80), c, flags, b""),
                    };
                    // Vary the TTL (down to 1) and leave bytes past the IP total length.
                    ttl = if ttl <= 1 { 64 } else { ttl - 21 };
                    p[10] = 0;
                    p[11] = 0;
                    let mut acc = 0u32;
                    for w in p[..20].chunks(2) {
                        acc += u16::from_be_bytes([w[0], w[1]]) as u32;
                    }
                    while acc > 0xffff {
                        acc = (acc & 0xffff) + (acc >> 16);
                    }
                    p[10..12].copy_from_slice(&(!(acc as u16)).to_be_bytes());
                    prop_assert!(checksums_ok(&p));
                    p.extend(std::iter::repeat_n(0xee, trailing));
                    let mut buf = p.clone();
                    let (v, act) = if inbound {
                        (a.process_inbound(now, &p, &mut ra), b.process_inbound_in_place(now, 0, &mut buf, &mut rb))
                    } else {
                        (a.process_outbound(now, &p, &mut ra), b.process_outbound_in_place(now, &mut buf, &mut rb))
                    };
                    same_outcome(&v, &act, &buf, &p)?;
                }
                Op::Wait(ms) => {
                    now += Duration::from_millis(ms as u64);
                    for ipvs in [&mut a, &mut b] {
                        while let Some(t) = ipvs.poll_timeout() {
                            if t > now { break; }
                            ipvs.handle_timeout(t);
                        }
                    }
                }
                Op::Weight { server, weight } => {
                    for ipvs in [&mut a, &mut b] {
                        let _ = ipvs.edit_dest(&tk, DestConfig::new(rs(102 + server), 80).weight(weight));
                    }
                }
                Op::Delete { server } => {
                    for ipvs in [&mut a, &mut b] {
                        let _ = ipvs.delete_dest(&tk, rs(102 + server), 80);
                        let _ = ipvs.delete_dest(&uk, rs(102 + server), 53);
                    }
                }
                Op::Add { server } => {
                    for ipvs in [&mut a, &mut b] {
                        let _ = ipvs.add_dest(&tk, DestConfig::new(rs(102 + server), 80));
                        let _ = ipvs.add_dest(&uk, DestConfig::new(rs(102 + server), 53));
                    }
                }
                Op::ExpireNodest(x) => { a.sysctl.expire_nodest_conn = x; b.sysctl.expire_nodest_conn = x; }
                Op::ExpireQuiescent(x) => {
                    a.sysctl.expire_quiescent_template = x;
                    b.sysctl.expire_quiescent_template = x;
                }
                Op::RecreateService | Op::SetTimeouts(_) => {}
            }
        }
        prop_assert_eq!(ipvsadm::list_conns(&a, now), ipvsadm::list_conns(&b, now));
        prop_assert_eq!(a.drops(), b.drops());
        prop_assert_eq!(a.total_stats(), b.total_stats());
    }
}
