//! Failover fuzzing of the seed lab: the generated schedules are well formed, the seed
//! configurations keep every invariant under random faults, and runs are deterministic.

use lvslab::fuzz::{Case, Disruption, FuzzConfig, Fuzzer, Outcome, Schedule};
use lvslab::scenario::Scenario;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

const SEED_LAB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/seed/00-seed-lab.toml"
);

fn seed_config() -> FuzzConfig {
    FuzzConfig {
        duration: Some(Duration::from_secs(20)),
        determinism_every: 0,
        ..FuzzConfig::default()
    }
}

/// The seed lab with a 20 s fault window (each run: 20 s + the quiet tail), every kind of
/// fault included.
fn fuzzer() -> &'static Fuzzer {
    static F: OnceLock<Fuzzer> = OnceLock::new();
    F.get_or_init(|| {
        let scenario = Scenario::load(SEED_LAB).expect("the seed lab loads");
        let config = seed_config();
        Fuzzer::new(scenario, config).expect("the seed lab can be fuzzed")
    })
}

#[test]
fn the_quiet_tail_covers_the_settle_times() {
    let f = fuzzer();
    let s = f.settle();
    // Partitions are on: the tail is the client's ARP recovery after the demotion.
    assert_eq!(
        f.run_length(),
        Duration::from_secs(20) + s.dual_master + s.client_arp + Duration::from_secs(5)
    );
    assert!(s.dual_master + s.client_arp > s.total());
    let t = f.targets();
    assert_eq!(
        (t.start, t.end),
        (Duration::from_millis(500), Duration::from_secs(20))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn schedules_are_well_formed(case in fuzzer().cases()) {
        let t = fuzzer().targets();
        let directors: BTreeSet<&str> = t.directors.iter().map(String::as_str).collect();
        let webs: BTreeSet<&str> = t.webs.iter().map(String::as_str).collect();
        let eps = case.schedule.episodes();
        prop_assert!(eps.len() <= 4);
        for (i, e) in eps.iter().enumerate() {
            prop_assert!(e.at >= t.start && e.until() <= t.end, "{e:?}");
            prop_assert!(e.lasts >= t.grid && e.lasts <= Duration::from_secs(15), "{e:?}");
            prop_assert_eq!(e.at.as_nanos() % t.grid.as_nanos(), 0);
            prop_assert_eq!(e.lasts.as_nanos() % t.grid.as_nanos(), 0);
            match &e.disruption {
                Disruption::Keepalived { node, .. } => prop_assert!(directors.contains(node.as_str())),
                Disruption::Httpd { node, .. } => prop_assert!(webs.contains(node.as_str())),
                Disruption::Power { node } | Disruption::Link { node } => prop_assert!(
                    directors.contains(node.as_str()) || webs.contains(node.as_str())
                ),
                Disruption::Loss { node, percent } => {
                    prop_assert!(directors.contains(node.as_str()) || webs.contains(node.as_str()));
                    prop_assert!([10, 50, 100].contains(percent), "{percent}");
                }
                Disruption::Partition { from, to, .. } => {
                    prop_assert!(!from.is_empty() && !to.is_empty());
                    for n in from.iter().chain(to) {
                        prop_assert!(directors.contains(n.as_str()));
                    }
                }
            }
            // No episode overlaps an earlier one on the same node (or another partition).
            let key = |d: &Disruption| match d {
                Disruption::Keepalived { node, .. }
                | Disruption::Httpd { node, .. }
                | Disruption::Power { node }
                | Disruption::Link { node }
                | Disruption::Loss { node, .. } => Some(node.clone()),
                Disruption::Partition { .. } => None,
            };
            for p in &eps[..i] {
                prop_assert!(p.at <= e.at);
                if key(&p.disruption) == key(&e.disruption) {
                    prop_assert!(e.at > p.until(), "{p:?} overlaps {e:?}");
                }
            }
        }
        // Every fault is undone: as many repairs as faults, in time order.
        let faults = case.schedule.faults();
        prop_assert_eq!(faults.len(), eps.len() * 2);
        prop_assert!(faults.windows(2).all(|w| w[0].at <= w[1].at));
        // The rendered lines are a valid part of a scenario file.
        let text = case.schedule.to_toml();
        let value: toml::Value = toml::from_str(&text).unwrap();
        let n = value.get("at").and_then(|a| a.as_array()).map_or(0, Vec::len);
        prop_assert_eq!(n, faults.len());
    }
}

proptest! {
    // Each case runs the seed lab for 79 simulated seconds.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_seed_lab_keeps_the_invariants(case in fuzzer().cases()) {
        let report = fuzzer().run_case(&case).unwrap();
        prop_assert!(report.violations.is_empty(), "{}", report.explain(&case));
    }
}

fn crash_master() -> Case {
    Case {
        schedule: Schedule::new(vec![lvslab::fuzz::Episode {
            disruption: Disruption::Keepalived {
                node: "lvs-master".into(),
                kill: lvslab::fuzz::Kill::Crash,
            },
            at: Duration::from_secs(5),
            lasts: Duration::from_secs(6),
        }]),
        seed: 7,
    }
}

#[test]
fn the_same_case_gives_the_same_log_and_another_seed_does_not() {
    let f = fuzzer();
    let case = crash_master();
    let first = f.run_case(&case).unwrap();
    assert!(first.violations.is_empty(), "{}", first.explain(&case));
    assert_eq!(f.check_determinism(&case, &first).unwrap(), None);
    // The digest does tell runs apart: another seed draws other warm-ups and ISNs.
    let other = f.run_case(&Case { seed: 8, ..case }).unwrap();
    assert_ne!(other.digest, first.digest);
}

#[test]
fn the_runner_is_deterministic_from_its_seed() {
    let f = fuzzer();
    let cases = |seed: u64| {
        let mut seen = Vec::new();
        let outcome = f.run(3, seed, |step| seen.push(step.case.clone()));
        assert_eq!(outcome, Outcome::Passed { cases: 3 });
        seen
    };
    let a = cases(11);
    assert_eq!(a.len(), 3);
    assert_eq!(a, cases(11));
    assert_ne!(a, cases(12));
}
