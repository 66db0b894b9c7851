//! HTTP_GET (status, digest, several urls, recovery) and MISC_CHECK (scripted outcomes).
//!
//! HTTP stories: `delay_loop 6`, `warmup 0`, HTTP_GET's defaults `retry 1` and
//! `delay_before_retry 3`, and a 1 ms one-way delay, so an HTTP attempt (connect + GET) takes
//! 4 ms. MISC stories: `delay_loop 6`, `warmup 0`, MISC_CHECK's default `retry 0`.

mod check_support;

use check_support::{Behaviour, Lab, addr, ms, t};
use lvs_model::Duration;
use lvs_model::check::{
    CheckerConfig, CheckerKind, HttpCheckConfig, MiscCheckConfig, MiscOutcome,
    RealServerCheckConfig, UrlCheck, VirtualServerCheckConfig, body_md5,
};

fn vs_with(checker: CheckerConfig, weight: u32) -> VirtualServerCheckConfig {
    let mut vs = VirtualServerCheckConfig::new("10.0.0.100:80");
    vs.delay_loop = Some(Duration::from_secs(6));
    vs.warmup = Some(Duration::ZERO);
    let mut rs = RealServerCheckConfig::new(addr("10.0.0.1:80"), weight);
    rs.checkers.push(checker);
    vs.real_servers.push(rs);
    vs
}

fn http(urls: Vec<UrlCheck>, fast_recovery: bool) -> CheckerConfig {
    let mut h = HttpCheckConfig::new(urls);
    h.fast_recovery = fast_recovery;
    CheckerConfig::new(CheckerKind::Http(h))
}

fn hello_url() -> UrlCheck {
    let mut u = UrlCheck::new("/");
    u.digest = Some(body_md5(b"hello"));
    u
}

fn serving(body: &[u8]) -> Behaviour {
    Behaviour::Http {
        status: 200,
        body: body.to_vec(),
    }
}

fn secs(lab: &Lab, needle: &str) -> Vec<f64> {
    lab.times(needle)
        .into_iter()
        .map(|at| at.as_nanos() as f64 / 1e9)
        .collect()
}

#[test]
fn digest_mismatch_removes_and_two_successes_restore() {
    let mut lab = Lab::new(vec![vs_with(http(vec![hello_url()], false), 1)], ms(1));
    lab.at(t(0.0), "10.0.0.1", serving(b"hello"));
    lab.at(t(20.0), "10.0.0.1", serving(b"tampered"));
    lab.at(t(30.0), "10.0.0.1", serving(b"hello"));
    lab.start(0);
    lab.run_until(t(45.0));
    // Attempts start at 1.000, 7.004, 13.008, 19.012, 25.016 (each 4 ms + delay_loop 6 s).
    assert_eq!(
        secs(&lab, "check HTTP_GET 10.0.0.1:80 ok"),
        // 34.028: the failed url answers again; a full pass (delay_loop later) restores it.
        vec![1.004, 7.008, 13.012, 19.016, 34.028, 40.032]
    );
    // 25.020 mismatch; retry after delay_before_retry 3 s: 28.020 → 28.024, then DOWN.
    assert_eq!(
        secs(&lab, "check HTTP_GET 10.0.0.1:80 fail"),
        vec![25.020, 28.024]
    );
    assert_eq!(secs(&lab, "dest remove"), vec![28.024]);
    // While down the failed url is retried every max(delay_before_retry, delay_loop) = 6 s:
    // 34.024 → ok 34.028 (clears the failure), 40.028 → ok 40.032 → re-added.
    assert_eq!(secs(&lab, "dest add"), vec![0.0, 40.032]);
}

#[test]
fn fast_recovery_drops_the_delay_loop_before_the_confirming_pass() {
    let mut lab = Lab::new(vec![vs_with(http(vec![hello_url()], true), 1)], ms(1));
    lab.at(t(0.0), "10.0.0.1", serving(b"hello"));
    lab.at(t(20.0), "10.0.0.1", serving(b"tampered"));
    lab.at(t(30.0), "10.0.0.1", serving(b"hello"));
    lab.start(0);
    lab.run_until(t(45.0));
    // Same failure as above (down at 28.024, next try 34.024 → ok 34.028); with
    // fast_recovery the confirming pass starts at once: 34.028 → ok at 34.032.
    assert_eq!(secs(&lab, "dest remove"), vec![28.024]);
    assert_eq!(secs(&lab, "dest add"), vec![0.0, 34.032]);
}

#[test]
fn several_urls_are_checked_one_per_delay_loop_and_all_must_pass_to_recover() {
    let urls = vec![UrlCheck::new("/a"), UrlCheck::new("/b")];
    let mut lab = Lab::new(vec![vs_with(http(urls, false), 1)], ms(1));
    let ok = |p: &str| (p.to_string(), 200, b"x".to_vec());
    let bad = |p: &str| (p.to_string(), 500, b"x".to_vec());
    lab.at(
        t(0.0),
        "10.0.0.1",
        Behaviour::HttpByPath(vec![ok("/a"), ok("/b")]),
    );
    lab.at(
        t(15.0),
        "10.0.0.1",
        Behaviour::HttpByPath(vec![ok("/a"), bad("/b")]),
    );
    lab.at(
        t(30.0),
        "10.0.0.1",
        Behaviour::HttpByPath(vec![ok("/a"), ok("/b")]),
    );
    lab.start(0);
    lab.run_until(t(50.0));
    // /a at 1.000, /b at 7.004, /a at 13.008, /b at 19.012 → 500 at 19.016;
    // retry /b at 22.016 → 500 at 22.020: DOWN.
    assert_eq!(secs(&lab, "fail"), vec![19.016, 22.020, 28.024]);
    assert_eq!(secs(&lab, "dest remove"), vec![22.020]);
    // Down: /b again at 28.020 (still 500 at 28.024), 34.024 → ok; then the whole list from
    // the first url, one per delay_loop: /a 40.028 → ok, /b 46.032 → ok at 46.036: back.
    assert_eq!(
        secs(&lab, "ok"),
        vec![1.004, 7.008, 13.012, 34.028, 40.032, 46.036]
    );
    assert_eq!(secs(&lab, "dest add"), vec![0.0, 46.036]);
}

#[test]
fn status_code_outside_the_set_fails_and_ssl_get_is_named_as_such() {
    let mut url = UrlCheck::new("/health");
    url.status_codes = vec![204..=204];
    let mut h = HttpCheckConfig::new(vec![url]);
    h.ssl = true;
    let mut lab = Lab::new(
        vec![vs_with(CheckerConfig::new(CheckerKind::Http(h)), 1)],
        ms(1),
    );
    // The server answers 200, which status_code 204 does not accept: the first-ever
    // failure is final at once.
    lab.at(t(0.0), "10.0.0.1", serving(b"hello"));
    lab.start(0);
    lab.run_until(t(2.0));
    assert_eq!(secs(&lab, "check SSL_GET 10.0.0.1:80 fail"), vec![1.004]);
    assert_eq!(secs(&lab, "dest remove"), vec![1.004]);
}

fn misc(timeout: Option<u64>, dynamic: bool) -> CheckerConfig {
    CheckerConfig::new(CheckerKind::Misc(MiscCheckConfig {
        path: "/usr/local/bin/check.sh".into(),
        timeout: timeout.map(Duration::from_secs),
        dynamic,
    }))
}

#[test]
fn misc_check_follows_the_scripted_exit_codes() {
    let rs = addr("10.0.0.1:80");
    let mut lab = Lab::new(vec![vs_with(misc(None, false), 1)], ms(1));
    lab.start(0);
    // Runs at 1, 7, 13, 19, 25 (delay_loop counted from each start; scripts take no time).
    lab.run_until(t(10.0));
    lab.checkers.set_misc_result(rs, MiscOutcome::exit(1));
    lab.run_until(t(20.0));
    lab.checkers.set_misc_result(rs, MiscOutcome::exit(0));
    lab.run_until(t(26.0));
    assert_eq!(
        secs(&lab, "check MISC_CHECK 10.0.0.1:80 ok"),
        vec![1.0, 7.0, 25.0]
    );
    assert_eq!(
        secs(&lab, "check MISC_CHECK 10.0.0.1:80 fail"),
        vec![13.0, 19.0]
    );
    // retry 0: the first failure at 13 removes it; the success at 25 re-adds it.
    assert_eq!(secs(&lab, "dest remove"), vec![13.0]);
    assert_eq!(secs(&lab, "dest add"), vec![0.0, 25.0]);

    // A queued outcome is used once, before the sticky one.
    let mut lab = Lab::new(vec![vs_with(misc(None, false), 1)], ms(1));
    lab.checkers.queue_misc_result(rs, MiscOutcome::exit(2));
    lab.start(0);
    lab.run_until(t(8.0));
    assert_eq!(secs(&lab, "dest remove"), vec![1.0]);
    assert_eq!(secs(&lab, "dest add"), vec![0.0, 7.0]);
}

#[test]
fn a_hanging_script_is_killed_at_misc_timeout() {
    let rs = addr("10.0.0.1:80");
    let mut lab = Lab::new(vec![vs_with(misc(Some(2), false), 1)], ms(1));
    lab.start(0);
    lab.run_until(t(10.0));
    lab.checkers.set_misc_result(rs, MiscOutcome::Hang);
    lab.run_until(t(20.0));
    // The run that starts at 13 is killed at 13 + misc_timeout 2 = 15; the next run is
    // delay_loop after the *start*: 19, killed at 21 (after this window).
    assert_eq!(secs(&lab, "fail"), vec![15.0]);
    assert_eq!(secs(&lab, "dest remove"), vec![15.0]);
    // A slow script that still exits within the timeout is a plain result.
    lab.checkers.set_misc_result(
        rs,
        MiscOutcome::Exit {
            code: 0,
            after: Duration::from_millis(1500),
        },
    );
    lab.run_until(t(30.0));
    // 19 → killed 21 (it was already hanging); 25 → exits 0 at 26.5: re-added.
    assert_eq!(secs(&lab, "fail"), vec![15.0, 21.0]);
    assert_eq!(secs(&lab, "dest add"), vec![0.0, 26.5]);
}

#[test]
fn misc_dynamic_sets_the_weight_from_the_exit_code() {
    let rs = addr("10.0.0.1:80");
    let mut lab = Lab::new(vec![vs_with(misc(None, true), 1)], ms(1));
    lab.start(0);
    lab.run_until(t(2.0));
    // Exit 5 → weight 5 − 2 = 3 at the run at 7.
    lab.checkers.set_misc_result(rs, MiscOutcome::exit(5));
    lab.run_until(t(8.0));
    // Exit 2 → weight 0 at 13 (still alive, weight 0).
    lab.checkers.set_misc_result(rs, MiscOutcome::exit(2));
    lab.run_until(t(14.0));
    // Exit 1 is a failure even with misc_dynamic: removed at 19.
    lab.checkers.set_misc_result(rs, MiscOutcome::exit(1));
    lab.run_until(t(20.0));
    // Exit 0 → back with the configured weight 1 at 25.
    lab.checkers.set_misc_result(rs, MiscOutcome::exit(0));
    lab.run_until(t(26.0));
    let dest: Vec<(f64, String)> = lab
        .lines("dest")
        .into_iter()
        .map(|(at, l)| (at.as_nanos() as f64 / 1e9, l))
        .collect();
    assert_eq!(
        dest,
        vec![
            (0.0, "dest add 10.0.0.1:80 w1".to_string()),
            (7.0, "dest weight 10.0.0.1:80 w3".to_string()),
            (13.0, "dest weight 10.0.0.1:80 w0".to_string()),
            (19.0, "dest remove 10.0.0.1:80".to_string()),
            (25.0, "dest add 10.0.0.1:80 w1".to_string()),
        ]
    );
}
