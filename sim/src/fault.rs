//! Faults as data: the one-line vocabulary shared by the engine, scenario files and `drill`.
//!
//! A fault is a verb phrase applied to a target at a simulated time. Grammar (one line, words
//! separated by blanks):
//!
//! | text | target | effect |
//! |---|---|---|
//! | `stop PROCESS`, `crash PROCESS`, `start PROCESS` | a node | [`ProcessAction`] on one of the node's processes (`keepalived`, `httpd`, `client`) |
//! | `power off`, `power on` | a node | the host loses power (every process crashes, frames are lost) / boots again |
//! | `link down`, `link up` | a node, or `node:port` | the cable of that port (all ports of the node when none is named) |
//! | `partition A,B / C,D` | — | two-way: frames between the two groups are dropped |
//! | `partition A,B -> C,D` | — | one-way: frames from the first group to the second are dropped |
//! | `heal` | — | removes every partition |
//! | `loss P%` | a node or `node:port` | that link drops P% of frames in each direction (0% restores) |
//!
//! [`FaultAction`]'s `Display` prints the canonical text, which is what the event log's `fault`
//! events carry in `action`.

use core::fmt;
use core::str::FromStr;
use lvs_model::ProcessAction;

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// `stop keepalived`, `crash httpd`, `start keepalived`, ...
    Process {
        action: ProcessAction,
        process: String,
    },
    /// `power off`: the host goes dark; nothing is sent, state is lost.
    PowerOff,
    /// `power on`: the host boots and starts its processes afresh.
    PowerOn,
    /// `link down`: the target's cable is pulled (carrier lost on both ends).
    LinkDown,
    /// `link up`: the cable is plugged back in.
    LinkUp,
    /// `partition A / B` (two-way) or `partition A -> B` (one-way, A's frames to B are lost).
    Partition {
        from: Vec<String>,
        to: Vec<String>,
        one_way: bool,
    },
    /// `heal`: every partition is removed.
    Heal,
    /// `loss P%`: the target's link loses this share of frames (parts per million for exactness).
    Loss { ppm: u32 },
}

/// A fault line that does not parse, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault `{text}`: {reason}")]
pub struct FaultParseError {
    pub text: String,
    pub reason: String,
}

impl FaultAction {
    /// Whether this fault needs a target node (`on = ...` in a scenario).
    pub fn needs_target(&self) -> bool {
        !matches!(self, FaultAction::Partition { .. } | FaultAction::Heal)
    }

    /// The node names the fault itself mentions (partition groups).
    pub fn named_nodes(&self) -> Vec<&str> {
        match self {
            FaultAction::Partition { from, to, .. } => {
                from.iter().chain(to).map(String::as_str).collect()
            }
            _ => Vec::new(),
        }
    }
}

fn err(text: &str, reason: impl Into<String>) -> FaultParseError {
    FaultParseError {
        text: text.to_string(),
        reason: reason.into(),
    }
}

fn parse_group(text: &str, group: &str) -> Result<Vec<String>, FaultParseError> {
    let names: Vec<String> = group
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if names.is_empty() {
        return Err(err(text, "a partition group is empty"));
    }
    if let Some(bad) = names.iter().find(|n| n.contains(char::is_whitespace)) {
        return Err(err(
            text,
            format!("node names are separated by commas, not blanks: `{bad}`"),
        ));
    }
    Ok(names)
}

fn parse_percent(text: &str, word: &str) -> Result<u32, FaultParseError> {
    let digits = word.strip_suffix('%').ok_or_else(|| {
        err(
            text,
            format!("expected a percentage like `5%`, found `{word}`"),
        )
    })?;
    let value: f64 = digits
        .parse()
        .map_err(|_| err(text, format!("`{word}` is not a percentage")))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(err(text, format!("`{word}` is outside 0%..100%")));
    }
    Ok((value * 10_000.0).round() as u32)
}

impl FromStr for FaultAction {
    type Err = FaultParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            [verb @ ("stop" | "crash" | "start"), process] => {
                let action = match *verb {
                    "stop" => ProcessAction::Stop,
                    "crash" => ProcessAction::Crash,
                    _ => ProcessAction::Start,
                };
                Ok(FaultAction::Process {
                    action,
                    process: (*process).to_string(),
                })
            }
            ["stop" | "crash" | "start"] => {
                Err(err(text, "name the process, e.g. `stop keepalived`"))
            }
            ["power", "off"] => Ok(FaultAction::PowerOff),
            ["power", "on"] => Ok(FaultAction::PowerOn),
            ["link", "down"] => Ok(FaultAction::LinkDown),
            ["link", "up"] => Ok(FaultAction::LinkUp),
            ["heal"] => Ok(FaultAction::Heal),
            ["loss", p] => Ok(FaultAction::Loss {
                ppm: parse_percent(text, p)?,
            }),
            ["partition", ..] => {
                let rest = text.trim_start().strip_prefix("partition").unwrap_or("");
                let (from, to, one_way) = if let Some((a, b)) = rest.split_once("->") {
                    (a, b, true)
                } else if let Some((a, b)) = rest.split_once('/') {
                    (a, b, false)
                } else {
                    return Err(err(
                        text,
                        "expected `partition A,B / C,D` or `partition A -> B`",
                    ));
                };
                let from = parse_group(text, from)?;
                let to = parse_group(text, to)?;
                if let Some(both) = from.iter().find(|n| to.contains(n)) {
                    return Err(err(
                        text,
                        format!("`{both}` is on both sides of the partition"),
                    ));
                }
                Ok(FaultAction::Partition { from, to, one_way })
            }
            [] => Err(err(text, "empty fault")),
            _ => Err(err(
                text,
                "unknown fault; expected one of: stop|crash|start PROCESS, power off|on, \
                 link down|up, partition A / B, partition A -> B, heal, loss P%",
            )),
        }
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Process { action, process } => write!(f, "{} {process}", action.verb()),
            FaultAction::PowerOff => f.write_str("power off"),
            FaultAction::PowerOn => f.write_str("power on"),
            FaultAction::LinkDown => f.write_str("link down"),
            FaultAction::LinkUp => f.write_str("link up"),
            FaultAction::Partition { from, to, one_way } => {
                let sep = if *one_way { "->" } else { "/" };
                write!(f, "partition {} {sep} {}", from.join(","), to.join(","))
            }
            FaultAction::Heal => f.write_str("heal"),
            FaultAction::Loss { ppm } => {
                let (whole, frac) = (ppm / 10_000, ppm % 10_000);
                if frac == 0 {
                    write!(f, "loss {whole}%")
                } else {
                    let frac = format!("{frac:04}");
                    write!(f, "loss {whole}.{}%", frac.trim_end_matches('0'))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_round_trips_through_its_canonical_text() {
        for text in [
            "stop keepalived",
            "crash keepalived",
            "start httpd",
            "power off",
            "power on",
            "link down",
            "link up",
            "partition lvs-master / lvs-backup",
            "partition a,b -> c",
            "heal",
            "loss 5%",
            "loss 0.25%",
        ] {
            let action: FaultAction = text.parse().unwrap();
            assert_eq!(action.to_string(), text);
        }
    }

    #[test]
    fn blanks_around_words_do_not_matter() {
        let a: FaultAction = "  partition  a , b/c ".parse().unwrap();
        assert_eq!(a.to_string(), "partition a,b / c");
    }

    #[test]
    fn bad_faults_say_why() {
        let e = "reboot now".parse::<FaultAction>().unwrap_err();
        assert!(e.reason.starts_with("unknown fault"), "{e}");
        let e = "partition a / a".parse::<FaultAction>().unwrap_err();
        assert!(e.reason.contains("both sides"), "{e}");
        let e = "loss 120%".parse::<FaultAction>().unwrap_err();
        assert!(e.reason.contains("outside"), "{e}");
        assert!("stop".parse::<FaultAction>().is_err());
        assert!("partition a b".parse::<FaultAction>().is_err());
    }
}
