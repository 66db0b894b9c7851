//! The typed configuration: what keepalived 2.2.7 would actually run, with every default,
//! inheritance and correction already applied ("effective" values). Plain public structs, times
//! as [`Duration`], addresses as [`IpAddr`]/[`Ipv4Addr`]. Every item remembers its [`Location`].

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Where an item was written.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub line: u32,
}

/// The whole configuration of one director.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeepalivedConfig {
    pub global: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub vrrp_instances: Vec<VrrpInstance>,
    pub sync_groups: Vec<SyncGroup>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    /// Statements keepalived accepts but the lab does not simulate, in file order.
    pub not_simulated: Vec<RawStatement>,
    /// Set when keepalived would not run this configuration at all (VRRP process exits, parser
    /// exit on a missing parameter, crash).
    pub startup_failure: Option<StartupFailure>,
}

/// Why the daemon would not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartupFailure {
    pub reason: String,
    pub location: Option<Location>,
}

/// A keyword kept verbatim because lvslab does not simulate it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawStatement {
    /// Enclosing block, e.g. `vrrp_instance VI_1`.
    pub block: String,
    pub keyword: String,
    pub args: Vec<String>,
    pub location: Location,
}

/// `global_defs`.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    /// SMTP server and port (default port 25). Host names are kept unresolved.
    pub smtp_server: Option<(String, u16)>,
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` (None = unset).
    pub smtp_alert: Option<bool>,
    pub enable_script_security: bool,
    pub script_user: Option<String>,
    pub dynamic_interfaces: bool,
    pub vrrp: GlobalVrrp,
    pub lvs: GlobalLvs,
    pub location: Option<Location>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            enable_script_security: false,
            script_user: None,
            dynamic_interfaces: false,
            vrrp: GlobalVrrp::default(),
            lvs: GlobalLvs::default(),
            location: None,
        }
    }
}

/// VRRP and gratuitous-ARP defaults from `global_defs`.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalVrrp {
    /// `vrrp_version` (2).
    pub version: VrrpVersion,
    /// `vrrp_strict`.
    pub strict: bool,
    /// `vrrp_mcast_group4` (224.0.0.18).
    pub mcast_group4: Ipv4Addr,
    /// `vrrp_garp_master_delay` (5 s).
    pub garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat` (5).
    pub garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh` (None = off).
    pub garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat` (1).
    pub garp_master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay` (None = same as master delay).
    pub garp_lower_prio_delay: Option<Duration>,
    /// `vrrp_garp_lower_prio_repeat` (None = same as master repeat).
    pub garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_garp_interval` (0: no spacing between gratuitous ARPs).
    pub garp_interval: Duration,
    /// `vrrp_gna_interval` (0).
    pub gna_interval: Duration,
    pub min_garp: bool,
    /// `vrrp_down_timer_adverts` (3).
    pub down_timer_adverts: u32,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub skip_check_adv_addr: bool,
    pub check_unicast_src: bool,
    pub log_unknown_vrids: bool,
}

impl Default for GlobalVrrp {
    fn default() -> Self {
        GlobalVrrp {
            version: VrrpVersion::V2,
            strict: false,
            mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: None,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay: None,
            garp_lower_prio_repeat: None,
            garp_interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
            min_garp: false,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            skip_check_adv_addr: false,
            check_unicast_src: false,
            log_unknown_vrids: false,
        }
    }
}

/// LVS settings from `global_defs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalLvs {
    /// `lvs_timeouts tcp` (None = kernel default left alone).
    pub timeout_tcp: Option<Duration>,
    pub timeout_tcpfin: Option<Duration>,
    pub timeout_udp: Option<Duration>,
    pub flush: bool,
    pub flush_on_stop: bool,
    /// `lvs_sync_daemon IF [INSTANCE]`.
    pub sync_daemon: Option<(String, Option<String>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VrrpVersion {
    V2,
    V3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VrrpState {
    Master,
    Backup,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddressFamily {
    V4,
    V6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthType {
    /// Simple text password (RFC 3768 type 1).
    Pass,
    /// IPsec AH (type 2).
    Ah,
}

/// `authentication { auth_type ; auth_pass }`, as it goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// The password, truncated to 8 bytes (zero-padded on the wire).
    pub password: Vec<u8>,
}

/// `vrrp_script NAME { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct VrrpScript {
    pub name: String,
    pub script: String,
    /// `interval` (1 s).
    pub interval: Duration,
    /// `timeout` (None: the interval is used).
    pub timeout: Option<Duration>,
    /// `weight` (0: failure puts tracking instances into FAULT).
    pub weight: i32,
    pub weight_reverse: bool,
    /// `rise` (1), `fall` (1).
    pub rise: u32,
    pub fall: u32,
    pub user: Option<String>,
    pub init_fail: bool,
    pub location: Location,
}

/// One `virtual_ipaddress` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualIp {
    pub addr: IpAddr,
    /// Prefix length (32/128 when not given).
    pub prefix_len: u8,
    /// `dev` (None: the instance's interface).
    pub dev: Option<String>,
    pub label: Option<String>,
    pub brd: Option<String>,
    pub scope: Option<String>,
    pub no_track: bool,
    pub location: Location,
}

/// One `track_interface` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInterface {
    pub name: String,
    /// 0: the interface going down puts the instance into FAULT.
    pub weight: i32,
    pub reverse: bool,
}

/// One `track_script` entry, resolved against an earlier `vrrp_script`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackScript {
    pub name: String,
    /// The effective weight (the script's own weight unless overridden).
    pub weight: i32,
    pub reverse: bool,
}

/// A notify script with its optional user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyScript {
    pub args: Vec<String>,
    pub user: Option<String>,
}

/// `notify_*` scripts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    pub master: Option<NotifyScript>,
    pub backup: Option<NotifyScript>,
    pub fault: Option<NotifyScript>,
    pub stop: Option<NotifyScript>,
    pub any: Option<NotifyScript>,
}

/// `vrrp_instance NAME { ... }` with effective values.
#[derive(Clone, Debug, PartialEq)]
pub struct VrrpInstance {
    pub name: String,
    pub location: Location,
    /// Initial state after keepalived's corrections (MASTER only means "goes for MASTER at
    /// start-up after the master-down timer"; every instance starts in BACKUP).
    pub initial_state: VrrpState,
    pub interface: Option<String>,
    /// `virtual_router_id`; None makes keepalived refuse to run.
    pub vrid: Option<u8>,
    /// Effective base priority (100 by default, 255 for a MASTER without `priority`).
    pub priority: u8,
    /// Effective advertisement interval after v2 rounding / v3 clamping.
    pub advert_int: Duration,
    pub version: VrrpVersion,
    pub family: AddressFamily,
    /// None when absent or ignored (v3, strict mode, no password).
    pub authentication: Option<Authentication>,
    pub virtual_ipaddresses: Vec<VirtualIp>,
    pub virtual_ipaddresses_excluded: Vec<VirtualIp>,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub garp_master_delay: Duration,
    pub garp_master_repeat: u32,
    pub garp_master_refresh: Option<Duration>,
    pub garp_master_refresh_repeat: u32,
    pub garp_lower_prio_delay: Duration,
    pub garp_lower_prio_repeat: u32,
    pub down_timer_adverts: u32,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<IpAddr>,
    pub mcast_src_ip: Option<IpAddr>,
    pub track_interfaces: Vec<TrackInterface>,
    pub track_scripts: Vec<TrackScript>,
    pub notify: Notify,
    pub smtp_alert: bool,
    pub strict_mode: bool,
    pub accept: bool,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub skip_check_adv_addr: bool,
    pub dont_track_primary: bool,
    pub use_vmac: bool,
    /// Sync group this instance belongs to.
    pub sync_group: Option<String>,
}

/// `vrrp_sync_group NAME { group { ... } }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncGroup {
    pub name: String,
    /// Member instances that exist.
    pub instances: Vec<String>,
    pub notify: Notify,
    pub track_scripts: Vec<TrackScript>,
    pub track_interfaces: Vec<TrackInterface>,
    pub location: Location,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// IPVS scheduler (`lb_algo` / `lvs_sched`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LbAlgo {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Sh,
    Mh,
    Dh,
    Fo,
    Ovf,
    Sed,
    Nq,
    Twos,
}

impl LbAlgo {
    pub fn parse(s: &str) -> Option<LbAlgo> {
        Some(match s {
            "rr" => LbAlgo::Rr,
            "wrr" => LbAlgo::Wrr,
            "lc" => LbAlgo::Lc,
            "wlc" => LbAlgo::Wlc,
            "lblc" => LbAlgo::Lblc,
            "lblcr" => LbAlgo::Lblcr,
            "sh" => LbAlgo::Sh,
            "mh" => LbAlgo::Mh,
            "dh" => LbAlgo::Dh,
            "fo" => LbAlgo::Fo,
            "ovf" => LbAlgo::Ovf,
            "sed" => LbAlgo::Sed,
            "nq" => LbAlgo::Nq,
            "twos" => LbAlgo::Twos,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LbAlgo::Rr => "rr",
            LbAlgo::Wrr => "wrr",
            LbAlgo::Lc => "lc",
            LbAlgo::Wlc => "wlc",
            LbAlgo::Lblc => "lblc",
            LbAlgo::Lblcr => "lblcr",
            LbAlgo::Sh => "sh",
            LbAlgo::Mh => "mh",
            LbAlgo::Dh => "dh",
            LbAlgo::Fo => "fo",
            LbAlgo::Ovf => "ovf",
            LbAlgo::Sed => "sed",
            LbAlgo::Nq => "nq",
            LbAlgo::Twos => "twos",
        }
    }
}

/// IPVS forwarding method (`lb_kind` / `lvs_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LbKind {
    Nat,
    Dr,
    Tun,
}

impl LbKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LbKind::Nat => "NAT",
            LbKind::Dr => "DR",
            LbKind::Tun => "TUN",
        }
    }
}

/// How a virtual service is addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VirtualServerAddress {
    /// `virtual_server IP PORT` (port 0 when omitted).
    Ip {
        addr: IpAddr,
        port: u16,
    },
    Fwmark(u32),
    Group(String),
}

/// `virtual_server_group NAME { ... }` (entries kept verbatim).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualServerGroup {
    pub name: String,
    pub entries: Vec<Vec<String>>,
    pub location: Location,
}

/// `sorry_server IP [PORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SorryServer {
    pub addr: IpAddr,
    pub port: u16,
    pub inhibit: bool,
    pub lb_kind: LbKind,
}

/// `virtual_server ... { ... }` with effective values.
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualServer {
    pub address: VirtualServerAddress,
    pub location: Location,
    /// Effective protocol (UDP when none was given, as keepalived does).
    pub protocol: Protocol,
    pub lb_algo: LbAlgo,
    pub lb_kind: LbKind,
    /// `delay_loop` (60 s).
    pub delay_loop: Duration,
    /// `persistence_timeout` (None: not persistent).
    pub persistence_timeout: Option<Duration>,
    pub persistence_granularity: Option<Ipv4Addr>,
    /// Effective quorum (≥ 1, reduced to the sum of real-server weights).
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub sorry_server: Option<SorryServer>,
    pub ha_suspend: bool,
    pub alpha: bool,
    pub omega: bool,
    pub virtualhost: Option<String>,
    pub real_servers: Vec<RealServer>,
}

/// `real_server IP PORT { ... }` with effective values.
#[derive(Clone, Debug, PartialEq)]
pub struct RealServer {
    pub addr: IpAddr,
    /// Effective port (the virtual server's for DR/TUN or when omitted).
    pub port: u16,
    pub weight: u32,
    pub inhibit_on_failure: bool,
    pub lb_kind: LbKind,
    pub uthreshold: u32,
    pub lthreshold: u32,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    pub alpha: bool,
    pub checkers: Vec<Checker>,
    pub location: Location,
}

/// A health checker with its effective timings (checker → real server → virtual server →
/// checker-type default).
#[derive(Clone, Debug, PartialEq)]
pub struct Checker {
    pub kind: CheckerKind,
    pub connect_ip: Option<IpAddr>,
    /// Effective port: `connect_port`, else the real server's port.
    pub connect_port: u16,
    pub bindto: Option<IpAddr>,
    pub connect_timeout: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    pub warmup: Duration,
    pub delay_loop: Duration,
    pub alpha: bool,
    pub log_all_failures: bool,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CheckerKind {
    Tcp,
    Http(HttpCheck),
    Misc(MiscCheck),
    /// SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK, BFD_CHECK: parsed, not
    /// simulated.
    Other(String),
}

/// `HTTP_GET` / `SSL_GET`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCheck {
    pub tls: bool,
    pub urls: Vec<UrlCheck>,
    /// `http_protocol` (None: HTTP/1.0).
    pub http_protocol: Option<String>,
    pub virtualhost: Option<String>,
}

/// One `url { ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlCheck {
    pub path: String,
    /// Lower-case MD5 hex digest, when valid.
    pub digest: Option<String>,
    /// Accepted status ranges (default 200-299).
    pub status_codes: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
}

/// `MISC_CHECK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiscCheck {
    pub path: Vec<String>,
    /// `misc_timeout` (None: the delay_loop).
    pub timeout: Option<Duration>,
    pub dynamic: bool,
    pub user: Option<String>,
}
