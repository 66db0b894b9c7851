//! keepalived's health checkers (TCP_CHECK, HTTP_GET, MISC_CHECK) as sans-IO timers.
//!
//! The model follows keepalived 2.2.7's checker process:
//! - [`config`]: the values each checker runs with, and keepalived's inheritance of them;
//! - `checker`: one checker's retry counter and up/down state (the per-type epilogs);
//! - `service`: what a real server's state does to IPVS (inhibit, quorum, sorry server);
//! - [`checkers`]: [`Checkers`], the process object the director drives;
//! - [`probe`]: a probe as a request the driver performs, and its outcome;
//! - [`executor`]: a driver-side probe executor over smoltcp sockets.
//!
//! Units: [`crate::time::Instant`] (ns); keepalived's own timers are whole microseconds and
//! every computed delay here is too. Deviations from keepalived 2.2.7, all deliberate:
//! - SSL_GET is HTTP_GET over plain TCP (no TLS in the lab);
//! - `regex`, `ha_suspend`, DNS/SMTP/UDP/PING/FILE/BFD checkers, `lvs_flush_onstop`, reloads
//!   and a sorry server that duplicates a real server are not modelled;
//! - a MISC_CHECK script's outcome and run time are scripted by the scenario; a script that
//!   runs past `misc_timeout` dies at once on SIGTERM;
//! - notifications are emitted for real state changes only (keepalived's first-run
//!   notifications and SMTP alerts are left out).

mod checker;
pub mod checkers;
pub mod config;
pub mod executor;
pub mod probe;
mod service;

pub use checker::MiscOutcome;
pub use checkers::{CheckConfigError, CheckerRef, Checkers};
pub use config::{
    CheckerConfig, CheckerKind, EffectiveTiming, HttpCheckConfig, HttpProtocol, MiscCheckConfig,
    RealServerCheckConfig, SorryServerConfig, UrlCheck, VirtualServerCheckConfig,
};
pub use probe::{ProbeId, ProbeKind, ProbeOutcome, ProbeRequest, body_md5};
pub use service::{DestAction, Notification};
