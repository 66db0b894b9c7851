//! Stories about one Linux host's ARP behaviour, with exact simulated times.

use super::*;
use crate::node::{PortId, Transmit};
use crate::time::{Duration, Instant};
use proptest::prelude::*;
use smoltcp::wire::{ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol};
use std::net::Ipv4Addr;

const ETH0: PortId = PortId(0);
const WEB_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x66]);
const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x32]);
const DIRECTOR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x64]);
const BACKUP_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x65]);

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 80, last)
}

const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);

fn cidr24(last: u8) -> Ipv4Cidr {
    Ipv4Cidr::new(ip(last), 24)
}

/// web-102 as the seed builds it: VIP on lo:0, and the realserver script's sysctls or not.
fn web(realserver_sysctls: bool) -> LinuxStack {
    let mut cfg = StackConfig::single(7, WEB_MAC, cidr24(102));
    cfg.lo_addrs.push(Ipv4Cidr::new(VIP, 32));
    if realserver_sysctls {
        cfg.all = ArpSysctls::REALSERVER;
        cfg.lo_sysctls = ArpSysctls::REALSERVER;
    }
    LinuxStack::new(cfg)
}

fn client() -> LinuxStack {
    LinuxStack::new(StackConfig::single(1, CLIENT_MAC, cidr24(50)))
}

/// An ARP frame (operation `op`) from `sha`/`sip` about `tha`/`tip`, sent to `eth_dst`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn arp_frame(
    eth_dst: EthernetAddress,
    op: ArpOperation,
    sha: EthernetAddress,
    sip: Ipv4Addr,
    tha: EthernetAddress,
    tip: Ipv4Addr,
) -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: op,
        source_hardware_addr: sha,
        source_protocol_addr: sip,
        target_hardware_addr: tha,
        target_protocol_addr: tip,
    };
    let mut f = vec![0u8; 14 + repr.buffer_len()];
    let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
    eth.set_dst_addr(eth_dst);
    eth.set_src_addr(sha);
    eth.set_ethertype(EthernetProtocol::Arp);
    repr.emit(&mut ArpPacket::new_unchecked(&mut f[14..]));
    f
}

/// web-102's ARP reply to the director's who-has.
pub(crate) fn web_arp_reply_to_director() -> Vec<u8> {
    arp_frame(
        DIRECTOR_MAC,
        ArpOperation::Reply,
        WEB_MAC,
        ip(102),
        DIRECTOR_MAC,
        ip(100),
    )
}

fn who_has(sha: EthernetAddress, sip: Ipv4Addr, tip: Ipv4Addr) -> Vec<u8> {
    arp_frame(
        EthernetAddress::BROADCAST,
        ArpOperation::Request,
        sha,
        sip,
        EthernetAddress([0; 6]),
        tip,
    )
}

fn garp(sha: EthernetAddress, ip: Ipv4Addr) -> Vec<u8> {
    arp_frame(
        EthernetAddress::BROADCAST,
        ArpOperation::Request,
        sha,
        ip,
        EthernetAddress::BROADCAST,
        ip,
    )
}

fn drain(s: &mut LinuxStack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn parse_arp(t: &Transmit) -> (EthernetAddress, ArpRepr) {
    let eth = EthernetFrame::new_checked(&t.frame[..]).unwrap();
    assert_eq!(eth.ethertype(), EthernetProtocol::Arp);
    let repr = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
    (eth.dst_addr(), repr)
}

fn arp_fields(r: ArpRepr) -> (ArpOperation, EthernetAddress, Ipv4Addr, Ipv4Addr) {
    match r {
        ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        } => (
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
        ),
        _ => unreachable!(),
    }
}

/// A minimal IPv4 packet (UDP protocol number, empty payload) from `src` to `dst`.
fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0u8; 28];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&28u16.to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    let mut pkt = smoltcp::wire::Ipv4Packet::new_unchecked(&mut p[..]);
    pkt.fill_checksum();
    p
}

const T0: Instant = Instant::from_secs(10);

#[test]
fn arp_problem_vip_on_lo_is_answered_on_eth0_with_arp_ignore_0() {
    // The classic DR "ARP problem": Linux owns addresses per host, so with the defaults the
    // real server answers who-has VIP on eth0 and can steal the VIP from the director.
    let mut web = web(false);
    web.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), VIP));
    let out = drain(&mut web);
    assert_eq!(out.len(), 1);
    let (dst, repr) = parse_arp(&out[0]);
    assert_eq!(dst, CLIENT_MAC);
    assert_eq!(
        arp_fields(repr),
        (ArpOperation::Reply, WEB_MAC, VIP, ip(50))
    );
}

#[test]
fn arp_ignore_1_keeps_the_vip_on_lo_quiet_but_answers_for_eth0() {
    let mut web = web(true);
    web.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), VIP));
    assert!(
        drain(&mut web).is_empty(),
        "arp_ignore=1 must not answer for lo's VIP"
    );
    // Ignored requests do not even teach the cache the requester.
    assert_eq!(web.neighbour(ETH0, ip(50)), None);
    web.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), ip(102)));
    let out = drain(&mut web);
    assert_eq!(out.len(), 1);
    assert_eq!(
        arp_fields(parse_arp(&out[0]).1),
        (ArpOperation::Reply, WEB_MAC, ip(102), ip(50))
    );
}

#[test]
fn effective_arp_ignore_is_the_max_of_all_and_the_interface() {
    let mut web = web(false);
    // Only eth0 set (not all): still max(0, 1) = 1.
    web.set_sysctls(
        Some(Iface::Port(ETH0)),
        ArpSysctls {
            arp_ignore: 1,
            ..ArpSysctls::default()
        },
    );
    web.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), VIP));
    assert!(drain(&mut web).is_empty());
    // arp_ignore=8 on all: not even eth0's own address is answered.
    web.set_sysctls(
        None,
        ArpSysctls {
            arp_ignore: 8,
            ..ArpSysctls::default()
        },
    );
    web.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), ip(102)));
    assert!(drain(&mut web).is_empty());
}

#[test]
fn arp_ignore_2_requires_the_sender_in_the_interface_subnet() {
    let mut web = web(false);
    web.set_sysctls(
        None,
        ArpSysctls {
            arp_ignore: 2,
            ..ArpSysctls::default()
        },
    );
    web.handle_frame(
        T0,
        ETH0,
        &who_has(CLIENT_MAC, Ipv4Addr::new(10, 0, 0, 5), ip(102)),
    );
    assert!(drain(&mut web).is_empty(), "sender off-subnet");
    web.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), ip(102)));
    assert_eq!(drain(&mut web).len(), 1);
}

/// The real server sends its DR reply (source VIP) to a client it has no ARP entry for.
fn first_arp_when_replying_from_vip(announce: u8) -> (Ipv4Addr, Ipv4Addr) {
    let mut web = web(false);
    web.set_sysctls(
        None,
        ArpSysctls {
            arp_ignore: 1,
            arp_announce: announce,
            arp_accept: 0,
        },
    );
    web.send_ipv4(T0, &ipv4_packet(VIP, ip(50))).unwrap();
    let out = drain(&mut web);
    assert_eq!(out.len(), 1, "only the ARP request; the packet waits");
    let (dst, repr) = parse_arp(&out[0]);
    assert_eq!(dst, EthernetAddress::BROADCAST);
    let (op, sha, sip, tip) = arp_fields(repr);
    assert_eq!((op, sha), (ArpOperation::Request, WEB_MAC));
    (sip, tip)
}

#[test]
fn arp_announce_0_poisons_with_the_vip_and_2_uses_the_eth0_address() {
    // arp_announce=0: the packet's source (the VIP) becomes the ARP sender IP, so every
    // listener that has the VIP cached learns the real server's MAC for it.
    assert_eq!(first_arp_when_replying_from_vip(0), (VIP, ip(50)));
    // arp_announce=2: the best address of eth0 for the target.
    assert_eq!(first_arp_when_replying_from_vip(2), (ip(102), ip(50)));
    // arp_announce=1: the VIP lies inside eth0's 192.168.80.0/24 like the client, so Linux
    // deems it on-link and still uses it — which is why the recipe says 2, not 1.
    assert_eq!(first_arp_when_replying_from_vip(1), (VIP, ip(50)));
}

#[test]
fn unresolved_neighbour_is_probed_three_times_a_second_apart_then_packets_drop() {
    let mut web = web(true);
    web.send_ipv4(T0, &ipv4_packet(ip(102), ip(50))).unwrap();
    web.send_ipv4(T0, &ipv4_packet(ip(102), ip(50))).unwrap();
    let mut probes = vec![(T0, drain(&mut web).len())];
    assert_eq!(
        web.neighbour(ETH0, ip(50)).map(|n| n.state),
        Some(NeighbourState::Incomplete)
    );
    while let Some(t) = web.poll_timeout() {
        web.handle_timeout(t);
        probes.push((t, drain(&mut web).len()));
        if t > T0 + Duration::from_secs(10) {
            break;
        }
    }
    // Linux: mcast_solicit = 3 broadcast probes, retrans_time = 1 s, then FAILED at +3 s.
    assert_eq!(
        probes,
        vec![
            (T0, 1),
            (T0 + Duration::from_secs(1), 1),
            (T0 + Duration::from_secs(2), 1),
            (T0 + Duration::from_secs(3), 0),
        ]
    );
    assert_eq!(web.neighbour(ETH0, ip(50)), None);
    assert_eq!(web.counters().unresolved, 2);
}

#[test]
fn reply_resolves_and_the_waiting_packet_leaves_with_the_mac() {
    let mut web = web(true);
    let pkt = ipv4_packet(ip(102), ip(50));
    web.send_ipv4(T0, &pkt).unwrap();
    let _probe = drain(&mut web);
    let t = T0 + Duration::from_micros(100);
    web.handle_frame(
        t,
        ETH0,
        &arp_frame(
            WEB_MAC,
            ArpOperation::Reply,
            CLIENT_MAC,
            ip(50),
            WEB_MAC,
            ip(102),
        ),
    );
    let out = drain(&mut web);
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0].frame[0..6], CLIENT_MAC.as_bytes());
    assert_eq!(&out[0].frame[6..12], WEB_MAC.as_bytes());
    assert_eq!(&out[0].frame[14..], &pkt[..]);
    let n = web.neighbour(ETH0, ip(50)).unwrap();
    assert_eq!(
        (n.mac, n.state),
        (Some(CLIENT_MAC), NeighbourState::Reachable)
    );
    // No probe timer is left.
    assert_eq!(web.poll_timeout(), None);
}

#[test]
fn answering_a_request_creates_the_requesters_entry_as_stale() {
    let mut web = web(true);
    web.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), ip(102)));
    let _ = drain(&mut web);
    let n = web.neighbour(ETH0, ip(50)).unwrap();
    assert_eq!((n.mac, n.state), (Some(CLIENT_MAC), NeighbourState::Stale));
    // Sending to it now needs no ARP round trip; the entry goes to DELAY.
    web.send_ipv4(T0, &ipv4_packet(ip(102), ip(50))).unwrap();
    let out = drain(&mut web);
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0].frame[0..6], CLIENT_MAC.as_bytes());
    assert_eq!(
        web.neighbour(ETH0, ip(50)).unwrap().state,
        NeighbourState::Delay
    );
}

#[test]
fn delay_without_confirmation_probes_by_unicast_then_fails() {
    let mut web = web(true);
    web.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), ip(102)));
    let _ = drain(&mut web);
    web.send_ipv4(T0, &ipv4_packet(ip(102), ip(50))).unwrap();
    let _ = drain(&mut web);
    let mut seen = Vec::new();
    while let Some(t) = web.poll_timeout() {
        web.handle_timeout(t);
        for tx in drain(&mut web) {
            seen.push((t, parse_arp(&tx).0));
        }
        if web.neighbour(ETH0, ip(50)).is_none() {
            seen.push((t, EthernetAddress([0; 6])));
            break;
        }
    }
    // delay_first_probe_time 5 s, then ucast_solicit 3 probes 1 s apart, FAILED 1 s later.
    let s = |n| T0 + Duration::from_secs(n);
    assert_eq!(
        seen,
        vec![
            (s(5), CLIENT_MAC),
            (s(6), CLIENT_MAC),
            (s(7), CLIENT_MAC),
            (s(8), EthernetAddress([0; 6])),
        ]
    );
}

/// The client has learnt the VIP at the director's MAC (a reply to its own request).
fn client_with_vip_at_director() -> LinuxStack {
    let mut c = client();
    c.send_ipv4(T0, &ipv4_packet(ip(50), VIP)).unwrap();
    let _ = drain(&mut c);
    c.handle_frame(
        T0,
        ETH0,
        &arp_frame(
            CLIENT_MAC,
            ArpOperation::Reply,
            DIRECTOR_MAC,
            VIP,
            CLIENT_MAC,
            ip(50),
        ),
    );
    let _ = drain(&mut c);
    assert_eq!(c.neighbour(ETH0, VIP).unwrap().mac, Some(DIRECTOR_MAC));
    c
}

#[test]
fn gratuitous_arp_moves_an_existing_entry_at_once() {
    let mut c = client_with_vip_at_director();
    // The backup becomes MASTER 100 ms later and sends its GARP: within locktime, but a GARP
    // overrides.
    let t = T0 + Duration::from_millis(100);
    c.handle_frame(t, ETH0, &garp(BACKUP_MAC, VIP));
    let n = c.neighbour(ETH0, VIP).unwrap();
    assert_eq!(
        (n.mac, n.state, n.updated),
        (Some(BACKUP_MAC), NeighbourState::Stale, t)
    );
    assert!(drain(&mut c).is_empty(), "a GARP is not answered");
}

#[test]
fn non_gratuitous_update_within_locktime_does_not_override() {
    let mut c = client_with_vip_at_director();
    // A real server without arp_ignore answers a (broadcast) who-has VIP 0.5 s later: the
    // client sees the request's answer as an ordinary ARP, within locktime (1 s).
    let reply = arp_frame(
        CLIENT_MAC,
        ArpOperation::Reply,
        WEB_MAC,
        VIP,
        CLIENT_MAC,
        ip(50),
    );
    c.handle_frame(T0 + Duration::from_millis(500), ETH0, &reply);
    assert_eq!(c.neighbour(ETH0, VIP).unwrap().mac, Some(DIRECTOR_MAC));
    // Exactly at locktime it still holds (Linux: time_after, strictly later).
    c.handle_frame(T0 + Duration::from_secs(1), ETH0, &reply);
    assert_eq!(c.neighbour(ETH0, VIP).unwrap().mac, Some(DIRECTOR_MAC));
    // After locktime the "ARP flux" flips the entry to the real server.
    let t = T0 + Duration::from_millis(1_001);
    c.handle_frame(t, ETH0, &reply);
    let n = c.neighbour(ETH0, VIP).unwrap();
    assert_eq!(
        (n.mac, n.state, n.updated),
        (Some(WEB_MAC), NeighbourState::Reachable, t)
    );
}

#[test]
fn unsolicited_arp_creates_no_entry_unless_arp_accept() {
    let mut c = client();
    c.handle_frame(T0, ETH0, &garp(DIRECTOR_MAC, VIP));
    c.handle_frame(
        T0,
        ETH0,
        &arp_frame(
            CLIENT_MAC,
            ArpOperation::Reply,
            WEB_MAC,
            ip(102),
            CLIENT_MAC,
            ip(50),
        ),
    );
    // A request for someone else from .101 does not create .101 either.
    c.handle_frame(T0, ETH0, &who_has(BACKUP_MAC, ip(101), ip(100)));
    assert!(c.neighbours().is_empty());
    c.set_sysctls(
        None,
        ArpSysctls {
            arp_accept: 1,
            ..ArpSysctls::default()
        },
    );
    c.handle_frame(T0, ETH0, &garp(DIRECTOR_MAC, VIP));
    let n = c.neighbour(ETH0, VIP).unwrap();
    assert_eq!(
        (n.mac, n.state),
        (Some(DIRECTOR_MAC), NeighbourState::Stale)
    );
    // A request for another host still creates nothing with arp_accept=1 (not a GARP, not a reply).
    c.handle_frame(T0, ETH0, &who_has(BACKUP_MAC, ip(101), ip(100)));
    assert_eq!(c.neighbour(ETH0, ip(101)), None);
}

#[test]
fn reachable_lapses_to_stale_after_reachable_time() {
    let mut c = client_with_vip_at_director();
    assert_eq!(
        c.neighbour(ETH0, VIP).unwrap().state,
        NeighbourState::Reachable
    );
    // Reachable time is drawn in [15 s, 45 s) from the seed; at 45 s it has lapsed for sure.
    c.handle_timeout(T0 + Duration::from_secs(45));
    assert_eq!(c.neighbour(ETH0, VIP).unwrap().state, NeighbourState::Stale);
}

#[test]
fn director_sends_a_dr_packet_to_the_real_servers_mac_and_garps() {
    // IPVS DR: the packet keeps destination VIP but goes to the real server as next hop.
    let mut d = LinuxStack::new(StackConfig::single(3, DIRECTOR_MAC, cidr24(100)));
    assert!(d.add_address(Iface::Port(ETH0), Ipv4Cidr::new(VIP, 32)));
    assert!(!d.add_address(Iface::Port(ETH0), Ipv4Cidr::new(VIP, 32)));
    let pkt = ipv4_packet(ip(50), VIP);
    d.send_ipv4_via(T0, ETH0, ip(102), &pkt).unwrap();
    let out = drain(&mut d);
    let (_, r) = parse_arp(&out[0]);
    assert_eq!(
        arp_fields(r),
        (ArpOperation::Request, DIRECTOR_MAC, ip(100), ip(102))
    );
    d.handle_frame(T0, ETH0, &web_arp_reply_to_director());
    let out = drain(&mut d);
    assert_eq!(&out[0].frame[0..6], WEB_MAC.as_bytes());
    assert_eq!(&out[0].frame[14..], &pkt[..]);
    d.send_gratuitous_arp(ETH0, VIP);
    let out = drain(&mut d);
    let (dst, r) = parse_arp(&out[0]);
    assert_eq!(dst, EthernetAddress::BROADCAST);
    assert_eq!(
        arp_fields(r),
        (ArpOperation::Request, DIRECTOR_MAC, VIP, VIP)
    );
    // The VIP answers ARP on eth0 while it is there, and not after removal.
    d.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), VIP));
    assert_eq!(drain(&mut d).len(), 1);
    assert!(d.remove_address(Iface::Port(ETH0), VIP));
    d.handle_frame(T0, ETH0, &who_has(CLIENT_MAC, ip(50), VIP));
    assert!(drain(&mut d).is_empty());
}

#[test]
fn classify_hands_ipv4_to_the_caller_trimmed_and_marks_local() {
    let mut web = web(true);
    let pkt = ipv4_packet(ip(50), VIP);
    let mut frame = Vec::new();
    frame.extend_from_slice(WEB_MAC.as_bytes());
    frame.extend_from_slice(CLIENT_MAC.as_bytes());
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&pkt);
    frame.resize(60, 0); // Ethernet padding
    match web.classify(T0, ETH0, &frame) {
        Inbound::Ipv4 {
            packet,
            local,
            src_mac,
            ..
        } => {
            assert_eq!(packet, &pkt[..]);
            assert!(local, "the VIP on lo is local (weak host)");
            assert_eq!(src_mac, CLIENT_MAC);
        }
        other => panic!("{other:?}"),
    }
    let foreign = ipv4_packet(ip(50), ip(103));
    frame.truncate(14);
    frame.extend_from_slice(&foreign);
    assert!(matches!(
        web.classify(T0, ETH0, &frame),
        Inbound::Ipv4 { local: false, .. }
    ));
    web.handle_frame(T0, ETH0, &frame);
    assert_eq!(web.counters().not_local, 1);
}

#[test]
fn malformed_frames_are_counted_and_dropped() {
    let mut web = web(true);
    web.handle_frame(T0, ETH0, &[0xff; 5]);
    assert_eq!(web.counters().malformed_ethernet, 1);
    let mut frame = Vec::new();
    frame.extend_from_slice(WEB_MAC.as_bytes());
    frame.extend_from_slice(CLIENT_MAC.as_bytes());
    frame.extend_from_slice(&[0x08, 0x00]);
    let mut pkt = ipv4_packet(ip(50), ip(102));
    pkt[10] ^= 0xff; // header checksum
    frame.extend_from_slice(&pkt);
    web.handle_frame(T0, ETH0, &frame);
    frame.truncate(14 + 10); // truncated header
    web.handle_frame(T0, ETH0, &frame);
    assert_eq!(web.counters().malformed_ipv4, 2);
    let arp = who_has(CLIENT_MAC, ip(50), ip(102));
    web.handle_frame(T0, ETH0, &arp[..20]);
    assert_eq!(web.counters().malformed_arp, 1);
    web.handle_frame(T0, PortId(9), &arp);
    assert_eq!(web.counters().malformed_ethernet, 2);
    let reasons: Vec<_> = std::iter::from_fn(|| web.poll_event())
        .map(|e| match e {
            crate::event::Event::Drop { reason } => reason,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "malformed_ethernet",
            "malformed_ipv4",
            "malformed_ipv4",
            "malformed_arp",
            "malformed_ethernet"
        ]
    );
    assert!(drain(&mut web).is_empty());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(frames in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..120), 1..20),
        header in any::<bool>()) {
        let mut web = web(false);
        let before = web.counters();
        for (i, mut f) in frames.into_iter().enumerate() {
            if header && f.len() >= 14 {
                // Aim half the cases at our MAC and at IPv4/ARP so deeper parsers run.
                f[0..6].copy_from_slice(WEB_MAC.as_bytes());
                f[12] = 0x08;
                f[13] = if i % 2 == 0 { 0x00 } else { 0x06 };
                if i % 2 == 0 && f.len() > 14 { f[14] = 0x45; }
            }
            let t = T0 + Duration::from_millis(i as u64);
            web.handle_frame(t, ETH0, &f);
            let _ = drain(&mut web);
            if let Some(t) = web.poll_timeout() { web.handle_timeout(t); }
        }
        let c = web.counters();
        prop_assert!(c.rx_frames > before.rx_frames);
    }
}

#[test]
fn a_packet_for_a_local_address_never_reaches_the_wire() {
    // IPVS LOCALNODE: a real server that is the director itself.
    let mut d = LinuxStack::new(StackConfig::single(3, DIRECTOR_MAC, cidr24(100)));
    // (From itself, so even smoltcp's ICMP port-unreachable answer stays local.)
    d.send_ipv4(T0, &ipv4_packet(ip(100), ip(100))).unwrap();
    assert!(drain(&mut d).is_empty());
    // From the client, the ICMP answer goes out — after ARP for the client, as Linux would.
    d.send_ipv4(T0, &ipv4_packet(ip(50), ip(100))).unwrap();
    let out = drain(&mut d);
    assert_eq!(out.len(), 1);
    assert_eq!(
        arp_fields(parse_arp(&out[0]).1),
        (ArpOperation::Request, DIRECTOR_MAC, ip(100), ip(50))
    );
    assert_eq!(d.counters().no_route, 0);
    assert_eq!(d.counters().unresolved, 0);
    // Off-subnet without a gateway: no route.
    assert_eq!(
        d.send_ipv4(T0, &ipv4_packet(ip(100), Ipv4Addr::new(10, 1, 1, 1))),
        Err(SendError::NoRoute(Ipv4Addr::new(10, 1, 1, 1)))
    );
    // With a gateway the next hop is the gateway.
    d.set_gateway(Some(ip(1)));
    assert_eq!(
        d.route(Ipv4Addr::new(10, 1, 1, 1)),
        Some(Route {
            port: ETH0,
            next_hop: ip(1)
        })
    );
    assert_eq!(d.source_address(Ipv4Addr::new(10, 1, 1, 1)), Some(ip(100)));
}

#[test]
fn routes_follow_the_table_past_the_route_cache_and_after_address_changes() {
    // The stack caches a few routes; a director talks to more peers than that.
    let mut d = LinuxStack::new(StackConfig::single(3, DIRECTOR_MAC, cidr24(100)));
    let on_link = |last| {
        Some(Route {
            port: ETH0,
            next_hop: ip(last),
        })
    };
    let far = Ipv4Addr::new(10, 1, 1, 1);
    for _ in 0..3 {
        for last in 1..=9 {
            assert_eq!(d.route(ip(last)), on_link(last));
        }
        assert_eq!(d.route(far), None);
    }
    d.set_gateway(Some(ip(1)));
    assert_eq!(d.route(far), on_link(1));
    // An address on 10.1.1.0/24 makes `far` on-link, and local addresses follow it.
    let extra = Ipv4Addr::new(10, 1, 1, 2);
    assert!(d.add_address(Iface::Port(ETH0), Ipv4Cidr::new(extra, 24)));
    assert!(d.is_local(extra));
    assert_eq!(
        d.route(far),
        Some(Route {
            port: ETH0,
            next_hop: far
        })
    );
    assert!(d.remove_address(Iface::Port(ETH0), extra));
    assert!(!d.is_local(extra));
    assert_eq!(d.route(far), on_link(1));
    assert!(d.is_local(Ipv4Addr::new(127, 3, 2, 1)));
}

#[test]
fn neighbour_entries_list_in_port_and_address_order_whatever_the_order_made() {
    let mut d = LinuxStack::new(StackConfig::single(3, DIRECTOR_MAC, cidr24(100)));
    for last in [9, 3, 7, 1, 5] {
        d.send_ipv4(T0, &ipv4_packet(ip(100), ip(last))).unwrap();
    }
    let listed: Vec<_> = d.neighbours().into_iter().map(|(_, ip, _)| ip).collect();
    assert_eq!(listed, [1, 3, 5, 7, 9].map(ip));
    // Each resolves on its own reply, and only that one.
    let reply = arp_frame(
        DIRECTOR_MAC,
        ArpOperation::Reply,
        CLIENT_MAC,
        ip(7),
        DIRECTOR_MAC,
        ip(100),
    );
    drain(&mut d);
    d.handle_frame(T0, ETH0, &reply);
    let resolved: Vec<_> = d
        .neighbours()
        .into_iter()
        .filter(|(_, _, v)| v.mac.is_some())
        .map(|(_, ip, _)| ip)
        .collect();
    assert_eq!(resolved, [ip(7)]);
    assert_eq!(
        drain(&mut d).len(),
        1,
        "the packet that waited for .7 leaves"
    );
}

proptest! {
    /// The shim's in-place IPv4 check accepts exactly the packets smoltcp's `new_checked`,
    /// version and checksum checks accept (what `classify` did with them), trimmed alike.
    #[test]
    fn ipv4_check_in_place_agrees_with_smoltcp(
        bytes in proptest::collection::vec(any::<u8>(), 0..80),
        first in any::<u8>(),
        total in 0u16..90,
        fill in any::<bool>(),
    ) {
        let mut p = bytes;
        if !p.is_empty() {
            p[0] = first;
        }
        if p.len() >= 4 && fill {
            // Often a plausible header, so that the deeper checks run.
            p[0] = 0x40 | (first & 0x0f);
            p[2..4].copy_from_slice(&total.to_be_bytes());
            let hl = usize::from(p[0] & 0x0f) * 4;
            if hl >= 20 && p.len() >= hl {
                smoltcp::wire::Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
            }
        }
        let smol = match smoltcp::wire::Ipv4Packet::new_checked(&p[..]) {
            Ok(ip) if ip.version() == 4 && ip.verify_checksum() => {
                Some(&p[..usize::from(ip.total_len())])
            }
            _ => None,
        };
        let ours = super::stack::ipv4_checked(&p);
        prop_assert_eq!(ours.map(|(_, packet)| packet), smol);
        if let Some((h, packet)) = ours {
            prop_assert_eq!(&h[..], &packet[..20]);
        }
    }

    /// `classify` reads the Ethernet header in place as smoltcp's `EthernetFrame` reads it:
    /// frames for another unicast MAC are counted as such, the rest by their ethertype.
    #[test]
    fn ethernet_header_read_in_place_agrees_with_smoltcp(
        header in proptest::collection::vec(any::<u8>(), 0..20),
        to_us in any::<bool>(),
        ethertype in prop_oneof![Just(0x0800u16), Just(0x0806), Just(0x86dd), any::<u16>()],
    ) {
        let mut f = header;
        if f.len() >= 14 {
            if to_us {
                f[..6].copy_from_slice(WEB_MAC.as_bytes());
            }
            f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        }
        let mut web = web(false);
        let out = web.classify(T0, ETH0, &f);
        let c = web.counters();
        match EthernetFrame::new_checked(&f[..]) {
            Err(_) => prop_assert_eq!(c.malformed_ethernet, 1),
            Ok(eth) => {
                let dst = eth.dst_addr();
                let ours = dst == WEB_MAC || dst.is_broadcast() || dst.is_multicast();
                prop_assert_eq!(c.other_host, u64::from(!ours));
                let known = matches!(
                    eth.ethertype(),
                    EthernetProtocol::Ipv4 | EthernetProtocol::Arp
                );
                prop_assert_eq!(c.unsupported_ethertype, u64::from(ours && !known));
                if let Inbound::Ipv4 { src_mac, .. } = out {
                    prop_assert_eq!(src_mac, eth.src_addr());
                }
            }
        }
    }

    /// The shim's IPv4 header check answers as smoltcp's `verify_checksum`, for intact headers
    /// (checksum filled) and for any bytes.
    #[test]
    fn ipv4_header_check_agrees_with_smoltcp(
        words in 5usize..=15,
        bytes in proptest::collection::vec(any::<u8>(), 60),
        fill in any::<bool>(),
    ) {
        let mut h = bytes[..words * 4].to_vec();
        h[0] = 0x40 | words as u8;
        let mut pkt = smoltcp::wire::Ipv4Packet::new_unchecked(&mut h[..]);
        if fill {
            pkt.fill_checksum();
        }
        let smol = smoltcp::wire::Ipv4Packet::new_unchecked(&h[..]).verify_checksum();
        prop_assert_eq!(super::stack::ipv4_header_valid(&h), smol);
        if fill {
            prop_assert!(smol);
        }
    }
}

/// An IPv4 frame from `src` (at `src_mac`) to `dst`, for `to` (the receiver's MAC).
fn ipv4_frame(
    to: EthernetAddress,
    src_mac: EthernetAddress,
    src: Ipv4Addr,
    dst: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(to.as_bytes());
    f.extend_from_slice(src_mac.as_bytes());
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ipv4_packet(src, dst));
    f
}

proptest! {
    /// The stack's fast paths (neighbour hints in the route cache) send the same frames, keep
    /// the same neighbour table and count the same as the plain lookups, while entries come,
    /// change MAC, lapse and go, and the cache churns through more peers than it holds.
    #[test]
    fn fast_paths_behave_as_the_plain_code(
        ops in proptest::collection::vec((0u8..8, 1u8..10, 0u8..3, 0u64..3000), 1..120),
    ) {
        let config = StackConfig::single(3, DIRECTOR_MAC, cidr24(100)).with_gateway(ip(1));
        let mut fast = LinuxStack::new(config.clone());
        let mut plain = LinuxStack::new_plain(config);
        let mac = |peer: u8, v: u8| EthernetAddress([0x02, 0, 0, v, 0, peer]);
        let mut now = T0;
        for (op, peer, v, dt) in ops {
            now += Duration::from_millis(dt);
            // Peers 1-7 are on-link; 8 and 9 are off-link, behind the gateway (.1).
            let dst = if peer >= 8 { Ipv4Addr::new(10, 9, 9, peer) } else { ip(peer) };
            for s in [&mut fast, &mut plain] {
                match op {
                    0 | 1 => {
                        let _ = s.send_ipv4(now, &ipv4_packet(ip(100), dst));
                    }
                    2 => s.handle_frame(
                        now,
                        ETH0,
                        &arp_frame(DIRECTOR_MAC, ArpOperation::Reply, mac(peer, v), ip(peer), DIRECTOR_MAC, ip(100)),
                    ),
                    3 => s.handle_frame(now, ETH0, &garp(mac(peer, v), ip(peer))),
                    4 => s.handle_frame(now, ETH0, &ipv4_frame(DIRECTOR_MAC, mac(peer, v), dst, ip(100))),
                    5 => {
                        if let Some(r) = s.route(Ipv4Addr::new(192, 168, 80, 200)) {
                            let _ = s.send_ipv4_via(now, r.port, ip(peer), &ipv4_packet(ip(50), ip(200)));
                        }
                    }
                    6 if v == 0 => s.flush_neighbours(ETH0),
                    _ => s.handle_timeout(now),
                }
            }
            let frames = |s: &mut LinuxStack| -> Vec<(PortId, Vec<u8>)> {
                drain(s).into_iter().map(|t| (t.port, t.frame)).collect()
            };
            prop_assert_eq!(frames(&mut fast), frames(&mut plain));
            prop_assert_eq!(fast.neighbours(), plain.neighbours());
            prop_assert_eq!(fast.counters(), plain.counters());
            prop_assert_eq!(fast.poll_timeout(), plain.poll_timeout());
        }
    }
}

proptest! {
    /// The stack's one-pass TCP checksum check answers as smoltcp's `verify_checksum`, for
    /// intact segments (checksum filled) and for any bytes, of any length.
    #[test]
    fn tcp_checksum_check_agrees_with_smoltcp(
        src in any::<[u8; 4]>(),
        dst in any::<[u8; 4]>(),
        segment in proptest::collection::vec(any::<u8>(), 0..120),
        fill in any::<bool>(),
    ) {
        let (s, d) = (Ipv4Addr::from(src).into(), Ipv4Addr::from(dst).into());
        let mut segment = segment;
        if fill && segment.len() >= 18 {
            smoltcp::wire::TcpPacket::new_unchecked(&mut segment[..]).fill_checksum(&s, &d);
        }
        let smol = smoltcp::wire::TcpPacket::new_unchecked(&segment[..]).verify_checksum(&s, &d);
        let mut addresses = [0u8; 8];
        addresses[..4].copy_from_slice(&src);
        addresses[4..].copy_from_slice(&dst);
        prop_assert_eq!(super::stack::tcp_checksum_valid(addresses, &segment), smol);
        if fill && segment.len() >= 18 {
            prop_assert!(smol);
        }
    }

    /// `tcp_checksum_wrong` picks out exactly the packets smoltcp takes apart as IPv4 carrying
    /// TCP and then rejects by the TCP checksum; any other packet is left to smoltcp.
    #[test]
    fn tcp_packets_rejected_as_smoltcp_rejects_them(
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
        ihl in 0u8..16,
        total in 0u16..110,
        tcp in any::<bool>(),
        fill in any::<bool>(),
    ) {
        let mut p = bytes;
        if p.len() >= 20 {
            p[0] = 0x40 | ihl;
            p[2..4].copy_from_slice(&total.to_be_bytes());
            if tcp {
                p[9] = 6;
            }
        }
        // smoltcp's view: the IPv4 packet as `new_checked` cuts it, its payload's checksum.
        let smol_rejects = match smoltcp::wire::Ipv4Packet::new_checked(&p[..]) {
            Ok(ip) if ip.next_header() == smoltcp::wire::IpProtocol::Tcp => {
                let (s, d) = (ip.src_addr().into(), ip.dst_addr().into());
                let len = ip.payload().len();
                let range = usize::from(ip.header_len())..usize::from(ip.header_len()) + len;
                if fill && len >= 18 {
                    let mut seg = p[range.clone()].to_vec();
                    smoltcp::wire::TcpPacket::new_unchecked(&mut seg[..]).fill_checksum(&s, &d);
                    p[range.clone()].copy_from_slice(&seg);
                }
                !smoltcp::wire::TcpPacket::new_unchecked(&p[range]).verify_checksum(&s, &d)
            }
            _ => false,
        };
        prop_assert_eq!(super::stack::tcp_checksum_wrong(&p), smol_rejects);
    }
}

/// Carries frames between two stacks on one LAN (both on eth0) until neither sends; returns
/// every frame, in the order sent.
fn converse(now: Instant, a: &mut LinuxStack, b: &mut LinuxStack) -> Vec<Vec<u8>> {
    let mut log = Vec::new();
    for _ in 0..100 {
        let (ab, ba) = (drain(a), drain(b));
        if ab.is_empty() && ba.is_empty() {
            break;
        }
        for t in ab {
            b.handle_frame(now, ETH0, &t.frame);
            log.push(t.frame);
        }
        for t in ba {
            a.handle_frame(now, ETH0, &t.frame);
            log.push(t.frame);
        }
    }
    log
}

#[test]
fn a_corrupted_tcp_segment_is_dropped_by_the_stack_as_by_smoltcp() {
    // The client's request reaches web-102 once with a flipped payload bit, then intact. Web
    // drops the corrupted copy silently and takes the intact one, whether the stack checks
    // the TCP checksum (the default) or smoltcp does (the plain stack): same frames, same
    // socket, same counters.
    let request = b"GET / HTTP/1.0\r\n\r\n";
    let run = |mut web: LinuxStack| {
        let mut client = client();
        let server = web.add_tcp_socket(1024, 1024);
        web.tcp(server).listen(80).unwrap();
        let conn = client.add_tcp_socket(1024, 1024);
        client
            .tcp_connect(conn, std::net::SocketAddrV4::new(ip(102), 80), 40000)
            .unwrap();
        client.poll(T0);
        let mut log = converse(T0, &mut client, &mut web);
        assert_eq!(web.tcp_ref(server).state(), tcp::State::Established);
        client.tcp(conn).send_slice(request).unwrap();
        client.poll(T0);
        let segment = drain(&mut client);
        assert_eq!(segment.len(), 1, "the request is one segment");
        let intact = segment[0].frame.clone();
        let mut corrupted = intact.clone();
        *corrupted.last_mut().unwrap() ^= 0x01;
        web.handle_frame(T0, ETH0, &corrupted);
        assert_eq!(
            web.tcp_ref(server).recv_queue(),
            0,
            "the corrupted copy is dropped"
        );
        assert!(drain(&mut web).is_empty(), "and not answered");
        web.handle_frame(T0, ETH0, &intact);
        assert_eq!(web.tcp_ref(server).recv_queue(), request.len());
        log.extend(converse(
            T0 + Duration::from_millis(50),
            &mut client,
            &mut web,
        ));
        web.handle_timeout(T0 + Duration::from_millis(50));
        log.extend(converse(
            T0 + Duration::from_millis(50),
            &mut client,
            &mut web,
        ));
        (log, web.counters(), web.poll_timeout())
    };
    let cfg = StackConfig::single(7, WEB_MAC, cidr24(102));
    let ours = run(LinuxStack::new(cfg.clone()));
    let smoltcps = run(LinuxStack::new_plain(cfg));
    assert!(
        ours.0.len() >= 6,
        "ARP, handshake and the delayed ACK: {}",
        ours.0.len()
    );
    assert_eq!(ours, smoltcps);
}
