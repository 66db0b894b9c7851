//! The Linux kernel's IPVS: virtual services, schedulers, connection table, forwarding.
pub mod dest;
pub mod sched;
pub mod service;
pub mod stats;
