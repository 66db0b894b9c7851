//! Expectations: small English sentences about a run, checked against its event log.
//!
//! Each `[[expect]]` has `that = "<sentence>"`, and optionally `after = "<time>"` (the
//! *reference time*, see below) and `within = "<duration>"` (a deadline for an event sentence
//! that gives no timing itself). A sentence is parsed when the scenario is loaded — unknown
//! words, nodes, roles and times past the end of the run are errors with file:line:col — and
//! evaluated after the run by [`Expectation::evaluate`], which returns a [`Verdict`] with a
//! human explanation and, on failure, the events around the moment that decided it.
//!
//! # Words
//! - `T`, `D`: a time since the start of the run or a duration, with a unit: `31s`, `500ms`,
//!   `30.61328125s`. A sum is allowed and keeps the arithmetic visible: `3s + 613.28125ms`.
//! - `NODE`: a node name from the scenario. `SERVER`: a web node's name or its IP address.
//! - `STATE`: `INIT`, `BACKUP`, `MASTER`, `FAULT` or `STOP`.
//! - `RS`: a real server as `IP:PORT`.
//! - the *reference time*: `after = "..."` of the `[[expect]]` if given, else the time of the
//!   scenario's last `[[at]]` fault, else 0 s. `the fault` in a sentence means this time.
//!
//! # States at an instant
//! - `NODE is STATE [in INSTANCE] at T` — the state its last `vrrp.state` at or before T went to.
//! - `VIP IP on NODE at T` — NODE's last `vip` event for IP at or before T added it (a crashed
//!   keepalived never removes its VIP, so two nodes may hold it);
//!   `VIP IP only on NODE at T` also requires that no other node holds it.
//!
//! # Events and when they happen
//! Events: `NODE becomes STATE [in INSTANCE]`, `VIP IP moves to NODE` (a `vip` added event),
//! `dest RS removed on NODE`, `dest RS added on NODE`, `advert [priority P] from NODE`,
//! `failed check of RS on NODE`. Timings:
//! - `EVENT at T [± D]` — the first such event at or after T − D happens by T + D;
//! - `EVENT within D [after ANCHOR]` — the first such event at or after the anchor happens
//!   at most D after it (no anchor: the reference time);
//! - `EVENT D [± D] after ANCHOR` — it happens exactly D (give or take) after the anchor;
//! - `EVENT between T and T` — at least one happens in that window;
//! - `NODE never becomes STATE [WINDOW]`, `no EVENT [WINDOW]` — none happens.
//!
//! An ANCHOR is a time `T`, `the fault`, or an event: `the first EVENT` (the first at or after
//! the reference time; `the EVENT` means the same) or `the last EVENT` (the last at or before
//! the reference time, e.g. `the last advert from lvs-master` before a crash).
//!
//! # Requests
//! A request belongs to a window by the time it *started*; a response is a request with an
//! HTTP status, a failure one with an error.
//! - `responses alternate between SERVER and SERVER [and SERVER…] [WINDOW]` — the answers
//!   cycle through the servers in a fixed order (at least one full cycle).
//! - `responses split A:B between SERVER and SERVER [± N | ± N%] [WINDOW]` — each server's
//!   count is within N requests (default 1) or N% of all answers of its share.
//! - `only SERVER answers [WINDOW]`, `SERVER answers [WINDOW]` (at least once),
//!   `SERVER never answers [WINDOW]`, `the first response comes from SERVER [WINDOW]`.
//! - `failed requests OP N [WINDOW]` with OP one of `<=` `<` `>=` `>` `==`;
//!   `no failed requests [WINDOW]`.
//!
//! # VRRP safety and counts
//! - `at most one MASTER [for vrid N] [WINDOW]` — no two nodes MASTER for the same VRID at
//!   once (VRIDs come from the nodes' adverts; without `for vrid` every VRID is checked).
//! - `no two masters for longer than D [for vrid N] [WINDOW]`.
//! - `exactly|at least|at most N adverts [priority P] from NODE [WINDOW]`,
//!   and the same with `garps` (gratuitous ARPs).
//!
//! WINDOW is `between T and T` or `from T to T` (the start included, the end excluded),
//! `after T` (T included) or `before T` (T excluded); without one, the whole run.

use super::duration::{format_nanos, parse_duration};
use super::{Role, Topology, nanos};
use lvs_model::event::{DestChange, Event, Record, VrrpStateName};
use reports::Verdict;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// What a sentence may refer to while it is parsed.
#[derive(Clone, Debug)]
pub struct ParseContext<'a> {
    pub topology: &'a Topology,
    /// The run's length: nothing after it can be observed.
    pub duration: Duration,
    /// See the module doc: `after = ...`, else the last fault, else 0.
    pub reference: Duration,
    /// `within = ...` of the `[[expect]]`, if any.
    pub within: Option<Duration>,
}

/// Which part of an `[[expect]]` an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorField {
    That,
    Within,
    After,
}

/// A sentence that does not parse, with the byte offset of the offending word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
    pub field: ErrorField,
}

/// One parsed expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The sentence as written (plus ` within D` when `within = ...` supplied the deadline).
    pub text: String,
    /// Line of the sentence in the scenario file.
    pub line: usize,
    pub claim: Claim,
}

/// A web server as requests see it: the body says `from <ip>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub label: String,
    pub ip: Ipv4Addr,
}

/// Times in nanoseconds since the start of the run: `from` included, `to` excluded (so
/// `before 30s` leaves out what happens at the 30 s fault itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: u64,
    pub to: u64,
}

impl Window {
    pub const ALL: Window = Window {
        from: 0,
        to: u64::MAX,
    };

    fn contains(self, t: u64) -> bool {
        self.from <= t && t < self.to
    }

    fn describe(self) -> String {
        match (self.from, self.to) {
            (0, u64::MAX) => "during the run".into(),
            (f, u64::MAX) => format!("after {}", format_nanos(f)),
            (0, t) => format!("before {}", format_nanos(t)),
            (f, t) => format!("between {} and {}", format_nanos(f), format_nanos(t)),
        }
    }
}

/// Something that happens at an instant, matched against one record.
#[derive(Clone, Debug, PartialEq)]
pub enum EventPattern {
    Becomes {
        node: String,
        state: VrrpStateName,
        instance: Option<String>,
    },
    VipMoves {
        ip: Ipv4Addr,
        node: String,
    },
    Dest {
        rs: SocketAddrV4,
        change: DestChange,
        node: String,
    },
    Advert {
        node: String,
        priority: Option<u8>,
    },
    FailedCheck {
        rs: SocketAddrV4,
        node: String,
    },
}

/// The time an event claim is measured from.
#[derive(Clone, Debug, PartialEq)]
pub enum Anchor {
    Time(u64),
    /// The first matching event at or after the time.
    First(EventPattern, u64),
    /// The last matching event at or before the time.
    Last(EventPattern, u64),
}

/// When an event must happen.
#[derive(Clone, Debug, PartialEq)]
pub enum Timing {
    At {
        t: u64,
        tolerance: u64,
    },
    Within {
        anchor: Anchor,
        limit: u64,
    },
    After {
        anchor: Anchor,
        delay: u64,
        tolerance: u64,
    },
    Between(Window),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Le,
    Lt,
    Ge,
    Gt,
    Eq,
}

impl Cmp {
    fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Le => a <= b,
            Cmp::Lt => a < b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
            Cmp::Eq => a == b,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Cmp::Le => "<=",
            Cmp::Lt => "<",
            Cmp::Ge => ">=",
            Cmp::Gt => ">",
            Cmp::Eq => "==",
        }
    }
}

/// What is counted by [`Claim::Count`].
#[derive(Clone, Debug, PartialEq)]
pub enum Counted {
    Adverts { priority: Option<u8> },
    Garps,
}

/// Tolerance of a split: in requests, or in percent of all answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitTolerance {
    Requests(u64),
    Percent(u64),
}

/// The parsed meaning of a sentence.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    StateAt {
        node: String,
        state: VrrpStateName,
        instance: Option<String>,
        at: u64,
    },
    VipAt {
        ip: Ipv4Addr,
        node: String,
        only: bool,
        at: u64,
    },
    Event {
        event: EventPattern,
        timing: Timing,
    },
    Never {
        event: EventPattern,
        window: Window,
    },
    Alternate {
        servers: Vec<Server>,
        window: Window,
    },
    Split {
        servers: Vec<(Server, u64)>,
        tolerance: SplitTolerance,
        window: Window,
    },
    OnlyAnswers {
        server: Server,
        window: Window,
    },
    Answers {
        server: Server,
        window: Window,
    },
    NeverAnswers {
        server: Server,
        window: Window,
    },
    FirstResponse {
        server: Server,
        window: Window,
    },
    FailedRequests {
        cmp: Cmp,
        n: u64,
        window: Window,
    },
    Masters {
        vrid: Option<u8>,
        /// Longest allowed overlap of two masters (0: none at all).
        grace: u64,
        window: Window,
        /// The end of the run: a dual master still open then lasted until it.
        run_end: u64,
    },
    Count {
        cmp: Cmp,
        n: u64,
        what: Counted,
        node: String,
        window: Window,
    },
}

// ---------------------------------------------------------------------------------------------
// Parsing

struct Parser<'a, 'c> {
    toks: Vec<(usize, &'a str)>,
    pos: usize,
    len: usize,
    ctx: &'c ParseContext<'c>,
}

type PResult<T> = Result<T, ParseError>;

fn tokenize(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

impl<'a> Parser<'a, '_> {
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |t| t.0)
    }

    fn err<T>(&self, message: impl Into<String>) -> PResult<T> {
        Err(self.err_at(self.offset(), message))
    }

    fn err_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            message: message.into(),
            field: ErrorField::That,
        }
    }

    fn peek(&self) -> Option<&'a str> {
        self.toks.get(self.pos).map(|t| t.1)
    }

    fn peek_at(&self, n: usize) -> Option<&'a str> {
        self.toks.get(self.pos + n).map(|t| t.1)
    }

    fn next(&mut self) -> Option<&'a str> {
        let t = self.peek();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.peek().is_some_and(|w| w.eq_ignore_ascii_case(word)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, word: &str) -> PResult<()> {
        if self.eat(word) {
            Ok(())
        } else {
            match self.peek() {
                Some(w) => self.err(format!("expected `{word}`, found `{w}`")),
                None => self.err(format!("expected `{word}` at the end")),
            }
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn end(&self) -> PResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(w) => self.err(format!("unexpected `{w}` (the sentence should end here)")),
        }
    }

    fn node(&mut self, role: Option<Role>) -> PResult<String> {
        let off = self.offset();
        let Some(name) = self.next() else {
            return self.err("expected a node name at the end");
        };
        match self.ctx.topology.role(name) {
            None => {
                let names: Vec<&str> = self.ctx.topology.nodes.keys().map(String::as_str).collect();
                Err(self.err_at(
                    off,
                    format!("unknown node `{name}` (nodes: {})", names.join(", ")),
                ))
            }
            Some(r) if role.is_some_and(|want| want != r) => Err(self.err_at(
                off,
                format!(
                    "`{name}` is a {}, but this needs a {}",
                    r.as_str(),
                    role.map_or("", Role::as_str)
                ),
            )),
            Some(_) => Ok(name.to_string()),
        }
    }

    fn server(&mut self) -> PResult<Server> {
        let off = self.offset();
        let Some(word) = self.peek() else {
            return self.err("expected a web server (name or IP) at the end");
        };
        if let Ok(ip) = word.parse::<Ipv4Addr>() {
            self.pos += 1;
            return Ok(Server {
                label: word.to_string(),
                ip,
            });
        }
        let name = self.node(Some(Role::Web)).map_err(|mut e| {
            e.offset = off;
            e
        })?;
        let ip = self.ctx.topology.nodes[&name].1;
        Ok(Server { label: name, ip })
    }

    fn state(&mut self) -> PResult<VrrpStateName> {
        let state = match self.peek() {
            Some("INIT") => VrrpStateName::Init,
            Some("BACKUP") => VrrpStateName::Backup,
            Some("MASTER") => VrrpStateName::Master,
            Some("FAULT") => VrrpStateName::Fault,
            Some("STOP") => VrrpStateName::Stop,
            Some(w) => {
                return self.err(format!(
                    "expected a VRRP state (INIT, BACKUP, MASTER, FAULT, STOP), found `{w}`"
                ));
            }
            None => return self.err("expected a VRRP state at the end"),
        };
        self.pos += 1;
        Ok(state)
    }

    fn number<T: std::str::FromStr>(&mut self, what: &str) -> PResult<T> {
        match self.peek().map(str::parse::<T>) {
            Some(Ok(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Err(_)) => self.err(format!(
                "expected {what}, found `{}`",
                self.peek().unwrap_or("")
            )),
            None => self.err(format!("expected {what} at the end")),
        }
    }

    fn ip(&mut self) -> PResult<Ipv4Addr> {
        self.number("an IPv4 address")
    }

    fn rs(&mut self) -> PResult<SocketAddrV4> {
        self.number("a real server as IP:PORT")
    }

    /// `D [+ D]...`
    fn duration(&mut self) -> PResult<u64> {
        let mut total: u64 = 0;
        loop {
            let off = self.offset();
            let Some(w) = self.next() else {
                return self.err("expected a time like `30s` at the end");
            };
            let d = parse_duration(w).map_err(|e| self.err_at(off, e))?;
            total = total.saturating_add(nanos(d));
            if !self.eat("+") {
                return Ok(total);
            }
        }
    }

    /// A time since the start of the run; it must be observable.
    fn time(&mut self) -> PResult<u64> {
        let off = self.offset();
        let t = self.duration()?;
        self.observable(off, t)?;
        Ok(t)
    }

    fn observable(&self, off: usize, t: u64) -> PResult<()> {
        let end = nanos(self.ctx.duration);
        if t > end {
            return Err(self.err_at(
                off,
                format!(
                    "{} is after the end of the run ({}), so this can never be checked",
                    format_nanos(t),
                    format_nanos(end)
                ),
            ));
        }
        Ok(())
    }

    fn tolerance(&mut self) -> PResult<u64> {
        if self.eat("±") || self.eat("+-") {
            self.duration()
        } else {
            Ok(0)
        }
    }

    fn window_opt(&mut self) -> PResult<Window> {
        let off = self.offset();
        let w = if self.eat("between") {
            let from = self.time()?;
            self.expect("and")?;
            let to = self.time()?;
            Window { from, to }
        } else if self.eat("from") {
            let from = self.time()?;
            self.expect("to")?;
            let to = self.time()?;
            Window { from, to }
        } else if self.eat("after") {
            Window {
                from: self.time()?,
                to: u64::MAX,
            }
        } else if self.eat("before") {
            Window {
                from: 0,
                to: self.time()?,
            }
        } else {
            Window::ALL
        };
        if w.from >= w.to {
            return Err(self.err_at(off, "the window ends before it starts"));
        }
        Ok(w)
    }

    fn instance_opt(&mut self) -> PResult<Option<String>> {
        if self.eat("in") {
            match self.next() {
                Some(i) => Ok(Some(i.to_string())),
                None => self.err("expected an instance name after `in`"),
            }
        } else {
            Ok(None)
        }
    }

    /// An event phrase (see the module doc).
    fn event(&mut self) -> PResult<EventPattern> {
        match self.peek() {
            Some("VIP") => {
                self.pos += 1;
                let ip = self.ip()?;
                self.expect("moves")?;
                self.expect("to")?;
                let node = self.node(Some(Role::Director))?;
                Ok(EventPattern::VipMoves { ip, node })
            }
            Some("dest") => {
                self.pos += 1;
                let rs = self.rs()?;
                let change = if self.eat("removed") {
                    DestChange::Removed
                } else if self.eat("added") {
                    DestChange::Added
                } else {
                    return self.err("expected `removed` or `added`");
                };
                self.expect("on")?;
                let node = self.node(Some(Role::Director))?;
                Ok(EventPattern::Dest { rs, change, node })
            }
            Some("advert") => {
                self.pos += 1;
                let priority = if self.eat("priority") {
                    Some(self.number("a priority (0..=255)")?)
                } else {
                    None
                };
                self.expect("from")?;
                let node = self.node(Some(Role::Director))?;
                Ok(EventPattern::Advert { node, priority })
            }
            Some("failed") if self.peek_at(1) == Some("check") => {
                self.pos += 2;
                self.expect("of")?;
                let rs = self.rs()?;
                self.expect("on")?;
                let node = self.node(Some(Role::Director))?;
                Ok(EventPattern::FailedCheck { rs, node })
            }
            Some(_) if self.peek_at(1) == Some("becomes") => {
                let node = self.node(Some(Role::Director))?;
                self.pos += 1;
                let state = self.state()?;
                let instance = self.instance_opt()?;
                Ok(EventPattern::Becomes {
                    node,
                    state,
                    instance,
                })
            }
            Some(w) => self.err(format!(
                "expected an event (`NODE becomes STATE`, `VIP IP moves to NODE`, \
                 `dest RS removed|added on NODE`, `advert from NODE`, \
                 `failed check of RS on NODE`), found `{w}`"
            )),
            None => self.err("expected an event at the end"),
        }
    }

    fn anchor(&mut self) -> PResult<Anchor> {
        let reference = nanos(self.ctx.reference);
        if self.eat("the") {
            if self.eat("fault") {
                return Ok(Anchor::Time(reference));
            }
            if self.eat("last") {
                return Ok(Anchor::Last(self.event()?, reference));
            }
            self.eat("first");
            return Ok(Anchor::First(self.event()?, reference));
        }
        if self
            .peek()
            .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        {
            return Ok(Anchor::Time(self.time()?));
        }
        self.err("expected an anchor: a time, `the fault`, `the first EVENT` or `the last EVENT`")
    }

    /// The timing after an event phrase; `None` if the sentence ends there.
    fn timing(&mut self) -> PResult<Option<Timing>> {
        let off = self.offset();
        if self.at_end() {
            return Ok(None);
        }
        if self.eat("at") {
            let t = self.time()?;
            let tolerance = self.tolerance()?;
            return Ok(Some(Timing::At { t, tolerance }));
        }
        if self.eat("within") {
            let limit = self.duration()?;
            let anchor = if self.eat("after") {
                self.anchor()?
            } else {
                Anchor::Time(nanos(self.ctx.reference))
            };
            self.deadline_observable(off, &anchor, limit)?;
            return Ok(Some(Timing::Within { anchor, limit }));
        }
        if self.eat("between") {
            let from = self.time()?;
            self.expect("and")?;
            let to = self.time()?;
            if from >= to {
                return Err(self.err_at(off, "the window ends before it starts"));
            }
            return Ok(Some(Timing::Between(Window { from, to })));
        }
        if self
            .peek()
            .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        {
            let delay = self.duration()?;
            let tolerance = self.tolerance()?;
            self.expect("after")?;
            let anchor = self.anchor()?;
            self.deadline_observable(off, &anchor, delay.saturating_add(tolerance))?;
            return Ok(Some(Timing::After {
                anchor,
                delay,
                tolerance,
            }));
        }
        self.err(format!(
            "expected a timing (`at T`, `within D`, `D after ANCHOR`, `between T and T`), found `{}`",
            self.peek().unwrap_or("")
        ))
    }

    /// A deadline measured from a known time must end within the run.
    fn deadline_observable(&self, off: usize, anchor: &Anchor, d: u64) -> PResult<()> {
        let start = match anchor {
            Anchor::Time(t) => *t,
            // Event anchors are only known after the run; the earliest they can be is `t`
            // (first) — a last-event anchor can be anywhere before.
            Anchor::First(_, t) => *t,
            Anchor::Last(..) => return Ok(()),
        };
        self.observable(off, start.saturating_add(d))
    }

    fn count_claim(&mut self) -> PResult<Claim> {
        let cmp = if self.eat("exactly") {
            Cmp::Eq
        } else if self.eat("at") {
            if self.eat("least") {
                Cmp::Ge
            } else {
                self.expect("most")?;
                Cmp::Le
            }
        } else {
            return self.err("expected `exactly`, `at least` or `at most`");
        };
        if cmp == Cmp::Le && self.eat("one") {
            self.expect("MASTER")?;
            let vrid = self.vrid_opt()?;
            let window = self.window_opt()?;
            return Ok(Claim::Masters {
                vrid,
                grace: 0,
                window,
                run_end: nanos(self.ctx.duration),
            });
        }
        let n = self.number("a count")?;
        let what = if self.eat("adverts") || self.eat("advert") {
            let priority = if self.eat("priority") {
                Some(self.number("a priority (0..=255)")?)
            } else {
                None
            };
            Counted::Adverts { priority }
        } else if self.eat("garps") || self.eat("garp") {
            Counted::Garps
        } else {
            return self.err("expected `adverts` or `garps`");
        };
        self.expect("from")?;
        let node = self.node(Some(Role::Director))?;
        let window = self.window_opt()?;
        Ok(Claim::Count {
            cmp,
            n,
            what,
            node,
            window,
        })
    }

    fn vrid_opt(&mut self) -> PResult<Option<u8>> {
        if self.eat("for") {
            self.expect("vrid")?;
            Ok(Some(self.number("a VRID (1..=255)")?))
        } else {
            Ok(None)
        }
    }

    fn server_list(&mut self) -> PResult<Vec<Server>> {
        self.expect("between")?;
        let mut servers = vec![self.server()?];
        self.expect("and")?;
        servers.push(self.server()?);
        while self.peek() == Some("and")
            && self.peek_at(1).is_some_and(|w| {
                !w.starts_with(|c: char| c.is_ascii_digit()) || w.parse::<Ipv4Addr>().is_ok()
            })
        {
            self.pos += 1;
            servers.push(self.server()?);
        }
        Ok(servers)
    }

    fn responses(&mut self) -> PResult<Claim> {
        if self.eat("alternate") {
            let servers = self.server_list()?;
            let window = self.window_opt()?;
            return Ok(Claim::Alternate { servers, window });
        }
        if self.eat("split") {
            let off = self.offset();
            let ratio: Vec<u64> = match self.next() {
                Some(r) => r
                    .split(':')
                    .map(|p| p.parse::<u64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        self.err_at(off, format!("`{r}` is not a ratio like 1:1 or 3:2"))
                    })?,
                None => return self.err("expected a ratio like 1:1"),
            };
            let servers = self.server_list()?;
            if ratio.len() != servers.len() || ratio.iter().all(|r| *r == 0) {
                return Err(self.err_at(
                    off,
                    format!(
                        "the ratio has {} parts for {} servers",
                        ratio.len(),
                        servers.len()
                    ),
                ));
            }
            let tolerance = if self.eat("±") || self.eat("+-") {
                let off = self.offset();
                match self.next() {
                    Some(w) if w.ends_with('%') => w[..w.len() - 1]
                        .parse()
                        .map(SplitTolerance::Percent)
                        .map_err(|_| self.err_at(off, format!("`{w}` is not a percentage")))?,
                    Some(w) => w.parse().map(SplitTolerance::Requests).map_err(|_| {
                        self.err_at(off, format!("`{w}` is not a number of requests"))
                    })?,
                    None => return self.err("expected a tolerance like `± 1` or `± 5%`"),
                }
            } else {
                SplitTolerance::Requests(1)
            };
            let window = self.window_opt()?;
            return Ok(Claim::Split {
                servers: servers.into_iter().zip(ratio).collect(),
                tolerance,
                window,
            });
        }
        self.err("expected `alternate` or `split` after `responses`")
    }

    fn claim(&mut self) -> PResult<Claim> {
        let first = match self.peek() {
            Some(w) => w,
            None => return self.err("empty expectation"),
        };
        let claim = match first {
            "responses" => {
                self.pos += 1;
                self.responses()?
            }
            "only" => {
                self.pos += 1;
                let server = self.server()?;
                self.expect("answers")?;
                let window = self.window_opt()?;
                Claim::OnlyAnswers { server, window }
            }
            "the" if self.peek_at(1) == Some("first") && self.peek_at(2) == Some("response") => {
                self.pos += 3;
                self.expect("comes")?;
                self.expect("from")?;
                let server = self.server()?;
                let window = self.window_opt()?;
                Claim::FirstResponse { server, window }
            }
            "failed" if self.peek_at(1) == Some("requests") => {
                self.pos += 2;
                let off = self.offset();
                let cmp = match self.next() {
                    Some("<=") => Cmp::Le,
                    Some("<") => Cmp::Lt,
                    Some(">=") => Cmp::Ge,
                    Some(">") => Cmp::Gt,
                    Some("==" | "=") => Cmp::Eq,
                    _ => return Err(self.err_at(off, "expected one of <= < >= > ==")),
                };
                let n = self.number("a count")?;
                let window = self.window_opt()?;
                Claim::FailedRequests { cmp, n, window }
            }
            "no" if self.peek_at(1) == Some("failed") => {
                self.pos += 2;
                self.expect("requests")?;
                let window = self.window_opt()?;
                Claim::FailedRequests {
                    cmp: Cmp::Eq,
                    n: 0,
                    window,
                }
            }
            "no" if self.peek_at(1) == Some("two") => {
                self.pos += 2;
                self.expect("masters")?;
                self.expect("for")?;
                self.expect("longer")?;
                self.expect("than")?;
                let grace = self.duration()?;
                let vrid = self.vrid_opt()?;
                let window = self.window_opt()?;
                Claim::Masters {
                    vrid,
                    grace,
                    window,
                    run_end: nanos(self.ctx.duration),
                }
            }
            "no" => {
                self.pos += 1;
                let event = self.event()?;
                let window = self.window_opt()?;
                Claim::Never { event, window }
            }
            "exactly" | "at" => self.count_claim()?,
            "VIP" if self.peek_at(2) == Some("on") || self.peek_at(2) == Some("only") => {
                self.pos += 1;
                let ip = self.ip()?;
                let only = self.eat("only");
                self.expect("on")?;
                let node = self.node(Some(Role::Director))?;
                self.expect("at")?;
                let at = self.time()?;
                Claim::VipAt { ip, node, only, at }
            }
            _ if self.peek_at(1) == Some("is") => {
                let node = self.node(Some(Role::Director))?;
                self.pos += 1;
                let state = self.state()?;
                let instance = self.instance_opt()?;
                self.expect("at")?;
                let at = self.time()?;
                Claim::StateAt {
                    node,
                    state,
                    instance,
                    at,
                }
            }
            _ if self.peek_at(1) == Some("never") && self.peek_at(2) == Some("becomes") => {
                let node = self.node(Some(Role::Director))?;
                self.pos += 2;
                let state = self.state()?;
                let instance = self.instance_opt()?;
                let window = self.window_opt()?;
                Claim::Never {
                    event: EventPattern::Becomes {
                        node,
                        state,
                        instance,
                    },
                    window,
                }
            }
            _ if self.peek_at(1) == Some("answers") => {
                let server = self.server()?;
                self.pos += 1;
                let window = self.window_opt()?;
                Claim::Answers { server, window }
            }
            _ if self.peek_at(1) == Some("never") && self.peek_at(2) == Some("answers") => {
                let server = self.server()?;
                self.pos += 2;
                let window = self.window_opt()?;
                Claim::NeverAnswers { server, window }
            }
            _ => {
                let event = self.event()?;
                let timing_off = self.offset();
                let timing = match (self.timing()?, self.ctx.within) {
                    (Some(_), Some(_)) => {
                        return Err(ParseError {
                            offset: timing_off,
                            message: "the sentence has its own timing; remove `within = ...` \
                                      or the timing in the sentence"
                                .into(),
                            field: ErrorField::Within,
                        });
                    }
                    (Some(t), None) => t,
                    (None, Some(w)) => {
                        let anchor = Anchor::Time(nanos(self.ctx.reference));
                        self.deadline_observable(timing_off, &anchor, nanos(w))
                            .map_err(|mut e| {
                                e.field = ErrorField::Within;
                                e
                            })?;
                        Timing::Within {
                            anchor,
                            limit: nanos(w),
                        }
                    }
                    (None, None) => {
                        return self.err(
                            "when must it happen? add `at T`, `within D`, `D after ANCHOR` \
                             or `between T and T` (or `within = \"...\"` in the [[expect]])",
                        );
                    }
                };
                Claim::Event { event, timing }
            }
        };
        self.end()?;
        Ok(claim)
    }
}

impl Expectation {
    /// Parses a sentence (see the module doc). `line` is where it is written.
    pub fn parse(
        text: &str,
        ctx: &ParseContext<'_>,
        line: usize,
    ) -> Result<Expectation, ParseError> {
        let mut p = Parser {
            toks: tokenize(text),
            pos: 0,
            len: text.len(),
            ctx,
        };
        let claim = p.claim()?;
        let text = match (&claim, ctx.within) {
            (Claim::Event { .. }, Some(w)) if !text.contains("within") => {
                format!("{} within {}", text.trim(), format_nanos(nanos(w)))
            }
            _ => text.trim().to_string(),
        };
        Ok(Expectation { text, line, claim })
    }

    /// Checks the claim against a run's event log (records in time order).
    pub fn evaluate(&self, log: &[Record]) -> Verdict {
        let (passed, explanation, at) = evaluate(&self.claim, log);
        let context = if passed {
            Vec::new()
        } else {
            context_around(log, at)
        };
        Verdict {
            expectation: self.text.clone(),
            line: self.line,
            passed,
            explanation,
            at,
            context,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// Does a real server field of the log (`"IP:PORT"`, or a bare IP) name this real server?
fn rs_matches(field: &str, rs: SocketAddrV4) -> bool {
    if let Ok(sa) = field.parse::<SocketAddrV4>() {
        return sa == rs;
    }
    field.parse::<Ipv4Addr>().is_ok_and(|ip| ip == *rs.ip())
}

fn matches(p: &EventPattern, r: &Record) -> bool {
    match (p, &r.event) {
        (
            EventPattern::Becomes {
                node,
                state,
                instance,
            },
            Event::VrrpState {
                instance: i, to, ..
            },
        ) => r.node == *node && to == state && instance.as_ref().is_none_or(|x| x == i),
        (EventPattern::VipMoves { ip, node }, Event::Vip { ip: i, added, .. }) => {
            r.node == *node && i == ip && *added
        }
        (
            EventPattern::Dest { rs, change, node },
            Event::IpvsDest {
                rs: f, change: c, ..
            },
        ) => r.node == *node && c == change && rs_matches(f, *rs),
        (EventPattern::Advert { node, priority }, Event::VrrpAdvert { priority: p, .. }) => {
            r.node == *node && priority.is_none_or(|want| want == *p)
        }
        (EventPattern::FailedCheck { rs, node }, Event::CheckResult { rs: f, ok, .. }) => {
            r.node == *node && !*ok && rs_matches(f, *rs)
        }
        _ => false,
    }
}

fn describe_event(p: &EventPattern) -> String {
    match p {
        EventPattern::Becomes {
            node,
            state,
            instance,
        } => match instance {
            Some(i) => format!("{node} becomes {} in {i}", state.as_str()),
            None => format!("{node} becomes {}", state.as_str()),
        },
        EventPattern::VipMoves { ip, node } => format!("VIP {ip} moves to {node}"),
        EventPattern::Dest { rs, change, node } => {
            let c = match change {
                DestChange::Added => "added",
                DestChange::Removed => "removed",
                DestChange::Weight => "reweighted",
            };
            format!("dest {rs} {c} on {node}")
        }
        EventPattern::Advert { node, priority } => match priority {
            Some(p) => format!("advert priority {p} from {node}"),
            None => format!("advert from {node}"),
        },
        EventPattern::FailedCheck { rs, node } => format!("failed check of {rs} on {node}"),
    }
}

fn first_at_or_after<'l>(log: &'l [Record], p: &EventPattern, t: u64) -> Option<&'l Record> {
    log.iter()
        .filter(|r| r.t >= t && matches(p, r))
        .min_by_key(|r| r.t)
}

fn last_at_or_before<'l>(log: &'l [Record], p: &EventPattern, t: u64) -> Option<&'l Record> {
    // `max_by_key` keeps the last of equal keys: the latest record in log order.
    log.iter()
        .filter(|r| r.t <= t && matches(p, r))
        .max_by_key(|r| r.t)
}

/// The anchor's time and how to say it.
fn resolve_anchor(log: &[Record], a: &Anchor) -> Result<(u64, String), String> {
    match a {
        Anchor::Time(t) => Ok((*t, format_nanos(*t))),
        Anchor::First(p, from) => first_at_or_after(log, p, *from)
            .map(|r| {
                (
                    r.t,
                    format!("{} at {}", describe_event(p), format_nanos(r.t)),
                )
            })
            .ok_or_else(|| {
                format!(
                    "the anchor never happened: no {} at or after {}",
                    describe_event(p),
                    format_nanos(*from)
                )
            }),
        Anchor::Last(p, before) => last_at_or_before(log, p, *before)
            .map(|r| {
                (
                    r.t,
                    format!("the last {} at {}", describe_event(p), format_nanos(r.t)),
                )
            })
            .ok_or_else(|| {
                format!(
                    "the anchor never happened: no {} at or before {}",
                    describe_event(p),
                    format_nanos(*before)
                )
            }),
    }
}

fn signed_diff(a: u64, b: u64) -> String {
    if a >= b {
        format!("+{}", format_nanos(a - b))
    } else {
        format!("-{}", format_nanos(b - a))
    }
}

/// The state a node's instance(s) went to by `t`: per instance, the last transition.
fn states_at(log: &[Record], node: &str, t: u64) -> BTreeMap<String, VrrpStateName> {
    let mut out = BTreeMap::new();
    for r in log.iter().filter(|r| r.t <= t && r.node == node) {
        if let Event::VrrpState { instance, to, .. } = &r.event {
            out.insert(instance.clone(), *to);
        }
    }
    out
}

fn vip_holders(log: &[Record], ip: Ipv4Addr, t: u64) -> Vec<String> {
    let mut last: BTreeMap<&str, bool> = BTreeMap::new();
    for r in log.iter().filter(|r| r.t <= t) {
        if let Event::Vip { ip: i, added, .. } = &r.event
            && *i == ip
        {
            last.insert(&r.node, *added);
        }
    }
    last.into_iter()
        .filter(|(_, a)| *a)
        .map(|(n, _)| n.to_string())
        .collect()
}

/// One HTTP request from the log.
struct Request<'a> {
    t: u64,
    started: u64,
    server: Option<Ipv4Addr>,
    ok: bool,
    record: &'a Record,
}

fn requests(log: &[Record], window: Window) -> Vec<Request<'_>> {
    let mut out: Vec<Request<'_>> = log
        .iter()
        .filter_map(|r| match &r.event {
            Event::HttpRequest {
                started,
                status,
                server,
                error,
                ..
            } if window.contains(*started) => Some(Request {
                t: r.t,
                started: *started,
                server: server.as_deref().and_then(server_ip),
                ok: status.is_some() && error.is_none(),
                record: r,
            }),
            _ => None,
        })
        .collect();
    out.sort_by_key(|q| (q.started, q.t));
    out
}

/// The IP in a response's `server` field (`"192.168.80.102"` or `"from 192.168.80.102"`).
pub fn server_ip(field: &str) -> Option<Ipv4Addr> {
    field.split_whitespace().last()?.parse().ok()
}

fn label(servers: &[Server], ip: Option<Ipv4Addr>) -> String {
    match ip {
        Some(ip) => servers
            .iter()
            .find(|s| s.ip == ip)
            .map_or(ip.to_string(), |s| s.label.clone()),
        None => "(unknown server)".into(),
    }
}

/// Per (node, instance): the VRID from its adverts (`None` if it never sent one).
fn vrids(log: &[Record]) -> BTreeMap<(String, String), u8> {
    let mut out = BTreeMap::new();
    for r in log {
        if let Event::VrrpAdvert { instance, vrid, .. } = &r.event {
            out.entry((r.node.clone(), instance.clone()))
                .or_insert(*vrid);
        }
    }
    out
}

/// Periods when two or more nodes were MASTER of the same VRID (from the adverts; by instance
/// name when no node sent an advert for it): `(group, start, end, masters)`.
fn dual_masters(log: &[Record], end: u64) -> Vec<(String, u64, u64, Vec<String>)> {
    let vrids = vrids(log);
    // A node that never sent an advert for an instance takes the VRID other nodes use for an
    // instance of that name.
    let group_of = |node: &str, inst: &str| {
        let own = vrids.get(&(node.to_string(), inst.to_string()));
        let any = || vrids.iter().find(|((_, i), _)| i == inst).map(|(_, v)| v);
        match own.or_else(any) {
            Some(v) => format!("vrid {v}"),
            None => format!("instance {inst}"),
        }
    };
    // group -> (node -> is master), walked in log order.
    let mut masters: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    let mut open: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
    let mut out = Vec::new();
    let mut ordered: Vec<&Record> = log.iter().collect();
    ordered.sort_by_key(|r| r.t);
    for r in ordered {
        if let Event::VrrpState { instance, to, .. } = &r.event {
            let g = group_of(&r.node, instance);
            let m = masters.entry(g.clone()).or_default();
            m.insert(r.node.clone(), *to == VrrpStateName::Master);
            let now: Vec<String> = m
                .iter()
                .filter(|(_, v)| **v)
                .map(|(n, _)| n.clone())
                .collect();
            match (open.get(&g), now.len() >= 2) {
                (None, true) => {
                    open.insert(g, (r.t, now));
                }
                (Some(_), false) => {
                    if let Some((start, who)) = open.remove(&g) {
                        out.push((g, start, r.t, who));
                    }
                }
                (Some(_), true) => {}
                (None, false) => {}
            }
        }
    }
    for (g, (start, who)) in open {
        out.push((g, start, end.max(start), who));
    }
    out.sort_by_key(|(_, s, _, _)| *s);
    out
}

/// `(passed, explanation, time that decided it)`.
fn evaluate(claim: &Claim, log: &[Record]) -> (bool, String, Option<u64>) {
    match claim {
        Claim::StateAt {
            node,
            state,
            instance,
            at,
        } => {
            let states = states_at(log, node, *at);
            let shown: Vec<String> = states
                .iter()
                .map(|(i, s)| format!("{i} {}", s.as_str()))
                .collect();
            let ok = match instance {
                Some(i) => states.get(i) == Some(state),
                None => states.values().any(|s| s == state),
            };
            let now = if shown.is_empty() {
                "no VRRP state yet".to_string()
            } else {
                shown.join(", ")
            };
            (
                ok,
                format!("at {} {node} is: {now}", format_nanos(*at)),
                Some(*at),
            )
        }
        Claim::VipAt { ip, node, only, at } => {
            let holders = vip_holders(log, *ip, *at);
            let ok = holders.contains(node) && (!only || holders.len() == 1);
            let who = if holders.is_empty() {
                "nobody".to_string()
            } else {
                holders.join(" and ")
            };
            (
                ok,
                format!("at {} VIP {ip} is held by {who}", format_nanos(*at)),
                Some(*at),
            )
        }
        Claim::Event { event, timing } => evaluate_event(event, timing, log),
        Claim::Never { event, window } => {
            match log
                .iter()
                .filter(|r| window.contains(r.t) && matches(event, r))
                .min_by_key(|r| r.t)
            {
                Some(r) => (
                    false,
                    format!(
                        "{} happened at {} ({})",
                        describe_event(event),
                        format_nanos(r.t),
                        window.describe()
                    ),
                    Some(r.t),
                ),
                None => (
                    true,
                    format!("no {} {}", describe_event(event), window.describe()),
                    None,
                ),
            }
        }
        Claim::Alternate { servers, window } => {
            let answered: Vec<Request<'_>> = requests(log, *window)
                .into_iter()
                .filter(|q| q.ok)
                .collect();
            let k = servers.len();
            if answered.len() < k {
                return (
                    false,
                    format!(
                        "only {} responses {}; alternation needs at least {k}",
                        answered.len(),
                        window.describe()
                    ),
                    answered.first().map(|q| q.t),
                );
            }
            let seq: Vec<Option<Ipv4Addr>> = answered.iter().map(|q| q.server).collect();
            let preview = |upto: usize| {
                seq[..upto.min(seq.len())]
                    .iter()
                    .map(|ip| label(servers, *ip))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            for (i, ip) in seq.iter().enumerate() {
                let known = ip.is_some_and(|ip| servers.iter().any(|s| s.ip == ip));
                let fits = if i < k {
                    known && !seq[..i].contains(ip)
                } else {
                    *ip == seq[i - k]
                };
                if !fits {
                    return (
                        false,
                        format!(
                            "response {} (request started at {}) came from {}: {}…",
                            i + 1,
                            format_nanos(answered[i].started),
                            label(servers, *ip),
                            preview(i + 1)
                        ),
                        Some(answered[i].t),
                    );
                }
            }
            (
                true,
                format!(
                    "{} responses {} alternate: {}{}",
                    seq.len(),
                    window.describe(),
                    preview(2 * k),
                    if seq.len() > 2 * k { " …" } else { "" }
                ),
                None,
            )
        }
        Claim::Split {
            servers,
            tolerance,
            window,
        } => {
            let answered: Vec<Request<'_>> = requests(log, *window)
                .into_iter()
                .filter(|q| q.ok)
                .collect();
            let total = answered.len() as u64;
            let parts: u64 = servers.iter().map(|(_, r)| r).sum();
            let only: Vec<Server> = servers.iter().map(|(s, _)| s.clone()).collect();
            let mut shown = Vec::new();
            let mut ok = total > 0;
            for (s, share) in servers {
                let got = answered.iter().filter(|q| q.server == Some(s.ip)).count() as u64;
                // expected = total * share / parts, compared without rounding: scale by parts.
                let diff_scaled = (got * parts).abs_diff(total * share);
                let allowed_scaled = match tolerance {
                    SplitTolerance::Requests(n) => n * parts,
                    SplitTolerance::Percent(p) => total * p * parts / 100,
                };
                ok &= diff_scaled <= allowed_scaled;
                shown.push(format!("{} {got}", s.label));
            }
            let others = answered
                .iter()
                .filter(|q| !only.iter().any(|s| Some(s.ip) == q.server))
                .count();
            if others > 0 {
                ok = false;
                shown.push(format!("others {others}"));
            }
            (
                ok,
                format!(
                    "{total} responses {}: {}",
                    window.describe(),
                    shown.join(", ")
                ),
                answered.first().map(|q| q.t),
            )
        }
        Claim::OnlyAnswers { server, window } => {
            let answered: Vec<Request<'_>> = requests(log, *window)
                .into_iter()
                .filter(|q| q.ok)
                .collect();
            let servers = std::slice::from_ref(server);
            if let Some(q) = answered.iter().find(|q| q.server != Some(server.ip)) {
                return (
                    false,
                    format!(
                        "the request started at {} was answered by {}",
                        format_nanos(q.started),
                        label(servers, q.server)
                    ),
                    Some(q.t),
                );
            }
            (
                !answered.is_empty(),
                format!(
                    "{} responses {}, all from {}",
                    answered.len(),
                    window.describe(),
                    server.label
                ),
                None,
            )
        }
        Claim::Answers { server, window } => {
            let answered = requests(log, *window)
                .into_iter()
                .filter(|q| q.ok && q.server == Some(server.ip))
                .collect::<Vec<_>>();
            match answered.first() {
                Some(q) => (
                    true,
                    format!(
                        "{} answered {} times {}, first to the request started at {}",
                        server.label,
                        answered.len(),
                        window.describe(),
                        format_nanos(q.started)
                    ),
                    None,
                ),
                None => (
                    false,
                    format!("{} never answered {}", server.label, window.describe()),
                    (window.from > 0).then_some(window.from),
                ),
            }
        }
        Claim::NeverAnswers { server, window } => {
            match requests(log, *window)
                .into_iter()
                .find(|q| q.ok && q.server == Some(server.ip))
            {
                Some(q) => (
                    false,
                    format!(
                        "{} answered the request started at {}",
                        server.label,
                        format_nanos(q.started)
                    ),
                    Some(q.t),
                ),
                None => (
                    true,
                    format!("{} never answered {}", server.label, window.describe()),
                    None,
                ),
            }
        }
        Claim::FirstResponse { server, window } => {
            match requests(log, *window).into_iter().find(|q| q.ok) {
                Some(q) => (
                    q.server == Some(server.ip),
                    format!(
                        "the first response {} (request started at {}) came from {}",
                        window.describe(),
                        format_nanos(q.started),
                        label(std::slice::from_ref(server), q.server)
                    ),
                    Some(q.t),
                ),
                None => (
                    false,
                    format!("no response {}", window.describe()),
                    (window.from > 0).then_some(window.from),
                ),
            }
        }
        Claim::FailedRequests { cmp, n, window } => {
            let all = requests(log, *window);
            let failed: Vec<&Request<'_>> = all.iter().filter(|q| !q.ok).collect();
            let count = failed.len() as u64;
            let ok = cmp.holds(count, *n);
            let mut why = format!(
                "{count} of {} requests {} failed",
                all.len(),
                window.describe()
            );
            if let (Some(a), Some(b)) = (failed.first(), failed.last()) {
                let _ = write!(
                    why,
                    " (started {}..{})",
                    format_nanos(a.started),
                    format_nanos(b.started)
                );
            }
            if !ok {
                let _ = write!(why, "; expected {} {n}", cmp.as_str());
            }
            (ok, why, failed.first().map(|q| q.record.t))
        }
        Claim::Masters {
            vrid,
            grace,
            window,
            run_end,
        } => {
            let end = log.iter().map(|r| r.t).max().unwrap_or(0).max(*run_end);
            let group = vrid.map(|v| format!("vrid {v}"));
            let bad = dual_masters(log, end).into_iter().find(|(g, s, e, _)| {
                group.as_ref().is_none_or(|want| want == g)
                    && *s <= window.to
                    && *e >= window.from
                    && (e - s > *grace || (*grace == 0 && e >= s))
            });
            match bad {
                Some((g, s, e, who)) => (
                    false,
                    format!(
                        "{} were all MASTER of {g} from {} to {} ({})",
                        who.join(" and "),
                        format_nanos(s),
                        format_nanos(e),
                        format_nanos(e - s)
                    ),
                    Some(s),
                ),
                None => (
                    true,
                    if *grace == 0 {
                        format!("never two masters {}", window.describe())
                    } else {
                        format!(
                            "no two masters for longer than {} {}",
                            format_nanos(*grace),
                            window.describe()
                        )
                    },
                    None,
                ),
            }
        }
        Claim::Count {
            cmp,
            n,
            what,
            node,
            window,
        } => {
            let hits: Vec<&Record> = log
                .iter()
                .filter(|r| r.node == *node && window.contains(r.t))
                .filter(|r| match (what, &r.event) {
                    (Counted::Adverts { priority }, Event::VrrpAdvert { priority: p, .. }) => {
                        priority.is_none_or(|want| want == *p)
                    }
                    (Counted::Garps, Event::Garp { .. }) => true,
                    _ => false,
                })
                .collect();
            let noun = match what {
                Counted::Adverts { priority: Some(p) } => format!("adverts with priority {p}"),
                Counted::Adverts { priority: None } => "adverts".into(),
                Counted::Garps => "gratuitous ARPs".into(),
            };
            let count = hits.len() as u64;
            let ok = cmp.holds(count, *n);
            let mut why = format!("{node} sent {count} {noun} {}", window.describe());
            if !ok {
                let _ = write!(why, "; expected {} {n}", cmp.as_str());
            }
            let at = hits
                .get(*n as usize)
                .or(hits.last())
                .map(|r| r.t)
                .or((window.from > 0).then_some(window.from));
            (ok, why, at)
        }
    }
}

fn evaluate_event(
    event: &EventPattern,
    timing: &Timing,
    log: &[Record],
) -> (bool, String, Option<u64>) {
    let what = describe_event(event);
    match timing {
        Timing::At { t, tolerance } => {
            let lo = t.saturating_sub(*tolerance);
            let hi = t.saturating_add(*tolerance);
            match first_at_or_after(log, event, lo) {
                Some(r) if r.t <= hi => (
                    true,
                    format!(
                        "{what} at {} ({} from {})",
                        format_nanos(r.t),
                        signed_diff(r.t, *t),
                        format_nanos(*t)
                    ),
                    Some(r.t),
                ),
                Some(r) => (
                    false,
                    format!(
                        "{what} at {}, {} from the expected {}",
                        format_nanos(r.t),
                        signed_diff(r.t, *t),
                        format_nanos(*t)
                    ),
                    Some(r.t),
                ),
                None => (
                    false,
                    format!("no {what} at or after {}", format_nanos(lo)),
                    Some(*t),
                ),
            }
        }
        Timing::Within { anchor, limit }
        | Timing::After {
            anchor,
            delay: limit,
            ..
        } => {
            let (a, said) = match resolve_anchor(log, anchor) {
                Ok(x) => x,
                Err(e) => return (false, e, None),
            };
            let found = first_at_or_after(log, event, a);
            let (lo, hi) = match timing {
                Timing::After {
                    delay, tolerance, ..
                } => (
                    a.saturating_add(*delay).saturating_sub(*tolerance),
                    a.saturating_add(*delay).saturating_add(*tolerance),
                ),
                _ => (a, a.saturating_add(*limit)),
            };
            match found {
                Some(r) => {
                    let took = r.t - a;
                    let ok = lo <= r.t && r.t <= hi;
                    let expected = match timing {
                        Timing::After {
                            delay, tolerance, ..
                        } if *tolerance > 0 => {
                            format!(
                                "expected {} ± {}",
                                format_nanos(*delay),
                                format_nanos(*tolerance)
                            )
                        }
                        Timing::After { delay, .. } => format!("expected {}", format_nanos(*delay)),
                        _ => format!("limit {}", format_nanos(*limit)),
                    };
                    (
                        ok,
                        format!(
                            "{what} at {}, {} after {said} ({expected})",
                            format_nanos(r.t),
                            format_nanos(took)
                        ),
                        Some(r.t),
                    )
                }
                None => (false, format!("no {what} after {said}"), Some(hi)),
            }
        }
        Timing::Between(w) => match log
            .iter()
            .filter(|r| w.contains(r.t) && matches(event, r))
            .min_by_key(|r| r.t)
        {
            Some(r) => (true, format!("{what} at {}", format_nanos(r.t)), Some(r.t)),
            None => (false, format!("no {what} {}", w.describe()), Some(w.from)),
        },
    }
}

/// The records that explain a failure: up to 16 nearest to `at` within 3 s of it, leaving out
/// successful requests (they drown the rest), in log order.
fn context_around(log: &[Record], at: Option<u64>) -> Vec<Record> {
    let Some(at) = at else {
        return Vec::new();
    };
    const SPAN: u64 = 3_000_000_000;
    let mut near: Vec<(u64, usize)> = log
        .iter()
        .enumerate()
        .filter(|(_, r)| r.t.abs_diff(at) <= SPAN)
        .filter(|(_, r)| {
            !matches!(
                &r.event,
                Event::HttpRequest {
                    error: None,
                    status: Some(_),
                    ..
                }
            ) && !matches!(&r.event, Event::CheckResult { ok: true, .. })
        })
        .map(|(i, r)| (r.t.abs_diff(at), i))
        .collect();
    near.sort();
    near.truncate(16);
    let mut idx: Vec<usize> = near.into_iter().map(|(_, i)| i).collect();
    idx.sort();
    idx.into_iter().map(|i| log[i].clone()).collect()
}

#[cfg(test)]
mod tests;
