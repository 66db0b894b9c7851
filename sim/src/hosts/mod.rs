//! Simulated hosts on smoltcp: the web server ("httpd") and the HTTP client load generator.
//!
//! Both are [`lvs_model::node::Node`]s built on [`lvs_model::host::LinuxStack`], so they ARP,
//! route and own addresses as Linux hosts do (a DR real server's VIP on `lo`, arp_ignore, ...).

mod client;
mod http;
mod httpd;

pub use client::{HttpClient, HttpClientConfig, Load};
pub use httpd::{Httpd, HttpdConfig};

use lvs_model::host::LinuxStack;
use lvs_model::node::Transmit;
use lvs_model::time::Instant;

/// `poll_transmit` of a powered-off host: what was queued before power was lost never leaves,
/// so it is dropped and nothing is sent. Out of line and cold, so that a host's usual
/// `poll_transmit` stays a bare pop from its stack's queue.
#[cold]
#[inline(never)]
pub(crate) fn transmit_unpowered(stack: &mut LinuxStack) -> Option<Transmit> {
    while stack.poll_transmit().is_some() {}
    None
}

/// Coalesces a node's deadlines: once a deadline is reported, a later one is not reported
/// until the first has come (the node is then woken "spuriously", which the node contract
/// allows, and reports its real next deadline). A driver that queues a wake-up for every
/// change of deadline therefore queues one per earlier deadline instead of one per packet
/// (TCP's retransmission deadline moves with every segment).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Deadline {
    reported: Option<Instant>,
}

impl Deadline {
    pub(crate) fn report(&mut self, now: Instant, actual: Option<Instant>) -> Option<Instant> {
        match (self.reported, actual) {
            (Some(r), Some(a)) if r > now && r <= a => Some(r),
            (Some(r), None) if r > now => Some(r),
            _ => {
                self.reported = actual;
                actual
            }
        }
    }
}
