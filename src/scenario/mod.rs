//! Scenario files: the lab's topology, its faults and what must be true of the run.
//!
//! A scenario is one TOML file (see `scenarios/README.md` for a guide). It names keepalived.conf
//! files instead of pasting them; their paths are relative to the scenario file and the files
//! are handed to the runner verbatim. [`Scenario::load`] parses and validates the whole file
//! and reports *every* problem as `file:line:col: message` ([`ScenarioError`]): unknown fields,
//! bad values (durations, addresses, URLs, faults), unknown or misused node names, overlapping
//! addresses, missing keepalived files, NAT web servers whose `gateway` is not an address a
//! director holds (its `ip` or `addresses`, or a VIP in its keepalived.conf) and expectations
//! that could never be evaluated.
//!
//! Units: every time in a scenario is a string with a unit (`"90s"`, `"500ms"`, `"1.5s"`),
//! read exactly to the nanosecond ([`duration`]); times of faults and expectations count from
//! the start of the run.
//!
//! Node roles decide which processes a node runs and so which faults apply to it:
//! `[[director]]` runs `keepalived` (VRRP, IPVS, health checks), `[[web]]` runs `httpd`,
//! `[[client]]` runs `client` (the load generator). Every node can lose power or its link.

pub mod duration;
mod error;
pub mod expect;

pub use error::{Diagnostic, ScenarioError};
pub use expect::{Claim, Expectation};
pub use reports::Verdict;

use crate::cmd::check::RealFiles;
use error::Source;
use lvs_model::ProcessAction;
use lvs_model::config::{self, ParseOptions};
use serde::Deserialize;
use sim::fault::FaultAction;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The scenario file, as given to [`Scenario::load`].
    pub file: PathBuf,
    pub name: String,
    /// The one seed every random draw of the run derives from.
    pub seed: u64,
    /// How long the run lasts, in simulated time.
    pub duration: Duration,
    pub lan: Lan,
    pub directors: Vec<Director>,
    pub webs: Vec<WebServer>,
    pub clients: Vec<Client>,
    /// Faults in the order of their time (file order among equal times).
    pub faults: Vec<ScheduledFault>,
    pub expectations: Vec<Expectation>,
    /// Problems that do not stop a run but probably make it meaningless (e.g. a director's
    /// `interface` that its keepalived.conf never names). The runner should print them.
    pub warnings: Vec<Diagnostic>,
}

/// The one switched LAN every node is plugged into.
#[derive(Clone, Debug, PartialEq)]
pub struct Lan {
    /// One-way delay of every link (default 50 µs).
    pub latency: Duration,
    /// Extra uniform random delay in `[0, jitter]` (default 0).
    pub jitter: Duration,
    /// Share of frames lost on every link, in parts per million (default 0).
    pub loss_ppm: u32,
    /// Link rate in bits per second; `None` means frames take no time on the wire (default).
    pub rate_bps: Option<u64>,
    /// Frames a link may queue before it drops; `None` leaves it to the engine.
    pub queue_limit: Option<u32>,
    /// Further addresses on nodes' ports beyond their `ip`, by node name: a `[[director]]`'s
    /// `addresses`, as `ip addr add … dev PORT` would add them. A NAT director holds the
    /// clients' subnet and the real servers' subnet on its one port this way.
    pub port_addresses: BTreeMap<String, Vec<IpCidr>>,
}

impl Default for Lan {
    fn default() -> Self {
        Lan {
            latency: Duration::from_micros(50),
            jitter: Duration::ZERO,
            loss_ppm: 0,
            rate_bps: None,
            queue_limit: None,
            port_addresses: BTreeMap::new(),
        }
    }
}

/// An IPv4 address with its prefix length, as `ip addr` shows it: `192.168.80.100/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IpCidr {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl IpCidr {
    pub fn netmask(self) -> Ipv4Addr {
        let bits = if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix_len))
        };
        Ipv4Addr::from(bits)
    }

    pub fn contains(self, ip: Ipv4Addr) -> bool {
        let m = u32::from(self.netmask());
        u32::from(ip) & m == u32::from(self.addr) & m
    }
}

impl std::fmt::Display for IpCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// An LVS director: one keepalived (VRRP + IPVS + checkers) on a Linux host.
///
/// Its further port addresses (`addresses` in the file) are in [`Lan::port_addresses`]
/// ([`Scenario::extra_addresses`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Director {
    pub name: String,
    /// The port's first address: VRRP adverts leave from it.
    pub ip: IpCidr,
    /// Name of the LAN port, which keepalived.conf's `interface` must match (default `eth0`;
    /// the seed's configs say `eth1`).
    pub interface: String,
    /// The keepalived.conf file: the scenario's directory joined with `keepalived_as_written`.
    pub keepalived: PathBuf,
    /// The path as the scenario file wrote it.
    pub keepalived_as_written: String,
    /// Line of the `name` in the scenario file.
    pub line: usize,
}

/// How a real server receives the packets a director forwards (`lb_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardMethod {
    /// Direct routing: same frame, new destination MAC; the VIP sits on `lo`.
    Dr,
    /// Masquerading: the director rewrites addresses; the server routes back through it.
    Nat,
    /// IP-in-IP tunnel; the VIP sits on `tunl0`.
    Tun,
}

/// The seed's `realserver` script: the VIP on `lo` and the ARP sysctls of `all` and `lo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealServerSetup {
    pub vip: Ipv4Addr,
    /// `net.ipv4.conf.{all,lo}.arp_ignore` (0..=3 or 8, as Linux accepts).
    pub arp_ignore: u8,
    /// `net.ipv4.conf.{all,lo}.arp_announce` (0..=2).
    pub arp_announce: u8,
}

/// A web server running `httpd`, which answers `GET` with `from <its ip>`.
#[derive(Clone, Debug, PartialEq)]
pub struct WebServer {
    pub name: String,
    pub ip: IpCidr,
    pub method: ForwardMethod,
    /// `None`: no VIP on `lo`, ARP sysctls at 0.
    pub realserver: Option<RealServerSetup>,
    /// Default route (NAT: the director's address or a VIP).
    pub gateway: Option<Ipv4Addr>,
    /// Port httpd listens on (default 80).
    pub port: u16,
    pub line: usize,
}

/// `http://HOST[:PORT]/PATH` with an IPv4 host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    pub host: Ipv4Addr,
    pub port: u16,
    pub path: String,
}

/// How a client offers load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientLoad {
    /// `rate = "20/s"`: `count` new requests every `per`, evenly spaced.
    Rate { count: u32, per: Duration },
    /// `concurrency = N`: N requests in flight, each started when the previous one ends.
    Concurrency(u32),
}

/// A client sending HTTP GETs.
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    pub name: String,
    pub ip: IpCidr,
    pub get: HttpUrl,
    pub load: ClientLoad,
    /// Reuse one connection for many requests (default false: one connection per request).
    pub keepalive: bool,
    /// A request without a complete answer by then fails with `timeout` (default 3 s).
    pub timeout: Duration,
    /// When the client starts (default 0 s) and stops (default: the end of the run).
    pub start: Duration,
    pub stop: Duration,
    pub line: usize,
}

/// Where a fault applies: a node, or one port of a node (`lvs-master:eth1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultTarget {
    pub node: String,
    pub port: Option<String>,
}

impl std::fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.port {
            Some(p) => write!(f, "{}:{p}", self.node),
            None => f.write_str(&self.node),
        }
    }
}

/// One `[[at]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    pub at: Duration,
    pub action: FaultAction,
    /// `None` for faults that name their nodes themselves (`partition`, `heal`).
    pub target: Option<FaultTarget>,
    pub line: usize,
}

/// What kind of node a name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Director,
    Web,
    Client,
}

impl Role {
    /// The one process this kind of node runs, as faults name it.
    pub fn process(self) -> &'static str {
        match self {
            Role::Director => "keepalived",
            Role::Web => "httpd",
            Role::Client => "client",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Director => "director",
            Role::Web => "web",
            Role::Client => "client",
        }
    }
}

/// The names an expectation may use: nodes with their role and address.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Topology {
    pub nodes: BTreeMap<String, (Role, Ipv4Addr)>,
}

impl Topology {
    pub fn role(&self, name: &str) -> Option<Role> {
        self.nodes.get(name).map(|(r, _)| *r)
    }

    /// The node that owns an address.
    pub fn by_ip(&self, ip: Ipv4Addr) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(_, (_, a))| *a == ip)
            .map(|(n, _)| n.as_str())
    }
}

impl Scenario {
    /// Reads, parses and validates a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            diagnostics: vec![Diagnostic {
                file: path.to_path_buf(),
                line: 0,
                col: 0,
                message: format!("cannot read the scenario: {e}"),
            }],
        })?;
        Scenario::parse(path, &text)
    }

    /// Parses and validates scenario text; `path` names it in errors and anchors relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let src = Source { file: path, text };
        let raw: RawScenario = toml::from_str(text).map_err(|e| ScenarioError {
            diagnostics: vec![
                src.diag(e.span().unwrap_or(0..0), e.message().trim_end().to_string()),
            ],
        })?;
        let mut v = Validator {
            src,
            diags: Vec::new(),
            warnings: Vec::new(),
        };
        let mut scenario = v.scenario(raw);
        scenario.warnings = std::mem::take(&mut v.warnings);
        if v.diags.is_empty() {
            Ok(scenario)
        } else {
            v.diags.sort_by_key(|d| (d.line, d.col));
            Err(ScenarioError {
                diagnostics: v.diags,
            })
        }
    }

    /// A node's addresses beyond its `ip` (a director's `addresses`), in file order.
    pub fn extra_addresses(&self, node: &str) -> &[IpCidr] {
        self.lan.port_addresses.get(node).map_or(&[], Vec::as_slice)
    }

    /// Every node name with its role and address.
    pub fn topology(&self) -> Topology {
        let mut t = Topology::default();
        for d in &self.directors {
            t.nodes.insert(d.name.clone(), (Role::Director, d.ip.addr));
        }
        for w in &self.webs {
            t.nodes.insert(w.name.clone(), (Role::Web, w.ip.addr));
        }
        for c in &self.clients {
            t.nodes.insert(c.name.clone(), (Role::Client, c.ip.addr));
        }
        t
    }

    /// Checks every expectation against a run's event log, in file order.
    pub fn evaluate(&self, log: &[lvs_model::event::Record]) -> Vec<Verdict> {
        self.expectations.iter().map(|e| e.evaluate(log)).collect()
    }

    /// What the reports need to know about this scenario. `reproduce` is the command line that
    /// repeats the run.
    pub fn run_summary(&self, reproduce: impl Into<String>) -> reports::RunSummary {
        let mut nodes = Vec::new();
        for d in &self.directors {
            let mut details = format!("keepalived {} on {}", d.keepalived_as_written, d.interface);
            let extra = self.extra_addresses(&d.name);
            if !extra.is_empty() {
                let list: Vec<String> = extra.iter().map(ToString::to_string).collect();
                details.push_str(&format!(", also {}", list.join(" ")));
            }
            nodes.push(reports::NodeSummary {
                name: d.name.clone(),
                role: "director".into(),
                ip: d.ip.to_string(),
                details,
            });
        }
        for w in &self.webs {
            let method = match w.method {
                ForwardMethod::Dr => "DR",
                ForwardMethod::Nat => "NAT",
                ForwardMethod::Tun => "TUN",
            };
            let mut details = format!("httpd :{} ({method})", w.port);
            if let Some(rs) = w.realserver {
                details.push_str(&format!(
                    ", VIP {} on lo, arp_ignore={} arp_announce={}",
                    rs.vip, rs.arp_ignore, rs.arp_announce
                ));
            }
            if let Some(gw) = w.gateway {
                details.push_str(&format!(", gateway {gw}"));
            }
            nodes.push(reports::NodeSummary {
                name: w.name.clone(),
                role: "web".into(),
                ip: w.ip.to_string(),
                details,
            });
        }
        for c in &self.clients {
            let load = match c.load {
                ClientLoad::Rate { count, per } => {
                    format!("{count} per {}", duration::format_duration(per))
                }
                ClientLoad::Concurrency(n) => format!("concurrency {n}"),
            };
            nodes.push(reports::NodeSummary {
                name: c.name.clone(),
                role: "client".into(),
                ip: c.ip.to_string(),
                details: format!(
                    "GET http://{}:{}{} at {load}{}, timeout {}, {}..{}",
                    c.get.host,
                    c.get.port,
                    c.get.path,
                    if c.keepalive { ", keepalive" } else { "" },
                    duration::format_duration(c.timeout),
                    duration::format_duration(c.start),
                    duration::format_duration(c.stop),
                ),
            });
        }
        reports::RunSummary {
            name: self.name.clone(),
            seed: self.seed,
            duration_ns: nanos(self.duration),
            reproduce: reproduce.into(),
            lan: format!(
                "one switch; latency {}, jitter {}, loss {}, rate {}",
                duration::format_duration(self.lan.latency),
                duration::format_duration(self.lan.jitter),
                format_ppm(self.lan.loss_ppm),
                self.lan
                    .rate_bps
                    .map_or("unlimited".to_string(), |r| format!("{r} bit/s")),
            ),
            nodes,
            faults: self
                .faults
                .iter()
                .map(|f| reports::FaultSummary {
                    t: nanos(f.at),
                    action: f.action.to_string(),
                    target: f.target.as_ref().map(ToString::to_string),
                })
                .collect(),
        }
    }
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn format_ppm(ppm: u32) -> String {
    let (whole, frac) = (ppm / 10_000, ppm % 10_000);
    if frac == 0 {
        format!("{whole}%")
    } else {
        format!("{whole}.{}%", format!("{frac:04}").trim_end_matches('0'))
    }
}

// ---------------------------------------------------------------------------------------------
// The file as TOML gives it, with spans for error positions.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    seed: Spanned<u64>,
    duration: Spanned<String>,
    #[serde(default)]
    lan: Option<RawLan>,
    #[serde(default)]
    director: Vec<RawDirector>,
    #[serde(default)]
    web: Vec<RawWeb>,
    #[serde(default)]
    client: Vec<RawClient>,
    #[serde(default)]
    at: Vec<RawAt>,
    #[serde(default)]
    expect: Vec<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLan {
    latency: Option<Spanned<String>>,
    jitter: Option<Spanned<String>>,
    loss: Option<Spanned<String>>,
    rate: Option<Spanned<String>>,
    queue_limit: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirector {
    name: Spanned<String>,
    ip: Spanned<String>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    keepalived: Spanned<String>,
    interface: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRealServer {
    vip: Spanned<String>,
    #[serde(default)]
    arp_ignore: Option<Spanned<u8>>,
    #[serde(default)]
    arp_announce: Option<Spanned<u8>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    name: Spanned<String>,
    ip: Spanned<String>,
    method: Option<Spanned<ForwardMethod>>,
    realserver: Option<Spanned<RawRealServer>>,
    gateway: Option<Spanned<String>>,
    port: Option<Spanned<u16>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: Spanned<String>,
    ip: Spanned<String>,
    get: Spanned<String>,
    rate: Option<Spanned<String>>,
    concurrency: Option<Spanned<u32>>,
    #[serde(default)]
    keepalive: bool,
    timeout: Option<Spanned<String>>,
    start: Option<Spanned<String>>,
    stop: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAt {
    t: Spanned<String>,
    #[serde(rename = "do")]
    action: Spanned<String>,
    on: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    that: Spanned<String>,
    after: Option<Spanned<String>>,
    within: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// Validation: raw → model, collecting every problem.

struct Validator<'a> {
    src: Source<'a>,
    diags: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

/// Where a node's name was written, for errors that point at it.
struct NodeDecl {
    role: Role,
    ip: IpCidr,
    span: Range<usize>,
    /// Further addresses on the port, each where it was written.
    extra: Vec<(IpCidr, Range<usize>)>,
    interface: String,
}

/// An address a director holds or may hold (a VRRP VIP), for NAT gateways.
struct DirectorAddr {
    addr: Ipv4Addr,
    /// How to name it in a message: "`lvs-master`'s address", "a VIP of `lvs-master`'s VI_2".
    what: String,
    vip: bool,
}

/// The IPv4 VIPs (`virtual_ipaddress` and `virtual_ipaddress_excluded`) of a director's
/// keepalived.conf. Its diagnostics are left to the lab, which reports them.
fn vips_of(director: &str, keepalived: &Path) -> Vec<DirectorAddr> {
    let path = keepalived.display().to_string();
    let parsed = config::parse(&RealFiles, &path, &ParseOptions::default());
    let mut out = Vec::new();
    for inst in &parsed.config.vrrp_instances {
        for v in inst
            .virtual_ipaddresses
            .iter()
            .chain(&inst.virtual_ipaddresses_excluded)
        {
            if let IpAddr::V4(addr) = v.addr {
                out.push(DirectorAddr {
                    addr,
                    what: format!("a VIP of `{director}`'s {}", inst.name),
                    vip: true,
                });
            }
        }
    }
    out
}

/// The director addresses on `subnet`, VIPs first, for a message about a NAT gateway.
fn gateway_candidates(addrs: &[DirectorAddr], subnet: IpCidr) -> String {
    let mut seen = Vec::new();
    let mut list = Vec::new();
    for a in addrs
        .iter()
        .filter(|a| a.vip)
        .chain(addrs.iter().filter(|a| !a.vip))
    {
        if subnet.contains(a.addr) && !seen.contains(&a.addr) {
            seen.push(a.addr);
            list.push(format!("{} ({})", a.addr, a.what));
        }
    }
    let net = IpCidr {
        addr: Ipv4Addr::from(u32::from(subnet.addr) & u32::from(subnet.netmask())),
        prefix_len: subnet.prefix_len,
    };
    if list.is_empty() {
        format!("no director has an address on {net}")
    } else {
        format!("on {net}: {}", list.join(", "))
    }
}

impl<'a> Validator<'a> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let d = self.src.diag(span, message);
        self.diags.push(d);
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.src.position(span.start).0
    }

    /// Column of a byte offset inside a string value that starts at `span` (after the quote).
    fn inner_span(&self, span: &Range<usize>, offset: usize) -> Range<usize> {
        let start = (span.start + 1 + offset).min(span.end);
        start..start
    }

    fn duration(&mut self, s: &Spanned<String>) -> Option<Duration> {
        match duration::parse_duration(s.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(s.span(), format!("bad duration: {e}"));
                None
            }
        }
    }

    fn cidr(&mut self, s: &Spanned<String>) -> Option<IpCidr> {
        let text = s.get_ref().trim();
        let Some((ip, len)) = text.split_once('/') else {
            self.error(
                s.span(),
                format!("`{text}`: write the address with its prefix, e.g. \"{text}/24\""),
            );
            return None;
        };
        let addr = ip.parse::<Ipv4Addr>();
        let len_text = len;
        let len = len.parse::<u8>().ok().filter(|l| *l <= 32);
        match (addr, len) {
            (Ok(addr), Some(prefix_len)) => {
                let c = IpCidr { addr, prefix_len };
                let host = u32::from(addr) & !u32::from(c.netmask());
                if prefix_len < 31 && (host == 0 || host == !u32::from(c.netmask())) {
                    self.error(
                        s.span(),
                        format!("`{text}` is the network or broadcast address of its subnet"),
                    );
                    return None;
                }
                Some(c)
            }
            (Err(_), _) => {
                self.error(s.span(), format!("`{ip}` is not an IPv4 address"));
                None
            }
            (_, None) => {
                self.error(
                    s.span(),
                    format!("`{len_text}` is not a prefix length (0..=32)"),
                );
                None
            }
        }
    }

    fn ipv4(&mut self, s: &Spanned<String>) -> Option<Ipv4Addr> {
        match s.get_ref().trim().parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(
                    s.span(),
                    format!("`{}` is not an IPv4 address", s.get_ref()),
                );
                None
            }
        }
    }

    fn node_name(&mut self, s: &Spanned<String>) -> bool {
        let n = s.get_ref();
        let ok = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            self.error(
                s.span(),
                format!(
                    "node name `{n}` may only use letters, digits, `-`, `_` and `.` \
                     (faults use `,`, `:` and `/` as separators)"
                ),
            );
        }
        ok
    }

    fn scenario(&mut self, raw: RawScenario) -> Scenario {
        let name = raw.name.get_ref().clone();
        if name.trim().is_empty() {
            self.error(raw.name.span(), "the scenario needs a name");
        }
        let duration = self.duration(&raw.duration).unwrap_or(Duration::ZERO);
        if duration.is_zero() && !self.diags.iter().any(|d| d.message.contains("duration")) {
            self.error(raw.duration.span(), "the run must last longer than 0s");
        }
        let mut lan = raw.lan.map(|l| self.lan(l)).unwrap_or_default();

        // Nodes, with names unique across roles and addresses that do not collide.
        let mut nodes: BTreeMap<String, NodeDecl> = BTreeMap::new();
        let raw_directors = raw.director.len();
        let mut directors = Vec::new();
        // Every address a director may hold, for NAT gateways: its own and its VRRP VIPs.
        let mut director_addrs: Vec<DirectorAddr> = Vec::new();
        for d in raw.director {
            let ip = self.cidr(&d.ip);
            let extra: Vec<(IpCidr, Range<usize>)> = d
                .addresses
                .iter()
                .filter_map(|a| Some((self.cidr(a)?, a.span())))
                .collect();
            for a in ip.iter().chain(extra.iter().map(|(a, _)| a)) {
                director_addrs.push(DirectorAddr {
                    addr: a.addr,
                    what: format!("`{}`'s address", d.name.get_ref()),
                    vip: false,
                });
            }
            let interface = d
                .interface
                .as_ref()
                .map_or("eth0".to_string(), |i| i.get_ref().clone());
            if let Some(i) = &d.interface
                && (i.get_ref().is_empty() || i.get_ref().contains([' ', ':', ',', '/']))
            {
                self.error(
                    i.span(),
                    format!("`{}` is not an interface name", i.get_ref()),
                );
            }
            let written = d.keepalived.get_ref().clone();
            let keepalived = self
                .src
                .file
                .parent()
                .unwrap_or(Path::new(""))
                .join(&written);
            if !keepalived.is_file() {
                self.error(
                    d.keepalived.span(),
                    format!(
                        "keepalived file `{written}` not found (looked for {})",
                        keepalived.display()
                    ),
                );
            } else if let Ok(conf) = std::fs::read_to_string(&keepalived) {
                director_addrs.extend(vips_of(d.name.get_ref(), &keepalived));
                let named = interfaces_named(&conf);
                if !named.is_empty() && !named.contains(&interface.as_str()) {
                    let w = self.src.diag(
                        d.keepalived.span(),
                        format!(
                            "`{written}` names interface {} but `{}`'s port is `{interface}` \
                             (set interface = \"{}\" on the director if that is not on purpose)",
                            named.join(", "),
                            d.name.get_ref(),
                            named[0]
                        ),
                    );
                    self.warnings.push(w);
                }
            }
            let name = d.name.get_ref();
            if !extra.is_empty() {
                lan.port_addresses
                    .insert(name.clone(), extra.iter().map(|(a, _)| *a).collect());
            }
            self.declare(&mut nodes, &d.name, Role::Director, ip, extra, &interface);
            if let Some(ip) = ip {
                directors.push(Director {
                    name: d.name.get_ref().clone(),
                    ip,
                    interface,
                    keepalived,
                    keepalived_as_written: written,
                    line: self.line(&d.name.span()),
                });
            }
        }
        let mut webs = Vec::new();
        for w in raw.web {
            let ip = self.cidr(&w.ip);
            let method = w
                .method
                .as_ref()
                .map_or(ForwardMethod::Dr, |m| *m.get_ref());
            let realserver = w.realserver.as_ref().and_then(|rs| {
                let r = rs.get_ref();
                let vip = self.ipv4(&r.vip)?;
                let arp_ignore = r.arp_ignore.as_ref().map_or(0, |a| *a.get_ref());
                if let Some(a) = &r.arp_ignore
                    && !matches!(arp_ignore, 0..=3 | 8)
                {
                    self.error(
                        a.span(),
                        format!("arp_ignore {arp_ignore} is not one Linux defines (0..=3 or 8)"),
                    );
                }
                let arp_announce = r.arp_announce.as_ref().map_or(0, |a| *a.get_ref());
                if let Some(a) = &r.arp_announce
                    && arp_announce > 2
                {
                    self.error(
                        a.span(),
                        format!("arp_announce {arp_announce} is not one Linux defines (0..=2)"),
                    );
                }
                Some(RealServerSetup {
                    vip,
                    arp_ignore,
                    arp_announce,
                })
            });
            let gateway = w.gateway.as_ref().and_then(|g| self.ipv4(g));
            if method == ForwardMethod::Nat && gateway.is_none() && w.gateway.is_none() {
                let hint = ip.map_or(String::new(), |ip| {
                    format!("; {}", gateway_candidates(&director_addrs, ip))
                });
                self.error(
                    w.name.span(),
                    format!(
                        "a NAT real server needs `gateway` (its replies must go back through \
                         the director){hint}"
                    ),
                );
            }
            if let (Some(gw), Some(ip), Some(g)) = (gateway, ip, &w.gateway)
                && !ip.contains(gw)
            {
                self.error(g.span(), format!("gateway {gw} is not on {ip}'s subnet"));
            } else if method == ForwardMethod::Nat
                && let (Some(gw), Some(ip), Some(g)) = (gateway, ip, &w.gateway)
            {
                match director_addrs.iter().find(|a| a.addr == gw) {
                    None => self.error(
                        g.span(),
                        format!(
                            "gateway {gw} is neither a director's address nor a VIP in their \
                             keepalived files, so NAT replies would not go back through a \
                             director ({})",
                            gateway_candidates(&director_addrs, ip)
                        ),
                    ),
                    Some(a) if !a.vip && raw_directors > 1 => {
                        let warn = self.src.diag(
                            g.span(),
                            format!(
                                "gateway {gw} is {}, not a VIP: after a failover the replies \
                                 still go to that director ({})",
                                a.what,
                                gateway_candidates(&director_addrs, ip)
                            ),
                        );
                        self.warnings.push(warn);
                    }
                    Some(_) => {}
                }
            }
            if method == ForwardMethod::Nat
                && let Some(rs) = &w.realserver
            {
                let warn = self.src.diag(
                    rs.span(),
                    "a NAT real server gets packets for its own address: the VIP on lo \
                     (`realserver`) is for dr and tun",
                );
                self.warnings.push(warn);
            }
            self.declare(&mut nodes, &w.name, Role::Web, ip, Vec::new(), "eth0");
            if let Some(ip) = ip {
                webs.push(WebServer {
                    name: w.name.get_ref().clone(),
                    ip,
                    method,
                    realserver,
                    gateway,
                    port: w.port.as_ref().map_or(80, |p| *p.get_ref()),
                    line: self.line(&w.name.span()),
                });
            }
        }
        let mut clients = Vec::new();
        for c in raw.client {
            let ip = self.cidr(&c.ip);
            // The classic LVS-NAT pitfall: a client on the real servers' own subnet.
            if let Some(ip) = ip
                && let Some(w) = webs
                    .iter()
                    .find(|w| w.method == ForwardMethod::Nat && w.ip.contains(ip.addr))
            {
                let warn = self.src.diag(
                    c.ip.span(),
                    format!(
                        "`{}` is on the subnet of NAT real server `{}` ({}): the server answers \
                         it directly, not through the director, so the replies come from the \
                         wrong address",
                        c.name.get_ref(),
                        w.name,
                        w.ip
                    ),
                );
                self.warnings.push(warn);
            }
            let get = self.url(&c.get);
            let load = match (&c.rate, &c.concurrency) {
                (Some(r), None) => self.rate(r),
                (None, Some(n)) if *n.get_ref() == 0 => {
                    self.error(n.span(), "concurrency must be at least 1");
                    None
                }
                (None, Some(n)) => Some(ClientLoad::Concurrency(*n.get_ref())),
                (Some(r), Some(_)) => {
                    self.error(r.span(), "give either `rate` or `concurrency`, not both");
                    None
                }
                (None, None) => {
                    self.error(
                        c.name.span(),
                        "a client needs `rate` (e.g. \"20/s\") or `concurrency`",
                    );
                    None
                }
            };
            let timeout = match &c.timeout {
                Some(t) => self.duration(t),
                None => Some(Duration::from_secs(3)),
            };
            let start = match &c.start {
                Some(t) => self.duration(t),
                None => Some(Duration::ZERO),
            };
            let stop = match &c.stop {
                Some(t) => self.duration(t),
                None => Some(duration),
            };
            if let (Some(a), Some(b)) = (start, stop) {
                let span = c.stop.as_ref().or(c.start.as_ref()).map(|s| s.span());
                if a >= b {
                    self.error(
                        span.unwrap_or(c.name.span()),
                        "the client stops before it starts",
                    );
                } else if b > duration && !duration.is_zero() {
                    self.error(
                        span.unwrap_or(c.name.span()),
                        format!(
                            "the client stops at {} but the run lasts {}",
                            duration::format_duration(b),
                            duration::format_duration(duration)
                        ),
                    );
                }
            }
            self.declare(&mut nodes, &c.name, Role::Client, ip, Vec::new(), "eth0");
            if let (Some(ip), Some(get), Some(load), Some(timeout), Some(start), Some(stop)) =
                (ip, get, load, timeout, start, stop)
            {
                clients.push(Client {
                    name: c.name.get_ref().clone(),
                    ip,
                    get,
                    load,
                    keepalive: c.keepalive,
                    timeout,
                    start,
                    stop,
                    line: self.line(&c.name.span()),
                });
            }
        }
        self.addresses(&nodes, &webs);

        let faults = self.faults(raw.at, &nodes, duration);
        let topology = Topology {
            nodes: nodes
                .iter()
                .map(|(n, d)| (n.clone(), (d.role, d.ip.addr)))
                .collect(),
        };
        let last_fault = faults.iter().map(|f| f.at).max();
        let mut expectations = Vec::new();
        for e in raw.expect {
            if let Some(x) = self.expectation(e, &topology, duration, last_fault) {
                expectations.push(x);
            }
        }

        Scenario {
            file: self.src.file.to_path_buf(),
            name,
            seed: *raw.seed.get_ref(),
            duration,
            lan,
            directors,
            webs,
            clients,
            faults,
            expectations,
            warnings: Vec::new(),
        }
    }

    fn lan(&mut self, l: RawLan) -> Lan {
        let mut lan = Lan::default();
        if let Some(d) = l.latency.as_ref().and_then(|s| self.duration(s)) {
            lan.latency = d;
        }
        if let Some(d) = l.jitter.as_ref().and_then(|s| self.duration(s)) {
            lan.jitter = d;
        }
        if let Some(s) = &l.loss {
            match s
                .get_ref()
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
            {
                Some(p) => lan.loss_ppm = (p * 10_000.0).round() as u32,
                None => self.error(
                    s.span(),
                    format!("loss `{}` is not a percentage like \"0.5%\"", s.get_ref()),
                ),
            }
        }
        if let Some(s) = &l.rate {
            match parse_rate(s.get_ref()) {
                Ok(r) => lan.rate_bps = Some(r),
                Err(e) => self.error(s.span(), e),
            }
        }
        if let Some(q) = &l.queue_limit {
            if *q.get_ref() == 0 {
                self.error(q.span(), "queue_limit must be at least 1 frame");
            }
            lan.queue_limit = Some(*q.get_ref());
        }
        lan
    }

    fn declare(
        &mut self,
        nodes: &mut BTreeMap<String, NodeDecl>,
        name: &Spanned<String>,
        role: Role,
        ip: Option<IpCidr>,
        extra: Vec<(IpCidr, Range<usize>)>,
        interface: &str,
    ) {
        if !self.node_name(name) {
            return;
        }
        if let Some(prev) = nodes.get(name.get_ref()) {
            let (line, _) = self.src.position(prev.span.start);
            self.error(
                name.span(),
                format!(
                    "node `{}` is already declared (as a {} on line {line})",
                    name.get_ref(),
                    prev.role.as_str()
                ),
            );
            return;
        }
        if let Some(ip) = ip {
            nodes.insert(
                name.get_ref().clone(),
                NodeDecl {
                    role,
                    ip,
                    span: name.span(),
                    extra,
                    interface: interface.to_string(),
                },
            );
        }
    }

    /// Two nodes may not share an address, and no node may own a real server's VIP.
    fn addresses(&mut self, nodes: &BTreeMap<String, NodeDecl>, webs: &[WebServer]) {
        let mut by_ip: BTreeMap<Ipv4Addr, (&str, &NodeDecl)> = BTreeMap::new();
        let mut ordered: Vec<(&String, &NodeDecl)> = nodes.iter().collect();
        ordered.sort_by_key(|(_, d)| d.span.start);
        for (name, d) in ordered {
            let all = std::iter::once((d.ip, d.span.clone())).chain(d.extra.iter().cloned());
            for (ip, span) in all {
                match by_ip.get(&ip.addr) {
                    Some((other, _)) if *other == name.as_str() => {
                        self.error(span, format!("`{name}` has address {} twice", ip.addr));
                    }
                    Some((other, _)) => self.error(
                        span,
                        format!(
                            "`{name}` has address {} which `{other}` already has",
                            ip.addr
                        ),
                    ),
                    None => {
                        by_ip.insert(ip.addr, (name, d));
                    }
                }
            }
        }
        for w in webs {
            if let Some(rs) = w.realserver
                && let Some((owner, d)) = by_ip.get(&rs.vip)
                && let Some(me) = nodes.get(&w.name)
            {
                let span = me.span.clone();
                self.error(
                    span,
                    format!(
                        "`{}`'s realserver VIP {} is `{owner}`'s own address (line {})",
                        w.name,
                        rs.vip,
                        self.src.position(d.span.start).0
                    ),
                );
            }
        }
    }

    fn url(&mut self, s: &Spanned<String>) -> Option<HttpUrl> {
        let text = s.get_ref().trim();
        let bad = |why: &str| format!("`{text}` is not a URL this lab can fetch: {why}");
        let Some(rest) = text.strip_prefix("http://") else {
            self.error(s.span(), bad("it must start with http://"));
            return None;
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) if p > 0 => (h, p),
                _ => {
                    self.error(s.span(), bad("bad port"));
                    return None;
                }
            },
            None => (authority, 80),
        };
        match host.parse() {
            Ok(host) => Some(HttpUrl {
                host,
                port,
                path: path.to_string(),
            }),
            Err(_) => {
                self.error(
                    s.span(),
                    bad("the host must be an IPv4 address (there is no DNS)"),
                );
                None
            }
        }
    }

    fn rate(&mut self, s: &Spanned<String>) -> Option<ClientLoad> {
        let text = s.get_ref().trim();
        let parsed = text.split_once('/').and_then(|(n, unit)| {
            let count = n.trim().parse::<u32>().ok().filter(|c| *c > 0)?;
            let per = match unit.trim() {
                "s" => Duration::from_secs(1),
                "m" | "min" => Duration::from_secs(60),
                other => duration::parse_duration(other).ok()?,
            };
            (!per.is_zero()).then_some(ClientLoad::Rate { count, per })
        });
        if parsed.is_none() {
            self.error(
                s.span(),
                format!("rate `{text}` is not like \"20/s\", \"5/m\" or \"1/500ms\""),
            );
        }
        parsed
    }

    fn faults(
        &mut self,
        at: Vec<RawAt>,
        nodes: &BTreeMap<String, NodeDecl>,
        duration: Duration,
    ) -> Vec<ScheduledFault> {
        let mut out = Vec::new();
        for a in at {
            let t = self.duration(&a.t);
            if let Some(t) = t
                && t > duration
                && !duration.is_zero()
            {
                self.error(
                    a.t.span(),
                    format!(
                        "the fault at {} comes after the end of the run ({})",
                        duration::format_duration(t),
                        duration::format_duration(duration)
                    ),
                );
            }
            let action = match a.action.get_ref().parse::<FaultAction>() {
                Ok(x) => x,
                Err(e) => {
                    self.error(a.action.span(), format!("{e}"));
                    continue;
                }
            };
            for n in action.named_nodes() {
                if !nodes.contains_key(n) {
                    let off = a.action.get_ref().find(n).unwrap_or(0);
                    let span = self.inner_span(&a.action.span(), off);
                    self.error(span, format!("unknown node `{n}` in the partition"));
                }
            }
            let target = match (&a.on, action.needs_target()) {
                (None, true) => {
                    self.error(a.action.span(), format!("`{action}` needs `on = \"NODE\"`"));
                    None
                }
                (Some(on), false) => {
                    self.error(
                        on.span(),
                        format!("`{action}` names its nodes itself; remove `on`"),
                    );
                    None
                }
                (None, false) => None,
                (Some(on), true) => self.fault_target(on, &action, nodes),
            };
            if let Some(t) = t
                && (target.is_some() || !action.needs_target())
            {
                out.push(ScheduledFault {
                    at: t,
                    action,
                    target,
                    line: self.line(&a.t.span()),
                });
            }
        }
        out.sort_by_key(|f| (f.at, f.line));
        out
    }

    fn fault_target(
        &mut self,
        on: &Spanned<String>,
        action: &FaultAction,
        nodes: &BTreeMap<String, NodeDecl>,
    ) -> Option<FaultTarget> {
        let text = on.get_ref().trim();
        let (node, port) = match text.split_once(':') {
            Some((n, p)) => (n, Some(p.to_string())),
            None => (text, None),
        };
        let Some(decl) = nodes.get(node) else {
            self.error(
                on.span(),
                format!("unknown node `{node}`{}", known_names(nodes)),
            );
            return None;
        };
        if let Some(p) = &port {
            if !matches!(
                action,
                FaultAction::LinkDown | FaultAction::LinkUp | FaultAction::Loss { .. }
            ) {
                self.error(
                    on.span(),
                    format!("`{action}` applies to a whole node, not to port `{p}`"),
                );
                return None;
            }
            if *p != decl.interface {
                self.error(
                    on.span(),
                    format!(
                        "`{node}` has no port `{p}` (its port is `{}`)",
                        decl.interface
                    ),
                );
                return None;
            }
        }
        if let FaultAction::Process {
            action: verb,
            process,
        } = action
            && process != decl.role.process()
        {
            let verb = match verb {
                ProcessAction::Stop => "stop",
                ProcessAction::Crash => "crash",
                ProcessAction::Start => "start",
            };
            self.error(
                on.span(),
                format!(
                    "`{node}` is a {} and runs `{}`, so it cannot `{verb} {process}`",
                    decl.role.as_str(),
                    decl.role.process()
                ),
            );
            return None;
        }
        Some(FaultTarget {
            node: node.to_string(),
            port,
        })
    }

    fn expectation(
        &mut self,
        e: RawExpect,
        topology: &Topology,
        duration: Duration,
        last_fault: Option<Duration>,
    ) -> Option<Expectation> {
        let after = match &e.after {
            Some(a) => Some(self.duration(a)?),
            None => None,
        };
        let within = match &e.within {
            Some(w) => Some((self.duration(w)?, w.span())),
            None => None,
        };
        let ctx = expect::ParseContext {
            topology,
            duration,
            reference: after.or(last_fault).unwrap_or(Duration::ZERO),
            within: within.as_ref().map(|(d, _)| *d),
        };
        let span = e.that.span();
        let line = self.line(&span);
        match Expectation::parse(e.that.get_ref(), &ctx, line) {
            Ok(x) => Some(x),
            Err(err) => {
                let span = match (err.field, &within, &e.after) {
                    (expect::ErrorField::Within, Some((_, s)), _) => s.clone(),
                    (expect::ErrorField::After, _, Some(a)) => a.span(),
                    _ => self.inner_span(&span, err.offset),
                };
                self.error(span, err.message);
                None
            }
        }
    }
}

/// The interfaces a keepalived.conf names with the `interface` keyword (a plain scan of
/// words before any `#`/`!` comment; the real parser reports the details).
fn interfaces_named(conf: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for line in conf.lines() {
        let code = line.split(['#', '!']).next().unwrap_or("");
        let mut words = code.split_whitespace();
        if words.next() == Some("interface")
            && let Some(name) = words.next()
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
}

fn known_names(nodes: &BTreeMap<String, NodeDecl>) -> String {
    if nodes.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = nodes.keys().map(String::as_str).collect();
    format!(" (nodes: {})", names.join(", "))
}

/// `"1Gbit/s"`, `"100Mbit/s"`, `"512kbit/s"`, `"9600bit/s"` → bits per second.
fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let body = t
        .strip_suffix("bit/s")
        .ok_or_else(|| format!("rate `{t}` is not like \"1Gbit/s\" or \"100Mbit/s\""))?;
    let (num, mult) = if let Some(n) = body.strip_suffix('G') {
        (n, 1_000_000_000)
    } else if let Some(n) = body.strip_suffix('M') {
        (n, 1_000_000)
    } else if let Some(n) = body.strip_suffix('k') {
        (n, 1_000)
    } else {
        (body, 1)
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|r| *r > 0)
        .ok_or_else(|| format!("rate `{t}` is not like \"1Gbit/s\" or \"100Mbit/s\""))
}
