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
use smoltcp::wire::{IpProtocol, Ipv4Packet, TcpPacket, UdpPacket};

use super::Ipvs;
use super::conn::{self, ConnId, ConnProto, Direction, NewConn, TcpFlags, TcpState};
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

/// The fields of a well-formed TCP/UDP packet that IPVS uses.
#[derive(Clone, Copy, Debug)]
struct Parsed {
    /// Total length (the buffer may hold trailing bytes beyond it).
    len: usize,
    ihl: usize,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: Protocol,
    sport: u16,
    dport: u16,
    flags: TcpFlags,
    df: bool,
}

enum Parse {
    Ok(Parsed),
    /// Well-formed, but not TCP/UDP.
    Other,
    Bad(DropReason),
}

fn parse(buf: &[u8]) -> Parse {
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
        len,
        ihl,
        src: ip.src_addr(),
        dst: ip.dst_addr(),
        proto,
        sport,
        dport,
        flags,
        df: ip.dont_frag(),
    })
}

fn conn_proto(p: Protocol) -> ConnProto {
    match p {
        Protocol::Tcp => ConnProto::Tcp,
        Protocol::Udp => ConnProto::Udp,
    }
}

/// RFC 1624 incremental update: `csum` after 16-bit words `old` became `new`.
fn csum_replace(csum: u16, old: &[u8], new: &[u8]) -> u16 {
    let mut sum: u32 = (!csum) as u32;
    for c in old.chunks(2) {
        sum += (!u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])) as u32;
    }
    for c in new.chunks(2) {
        sum += u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// `ip_decrease_ttl`: TTL − 1 with an incremental header-checksum update (the header was
/// verified on input, so this equals a full recompute).
fn decrement_ttl(pkt: &mut [u8]) {
    let old = [pkt[8], pkt[9]];
    pkt[8] = old[0].wrapping_sub(1);
    let c = csum_replace(
        u16::from_be_bytes([pkt[10], pkt[11]]),
        &old,
        &[pkt[8], pkt[9]],
    );
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Rewrite one address (at `addr_off` in the IP header) and one port of the L4 header, fixing
/// the IP checksum in full and the L4 checksum incrementally.
fn mangle(
    pkt: &mut [u8],
    p: &Parsed,
    addr_off: usize,
    new_addr: Ipv4Addr,
    port_off: usize,
    new_port: u16,
) {
    let old_addr: [u8; 4] = pkt[addr_off..addr_off + 4].try_into().unwrap_or([0; 4]);
    let l4 = p.ihl;
    let old_port: [u8; 2] = pkt[l4 + port_off..l4 + port_off + 2]
        .try_into()
        .unwrap_or([0; 2]);
    let csum_off = match p.proto {
        Protocol::Tcp => l4 + 16,
        Protocol::Udp => l4 + 6,
    };
    let old_csum = u16::from_be_bytes([pkt[csum_off], pkt[csum_off + 1]]);
    let udp_no_csum = p.proto == Protocol::Udp && old_csum == 0;
    if !udp_no_csum {
        let mut c = csum_replace(old_csum, &old_addr, &new_addr.octets());
        c = csum_replace(c, &old_port, &new_port.to_be_bytes());
        if p.proto == Protocol::Udp && c == 0 {
            c = 0xffff;
        }
        pkt[csum_off..csum_off + 2].copy_from_slice(&c.to_be_bytes());
    }
    pkt[addr_off..addr_off + 4].copy_from_slice(&new_addr.octets());
    pkt[l4 + port_off..l4 + port_off + 2].copy_from_slice(&new_port.to_be_bytes());
    Ipv4Packet::new_unchecked(&mut pkt[..]).fill_checksum();
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
        let p = match parse(packet) {
            Parse::Ok(p) => p,
            Parse::Other => return self.local(),
            Parse::Bad(r) => return self.drop(r),
        };
        let packet = &packet[..p.len];
        let proto = conn_proto(p.proto);
        let mut cid = self.conns.lookup_in(proto, p.src, p.sport, p.dst, p.dport);

        // conn_reuse_mode: a SYN hitting an entry that is finished (or whose dest is quiesced
        // with expire_nodest_conn) expires it and is scheduled afresh.
        if let Some(id) = cid
            && self.sysctl.conn_reuse_mode != 0
            && p.proto == Protocol::Tcp
            && p.flags.syn
            && let Some(c) = self.conns.get(id)
        {
            let weight0 = self.dests.get(c.dest).weight == 0;
            let resched = if self.sysctl.expire_nodest_conn && weight0 {
                true
            } else {
                c.control.is_none()
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
                return self.drop(DropReason::DestUnavailable);
            }
        }

        let id = match cid {
            Some(id) => id,
            None => {
                let Some(sid) = self.find_service(fwmark, p.proto, p.dst, p.dport) else {
                    return self.local();
                };
                // Only a SYN (without RST) opens a TCP entry (sloppy_tcp = 0).
                if p.proto == Protocol::Tcp && (!p.flags.syn || p.flags.rst) {
                    return self.local();
                }
                match self.schedule(now, sid, &p, rng) {
                    Some(id) => id,
                    None => {
                        // ip_vs_leave: ICMP port unreachable from the VIP.
                        return self.reply(
                            DropReason::NoDestination,
                            p.dst,
                            packet,
                            3,
                            3,
                            [0; 4],
                            rng,
                        );
                    }
                }
            }
        };

        // ip_vs_in_stats, ip_vs_set_state, packet_xmit, ip_vs_conn_put.
        let Some(c) = self.conns.get_mut(id) else {
            return self.drop(DropReason::DestUnavailable);
        };
        let dest_id = c.dest;
        conn::set_state(
            c,
            Direction::Input,
            p.flags,
            &self.timeouts,
            &mut self.dests,
        );
        let (forward, daddr, dport) = (c.forward, c.daddr, c.dport);
        self.count_in(now, dest_id, p.len);
        let verdict = self.xmit(&p, packet, forward, daddr, dport, rng);
        self.conns.rearm(id, now);
        verdict
    }

    fn count_in(&mut self, now: Instant, dest: DestId, len: usize) {
        let d = self.dests.get_mut(dest);
        d.stats.count_in(len);
        if let Some(sid) = d.service
            && let Some(Some(svc)) = self.services.get_mut(sid.0 as usize)
        {
            svc.stats.count_in(len);
        }
        self.total.count_in(len);
        self.mark_stats_dirty(now);
    }

    fn count_out(&mut self, now: Instant, dest: DestId, len: usize) {
        let d = self.dests.get_mut(dest);
        d.stats.count_out(len);
        if let Some(sid) = d.service
            && let Some(Some(svc)) = self.services.get_mut(sid.0 as usize)
        {
            svc.stats.count_out(len);
        }
        self.total.count_out(len);
        self.mark_stats_dirty(now);
    }

    fn count_conn(&mut self, now: Instant, dest: DestId, sid: ServiceId) {
        self.dests.get_mut(dest).stats.conns += 1;
        if let Some(Some(svc)) = self.services.get_mut(sid.0 as usize) {
            svc.stats.conns += 1;
        }
        self.total.conns += 1;
        self.mark_stats_dirty(now);
    }

    /// `ip_vs_service_find`: fwmark, then protocol/address/port, then the port-0 service.
    fn find_service(
        &self,
        fwmark: u32,
        proto: Protocol,
        addr: Ipv4Addr,
        port: u16,
    ) -> Option<ServiceId> {
        if fwmark != 0
            && let Some(&id) = self.svc_index.get(&ServiceKey::Fwmark(fwmark))
        {
            return Some(id);
        }
        let key = ServiceKey::Addr {
            protocol: proto,
            addr,
            port,
        };
        if let Some(&id) = self.svc_index.get(&key) {
            return Some(id);
        }
        self.svc_index
            .get(&ServiceKey::Addr {
                protocol: proto,
                addr,
                port: 0,
            })
            .copied()
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
                c.control = Some(t);
            }
            if let Some(tc) = self.conns.get_mut(t) {
                tc.n_control += 1;
            }
            self.conns.rearm(t, now);
        }
        self.count_conn(now, dest_id, sid);
        Some(id)
    }

    /// `packet_xmit` for the entry's forwarding method.
    fn xmit(
        &mut self,
        p: &Parsed,
        packet: &[u8],
        forward: ForwardMethod,
        daddr: Ipv4Addr,
        dport: u16,
        rng: &mut impl Rng,
    ) -> Verdict {
        // decrement_ttl, then the MTU check (__ip_vs_get_out_rt).
        let ttl = packet[8];
        if ttl <= 1 {
            return self.reply(DropReason::TtlExpired, p.dst, packet, 11, 0, [0; 4], rng);
        }
        let route_mtu = self.config.route_mtu as usize;
        let mtu = match forward {
            ForwardMethod::Tunnel => {
                let m = route_mtu.saturating_sub(20);
                if m < 68 {
                    return self.drop(DropReason::TunnelMtuTooSmall);
                }
                m
            }
            _ => route_mtu,
        };
        let mut out = packet.to_vec();
        decrement_ttl(&mut out);
        if p.len > mtu {
            if p.df {
                let mut rest = [0u8; 4];
                rest[2..].copy_from_slice(&(mtu as u16).to_be_bytes());
                return self.reply(DropReason::FragNeeded, p.dst, &out, 3, 4, rest, rng);
            }
            return self.drop(DropReason::NeedsFragmentation);
        }
        match forward {
            ForwardMethod::DirectRoute => Verdict::Forward {
                next_hop: daddr,
                packet: out,
            },
            ForwardMethod::Masquerade => {
                let port_off = 2; // destination port
                mangle(&mut out, p, 16, daddr, port_off, dport);
                Verdict::Forward {
                    next_hop: daddr,
                    packet: out,
                }
            }
            ForwardMethod::Tunnel => {
                let inner = Ipv4Packet::new_unchecked(&out[..]);
                let (dscp, ecn, ttl) = (inner.dscp(), inner.ecn(), inner.hop_limit());
                let df = self.sysctl.pmtu_disc && p.df;
                let mut pkt = vec![0u8; 20];
                pkt.extend_from_slice(&out);
                let total = pkt.len() as u16;
                let mut ip = Ipv4Packet::new_unchecked(&mut pkt[..]);
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
                Verdict::Forward {
                    next_hop: daddr,
                    packet: pkt,
                }
            }
        }
    }

    /// A packet the director forwards (from a real server, say). A reply on a NAT entry gets
    /// source RIP:rport → VIP:vport; anything else is [`Verdict::Pass`]. TTL − 1 and the MTU
    /// check stand for `ip_forward`, which runs before IPVS's FORWARD hook.
    pub fn process_outbound(&mut self, now: Instant, packet: &[u8], rng: &mut impl Rng) -> Verdict {
        let p = match parse(packet) {
            Parse::Ok(p) => p,
            Parse::Other => {
                self.drops.passed += 1;
                return Verdict::Pass;
            }
            Parse::Bad(r) => return self.drop(r),
        };
        let packet = &packet[..p.len];
        let proto = conn_proto(p.proto);
        let Some(id) = self.conns.lookup_out(proto, p.src, p.sport, p.dst, p.dport) else {
            self.drops.passed += 1;
            return Verdict::Pass;
        };
        let local = self.config.local_addr;
        let ttl = packet[8];
        if ttl <= 1 {
            return self.reply(DropReason::TtlExpired, local, packet, 11, 0, [0; 4], rng);
        }
        let mtu = self.config.route_mtu as usize;
        if p.len > mtu {
            if p.df {
                let mut rest = [0u8; 4];
                rest[2..].copy_from_slice(&(mtu as u16).to_be_bytes());
                return self.reply(DropReason::FragNeeded, local, packet, 3, 4, rest, rng);
            }
            return self.drop(DropReason::NeedsFragmentation);
        }
        let Some(c) = self.conns.get_mut(id) else {
            self.drops.passed += 1;
            return Verdict::Pass;
        };
        let dest_id = c.dest;
        conn::set_state(
            c,
            Direction::Output,
            p.flags,
            &self.timeouts,
            &mut self.dests,
        );
        let (vaddr, vport) = (c.vaddr, c.vport);
        self.count_out(now, dest_id, p.len);
        let mut out = packet.to_vec();
        decrement_ttl(&mut out);
        mangle(&mut out, &p, 12, vaddr, 0, vport);
        self.conns.rearm(id, now);
        Verdict::Forward {
            next_hop: p.dst,
            packet: out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::IpAddress;

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
