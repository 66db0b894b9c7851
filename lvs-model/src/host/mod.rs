//! Linux host behaviour in front of smoltcp: Ethernet, ARP (arp_ignore, arp_announce, the
//! neighbour cache's update rules), addresses on interfaces and on `lo`, routing.
//!
//! smoltcp runs with `Medium::Ip` and AnyIP: it only sees IPv4 packets the shim has decided are
//! for this host, and hands back IPv4 packets the shim routes, resolves and frames. Everything a
//! DR real server or a director cares about at layer 2 is therefore ours, done as Linux does it
//! (`net/ipv4/arp.c`, `net/core/neighbour.c`), not smoltcp's simpler ARP.
//!
//! Contract of [`LinuxStack`] (sans-IO, like the [`crate::node::Node`] it sits inside):
//! inputs are [`LinuxStack::handle_frame`] (or [`LinuxStack::classify`] +
//! [`LinuxStack::deliver_local`] for a director that looks at packets first),
//! [`LinuxStack::handle_timeout`] and socket/address mutations followed by
//! [`LinuxStack::poll`]; outputs are drained with [`LinuxStack::poll_transmit`],
//! [`LinuxStack::poll_event`] and [`LinuxStack::poll_timeout`]. Time is always an argument;
//! smoltcp's randomness comes from the caller's seed.

mod device;
mod neighbour;
mod slots;
mod stack;
#[cfg(test)]
pub(crate) mod tests;

pub use neighbour::{NeighParams, NeighbourState, NeighbourView};
pub use smoltcp::iface::SocketHandle;
pub use smoltcp::socket::tcp;
pub use smoltcp::wire::{EthernetAddress, Ipv4Cidr};
pub use stack::{
    ArpSysctls, Iface, Inbound, LinuxStack, PortConfig, Route, SendError, StackConfig,
    StackCounters, TcpConnectError, boot_seed,
};
