//! Forwarding: what IPVS does to a raw IPv4 packet (`ip_vs_in`, `ip_vs_out`, `ip_vs_xmit.c`).
//!
//! [`Ipvs::process_inbound`] takes a packet addressed to a local address of the director (the
//! VIP) as it reaches LOCAL_IN; [`Ipvs::process_outbound`] takes a packet the director is about
//! to forward, so NAT replies get their source rewritten. Both return a [`Verdict`]; neither
//! panics on any input: malformed packets are counted per [`DropReason`] and dropped.
//!
//! - DR: the IP packet is unchanged but for TTL − 1 (and the header checksum); next hop = RIP.
//! - NAT: destination VIP:vport → RIP:rport inbound, source RIP:rport → VIP:vport on replies;
//!   the L4 checksum is updated incrementally as the kernel does (a bad one stays bad).
//! - TUN: TTL − 1, then an outer IPIP header (TOS with ECN encapsulated, DF copied when
//!   `pmtu_disc`, id 0 with DF, TTL of the inner packet) from `local_addr` to the RIP; the MTU
//!   is the route MTU − 20, and an inner packet with DF that does not fit gets ICMP
//!   frag-needed with that MTU.
//! - A TCP segment without SYN (or with RST) and no entry, a packet for no service, and other
//!   protocols go to the local stack ([`Verdict::LocalDeliver`]), which answers a stray segment
//!   to the VIP with an RST (recorded in E4).
//! - No dest available: ICMP port-unreachable back to the client, packet dropped.
//!
//! Deviations: fragments are dropped (the kernel reassembles them first); packets larger than
//! the MTU without DF are dropped (the kernel fragments them); ICMP errors *about* a
//! connection (`ip_vs_in_icmp`) are handed to the local stack unrelated; SCTP is not handled;
//! a real server whose address is the director's own (LOCALNODE) is not detected.

use std::net::Ipv4Addr;

use rand_core::Rng;
use smoltcp::wire::{IpProtocol, Ipv4Packet};

use super::Ipvs;
use super::conn::{self, ConnId, ConnProto, Direction, NewConn, TcpState};
use super::dest::{DestId, ForwardMethod};
use super::sched::{DestList, SchedInput};
use super::service::{Protocol, ServiceId, ServiceKey};
use super::stats::DropReason;
use crate::time::{Duration, Instant};

/// What the director does with a packet after IPVS has seen it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// Send `packet` (a complete IPv4 packet) to the link-layer next hop `next_hop`: the RIP
    /// for DR, NAT and TUN inbound; for NAT replies, the client's address, which the director
    /// routes (directly or through its gateway).
    Forward { next_hop: Ipv4Addr, packet: Vec<u8> },
    /// Not taken by IPVS: give the unchanged packet to the director's own stack.
    LocalDeliver,
    /// Outbound only: no NAT entry; forward the unchanged packet as usual.
    Pass,
    /// An ICMP error (complete IPv4 packet) for the packet's sender; the packet is dropped.
    Reply(Vec<u8>),
    /// Dropped, and counted under this reason.
    Drop(DropReason),
}

/// [`Verdict`] for the in-place calls ([`Ipvs::process_inbound_in_place`],
/// [`Ipvs::process_outbound_in_place`]): a forwarded packet is the caller's buffer, rewritten.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Action {
    /// Send the rewritten buffer to the link-layer next hop `next_hop` (as
    /// [`Verdict::Forward`]).
    Forward {
        next_hop: Ipv4Addr,
    },
    LocalDeliver,
    Pass,
    Reply(Vec<u8>),
    Drop(DropReason),
}

impl Action {
    /// A non-forwarding verdict as an action.
    fn from_verdict(v: Verdict) -> Action {
        match v {
            // Never reached: forwarding verdicts are built only by the copying calls.
            Verdict::Forward { next_hop, .. } => Action::Forward { next_hop },
            Verdict::LocalDeliver => Action::LocalDeliver,
            Verdict::Pass => Action::Pass,
            Verdict::Reply(p) => Action::Reply(p),
            Verdict::Drop(r) => Action::Drop(r),
        }
    }
}

/// The decision for a packet: rewrite and send it, or a verdict that is not a forward.
enum Step {
    Xmit(Xmit),
    Done(Verdict),
}

/// How to rewrite a packet that is forwarded inbound.
/// Only what the rewrite reads, so that it is returned in registers.
struct Xmit {
    /// The packet's total length.
    len: u16,
    /// Its header length in bytes.
    ihl: u8,
    proto: Protocol,
    df: bool,
    forward: ForwardMethod,
    daddr: Ipv4Addr,
    dport: u16,
}

impl Xmit {
    /// Sends packet `p` by `forward` to the dest at `daddr:dport`.
    #[inline(always)]
    fn of(p: &Parsed, forward: ForwardMethod, daddr: Ipv4Addr, dport: u16) -> Xmit {
        Xmit {
            len: p.total_len,
            ihl: p.hl,
            proto: p.proto,
            df: p.df,
            forward,
            daddr,
            dport,
        }
    }
}

/// The fields of a well-formed TCP/UDP packet that IPVS uses.
#[derive(Clone, Copy, Debug)]
struct Parsed {
    /// Total length (the buffer may hold trailing bytes beyond it). Fields are narrow so the
    /// whole record moves in three registers.
    total_len: u16,
    /// Header length in bytes.
    hl: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: Protocol,
    sport: u16,
    dport: u16,
    /// The TCP flags the state tables read ([`conn::ROW_BITS`] of the header's flag byte; 0
    /// for UDP).
    tcp_flags: u8,
    df: bool,
}

impl Parsed {
    /// The fields of a checked packet: `h` starts its IPv4 header of `hl` bytes, `len` is its
    /// total length, `ports` the first four bytes of its TCP or UDP header.
    #[inline(always)]
    fn read(
        h: &[u8; 20],
        hl: usize,
        len: usize,
        proto: Protocol,
        tcp_flags: u8,
        ports: &[u8; 4],
    ) -> Parsed {
        Parsed {
            total_len: len as u16,
            hl: hl as u8,
            src: Ipv4Addr::new(h[12], h[13], h[14], h[15]),
            dst: Ipv4Addr::new(h[16], h[17], h[18], h[19]),
            proto,
            sport: u16::from_be_bytes([ports[0], ports[1]]),
            dport: u16::from_be_bytes([ports[2], ports[3]]),
            tcp_flags,
            df: h[6] & 0x40 != 0,
        }
    }
}

impl Parsed {
    #[inline]
    fn syn(&self) -> bool {
        self.tcp_flags & 0x02 != 0
    }
    #[inline]
    fn rst(&self) -> bool {
        self.tcp_flags & 0x04 != 0
    }
    /// The state-table row the flags select.
    #[inline]
    fn row(&self) -> u8 {
        conn::tcp_row(self.tcp_flags)
    }
    #[inline]
    fn len(&self) -> usize {
        self.total_len as usize
    }
    #[inline]
    fn ihl(&self) -> usize {
        self.hl as usize
    }
}

enum Parse {
    Ok(Parsed),
    /// Well-formed, but not TCP/UDP.
    Other,
    Bad(DropReason),
}

/// The one's-complement sum of 16-bit big-endian words, folded to 16 bits (smoltcp's
/// `checksum::data` for even lengths; an IPv4 header is always a whole number of words).
///
/// Sums 32-bit words: 2^16 ≡ 1 (mod 2^16 − 1), so folding their sum gives the same value, and
/// it is 0 only when every word is.
#[inline]
fn ones_sum(words: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    if let Ok(h) = <&[u8; 20]>::try_from(words) {
        // A header without options (nearly every packet): five loads, no loop.
        for q in h.as_chunks::<4>().0 {
            sum += u32::from_be_bytes(*q) as u64;
        }
    } else {
        let mut quads = words.chunks_exact(4);
        for q in &mut quads {
            sum += u32::from_be_bytes([q[0], q[1], q[2], q[3]]) as u64;
        }
        for w in quads.remainder().chunks_exact(2) {
            sum += u16::from_be_bytes([w[0], w[1]]) as u64;
        }
    }
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// `ones_sum(h) == 0xffff` for a 20-byte header, summed in native byte order (RFC 1071: the
/// one's-complement sum of byte-swapped words is the byte-swapped sum, and 0xffff is its own
/// swap) as two 64-bit words and a 32-bit one, so no word is swapped or loaded alone.
#[inline(always)]
fn header_sum_ok(h: &[u8; 20]) -> bool {
    let (a, rest) = h.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
    let (b, c) = rest.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
    let c: &[u8; 4] = c.first_chunk().unwrap_or(&[0; 4]);
    let (s, carry) = u64::from_ne_bytes(*a).overflowing_add(u64::from_ne_bytes(*b));
    let (s, carry2) = s.overflowing_add(u32::from_ne_bytes(*c) as u64 + carry as u64);
    // The end-around carry: 2^64 ≡ 1 (mod 2^16 − 1).
    let mut s = s as u128 + carry2 as u128;
    s = (s & 0xffff_ffff_ffff_ffff) + (s >> 64);
    let mut s = s as u64;
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s == 0xffff
}

/// Set an IPv4 header's checksum from scratch (what smoltcp's `fill_checksum` computes).
#[inline]
fn fill_ip_checksum(pkt: &mut [u8]) {
    let ihl = ((pkt[0] & 0x0f) as usize) * 4;
    pkt[10] = 0;
    pkt[11] = 0;
    let c = !ones_sum(&pkt[..ihl]);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Reads the fields IPVS needs straight from the bytes. The checks are exactly smoltcp's
/// `Ipv4Packet::check_len` + `verify_checksum`, `TcpPacket::check_len` and
/// `UdpPacket::check_len` (the tests compare both on malformed input), without building
/// the wrappers on the per-packet path.
#[inline]
fn parse(buf: &[u8]) -> Parse {
    match parse_plain(buf) {
        Some(p) => Parse::Ok(p),
        None => parse_any(buf),
    }
}

/// [`parse`] for the common packet: a valid 20-byte IPv4 header (no options), not a
/// fragment, carrying a valid TCP or UDP header. `None` for anything else, which [`parse_any`]
/// then judges; when `Some`, the result is what `parse_any` returns. Fixed-size views of the
/// two headers leave one length check each.
#[inline(always)]
fn parse_plain(buf: &[u8]) -> Option<Parsed> {
    let h: &[u8; 20] = buf.first_chunk()?;
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    // Version 4, IHL 5; the total length within the buffer and not below the header.
    if h[0] != 0x45 || buf.len() < len || len < 20 {
        return None;
    }
    if !header_sum_ok(h) || h[6] & 0x3f != 0 || h[7] != 0 {
        return None;
    }
    let payload = buf.get(20..len)?;
    let (proto, flags) = match h[9] {
        6 => {
            let t: &[u8; 20] = payload.first_chunk()?;
            let hl = ((t[12] >> 4) as usize) * 4;
            if payload.len() < hl || hl < 20 {
                return None;
            }
            (Protocol::Tcp, t[13] & conn::ROW_BITS)
        }
        17 => {
            let u: &[u8; 8] = payload.first_chunk()?;
            let ul = u16::from_be_bytes([u[4], u[5]]) as usize;
            if payload.len() < ul || ul < 8 {
                return None;
            }
            (Protocol::Udp, 0)
        }
        _ => return None,
    };
    let ports: &[u8; 4] = payload.first_chunk()?;
    Some(Parsed::read(h, 20, len, proto, flags, ports))
}

/// [`parse`] for any input.
#[inline(never)]
fn parse_any(buf: &[u8]) -> Parse {
    if buf.len() < 20 || buf[0] >> 4 != 4 {
        return Parse::Bad(DropReason::Truncated);
    }
    let ihl = ((buf[0] & 0x0f) as usize) * 4;
    let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    if buf.len() < ihl || ihl > len || buf.len() < len || ihl < 20 {
        return Parse::Bad(DropReason::BadHeaderLength);
    }
    if ones_sum(&buf[..ihl]) != 0xffff {
        return Parse::Bad(DropReason::BadChecksum);
    }
    // More-fragments, or a non-zero fragment offset.
    if buf[6] & 0x20 != 0 || u16::from_be_bytes([buf[6] & 0x1f, buf[7]]) != 0 {
        return Parse::Bad(DropReason::Fragment);
    }
    let payload = &buf[ihl..len];
    let (proto, flags) = match buf[9] {
        6 => {
            if payload.len() < 20 {
                return Parse::Bad(DropReason::BadTransportHeader);
            }
            let hl = ((payload[12] >> 4) as usize) * 4;
            if payload.len() < hl || hl < 20 {
                return Parse::Bad(DropReason::BadTransportHeader);
            }
            (Protocol::Tcp, payload[13] & conn::ROW_BITS)
        }
        17 => {
            if payload.len() < 8 {
                return Parse::Bad(DropReason::BadTransportHeader);
            }
            let ul = u16::from_be_bytes([payload[4], payload[5]]) as usize;
            if payload.len() < ul || ul < 8 {
                return Parse::Bad(DropReason::BadTransportHeader);
            }
            (Protocol::Udp, 0)
        }
        _ => return Parse::Other,
    };
    // The length checks above leave at least 20 header and 8 transport bytes.
    match (buf.first_chunk(), payload.first_chunk()) {
        (Some(h), Some(ports)) => Parse::Ok(Parsed::read(h, ihl, len, proto, flags, ports)),
        _ => Parse::Bad(DropReason::BadTransportHeader),
    }
}

fn conn_proto(p: Protocol) -> ConnProto {
    match p {
        Protocol::Tcp => ConnProto::Tcp,
        Protocol::Udp => ConnProto::Udp,
    }
}

/// RFC 1624 incremental update: `csum` after 16-bit words `old` became `new` (both of even
/// length).
#[inline]
fn csum_replace(csum: u16, old: &[u8], new: &[u8]) -> u16 {
    let mut sum: u32 = (!csum) as u32;
    for c in old.chunks_exact(2) {
        sum += (!u16::from_be_bytes([c[0], c[1]])) as u32;
    }
    for c in new.chunks_exact(2) {
        sum += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// `ip_decrease_ttl`: TTL − 1 with an incremental header-checksum update (the header was
/// verified on input, so this equals a full recompute).
#[inline]
fn decrement_ttl(pkt: &mut [u8]) {
    // One length check for the four bytes below (the caller's packet is a verified header).
    let Some(pkt) = pkt.first_chunk_mut::<12>() else {
        return;
    };
    // csum_replace for the one word [ttl, protocol], written out.
    let old = u16::from_be_bytes([pkt[8], pkt[9]]);
    pkt[8] = pkt[8].wrapping_sub(1);
    let new = u16::from_be_bytes([pkt[8], pkt[9]]);
    let mut sum = (!u16::from_be_bytes([pkt[10], pkt[11]])) as u32 + (!old) as u32 + new as u32;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    pkt[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

/// Rewrite one address (at `addr_off` in the IP header) and one port of the L4 header, fixing
/// the IP checksum in full and the L4 checksum incrementally. `ihl` is the IP header length
/// in bytes, `proto` the L4 protocol.
#[allow(clippy::too_many_arguments)]
fn mangle(
    pkt: &mut [u8],
    ihl: usize,
    proto: Protocol,
    addr_off: usize,
    new_addr: Ipv4Addr,
    port_off: usize,
    new_port: u16,
) {
    let old_addr: [u8; 4] = pkt[addr_off..addr_off + 4].try_into().unwrap_or([0; 4]);
    let l4 = ihl;
    let old_port: [u8; 2] = pkt[l4 + port_off..l4 + port_off + 2]
        .try_into()
        .unwrap_or([0; 2]);
    let csum_off = match proto {
        Protocol::Tcp => l4 + 16,
        Protocol::Udp => l4 + 6,
    };
    let old_csum = u16::from_be_bytes([pkt[csum_off], pkt[csum_off + 1]]);
    let udp_no_csum = proto == Protocol::Udp && old_csum == 0;
    if !udp_no_csum {
        let mut c = csum_replace(old_csum, &old_addr, &new_addr.octets());
        c = csum_replace(c, &old_port, &new_port.to_be_bytes());
        if proto == Protocol::Udp && c == 0 {
            c = 0xffff;
        }
        pkt[csum_off..csum_off + 2].copy_from_slice(&c.to_be_bytes());
    }
    pkt[addr_off..addr_off + 4].copy_from_slice(&new_addr.octets());
    pkt[l4 + port_off..l4 + port_off + 2].copy_from_slice(&new_port.to_be_bytes());
    fill_ip_checksum(pkt);
}

/// The largest slice of the offending packet an ICMP error quotes (576 − 20 − 8).
const ICMP_QUOTE: usize = 548;

/// Build an ICMP error about `orig` (a well-formed IP packet) from `src`.
fn icmp_error(
    src: Ipv4Addr,
    orig: &[u8],
    ty: u8,
    code: u8,
    rest: [u8; 4],
    rng: &mut impl Rng,
) -> Vec<u8> {
    let o = Ipv4Packet::new_unchecked(orig);
    let quote = &orig[..orig.len().min(ICMP_QUOTE)];
    let total = 28 + quote.len();
    let mut buf = vec![0u8; total];
    {
        let mut ip = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.set_version(4);
        ip.set_header_len(20);
        // icmp_send: TOS = RT_TOS(orig) | IPTOS_PREC_INTERNETCONTROL.
        let tos = ((o.dscp() << 2 | o.ecn()) & 0x1e) | 0xc0;
        ip.set_dscp(tos >> 2);
        ip.set_ecn(tos & 3);
        ip.set_total_len(total as u16);
        ip.set_ident(rng.next_u32() as u16);
        ip.clear_flags();
        ip.set_hop_limit(64);
        ip.set_next_header(IpProtocol::Icmp);
        ip.set_src_addr(src);
        ip.set_dst_addr(o.src_addr());
        ip.fill_checksum();
    }
    buf[20] = ty;
    buf[21] = code;
    buf[24..28].copy_from_slice(&rest);
    buf[28..].copy_from_slice(quote);
    let mut icmp = smoltcp::wire::Icmpv4Packet::new_unchecked(&mut buf[20..]);
    icmp.fill_checksum();
    buf
}

/// Whether ICMP errors may be sent about a packet from `src` (not to broadcast, multicast or
/// unspecified sources).
fn may_reply(src: Ipv4Addr) -> bool {
    !(src.is_unspecified() || src.is_broadcast() || src.is_multicast())
}

impl Ipvs {
    fn drop(&mut self, r: DropReason) -> Verdict {
        self.drops.count(r);
        Verdict::Drop(r)
    }

    fn local(&mut self) -> Verdict {
        self.drops.local_deliver += 1;
        Verdict::LocalDeliver
    }

    /// An ICMP error back to the sender of `orig`, counted under `r`.
    #[allow(clippy::too_many_arguments)]
    fn reply(
        &mut self,
        r: DropReason,
        src: Ipv4Addr,
        orig: &[u8],
        ty: u8,
        code: u8,
        rest: [u8; 4],
        rng: &mut impl Rng,
    ) -> Verdict {
        self.drops.count(r);
        let o = Ipv4Packet::new_unchecked(orig);
        if !may_reply(o.src_addr()) {
            return Verdict::Drop(r);
        }
        self.drops.icmp_sent += 1;
        Verdict::Reply(icmp_error(src, orig, ty, code, rest, rng))
    }

    /// A packet for a local address (the VIP), without firewall mark.
    pub fn process_inbound(&mut self, now: Instant, packet: &[u8], rng: &mut impl Rng) -> Verdict {
        self.process_inbound_marked(now, 0, packet, rng)
    }

    /// A packet for a local address carrying firewall mark `fwmark` (0 = none); fwmark
    /// services are matched first, as `ip_vs_service_find` does.
    pub fn process_inbound_marked(
        &mut self,
        now: Instant,
        fwmark: u32,
        packet: &[u8],
        rng: &mut impl Rng,
    ) -> Verdict {
        match self.inbound(now, fwmark, packet, rng) {
            Step::Xmit(x) => {
                let mut out = packet[..x.len as usize].to_vec();
                let next_hop = self.rewrite(&x, &mut out, 0, rng);
                Verdict::Forward {
                    next_hop,
                    packet: out,
                }
            }
            Step::Done(v) => v,
        }
    }

    /// [`Ipvs::process_inbound_marked`] without allocating: a forwarded packet is rewritten in
    /// `packet` itself (cut to its IP total length; TUN prepends the outer header) and
    /// [`Action::Forward`] carries only the next hop. Any other outcome leaves `packet` as it
    /// was. Same decisions, counters and bytes as the copying call.
    pub fn process_inbound_in_place(
        &mut self,
        now: Instant,
        fwmark: u32,
        packet: &mut Vec<u8>,
        rng: &mut impl Rng,
    ) -> Action {
        self.process_inbound_in_place_at(now, fwmark, packet, 0, rng)
    }

    /// [`Ipvs::process_inbound_in_place`] for a packet that starts `head` bytes into `buf`;
    /// the bytes before it are left as they are. A director copies a received frame whole and
    /// rewrites the packet behind its Ethernet header, so the buffer goes out as the frame
    /// without a second copy.
    pub fn process_inbound_in_place_at(
        &mut self,
        now: Instant,
        fwmark: u32,
        buf: &mut Vec<u8>,
        head: usize,
        rng: &mut impl Rng,
    ) -> Action {
        let packet = buf.get(head..).unwrap_or(&[]);
        // `inbound` written out, so that the common case returns its action directly.
        let step = match parse_plain(packet) {
            Some(p) => {
                let cid = self
                    .conns
                    .lookup_in(conn_proto(p.proto), p.src, p.sport, p.dst, p.dport);
                if let Some(id) = cid
                    && let Some(x) = self.forward_on(now, id, &p, packet)
                {
                    buf.truncate(head + x.len as usize);
                    return Action::Forward {
                        next_hop: self.rewrite(&x, buf, head, rng),
                    };
                }
                self.inbound_looked_up(now, fwmark, p, &packet[..p.len()], cid, rng)
            }
            None => self.inbound_unusual(now, fwmark, packet, rng),
        };
        match step {
            Step::Xmit(x) => {
                buf.truncate(head + x.len as usize);
                Action::Forward {
                    next_hop: self.rewrite(&x, buf, head, rng),
                }
            }
            Step::Done(v) => Action::from_verdict(v),
        }
    }

    /// Everything `ip_vs_in` decides, up to (not including) rewriting the packet.
    #[inline]
    fn inbound(&mut self, now: Instant, fwmark: u32, packet: &[u8], rng: &mut impl Rng) -> Step {
        let p = match parse_plain(packet) {
            Some(p) => p,
            None => return self.inbound_unusual(now, fwmark, packet, rng),
        };
        let packet = &packet[..p.len()];
        let cid = self
            .conns
            .lookup_in(conn_proto(p.proto), p.src, p.sport, p.dst, p.dport);
        // The common case, an entry to forward on, inline; everything else out of line.
        if let Some(id) = cid
            && let Some(x) = self.forward_on(now, id, &p, packet)
        {
            return Step::Xmit(x);
        }
        self.inbound_looked_up(now, fwmark, p, packet, cid, rng)
    }

    /// [`Ipvs::inbound`] for a packet [`parse_plain`] does not take (IP options, malformed,
    /// not TCP/UDP).
    #[inline(never)]
    fn inbound_unusual(
        &mut self,
        now: Instant,
        fwmark: u32,
        packet: &[u8],
        rng: &mut impl Rng,
    ) -> Step {
        let p = match parse_any(packet) {
            Parse::Ok(p) => p,
            Parse::Other => return Step::Done(self.local()),
            Parse::Bad(r) => return Step::Done(self.drop(r)),
        };
        let packet = &packet[..p.len()];
        let cid = self
            .conns
            .lookup_in(conn_proto(p.proto), p.src, p.sport, p.dst, p.dport);
        self.inbound_looked_up(now, fwmark, p, packet, cid, rng)
    }

    /// The common case of [`Ipvs::inbound_looked_up`]: entry `id` is forwarded on as it is
    /// (no SYN for `conn_reuse_mode` to judge, its dest available, not TUN) and the packet
    /// passes `packet_xmit`'s checks (TTL above 1, within the route MTU). Then it does what
    /// that path does — state, timer, counters — and returns the rewrite; otherwise it
    /// changes nothing and returns `None`.
    #[inline(always)]
    fn forward_on(&mut self, now: Instant, id: ConnId, p: &Parsed, packet: &[u8]) -> Option<Xmit> {
        if self.sysctl.conn_reuse_mode != 0 && p.proto == Protocol::Tcp && p.syn() {
            return None;
        }
        let c = self.conns.get(id)?;
        if !self.dests.get(c.dest).available
            || c.forward == ForwardMethod::Tunnel
            || *packet.get(8)? <= 1
            || p.len() > self.config.route_mtu as usize
        {
            return None;
        }
        let (dest_id, forward, daddr, dport) =
            self.conns
                .touch_in(id, now, p.row(), &self.timeouts_ns, &mut self.dests)?;
        self.count_in(now, dest_id, p.len());
        Some(Xmit::of(p, forward, daddr, dport))
    }

    /// [`Ipvs::inbound`] after the lookup of the packet's entry (`cid`), for everything that
    /// [`Ipvs::forward_on`] does not take: a SYN that may reuse an entry, an unavailable dest,
    /// no entry, TUN, and the checks of `packet_xmit` that fail.
    #[inline(never)]
    fn inbound_looked_up(
        &mut self,
        now: Instant,
        fwmark: u32,
        p: Parsed,
        packet: &[u8],
        cid: Option<ConnId>,
        rng: &mut impl Rng,
    ) -> Step {
        // An entry to forward on as it is; everything else (a SYN that may reuse an entry, an
        // unavailable dest, no entry) in `inbound_slow`, deciding from scratch.
        let id = match cid {
            Some(id)
                if !(self.sysctl.conn_reuse_mode != 0 && p.proto == Protocol::Tcp && p.syn())
                    && self
                        .conns
                        .get(id)
                        .is_some_and(|c| self.dests.get(c.dest).available) =>
            {
                id
            }
            _ => match self.inbound_slow(now, fwmark, p, packet, cid, rng) {
                Ok(id) => id,
                Err(step) => return step,
            },
        };

        // ip_vs_in_stats, ip_vs_set_state, packet_xmit, ip_vs_conn_put. The timer is re-armed
        // with the state change, before the checks of packet_xmit: those touch no entry, so
        // the order is the kernel's in effect.
        let (timeouts, dests) = (&self.timeouts_ns, &mut self.dests);
        let Some((dest_id, forward, daddr, dport)) = self.conns.touch(id, now, |c| {
            conn::set_state(c, Direction::Input, p.row(), timeouts, dests);
            (c.dest, c.forward, c.daddr, c.dport)
        }) else {
            return Step::Done(self.drop(DropReason::DestUnavailable));
        };
        self.count_in(now, dest_id, p.len());
        self.xmit(p, packet, forward, daddr, dport, rng)
    }

    /// [`Ipvs::inbound`] for a packet that is not simply forwarded on its entry: SYN reuse
    /// (`conn_reuse_mode`), an unavailable dest, or a new entry. `Ok` is the entry to forward
    /// on.
    #[inline(never)]
    fn inbound_slow(
        &mut self,
        now: Instant,
        fwmark: u32,
        p: Parsed,
        packet: &[u8],
        cid: Option<ConnId>,
        rng: &mut impl Rng,
    ) -> Result<ConnId, Step> {
        let mut cid = cid;

        // conn_reuse_mode: a SYN hitting an entry that is finished (or whose dest is quiesced
        // with expire_nodest_conn) expires it and is scheduled afresh.
        if let Some(id) = cid
            && self.sysctl.conn_reuse_mode != 0
            && p.proto == Protocol::Tcp
            && p.syn()
            && let Some(c) = self.conns.get(id)
        {
            let weight0 = self.dests.get(c.dest).weight == 0;
            let resched = if self.sysctl.expire_nodest_conn && weight0 {
                true
            } else {
                c.control().is_none()
                    && (matches!(c.state, TcpState::TimeWait | TcpState::Close)
                        || (self.sysctl.conn_reuse_mode & 2 != 0
                            && c.state == TcpState::FinWait
                            && c.no_output))
            };
            if resched {
                self.expire_now(id);
                cid = None;
            }
        }

        if let Some(id) = cid
            && let Some(c) = self.conns.get(id)
            && !self.dests.get(c.dest).available
        {
            if self.sysctl.expire_nodest_conn {
                self.expire_now(id);
                cid = None;
            } else {
                return Err(Step::Done(self.drop(DropReason::DestUnavailable)));
            }
        }

        Ok(match cid {
            Some(id) => id,
            None => {
                let Some(sid) = self.find_service(fwmark, p.proto, p.dst, p.dport) else {
                    return Err(Step::Done(self.local()));
                };
                // Only a SYN (without RST) opens a TCP entry (sloppy_tcp = 0).
                if p.proto == Protocol::Tcp && (!p.syn() || p.rst()) {
                    return Err(Step::Done(self.local()));
                }
                match self.schedule(now, sid, &p, rng) {
                    Some(id) => id,
                    None => {
                        // ip_vs_leave: ICMP port unreachable from the VIP.
                        return Err(Step::Done(self.reply(
                            DropReason::NoDestination,
                            p.dst,
                            packet,
                            3,
                            3,
                            [0; 4],
                            rng,
                        )));
                    }
                }
            }
        })
    }

    #[inline(always)]
    fn count_in(&mut self, now: Instant, dest: DestId, len: usize) {
        let (stats, service) = self.dests.stats_mut(dest);
        stats.count_in(len);
        if let Some(sid) = service
            && let Some(Some(svc)) = self.services.get_mut(sid.0 as usize)
        {
            svc.stats.count_in(len);
        }
        self.total.count_in(len);
        self.mark_stats_dirty(now);
    }

    #[inline]
    fn count_out(&mut self, now: Instant, dest: DestId, len: usize) {
        let (stats, service) = self.dests.stats_mut(dest);
        stats.count_out(len);
        if let Some(sid) = service
            && let Some(Some(svc)) = self.services.get_mut(sid.0 as usize)
        {
            svc.stats.count_out(len);
        }
        self.total.count_out(len);
        self.mark_stats_dirty(now);
    }

    #[inline]
    fn count_conn(&mut self, now: Instant, dest: DestId, sid: ServiceId) {
        self.dests.stats_mut(dest).0.conns += 1;
        if let Some(Some(svc)) = self.services.get_mut(sid.0 as usize) {
            svc.stats.conns += 1;
        }
        self.total.conns += 1;
        self.mark_stats_dirty(now);
    }

    /// `ip_vs_service_find`: fwmark, then protocol/address/port, then the port-0 service.
    #[inline]
    fn find_service(
        &self,
        fwmark: u32,
        proto: Protocol,
        addr: Ipv4Addr,
        port: u16,
    ) -> Option<ServiceId> {
        if fwmark != 0
            && let Some(id) = self.svc_lookup.get(&ServiceKey::Fwmark(fwmark))
        {
            return Some(id);
        }
        let key = ServiceKey::Addr {
            protocol: proto,
            addr,
            port,
        };
        if let Some(id) = self.svc_lookup.get(&key) {
            return Some(id);
        }
        self.svc_lookup.get(&ServiceKey::Addr {
            protocol: proto,
            addr,
            port: 0,
        })
    }

    /// `ip_vs_schedule`: a new entry through the scheduler (or a persistence template).
    fn schedule(
        &mut self,
        now: Instant,
        sid: ServiceId,
        p: &Parsed,
        rng: &mut impl Rng,
    ) -> Option<ConnId> {
        let input = SchedInput {
            now,
            saddr: p.src,
            sport: p.sport,
            daddr: p.dst,
            dport: p.dport,
        };
        let svc = self.services.get_mut(sid.0 as usize)?.as_mut()?;
        let cfg = svc.config;
        let proto = conn_proto(p.proto);
        let (dest_id, template) = match cfg.persistence {
            None => {
                let d = svc.sched.schedule(
                    DestList::new(&svc.dests, &self.dests),
                    cfg.flags,
                    &input,
                    rng,
                )?;
                (d, None)
            }
            Some(pers) => {
                let snet = Ipv4Addr::from(u32::from(p.src) & u32::from(pers.netmask));
                let (tproto, tvaddr, tvport) = match cfg.key {
                    ServiceKey::Fwmark(m) => (ConnProto::Ip, Ipv4Addr::from(m), 0),
                    ServiceKey::Addr { port, .. } => {
                        if p.dport == port && port != 21 {
                            (proto, p.dst, p.dport)
                        } else {
                            (proto, p.dst, 0)
                        }
                    }
                };
                let found = self.conns.lookup_template(tproto, snet, tvaddr, tvport);
                let valid = found.filter(|&t| {
                    self.conns.get(t).is_some_and(|c| {
                        let d = self.dests.get(c.dest);
                        d.available && !(self.sysctl.expire_quiescent_template && d.weight == 0)
                    })
                });
                match valid {
                    Some(t) => (self.conns.get(t)?.dest, Some(t)),
                    None => {
                        if let Some(t) = found {
                            // ip_vs_check_template: invalidated, kept until it expires.
                            self.conns.unhash(t);
                        }
                        let svc = self.services.get_mut(sid.0 as usize)?.as_mut()?;
                        let did = svc.sched.schedule(
                            DestList::new(&svc.dests, &self.dests),
                            cfg.flags,
                            &input,
                            rng,
                        )?;
                        let d = self.dests.get(did);
                        let t = self.conns.insert(
                            now,
                            NewConn {
                                protocol: tproto,
                                caddr: snet,
                                cport: 0,
                                vaddr: tvaddr,
                                vport: tvport,
                                daddr: d.addr,
                                dport: d.port,
                                dest: did,
                                forward: d.forward,
                                template: true,
                                timeout: pers.timeout,
                            },
                        );
                        if let Some(tc) = self.conns.get(t) {
                            conn::bind(tc, &mut self.dests);
                        }
                        (did, Some(t))
                    }
                }
            }
        };
        let d = self.dests.get(dest_id);
        let id = self.conns.insert(
            now,
            NewConn {
                protocol: proto,
                caddr: p.src,
                cport: p.sport,
                vaddr: p.dst,
                vport: p.dport,
                daddr: d.addr,
                dport: if d.port != 0 { d.port } else { p.dport },
                dest: dest_id,
                forward: d.forward,
                template: false,
                // Replaced by the first state transition right after.
                timeout: Duration::from_secs(3),
            },
        );
        if let Some(c) = self.conns.get(id) {
            conn::bind(c, &mut self.dests);
        }
        if let Some(t) = template {
            if let Some(c) = self.conns.get_mut(id) {
                c.set_control(t);
            }
            if let Some(tc) = self.conns.get_mut(t) {
                tc.n_control += 1;
            }
            self.conns.rearm(t, now);
        }
        self.count_conn(now, dest_id, sid);
        Some(id)
    }

    /// `packet_xmit`'s checks for the entry's forwarding method (TTL, MTU); the rewrite itself
    /// is [`Ipvs::rewrite`].
    #[inline]
    fn xmit(
        &mut self,
        p: Parsed,
        packet: &[u8],
        forward: ForwardMethod,
        daddr: Ipv4Addr,
        dport: u16,
        rng: &mut impl Rng,
    ) -> Step {
        // decrement_ttl, then the MTU check (__ip_vs_get_out_rt).
        let ttl = packet[8];
        if ttl <= 1 {
            return Step::Done(self.reply(
                DropReason::TtlExpired,
                p.dst,
                packet,
                11,
                0,
                [0; 4],
                rng,
            ));
        }
        let route_mtu = self.config.route_mtu as usize;
        let mtu = match forward {
            ForwardMethod::Tunnel => {
                let m = route_mtu.saturating_sub(20);
                if m < 68 {
                    return Step::Done(self.drop(DropReason::TunnelMtuTooSmall));
                }
                m
            }
            _ => route_mtu,
        };
        if p.len() > mtu {
            if p.df {
                // The ICMP error quotes the packet as it would have left (TTL already − 1).
                let mut out = packet.to_vec();
                decrement_ttl(&mut out);
                let mut rest = [0u8; 4];
                rest[2..].copy_from_slice(&(mtu as u16).to_be_bytes());
                return Step::Done(self.reply(
                    DropReason::FragNeeded,
                    p.dst,
                    &out,
                    3,
                    4,
                    rest,
                    rng,
                ));
            }
            return Step::Done(self.drop(DropReason::NeedsFragmentation));
        }
        Step::Xmit(Xmit::of(&p, forward, daddr, dport))
    }

    /// Rewrite the packet in `out` from `head` on (exactly `x.len` bytes) for transmission;
    /// returns the next hop.
    #[inline]
    fn rewrite(&self, x: &Xmit, out: &mut Vec<u8>, head: usize, rng: &mut impl Rng) -> Ipv4Addr {
        if let Some(pkt) = out.get_mut(head..) {
            decrement_ttl(pkt);
        }
        // DR sends the packet as it is now; NAT and TUN rewrite more, out of line.
        if x.forward != ForwardMethod::DirectRoute {
            self.rewrite_nat_tun(x, out, head, rng);
        }
        x.daddr
    }

    /// [`Ipvs::rewrite`] for NAT and TUN, after the TTL update.
    #[inline(never)]
    fn rewrite_nat_tun(&self, x: &Xmit, out: &mut Vec<u8>, head: usize, rng: &mut impl Rng) {
        let daddr = x.daddr;
        match x.forward {
            ForwardMethod::DirectRoute => {}
            ForwardMethod::Masquerade => {
                let port_off = 2; // destination port
                let pkt = &mut out[head..];
                mangle(pkt, x.ihl as usize, x.proto, 16, daddr, port_off, x.dport);
            }
            ForwardMethod::Tunnel => {
                let (tos, ttl) = (out[head + 1], out[head + 8]);
                let (dscp, ecn) = (tos >> 2, tos & 3);
                let df = self.sysctl.pmtu_disc && x.df;
                out.splice(head..head, [0u8; 20]);
                let total = (out.len() - head) as u16;
                let mut ip = Ipv4Packet::new_unchecked(&mut out[head..]);
                ip.set_version(4);
                ip.set_header_len(20);
                ip.set_dscp(dscp);
                // INET_ECN_encapsulate: CE inside becomes ECT(0) outside.
                ip.set_ecn(if ecn == 3 { 2 } else { ecn });
                ip.set_total_len(total);
                ip.set_ident(if df { 0 } else { rng.next_u32() as u16 });
                ip.clear_flags();
                ip.set_dont_frag(df);
                ip.set_hop_limit(ttl);
                ip.set_next_header(IpProtocol::from(4u8));
                ip.set_src_addr(self.config.local_addr);
                ip.set_dst_addr(daddr);
                ip.fill_checksum();
            }
        }
    }

    /// A packet the director forwards (from a real server, say). A reply on a NAT entry gets
    /// source RIP:rport → VIP:vport; anything else is [`Verdict::Pass`]. TTL − 1 and the MTU
    /// check stand for `ip_forward`, which runs before IPVS's FORWARD hook.
    pub fn process_outbound(&mut self, now: Instant, packet: &[u8], rng: &mut impl Rng) -> Verdict {
        match self.outbound(now, packet, rng) {
            Ok((p, vaddr, vport)) => {
                let mut out = packet[..p.len()].to_vec();
                rewrite_reply(&mut out, &p, vaddr, vport);
                Verdict::Forward {
                    next_hop: p.dst,
                    packet: out,
                }
            }
            Err(v) => v,
        }
    }

    /// [`Ipvs::process_outbound`] rewriting `packet` in place, as
    /// [`Ipvs::process_inbound_in_place`] does.
    pub fn process_outbound_in_place(
        &mut self,
        now: Instant,
        packet: &mut Vec<u8>,
        rng: &mut impl Rng,
    ) -> Action {
        match self.outbound(now, packet, rng) {
            Ok((p, vaddr, vport)) => {
                packet.truncate(p.len());
                rewrite_reply(packet, &p, vaddr, vport);
                Action::Forward { next_hop: p.dst }
            }
            Err(v) => Action::from_verdict(v),
        }
    }

    /// `ip_vs_out`'s decision: `Ok` with the VIP:vport the reply's source becomes.
    #[inline]
    fn outbound(
        &mut self,
        now: Instant,
        packet: &[u8],
        rng: &mut impl Rng,
    ) -> Result<(Parsed, Ipv4Addr, u16), Verdict> {
        let p = match parse(packet) {
            Parse::Ok(p) => p,
            Parse::Other => {
                self.drops.passed += 1;
                return Err(Verdict::Pass);
            }
            Parse::Bad(r) => return Err(self.drop(r)),
        };
        let packet = &packet[..p.len()];
        let proto = conn_proto(p.proto);
        let Some(id) = self.conns.lookup_out(proto, p.src, p.sport, p.dst, p.dport) else {
            self.drops.passed += 1;
            return Err(Verdict::Pass);
        };
        let local = self.config.local_addr;
        let ttl = packet[8];
        if ttl <= 1 {
            return Err(self.reply(DropReason::TtlExpired, local, packet, 11, 0, [0; 4], rng));
        }
        let mtu = self.config.route_mtu as usize;
        if p.len() > mtu {
            if p.df {
                let mut rest = [0u8; 4];
                rest[2..].copy_from_slice(&(mtu as u16).to_be_bytes());
                return Err(self.reply(DropReason::FragNeeded, local, packet, 3, 4, rest, rng));
            }
            return Err(self.drop(DropReason::NeedsFragmentation));
        }
        let (timeouts, dests) = (&self.timeouts_ns, &mut self.dests);
        let Some((dest_id, vaddr, vport)) = self.conns.touch(id, now, |c| {
            conn::set_state(c, Direction::Output, p.row(), timeouts, dests);
            (c.dest, c.vaddr, c.vport)
        }) else {
            self.drops.passed += 1;
            return Err(Verdict::Pass);
        };
        self.count_out(now, dest_id, p.len());
        Ok((p, vaddr, vport))
    }
}

/// A NAT reply leaves with TTL − 1 and source VIP:vport.
#[inline]
fn rewrite_reply(out: &mut [u8], p: &Parsed, vaddr: Ipv4Addr, vport: u16) {
    decrement_ttl(out);
    mangle(out, p.ihl(), p.proto, 12, vaddr, 0, vport);
}

#[cfg(test)]
mod tests {
    use super::conn::TcpFlags;
    use super::*;
    use proptest::prelude::*;
    use smoltcp::wire::{IpAddress, TcpPacket, UdpPacket};

    /// The parse this module had before it read the bytes itself: smoltcp's checked wrappers.
    fn parse_with_smoltcp(buf: &[u8]) -> Parse {
        if buf.len() < 20 || buf[0] >> 4 != 4 {
            return Parse::Bad(DropReason::Truncated);
        }
        let ip = match Ipv4Packet::new_checked(buf) {
            Ok(p) => p,
            Err(_) => return Parse::Bad(DropReason::BadHeaderLength),
        };
        if !ip.verify_checksum() {
            return Parse::Bad(DropReason::BadChecksum);
        }
        if ip.more_frags() || ip.frag_offset() != 0 {
            return Parse::Bad(DropReason::Fragment);
        }
        let ihl = ip.header_len() as usize;
        let len = ip.total_len() as usize;
        let payload = &buf[ihl..len];
        let (proto, sport, dport, flags) = match ip.next_header() {
            IpProtocol::Tcp => {
                let Ok(t) = TcpPacket::new_checked(payload) else {
                    return Parse::Bad(DropReason::BadTransportHeader);
                };
                let flags = TcpFlags {
                    syn: t.syn(),
                    fin: t.fin(),
                    ack: t.ack(),
                    rst: t.rst(),
                };
                (Protocol::Tcp, t.src_port(), t.dst_port(), flags)
            }
            IpProtocol::Udp => {
                let Ok(u) = UdpPacket::new_checked(payload) else {
                    return Parse::Bad(DropReason::BadTransportHeader);
                };
                (
                    Protocol::Udp,
                    u.src_port(),
                    u.dst_port(),
                    TcpFlags::default(),
                )
            }
            _ => return Parse::Other,
        };
        Parse::Ok(Parsed {
            total_len: len as u16,
            hl: ihl as u8,
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            proto,
            sport,
            dport,
            tcp_flags: flags.bits(),
            df: ip.dont_frag(),
        })
    }

    fn summary(p: Parse) -> String {
        match p {
            Parse::Ok(p) => format!(
                "ok {} {} {} {} {:?} {} {} {:?} {}",
                p.len(),
                p.ihl(),
                p.src,
                p.dst,
                p.proto,
                p.sport,
                p.dport,
                TcpFlags::from_bits(p.tcp_flags),
                p.df
            ),
            Parse::Other => "other".into(),
            Parse::Bad(r) => format!("bad {r:?}"),
        }
    }

    /// A well-formed IPv4 header of `ihl` words carrying `proto`, `l4_len` bytes after it.
    /// 40 bytes of transport header from client port `1000 + sport` to the test services
    /// (UDP 53 for protocol 17, else TCP 80), with TCP data offset 5 and `flags`.
    fn l4_header(sport: u16, proto: u8, flags: u8) -> Vec<u8> {
        let mut l4 = vec![0u8; 40];
        l4[0..2].copy_from_slice(&(1000 + sport).to_be_bytes());
        l4[2..4].copy_from_slice(&(if proto == 17 { 53u16 } else { 80u16 }).to_be_bytes());
        l4[4..6].copy_from_slice(&40u16.to_be_bytes());
        l4[12] = 0x50;
        l4[13] = flags;
        l4
    }

    fn packet(ihl: u8, proto: u8, l4: &[u8], frag: u16, extra: usize) -> Vec<u8> {
        let hl = ihl as usize * 4;
        let mut b = vec![0u8; hl + l4.len() + extra];
        b[0] = 0x40 | ihl;
        b[2..4].copy_from_slice(&((hl + l4.len()) as u16).to_be_bytes());
        b[6..8].copy_from_slice(&frag.to_be_bytes());
        b[8] = 64;
        b[9] = proto;
        b[12..16].copy_from_slice(&[10, 0, 0, 1]);
        b[16..20].copy_from_slice(&[192, 168, 80, 200]);
        b[hl..hl + l4.len()].copy_from_slice(l4);
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        b
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Arbitrary bytes, and near-valid packets with one field bent: both parses agree.
        #[test]
        fn parse_agrees_with_smoltcp(
            ihl in 0u8..16,
            proto in prop_oneof![Just(6u8), Just(17u8), Just(1u8), any::<u8>()],
            l4 in proptest::collection::vec(any::<u8>(), 0..64),
            frag in prop_oneof![Just(0u16), Just(0x4000u16), any::<u16>()],
            extra in 0usize..4,
            poke in proptest::option::of((0usize..80, any::<u8>())),
            refill in any::<bool>(),
            raw in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut b = packet(ihl.max(5), proto, &l4, frag, extra);
            b[0] = 0x40 | ihl;
            if let Some((i, v)) = poke && i < b.len() {
                b[i] = v;
            }
            if refill && b.len() >= 20 && b[0] >> 4 == 4 {
                let hl = ((b[0] & 0x0f) as usize * 4).clamp(20, b.len());
                b[10] = 0;
                b[11] = 0;
                let c = !ones_sum(&b[..hl & !1]);
                b[10..12].copy_from_slice(&c.to_be_bytes());
            }
            prop_assert_eq!(summary(parse(&b)), summary(parse_with_smoltcp(&b)));
            prop_assert_eq!(summary(parse(&raw)), summary(parse_with_smoltcp(&raw)));
        }

        /// The written-out TTL update equals the general RFC 1624 one.
        #[test]
        fn decrement_ttl_matches_csum_replace(mut h in proptest::collection::vec(any::<u8>(), 20)) {
            let old = [h[8], h[9]];
            let want = csum_replace(
                u16::from_be_bytes([h[10], h[11]]),
                &old,
                &[old[0].wrapping_sub(1), old[1]],
            );
            decrement_ttl(&mut h);
            prop_assert_eq!(h[8], old[0].wrapping_sub(1));
            prop_assert_eq!(u16::from_be_bytes([h[10], h[11]]), want);
        }

        /// The native-order header check equals the big-endian sum, for headers with a
        /// correct checksum (refilled), a bent one, and all-zero ones.
        #[test]
        fn header_sum_ok_matches_ones_sum(
            mut h in proptest::collection::vec(any::<u8>(), 20),
            refill in any::<bool>(),
            zero in any::<bool>(),
        ) {
            if zero {
                h.iter_mut().for_each(|b| *b = 0);
            } else if refill {
                h[10] = 0;
                h[11] = 0;
                let c = !ones_sum(&h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
            }
            let a: &[u8; 20] = h.first_chunk().unwrap();
            prop_assert_eq!(header_sum_ok(a), ones_sum(&h) == 0xffff);
        }

        /// The in-place header checksum equals smoltcp's.
        #[test]
        fn fill_ip_checksum_matches_smoltcp(mut h in proptest::collection::vec(any::<u8>(), 60)) {
            h[0] = 0x40 | (h[0] & 0x0f).max(5);
            let mut a = h.clone();
            fill_ip_checksum(&mut a);
            Ipv4Packet::new_unchecked(&mut h[..]).fill_checksum();
            prop_assert_eq!(a, h);
        }
    }

    /// TCP and UDP services on the test packets' destination, each with a DR, a NAT and a
    /// TUN dest (weights 1-3), and a route MTU of `mtu`.
    fn lab(mtu: u16) -> super::super::Ipvs {
        lab_with(mtu, false)
    }

    /// [`lab`], the TCP service persistent (30 s) or not.
    fn lab_with(mtu: u16, persistent: bool) -> super::super::Ipvs {
        use super::super::{DestConfig, IpvsConfig, Persistence, ServiceConfig};
        let mut ipvs = super::super::Ipvs::new(IpvsConfig {
            local_addr: Ipv4Addr::new(192, 168, 80, 100),
            route_mtu: mtu,
        });
        let vip = Ipv4Addr::new(192, 168, 80, 200);
        for key in [ServiceKey::tcp(vip, 80), ServiceKey::udp(vip, 53)] {
            let mut cfg = ServiceConfig::new(key);
            if persistent && key == ServiceKey::tcp(vip, 80) {
                cfg = cfg.persistent(Persistence::new(Duration::from_secs(30)));
            }
            ipvs.add_service(cfg).unwrap();
            for (i, fwd) in [
                ForwardMethod::DirectRoute,
                ForwardMethod::Masquerade,
                ForwardMethod::Tunnel,
            ]
            .into_iter()
            .enumerate()
            {
                let rip = Ipv4Addr::new(192, 168, 80, 102 + i as u8);
                let port = if key == ServiceKey::udp(vip, 53) {
                    53
                } else {
                    80
                };
                let cfg = DestConfig::new(rip, port).forward(fwd).weight(1 + i as u32);
                ipvs.add_dest(&key, cfg).unwrap();
            }
        }
        ipvs
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A packet behind `head` bytes of headroom gets the same decisions, state, counters
        /// and bytes as the same packet at the start of its buffer, and the headroom is kept:
        /// over new and established connections, DR, NAT and TUN, TTL 1, packets over the
        /// MTU, trailing bytes and malformed packets, with time and expiries in between.
        #[test]
        fn in_place_at_matches_in_place(
            headroom in proptest::collection::vec(any::<u8>(), 0..24),
            mtu in prop_oneof![Just(1500u16), Just(60u16)],
            steps in proptest::collection::vec(
                (
                    0u8..4,
                    0u16..3,
                    prop_oneof![Just(0x02u8), Just(0x10u8), Just(0x11u8), Just(0x04u8), any::<u8>()],
                    prop_oneof![Just(6u8), Just(17u8), Just(1u8)],
                    prop_oneof![Just(64u8), Just(1u8)],
                    0usize..3,
                    proptest::option::of((0usize..48, any::<u8>())),
                    0u64..200_000,
                ),
                1..60,
            ),
        ) {
            use rand_core::SeedableRng;
            let (mut a, mut b) = (lab(mtu), lab(mtu));
            let mut ra = rand_chacha::ChaCha12Rng::seed_from_u64(7);
            let mut rb = rand_chacha::ChaCha12Rng::seed_from_u64(7);
            let mut now = Instant::ZERO;
            for (client, sport, flags, proto, ttl, extra, poke, wait_ms) in steps {
                now += Duration::from_millis(wait_ms);
                a.handle_timeout(now);
                b.handle_timeout(now);
                let l4 = l4_header(sport, proto, flags);
                let mut p = packet(5, proto, &l4, 0x4000, extra);
                p[8] = ttl;
                p[15] = 1 + client;
                Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
                if let Some((i, v)) = poke && i < p.len() {
                    p[i] = v;
                }
                let mut plain = p.clone();
                let mut buf = headroom.clone();
                buf.extend_from_slice(&p);
                let x = a.process_inbound_in_place(now, 0, &mut plain, &mut ra);
                let y = b.process_inbound_in_place_at(now, 0, &mut buf, headroom.len(), &mut rb);
                prop_assert_eq!(&x, &y);
                prop_assert_eq!(&buf[..headroom.len()], &headroom[..]);
                prop_assert_eq!(&buf[headroom.len()..], &plain[..]);
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
            }
        }
    }

    /// What can be seen of an IPVS: entries (without their timer bookkeeping), dests,
    /// counters and estimates.
    fn observable(ipvs: &super::super::Ipvs) -> String {
        let conns: Vec<String> = ipvs
            .conns()
            .iter()
            .map(|(id, c)| {
                format!(
                    "{id:?} {:?} {}:{} {}:{} {}:{} {:?} {:?} {:?} t{} i{} n{} {:?} {:?} {:?} h{}",
                    c.protocol,
                    c.caddr,
                    c.cport,
                    c.vaddr,
                    c.vport,
                    c.daddr,
                    c.dport,
                    c.dest,
                    c.forward,
                    c.state,
                    c.template,
                    c.inactive,
                    c.n_control,
                    c.control(),
                    c.timeout(),
                    c.expires,
                    c.hashed,
                )
            })
            .collect();
        format!(
            "{conns:?} {:?} {:?} {:?} {:?}",
            ipvs.dest_table(),
            ipvs.total_stats(),
            ipvs.drops(),
            ipvs.estimated_total_stats()
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Settling the timers (`poll_timeout_mut`) changes when IPVS asks to be woken, not
        /// what happens: driven to every deadline either form asks for, an IPVS on the plain
        /// `poll_timeout` and one on `poll_timeout_mut` hold the same entries, counters and
        /// estimates at every instant, and the settled deadline is never earlier than the
        /// plain one nor later than the next expiry.
        #[test]
        fn settled_timers_expire_entries_at_the_same_times(
            persistent in any::<bool>(),
            short in any::<bool>(),
            steps in proptest::collection::vec(
                (
                    0u8..3,
                    0u16..3,
                    prop_oneof![Just(0x02u8), Just(0x10u8), Just(0x11u8), Just(0x04u8), any::<u8>()],
                    prop_oneof![3 => Just(6u8), 1 => Just(17u8)],
                    prop_oneof![Just(0u64), 0u64..2_000, 0u64..200_000],
                ),
                1..80,
            ),
        ) {
            use rand_core::SeedableRng;
            let (mut a, mut b) = (lab_with(1500, persistent), lab_with(1500, persistent));
            if short {
                for ipvs in [&mut a, &mut b] {
                    ipvs.set_timeouts(Duration::from_secs(5), Duration::from_secs(3), Duration::from_secs(4));
                }
            }
            let mut ra = rand_chacha::ChaCha12Rng::seed_from_u64(7);
            let mut rb = rand_chacha::ChaCha12Rng::seed_from_u64(7);
            let mut now = Instant::ZERO;
            for (client, sport, flags, proto, wait_ms) in steps {
                let until = now + Duration::from_millis(wait_ms);
                loop {
                    let plain = a.poll_timeout();
                    let settled = b.poll_timeout_mut();
                    // Settling only drops or postpones timers.
                    let later = match (plain, settled) {
                        (_, None) => true,
                        (Some(p), Some(s)) => s >= p,
                        (None, Some(_)) => false,
                    };
                    prop_assert!(later, "{:?} before {:?}", settled, plain);
                    let Some(t) = [plain, settled].into_iter().flatten().min().filter(|&t| t <= until) else {
                        break;
                    };
                    let t = t.max(now);
                    a.handle_timeout(t);
                    b.handle_timeout(t);
                    now = t;
                    prop_assert_eq!(observable(&a), observable(&b));
                }
                now = until;
                let l4 = l4_header(sport, proto, flags);
                let mut p = packet(5, proto, &l4, 0x4000, 0);
                p[15] = 1 + client;
                Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
                let (mut pa, mut pb) = (p.clone(), p);
                let x = a.process_inbound_in_place(now, 0, &mut pa, &mut ra);
                let y = b.process_inbound_in_place(now, 0, &mut pb, &mut rb);
                prop_assert_eq!(x, y);
                prop_assert_eq!(pa, pb);
                prop_assert_eq!(observable(&a), observable(&b));
            }
        }
    }

    #[test]
    fn incremental_checksum_matches_full_recompute() {
        // A UDP datagram: change the destination address and port, compare with smoltcp.
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let (d1, d2) = (Ipv4Addr::new(10, 0, 0, 200), Ipv4Addr::new(10, 0, 0, 7));
        let mut udp = [0u8; 8 + 5];
        {
            let mut u = UdpPacket::new_unchecked(&mut udp[..]);
            u.set_src_port(1234);
            u.set_dst_port(80);
            u.set_len(13);
            u.payload_mut().copy_from_slice(b"hello");
            u.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(d1));
        }
        let old = UdpPacket::new_unchecked(&udp[..]).checksum();
        let mut c = csum_replace(old, &d1.octets(), &d2.octets());
        c = csum_replace(c, &80u16.to_be_bytes(), &8080u16.to_be_bytes());
        let mut u = UdpPacket::new_unchecked(&mut udp[..]);
        u.set_dst_port(8080);
        u.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(d2));
        assert_eq!(c, u.checksum());
    }
}
