//! The deterministic discrete-event virtual LAN that drives `lvs-model` nodes and simulated
//! hosts.
//!
//! One seed drives all randomness; the same topology, fault schedule and seed give a
//! byte-identical event log and pcap.

pub mod fault;
pub mod hosts;
