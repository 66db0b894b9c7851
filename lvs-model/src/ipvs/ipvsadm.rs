//! `ipvsadm` listings in its exact layout (checked against the real output recorded in E1, E5
//! and E6): `-Ln`, `-Ln --stats`, `-Lnc` and `-L --timeout`.
//!
//! Like ipvsadm, services are sorted (fwmark, protocol, address, port) and dests by address
//! then port — which hides the kernel's list order. `--stats` shows the counters as of the last
//! 2 s estimator tick, as the kernel does. `-Lnc` lists entries in table-slot order (the kernel
//! walks its hash buckets, an order no test should rely on).

use std::fmt::Write;

use super::Ipvs;
use super::conn::{ConnProto, TcpState};
use super::dest::RealServer;
use super::service::{ServiceKey, VirtualService};
use super::stats::Stats;
use crate::time::Instant;

/// The first line of every listing (`IP_VS_CONN_TAB_SIZE` = 4096).
pub const HEADER: &str = "IP Virtual Server version 1.2.1 (size=4096)";

fn service_name(s: &VirtualService) -> String {
    match s.config.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!("{}  {}:{}", protocol.name(), addr, port),
        ServiceKey::Fwmark(m) => format!("FWM  {m}"),
    }
}

fn sched_flag_names(s: &VirtualService) -> Option<String> {
    let f = s.config.flags;
    if f.is_empty() {
        return None;
    }
    let prefix = match s.config.scheduler {
        super::SchedulerKind::Sh => Some("sh"),
        super::SchedulerKind::Mh => Some("mh"),
        _ => None,
    };
    let mut names = Vec::new();
    for (on, n, generic) in [
        (f.flag1, "fallback", "flag-1"),
        (f.flag2, "port", "flag-2"),
        (f.flag3, "", "flag-3"),
    ] {
        if on {
            names.push(match prefix {
                Some(p) if !n.is_empty() => format!("{p}-{n}"),
                _ => generic.to_string(),
            });
        }
    }
    Some(names.join(","))
}

fn sorted_dests<'a>(ipvs: &'a Ipvs, s: &VirtualService) -> Vec<&'a RealServer> {
    let mut v: Vec<&RealServer> = s
        .dests
        .iter()
        .map(|&id| ipvs.dest_table().get(id))
        .collect();
    v.sort_by_key(|d| (u32::from(d.addr), d.port));
    v
}

/// `ipvsadm -Ln`.
pub fn list(ipvs: &Ipvs) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADER}");
    out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
    out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    for s in ipvs.services() {
        let _ = write!(out, "{} {}", service_name(s), s.config.scheduler.name());
        if let Some(p) = s.config.persistence {
            let _ = write!(out, " persistent {}", p.timeout.as_secs());
            if p.netmask != std::net::Ipv4Addr::BROADCAST {
                let _ = write!(out, " mask {}", p.netmask);
            }
        }
        // ⚠ Where and how ipvsadm prints scheduler flags is not verified against a recording.
        if let Some(f) = sched_flag_names(s) {
            let _ = write!(out, " ({f})");
        }
        out.push('\n');
        for d in sorted_dests(ipvs, s) {
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
                format!("{}:{}", d.addr, d.port),
                d.forward.ipvsadm_name(),
                d.weight,
                d.activeconns,
                d.inactconns
            );
        }
    }
    out
}

/// ipvsadm's `print_largenum` without `--exact`.
fn largenum(n: u64) -> String {
    if n < 100_000_000 {
        format!("{n:>9}")
    } else if n < 1_000_000_000 {
        format!("{:>8}M", n / 1_000_000)
    } else if n < 1_000_000_000_000 {
        format!("{:>8}G", n / 1_000_000_000)
    } else {
        format!("{:>8}T", n / 1_000_000_000_000)
    }
}

fn stats_cols(s: &Stats) -> String {
    [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes]
        .iter()
        .map(|&n| largenum(n))
        .collect()
}

/// `ipvsadm -Ln --stats`, from the estimator's copy of the counters.
pub fn list_stats(ipvs: &Ipvs) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADER}");
    out.push_str(
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    );
    out.push_str("  -> RemoteAddress:Port\n");
    for s in ipvs.services() {
        let key = s.config.key;
        let _ = writeln!(
            out,
            "{:<33}{}",
            service_name(s),
            stats_cols(&ipvs.estimated_service_stats(&key))
        );
        for d in sorted_dests(ipvs, s) {
            let _ = writeln!(
                out,
                "{:<33}{}",
                format!("  -> {}:{}", d.addr, d.port),
                stats_cols(&ipvs.estimated_dest_stats(&key, d.addr, d.port))
            );
        }
    }
    out
}

/// `ipvsadm -Lnc` at `now`: remaining time is truncated to whole seconds, as
/// `/proc/net/ip_vs_conn` shows it.
pub fn list_conns(ipvs: &Ipvs, now: Instant) -> String {
    let mut out = String::new();
    out.push_str("IPVS connection entries\n");
    out.push_str("pro expire state       source             virtual            destination\n");
    for (_, c) in ipvs.conns().iter() {
        let left = c.expires.saturating_duration_since(now).as_secs();
        let state = match c.protocol {
            ConnProto::Udp => "UDP",
            ConnProto::Tcp if c.template => TcpState::None.name(),
            ConnProto::Tcp => c.state.name(),
            ConnProto::Ip => "NONE",
        };
        let source = format!("{}:{}", c.caddr, c.cport);
        let virt = format!("{}:{}", c.vaddr, c.vport);
        let _ = writeln!(
            out,
            "{:<3} {:02}:{:02}  {:<11} {:<18} {:<18} {}:{}",
            c.protocol.name(),
            left / 60,
            left % 60,
            state,
            source,
            virt,
            c.daddr,
            c.dport,
        );
    }
    out
}

/// `ipvsadm -L --timeout`.
pub fn timeouts(ipvs: &Ipvs) -> String {
    let (tcp, fin, udp) = ipvs.timeouts().listed();
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        tcp.as_secs(),
        fin.as_secs(),
        udp.as_secs()
    )
}
