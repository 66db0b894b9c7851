//! `summary.json`: the run's numbers for tools (CI dashboards, comparisons between runs).
//! Field names are stable; maps are ordered; times are integer nanoseconds.

use crate::analysis::{self, Convergence, FaultAt, RequestWindow};
use crate::{ConfigLine, NodeSummary, ReportInput, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Summary<'a> {
    name: &'a str,
    seed: u64,
    duration_ns: u64,
    reproduce: &'a str,
    passed: bool,
    expectations: Counts,
    nodes: &'a [NodeSummary],
    config: &'a [ConfigLine],
    faults: Vec<FaultAt>,
    events: BTreeMap<&'static str, u64>,
    requests: Requests,
    vrrp_transitions: Vec<Transition>,
    convergence: Vec<Convergence>,
    request_windows: Vec<RequestWindow>,
    /// Width of `request_buckets`, ns.
    request_bucket_ns: u64,
    request_buckets: Vec<RequestWindow>,
    verdicts: &'a [Verdict],
}

#[derive(Serialize)]
struct Counts {
    total: usize,
    passed: usize,
    failed: usize,
}

#[derive(Serialize)]
struct Requests {
    total: u64,
    answered: u64,
    failed: u64,
    by_server: BTreeMap<String, u64>,
    by_error: BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
struct Transition {
    t: u64,
    node: String,
    instance: String,
    from: &'static str,
    to: &'static str,
}

/// The pretty-printed JSON document, ending with a newline.
pub fn summary_json(input: &ReportInput<'_>) -> String {
    use lvs_model::event::{Event, HttpError};
    let s = input.summary;
    let mut requests = Requests {
        total: 0,
        answered: 0,
        failed: 0,
        by_server: BTreeMap::new(),
        by_error: BTreeMap::new(),
    };
    let mut transitions = Vec::new();
    for r in input.events {
        match &r.event {
            Event::HttpRequest {
                status,
                server,
                error,
                ..
            } => {
                requests.total += 1;
                match (status, error) {
                    (Some(_), None) => {
                        requests.answered += 1;
                        let label = server
                            .as_deref()
                            .map_or("(unknown)".to_string(), |sv| analysis::server_label(s, sv));
                        *requests.by_server.entry(label).or_default() += 1;
                    }
                    _ => {
                        requests.failed += 1;
                        let e = match error {
                            Some(HttpError::Refused) => "refused",
                            Some(HttpError::Reset) => "reset",
                            Some(HttpError::Timeout) => "timeout",
                            None => "no answer",
                        };
                        *requests.by_error.entry(e).or_default() += 1;
                    }
                }
            }
            Event::VrrpState { instance, from, to } => transitions.push(Transition {
                t: r.t,
                node: r.node.clone(),
                instance: instance.clone(),
                from: from.as_str(),
                to: to.as_str(),
            }),
            _ => {}
        }
    }
    let passed = input.verdicts.iter().filter(|v| v.passed).count();
    let doc = Summary {
        name: &s.name,
        seed: s.seed,
        duration_ns: s.duration_ns,
        reproduce: &s.reproduce,
        passed: input.passed(),
        expectations: Counts {
            total: input.verdicts.len(),
            passed,
            failed: input.verdicts.len() - passed,
        },
        nodes: &s.nodes,
        config: &input.extras.config,
        faults: analysis::faults(s, input.events),
        events: analysis::kind_counts(input.events),
        requests,
        vrrp_transitions: transitions,
        convergence: analysis::convergence(s, input.events),
        request_windows: analysis::request_windows(s, input.events),
        request_bucket_ns: analysis::bucket_width(s.duration_ns),
        request_buckets: analysis::request_buckets(
            s,
            input.events,
            analysis::bucket_width(s.duration_ns),
        ),
        verdicts: input.verdicts,
    };
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        // Serializing plain data cannot fail; say so in the output rather than panic.
        format!("{{\"error\": \"{e}\"}}")
    });
    out.push('\n');
    out
}
