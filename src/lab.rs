//! The lab: builds a virtual LAN from a [`Scenario`] — directors running the named
//! keepalived.conf files verbatim, web servers, clients — runs it, and gathers what the
//! reports need.
//!
//! Topology: every host hangs off one learning switch. The scenario's `[lan] latency` is the
//! host-to-host delay, so each of the two links on the way gets half of it; jitter, loss and
//! rate apply to every link. DR and TUN web servers hold the VIP on `lo`; TUN ones also
//! decapsulate IP-in-IP (tunl0 up). A director's further `addresses` sit on its one port
//! beside its `ip` (a NAT director's outside and inside subnets); NAT web servers route
//! through their `gateway`.

use crate::cmd::check::RealFiles;
use crate::scenario::{self, ClientLoad, ForwardMethod, Scenario};
use lvs_model::config::{self, ParseOptions};
use lvs_model::director::from_config::{DirectorPlan, DirectorPort};
use lvs_model::director::{Director, DirectorConfig};
use lvs_model::event::{Event, Record};
use lvs_model::host::{ArpSysctls, EthernetAddress, Ipv4Cidr, StackConfig};
use lvs_model::node::Node;
use lvs_model::time::{Duration, Instant};
use reports::{ConfigDiagnostic, ConfigLine, IpvsadmSnapshot};
use sim::hosts::{HttpClient, HttpClientConfig, Httpd, HttpdConfig, Load};
use sim::trace::TraceConfig;
use sim::{
    Attach, ElementId, HostSpec, LanBuilder, LinkConfig, RunError, SwitchConfig, TopologyError,
    World,
};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Why a lab could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{file}:{line}: {message}")]
    Scenario {
        file: String,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Run(#[from] RunError),
}

/// A built lab, ready to run.
pub struct Lab {
    pub scenario: Scenario,
    pub world: World,
    pub seed: u64,
    /// keepalived's diagnostics for each director's configuration.
    pub diagnostics: Vec<ConfigDiagnostic>,
    /// Items of the configurations the lab does not simulate, per director.
    pub skipped: Vec<(String, String)>,
    /// What each director runs, one line per VRRP instance and virtual service (for reports).
    pub config_lines: Vec<ConfigLine>,
}

/// What a run produced.
pub struct RunOutput {
    pub records: Vec<Record>,
    pub ipvsadm: Vec<IpvsadmSnapshot>,
}

/// The MAC lvslab gives a host: locally administered, the host's IPv4 address in the low bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x00, o[0], o[1], o[2], o[3]]
}

fn stack(seed: u64, ip: scenario::IpCidr) -> StackConfig {
    StackConfig::single(
        seed,
        EthernetAddress(mac_for(ip.addr)),
        Ipv4Cidr::new(ip.addr, ip.prefix_len),
    )
}

/// One line per VRRP instance and virtual service of a director's plan, with the effective
/// values keepalived runs with.
fn summary_lines(plan: &DirectorPlan) -> Vec<String> {
    let mut lines = Vec::new();
    for i in &plan.vrrp.instances {
        let vips: Vec<String> = i.vips.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "vrrp_instance {}: {} vrid {} priority {} advert_int {} v{}{}, VIPs {}",
            i.name,
            i.interface,
            i.vrid,
            i.priority,
            crate::scenario::duration::format_duration(i.advert_int),
            i.version,
            if i.nopreempt { " nopreempt" } else { "" },
            vips.join(" "),
        ));
    }
    for (svc, check) in plan.services.iter().zip(&plan.checks) {
        let dests: Vec<String> = svc
            .dests
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {} w{}",
                    d.addr,
                    d.port,
                    d.forward.ipvsadm_name(),
                    d.weight
                )
            })
            .collect();
        lines.push(format!(
            "virtual_server {} {}: {}; delay_loop {}",
            svc.name,
            svc.service.scheduler,
            dests.join(", "),
            crate::scenario::duration::format_duration(check.effective_delay_loop()),
        ));
    }
    for s in &plan.skipped {
        lines.push(format!("not simulated: {s}"));
    }
    lines
}

/// Adds a host with one port on `ip` (and `extra` addresses) and cables it to the switch.
fn plug(
    lan: &mut LanBuilder,
    switch: ElementId,
    link: &LinkConfig,
    name: &str,
    ip: Ipv4Addr,
    extra: &[scenario::IpCidr],
    node: Box<dyn Node>,
) -> Result<(), TopologyError> {
    let spec = HostSpec {
        name: name.to_string(),
        macs: vec![mac_for(ip)],
        ips: std::iter::once(ip)
            .chain(extra.iter().map(|c| c.addr))
            .collect(),
    };
    let id = lan.add_host(spec, node)?;
    lan.connect(Attach::Host(id, 0), Attach::Switch(switch), link.clone())
}

impl Lab {
    /// Builds the lab; `seed` overrides the scenario's.
    pub fn build(scenario: Scenario, seed: Option<u64>) -> Result<Lab, LabError> {
        Self::build_with(scenario, seed, TraceConfig::default())
    }

    /// As [`Lab::build`], recording what `trace` asks for (a run that writes no pcap need
    /// not keep one: its event log and digest do not change).
    pub fn build_with(
        scenario: Scenario,
        seed: Option<u64>,
        trace: TraceConfig,
    ) -> Result<Lab, LabError> {
        let seed = seed.unwrap_or(scenario.seed);
        let file = scenario.file.display().to_string();
        let err = |line: usize, message: String| LabError::Scenario {
            file: file.clone(),
            line,
            message,
        };
        let mut lan = LanBuilder::new(seed).trace(trace);
        let sw = lan
            .add_switch("lan", SwitchConfig::default())
            .map_err(|e| err(0, e.to_string()))?;
        let half = |d: Duration| d / 2;
        let link = LinkConfig {
            latency: half(scenario.lan.latency),
            jitter: half(scenario.lan.jitter),
            loss_ppm: scenario.lan.loss_ppm,
            rate_bps: scenario.lan.rate_bps,
            queue_limit: scenario.lan.queue_limit.map_or(1000, |q| q as usize),
        };
        let mut diagnostics = Vec::new();
        let mut skipped = Vec::new();
        let mut config_lines = Vec::new();
        let mut config_events = Vec::new();
        for d in &scenario.directors {
            let path = d.keepalived.display().to_string();
            let parsed = config::parse(&RealFiles, &path, &ParseOptions::default());
            for diag in parsed.reported() {
                let (f, line, _) = parsed.position(diag);
                let shown = if f == path {
                    d.keepalived_as_written.clone()
                } else {
                    f
                };
                diagnostics.push(ConfigDiagnostic {
                    node: d.name.clone(),
                    file: shown.clone(),
                    line,
                    severity: diag.severity.as_str().to_string(),
                    message: diag.message.clone(),
                });
                config_events.push(Record::new(
                    Instant::ZERO,
                    d.name.clone(),
                    Event::ConfigDiagnostic {
                        file: shown,
                        line,
                        severity: diag.severity.as_str().to_string(),
                        message: diag.message.clone(),
                    },
                ));
            }
            let mac = mac_for(d.ip.addr);
            let mut director = Director::new(DirectorConfig {
                ports: vec![DirectorPort {
                    name: d.interface.clone(),
                    mac: EthernetAddress(mac),
                    addr: d.ip.addr,
                    prefix_len: d.ip.prefix_len,
                }],
                gateway: None,
                keepalived: parsed.config,
                seed: lan.seeds().seed_for(&format!("host:{}", d.name)),
            });
            let extra = scenario.extra_addresses(&d.name);
            for c in extra {
                director.add_port_address(0, Ipv4Cidr::new(c.addr, c.prefix_len));
            }
            skipped.extend(
                director
                    .plan()
                    .skipped
                    .iter()
                    .map(|s| (d.name.clone(), s.clone())),
            );
            config_lines.extend(summary_lines(director.plan()).into_iter().map(|text| {
                ConfigLine {
                    node: d.name.clone(),
                    text,
                }
            }));
            plug(
                &mut lan,
                sw,
                &link,
                &d.name,
                d.ip.addr,
                extra,
                Box::new(director),
            )
            .map_err(|e| err(d.line, e.to_string()))?;
        }
        for w in &scenario.webs {
            let seed = lan.seeds().seed_for(&format!("host:{}", w.name));
            let mut sc = stack(seed, w.ip);
            if let Some(rs) = &w.realserver {
                sc.lo_addrs.push(Ipv4Cidr::new(rs.vip, 32));
                let sysctls = ArpSysctls {
                    arp_ignore: rs.arp_ignore,
                    arp_announce: rs.arp_announce,
                    arp_accept: 0,
                };
                sc.all = sysctls;
                sc.lo_sysctls = sysctls;
            }
            sc.gateway = w.gateway;
            // A TUN real server has tunl0 up (ipip), with the VIP on it; lo serves as well.
            sc.ipip = w.method == ForwardMethod::Tun;
            let mut hc = HttpdConfig::new(sc);
            hc.port = w.port;
            plug(
                &mut lan,
                sw,
                &link,
                &w.name,
                w.ip.addr,
                &[],
                Box::new(Httpd::new(hc)),
            )
            .map_err(|e| err(w.line, e.to_string()))?;
        }
        for c in &scenario.clients {
            let seed = lan.seeds().seed_for(&format!("host:{}", c.name));
            let mut cc = HttpClientConfig::new(
                c.name.clone(),
                stack(seed, c.ip),
                SocketAddrV4::new(c.get.host, c.get.port),
            );
            cc.path = c.get.path.clone();
            cc.load = match c.load {
                ClientLoad::Rate { count, per } => Load::Interval(per / count.max(1)),
                ClientLoad::Concurrency(n) => Load::Concurrency(n),
            };
            cc.keep_alive = c.keepalive;
            cc.timeout = c.timeout;
            cc.start = Instant::ZERO + c.start;
            cc.stop_at = Some(Instant::ZERO + c.stop);
            plug(
                &mut lan,
                sw,
                &link,
                &c.name,
                c.ip.addr,
                &[],
                Box::new(HttpClient::new(cc)),
            )
            .map_err(|e| err(c.line, e.to_string()))?;
        }
        let mut world = lan.build().map_err(|e| err(0, e.to_string()))?;
        for r in config_events {
            world.trace_mut().record(r);
        }
        for f in &scenario.faults {
            let target = f.target.as_ref().map(|t| t.to_string());
            world
                .schedule_fault(Instant::ZERO + f.at, f.action.clone(), target.as_deref())
                .map_err(|e| err(f.line, e.to_string()))?;
        }
        Ok(Lab {
            scenario,
            world,
            seed,
            diagnostics,
            skipped,
            config_lines,
        })
    }

    /// `ipvsadm -Ln` of every director, labelled.
    fn snapshot(&self, label: &str, out: &mut Vec<IpvsadmSnapshot>) {
        for d in &self.scenario.directors {
            let Some(node) = self.world.host(&d.name) else {
                continue;
            };
            let Some(director) = node.as_any().and_then(|a| a.downcast_ref::<Director>()) else {
                continue;
            };
            out.push(IpvsadmSnapshot {
                t: self.world.now().as_nanos(),
                node: d.name.clone(),
                label: label.to_string(),
                text: lvs_model::ipvs::ipvsadm::list(director.ipvs()),
            });
        }
    }

    /// Runs the whole scenario; `progress` is called with the simulated time reached, about
    /// once per simulated second. The event records move from the world's trace to the
    /// output (pass them to [`sim::trace::Trace::digest`]).
    pub fn run(
        mut self,
        mut progress: impl FnMut(Instant, Instant),
    ) -> Result<(World, RunOutput), LabError> {
        let end = Instant::ZERO + self.scenario.duration;
        let mut ipvsadm = Vec::new();
        let mut fault_times: Vec<Instant> = self
            .scenario
            .faults
            .iter()
            .map(|f| Instant::ZERO + f.at)
            .collect();
        fault_times.dedup();
        let mut t = Instant::ZERO;
        for ft in fault_times {
            // Just before the fault, so the snapshot shows the table it hits.
            let before = Instant::from_nanos(ft.as_nanos().saturating_sub(1)).min(end);
            while t < before {
                t = (t + Duration::from_secs(1)).min(before);
                self.world.run_until(t)?;
                progress(t, end);
            }
            let faults: Vec<String> = self
                .scenario
                .faults
                .iter()
                .filter(|f| Instant::ZERO + f.at == ft)
                .map(|f| match &f.target {
                    Some(target) => format!("{} on {target}", f.action),
                    None => f.action.to_string(),
                })
                .collect();
            self.snapshot(&format!("before {}", faults.join(", ")), &mut ipvsadm);
        }
        while t < end {
            t = (t + Duration::from_secs(1)).min(end);
            self.world.run_until(t)?;
            progress(t, end);
        }
        self.snapshot("end of run", &mut ipvsadm);
        let records = self.world.trace_mut().take_records();
        Ok((self.world, RunOutput { records, ipvsadm }))
    }
}
