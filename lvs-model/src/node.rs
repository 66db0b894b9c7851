//! The node contract: how the simulator and the TAP backend drive anything that runs on a box.
//!
//! In the shape of quinn-proto and str0m. Inputs are `handle_*` and `control`; after every input
//! the driver drains outputs in this order: [`Node::poll_transmit`] until `None`,
//! [`Node::poll_event`] until `None`, then [`Node::poll_timeout`] for the next deadline. A node
//! never reads a clock: `now` is always an argument, and it never goes backwards.

use crate::event::Event;
use crate::time::Instant;
use core::fmt;

/// One of a node's Ethernet ports, numbered from 0 in the order the topology gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub u16);

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port{}", self.0)
    }
}

/// A frame a node wants to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub port: PortId,
    /// A complete Ethernet II frame (destination MAC first, no FCS).
    pub frame: Vec<u8>,
}

/// A process-level fault or repair, as scripted by a scenario (`stop keepalived`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProcessAction {
    /// Graceful stop (SIGTERM): keepalived sends its priority-0 adverts and removes its VIPs;
    /// httpd closes its listener so new connections are refused.
    Stop,
    /// Abrupt death (SIGKILL): nothing is sent and nothing is cleaned up.
    Crash,
    /// Start the process again with its configuration, as a fresh process would.
    Start,
}

impl ProcessAction {
    pub fn verb(self) -> &'static str {
        match self {
            ProcessAction::Stop => "stop",
            ProcessAction::Crash => "crash",
            ProcessAction::Start => "start",
        }
    }
}

/// Why a process action could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("this node has no process named `{0}` (it has: {1})")]
    NoSuchProcess(String, String),
}

/// Anything that runs on a simulated or real box: a director, a web server, a client.
pub trait Node {
    /// A frame arrived on `port`. Malformed frames are counted and dropped, never a panic.
    fn handle_frame(&mut self, now: Instant, port: PortId, frame: &[u8]);

    /// The deadline returned by [`Node::poll_timeout`] has come (it may be called late or
    /// spuriously; a node re-checks its own timers).
    fn handle_timeout(&mut self, now: Instant);

    /// Stop, crash or start one of the node's processes.
    fn control(
        &mut self,
        now: Instant,
        process: &str,
        action: ProcessAction,
    ) -> Result<(), ControlError>;

    /// The names of the processes [`Node::control`] accepts, e.g. `["keepalived"]`.
    fn processes(&self) -> &[&'static str];

    /// The carrier of `port` went down or came back (cable pulled, link fault). Frames are not
    /// delivered while it is down; a node that cares (VRRP's FAULT state) reacts here.
    fn handle_link(&mut self, now: Instant, port: PortId, up: bool) {
        let _ = (now, port, up);
    }

    /// The host lost power (`on == false`) or booted (`on == true`). The default crashes every
    /// process on power-off and starts them all on power-on; nodes with volatile state (ARP
    /// caches, sockets) override it to forget that state too.
    fn power(&mut self, now: Instant, on: bool) {
        let action = if on {
            ProcessAction::Start
        } else {
            ProcessAction::Crash
        };
        let names: Vec<&'static str> = self.processes().to_vec();
        for name in names {
            // The names come from `processes()`, so `control` accepts them.
            let _ = self.control(now, name, action);
        }
    }

    /// The node as [`Any`](core::any::Any), for drivers that know its concrete type (a report
    /// reading a director's IPVS table). `None` when the node does not offer it.
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }

    /// Hands back a frame's buffer once [`Node::handle_frame`] has read it, so a node can send
    /// its next frame in it instead of allocating one (the simulator passes every delivered
    /// frame). The default drops it.
    fn recycle_frame(&mut self, frame: Vec<u8>) {
        drop(frame);
    }

    /// The next frame to send.
    #[must_use]
    fn poll_transmit(&mut self) -> Option<Transmit>;

    /// The next event for the log.
    #[must_use]
    fn poll_event(&mut self) -> Option<Event>;

    /// When the node next needs [`Node::handle_timeout`]; `None` when it is idle.
    #[must_use]
    fn poll_timeout(&mut self) -> Option<Instant>;
}

/// Formats a list of process names for error messages.
pub fn process_list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
