//! Sans-IO models of the two halves of an LVS director — keepalived (config, VRRP, health
//! checks) and the Linux kernel's IPVS — plus the Linux host behaviour that smoltcp lacks.
//!
//! Nothing in this crate reads a clock, a socket or a global RNG: every input carries `now`,
//! randomness comes in as an argument, and outputs are frames, a next deadline and events. The
//! discrete-event simulator (`sim`) and a TAP backend drive the same code through the
//! [`node::Node`] contract. This crate must never depend on `sim`.

pub mod check;
pub mod config;
pub mod director;
pub mod event;
pub mod host;
pub mod ipvs;
pub mod node;
pub mod time;
pub mod vrrp;
pub mod wire;

pub use event::Event;
pub use node::{Node, PortId, ProcessAction, Transmit};
pub use time::{Duration, Instant};
