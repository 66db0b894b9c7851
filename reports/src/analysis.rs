//! What the reports derive from the event log: a condensed timeline, the convergence after
//! each fault, and requests per server per phase. Pure functions of their inputs.

use crate::RunSummary;
use crate::fmt::secs;
use lvs_model::event::{DestChange, Event, HttpError, Record};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a timeline entry is about (also its colour/marker in the SVG).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Fault,
    Vrrp,
    Advert,
    Vip,
    Garp,
    Check,
    Dest,
    Request,
    Config,
}

/// An open run of failed requests: timeline item index, count, count per error, first and
/// last start.
type FailureRun = (usize, u64, BTreeMap<&'static str, u64>, u64, u64);

/// One line of the condensed timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineItem {
    pub t: u64,
    pub node: String,
    pub kind: ItemKind,
    pub text: String,
}

/// GARPs from one node closer together than this form one burst.
const GARP_BURST_GAP: u64 = 100_000_000;
/// Failed requests of one client that started closer together than this form one run, even
/// with answered requests between them (a dead real server fails every other request).
const FAILURE_RUN_GAP: u64 = 2_000_000_000;

fn error_name(e: HttpError) -> &'static str {
    match e {
        HttpError::Refused => "refused",
        HttpError::Reset => "reset",
        HttpError::Timeout => "timeout",
    }
}

/// Faults, VRRP transitions, priority-0 adverts, VIP changes, GARP bursts, health-check
/// verdict changes, dest changes, runs of failed requests (failures less than 2 s apart) and config
/// diagnostics.
/// Regular adverts, passing checks and successful requests are left out.
pub fn timeline(events: &[Record]) -> Vec<TimelineItem> {
    let mut items = Vec::new();
    // (node, ip) -> index of the open GARP burst item and its count and last time: a node
    // that takes over several VIPs at once announces each in its own burst.
    let mut garp: BTreeMap<(&str, std::net::Ipv4Addr), (usize, u64, u64)> = BTreeMap::new();
    // (node, rs) -> last check verdict.
    let mut checks: BTreeMap<(&str, &str), bool> = BTreeMap::new();
    // client -> open run of failures: item index, count, per-error counts, first/last start.
    let mut runs: BTreeMap<&str, FailureRun> = BTreeMap::new();
    for r in events {
        let mut push = |kind, text: String| {
            items.push(TimelineItem {
                t: r.t,
                node: r.node.clone(),
                kind,
                text,
            });
            items.len() - 1
        };
        match &r.event {
            Event::Fault { action, .. } => {
                push(ItemKind::Fault, format!("FAULT {action}"));
            }
            Event::VrrpState { instance, from, to } => {
                push(
                    ItemKind::Vrrp,
                    format!("{instance} {} -> {}", from.as_str(), to.as_str()),
                );
            }
            Event::VrrpAdvert {
                instance,
                vrid,
                priority: 0,
                ..
            } => {
                push(
                    ItemKind::Advert,
                    format!("{instance} advert priority 0 (vrid {vrid})"),
                );
            }
            Event::VrrpAdvert { .. } => {}
            Event::Vip {
                instance,
                ip,
                added,
            } => {
                let what = if *added { "added" } else { "removed" };
                push(ItemKind::Vip, format!("VIP {ip} {what} ({instance})"));
            }
            Event::Garp { ip } => {
                let open = garp
                    .get(&(r.node.as_str(), *ip))
                    .filter(|(_, _, last)| r.t - last <= GARP_BURST_GAP)
                    .copied();
                match open {
                    Some((idx, n, _)) => {
                        items[idx].text = format!("{} gratuitous ARPs for {ip}", n + 1);
                        garp.insert((&r.node, *ip), (idx, n + 1, r.t));
                    }
                    None => {
                        let idx = push(ItemKind::Garp, format!("1 gratuitous ARP for {ip}"));
                        garp.insert((&r.node, *ip), (idx, 1, r.t));
                    }
                }
            }
            Event::CheckResult {
                rs, checker, ok, ..
            } => {
                let before = checks.insert((&r.node, rs), *ok);
                match (before, ok) {
                    (Some(true) | None, false) => {
                        push(ItemKind::Check, format!("{checker} {rs} failed"));
                    }
                    (Some(false), true) => {
                        push(ItemKind::Check, format!("{checker} {rs} ok again"));
                    }
                    _ => {}
                }
            }
            Event::IpvsDest {
                vs,
                rs,
                change,
                weight,
            } => {
                let text = match change {
                    DestChange::Added => format!("dest {rs} added to {vs} (weight {weight})"),
                    DestChange::Removed => format!("dest {rs} removed from {vs}"),
                    DestChange::Weight => format!("dest {rs} in {vs} now weight {weight}"),
                };
                push(ItemKind::Dest, text);
            }
            Event::HttpRequest {
                client,
                started,
                error,
                status,
                ..
            } => {
                let failed = error.is_some() || status.is_none();
                if !failed {
                    continue;
                }
                let name = error.map_or("no answer", error_name);
                match runs
                    .get_mut(client.as_str())
                    .filter(|run| started.saturating_sub(run.4) <= FAILURE_RUN_GAP)
                {
                    Some((idx, n, by, first, last)) => {
                        *n += 1;
                        *by.entry(name).or_default() += 1;
                        *first = (*first).min(*started);
                        *last = (*last).max(*started);
                        items[*idx].text = failed_text(*n, by, *first, *last);
                    }
                    None => {
                        let mut by = BTreeMap::new();
                        by.insert(name, 1);
                        let idx = push(ItemKind::Request, failed_text(1, &by, *started, *started));
                        runs.insert(client, (idx, 1, by, *started, *started));
                    }
                }
            }
            Event::ConfigDiagnostic {
                file,
                line,
                severity,
                message,
            } => {
                push(
                    ItemKind::Config,
                    format!("{file}:{line}: {severity}: {message}"),
                );
            }
            Event::Drop { .. } => {}
        }
    }
    items
}

fn failed_text(n: u64, by: &BTreeMap<&'static str, u64>, first: u64, last: u64) -> String {
    let kinds: Vec<String> = by.iter().map(|(k, v)| format!("{k} {v}")).collect();
    if n == 1 {
        format!(
            "1 request failed ({}), started {}",
            kinds.join(", "),
            secs(first)
        )
    } else {
        format!(
            "{n} requests failed ({}), started {}..{}",
            kinds.join(", "),
            secs(first),
            secs(last)
        )
    }
}

/// A fault as the log (or, if the log has none, the summary) shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultAt {
    pub t: u64,
    pub action: String,
    pub target: Option<String>,
}

impl FaultAt {
    pub fn describe(&self) -> String {
        match &self.target {
            Some(t) => format!("{} on {t}", self.action),
            None => self.action.clone(),
        }
    }
}

pub fn faults(summary: &RunSummary, events: &[Record]) -> Vec<FaultAt> {
    let logged: Vec<FaultAt> = events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Fault { action, target } => Some(FaultAt {
                t: r.t,
                action: action.clone(),
                target: (!target.is_empty()).then(|| target.clone()),
            }),
            _ => None,
        })
        .collect();
    if !logged.is_empty() {
        return logged;
    }
    summary
        .faults
        .iter()
        .map(|f| FaultAt {
            t: f.t,
            action: f.action.clone(),
            target: f.target.clone(),
        })
        .collect()
}

/// The first time something happened after a fault, as a delay from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reaction {
    /// Delay after the fault, in nanoseconds.
    pub after: u64,
    pub t: u64,
    pub node: String,
    pub what: String,
}

/// How the cluster reacted to one fault, up to the next fault (or the end of the log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Convergence {
    pub fault: FaultAt,
    /// First VRRP transition to MASTER on any node.
    pub new_master: Option<Reaction>,
    /// First VIP added on any node.
    pub vip_moved: Option<Reaction>,
    pub dest_removed: Option<Reaction>,
    pub dest_added: Option<Reaction>,
    pub requests: u64,
    pub failed_requests: u64,
    /// The last failed request's start, as a delay from the fault.
    pub last_failure_after: Option<u64>,
}

pub fn convergence(summary: &RunSummary, events: &[Record]) -> Vec<Convergence> {
    let faults = faults(summary, events);
    let mut out = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        let end = faults
            .get(i + 1)
            .map_or(u64::MAX, |n| n.t.saturating_sub(1));
        let in_phase = |r: &&Record| r.t >= f.t && r.t <= end;
        let first = |pred: &dyn Fn(&Event) -> Option<String>| {
            events.iter().filter(in_phase).find_map(|r| {
                pred(&r.event).map(|what| Reaction {
                    after: r.t - f.t,
                    t: r.t,
                    node: r.node.clone(),
                    what,
                })
            })
        };
        let new_master = first(&|e| match e {
            Event::VrrpState { instance, to, .. } if to.as_str() == "MASTER" => {
                Some(format!("{instance} MASTER"))
            }
            _ => None,
        });
        let vip_moved = first(&|e| match e {
            Event::Vip {
                ip, added: true, ..
            } => Some(format!("VIP {ip}")),
            _ => None,
        });
        let dest = |want: DestChange| {
            move |e: &Event| match e {
                Event::IpvsDest { rs, change, .. } if *change == want => Some(rs.clone()),
                _ => None,
            }
        };
        let dest_removed = first(&dest(DestChange::Removed));
        let dest_added = first(&dest(DestChange::Added));
        let mut requests = 0;
        let mut failed = 0;
        let mut last_failure = None;
        for r in events {
            if let Event::HttpRequest {
                started,
                status,
                error,
                ..
            } = &r.event
                && *started >= f.t
                && *started <= end
            {
                requests += 1;
                if error.is_some() || status.is_none() {
                    failed += 1;
                    last_failure = Some(last_failure.unwrap_or(0).max(started - f.t));
                }
            }
        }
        out.push(Convergence {
            fault: f.clone(),
            new_master,
            vip_moved,
            dest_removed,
            dest_added,
            requests,
            failed_requests: failed,
            last_failure_after: last_failure,
        });
    }
    out
}

/// Requests started in one phase of the run (between faults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestWindow {
    pub from: u64,
    /// Exclusive, except for the last window, which ends with the run.
    pub to: u64,
    pub label: String,
    pub total: u64,
    /// Answers per server label (web node name, or the IP when unknown).
    pub by_server: BTreeMap<String, u64>,
    pub failed: u64,
}

/// The name of the web node with this IP, else the server text itself.
pub fn server_label(summary: &RunSummary, server: &str) -> String {
    let ip = server.split_whitespace().last().unwrap_or(server);
    summary
        .nodes
        .iter()
        .find(|n| n.ip.split('/').next() == Some(ip))
        .map_or(ip.to_string(), |n| n.name.clone())
}

pub fn request_windows(summary: &RunSummary, events: &[Record]) -> Vec<RequestWindow> {
    let end = summary
        .duration_ns
        .max(events.iter().map(|r| r.t).max().unwrap_or(0));
    let faults = faults(summary, events);
    let mut bounds: Vec<(u64, String)> = vec![(0, "start".to_string())];
    for f in &faults {
        if f.t > 0 {
            bounds.push((f.t, f.describe()));
        } else {
            bounds[0].1 = f.describe();
        }
    }
    let mut out = Vec::new();
    for (i, (from, label)) in bounds.iter().enumerate() {
        let to = bounds.get(i + 1).map_or(end, |b| b.0);
        let last = i + 1 == bounds.len();
        let mut w = RequestWindow {
            from: *from,
            to,
            label: label.clone(),
            total: 0,
            by_server: BTreeMap::new(),
            failed: 0,
        };
        for r in events {
            if let Event::HttpRequest {
                started,
                status,
                server,
                error,
                ..
            } = &r.event
                && *started >= *from
                && (*started < to || (last && *started <= to))
            {
                w.total += 1;
                match (status, error, server) {
                    (Some(_), None, Some(s)) => {
                        *w.by_server.entry(server_label(summary, s)).or_default() += 1
                    }
                    (Some(_), None, None) => {
                        *w.by_server.entry("(unknown)".into()).or_default() += 1
                    }
                    _ => w.failed += 1,
                }
            }
        }
        out.push(w);
    }
    out
}

/// A bucket width giving at most about 12 rows: 1, 2, 5, 10, 15, 30 or 60 s, ….
pub fn bucket_width(end: u64) -> u64 {
    const STEPS: [u64; 10] = [1, 2, 5, 10, 15, 20, 30, 60, 300, 600];
    let secs = end.div_ceil(1_000_000_000).max(1);
    STEPS
        .iter()
        .copied()
        .find(|s| secs / s <= 12)
        .unwrap_or(3600)
        * 1_000_000_000
}

/// Requests by start time in fixed buckets of `width` ns (see [`bucket_width`]) covering the
/// run; buckets in which no request started are left out.
pub fn request_buckets(summary: &RunSummary, events: &[Record], width: u64) -> Vec<RequestWindow> {
    let width = width.max(1);
    let mut buckets: BTreeMap<u64, RequestWindow> = BTreeMap::new();
    for r in events {
        if let Event::HttpRequest {
            started,
            status,
            server,
            error,
            ..
        } = &r.event
        {
            let from = started / width * width;
            let w = buckets.entry(from).or_insert_with(|| RequestWindow {
                from,
                to: from.saturating_add(width),
                label: String::new(),
                total: 0,
                by_server: BTreeMap::new(),
                failed: 0,
            });
            w.total += 1;
            match (status, error) {
                (Some(_), None) => {
                    let label = server
                        .as_deref()
                        .map_or("(unknown)".to_string(), |s| server_label(summary, s));
                    *w.by_server.entry(label).or_default() += 1;
                }
                _ => w.failed += 1,
            }
        }
    }
    buckets.into_values().collect()
}

/// Every server label that answered at least once, in order.
pub fn servers(windows: &[RequestWindow]) -> Vec<String> {
    let mut all: Vec<String> = windows
        .iter()
        .flat_map(|w| w.by_server.keys().cloned())
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Events of each kind in the log.
pub fn kind_counts(events: &[Record]) -> BTreeMap<&'static str, u64> {
    let mut m = BTreeMap::new();
    for r in events {
        *m.entry(r.event.kind()).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvs_model::event::VrrpStateName;

    const S: u64 = 1_000_000_000;

    #[test]
    fn bucket_width_keeps_tables_short() {
        assert_eq!(bucket_width(10 * S), S);
        assert_eq!(bucket_width(40 * S), 5 * S);
        assert_eq!(bucket_width(90 * S), 10 * S);
        assert_eq!(bucket_width(0), S);
    }

    #[test]
    fn garp_bursts_and_failure_runs_are_condensed() {
        let r = |t: u64, node: &str, event: Event| Record {
            t,
            node: node.into(),
            event,
        };
        let ip = std::net::Ipv4Addr::new(192, 168, 80, 200);
        let inside = std::net::Ipv4Addr::new(10, 0, 0, 254);
        let failed = |started: u64| Event::HttpRequest {
            client: "c".into(),
            started,
            status: None,
            server: None,
            error: Some(HttpError::Timeout),
        };
        let log = vec![
            r(
                S,
                "a",
                Event::VrrpState {
                    instance: "VI_1".into(),
                    from: VrrpStateName::Backup,
                    to: VrrpStateName::Master,
                },
            ),
            r(S, "a", Event::Garp { ip }),
            r(S, "a", Event::Garp { ip: inside }),
            r(S + 1, "a", Event::Garp { ip }),
            r(S + 1, "a", Event::Garp { ip: inside }),
            r(6 * S, "a", Event::Garp { ip }),
            r(7 * S, "c", failed(4 * S)),
            r(8 * S, "c", failed(5 * S)),
            r(20 * S, "c", failed(17 * S)),
        ];
        let texts: Vec<String> = timeline(&log).into_iter().map(|i| i.text).collect();
        assert_eq!(
            texts,
            [
                "VI_1 BACKUP -> MASTER",
                "2 gratuitous ARPs for 192.168.80.200",
                "2 gratuitous ARPs for 10.0.0.254",
                "1 gratuitous ARP for 192.168.80.200",
                "2 requests failed (timeout 2), started 4s..5s",
                "1 request failed (timeout 1), started 17s",
            ]
        );
        let summary = RunSummary::default();
        let buckets = request_buckets(&summary, &log, 5 * S);
        let froms: Vec<u64> = buckets.iter().map(|b| b.from).collect();
        assert_eq!(froms, [0, 5 * S, 15 * S], "empty buckets are left out");
    }
}
