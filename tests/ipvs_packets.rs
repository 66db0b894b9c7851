//! Packet builders shared by the IPVS integration tests (included with `#[path]`).
#![allow(dead_code)]

use std::net::Ipv4Addr;

use smoltcp::wire::{IpAddress, Ipv4Packet, TcpPacket, UdpPacket};

pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 50);

pub fn rs(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 80, last)
}

/// An IPv4 header (TTL 64, DF set) around `l4` with protocol `proto`.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 20 + l4.len()];
    b[20..].copy_from_slice(l4);
    let mut ip = Ipv4Packet::new_unchecked(&mut b[..]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_total_len((20 + l4.len()) as u16);
    ip.set_ident(0x1234);
    ip.clear_flags();
    ip.set_dont_frag(true);
    ip.set_hop_limit(64);
    ip.set_next_header(proto.into());
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.fill_checksum();
    b
}

/// A TCP segment; `flags` is any of "SAFRP" (SYN ACK FIN RST PSH).
pub fn tcp(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), flags: &str, payload: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 20 + payload.len()];
    t[20..].copy_from_slice(payload);
    {
        let mut p = TcpPacket::new_unchecked(&mut t[..]);
        p.set_src_port(src.1);
        p.set_dst_port(dst.1);
        p.set_seq_number(smoltcp::wire::TcpSeqNumber(1000));
        p.set_ack_number(smoltcp::wire::TcpSeqNumber(if flags.contains('A') {
            1
        } else {
            0
        }));
        p.set_header_len(20);
        p.clear_flags();
        p.set_syn(flags.contains('S'));
        p.set_ack(flags.contains('A'));
        p.set_fin(flags.contains('F'));
        p.set_rst(flags.contains('R'));
        p.set_psh(flags.contains('P'));
        p.set_window_len(64240);
        p.fill_checksum(&IpAddress::Ipv4(src.0), &IpAddress::Ipv4(dst.0));
    }
    ipv4(src.0, dst.0, 6, &t)
}

pub fn udp(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0u8; 8 + payload.len()];
    {
        let mut p = UdpPacket::new_unchecked(&mut u[..]);
        p.set_src_port(src.1);
        p.set_dst_port(dst.1);
        p.set_len((8 + payload.len()) as u16);
        p.payload_mut().copy_from_slice(payload);
        p.fill_checksum(&IpAddress::Ipv4(src.0), &IpAddress::Ipv4(dst.0));
    }
    ipv4(src.0, dst.0, 17, &u)
}

/// Whether the IPv4 header and the TCP/UDP checksum of `pkt` are valid.
pub fn checksums_ok(pkt: &[u8]) -> bool {
    let ip = Ipv4Packet::new_checked(pkt).expect("ipv4");
    if !ip.verify_checksum() {
        return false;
    }
    let (s, d) = (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    );
    match u8::from(ip.next_header()) {
        6 => TcpPacket::new_checked(ip.payload())
            .unwrap()
            .verify_checksum(&s, &d),
        17 => UdpPacket::new_checked(ip.payload())
            .unwrap()
            .verify_checksum(&s, &d),
        _ => true,
    }
}

pub fn rng() -> rand_chacha::ChaCha8Rng {
    use rand_core::SeedableRng;
    rand_chacha::ChaCha8Rng::from_seed([42; 32])
}
