//! Cases the fuzzer found (shrunk) where the lab's model departed from keepalived or Linux,
//! kept as regression tests now that the model does what they do.

use lvslab::fuzz::{Case, CaseReport, Disruption, Episode, FuzzConfig, Fuzzer, Kill, Schedule};
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
    run_seeded(scenario, config, episodes, 0);
}

/// Runs one case and checks every invariant held; the report is there for further checks.
fn run_seeded(scenario: &str, config: FuzzConfig, episodes: Vec<Episode>, seed: u64) -> CaseReport {
    let path = format!("{}/{scenario}", env!("CARGO_MANIFEST_DIR"));
    let f = Fuzzer::new(Scenario::load(path).unwrap(), config).unwrap();
    let case = Case {
        schedule: Schedule::new(episodes),
        seed,
    };
    let report = f.run_case(&case).unwrap();
    assert!(report.violations.is_empty(), "{}", report.explain(&case));
    report
}

/// The seed lab with a 20 s fault window.
fn seed_lab_20s() -> FuzzConfig {
    FuzzConfig {
        duration: Some(Duration::from_secs(20)),
        ..FuzzConfig::default()
    }
}

/// keepalived removes the VIPs of every instance that starts as BACKUP or FAULT, whoever
/// configured them (its forced restore at start-up). A crashed MASTER leaves its VIP on the
/// interface; its restart must take it away. The director model starts a fresh VRRP process
/// that does not know the kernel still holds the VIP, so after the master comes back the VIP
/// is on both directors ("VIP 192.168.80.200 of VRID 51 is on lvs-backup as well as on the
/// MASTER lvs-master").
#[test]
fn a_restarted_keepalived_removes_the_vips_its_crashed_predecessor_left() {
    run(
        "scenarios/seed/00-seed-lab.toml",
        seed_lab_20s(),
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

/// A host that powers back on draws fresh ISN and ephemeral-port secrets, as Linux does at every
/// boot. The director model reseeded its kernel with the seed of its first boot, so after a
/// power cycle its first TCP_CHECK reused the 4-tuple and ISN of a check from before the power
/// off. web-102 still held that connection (its hung httpd never closed it; the restart sent
/// a FIN into the powered-off director and kept retransmitting it in LAST_ACK) and answered
/// none of the SYNs, so the check failed 15 s after convergence and .102 left the pool
/// ("on the MASTER lvs-master, virtual server 192.168.80.200:80 has dests 192.168.80.103:80").
#[test]
fn a_rebooted_director_does_not_replay_its_last_boots_connections() {
    let report = run_seeded(
        "scenarios/seed/00-seed-lab.toml",
        seed_lab_20s(),
        vec![
            ep(
                Disruption::Httpd {
                    node: "web-102".into(),
                    kill: Kill::Crash,
                },
                1_500,
                11_500,
            ),
            ep(
                Disruption::Power {
                    node: "lvs-master".into(),
                },
                9_000,
                19_000,
            ),
        ],
        2_032_158_041_851_323_915,
    );
    // No check of .102 fails once the director is back: httpd runs again from 11.5 s.
    let failed_after_boot = report.records.iter().any(|r| {
        r.node == "lvs-master"
            && r.t >= 19_000_000_000
            && matches!(&r.event, lvs_model::Event::CheckResult { rs, ok: false, .. } if rs.starts_with("192.168.80.102"))
    });
    assert!(!failed_after_boot, "a check of .102 failed after the boot");
}

/// Frames lost on the master's link (its carrier stays up, so keepalived sees nothing but
/// missing adverts): at 100 % the backup takes over after Master_Down_Interval while the master
/// stays MASTER (two MASTERs, as with a partition); once the loss ends, the higher priority
/// wins back and every invariant holds.
#[test]
fn lost_adverts_make_two_masters_that_resolve_when_the_loss_ends() {
    let report = run_seeded(
        "scenarios/seed/00-seed-lab.toml",
        seed_lab_20s(),
        vec![ep(
            Disruption::Loss {
                node: "lvs-master".into(),
                percent: 100,
            },
            5_000,
            12_000,
        )],
        0,
    );
    let masters: Vec<(u64, &str)> = report
        .records
        .iter()
        .filter_map(|r| match &r.event {
            lvs_model::Event::VrrpState { to, .. }
                if *to == lvs_model::event::VrrpStateName::Master =>
            {
                Some((r.t, r.node.as_str()))
            }
            _ => None,
        })
        .collect();
    // The backup's down timer runs out during the loss: Master_Down_Interval = 3 × advert_int
    // + (256 − 99)/256 s = 3.61328125 s after the last advert it heard, which the master sent
    // before the loss began and which took one LAN hop (50 µs) to arrive.
    let backup = masters
        .iter()
        .find(|(_, n)| *n == "lvs-backup")
        .expect("backup took over");
    let last_advert = report
        .records
        .iter()
        .filter(|r| r.node == "lvs-master" && r.t < 5_000_000_000)
        .filter(|r| matches!(r.event, lvs_model::Event::VrrpAdvert { .. }))
        .map(|r| r.t)
        .max()
        .expect("the master advertised before the loss");
    assert_eq!(backup.0, last_advert + 50_000 + 3_613_281_250);
    // The master never left MASTER, so no second transition of its own is needed; the backup
    // goes back to BACKUP after the loss ends.
    let back = report.records.iter().any(|r| {
        r.node == "lvs-backup"
            && r.t >= 12_000_000_000
            && matches!(&r.event, lvs_model::Event::VrrpState { to, .. } if *to == lvs_model::event::VrrpStateName::Backup)
    });
    assert!(back, "the backup stayed MASTER after the loss ended");
}
