//! Plain configuration for the VRRP model: keepalived's *effective* values, after its defaults
//! and corrections have been applied (the keepalived.conf parser's typed model is mapped onto
//! these). `Default` gives keepalived 2.2.7's defaults.

use crate::node::PortId;
use crate::time::Duration;
use crate::wire::vrrp::{AuthType, MCAST_GROUP4};
use smoltcp::wire::EthernetAddress;
use std::net::Ipv4Addr;

/// `global_defs` values that VRRP instances inherit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalVrrpConfig {
    /// `vrrp_version` (2).
    pub vrrp_version: u8,
    /// `vrrp_mcast_group4` (224.0.0.18).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_garp_master_delay` (5 s; zero disables the second burst).
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat` (5).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh` (0 = off).
    pub vrrp_garp_master_refresh: Duration,
    /// `vrrp_garp_master_refresh_repeat` (1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay` (= the master delay, 5 s).
    pub vrrp_garp_lower_prio_delay: Duration,
    /// `vrrp_garp_lower_prio_repeat` (= the master repeat, 5).
    pub vrrp_garp_lower_prio_repeat: u32,
    /// `vrrp_down_timer_adverts` (3).
    pub vrrp_down_timer_adverts: u32,
    /// `vrrp_lower_prio_no_advert` (false).
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert` (false).
    pub vrrp_higher_prio_send_advert: bool,
}

impl Default for GlobalVrrpConfig {
    fn default() -> Self {
        GlobalVrrpConfig {
            vrrp_version: 2,
            vrrp_mcast_group4: MCAST_GROUP4,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: Duration::from_secs(5),
            vrrp_garp_lower_prio_repeat: 5,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
        }
    }
}

/// One `track_interface` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInterface {
    pub interface: String,
    /// 0: the interface going down puts the instance in FAULT. Otherwise ±1..253.
    pub weight: i32,
    pub reverse: bool,
}

/// One `track_script` entry of an instance; the script itself is a [`ScriptConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackScript {
    pub script: String,
    /// The entry's `weight`, or `None` to use the script's own weight.
    pub weight: Option<i32>,
    pub reverse: Option<bool>,
}

/// A `vrrp_script`. The model does not run it: its results are inputs
/// ([`VrrpProcess::set_script_result`](super::VrrpProcess::set_script_result)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptConfig {
    pub name: String,
    /// `weight` (0).
    pub weight: i32,
    pub reverse: bool,
    /// `rise` (1).
    pub rise: u32,
    /// `fall` (1).
    pub fall: u32,
    /// `init_fail`: start in the failed state instead of "not yet run".
    pub init_fail: bool,
}

impl ScriptConfig {
    pub fn new(name: impl Into<String>) -> Self {
        ScriptConfig {
            name: name.into(),
            weight: 0,
            reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
        }
    }
}

/// One `vrrp_instance`, with every inherited value resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    pub name: String,
    /// `interface`.
    pub interface: String,
    /// `virtual_router_id` (required; 1..255).
    pub vrid: u8,
    /// `priority`, the base priority (100; 255 when `state MASTER` without a priority).
    pub priority: u8,
    /// `state MASTER` was configured. Only matters for an address owner (priority 255), which
    /// takes over at once; every other instance starts in BACKUP regardless.
    pub state_master: bool,
    /// `version` / `vrrp_version` (2).
    pub version: u8,
    /// `advert_int` (1 s): whole seconds for v2, centiseconds for v3.
    pub advert_int: Duration,
    /// `authentication { auth_type }` (none). v2 only.
    pub auth_type: AuthType,
    /// `auth_pass`, truncated to 8 bytes and NUL-padded.
    pub auth_pass: [u8; 8],
    /// `virtual_ipaddress` (IPv4 only; at most 255 go in adverts).
    pub vips: Vec<Ipv4Addr>,
    /// `virtual_ipaddress_excluded`: held and GARPed like VIPs, never advertised.
    pub excluded_vips: Vec<Ipv4Addr>,
    /// `nopreempt` (false).
    pub nopreempt: bool,
    /// `preempt_delay` (0).
    pub preempt_delay: Duration,
    pub garp_master_delay: Duration,
    pub garp_master_repeat: u32,
    pub garp_master_refresh: Duration,
    pub garp_master_refresh_repeat: u32,
    pub garp_lower_prio_delay: Duration,
    pub garp_lower_prio_repeat: u32,
    /// `mcast_dst_ip`, else `vrrp_mcast_group4`.
    pub mcast_group: Ipv4Addr,
    /// `unicast_src_ip` or `mcast_src_ip`, else the interface's primary address.
    pub src_ip: Option<Ipv4Addr>,
    /// `unicast_peer`: non-empty means unicast mode (no TTL check, one copy per peer).
    pub unicast_peers: Vec<Ipv4Addr>,
    /// `unicast_ttl` (255).
    pub unicast_ttl: u8,
    pub track_interfaces: Vec<TrackInterface>,
    pub track_scripts: Vec<TrackScript>,
    /// `dont_track_primary` (false): the instance's own interface going down is a FAULT.
    pub dont_track_primary: bool,
    /// `down_timer_adverts` (3).
    pub down_timer_adverts: u32,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
}

impl Default for InstanceConfig {
    fn default() -> Self {
        InstanceConfig::new("VI_1", "eth0", 1, &GlobalVrrpConfig::default())
    }
}

impl InstanceConfig {
    /// An instance with keepalived's defaults, inheriting from `global`.
    pub fn new(
        name: impl Into<String>,
        interface: impl Into<String>,
        vrid: u8,
        global: &GlobalVrrpConfig,
    ) -> Self {
        InstanceConfig {
            name: name.into(),
            interface: interface.into(),
            vrid,
            priority: 100,
            state_master: false,
            version: global.vrrp_version,
            advert_int: Duration::from_secs(1),
            auth_type: AuthType::None,
            auth_pass: [0; 8],
            vips: Vec::new(),
            excluded_vips: Vec::new(),
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            garp_master_delay: global.vrrp_garp_master_delay,
            garp_master_repeat: global.vrrp_garp_master_repeat,
            garp_master_refresh: global.vrrp_garp_master_refresh,
            garp_master_refresh_repeat: global.vrrp_garp_master_refresh_repeat,
            garp_lower_prio_delay: global.vrrp_garp_lower_prio_delay,
            garp_lower_prio_repeat: global.vrrp_garp_lower_prio_repeat,
            mcast_group: global.vrrp_mcast_group4,
            src_ip: None,
            unicast_peers: Vec::new(),
            unicast_ttl: 255,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            dont_track_primary: false,
            down_timer_adverts: global.vrrp_down_timer_adverts,
            lower_prio_no_advert: global.vrrp_lower_prio_no_advert,
            higher_prio_send_advert: global.vrrp_higher_prio_send_advert,
        }
    }

    /// `auth_pass` as keepalived stores it: at most 8 bytes, NUL-padded.
    pub fn set_auth_pass(&mut self, pass: &[u8]) {
        self.auth_pass = [0; 8];
        let n = pass.len().min(8);
        self.auth_pass[..n].copy_from_slice(&pass[..n]);
    }

    /// Base priority 255: the address owner.
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }
}

/// A `vrrp_sync_group`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupConfig {
    pub name: String,
    /// Instance names.
    pub members: Vec<String>,
    /// Group-level `track_interface` (any down puts the whole group in FAULT).
    pub track_interfaces: Vec<String>,
    /// Group-level `track_script` (any failed puts the whole group in FAULT).
    pub track_scripts: Vec<String>,
    /// `sync_group_tracking_weight` (false): without it, member trackers' weights are ignored
    /// (keepalived turns a weighted track_interface into weight 0 and drops weighted scripts).
    pub sync_group_tracking_weight: bool,
}

/// One interface of the director: keepalived's `interface` names refer to these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    pub name: String,
    pub port: PortId,
    pub mac: EthernetAddress,
    /// Primary IPv4 address (advert source unless configured otherwise).
    pub ip: Ipv4Addr,
}

/// Everything keepalived's VRRP child is given for one director.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessConfig {
    pub global: GlobalVrrpConfig,
    pub interfaces: Vec<InterfaceConfig>,
    pub scripts: Vec<ScriptConfig>,
    pub instances: Vec<InstanceConfig>,
    pub sync_groups: Vec<SyncGroupConfig>,
}
