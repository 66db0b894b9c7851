//! keepalived 2.2.7's VRRP as a sans-IO state machine.
//!
//! * [`config`]: plain configuration holding keepalived's effective values (defaults applied).
//! * [`VrrpInstance`]: one `vrrp_instance` — INIT/BACKUP/MASTER/FAULT, timers, preemption,
//!   GARP schedule, receive validation in keepalived's order.
//! * [`VrrpProcess`]: keepalived's VRRP child for one director — all instances, sync groups,
//!   `track_interface`/`track_script`, Ethernet frames in and out.
//!
//! Time is [`crate::time::Instant`] in nanoseconds. keepalived keeps its timers in
//! microseconds and truncates `(256-p)/256` s to whole µs; we compute the formulas in ns so the
//! lab's times are the exact fractions (157/256 s = 0.61328125 s for priority 99), a
//! sub-microsecond difference from the daemon that is far below its scheduling noise.
//!
//! Deviations from keepalived 2.2.7 (each also noted where it lives):
//! * IPv4 only; no AH authentication (an instance configured for AH never accepts an advert),
//!   no VMAC, no `auth_hmac`, no strict-mode firewall.
//! * The sync-group startup special case (`adver_int + skew(1)`) is not modelled.
//! * Unicast peers' MACs come from received frames or [`VrrpProcess::set_neighbor`]; before
//!   that, unicast adverts are sent to the broadcast MAC (the kernel would ARP first).
//! * Script weights of scripts that have not reported yet count neither way.
//! * A MASTER restarts its advert timer only when it sends an advert in answer to a received
//!   one (priority 0, or a lower priority); invalid packets never move it.
//! * `garp_master_refresh` fires on its own timer (takeover + R, then every R); unverified
//!   against 2.2.7, which no recording exercises.
//! * The IPv4 identification of adverts is a per-process counter from 1 (the kernel picks it
//!   for keepalived; the recordings show the same 1, 2, 3... for a node's first adverts).
//! * `track_interface`/`track_script` `reverse` swaps "up" and "down" before the weight rule.

pub mod config;
pub mod instance;
pub mod process;
pub mod stats;
pub mod track;

pub use config::{
    GlobalVrrpConfig, InstanceConfig, InterfaceConfig, ProcessConfig, ScriptConfig,
    SyncGroupConfig, TrackInterface, TrackScript,
};
pub use instance::{InstanceTransmit, RxError, RxMeta, VrrpInstance, skew_v2, skew_v3};
pub use process::{ConfigError, VipChange, VrrpProcess};
pub use stats::{ProcessStats, VrrpStats};
