//! Every scenario under `scenarios/` as its own test: build the lab, run it, require every
//! expectation to hold, and snapshot its report (reviewed with `cargo insta review`).

use lvslab::lab::Lab;
use lvslab::scenario::Scenario;
use reports::{Extras, ReportInput};

#[test]
fn scenario_suite() {
    insta::glob!("../scenarios", "**/*.toml", |path| {
        let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let lab = Lab::build(scenario, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let scenario = lab.scenario.clone();
        let diagnostics = lab.diagnostics.clone();
        let config = lab.config_lines.clone();
        let (_world, out) = lab
            .run(|_, _| {})
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let verdicts = scenario.evaluate(&out.records);
        let name = path.file_name().unwrap().to_string_lossy();
        let summary = scenario.run_summary(format!("lvslab run scenarios/.../{name}"));
        let extras = Extras {
            ipvsadm: out.ipvsadm,
            diagnostics,
            config,
        };
        let input = ReportInput {
            summary: &summary,
            events: &out.records,
            verdicts: &verdicts,
            extras: &extras,
        };
        let failed: Vec<String> = verdicts
            .iter()
            .filter(|v| !v.passed)
            .map(|v| format!("line {}: {} — {}", v.line, v.expectation, v.explanation))
            .collect();
        assert!(
            failed.is_empty(),
            "{}: expectations failed:\n{}",
            path.display(),
            failed.join("\n")
        );
        insta::assert_snapshot!(reports::report_md(&input));
    });
}

/// Same scenario, same seed: byte-identical event log and pcap, in a second process too (the
/// digest printed by `lvslab run` is compared by the CLI test).
#[test]
fn a_scenario_run_is_byte_identical_twice() {
    let run = || {
        let s = Scenario::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/seed/02-httpd-stop-start.toml"
        ))
        .unwrap();
        let (mut world, _) = Lab::build(s, None).unwrap().run(|_, _| {}).unwrap();
        let mut events = Vec::new();
        world.trace().write_events(&mut events).unwrap();
        (events, world.trace_mut().take_pcap().unwrap())
    };
    let (e1, p1) = run();
    let (e2, p2) = run();
    assert!(e1.len() > 10_000);
    assert!(e1 == e2, "event logs differ");
    assert!(p1 == p2, "pcaps differ");
}
