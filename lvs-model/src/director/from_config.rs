//! From keepalived's typed configuration to the parts a director runs: the VRRP child's
//! [`ProcessConfig`], the IPVS services and destinations, and the checker child's
//! [`VirtualServerCheckConfig`]s.
//!
//! The config module already applied keepalived's defaults, corrections and inheritance, so
//! this is a field-by-field mapping. What the lab cannot run (IPv6 VIPs and services, fwmark
//! and group services, SCTP, AH authentication) is skipped and listed in
//! [`DirectorPlan::skipped`], so a report can say so.

use crate::check::{
    CheckerConfig, CheckerKind, HttpCheckConfig, MiscCheckConfig, RealServerCheckConfig,
    SorryServerConfig, UrlCheck, VirtualServerCheckConfig, config::parse_digest,
};
use crate::config::model::{self, KeepalivedConfig};
use crate::ipvs::{
    DestConfig, ForwardMethod, Persistence, ServiceConfig, ServiceKey, sched::SchedulerKind,
};
use crate::node::PortId;
use crate::vrrp::{
    GlobalVrrpConfig, InstanceConfig, InterfaceConfig, ProcessConfig, ScriptConfig,
    SyncGroupConfig, TrackInterface, TrackScript,
};
use crate::wire::vrrp::AuthType;
use smoltcp::wire::EthernetAddress;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// One Ethernet port of a director, as the scenario describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectorPort {
    /// The interface name keepalived.conf uses (`eth0`, `eth1`, ...).
    pub name: String,
    pub mac: EthernetAddress,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

/// One virtual service as IPVS gets it, with the destinations keepalived configures.
#[derive(Clone, Debug, PartialEq)]
pub struct ServicePlan {
    pub name: String,
    pub service: ServiceConfig,
    pub dests: Vec<DestConfig>,
    pub sorry: Option<DestConfig>,
}

/// Everything a director runs, derived from one keepalived.conf.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectorPlan {
    pub vrrp: ProcessConfig,
    pub services: Vec<ServicePlan>,
    pub checks: Vec<VirtualServerCheckConfig>,
    /// Configured items the lab does not run, with the reason (for reports).
    pub skipped: Vec<String>,
}

fn v4(addr: IpAddr) -> Option<Ipv4Addr> {
    match addr {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn scheduler(algo: model::LbAlgo) -> SchedulerKind {
    use model::LbAlgo as A;
    match algo {
        A::Rr => SchedulerKind::Rr,
        A::Wrr => SchedulerKind::Wrr,
        A::Lc => SchedulerKind::Lc,
        A::Wlc => SchedulerKind::Wlc,
        A::Lblc => SchedulerKind::Lblc,
        A::Lblcr => SchedulerKind::Lblcr,
        A::Sh => SchedulerKind::Sh,
        A::Mh => SchedulerKind::Mh,
        A::Dh => SchedulerKind::Dh,
        A::Fo => SchedulerKind::Fo,
        A::Ovf => SchedulerKind::Ovf,
        A::Sed => SchedulerKind::Sed,
        A::Nq => SchedulerKind::Nq,
        A::Twos => SchedulerKind::Twos,
    }
}

fn forward(kind: model::LbKind) -> ForwardMethod {
    match kind {
        model::LbKind::Nat => ForwardMethod::Masquerade,
        model::LbKind::Dr => ForwardMethod::DirectRoute,
        model::LbKind::Tun => ForwardMethod::Tunnel,
    }
}

/// The keepalived-style name of a virtual server, e.g. `192.168.80.200:80`.
pub fn service_name(addr: Ipv4Addr, port: u16) -> String {
    format!("{addr}:{port}")
}

/// Maps a parsed keepalived.conf onto the director's parts.
pub fn plan(config: &KeepalivedConfig, ports: &[DirectorPort]) -> DirectorPlan {
    let mut skipped = Vec::new();
    let vrrp = vrrp_plan(config, ports, &mut skipped);
    let mut services = Vec::new();
    let mut checks = Vec::new();
    for vs in &config.virtual_servers {
        let (addr, port) = match &vs.address {
            model::VirtualServerAddress::Ip { addr, port } => match v4(*addr) {
                Some(a) => (a, *port),
                None => {
                    skipped.push(format!(
                        "virtual_server {addr} {port}: IPv6 is not simulated"
                    ));
                    continue;
                }
            },
            model::VirtualServerAddress::Fwmark(m) => {
                skipped.push(format!(
                    "virtual_server fwmark {m}: fwmark services are not simulated"
                ));
                continue;
            }
            model::VirtualServerAddress::Group(g) => {
                skipped.push(format!(
                    "virtual_server group {g}: groups are not simulated"
                ));
                continue;
            }
        };
        let key = match vs.protocol {
            model::Protocol::Tcp => ServiceKey::tcp(addr, port),
            model::Protocol::Udp => ServiceKey::udp(addr, port),
            model::Protocol::Sctp => {
                skipped.push(format!(
                    "virtual_server {addr} {port}: SCTP is not simulated"
                ));
                continue;
            }
        };
        let name = service_name(addr, port);
        let mut service = ServiceConfig::new(key).scheduler(scheduler(vs.lb_algo));
        if let Some(timeout) = vs.persistence_timeout {
            let mut p = Persistence::new(timeout);
            if let Some(mask) = vs.persistence_granularity {
                p.netmask = mask;
            }
            service = service.persistent(p);
        }
        let mut dests = Vec::new();
        let mut check = VirtualServerCheckConfig::new(name.clone());
        check.delay_loop = Some(vs.delay_loop);
        check.alpha = vs.alpha;
        check.omega = vs.omega;
        check.quorum = vs.quorum;
        check.hysteresis = vs.hysteresis;
        check.virtualhost = vs.virtualhost.clone();
        for rs in &vs.real_servers {
            let Some(rs_addr) = v4(rs.addr) else {
                skipped.push(format!(
                    "real_server {} in {name}: IPv6 is not simulated",
                    rs.addr
                ));
                continue;
            };
            dests.push(
                DestConfig::new(rs_addr, rs.port)
                    .weight(rs.weight)
                    .forward(forward(rs.lb_kind))
                    .thresholds(rs.uthreshold, rs.lthreshold),
            );
            let mut rc = RealServerCheckConfig::new(SocketAddrV4::new(rs_addr, rs.port), rs.weight);
            rc.inhibit_on_failure = Some(rs.inhibit_on_failure);
            rc.alpha = Some(rs.alpha);
            for c in &rs.checkers {
                if let Some(cc) = checker(c, &name, &mut skipped) {
                    rc.checkers.push(cc);
                }
            }
            check.real_servers.push(rc);
        }
        let mut sorry = None;
        if let Some(s) = &vs.sorry_server
            && let Some(a) = v4(s.addr)
        {
            let addr = SocketAddrV4::new(a, s.port);
            check.sorry_server = Some(SorryServerConfig {
                addr,
                inhibit: s.inhibit,
            });
            sorry = Some(
                DestConfig::new(a, s.port)
                    .weight(1)
                    .forward(forward(s.lb_kind)),
            );
        }
        services.push(ServicePlan {
            name,
            service,
            dests,
            sorry,
        });
        checks.push(check);
    }
    DirectorPlan {
        vrrp,
        services,
        checks,
        skipped,
    }
}

fn checker(c: &model::Checker, vs: &str, skipped: &mut Vec<String>) -> Option<CheckerConfig> {
    let kind = match &c.kind {
        model::CheckerKind::Tcp => CheckerKind::Tcp,
        model::CheckerKind::Http(h) => {
            let urls = h
                .urls
                .iter()
                .map(|u| {
                    let mut url = UrlCheck::new(u.path.clone());
                    url.digest = u.digest.as_deref().and_then(parse_digest);
                    url.status_codes = u.status_codes.iter().map(|&(a, b)| a..=b).collect();
                    url.virtualhost = u.virtualhost.clone();
                    url
                })
                .collect();
            let mut http = HttpCheckConfig::new(urls);
            http.ssl = h.tls;
            http.virtualhost = h.virtualhost.clone();
            CheckerKind::Http(http)
        }
        model::CheckerKind::Misc(m) => CheckerKind::Misc(MiscCheckConfig {
            path: m.path.join(" "),
            timeout: m.timeout,
            dynamic: m.dynamic,
        }),
        model::CheckerKind::Other(name) => {
            skipped.push(format!("{name} checker in {vs}: not simulated"));
            return None;
        }
    };
    let mut cc = CheckerConfig::new(kind);
    cc.connect_ip = c.connect_ip.and_then(v4);
    cc.connect_port = Some(c.connect_port);
    cc.connect_timeout = Some(c.connect_timeout);
    cc.delay_loop = Some(c.delay_loop);
    cc.retry = Some(c.retry);
    cc.delay_before_retry = Some(c.delay_before_retry);
    cc.warmup = Some(c.warmup);
    cc.alpha = Some(c.alpha);
    Some(cc)
}

fn vrrp_plan(
    config: &KeepalivedConfig,
    ports: &[DirectorPort],
    skipped: &mut Vec<String>,
) -> ProcessConfig {
    let g = &config.global.vrrp;
    let global = GlobalVrrpConfig {
        vrrp_version: match g.version {
            model::VrrpVersion::V2 => 2,
            model::VrrpVersion::V3 => 3,
        },
        vrrp_mcast_group4: g.mcast_group4,
        vrrp_garp_master_delay: g.garp_master_delay,
        vrrp_garp_master_repeat: g.garp_master_repeat,
        vrrp_garp_master_refresh: g.garp_master_refresh.unwrap_or(Duration::ZERO),
        vrrp_garp_master_refresh_repeat: g.garp_master_refresh_repeat,
        vrrp_garp_lower_prio_delay: g.garp_lower_prio_delay.unwrap_or(g.garp_master_delay),
        vrrp_garp_lower_prio_repeat: g.garp_lower_prio_repeat.unwrap_or(g.garp_master_repeat),
        vrrp_down_timer_adverts: g.down_timer_adverts,
        vrrp_lower_prio_no_advert: g.lower_prio_no_advert,
        vrrp_higher_prio_send_advert: g.higher_prio_send_advert,
    };
    let interfaces = ports
        .iter()
        .enumerate()
        .map(|(i, p)| InterfaceConfig {
            name: p.name.clone(),
            port: PortId(i as u16),
            mac: p.mac,
            ip: p.addr,
        })
        .collect();
    let scripts = config
        .vrrp_scripts
        .iter()
        .map(|s| {
            let mut sc = ScriptConfig::new(s.name.clone());
            sc.weight = s.weight;
            sc.reverse = s.weight_reverse;
            sc.rise = s.rise;
            sc.fall = s.fall;
            sc.init_fail = s.init_fail;
            sc
        })
        .collect();
    let mut instances = Vec::new();
    for inst in &config.vrrp_instances {
        let (Some(interface), Some(vrid)) = (&inst.interface, inst.vrid) else {
            skipped.push(format!(
                "vrrp_instance {}: no interface or virtual_router_id",
                inst.name
            ));
            continue;
        };
        if inst.family == model::AddressFamily::V6 {
            skipped.push(format!(
                "vrrp_instance {}: IPv6 is not simulated",
                inst.name
            ));
            continue;
        }
        let mut ic = InstanceConfig::new(inst.name.clone(), interface.clone(), vrid, &global);
        ic.priority = inst.priority;
        ic.state_master = inst.initial_state == model::VrrpState::Master;
        ic.version = match inst.version {
            model::VrrpVersion::V2 => 2,
            model::VrrpVersion::V3 => 3,
        };
        ic.advert_int = inst.advert_int;
        if let Some(auth) = &inst.authentication {
            match auth.auth_type {
                model::AuthType::Pass => {
                    ic.auth_type = AuthType::Pass;
                    ic.set_auth_pass(&auth.password);
                }
                model::AuthType::Ah => {
                    ic.auth_type = AuthType::Ah;
                    skipped.push(format!(
                        "vrrp_instance {}: AH authentication is not simulated",
                        inst.name
                    ));
                }
            }
        }
        ic.vips = inst
            .virtual_ipaddresses
            .iter()
            .filter_map(|v| v4(v.addr))
            .collect();
        ic.excluded_vips = inst
            .virtual_ipaddresses_excluded
            .iter()
            .filter_map(|v| v4(v.addr))
            .collect();
        ic.nopreempt = inst.nopreempt;
        ic.preempt_delay = inst.preempt_delay;
        ic.garp_master_delay = inst.garp_master_delay;
        ic.garp_master_repeat = inst.garp_master_repeat;
        ic.garp_master_refresh = inst.garp_master_refresh.unwrap_or(Duration::ZERO);
        ic.garp_master_refresh_repeat = inst.garp_master_refresh_repeat;
        ic.garp_lower_prio_delay = inst.garp_lower_prio_delay;
        ic.garp_lower_prio_repeat = inst.garp_lower_prio_repeat;
        ic.src_ip = inst.unicast_src_ip.or(inst.mcast_src_ip).and_then(v4);
        ic.unicast_peers = inst.unicast_peers.iter().copied().filter_map(v4).collect();
        ic.track_interfaces = inst
            .track_interfaces
            .iter()
            .map(|t| TrackInterface {
                interface: t.name.clone(),
                weight: t.weight,
                reverse: t.reverse,
            })
            .collect();
        ic.track_scripts = inst
            .track_scripts
            .iter()
            .map(|t| TrackScript {
                script: t.name.clone(),
                weight: Some(t.weight),
                reverse: Some(t.reverse),
            })
            .collect();
        ic.dont_track_primary = inst.dont_track_primary;
        ic.down_timer_adverts = inst.down_timer_adverts;
        ic.lower_prio_no_advert = inst.lower_prio_no_advert;
        ic.higher_prio_send_advert = inst.higher_prio_send_advert;
        instances.push(ic);
    }
    let sync_groups = config
        .sync_groups
        .iter()
        .map(|s| SyncGroupConfig {
            name: s.name.clone(),
            members: s.instances.clone(),
            track_interfaces: s.track_interfaces.iter().map(|t| t.name.clone()).collect(),
            track_scripts: s.track_scripts.iter().map(|t| t.name.clone()).collect(),
            sync_group_tracking_weight: false,
        })
        .collect();
    ProcessConfig {
        global,
        interfaces,
        scripts,
        instances,
        sync_groups,
    }
}
