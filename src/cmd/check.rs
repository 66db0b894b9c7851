//! `lvslab check FILE...`: keepalived.conf diagnostics and the effective model.
//!
//! For each file: every message `keepalived -t` (2.2.7) would print, located and explained,
//! then what the daemon would run. With several files (one per director) the files are also
//! checked as a cluster. Exit status: 0 when keepalived would report nothing, 1 when it would
//! report something, 2 for usage or I/O errors. lvslab's own notes never change the status.
//!
//! `--format json` prints one array of `{file, line, column, severity, message, code}` objects
//! (a stable contract); `severity` is `error`/`warning` for keepalived's messages and `note`
//! for lvslab's.

use lvs_model::config::cluster::{self, Director, InterfaceAddr};
use lvs_model::config::{
    self, CheckerKind, Diagnostic, KeepalivedConfig, ParseOptions, Parsed, SourceLoader,
    VirtualServerAddress, VrrpVersion,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Arguments of `lvslab check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// keepalived.conf files, one per director.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// keepalived's config-id for `@id` lines (default: the host name up to the first dot, as
    /// keepalived does).
    #[arg(long)]
    pub config_id: Option<String>,
    /// A director's interface address, `[N:]IF=A.B.C.D/LEN` (N = 1-based file index; without
    /// it the address applies to every file). Enables the subnet lints.
    #[arg(long = "ip", value_name = "[N:]IF=ADDR/LEN")]
    pub ips: Vec<String>,
}

/// The real filesystem, for the sans-IO parser.
pub struct RealFiles;

impl SourceLoader for RealFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let p = Path::new(path);
        if !p.is_file() {
            return None;
        }
        std::fs::read(p).ok()
    }
    fn list_dir(&self, dir: &str) -> Option<Vec<String>> {
        let rd = std::fs::read_dir(dir).ok()?;
        Some(
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
        )
    }
}

fn default_config_id() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()?;
    let h = h.trim();
    (!h.is_empty()).then(|| h.split('.').next().unwrap_or(h).to_string())
}

/// One output record (the JSON contract).
#[derive(serde::Serialize)]
struct Record {
    file: String,
    line: u32,
    column: u32,
    severity: &'static str,
    message: String,
    code: String,
}

/// Runs `lvslab check`; returns the process exit status.
pub fn run(args: &CheckArgs) -> i32 {
    let mut ifaces: Vec<Vec<InterfaceAddr>> = vec![Vec::new(); args.files.len()];
    for spec in &args.ips {
        let (idx, rest) = match spec.split_once(':') {
            Some((n, r)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
                (n.parse::<usize>().ok(), r)
            }
            _ => (None, spec.as_str()),
        };
        let Some(ia) = InterfaceAddr::parse(rest) else {
            eprintln!("lvslab check: --ip expects [N:]IF=A.B.C.D/LEN, got '{spec}'");
            return 2;
        };
        match idx {
            None => ifaces.iter_mut().for_each(|v| v.push(ia.clone())),
            Some(n) if n >= 1 && n <= ifaces.len() => ifaces[n - 1].push(ia),
            Some(n) => {
                eprintln!("lvslab check: --ip file index {n} is out of range");
                return 2;
            }
        }
    }
    let opts = ParseOptions {
        config_id: args.config_id.clone().or_else(default_config_id),
    };
    let mut parsed = Vec::new();
    for f in &args.files {
        let name = f.to_string_lossy().into_owned();
        if !f.is_file() || std::fs::File::open(f).is_err() {
            eprintln!("lvslab check: cannot read {name}");
            return 2;
        }
        parsed.push((name.clone(), config::parse(&RealFiles, &name, &opts)));
    }
    let directors: Vec<Director<'_>> = parsed
        .iter()
        .zip(ifaces.iter())
        .map(|((name, p), ifs)| Director {
            name: name.as_str(),
            config: &p.config,
            interfaces: ifs,
        })
        .collect();
    let findings = cluster::lint(&directors);
    let reported = parsed.iter().any(|(_, p)| p.reported().next().is_some());
    let code = i32::from(reported);

    match args.format {
        Format::Json => {
            let mut recs = Vec::new();
            for (_, p) in &parsed {
                for d in &p.diagnostics {
                    recs.push(record(p, d));
                }
            }
            for f in &findings {
                let (file, line) = f
                    .location
                    .as_ref()
                    .map(|l| (l.file.clone(), l.line))
                    .unwrap_or_else(|| (parsed[f.director].0.clone(), 0));
                recs.push(Record {
                    file,
                    line,
                    column: 1,
                    severity: "note",
                    message: f.message.clone(),
                    code: f.code.to_string(),
                });
            }
            match serde_json::to_string_pretty(&recs) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    eprintln!("lvslab check: {e}");
                    return 2;
                }
            }
        }
        Format::Text => {
            for (name, p) in &parsed {
                print_text(name, p);
            }
            if parsed.len() > 1 {
                println!("== cluster ({} directors) ==", parsed.len());
                if findings.is_empty() {
                    println!("no findings");
                }
                for f in &findings {
                    let at = f
                        .location
                        .as_ref()
                        .map(|l| format!("{}:{}", l.file, l.line))
                        .unwrap_or_else(|| parsed[f.director].0.clone());
                    println!("note[{}]: {at}: {}", f.code, f.message);
                }
                println!();
            }
        }
    }
    code
}

fn record(p: &Parsed, d: &Diagnostic) -> Record {
    let (file, line, column) = p.position(d);
    Record {
        file,
        line,
        column,
        severity: d.severity.as_str(),
        message: d.message.clone(),
        code: d.code.to_string(),
    }
}

fn print_text(name: &str, p: &Parsed) {
    println!("== {name} ==");
    let n_rep = p.reported().count();
    let n_notes = p.diagnostics.len() - n_rep;
    for d in &p.diagnostics {
        print!("{}", p.render(d));
    }
    println!(
        "keepalived -t would report {n_rep} message(s){}; lvslab adds {n_notes} note(s)",
        match n_rep {
            0 => " (exit 0)",
            _ => " (non-zero exit)",
        }
    );
    println!();
    print_summary(&p.config);
    println!();
}

fn secs(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else {
        let s = format!("{:.9}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches('0'))
    }
}

fn print_summary(c: &KeepalivedConfig) {
    println!("-- what keepalived would run --");
    if let Some(f) = &c.startup_failure {
        let at = f
            .location
            .as_ref()
            .map(|l| format!(" ({}:{})", l.file, l.line))
            .unwrap_or_default();
        println!("NOT STARTING: {}{at}", f.reason);
    }
    let g = &c.global;
    println!(
        "global_defs: router_id {}, VRRP v{}, strict {}, garp_master_delay {} repeat {}, smtp_connect_timeout {}",
        g.router_id.as_deref().unwrap_or("(host name)"),
        if g.vrrp.version == VrrpVersion::V3 {
            3
        } else {
            2
        },
        g.vrrp.strict,
        secs(g.vrrp.garp_master_delay),
        g.vrrp.garp_master_repeat,
        secs(g.smtp_connect_timeout),
    );
    for s in &c.vrrp_scripts {
        println!(
            "vrrp_script {} (line {}): \"{}\" every {}, weight {}, rise {} fall {}",
            s.name,
            s.location.line,
            s.script,
            secs(s.interval),
            s.weight,
            s.rise,
            s.fall
        );
    }
    for i in &c.vrrp_instances {
        let skew = match i.version {
            VrrpVersion::V2 => {
                Duration::from_nanos((256 - i.priority as u64) * 1_000_000_000 / 256)
            }
            VrrpVersion::V3 => Duration::from_nanos(
                ((256 - i.priority as u64) as u128 * i.advert_int.as_nanos() / 256) as u64,
            ),
        };
        let down = i.advert_int * i.down_timer_adverts + skew;
        println!(
            "vrrp_instance {} (line {}): state {:?}, interface {}, VRID {}, priority {}, advert_int {}, VRRPv{}, auth {}{}",
            i.name,
            i.location.line,
            i.initial_state,
            i.interface.as_deref().unwrap_or("-"),
            i.vrid.map(|v| v.to_string()).unwrap_or("-".into()),
            i.priority,
            secs(i.advert_int),
            if i.version == VrrpVersion::V3 { 3 } else { 2 },
            i.authentication
                .as_ref()
                .map(|a| format!("{:?}", a.auth_type).to_uppercase())
                .unwrap_or("none".into()),
            i.sync_group
                .as_ref()
                .map(|g| format!(", sync group {g}"))
                .unwrap_or_default(),
        );
        let vips: Vec<String> = i
            .virtual_ipaddresses
            .iter()
            .map(|v| {
                format!(
                    "{}/{}{}",
                    v.addr,
                    v.prefix_len,
                    v.dev
                        .as_ref()
                        .map(|d| format!(" dev {d}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        println!(
            "    VIPs: {}",
            if vips.is_empty() {
                "none".into()
            } else {
                vips.join(", ")
            }
        );
        println!(
            "    timers: master_down_interval {} ({} x advert_int + skew {}), {}preempt_delay {}, GARP: delay {} repeat {}",
            secs(down),
            i.down_timer_adverts,
            secs(skew),
            if i.nopreempt {
                "nopreempt, "
            } else {
                "preempt, "
            },
            secs(i.preempt_delay),
            secs(i.garp_master_delay),
            i.garp_master_repeat
        );
        if !i.unicast_peers.is_empty() {
            let peers: Vec<String> = i.unicast_peers.iter().map(|p| p.to_string()).collect();
            println!("    unicast peers: {}", peers.join(", "));
        }
        if !i.track_scripts.is_empty() || !i.track_interfaces.is_empty() {
            let t: Vec<String> = i
                .track_scripts
                .iter()
                .map(|t| format!("script {} weight {}", t.name, t.weight))
                .chain(
                    i.track_interfaces
                        .iter()
                        .map(|t| format!("interface {} weight {}", t.name, t.weight)),
                )
                .collect();
            println!("    tracking: {}", t.join(", "));
        }
    }
    for vs in &c.virtual_servers {
        let addr = match &vs.address {
            VirtualServerAddress::Ip { addr, port } => format!("{addr}:{port}"),
            VirtualServerAddress::Fwmark(m) => format!("fwmark {m}"),
            VirtualServerAddress::Group(g) => format!("group {g}"),
        };
        println!(
            "virtual_server {addr} (line {}): {:?}, lb_algo {}, lb_kind {}, delay_loop {}, {}, quorum {} hysteresis {}",
            vs.location.line,
            vs.protocol,
            vs.lb_algo.as_str(),
            vs.lb_kind.as_str(),
            secs(vs.delay_loop),
            vs.persistence_timeout
                .map(|p| format!("persistence {}", secs(p)))
                .unwrap_or("not persistent".into()),
            vs.quorum,
            vs.hysteresis
        );
        if let Some(s) = &vs.sorry_server {
            println!(
                "    sorry_server {}:{} ({})",
                s.addr,
                s.port,
                s.lb_kind.as_str()
            );
        }
        for rs in &vs.real_servers {
            println!(
                "    real_server {}:{} (line {}): weight {}, {}{}",
                rs.addr,
                rs.port,
                rs.location.line,
                rs.weight,
                rs.lb_kind.as_str(),
                if rs.inhibit_on_failure {
                    ", inhibit_on_failure"
                } else {
                    ""
                }
            );
            if rs.checkers.is_empty() {
                println!("        no health checker: always considered up");
            }
            for ck in &rs.checkers {
                let kind = match &ck.kind {
                    CheckerKind::Tcp => "TCP_CHECK".to_string(),
                    CheckerKind::Http(h) => format!(
                        "{} {}",
                        if h.tls { "SSL_GET" } else { "HTTP_GET" },
                        h.urls
                            .iter()
                            .map(|u| u.path.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    CheckerKind::Misc(m) => format!("MISC_CHECK \"{}\"", m.path.join(" ")),
                    CheckerKind::Other(k) => format!("{k} (not simulated)"),
                };
                println!(
                    "        {kind} port {}: connect_timeout {}, retry {}, delay_before_retry {}, delay_loop {}, warmup {}",
                    ck.connect_port,
                    secs(ck.connect_timeout),
                    ck.retry,
                    secs(ck.delay_before_retry),
                    secs(ck.delay_loop),
                    secs(ck.warmup)
                );
            }
        }
    }
    if !c.not_simulated.is_empty() {
        let mut kws: Vec<&str> = c.not_simulated.iter().map(|r| r.keyword.as_str()).collect();
        kws.sort();
        kws.dedup();
        println!("not simulated by lvslab: {}", kws.join(", "));
    }
}
