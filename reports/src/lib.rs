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

/// An `ipvsadm -Ln` table the runner captured on a director.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IpvsadmSnapshot {
    /// When it was taken, ns since the start of the run.
    pub t: u64,
    pub node: String,
    /// Why it was taken, e.g. `before stop keepalived on lvs-master`.
    pub label: String,
    /// The table exactly as `ipvsadm -Ln` prints it.
    pub text: String,
}

/// A keepalived.conf diagnostic the runner's config check produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConfigDiagnostic {
    /// The director whose configuration it is.
    pub node: String,
    pub file: String,
    pub line: u32,
    pub severity: String,
    pub message: String,
}

/// One line of what a director's keepalived.conf sets up, as the runner's parser read it, e.g.
/// `VI_1: state MASTER, priority 100, vrid 51, advert_int 1, VIP 192.168.80.200 on eth1`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConfigLine {
    pub node: String,
    pub text: String,
}

/// What only the runner knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Extras {
    pub ipvsadm: Vec<IpvsadmSnapshot>,
    pub diagnostics: Vec<ConfigDiagnostic>,
    /// The configuration summary, in the order the runner gives it.
    pub config: Vec<ConfigLine>,
}

/// Everything a report is made from.
#[derive(Clone, Copy, Debug)]
pub struct ReportInput<'a> {
    pub summary: &'a RunSummary,
    /// The event log, in simulated-time order.
    pub events: &'a [Record],
    pub verdicts: &'a [Verdict],
    pub extras: &'a Extras,
}

impl ReportInput<'_> {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}

pub mod analysis;
pub mod fmt;
mod json;
mod markdown;
mod svg;
mod terminal;

pub use json::summary_json;
pub use markdown::report_md;
pub use svg::timeline_svg;
pub use terminal::terminal_timeline;

/// Writes `report.md`, `timeline.svg` and `summary.json` into `out_dir` (created if needed).
pub fn write_all(out_dir: &std::path::Path, input: &ReportInput<'_>) -> std::io::Result<()> {
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(out_dir.join("report.md"), report_md(input))?;
    std::fs::write(out_dir.join("timeline.svg"), timeline_svg(input))?;
    std::fs::write(out_dir.join("summary.json"), summary_json(input))?;
    Ok(())
}
