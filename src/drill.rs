//! Standard failover drills from keepalived.conf files alone (`lvslab drill`).
//!
//! [`Cluster::from_configs`] reads one keepalived.conf per director and derives a lab: the
//! directors (named after their files), the web servers (the `real_server`s of the virtual
//! service, or `--web` addresses), one HTTP client at 20 requests/s on the virtual service,
//! and drill windows long enough for keepalived's own timers. [`run_all`] then runs each
//! [`Drill`] as its own short deterministic run of the LAN simulator and measures, from the
//! event log, when things converged. [`render`] prints the result as a stable text table.
//!
//! Addresses, in this order of precedence:
//! - a director's address is `--ip N=ADDR/LEN` (N = 1-based file index), else its VRRP
//!   instance's `unicast_src_ip` (or `mcast_src_ip`) on the lab subnet, else derived;
//! - the lab subnet is the VIP's own prefix when the config gives one (`192.168.80.200/24`),
//!   otherwise the /24 around the VIP;
//! - derived director addresses are the free host addresses just below the lowest web server
//!   on the subnet, in file order (the seed's .102/.103 give .100 and .101), or the first free
//!   ones from the bottom of the subnet when there is no room there;
//! - the client takes the first free address from host number 50 upward (the seed's .50).
//!
//! The drilled VRRP instance is each file's first IPv4 instance (the others: the one with the
//! master's virtual_router_id); the master is the director whose instance has the highest
//! priority (`state MASTER`, then file order, break ties). The client uses the master's first
//! IPv4 virtual_server on the VIP. `--web` replaces the simulated web servers: a configured
//! real_server left out is not simulated (its checks fail and keepalived drops it), a `--web`
//! address no real_server names is never in the pool. DR web servers get the usual realserver
//! setup (VIP on lo, arp_ignore 1, arp_announce 2); NAT ones route through the VIP; TUN is
//! refused. The LAN is the scenario default: one switch, 50 µs host to host. Every drill starts from the same converged lab and lasts only as long as its
//! windows, which [`Timing`] derives from the configs with the arithmetic in its comments.

use crate::cmd::check::RealFiles;
use crate::lab::Lab;
use crate::scenario::{
    self, ClientLoad, ForwardMethod, HttpUrl, IpCidr, Lan, RealServerSetup, Scenario,
    ScheduledFault, WebServer,
};
use lvs_model::ProcessAction;
use lvs_model::config::{self, KeepalivedConfig, LbKind, ParseOptions, VirtualServerAddress};
use lvs_model::event::{DestChange, Event, HttpError, Record, VrrpStateName};
use sim::fault::FaultAction;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// Requests per second of the drill's client.
pub const CLIENT_RATE: u32 = 20;
/// The client's request timeout (the scenario default).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the drills could not be set up or run (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DrillError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, DrillError> {
    Err(DrillError(msg.into()))
}

/// What the command line gives.
#[derive(Clone, Debug, Default)]
pub struct DrillOptions {
    /// keepalived.conf files, one per director.
    pub confs: Vec<PathBuf>,
    /// Web server addresses replacing the configs' `real_server`s.
    pub webs: Vec<Ipv4Addr>,
    /// `--ip N=ADDR/LEN` (N 1-based), already parsed.
    pub ips: Vec<(usize, IpCidr)>,
    pub seed: u64,
}

/// Parses `N=A.B.C.D/LEN`.
pub fn parse_ip_flag(s: &str) -> Option<(usize, IpCidr)> {
    let (n, rest) = s.split_once('=')?;
    let n: usize = n.trim().parse().ok().filter(|n| *n >= 1)?;
    let (a, l) = rest.trim().split_once('/')?;
    let prefix_len: u8 = l.parse().ok().filter(|l| *l <= 32)?;
    Some((
        n,
        IpCidr {
            addr: a.parse().ok()?,
            prefix_len,
        },
    ))
}

/// keepalived's messages for one file, one line each.
#[derive(Clone, Debug, PartialEq)]
pub struct FileDiagnostics {
    pub file: String,
    /// `file:line:col: severity[code]: message`.
    pub lines: Vec<String>,
    /// lvslab's own notes (not printed by keepalived).
    pub notes: usize,
}

/// One director of the lab.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectorInfo {
    pub name: String,
    pub file: PathBuf,
    pub ip: IpCidr,
    /// Where the address came from: `--ip`, `unicast_src_ip`, `derived`.
    pub ip_from: &'static str,
    pub interface: String,
    /// The drilled VRRP instance (the one with the master's virtual_router_id).
    pub instance: String,
    pub priority: u8,
}

/// One web server of the lab.
#[derive(Clone, Debug, PartialEq)]
pub struct WebInfo {
    pub name: String,
    pub ip: Ipv4Addr,
    pub port: u16,
    pub method: ForwardMethod,
}

/// The timers the drill windows must cover, taken from the configs (maxima over directors
/// and checkers), and the windows derived from them.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    pub advert_int: Duration,
    pub down_timer_adverts: u32,
    pub delay_loop: Duration,
    pub connect_timeout: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    pub warmup: Duration,
    /// Upper bound of master_down_interval: down_timer_adverts × advert_int + skew, where the
    /// skew ((256 − priority)/256 × advert_int in v3, (256 − priority)/256 s in v2 whose
    /// advert_int is ≥ 1 s) is below one advert_int.
    pub master_down: Duration,
    /// When the first fault of every drill comes: the master is up (≤ master_down after the
    /// start) and every checker has made its first check (≤ 1 s + warmup): the larger of the
    /// two, rounded up to whole seconds, + 1 s.
    pub settle: Duration,
    /// VRRP reaction window: master_down + 1 s. A graceful stop converges within the skew, a
    /// crash or a partition within master_down, a preempting restart within its own
    /// master_down, a heal within one advert_int (+ LAN latency).
    pub vrrp_window: Duration,
    /// Real server removal window: the next check starts within delay_loop and fails within
    /// connect_timeout, then each of `retry` retries comes delay_before_retry later and fails
    /// within connect_timeout: delay_loop + connect_timeout + retry × (delay_before_retry +
    /// connect_timeout) + 1 s.
    pub rs_down_window: Duration,
    /// Real server re-add window: an attempt under way fails within connect_timeout; while the
    /// server is down keepalived keeps cycling delay_loop, then `retry` retries each
    /// delay_before_retry apart, so the next attempt starts at most max(delay_loop,
    /// delay_before_retry) later and succeeds: connect_timeout + max(delay_loop,
    /// delay_before_retry) + 1 s.
    pub rs_up_window: Duration,
    /// After the last window, requests started in it may still fail until they time out:
    /// client timeout + 1 s.
    pub tail: Duration,
}

/// Everything a drill run is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    pub directors: Vec<DirectorInfo>,
    /// Index of the master (highest priority) in `directors`.
    pub master: usize,
    pub vrid: u8,
    pub vip: Ipv4Addr,
    /// The virtual service the client uses.
    pub port: u16,
    pub subnet_prefix: u8,
    pub webs: Vec<WebInfo>,
    pub client_ip: IpCidr,
    pub timing: Timing,
    pub diagnostics: Vec<FileDiagnostics>,
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn network(addr: Ipv4Addr, prefix: u8) -> u32 {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    };
    u32::from(addr) & mask
}

fn node_name(stem: &str) -> String {
    let s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "director".into() } else { s }
}

fn unique(name: String, taken: &[String]) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (2..)
        .map(|i| format!("{name}-{i}"))
        .find(|n| !taken.contains(n))
        .unwrap_or(name)
}

fn ceil_secs(d: Duration) -> Duration {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Duration::from_secs(s)
}

impl Cluster {
    /// Reads the configs and derives the lab; errors are usage or I/O problems.
    pub fn from_configs(opts: &DrillOptions) -> Result<Cluster, DrillError> {
        if opts.confs.is_empty() {
            return fail("give at least one keepalived.conf");
        }
        for (n, _) in &opts.ips {
            if *n > opts.confs.len() {
                return fail(format!(
                    "--ip {n}=...: there are only {} file(s)",
                    opts.confs.len()
                ));
            }
        }
        let mut parsed = Vec::new();
        let mut diagnostics = Vec::new();
        for f in &opts.confs {
            let name = f.to_string_lossy().into_owned();
            if !f.is_file() || std::fs::File::open(f).is_err() {
                return fail(format!("cannot read {name}"));
            }
            let p = config::parse(&RealFiles, &name, &ParseOptions::default());
            let lines = p
                .reported()
                .map(|d| {
                    let (file, line, col) = p.position(d);
                    format!(
                        "{file}:{line}:{col}: {}[{}]: {}",
                        d.severity.as_str(),
                        d.code,
                        d.message
                    )
                })
                .collect::<Vec<_>>();
            diagnostics.push(FileDiagnostics {
                file: name.clone(),
                notes: p.diagnostics.len() - lines.len(),
                lines,
            });
            parsed.push((name, p.config));
        }

        // The drilled instance of each file: the first usable IPv4 one.
        let mut firsts = Vec::new();
        for (name, c) in &parsed {
            let Some(i) = c.vrrp_instances.iter().find(|i| {
                i.interface.is_some()
                    && i.vrid.is_some()
                    && i.virtual_ipaddresses.iter().any(|v| v4(v.addr).is_some())
            }) else {
                return fail(format!(
                    "{name}: no vrrp_instance with an interface, a virtual_router_id and an IPv4 VIP"
                ));
            };
            firsts.push(i);
        }
        // Highest priority; among equals `state MASTER`, then file order.
        let master = (0..firsts.len())
            .max_by_key(|&i| {
                (
                    firsts[i].priority,
                    firsts[i].initial_state == config::VrrpState::Master,
                    std::cmp::Reverse(i),
                )
            })
            .unwrap_or(0);
        let vrid = firsts[master].vrid.unwrap_or(0);
        let mut instances = Vec::new();
        for (k, (name, c)) in parsed.iter().enumerate() {
            let inst = if k == master {
                firsts[k]
            } else {
                match c.vrrp_instances.iter().find(|i| i.vrid == Some(vrid)) {
                    Some(i) => i,
                    None => {
                        return fail(format!(
                            "{name}: no vrrp_instance with virtual_router_id {vrid} (the master's)"
                        ));
                    }
                }
            };
            instances.push(inst);
        }
        let vip_entry = firsts[master]
            .virtual_ipaddresses
            .iter()
            .find(|v| v4(v.addr).is_some());
        let (vip, vip_prefix) = match vip_entry {
            Some(v) => (v4(v.addr).unwrap_or(Ipv4Addr::UNSPECIFIED), v.prefix_len),
            None => return fail("the master's vrrp_instance has no IPv4 VIP"),
        };
        let subnet_prefix = if vip_prefix < 32 { vip_prefix } else { 24 };

        // The virtual service: the master's first IPv4 virtual_server on the VIP, else any.
        let vs_of = |c: &KeepalivedConfig| {
            let ip_vs = |vs: &&config::VirtualServer| match vs.address {
                VirtualServerAddress::Ip { addr, .. } => v4(addr).is_some(),
                _ => false,
            };
            let on_vip = |vs: &&config::VirtualServer| matches!(vs.address, VirtualServerAddress::Ip { addr, .. } if addr == IpAddr::V4(vip));
            c.virtual_servers
                .iter()
                .find(on_vip)
                .or_else(|| c.virtual_servers.iter().find(ip_vs))
                .cloned()
        };
        let Some(vs) =
            vs_of(&parsed[master].1).or_else(|| parsed.iter().find_map(|(_, c)| vs_of(c)))
        else {
            return fail(
                "no real servers: no file has an IPv4 virtual_server keepalived would run \
                 (it ignores one without real_server, see the messages of `lvslab check`), \
                 and --web needs one for its VIP, port and lb_kind",
            );
        };
        let VirtualServerAddress::Ip {
            addr: vs_addr,
            port,
        } = vs.address
        else {
            return fail("no IPv4 virtual_server");
        };
        let vs_addr = v4(vs_addr).unwrap_or(vip);

        let method_of = |k: LbKind| match k {
            LbKind::Dr => ForwardMethod::Dr,
            LbKind::Nat => ForwardMethod::Nat,
            LbKind::Tun => ForwardMethod::Tun,
        };
        let mut web_addrs: Vec<(Ipv4Addr, u16, ForwardMethod)> = Vec::new();
        if opts.webs.is_empty() {
            // Real servers of that service, in every file (first seen first).
            for (_, c) in &parsed {
                for v in &c.virtual_servers {
                    if v.address != vs.address {
                        continue;
                    }
                    for rs in &v.real_servers {
                        if let Some(a) = v4(rs.addr)
                            && !web_addrs.iter().any(|w| w.0 == a)
                        {
                            web_addrs.push((a, rs.port, method_of(rs.lb_kind)));
                        }
                    }
                }
            }
        } else {
            for &a in &opts.webs {
                if !web_addrs.iter().any(|w| w.0 == a) {
                    web_addrs.push((a, port, method_of(vs.lb_kind)));
                }
            }
        }
        if web_addrs.is_empty() {
            return fail(format!(
                "virtual_server {vs_addr}:{port} has no IPv4 real_server and no --web was given"
            ));
        }
        if let Some(w) = web_addrs.iter().find(|w| w.2 == ForwardMethod::Tun) {
            return fail(format!(
                "real server {}: TUN real servers are not simulated",
                w.0
            ));
        }

        // Names.
        let mut names: Vec<String> = Vec::new();
        for f in &opts.confs {
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let n = unique(node_name(&stem), &names);
            names.push(n);
        }
        let mut webs = Vec::new();
        for (a, p, m) in &web_addrs {
            let mut taken = names.clone();
            taken.extend(webs.iter().map(|w: &WebInfo| w.name.clone()));
            let short = format!("web-{}", a.octets()[3]);
            let name = if taken.contains(&short)
                || webs.iter().any(|w| w.ip.octets()[3] == a.octets()[3])
            {
                unique(format!("web-{}", a.to_string().replace('.', "-")), &taken)
            } else {
                short
            };
            webs.push(WebInfo {
                name,
                ip: *a,
                port: *p,
                method: *m,
            });
        }

        // Addresses.
        let net = network(vip, subnet_prefix);
        let size: u64 = 1u64 << (32 - u32::from(subnet_prefix));
        let mut used: Vec<Ipv4Addr> = vec![vip];
        used.extend(webs.iter().map(|w| w.ip));
        let mut ips: Vec<Option<(IpCidr, &'static str)>> = vec![None; parsed.len()];
        for (n, cidr) in &opts.ips {
            ips[n - 1] = Some((*cidr, "--ip"));
        }
        for (k, inst) in instances.iter().enumerate() {
            if ips[k].is_none()
                && let Some(a) = inst.unicast_src_ip.or(inst.mcast_src_ip).and_then(v4)
            {
                ips[k] = Some((
                    IpCidr {
                        addr: a,
                        prefix_len: subnet_prefix,
                    },
                    "unicast_src_ip",
                ));
            }
        }
        for (c, _) in ips.iter().flatten() {
            if used.contains(&c.addr) {
                return fail(format!(
                    "director address {} is the VIP's or a web server's",
                    c.addr
                ));
            }
            used.push(c.addr);
        }
        let missing = ips.iter().filter(|i| i.is_none()).count();
        let in_subnet = |h: u64| h >= 1 && h + 1 < size.max(2);
        let host = |h: u64| Ipv4Addr::from(net.wrapping_add(h as u32));
        let lowest_web = webs
            .iter()
            .filter(|w| network(w.ip, subnet_prefix) == net)
            .map(|w| u64::from(u32::from(w.ip) - net))
            .min();
        let mut derived: Vec<Ipv4Addr> = Vec::new();
        if let Some(low) = lowest_web {
            let mut h = low;
            while derived.len() < missing && h > 1 {
                h -= 1;
                let a = host(h);
                if in_subnet(h) && !used.contains(&a) {
                    derived.push(a);
                }
            }
            derived.reverse();
        }
        if derived.len() < missing {
            derived.clear();
            let mut h = 1;
            while derived.len() < missing && in_subnet(h) {
                let a = host(h);
                if !used.contains(&a) {
                    derived.push(a);
                }
                h += 1;
            }
        }
        if derived.len() < missing {
            return fail(format!(
                "no free addresses for the directors on {}/{subnet_prefix}",
                Ipv4Addr::from(net)
            ));
        }
        let mut derived = derived.into_iter();
        for slot in ips.iter_mut().filter(|i| i.is_none()) {
            if let Some(a) = derived.next() {
                used.push(a);
                *slot = Some((
                    IpCidr {
                        addr: a,
                        prefix_len: subnet_prefix,
                    },
                    "derived",
                ));
            }
        }
        let Some(client_addr) = (50..size.saturating_sub(1))
            .chain(1..50)
            .filter(|h| in_subnet(*h))
            .map(host)
            .find(|a| !used.contains(a))
        else {
            return fail("no free address for the client");
        };

        let directors = instances
            .iter()
            .enumerate()
            .map(|(k, inst)| {
                let (ip, from) = ips[k].unwrap_or((
                    IpCidr {
                        addr: Ipv4Addr::UNSPECIFIED,
                        prefix_len: 0,
                    },
                    "derived",
                ));
                DirectorInfo {
                    name: names[k].clone(),
                    file: opts.confs[k].clone(),
                    ip,
                    ip_from: from,
                    interface: inst.interface.clone().unwrap_or_else(|| "eth0".into()),
                    instance: inst.name.clone(),
                    priority: inst.priority,
                }
            })
            .collect();

        // Timers: maxima over the drilled instances and every checker of the service.
        let advert_int = instances
            .iter()
            .map(|i| i.advert_int)
            .max()
            .unwrap_or(Duration::from_secs(1));
        let down_timer_adverts = instances
            .iter()
            .map(|i| i.down_timer_adverts)
            .max()
            .unwrap_or(3);
        let mut t = Timing {
            advert_int,
            down_timer_adverts,
            delay_loop: vs.delay_loop,
            connect_timeout: Duration::ZERO,
            retry: 0,
            delay_before_retry: Duration::ZERO,
            warmup: Duration::ZERO,
            master_down: Duration::ZERO,
            settle: Duration::ZERO,
            vrrp_window: Duration::ZERO,
            rs_down_window: Duration::ZERO,
            rs_up_window: Duration::ZERO,
            tail: CLIENT_TIMEOUT + Duration::from_secs(1),
        };
        for (_, c) in &parsed {
            for v in c.virtual_servers.iter().filter(|v| v.address == vs.address) {
                for ck in v.real_servers.iter().flat_map(|r| &r.checkers) {
                    t.delay_loop = t.delay_loop.max(ck.delay_loop);
                    t.connect_timeout = t.connect_timeout.max(ck.connect_timeout);
                    t.retry = t.retry.max(ck.retry);
                    t.delay_before_retry = t.delay_before_retry.max(ck.delay_before_retry);
                    t.warmup = t.warmup.max(ck.warmup);
                }
            }
        }
        // down_timer_adverts × advert_int + (a skew below one advert_int).
        t.master_down = advert_int * (down_timer_adverts + 1);
        // Master up by master_down; first checks by 1 s + warmup; + 1 s of steady state.
        t.settle = ceil_secs(t.master_down.max(Duration::from_secs(1) + t.warmup))
            + Duration::from_secs(1);
        t.vrrp_window = t.master_down + Duration::from_secs(1);
        t.rs_down_window = t.delay_loop
            + t.connect_timeout
            + (t.delay_before_retry + t.connect_timeout) * t.retry
            + Duration::from_secs(1);
        t.rs_up_window =
            t.connect_timeout + t.delay_loop.max(t.delay_before_retry) + Duration::from_secs(1);

        Ok(Cluster {
            directors,
            master,
            vrid,
            vip,
            port,
            subnet_prefix,
            webs,
            client_ip: IpCidr {
                addr: client_addr,
                prefix_len: subnet_prefix,
            },
            timing: t,
            diagnostics,
        })
    }

    fn master_name(&self) -> &str {
        &self.directors[self.master].name
    }

    /// The standard drills, in the order they run and print.
    pub fn drills(&self) -> Vec<Drill> {
        let t = &self.timing;
        let t0 = t.settle;
        let process = |action, p: &str| FaultAction::Process {
            action,
            process: p.to_string(),
        };
        let mut out = Vec::new();
        for w in &self.webs {
            let t1 = t0 + t.rs_down_window;
            out.push(Drill {
                name: format!("{} down, up", w.name),
                kind: DrillKind::RealServer {
                    web: w.name.clone(),
                    rs: format!("{}:{}", w.ip, w.port),
                },
                steps: vec![
                    (
                        t0,
                        process(ProcessAction::Stop, "httpd"),
                        Some(w.name.clone()),
                    ),
                    (
                        t1,
                        process(ProcessAction::Start, "httpd"),
                        Some(w.name.clone()),
                    ),
                ],
                end: t1 + t.rs_up_window + t.tail,
            });
        }
        // Master first, then the others, in file order.
        let mut order: Vec<usize> = vec![self.master];
        order.extend((0..self.directors.len()).filter(|i| *i != self.master));
        for (verb, action) in [
            ("stop", ProcessAction::Stop),
            ("crash", ProcessAction::Crash),
        ] {
            for &i in &order {
                let d = &self.directors[i].name;
                out.push(Drill {
                    name: format!("{verb} keepalived on {d}"),
                    kind: DrillKind::Keepalived {
                        director: d.clone(),
                    },
                    steps: vec![(t0, process(action, "keepalived"), Some(d.clone()))],
                    end: t0 + t.vrrp_window + t.tail,
                });
            }
        }
        let m = self.master_name().to_string();
        let t1 = t0 + t.vrrp_window;
        out.push(Drill {
            name: format!("restart {m} (preemption)"),
            kind: DrillKind::Restart {
                director: m.clone(),
            },
            steps: vec![
                (
                    t0,
                    process(ProcessAction::Stop, "keepalived"),
                    Some(m.clone()),
                ),
                (
                    t1,
                    process(ProcessAction::Start, "keepalived"),
                    Some(m.clone()),
                ),
            ],
            end: t1 + t.vrrp_window + t.tail,
        });
        if self.directors.len() > 1 {
            let others: Vec<String> = order[1..]
                .iter()
                .map(|&i| self.directors[i].name.clone())
                .collect();
            out.push(Drill {
                name: "partition, heal (split brain)".into(),
                kind: DrillKind::Partition,
                steps: vec![
                    (
                        t0,
                        FaultAction::Partition {
                            from: vec![m.clone()],
                            to: others,
                            one_way: false,
                        },
                        None,
                    ),
                    (t1, FaultAction::Heal, None),
                ],
                end: t1 + t.vrrp_window + t.tail,
            });
        }
        out
    }

    /// The lab of one drill as a scenario value.
    pub fn scenario(&self, drill: &Drill, seed: u64) -> Scenario {
        let directors = self
            .directors
            .iter()
            .map(|d| scenario::Director {
                name: d.name.clone(),
                ip: d.ip,
                interface: d.interface.clone(),
                keepalived: d.file.clone(),
                keepalived_as_written: d.file.to_string_lossy().into_owned(),
                line: 0,
            })
            .collect();
        let webs = self
            .webs
            .iter()
            .map(|w| WebServer {
                name: w.name.clone(),
                ip: IpCidr {
                    addr: w.ip,
                    prefix_len: self.subnet_prefix,
                },
                method: w.method,
                // DR: the usual realserver script (VIP on lo, arp_ignore 1, arp_announce 2).
                realserver: (w.method == ForwardMethod::Dr).then_some(RealServerSetup {
                    vip: self.vip,
                    arp_ignore: 1,
                    arp_announce: 2,
                }),
                // NAT: replies go back through the director holding the VIP.
                gateway: (w.method == ForwardMethod::Nat).then_some(self.vip),
                port: w.port,
                line: 0,
            })
            .collect();
        let client = scenario::Client {
            name: "client".into(),
            ip: self.client_ip,
            get: HttpUrl {
                host: self.vip,
                port: self.port,
                path: "/".into(),
            },
            load: ClientLoad::Rate {
                count: CLIENT_RATE,
                per: Duration::from_secs(1),
            },
            keepalive: false,
            timeout: CLIENT_TIMEOUT,
            // One second before the first fault: the master is up (settle ≥ master_down + 1 s).
            start: self.timing.settle - Duration::from_secs(1),
            // Requests started by then end (answer or timeout) before the run does.
            stop: drill.end - self.timing.tail,
            line: 0,
        };
        let faults = drill
            .steps
            .iter()
            .map(|(at, action, target)| ScheduledFault {
                at: *at,
                action: action.clone(),
                target: target.as_ref().map(|n| scenario::FaultTarget {
                    node: n.clone(),
                    port: None,
                }),
                line: 0,
            })
            .collect();
        Scenario {
            file: PathBuf::from("drill"),
            name: drill.name.clone(),
            seed,
            duration: drill.end,
            lan: Lan::default(),
            directors,
            webs,
            clients: vec![client],
            faults,
            expectations: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// What a drill exercises.
#[derive(Clone, Debug, PartialEq)]
pub enum DrillKind {
    /// `stop httpd`, then `start httpd` on one web server; `rs` is `IP:PORT`.
    RealServer { web: String, rs: String },
    /// One `stop`/`crash keepalived` on a director.
    Keepalived { director: String },
    /// `stop keepalived` on the master, then `start keepalived`.
    Restart { director: String },
    /// `partition master / others`, then `heal`.
    Partition,
}

/// One drill: faults at times, and the end of its run.
#[derive(Clone, Debug, PartialEq)]
pub struct Drill {
    pub name: String,
    pub kind: DrillKind,
    pub steps: Vec<(Duration, FaultAction, Option<String>)>,
    pub end: Duration,
}

/// What one measurement is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measure {
    /// `node` became MASTER (the first such transition after the step).
    BecameMaster,
    /// `node` left MASTER for BACKUP (the first after the step).
    SteppedDown,
    /// Two or more MASTERs at once, from this time (split brain).
    TwoMasters,
    /// Exactly one MASTER again, from this time.
    OneMaster,
    /// `node` stays MASTER: no other instance changes state (nothing is timed).
    Stays,
    /// `node`'s last VRRP advert before the step.
    LastAdvert,
    /// `node`'s first failed health check of the real server after the step.
    FailedCheck,
    /// The real server left `node`'s IPVS table (or its weight went to 0: inhibit_on_failure).
    DestRemoved,
    /// The real server came back into `node`'s IPVS table (or got its weight back).
    DestAdded,
}

/// One measured time (`None`: it never happened within the drill).
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub measure: Measure,
    pub node: String,
    /// Simulated time since the start of the drill's run.
    pub at: Option<Duration>,
}

/// One fault of a drill and what followed it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    pub at: Duration,
    pub fault: String,
    pub measurements: Vec<Measurement>,
}

impl StepResult {
    /// Time from the step to the measurement (`None` if it never happened or came before).
    pub fn after(&self, measure: &Measure) -> Option<Duration> {
        self.measurements
            .iter()
            .find(|m| m.measure == *measure)
            .and_then(|m| m.at)
            .and_then(|t| t.checked_sub(self.at))
    }

    pub fn get(&self, measure: &Measure) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.measure == *measure)
    }
}

/// The client's requests over a drill's run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Requests {
    pub total: usize,
    pub failed: usize,
    /// Failures by kind (refused, reset, timeout), in that order.
    pub by_error: BTreeMap<String, usize>,
    /// Start times of the first and the last failed request.
    pub window: Option<(Duration, Duration)>,
}

/// The outcome of one drill.
#[derive(Clone, Debug, PartialEq)]
pub struct DrillResult {
    pub name: String,
    pub kind: DrillKind,
    pub steps: Vec<StepResult>,
    pub requests: Requests,
    /// The MASTERs at the end of the run.
    pub masters_at_end: Vec<String>,
    /// Why it did not converge (empty: converged).
    pub problems: Vec<String>,
}

impl DrillResult {
    pub fn converged(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Per-node VRRP state of the drilled instances, replayed from the log.
struct VrrpView<'a> {
    /// (node, instance) of each director.
    instances: Vec<(&'a str, &'a str)>,
    records: &'a [Record],
}

impl<'a> VrrpView<'a> {
    fn is_drilled(&self, node: &str, instance: &str) -> bool {
        self.instances
            .iter()
            .any(|(n, i)| *n == node && *i == instance)
    }

    /// State transitions of drilled instances: (t, node, to).
    fn transitions(&self) -> impl Iterator<Item = (u64, &'a str, VrrpStateName)> + '_ {
        self.records.iter().filter_map(|r| match &r.event {
            Event::VrrpState { instance, to, .. } if self.is_drilled(&r.node, instance) => {
                Some((r.t, r.node.as_str(), *to))
            }
            _ => None,
        })
    }

    /// MASTERs after every event up to and including `t`.
    fn masters_at(&self, t: u64) -> Vec<String> {
        let mut state: BTreeMap<&str, VrrpStateName> = BTreeMap::new();
        for (tt, node, to) in self.transitions() {
            if tt > t {
                break;
            }
            state.insert(node, to);
        }
        state
            .into_iter()
            .filter(|(_, s)| *s == VrrpStateName::Master)
            .map(|(n, _)| n.to_string())
            .collect()
    }

    /// First time after `from` (inclusive) at which the number of MASTERs satisfies `pred`.
    fn count_reaches(&self, from: u64, until: u64, pred: impl Fn(usize) -> bool) -> Option<u64> {
        let mut state: BTreeMap<&str, VrrpStateName> = BTreeMap::new();
        for (tt, node, to) in self.transitions() {
            if tt > until {
                break;
            }
            state.insert(node, to);
            if tt >= from {
                let n = state
                    .values()
                    .filter(|s| **s == VrrpStateName::Master)
                    .count();
                if pred(n) {
                    return Some(tt);
                }
            }
        }
        None
    }

    fn first_transition(
        &self,
        from: u64,
        until: u64,
        to: VrrpStateName,
        who: impl Fn(&str) -> bool,
    ) -> Option<(u64, &'a str)> {
        self.transitions()
            .find(|(t, n, s)| *t >= from && *t < until && *s == to && who(n))
            .map(|(t, n, _)| (t, n))
    }
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn dur(t: u64) -> Duration {
    Duration::from_nanos(t)
}

/// Builds and runs one drill, and measures it.
pub fn run_drill(cluster: &Cluster, drill: &Drill, seed: u64) -> Result<DrillResult, DrillError> {
    let scenario = cluster.scenario(drill, seed);
    let lab = Lab::build(scenario, Some(seed)).map_err(|e| DrillError(e.to_string()))?;
    let (_world, out) = lab
        .run(|_, _| {})
        .map_err(|e| DrillError(format!("{}: {e}", drill.name)))?;
    Ok(measure(cluster, drill, &out.records))
}

/// Measures a drill from its run's event log.
pub fn measure(cluster: &Cluster, drill: &Drill, records: &[Record]) -> DrillResult {
    let view = VrrpView {
        instances: cluster
            .directors
            .iter()
            .map(|d| (d.name.as_str(), d.instance.as_str()))
            .collect(),
        records,
    };
    let end = ns(drill.end);
    let mut problems = Vec::new();
    let t0 = ns(drill.steps[0].0);
    let t1 = drill.steps.get(1).map_or(end, |s| ns(s.0));
    let before = t0.saturating_sub(1);
    let masters_before = view.masters_at(before);
    let masters_at_end = view.masters_at(end);
    if masters_before.len() != 1 {
        problems.push(format!(
            "{} MASTER(s) before the first fault ({}): the lab had not converged",
            masters_before.len(),
            masters_before.join(", ")
        ));
    }
    let m = |measure, node: &str, at: Option<u64>| Measurement {
        measure,
        node: node.to_string(),
        at: at.map(dur),
    };
    let fault_text = |i: usize| {
        let (_, a, target) = &drill.steps[i];
        match target {
            Some(t) => format!("{a} on {t}"),
            None => a.to_string(),
        }
    };
    let old_master = masters_before
        .first()
        .cloned()
        .unwrap_or_else(|| cluster.master_name().to_string());
    let mut steps = Vec::new();
    match &drill.kind {
        DrillKind::RealServer { rs, .. } => {
            let node = old_master.as_str();
            let find = |from: u64, until: u64, f: &dyn Fn(&Event) -> bool| {
                records
                    .iter()
                    .find(|r| r.t >= from && r.t < until && r.node == node && f(&r.event))
                    .map(|r| r.t)
            };
            let failed = find(
                t0,
                t1,
                &|e| matches!(e, Event::CheckResult { rs: r, ok: false, .. } if r == rs),
            );
            // With inhibit_on_failure keepalived sets the weight to 0 instead of removing.
            let left = |e: &Event| match e {
                Event::IpvsDest {
                    rs: r,
                    change,
                    weight,
                    ..
                } => {
                    r == rs
                        && (*change == DestChange::Removed
                            || (*change == DestChange::Weight && *weight == 0))
                }
                _ => false,
            };
            let back = |e: &Event| match e {
                Event::IpvsDest {
                    rs: r,
                    change,
                    weight,
                    ..
                } => {
                    r == rs
                        && (*change == DestChange::Added
                            || (*change == DestChange::Weight && *weight > 0))
                }
                _ => false,
            };
            let removed = find(t0, t1, &left);
            let added = find(t1, end, &back);
            if removed.is_none() {
                problems.push(format!("{rs} never left {node}'s pool"));
            }
            if added.is_none() {
                problems.push(format!("{rs} never rejoined {node}'s pool"));
            }
            steps.push(StepResult {
                at: drill.steps[0].0,
                fault: fault_text(0),
                measurements: vec![
                    m(Measure::FailedCheck, node, failed),
                    m(Measure::DestRemoved, node, removed),
                ],
            });
            steps.push(StepResult {
                at: drill.steps[1].0,
                fault: fault_text(1),
                measurements: vec![m(Measure::DestAdded, node, added)],
            });
        }
        DrillKind::Keepalived { director } => {
            let mut ms = Vec::new();
            let last_advert = records
                .iter()
                .filter(|r| {
                    r.t < t0
                        && r.node == *director
                        && matches!(&r.event, Event::VrrpAdvert { vrid, .. } if *vrid == cluster.vrid)
                })
                .map(|r| r.t)
                .next_back();
            if old_master == *director {
                ms.push(m(Measure::LastAdvert, director, last_advert));
                let new = view.first_transition(t0, end, VrrpStateName::Master, |n| n != director);
                ms.push(m(
                    Measure::BecameMaster,
                    new.map_or("-", |(_, n)| n),
                    new.map(|(t, _)| t),
                ));
            } else {
                // A backup leaving: the master must not notice.
                let change = view
                    .transitions()
                    .find(|(t, n, _)| *t >= t0 && n != director);
                if let Some((t, n, to)) = change {
                    problems.push(format!(
                        "{n} went {} at {} although only a backup left",
                        to.as_str(),
                        fmt(dur(t))
                    ));
                }
                ms.push(m(Measure::Stays, &old_master, None));
            }
            if masters_at_end.len() != 1 {
                problems.push(format!(
                    "{} MASTER(s) at the end of the drill",
                    masters_at_end.len()
                ));
            }
            steps.push(StepResult {
                at: drill.steps[0].0,
                fault: fault_text(0),
                measurements: ms,
            });
        }
        DrillKind::Restart { director } => {
            let new = view.first_transition(t0, t1, VrrpStateName::Master, |n| n != director);
            steps.push(StepResult {
                at: drill.steps[0].0,
                fault: fault_text(0),
                measurements: vec![m(
                    Measure::BecameMaster,
                    new.map_or("-", |(_, n)| n),
                    new.map(|(t, _)| t),
                )],
            });
            let back = view.first_transition(t1, end, VrrpStateName::Master, |n| n == director);
            let down = view.first_transition(t1, end, VrrpStateName::Backup, |n| n != director);
            if masters_at_end.len() != 1 {
                problems.push(format!(
                    "{} MASTER(s) at the end of the drill",
                    masters_at_end.len()
                ));
            }
            steps.push(StepResult {
                at: drill.steps[1].0,
                fault: fault_text(1),
                measurements: vec![
                    m(Measure::BecameMaster, director, back.map(|(t, _)| t)),
                    m(
                        Measure::SteppedDown,
                        down.map_or("-", |(_, n)| n),
                        down.map(|(t, _)| t),
                    ),
                ],
            });
        }
        DrillKind::Partition => {
            let two = view.count_reaches(t0, t1, |n| n >= 2);
            let others = view.first_transition(t0, t1, VrrpStateName::Master, |n| n != old_master);
            steps.push(StepResult {
                at: drill.steps[0].0,
                fault: fault_text(0),
                measurements: vec![
                    m(
                        Measure::BecameMaster,
                        others.map_or("-", |(_, n)| n),
                        others.map(|(t, _)| t),
                    ),
                    m(Measure::TwoMasters, "-", two),
                ],
            });
            let one = view.count_reaches(t1, end, |n| n == 1);
            let down = view.first_transition(t1, end, VrrpStateName::Backup, |_| true);
            if masters_at_end.len() != 1 {
                problems.push(format!(
                    "{} MASTER(s) at the end of the drill",
                    masters_at_end.len()
                ));
            }
            steps.push(StepResult {
                at: drill.steps[1].0,
                fault: fault_text(1),
                measurements: vec![
                    m(
                        Measure::SteppedDown,
                        down.map_or("-", |(_, n)| n),
                        down.map(|(t, _)| t),
                    ),
                    m(Measure::OneMaster, &masters_at_end.join(","), one),
                ],
            });
        }
    }

    let mut requests = Requests::default();
    for r in records {
        if let Event::HttpRequest { started, error, .. } = &r.event {
            requests.total += 1;
            if let Some(e) = error {
                requests.failed += 1;
                let kind = match e {
                    HttpError::Refused => "refused",
                    HttpError::Reset => "reset",
                    HttpError::Timeout => "timeout",
                };
                *requests.by_error.entry(kind.to_string()).or_default() += 1;
                let s = dur(*started);
                requests.window = Some(match requests.window {
                    None => (s, s),
                    Some((a, b)) => (a.min(s), b.max(s)),
                });
            }
        }
    }
    DrillResult {
        name: drill.name.clone(),
        kind: drill.kind.clone(),
        steps,
        requests,
        masters_at_end,
        problems,
    }
}

/// The longest drill run [`run_all`] accepts: keepalived's timers can reach hours
/// (`delay_loop`, `advert_int` 255 s), which would make the client's load a long run.
pub const MAX_DRILL: Duration = Duration::from_secs(3600);

/// Runs every standard drill, in order.
pub fn run_all(cluster: &Cluster, seed: u64) -> Result<Vec<DrillResult>, DrillError> {
    let drills = cluster.drills();
    if let Some(d) = drills.iter().find(|d| d.end > MAX_DRILL) {
        return fail(format!(
            "drill `{}` would last {} of simulated time (more than {}): the configs' timers \
             (advert_int, delay_loop, connect_timeout, delay_before_retry x retry) are too long",
            d.name,
            fmt(d.end),
            fmt(MAX_DRILL)
        ));
    }
    drills.iter().map(|d| run_drill(cluster, d, seed)).collect()
}

fn fmt(d: Duration) -> String {
    scenario::duration::format_duration(d)
}

/// `+x` or `-x` from `base` to `t`.
fn signed(t: Duration, base: Duration) -> String {
    if t >= base {
        format!("+{}", fmt(t - base))
    } else {
        format!("-{}", fmt(base - t))
    }
}

fn measure_text(drill: &DrillResult, m: &Measurement) -> String {
    let rs = match &drill.kind {
        DrillKind::RealServer { rs, .. } => rs.as_str(),
        _ => "",
    };
    let n = &m.node;
    match m.measure {
        Measure::BecameMaster => format!("{n} becomes MASTER"),
        Measure::SteppedDown => format!("{n} steps down to BACKUP"),
        Measure::TwoMasters => "two MASTERs (split brain)".into(),
        Measure::OneMaster => format!("one MASTER again ({n})"),
        Measure::Stays => format!("{n} stays MASTER, no VRRP change"),
        Measure::LastAdvert => format!("last advert from {n}"),
        Measure::FailedCheck => format!("first failed check of {rs} on {n}"),
        Measure::DestRemoved => format!("{rs} leaves the pool on {n}"),
        Measure::DestAdded => format!("{rs} rejoins the pool on {n}"),
    }
}

/// The whole output of `lvslab drill`: the lab, the diagnostics, the table, the verdict.
pub fn render(cluster: &Cluster, results: &[DrillResult], seed: u64) -> String {
    let mut s = String::new();
    let t = &cluster.timing;
    s.push_str("== lab ==\n");
    for (i, d) in cluster.directors.iter().enumerate() {
        s.push_str(&format!(
            "director {:<w$} {} ({}) on {}, {} priority {}{}  [{}]\n",
            d.name,
            d.ip,
            d.ip_from,
            d.interface,
            d.instance,
            d.priority,
            if i == cluster.master { ", master" } else { "" },
            d.file.display(),
            w = cluster
                .directors
                .iter()
                .map(|d| d.name.len())
                .max()
                .unwrap_or(0),
        ));
    }
    for w in &cluster.webs {
        let m = match w.method {
            ForwardMethod::Dr => "DR",
            ForwardMethod::Nat => "NAT",
            ForwardMethod::Tun => "TUN",
        };
        s.push_str(&format!("web {} {}:{} ({m})\n", w.name, w.ip, w.port));
    }
    s.push_str(&format!(
        "client {} GET http://{}:{}/ at {CLIENT_RATE}/s, timeout {}; VRID {}, seed {seed}\n",
        cluster.client_ip,
        cluster.vip,
        cluster.port,
        fmt(CLIENT_TIMEOUT),
        cluster.vrid
    ));
    s.push_str(&format!(
        "timers: advert_int {}, master_down <= {} x {} + skew < {}; delay_loop {}, connect_timeout {}, retry {}, delay_before_retry {}, warmup {}\n",
        fmt(t.advert_int),
        t.down_timer_adverts,
        fmt(t.advert_int),
        fmt(t.master_down),
        fmt(t.delay_loop),
        fmt(t.connect_timeout),
        t.retry,
        fmt(t.delay_before_retry),
        fmt(t.warmup),
    ));
    s.push_str(&format!(
        "windows: first fault at {}, VRRP {}, real server down {}, up {}, tail {}\n",
        fmt(t.settle),
        fmt(t.vrrp_window),
        fmt(t.rs_down_window),
        fmt(t.rs_up_window),
        fmt(t.tail),
    ));
    s.push_str("\n== keepalived -t ==\n");
    for f in &cluster.diagnostics {
        s.push_str(&format!(
            "{}: {} message(s){}\n",
            f.file,
            f.lines.len(),
            if f.notes > 0 {
                format!(", {} lvslab note(s) (see lvslab check)", f.notes)
            } else {
                String::new()
            }
        ));
        for l in &f.lines {
            s.push_str(&format!("  {l}\n"));
        }
    }

    s.push_str("\n== drills ==\n");
    let mut rows: Vec<[String; 5]> = vec![[
        "#".into(),
        "drill".into(),
        "step".into(),
        "measured".into(),
        "after step".into(),
    ]];
    for (k, r) in results.iter().enumerate() {
        let mut first = true;
        for st in &r.steps {
            let mut step_first = true;
            let step = format!("{} {}", fmt(st.at), st.fault);
            for m in &st.measurements {
                rows.push([
                    if first {
                        (k + 1).to_string()
                    } else {
                        String::new()
                    },
                    if first { r.name.clone() } else { String::new() },
                    if step_first {
                        step.clone()
                    } else {
                        String::new()
                    },
                    measure_text(r, m),
                    match (&m.measure, m.at) {
                        (Measure::Stays, _) => "-".into(),
                        (_, None) => "never".into(),
                        (_, Some(at)) => signed(at, st.at),
                    },
                ]);
                first = false;
                step_first = false;
            }
        }
        let q = &r.requests;
        let failed = if q.failed == 0 {
            format!("0 of {} failed", q.total)
        } else {
            let kinds: Vec<String> = q.by_error.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let t0 = r.steps.first().map_or(Duration::ZERO, |s| s.at);
            let (a, b) = q.window.unwrap_or_default();
            format!(
                "{} of {} failed ({}), started {}..{}",
                q.failed,
                q.total,
                kinds.join(", "),
                signed(a, t0),
                signed(b, t0)
            )
        };
        rows.push([
            String::new(),
            String::new(),
            String::new(),
            "client requests".into(),
            failed,
        ]);
        rows.push([
            String::new(),
            String::new(),
            String::new(),
            "verdict".into(),
            if r.converged() {
                format!(
                    "converged (MASTER at the end: {})",
                    r.masters_at_end.join(", ")
                )
            } else {
                format!("NOT CONVERGED: {}", r.problems.join("; "))
            },
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let mut line = String::new();
        for c in 0..5 {
            if c == 4 {
                line.push_str(&r[c]);
            } else {
                line.push_str(&format!("{:<w$}  ", r[c], w = widths[c]));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    let ok = results.iter().filter(|r| r.converged()).count();
    s.push_str(&format!(
        "\n{ok} of {} drills converged; failed-request windows are request start times after the drill's first step\n",
        results.len()
    ));
    s
}
