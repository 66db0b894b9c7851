//! IPVS forwarding, connection states and listings, driven with raw packets as the director
//! would, and compared with the real kernel's recordings (E1, E4, E5, E6).

#[path = "ipvs_packets.rs"]
mod packets;

use std::net::Ipv4Addr;

use lvs_model::ipvs::{
    DestConfig, DropReason, ForwardMethod, Ipvs, IpvsConfig, Persistence, SchedulerKind,
    ServiceConfig, ServiceKey, TcpState, Verdict, ipvsadm,
};
use lvs_model::time::{Duration, Instant};
use packets::*;
use smoltcp::wire::{Icmpv4Packet, Ipv4Packet, TcpPacket};

fn ipvs() -> Ipvs {
    Ipvs::new(IpvsConfig {
        local_addr: rs(100),
        route_mtu: 1500,
    })
}

/// The seed's service: wrr, .102 then .103 added with weight 3, DR.
fn seed() -> (Ipvs, ServiceKey) {
    let mut ipvs = ipvs();
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(ServiceConfig::new(key).scheduler(SchedulerKind::Wrr))
        .unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(102), 80).weight(3))
        .unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(103), 80).weight(3))
        .unwrap();
    (ipvs, key)
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn forwarded(v: Verdict) -> (Ipv4Addr, Vec<u8>) {
    match v {
        Verdict::Forward { next_hop, packet } => (next_hop, packet),
        other => panic!("expected Forward, got {other:?}"),
    }
}

fn reply(v: Verdict) -> Vec<u8> {
    match v {
        Verdict::Reply(p) => p,
        other => panic!("expected Reply, got {other:?}"),
    }
}

/// The client side of a short HTTP request as the DR director sees it, from `t` ms on;
/// returns the next hop of each packet.
fn short_request(ipvs: &mut Ipvs, t: u64, cport: u16) -> Vec<Ipv4Addr> {
    let c = (CLIENT, cport);
    let v = (VIP, 80);
    let mut r = rng();
    [
        (0, tcp(c, v, "S", b"")),
        (1, tcp(c, v, "A", b"")),
        (1, tcp(c, v, "PA", b"GET / HTTP/1.0\r\n\r\n")),
        (3, tcp(c, v, "FA", b"")),
        (3, tcp(c, v, "A", b"")),
    ]
    .into_iter()
    .map(|(dt, p)| forwarded(ipvs.process_inbound(ms(t + dt), &p, &mut r)).0)
    .collect()
}

#[test]
fn e1_seed_twenty_requests_alternate_and_end_in_fin_wait() {
    let (mut ipvs, _) = seed();
    let mut hops = Vec::new();
    for i in 0..20u16 {
        let h = short_request(&mut ipvs, 600 * i as u64, 41582 + 2 * i);
        assert!(
            h.iter().all(|&x| x == h[0]),
            "one connection, one real server"
        );
        hops.push(h[0].octets()[3]);
    }
    // E1: strictly alternating, .103 (added last) first.
    let want: Vec<u8> = (0..20)
        .map(|i| if i % 2 == 0 { 103 } else { 102 })
        .collect();
    assert_eq!(hops, want);
    // E1's `ipvsadm -Ln` after the 20 requests, byte for byte (trailing blanks included).
    assert_eq!(
        ipvsadm::list(&ipvs),
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
         TCP  192.168.80.200:80 wrr\n  \
         -> 192.168.80.102:80            Route   3      0          10        \n  \
         -> 192.168.80.103:80            Route   3      0          10        \n"
    );
    // The first request ended at 3 ms, the last at 11 403 ms: at 12.4 s they have 107.6 s and
    // 119.0 s left, shown truncated.
    let lnc = ipvsadm::list_conns(&ipvs, ms(12_400));
    let lines: Vec<&str> = lnc.lines().collect();
    assert_eq!(lines[0], "IPVS connection entries");
    assert_eq!(
        lines[1],
        "pro expire state       source             virtual            destination"
    );
    assert_eq!(lines.len(), 22);
    assert_eq!(
        lines[2],
        "TCP 01:47  FIN_WAIT    192.168.80.50:41582 192.168.80.200:80  192.168.80.103:80"
    );
    assert_eq!(
        lines[21],
        "TCP 01:59  FIN_WAIT    192.168.80.50:41620 192.168.80.200:80  192.168.80.102:80"
    );
    assert!(ipvs.check_invariants().is_ok());
}

#[test]
fn e1_entries_expire_exactly_120s_after_their_last_packet() {
    let (mut ipvs, key) = seed();
    short_request(&mut ipvs, 0, 41000);
    short_request(&mut ipvs, 600, 41002);
    // Last packets at 3 ms and 603 ms: FIN_WAIT for 120 s (tcpfin).
    let first = ms(3) + Duration::from_secs(120);
    assert!(ipvs.poll_timeout().unwrap() <= first);
    ipvs.handle_timeout(Instant::from_nanos(first.as_nanos() - 1));
    assert_eq!(ipvs.conns().len(), 2);
    ipvs.handle_timeout(first);
    assert_eq!(ipvs.conns().len(), 1);
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().inactconns, 0);
    assert_eq!(ipvs.dest(&key, rs(102), 80).unwrap().inactconns, 1);
    // Pump the deadlines like a driver would: the table drains, and wake-ups are bounded.
    let mut wakeups = 0;
    while let Some(t) = ipvs.poll_timeout() {
        ipvs.handle_timeout(t);
        wakeups += 1;
        assert!(wakeups < 10, "livelock");
        if ipvs.conns().is_empty() {
            break;
        }
    }
    assert!(ipvs.conns().is_empty());
    assert_eq!(ipvs.dest(&key, rs(102), 80).unwrap().inactconns, 0);
}

fn state_of(ipvs: &Ipvs, cport: u16) -> (TcpState, Instant) {
    let (_, c) = ipvs
        .conns()
        .iter()
        .find(|(_, c)| c.cport == cport && !c.template)
        .expect("entry");
    (c.state, c.expires)
}

#[test]
fn e6_dr_states_and_default_timeouts() {
    let (mut ipvs, key) = seed();
    let mut r = rng();
    let v = (VIP, 80);
    // An open idle connection: ESTABLISHED, 900 s, counted active.
    let _ = ipvs.process_inbound(ms(0), &tcp((CLIENT, 5000), v, "S", b""), &mut r);
    assert_eq!(state_of(&ipvs, 5000), (TcpState::SynRecv, ms(60_000)));
    let _ = ipvs.process_inbound(ms(1), &tcp((CLIENT, 5000), v, "A", b""), &mut r);
    assert_eq!(state_of(&ipvs, 5000), (TcpState::Established, ms(900_001)));
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().activeconns, 1);
    // E6: one and a half seconds later -Lnc shows 14:58.
    assert!(ipvsadm::list_conns(&ipvs, ms(1_501)).contains("TCP 14:58  ESTABLISHED "));
    // A client abort: RST → CLOSE, 10 s; back to inactive.
    let _ = ipvs.process_inbound(ms(2), &tcp((CLIENT, 5002), v, "S", b""), &mut r);
    let _ = ipvs.process_inbound(ms(3), &tcp((CLIENT, 5002), v, "A", b""), &mut r);
    let _ = ipvs.process_inbound(ms(4), &tcp((CLIENT, 5002), v, "R", b""), &mut r);
    assert_eq!(state_of(&ipvs, 5002), (TcpState::Close, ms(10_004)));
    // A refused connection (the RST goes from the RS straight to the client): SYN_RECV, 60 s.
    let _ = ipvs.process_inbound(ms(5), &tcp((CLIENT, 5004), v, "S", b""), &mut r);
    assert_eq!(state_of(&ipvs, 5004), (TcpState::SynRecv, ms(60_005)));
    ipvs.handle_timeout(ms(10_004));
    assert_eq!(ipvs.conns().len(), 2, "the CLOSE entry went at 10 s");
    ipvs.handle_timeout(ms(60_005));
    assert_eq!(ipvs.conns().len(), 1, "the SYN_RECV entry went at 60 s");
    ipvs.handle_timeout(ms(900_000));
    assert_eq!(ipvs.conns().len(), 1);
    ipvs.handle_timeout(ms(900_001));
    assert!(ipvs.conns().is_empty());
    assert!(ipvs.check_invariants().is_ok());
}

#[test]
fn e6_set_timeouts_applies_on_the_next_packet() {
    let (mut ipvs, _) = seed();
    let mut r = rng();
    let v = (VIP, 80);
    assert_eq!(
        ipvsadm::timeouts(&ipvs),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
    let _ = ipvs.process_inbound(ms(0), &tcp((CLIENT, 6000), v, "S", b""), &mut r);
    let _ = ipvs.process_inbound(ms(0), &tcp((CLIENT, 6000), v, "A", b""), &mut r);
    ipvs.set_timeouts(
        Duration::from_secs(30),
        Duration::from_secs(20),
        Duration::from_secs(40),
    );
    assert_eq!(
        ipvsadm::timeouts(&ipvs),
        "Timeout (tcp tcpfin udp): 30 20 40\n"
    );
    // The existing entry keeps its 900 s timer until its next packet.
    assert_eq!(state_of(&ipvs, 6000).1, ms(900_000));
    let _ = ipvs.process_inbound(ms(10), &tcp((CLIENT, 6000), v, "A", b""), &mut r);
    assert_eq!(state_of(&ipvs, 6000).1, ms(30_010));
    // New entries: ESTABLISHED 30 s, FIN_WAIT 20 s; SYN_RECV stays 60 s.
    let _ = ipvs.process_inbound(ms(20), &tcp((CLIENT, 6002), v, "S", b""), &mut r);
    assert_eq!(state_of(&ipvs, 6002), (TcpState::SynRecv, ms(60_020)));
    let _ = ipvs.process_inbound(ms(20), &tcp((CLIENT, 6002), v, "FA", b""), &mut r);
    assert_eq!(state_of(&ipvs, 6002), (TcpState::TimeWait, ms(120_020)));
    let _ = ipvs.process_inbound(ms(30), &tcp((CLIENT, 6004), v, "S", b""), &mut r);
    let _ = ipvs.process_inbound(ms(30), &tcp((CLIENT, 6004), v, "A", b""), &mut r);
    let _ = ipvs.process_inbound(ms(40), &tcp((CLIENT, 6004), v, "FA", b""), &mut r);
    assert_eq!(state_of(&ipvs, 6004), (TcpState::FinWait, ms(20_040)));
}

#[test]
fn dr_packet_is_unchanged_but_for_ttl() {
    let (mut ipvs, _) = seed();
    let syn = tcp((CLIENT, 7000), (VIP, 80), "S", b"");
    let (hop, out) = forwarded(ipvs.process_inbound(ms(0), &syn, &mut rng()));
    assert_eq!(hop, rs(103));
    assert!(checksums_ok(&out));
    assert_eq!(out[8], 63);
    let mut expect = syn.clone();
    expect[8] = 63;
    Ipv4Packet::new_unchecked(&mut expect[..]).fill_checksum();
    assert_eq!(out, expect);
    // Trailing bytes beyond the IP total length are not forwarded.
    let mut padded = tcp((CLIENT, 7000), (VIP, 80), "A", b"");
    padded.extend_from_slice(&[0xee; 6]);
    let (_, out) = forwarded(ipvs.process_inbound(ms(1), &padded, &mut rng()));
    assert_eq!(out.len(), 40);
}

#[test]
fn e4_stray_segment_and_other_traffic_go_to_the_local_stack() {
    let (mut ipvs, _) = seed();
    let mut r = rng();
    // E4: no entry and no SYN → the local stack, which owns the VIP and answers RST.
    let ack = tcp((CLIENT, 40001), (VIP, 80), "PA", b"rest of request");
    assert_eq!(
        ipvs.process_inbound(ms(0), &ack, &mut r),
        Verdict::LocalDeliver
    );
    // SYN with RST is not scheduled either.
    let sr = tcp((CLIENT, 40002), (VIP, 80), "SR", b"");
    assert_eq!(
        ipvs.process_inbound(ms(0), &sr, &mut r),
        Verdict::LocalDeliver
    );
    // Not a virtual service.
    let ssh = tcp((CLIENT, 40003), (VIP, 22), "S", b"");
    assert_eq!(
        ipvs.process_inbound(ms(0), &ssh, &mut r),
        Verdict::LocalDeliver
    );
    // ICMP echo to the VIP (other protocols are not IPVS's).
    let ping = ipv4(CLIENT, VIP, 1, &[8, 0, 0xf7, 0xff, 0, 0, 0, 0]);
    assert_eq!(
        ipvs.process_inbound(ms(0), &ping, &mut r),
        Verdict::LocalDeliver
    );
    assert!(ipvs.conns().is_empty());
    assert_eq!(ipvs.drops().local_deliver, 4);
}

#[test]
fn no_destination_gives_icmp_port_unreachable_from_the_vip() {
    let mut ipvs = ipvs();
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(ServiceConfig::new(key)).unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(102), 80).weight(0))
        .unwrap();
    let syn = tcp((CLIENT, 7100), (VIP, 80), "S", b"");
    let icmp = reply(ipvs.process_inbound(ms(0), &syn, &mut rng()));
    let ip = Ipv4Packet::new_checked(&icmp[..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!((ip.src_addr(), ip.dst_addr()), (VIP, CLIENT));
    assert_eq!(u8::from(ip.next_header()), 1);
    assert_eq!(ip.hop_limit(), 64);
    assert_eq!(
        ip.dscp() << 2 | ip.ecn(),
        0xc0,
        "internetwork-control precedence"
    );
    let m = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert!(m.verify_checksum());
    assert_eq!((u8::from(m.msg_type()), m.msg_code()), (3, 3));
    assert_eq!(&ip.payload()[8..], &syn[..], "the whole SYN is quoted");
    assert!(ipvs.conns().is_empty());
    assert_eq!(ipvs.drops().get(DropReason::NoDestination), 1);
    // UDP too.
    let ukey = ServiceKey::udp(VIP, 53);
    ipvs.add_service(ServiceConfig::new(ukey)).unwrap();
    let q = udp((CLIENT, 5353), (VIP, 53), b"query");
    let icmp = reply(ipvs.process_inbound(ms(0), &q, &mut rng()));
    assert_eq!(icmp[20], 3);
    assert_eq!(icmp[21], 3);
}

#[test]
fn nat_rewrites_both_ways_and_tracks_both_directions() {
    let mut ipvs = ipvs();
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(ServiceConfig::new(key).scheduler(SchedulerKind::Rr))
        .unwrap();
    ipvs.add_dest(
        &key,
        DestConfig::new(rs(102), 8080).forward(ForwardMethod::Masquerade),
    )
    .unwrap();
    let mut r = rng();
    let c = (CLIENT, 33000);
    let srv = (rs(102), 8080);
    let (hop, out) = forwarded(ipvs.process_inbound(ms(0), &tcp(c, (VIP, 80), "S", b""), &mut r));
    assert_eq!(hop, rs(102));
    assert!(checksums_ok(&out), "incremental L4 checksum");
    let ip = Ipv4Packet::new_checked(&out[..]).unwrap();
    assert_eq!(
        (ip.src_addr(), ip.dst_addr(), ip.hop_limit()),
        (CLIENT, rs(102), 63)
    );
    assert_eq!(
        TcpPacket::new_checked(ip.payload()).unwrap().dst_port(),
        8080
    );
    // The real server's SYN-ACK comes back through the director: source becomes VIP:80.
    let (hop, out) = forwarded(ipvs.process_outbound(ms(1), &tcp(srv, c, "SA", b""), &mut r));
    assert_eq!(hop, CLIENT);
    assert!(checksums_ok(&out));
    let ip = Ipv4Packet::new_checked(&out[..]).unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr()), (VIP, CLIENT));
    assert_eq!(TcpPacket::new_checked(ip.payload()).unwrap().src_port(), 80);
    assert_eq!(state_of(&ipvs, 33000).0, TcpState::SynRecv);
    let _ = ipvs.process_inbound(ms(2), &tcp(c, (VIP, 80), "A", b""), &mut r);
    assert_eq!(state_of(&ipvs, 33000).0, TcpState::Established);
    assert_eq!(ipvs.dest(&key, rs(102), 8080).unwrap().activeconns, 1);
    // Client closes first (INPUT table, since output was seen): CLOSE_WAIT; then server FIN.
    let _ = ipvs.process_inbound(ms(3), &tcp(c, (VIP, 80), "FA", b""), &mut r);
    assert_eq!(state_of(&ipvs, 33000).0, TcpState::CloseWait);
    let _ = ipvs.process_outbound(ms(4), &tcp(srv, c, "FA", b""), &mut r);
    assert_eq!(state_of(&ipvs, 33000), (TcpState::TimeWait, ms(120_004)));
    // Unrelated forwarded traffic passes untouched.
    let other = tcp((rs(102), 22), c, "A", b"");
    assert_eq!(ipvs.process_outbound(ms(5), &other, &mut r), Verdict::Pass);
    assert!(
        ipvsadm::list(&ipvs)
            .contains("  -> 192.168.80.102:8080          Masq    1      0          1         \n")
    );
    // --stats lags until the estimator tick at 2 s.
    assert!(ipvsadm::list_stats(&ipvs).contains(
        "TCP  192.168.80.200:80                   0        0        0        0        0\n"
    ));
    assert_eq!(ipvs.poll_timeout(), Some(ms(2_000)));
    ipvs.handle_timeout(ms(2_000));
    assert_eq!(
        ipvsadm::list_stats(&ipvs),
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  \
         -> RemoteAddress:Port\n\
         TCP  192.168.80.200:80                   1        3        2      120       80\n  \
         -> 192.168.80.102:8080                 1        3        2      120       80\n"
    );
    assert!(ipvs.check_invariants().is_ok());
}

#[test]
fn tun_encapsulates_and_enforces_the_tunnel_mtu() {
    let mut ipvs = ipvs();
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(ServiceConfig::new(key)).unwrap();
    ipvs.add_dest(
        &key,
        DestConfig::new(rs(104), 80).forward(ForwardMethod::Tunnel),
    )
    .unwrap();
    let mut r = rng();
    let c = (CLIENT, 34000);
    let syn = tcp(c, (VIP, 80), "S", b"");
    let (hop, out) = forwarded(ipvs.process_inbound(ms(0), &syn, &mut r));
    assert_eq!(hop, rs(104));
    let outer = Ipv4Packet::new_checked(&out[..]).unwrap();
    assert!(outer.verify_checksum());
    assert_eq!((outer.src_addr(), outer.dst_addr()), (rs(100), rs(104)));
    assert_eq!(u8::from(outer.next_header()), 4, "IPIP");
    assert_eq!(outer.total_len(), 60);
    assert!(outer.dont_frag(), "DF copied (pmtu_disc = 1)");
    assert_eq!(outer.ident(), 0, "DF packets get id 0");
    assert_eq!(outer.hop_limit(), 63);
    let mut inner = syn.clone();
    inner[8] = 63;
    Ipv4Packet::new_unchecked(&mut inner[..]).fill_checksum();
    assert_eq!(outer.payload(), &inner[..]);
    // A 1490-byte segment with DF does not fit 1500 − 20: frag-needed with MTU 1480.
    let big = tcp(c, (VIP, 80), "PA", &[0u8; 1450]);
    assert_eq!(big.len(), 1490);
    let icmp = reply(ipvs.process_inbound(ms(1), &big, &mut r));
    let ip = Ipv4Packet::new_checked(&icmp[..]).unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr()), (VIP, CLIENT));
    assert_eq!(&ip.payload()[..2], &[3, 4]);
    assert_eq!(u16::from_be_bytes([ip.payload()[6], ip.payload()[7]]), 1480);
    assert_eq!(
        ip.total_len() as usize,
        20 + 8 + 548,
        "quote limited to 576 bytes"
    );
    assert_eq!(ipvs.drops().get(DropReason::FragNeeded), 1);
    // Without DF the kernel would fragment; the model drops and counts.
    let mut nodf = big.clone();
    nodf[6] = 0;
    Ipv4Packet::new_unchecked(&mut nodf[..]).fill_checksum();
    assert_eq!(
        ipvs.process_inbound(ms(2), &nodf, &mut r),
        Verdict::Drop(DropReason::NeedsFragmentation)
    );
    assert!(ipvsadm::list(&ipvs).contains("Tunnel  1"));
}

#[test]
fn ttl_one_gets_time_exceeded() {
    let (mut ipvs, _) = seed();
    let mut syn = tcp((CLIENT, 7200), (VIP, 80), "S", b"");
    syn[8] = 1;
    Ipv4Packet::new_unchecked(&mut syn[..]).fill_checksum();
    let icmp = reply(ipvs.process_inbound(ms(0), &syn, &mut rng()));
    assert_eq!((icmp[20], icmp[21]), (11, 0));
    assert_eq!(ipvs.drops().get(DropReason::TtlExpired), 1);
}

#[test]
fn route_mtu_applies_to_dr_too() {
    let (mut ipvs, _) = seed();
    ipvs.config.route_mtu = 1400;
    let _ = ipvs.process_inbound(ms(0), &tcp((CLIENT, 7300), (VIP, 80), "S", b""), &mut rng());
    let big = tcp((CLIENT, 7300), (VIP, 80), "PA", &[1u8; 1460]);
    let icmp = reply(ipvs.process_inbound(ms(1), &big, &mut rng()));
    assert_eq!(u16::from_be_bytes([icmp[26], icmp[27]]), 1400);
}

#[test]
fn persistence_template_sticks_clients_and_outlives_its_timeout() {
    let mut ipvs = ipvs();
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(
        ServiceConfig::new(key)
            .scheduler(SchedulerKind::Rr)
            .persistent(Persistence::new(Duration::from_secs(300))),
    )
    .unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(102), 80)).unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(103), 80)).unwrap();
    let mut r = rng();
    let v = (VIP, 80);
    let other = Ipv4Addr::new(192, 168, 80, 51);
    let hop = |ipvs: &mut Ipvs, t, src, p, r: &mut _| {
        forwarded(ipvs.process_inbound(ms(t), &tcp((src, p), v, "S", b""), r)).0
    };
    assert_eq!(hop(&mut ipvs, 0, CLIENT, 1000, &mut r), rs(103));
    let lnc = ipvsadm::list_conns(&ipvs, ms(0));
    assert!(
        lnc.contains(
            "TCP 05:00  NONE        192.168.80.50:0    192.168.80.200:80  192.168.80.103:80\n"
        ),
        "{lnc}"
    );
    assert_eq!(hop(&mut ipvs, 1, CLIENT, 1001, &mut r), rs(103), "template");
    assert_eq!(
        hop(&mut ipvs, 2, other, 2000, &mut r),
        rs(102),
        "rr for a new client"
    );
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().persistconns, 1);
    assert!(ipvsadm::list(&ipvs).contains("TCP  192.168.80.200:80 rr persistent 300\n"));
    // Quiesced (inhibit_on_failure): clients with a template still go there (§D.4).
    ipvs.edit_dest(&key, DestConfig::new(rs(103), 80).weight(0))
        .unwrap();
    assert_eq!(hop(&mut ipvs, 3, CLIENT, 1002, &mut r), rs(103));
    ipvs.sysctl.expire_quiescent_template = true;
    assert_eq!(hop(&mut ipvs, 4, CLIENT, 1003, &mut r), rs(102));
    assert!(ipvs.check_invariants().is_ok());
    // The invalidated template stays (unhashed) while it controls its SYN_RECV children
    // (60 s), and goes at its 300 s deadline.
    ipvs.handle_timeout(ms(299_999));
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().persistconns, 1);
    ipvs.handle_timeout(ms(300_003));
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().persistconns, 0);
    assert!(ipvs.check_invariants().is_ok());
}

#[test]
fn template_with_a_live_child_is_rechecked_every_60s() {
    let mut ipvs = ipvs();
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(
        ServiceConfig::new(key).persistent(Persistence::new(Duration::from_secs(300))),
    )
    .unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(102), 80)).unwrap();
    let mut r = rng();
    let c = (CLIENT, 1000);
    let _ = ipvs.process_inbound(ms(0), &tcp(c, (VIP, 80), "S", b""), &mut r);
    let _ = ipvs.process_inbound(ms(1_000), &tcp(c, (VIP, 80), "A", b""), &mut r);
    // Child ESTABLISHED until 901 s; template due at 300 s, then kept 60 s at a time:
    // 360, 420, …, 900 (child still alive), 960.
    ipvs.handle_timeout(ms(900_500));
    assert_eq!(ipvs.conns().len(), 2);
    ipvs.handle_timeout(ms(901_000));
    assert_eq!(
        ipvs.conns().len(),
        1,
        "child gone, template waits for its recheck"
    );
    ipvs.handle_timeout(ms(959_999));
    assert_eq!(ipvs.conns().len(), 1);
    ipvs.handle_timeout(ms(960_000));
    assert!(ipvs.conns().is_empty());
    assert_eq!(ipvs.dest(&key, rs(102), 80).unwrap().persistconns, 0);
}

#[test]
fn persistence_granularity_groups_clients() {
    let mut ipvs = ipvs();
    let key = ServiceKey::tcp(VIP, 80);
    let mut p = Persistence::new(Duration::from_secs(60));
    p.netmask = Ipv4Addr::new(255, 255, 255, 0);
    ipvs.add_service(
        ServiceConfig::new(key)
            .scheduler(SchedulerKind::Rr)
            .persistent(p),
    )
    .unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(102), 80)).unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(103), 80)).unwrap();
    let mut r = rng();
    for last in 50..55 {
        let src = Ipv4Addr::new(192, 168, 80, last);
        let syn = tcp((src, 1000), (VIP, 80), "S", b"");
        assert_eq!(
            forwarded(ipvs.process_inbound(ms(0), &syn, &mut r)).0,
            rs(103)
        );
    }
    assert!(ipvsadm::list(&ipvs).contains("persistent 60 mask 255.255.255.0\n"));
    assert!(ipvsadm::list_conns(&ipvs, ms(0)).contains("192.168.80.0:0 "));
}

#[test]
fn removed_dest_drops_its_packets_and_revives_from_the_trash() {
    let (mut ipvs, key) = seed();
    let mut r = rng();
    let v = (VIP, 80);
    let c = (CLIENT, 8000);
    let _ = ipvs.process_inbound(ms(0), &tcp(c, v, "S", b""), &mut r);
    ipvs.delete_dest(&key, rs(103), 80).unwrap();
    assert!(!ipvsadm::list(&ipvs).contains("192.168.80.103"));
    assert_eq!(
        ipvs.process_inbound(ms(1), &tcp(c, v, "A", b""), &mut r),
        Verdict::Drop(DropReason::DestUnavailable)
    );
    // A new client goes to the remaining dest.
    let syn = tcp((CLIENT, 8002), v, "S", b"");
    assert_eq!(
        forwarded(ipvs.process_inbound(ms(2), &syn, &mut r)).0,
        rs(102)
    );
    assert!(ipvs.check_invariants().is_ok());
    // keepalived re-adds it: the trashed dest returns with its entry counted (E5's note).
    ipvs.add_dest(&key, DestConfig::new(rs(103), 80).weight(3))
        .unwrap();
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().inactconns, 1);
    let (hop, _) = forwarded(ipvs.process_inbound(ms(3), &tcp(c, v, "A", b""), &mut r));
    assert_eq!(hop, rs(103));
    assert!(ipvs.check_invariants().is_ok());
}

#[test]
fn expire_nodest_conn_flushes_and_reschedules() {
    let (mut ipvs, key) = seed();
    ipvs.sysctl.expire_nodest_conn = true;
    let mut r = rng();
    let v = (VIP, 80);
    let _ = ipvs.process_inbound(ms(0), &tcp((CLIENT, 8100), v, "S", b""), &mut r);
    assert_eq!(ipvs.conns().len(), 1);
    ipvs.delete_dest(&key, rs(103), 80).unwrap();
    assert!(ipvs.conns().is_empty(), "flushed with the dest");
    assert_eq!(ipvs.dest_table().len(), 1, "the removed dest is freed");
    // A SYN on an entry whose dest was quiesced is rescheduled.
    let (hop, _) =
        forwarded(ipvs.process_inbound(ms(1), &tcp((CLIENT, 8102), v, "S", b""), &mut r));
    assert_eq!(hop, rs(102));
    ipvs.add_dest(&key, DestConfig::new(rs(104), 80).weight(3))
        .unwrap();
    ipvs.edit_dest(&key, DestConfig::new(rs(102), 80).weight(0))
        .unwrap();
    let (hop, _) =
        forwarded(ipvs.process_inbound(ms(2), &tcp((CLIENT, 8102), v, "S", b""), &mut r));
    assert_eq!(hop, rs(104));
    assert_eq!(ipvs.conns().len(), 1);
    assert!(ipvs.check_invariants().is_ok());
}

#[test]
fn conn_reuse_mode_reschedules_closed_entries() {
    let (mut ipvs, key) = seed();
    let mut r = rng();
    let v = (VIP, 80);
    let c = (CLIENT, 9000);
    let _ = ipvs.process_inbound(ms(0), &tcp(c, v, "S", b""), &mut r);
    let _ = ipvs.process_inbound(ms(1), &tcp(c, v, "A", b""), &mut r);
    let _ = ipvs.process_inbound(ms(1), &tcp(c, v, "R", b""), &mut r);
    assert_eq!(state_of(&ipvs, 9000).0, TcpState::Close);
    // Same 4-tuple, new SYN: the CLOSE entry expires and wrr schedules the next dest.
    let (hop, _) = forwarded(ipvs.process_inbound(ms(2), &tcp(c, v, "S", b""), &mut r));
    assert_eq!(hop, rs(102));
    assert_eq!(ipvs.conns().len(), 1);
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().inactconns, 0);
    // A FIN_WAIT entry is reused as is with mode 1 …
    let _ = ipvs.process_inbound(ms(3), &tcp(c, v, "A", b""), &mut r);
    let _ = ipvs.process_inbound(ms(3), &tcp(c, v, "FA", b""), &mut r);
    assert_eq!(state_of(&ipvs, 9000).0, TcpState::FinWait);
    let (hop, _) = forwarded(ipvs.process_inbound(ms(4), &tcp(c, v, "S", b""), &mut r));
    assert_eq!(hop, rs(102));
    assert_eq!(state_of(&ipvs, 9000).0, TcpState::SynRecv);
    // … and rescheduled with bit 2 (DR entries).
    ipvs.sysctl.conn_reuse_mode = 3;
    let _ = ipvs.process_inbound(ms(5), &tcp(c, v, "A", b""), &mut r);
    let _ = ipvs.process_inbound(ms(5), &tcp(c, v, "FA", b""), &mut r);
    assert_eq!(state_of(&ipvs, 9000).0, TcpState::FinWait);
    let (hop, _) = forwarded(ipvs.process_inbound(ms(6), &tcp(c, v, "S", b""), &mut r));
    assert_eq!(hop, rs(103));
    assert!(ipvs.check_invariants().is_ok());
}

#[test]
fn udp_entries_are_inactive_with_the_udp_timeout() {
    let mut ipvs = ipvs();
    let key = ServiceKey::udp(VIP, 53);
    ipvs.add_service(ServiceConfig::new(key)).unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(102), 53)).unwrap();
    let mut r = rng();
    let q = udp((CLIENT, 5353), (VIP, 53), b"query");
    let (hop, out) = forwarded(ipvs.process_inbound(ms(0), &q, &mut r));
    assert_eq!(hop, rs(102));
    assert!(checksums_ok(&out));
    let d = ipvs.dest(&key, rs(102), 53).unwrap();
    assert_eq!((d.activeconns, d.inactconns), (0, 1));
    assert!(ipvsadm::list_conns(&ipvs, ms(0)).contains("UDP 05:00  UDP         "));
    ipvs.handle_timeout(ms(300_000));
    assert!(ipvs.conns().is_empty());
}

#[test]
fn fwmark_service_matches_marked_packets() {
    let mut ipvs = ipvs();
    let key = ServiceKey::Fwmark(1);
    ipvs.add_service(ServiceConfig::new(key).persistent(Persistence::new(Duration::from_secs(60))))
        .unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(102), 0)).unwrap();
    let mut r = rng();
    let syn = tcp((CLIENT, 1000), (VIP, 443), "S", b"");
    assert_eq!(
        ipvs.process_inbound(ms(0), &syn, &mut r),
        Verdict::LocalDeliver
    );
    let (hop, _) = forwarded(ipvs.process_inbound_marked(ms(0), 1, &syn, &mut r));
    assert_eq!(hop, rs(102));
    let lnc = ipvsadm::list_conns(&ipvs, ms(0));
    assert!(
        lnc.contains(
            "IP  01:00  NONE        192.168.80.50:0    0.0.0.1:0          192.168.80.102:0\n"
        ),
        "{lnc}"
    );
    assert!(
        lnc.contains("192.168.80.200:443 192.168.80.102:443"),
        "{lnc}"
    );
    assert!(ipvsadm::list(&ipvs).contains("FWM  1 wlc persistent 60\n"));
}

#[test]
fn malformed_packets_are_counted_per_reason() {
    let (mut ipvs, _) = seed();
    let mut r = rng();
    let good = tcp((CLIENT, 1), (VIP, 80), "S", b"");
    let mut cases: Vec<(Vec<u8>, DropReason)> = vec![(good[..10].to_vec(), DropReason::Truncated)];
    let mut v6 = good.clone();
    v6[0] = 0x65;
    cases.push((v6, DropReason::Truncated));
    let mut ihl = good.clone();
    ihl[0] = 0x44;
    cases.push((ihl, DropReason::BadHeaderLength));
    let mut long = good.clone();
    long[2..4].copy_from_slice(&100u16.to_be_bytes());
    cases.push((long, DropReason::BadHeaderLength));
    let mut csum = good.clone();
    csum[10] ^= 1;
    cases.push((csum, DropReason::BadChecksum));
    let mut frag = good.clone();
    frag[6] = 0x20; // MF
    Ipv4Packet::new_unchecked(&mut frag[..]).fill_checksum();
    cases.push((frag, DropReason::Fragment));
    let mut doff = good.clone();
    doff[32] = 0x40; // TCP data offset 4 words
    cases.push((doff, DropReason::BadTransportHeader));
    cases.push((
        ipv4(CLIENT, VIP, 6, &[0; 10]),
        DropReason::BadTransportHeader,
    ));
    cases.push((
        ipv4(CLIENT, VIP, 17, &[0, 1, 0, 53, 0, 99, 0, 0]),
        DropReason::BadTransportHeader,
    ));
    let n = cases.len();
    for (pkt, why) in cases {
        assert_eq!(
            ipvs.process_inbound(ms(0), &pkt, &mut r),
            Verdict::Drop(why),
            "{why}"
        );
    }
    assert_eq!(ipvs.drops().total(), n as u64);
    assert_eq!(ipvs.drops().get(DropReason::BadTransportHeader), 3);
    assert!(ipvs.conns().is_empty());
}

#[test]
fn admin_errors_match_ipvsadm() {
    let (mut ipvs, key) = seed();
    use lvs_model::ipvs::IpvsError;
    assert_eq!(
        ipvs.add_service(ServiceConfig::new(key)),
        Err(IpvsError::ServiceExists)
    );
    assert_eq!(
        ipvs.add_dest(&key, DestConfig::new(rs(102), 80)),
        Err(IpvsError::DestExists)
    );
    assert_eq!(
        ipvs.delete_dest(&key, rs(109), 80),
        Err(IpvsError::NoSuchDest)
    );
    let nokey = ServiceKey::tcp(VIP, 81);
    assert_eq!(ipvs.delete_service(&nokey), Err(IpvsError::NoSuchService));
    assert_eq!(
        ipvs.add_dest(&key, DestConfig::new(rs(104), 80).weight(70_000)),
        Err(IpvsError::InvalidWeight(70_000))
    );
    assert_eq!(
        ipvs.add_service(ServiceConfig::new(ServiceKey::tcp(VIP, 0))),
        Err(IpvsError::ZeroPortNotPersistent)
    );
    // The kernel list order is newest first; ipvsadm sorts.
    let order: Vec<u8> = ipvs.dests_of(&key).map(|d| d.addr.octets()[3]).collect();
    assert_eq!(order, [103, 102]);
    ipvs.clear();
    assert_eq!(ipvs.services().count(), 0);
}

#[test]
fn e5_recreated_service_inherits_trashed_dest_counters() {
    // E5's first attempt: `ipvsadm -C`, then the same service and dest again: the kernel
    // reused the old dest object from its trash, InActConn included.
    let (mut ipvs, key) = seed();
    short_request(&mut ipvs, 0, 42000);
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().inactconns, 1);
    ipvs.clear();
    assert_eq!(ipvs.services().count(), 0);
    ipvs.add_service(ServiceConfig::new(key).scheduler(SchedulerKind::Wlc))
        .unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(102), 80)).unwrap();
    ipvs.add_dest(&key, DestConfig::new(rs(103), 80)).unwrap();
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().inactconns, 1);
    assert_eq!(
        ipvs.dest(&key, rs(103), 80).unwrap().stats.conns,
        0,
        "stats restart"
    );
    // List .103, .102. With fresh counters wlc would pick the head (.103); the inherited
    // inactive entry sends the first new connection to .102, the next tie back to .103.
    let syn = tcp((CLIENT, 42002), (VIP, 80), "S", b"");
    assert_eq!(
        forwarded(ipvs.process_inbound(ms(10), &syn, &mut rng())).0,
        rs(102)
    );
    let syn = tcp((CLIENT, 42004), (VIP, 80), "S", b"");
    assert_eq!(
        forwarded(ipvs.process_inbound(ms(10), &syn, &mut rng())).0,
        rs(103)
    );
    assert!(ipvs.check_invariants().is_ok());
    ipvs.handle_timeout(ms(200_000));
    assert!(ipvs.conns().is_empty());
    assert_eq!(ipvs.dest(&key, rs(103), 80).unwrap().inactconns, 0);
}

#[test]
fn e5_wrr_432_over_the_wire_and_stats_after_the_estimator_tick() {
    // E5 (b): `-A` then `-a` A4, B3, C2 one by one; 18 sequential connections; after a 2.2 s
    // wait `--stats` shows 18 = 8 + 6 + 4.
    let mut ipvs = ipvs();
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(ServiceConfig::new(key).scheduler(SchedulerKind::Wrr))
        .unwrap();
    for (last, w) in [(102, 4), (103, 3), (104, 2)] {
        ipvs.add_dest(&key, DestConfig::new(rs(last), 80).weight(w))
            .unwrap();
    }
    let t0 = 2_500; // mid-period: the estimator ticks at multiples of 2 s
    let seq: Vec<u8> = (0..18u16)
        .map(|i| short_request(&mut ipvs, t0 + 50 * i as u64, 39234 + 2 * i)[0].octets()[3])
        .collect();
    assert_eq!(
        seq,
        [
            104, 103, 102, 102, 103, 102, 104, 103, 102, 104, 103, 102, 102, 103, 102, 104, 103,
            102
        ]
    );
    let stats_line = |ipvs: &Ipvs| {
        ipvsadm::list_stats(ipvs)
            .lines()
            .find(|l| l.starts_with("TCP"))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        ipvs.poll_timeout(),
        Some(ms(4_000)),
        "first tick after the first packet"
    );
    ipvs.handle_timeout(ms(3_999));
    assert_eq!(
        stats_line(&ipvs),
        "TCP  192.168.80.200:80                   0        0        0        0        0"
    );
    ipvs.handle_timeout(ms(4_000));
    let out = ipvsadm::list_stats(&ipvs);
    let conns: Vec<&str> = out.lines().skip(3).map(|l| l[33..42].trim()).collect();
    assert_eq!(conns, ["18", "8", "6", "4"], "{out}");
    // 5 packets per request: four 40-byte segments and the 58-byte GET = 218 bytes.
    assert!(
        out.contains(
            "TCP  192.168.80.200:80                  18       90        0     3924        0\n"
        ),
        "{out}"
    );
    // `-Z` zeroes what --stats shows at once.
    ipvs.zero_stats();
    assert_eq!(
        stats_line(&ipvs),
        "TCP  192.168.80.200:80                   0        0        0        0        0"
    );
}
