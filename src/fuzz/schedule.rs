//! Fault schedules as data, the proptest strategies that generate them, and their rendering as
//! scenario `[[at]]` lines.
//!
//! A schedule is a list of [`Episode`]s: one disruption (a fault) and its undoing (the repair)
//! some grid steps later. Every episode is undone before the fault window ends, so once the
//! last repair has happened the lab is back to the configuration it started with and must
//! converge. [`Schedule::new`] normalises a raw list: episodes sorted by start, and an episode
//! dropped when it touches a node (or, for partitions, the LAN) that an earlier kept episode
//! still holds — `heal` removes *every* partition and `power on` restarts every process, so
//! overlapping episodes on one node would undo each other in ways a reader of the `[[at]]`
//! lines would not expect. Episodes on different nodes overlap freely.

use crate::scenario::duration::format_duration;
use crate::scenario::{FaultTarget, ScheduledFault};
use lvs_model::ProcessAction;
use proptest::prelude::*;
use sim::fault::FaultAction;
use std::fmt::Write as _;
use std::time::Duration;

/// How a process goes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// `stop`: graceful (SIGTERM).
    Stop,
    /// `crash`: SIGKILL, nothing cleaned up.
    Crash,
}

impl Kill {
    fn action(self) -> ProcessAction {
        match self {
            Kill::Stop => ProcessAction::Stop,
            Kill::Crash => ProcessAction::Crash,
        }
    }
}

/// One fault with its repair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disruption {
    /// `stop|crash keepalived` on a director, then `start keepalived`.
    Keepalived { node: String, kill: Kill },
    /// `stop|crash httpd` on a web server, then `start httpd`.
    Httpd { node: String, kill: Kill },
    /// `power off`, then `power on`.
    Power { node: String },
    /// `link down`, then `link up` (every port of the node).
    Link { node: String },
    /// `loss P%` on every link of the node, then `loss 0%`: frames dropped at random (the
    /// link's own seeded stream), carriers up, so nothing notices but the protocols.
    Loss { node: String, percent: u8 },
    /// `partition A / B` (or `A -> B` when `one_way`) between directors, then `heal`.
    Partition {
        from: Vec<String>,
        to: Vec<String>,
        one_way: bool,
    },
}

impl Disruption {
    /// The nodes the episode holds while it lasts (`None`: the LAN's partition table).
    fn holds(&self) -> Option<&str> {
        match self {
            Disruption::Keepalived { node, .. }
            | Disruption::Httpd { node, .. }
            | Disruption::Power { node }
            | Disruption::Link { node }
            | Disruption::Loss { node, .. } => Some(node),
            Disruption::Partition { .. } => None,
        }
    }

    /// The fault and the repair, each with its target.
    fn actions(&self) -> [(FaultAction, Option<&str>); 2] {
        let process = |kill: Option<Kill>, name: &str| FaultAction::Process {
            action: kill.map_or(ProcessAction::Start, Kill::action),
            process: name.to_string(),
        };
        match self {
            Disruption::Keepalived { node, kill } => [
                (process(Some(*kill), "keepalived"), Some(node)),
                (process(None, "keepalived"), Some(node)),
            ],
            Disruption::Httpd { node, kill } => [
                (process(Some(*kill), "httpd"), Some(node)),
                (process(None, "httpd"), Some(node)),
            ],
            Disruption::Power { node } => [
                (FaultAction::PowerOff, Some(node)),
                (FaultAction::PowerOn, Some(node)),
            ],
            Disruption::Link { node } => [
                (FaultAction::LinkDown, Some(node)),
                (FaultAction::LinkUp, Some(node)),
            ],
            Disruption::Loss { node, percent } => [
                (
                    FaultAction::Loss {
                        ppm: u32::from(*percent) * 10_000,
                    },
                    Some(node),
                ),
                (FaultAction::Loss { ppm: 0 }, Some(node)),
            ],
            Disruption::Partition { from, to, one_way } => [
                (
                    FaultAction::Partition {
                        from: from.clone(),
                        to: to.clone(),
                        one_way: *one_way,
                    },
                    None,
                ),
                (FaultAction::Heal, None),
            ],
        }
    }
}

/// A disruption from `at` until `at + lasts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    pub disruption: Disruption,
    pub at: Duration,
    pub lasts: Duration,
}

impl Episode {
    /// When the repair happens.
    pub fn until(&self) -> Duration {
        self.at + self.lasts
    }
}

/// A normalised list of episodes (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    episodes: Vec<Episode>,
}

impl Schedule {
    /// Sorts `raw` by start (stable) and drops episodes that overlap an earlier kept one on the
    /// same node, or another partition. Intervals are closed: a repair and a new fault at the
    /// same instant on one node also count as overlapping.
    pub fn new(mut raw: Vec<Episode>) -> Schedule {
        raw.sort_by_key(|e| e.at);
        let mut kept: Vec<Episode> = Vec::new();
        for e in raw {
            let clash = kept
                .iter()
                .any(|k| k.disruption.holds() == e.disruption.holds() && e.at <= k.until());
            if !clash {
                kept.push(e);
            }
        }
        Schedule { episodes: kept }
    }

    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    pub fn is_empty(&self) -> bool {
        self.episodes.is_empty()
    }

    /// The time of the last repair (zero for an empty schedule: the lab's own start-up is then
    /// the last thing it converges from).
    pub fn last_repair(&self) -> Duration {
        self.episodes
            .iter()
            .map(Episode::until)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// The time of the last `heal` or `loss 0%`, if the schedule partitions the LAN or loses
    /// frames: either can leave two MASTERs that resolve silently (see
    /// [`crate::fuzz::invariants::Settle::client_arp`]).
    pub fn last_heal(&self) -> Option<Duration> {
        self.episodes
            .iter()
            .filter(|e| {
                matches!(
                    e.disruption,
                    Disruption::Partition { .. } | Disruption::Loss { .. }
                )
            })
            .map(Episode::until)
            .max()
    }

    /// The schedule as scenario faults, by time; among equal times faults come before repairs,
    /// then episode order.
    pub fn faults(&self) -> Vec<ScheduledFault> {
        let mut out: Vec<(Duration, u8, usize, ScheduledFault)> = Vec::new();
        for (i, e) in self.episodes.iter().enumerate() {
            let [fault, repair] = e.disruption.actions();
            for (phase, at, (action, target)) in [(0, e.at, fault), (1, e.until(), repair)] {
                out.push((
                    at,
                    phase,
                    i,
                    ScheduledFault {
                        at,
                        action,
                        target: target.map(|n| FaultTarget {
                            node: n.to_string(),
                            port: None,
                        }),
                        line: 0,
                    },
                ));
            }
        }
        out.sort_by_key(|(at, phase, i, _)| (*at, *phase, *i));
        out.into_iter().map(|(.., f)| f).collect()
    }

    /// The schedule as `[[at]]` entries to paste into a scenario file (in place of its own).
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        for f in self.faults() {
            let _ = writeln!(s, "[[at]]");
            let _ = writeln!(s, "t = \"{}\"", format_duration(f.at));
            let _ = writeln!(s, "do = \"{}\"", f.action);
            if let Some(t) = &f.target {
                let _ = writeln!(s, "on = \"{t}\"");
            }
            s.push('\n');
        }
        if s.is_empty() {
            s.push_str("# (no faults)\n");
        }
        s
    }
}

/// Which disruptions a generated schedule may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kinds {
    pub keepalived: bool,
    /// Whether keepalived may be killed with `crash` (SIGKILL) as well as `stop`.
    pub keepalived_crash: bool,
    pub httpd: bool,
    pub power: bool,
    pub link: bool,
    pub partition: bool,
    pub loss: bool,
}

impl Default for Kinds {
    fn default() -> Self {
        Kinds {
            keepalived: true,
            keepalived_crash: true,
            httpd: true,
            power: true,
            link: true,
            partition: true,
            loss: true,
        }
    }
}

/// What the strategies may target and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    /// Nodes running keepalived.
    pub directors: Vec<String>,
    /// Nodes running httpd.
    pub webs: Vec<String>,
    /// Fault times are multiples of `grid`...
    pub grid: Duration,
    /// ...from `start` (inclusive)...
    pub start: Duration,
    /// ...and every repair happens by `end` (inclusive).
    pub end: Duration,
    /// The longest an episode lasts (at least one grid step).
    pub max_lasts: Duration,
    pub kinds: Kinds,
}

fn kill() -> impl Strategy<Value = Kill> {
    prop_oneof![Just(Kill::Stop), Just(Kill::Crash)]
}

fn pick(names: &[String]) -> impl Strategy<Value = String> + use<> {
    let names = names.to_vec();
    (0..names.len()).prop_map(move |i| names[i].clone())
}

impl Targets {
    fn steps(d: Duration, grid: Duration) -> u64 {
        (d.as_nanos() / grid.as_nanos().max(1)) as u64
    }

    /// One disruption the targets support. `None` when there is none (no nodes, or every kind
    /// disabled).
    pub fn disruption(&self) -> Option<BoxedStrategy<Disruption>> {
        let mut arms: Vec<BoxedStrategy<Disruption>> = Vec::new();
        let (d, w, k) = (&self.directors, &self.webs, self.kinds);
        if k.keepalived && !d.is_empty() {
            let kills = if k.keepalived_crash {
                kill().boxed()
            } else {
                Just(Kill::Stop).boxed()
            };
            arms.push(
                (pick(d), kills)
                    .prop_map(|(node, kill)| Disruption::Keepalived { node, kill })
                    .boxed(),
            );
        }
        if k.httpd && !w.is_empty() {
            arms.push(
                (pick(w), kill())
                    .prop_map(|(node, kill)| Disruption::Httpd { node, kill })
                    .boxed(),
            );
        }
        let all: Vec<String> = d.iter().chain(w).cloned().collect();
        if k.power && !all.is_empty() {
            arms.push(
                pick(&all)
                    .prop_map(|node| Disruption::Power { node })
                    .boxed(),
            );
        }
        if k.link && !all.is_empty() {
            arms.push(
                pick(&all)
                    .prop_map(|node| Disruption::Link { node })
                    .boxed(),
            );
        }
        if k.loss && !all.is_empty() {
            arms.push(
                (pick(&all), prop_oneof![Just(10u8), Just(50), Just(100)])
                    .prop_map(|(node, percent)| Disruption::Loss { node, percent })
                    .boxed(),
            );
        }
        if k.partition && d.len() >= 2 {
            let names = d.clone();
            let n = names.len();
            // A bit per director: set bits on one side, clear on the other; both non-empty.
            let masks = 1u64..((1u64 << n.min(16)) - 1);
            arms.push(
                (masks, any::<bool>())
                    .prop_map(move |(mask, one_way)| {
                        let (mut from, mut to) = (Vec::new(), Vec::new());
                        for (i, name) in names.iter().enumerate() {
                            if i < 16 && mask & (1 << i) != 0 {
                                from.push(name.clone());
                            } else {
                                to.push(name.clone());
                            }
                        }
                        Disruption::Partition { from, to, one_way }
                    })
                    .boxed(),
            );
        }
        if arms.is_empty() {
            return None;
        }
        Some(proptest::strategy::Union::new(arms).boxed())
    }

    /// One episode: a disruption at a grid time, lasting whole grid steps, undone by `end`.
    pub fn episode(&self) -> Option<BoxedStrategy<Episode>> {
        let disruption = self.disruption()?;
        let grid = self.grid;
        let first = Self::steps(self.start, grid)
            + u64::from(!self.start.as_nanos().is_multiple_of(grid.as_nanos().max(1)));
        let last = Self::steps(self.end, grid);
        if last <= first {
            return None;
        }
        let max = Self::steps(self.max_lasts, grid).max(1);
        let grid_ns = u64::try_from(grid.as_nanos()).unwrap_or(u64::MAX);
        Some(
            (disruption, first..last, 1..=max)
                .prop_map(move |(disruption, at, lasts)| {
                    let lasts = lasts.min(last - at);
                    Episode {
                        disruption,
                        at: Duration::from_nanos(at * grid_ns),
                        lasts: Duration::from_nanos(lasts * grid_ns),
                    }
                })
                .boxed(),
        )
    }

    /// Schedules of up to `max_episodes` episodes (before normalisation).
    pub fn schedule(&self, max_episodes: usize) -> BoxedStrategy<Schedule> {
        match self.episode() {
            Some(e) => proptest::collection::vec(e, 0..=max_episodes)
                .prop_map(Schedule::new)
                .boxed(),
            None => Just(Schedule::default()).boxed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(d: Disruption, at: u64, lasts: u64) -> Episode {
        Episode {
            disruption: d,
            at: Duration::from_secs(at),
            lasts: Duration::from_secs(lasts),
        }
    }

    #[test]
    fn overlapping_episodes_on_one_node_are_dropped() {
        let p = || Disruption::Power { node: "a".into() };
        let k = || Disruption::Keepalived {
            node: "b".into(),
            kill: Kill::Crash,
        };
        let s = Schedule::new(vec![
            ep(p(), 5, 3),
            ep(p(), 8, 1),
            ep(k(), 6, 1),
            ep(p(), 9, 1),
        ]);
        let kept: Vec<(u64, u64)> = s
            .episodes()
            .iter()
            .map(|e| (e.at.as_secs(), e.lasts.as_secs()))
            .collect();
        assert_eq!(kept, vec![(5, 3), (6, 1), (9, 1)]);
        assert_eq!(s.last_repair(), Duration::from_secs(10));
    }

    #[test]
    fn renders_as_scenario_lines_that_parse() {
        let s = Schedule::new(vec![
            ep(
                Disruption::Partition {
                    from: vec!["a".into()],
                    to: vec!["b".into()],
                    one_way: false,
                },
                2,
                1,
            ),
            Episode {
                disruption: Disruption::Keepalived {
                    node: "a".into(),
                    kill: Kill::Stop,
                },
                at: Duration::from_millis(1500),
                lasts: Duration::from_millis(1500),
            },
        ]);
        let text = s.to_toml();
        assert_eq!(
            text,
            "[[at]]\nt = \"1.5s\"\ndo = \"stop keepalived\"\non = \"a\"\n\n\
             [[at]]\nt = \"2s\"\ndo = \"partition a / b\"\n\n\
             [[at]]\nt = \"3s\"\ndo = \"start keepalived\"\non = \"a\"\n\n\
             [[at]]\nt = \"3s\"\ndo = \"heal\"\n\n"
        );
        let value: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(value["at"].as_array().unwrap().len(), 4);
    }
}
