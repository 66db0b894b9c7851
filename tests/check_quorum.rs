//! Virtual-server logic: quorum with hysteresis, the sorry server, and alpha mode.
//!
//! Every story here uses `delay_loop 5`, `retry 0`, `warmup 0` and an instant network, so
//! checks run at exactly 1, 6, 11, 16, 21 ... s and a failure is final at once.

mod check_support;

use check_support::{Behaviour, Lab, addr, t};
use lvs_model::Duration;
use lvs_model::check::{
    CheckerConfig, RealServerCheckConfig, SorryServerConfig, VirtualServerCheckConfig,
};

fn pool(weights: &[u32]) -> VirtualServerCheckConfig {
    let mut vs = VirtualServerCheckConfig::new("10.0.0.100:80");
    vs.delay_loop = Some(Duration::from_secs(5));
    vs.retry = Some(0);
    vs.warmup = Some(Duration::ZERO);
    for (i, w) in weights.iter().enumerate() {
        let mut rs = RealServerCheckConfig::new(addr(&format!("10.0.0.{}:80", i + 1)), *w);
        rs.checkers.push(CheckerConfig::tcp());
        vs.real_servers.push(rs);
    }
    vs
}

fn lines(lab: &Lab, needle: &str) -> Vec<(f64, String)> {
    lab.lines(needle)
        .into_iter()
        .map(|(at, l)| (at.as_nanos() as f64 / 1e9, l))
        .collect()
}

fn s(at: f64, l: &str) -> (f64, String) {
    (at, l.to_string())
}

/// quorum 4, hysteresis 1, three servers of weight 2, a sorry server.
fn quorum_lab(sorry_inhibit: bool) -> Lab {
    let mut vs = pool(&[2, 2, 2]);
    vs.quorum = 4;
    vs.hysteresis = 1;
    vs.sorry_server = Some(SorryServerConfig {
        addr: addr("10.0.0.250:80"),
        inhibit: sorry_inhibit,
    });
    let mut lab = Lab::new(vec![vs], Duration::ZERO);
    // .1 refuses from 5 s (fails at 6), .2 from 10 s (fails at 11);
    // .1 is back at 15 s (up at 16), .2 at 20 s (up at 21).
    lab.at(t(5.0), "10.0.0.1", Behaviour::Refusing);
    lab.at(t(10.0), "10.0.0.2", Behaviour::Refusing);
    lab.at(t(15.0), "10.0.0.1", Behaviour::Up);
    lab.at(t(20.0), "10.0.0.2", Behaviour::Up);
    lab.start(0);
    lab.run_until(t(25.0));
    lab
}

#[test]
fn quorum_is_lost_below_quorum_minus_hysteresis_and_regained_at_quorum_plus_hysteresis() {
    let lab = quorum_lab(false);
    assert_eq!(
        lines(&lab, "dest"),
        vec![
            s(0.0, "dest add 10.0.0.1:80 w2"),
            s(0.0, "dest add 10.0.0.2:80 w2"),
            s(0.0, "dest add 10.0.0.3:80 w2"),
            // Live weight 6 → 4: still ≥ quorum − hysteresis = 3, quorum stays up.
            s(6.0, "dest remove 10.0.0.1:80"),
            // Live weight 4 → 2 < 3: quorum lost. The pool is emptied and the sorry server
            // goes in with weight 1.
            s(11.0, "dest remove 10.0.0.2:80"),
            s(11.0, "dest remove 10.0.0.3:80"),
            s(11.0, "dest add 10.0.0.250:80 w1"),
            // 16 s: .1 is alive again, live weight 4 < quorum + hysteresis = 5: IPVS untouched.
            // 21 s: live weight 6 ≥ 5: the sorry server leaves and every alive server returns.
            s(21.0, "dest remove 10.0.0.250:80"),
            s(21.0, "dest add 10.0.0.1:80 w2"),
            s(21.0, "dest add 10.0.0.2:80 w2"),
            s(21.0, "dest add 10.0.0.3:80 w2"),
        ]
    );
    assert_eq!(
        lines(&lab, "Quorum"),
        vec![
            // Gained at start: keepalived computes quorum before adding the pool.
            s(0.0, "notify QuorumUp { vs: 0 }"),
            s(11.0, "notify QuorumDown { vs: 0 }"),
            s(21.0, "notify QuorumUp { vs: 0 }"),
        ]
    );
    assert_eq!(lab.checkers.real_server_alive(0, 0), Some(true));
    assert_eq!(lab.checkers.quorum_up(0), Some(true));
}

#[test]
fn sorry_server_inhibit_keeps_it_present_at_weight_zero() {
    let lab = quorum_lab(true);
    assert_eq!(
        lines(&lab, "10.0.0.250"),
        vec![
            // Installed at start with weight 0, after the pool.
            s(0.0, "dest add 10.0.0.250:80 w0"),
            s(11.0, "dest weight 10.0.0.250:80 w1"),
            s(21.0, "dest weight 10.0.0.250:80 w0"),
        ]
    );
    assert_eq!(lab.weight(0, "10.0.0.250:80"), Some(0));
    assert_eq!(lab.weight(0, "10.0.0.3:80"), Some(2));
}

#[test]
fn with_default_quorum_the_sorry_server_serves_exactly_when_nobody_is_alive() {
    let mut vs = pool(&[1]);
    vs.sorry_server = Some(SorryServerConfig {
        addr: addr("10.0.0.250:80"),
        inhibit: false,
    });
    let mut lab = Lab::new(vec![vs], Duration::ZERO);
    lab.at(t(5.0), "10.0.0.1", Behaviour::Refusing);
    lab.at(t(7.0), "10.0.0.1", Behaviour::Up);
    lab.start(0);
    lab.run_until(t(12.0));
    assert_eq!(
        lines(&lab, "dest"),
        vec![
            s(0.0, "dest add 10.0.0.1:80 w1"),
            // Fails at 6: removed, weight sum 0, the sorry server takes over.
            s(6.0, "dest remove 10.0.0.1:80"),
            s(6.0, "dest add 10.0.0.250:80 w1"),
            // Back at 11: sorry server out, the real server in.
            s(11.0, "dest remove 10.0.0.250:80"),
            s(11.0, "dest add 10.0.0.1:80 w1"),
        ]
    );
}

#[test]
fn alpha_starts_with_an_empty_pool_and_adds_each_server_on_its_first_success() {
    let mut vs = pool(&[3, 3]);
    vs.alpha = true;
    let mut lab = Lab::new(vec![vs], Duration::ZERO);
    // .2 refuses until 3 s: its first check (1 s) fails, the next (6 s) succeeds.
    lab.at(t(0.0), "10.0.0.2", Behaviour::Refusing);
    lab.at(t(3.0), "10.0.0.2", Behaviour::Up);
    lab.start(0);
    assert_eq!(lines(&lab, "dest"), vec![], "alpha: nothing before a check");
    lab.run_until(t(10.0));
    assert_eq!(
        lines(&lab, "dest"),
        vec![
            s(1.0, "dest add 10.0.0.1:80 w3"),
            s(6.0, "dest add 10.0.0.2:80 w3")
        ]
    );
}

#[test]
fn alpha_with_a_sorry_server_installs_it_straight_away() {
    let mut vs = pool(&[1]);
    vs.alpha = true;
    vs.sorry_server = Some(SorryServerConfig {
        addr: addr("10.0.0.250:80"),
        inhibit: false,
    });
    let mut lab = Lab::new(vec![vs], Duration::ZERO);
    lab.start(0);
    lab.run_until(t(2.0));
    assert_eq!(
        lines(&lab, "dest"),
        vec![
            // Quorum is down at start (nobody alive): the sorry server goes in at once.
            s(0.0, "dest add 10.0.0.250:80 w1"),
            // The first success (1 s) regains quorum.
            s(1.0, "dest remove 10.0.0.250:80"),
            s(1.0, "dest add 10.0.0.1:80 w1"),
        ]
    );
}

#[test]
fn alpha_with_inhibit_adds_at_weight_zero_then_raises() {
    let mut vs = pool(&[3]);
    vs.alpha = true;
    vs.inhibit_on_failure = true;
    let mut lab = Lab::new(vec![vs], Duration::ZERO);
    lab.start(0);
    lab.run_until(t(2.0));
    assert_eq!(
        lines(&lab, "dest"),
        vec![
            s(0.0, "dest add 10.0.0.1:80 w0"),
            s(1.0, "dest weight 10.0.0.1:80 w3")
        ]
    );
}

#[test]
fn a_real_server_is_alive_only_when_all_its_checkers_are_up() {
    // Two TCP_CHECKs on .1: port 80 and port 8080 (connect_port).
    let mut vs = pool(&[1]);
    let mut second = CheckerConfig::tcp();
    second.connect_port = Some(8080);
    vs.real_servers[0].checkers.push(second);
    let mut lab = Lab::new(vec![vs], Duration::ZERO);
    lab.at(t(5.0), "10.0.0.1", Behaviour::Refusing);
    lab.at(t(9.0), "10.0.0.1", Behaviour::Up);
    lab.start(0);
    lab.run_until(t(12.0));
    // Both fail at 6: one removal. Both succeed at 11: the first success leaves one checker
    // down (no change), the second brings the server back.
    assert_eq!(
        lines(&lab, "dest"),
        vec![
            s(0.0, "dest add 10.0.0.1:80 w1"),
            s(6.0, "dest remove 10.0.0.1:80"),
            s(11.0, "dest add 10.0.0.1:80 w1"),
        ]
    );
    assert_eq!(lines(&lab, "check TCP_CHECK 10.0.0.1:80 ok").len(), 4);
}

#[test]
fn omega_runs_down_notifications_on_shutdown() {
    let mut vs = pool(&[1, 1]);
    vs.omega = true;
    let mut lab = Lab::new(vec![vs.clone()], Duration::ZERO);
    lab.start(0);
    lab.run_until(t(2.0));
    lab.stop();
    let at_stop: Vec<_> = lab
        .log
        .iter()
        .filter(|(at, _)| *at == t(2.0))
        .map(|(_, l)| l.clone())
        .collect();
    assert_eq!(
        at_stop,
        vec![
            "dest remove 10.0.0.1:80",
            "dest remove 10.0.0.2:80",
            "service 0 remove",
            "notify RealServerDown { vs: 0, rs: 10.0.0.1:80 }",
            "notify RealServerDown { vs: 0, rs: 10.0.0.2:80 }",
            "notify QuorumDown { vs: 0 }",
        ]
    );
    // Without omega the same stop is silent.
    let mut lab = Lab::new(vec![pool(&[1, 1])], Duration::ZERO);
    lab.start(0);
    lab.run_until(t(2.0));
    lab.stop();
    assert!(lab.lines("notify RealServerDown").is_empty());
    assert!(!lab.checkers.is_running());
    assert!(lab.checkers.poll_timeout().is_none());
}
