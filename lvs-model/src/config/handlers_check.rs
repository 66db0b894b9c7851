//! Checker-process handlers: virtual_server, real_server, TCP_CHECK, HTTP_GET/SSL_GET (url),
//! MISC_CHECK. Other checkers are parsed and kept as not simulated.

use super::diag::Effect;
use super::handlers::{parse_ip, port_or_none, script_args};
use super::keywords::Blk;
use super::lexer::{Line, Token};
use super::model::*;
use super::parser::{CheckerB, Exit, Parser, RsB, VsB, true_false};
use std::time::Duration;

const TIMER_HZ: u64 = 1_000_000;
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;

/// The timers a virtual server, its real servers and their checkers share (a checker inherits
/// what it does not set from its real server, which inherits from its virtual server).
#[derive(Clone, Copy)]
enum Timer {
    DelayLoop,
    DelayBeforeRetry,
    Warmup,
    ConnectTimeout,
}

/// The block a [`TIMERS`] keyword is read in; indexes [`TimerSpec::messages`].
#[derive(Clone, Copy)]
enum Level {
    Vs = 0,
    Rs = 1,
    Checker = 2,
}

/// A timer keyword: keepalived's range in microseconds (max 0 = TIMER_MAXIMUM), the same at
/// every level, and its message for an invalid value at each level (`{}` = the value).
struct TimerSpec {
    keyword: &'static str,
    timer: Timer,
    min_us: u64,
    max_us: u64,
    messages: [&'static str; 3],
}

const TIMERS: [TimerSpec; 4] = [
    TimerSpec {
        keyword: "delay_loop",
        timer: Timer::DelayLoop,
        min_us: 1,
        max_us: 0,
        messages: [
            "virtual server delay loop '{}' invalid - ignoring",
            "real server delay_loop '{}' invalid - ignoring",
            "delay_loop '{}' is invalid - ignoring",
        ],
    },
    TimerSpec {
        keyword: "delay_before_retry",
        timer: Timer::DelayBeforeRetry,
        min_us: 0,
        max_us: 0,
        messages: [
            "virtual server delay before retry '{}' invalid - ignoring",
            "real server delay_before_retry '{}' invalid - ignoring",
            "Invalid delay_before_retry connection value '{}'",
        ],
    },
    TimerSpec {
        keyword: "warmup",
        timer: Timer::Warmup,
        min_us: 0,
        max_us: 0,
        messages: [
            "virtual server warmup '{}' invalid - ignoring",
            "real server warmup '{}' invalid - ignoring",
            "Invalid warmup connection value '{}'",
        ],
    },
    TimerSpec {
        keyword: "connect_timeout",
        timer: Timer::ConnectTimeout,
        min_us: 1,
        max_us: u32::MAX as u64,
        messages: [
            "virtual server connect_timeout '{}' invalid - ignoring",
            "real server connect_timeout '{}' invalid - ignoring",
            "connect_timeout {} invalid - ignoring",
        ],
    },
];

/// The [`Timer`] fields of a virtual server, real server or checker being built.
trait Timers {
    fn timer_mut(&mut self, t: Timer) -> &mut Option<Duration>;
}

macro_rules! impl_timers {
    ($($ty:ty),*) => {$(
        impl Timers for $ty {
            fn timer_mut(&mut self, t: Timer) -> &mut Option<Duration> {
                match t {
                    Timer::DelayLoop => &mut self.delay_loop,
                    Timer::DelayBeforeRetry => &mut self.delay_before_retry,
                    Timer::Warmup => &mut self.warmup,
                    Timer::ConnectTimeout => &mut self.connect_timeout,
                }
            }
        }
    )*};
}
impl_timers!(VsB, RsB, CheckerB);

impl Parser<'_> {
    pub(crate) fn h_vs_header(&mut self, toks: &[Token]) -> Result<(), Exit> {
        let p1 = self.arg(toks, 1)?.clone();
        let p2 = toks.get(2).cloned();
        let address = match p1.text {
            "group" => {
                VirtualServerAddress::Group(p2.map(|t| t.text.to_string()).unwrap_or_default())
            }
            "fwmark" => {
                let t = p2.unwrap_or(Token {
                    text: "",
                    col: p1.col,
                    len: 1,
                });
                match self.read_unsigned(&t, 0, u32::MAX as u64, true) {
                    Ok(v) => VirtualServerAddress::Fwmark(v as u32),
                    Err(_) => {
                        self.err(
                            Some(&t),
                            Effect::ItemDropped,
                            "vs-invalid",
                            format!(
                                "virtual server fwmark '{}' must be in [0, {}] - ignoring",
                                t.text,
                                u32::MAX
                            ),
                        );
                        self.skip_sublevel = -1;
                        return Ok(());
                    }
                }
            }
            ip => {
                let port_tok = port_or_none(p2.as_ref()).cloned();
                match self.stosockaddr(ip, port_tok.as_ref()) {
                    Some((addr, port)) => VirtualServerAddress::Ip { addr, port },
                    None => {
                        let msg = match &port_tok {
                            Some(p) => format!(
                                "Invalid virtual server IP address/port {ip}/{} - skipping",
                                p.text
                            ),
                            None => format!("Invalid virtual server IP address {ip} - skipping"),
                        };
                        self.err_help(
                            Some(&p1),
                            Effect::ItemDropped,
                            "vs-invalid",
                            msg,
                            "the whole virtual_server block is skipped",
                        );
                        self.skip_sublevel = -1;
                        return Ok(());
                    }
                }
            }
        };
        self.st.vss.push(VsB {
            address: Some(address),
            loc: self.loc(),
            ..VsB::default()
        });
        Ok(())
    }

    /// A [`TIMERS`] keyword read at `level`; false (nothing done) for any other keyword.
    fn timer_setting(&mut self, level: Level, toks: &[Token]) -> Result<bool, Exit> {
        let Some(spec) = TIMERS.iter().find(|s| s.keyword == toks[0].text) else {
            return Ok(false);
        };
        let msg = spec.messages[level as usize];
        if let Some(d) = self.timer_kw(toks, spec.min_us, spec.max_us, msg)? {
            let timers: Option<&mut dyn Timers> = match level {
                Level::Vs => self.st.vss.last_mut().map(|v| v as &mut dyn Timers),
                Level::Rs => self.rs_mut().map(|r| r as &mut dyn Timers),
                Level::Checker => self.ck().map(|c| c as &mut dyn Timers),
            };
            if let Some(t) = timers {
                *t.timer_mut(spec.timer) = Some(d);
            }
        }
        Ok(true)
    }

    fn timer_kw(
        &mut self,
        toks: &[Token],
        min: u64,
        max: u64,
        msg: &str,
    ) -> Result<Option<Duration>, Exit> {
        let t = self.arg(toks, 1)?;
        match self.read_timer(t, min, max, true) {
            Ok(d) => Ok(Some(d)),
            Err(_) => {
                self.err(
                    Some(t),
                    Effect::Ignored,
                    "invalid-value",
                    msg.replace("{}", t.text),
                );
                Ok(None)
            }
        }
    }

    fn lb_kind(&mut self, toks: &[Token], s_type: &str) -> Result<Option<LbKind>, Exit> {
        let t = self.arg(toks, 1)?;
        Ok(match t.text {
            "NAT" => Some(LbKind::Nat),
            "DR" => Some(LbKind::Dr),
            "TUN" => Some(LbKind::Tun),
            o => {
                let o = o.to_string();
                self.err_help(Some(t), Effect::Defaulted, "lb-kind", format!("PARSER : unknown [{o}] routing method for {s_type} server."), "the method must be NAT, DR or TUN in capitals; keepalived then defaults to NAT");
                None
            }
        })
    }

    pub(crate) fn h_vs(&mut self, toks: &[Token], line: &Line) -> Result<(), Exit> {
        if self.st.vss.is_empty() || self.timer_setting(Level::Vs, toks)? {
            return Ok(());
        }
        let kw = toks[0].text;
        match kw {
            "retry" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, u32::MAX as u64, false) {
                    Ok(v) => self.vs_mut().retry = Some(v as u32),
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("retry value invalid - {}", t.text)),
                }
            }
            "lb_algo" | "lvs_sched" => {
                let t = self.arg(toks, 1)?;
                match LbAlgo::parse(t.text) {
                    Some(a) => self.vs_mut().lb_algo = Some(a),
                    None => self.err_help(Some(t), Effect::Defaulted, "lb-algo", format!("Invalid lvs_scheduler '{}' - ignoring", t.text), "schedulers are lower-case (rr, wrr, lc, wlc, ...); keepalived then uses wlc"),
                }
            }
            "lb_kind" | "lvs_method" => {
                if let Some(k) = self.lb_kind(toks, "virtual")? {
                    self.vs_mut().lb_kind = Some(k);
                }
            }
            "protocol" => {
                let t = self.arg(toks, 1)?;
                match t.text.to_ascii_uppercase().as_str() {
                    "TCP" => self.vs_mut().protocol = Some(Protocol::Tcp),
                    "UDP" => self.vs_mut().protocol = Some(Protocol::Udp),
                    "SCTP" => self.vs_mut().protocol = Some(Protocol::Sctp),
                    _ => self.err(Some(t), Effect::Ignored, "protocol", format!("Unknown protocol {} - ignoring", t.text)),
                }
            }
            "persistence_timeout" => match toks.get(1).cloned() {
                None => self.vs_mut().persistence_timeout = Some(360),
                Some(t) => match self.read_unsigned(&t, 1, LVS_MAX_TIMEOUT, false) {
                    Ok(v) => self.vs_mut().persistence_timeout = Some(v as u32),
                    Err(_) => self.err_help(Some(&t), Effect::Ignored, "persistence-timeout", "persistence_timeout invalid".into(), "the range is 1..2678400 s; the line is ignored and the service is not persistent (remove the line for the same effect)"),
                },
            },
            "persistence_granularity" => {
                let t = self.arg(toks, 1)?;
                match t.text.parse::<std::net::Ipv4Addr>() {
                    Ok(m) => {
                        let v = self.vs_mut();
                        v.persistence_granularity = Some(m);
                        if v.persistence_timeout.is_none() {
                            v.persistence_timeout = Some(360);
                        }
                    }
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("Invalid persistence_granularity specified - {}", t.text)),
                }
            }
            "quorum" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, u32::MAX as u64, true) {
                    Ok(v) => self.vs_mut().quorum = Some(v as u32),
                    Err(_) => {
                        self.err(Some(t), Effect::Clamped, "quorum", format!("Quorum {} must be in [1, {}]. Setting to 1.", t.text, u32::MAX));
                        self.vs_mut().quorum = Some(1);
                    }
                }
            }
            "hysteresis" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64, true) {
                    Ok(v) => self.vs_mut().hysteresis = v as u32,
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("Hysteresis {} must be in [0, {}] - ignoring", t.text, u32::MAX)),
                }
            }
            "weight" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, i32::MAX as u64, true) {
                    Ok(v) => self.vs_mut().weight = Some(v as u32),
                    Err(_) => self.err(Some(t), Effect::Ignored, "invalid-value", format!("Virtual server weight {} is outside range 1-{}", t.text, i32::MAX)),
                }
            }
            "inhibit_on_failure" => {
                let b = match toks.get(1) {
                    None => Some(true),
                    Some(t) => true_false(t.text),
                };
                match b {
                    Some(b) => self.vs_mut().inhibit = Some(b),
                    None => self.err(toks.get(1), Effect::Ignored, "invalid-bool", format!("Invalid inhibit_on_failure parameter {}", toks[1].text)),
                }
            }
            "quorum_up" | "quorum_down" => {
                if let Some(s) = script_args(self, line, toks) {
                    let s = s.args.join(" ");
                    if kw == "quorum_up" {
                        self.vs_mut().quorum_up = Some(s);
                    } else {
                        self.vs_mut().quorum_down = Some(s);
                    }
                }
            }
            "sorry_server" => {
                let ip = self.arg(toks, 1)?.clone();
                let pt = port_or_none(toks.get(2)).cloned();
                match self.stosockaddr(ip.text, pt.as_ref()) {
                    Some((a, p)) => self.vs_mut().sorry = Some((a, p)),
                    None => self.err(Some(&ip), Effect::ItemDropped, "sorry-server", format!("Invalid sorry server ip address/port {}/{} - skipping", ip.text, toks.get(2).map(|t| t.text).unwrap_or("(null)"))),
                }
            }
            "sorry_server_inhibit" => self.vs_mut().sorry_inhibit = true,
            "sorry_server_lvs_method" => {
                if let Some(k) = self.lb_kind(toks, "sorry")? {
                    self.vs_mut().sorry_lb_kind = Some(k);
                }
            }
            "ha_suspend" => self.vs_mut().ha_suspend = true,
            "alpha" => self.vs_mut().alpha = true,
            "omega" => self.vs_mut().omega = true,
            "virtualhost" => {
                let v = self.arg(toks, 1)?.text.to_string();
                self.vs_mut().virtualhost = Some(v);
            }
            "real_server" => {
                let ip = self.arg(toks, 1)?.clone();
                let port_tok = toks.get(2);
                let pt = port_or_none(port_tok).cloned();
                match self.stosockaddr(ip.text, pt.as_ref()) {
                    Some((addr, port)) => {
                        let loc = self.loc();
                        self.vs_mut().rs.push(RsB { addr: Some(addr), port, loc, ..RsB::default() });
                    }
                    None => {
                        let p = port_tok.map(|t| t.text).unwrap_or("(null)").to_string();
                        self.err_help(Some(&ip), Effect::ItemDropped, "rs-invalid", format!("Invalid real server ip address/port {}/{p} - skipping", ip.text), "the whole real_server block is skipped");
                        self.skip_sublevel = -1;
                    }
                }
            }
            _ => self.not_simulated(toks),
        }
        Ok(())
    }

    fn vs_mut(&mut self) -> &mut VsB {
        self.st.vss.last_mut().expect("a virtual server is open")
    }

    fn rs_mut(&mut self) -> Option<&mut RsB> {
        self.st.vss.last_mut().and_then(|v| v.rs.last_mut())
    }

    pub(crate) fn h_rs(&mut self, toks: &[Token]) -> Result<(), Exit> {
        if self.rs_mut().is_none() || self.timer_setting(Level::Rs, toks)? {
            return Ok(());
        }
        let kw = toks[0].text;
        match kw {
            "weight" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, i32::MAX as u64, true) {
                    Ok(v) => self.rs_mut().unwrap().weight = Some(v as u32),
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!(
                            "Real server weight {} is outside range 0-{}",
                            t.text,
                            i32::MAX
                        ),
                    ),
                }
            }
            "lvs_method" => {
                if let Some(k) = self.lb_kind(toks, "real")? {
                    self.rs_mut().unwrap().lb_kind = Some(k);
                }
            }
            "uthreshold" | "lthreshold" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64, true) {
                    Ok(v) => {
                        let r = self.rs_mut().unwrap();
                        if kw == "uthreshold" {
                            r.uthreshold = v as u32
                        } else {
                            r.lthreshold = v as u32
                        }
                    }
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("Invalid real server {kw} {} - ignoring", t.text),
                    ),
                }
            }
            "inhibit_on_failure" => {
                let b = match toks.get(1) {
                    None => Some(true),
                    Some(t) => true_false(t.text),
                };
                match b {
                    Some(b) => self.rs_mut().unwrap().inhibit = Some(b),
                    None => self.err(
                        toks.get(1),
                        Effect::Ignored,
                        "invalid-bool",
                        format!("Invalid inhibit_on_failure parameter {}", toks[1].text),
                    ),
                }
            }
            "notify_up" | "notify_down" => {
                let line = self.cur.expect("a line was read");
                if let Some(s) = script_args(self, line, toks) {
                    let s = s.args.join(" ");
                    let r = self.rs_mut().unwrap();
                    if kw == "notify_up" {
                        r.notify_up = Some(s)
                    } else {
                        r.notify_down = Some(s)
                    }
                }
            }
            "alpha" => self.rs_mut().unwrap().alpha = Some(true),
            "retry" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, u32::MAX as u64, false) {
                    Ok(v) => self.rs_mut().unwrap().retry = Some(v as u32),
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("retry value invalid - {}", t.text),
                    ),
                }
            }
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" => {
                let (kind, default_retry, dbr) = match kw {
                    "TCP_CHECK" => (CheckerKind::Tcp, 1, Some(Duration::from_secs(1))),
                    "MISC_CHECK" => (
                        CheckerKind::Misc(MiscCheck {
                            path: vec![],
                            timeout: None,
                            dynamic: false,
                            user: None,
                        }),
                        0,
                        Some(Duration::from_secs(1)),
                    ),
                    _ => (
                        CheckerKind::Http(HttpCheck {
                            tls: kw == "SSL_GET",
                            urls: vec![],
                            http_protocol: None,
                            virtualhost: None,
                        }),
                        1,
                        Some(Duration::from_secs(3)),
                    ),
                };
                let loc = self.loc();
                self.rs_mut().unwrap().checkers.push(CheckerB {
                    kind: Some(kind),
                    loc,
                    default_retry,
                    default_dbr: dbr,
                    ..CheckerB::default()
                });
            }
            "SMTP_CHECK" | "UDP_CHECK" | "DNS_CHECK" | "PING_CHECK" | "FILE_CHECK"
            | "BFD_CHECK" => {
                self.not_simulated(toks);
                let (default_retry, dbr) = if kw == "DNS_CHECK" {
                    (3, None)
                } else {
                    (1, Some(Duration::from_secs(1)))
                };
                let loc = self.loc();
                self.rs_mut().unwrap().checkers.push(CheckerB {
                    kind: Some(CheckerKind::Other(kw.to_string())),
                    loc,
                    default_retry,
                    default_dbr: dbr,
                    ..CheckerB::default()
                });
            }
            _ => self.not_simulated(toks),
        }
        Ok(())
    }

    fn ck(&mut self) -> Option<&mut CheckerB> {
        self.rs_mut().and_then(|r| r.checkers.last_mut())
    }

    pub(crate) fn h_checker(&mut self, blk: Blk, toks: &[Token], line: &Line) -> Result<(), Exit> {
        if self.ck().is_none() || self.timer_setting(Level::Checker, toks)? {
            return Ok(());
        }
        let kw = toks[0].text;
        match kw {
            "connect_ip" | "bindto" => {
                let t = self.arg(toks, 1)?;
                match parse_ip(t.text) {
                    Some(a) => {
                        let c = self.ck().unwrap();
                        if kw == "connect_ip" {
                            c.connect_ip = Some(a)
                        } else {
                            c.bindto = Some(a)
                        }
                    }
                    None => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-address",
                        format!(
                            "Invalid {} address {} - ignoring",
                            if kw == "connect_ip" {
                                "connect_ip"
                            } else {
                                "bindto"
                            },
                            t.text
                        ),
                    ),
                }
            }
            "connect_port" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 1, 65535, true) {
                    Ok(v) => self.ck().unwrap().connect_port = Some(v as u16),
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("Invalid checker connect_port '{}'", t.text),
                    ),
                }
            }
            "retry" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64, true) {
                    Ok(v) => self.ck().unwrap().retry = Some(v as u32),
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("Invalid retry connection value '{}'", t.text),
                    ),
                }
            }
            "nb_get_retry" if blk == Blk::Http => {
                let t = self.arg(toks, 1)?;
                self.warn(
                    Some(&toks[0]),
                    Effect::None,
                    "deprecated",
                    "nb_get_retry is deprecated - please use 'retry'".into(),
                );
                match self.read_unsigned(t, 0, u32::MAX as u64, true) {
                    Ok(v) => self.ck().unwrap().retry = Some(v as u32),
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("Invalid nb_get_retry value '{}'", t.text),
                    ),
                }
            }
            "alpha" => self.ck().unwrap().alpha = Some(true),
            "log_all_failures" => self.ck().unwrap().log_all_failures = true,
            "url" => {
                if let Some(CheckerKind::Http(h)) = &mut self.ck().unwrap().kind {
                    h.urls.push(UrlCheck {
                        path: String::new(),
                        digest: None,
                        status_codes: vec![],
                        virtualhost: None,
                    });
                }
            }
            "virtualhost" => {
                let v = self.arg(toks, 1)?.text.to_string();
                if let Some(CheckerKind::Http(h)) = &mut self.ck().unwrap().kind {
                    h.virtualhost = Some(v);
                }
            }
            "http_protocol" => {
                let v = self.arg(toks, 1)?.clone();
                if matches!(v.text, "1.0" | "1.1" | "1.0C" | "1.0c") {
                    if let Some(CheckerKind::Http(h)) = &mut self.ck().unwrap().kind {
                        h.http_protocol = Some(v.text.to_string());
                    }
                } else {
                    self.err(
                        Some(&v),
                        Effect::Ignored,
                        "invalid-value",
                        format!("Invalid http_protocol version {}", v.text),
                    );
                }
            }
            "misc_path" => {
                if let Some(s) = script_args(self, line, toks)
                    && let Some(CheckerKind::Misc(m)) = &mut self.ck().unwrap().kind
                {
                    m.path = s.args;
                    m.user = s.user;
                }
            }
            "misc_timeout" => {
                let t = self.arg(toks, 1)?;
                match self.read_unsigned(t, 0, u32::MAX as u64 / TIMER_HZ, true) {
                    Ok(v) => {
                        if let Some(CheckerKind::Misc(m)) = &mut self.ck().unwrap().kind {
                            m.timeout = Some(Duration::from_secs(v));
                        }
                    }
                    Err(_) => self.err(
                        Some(t),
                        Effect::Ignored,
                        "invalid-value",
                        format!("Invalid misc_timeout value '{}'", t.text),
                    ),
                }
            }
            "misc_dynamic" => {
                if let Some(CheckerKind::Misc(m)) = &mut self.ck().unwrap().kind {
                    m.dynamic = true;
                }
            }
            _ => self.not_simulated(toks),
        }
        Ok(())
    }

    pub(crate) fn h_url(&mut self, toks: &[Token]) -> Result<(), Exit> {
        let kw = toks[0].text;
        let arg = if kw == "status_code" {
            None
        } else {
            Some(self.arg(toks, 1)?.clone())
        };
        let mut errs: Vec<(Token, String)> = Vec::new();
        {
            let Some(c) = self.ck() else { return Ok(()) };
            let Some(CheckerKind::Http(h)) = &mut c.kind else {
                return Ok(());
            };
            let Some(u) = h.urls.last_mut() else {
                return Ok(());
            };
            match kw {
                "path" => u.path = arg.unwrap().text.to_string(),
                "virtualhost" => u.virtualhost = Some(arg.unwrap().text.to_string()),
                "digest" => {
                    let t = arg.unwrap();
                    let d = t.text.to_string();
                    if u.digest.is_some() {
                        errs.push((t, format!("Digest '{d}' is a duplicate")));
                    } else if d.len() != 32 {
                        errs.push((
                            t,
                            format!(
                                "digest '{d}' character length should be 32 rather than {}",
                                d.len()
                            ),
                        ));
                    } else if !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                        errs.push((t, format!("Unable to interpret hex digit in '{d}'")));
                    } else {
                        u.digest = Some(d.to_ascii_lowercase());
                    }
                }
                "status_code" => {
                    for t in &toks[1..] {
                        let s = t.text;
                        let parse = |x: &str| -> Option<u16> { x.parse::<u16>().ok() };
                        let (a, b) = match s.split_once('-') {
                            Some((a, b)) => (parse(a), parse(b)),
                            None => (parse(s), parse(s)),
                        };
                        match (a, b) {
                            (Some(a), Some(b))
                                if (100..=599).contains(&a)
                                    && (100..=599).contains(&b)
                                    && a <= b =>
                            {
                                u.status_codes.push((a, b))
                            }
                            _ => errs
                                .push((t.clone(), format!("Invalid HTTP_GET status code '{s}'"))),
                        }
                    }
                }
                _ => {}
            }
        }
        for (t, m) in errs {
            self.err(Some(&t), Effect::Ignored, "invalid-value", m);
        }
        if !matches!(kw, "path" | "virtualhost" | "digest" | "status_code") {
            self.not_simulated(toks);
        }
        Ok(())
    }
}
