//! `lvslab tap`: runs one director from a keepalived.conf on a real Linux TAP device, in real
//! time, with the same sans-IO code the simulator runs (`sim::tap` pumps it).
//!
//! The director is the far end of the TAP device: the kernel's interface of that name is the
//! LAN it sits on, so a real keepalived (or anything else) on that interface sees its adverts,
//! gratuitous ARPs and forwarded packets. It prints VRRP transitions, VIP changes, GARPs and
//! IPVS destination changes as they happen, and can write every event as JSON Lines (the
//! simulator's event-log format). SIGINT/SIGTERM or the end of `--duration` stop keepalived
//! gracefully (priority-0 adverts), as `systemctl stop keepalived` would.

use crate::cmd::check::RealFiles;
use crate::scenario::duration::parse_duration;
use lvs_model::config::{self, ParseOptions};
use lvs_model::director::from_config::DirectorPort;
use lvs_model::director::{Director, DirectorConfig};
use lvs_model::event::{DestChange, Event, Record};
use lvs_model::host::EthernetAddress;
use lvs_model::node::ProcessAction;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `lvslab tap`.
#[derive(Debug, clap::Args)]
pub struct TapArgs {
    /// keepalived.conf for the director.
    #[arg(long, value_name = "FILE")]
    pub conf: PathBuf,
    /// The TAP device to open (created if missing; needs CAP_NET_ADMIN).
    #[arg(long, value_name = "NAME")]
    pub iface: String,
    /// The director's own address on the TAP's LAN (the kernel side holds another one).
    #[arg(long, value_name = "ADDR/PREFIX")]
    pub ip: String,
    /// The director's MAC (default: lvslab's 02:00:<ip>, as in the simulator).
    #[arg(long, value_name = "MAC")]
    pub mac: Option<String>,
    /// The interface name keepalived.conf uses for this port (default: --iface).
    #[arg(long, value_name = "NAME")]
    pub port_name: Option<String>,
    /// Stop gracefully after this long (e.g. `30s`, `5m`); default: until SIGINT/SIGTERM.
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Write every event as JSON Lines here.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Write every frame in and out as pcap here (nanosecond timestamps on the event log's
    /// clock).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Seed of the director's own random stream (TCP ISNs, checker warm-up).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Parses `A.B.C.D/LEN`.
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let (addr, len) = s.split_once('/').ok_or_else(|| {
        format!("`{s}`: write the address with its prefix, e.g. 192.168.80.100/24")
    })?;
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("`{s}`: `{addr}` is not an IPv4 address"))?;
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to 32"))?;
    Ok((addr, len))
}

/// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); refuses multicast and all-zero MACs.
pub fn parse_mac(s: &str) -> Result<EthernetAddress, String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let bytes: Option<Vec<u8>> = (parts.len() == 6)
        .then(|| {
            parts
                .iter()
                .map(|p| {
                    (p.len() == 2)
                        .then(|| u8::from_str_radix(p, 16).ok())
                        .flatten()
                })
                .collect()
        })
        .flatten();
    let bytes = bytes.ok_or_else(|| format!("`{s}` is not a MAC address (aa:bb:cc:dd:ee:ff)"))?;
    let mac = EthernetAddress::from_bytes(&bytes);
    if !mac.is_unicast() || bytes.iter().all(|&b| b == 0) {
        return Err(format!("`{s}` is not a unicast MAC address"));
    }
    Ok(mac)
}

/// Builds the director a TAP run drives: keepalived.conf parsed as keepalived 2.2.7 would,
/// one port. Returns keepalived's messages (rendered) beside it; a configuration keepalived
/// would refuse to start with is an error.
pub fn build_director(
    conf: &Path,
    port: DirectorPort,
    seed: u64,
) -> Result<(Director, Vec<String>), String> {
    let path = conf.display().to_string();
    if !conf.is_file() {
        return Err(format!("{path}: no such file"));
    }
    let parsed = config::parse(&RealFiles, &path, &ParseOptions::default());
    let messages: Vec<String> = parsed.reported().map(|d| parsed.render(d)).collect();
    if let Some(f) = &parsed.config.startup_failure {
        return Err(format!(
            "{path}: keepalived would not start: {}\n{}",
            f.reason,
            messages.concat()
        ));
    }
    let port_name = port.name.clone();
    let director = Director::new(DirectorConfig {
        ports: vec![port],
        gateway: None,
        keepalived: parsed.config,
        seed,
    });
    let vrrp = &director.plan().vrrp;
    if !vrrp.instances.is_empty() && vrrp.instances.iter().all(|i| i.interface != port_name) {
        return Err(format!(
            "{path}: no vrrp_instance uses interface `{port_name}` (they use {}); pass \
             --port-name or change the configuration",
            vrrp.instances
                .iter()
                .map(|i| format!("`{}`", i.interface))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((director, messages))
}

/// The line printed for an event as it happens; `None` for the ones that would flood the
/// terminal (adverts, check results, drops).
pub fn describe(r: &Record) -> Option<String> {
    let what = match &r.event {
        Event::VrrpState { instance, from, to } => {
            format!("({instance}) {} -> {}", from.as_str(), to.as_str())
        }
        Event::Vip {
            instance,
            ip,
            added,
        } => {
            let verb = if *added { "added" } else { "removed" };
            format!("({instance}) VIP {ip} {verb}")
        }
        Event::Garp { ip } => format!("gratuitous ARP for {ip}"),
        Event::IpvsDest {
            vs,
            rs,
            change,
            weight,
        } => match change {
            DestChange::Added => format!("{vs}: real server {rs} added (weight {weight})"),
            DestChange::Removed => format!("{vs}: real server {rs} removed"),
            DestChange::Weight => format!("{vs}: real server {rs} weight {weight}"),
        },
        _ => return None,
    };
    Some(format!("{:>14}  {what}", r.time().to_string()))
}

/// Runs `lvslab tap`; returns the exit status (0 stopped as asked, 2 bad arguments or a
/// device error).
pub fn run(args: &TapArgs) -> i32 {
    match run_inner(args) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("lvslab tap: {message}");
            2
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn run_inner(_args: &TapArgs) -> Result<(), String> {
    Err("TAP devices are only supported on Linux".into())
}

#[cfg(target_os = "linux")]
fn run_inner(args: &TapArgs) -> Result<(), String> {
    use sim::tap::{TapDevice, TapDriver, stop_on_signals};

    let (addr, prefix_len) = parse_cidr(&args.ip)?;
    let mac = match &args.mac {
        Some(m) => parse_mac(m)?,
        None => EthernetAddress(crate::lab::mac_for(addr)),
    };
    let duration = args
        .duration
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| format!("--duration: {e}"))?;
    let mut events = match &args.events {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("cannot write {}: {e}", p.display()))?,
        )),
        None => None,
    };
    let pcap = match &args.pcap {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("cannot write {}: {e}", p.display()))?,
        )),
        None => None,
    };
    let stop = stop_on_signals().map_err(|e| format!("cannot catch SIGINT/SIGTERM: {e}"))?;
    let tap = TapDevice::open(&args.iface).map_err(|e| e.to_string())?;
    let port = DirectorPort {
        name: args
            .port_name
            .clone()
            .unwrap_or_else(|| tap.name().to_string()),
        mac,
        addr,
        prefix_len,
    };
    let (director, messages) = build_director(&args.conf, port, args.seed)?;
    for m in &messages {
        eprint!("{m}");
    }
    for s in &director.plan().skipped {
        eprintln!("lvslab tap: not run: {s}");
    }
    println!(
        "lvslab tap: director {addr}/{prefix_len} ({mac}) on {}; stop with Ctrl-C",
        tap.name()
    );
    let node_name = tap.name().to_string();
    let mut driver = TapDriver::new(director, tap, node_name);
    if let Some(w) = pcap {
        driver
            .capture_to(Box::new(w))
            .map_err(|e| format!("cannot write the pcap: {e}"))?;
    }
    let mut write_error = None;
    let mut sink = |r: Record| {
        if let Some(line) = describe(&r) {
            println!("{line}");
        }
        if let Some(w) = &mut events {
            // Flushed line by line so `tail -f` follows the run.
            let res = serde_json::to_writer(&mut *w, &r)
                .map_err(std::io::Error::from)
                .and_then(|()| w.write_all(b"\n"))
                .and_then(|()| w.flush());
            if let Err(e) = res {
                write_error.get_or_insert(e);
            }
        }
    };
    let end = duration.map(|d: Duration| lvs_model::time::Instant::ZERO + d);
    let result = driver.run_until(end, Some(stop), &mut sink);
    // SIGTERM to keepalived: priority-0 adverts and the VIPs released, sent before we exit.
    let _ = driver.control("keepalived", ProcessAction::Stop, &mut sink);
    let stats = driver.stats();
    println!(
        "lvslab tap: stopped at {}; {} frames in, {} out ({} refused by the kernel), {} events",
        driver.now(),
        stats.frames_in,
        stats.frames_out,
        stats.write_errors,
        stats.events
    );
    let capture = driver.finish_capture();
    result.map_err(|e| format!("{}: {e}", args.iface))?;
    capture.map_err(|e| format!("cannot write the pcap: {e}"))?;
    if let Some(e) = write_error {
        return Err(format!("cannot write the event log: {e}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_and_mac_parse_and_refuse_clearly() {
        assert_eq!(
            parse_cidr("192.168.80.100/24"),
            Ok((Ipv4Addr::new(192, 168, 80, 100), 24))
        );
        assert!(parse_cidr("192.168.80.100").unwrap_err().contains("prefix"));
        assert!(parse_cidr("192.168.80.100/33").is_err());
        assert!(parse_cidr("host/24").is_err());
        assert_eq!(
            parse_mac("02:00:c0:a8:50:64").unwrap().as_bytes(),
            &[2, 0, 0xc0, 0xa8, 0x50, 0x64]
        );
        assert!(parse_mac("01:00:5e:00:00:12").is_err(), "multicast");
        assert!(parse_mac("00:00:00:00:00:00").is_err());
        assert!(parse_mac("02:00:c0:a8:50").is_err());
        assert!(parse_mac("02:00:c0:a8:50:6g").is_err());
    }
}
