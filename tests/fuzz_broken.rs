//! A deliberately broken pair is caught, shrunk and reproducible from the printed lines.
//!
//! The setup: both directors `state BACKUP` with `nopreempt` (priority 100 and 99), and the
//! backup's `virtual_server` lists only one of the two real servers — someone forgot to copy
//! the second `real_server` block. Nothing is wrong until a failover: the backup then becomes
//! MASTER and, with `nopreempt`, stays MASTER after the old master is back (every advert
//! resets a nopreempt BACKUP's down timer, B.7), so one web server never gets traffic again.
//! No request fails (the other one answers), so only the dest-set invariant can see it.

use lvslab::fuzz::invariants;
use lvslab::fuzz::{Disruption, FuzzConfig, Fuzzer, Invariant, Outcome};
use lvslab::lab::Lab;
use lvslab::scenario::Scenario;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SCENARIO: &str = r#"name = "nopreempt pair, backup misses a real server"
seed = 1
duration = "20s"

[[director]]
name = "lvs-master"
ip = "192.168.80.100/24"
interface = "eth1"
keepalived = "master.conf"

[[director]]
name = "lvs-backup"
ip = "192.168.80.101/24"
interface = "eth1"
keepalived = "backup.conf"

[[web]]
name = "web-102"
ip = "192.168.80.102/24"
realserver = { vip = "192.168.80.200", arp_ignore = 1, arp_announce = 2 }

[[web]]
name = "web-103"
ip = "192.168.80.103/24"
realserver = { vip = "192.168.80.200", arp_ignore = 1, arp_announce = 2 }

[[client]]
name = "client"
ip = "192.168.80.50/24"
get = "http://192.168.80.200/"
rate = "5/s"
start = "1s"
"#;

fn conf(priority: u8, real_servers: &[&str]) -> String {
    let mut rs = String::new();
    for ip in real_servers {
        rs.push_str(&format!(
            "    real_server {ip} 80 {{\n        weight 1\n        TCP_CHECK {{\n            \
             connect_timeout 3\n        }}\n    }}\n"
        ));
    }
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    nopreempt\n    interface eth1\n    \
         virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    \
         virtual_ipaddress {{\n        192.168.80.200\n    }}\n}}\n\
         virtual_server 192.168.80.200 80 {{\n    delay_loop 2\n    lb_algo rr\n    \
         lb_kind DR\n    protocol TCP\n{rs}}}\n"
    )
}

/// Writes the scenario (with `extra` appended) and both configurations into a fresh directory.
fn lab_dir(name: &str, backup_rs: &[&str], extra: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvslab-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("master.conf"),
        conf(100, &["192.168.80.102", "192.168.80.103"]),
    )
    .unwrap();
    std::fs::write(dir.join("backup.conf"), conf(99, backup_rs)).unwrap();
    std::fs::write(dir.join("lab.toml"), format!("{SCENARIO}\n{extra}")).unwrap();
    dir
}

fn load(dir: &Path) -> Scenario {
    Scenario::load(dir.join("lab.toml")).unwrap()
}

fn config() -> FuzzConfig {
    FuzzConfig {
        grid: Duration::from_secs(1),
        max_lasts: Duration::from_secs(8),
        ..FuzzConfig::default()
    }
}

#[test]
fn the_fuzzer_finds_the_broken_backup_and_shrinks_to_one_failover() {
    let dir = lab_dir("fuzz-broken", &["192.168.80.102"], "");
    let fuzzer = Fuzzer::new(load(&dir), config()).unwrap();
    // Without faults the lab is fine: the breakage needs a failover to show.
    let quiet = lvslab::fuzz::Case {
        schedule: Default::default(),
        seed: 1,
    };
    let report = fuzzer.run_case(&quiet).unwrap();
    assert!(report.violations.is_empty(), "{}", report.explain(&quiet));

    let outcome = fuzzer.run(64, 3, |_| {});
    let Outcome::Failed(f) = outcome else {
        panic!("the fuzzer missed the broken backup: {outcome:?}");
    };
    // Shrunk to one episode that takes the master down, and the dest-set invariant says why.
    let eps = f.case.schedule.episodes();
    assert_eq!(eps.len(), 1, "{}", f.reproduce());
    let on_master = match &eps[0].disruption {
        Disruption::Keepalived { node, .. }
        | Disruption::Power { node }
        | Disruption::Link { node }
        | Disruption::Loss { node, .. } => node == "lvs-master",
        Disruption::Httpd { .. } | Disruption::Partition { .. } => false,
    };
    assert!(on_master, "{}", f.reproduce());
    let dest = f
        .violations
        .iter()
        .find(|v| v.invariant == Invariant::DestSet)
        .unwrap_or_else(|| panic!("{:?}", f.violations));
    assert!(
        dest.explanation.contains(
            "on the MASTER lvs-backup, virtual server 192.168.80.200:80 has dests \
             192.168.80.102:80 but the web servers up are 192.168.80.102:80, 192.168.80.103:80"
        ),
        "{}",
        dest.explanation
    );
    assert!(
        !f.violations
            .iter()
            .any(|v| v.invariant == Invariant::NoFailedRequests),
        "web-102 answers every request: {:?}",
        f.violations
    );

    // A human pastes the printed lines into the scenario and runs it with the printed seed:
    // the same violation, at the same time.
    let text = f.reproduce();
    println!("{text}");
    for v in &f.violations {
        println!("{v}");
    }
    assert!(
        text.contains("[[at]]") && text.contains("on = \"lvs-master\""),
        "{text}"
    );
    let pasted = lab_dir("fuzz-broken-pasted", &["192.168.80.102"], &text);
    let mut scenario = load(&pasted);
    assert_eq!(scenario.faults.len(), 2);
    scenario.duration = fuzzer.run_length();
    for c in &mut scenario.clients {
        c.stop = scenario.duration;
    }
    let lab = Lab::build(scenario, Some(f.case.seed)).unwrap();
    let (_, out) = lab.run(|_, _| {}).unwrap();
    let again = invariants::check(
        fuzzer.cluster(),
        &out.records,
        fuzzer.converged_at(&f.case.schedule),
        fuzzer.requests_from(&f.case.schedule),
        lvs_model::time::Instant::ZERO + fuzzer.run_length(),
    );
    assert_eq!(again, f.violations);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(pasted);
}

#[test]
fn the_fixed_backup_passes_the_same_cases() {
    // With both real servers on the backup, the same 64 cases hold. (`crash keepalived` is
    // left out: see tests/fuzz_seed.rs on the director model's stale VIPs.)
    let dir = lab_dir("fuzz-fixed", &["192.168.80.102", "192.168.80.103"], "");
    let mut config = config();
    config.kinds.keepalived_crash = false;
    let fuzzer = Fuzzer::new(load(&dir), config).unwrap();
    assert_eq!(fuzzer.run(64, 3, |_| {}), Outcome::Passed { cases: 64 });
    let _ = std::fs::remove_dir_all(dir);
}
