//! The deterministic discrete-event virtual LAN that drives `lvs-model` nodes and simulated
//! hosts.
//!
//! One seed drives all randomness; the same topology, fault schedule and seed give a
//! byte-identical event log and pcap.

pub mod event_log;
pub mod fault;
pub mod hosts;
pub mod lan;
pub mod queue;
pub mod rng;
pub mod tap;
pub mod trace;
pub mod world;

pub use fault::FaultAction;
pub use lan::{Attach, ElementId, HostSpec, LinkConfig, SwitchConfig, TopologyError};
pub use world::{LanBuilder, RunError, RunLimits, World};
