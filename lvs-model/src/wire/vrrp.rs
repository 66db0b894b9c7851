//! VRRP advertisements for IPv4: version 2 (RFC 3768) and version 3 (RFC 5798), as keepalived
//! 2.2.7 sends them, plus the Ethernet + IPv4 advert frame and the gratuitous ARP frame it puts
//! on the wire.
//!
//! Contract: [`Packet::new_checked`] guarantees that every accessor can be called without a
//! panic, whatever the bytes (for an unknown version only the first 8 bytes are promised, which
//! is what the accessors of the common header read). Unknown versions, types and auth types are
//! values, not errors, so bytes round-trip; [`Repr::parse`] is where they become errors.
//!
//! Layout (network byte order):
//! ```text
//! 0: version(4) | type(4)   1: VRID   2: priority   3: count of IPv4 addresses
//! v2: 4: auth type  5: advert interval (s)     v3: 4-5: rsvd(4) | max advert interval (cs, 12 bits)
//! 6-7: checksum, then count × 4-byte addresses, then (v2 only) 8 bytes of auth data.
//! ```
//! v2's checksum covers the VRRP message only; v3's adds the IPv4 pseudo-header
//! (src, dst, 0, 112, VRRP length), with `dst` the actual IP destination.

use core::fmt;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, Ipv4Packet,
    checksum,
};
use std::net::Ipv4Addr;

/// IP protocol number of VRRP.
pub const IP_PROTOCOL: u8 = 112;
/// The IPv4 multicast group VRRP uses by default (`vrrp_mcast_group4`).
pub const MCAST_GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// Fixed header length, both versions.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data trailer.
pub const AUTH_DATA_LEN: usize = 8;
/// keepalived's IPv4 TOS for adverts (DSCP CS6).
pub const ADVERT_TOS: u8 = 0xc0;
/// Length of an Ethernet + IPv4 header (IHL 5).
pub const ETH_IP_HEADER_LEN: usize = 14 + 20;

/// Why bytes are not a VRRP packet we can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the header, or than the addresses and auth data it announces.
    Truncated,
    /// Neither 2 nor 3.
    UnknownVersion(u8),
    /// Not an advertisement (type 1).
    UnknownType(u8),
    /// The checksum does not verify.
    Checksum,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => write!(f, "truncated VRRP packet"),
            Error::UnknownVersion(v) => write!(f, "unknown VRRP version {v}"),
            Error::UnknownType(t) => write!(f, "unknown VRRP packet type {t}"),
            Error::Checksum => write!(f, "bad VRRP checksum"),
        }
    }
}

impl std::error::Error for Error {}

/// VRRP packet type. Only advertisements exist; anything else is kept as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Type {
    Advertisement,
    Unknown(u8),
}

impl From<u8> for Type {
    fn from(v: u8) -> Self {
        match v {
            1 => Type::Advertisement,
            n => Type::Unknown(n),
        }
    }
}

impl From<Type> for u8 {
    fn from(t: Type) -> u8 {
        match t {
            Type::Advertisement => 1,
            Type::Unknown(n) => n,
        }
    }
}

/// VRRPv2 authentication type (byte 4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthType {
    #[default]
    None,
    /// Simple text password (`auth_type PASS`), 8 bytes NUL-padded.
    Pass,
    /// IPsec AH (`auth_type AH`); carried in an AH header, which we do not implement.
    Ah,
    Unknown(u8),
}

impl From<u8> for AuthType {
    fn from(v: u8) -> Self {
        match v {
            0 => AuthType::None,
            1 => AuthType::Pass,
            2 => AuthType::Ah,
            n => AuthType::Unknown(n),
        }
    }
}

impl From<AuthType> for u8 {
    fn from(t: AuthType) -> u8 {
        match t {
            AuthType::None => 0,
            AuthType::Pass => 1,
            AuthType::Ah => 2,
            AuthType::Unknown(n) => n,
        }
    }
}

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2 only.
    pub const AUTH_TYPE: usize = 4;
    /// v2 only.
    pub const ADVER_INT: usize = 5;
    /// v3 only: 4 reserved bits then 12 bits of centiseconds.
    pub const MAX_ADVER_INT: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    pub const ADDRS: usize = 8;
}

/// A read/write wrapper around a VRRP packet buffer.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking its length; accessors may panic on short buffers.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The buffer holds the fixed header and, for versions 2 and 3, every address the count
    /// announces (and v2's auth data). Extra bytes are allowed here; callers decide about them.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        match self.version() {
            2 | 3 if len < self.expected_len() => Err(Error::Truncated),
            _ => Ok(()),
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The length this packet should have from its version and address count (v2 includes the
    /// 8 auth bytes). For an unknown version, the header length plus the addresses.
    pub fn expected_len(&self) -> usize {
        let base = HEADER_LEN + 4 * usize::from(self.addr_count());
        if self.version() == 2 {
            base + AUTH_DATA_LEN
        } else {
            base
        }
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    pub fn packet_type(&self) -> Type {
        Type::from(self.buffer.as_ref()[field::VER_TYPE] & 0x0f)
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    pub fn addr_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2: the auth type byte.
    pub fn auth_type(&self) -> AuthType {
        AuthType::from(self.buffer.as_ref()[field::AUTH_TYPE])
    }

    /// v2: advert interval in whole seconds.
    pub fn adver_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// v3: max advert interval in centiseconds (12 bits).
    pub fn max_adver_int_v3(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::MAX_ADVER_INT];
        u16::from_be_bytes([b[0], b[1]]) & 0x0fff
    }

    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The `i`th address; `i < addr_count()` after `check_len` for versions 2 and 3.
    pub fn addr(&self, i: usize) -> Ipv4Addr {
        let s = field::ADDRS + 4 * i;
        let b = &self.buffer.as_ref()[s..s + 4];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// v2: the 8 bytes of auth data after the addresses.
    pub fn auth_data(&self) -> [u8; AUTH_DATA_LEN] {
        let s = field::ADDRS + 4 * usize::from(self.addr_count());
        let mut out = [0u8; AUTH_DATA_LEN];
        out.copy_from_slice(&self.buffer.as_ref()[s..s + AUTH_DATA_LEN]);
        out
    }

    /// Verify the checksum over the whole buffer. v2: plain ones'-complement sum of the VRRP
    /// message. v3: the same plus the IPv4 pseudo-header (`dst` = actual IP destination).
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let data = self.buffer.as_ref();
        let sum = if self.version() == 3 {
            checksum::combine(&[pseudo_header(src, dst, data.len()), checksum::data(data)])
        } else {
            checksum::data(data)
        };
        sum == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: u8, ty: Type) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (u8::from(ty) & 0x0f);
    }

    pub fn set_vrid(&mut self, v: u8) {
        self.buffer.as_mut()[field::VRID] = v;
    }

    pub fn set_priority(&mut self, v: u8) {
        self.buffer.as_mut()[field::PRIORITY] = v;
    }

    pub fn set_addr_count(&mut self, v: u8) {
        self.buffer.as_mut()[field::COUNT] = v;
    }

    pub fn set_auth_type(&mut self, v: AuthType) {
        self.buffer.as_mut()[field::AUTH_TYPE] = v.into();
    }

    pub fn set_adver_int_v2(&mut self, secs: u8) {
        self.buffer.as_mut()[field::ADVER_INT] = secs;
    }

    /// Writes the 12-bit interval with the reserved bits zero.
    pub fn set_max_adver_int_v3(&mut self, cs: u16) {
        self.buffer.as_mut()[field::MAX_ADVER_INT].copy_from_slice(&(cs & 0x0fff).to_be_bytes());
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_addr(&mut self, i: usize, a: Ipv4Addr) {
        let s = field::ADDRS + 4 * i;
        self.buffer.as_mut()[s..s + 4].copy_from_slice(&a.octets());
    }

    pub fn set_auth_data(&mut self, d: &[u8; AUTH_DATA_LEN]) {
        let s = field::ADDRS + 4 * usize::from(self.addr_count());
        self.buffer.as_mut()[s..s + AUTH_DATA_LEN].copy_from_slice(d);
    }

    /// Compute and write the checksum (see [`Packet::verify_checksum`]).
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let version = self.version();
        let data = self.buffer.as_ref();
        let sum = if version == 3 {
            checksum::combine(&[pseudo_header(src, dst, data.len()), checksum::data(data)])
        } else {
            checksum::data(data)
        };
        self.set_checksum(!sum);
    }
}

fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> u16 {
    let mut b = [0u8; 12];
    b[0..4].copy_from_slice(&src.octets());
    b[4..8].copy_from_slice(&dst.octets());
    b[9] = IP_PROTOCOL;
    b[10..12].copy_from_slice(&(len as u16).to_be_bytes());
    checksum::data(&b)
}

/// The version-specific part of an advertisement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionRepr {
    V2 {
        auth_type: AuthType,
        /// Whole seconds.
        adver_int: u8,
        /// The PASS password NUL-padded, otherwise what the sender put there (keepalived: zeros).
        auth_data: [u8; AUTH_DATA_LEN],
    },
    V3 {
        /// Centiseconds, 12 bits.
        max_adver_int: u16,
    },
}

/// A high-level representation of a VRRP advertisement for IPv4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr {
    pub vrid: u8,
    pub priority: u8,
    pub addrs: Vec<Ipv4Addr>,
    pub version: VersionRepr,
}

impl Repr {
    /// Parse and validate (length, version, type, checksum). `src`/`dst` are the IP addresses,
    /// needed by the v3 checksum. Bytes past the expected length are not accepted.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) -> Result<Repr, Error> {
        packet.check_len()?;
        let version = packet.version();
        if version != 2 && version != 3 {
            return Err(Error::UnknownVersion(version));
        }
        if let Type::Unknown(t) = packet.packet_type() {
            return Err(Error::UnknownType(t));
        }
        if packet.buffer.as_ref().len() != packet.expected_len() {
            return Err(Error::Truncated);
        }
        if !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        let addrs = (0..usize::from(packet.addr_count()))
            .map(|i| packet.addr(i))
            .collect();
        let version = if version == 2 {
            VersionRepr::V2 {
                auth_type: packet.auth_type(),
                adver_int: packet.adver_int_v2(),
                auth_data: packet.auth_data(),
            }
        } else {
            VersionRepr::V3 {
                max_adver_int: packet.max_adver_int_v3(),
            }
        };
        Ok(Repr {
            vrid: packet.vrid(),
            priority: packet.priority(),
            addrs,
            version,
        })
    }

    /// Length of the emitted VRRP message. Addresses beyond 255 are not representable; callers
    /// keep at most 255 (keepalived moves the excess to eVIPs).
    pub fn buffer_len(&self) -> usize {
        let base = HEADER_LEN + 4 * self.addrs.len().min(255);
        match self.version {
            VersionRepr::V2 { .. } => base + AUTH_DATA_LEN,
            VersionRepr::V3 { .. } => base,
        }
    }

    /// Emit into `packet` (at least [`buffer_len`](Self::buffer_len) bytes) with the checksum.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) {
        let n = self.addrs.len().min(255);
        let (v, rest) = match self.version {
            VersionRepr::V2 { .. } => (2, 0u16),
            VersionRepr::V3 { max_adver_int } => (3, max_adver_int),
        };
        packet.set_version_type(v, Type::Advertisement);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        packet.set_addr_count(n as u8);
        match &self.version {
            VersionRepr::V2 {
                auth_type,
                adver_int,
                auth_data,
            } => {
                packet.set_auth_type(*auth_type);
                packet.set_adver_int_v2(*adver_int);
                for (i, a) in self.addrs.iter().take(n).enumerate() {
                    packet.set_addr(i, *a);
                }
                packet.set_auth_data(auth_data);
            }
            VersionRepr::V3 { .. } => {
                packet.set_max_adver_int_v3(rest);
                for (i, a) in self.addrs.iter().take(n).enumerate() {
                    packet.set_addr(i, *a);
                }
            }
        }
        packet.fill_checksum(src, dst);
    }
}

/// The IPv4 header fields of an advert frame that vary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvertIp {
    pub src_mac: EthernetAddress,
    /// Ethernet destination: [`multicast_mac`] of the group, or a unicast peer's MAC.
    pub dst_mac: EthernetAddress,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// 255 for multicast; `unicast_ttl` for unicast peers.
    pub ttl: u8,
    /// keepalived leaves the ID to the kernel; the caller supplies one.
    pub ident: u16,
}

/// The Ethernet multicast MAC of an IPv4 multicast group (01:00:5e + low 23 bits).
pub fn multicast_mac(group: Ipv4Addr) -> EthernetAddress {
    let o = group.octets();
    EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

/// Build a complete Ethernet II + IPv4 frame around a VRRP message (`vrrp`, checksummed for
/// `ip.src`/`ip.dst`): TOS 0xc0, no fragmentation flags, protocol 112, as keepalived does.
pub fn advert_frame(ip: &AdvertIp, vrrp: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; ETH_IP_HEADER_LEN + vrrp.len()];
    {
        let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
        eth.set_dst_addr(ip.dst_mac);
        eth.set_src_addr(ip.src_mac);
        eth.set_ethertype(EthernetProtocol::Ipv4);
    }
    let mut ipp = Ipv4Packet::new_unchecked(&mut frame[14..]);
    ipp.set_version(4);
    ipp.set_header_len(20);
    ipp.set_dscp(ADVERT_TOS >> 2);
    ipp.set_ecn(ADVERT_TOS & 3);
    ipp.set_total_len((20 + vrrp.len()) as u16);
    ipp.set_ident(ip.ident);
    ipp.clear_flags();
    ipp.set_frag_offset(0);
    ipp.set_hop_limit(ip.ttl);
    ipp.set_next_header(smoltcp::wire::IpProtocol::Unknown(IP_PROTOCOL));
    ipp.set_src_addr(ip.src);
    ipp.set_dst_addr(ip.dst);
    ipp.fill_checksum();
    ipp.payload_mut()[..vrrp.len()].copy_from_slice(vrrp);
    frame
}

/// Length of a gratuitous ARP frame (no padding: keepalived's frames are 42 bytes on the wire
/// of a veth; padding to 60 is the NIC's business).
pub const GARP_FRAME_LEN: usize = 42;

/// The gratuitous ARP keepalived sends for a VIP: broadcast ARP *request*, "who-has VIP tell
/// VIP", sender MAC = interface MAC, target MAC ff:ff:ff:ff:ff:ff.
pub fn garp_frame(mac: EthernetAddress, vip: Ipv4Addr) -> Vec<u8> {
    let mut frame = vec![0u8; GARP_FRAME_LEN];
    {
        let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
        eth.set_dst_addr(EthernetAddress::BROADCAST);
        eth.set_src_addr(mac);
        eth.set_ethertype(EthernetProtocol::Arp);
    }
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: vip,
        target_hardware_addr: EthernetAddress::BROADCAST,
        target_protocol_addr: vip,
    };
    repr.emit(&mut ArpPacket::new_unchecked(&mut frame[14..]));
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Frame 25 of the S01 recording: kr-100's first advert (v2, VRID 51, prio 100, PASS 1111,
    // VIP 192.168.80.200), Ethernet through auth data.
    static ADVERT_V2_FRAME: [u8; 54] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0xee, 0x85, 0xee, 0x87, 0x4d, 0x8d, 0x08, 0x00, 0x45,
        0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xc9, 0x85, 0xc0, 0xa8, 0x50, 0x64,
        0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x05, 0xf7, 0xc0, 0xa8, 0x50,
        0xc8, 0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00,
    ];
    // The priority-0 advert kr-100 sent on SIGTERM in S01 (IP ID 6).
    static ADVERT_V2_PRIO0_FRAME: [u8; 54] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0xee, 0x85, 0xee, 0x87, 0x4d, 0x8d, 0x08, 0x00, 0x45,
        0xc0, 0x00, 0x28, 0x00, 0x06, 0x00, 0x00, 0xff, 0x70, 0xc9, 0x80, 0xc0, 0xa8, 0x50, 0x64,
        0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x00, 0x01, 0x01, 0x01, 0x69, 0xf7, 0xc0, 0xa8, 0x50,
        0xc8, 0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00,
    ];
    // Frame 26 of S01: kr-100's first gratuitous ARP for the VIP.
    static GARP_FRAME: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xee, 0x85, 0xee, 0x87, 0x4d, 0x8d, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0xee, 0x85, 0xee, 0x87, 0x4d, 0x8d, 0xc0, 0xa8,
        0x50, 0xc8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xa8, 0x50, 0xc8,
    ];

    // Our own recording of keepalived 2.2.7 with `vrrp_version 3`, `advert_int 0.35`,
    // priority 150, VRID 52, VIPs 192.168.90.200 and .201, from 192.168.90.100 (IP ID 1):
    // the v3 checksum includes the IPv4 pseudo-header.
    static ADVERT_V3_FRAME: [u8; 50] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x1a, 0x83, 0xcd, 0xb2, 0x82, 0x4f, 0x08, 0x00, 0x45,
        0xc0, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xbf, 0x89, 0xc0, 0xa8, 0x5a, 0x64,
        0xe0, 0x00, 0x00, 0x12, 0x31, 0x34, 0x96, 0x02, 0x00, 0x23, 0x06, 0x23, 0xc0, 0xa8, 0x5a,
        0xc8, 0xc0, 0xa8, 0x5a, 0xc9,
    ];
    // The same run's priority-0 advert on SIGTERM (IP ID 6).
    static ADVERT_V3_PRIO0_FRAME: [u8; 50] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x1a, 0x83, 0xcd, 0xb2, 0x82, 0x4f, 0x08, 0x00, 0x45,
        0xc0, 0x00, 0x24, 0x00, 0x06, 0x00, 0x00, 0xff, 0x70, 0xbf, 0x84, 0xc0, 0xa8, 0x5a, 0x64,
        0xe0, 0x00, 0x00, 0x12, 0x31, 0x34, 0x00, 0x02, 0x00, 0x23, 0x9c, 0x23, 0xc0, 0xa8, 0x5a,
        0xc8, 0xc0, 0xa8, 0x5a, 0xc9,
    ];

    #[test]
    fn v3_frames_match_our_keepalived_recording_byte_for_byte() {
        let mac = EthernetAddress([0x1a, 0x83, 0xcd, 0xb2, 0x82, 0x4f]);
        let src = Ipv4Addr::new(192, 168, 90, 100);
        for (prio, ident, recorded) in [(150, 1, &ADVERT_V3_FRAME), (0, 6, &ADVERT_V3_PRIO0_FRAME)]
        {
            let p = Packet::new_checked(vrrp_of(recorded)).unwrap();
            assert!(p.verify_checksum(src, MCAST_GROUP4));
            let r = Repr {
                vrid: 52,
                priority: prio,
                addrs: vec![
                    Ipv4Addr::new(192, 168, 90, 200),
                    Ipv4Addr::new(192, 168, 90, 201),
                ],
                version: VersionRepr::V3 { max_adver_int: 35 },
            };
            assert_eq!(Repr::parse(&p, src, MCAST_GROUP4).unwrap(), r);
            let mut vrrp = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut vrrp), src, MCAST_GROUP4);
            let ip = AdvertIp {
                src_mac: mac,
                dst_mac: multicast_mac(MCAST_GROUP4),
                src,
                dst: MCAST_GROUP4,
                ttl: 255,
                ident,
            };
            assert_eq!(&advert_frame(&ip, &vrrp)[..], &recorded[..]);
        }
    }

    const MAC_100: EthernetAddress = EthernetAddress([0xee, 0x85, 0xee, 0x87, 0x4d, 0x8d]);
    const IP_100: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 100);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);

    fn pass(p: &str) -> [u8; 8] {
        let mut d = [0u8; 8];
        d[..p.len()].copy_from_slice(p.as_bytes());
        d
    }

    fn s01_repr(priority: u8) -> Repr {
        Repr {
            vrid: 51,
            priority,
            addrs: vec![VIP],
            version: VersionRepr::V2 {
                auth_type: AuthType::Pass,
                adver_int: 1,
                auth_data: pass("1111"),
            },
        }
    }

    fn vrrp_of(frame: &[u8]) -> &[u8] {
        &frame[ETH_IP_HEADER_LEN..]
    }

    #[test]
    fn test_deconstruct() {
        let p = Packet::new_checked(vrrp_of(&ADVERT_V2_FRAME)).unwrap();
        assert_eq!(p.version(), 2);
        assert_eq!(p.packet_type(), Type::Advertisement);
        assert_eq!(p.vrid(), 51);
        assert_eq!(p.priority(), 100);
        assert_eq!(p.addr_count(), 1);
        assert_eq!(p.auth_type(), AuthType::Pass);
        assert_eq!(p.adver_int_v2(), 1);
        assert_eq!(p.checksum(), 0x05f7);
        assert_eq!(p.addr(0), VIP);
        assert_eq!(p.auth_data(), pass("1111"));
        assert!(p.verify_checksum(IP_100, MCAST_GROUP4));
    }

    #[test]
    fn test_construct() {
        let mut bytes = vec![0xa5u8; 20];
        let mut p = Packet::new_unchecked(&mut bytes);
        p.set_version_type(2, Type::Advertisement);
        p.set_vrid(51);
        p.set_priority(100);
        p.set_addr_count(1);
        p.set_auth_type(AuthType::Pass);
        p.set_adver_int_v2(1);
        p.set_addr(0, VIP);
        p.set_auth_data(&pass("1111"));
        p.fill_checksum(IP_100, MCAST_GROUP4);
        assert_eq!(&bytes[..], vrrp_of(&ADVERT_V2_FRAME));
    }

    #[test]
    fn test_parse() {
        let p = Packet::new_checked(vrrp_of(&ADVERT_V2_FRAME)).unwrap();
        assert_eq!(
            Repr::parse(&p, IP_100, MCAST_GROUP4).unwrap(),
            s01_repr(100)
        );
        let p0 = Packet::new_checked(vrrp_of(&ADVERT_V2_PRIO0_FRAME)).unwrap();
        assert_eq!(Repr::parse(&p0, IP_100, MCAST_GROUP4).unwrap(), s01_repr(0));
    }

    #[test]
    fn test_emit() {
        let r = s01_repr(100);
        let mut bytes = vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut bytes), IP_100, MCAST_GROUP4);
        assert_eq!(&bytes[..], vrrp_of(&ADVERT_V2_FRAME));
    }

    #[test]
    fn advert_frames_match_the_recording_byte_for_byte() {
        for (prio, ident, recorded) in [(100, 1, &ADVERT_V2_FRAME), (0, 6, &ADVERT_V2_PRIO0_FRAME)]
        {
            let r = s01_repr(prio);
            let mut vrrp = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut vrrp), IP_100, MCAST_GROUP4);
            let ip = AdvertIp {
                src_mac: MAC_100,
                dst_mac: multicast_mac(MCAST_GROUP4),
                src: IP_100,
                dst: MCAST_GROUP4,
                ttl: 255,
                ident,
            };
            assert_eq!(&advert_frame(&ip, &vrrp)[..], &recorded[..]);
        }
    }

    #[test]
    fn garp_frame_matches_the_recording_byte_for_byte() {
        assert_eq!(&garp_frame(MAC_100, VIP)[..], &GARP_FRAME[..]);
    }

    #[test]
    fn v3_checksum_includes_the_pseudo_header() {
        let r = Repr {
            vrid: 51,
            priority: 100,
            addrs: vec![VIP],
            version: VersionRepr::V3 { max_adver_int: 100 },
        };
        let mut bytes = vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut bytes), IP_100, MCAST_GROUP4);
        assert_eq!(bytes.len(), 12);
        assert_eq!(&bytes[..6], &[0x31, 51, 100, 1, 0x00, 100]);
        // Independent computation: ones'-complement sum of pseudo-header + message.
        let mut words: Vec<u8> = Vec::new();
        words.extend_from_slice(&IP_100.octets());
        words.extend_from_slice(&MCAST_GROUP4.octets());
        words.extend_from_slice(&[0, 112, 0, 12]);
        words.extend_from_slice(&bytes);
        let mut sum: u32 = 0;
        for c in words.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff, "checksum must make the folded sum all ones");
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum(IP_100, MCAST_GROUP4));
        // A v2-style (no pseudo-header) check fails, and another destination fails.
        assert!(!p.verify_checksum(IP_100, Ipv4Addr::new(192, 168, 80, 101)));
        assert_eq!(Repr::parse(&p, IP_100, MCAST_GROUP4).unwrap(), r);
    }

    #[test]
    fn parse_rejects_bad_input() {
        let good = vrrp_of(&ADVERT_V2_FRAME);
        assert_eq!(
            Packet::new_checked(&good[..7]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Packet::new_checked(&good[..19]).unwrap_err(),
            Error::Truncated
        );
        let mut b = good.to_vec();
        b[0] = 0x41;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            Repr::parse(&p, IP_100, MCAST_GROUP4),
            Err(Error::UnknownVersion(4))
        );
        let mut b = good.to_vec();
        b[0] = 0x22;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            Repr::parse(&p, IP_100, MCAST_GROUP4),
            Err(Error::UnknownType(2))
        );
        let mut b = good.to_vec();
        b[11] ^= 1;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p, IP_100, MCAST_GROUP4), Err(Error::Checksum));
        let mut b = good.to_vec();
        b.push(0);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p, IP_100, MCAST_GROUP4), Err(Error::Truncated));
    }

    #[test]
    fn unknown_values_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(AuthType::from(v)), v);
            assert_eq!(u8::from(Type::from(v)), v);
        }
    }

    prop_compose! {
        fn arb_repr()(vrid in any::<u8>(), priority in any::<u8>(),
                      addrs in proptest::collection::vec(any::<u32>(), 0..20),
                      v3 in any::<bool>(), auth in any::<u8>(), int in any::<u8>(),
                      data in any::<[u8; 8]>(), cs in 0u16..4096) -> Repr {
            let addrs = addrs.into_iter().map(Ipv4Addr::from).collect();
            let version = if v3 {
                VersionRepr::V3 { max_adver_int: cs }
            } else {
                VersionRepr::V2 { auth_type: AuthType::from(auth), adver_int: int, auth_data: data }
            };
            Repr { vrid, priority, addrs, version }
        }
    }

    proptest! {
        #[test]
        fn repr_round_trip(r in arb_repr(), src in any::<u32>(), dst in any::<u32>()) {
            let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
            let mut bytes = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut bytes), src, dst);
            let p = Packet::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(Repr::parse(&p, src, dst).unwrap(), r);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.version(), p.packet_type(), p.vrid(), p.priority(), p.checksum(),
                         p.max_adver_int_v3(), p.adver_int_v2(), p.auth_type(), p.expected_len());
                let _ = Repr::parse(&p, Ipv4Addr::LOCALHOST, MCAST_GROUP4);
            }
        }
    }
}
