//! `lvslab fuzz SCENARIO`: runs random fault schedules against the scenario's lab and checks
//! the failover invariants ([`crate::fuzz`]); on a failure prints the shrunk schedule as
//! `[[at]]` lines and what broke.
//!
//! Deterministic: the cases come from `--seed` through proptest's ChaCha runner, and nothing
//! is written to disk (no proptest persistence files).

use crate::fuzz::{FuzzConfig, Fuzzer, Outcome};
use crate::scenario::Scenario;
use crate::scenario::duration::{format_duration, parse_duration};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `lvslab fuzz`.
#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Scenario file (TOML); its `[[at]]` faults and expectations are replaced by the fuzzer's.
    pub scenario: PathBuf,
    /// How many cases to run.
    #[arg(long, default_value_t = 32)]
    pub cases: u32,
    /// Seed of the case generator.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Length of the fault window (default: the scenario's `duration`), e.g. "90s"; each run
    /// adds a quiet tail for the lab to converge.
    #[arg(long)]
    pub duration: Option<String>,
    /// At most this many fault episodes per case.
    #[arg(long, default_value_t = 4)]
    pub max_episodes: usize,
    /// Leave out a kind of fault (repeatable).
    #[arg(long, value_enum, value_name = "KIND")]
    pub without: Vec<FaultKind>,
}

/// Kinds of fault `--without` can leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FaultKind {
    /// stop/crash/start keepalived
    Keepalived,
    /// only `crash keepalived` (`stop` stays)
    KeepalivedCrash,
    /// stop/crash/start httpd
    Httpd,
    /// power off/on
    Power,
    /// link down/up
    Link,
    /// partition/heal
    Partition,
    /// loss P% / loss 0% on a node's links
    Loss,
}

/// Runs `lvslab fuzz`; returns the exit status (0 every case held, 1 an invariant broke, 2 the
/// scenario could not be used).
pub fn run(args: &FuzzArgs) -> i32 {
    match run_inner(args) {
        Ok(passed) => i32::from(!passed),
        Err(message) => {
            eprintln!("lvslab fuzz: {message}");
            2
        }
    }
}

fn run_inner(args: &FuzzArgs) -> Result<bool, String> {
    let scenario = Scenario::load(&args.scenario).map_err(|e| e.to_string())?;
    let mut config = FuzzConfig {
        max_episodes: args.max_episodes,
        ..FuzzConfig::default()
    };
    for k in &args.without {
        let kinds = &mut config.kinds;
        match k {
            FaultKind::Keepalived => kinds.keepalived = false,
            FaultKind::KeepalivedCrash => kinds.keepalived_crash = false,
            FaultKind::Httpd => kinds.httpd = false,
            FaultKind::Power => kinds.power = false,
            FaultKind::Link => kinds.link = false,
            FaultKind::Partition => kinds.partition = false,
            FaultKind::Loss => kinds.loss = false,
        }
    }
    if let Some(d) = &args.duration {
        config.duration = Some(parse_duration(d).map_err(|e| format!("--duration: {e}"))?);
    }
    let fuzzer = Fuzzer::new(scenario, config).map_err(|e| e.to_string())?;
    let t = fuzzer.targets();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "fuzzing {} with {} cases from seed {}: faults every {} from {} to {}, runs of {}; {}",
        args.scenario.display(),
        args.cases,
        args.seed,
        format_duration(t.grid),
        format_duration(t.start),
        format_duration(t.end),
        format_duration(fuzzer.run_length()),
        fuzzer.settle(),
    );
    let outcome = fuzzer.run(args.cases, args.seed, |step| {
        let what = if step.shrinking { "shrink" } else { "case" };
        let verdict = if step.failed { "FAIL" } else { "ok" };
        let _ = writeln!(
            out,
            "{what} {}: {} episode(s), seed {}: {verdict}",
            step.run,
            step.case.schedule.episodes().len(),
            step.case.seed
        );
    });
    let mut out = std::io::stdout().lock();
    match outcome {
        Outcome::Passed { cases } => {
            let _ = writeln!(out, "all {cases} cases held");
            Ok(true)
        }
        Outcome::Failed(f) => {
            let _ = writeln!(
                out,
                "\nFAILED after {} passing case(s); shrunk to {} episode(s):\n",
                f.passed,
                f.case.schedule.episodes().len()
            );
            let _ = write!(out, "{}", f.reproduce());
            for v in &f.violations {
                let _ = writeln!(out, "{v}");
            }
            Ok(false)
        }
    }
}
