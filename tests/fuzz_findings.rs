//! Cases the fuzzer found (shrunk) where the lab's model departed from keepalived or Linux,
//! kept as regression tests now that the model does what they do.

use lvslab::fuzz::{Case, Disruption, Episode, FuzzConfig, Fuzzer, Kill, Schedule};
use lvslab::scenario::Scenario;
use std::time::Duration;

fn ep(disruption: Disruption, at_ms: u64, until_ms: u64) -> Episode {
    Episode {
        disruption,
        at: Duration::from_millis(at_ms),
        lasts: Duration::from_millis(until_ms - at_ms),
    }
}

fn run(scenario: &str, config: FuzzConfig, episodes: Vec<Episode>) {
    let path = format!("{}/{scenario}", env!("CARGO_MANIFEST_DIR"));
    let f = Fuzzer::new(Scenario::load(path).unwrap(), config).unwrap();
    let case = Case {
        schedule: Schedule::new(episodes),
        seed: 0,
    };
    let report = f.run_case(&case).unwrap();
    assert!(report.violations.is_empty(), "{}", report.explain(&case));
}

/// keepalived removes the VIPs of every instance that starts as BACKUP or FAULT, whoever
/// configured them (its forced restore at start-up). A crashed MASTER leaves its VIP on the
/// interface; its restart must take it away. The director model starts a fresh VRRP process
/// that does not know the kernel still holds the VIP, so after the master comes back the VIP
/// is on both directors ("VIP 192.168.80.200 of VRID 51 is on lvs-backup as well as on the
/// MASTER lvs-master").
#[test]
fn a_restarted_keepalived_removes_the_vips_its_crashed_predecessor_left() {
    let config = FuzzConfig {
        duration: Some(Duration::from_secs(20)),
        ..FuzzConfig::default()
    };
    run(
        "scenarios/seed/00-seed-lab.toml",
        config,
        vec![
            ep(
                Disruption::Link {
                    node: "lvs-master".into(),
                },
                500,
                12_000,
            ),
            ep(
                Disruption::Keepalived {
                    node: "lvs-backup".into(),
                    kill: Kill::Crash,
                },
                4_000,
                12_000,
            ),
        ],
    );
}

/// Linux (since 4.20, `arp_evict_nocarrier` = 1 by default) flushes a port's ARP entries when
/// its carrier goes down. A NAT web server whose cable is out while the master returns misses
/// its gratuitous ARPs; with its cache flushed it resolves the gateway VIP afresh when the
/// cable is back. The web server model keeps the entry for the backup's MAC, so its replies
/// go to the backup (which no longer holds the VIP) and every request through it times out
/// long after convergence.
#[test]
fn a_web_server_forgets_its_arp_entries_when_its_link_goes_down() {
    let mut config = FuzzConfig::default();
    config.kinds.keepalived_crash = false;
    run(
        "scenarios/methods/nat.toml",
        config,
        vec![
            ep(
                Disruption::Keepalived {
                    node: "lvs-master".into(),
                    kill: Kill::Stop,
                },
                11_500,
                17_500,
            ),
            ep(
                Disruption::Link {
                    node: "web-102".into(),
                },
                20_500,
                34_000,
            ),
        ],
    );
}
