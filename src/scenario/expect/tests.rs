//! Each expectation kind over hand-built logs, passing and failing.

use super::*;
use lvs_model::event::HttpError;

fn topology() -> Topology {
    let mut t = Topology::default();
    for (n, r, ip) in [
        ("lvs-master", Role::Director, [192, 168, 80, 100]),
        ("lvs-backup", Role::Director, [192, 168, 80, 101]),
        ("web-102", Role::Web, [192, 168, 80, 102]),
        ("web-103", Role::Web, [192, 168, 80, 103]),
        ("client", Role::Client, [192, 168, 80, 50]),
    ] {
        t.nodes.insert(n.into(), (r, Ipv4Addr::from(ip)));
    }
    t
}

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

fn parse_with(text: &str, reference: u64, within: Option<u64>) -> Result<Expectation, ParseError> {
    let topo = topology();
    let ctx = ParseContext {
        topology: &topo,
        duration: Duration::from_secs(90),
        reference: Duration::from_nanos(reference),
        within: within.map(Duration::from_nanos),
    };
    Expectation::parse(text, &ctx, 7)
}

fn parse(text: &str) -> Expectation {
    parse_with(text, 30 * S, None).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

fn check(text: &str, log: &[Record]) -> Verdict {
    parse(text).evaluate(log)
}

fn state(t: u64, node: &str, from: VrrpStateName, to: VrrpStateName) -> Record {
    Record {
        t,
        node: node.into(),
        event: Event::VrrpState {
            instance: "VI_1".into(),
            from,
            to,
        },
    }
}

fn advert(t: u64, node: &str, priority: u8) -> Record {
    Record {
        t,
        node: node.into(),
        event: Event::VrrpAdvert {
            instance: "VI_1".into(),
            vrid: 51,
            priority,
            version: 2,
        },
    }
}

fn vip(t: u64, node: &str, added: bool) -> Record {
    Record {
        t,
        node: node.into(),
        event: Event::Vip {
            instance: "VI_1".into(),
            ip: Ipv4Addr::new(192, 168, 80, 200),
            added,
        },
    }
}

fn dest(t: u64, node: &str, rs: &str, change: DestChange) -> Record {
    Record {
        t,
        node: node.into(),
        event: Event::IpvsDest {
            vs: "192.168.80.200:80".into(),
            rs: rs.into(),
            change,
            weight: 3,
        },
    }
}

fn check_result(t: u64, node: &str, rs: &str, ok: bool) -> Record {
    Record {
        t,
        node: node.into(),
        event: Event::CheckResult {
            vs: "192.168.80.200:80".into(),
            rs: rs.into(),
            checker: "TCP_CHECK".into(),
            ok,
        },
    }
}

fn answer(started: u64, server: &str) -> Record {
    Record {
        t: started + 2 * MS,
        node: "client".into(),
        event: Event::HttpRequest {
            client: "client".into(),
            started,
            status: Some(200),
            server: Some(server.into()),
            error: None,
        },
    }
}

fn refused(started: u64) -> Record {
    Record {
        t: started + MS,
        node: "client".into(),
        event: Event::HttpRequest {
            client: "client".into(),
            started,
            status: None,
            server: None,
            error: Some(HttpError::Refused),
        },
    }
}

use VrrpStateName::{Backup, Init, Master, Stop};

/// The seed's graceful stop: master at 3.609375 s, stop at 30 s, backup MASTER 157/256 s later.
fn failover_log() -> Vec<Record> {
    let mut log = vec![
        state(0, "lvs-master", Init, Backup),
        state(300 * MS, "lvs-backup", Init, Backup),
        state(3_609_375_000, "lvs-master", Backup, Master),
        vip(3_609_375_000, "lvs-master", true),
    ];
    for i in 0..27 {
        log.push(advert(3_609_375_000 + i * S, "lvs-master", 100));
    }
    log.push(advert(30 * S, "lvs-master", 0));
    log.push(state(30 * S, "lvs-master", Master, Stop));
    log.push(vip(30 * S, "lvs-master", false));
    let takeover = 30 * S + 50_000 + 613_281_250;
    log.push(state(takeover, "lvs-backup", Backup, Master));
    log.push(advert(takeover, "lvs-backup", 99));
    log.push(vip(takeover, "lvs-backup", true));
    log
}

#[test]
fn state_at_instant() {
    let log = failover_log();
    assert!(check("lvs-backup is MASTER at 31s", &log).passed);
    assert!(check("lvs-master is STOP in VI_1 at 31s", &log).passed);
    let v = check("lvs-backup is MASTER at 30.5s", &log);
    assert!(!v.passed);
    assert_eq!(v.explanation, "at 30.5s lvs-backup is: VI_1 BACKUP");
    assert!(
        !v.context.is_empty(),
        "a failure shows the events around it"
    );
    assert!(!check("lvs-backup is MASTER in VI_2 at 31s", &log).passed);
}

#[test]
fn becomes_within_after_the_last_fault() {
    let log = failover_log();
    // Reference time 30 s (the last fault): takeover 0.61333125 s later.
    let v = check("lvs-backup becomes MASTER within 1s", &log);
    assert!(v.passed, "{v:?}");
    assert_eq!(v.at, Some(30_613_331_250));
    let v = check("lvs-backup becomes MASTER within 500ms", &log);
    assert!(!v.passed);
    assert!(
        v.explanation.contains("0.61333125s after 30s"),
        "{}",
        v.explanation
    );
    // The `within = ...` field of [[expect]] is the same deadline.
    let e = parse_with("lvs-backup becomes MASTER", 30 * S, Some(S)).unwrap();
    assert_eq!(e.text, "lvs-backup becomes MASTER within 1s");
    assert!(e.evaluate(&log).passed);
    // An explicit anchor time.
    assert!(check("lvs-backup becomes MASTER within 1s after 30s", &log).passed);
    assert!(!check("lvs-backup becomes MASTER within 1s after 10s", &log).passed);
}

#[test]
fn exact_delay_after_an_event_anchor() {
    let log = failover_log();
    // 157/256 s after the priority-0 advert, plus 50 µs of LAN latency.
    let ok =
        "lvs-backup becomes MASTER 613.28125ms ± 100us after the advert priority 0 from lvs-master";
    assert!(check(ok, &log).passed, "{:?}", check(ok, &log));
    let tight = "lvs-backup becomes MASTER 613.28125ms after the advert priority 0 from lvs-master";
    let v = check(tight, &log);
    assert!(!v.passed, "50 µs late is not exact");
    assert!(
        v.explanation
            .contains("0.61333125s after advert priority 0 from lvs-master at 30s"),
        "{}",
        v.explanation
    );
    // A sum keeps the arithmetic visible; the last advert before the fault anchors a crash.
    let crash = "lvs-backup becomes MASTER 3s + 613.28125ms ± 1ms after the last advert priority 100 from lvs-master";
    // Last prio-100 advert at 29.609375 s; takeover at 30.61333125 s = +1.00395625 s: fails.
    assert!(!check(crash, &log).passed);
    let v = check(
        "lvs-backup becomes MASTER within 1s after the first advert priority 7 from lvs-master",
        &log,
    );
    assert!(!v.passed);
    assert!(
        v.explanation.starts_with("the anchor never happened"),
        "{}",
        v.explanation
    );
}

#[test]
fn event_at_time_with_tolerance() {
    let log = failover_log();
    assert!(check("lvs-master becomes MASTER at 3.609375s", &log).passed);
    assert!(check("lvs-master becomes MASTER at 3.6s ± 10ms", &log).passed);
    let v = check("lvs-master becomes MASTER at 3.6s", &log);
    assert!(!v.passed);
    assert!(v.explanation.contains("+0.009375s"), "{}", v.explanation);
    assert!(
        check(
            "VIP 192.168.80.200 moves to lvs-backup between 30s and 31s",
            &log
        )
        .passed
    );
    assert!(
        !check(
            "VIP 192.168.80.200 moves to lvs-backup between 20s and 30s",
            &log
        )
        .passed
    );
}

#[test]
fn never_becomes() {
    let log = failover_log();
    assert!(check("lvs-backup never becomes MASTER before 30s", &log).passed);
    let v = check("lvs-backup never becomes MASTER", &log);
    assert!(!v.passed);
    assert!(v.explanation.contains("30.61333125s"), "{}", v.explanation);
    assert!(check("no advert priority 0 from lvs-backup", &log).passed);
    assert!(!check("no advert priority 0 from lvs-master after 20s", &log).passed);
}

#[test]
fn vip_holder() {
    let log = failover_log();
    assert!(check("VIP 192.168.80.200 on lvs-backup at 40s", &log).passed);
    assert!(check("VIP 192.168.80.200 only on lvs-backup at 40s", &log).passed);
    let v = check("VIP 192.168.80.200 on lvs-master at 40s", &log);
    assert!(!v.passed);
    assert_eq!(
        v.explanation,
        "at 40s VIP 192.168.80.200 is held by lvs-backup"
    );
    // A crashed master keeps its VIP: both hold it, so `only` fails.
    let mut crash = failover_log();
    crash.retain(|r| !matches!(r.event, Event::Vip { added: false, .. }));
    assert!(check("VIP 192.168.80.200 on lvs-backup at 40s", &crash).passed);
    let v = check("VIP 192.168.80.200 only on lvs-backup at 40s", &crash);
    assert!(!v.passed);
    assert!(
        v.explanation.contains("lvs-backup and lvs-master"),
        "{}",
        v.explanation
    );
}

/// httpd on .102 stops at 30 s; checks every 6 s from 2 s; removal after one retry 3 s later.
fn checker_log() -> Vec<Record> {
    let rs = "192.168.80.102:80";
    let mut log = vec![
        dest(0, "lvs-master", "192.168.80.103:80", DestChange::Added),
        dest(0, "lvs-master", rs, DestChange::Added),
    ];
    for k in 0..5 {
        log.push(check_result(2 * S + k * 6 * S, "lvs-master", rs, true));
    }
    log.push(check_result(32 * S + 100_000, "lvs-master", rs, false));
    log.push(check_result(35 * S + 100_000, "lvs-master", rs, false));
    log.push(dest(
        35 * S + 100_000,
        "lvs-master",
        rs,
        DestChange::Removed,
    ));
    log.push(check_result(41 * S + 100_000, "lvs-master", rs, false));
    log.push(check_result(47 * S + 100_000, "lvs-master", rs, true));
    log.push(dest(47 * S + 100_000, "lvs-master", rs, DestChange::Added));
    log.sort_by_key(|r| r.t);
    log
}

#[test]
fn dest_changes() {
    let log = checker_log();
    assert!(
        check(
            "dest 192.168.80.102:80 removed on lvs-master within 15s",
            &log
        )
        .passed
    );
    assert!(
        check(
            "dest 192.168.80.102:80 removed on lvs-master within 6s + 3s + 1ms",
            &log
        )
        .passed
    );
    assert!(
        !check(
            "dest 192.168.80.102:80 removed on lvs-master within 5s",
            &log
        )
        .passed
    );
    assert!(check(
        "dest 192.168.80.102:80 removed on lvs-master 3s after the first failed check of 192.168.80.102:80 on lvs-master",
        &log
    )
    .passed);
    assert!(check(
        "dest 192.168.80.102:80 added on lvs-master 12s after the dest 192.168.80.102:80 removed on lvs-master",
        &log
    )
    .passed);
    let v = check(
        "dest 192.168.80.102:80 added on lvs-master within 10s after 30s",
        &log,
    );
    assert!(!v.passed);
    assert_eq!(
        v.explanation,
        "dest 192.168.80.102:80 added on lvs-master at 47.0001s, 17.0001s after 30s (limit 10s)"
    );
    // The other real server never changes.
    let v = check(
        "dest 192.168.80.103:80 removed on lvs-master within 15s",
        &log,
    );
    assert!(!v.passed);
    assert_eq!(
        v.explanation,
        "no dest 192.168.80.103:80 removed on lvs-master after 30s"
    );
}

fn seed_requests(failing_102: std::ops::Range<u64>) -> Vec<Record> {
    // One request every 500 ms; wrr 3/3 starts with .103 (the last dest keepalived added).
    let mut log = Vec::new();
    for i in 0..40u64 {
        let started = S + i * 500 * MS;
        let server = if i % 2 == 0 {
            "192.168.80.103"
        } else {
            "192.168.80.102"
        };
        if server.ends_with("102") && failing_102.contains(&started) {
            log.push(refused(started));
        } else {
            log.push(answer(started, server));
        }
    }
    log
}

#[test]
fn responses_alternate() {
    let log = seed_requests(0..0);
    let v = check("responses alternate between web-102 and web-103", &log);
    assert!(v.passed, "{v:?}");
    assert_eq!(
        v.explanation,
        "40 responses during the run alternate: web-103 web-102 web-103 web-102 …"
    );
    assert!(
        check(
            "responses alternate between 192.168.80.102 and 192.168.80.103 after 5s",
            &log
        )
        .passed
    );
    // Failures on .102 leave .103 answering twice in a row.
    let log = seed_requests(5 * S..8 * S);
    let v = check("responses alternate between web-102 and web-103", &log);
    assert!(!v.passed);
    assert!(
        v.explanation
            .starts_with("response 10 (request started at 6s) came from web-103"),
        "{}",
        v.explanation
    );
    assert!(!v.context.is_empty());
}

#[test]
fn responses_split() {
    let log = seed_requests(0..0);
    assert!(check("responses split 1:1 between web-102 and web-103", &log).passed);
    assert!(check("responses split 3:3 between web-102 and web-103 ± 0", &log).passed);
    let v = check("responses split 2:1 between web-102 and web-103", &log);
    assert!(!v.passed);
    assert_eq!(
        v.explanation,
        "40 responses during the run: web-102 20, web-103 20"
    );
    // 3 failures: .102 answers 17 of 37; 1:1 wants 18.5 ± 1.
    let log = seed_requests(5 * S..8 * S);
    assert!(!check("responses split 1:1 between web-102 and web-103", &log).passed);
    assert!(check("responses split 1:1 between web-102 and web-103 ± 5%", &log).passed);
}

#[test]
fn only_and_answers() {
    let log = seed_requests(5 * S..8 * S);
    assert!(check("only web-103 answers between 5s and 7.9s", &log).passed);
    let v = check("only web-103 answers between 4s and 8s", &log);
    assert!(!v.passed);
    assert_eq!(
        v.explanation,
        "the request started at 4.5s was answered by 192.168.80.102"
    );
    assert!(check("web-102 answers after 8s", &log).passed);
    assert!(!check("web-102 answers between 5s and 7.9s", &log).passed);
    assert!(check("web-102 never answers between 5s and 7.9s", &log).passed);
    assert!(!check("web-102 never answers", &log).passed);
    assert!(check("the first response comes from web-103", &log).passed);
    let v = check("the first response comes from web-102", &log);
    assert!(!v.passed);
    assert_eq!(
        v.explanation,
        "the first response during the run (request started at 1s) came from 192.168.80.103"
    );
    assert!(
        check(
            "the first response comes from 192.168.80.102 after 1.4s",
            &log
        )
        .passed
    );
    // No answers at all: `only` needs at least one.
    assert!(!check("only web-103 answers after 80s", &log).passed);
}

#[test]
fn failed_requests() {
    let log = seed_requests(5 * S..8 * S);
    let v = check("failed requests <= 3 between 5s and 10s", &log);
    assert!(v.passed, "{v:?}");
    assert_eq!(
        v.explanation,
        "3 of 10 requests between 5s and 10s failed (started 5.5s..7.5s)"
    );
    let v = check("failed requests < 3", &log);
    assert!(!v.passed);
    assert!(v.explanation.ends_with("expected < 3"), "{}", v.explanation);
    assert!(check("failed requests == 3", &log).passed);
    assert!(check("no failed requests after 8s", &log).passed);
    let v = check("no failed requests", &log);
    assert!(!v.passed);
    assert_eq!(v.at, Some(5_501_000_000));
}

#[test]
fn master_safety() {
    let log = failover_log();
    assert!(check("at most one MASTER for vrid 51", &log).passed);
    assert!(check("at most one MASTER", &log).passed);
    // The seed's start-up race (E1): the backup is MASTER for 20 ms next to the master.
    let mut race = log.clone();
    race.push(advert(3_610_000_000, "lvs-backup", 99));
    race.push(state(3_610_000_000, "lvs-backup", Backup, Master));
    race.push(state(3_630_000_000, "lvs-backup", Master, Backup));
    race.sort_by_key(|r| r.t);
    let v = check("at most one MASTER for vrid 51", &race);
    assert!(!v.passed);
    assert_eq!(
        v.explanation,
        "lvs-backup and lvs-master were all MASTER of vrid 51 from 3.61s to 3.63s (0.02s)"
    );
    assert_eq!(v.at, Some(3_610_000_000));
    assert!(check("no two masters for longer than 1s", &race).passed);
    assert!(!check("no two masters for longer than 10ms for vrid 51", &race).passed);
    assert!(check("at most one MASTER after 5s", &race).passed);
    // A crash leaves nobody to say STOP: a dual master that never ends counts to the log's end.
    let mut split = log.clone();
    split.retain(|r| !matches!(&r.event, Event::VrrpState { to: Stop, .. }));
    assert!(!check("no two masters for longer than 1s", &split).passed);
}

#[test]
fn counts() {
    let log = failover_log();
    assert!(check("exactly 1 adverts priority 0 from lvs-master", &log).passed);
    assert!(check("exactly 27 adverts priority 100 from lvs-master", &log).passed);
    assert!(check("at least 1 advert from lvs-backup after 30s", &log).passed);
    let v = check("at most 26 adverts from lvs-master before 29s", &log);
    assert!(v.passed, "{v:?}");
    let v = check("exactly 2 adverts from lvs-backup", &log);
    assert!(!v.passed);
    assert_eq!(
        v.explanation,
        "lvs-backup sent 1 adverts during the run; expected == 2"
    );
    let mut garps = log.clone();
    for i in 0..5 {
        garps.push(Record {
            t: 30_613_331_250 + i * 30_000,
            node: "lvs-backup".into(),
            event: Event::Garp {
                ip: Ipv4Addr::new(192, 168, 80, 200),
            },
        });
    }
    assert!(
        check(
            "exactly 5 garps from lvs-backup between 30s and 31s",
            &garps
        )
        .passed
    );
    assert!(!check("exactly 10 garps from lvs-backup", &garps).passed);
}

#[test]
fn parse_errors_point_at_the_word() {
    let e = parse_with("lvs-backup is MASTR at 31s", 0, None).unwrap_err();
    assert_eq!(e.offset, 14);
    assert!(e.message.contains("expected a VRRP state"), "{}", e.message);
    let e = parse_with("lvs-nobody is MASTER at 31s", 0, None).unwrap_err();
    assert_eq!(e.offset, 0);
    assert!(
        e.message.starts_with("unknown node `lvs-nobody`"),
        "{}",
        e.message
    );
    let e = parse_with("web-102 is MASTER at 31s", 0, None).unwrap_err();
    assert_eq!(e.message, "`web-102` is a web, but this needs a director");
    let e = parse_with("lvs-backup is MASTER at 91s", 0, None).unwrap_err();
    assert!(
        e.message.contains("after the end of the run (90s)"),
        "{}",
        e.message
    );
    let e = parse_with("lvs-backup becomes MASTER within 20s after 80s", 0, None).unwrap_err();
    assert!(
        e.message.contains("100s is after the end of the run"),
        "{}",
        e.message
    );
    let e = parse_with("lvs-backup becomes MASTER", 0, None).unwrap_err();
    assert!(
        e.message.starts_with("when must it happen?"),
        "{}",
        e.message
    );
    let e = parse_with("lvs-backup becomes MASTER at 31s", 0, Some(S)).unwrap_err();
    assert_eq!(e.field, ErrorField::Within);
    let e = parse_with(
        "responses alternate between web-102 and lvs-master",
        0,
        None,
    )
    .unwrap_err();
    assert!(
        e.message.contains("is a director, but this needs a web"),
        "{}",
        e.message
    );
    let e = parse_with("failed requests about 3", 0, None).unwrap_err();
    assert_eq!(e.offset, 16);
    let e = parse_with("no failed requests between 40s and 30s", 0, None).unwrap_err();
    assert_eq!(e.message, "the window ends before it starts");
    let e = parse_with("lvs-backup is MASTER at 31s please", 0, None).unwrap_err();
    assert!(
        e.message.starts_with("unexpected `please`"),
        "{}",
        e.message
    );
    let e = parse_with("responses split 1:1:1 between web-102 and web-103", 0, None).unwrap_err();
    assert!(e.message.contains("3 parts for 2 servers"), "{}", e.message);
}
