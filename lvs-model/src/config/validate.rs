//! keepalived's completion stage: `vrrp_complete_init` (chk_min_cfg, sync groups,
//! vrrp_complete_instance, VRID conflicts) and `validate_check_config`, which apply defaults,
//! inheritance and corrections and print messages without a line number. Builds the effective
//! model.

use super::diag::{Effect, Severity};
use super::model::*;
use super::parser::{InstB, Parser};
use std::net::IpAddr;
use std::time::Duration;

const TIMER_HZ: u64 = 1_000_000;
const CENTI: u64 = 10_000;

fn proto_str(p: Option<Protocol>) -> &'static str {
    match p {
        Some(Protocol::Tcp) => "tcp",
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        None => "none",
    }
}

fn trio(addr: IpAddr, port: u16, p: Option<Protocol>) -> String {
    format!("[{addr}]:{}:{port}", proto_str(p))
}

/// keepalived's name of a virtual server in its messages; a value to format, so that the text
/// is only built when a message is printed. Holds the address and the protocol as they were
/// when it was taken (the completion stage changes the protocol afterwards).
struct VsName<'a> {
    address: Option<&'a VirtualServerAddress>,
    protocol: Option<Protocol>,
}

impl std::fmt::Display for VsName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.address {
            Some(VirtualServerAddress::Ip { addr, port }) => {
                write!(f, "[{addr}]:{}:{port}", proto_str(self.protocol))
            }
            Some(VirtualServerAddress::Fwmark(m)) => write!(f, "FWM {m}"),
            Some(VirtualServerAddress::Group(g)) => write!(f, "[{g}]:0"),
            None => f.write_str("?"),
        }
    }
}

impl Parser<'_> {
    fn vmsg(
        &mut self,
        at: &Location,
        effect: Effect,
        code: &'static str,
        msg: String,
        help: Option<&str>,
    ) {
        let sev =
            if msg.contains("Warning") || msg.contains("WARNING") || msg.contains("deprecated") {
                Severity::Warning
            } else {
                Severity::Error
            };
        self.noline_at(Some(at), sev, effect, code, msg, help.map(str::to_string));
    }

    /// VRRP completion; returns the effective instances and sync groups, and a startup failure.
    pub(crate) fn complete_vrrp(
        &mut self,
    ) -> (Vec<VrrpInstance>, Vec<SyncGroup>, Option<StartupFailure>) {
        let insts = std::mem::take(&mut self.st.insts);
        let g = self.st.global.clone();
        let fail = |reason: String, loc: &Location| StartupFailure {
            reason,
            location: Some(loc.clone()),
        };
        for i in &insts {
            if i.vrid.is_none() {
                let m = format!("({}) the virtual router id must be set", i.name);
                self.vmsg(
                    &i.loc,
                    Effect::InstanceDisabled,
                    "vrid-missing",
                    m.clone(),
                    Some(
                        "keepalived's VRRP process exits at start-up, which stops the whole daemon",
                    ),
                );
                return (vec![], vec![], Some(fail(m, &i.loc)));
            }
            if i.interface.is_none() && i.unicast_peers.is_empty() {
                let m = format!("({}) Unknown interface!", i.name);
                self.vmsg(&i.loc, Effect::InstanceDisabled, "interface-missing", m.clone(), Some("an instance needs `interface` (or unicast peers); keepalived's VRRP process exits at start-up"));
                return (vec![], vec![], Some(fail(m, &i.loc)));
            }
        }
        // Sync groups.
        let mut member_of: Vec<Option<String>> = vec![None; insts.len()];
        let mut groups = Vec::new();
        let mut index_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        if !self.st.syncs.is_empty() {
            for (ix, i) in insts.iter().enumerate().rev() {
                index_of.insert(i.name.as_str(), ix);
            }
        }
        for (mut sg, members) in std::mem::take(&mut self.st.syncs) {
            if members.is_empty() {
                self.vmsg(
                    &sg.location,
                    Effect::ItemDropped,
                    "sync-group",
                    format!("Sync group {} has no virtual router(s). removing", sg.name),
                    None,
                );
                continue;
            }
            for (m, _loc) in &members {
                match index_of.get(m.as_str()).copied() {
                    None => self.vmsg(&sg.location, Effect::Ignored, "sync-group-member", format!("Virtual router {m} specified in sync group {} doesn't exist - ignoring", sg.name), None),
                    Some(ix) if member_of[ix].is_some() => self.vmsg(&sg.location, Effect::Ignored, "sync-group-member", format!("Virtual router {m} cannot exist in more than one sync group; ignoring {}", sg.name), None),
                    Some(ix) => {
                        member_of[ix] = Some(sg.name.clone());
                        sg.instances.push(m.clone());
                    }
                }
            }
            if sg.instances.is_empty() {
                self.vmsg(&sg.location, Effect::ItemDropped, "sync-group", format!("Sync group {}, no matching virtual router found in group declaration - removing", sg.name), None);
                continue;
            }
            if sg.instances.len() == 1 {
                self.vmsg(&sg.location, Effect::None, "sync-group-single", format!("Sync group {} has only 1 virtual router(s) - this probably isn't what you want", sg.name), None);
            }
            groups.push(sg);
        }
        let mut out = Vec::new();
        for (ix, i) in insts.iter().enumerate() {
            match self.complete_instance(i, &g) {
                Ok(mut v) => {
                    v.sync_group = member_of[ix].clone();
                    out.push(v);
                }
                Err(m) => return (out, groups, Some(fail(m, &i.loc))),
            }
        }
        // Duplicate VRIDs on one interface and family: the first instance that repeats an earlier
        // one's (VRID, family, interface), paired with the first of those earlier ones.
        let dup = {
            let mut first_with: std::collections::HashMap<
                (Option<u8>, AddressFamily, &str),
                usize,
            > = std::collections::HashMap::with_capacity(out.len());
            (0..out.len()).find_map(|a| {
                let key = (out[a].vrid, out[a].family, out[a].interface.as_deref()?);
                let b = *first_with.entry(key).or_insert(a);
                (b != a).then_some((a, b))
            })
        };
        if let Some((a, b)) = dup {
            let (x, y) = (&out[a], &out[b]);
            let m = format!(
                "{} and {} both use VRID {} with IPv{} on interface {}",
                x.name,
                y.name,
                x.vrid.unwrap_or(0),
                if x.family == AddressFamily::V4 { 4 } else { 6 },
                x.interface.clone().unwrap_or_default()
            );
            let loc = x.location.clone();
            self.vmsg(
                &loc,
                Effect::InstanceDisabled,
                "vrid-duplicate",
                m.clone(),
                Some("keepalived's VRRP process exits at start-up"),
            );
            return (out, groups, Some(fail(m, &loc)));
        }
        (out, groups, None)
    }

    fn complete_instance(&mut self, i: &InstB, g: &GlobalDefs) -> Result<VrrpInstance, String> {
        let n = &i.name;
        let at = i.loc.clone();
        let strict = i.strict_mode.unwrap_or(g.vrrp.strict);
        let mut version = i.version;
        let family = i.family.unwrap_or(AddressFamily::V4);
        if family == AddressFamily::V6 {
            if version == Some(VrrpVersion::V2) && strict {
                self.vmsg(
                    &at,
                    Effect::Clamped,
                    "version",
                    format!("({n}) cannot use IPv6 with VRRP version 2; setting version 3"),
                    None,
                );
                version = Some(VrrpVersion::V3);
            } else if version.is_none() {
                version = Some(VrrpVersion::V3);
            }
        }
        let version = version.unwrap_or(g.vrrp.version);
        if i.vips.is_empty() {
            if version == VrrpVersion::V3 || strict {
                let m = format!("({n}) No VIP specified; at least one is required");
                self.vmsg(&at, Effect::InstanceDisabled, "vip-missing", m.clone(), Some("VRRPv3 and strict mode need at least one virtual_ipaddress; the VRRP process exits"));
                return Err(m);
            }
            self.vmsg(
                &at,
                Effect::None,
                "vip-missing",
                format!("({n}) No VIP specified; at least one is sensible"),
                Some("the instance runs VRRP but moves no address"),
            );
        }
        let priority = match i.priority {
            Some(p) => p,
            None if i.want_master == Some(true) => 255,
            None => 100,
        };
        let mut master = match i.want_master {
            None => priority == 255,
            Some(m) => {
                if strict && m != (priority == 255) {
                    self.vmsg(
                        &at,
                        Effect::Defaulted,
                        "state",
                        format!("({n}) State MASTER must match being address owner"),
                        None,
                    );
                    priority == 255
                } else {
                    m
                }
            }
        };
        let mut auth = i.auth_type.map(|t| Authentication {
            auth_type: t,
            password: i.auth_pass.clone(),
        });
        if auth.is_some() {
            let reason = if strict {
                Some(format!(
                    "({n}) Strict mode does not support authentication. Ignoring."
                ))
            } else if version == VrrpVersion::V3 {
                Some(format!(
                    "({n}) VRRP version 3 does not support authentication. Ignoring."
                ))
            } else if i.auth_pass.is_empty() || i.auth_pass[0] == 0 {
                Some(format!(
                    "({n}) Authentication specified but no password given. Ignoring"
                ))
            } else if family == AddressFamily::V6 && i.auth_type == Some(AuthType::Ah) {
                Some(format!(
                    "({n}) Cannot use AH authentication with IPv6. ignoring"
                ))
            } else {
                None
            };
            if let Some(m) = reason {
                self.vmsg(&at, Effect::Ignored, "auth", m, Some("the instance sends adverts without authentication, so peers that still use a password drop them"));
                auth = None;
            } else if i.auth_type == Some(AuthType::Ah) && master && priority != 255 {
                self.vmsg(&at, Effect::Defaulted, "auth", format!("({n}) Initial state master is incompatible with AH authentication - clearing"), None);
                master = false;
            }
        }
        if i.interface.is_none() && !i.saddr_from_config {
            let m = format!("({n}): Unicast instances must have unicast_src_ip or interface");
            self.vmsg(&at, Effect::InstanceDisabled, "unicast", m.clone(), None);
            return Err(m);
        }
        if i.unicast_configured && i.unicast_peers.is_empty() {
            self.vmsg(&at, Effect::Defaulted, "unicast", format!("({n}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."), None);
        }
        let mut track_interfaces = Vec::new();
        for t in &i.track_interfaces {
            if Some(&t.name) == i.interface.as_ref() {
                self.vmsg(
                    &at,
                    Effect::Ignored,
                    "track-interface",
                    format!(
                        "({n}) Ignoring track_interface {} since own interface",
                        t.name
                    ),
                    None,
                );
            } else {
                track_interfaces.push(t.clone());
            }
        }
        let mut nopreempt = i.nopreempt;
        if priority == 255 && nopreempt {
            self.vmsg(
                &at,
                Effect::Ignored,
                "nopreempt",
                format!("({n}) nopreempt is incompatible with priority 255. resetting nopreempt"),
                None,
            );
            nopreempt = false;
        }
        let mut preempt_delay = i.preempt_delay_us;
        if master {
            if nopreempt {
                self.vmsg(&at, Effect::Ignored, "nopreempt", format!("({n}) Warning - nopreempt will not work with initial state MASTER - clearing"), Some("nopreempt only works when every node starts as BACKUP; keepalived clears it"));
                nopreempt = false;
            }
            if preempt_delay > 0 {
                self.vmsg(&at, Effect::Ignored, "preempt-delay", format!("({n}) Warning - preempt delay will not work with initial state MASTER - clearing"), None);
                preempt_delay = 0;
            }
        }
        if preempt_delay > 0 {
            if strict {
                self.vmsg(
                    &at,
                    Effect::Ignored,
                    "preempt-delay",
                    format!("({n}) preempt_delay is incompatible with strict mode - resetting"),
                    None,
                );
                preempt_delay = 0;
            }
            if nopreempt && preempt_delay > 0 {
                self.vmsg(
                    &at,
                    Effect::Ignored,
                    "preempt-delay",
                    format!("({n}) preempt_delay is incompatible with nopreempt mode - resetting"),
                    None,
                );
                preempt_delay = 0;
            }
        }
        let mut down_timer_adverts = i.down_timer_adverts.unwrap_or(g.vrrp.down_timer_adverts);
        if i.down_timer_adverts.is_some_and(|d| d != 3) && strict {
            self.vmsg(
                &at,
                Effect::Defaulted,
                "strict",
                format!("({n}) down_timer_adverts is incompatible with strict mode - resetting"),
                None,
            );
            down_timer_adverts = 3;
        }
        let mut accept = i
            .accept
            .unwrap_or(if priority == 255 { true } else { !strict });
        if accept && priority != 255 && strict && version == VrrpVersion::V2 {
            self.vmsg(&at, Effect::Ignored, "accept", format!("({n}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"), None);
            accept = false;
        }
        let garp_lower_prio_repeat = match i.garp_lower_prio_repeat {
            None => {
                if strict {
                    0
                } else {
                    g.vrrp
                        .garp_lower_prio_repeat
                        .unwrap_or(g.vrrp.garp_master_repeat)
                }
            }
            Some(r) if strict && r > 0 => {
                self.vmsg(
                    &at,
                    Effect::Defaulted,
                    "strict",
                    format!("({n}) Strict mode requires no repeat garps. resetting"),
                    None,
                );
                0
            }
            Some(r) => r,
        };
        let garp_lower_prio_delay = match i.garp_lower_prio_delay {
            None => {
                if strict {
                    Duration::ZERO
                } else {
                    g.vrrp
                        .garp_lower_prio_delay
                        .unwrap_or(g.vrrp.garp_master_delay)
                }
            }
            Some(d) if strict && !d.is_zero() => {
                self.vmsg(
                    &at,
                    Effect::Defaulted,
                    "strict",
                    format!("({n}) Strict mode requires no repeat garp delay. resetting"),
                    None,
                );
                Duration::ZERO
            }
            Some(d) => d,
        };
        let lower_prio_no_advert = match i.lower_prio_no_advert {
            None => strict || g.vrrp.lower_prio_no_advert,
            Some(false) if strict => {
                self.vmsg(
                    &at,
                    Effect::Defaulted,
                    "strict",
                    format!("({n}) Strict mode requires no lower priority advert. resetting"),
                    None,
                );
                true
            }
            Some(b) => b,
        };
        let higher_prio_send_advert = match i.higher_prio_send_advert {
            None => !strict && g.vrrp.higher_prio_send_advert,
            Some(true) if strict => {
                self.vmsg(
                    &at,
                    Effect::Defaulted,
                    "strict",
                    format!(
                        "({n}) strict mode requires higher_prio_send_advert to be clear. resetting"
                    ),
                    None,
                );
                false
            }
            Some(b) => b,
        };
        let mut adv = i.advert_us.unwrap_or(TIMER_HZ);
        if version == VrrpVersion::V2 {
            if adv >= 256 * TIMER_HZ {
                self.vmsg(&at, Effect::Clamped, "advert-int", format!("({n}) VRRPv2 advertisement interval {:.2}s is out of range. Must be less than 256s. Setting to 255s", adv as f64 / 1e6), None);
                adv = 255 * TIMER_HZ;
            } else if !adv.is_multiple_of(TIMER_HZ) {
                self.vmsg(
                    &at,
                    Effect::Clamped,
                    "advert-int",
                    format!(
                        "({n}) VRRPv2 advertisement interval {:.6}s must be an integer. rounding",
                        adv as f64 / 1e6
                    ),
                    Some("VRRPv2 carries whole seconds; keepalived rounds to the nearest second"),
                );
                adv += TIMER_HZ / 2;
                adv -= adv % TIMER_HZ;
                if adv == 0 {
                    adv = TIMER_HZ;
                }
            }
        } else if adv >= 4096 * CENTI {
            self.vmsg(&at, Effect::Clamped, "advert-int", format!("({n}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s", adv as f64 / 1e6), Some("VRRPv3 carries the interval in centiseconds in 12 bits"));
            adv = 4095 * CENTI;
        } else if !adv.is_multiple_of(CENTI) {
            self.vmsg(&at, Effect::Clamped, "advert-int", format!("({n}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding", adv as f64 / 1e6), None);
            adv += CENTI / 2;
            adv -= adv % CENTI;
            if adv == 0 {
                adv = CENTI;
            }
        }
        let smtp_alert = i.smtp_alert.or(g.smtp_alert).unwrap_or(false);
        Ok(VrrpInstance {
            name: n.clone(),
            location: at,
            initial_state: if master {
                VrrpState::Master
            } else {
                VrrpState::Backup
            },
            interface: i.interface.clone(),
            vrid: i.vrid,
            priority,
            advert_int: Duration::from_micros(adv),
            version,
            family,
            authentication: auth,
            virtual_ipaddresses: i.vips.clone(),
            virtual_ipaddresses_excluded: i.evips.clone(),
            nopreempt,
            preempt_delay: Duration::from_micros(preempt_delay),
            garp_master_delay: i.garp_master_delay.unwrap_or(g.vrrp.garp_master_delay),
            garp_master_repeat: i.garp_master_repeat.unwrap_or(g.vrrp.garp_master_repeat),
            garp_master_refresh: i.garp_master_refresh.unwrap_or(g.vrrp.garp_master_refresh),
            garp_master_refresh_repeat: i
                .garp_master_refresh_repeat
                .unwrap_or(g.vrrp.garp_master_refresh_repeat),
            garp_lower_prio_delay,
            garp_lower_prio_repeat,
            down_timer_adverts,
            unicast_src_ip: i.unicast_src_ip,
            unicast_peers: i.unicast_peers.clone(),
            mcast_src_ip: i.mcast_src_ip,
            track_interfaces,
            track_scripts: i.track_scripts.clone(),
            notify: i.notify.clone(),
            smtp_alert,
            strict_mode: strict,
            accept,
            lower_prio_no_advert,
            higher_prio_send_advert,
            skip_check_adv_addr: i.skip_check_adv_addr.unwrap_or(g.vrrp.skip_check_adv_addr),
            dont_track_primary: i.dont_track_primary,
            use_vmac: i.use_vmac,
            sync_group: None,
        })
    }

    /// keepalived's `validate_check_config`: never fatal, corrects and warns.
    pub(crate) fn complete_check(&mut self) -> Vec<VirtualServer> {
        let vss = std::mem::take(&mut self.st.vss);
        let mut out = Vec::new();
        for mut v in vss {
            let at = v.loc.clone();
            let fv = VsName {
                address: v.address.as_ref(),
                protocol: v.protocol,
            };
            if v.rs.is_empty() {
                self.vmsg(
                    &at,
                    Effect::ItemDropped,
                    "vs-no-real-servers",
                    format!("Virtual server {fv} has no real servers - ignoring"),
                    Some("keepalived drops a virtual_server without real_server entries"),
                );
                continue;
            }
            let is_fwmark = matches!(v.address, Some(VirtualServerAddress::Fwmark(_)));
            let is_group = matches!(v.address, Some(VirtualServerAddress::Group(_)));
            if v.ha_suspend && is_fwmark {
                self.vmsg(&at, Effect::Ignored, "ha-suspend", format!("Virtual server {fv}: cannot use ha_suspend with fwmarks - clearing ha_suspend"), None);
                v.ha_suspend = false;
            }
            if !is_fwmark && !is_group {
                if v.protocol.is_none() {
                    self.vmsg(
                        &at,
                        Effect::Defaulted,
                        "protocol-missing",
                        format!("Virtual server {fv}: no protocol set - defaulting to UDP"),
                        Some("without `protocol TCP` keepalived creates a UDP service"),
                    );
                    v.protocol = Some(Protocol::Udp);
                }
                if let Some(VirtualServerAddress::Ip { port: 0, .. }) = v.address
                    && v.persistence_timeout.is_none()
                {
                    let fv = VsName {
                        address: v.address.as_ref(),
                        protocol: v.protocol,
                    };
                    self.vmsg(&at, Effect::Defaulted, "vs-port", format!("Virtual server {fv}: zero port only valid for persistent services - setting"), None);
                    v.persistence_timeout = Some(360);
                }
            }
            if v.protocol.is_some() && is_fwmark {
                self.vmsg(&at, Effect::Ignored, "fwmark-protocol", format!("Warning: Virtual server {fv}: protocol specified for fwmark - protocol will be ignored"), None);
                v.protocol = None;
            }
            let fv = VsName {
                address: v.address.as_ref(),
                protocol: v.protocol,
            };
            let lb_algo = match v.lb_algo {
                Some(a) => a,
                None => {
                    self.vmsg(
                        &at,
                        Effect::Defaulted,
                        "lb-algo-missing",
                        format!("Virtual server {fv}: no scheduler set, setting default 'wlc'"),
                        None,
                    );
                    LbAlgo::Wlc
                }
            };
            let vs_delay_loop = v.delay_loop.unwrap_or(Duration::from_secs(60));
            let vs_connect_timeout = v.connect_timeout.unwrap_or(Duration::from_secs(5));
            let mut weight_sum: u64 = 0;
            let mut rss: Vec<RealServer> = Vec::new();
            let mut seen: Vec<(IpAddr, u16)> = Vec::new();
            let (vs_port, vs_addr) = match &v.address {
                Some(VirtualServerAddress::Ip { addr, port }) => (*port, Some(*addr)),
                _ => (0, None),
            };
            let _ = vs_addr;
            for r in &v.rs {
                let Some(addr) = r.addr else { continue };
                if seen.contains(&(addr, r.port)) {
                    self.vmsg(
                        &r.loc,
                        Effect::ItemDropped,
                        "rs-duplicate",
                        format!(
                            "VS {fv}: real server {} is duplicated - removing second rs",
                            trio(addr, r.port, v.protocol)
                        ),
                        None,
                    );
                    continue;
                }
                seen.push((addr, r.port));
                let lb_kind = match r.lb_kind {
                    Some(k) => k,
                    None => match v.lb_kind {
                        Some(k) => k,
                        None => {
                            self.vmsg(&at, Effect::Defaulted, "lb-kind-missing", format!("Virtual server {fv}: no forwarding method set, setting default NAT"), Some("keepalived uses NAT when no valid lb_kind is given"));
                            v.lb_kind = Some(LbKind::Nat);
                            LbKind::Nat
                        }
                    },
                };
                let weight = r.weight.or(v.weight).unwrap_or(1);
                weight_sum += weight as u64;
                let mut port = r.port;
                if lb_kind == LbKind::Nat {
                    if !is_fwmark && port == 0 {
                        port = vs_port;
                    }
                } else if is_fwmark {
                    if port != 0 {
                        self.vmsg(&r.loc, Effect::Clamped, "rs-port", format!("WARNING - fwmark virtual server {fv}, real server {} has port specified - clearing", trio(addr, port, v.protocol)), None);
                        port = 0;
                    }
                } else if !is_group {
                    if port == 0 {
                        port = vs_port;
                    } else if port != vs_port {
                        self.vmsg(&r.loc, Effect::Clamped, "rs-port", format!("WARNING - virtual server {fv} and real server {} ports don't match - resetting", trio(addr, port, v.protocol)), Some("with DR and TUN the packet keeps the virtual port, so keepalived forces the real server's port to it"));
                        port = vs_port;
                    }
                }
                let rs_retry = r.retry.or(v.retry);
                let rs_delay_loop = r.delay_loop.unwrap_or(vs_delay_loop);
                let rs_warmup = r.warmup.or(v.warmup);
                let rs_dbr = r.delay_before_retry.or(v.delay_before_retry);
                let rs_ct = r.connect_timeout.unwrap_or(vs_connect_timeout);
                let mut checkers = Vec::new();
                for c in &r.checkers {
                    if c.dropped {
                        continue;
                    }
                    let delay_loop = c.delay_loop.unwrap_or(rs_delay_loop);
                    let kind = c.kind.clone().unwrap_or(CheckerKind::Tcp);
                    checkers.push(Checker {
                        kind,
                        connect_ip: c.connect_ip,
                        connect_port: c.connect_port.unwrap_or(port),
                        bindto: c.bindto,
                        connect_timeout: c.connect_timeout.unwrap_or(rs_ct),
                        retry: c.retry.or(rs_retry).unwrap_or(c.default_retry),
                        delay_before_retry: c
                            .delay_before_retry
                            .or(rs_dbr)
                            .or(c.default_dbr)
                            .unwrap_or(delay_loop),
                        warmup: c.warmup.or(rs_warmup).unwrap_or(delay_loop),
                        delay_loop,
                        alpha: c.alpha.or(r.alpha).unwrap_or(v.alpha),
                        log_all_failures: c.log_all_failures,
                        location: c.loc.clone(),
                    });
                }
                rss.push(RealServer {
                    addr,
                    port,
                    weight,
                    inhibit_on_failure: r.inhibit.or(v.inhibit).unwrap_or(false),
                    lb_kind,
                    uthreshold: r.uthreshold,
                    lthreshold: r.lthreshold,
                    notify_up: r.notify_up.clone(),
                    notify_down: r.notify_down.clone(),
                    alpha: r.alpha.unwrap_or(v.alpha),
                    checkers,
                    location: r.loc.clone(),
                });
            }
            let sorry_server = v.sorry.map(|(addr, port)| SorryServer {
                addr,
                port,
                inhibit: v.sorry_inhibit,
                lb_kind: v.sorry_lb_kind.or(v.lb_kind).unwrap_or(LbKind::Nat),
            });
            let mut quorum = v.quorum.unwrap_or(1);
            if quorum as u64 > weight_sum {
                self.vmsg(&at, Effect::Clamped, "quorum", format!("Warning - quorum {quorum} for {fv} exceeds total weight of real servers {weight_sum}, reducing quorum to {weight_sum}"), None);
                quorum = weight_sum as u32;
            }
            let mut hysteresis = v.hysteresis;
            if hysteresis >= quorum {
                let h = quorum.wrapping_sub(1);
                self.vmsg(&at, Effect::Clamped, "hysteresis", format!("Virtual server {fv}: hysteresis {hysteresis} >= quorum {quorum}; setting hysteresis to {h}"), None);
                hysteresis = h;
            }
            out.push(VirtualServer {
                address: v.address.clone().unwrap_or(VirtualServerAddress::Fwmark(0)),
                location: at,
                protocol: v.protocol.unwrap_or(Protocol::Udp),
                lb_algo,
                lb_kind: v.lb_kind.unwrap_or(LbKind::Nat),
                delay_loop: vs_delay_loop,
                persistence_timeout: v.persistence_timeout.map(|s| Duration::from_secs(s as u64)),
                persistence_granularity: v.persistence_granularity,
                quorum,
                hysteresis,
                quorum_up: v.quorum_up.clone(),
                quorum_down: v.quorum_down.clone(),
                sorry_server,
                ha_suspend: v.ha_suspend,
                alpha: v.alpha,
                omega: v.omega,
                virtualhost: v.virtualhost.clone(),
                real_servers: rss,
            });
        }
        out
    }
}
