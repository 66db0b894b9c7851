//! VRRP handlers: vrrp_instance, authentication, vrrp_script, vrrp_sync_group.

use super::diag::Effect;
use super::handlers::{parse_ip, script_args};
use super::lexer::{Line, Token};
use super::model::*;
use super::parser::{Exit, Parser, true_false};
use std::net::IpAddr;
use std::time::Duration;

const TIMER_HZ: u64 = 1_000_000;

fn family(a: &IpAddr) -> AddressFamily {
    if a.is_ipv4() {
        AddressFamily::V4
    } else {
        AddressFamily::V6
    }
}

impl Parser<'_> {
    fn cur_inst(&mut self) -> Option<&mut super::parser::InstB> {
        self.st.insts.last_mut()
    }

    fn inst_name(&self) -> String {
        self.st
            .insts
            .last()
            .map(|i| i.name.clone())
            .unwrap_or_default()
    }

    fn opt_flag(&mut self, toks: &[Token], what: &str) -> Option<bool> {
        match toks.get(1) {
            None => Some(true),
            Some(t) => match true_false(t.text) {
                Some(b) => Some(b),
                None => {
                    let n = self.inst_name();
                    self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-bool",
                        format!("({n}) invalid {what} {} specified", t.text),
                    );
                    None
                }
            },
        }
    }

    pub(crate) fn h_vrrp(&mut self, toks: &[Token], line: &Line) -> Result<(), Exit> {
        if self.st.insts.is_empty() {
            return Ok(());
        }
        let kw = toks[0].text;
        let name = self.inst_name();
        match kw {
            "state" => {
                let t = self.arg(toks, 1)?;
                match t.text {
                    "MASTER" => self.cur_inst().unwrap().want_master = Some(true),
                    "BACKUP" => {
                        if self.st.insts.last().unwrap().want_master == Some(true) {
                            self.err(
                                Some(t),
                                Effect::Ignored,
                                "state",
                                format!(
                                    "({name}) state previously set as MASTER - ignoring BACKUP"
                                ),
                            );
                        } else {
                            self.cur_inst().unwrap().want_master = Some(false);
                        }
                    }
                    other => {
                        let o = other.to_string();
                        self.err_help(
                            Some(t),
                            Effect::Defaulted,
                            "state",
                            format!("({name}) unknown state '{o}', defaulting to BACKUP"),
                            "state must be MASTER or BACKUP, in capitals",
                        );
                        self.cur_inst().unwrap().want_master = Some(false);
                    }
                }
            }
            "interface" => {
                let t = self.arg(toks, 1)?;
                if t.text.len() >= 16 {
                    self.err(
                        Some(t),
                        Effect::Ignored,
                        "interface",
                        format!("Interface name '{}' too long - ignoring", t.text),
                    );
                } else {
                    self.cur_inst().unwrap().interface = Some(t.text.to_string());
                }
            }
            "virtual_router_id" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, 255, false) {
                    Ok(v) => self.cur_inst().unwrap().vrid = Some(v as u8),
                    Err(_) => self.err_help(Some(t), Effect::InstanceDisabled, "vrid", format!("({name}): VRID '{}' not valid - must be between 1 & 255", t.text), "the instance is left without a VRID, so keepalived's VRRP process refuses to start"),
                }
            }
            "priority" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, 255, false) {
                    Ok(v) => self.cur_inst().unwrap().priority = Some(v as u8),
                    Err(_) => {
                        self.err_help(Some(t), Effect::Defaulted, "priority", format!("({name}) Priority not valid! must be between 1 & 255. Using default 100"), "the priority becomes 100");
                        self.cur_inst().unwrap().priority = Some(100);
                    }
                }
            }
            "advert_int" => {
                let t = self.arg(toks, 1)?;
                match self.read_decimal(t, TIMER_HZ / 100, 255 * TIMER_HZ, 6, true) {
                    Ok(v) if v > 0 => self.cur_inst().unwrap().advert_us = Some(v),
                    r => {
                        self.err_help(Some(t), Effect::Ignored, "advert-int", format!("({name}) Advert interval ({}) not valid! Must be > 0 - ignoring", t.text), "the advertisement interval stays at its previous value (1 s by default)");
                        // A running daemon (not -t) accepts a numeric prefix that is in range.
                        if let Err(Some(v)) = r
                            && v > 0
                        {
                            self.cur_inst().unwrap().advert_us = Some(v);
                        }
                    }
                }
            }
            "version" => {
                let t = self.arg(toks, 1)?;
                match self.read_int(t, 2, 3, false) {
                    Ok(v) => {
                        let v = if v == 3 {
                            VrrpVersion::V3
                        } else {
                            VrrpVersion::V2
                        };
                        let i = self.cur_inst().unwrap();
                        if i.family == Some(AddressFamily::V6) && v == VrrpVersion::V2 {
                            self.err(Some(t), Effect::Ignored, "version", format!("({name}) vrrp_version 2 conflicts with configured IPv6 - ignoring"));
                        } else {
                            i.version = Some(v);
                        }
                    }
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "version",
                        format!("({name}): Version must be either 2 or 3"),
                    ),
                }
            }
            "authentication" => {}
            "nopreempt" => self.cur_inst().unwrap().nopreempt = true,
            "preempt" => self.cur_inst().unwrap().nopreempt = false,
            "preempt_delay" => {
                let t = self.arg(toks, 1)?;
                match self.read_timer(t, 0, 1000 * TIMER_HZ, false) {
                    Ok(d) => self.cur_inst().unwrap().preempt_delay_us = d.as_micros() as u64,
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "preempt-delay",
                        format!("({name}) Preempt_delay not valid! must be between 0-1000"),
                    ),
                }
            }
            "garp_master_delay" | "garp_lower_prio_delay" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64 / TIMER_HZ, true) {
                    Ok(v) => {
                        let i = self.cur_inst().unwrap();
                        if kw == "garp_master_delay" {
                            i.garp_master_delay = Some(Duration::from_secs(v));
                        } else {
                            i.garp_lower_prio_delay = Some(Duration::from_secs(v));
                        }
                    }
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("({name}): {kw} '{}' invalid - ignoring", t.text),
                    ),
                }
            }
            "garp_master_repeat" | "garp_master_refresh_repeat" | "garp_lower_prio_repeat" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, i32::MAX as u64, true) {
                    Ok(v) => {
                        let v = if v == 0 && kw != "garp_lower_prio_repeat" {
                            self.err(
                                Some(t),
                                Effect::Clamped,
                                "out-of-range",
                                format!("({name}): {kw} must be greater than 0, setting to 1"),
                            );
                            1
                        } else {
                            v as u32
                        };
                        let i = self.cur_inst().unwrap();
                        match kw {
                            "garp_master_repeat" => i.garp_master_repeat = Some(v),
                            "garp_master_refresh_repeat" => i.garp_master_refresh_repeat = Some(v),
                            _ => i.garp_lower_prio_repeat = Some(v),
                        }
                    }
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("({name}): {kw} '{}' invalid - ignoring", t.text),
                    ),
                }
            }
            "garp_master_refresh" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64 / TIMER_HZ, true) {
                    Ok(v) => {
                        self.cur_inst().unwrap().garp_master_refresh =
                            Some((v > 0).then(|| Duration::from_secs(v)))
                    }
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!(
                            "({name}): Invalid garp_master_refresh '{}' - ignoring",
                            t.text
                        ),
                    ),
                }
            }
            "down_timer_adverts" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, 100, false) {
                    Ok(v) => self.cur_inst().unwrap().down_timer_adverts = Some(v as u32),
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("({name}): Invalid down_timer_adverts [1:100] '{}'", t.text),
                    ),
                }
            }
            "unicast_src_ip" | "mcast_src_ip" => {
                let t = self.arg(toks, 1)?;
                if kw == "unicast_src_ip" {
                    self.cur_inst().unwrap().unicast_configured = true;
                }
                match parse_ip(t.text) {
                    None => self.err(Some(t), Effect::Ignored, "invalid-address", format!("Configuration error: VRRP instance[{name}] malformed src address[{}]. Skipping...", t.text)),
                    Some(a) => {
                        let i = self.cur_inst().unwrap();
                        match i.family {
                            Some(f) if f != family(&a) => {
                                self.err(Some(t), Effect::Ignored, "address-family", format!("Configuration error: VRRP instance[{name}] and src address[{}] MUST be of the same family !!! Skipping...", t.text));
                            }
                            _ => {
                                i.family = Some(family(&a));
                                i.saddr_from_config = true;
                                if kw == "unicast_src_ip" {
                                    i.unicast_src_ip = Some(a);
                                } else {
                                    i.mcast_src_ip = Some(a);
                                }
                            }
                        }
                    }
                }
            }
            "unicast_peer" => {
                self.cur_inst().unwrap().unicast_configured = true;
                for (l, item) in self.value_block(toks) {
                    self.cur = Some(l);
                    let t = &item[0];
                    match parse_ip(t.text) {
                        None => self.err(Some(t), Effect::ItemDropped, "invalid-address", format!("Configuration error: VRRP instance[{name}] malformed unicast peer address[{}]. Skipping...", t.text)),
                        Some(a) => {
                            let i = self.cur_inst().unwrap();
                            match i.family {
                                Some(f) if f != family(&a) => self.err(Some(t), Effect::ItemDropped, "address-family", format!("Configuration error: VRRP instance[{name}] and unicast peer address[{}] MUST be of the same family !!! Skipping...", t.text)),
                                _ => {
                                    i.family = Some(family(&a));
                                    if !i.unicast_peers.contains(&a) {
                                        i.unicast_peers.push(a);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "unicast_fault_no_peer" => self.cur_inst().unwrap().unicast_configured = true,
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                for (l, item) in self.value_block(toks) {
                    self.cur = Some(l);
                    self.vip_item(&item, kw == "virtual_ipaddress");
                }
            }
            "track_interface" => {
                for (l, item) in self.value_block(toks) {
                    self.cur = Some(l);
                    let n = item[0].text.to_string();
                    let mut weight = 0;
                    let mut reverse = false;
                    if item.len() >= 2 {
                        if item[1].text != "weight" {
                            self.err(
                                Some(&item[1]),
                                Effect::ItemDropped,
                                "track-interface",
                                format!(
                                    "({name}) unknown track_interface {n} option {}",
                                    item[1].text
                                ),
                            );
                            continue;
                        }
                        let Some(w) = item.get(2).cloned() else {
                            self.err(
                                Some(&item[1]),
                                Effect::ItemDropped,
                                "track-interface",
                                format!("({name}) weight without value specified for {n}"),
                            );
                            continue;
                        };
                        match self.read_int(&w, -254, 254, true) {
                            Ok(v) if v.abs() == 254 => {
                                self.err(Some(&w), Effect::Clamped, "track-interface", format!("({name}) weight for {n} cannot be +/-254. Setting to +/-253"));
                                weight = v.signum() as i32 * 253;
                            }
                            Ok(v) => weight = v as i32,
                            Err(_) => {
                                self.err(Some(&w), Effect::ItemDropped, "track-interface", format!("({name}) weight {} for {n} must be between [-253..253] inclusive. Ignoring...", w.text));
                                continue;
                            }
                        }
                        if let Some(r) = item.get(3) {
                            reverse = r.text == "reverse";
                        }
                    }
                    let i = self.cur_inst().unwrap();
                    if i.track_interfaces.iter().any(|t| t.name == n) {
                        self.err(
                            Some(&item[0]),
                            Effect::Ignored,
                            "track-interface",
                            format!("({name}) duplicate track_interface {n} - ignoring"),
                        );
                    } else {
                        i.track_interfaces.push(TrackInterface {
                            name: n,
                            weight,
                            reverse,
                        });
                    }
                }
            }
            "track_script" => {
                for (l, item) in self.value_block(toks) {
                    self.cur = Some(l);
                    if let Some(ts) = self.track_script_item(&name, &item) {
                        let i = self.cur_inst().unwrap();
                        if i.track_scripts.iter().any(|t| t.name == ts.name) {
                            let tn = ts.name.clone();
                            self.err(
                                Some(&item[0]),
                                Effect::Ignored,
                                "track-script",
                                format!("({name}) duplicate track_script {tn} - ignoring"),
                            );
                        } else {
                            i.track_scripts.push(ts);
                        }
                    }
                }
            }
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                let dup = {
                    let n = &self.st.insts.last().unwrap().notify;
                    match kw {
                        "notify_master" => n.master.is_some(),
                        "notify_backup" => n.backup.is_some(),
                        "notify_fault" => n.fault.is_some(),
                        "notify_stop" => n.stop.is_some(),
                        _ => n.any.is_some(),
                    }
                };
                let what = if kw == "notify" {
                    "notify".to_string()
                } else {
                    kw.to_string()
                };
                if dup {
                    // keepalived reads word 2 only here (and exits if it is missing).
                    let t = self.arg(toks, 1)?;
                    self.err(
                        Some(t),
                        Effect::Ignored,
                        "notify-duplicate",
                        format!(
                            "({name}) {what} script already specified - ignoring {}",
                            t.text
                        ),
                    );
                } else if let Some(s) = script_args(self, line, toks) {
                    let n = &mut self.cur_inst().unwrap().notify;
                    match kw {
                        "notify_master" => n.master = Some(s),
                        "notify_backup" => n.backup = Some(s),
                        "notify_fault" => n.fault = Some(s),
                        "notify_stop" => n.stop = Some(s),
                        _ => n.any = Some(s),
                    }
                }
            }
            "smtp_alert" => {
                if let Some(b) = self.opt_flag(toks, "smtp_alert") {
                    self.cur_inst().unwrap().smtp_alert = Some(b);
                }
            }
            "strict_mode" => {
                if let Some(b) = self.opt_flag(toks, "strict_mode") {
                    self.cur_inst().unwrap().strict_mode = Some(b);
                }
            }
            "skip_check_adv_addr" => {
                if let Some(b) = self.opt_flag(toks, "skip_check_adv_addr") {
                    self.cur_inst().unwrap().skip_check_adv_addr = Some(b);
                }
            }
            "lower_prio_no_advert" => {
                if let Some(b) = self.opt_flag(toks, "lower_prio_no_advert") {
                    self.cur_inst().unwrap().lower_prio_no_advert = Some(b);
                }
            }
            "higher_prio_send_advert" => {
                if let Some(b) = self.opt_flag(toks, "higher_prio_send_advert") {
                    self.cur_inst().unwrap().higher_prio_send_advert = Some(b);
                }
            }
            "accept" => self.cur_inst().unwrap().accept = Some(true),
            "no_accept" => self.cur_inst().unwrap().accept = Some(false),
            "dont_track_primary" => self.cur_inst().unwrap().dont_track_primary = true,
            "use_vmac" => {
                self.cur_inst().unwrap().use_vmac = true;
                self.not_simulated(toks);
            }
            "lvs_sync_daemon_interface" => {
                let _ = self.arg(toks, 1)?;
                self.warn(Some(&toks[0]), Effect::None, "deprecated", format!("({name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated."));
                self.warn(
                    Some(&toks[0]),
                    Effect::None,
                    "deprecated",
                    "Please use global lvs_sync_daemon".into(),
                );
                self.not_simulated(toks);
            }
            "native_ipv6" => {
                let i = self.cur_inst().unwrap();
                if i.family == Some(AddressFamily::V4) {
                    self.err(
                        Some(&toks[0]),
                        Effect::Ignored,
                        "address-family",
                        format!("({name}) Cannot specify native_ipv6 with IPv4 addresses"),
                    );
                } else {
                    i.family = Some(AddressFamily::V6);
                }
            }
            "linkbeat_use_polling" => {
                self.warn(Some(&toks[0]), Effect::None, "deprecated", format!("({name}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block"));
            }
            "vmac_garp_intvl" => {
                self.warn(
                    Some(&toks[0]),
                    Effect::None,
                    "deprecated",
                    "Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\""
                        .into(),
                );
                self.not_simulated(toks);
            }
            "virtual_routes" | "virtual_rules" | "track_file" | "track_process" | "track_bfd" => {
                self.not_simulated(toks);
                let items = self.value_block(toks);
                if kw == "virtual_routes" {
                    for (l, item) in items {
                        self.cur = Some(l);
                        // keepalived tracks a route through its output interface (`dev`).
                        if item.iter().any(|t| t.text == "dev" || t.text == "no_track") {
                            continue;
                        }
                        let types = [
                            "blackhole",
                            "unreachable",
                            "prohibit",
                            "throw",
                            "unicast",
                            "local",
                            "broadcast",
                            "anycast",
                            "multicast",
                            "nat",
                        ];
                        let dest = item
                            .iter()
                            .find(|t| !types.contains(&t.text))
                            .unwrap_or(&item[0])
                            .clone();
                        self.warn(Some(&dest), Effect::Ignored, "route", format!("Warning - cannot track route {} with no interface specified, not tracking", dest.text));
                    }
                }
            }
            _ => self.not_simulated(toks),
        }
        Ok(())
    }

    fn track_script_item(&mut self, owner: &str, item: &[Token]) -> Option<TrackScript> {
        let n = item[0].text.to_string();
        let idx = self
            .st
            .scripts
            .iter()
            .zip(self.st.script_ok.iter())
            .position(|(s, ok)| *ok && s.name == n);
        let Some(idx) = idx else {
            self.err_help(
                Some(&item[0]),
                Effect::ItemDropped,
                "track-script-unknown",
                format!("({owner}) track script {n} not found, ignoring..."),
                "a track_script must name a vrrp_script defined earlier in the file",
            );
            return None;
        };
        let mut weight = self.st.scripts[idx].weight;
        let mut reverse = self.st.scripts[idx].weight_reverse;
        if item.len() >= 2 {
            if item[1].text != "weight" {
                self.err(
                    Some(&item[1]),
                    Effect::ItemDropped,
                    "track-script",
                    format!(
                        "({owner}) unknown track script option {} - ignoring",
                        item[1].text
                    ),
                );
                return None;
            }
            let Some(w) = item.get(2).cloned() else {
                self.err(
                    Some(&item[1]),
                    Effect::ItemDropped,
                    "track-script",
                    format!(
                        "({owner}) weight without value specified for track script {n} - ignoring"
                    ),
                );
                return None;
            };
            match self.read_int(&w, -254, 254, true) {
                Ok(v) if v.abs() == 254 => {
                    self.err(Some(&w), Effect::Clamped, "track-script", format!("({owner}) weight for {n} cannot be +/-254. Setting to +/-253"));
                    weight = v.signum() as i32 * 253;
                }
                Ok(v) => weight = v as i32,
                Err(_) => self.err(Some(&w), Effect::Ignored, "track-script", format!("({owner}) track script {n}: weight must be between [-253..253] inclusive, ignoring...")),
            }
            if let Some(r) = item.get(3) {
                match r.text {
                    "reverse" => reverse = true,
                    "noreverse" => reverse = false,
                    o => {
                        let o = o.to_string();
                        self.err(
                            Some(r),
                            Effect::Ignored,
                            "track-script",
                            format!(
                                "({owner}) unknown track_script {n} weight option {o} - ignoring"
                            ),
                        )
                    }
                }
            }
        }
        Some(TrackScript {
            name: n,
            weight,
            reverse,
        })
    }

    /// One `virtual_ipaddress` line (keepalived's `alloc_ipaddress` + `alloc_vrrp_vip`).
    fn vip_item(&mut self, item: &[Token], main_list: bool) {
        let name = self.inst_name();
        let s = item[0].text.to_string();
        let is6 = s.contains(':');
        let maxp: u64 = if is6 { 128 } else { 32 };
        let (addr_s, mut prefix) = match s.find('/') {
            Some(i) => (&s[..i], None::<u8>.or(Some(255))),
            None => (s.as_str(), None),
        };
        if prefix.is_some() {
            let ptok = Token {
                text: &s[addr_s.len() + 1..],
                col: item[0].col + addr_s.len() as u32 + 1,
                len: (s.len() - addr_s.len() - 1).max(1) as u32,
            };
            match self.read_unsigned(&ptok, 0, maxp, true) {
                Ok(v) => prefix = Some(v as u8),
                Err(_) => {
                    self.err(
                        Some(&item[0]),
                        Effect::Clamped,
                        "vip-prefix",
                        format!(
                            "Invalid address prefix len {} for address {s} - using {maxp}",
                            ptok.text
                        ),
                    );
                    prefix = Some(maxp as u8);
                }
            }
        }
        let parsed: Option<IpAddr> = if is6 {
            addr_s.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            addr_s.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
        };
        let Some(addr) = parsed else {
            self.err_help(Some(&item[0]), Effect::ItemDropped, "vip-invalid", format!("VRRP parsed invalid IP {s}. skipping IP..."), "the address is not a literal IPv4/IPv6 address (host names and `$VAR/24` without braces are not substituted)");
            return;
        };
        let mut vip = VirtualIp {
            addr,
            prefix_len: prefix.unwrap_or(maxp as u8),
            dev: None,
            label: None,
            brd: None,
            scope: None,
            no_track: false,
            location: self.loc(),
        };
        let mut i = 1;
        while i < item.len() {
            let o = item[i].text.to_string();
            let needs = matches!(
                o.as_str(),
                "dev"
                    | "scope"
                    | "broadcast"
                    | "brd"
                    | "label"
                    | "peer"
                    | "preferred_lft"
                    | "track_group"
            );
            if needs && i + 1 >= item.len() {
                self.err(
                    Some(&item[i]),
                    Effect::Ignored,
                    "vip-option",
                    format!("No {o} parameter specified for {s}"),
                );
                break;
            }
            let val = item
                .get(i + 1)
                .map(|t| t.text.to_string())
                .unwrap_or_default();
            match o.as_str() {
                "dev" => {
                    if vip.dev.is_some() {
                        self.err(
                            Some(&item[i]),
                            Effect::ItemDropped,
                            "vip-option",
                            format!("Cannot specify ipaddress device more than once for {s}"),
                        );
                        return;
                    }
                    vip.dev = Some(val);
                    i += 2;
                }
                "scope" => {
                    vip.scope = Some(val);
                    i += 2;
                }
                "broadcast" | "brd" => {
                    vip.brd = Some(val);
                    i += 2;
                }
                "label" => {
                    if val.len() >= 16 {
                        self.err(Some(&item[i + 1]), Effect::ItemDropped, "vip-option", format!("Address label {val} is longer than maximum length 15 - removing address"));
                        return;
                    }
                    vip.label = Some(val);
                    i += 2;
                }
                "peer" | "preferred_lft" => i += 2,
                "home" | "-nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin" | "use_vmac" => {
                    i += 1
                }
                "no_track" => {
                    vip.no_track = true;
                    i += 1;
                }
                _ => {
                    self.err_help(Some(&item[i]), Effect::Ignored, "vip-option", format!("Unknown configuration entry '{o}' for ip address - ignoring"), "one address per line: everything after the first word is read as options of that address");
                    i += 1;
                }
            }
        }
        let inst = self.cur_inst().unwrap();
        if !main_list {
            inst.evips.push(vip);
            return;
        }
        let f = family(&addr);
        match inst.family {
            Some(cur) if cur != f => {
                self.err(
                    Some(&item[0]),
                    Effect::ItemDropped,
                    "address-family",
                    format!("({name}): address family must match VRRP instance [{s}] - ignoring"),
                );
            }
            _ => {
                inst.family = Some(f);
                inst.vips.push(vip);
            }
        }
    }

    pub(crate) fn h_auth(&mut self, toks: &[Token]) -> Result<(), Exit> {
        if self.st.insts.is_empty() {
            return Ok(());
        }
        let name = self.inst_name();
        match toks[0].text {
            "auth_type" => {
                let t = self.arg(toks, 1)?;
                match t.text {
                    "PASS" => self.cur_inst().unwrap().auth_type = Some(AuthType::Pass),
                    "AH" => self.cur_inst().unwrap().auth_type = Some(AuthType::Ah),
                    o => {
                        let o = o.to_string();
                        self.err(
                            Some(t),
                            Effect::Ignored,
                            "auth-type",
                            format!("({name}) unknown authentication type '{o}'"),
                        )
                    }
                }
            }
            "auth_pass" => {
                let t = self.arg(toks, 1)?;
                let mut p = t.text.as_bytes().to_vec();
                if p.len() > 8 {
                    self.err_help(Some(t), Effect::Clamped, "auth-pass", "Truncating auth_pass to 8 characters".into(), "VRRPv2 carries at most 8 bytes of password; peers must use the same first 8 characters");
                    p.truncate(8);
                }
                self.cur_inst().unwrap().auth_pass = p;
            }
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn h_script(&mut self, toks: &[Token], line: &Line) -> Result<(), Exit> {
        if self.st.scripts.is_empty() {
            return Ok(());
        }
        let sname = self.st.scripts.last().unwrap().name.clone();
        let kw = toks[0].text;
        match kw {
            "script" => {
                if let Some(s) = script_args(self, line, toks) {
                    let sc = self.st.scripts.last_mut().unwrap();
                    sc.script = s.args.join(" ");
                    if let Some(u) = s.user {
                        sc.script = format!("{} {u}", sc.script);
                    }
                }
            }
            "interval" | "timeout" => {
                let t = self.arg(toks, 1)?;
                match self.read_decimal(t, 0, u32::MAX as u64, 3, true) {
                    Ok(0) => {
                        self.err(
                            Some(t),
                            Effect::Clamped,
                            "out-of-range",
                            format!(
                                "({sname}): vrrp script {kw} must be greater than 0, setting to 1"
                            ),
                        );
                        let sc = self.st.scripts.last_mut().unwrap();
                        if kw == "interval" {
                            sc.interval = Duration::from_secs(1)
                        } else {
                            sc.timeout = Some(Duration::from_secs(1))
                        }
                    }
                    Ok(ms) => {
                        let sc = self.st.scripts.last_mut().unwrap();
                        let d = Duration::from_millis(ms);
                        if kw == "interval" {
                            sc.interval = d
                        } else {
                            sc.timeout = Some(d)
                        }
                    }
                    Err(_) => {
                        let m = if kw == "interval" {
                            format!(
                                "({sname}): vrrp script interval '{}' must be between 1 and {} - ignoring",
                                t.text,
                                u32::MAX as u64 / TIMER_HZ
                            )
                        } else {
                            format!(
                                "({sname}): vrrp script timeout '{}' invalid - ignoring",
                                t.text
                            )
                        };
                        self.err(Some(t), Effect::Ignored, "invalid-value", m);
                    }
                }
            }
            "weight" => {
                let t = self.arg(toks, 1)?;
                match self.read_int(t, -253, 253, true) {
                    Ok(v) => self.st.scripts.last_mut().unwrap().weight = v as i32,
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!(
                            "vrrp_script {sname} weight {} must be in [-253, 253]",
                            t.text
                        ),
                    ),
                }
                if let Some(r) = toks.get(2) {
                    if r.text == "reverse" {
                        self.st.scripts.last_mut().unwrap().weight_reverse = true;
                    } else {
                        self.err(
                            Some(r),
                            Effect::Ignored,
                            "invalid-value",
                            format!("vrrp_script {sname} unknown weight option {}", r.text),
                        );
                    }
                }
            }
            "rise" | "fall" => {
                let t = self.arg(toks, 1)?;
                let v = match self.read_unsigned(t, 1, i32::MAX as u64, false) {
                    Ok(v) => v as u32,
                    Err(_) => {
                        self.err(
                            Some(t),
                            Effect::Defaulted,
                            "invalid-value",
                            format!(
                                "({sname}): vrrp script {kw} value '{}' invalid, defaulting to 1",
                                t.text
                            ),
                        );
                        1
                    }
                };
                let sc = self.st.scripts.last_mut().unwrap();
                if kw == "rise" {
                    sc.rise = v
                } else {
                    sc.fall = v
                }
            }
            "user" => {
                let u = self.arg(toks, 1)?.text.to_string();
                self.st.scripts.last_mut().unwrap().user = Some(u);
            }
            "init_fail" => self.st.scripts.last_mut().unwrap().init_fail = true,
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn h_sync(&mut self, toks: &[Token]) -> Result<(), Exit> {
        if self.st.syncs.is_empty() {
            return Ok(());
        }
        let gname = self.st.syncs.last().unwrap().0.name.clone();
        match toks[0].text {
            "group" => {
                if !self.st.syncs.last().unwrap().1.is_empty() {
                    self.err(
                        Some(&toks[0]),
                        Effect::Ignored,
                        "sync-group",
                        format!("Group list already specified for sync group {gname}"),
                    );
                    let _ = self.value_block(toks);
                    return Ok(());
                }
                let items = self.value_block(toks);
                if items.is_empty() {
                    self.err(
                        Some(&toks[0]),
                        Effect::None,
                        "sync-group",
                        format!("Warning - sync group {gname} has empty group block"),
                    );
                }
                for (l, item) in items {
                    let loc = crate::config::model::Location {
                        file: self.input.sources.name(l.file).to_string(),
                        line: l.line,
                    };
                    for t in item {
                        self.st
                            .syncs
                            .last_mut()
                            .unwrap()
                            .1
                            .push((t.text.to_string(), loc.clone()));
                    }
                }
            }
            "track_script" => {
                for (l, item) in self.value_block(toks) {
                    self.cur = Some(l);
                    if let Some(ts) = self.track_script_item(&gname, &item) {
                        self.st.syncs.last_mut().unwrap().0.track_scripts.push(ts);
                    }
                }
            }
            "track_interface" => {
                for (_, item) in self.value_block(toks) {
                    self.st
                        .syncs
                        .last_mut()
                        .unwrap()
                        .0
                        .track_interfaces
                        .push(TrackInterface {
                            name: item[0].text.to_string(),
                            weight: 0,
                            reverse: false,
                        });
                }
            }
            "track_file" | "track_process" | "track_bfd" => {
                self.not_simulated(toks);
                let _ = self.value_block(toks);
            }
            "global_tracking" => {
                self.warn(Some(&toks[0]), Effect::None, "deprecated", format!("({gname}) global_tracking is deprecated. Use track_interface/script/file on the sync group"));
            }
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                let line = self.cur.expect("a line was read");
                if let Some(s) = script_args(self, line, toks) {
                    let n = &mut self.st.syncs.last_mut().unwrap().0.notify;
                    match toks[0].text {
                        "notify_master" => n.master = Some(s),
                        "notify_backup" => n.backup = Some(s),
                        "notify_fault" => n.fault = Some(s),
                        "notify_stop" => n.stop = Some(s),
                        _ => n.any = Some(s),
                    }
                }
            }
            _ => self.not_simulated(toks),
        }
        Ok(())
    }
}
