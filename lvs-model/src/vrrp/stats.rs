//! Counters, named after keepalived's per-instance VRRP statistics where it has one.

use super::instance::RxError;

/// Per-instance counters (keepalived's `vrrp_stats` names; ours are marked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VrrpStats {
    /// Valid adverts acted on.
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    pub packet_len_err: u64,
    pub ip_ttl_err: u64,
    /// Ours: version differs from the instance's (keepalived logs it).
    pub version_err: u64,
    pub invalid_type_rcvd: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub advert_interval_err: u64,
    /// Ours: bad VRRP checksum.
    pub chk_err: u64,
    /// Ours: multicast destination in unicast mode or the reverse.
    pub dst_mode_err: u64,
    /// Address count differs from ours (logged only, the advert is still used).
    pub addr_list_err: u64,
    /// Ours: lower-priority adverts a preempting BACKUP discarded.
    pub lower_prio_discarded: u64,
    /// Ours: packets that arrived while INIT, FAULT or stopped.
    pub not_listening: u64,
}

impl VrrpStats {
    pub(crate) fn count(&mut self, e: RxError) {
        let c = match e {
            RxError::NotListening => &mut self.not_listening,
            RxError::PacketLength => &mut self.packet_len_err,
            RxError::IpTtl => &mut self.ip_ttl_err,
            RxError::Version => &mut self.version_err,
            RxError::InvalidAuthType => &mut self.invalid_authtype,
            RxError::AuthTypeMismatch => &mut self.authtype_mismatch,
            RxError::AuthFailure => &mut self.auth_failure,
            RxError::AdvertInterval => &mut self.advert_interval_err,
            RxError::InvalidType => &mut self.invalid_type_rcvd,
            RxError::Checksum => &mut self.chk_err,
            RxError::DestinationMode => &mut self.dst_mode_err,
        };
        *c += 1;
    }

    /// Packets dropped for any reason.
    pub fn dropped(&self) -> u64 {
        self.not_listening
            + self.packet_len_err
            + self.ip_ttl_err
            + self.version_err
            + self.invalid_type_rcvd
            + self.invalid_authtype
            + self.authtype_mismatch
            + self.auth_failure
            + self.advert_interval_err
            + self.chk_err
            + self.dst_mode_err
    }
}

/// Counters of the process's packet path before a packet reaches an instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessStats {
    /// IPv4 protocol-112 frames seen.
    pub vrrp_frames: u64,
    /// Arrived while the process was not running.
    pub not_running: u64,
    pub ip_checksum_err: u64,
    /// Fragments (keepalived's raw socket would see a reassembled packet; we have no
    /// reassembly, so they are dropped).
    pub ip_fragment: u64,
    /// Neither our multicast group nor one of our addresses.
    pub not_for_us: u64,
    /// Our own advert looped back.
    pub own_packet: u64,
    /// Shorter than a VRRP header.
    pub too_short: u64,
    /// No instance with this VRID on the receiving interface (keepalived drops these silently
    /// unless `log_unknown_vrids`).
    pub unknown_vrid: u64,
    /// On a port that has no configured interface.
    pub unknown_port: u64,
}
