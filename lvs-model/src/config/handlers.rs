//! Keyword handlers: each reproduces the messages and the value handling of keepalived 2.2.7's
//! handler for the same keyword, and fills the in-progress model.

use super::diag::Effect;
use super::keywords::{Blk, Pass};
use super::lexer::{Line, Token, tokenize_quoted};
use super::model::*;
use super::parser::{CheckerB, Exit, InstB, Parser, RsB, true_false};
use std::net::IpAddr;
use std::time::Duration;

const TIMER_HZ: u64 = 1_000_000;
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;

/// keepalived's `inet_stosockaddr` for an address alone: the family is IPv6 when the text has a
/// `:`, and anything from the first `-` or `/` on (a range or mask) is ignored.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let v6 = s.contains(':');
    let cut = s.find(['-', '/']).unwrap_or(s.len());
    let a = &s[..cut];
    if v6 {
        a.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        a.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// `port_str` of alloc_vs/alloc_rs: a port made only of zeros counts as no port.
pub(crate) fn port_or_none<'a, 'w>(p: Option<&'a Token<'w>>) -> Option<&'a Token<'w>> {
    p.filter(|t| !t.text.trim_start_matches('0').is_empty())
}

impl Parser<'_> {
    /// keepalived's `inet_stosockaddr` with a port: the port is read with `read_unsigned`
    /// (1..65535), whose messages are printed.
    pub(crate) fn stosockaddr(&mut self, ip: &str, port: Option<&Token>) -> Option<(IpAddr, u16)> {
        let port = match port {
            Some(t) => self.read_unsigned(t, 1, 65535, true).ok()? as u16,
            None => 0,
        };
        parse_ip(ip).map(|a| (a, port))
    }

    fn skip_block(&mut self) {
        self.skip_sublevel = -1;
    }

    fn rs(&mut self) -> Option<&mut RsB> {
        self.st.vss.last_mut().and_then(|v| v.rs.last_mut())
    }

    fn checker(&mut self) -> Option<&mut CheckerB> {
        self.rs().and_then(|r| r.checkers.last_mut())
    }

    /// Dispatches an active keyword.
    pub(crate) fn handle(&mut self, blk: Blk, toks: &[Token], line: &Line) -> Result<(), Exit> {
        match blk {
            Blk::Root => self.h_root(toks, line),
            Blk::Global => self.h_global(toks),
            Blk::Vrrp => self.h_vrrp(toks, line),
            Blk::Auth => self.h_auth(toks),
            Blk::Script => self.h_script(toks, line),
            Blk::Sync => self.h_sync(toks),
            Blk::Vs => self.h_vs(toks, line),
            Blk::Rs => self.h_rs(toks),
            Blk::Tcp | Blk::Http | Blk::Misc => self.h_checker(blk, toks, line),
            Blk::Url => self.h_url(toks),
            _ => {
                self.not_simulated(toks);
                Ok(())
            }
        }
    }

    /// End-of-block handlers (keepalived's `sub_close_handler`s).
    pub(crate) fn close_block(&mut self, sub: Blk) {
        match sub {
            Blk::Script => {
                if let Some(s) = self.st.scripts.last()
                    && s.script.is_empty()
                    && self.st.script_ok.last() == Some(&true)
                {
                    let name = s.name.clone();
                    self.err(
                        None,
                        Effect::ItemDropped,
                        "script-missing",
                        format!("No script set for vrrp_script {name} - removing"),
                    );
                    if let Some(ok) = self.st.script_ok.last_mut() {
                        *ok = false;
                    }
                }
            }
            Blk::Http => {
                if let Some(c) = self.checker()
                    && let Some(CheckerKind::Http(h)) = &c.kind
                    && h.urls.is_empty()
                {
                    c.dropped = true;
                    self.err_help(
                        None,
                        Effect::Crash,
                        "http-no-url",
                        "HTTP/SSL_GET checker has no urls specified - ignoring".into(),
                        "keepalived 2.2.7 then crashes (SIGSEGV) while finishing this checker; add a `url { path / }` block",
                    );
                }
            }
            Blk::Url => {
                let mut missing = false;
                if let Some(c) = self.checker()
                    && let Some(CheckerKind::Http(h)) = &mut c.kind
                    && h.urls.last().is_some_and(|u| u.path.is_empty())
                {
                    h.urls.pop();
                    missing = true;
                }
                if missing {
                    self.err(
                        None,
                        Effect::ItemDropped,
                        "url-no-path",
                        "HTTP/SSL_GET checker url has no path - ignoring".into(),
                    );
                }
            }
            Blk::Misc => {
                let mut missing = false;
                if let Some(c) = self.checker()
                    && let Some(CheckerKind::Misc(m)) = &c.kind
                    && m.path.is_empty()
                {
                    c.dropped = true;
                    missing = true;
                }
                if missing {
                    self.err(
                        None,
                        Effect::ItemDropped,
                        "misc-no-path",
                        "No script path has been specified for MISC_CHECKER - skipping".into(),
                    );
                }
            }
            _ => {}
        }
    }

    // ---- top level ------------------------------------------------------------------------

    fn h_root(&mut self, toks: &[Token], line: &Line) -> Result<(), Exit> {
        match (self.pass, toks[0].text) {
            (_, "global_defs") => {
                self.st.global.location = Some(self.loc());
                Ok(())
            }
            (Pass::Vrrp, "vrrp_instance") => {
                if toks.len() != 2 {
                    self.err(
                        Some(&toks[0]),
                        Effect::ItemDropped,
                        "instance-name",
                        "vrrp_instance must have a name".into(),
                    );
                    self.skip_block();
                    return Ok(());
                }
                let name = toks[1].text.to_string();
                if self.st.inst_names.contains(&name) {
                    self.err(
                        Some(&toks[1]),
                        Effect::ItemDropped,
                        "instance-duplicate",
                        format!("vrrp instance {name} already defined"),
                    );
                    self.skip_block();
                    return Ok(());
                }
                let g = &self.st.global.vrrp;
                let inst = InstB {
                    name,
                    loc: self.loc(),
                    skip_check_adv_addr: g.skip_check_adv_addr.then_some(true),
                    ..InstB::default()
                };
                self.st.inst_names.insert(inst.name.clone());
                self.st.insts.push(inst);
                Ok(())
            }
            (Pass::Vrrp, "vrrp_script") => {
                let name = self.arg(toks, 1)?.text.to_string();
                self.st.scripts.push(VrrpScript {
                    name,
                    script: String::new(),
                    interval: Duration::from_secs(1),
                    timeout: None,
                    weight: 0,
                    weight_reverse: false,
                    rise: 1,
                    fall: 1,
                    user: None,
                    init_fail: false,
                    location: self.loc(),
                });
                self.st.script_ok.push(true);
                Ok(())
            }
            (Pass::Vrrp, "vrrp_sync_group") => {
                if toks.len() != 2 {
                    self.err(
                        Some(&toks[0]),
                        Effect::ItemDropped,
                        "sync-group-name",
                        "vrrp_sync_group must have a name - skipping".into(),
                    );
                    self.skip_block();
                    return Ok(());
                }
                let name = toks[1].text.to_string();
                if self.st.syncs.iter().any(|(g, _)| g.name == name) {
                    self.err(
                        Some(&toks[1]),
                        Effect::ItemDropped,
                        "sync-group-duplicate",
                        format!("vrrp sync group {name} already defined"),
                    );
                    self.skip_block();
                    return Ok(());
                }
                self.st.syncs.push((
                    SyncGroup {
                        name,
                        instances: vec![],
                        notify: Notify::default(),
                        track_scripts: vec![],
                        track_interfaces: vec![],
                        location: self.loc(),
                    },
                    vec![],
                ));
                Ok(())
            }
            (Pass::Check, "virtual_server") => self.h_vs_header(toks),
            (Pass::Check, "virtual_server_group") => {
                let name = self.arg(toks, 1)?.text.to_string();
                let loc = self.loc();
                let mut vb = vec![toks[0].clone()];
                vb.extend(toks.iter().skip(2).cloned());
                let items = self.value_block(&vb);
                if items.is_empty() {
                    self.err(
                        None,
                        Effect::ItemDropped,
                        "vsg-empty",
                        format!("virtual server group {name} has no entries - removing"),
                    );
                } else {
                    self.st.vsgs.push(VirtualServerGroup {
                        name,
                        entries: items
                            .into_iter()
                            .map(|(_, t)| t.into_iter().map(|t| t.text.to_string()).collect())
                            .collect(),
                        location: loc,
                    });
                }
                Ok(())
            }
            (
                _,
                "static_ipaddress"
                | "static_routes"
                | "static_rules"
                | "linkbeat_interfaces"
                | "interface_up_down_delays",
            ) => {
                let _ = line;
                self.not_simulated(toks);
                let _ = self.value_block(toks);
                Ok(())
            }
            _ => {
                self.not_simulated(toks);
                Ok(())
            }
        }
    }

    // ---- global_defs ----------------------------------------------------------------------

    fn flag(&mut self, toks: &[Token], what: &str) -> Option<bool> {
        match toks.get(1) {
            None => Some(true),
            Some(t) => match true_false(t.text) {
                Some(b) => Some(b),
                None => {
                    let v = t.text.to_string();
                    self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-bool",
                        format!("Invalid value '{v}' for {what} specified"),
                    );
                    None
                }
            },
        }
    }

    fn h_global(&mut self, toks: &[Token]) -> Result<(), Exit> {
        let kw = toks[0].text;
        let g = &mut self.st.global;
        match kw {
            "router_id" => match toks.get(1) {
                Some(t) => g.router_id = Some(t.text.to_string()),
                None => self.err(
                    Some(&toks[0]),
                    Effect::Ignored,
                    "missing-value",
                    "routerid name missing - ignoring".into(),
                ),
            },
            "notification_email_from" => match toks.get(1) {
                Some(t) => g.notification_email_from = Some(t.text.to_string()),
                None => self.err(
                    Some(&toks[0]),
                    Effect::Ignored,
                    "missing-value",
                    "emailfrom missing - ignoring".into(),
                ),
            },
            "notification_email" => {
                let items = self.value_block(toks);
                if items.is_empty() {
                    self.err(
                        Some(&toks[0]),
                        Effect::None,
                        "empty-block",
                        "Warning - empty notification_email block".into(),
                    );
                }
                for (_, t) in items {
                    self.st
                        .global
                        .notification_email
                        .extend(t.into_iter().map(|t| t.text.to_string()));
                }
            }
            "smtp_server" => {
                let host = self.arg(toks, 1)?.clone();
                let port_tok = toks.get(2).cloned().unwrap_or(Token {
                    text: "25",
                    col: host.col,
                    len: host.len,
                });
                let looks_ip = !host.text.contains(['-', '/']) && parse_ip(host.text).is_some();
                if looks_ip {
                    match self.stosockaddr(host.text, Some(&port_tok)) {
                        Some((_, p)) => self.st.global.smtp_server = Some((host.text.to_string(), p)),
                        None => self.err(
                            Some(&host),
                            Effect::Ignored,
                            "smtp-server",
                            format!("Invalid smtp server {} {}", host.text, port_tok.text),
                        ),
                    }
                } else {
                    let port = port_tok.text.parse::<u16>().unwrap_or(25);
                    self.st.global.smtp_server = Some((host.text.to_string(), port));
                    self.note(
                        Some(&host),
                        "host-dependent",
                        format!("smtp_server '{}' is a host name: keepalived resolves it with DNS at start-up", host.text),
                        "without DNS keepalived reports \"Invalid smtp server\"; lvslab does not resolve names".into(),
                    );
                }
            }
            "smtp_connect_timeout" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64 / TIMER_HZ, true) {
                    Ok(0) => {
                        self.err(Some(t), Effect::Clamped, "out-of-range", "smtp_conect_timeout must be greater than 0, setting to 1".into());
                        self.st.global.smtp_connect_timeout = Duration::from_secs(1);
                    }
                    Ok(v) => self.st.global.smtp_connect_timeout = Duration::from_secs(v),
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "out-of-range",
                        format!("smtp_connect_timeout '{}' must be in [0, {}] - ignoring", t.text, u32::MAX as u64 / TIMER_HZ),
                    ),
                }
            }
            "smtp_alert" => {
                if let Some(b) = self.flag(toks, "global smtp_alert") {
                    self.st.global.smtp_alert = Some(b);
                }
            }
            "enable_script_security" => g.enable_script_security = true,
            "script_user" => {
                let u = self.arg(toks, 1)?.text.to_string();
                self.st.global.script_user = Some(u);
            }
            "dynamic_interfaces" => g.dynamic_interfaces = true,
            "vrrp_strict" => g.vrrp.strict = true,
            "vrrp_check_unicast_src" => g.vrrp.check_unicast_src = true,
            "vrrp_skip_check_adv_addr" => {
                if let Some(b) = self.flag(toks, "vrrp_skip_check_adv_addr") {
                    self.st.global.vrrp.skip_check_adv_addr = b;
                }
            }
            "vrrp_lower_prio_no_advert" => {
                if let Some(b) = self.flag(toks, "vrrp_lower_prio_no_advert") {
                    self.st.global.vrrp.lower_prio_no_advert = b;
                }
            }
            "vrrp_higher_prio_send_advert" => {
                if let Some(b) = self.flag(toks, "vrrp_higher_prio_send_advert") {
                    self.st.global.vrrp.higher_prio_send_advert = b;
                }
            }
            "log_unknown_vrids" => g.vrrp.log_unknown_vrids = true,
            "vrrp_min_garp" => {
                if let Some(b) = self.flag(toks, "vrrp_min_garp") {
                    self.st.global.vrrp.min_garp = b;
                    if b {
                        let v = &mut self.st.global.vrrp;
                        v.garp_master_repeat = 1;
                        v.garp_master_delay = Duration::ZERO;
                        v.garp_master_refresh = None;
                    }
                }
            }
            "lvs_flush" => g.lvs.flush = true,
            "lvs_flush_on_stop" | "lvs_flush_onstop" => {
                g.lvs.flush_on_stop = true;
                if kw == "lvs_flush_onstop" {
                    self.not_simulated(toks);
                }
            }
            "vrrp_version" => {
                let t = self.arg(toks, 1)?;
                match self.read_int(t, 2, 3, true) {
                    Ok(v) => {
                        self.st.global.vrrp.version =
                            if v == 3 { VrrpVersion::V3 } else { VrrpVersion::V2 }
                    }
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", "VRRP Error: Version must be either 2 or 3".into()),
                }
            }
            "vrrp_garp_master_delay" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64 / TIMER_HZ, true) {
                    Ok(v) => self.st.global.vrrp.garp_master_delay = Duration::from_secs(v),
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("vrrp_garp_master_delay '{}' invalid - ignoring", t.text)),
                }
            }
            "vrrp_garp_master_repeat" | "vrrp_garp_master_refresh_repeat" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64, true) {
                    Ok(v) => {
                        let v = if v == 0 {
                            self.err(Some(t), Effect::Clamped, "out-of-range", format!("{kw} must be greater than 0, setting to 1"));
                            1
                        } else {
                            v as u32
                        };
                        if kw == "vrrp_garp_master_repeat" {
                            self.st.global.vrrp.garp_master_repeat = v;
                        } else {
                            self.st.global.vrrp.garp_master_refresh_repeat = v;
                        }
                    }
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("{kw} '{}' invalid - ignoring", t.text)),
                }
            }
            "vrrp_garp_master_refresh" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64, true) {
                    Ok(v) => {
                        self.st.global.vrrp.garp_master_refresh =
                            (v > 0).then(|| Duration::from_secs(v))
                    }
                    Err(_) => {
                        self.err(Some(t), Effect::Defaulted, "invalid-value", format!("Invalid vrrp_garp_master_refresh '{}' - ignoring", t.text));
                        self.st.global.vrrp.garp_master_refresh = None;
                    }
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64 / TIMER_HZ, true) {
                    Ok(v) => self.st.global.vrrp.garp_lower_prio_delay = Some(Duration::from_secs(v)),
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("vrrp_garp_lower_prio_delay '{}' invalid - ignoring", t.text)),
                }
            }
            "vrrp_garp_lower_prio_repeat" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, i32::MAX as u64, true) {
                    Ok(v) => self.st.global.vrrp.garp_lower_prio_repeat = Some(v as u32),
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("Invalid vrrp_garp_lower_prio_repeat '{}'", t.text)),
                }
            }
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                let t = self.arg(toks, 1)?;
                match self.read_decimal(t, 1, u32::MAX as u64, 6, true) {
                    Ok(v) => {
                        let d = Duration::from_micros(v);
                        if kw == "vrrp_garp_interval" {
                            self.st.global.vrrp.garp_interval = d;
                        } else {
                            self.st.global.vrrp.gna_interval = d;
                        }
                    }
                    Err(_) => self.err_help(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("{kw} '{}' is invalid", t.text),
                        "0 is rejected (minimum 0.000001 s); since 0 is also the default, removing the line changes nothing at run time",
                    ),
                }
            }
            "vrrp_down_timer_adverts" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, 100, true) {
                    Ok(v) => self.st.global.vrrp.down_timer_adverts = v as u32,
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("Invalid vrrp_down_timer_adverts [1:100] '{}'", t.text)),
                }
            }
            "vrrp_mcast_group4" => {
                let t = self.arg(toks, 1)?;
                match parse_ip(t.text) {
                    None => self.err(Some(t), Effect::Ignored, "invalid-address", format!("Can't parse vrrp_mcast_group4 [{}]. Skipping", t.text)),
                    Some(IpAddr::V6(_)) => self.err(Some(t), Effect::Ignored, "invalid-address", format!("vrrp_mcast_group4 [{}] is not IPv4. Skipping", t.text)),
                    Some(IpAddr::V4(a)) if !a.is_multicast() => self.err(Some(t), Effect::Ignored, "invalid-address", format!("vrrp_mcast_group4 [{}] is not multicast. Skipping", t.text)),
                    Some(IpAddr::V4(a)) => self.st.global.vrrp.mcast_group4 = a,
                }
            }
            "vrrp_iptables" | "vrrp_ipsets" => self.err_help(
                Some(&toks[0]),
                Effect::None,
                "iptables",
                "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option".into(),
                "this keepalived build has no iptables support and uses nftables instead",
            ),
            "lvs_sync_daemon" => {
                let ifname = self.arg(toks, 1)?.text.to_string();
                let inst = toks.get(2).map(|t| t.text.to_string()).filter(|s| s != "id");
                self.st.global.lvs.sync_daemon = Some((ifname, inst));
                self.not_simulated(toks);
            }
            "lvs_timeouts" => {
                let mut i = 1;
                while i < toks.len() {
                    let which = toks[i].text.to_string();
                    let Some(v) = toks.get(i + 1).cloned() else {
                        self.err(Some(&toks[i]), Effect::Ignored, "invalid-value", format!("No value specified for lvs_timeout {which} - ignoring"));
                        break;
                    };
                    let slot = match which.as_str() {
                        "tcp" | "tcpfin" | "udp" => which.clone(),
                        _ => {
                            self.err(Some(&toks[i]), Effect::Ignored, "invalid-value", format!("Unknown option {which} specified for lvs_timeouts"));
                            i += 1;
                            continue;
                        }
                    };
                    match self.read_unsigned(&v, 0, LVS_MAX_TIMEOUT, true) {
                        Ok(n) => {
                            let d = Some(Duration::from_secs(n));
                            let l = &mut self.st.global.lvs;
                            match slot.as_str() {
                                "tcp" => l.timeout_tcp = d,
                                "tcpfin" => l.timeout_tcpfin = d,
                                _ => l.timeout_udp = d,
                            }
                        }
                        Err(_) => self.err(Some(&v), Effect::Ignored, "invalid-value", format!("Invalid lvs_timeout {slot} ({}) - ignoring", v.text)),
                    }
                    i += 2;
                }
            }
            _ => self.not_simulated(toks),
        }
        Ok(())
    }
}

/// Notify-style script keyword: re-tokenised from the raw line with quotes and escapes.
pub(crate) fn script_args(p: &mut Parser<'_>, line: &Line, toks: &[Token]) -> Option<NotifyScript> {
    let raw = p.input.line_text(line);
    let rest = raw
        .trim_start()
        .strip_prefix(toks[0].text)
        .unwrap_or("")
        .to_string();
    match tokenize_quoted(&rest) {
        Ok(words) if words.is_empty() => None,
        Ok(mut words) => {
            // `notify_x "cmd args" user`: a second word is the script user.
            let user = (words.len() > 1).then(|| words.split_off(1).join(" "));
            let args: Vec<String> = words[0].split_whitespace().map(str::to_string).collect();
            Some(NotifyScript { args, user })
        }
        Err(q) => {
            p.err(
                None,
                Effect::Ignored,
                "unmatched-quote",
                format!("String '{}': missing terminating {q}", raw.trim_start()),
            );
            None
        }
    }
}
