//! Traffic counters as the kernel keeps them (`struct ip_vs_stats`) and the per-reason counters
//! of packets the model refused.
//!
//! The kernel sums its per-CPU counters into the copy that `ipvsadm --stats` reads only on the
//! rate estimator's 2 s tick (recorded in E1/E5: a read right after traffic shows zeros). The
//! [`Ipvs`](super::Ipvs) keeps both the live counters here and that estimator snapshot.

use core::fmt;

/// Connections, packets and bytes through a service, a dest, or the whole table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections scheduled (templates are not counted).
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    /// Bytes of the IP packets, header included, as the kernel counts `skb->len`.
    pub inbytes: u64,
    pub outbytes: u64,
}

impl Stats {
    pub(crate) fn count_in(&mut self, bytes: usize) {
        self.inpkts += 1;
        self.inbytes += bytes as u64;
    }
    pub(crate) fn count_out(&mut self, bytes: usize) {
        self.outpkts += 1;
        self.outbytes += bytes as u64;
    }
}

/// Why a packet was dropped. Every variant has a counter in [`DropCounters`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Shorter than an IPv4 header, or not version 4.
    Truncated,
    /// IHL below 5, or total length outside the buffer / below the header.
    BadHeaderLength,
    /// The IPv4 header checksum is wrong (`ip_rcv` drops these before IPVS).
    BadChecksum,
    /// A fragment. The kernel reassembles before LOCAL_IN; this model does not.
    Fragment,
    /// TCP/UDP header truncated, or a TCP data offset below 5 words.
    BadTransportHeader,
    /// The connection's dest was removed and `expire_nodest_conn` is 0.
    DestUnavailable,
    /// No dest could be scheduled and no ICMP error may be sent about this packet.
    NoDestination,
    /// TTL would reach 0; an ICMP time-exceeded went back instead.
    TtlExpired,
    /// Larger than the route MTU with DF set; an ICMP frag-needed went back instead.
    FragNeeded,
    /// Larger than the route MTU without DF: the kernel would fragment, this model does not.
    NeedsFragmentation,
    /// The tunnel MTU (route MTU − 20) is below 68.
    TunnelMtuTooSmall,
}

impl DropReason {
    pub const ALL: [DropReason; 11] = [
        DropReason::Truncated,
        DropReason::BadHeaderLength,
        DropReason::BadChecksum,
        DropReason::Fragment,
        DropReason::BadTransportHeader,
        DropReason::DestUnavailable,
        DropReason::NoDestination,
        DropReason::TtlExpired,
        DropReason::FragNeeded,
        DropReason::NeedsFragmentation,
        DropReason::TunnelMtuTooSmall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::BadHeaderLength => "bad-header-length",
            DropReason::BadChecksum => "bad-checksum",
            DropReason::Fragment => "fragment",
            DropReason::BadTransportHeader => "bad-transport-header",
            DropReason::DestUnavailable => "dest-unavailable",
            DropReason::NoDestination => "no-destination",
            DropReason::TtlExpired => "ttl-expired",
            DropReason::FragNeeded => "frag-needed",
            DropReason::NeedsFragmentation => "needs-fragmentation",
            DropReason::TunnelMtuTooSmall => "tunnel-mtu-too-small",
        }
    }

    fn index(self) -> usize {
        DropReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or_default()
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One counter per [`DropReason`], plus packets handed to the local stack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropCounters {
    counts: [u64; DropReason::ALL.len()],
    /// Inbound packets IPVS did not take (no service, non-SYN without an entry, other protocols).
    pub local_deliver: u64,
    /// Outbound packets that were no NAT reply.
    pub passed: u64,
    /// ICMP errors generated (port unreachable, frag needed, time exceeded).
    pub icmp_sent: u64,
}

impl DropCounters {
    pub(crate) fn count(&mut self, r: DropReason) {
        self.counts[r.index()] += 1;
    }
    /// How many packets were dropped for `r`.
    pub fn get(&self, r: DropReason) -> u64 {
        self.counts[r.index()]
    }
    /// All drops, whatever the reason.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}
