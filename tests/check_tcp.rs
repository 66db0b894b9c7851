//! TCP_CHECK timing stories with the seed's configuration, at exact simulated times.
//!
//! Seed: `delay_loop 6` on the virtual server; each real server (weight 3) has
//! `TCP_CHECK { connect_timeout 10; nb_get_retry 3; delay_before_retry 3; connect_port 80 }`.
//! `nb_get_retry` is an unknown keyword in keepalived 2.2.7, so retry is TCP_CHECK's default 1.
//! The lab's round trip is 2 ms (1 ms each way), so a refused or accepted connect takes 2 ms.

mod check_support;

use check_support::{Behaviour, Lab, addr, ms, t};
use lvs_model::Duration;
use lvs_model::check::{
    CheckerConfig, DestAction, RealServerCheckConfig, VirtualServerCheckConfig,
};

/// `random()` = 2^30: the warmup draw is 6 s × 2^30 / (2^31 − 1) = 3.000000 s (whole µs).
const HALF: u32 = 0x8000_0000;

fn seed_vs() -> VirtualServerCheckConfig {
    let mut vs = VirtualServerCheckConfig::new("192.168.80.200:80");
    vs.delay_loop = Some(Duration::from_secs(6));
    for ip in ["192.168.80.102:80", "192.168.80.103:80"] {
        let mut rs = RealServerCheckConfig::new(addr(ip), 3);
        let mut chk = CheckerConfig::tcp();
        chk.connect_timeout = Some(Duration::from_secs(10));
        chk.delay_before_retry = Some(Duration::from_secs(3));
        chk.connect_port = Some(80);
        rs.checkers.push(chk);
        vs.real_servers.push(rs);
    }
    vs
}

#[test]
fn start_installs_every_dest_before_any_check() {
    let mut lab = Lab::new(vec![seed_vs()], ms(1));
    lab.start(HALF);
    // Non-alpha: both real servers are in IPVS at t=0, with their weight, before any check.
    assert_eq!(
        lab.actions,
        vec![
            (t(0.0), DestAction::AddService { vs: 0 }),
            (
                t(0.0),
                DestAction::Add {
                    vs: 0,
                    rs: addr("192.168.80.102:80"),
                    weight: 3
                }
            ),
            (
                t(0.0),
                DestAction::Add {
                    vs: 0,
                    rs: addr("192.168.80.103:80"),
                    weight: 3
                }
            ),
        ]
    );
    lab.run_until(t(20.0));
    // First check at 1 s (BOOTSTRAP_DELAY) + 3 s (warmup draw); then every 6 s counted from
    // the end of the previous attempt, which took 2 ms: 4.002 + 6 = 10.002, 16.004.
    assert_eq!(
        lab.times("check TCP_CHECK 192.168.80.102:80 ok"),
        vec![t(4.002), t(10.004), t(16.006)]
    );
    assert_eq!(lab.lines("dest").len(), 2, "no dest change while healthy");
}

#[test]
fn httpd_stops_then_restarts_like_the_e2_recording() {
    let mut lab = Lab::new(vec![seed_vs()], ms(1));
    lab.start(HALF);
    // Checks of .102 start at 4.000, 10.002, 16.004, 22.006 (each + 2 ms round trip + 6 s).
    // httpd stops at 20 s: the SYN at 22.006 gets an RST at 22.008.
    lab.at(t(20.0), "192.168.80.102", Behaviour::Refusing);
    // httpd is back at 28 s.
    lab.at(t(28.0), "192.168.80.102", Behaviour::Up);
    lab.run_until(t(40.0));
    assert_eq!(
        lab.times("check TCP_CHECK 192.168.80.102:80 fail"),
        // First failure at 22.008; retry delay_before_retry (3 s) later: 25.008 + 2 ms.
        vec![t(22.008), t(25.010)]
    );
    // Removed right after the retry fails: 3.002 s after the first failed check, as in E2.
    assert_eq!(lab.times("dest remove 192.168.80.102:80"), vec![t(25.010)]);
    // Re-added at the next regular check, delay_loop after the removal: 31.010 + 2 ms.
    assert_eq!(
        lab.times("dest add 192.168.80.102:80 w3"),
        vec![t(0.0), t(31.012)]
    );
    // .103 was never touched.
    assert_eq!(lab.lines("192.168.80.103:80 fail"), vec![]);
    assert_eq!(lab.weight(0, "192.168.80.103:80"), Some(3));
    assert_eq!(lab.weight(0, "192.168.80.102:80"), Some(3));
}

#[test]
fn a_down_server_is_probed_alternately_after_delay_loop_and_delay_before_retry() {
    let mut lab = Lab::new(vec![seed_vs()], ms(1));
    lab.start(HALF);
    lab.at(t(20.0), "192.168.80.102", Behaviour::Refusing);
    lab.run_until(t(50.0));
    // Removed at 25.010 (see above). keepalived 2.2.7 keeps counting retries while DOWN:
    // 25.010 + 6 = 31.010 → fail 31.012; + 3 = 34.012 → fail 34.014; + 6 = 40.014 → 40.016;
    // + 3 = 43.016 → 43.018; + 6 = 49.018 → 49.020.
    assert_eq!(
        lab.times("check TCP_CHECK 192.168.80.102:80 fail"),
        vec![
            t(22.008),
            t(25.010),
            t(31.012),
            t(34.014),
            t(40.016),
            t(43.018),
            t(49.020)
        ]
    );
    assert_eq!(lab.times("dest remove"), vec![t(25.010)]);
}

#[test]
fn a_crashed_host_costs_connect_timeout_per_attempt() {
    let mut lab = Lab::new(vec![seed_vs()], ms(1));
    lab.start(HALF);
    // The host goes silent at 20 s; the check starting at 22.006 never gets an answer.
    lab.at(t(20.0), "192.168.80.102", Behaviour::Silent);
    lab.at(t(50.0), "192.168.80.102", Behaviour::Up);
    lab.run_until(t(60.0));
    assert_eq!(
        lab.times("check TCP_CHECK 192.168.80.102:80 fail"),
        // 22.006 + connect_timeout 10 = 32.006; retry at 35.006, times out at 45.006.
        vec![t(32.006), t(45.006)]
    );
    assert_eq!(lab.times("dest remove 192.168.80.102:80"), vec![t(45.006)]);
    // Next regular check 45.006 + 6 = 51.006 finds the host back: added at 51.008.
    assert_eq!(
        lab.times("dest add 192.168.80.102:80"),
        vec![t(0.0), t(51.008)]
    );
}

#[test]
fn inhibit_on_failure_sets_weight_zero_instead_of_removing() {
    let mut vs = seed_vs();
    vs.real_servers[0].inhibit_on_failure = Some(true);
    let mut lab = Lab::new(vec![vs], ms(1));
    lab.start(HALF);
    lab.at(t(20.0), "192.168.80.102", Behaviour::Refusing);
    lab.at(t(28.0), "192.168.80.102", Behaviour::Up);
    lab.run_until(t(40.0));
    // Same times as the plain story: weight 0 at 25.010, weight 3 again at 31.012.
    assert_eq!(
        lab.lines("192.168.80.102:80 w"),
        vec![
            (t(0.0), "dest add 192.168.80.102:80 w3".to_string()),
            (t(25.010), "dest weight 192.168.80.102:80 w0".to_string()),
            (t(31.012), "dest weight 192.168.80.102:80 w3".to_string()),
        ]
    );
    assert_eq!(lab.lines("dest remove"), vec![]);
    // On SIGTERM keepalived deletes even the inhibited dest, then the service.
    lab.stop();
    assert_eq!(
        lab.lines("remove"),
        vec![
            (t(40.0), "dest remove 192.168.80.102:80".to_string()),
            (t(40.0), "dest remove 192.168.80.103:80".to_string()),
            (t(40.0), "service 0 remove".to_string()),
        ]
    );
    assert!(lab.ipvs.is_empty());
}

#[test]
fn retry_zero_removes_on_the_first_failure_and_retry_three_after_four() {
    // retry 3 (E3a's config): three retries 3 s apart after the first failure.
    let mut vs = seed_vs();
    vs.real_servers[0].checkers[0].retry = Some(3);
    let mut lab = Lab::new(vec![vs], ms(1));
    lab.start(HALF);
    lab.at(t(20.0), "192.168.80.102", Behaviour::Refusing);
    lab.run_until(t(40.0));
    // Failures at 22.008, 25.010, 28.012, 31.014; removed after the fourth; then the next
    // regular check 31.014 + 6 s fails at 37.016.
    assert_eq!(
        lab.times("check TCP_CHECK 192.168.80.102:80 fail"),
        vec![t(22.008), t(25.010), t(28.012), t(31.014), t(37.016)]
    );
    assert_eq!(lab.times("dest remove"), vec![t(31.014)]);

    let mut vs = seed_vs();
    vs.retry = Some(0);
    let mut lab = Lab::new(vec![vs], ms(1));
    lab.start(HALF);
    lab.at(t(20.0), "192.168.80.102", Behaviour::Refusing);
    lab.run_until(t(30.0));
    // retry 0 at the VS level is inherited: removed at the first failure.
    assert_eq!(lab.times("dest remove 192.168.80.102:80"), vec![t(22.008)]);
}

#[test]
fn the_first_ever_failure_is_final_at_once() {
    let mut lab = Lab::new(vec![seed_vs()], ms(1));
    // .102 refuses from the start: its first check (4.000) fails and it is removed at once,
    // although retry is 1 (keepalived starts retry_it at retry).
    lab.at(t(0.0), "192.168.80.102", Behaviour::Refusing);
    lab.start(HALF);
    lab.run_until(t(5.0));
    assert_eq!(lab.times("dest remove 192.168.80.102:80"), vec![t(4.002)]);
}

#[test]
fn warmup_draw_and_warmup_zero() {
    let mut lab = Lab::new(vec![seed_vs()], ms(1));
    // random() = 0: the first check is at exactly BOOTSTRAP_DELAY.
    lab.start(0);
    lab.run_until(t(1.5));
    assert_eq!(
        lab.times("check TCP_CHECK"),
        vec![t(1.002), t(1.002)],
        "both checkers at 1 s"
    );
    // random() = RAND_MAX (2^31 − 1): the whole warmup, 1 + 6 = 7 s.
    let mut lab = Lab::new(vec![seed_vs()], ms(1));
    lab.start(u32::MAX);
    lab.run_until(t(7.5));
    assert_eq!(lab.times("check TCP_CHECK"), vec![t(7.002), t(7.002)]);
    // warmup 0 never draws: first check at 1 s whatever the RNG says.
    let mut vs = seed_vs();
    vs.warmup = Some(Duration::ZERO);
    let mut lab = Lab::new(vec![vs], ms(1));
    lab.start(u32::MAX);
    lab.run_until(t(1.5));
    assert_eq!(lab.times("check TCP_CHECK"), vec![t(1.002), t(1.002)]);
}

#[test]
fn crash_leaves_ipvs_alone_and_a_restart_starts_over() {
    let mut lab = Lab::new(vec![seed_vs()], ms(1));
    lab.start(HALF);
    lab.at(t(20.0), "192.168.80.102", Behaviour::Refusing);
    lab.run_until(t(21.0));
    lab.crash();
    lab.run_until(t(60.0));
    // No check ran after the crash and nothing was removed.
    assert_eq!(lab.times("fail"), vec![]);
    assert_eq!(lab.ipvs.len(), 2);
    assert!(lab.checkers.poll_timeout().is_none());
    // A fresh process re-issues its adds; this lab's IPVS would reject duplicates, so clear it
    // as a kernel would have answered EEXIST without change.
    lab.ipvs.clear();
    lab.start(HALF);
    lab.run_until(t(65.0));
    // The new process's first check (60 + 4 s) finds .102 refusing: removed at once.
    assert_eq!(lab.times("dest remove 192.168.80.102:80"), vec![t(64.002)]);
}
