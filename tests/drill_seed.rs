//! `lvslab drill` on the seed's two keepalived.conf files: the lab it derives, the exact
//! convergence times keepalived 2.2.7's rules give, and a snapshot of the printed table.
//!
//! Seed facts used below: VRRPv2, advert_int 1 s, priorities 100 (master) and 99 (backup),
//! down_timer_adverts 3; TCP_CHECK with delay_loop 6 s, connect_timeout 10 s,
//! delay_before_retry 3 s, and retry 1 (`nb_get_retry` is unknown to 2.2.7, so retry keeps
//! its default). The LAN's host-to-host latency is 50 µs, so a check against a stopped httpd
//! (SYN answered by RST) or a running one (SYN answered by SYN-ACK) lasts one round trip of
//! 100 µs.

use lvslab::drill::{Cluster, DrillOptions, DrillResult, Measure, render, run_all};
use std::net::Ipv4Addr;
use std::sync::OnceLock;
use std::time::Duration;

const LATENCY: Duration = Duration::from_micros(50);
const RTT: Duration = Duration::from_micros(100);

fn seed_opts() -> DrillOptions {
    let d = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/seed/");
    DrillOptions {
        confs: vec![
            format!("{d}keepalived-master.conf").into(),
            format!("{d}keepalived-backup.conf").into(),
        ],
        webs: vec![],
        ips: vec![],
        seed: 1,
    }
}

fn seed() -> &'static (Cluster, Vec<DrillResult>) {
    static RUN: OnceLock<(Cluster, Vec<DrillResult>)> = OnceLock::new();
    RUN.get_or_init(|| {
        let c = Cluster::from_configs(&seed_opts()).unwrap();
        let r = run_all(&c, 1).unwrap();
        (c, r)
    })
}

fn drill<'a>(results: &'a [DrillResult], name: &str) -> &'a DrillResult {
    results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no drill `{name}`"))
}

/// v2 skew: (256 − priority)/256 s.
fn skew(priority: u64) -> Duration {
    Duration::from_nanos((256 - priority) * 1_000_000_000 / 256)
}

#[test]
fn the_lab_comes_from_the_configs() {
    let (c, _) = seed();
    let names: Vec<&str> = c.directors.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["keepalived-master", "keepalived-backup"]);
    assert_eq!(c.master, 0);
    // No unicast_src_ip in the seed: the two free addresses just below .102.
    assert_eq!(c.directors[0].ip.to_string(), "192.168.80.100/24");
    assert_eq!(c.directors[1].ip.to_string(), "192.168.80.101/24");
    assert_eq!(c.directors[0].ip_from, "derived");
    assert_eq!(c.directors[0].interface, "eth1");
    assert_eq!(c.vip, Ipv4Addr::new(192, 168, 80, 200));
    assert_eq!((c.vrid, c.port), (51, 80));
    let webs: Vec<String> = c
        .webs
        .iter()
        .map(|w| format!("{} {}:{}", w.name, w.ip, w.port))
        .collect();
    assert_eq!(
        webs,
        ["web-102 192.168.80.102:80", "web-103 192.168.80.103:80"]
    );
    assert_eq!(c.client_ip.to_string(), "192.168.80.50/24");
    let t = &c.timing;
    assert_eq!(t.retry, 1);
    // master_down bound: (3 + 1) × advert_int = 4 s (v2 skew < 1 s).
    assert_eq!(t.master_down, Duration::from_secs(4));
    // First fault: max(4 s, 1 s + warmup 6 s) = 7 s, + 1 s.
    assert_eq!(t.settle, Duration::from_secs(8));
    assert_eq!(t.vrrp_window, Duration::from_secs(5));
    // 6 + 10 + 1 × (3 + 10) + 1 = 30 s; up: 10 + max(6, 3) + 1 = 17 s.
    assert_eq!(t.rs_down_window, Duration::from_secs(30));
    assert_eq!(t.rs_up_window, Duration::from_secs(17));
    // The seed's keepalived -t messages: 6 per file.
    assert!(
        c.diagnostics.iter().all(|d| d.lines.len() == 6),
        "{:?}",
        c.diagnostics
    );
    assert!(c.diagnostics[0].lines[0].ends_with(
        "keepalived-master.conf:5:4: error[unknown-keyword]: Unknown keyword 'smtp_connection_timeout'"
    ));
}

#[test]
fn every_seed_drill_converges() {
    let (_, results) = seed();
    assert_eq!(results.len(), 8);
    for r in results {
        assert!(r.converged(), "{}: {:?}", r.name, r.problems);
    }
}

#[test]
fn graceful_stop_of_the_master() {
    let (_, results) = seed();
    let r = drill(results, "stop keepalived on keepalived-master");
    let step = &r.steps[0];
    // The priority-0 advert leaves at the stop and arrives 50 µs later; the backup then waits
    // only its skew, 157/256 s.
    let m = step.get(&Measure::BecameMaster).unwrap();
    assert_eq!(m.node, "keepalived-backup");
    assert_eq!(step.after(&Measure::BecameMaster), Some(skew(99) + LATENCY));
    assert_eq!(r.masters_at_end, ["keepalived-backup"]);
    assert_eq!(r.requests.failed, 0);
}

#[test]
fn crash_of_the_master() {
    let (_, results) = seed();
    let r = drill(results, "crash keepalived on keepalived-master");
    let step = &r.steps[0];
    // The master became MASTER at 3 × 1 s + 156/256 s and adverts every second since: the
    // last before the crash at 8 s is 7.609375 s.
    let first_master = Duration::from_secs(3) + skew(100);
    let last = step.get(&Measure::LastAdvert).unwrap().at.unwrap();
    assert_eq!(last, first_master + Duration::from_secs(4));
    // Master_Down = 3 × 1 s + 157/256 s after that advert arrives (+ 50 µs).
    let became = step.get(&Measure::BecameMaster).unwrap();
    assert_eq!(became.node, "keepalived-backup");
    assert_eq!(
        became.at.unwrap(),
        last + LATENCY + Duration::from_secs(3) + skew(99)
    );
    // The VIP and IPVS stay on the crashed director: no request fails.
    assert_eq!(r.requests.failed, 0);
}

#[test]
fn a_backup_leaving_changes_nothing() {
    let (_, results) = seed();
    for name in [
        "stop keepalived on keepalived-backup",
        "crash keepalived on keepalived-backup",
    ] {
        let r = drill(results, name);
        assert_eq!(r.masters_at_end, ["keepalived-master"], "{name}");
        assert!(r.steps[0].get(&Measure::Stays).is_some(), "{name}");
        assert_eq!(r.requests.failed, 0, "{name}");
    }
}

#[test]
fn restart_of_the_master_preempts() {
    let (c, results) = seed();
    let r = drill(results, "restart keepalived-master (preemption)");
    assert_eq!(
        r.steps[0].after(&Measure::BecameMaster),
        Some(skew(99) + LATENCY)
    );
    // Started at 8 s + 5 s, it starts in BACKUP and preempts when its own Master_Down runs
    // out, 3 × 1 s + 156/256 s later; the backup steps down when that advert arrives.
    let back = &r.steps[1];
    assert_eq!(back.at, c.timing.settle + c.timing.vrrp_window);
    assert_eq!(
        back.after(&Measure::BecameMaster),
        Some(Duration::from_secs(3) + skew(100))
    );
    assert_eq!(
        back.get(&Measure::SteppedDown).unwrap().node,
        "keepalived-backup"
    );
    assert_eq!(
        back.after(&Measure::SteppedDown),
        Some(Duration::from_secs(3) + skew(100) + LATENCY)
    );
    assert_eq!(r.masters_at_end, ["keepalived-master"]);
}

#[test]
fn partition_makes_two_masters_and_heal_one() {
    let (_, results) = seed();
    let r = drill(results, "partition, heal (split brain)");
    let (cut, heal) = (&r.steps[0], &r.steps[1]);
    // The last advert crossing the cut left the master at 7.609375 s; Master_Down of the
    // backup (3 s + 157/256 s) after its arrival, the backup is MASTER too.
    let last = Duration::from_secs(3) + skew(100) + Duration::from_secs(4);
    let two = last + LATENCY + Duration::from_secs(3) + skew(99);
    assert_eq!(cut.get(&Measure::TwoMasters).unwrap().at, Some(two));
    // After the heal the first advert is the backup's (it adverts every second from `two`,
    // the master at 3.609375 s + k): it reaches the master, which answers a lower priority
    // with an advert at once; that reaches the backup 50 µs later and it steps down.
    let secs = (heal.at - two).as_nanos().div_ceil(1_000_000_000) as u32;
    let backup_advert = two + Duration::from_secs(1) * secs;
    let master_next = Duration::from_secs(3) + skew(100) + Duration::from_secs(14);
    assert!(backup_advert < master_next);
    let one = backup_advert + LATENCY + LATENCY;
    assert_eq!(heal.get(&Measure::OneMaster).unwrap().at, Some(one));
    assert_eq!(
        heal.get(&Measure::SteppedDown).unwrap().node,
        "keepalived-backup"
    );
    assert_eq!(r.masters_at_end, ["keepalived-master"]);
}

/// Attempt end times of a TCP_CHECK against a down server, from the end of the attempt that
/// removed it: delay_loop, then `retry` retries delay_before_retry apart, and again; each
/// attempt lasts one RTT. Returns the end of the first attempt started at or after `up`.
fn first_attempt_after(removed: Duration, up: Duration, c: &Cluster) -> Duration {
    let t = &c.timing;
    let mut end = removed;
    let mut retry_it = 0;
    loop {
        let gap = if retry_it == 0 {
            t.delay_loop
        } else {
            t.delay_before_retry
        };
        let start = end + gap;
        end = start + RTT;
        if start >= up {
            return end;
        }
        retry_it = (retry_it + 1) % (t.retry + 1);
    }
}

#[test]
fn real_servers_leave_and_rejoin_at_checker_times() {
    let (c, results) = seed();
    for w in &c.webs {
        let r = drill(results, &format!("{} down, up", w.name));
        let (down, up) = (&r.steps[0], &r.steps[1]);
        assert_eq!(
            down.get(&Measure::DestRemoved).unwrap().node,
            "keepalived-master"
        );
        // The first failing check is the next regular one: within delay_loop (+ RTT). Its
        // phase comes from the seeded warm-up draw.
        let failed = down.get(&Measure::FailedCheck).unwrap().at.unwrap();
        let after = failed - down.at;
        assert!(after <= c.timing.delay_loop + RTT, "{}: {after:?}", w.name);
        // retry 1: one retry delay_before_retry later, failing after one RTT, removes it.
        let removed = down.get(&Measure::DestRemoved).unwrap().at.unwrap();
        assert_eq!(
            removed,
            failed + c.timing.delay_before_retry + RTT,
            "{}",
            w.name
        );
        // Back: the first attempt of the down-cycle that starts after `start httpd`.
        let added = up.get(&Measure::DestAdded).unwrap().at.unwrap();
        assert_eq!(added, first_attempt_after(removed, up.at, c), "{}", w.name);
        // Requests scheduled to the stopped server are refused until it leaves the pool.
        assert!(r.requests.failed > 0);
        let (a, b) = r.requests.window.unwrap();
        assert!(a >= down.at && b <= removed, "{}: {a:?}..{b:?}", w.name);
        assert_eq!(r.requests.by_error.keys().collect::<Vec<_>>(), ["refused"]);
    }
}

#[test]
fn the_table_is_stable() {
    let (c, results) = seed();
    let text = render(c, results, 1);
    // Paths of this machine must not reach the snapshot.
    let text = text.replace(concat!(env!("CARGO_MANIFEST_DIR"), "/"), "");
    insta::assert_snapshot!(text);
}

#[test]
fn a_second_run_gives_the_same_figures() {
    let (c, results) = seed();
    let again = run_all(c, 1).unwrap();
    assert_eq!(&again, results);
}
