//! `lvslab run [SCENARIO]`: builds the lab a scenario describes, runs it, prints the timeline
//! and the verdict of each expectation, and writes the outputs asked for.
//!
//! With no scenario it runs the seed lab built into the binary (the seed article's two
//! directors, two DR web servers and a client; keepalived on the master stops at 30 s), so the
//! command works from any directory.

use crate::lab::Lab;
use crate::scenario::Scenario;
use reports::{Extras, ReportInput};
use sim::trace::TraceConfig;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Arguments of `lvslab run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML). Without one, the built-in seed lab runs.
    pub scenario: Option<PathBuf>,
    /// Seed for every random draw (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Directory for events.jsonl, lan.pcap, report.md, timeline.svg and summary.json.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the event log (JSON Lines) here.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Write a pcap of every frame on the LAN here.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Print only the verdicts and the digest, not the timeline.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The seed lab compiled into the binary: (file name, contents).
const BUILTIN: &[(&str, &str)] = &[
    (
        "seed-lab.toml",
        include_str!("../../scenarios/seed/00-seed-lab.toml"),
    ),
    (
        "keepalived-master.conf",
        include_str!("../../scenarios/seed/keepalived-master.conf"),
    ),
    (
        "keepalived-backup.conf",
        include_str!("../../scenarios/seed/keepalived-backup.conf"),
    ),
];

/// A private directory holding the built-in seed lab's files, removed on drop.
struct BuiltinDir(PathBuf);

impl BuiltinDir {
    fn create() -> std::io::Result<BuiltinDir> {
        let dir = std::env::temp_dir().join(format!("lvslab-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        for (name, text) in BUILTIN {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(BuiltinDir(dir))
    }
}

impl Drop for BuiltinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The command line that repeats this run.
fn reproduce(args: &RunArgs, seed: u64) -> String {
    match &args.scenario {
        Some(p) => format!("lvslab run {} --seed {seed}", p.display()),
        None => format!("lvslab run --seed {seed}"),
    }
}

/// Runs `lvslab run`; returns the exit status (0 all expectations held, 1 one failed, 2 the
/// scenario or an output could not be used).
pub fn run(args: &RunArgs) -> i32 {
    match run_inner(args) {
        Ok(passed) => i32::from(!passed),
        Err(message) => {
            eprintln!("lvslab run: {message}");
            2
        }
    }
}

fn run_inner(args: &RunArgs) -> Result<bool, String> {
    let builtin;
    let path = match &args.scenario {
        Some(p) => p.clone(),
        None => {
            builtin =
                BuiltinDir::create().map_err(|e| format!("cannot unpack the seed lab: {e}"))?;
            builtin.0.join("seed-lab.toml")
        }
    };
    let scenario = Scenario::load(&path).map_err(|e| e.to_string())?;
    let trace = TraceConfig {
        pcap: args.pcap.is_some() || args.out.is_some(),
        frame_digest: true,
    };
    let lab = Lab::build_with(scenario, args.seed, trace).map_err(|e| e.to_string())?;
    let seed = lab.seed;
    let scenario = lab.scenario.clone();
    let diagnostics = lab.diagnostics.clone();
    let config = lab.config_lines.clone();
    for w in &scenario.warnings {
        eprintln!("lvslab run: warning: {w}");
    }
    let show_progress = std::io::stderr().is_terminal();
    let (mut world, output) = lab
        .run(|t, end| {
            if show_progress {
                eprint!("\r  simulated {t} of {end}");
            }
        })
        .map_err(|e| e.to_string())?;
    if show_progress {
        eprint!("\r\x1b[K");
    }
    let verdicts = scenario.evaluate(&output.records);
    let summary = scenario.run_summary(reproduce(args, seed));
    let extras = Extras {
        ipvsadm: output.ipvsadm,
        diagnostics,
        config,
    };
    let input = ReportInput {
        summary: &summary,
        events: &output.records,
        verdicts: &verdicts,
        extras: &extras,
    };
    let passed = input.passed();

    // The event log is built in memory only when a file wants it; otherwise it is hashed as
    // it is serialized.
    let wants_events = args.out.is_some() || args.events.is_some();
    let mut events = Vec::new();
    let digest = if wants_events {
        sim::trace::write_events(&output.records, &mut events).map_err(|e| e.to_string())?;
        world.trace().digest_with(&events)
    } else {
        world.trace().digest(&output.records)
    };
    let pcap = world.trace_mut().take_pcap().unwrap_or_default();
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        reports::write_all(dir, &input).map_err(|e| format!("cannot write the report: {e}"))?;
        write_file(&dir.join("events.jsonl"), &events)?;
        write_file(&dir.join("lan.pcap"), &pcap)?;
    }
    if let Some(p) = &args.events {
        write_file(p, &events)?;
    }
    if let Some(p) = &args.pcap {
        write_file(p, &pcap)?;
    }

    let mut out = std::io::stdout().lock();
    let text = if args.quiet {
        verdict_lines(&input)
    } else {
        reports::terminal_timeline(&input)
    };
    let _ = out.write_all(text.as_bytes());
    let stats = world.stats();
    let _ = writeln!(
        out,
        "\n{} events, {} frames ({} dropped) in {} simulated; digest {digest}",
        output.records.len(),
        stats.frames_sent,
        stats.dropped_link_down
            + stats.dropped_loss
            + stats.dropped_partition
            + stats.dropped_powered_off
            + stats.dropped_queue_full,
        world.now(),
    );
    if !passed {
        let _ = writeln!(out, "reproduce with: {}", summary.reproduce);
    }
    Ok(passed)
}

fn verdict_lines(input: &ReportInput<'_>) -> String {
    let mut s = String::new();
    for v in input.verdicts {
        let mark = if v.passed { "ok  " } else { "FAIL" };
        s.push_str(&format!("{mark} {} — {}\n", v.expectation, v.explanation));
    }
    s
}
