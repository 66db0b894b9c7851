//! Snapshots of every output for one hand-built run of the seed lab: httpd on .102 stops at
//! 10 s and starts at 16 s, then keepalived on the master stops at 30 s.

use lvs_model::event::{DestChange, Event, HttpError, Record, VrrpStateName};
use reports::{
    ConfigDiagnostic, Extras, FaultSummary, IpvsadmSnapshot, NodeSummary, ReportInput, RunSummary,
    Verdict,
};
use std::net::Ipv4Addr;

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
const US: u64 = 1_000;
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);

fn rec(t: u64, node: &str, event: Event) -> Record {
    Record {
        t,
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

fn dest(t: u64, node: &str, rs: &str, change: DestChange) -> Record {
    rec(
        t,
        node,
        Event::IpvsDest {
            vs: "192.168.80.200:80".into(),
            rs: rs.into(),
            change,
            weight: 3,
        },
    )
}

fn summary() -> RunSummary {
    let node = |name: &str, role: &str, ip: &str, details: &str| NodeSummary {
        name: name.into(),
        role: role.into(),
        ip: ip.into(),
        details: details.into(),
    };
    RunSummary {
        name: "seed: httpd on .102 stops, then the master's keepalived".into(),
        seed: 7,
        duration_ns: 40 * S,
        reproduce: "lvslab run scenarios/seed/example.toml --seed 7".into(),
        lan: "one switch; latency 0.00005s, jitter 0s, loss 0%, rate unlimited".into(),
        nodes: vec![
            node(
                "lvs-master",
                "director",
                "192.168.80.100/24",
                "keepalived keepalived-master.conf on eth1",
            ),
            node(
                "lvs-backup",
                "director",
                "192.168.80.101/24",
                "keepalived keepalived-backup.conf on eth1",
            ),
            node(
                "web-102",
                "web",
                "192.168.80.102/24",
                "httpd :80 (DR), VIP 192.168.80.200 on lo, arp_ignore=1 arp_announce=2",
            ),
            node(
                "web-103",
                "web",
                "192.168.80.103/24",
                "httpd :80 (DR), VIP 192.168.80.200 on lo, arp_ignore=1 arp_announce=2",
            ),
            node(
                "client",
                "client",
                "192.168.80.50/24",
                "GET http://192.168.80.200:80/ at 2 per 1s",
            ),
        ],
        faults: vec![
            FaultSummary {
                t: 10 * S,
                action: "stop httpd".into(),
                target: Some("web-102".into()),
            },
            FaultSummary {
                t: 16 * S,
                action: "start httpd".into(),
                target: Some("web-102".into()),
            },
            FaultSummary {
                t: 30 * S,
                action: "stop keepalived".into(),
                target: Some("lvs-master".into()),
            },
        ],
    }
}

fn events() -> Vec<Record> {
    use VrrpStateName::*;
    let mut log = vec![
        rec(
            0,
            "lvs-master",
            Event::ConfigDiagnostic {
                file: "keepalived-master.conf".into(),
                line: 5,
                severity: "warning".into(),
                message: "Unknown keyword 'smtp_connection_timeout'".into(),
            },
        ),
        state(0, "lvs-master", Init, Backup),
        state(0, "lvs-backup", Init, Backup),
        dest(0, "lvs-master", "192.168.80.102:80", DestChange::Added),
        dest(0, "lvs-master", "192.168.80.103:80", DestChange::Added),
        state(3_609_375_000, "lvs-master", Backup, Master),
        rec(
            3_609_375_000,
            "lvs-master",
            Event::Vip {
                instance: "VI_1".into(),
                ip: VIP,
                added: true,
            },
        ),
    ];
    for k in 0..5 {
        log.push(rec(
            3_609_375_000 + k * 30 * US,
            "lvs-master",
            Event::Garp { ip: VIP },
        ));
    }
    for k in 0..27 {
        log.push(rec(
            3_609_375_000 + k * S,
            "lvs-master",
            Event::VrrpAdvert {
                instance: "VI_1".into(),
                vrid: 51,
                priority: 100,
                version: 2,
            },
        ));
    }
    // Checks of .102 at 4.5 s + 6k s; httpd stops at 10 s.
    for t in [
        4_500 * MS,
        10_500_100 * US,
        13_500_200 * US,
        19_500_300 * US,
    ] {
        let ok = !(10 * S..=16 * S).contains(&t);
        log.push(rec(
            t,
            "lvs-master",
            Event::CheckResult {
                vs: "192.168.80.200:80".into(),
                rs: "192.168.80.102:80".into(),
                checker: "TCP_CHECK".into(),
                ok,
            },
        ));
    }
    log.push(dest(
        13_500_200 * US,
        "lvs-master",
        "192.168.80.102:80",
        DestChange::Removed,
    ));
    log.push(dest(
        19_500_300 * US,
        "lvs-master",
        "192.168.80.102:80",
        DestChange::Added,
    ));
    log.push(rec(
        10 * S,
        "web-102",
        Event::Fault {
            action: "stop httpd".into(),
            target: "web-102".into(),
        },
    ));
    log.push(rec(
        16 * S,
        "web-102",
        Event::Fault {
            action: "start httpd".into(),
            target: "web-102".into(),
        },
    ));
    // Requests every 500 ms from 5 s, alternating; .102's are refused while it is down but in.
    for i in 0..70u64 {
        let started = 5 * S + i * 500 * MS;
        if (30 * S..31 * S).contains(&started) {
            continue; // in flight across the takeover; left out for brevity
        }
        let to_102 = i % 2 == 1;
        let down = (10 * S..13_500_200 * US).contains(&started);
        let served_102 = to_102 && !(13_500_200 * US..19_500_300 * US).contains(&started);
        let event = if to_102 && down {
            Event::HttpRequest {
                client: "client".into(),
                started,
                status: None,
                server: None,
                error: Some(HttpError::Refused),
            }
        } else {
            let ip = if served_102 {
                "192.168.80.102"
            } else {
                "192.168.80.103"
            };
            Event::HttpRequest {
                client: "client".into(),
                started,
                status: Some(200),
                server: Some(ip.into()),
                error: None,
            }
        };
        log.push(rec(started + 2 * MS, "client", event));
    }
    // Graceful stop at 30 s; the backup takes over 157/256 s after the advert arrives.
    log.push(rec(
        30 * S,
        "lvs-master",
        Event::Fault {
            action: "stop keepalived".into(),
            target: "lvs-master".into(),
        },
    ));
    log.push(rec(
        30 * S,
        "lvs-master",
        Event::VrrpAdvert {
            instance: "VI_1".into(),
            vrid: 51,
            priority: 0,
            version: 2,
        },
    ));
    log.push(rec(
        30 * S,
        "lvs-master",
        Event::Vip {
            instance: "VI_1".into(),
            ip: VIP,
            added: false,
        },
    ));
    log.push(state(30 * S, "lvs-master", Master, Stop));
    let takeover = 30 * S + 50 * US + 613_281_250;
    log.push(state(takeover, "lvs-backup", Backup, Master));
    log.push(rec(
        takeover,
        "lvs-backup",
        Event::VrrpAdvert {
            instance: "VI_1".into(),
            vrid: 51,
            priority: 99,
            version: 2,
        },
    ));
    log.push(rec(
        takeover,
        "lvs-backup",
        Event::Vip {
            instance: "VI_1".into(),
            ip: VIP,
            added: true,
        },
    ));
    for k in 0..5 {
        log.push(rec(
            takeover + 100 * US + k * 30 * US,
            "lvs-backup",
            Event::Garp { ip: VIP },
        ));
    }
    log.sort_by_key(|r| r.t);
    log
}

fn verdicts(log: &[Record]) -> Vec<Verdict> {
    vec![
        Verdict {
            expectation: "lvs-backup becomes MASTER within 1s".into(),
            line: 40,
            passed: true,
            explanation:
                "lvs-backup becomes MASTER at 30.61333125s, 0.61333125s after 30s (limit 1s)".into(),
            at: Some(30_613_331_250),
            context: vec![],
        },
        Verdict {
            expectation: "no failed requests".into(),
            line: 44,
            passed: false,
            explanation:
                "4 of 68 requests during the run failed (started 10.5s..13.5s); expected == 0"
                    .into(),
            at: Some(10_502_000_000),
            context: log
                .iter()
                .filter(|r| r.t >= 10 * S && r.t <= 11 * S)
                .cloned()
                .collect(),
        },
    ]
}

fn extras() -> Extras {
    Extras {
        config: vec![
            reports::ConfigLine {
                node: "lvs-master".into(),
                text: "VI_1: state MASTER, priority 100, vrid 51, advert_int 1, VIP 192.168.80.200 on eth1".into(),
            },
            reports::ConfigLine {
                node: "lvs-master".into(),
                text: "VS 192.168.80.200:80 wrr DR: 192.168.80.102:80 weight 3, 192.168.80.103:80 weight 3 (TCP_CHECK)".into(),
            },
        ],
        ipvsadm: vec![IpvsadmSnapshot {
            t: 10 * S,
            node: "lvs-master".into(),
            label: "before stop httpd on web-102".into(),
            text: "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  192.168.80.200:80 wrr\n  -> 192.168.80.102:80            Route   3      0          5\n  -> 192.168.80.103:80            Route   3      0          5\n".into(),
        }],
        diagnostics: vec![ConfigDiagnostic {
            node: "lvs-master".into(),
            file: "keepalived-master.conf".into(),
            line: 25,
            severity: "warning".into(),
            message: "Unknown keyword 'nat_mask'".into(),
        }],
    }
}

#[test]
fn report_md_snapshot() {
    let (s, log, x) = (summary(), events(), extras());
    let v = verdicts(&log);
    let input = ReportInput {
        summary: &s,
        events: &log,
        verdicts: &v,
        extras: &x,
    };
    insta::assert_snapshot!("report_md", reports::report_md(&input));
}

#[test]
fn summary_json_snapshot() {
    let (s, log, x) = (summary(), events(), extras());
    let v = verdicts(&log);
    let input = ReportInput {
        summary: &s,
        events: &log,
        verdicts: &v,
        extras: &x,
    };
    insta::assert_snapshot!("summary_json", reports::summary_json(&input));
}

#[test]
fn terminal_timeline_snapshot() {
    let (s, log, x) = (summary(), events(), extras());
    let v = verdicts(&log);
    let input = ReportInput {
        summary: &s,
        events: &log,
        verdicts: &v,
        extras: &x,
    };
    insta::assert_snapshot!("terminal", reports::terminal_timeline(&input));
}

#[test]
fn svg_is_deterministic_and_self_contained() {
    let (s, log, x) = (summary(), events(), extras());
    let v = verdicts(&log);
    let input = ReportInput {
        summary: &s,
        events: &log,
        verdicts: &v,
        extras: &x,
    };
    let a = reports::timeline_svg(&input);
    let b = reports::timeline_svg(&input);
    assert_eq!(a, b);
    assert!(a.starts_with("<svg"), "{}", &a[..80.min(a.len())]);
    assert!(a.contains("<text"), "labels are SVG text");
    assert!(a.contains("stop keepalived on lvs-master"));
    assert!(a.contains("lvs-backup VI_1"));
    assert!(!a.contains("timeline could not be drawn"));
    insta::assert_snapshot!("timeline_svg", a);
}

#[test]
fn write_all_writes_three_files() {
    let (s, log, x) = (summary(), events(), extras());
    let v = verdicts(&log);
    let input = ReportInput {
        summary: &s,
        events: &log,
        verdicts: &v,
        extras: &x,
    };
    let dir = std::env::temp_dir().join(format!("lvslab-reports-{}", std::process::id()));
    reports::write_all(&dir, &input).unwrap();
    for f in ["report.md", "timeline.svg", "summary.json"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(!text.is_empty(), "{f}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["requests"]["failed"], 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_run_still_renders() {
    let s = RunSummary::default();
    let x = Extras::default();
    let input = ReportInput {
        summary: &s,
        events: &[],
        verdicts: &[],
        extras: &x,
    };
    assert!(reports::report_md(&input).contains("## Expectations"));
    assert!(reports::timeline_svg(&input).starts_with("<svg"));
    assert!(reports::summary_json(&input).ends_with("}\n"));
    assert!(reports::terminal_timeline(&input).contains("0 of 0 passed"));
}
