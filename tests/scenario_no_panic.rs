//! Bad input gives an error, never a panic: scenario text and expectation sentences from
//! random words, evaluated against a small log when they parse.

use lvs_model::event::{Event, Record, VrrpStateName};
use lvslab::scenario::expect::ParseContext;
use lvslab::scenario::{Expectation, Role, Scenario, Topology};
use proptest::prelude::*;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

const WORDS: &[&str] = &[
    "lvs-master",
    "lvs-backup",
    "web-102",
    "web-103",
    "client",
    "nobody",
    "is",
    "becomes",
    "never",
    "MASTER",
    "BACKUP",
    "STOP",
    "at",
    "within",
    "after",
    "before",
    "between",
    "and",
    "from",
    "to",
    "the",
    "first",
    "last",
    "fault",
    "advert",
    "adverts",
    "priority",
    "0",
    "1",
    "99",
    "300",
    "garps",
    "exactly",
    "least",
    "most",
    "one",
    "no",
    "two",
    "masters",
    "for",
    "longer",
    "than",
    "vrid",
    "51",
    "VIP",
    "192.168.80.200",
    "192.168.80.102",
    "on",
    "only",
    "moves",
    "dest",
    "192.168.80.102:80",
    "removed",
    "added",
    "failed",
    "check",
    "of",
    "requests",
    "<=",
    "==",
    ">",
    "responses",
    "alternate",
    "split",
    "1:1",
    "3:2",
    "answers",
    "response",
    "comes",
    "±",
    "+-",
    "+",
    "5%",
    "30s",
    "0.61328125s",
    "613.28125ms",
    "90s",
    "1ms",
    "0s",
    "1e9s",
    "s",
    "in",
    "VI_1",
    "",
    "µs",
    "9999999999999999999s",
];

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

fn small_log() -> Vec<Record> {
    let r = |t: u64, node: &str, event: Event| Record {
        t,
        node: node.into(),
        event,
    };
    vec![
        r(
            0,
            "lvs-master",
            Event::VrrpState {
                instance: "VI_1".into(),
                from: VrrpStateName::Init,
                to: VrrpStateName::Master,
            },
        ),
        r(
            5,
            "lvs-master",
            Event::VrrpAdvert {
                instance: "VI_1".into(),
                vrid: 51,
                priority: 0,
                version: 2,
            },
        ),
        r(
            9,
            "lvs-backup",
            Event::VrrpState {
                instance: "VI_1".into(),
                from: VrrpStateName::Backup,
                to: VrrpStateName::Master,
            },
        ),
        r(
            10,
            "client",
            Event::HttpRequest {
                client: "client".into(),
                started: 7,
                status: Some(200),
                server: Some("garbage".into()),
                error: None,
            },
        ),
        r(
            11,
            "client",
            Event::HttpRequest {
                client: "client".into(),
                started: 8,
                status: None,
                server: None,
                error: None,
            },
        ),
    ]
}

proptest! {
    #[test]
    fn sentences_never_panic(words in proptest::collection::vec(proptest::sample::select(WORDS), 0..14),
                             reference in 0u64..100_000_000_000,
                             within in proptest::option::of(0u64..100_000_000_000)) {
        let text = words.join(" ");
        let topo = topology();
        let ctx = ParseContext {
            topology: &topo,
            duration: Duration::from_secs(90),
            reference: Duration::from_nanos(reference),
            within: within.map(Duration::from_nanos),
        };
        if let Ok(e) = Expectation::parse(&text, &ctx, 1) {
            let v = e.evaluate(&small_log());
            prop_assert!(!v.explanation.is_empty());
            let _ = e.evaluate(&[]);
        }
    }

    #[test]
    fn any_text_never_panics(text in "\\PC{0,60}") {
        let topo = topology();
        let ctx = ParseContext { topology: &topo, duration: Duration::from_secs(90), reference: Duration::ZERO, within: None };
        let _ = Expectation::parse(&text, &ctx, 1);
        let _ = Scenario::parse(Path::new("x.toml"), &text);
    }

    #[test]
    fn damaged_scenarios_never_panic(cut in 0usize..2000, len in 0usize..40, insert in "\\PC{0,8}") {
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/seed/03-master-stop.toml");
        let text = std::fs::read_to_string(&seed).unwrap();
        let mut chars: Vec<char> = text.chars().collect();
        let at = cut.min(chars.len());
        let end = (at + len).min(chars.len());
        chars.splice(at..end, insert.chars());
        let damaged: String = chars.into_iter().collect();
        match Scenario::parse(&seed, &damaged) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.to_string().contains("03-master-stop.toml"), "{e}"),
        }
    }
}
