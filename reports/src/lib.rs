//! Event log → `report.md`, `timeline.svg`, `summary.json`, and the terminal timeline that
//! `lvslab run` prints.
//!
//! Input: a [`RunSummary`] (what the scenario set up), the run's event log (`&[Record]`, in
//! simulated-time order), the expectation [`Verdict`]s, and what only the runner knows
//! ([`Extras`]: `ipvsadm -Ln` snapshots, configuration diagnostics). Every output is a pure
//! function of these: no clock, no hash-ordered iteration, so the same run gives the same bytes.
//! Times are printed exactly, as seconds with trailing zeros trimmed (`30.61328125s`).

use lvs_model::event::Record;
use serde::Serialize;

/// What the scenario set up, as the reports show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub name: String,
    pub seed: u64,
    /// Length of the run in nanoseconds.
    pub duration_ns: u64,
    /// The command line that repeats the run.
    pub reproduce: String,
    /// One line describing the LAN.
    pub lan: String,
    pub nodes: Vec<NodeSummary>,
    /// Scheduled faults in time order.
    pub faults: Vec<FaultSummary>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeSummary {
    pub name: String,
    /// `director`, `web` or `client`.
    pub role: String,
    /// Address with prefix, `192.168.80.100/24`.
    pub ip: String,
    /// One line: what runs there and how it is set up.
    pub details: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FaultSummary {
    /// Nanoseconds since the start of the run.
    pub t: u64,
    /// Canonical fault text (`stop keepalived`).
    pub action: String,
    /// `node` or `node:port`; `None` for `partition` and `heal`.
    pub target: Option<String>,
}

/// The result of checking one expectation against the event log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The sentence, as written in the scenario.
    pub expectation: String,
    /// Its line in the scenario file.
    pub line: usize,
    pub passed: bool,
    /// What the log showed, in words and exact times.
    pub explanation: String,
    /// The simulated time (ns) that decided the verdict, when there is one.
    pub at: Option<u64>,
    /// On failure: the events around `at`.
    pub context: Vec<Record>,
}
