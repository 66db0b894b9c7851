//! Memory of an idle LAN of 1,000 web servers: ten access switches of 100 idle `Httpd` hosts
//! each, under one core switch, built and run for 10 simulated seconds. The figure is the
//! growth of the process's resident set (`/proc/self/statm`), so it counts everything the lab
//! touches — smoltcp socket buffers, switch tables, the queue — not an estimate.
//! Target: under 100 MB.
//!
//! Measured 17.3 MB (17 kB per host) since `Httpd` arms two listening sockets instead of 16
//! (it was 108.7 MB with 16). An idle LAN sends nothing: no host has a timer or a frame in
//! 10 s.

use lvs_model::host::{EthernetAddress, Ipv4Cidr, StackConfig};
use lvs_model::time::Instant;
use sim::hosts::{Httpd, HttpdConfig};
use sim::{Attach, HostSpec, LanBuilder, LinkConfig, SwitchConfig};
use std::net::Ipv4Addr;

/// Resident set size in bytes, or `None` where `/proc` is not available.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size()?)
}

/// The page size from the auxiliary vector (`AT_PAGESZ`), which `statm` counts in.
fn page_size() -> Option<u64> {
    const AT_PAGESZ: u64 = 6;
    let auxv = std::fs::read("/proc/self/auxv").ok()?;
    auxv.chunks_exact(16).find_map(|kv| {
        let key = u64::from_ne_bytes(kv[..8].try_into().ok()?);
        (key == AT_PAGESZ).then(|| u64::from_ne_bytes(kv[8..].try_into().unwrap()))
    })
}

#[test]
fn a_lan_of_1000_idle_web_servers_stays_under_100_mb() {
    const ACCESS: u16 = 10;
    const PER_SWITCH: u16 = 100;
    let Some(before) = resident_bytes() else {
        eprintln!("skipped: /proc/self/statm is not readable here");
        return;
    };

    let mut lan = LanBuilder::new(7);
    let core = lan.add_switch("core", SwitchConfig::default()).unwrap();
    for s in 0..ACCESS {
        let access = lan
            .add_switch(&format!("access{s}"), SwitchConfig::default())
            .unwrap();
        lan.connect(
            Attach::Switch(access),
            Attach::Switch(core),
            LinkConfig::default(),
        )
        .unwrap();
        for h in 0..PER_SWITCH {
            let n = s * PER_SWITCH + h;
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 1)) + u32::from(n));
            let o = ip.octets();
            let mac = [0x02, 0x00, o[0], o[1], o[2], o[3]];
            let name = format!("web-{n}");
            let seed = lan.seeds().seed_for(&format!("host:{name}"));
            let stack = StackConfig::single(seed, EthernetAddress(mac), Ipv4Cidr::new(ip, 16));
            let id = lan
                .add_host(
                    HostSpec {
                        name,
                        macs: vec![mac],
                        ips: vec![ip],
                    },
                    Box::new(Httpd::new(HttpdConfig::new(stack))),
                )
                .unwrap();
            lan.connect(
                Attach::Host(id, 0),
                Attach::Switch(access),
                LinkConfig::default(),
            )
            .unwrap();
        }
    }
    let mut world = lan.build().unwrap();
    world.run_until(Instant::from_secs(10)).unwrap();

    let after = resident_bytes().expect("statm was readable before");
    let grown = after.saturating_sub(before);
    let hosts = u64::from(ACCESS * PER_SWITCH);
    println!(
        "idle LAN of {hosts} web servers, 10 s simulated: resident set grew by {:.1} MB \
         ({:.1} kB per host; {} events, {} frames)",
        grown as f64 / 1e6,
        grown as f64 / hosts as f64 / 1e3,
        world.stats().events,
        world.stats().frames_sent,
    );
    assert!(
        grown < 100_000_000,
        "resident set grew by {grown} bytes, over 100 MB"
    );
    // Keep the world alive until after the measurement.
    drop(world);
}
