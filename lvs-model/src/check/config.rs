//! What the checker process needs to know about each virtual server, real server and checker.
//!
//! Every timing field is an `Option`: `None` means "not set at this level", and
//! [`CheckerConfig::effective`] resolves the value the way keepalived 2.2.7's
//! `validate_check_config` does (checker → real server → virtual server → checker-type default).
//! Weights, quorum and hysteresis are already the *effective* values (after keepalived's clamps:
//! quorum reduced to the sum of weights, hysteresis below quorum); the config mapper owns those.

use crate::time::Duration;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::ops::RangeInclusive;

/// keepalived's `KEEPALIVED_DEFAULT_DELAY`: the `delay_loop` when no level sets one.
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// The `connect_timeout` when no level sets one.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// keepalived's `BOOTSTRAP_DELAY`: every checker's first run is at least this long after start.
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// One `virtual_server` block, as far as health checking is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualServerCheckConfig {
    /// How the service is named in `check.result` events, e.g. `192.168.80.200:80`.
    pub name: String,
    pub delay_loop: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    /// Start every real server DOWN (not in IPVS) until its checkers succeed.
    pub alpha: bool,
    /// Run quorum and real-server down notifications on shutdown too.
    pub omega: bool,
    /// Default `inhibit_on_failure` for this service's real servers.
    pub inhibit_on_failure: bool,
    /// Effective quorum (keepalived default 1, clamped to the sum of the weights).
    pub quorum: u32,
    /// Effective hysteresis (default 0, always below quorum).
    pub hysteresis: u32,
    pub sorry_server: Option<SorryServerConfig>,
    /// Default `Host:` for HTTP checks of this service.
    pub virtualhost: Option<String>,
    pub real_servers: Vec<RealServerCheckConfig>,
}

impl VirtualServerCheckConfig {
    /// A service with keepalived's defaults and no real servers.
    pub fn new(name: impl Into<String>) -> Self {
        VirtualServerCheckConfig {
            name: name.into(),
            delay_loop: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            alpha: false,
            omega: false,
            inhibit_on_failure: false,
            quorum: 1,
            hysteresis: 0,
            sorry_server: None,
            virtualhost: None,
            real_servers: Vec::new(),
        }
    }

    /// The service-level `delay_loop` (the MISC_CHECK default timeout uses it).
    pub fn effective_delay_loop(&self) -> Duration {
        self.delay_loop.unwrap_or(DEFAULT_DELAY_LOOP)
    }
}

/// `sorry_server IP PORT` (+ `sorry_server_inhibit`). keepalived installs it with weight 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SorryServerConfig {
    pub addr: SocketAddrV4,
    /// `sorry_server_inhibit`: present all along at weight 0, raised to 1 when needed.
    pub inhibit: bool,
}

/// One `real_server` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServerCheckConfig {
    /// The IPVS destination (for DR/TUN the mapper has already forced the VS port).
    pub addr: SocketAddrV4,
    /// Effective configured weight (the RS `weight`, else the VS `weight`, else 1).
    pub weight: u32,
    /// `None` inherits the virtual server's value.
    pub inhibit_on_failure: Option<bool>,
    pub alpha: Option<bool>,
    pub delay_loop: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub virtualhost: Option<String>,
    /// A real server with no checker is simply always alive.
    pub checkers: Vec<CheckerConfig>,
}

impl RealServerCheckConfig {
    pub fn new(addr: SocketAddrV4, weight: u32) -> Self {
        RealServerCheckConfig {
            addr,
            weight,
            inhibit_on_failure: None,
            alpha: None,
            delay_loop: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            virtualhost: None,
            checkers: Vec::new(),
        }
    }
}

/// One checker block inside a `real_server`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckerConfig {
    pub kind: CheckerKind,
    /// `connect_ip`; the real server's address when `None`.
    pub connect_ip: Option<Ipv4Addr>,
    /// `connect_port`; the real server's port when `None`.
    pub connect_port: Option<u16>,
    pub connect_timeout: Option<Duration>,
    pub delay_loop: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub alpha: Option<bool>,
}

impl CheckerConfig {
    pub fn new(kind: CheckerKind) -> Self {
        CheckerConfig {
            kind,
            connect_ip: None,
            connect_port: None,
            connect_timeout: None,
            delay_loop: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            alpha: None,
        }
    }

    /// `TCP_CHECK {}` with every value inherited.
    pub fn tcp() -> Self {
        CheckerConfig::new(CheckerKind::Tcp)
    }

    /// The values keepalived 2.2.7 actually runs this checker with.
    ///
    /// keepalived first copies unset VS values into the real server, then unset real-server
    /// values into the checker; the chain below is the same thing in one step.
    pub fn effective(
        &self,
        rs: &RealServerCheckConfig,
        vs: &VirtualServerCheckConfig,
    ) -> EffectiveTiming {
        let delay_loop = self
            .delay_loop
            .or(rs.delay_loop)
            .or(vs.delay_loop)
            .unwrap_or(DEFAULT_DELAY_LOOP);
        let connect_timeout = self
            .connect_timeout
            .or(rs.connect_timeout)
            .or(vs.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let retry = self
            .retry
            .or(rs.retry)
            .or(vs.retry)
            .unwrap_or(self.kind.default_retry());
        let delay_before_retry = self
            .delay_before_retry
            .or(rs.delay_before_retry)
            .or(vs.delay_before_retry)
            .unwrap_or(self.kind.default_delay_before_retry());
        let warmup = self
            .warmup
            .or(rs.warmup)
            .or(vs.warmup)
            .unwrap_or(delay_loop);
        let alpha = self.alpha.or(rs.alpha).unwrap_or(vs.alpha);
        EffectiveTiming {
            delay_loop,
            connect_timeout,
            retry,
            delay_before_retry,
            warmup,
            alpha,
        }
    }

    /// Where the probe goes: `connect_ip`/`connect_port` over the real server's address.
    pub fn target(&self, rs: &RealServerCheckConfig) -> SocketAddrV4 {
        SocketAddrV4::new(
            self.connect_ip.unwrap_or(*rs.addr.ip()),
            self.connect_port.unwrap_or(rs.addr.port()),
        )
    }
}

/// The resolved timing of one checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectiveTiming {
    pub delay_loop: Duration,
    pub connect_timeout: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    pub warmup: Duration,
    pub alpha: bool,
}

/// Which checker, with its type-specific settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckerKind {
    /// `TCP_CHECK`: success is a completed connect.
    Tcp,
    /// `HTTP_GET`, or `SSL_GET` when [`HttpCheckConfig::ssl`] is set.
    Http(HttpCheckConfig),
    /// `MISC_CHECK`: the script's outcome is scripted by the scenario.
    Misc(MiscCheckConfig),
}

impl CheckerKind {
    /// The name used in logs and `check.result` events.
    pub fn name(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(h) if h.ssl => "SSL_GET",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Misc(_) => "MISC_CHECK",
        }
    }

    /// keepalived's per-type default `retry` (MISC_CHECK: 0, the others 1).
    pub fn default_retry(&self) -> u32 {
        match self {
            CheckerKind::Misc(_) => 0,
            CheckerKind::Tcp | CheckerKind::Http(_) => 1,
        }
    }

    /// keepalived's per-type default `delay_before_retry` (HTTP/SSL: 3 s, the others 1 s).
    pub fn default_delay_before_retry(&self) -> Duration {
        match self {
            CheckerKind::Http(_) => Duration::from_secs(3),
            CheckerKind::Tcp | CheckerKind::Misc(_) => Duration::from_secs(1),
        }
    }
}

/// `http_protocol`: only changes the request line and a `Connection: close` header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpProtocol {
    /// `1.0` (the default).
    #[default]
    Http10,
    /// `1.0C`: HTTP/1.0 with `Connection: close`.
    Http10Close,
    /// `1.1`: HTTP/1.1 with `Connection: close`.
    Http11,
}

/// `HTTP_GET { ... }` / `SSL_GET { ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCheckConfig {
    /// SSL_GET. Deviation: modelled as HTTP_GET over plain TCP (no TLS in the lab).
    pub ssl: bool,
    /// Checked one at a time in this order; keepalived drops a checker without any.
    pub urls: Vec<UrlCheck>,
    pub virtualhost: Option<String>,
    /// `fast_recovery`: no `delay_loop` spacing while the server is down or has not run.
    pub fast_recovery: bool,
    pub protocol: HttpProtocol,
}

impl HttpCheckConfig {
    pub fn new(urls: Vec<UrlCheck>) -> Self {
        HttpCheckConfig {
            ssl: false,
            urls,
            virtualhost: None,
            fast_recovery: false,
            protocol: HttpProtocol::Http10,
        }
    }
}

/// One `url { ... }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlCheck {
    pub path: String,
    /// MD5 of the body (`digest`), if the check compares it.
    pub digest: Option<[u8; 16]>,
    /// Accepted status codes; empty means keepalived's default 200-299.
    pub status_codes: Vec<RangeInclusive<u16>>,
    pub virtualhost: Option<String>,
}

impl UrlCheck {
    pub fn new(path: impl Into<String>) -> Self {
        UrlCheck {
            path: path.into(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
        }
    }

    /// Whether `status` passes this url's `status_code` set.
    pub fn accepts(&self, status: u16) -> bool {
        // keepalived only stores codes 100..=599; anything outside fails.
        if !(100..=599).contains(&status) {
            return false;
        }
        if self.status_codes.is_empty() {
            (200..=299).contains(&status)
        } else {
            self.status_codes.iter().any(|r| r.contains(&status))
        }
    }
}

/// `MISC_CHECK { misc_path ...; misc_timeout N; misc_dynamic }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiscCheckConfig {
    /// `misc_path`, only for reports: the outcome comes from the scenario.
    pub path: String,
    /// `misc_timeout`; the virtual server's `delay_loop` when `None` (or zero).
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit codes 2..=255 mean success with weight `code - 2`.
    pub dynamic: bool,
}

/// Parses a 32-hex-digit MD5 digest as written after `digest` in keepalived.conf.
pub fn parse_digest(hex: &str) -> Option<[u8; 16]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_vs() -> VirtualServerCheckConfig {
        let mut vs = VirtualServerCheckConfig::new("192.168.80.200:80");
        vs.delay_loop = Some(Duration::from_secs(6));
        vs
    }

    #[test]
    fn seed_tcp_check_inherits_delay_loop_and_takes_default_retry() {
        let vs = seed_vs();
        let mut rs = RealServerCheckConfig::new("192.168.80.102:80".parse().unwrap(), 3);
        let mut chk = CheckerConfig::tcp();
        chk.connect_timeout = Some(Duration::from_secs(10));
        chk.delay_before_retry = Some(Duration::from_secs(3));
        chk.connect_port = Some(80);
        rs.checkers.push(chk.clone());
        let t = chk.effective(&rs, &vs);
        // nb_get_retry is unknown in 2.2.7, so retry is TCP_CHECK's default 1.
        assert_eq!(t.retry, 1);
        assert_eq!(t.delay_loop, Duration::from_secs(6));
        // warmup defaults to the checker's own delay_loop.
        assert_eq!(t.warmup, Duration::from_secs(6));
        assert_eq!(t.connect_timeout, Duration::from_secs(10));
        assert_eq!(t.delay_before_retry, Duration::from_secs(3));
        assert!(!t.alpha);
    }

    #[test]
    fn inheritance_order_is_checker_then_rs_then_vs_then_default() {
        let mut vs = seed_vs();
        vs.retry = Some(5);
        vs.connect_timeout = Some(Duration::from_secs(2));
        vs.alpha = true;
        let mut rs = RealServerCheckConfig::new("10.0.0.1:80".parse().unwrap(), 1);
        rs.retry = Some(4);
        rs.alpha = Some(false);
        let mut chk = CheckerConfig::new(CheckerKind::Http(HttpCheckConfig::new(vec![
            UrlCheck::new("/"),
        ])));
        let t = chk.effective(&rs, &vs);
        assert_eq!(t.retry, 4);
        assert_eq!(t.connect_timeout, Duration::from_secs(2));
        assert!(!t.alpha);
        // HTTP_GET's own default delay_before_retry is 3 s.
        assert_eq!(t.delay_before_retry, Duration::from_secs(3));
        chk.retry = Some(0);
        assert_eq!(chk.effective(&rs, &vs).retry, 0);
        let misc = CheckerConfig::new(CheckerKind::Misc(MiscCheckConfig {
            path: "/bin/true".into(),
            timeout: None,
            dynamic: false,
        }));
        let bare = RealServerCheckConfig::new("10.0.0.1:80".parse().unwrap(), 1);
        assert_eq!(misc.effective(&bare, &seed_vs()).retry, 0);
        assert_eq!(
            misc.effective(&bare, &VirtualServerCheckConfig::new("x"))
                .delay_loop,
            DEFAULT_DELAY_LOOP
        );
    }

    #[test]
    fn status_codes_and_digest() {
        let mut u = UrlCheck::new("/");
        assert!(u.accepts(200) && u.accepts(299) && !u.accepts(301) && !u.accepts(600));
        u.status_codes = vec![301..=302, 404..=404];
        assert!(u.accepts(404) && u.accepts(301) && !u.accepts(200));
        assert_eq!(
            parse_digest("d41d8cd98f00b204e9800998ecf8427e").unwrap()[..2],
            [0xd4, 0x1d]
        );
        assert!(parse_digest("d41d8cd98f00b204e9800998ecf8427").is_none());
        assert!(parse_digest("g41d8cd98f00b204e9800998ecf8427e").is_none());
    }
}
