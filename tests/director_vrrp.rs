//! Two directors from the seed's keepalived.conf files on the virtual LAN: who is MASTER and
//! when, with exact simulated times from keepalived 2.2.7's VRRPv2 rules.
//!
//! Timing facts used below (keepalived-ipvs.md §B, confirmed by the recorded traces):
//! - a node starts in BACKUP and becomes MASTER when Master_Down_Interval passes without an
//!   advert: 3 × advert_int + (256 − priority)/256 s;
//! - after a priority-0 advert, a backup waits only the skew (256 − priority)/256 s;
//! - the LAN adds 50 µs per link, so a frame crosses the switch in 100 µs.

use lvs_model::config::{ParseOptions, parse_str};
use lvs_model::director::from_config::DirectorPort;
use lvs_model::director::{Director, DirectorConfig};
use lvs_model::event::{Event, VrrpStateName};
use lvs_model::host::EthernetAddress;
use lvs_model::time::Instant;
use sim::{Attach, HostSpec, LanBuilder, LinkConfig, SwitchConfig, World};
use std::net::Ipv4Addr;

const MASTER_CONF: &str = include_str!("../scenarios/seed/keepalived-master.conf");
const BACKUP_CONF: &str = include_str!("../scenarios/seed/keepalived-backup.conf");

fn director(name: &str, n: u8, conf: &str, seed: u64) -> (HostSpec, Director) {
    let parsed = parse_str(conf, &ParseOptions::default());
    let mac = [0x02, 0, 0, 0, 0, n];
    let addr = Ipv4Addr::new(192, 168, 80, n);
    let config = DirectorConfig {
        ports: vec![DirectorPort {
            name: "eth1".into(),
            mac: EthernetAddress(mac),
            addr,
            prefix_len: 24,
        }],
        gateway: None,
        keepalived: parsed.config,
        seed,
    };
    (
        HostSpec {
            name: name.into(),
            macs: vec![mac],
            ips: vec![addr],
        },
        Director::new(config),
    )
}

fn seed_cluster() -> World {
    let mut lan = LanBuilder::new(1);
    let sw = lan.add_switch("sw0", SwitchConfig::default()).unwrap();
    for (name, n, conf) in [
        ("lvs-master", 100, MASTER_CONF),
        ("lvs-backup", 101, BACKUP_CONF),
    ] {
        let seed = lan.seeds().seed_for(name);
        let (spec, d) = director(name, n, conf, seed);
        let id = lan.add_host(spec, Box::new(d)).unwrap();
        lan.connect(
            Attach::Host(id, 0),
            Attach::Switch(sw),
            LinkConfig::default(),
        )
        .unwrap();
    }
    lan.build().unwrap()
}

/// (time, node, to-state) of every VRRP state change.
fn transitions(w: &World) -> Vec<(u64, String, VrrpStateName)> {
    w.records()
        .iter()
        .filter_map(|r| match &r.event {
            Event::VrrpState { to, .. } => Some((r.t, r.node.clone(), *to)),
            _ => None,
        })
        .collect()
}

fn secs(n: u64, num: u64, den: u64) -> u64 {
    n * 1_000_000_000 + num * 1_000_000_000 / den
}

#[test]
fn the_master_wins_at_start_after_its_master_down_interval() {
    let mut w = seed_cluster();
    w.run_until(Instant::from_secs(8)).unwrap();
    let masters: Vec<_> = transitions(&w)
        .into_iter()
        .filter(|t| t.2 == VrrpStateName::Master)
        .collect();
    // 3 × 1 s + (256 − 100)/256 s = 3.609375 s; the backup hears the advert 100 µs later,
    // before its own 3.61328125 s deadline, and stays BACKUP.
    assert_eq!(
        masters,
        vec![(
            secs(3, 156, 256),
            "lvs-master".to_string(),
            VrrpStateName::Master
        )]
    );
}

#[test]
fn graceful_stop_hands_over_after_the_skew() {
    let mut w = seed_cluster();
    w.schedule_fault(
        Instant::from_secs(10),
        "stop keepalived".parse().unwrap(),
        Some("lvs-master"),
    )
    .unwrap();
    w.run_until(Instant::from_secs(15)).unwrap();
    let backup_master: Vec<_> = transitions(&w)
        .into_iter()
        .filter(|t| t.1 == "lvs-backup" && t.2 == VrrpStateName::Master)
        .collect();
    // The priority-0 advert leaves at 10 s and arrives at 10.0001 s; the backup then waits
    // (256 − 99)/256 s = 0.61328125 s.
    assert_eq!(backup_master.len(), 1);
    assert_eq!(backup_master[0].0, 10_000_100_000 + secs(0, 157, 256));
}

#[test]
fn crash_hands_over_after_master_down_interval_from_the_last_advert() {
    let mut w = seed_cluster();
    w.schedule_fault(
        Instant::from_secs(10),
        "crash keepalived".parse().unwrap(),
        Some("lvs-master"),
    )
    .unwrap();
    w.run_until(Instant::from_secs(20)).unwrap();
    let backup_master: Vec<_> = transitions(&w)
        .into_iter()
        .filter(|t| t.1 == "lvs-backup" && t.2 == VrrpStateName::Master)
        .collect();
    // Adverts leave the master at 3.609375 + k s; the last before the crash at 9.609375 s
    // arrives at 9.609475 s; Master_Down = 3 + 157/256 s later.
    assert_eq!(backup_master.len(), 1);
    assert_eq!(
        backup_master[0].0,
        secs(9, 609_375, 1_000_000) + 100_000 + secs(3, 157, 256)
    );
    // A crash sends nothing: no advert (priority 0 or other) leaves the dead master.
    let late_adverts = w
        .records()
        .iter()
        .filter(|r| r.node == "lvs-master" && r.t >= 10_000_000_000)
        .filter(|r| matches!(r.event, Event::VrrpAdvert { .. }))
        .count();
    assert_eq!(late_adverts, 0);
}

#[test]
fn link_down_puts_the_master_in_fault_and_the_backup_takes_over() {
    let mut w = seed_cluster();
    w.schedule_fault(
        Instant::from_secs(10),
        "link down".parse().unwrap(),
        Some("lvs-master"),
    )
    .unwrap();
    w.run_until(Instant::from_secs(20)).unwrap();
    let t = transitions(&w);
    // The master's interface loses its carrier at 10 s: FAULT at once (keepalived tracks its
    // own interface).
    assert!(
        t.contains(&(10_000_000_000, "lvs-master".into(), VrrpStateName::Fault)),
        "{t:?}"
    );
    // The backup last heard an advert at 9.609475 s; Master_Down = 3 + 157/256 s later.
    let backup: Vec<_> = t
        .iter()
        .filter(|x| x.1 == "lvs-backup" && x.2 == VrrpStateName::Master)
        .collect();
    assert_eq!(backup.len(), 1);
    assert_eq!(backup[0].0, secs(9, 609_475, 1_000_000) + secs(3, 157, 256));
}

#[test]
fn a_partition_makes_two_masters_and_healing_leaves_the_higher_priority() {
    let mut w = seed_cluster();
    w.schedule_fault(
        Instant::from_secs(10),
        "partition lvs-master / lvs-backup".parse().unwrap(),
        None,
    )
    .unwrap();
    w.schedule_fault(Instant::from_secs(20), "heal".parse().unwrap(), None)
        .unwrap();
    w.run_until(Instant::from_secs(30)).unwrap();
    let backup: Vec<_> = transitions(&w)
        .into_iter()
        .filter(|x| x.1 == "lvs-backup")
        .collect();
    // Split brain: the backup stops hearing adverts (last one at 9.609475 s) and becomes MASTER
    // after 3 + 157/256 s, while lvs-master stays MASTER.
    assert_eq!(
        backup[1],
        (
            secs(9, 609_475, 1_000_000) + secs(3, 157, 256),
            "lvs-backup".into(),
            VrrpStateName::Master
        )
    );
    // After the heal, the backup's own next advert (13.22275625 + 7 s) reaches the master
    // 100 µs later; a MASTER that hears a lower priority answers at once with its own advert
    // (keepalived 2.2.7, recorded in X01), which reaches the backup 100 µs after that and
    // outranks it (100 > 99): the backup steps down.
    let advert = secs(9, 609_475, 1_000_000) + secs(3, 157, 256) + secs(7, 0, 1);
    assert_eq!(
        backup[2],
        (advert + 200_000, "lvs-backup".into(), VrrpStateName::Backup)
    );
    assert_eq!(backup.len(), 3);
    let master_changes = transitions(&w)
        .into_iter()
        .filter(|x| x.1 == "lvs-master")
        .count();
    assert_eq!(
        master_changes, 2,
        "INIT->BACKUP, BACKUP->MASTER, and nothing during the split"
    );
}
