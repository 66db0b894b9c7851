//! The smoltcp device behind the shim: two in-memory queues of IPv4 packets.
//!
//! Transmitted packets are written after [`HEADROOM`] bytes so the shim can put the Ethernet
//! header in front without copying. Buffers are recycled through a free list. A packet
//! delivered from a frame the caller still holds goes in without a copy ([`Borrowed`]).

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use std::collections::VecDeque;

/// Room for an Ethernet II header in front of every transmitted IPv4 packet.
pub(crate) const HEADROOM: usize = 14;
/// The interface MTU, as a Linux Ethernet port.
pub(crate) const MTU: usize = 1500;

#[derive(Debug, Default)]
pub(crate) struct QueueDevice {
    /// IPv4 packets for smoltcp to receive.
    pub rx: VecDeque<Vec<u8>>,
    /// IPv4 packets smoltcp sent, each after `HEADROOM` bytes.
    pub tx: VecDeque<Vec<u8>>,
    /// Buffers smoltcp has consumed (receive side).
    rx_free: Vec<Vec<u8>>,
    /// Buffers for smoltcp to transmit into.
    tx_free: Vec<Vec<u8>>,
    /// smoltcp verifies the checksum of every TCP segment it receives, as it does by default.
    /// Off (the stack's default), the shim has verified it (see `LinuxStack::deliver_local`).
    pub smoltcp_checks_tcp: bool,
}

const FREE_MAX: usize = 64;
/// The least capacity of a buffer the device allocates: a full-size TCP segment of the lab's
/// HTTP exchanges and every control frame fit.
const MIN_CAPACITY: usize = 256;

impl QueueDevice {
    /// An empty buffer, recycled when possible.
    pub fn buffer(&mut self) -> Vec<u8> {
        let mut b = self
            .rx_free
            .pop()
            .or_else(|| self.tx_free.pop())
            .unwrap_or_default();
        b.clear();
        b
    }

    /// Returns a buffer to the free lists.
    pub fn recycle(&mut self, b: Vec<u8>) {
        if self.tx_free.len() < FREE_MAX {
            self.tx_free.push(b);
        }
    }

    /// Moves consumed receive buffers to the transmit side.
    #[inline]
    pub fn rebalance(&mut self) {
        // Usually nothing: a delivered packet is read from the caller's frame (see `Borrowed`).
        if !self.rx_free.is_empty() {
            self.move_rx_free();
        }
    }

    fn move_rx_free(&mut self) {
        while self.tx_free.len() < FREE_MAX {
            match self.rx_free.pop() {
                Some(b) => self.tx_free.push(b),
                None => break,
            }
        }
        self.rx_free.clear();
    }
}

pub(crate) struct RxToken<'a> {
    buf: Vec<u8>,
    free: &'a mut Vec<Vec<u8>>,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.buf);
        if self.free.len() < FREE_MAX {
            self.free.push(self.buf);
        }
        r
    }
}

pub(crate) struct TxToken<'a> {
    tx: &'a mut VecDeque<Vec<u8>>,
    free: &'a mut Vec<Vec<u8>>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let n = HEADROOM + len;
        // A recycled buffer grows if it must; a new one has room for a typical frame, so it
        // can be recycled for most others.
        let mut b = self
            .free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(n.max(MIN_CAPACITY)));
        b.clear();
        b.resize(n, 0);
        let r = f(&mut b[HEADROOM..]);
        self.tx.push_back(b);
        r
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let buf = self.rx.pop_front()?;
        Some((
            RxToken {
                buf,
                free: &mut self.rx_free,
            },
            TxToken {
                tx: &mut self.tx,
                free: &mut self.tx_free,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            tx: &mut self.tx,
            free: &mut self.tx_free,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        // The shim has verified the IPv4 header checksum of every packet it delivers, and
        // unless told otherwise the TCP checksum of every segment.
        caps.checksum.ipv4 = smoltcp::phy::Checksum::Tx;
        if !self.smoltcp_checks_tcp {
            caps.checksum.tcp = smoltcp::phy::Checksum::Tx;
        }
        caps
    }
}

/// The device with one borrowed packet received before its queue: the shim hands smoltcp a
/// packet straight from the frame it arrived in, instead of copying it into a queued buffer.
/// Received packets come out in the order borrowed packet, then the queue, so it stands for
/// the device with the packet pushed at the back of an empty queue.
pub(crate) struct Borrowed<'p, 'd> {
    pub packet: Option<&'p [u8]>,
    pub device: &'d mut QueueDevice,
}

pub(crate) enum BorrowedRxToken<'a> {
    Borrowed(&'a [u8]),
    Queued(RxToken<'a>),
}

impl phy::RxToken for BorrowedRxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self {
            BorrowedRxToken::Borrowed(p) => f(p),
            BorrowedRxToken::Queued(t) => t.consume(f),
        }
    }
}

impl<'p, 'd> Device for Borrowed<'p, 'd> {
    type RxToken<'a>
        = BorrowedRxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(BorrowedRxToken<'_>, TxToken<'_>)> {
        match self.packet.take() {
            Some(p) => Some((
                BorrowedRxToken::Borrowed(p),
                TxToken {
                    tx: &mut self.device.tx,
                    free: &mut self.device.tx_free,
                },
            )),
            None => self
                .device
                .receive(now)
                .map(|(rx, tx)| (BorrowedRxToken::Queued(rx), tx)),
        }
    }

    fn transmit(&mut self, now: Instant) -> Option<TxToken<'_>> {
        self.device.transmit(now)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }
}
