//! Failover fuzzing: random fault schedules against a scenario's lab, checked by invariants
//! that hold for any keepalived pair once the lab has converged.
//!
//! A [`Fuzzer`] takes a scenario and replaces its `[[at]]` faults with generated ones
//! ([`schedule`]): keepalived stop/crash/start on directors, httpd stop/crash/start on web
//! servers, power off/on, link down/up and frame loss (`loss P%`) on both, partitions between
//! directors — each undone before the fault window ends. The fault window is the scenario's run (`duration`, or
//! [`FuzzConfig::duration`]); fault times sit on its grid (`grid`) from one grid step in. The
//! fuzzer then extends the run by a quiet tail — the settle time ([`Settle::total`], or after a
//! partition or loss [`Settle::dual_master`] + [`Settle::client_arp`] when longer) plus `observe` — so
//! the lab can converge and be watched. The scenario's own expectations are not evaluated (they were
//! written for its own faults).
//!
//! Each case is a schedule and a lab seed; [`Fuzzer::run_case`] runs it and checks
//! [`invariants`] (a)–(d); determinism (e) is checked by running a case twice
//! ([`Fuzzer::check_determinism`]). [`Fuzzer::run`] drives proptest's runner from one seed,
//! writes no persistence files and shrinks a failing case; [`Failure::reproduce`] renders the
//! shrunk case as the `[[at]]` lines (and the seed) a user pastes into the scenario.
//!
//! In a user's own test, [`Fuzzer::cases`] is an ordinary proptest strategy:
//!
//! ```no_run
//! use lvslab::fuzz::{FuzzConfig, Fuzzer};
//! use lvslab::scenario::Scenario;
//! use proptest::prelude::*;
//!
//! let fuzzer = Fuzzer::new(Scenario::load("lab.toml").unwrap(), FuzzConfig::default()).unwrap();
//! proptest!(ProptestConfig::with_cases(8), |(case in fuzzer.cases())| {
//!     let report = fuzzer.run_case(&case).unwrap();
//!     prop_assert!(report.violations.is_empty(), "{}", report.explain(&case));
//! });
//! ```

pub mod invariants;
pub mod schedule;

pub use invariants::{Cluster, Invariant, Settle, Violation};
pub use schedule::{Disruption, Episode, Kill, Kinds, Schedule, Targets};

use crate::lab::{Lab, LabError};
use crate::scenario::Scenario;
use crate::scenario::duration::format_duration;
use lvs_model::director::Director;
use lvs_model::event::Record;
use lvs_model::time::Instant;
use proptest::strategy::{BoxedStrategy, Strategy};
use proptest::test_runner::{
    Config as ProptestConfig, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner,
};
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::time::Duration;

/// How the fuzzer generates and runs cases.
#[derive(Clone, Debug, PartialEq)]
pub struct FuzzConfig {
    /// Fault times are multiples of this (default 500 ms).
    pub grid: Duration,
    /// At most this many episodes per schedule (default 4).
    pub max_episodes: usize,
    /// The longest one episode lasts (default 15 s).
    pub max_lasts: Duration,
    /// How long the run goes on after convergence (default 5 s).
    pub observe: Duration,
    /// The fault window's length; `None` takes the scenario's `duration`. The run lasts this
    /// plus the quiet tail.
    pub duration: Option<Duration>,
    pub kinds: Kinds,
    /// Re-run every n-th case (the first, the (n+1)-th...) to check determinism; 0 never.
    pub determinism_every: u32,
    /// Stop shrinking after this many steps (each one is a run).
    pub max_shrink_iters: u32,
}

impl Default for FuzzConfig {
    fn default() -> Self {
        FuzzConfig {
            grid: Duration::from_millis(500),
            max_episodes: 4,
            max_lasts: Duration::from_secs(15),
            observe: Duration::from_secs(5),
            duration: None,
            kinds: Kinds::default(),
            determinism_every: 4,
            max_shrink_iters: 256,
        }
    }
}

/// Why fuzzing could not start or a case could not run.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error("the fault window ({0}) must last at least two grid steps ({1} each)")]
    TooShort(String, String),
    #[error("the scenario has no director or web server to fault")]
    NothingToFault,
}

/// One generated case: a fault schedule and the lab's seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub schedule: Schedule,
    pub seed: u64,
}

/// What one run of a case gave.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseReport {
    pub violations: Vec<Violation>,
    /// The run's digest (event log and frames).
    pub digest: String,
    /// When the invariants (a), (c), (d) start to apply.
    pub converged_at: Instant,
    pub end: Instant,
    pub records: Vec<Record>,
}

impl CaseReport {
    /// The violations, one per line, after the case's `[[at]]` lines.
    pub fn explain(&self, case: &Case) -> String {
        let mut s = reproduce(case);
        for v in &self.violations {
            let _ = writeln!(s, "{v}");
        }
        s
    }
}

/// A failing case after shrinking.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub case: Case,
    pub violations: Vec<Violation>,
    /// Cases that passed before the failing one was found.
    pub passed: u32,
}

impl Failure {
    /// The shrunk case as scenario lines to paste, with `--seed`.
    pub fn reproduce(&self) -> String {
        reproduce(&self.case)
    }
}

fn reproduce(case: &Case) -> String {
    format!(
        "# seed {} (lvslab run SCENARIO --seed {}); in place of the scenario's [[at]] entries:\n{}",
        case.seed,
        case.seed,
        case.schedule.to_toml()
    )
}

/// What [`Fuzzer::run`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every case held.
    Passed {
        cases: u32,
    },
    Failed(Failure),
}

/// A progress report from [`Fuzzer::run`].
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// Runs so far (cases and shrink steps).
    pub run: u32,
    pub shrinking: bool,
    pub case: &'a Case,
    pub failed: bool,
}

/// Generates and checks cases for one scenario.
pub struct Fuzzer {
    base: Scenario,
    config: FuzzConfig,
    cluster: Cluster,
    targets: Targets,
}

impl Fuzzer {
    /// Prepares fuzzing of `scenario`: builds its lab once to read the directors' plans.
    pub fn new(scenario: Scenario, config: FuzzConfig) -> Result<Fuzzer, FuzzError> {
        let mut base = scenario;
        let window = config.duration.unwrap_or(base.duration);
        base.faults.clear();
        base.expectations.clear();
        let lab = Lab::build(base.clone(), None)?;
        let mut cluster = Cluster::default();
        for d in &base.directors {
            if let Some(dir) = lab
                .world
                .host(&d.name)
                .and_then(|n| n.as_any())
                .and_then(|a| a.downcast_ref::<Director>())
            {
                cluster.add_director(&d.name, dir);
            }
        }
        for w in &base.webs {
            cluster.webs.push(invariants::WebModel {
                name: w.name.clone(),
                rs: format!("{}:{}", w.ip.addr, w.port),
            });
        }
        // Two links per hop; on a rated LAN a full-size frame (1518 bytes) takes time on each.
        let frame = base.lan.rate_bps.map_or(Duration::ZERO, |r| {
            Duration::from_nanos(1518 * 8 * 1_000_000_000 / r.max(1))
        });
        cluster.hop = base.lan.latency + base.lan.jitter + frame * 2;
        let settle = cluster.settle();
        let grid = config.grid.max(Duration::from_millis(1));
        if window < grid * 2 {
            return Err(FuzzError::TooShort(
                format_duration(window),
                format_duration(grid),
            ));
        }
        // A partition, or frames lost on a director's link, can end with two MASTERs that
        // resolve without a gratuitous ARP.
        let split = (config.kinds.partition || config.kinds.loss) && base.directors.len() >= 2;
        let mut tail = settle.total();
        if split {
            tail = tail.max(settle.dual_master + settle.client_arp);
        }
        let duration = window + tail + config.observe;
        for c in &mut base.clients {
            if c.stop == base.duration {
                c.stop = duration;
            }
        }
        base.duration = duration;
        let end = window;
        let targets = Targets {
            directors: base.directors.iter().map(|d| d.name.clone()).collect(),
            webs: base.webs.iter().map(|w| w.name.clone()).collect(),
            grid,
            start: grid,
            end,
            max_lasts: config.max_lasts,
            kinds: config.kinds,
        };
        if targets.episode().is_none() && config.max_episodes > 0 {
            return Err(FuzzError::NothingToFault);
        }
        Ok(Fuzzer {
            base,
            config,
            cluster,
            targets,
        })
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn settle(&self) -> Settle {
        self.cluster.settle()
    }

    /// What the schedules may target and when.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The scenario a case runs: the base with the case's faults.
    pub fn scenario_for(&self, schedule: &Schedule) -> Scenario {
        let mut s = self.base.clone();
        s.faults = schedule.faults();
        s
    }

    /// The strategy for cases: a schedule and any lab seed.
    pub fn cases(&self) -> BoxedStrategy<Case> {
        (
            self.targets.schedule(self.config.max_episodes),
            proptest::num::u64::ANY,
        )
            .prop_map(|(schedule, seed)| Case { schedule, seed })
            .boxed()
    }

    /// When the invariants start to apply for `schedule`: its last repair plus the settle time.
    pub fn converged_at(&self, schedule: &Schedule) -> Instant {
        Instant::ZERO + schedule.last_repair() + self.settle().total()
    }

    /// From when no request may fail: convergence, or after a partition or loss the demoted
    /// director's last confirmation plus the client's ARP recovery ([`Settle::client_arp`]).
    pub fn requests_from(&self, schedule: &Schedule) -> Instant {
        let s = self.settle();
        let conv = self.converged_at(schedule);
        match schedule.last_heal() {
            Some(h) => conv.max(Instant::ZERO + h + s.dual_master + s.client_arp),
            None => conv,
        }
    }

    /// How long each case runs: the fault window plus the quiet tail.
    pub fn run_length(&self) -> Duration {
        self.base.duration
    }

    /// Runs one case and checks invariants (a)–(d).
    pub fn run_case(&self, case: &Case) -> Result<CaseReport, FuzzError> {
        let lab = Lab::build_with(
            self.scenario_for(&case.schedule),
            Some(case.seed),
            sim::trace::TraceConfig {
                pcap: false,
                ..Default::default()
            },
        )?;
        let (world, out) = lab.run(|_, _| {})?;
        let end = Instant::ZERO + self.base.duration;
        let converged_at = self.converged_at(&case.schedule);
        let violations = invariants::check(
            &self.cluster,
            &out.records,
            converged_at,
            self.requests_from(&case.schedule),
            end,
        );
        Ok(CaseReport {
            violations,
            digest: world.trace().digest(&out.records),
            converged_at,
            end,
            records: out.records,
        })
    }

    /// (e): runs the case again and compares with `first`; a violation when the event logs or
    /// digests differ.
    pub fn check_determinism(
        &self,
        case: &Case,
        first: &CaseReport,
    ) -> Result<Option<Violation>, FuzzError> {
        let again = self.run_case(case)?;
        if again.digest == first.digest && again.records == first.records {
            return Ok(None);
        }
        let i = first
            .records
            .iter()
            .zip(&again.records)
            .position(|(a, b)| a != b)
            .unwrap_or(first.records.len().min(again.records.len()));
        let at = first
            .records
            .get(i)
            .or(again.records.get(i))
            .map_or(0, |r| r.t);
        let show = |r: Option<&Record>| {
            r.and_then(|r| serde_json::to_string(r).ok())
                .unwrap_or_else(|| "(end of log)".to_string())
        };
        Ok(Some(Violation {
            invariant: Invariant::Determinism,
            at,
            explanation: format!(
                "two runs of the same scenario, schedule and seed differ (digests {} and {}); \
                 event {i}: {} vs {}",
                first.digest,
                again.digest,
                show(first.records.get(i)),
                show(again.records.get(i))
            ),
        }))
    }

    /// Runs `cases` cases from `seed` with proptest's runner (ChaCha, no persistence files),
    /// shrinks the first failing one and reports it. `progress` hears of every run.
    pub fn run(&self, cases: u32, seed: u64, mut progress: impl FnMut(Step<'_>)) -> Outcome {
        let config = ProptestConfig {
            cases,
            failure_persistence: None,
            source_file: None,
            rng_algorithm: RngAlgorithm::ChaCha,
            rng_seed: RngSeed::Fixed(seed),
            max_shrink_iters: self.config.max_shrink_iters,
            max_shrink_time: 0,
            fork: false,
            timeout: 0,
            verbose: 0,
            ..ProptestConfig::default()
        };
        let mut runner = TestRunner::new(config);
        let runs = Cell::new(0u32);
        let passed = Cell::new(0u32);
        let failed_once = Cell::new(false);
        let progress = RefCell::new(&mut progress);
        let result = runner.run(&self.cases(), |case| {
            let n = runs.get();
            runs.set(n + 1);
            let every = self.config.determinism_every;
            let outcome = self.run_case(&case).and_then(|report| {
                let mut v = report.violations.clone();
                if every > 0 && n.is_multiple_of(every) && v.is_empty() {
                    v.extend(self.check_determinism(&case, &report)?);
                }
                Ok(v)
            });
            let (failed, message) = match outcome {
                Ok(v) if v.is_empty() => (false, String::new()),
                Ok(v) => (
                    true,
                    v.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                Err(e) => (true, e.to_string()),
            };
            (progress.borrow_mut())(Step {
                run: n + 1,
                shrinking: failed_once.get(),
                case: &case,
                failed,
            });
            if failed {
                failed_once.set(true);
                Err(TestCaseError::fail(message))
            } else {
                if !failed_once.get() {
                    passed.set(passed.get() + 1);
                }
                Ok(())
            }
        });
        match result {
            Ok(()) => Outcome::Passed { cases },
            Err(TestError::Fail(_, case)) => {
                let violations = match self.run_case(&case) {
                    Ok(report) => {
                        let mut v = report.violations.clone();
                        if v.is_empty()
                            && let Ok(Some(d)) = self.check_determinism(&case, &report)
                        {
                            v.push(d);
                        }
                        v
                    }
                    Err(e) => vec![Violation {
                        invariant: Invariant::OneMaster,
                        at: 0,
                        explanation: format!("the case could not run: {e}"),
                    }],
                };
                Outcome::Failed(Failure {
                    case,
                    violations,
                    passed: passed.get(),
                })
            }
            Err(TestError::Abort(reason)) => Outcome::Failed(Failure {
                case: Case {
                    schedule: Schedule::default(),
                    seed,
                },
                violations: vec![Violation {
                    invariant: Invariant::OneMaster,
                    at: 0,
                    explanation: format!("proptest aborted: {reason}"),
                }],
                passed: passed.get(),
            }),
        }
    }
}
