//! Keeping smoltcp's socket set short: a socket set never gives back a slot, and every poll
//! walks every slot. [`SlotTrim`] follows the set's length and live sockets and rebuilds it
//! without its trailing empty slots, keeping every handle valid.

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;

/// smoltcp's socket set puts a new socket in the first empty slot, grows by one slot when
/// there is none, and never shrinks; every poll walks every slot. After a burst (a failover
/// leaves a client with ~60 sockets waiting for their timeouts) a host would walk ~60 empty
/// slots per frame for the rest of the run. This tracks the set's length and live sockets so
/// the stack can rebuild the set without its trailing empty slots.
#[derive(Debug, Default)]
pub(super) struct SlotTrim {
    /// Slots in the set (as far as sockets added through the stack tell).
    pub(super) len: usize,
    /// The highest handle handed out since the last rebuild: a higher one means a new slot.
    max: Option<SocketHandle>,
    /// Sockets in the set.
    pub(super) live: usize,
    /// The last socket and set length of the last rebuild, not to redo one that cannot help.
    last_try: Option<(Option<SocketHandle>, usize)>,
}

impl SlotTrim {
    pub(super) fn added(&mut self, h: SocketHandle) {
        self.live += 1;
        if self.max.is_none_or(|m| h > m) {
            self.max = Some(h);
            self.len += 1;
        }
    }

    /// Three quarters of at least 16 slots are empty.
    fn worth_trying(&self) -> bool {
        self.len >= 16 && self.live * 4 < self.len
    }

    /// A socket left `sockets`: rebuild the set without its trailing empty slots when most of
    /// its slots are empty (and the last rebuild did not already find the same tail).
    pub(super) fn removed(&mut self, sockets: &mut SocketSet<'static>) {
        self.live = self.live.saturating_sub(1);
        if !self.worth_trying() {
            return;
        }
        let tail = sockets.iter().last().map(|(h, _)| h);
        if self.last_try == Some((tail, self.len)) {
            return;
        }
        let old = std::mem::replace(sockets, SocketSet::new(Vec::new()));
        let (set, slots) = rebuild_without_trailing_slots(old);
        *sockets = set;
        self.live = sockets.iter().count();
        self.len = slots;
        self.max = tail;
        self.last_try = Some((tail, slots));
    }
}

/// An empty TCP socket that fills a slot while a set is rebuilt; it allocates nothing.
fn placeholder() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(Vec::new()),
        tcp::SocketBuffer::new(Vec::new()),
    )
}

/// A copy of `old` whose sockets keep their handles (their slots) and order, without the empty
/// slots after the last socket. smoltcp gives a new socket the first empty slot, so filling the
/// gaps with placeholders reproduces every slot number; the placeholders are removed after.
/// Returns the set and its number of slots.
fn rebuild_without_trailing_slots(mut old: SocketSet<'static>) -> (SocketSet<'static>, usize) {
    let live: Vec<SocketHandle> = old.iter().map(|(h, _)| h).collect();
    let live_count = live.len();
    let mut set = SocketSet::new(Vec::new());
    let mut placeholders = Vec::new();
    for h in live {
        loop {
            let d = set.add(placeholder());
            if d >= h {
                set.remove(d);
                break;
            }
            placeholders.push(d);
        }
        let moved = set.add(old.remove(h));
        debug_assert_eq!(moved, h, "a rebuilt socket set keeps every handle");
    }
    let slots = placeholders.len() + live_count;
    for d in placeholders {
        set.remove(d);
    }
    (set, slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening(port: u16) -> tcp::Socket<'static> {
        let mut s = placeholder();
        s.listen(port).expect("a fresh socket listens");
        s
    }

    fn port_of(set: &SocketSet<'static>, h: SocketHandle) -> u16 {
        set.get::<tcp::Socket>(h).listen_endpoint().port
    }

    #[test]
    fn rebuild_keeps_handles_order_and_gaps() {
        let mut old = SocketSet::new(Vec::new());
        let handles: Vec<_> = (0..20).map(|i| old.add(listening(1000 + i))).collect();
        for (i, h) in handles.iter().enumerate() {
            if ![2, 5, 9].contains(&i) {
                old.remove(*h);
            }
        }
        let (mut set, slots) = rebuild_without_trailing_slots(old);
        assert_eq!(slots, 10, "slots up to the last socket (#9)");
        let kept: Vec<_> = set.iter().map(|(h, _)| h).collect();
        assert_eq!(kept, vec![handles[2], handles[5], handles[9]]);
        for i in [2, 5, 9] {
            assert_eq!(port_of(&set, handles[i]), 1000 + i as u16);
        }
        // The gaps are still there: new sockets fill #0, #1, #3 … as they would have.
        assert_eq!(set.add(listening(1)), handles[0]);
        assert_eq!(set.add(listening(2)), handles[1]);
        assert_eq!(set.add(listening(3)), handles[3]);
    }
}
