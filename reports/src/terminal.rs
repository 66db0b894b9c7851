//! The human timeline `lvslab run` prints: one line per notable event, then the convergence
//! after each fault and the expectation verdicts. Plain text, no colours, fixed-width times.

use crate::ReportInput;
use crate::analysis::{self, ItemKind};
use crate::fmt::{delta, secs};
use crate::markdown::event_line;
use std::fmt::Write as _;

pub fn terminal_timeline(input: &ReportInput<'_>) -> String {
    let s = input.summary;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "== {} (seed {}, {})",
        s.name,
        s.seed,
        secs(s.duration_ns)
    );
    for i in analysis::timeline(input.events) {
        let tag = match i.kind {
            ItemKind::Fault => "!!",
            ItemKind::Request | ItemKind::Config => " x",
            ItemKind::Vrrp | ItemKind::Vip => " *",
            _ => "  ",
        };
        let _ = writeln!(o, "{:>15} {tag} {:<12} {}", secs(i.t), i.node, i.text);
    }
    let conv = analysis::convergence(s, input.events);
    if !conv.is_empty() {
        let _ = writeln!(o, "-- convergence");
        for c in &conv {
            let mut parts = Vec::new();
            if let Some(r) = &c.new_master {
                parts.push(format!("{} MASTER {}", r.node, delta(r.after)));
            }
            if let Some(r) = &c.dest_removed {
                parts.push(format!("{} removed {}", r.what, delta(r.after)));
            }
            if let Some(r) = &c.dest_added {
                parts.push(format!("{} added {}", r.what, delta(r.after)));
            }
            parts.push(format!(
                "{}/{} requests failed",
                c.failed_requests, c.requests
            ));
            let _ = writeln!(
                o,
                "{:>15}    {}: {}",
                secs(c.fault.t),
                c.fault.describe(),
                parts.join(", ")
            );
        }
    }
    let passed = input.verdicts.iter().filter(|v| v.passed).count();
    let _ = writeln!(
        o,
        "-- expectations: {passed} of {} passed",
        input.verdicts.len()
    );
    for v in input.verdicts {
        let mark = if v.passed { "ok  " } else { "FAIL" };
        let _ = writeln!(o, "{mark} line {:>3}: {}", v.line, v.expectation);
        if !v.passed {
            let _ = writeln!(o, "           {}", v.explanation);
            for r in &v.context {
                let _ = writeln!(o, "           | {}", event_line(r));
            }
        }
    }
    if !input.passed() && !s.reproduce.is_empty() {
        let _ = writeln!(o, "reproduce: {}", s.reproduce);
    }
    o
}
