//! The failover invariants on hand-made event logs: each one holds on a clean log and is
//! broken, with a time and a readable reason, by the log that breaks it.

use lvs_model::event::{DestChange, Event, HttpError, Record, VrrpStateName};
use lvs_model::time::Instant;
use lvslab::fuzz::invariants::{self, CheckTiming, InstanceModel, ServiceModel, WebModel};
use lvslab::fuzz::{Cluster, Invariant};
use std::net::Ipv4Addr;
use std::time::Duration;

const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);
const RS1: &str = "192.168.80.102:80";
const RS2: &str = "192.168.80.103:80";
const VS: &str = "192.168.80.200:80";

fn instance(director: &str, priority: u8) -> InstanceModel {
    InstanceModel {
        director: director.into(),
        name: "VI_1".into(),
        vrid: 51,
        vips: vec![VIP],
        priority,
        version: 2,
        advert_int: Duration::from_secs(1),
        down_timer_adverts: 3,
        preempt_delay: Duration::ZERO,
    }
}

/// The seed lab: two directors (priority 100 and 99), two DR web servers, the seed's checker.
fn seed_cluster() -> Cluster {
    let service = |d: &str| ServiceModel {
        director: d.into(),
        vs: VS.into(),
        vip: Some(VIP),
        dests: vec![RS1.into(), RS2.into()],
    };
    let timing = CheckTiming {
        delay_loop: Duration::from_secs(6),
        connect_timeout: Duration::from_secs(10),
        delay_before_retry: Duration::from_secs(3),
        warmup: Duration::from_secs(6),
    };
    Cluster {
        directors: vec!["m".into(), "b".into()],
        instances: vec![instance("m", 100), instance("b", 99)],
        services: vec![service("m"), service("b")],
        checks: vec![timing; 4],
        webs: vec![
            WebModel {
                name: "w1".into(),
                rs: RS1.into(),
            },
            WebModel {
                name: "w2".into(),
                rs: RS2.into(),
            },
        ],
        hop: Duration::from_micros(50),
    }
}

fn ms(t: u64) -> u64 {
    t * 1_000_000
}

fn rec(t_ms: u64, node: &str, event: Event) -> Record {
    Record {
        t: ms(t_ms),
        node: node.into(),
        event,
    }
}

fn state(t: u64, node: &str, from: VrrpStateName, to: VrrpStateName) -> Record {
    rec(
        t,
        node,
        Event::VrrpState {
            instance: "VI_1".into(),
            from,
            to,
        },
    )
}

fn vip(t: u64, node: &str, added: bool) -> Record {
    rec(
        t,
        node,
        Event::Vip {
            instance: "VI_1".into(),
            ip: VIP,
            added,
        },
    )
}

fn dest(t: u64, node: &str, rs: &str, change: DestChange, weight: u32) -> Record {
    rec(
        t,
        node,
        Event::IpvsDest {
            vs: VS.into(),
            rs: rs.into(),
            change,
            weight,
        },
    )
}

fn fault(t: u64, node: &str, action: &str) -> Record {
    rec(
        t,
        node,
        Event::Fault {
            action: action.into(),
            target: node.into(),
        },
    )
}

fn request(t: u64, started: u64, ok: bool) -> Record {
    rec(
        t,
        "client",
        Event::HttpRequest {
            client: "client".into(),
            started: ms(started),
            status: ok.then_some(200),
            server: ok.then(|| "192.168.80.102".into()),
            error: (!ok).then_some(HttpError::Timeout),
        },
    )
}

use VrrpStateName::{Backup, Init, Master, Stop};

/// Start-up as the lab logs it: both BACKUP with all dests, `m` MASTER at 3.609375 s.
fn healthy() -> Vec<Record> {
    let mut log = vec![
        state(0, "m", Init, Backup),
        dest(0, "m", RS1, DestChange::Added, 3),
        dest(0, "m", RS2, DestChange::Added, 3),
        state(0, "b", Init, Backup),
        dest(0, "b", RS1, DestChange::Added, 3),
        dest(0, "b", RS2, DestChange::Added, 3),
    ];
    log.push(Record {
        t: 3_609_375_000,
        ..state(0, "m", Backup, Master)
    });
    log.push(Record {
        t: 3_609_375_000,
        ..vip(0, "m", true)
    });
    log
}

fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn check(log: &[Record], converged: u64, end: u64) -> Vec<invariants::Violation> {
    invariants::check(&seed_cluster(), log, at(converged), at(converged), at(end))
}

#[test]
fn settle_times_follow_keepalived_rules() {
    let s = seed_cluster().settle();
    // MDI of the backup (priority 99): 3 × 1 s + 157/256 s; + advert_int 1 s + 2 hops.
    assert_eq!(
        s.vrrp,
        Duration::from_nanos(3_613_281_250 + 1_000_000_000 + 100_000)
    );
    // connect_timeout 10 s + max(delay_loop 6, delay_before_retry 3, warmup 6) + 2 RTTs.
    assert_eq!(s.checks, Duration::from_nanos(16_000_200_000));
    assert_eq!(s.total(), s.checks);
    assert_eq!(s.dual_master, Duration::from_nanos(1_000_100_000));
    // 45 s + 5 s + 3 × 1 s + 1 RTT.
    assert_eq!(s.client_arp, Duration::from_nanos(53_000_100_000));
}

#[test]
fn a_healthy_log_breaks_nothing() {
    let mut log = healthy();
    log.extend((0..20).map(|i| request(20_000 + i * 200, 19_000 + i * 200, true)));
    assert_eq!(check(&log, 17, 30), vec![]);
}

#[test]
fn no_master_after_convergence_is_caught_with_its_time() {
    let mut log = healthy();
    log.push(state(25_000, "m", Master, Stop));
    let v = check(&log, 17, 30);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, Invariant::OneMaster);
    assert_eq!(v[0].at, ms(25_000));
    assert!(
        v[0].explanation.contains("VRID 51 has 0 MASTERs (none)"),
        "{}",
        v[0].explanation
    );
    assert!(v[0].explanation.contains("8s after convergence at 17s"));
}

#[test]
fn a_master_without_its_vip_or_a_vip_left_elsewhere_is_caught() {
    let mut log = healthy();
    log.push(vip(20_000, "m", false));
    let v = check(&log, 17, 30);
    assert_eq!(v[0].invariant, Invariant::OneMaster);
    assert!(
        v[0].explanation
            .contains("does not hold VIP 192.168.80.200")
    );

    let mut log = healthy();
    log.push(vip(5_000, "b", true));
    let v = check(&log, 17, 30);
    assert_eq!(v[0].invariant, Invariant::OneMaster);
    assert_eq!(v[0].at, ms(17_000), "checked at convergence");
    assert!(
        v[0].explanation
            .contains("VIP 192.168.80.200 of VRID 51 is on b as well as on the MASTER m"),
        "{}",
        v[0].explanation
    );
}

#[test]
fn a_power_off_takes_state_vips_and_dests_with_it() {
    // No events from the director itself: the fault alone must clear what it held.
    let mut log = healthy();
    log.push(fault(10_000, "m", "power off"));
    log.push(state(13_613, "b", Backup, Master));
    log.push(vip(13_613, "b", true));
    let v = check(&log, 17, 30);
    assert_eq!(
        v,
        vec![],
        "b is the one MASTER and m's VIP went with its power"
    );
}

#[test]
fn two_masters_without_a_partition_are_caught_beyond_the_bound() {
    // Within advert_int + 2 hops: allowed (a preempting master's advert in flight).
    let mut log = healthy();
    log.push(state(10_000, "b", Backup, Master));
    log.push(state(11_000, "b", Master, Backup));
    assert_eq!(check(&log, 17, 30), vec![]);

    let mut log = healthy();
    log.push(state(10_000, "b", Backup, Master));
    log.push(state(12_000, "b", Master, Backup));
    let v = check(&log, 17, 30);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, Invariant::DualMaster);
    assert_eq!(v[0].at, ms(10_000) + 1_000_100_000);
    assert!(
        v[0].explanation.contains(
            "VRID 51 had two MASTERs from 10s to 12s (2s) with no partition or frame loss active"
        ),
        "{}",
        v[0].explanation
    );
}

#[test]
fn a_partition_excuses_two_masters_until_it_heals() {
    let mut log = healthy();
    log.push(rec(
        8_000,
        "lan",
        Event::Fault {
            action: "partition m / b".into(),
            target: "lan".into(),
        },
    ));
    log.push(state(11_613, "b", Backup, Master));
    log.push(rec(
        15_000,
        "lan",
        Event::Fault {
            action: "heal".into(),
            target: "lan".into(),
        },
    ));
    // Demoted 0.9 s after the heal: fine.
    log.push(state(15_900, "b", Master, Backup));
    assert_eq!(check(&log, 20, 30), vec![]);
    // Demoted 3 s after the heal: two MASTERs for 3 s without a partition.
    let n = log.len();
    log[n - 1] = state(18_000, "b", Master, Backup);
    let v = check(&log, 20, 30);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, Invariant::DualMaster);
    assert!(v[0].explanation.contains("from 15s to 18s (3s)"));
}

#[test]
fn frame_loss_excuses_two_masters_until_it_ends() {
    let mut log = healthy();
    log.push(fault(8_000, "m", "loss 100%"));
    log.push(state(11_613, "b", Backup, Master));
    log.push(fault(15_000, "m", "loss 0%"));
    log.push(state(15_900, "b", Master, Backup));
    assert_eq!(check(&log, 20, 30), vec![]);
    // Lost frames on one node excuse nothing once its loss is back to 0%.
    let n = log.len();
    log[n - 1] = state(18_000, "b", Master, Backup);
    let v = check(&log, 20, 30);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, Invariant::DualMaster);
    assert!(v[0].explanation.contains("from 15s to 18s (3s)"));
    // A web server's loss excuses two MASTERs too while it lasts (any lost frame may be an
    // advert's): the bound counts from the last loss ending.
    let mut log = healthy();
    log.push(fault(8_000, "m", "loss 50%"));
    log.push(fault(9_000, "w1", "loss 10%"));
    log.push(state(11_613, "b", Backup, Master));
    log.push(fault(12_000, "m", "loss 0%"));
    log.push(fault(15_000, "w1", "loss 0%"));
    log.push(state(15_900, "b", Master, Backup));
    assert_eq!(check(&log, 20, 30), vec![]);
}

#[test]
fn two_masters_until_the_end_of_the_run_are_caught() {
    let mut log = healthy();
    log.push(state(20_000, "b", Backup, Master));
    log.push(vip(20_000, "b", true));
    let v = check(&log, 17, 30);
    let kinds: Vec<Invariant> = v.iter().map(|v| v.invariant).collect();
    assert_eq!(
        kinds,
        vec![Invariant::OneMaster, Invariant::DualMaster],
        "{v:?}"
    );
    assert!(v[1].explanation.contains("from 20s to 30s"));
}

#[test]
fn the_masters_dests_must_be_the_web_servers_up() {
    // A dest missing on the MASTER while both web servers run.
    let mut log = healthy();
    log.push(dest(9_000, "m", RS1, DestChange::Removed, 0));
    let v = check(&log, 17, 30);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, Invariant::DestSet);
    assert!(
        v[0].explanation.contains(
            "virtual server 192.168.80.200:80 has dests 192.168.80.103:80 but the web servers up \
             are 192.168.80.102:80, 192.168.80.103:80 (missing: 192.168.80.102:80; extra: none)"
        ),
        "{}",
        v[0].explanation
    );
    // Weight 0 (inhibit_on_failure) counts as out of the set.
    let mut log = healthy();
    log.push(dest(9_000, "m", RS1, DestChange::Weight, 0));
    assert_eq!(check(&log, 17, 30)[0].invariant, Invariant::DestSet);
    // The backup's table does not matter.
    let mut log = healthy();
    log.push(dest(9_000, "b", RS1, DestChange::Removed, 0));
    assert_eq!(check(&log, 17, 30), vec![]);
}

#[test]
fn a_web_server_down_must_be_out_of_the_set() {
    let mut log = healthy();
    log.push(fault(5_000, "w2", "stop httpd"));
    // Still in the MASTER's table at convergence.
    let v = check(&log, 17, 30);
    assert_eq!(v[0].invariant, Invariant::DestSet);
    assert!(v[0].explanation.contains("extra: 192.168.80.103:80"));
    // Removed in time: fine. Started again and added back: fine.
    log.push(dest(14_000, "m", RS2, DestChange::Removed, 0));
    assert_eq!(check(&log, 17, 30), vec![]);
    log.push(fault(18_000, "w2", "start httpd"));
    log.push(dest(19_000, "m", RS2, DestChange::Added, 3));
    // Between 18 s and 19 s the set lags: a violation at 18 s.
    let v = check(&log, 17, 30);
    assert_eq!(v[0].at, ms(18_000));
    // Counted from 20 s, it holds.
    assert_eq!(check(&log, 20, 30), vec![]);
}

#[test]
fn failed_requests_count_from_the_start_time() {
    let mut log = healthy();
    // Started before convergence, ended after: not counted.
    log.push(request(19_000, 16_000, false));
    assert_eq!(check(&log, 17, 30), vec![]);
    log.push(request(21_000, 18_000, false));
    log.push(request(22_000, 19_000, false));
    let v = check(&log, 17, 30);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, Invariant::NoFailedRequests);
    assert_eq!(v[0].at, ms(18_000));
    assert!(
        v[0].explanation
            .contains("client started 18s (timeout); client started 19s (timeout)"),
        "{}",
        v[0].explanation
    );
    // After a partition requests count from later (the client's ARP recovery).
    let v = invariants::check(&seed_cluster(), &log, at(17), at(20), at(30));
    assert_eq!(v, vec![]);
}

#[test]
fn a_master_without_the_service_is_judged_against_the_pairs_configuration() {
    // `b` does not configure the virtual server at all; once it is MASTER its table is empty.
    let mut cluster = seed_cluster();
    cluster.services.retain(|s| s.director == "m");
    let mut log = healthy();
    log.truncate(3);
    log.push(state(0, "b", Init, Backup));
    log.push(state(3_613, "b", Backup, Master));
    log.push(vip(3_613, "b", true));
    log.push(fault(2_000, "m", "power off"));
    log.sort_by_key(|r| r.t);
    let v = invariants::check(&cluster, &log, at(17), at(17), at(30));
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, Invariant::DestSet);
    assert!(
        v[0].explanation
            .contains("on the MASTER b, virtual server 192.168.80.200:80 has dests none"),
        "{}",
        v[0].explanation
    );
}
