//! `report.md`: what happened in the run, for a human reading it after the fact.

use crate::ReportInput;
use crate::analysis::{self, Reaction};
use crate::fmt::{delta, secs};
use lvs_model::event::{Event, Record};
use std::fmt::Write as _;

/// Table cells may not contain `|` or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn reaction(r: &Option<Reaction>) -> String {
    match r {
        Some(r) => format!("{} {} ({})", delta(r.after), cell(&r.what), r.node),
        None => "—".into(),
    }
}

/// One event as a line of text: `t node kind fields`.
pub(crate) fn event_line(r: &Record) -> String {
    let json = serde_json::to_value(&r.event).unwrap_or_default();
    let mut fields = Vec::new();
    if let Some(obj) = json.as_object() {
        for (k, v) in obj {
            if k == "kind" {
                continue;
            }
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            fields.push(format!("{k}={v}"));
        }
    }
    format!(
        "{:>15} {:<12} {:<18} {}",
        secs(r.t),
        r.node,
        r.event.kind(),
        fields.join(" ")
    )
}

pub fn report_md(input: &ReportInput<'_>) -> String {
    let s = input.summary;
    let mut out = String::new();
    let o = &mut out;
    let passed = input.verdicts.iter().filter(|v| v.passed).count();
    let _ = writeln!(o, "# {}\n", s.name);
    let _ = writeln!(
        o,
        "- seed **{}**, duration **{}**, {} events",
        s.seed,
        secs(s.duration_ns),
        input.events.len()
    );
    let _ = writeln!(
        o,
        "- expectations: **{passed} of {} passed**{}",
        input.verdicts.len(),
        if input.passed() { "" } else { " — FAILED" }
    );
    if !s.reproduce.is_empty() {
        let _ = writeln!(o, "- reproduce: `{}`", s.reproduce);
    }

    let _ = writeln!(o, "\n## Topology\n\n{}\n", s.lan);
    let _ = writeln!(o, "| node | role | address | setup |\n|---|---|---|---|");
    for n in &s.nodes {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            cell(&n.name),
            n.role,
            n.ip,
            cell(&n.details)
        );
    }

    let mut diags: Vec<(String, String, u32, String, String)> = input
        .extras
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.node.clone(),
                d.file.clone(),
                d.line,
                d.severity.clone(),
                d.message.clone(),
            )
        })
        .collect();
    for r in input.events {
        if let Event::ConfigDiagnostic {
            file,
            line,
            severity,
            message,
        } = &r.event
        {
            let d = (
                r.node.clone(),
                file.clone(),
                *line,
                severity.clone(),
                message.clone(),
            );
            if !diags.contains(&d) {
                diags.push(d);
            }
        }
    }
    let _ = writeln!(o, "\n## Configuration\n");
    if !input.extras.config.is_empty() {
        let _ = writeln!(o, "| node | configuration |\n|---|---|");
        for c in &input.extras.config {
            let _ = writeln!(o, "| {} | {} |", cell(&c.node), cell(&c.text));
        }
        let _ = writeln!(o);
    }
    if diags.is_empty() {
        let _ = writeln!(o, "No configuration diagnostics.");
    } else {
        let _ = writeln!(
            o,
            "| node | file:line | severity | message |\n|---|---|---|---|"
        );
        for (node, file, line, sev, msg) in &diags {
            let _ = writeln!(
                o,
                "| {node} | {}:{line} | {sev} | {} |",
                cell(file),
                cell(msg)
            );
        }
    }

    let faults = analysis::faults(s, input.events);
    let _ = writeln!(o, "\n## Faults\n");
    if faults.is_empty() {
        let _ = writeln!(o, "None.");
    } else {
        let _ = writeln!(o, "| t | fault | target |\n|---|---|---|");
        for f in &faults {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                secs(f.t),
                cell(&f.action),
                f.target.as_deref().unwrap_or("—")
            );
        }
    }

    let _ = writeln!(o, "\n## Timeline\n");
    let _ = writeln!(
        o,
        "Faults, VRRP transitions, VIP and dest changes, GARP bursts, checker verdict changes and \
         runs of failed requests (regular adverts, passing checks and answered requests left out).\n"
    );
    let _ = writeln!(o, "| t | node | what |\n|---|---|---|");
    for i in analysis::timeline(input.events) {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            secs(i.t),
            cell(&i.node),
            cell(&i.text)
        );
    }

    let conv = analysis::convergence(s, input.events);
    if !conv.is_empty() {
        let _ = writeln!(o, "\n## Convergence\n");
        let _ = writeln!(
            o,
            "First reaction after each fault, until the next one (delays exact, in simulated time).\n"
        );
        let _ = writeln!(
            o,
            "| fault | at | new MASTER | VIP added | dest removed | dest added | failed requests | last failure |\n|---|---|---|---|---|---|---|---|"
        );
        for c in &conv {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} of {} | {} |",
                cell(&c.fault.describe()),
                secs(c.fault.t),
                reaction(&c.new_master),
                reaction(&c.vip_moved),
                reaction(&c.dest_removed),
                reaction(&c.dest_added),
                c.failed_requests,
                c.requests,
                c.last_failure_after.map_or("—".into(), delta)
            );
        }
    }

    let windows = analysis::request_windows(s, input.events);
    let servers = analysis::servers(&windows);
    let _ = writeln!(o, "\n## Requests\n");
    let _ = writeln!(o, "By start time, in the phases between faults.\n");
    let _ = write!(o, "| from | to | phase | requests |");
    for sv in &servers {
        let _ = write!(o, " {} |", cell(sv));
    }
    let _ = writeln!(o, " failed |");
    let _ = writeln!(o, "|---|---|---|---|{}---|", "---|".repeat(servers.len()));
    for w in &windows {
        let _ = write!(
            o,
            "| {} | {} | {} | {} |",
            secs(w.from),
            secs(w.to),
            cell(&w.label),
            w.total
        );
        for sv in &servers {
            let _ = write!(o, " {} |", w.by_server.get(sv).copied().unwrap_or(0));
        }
        let _ = writeln!(o, " {} |", w.failed);
    }

    let width = analysis::bucket_width(s.duration_ns);
    let buckets = analysis::request_buckets(s, input.events, width);
    if !buckets.is_empty() {
        let _ = writeln!(o, "\nPer {} (by start time):\n", secs(width));
        let _ = write!(o, "| from | requests |");
        for sv in &servers {
            let _ = write!(o, " {} |", cell(sv));
        }
        let _ = writeln!(o, " failed |");
        let _ = writeln!(o, "|---|---|{}---|", "---|".repeat(servers.len()));
        for b in &buckets {
            let _ = write!(o, "| {} | {} |", secs(b.from), b.total);
            for sv in &servers {
                let _ = write!(o, " {} |", b.by_server.get(sv).copied().unwrap_or(0));
            }
            let _ = writeln!(o, " {} |", b.failed);
        }
    }

    let _ = writeln!(o, "\n## Expectations\n");
    if input.verdicts.is_empty() {
        let _ = writeln!(o, "None.");
    }
    for v in input.verdicts {
        let mark = if v.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            o,
            "- **{mark}** `{}` (line {}) — {}",
            v.expectation, v.line, v.explanation
        );
        if !v.passed && !v.context.is_empty() {
            let _ = writeln!(o, "\n  ```");
            for r in &v.context {
                let _ = writeln!(o, "  {}", event_line(r));
            }
            let _ = writeln!(o, "  ```\n");
        }
    }

    if !input.extras.ipvsadm.is_empty() {
        let _ = writeln!(o, "\n## ipvsadm -Ln\n");
        for snap in &input.extras.ipvsadm {
            let _ = writeln!(
                o,
                "### {} — {} at {}\n\n```\n{}\n```\n",
                snap.label,
                snap.node,
                secs(snap.t),
                snap.text.trim_end()
            );
        }
    }
    out
}
