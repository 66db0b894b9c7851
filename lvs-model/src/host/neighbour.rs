//! The ARP (neighbour) cache with Linux's rules (`net/core/neighbour.c`, `net/ipv4/arp.c`).
//!
//! States are Linux's NUD states. REACHABLE lapses to STALE `reachable_time` after the last
//! confirmation (computed when looked at, not by a timer: nothing is sent at that moment); using
//! a STALE entry moves it to DELAY, and a DELAY entry that is not confirmed within
//! `delay_first_probe_time` is probed by unicast, `ucast_probes` times `retrans_time` apart, then
//! fails. An unresolved address is probed by broadcast `mcast_probes` times `retrans_time`
//! apart while packets wait (at most `unres_qlen`, oldest dropped first), then fails and its
//! packets are dropped. A failed entry is removed, so the next packet starts afresh (Linux keeps
//! it as FAILED, which behaves the same for our purposes).

use crate::node::PortId;
use crate::time::{Duration, Instant};
use smoltcp::wire::EthernetAddress;
use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// Linux's per-device neighbour parameters (`/proc/sys/net/ipv4/neigh/<dev>/`), defaults as shipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighParams {
    /// `base_reachable_time_ms`: 30 s. The entry's reachable time is uniform in [½, 1½) of it.
    pub base_reachable_time: Duration,
    /// `retrans_time_ms`: 1 s between probes.
    pub retrans_time: Duration,
    /// `delay_first_probe_time`: 5 s in DELAY before the first unicast probe.
    pub delay_first_probe_time: Duration,
    /// `locktime`: 1 s during which a non-gratuitous ARP may not change a cached MAC.
    pub locktime: Duration,
    /// `ucast_solicit`: 3 unicast probes of a STALE entry.
    pub ucast_probes: u32,
    /// `mcast_solicit`: 3 broadcast probes of an unresolved address.
    pub mcast_probes: u32,
    /// `unres_qlen`: packets queued per unresolved address.
    pub unres_qlen: usize,
}

impl Default for NeighParams {
    fn default() -> Self {
        NeighParams {
            base_reachable_time: Duration::from_secs(30),
            retrans_time: Duration::from_secs(1),
            delay_first_probe_time: Duration::from_secs(5),
            locktime: Duration::from_secs(1),
            ucast_probes: 3,
            mcast_probes: 3,
            unres_qlen: 101,
        }
    }
}

/// A neighbour entry's NUD state, as `ip neigh` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NeighbourState {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
}

/// What `ip neigh show` would say about one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighbourView {
    pub mac: Option<EthernetAddress>,
    pub state: NeighbourState,
    /// When the MAC or state last changed (the locktime reference).
    pub updated: Instant,
}

#[derive(Debug)]
pub(crate) struct Neighbour {
    pub mac: Option<EthernetAddress>,
    state: NeighbourState,
    pub updated: Instant,
    confirmed: Option<Instant>,
    probes: u32,
    timer: Option<Instant>,
    /// Frames (with Ethernet headroom) waiting for resolution.
    pub queue: VecDeque<Vec<u8>>,
}

impl Neighbour {
    fn state(&self, now: Instant, reachable_time: Duration) -> NeighbourState {
        match (self.state, self.confirmed) {
            (NeighbourState::Reachable, Some(c)) if now < c + reachable_time => {
                NeighbourState::Reachable
            }
            (NeighbourState::Reachable, _) => NeighbourState::Stale,
            (s, _) => s,
        }
    }

    fn is_valid(&self) -> bool {
        self.state != NeighbourState::Incomplete
    }
}

/// What became of an outgoing frame with no MAC yet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resolve {
    /// It waits; `probe` says a broadcast probe must go out now (the entry is new), `dropped`
    /// how many older frames the full queue lost.
    Queued { probe: bool, dropped: usize },
}

/// A timer's consequence for the stack to carry out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TimerAction {
    /// Send an ARP request for `key`; `unicast` is the MAC to ask directly (PROBE state).
    Probe {
        key: (PortId, Ipv4Addr),
        unicast: Option<EthernetAddress>,
        src_hint: Option<Ipv4Addr>,
    },
    /// Resolution failed: `dropped` queued packets are gone.
    Failed {
        key: (PortId, Ipv4Addr),
        dropped: usize,
    },
}

/// A table key: the port in the high 32 bits, the address (as a big-endian number) in the low.
/// It orders as `(PortId, Ipv4Addr)` does, and compares in one instruction: every frame in and
/// out looks its neighbour up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u64);

impl Key {
    fn of((port, ip): (PortId, Ipv4Addr)) -> Key {
        Key(u64::from(port.0) << 32 | u64::from(u32::from(ip)))
    }

    fn parts(self) -> (PortId, Ipv4Addr) {
        (PortId((self.0 >> 32) as u16), Ipv4Addr::from(self.0 as u32))
    }
}

/// The entries of a [`NeighbourTable`], sorted by key: the map operations the table needs over a
/// vector. A host has a handful of neighbours and looks one up for every frame in and out; a
/// scan of a few packed keys costs less than a B-tree's search, and iteration keeps the key
/// order a `BTreeMap` would give (reports and timer actions come out in that order).
#[derive(Debug, Default)]
struct Entries(Vec<(Key, Neighbour)>);

impl Entries {
    /// Where `key` is, or where it would go.
    #[inline]
    fn find(&self, key: Key) -> Result<usize, usize> {
        // Linear while the table is small (the usual case), binary beyond.
        if self.0.len() <= 16 {
            match self.0.iter().position(|(k, _)| *k >= key) {
                Some(i) if self.0[i].0 == key => Ok(i),
                Some(i) => Err(i),
                None => Err(self.0.len()),
            }
        } else {
            self.0.binary_search_by_key(&key, |(k, _)| *k)
        }
    }

    fn get(&self, key: Key) -> Option<&Neighbour> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    #[inline]
    fn get_mut(&mut self, key: Key) -> Option<&mut Neighbour> {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    fn contains_key(&self, key: Key) -> bool {
        self.find(key).is_ok()
    }

    /// The entry of `key`, made with `make` if there is none.
    fn get_or_insert_with(&mut self, key: Key, make: impl FnOnce() -> Neighbour) -> &mut Neighbour {
        let i = match self.find(key) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (key, make()));
                i
            }
        };
        &mut self.0[i].1
    }

    fn insert(&mut self, key: Key, n: Neighbour) {
        match self.find(key) {
            Ok(i) => self.0[i].1 = n,
            Err(i) => self.0.insert(i, (key, n)),
        }
    }

    fn remove(&mut self, key: Key) -> Option<Neighbour> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    fn iter(&self) -> impl Iterator<Item = (Key, &Neighbour)> {
        self.0.iter().map(|(k, n)| (*k, n))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (Key, &mut Neighbour)> {
        self.0.iter_mut().map(|(k, n)| (*k, n))
    }

    fn values(&self) -> impl Iterator<Item = &Neighbour> {
        self.0.iter().map(|(_, n)| n)
    }
}

#[derive(Debug)]
pub(crate) struct NeighbourTable {
    entries: Entries,
    pub params: NeighParams,
    /// This table's reachable time, drawn once from the caller's seed.
    pub reachable_time: Duration,
    /// The earliest entry timer, kept up to date by every method that sets one: the stack asks
    /// for it after every frame, and timers change rarely.
    next: Option<Instant>,
}

/// The IPv4 source address of a queued frame (Ethernet headroom + IPv4 header).
fn frame_src(frame: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 4] = frame.get(14 + 12..14 + 16)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

impl NeighbourTable {
    pub fn new(params: NeighParams, random: u64) -> Self {
        // Linux: neigh_rand_reach_time = base/2 + prandom % base.
        let base = params.base_reachable_time.as_nanos() as u64;
        let reachable_time = if base == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(base / 2 + random % base)
        };
        NeighbourTable {
            entries: Entries::default(),
            params,
            reachable_time,
            next: None,
        }
    }

    pub fn view(&self, now: Instant, key: (PortId, Ipv4Addr)) -> Option<NeighbourView> {
        self.entries.get(Key::of(key)).map(|n| NeighbourView {
            mac: n.mac,
            state: n.state(now, self.reachable_time),
            updated: n.updated,
        })
    }

    pub fn contains(&self, key: (PortId, Ipv4Addr)) -> bool {
        self.entries.contains_key(Key::of(key))
    }

    pub fn iter(&self) -> impl Iterator<Item = ((PortId, Ipv4Addr), &Neighbour)> {
        self.entries.iter().map(|(k, n)| (k.parts(), n))
    }

    /// Removes every entry of one port (link down, address flush).
    pub fn flush_port(&mut self, port: PortId) -> usize {
        let keys: Vec<_> = self
            .entries
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.parts().0 == port)
            .collect();
        let mut dropped = 0;
        for k in keys {
            if let Some(n) = self.entries.remove(k) {
                dropped += n.queue.len();
            }
        }
        self.refresh_next();
        dropped
    }

    /// Where the entry of `key` is: at `hint` (where it was last found; any number will do)
    /// or wherever the table has it. The index holds until the table next changes.
    /// Always inlined: every frame out asks, and the hinted check is a few loads.
    #[inline(always)]
    pub fn locate(&self, key: (PortId, Ipv4Addr), hint: usize) -> Option<usize> {
        let key = Key::of(key);
        match self.entries.0.get(hint) {
            Some((k, _)) if *k == key => Some(hint),
            _ => self.entries.find(key).ok(),
        }
    }

    /// The MAC to send an outgoing frame to, when the entry at `i` (from [`Self::locate`]) is
    /// valid (the first use of a STALE entry starts its DELAY timer, as Linux's
    /// `neigh_event_send` does); `None` when the frame must wait: hand it to
    /// [`Self::enqueue`]. Every frame out asks, so the usual answer (a valid entry, not STALE)
    /// touches nothing and costs a few loads.
    #[inline]
    pub fn resolve_at(&mut self, now: Instant, i: usize) -> Option<EthernetAddress> {
        let rt = self.reachable_time;
        let n = &self.entries.0[i].1;
        let mac = n.mac?;
        if !n.is_valid() {
            return None;
        }
        if n.state(now, rt) == NeighbourState::Stale {
            self.start_delay(now, i);
        }
        Some(mac)
    }

    /// A STALE entry is used: it moves to DELAY, to be probed unless confirmed meanwhile.
    #[cold]
    fn start_delay(&mut self, now: Instant, i: usize) {
        let delay = self.params.delay_first_probe_time;
        let n = &mut self.entries.0[i].1;
        n.state = NeighbourState::Delay;
        n.updated = now;
        n.timer = Some(now + delay);
        self.refresh_next();
    }

    /// Queues a frame [`Self::resolve_at`] had no MAC for, creating the entry (INCOMPLETE, its
    /// first broadcast probe due now) if there is none.
    #[cold]
    pub fn enqueue(&mut self, now: Instant, key: (PortId, Ipv4Addr), frame: Vec<u8>) -> Resolve {
        let p = self.params;
        match self.entries.get_mut(Key::of(key)) {
            Some(n) => {
                debug_assert!(!n.is_valid(), "valid entries resolve");
                let mut dropped = 0;
                while n.queue.len() >= p.unres_qlen.max(1) {
                    n.queue.pop_front();
                    dropped += 1;
                }
                n.queue.push_back(frame);
                Resolve::Queued {
                    probe: false,
                    dropped,
                }
            }
            None => {
                let mut queue = VecDeque::new();
                queue.push_back(frame);
                self.entries.insert(
                    Key::of(key),
                    Neighbour {
                        mac: None,
                        state: NeighbourState::Incomplete,
                        updated: now,
                        confirmed: None,
                        // The first broadcast probe goes out now.
                        probes: 1,
                        timer: Some(now + p.retrans_time),
                        queue,
                    },
                );
                self.refresh_next();
                Resolve::Queued {
                    probe: true,
                    dropped: 0,
                }
            }
        }
    }

    /// The source-IP hint for a probe of `key`: the newest queued packet's source.
    pub fn src_hint(&self, key: (PortId, Ipv4Addr)) -> Option<Ipv4Addr> {
        self.entries
            .get(Key::of(key))?
            .queue
            .back()
            .and_then(|f| frame_src(f))
    }

    /// Linux `neigh_update` for ARP input. `reachable` is the new state (REACHABLE for a unicast
    /// reply to us, STALE otherwise); `override_mac` allows changing a valid entry's MAC;
    /// `create` makes an entry when there is none. Returns frames that were waiting and may
    /// now be sent.
    pub fn update(
        &mut self,
        now: Instant,
        key: (PortId, Ipv4Addr),
        mac: EthernetAddress,
        reachable: bool,
        override_mac: bool,
        create: bool,
    ) -> Option<(EthernetAddress, VecDeque<Vec<u8>>)> {
        let released = self.update_entry(now, key, mac, reachable, override_mac, create);
        self.refresh_next();
        released
    }

    fn update_entry(
        &mut self,
        now: Instant,
        key: (PortId, Ipv4Addr),
        mac: EthernetAddress,
        reachable: bool,
        override_mac: bool,
        create: bool,
    ) -> Option<(EthernetAddress, VecDeque<Vec<u8>>)> {
        let rt = self.reachable_time;
        if !create && !self.entries.contains_key(Key::of(key)) {
            return None;
        }
        let n = self.entries.get_or_insert_with(Key::of(key), || Neighbour {
            mac: None,
            state: NeighbourState::Incomplete,
            updated: now,
            confirmed: None,
            probes: 0,
            timer: None,
            queue: VecDeque::new(),
        });
        let new = if reachable {
            NeighbourState::Reachable
        } else {
            NeighbourState::Stale
        };
        if !n.is_valid() {
            n.mac = Some(mac);
            n.state = new;
            n.updated = now;
            n.timer = None;
            n.probes = 0;
            if reachable {
                n.confirmed = Some(now);
            }
            return Some((mac, std::mem::take(&mut n.queue)));
        }
        let old_state = n.state(now, rt);
        let mut new_state = new;
        if n.mac != Some(mac) && !override_mac {
            // A valid entry keeps its MAC within locktime (neigh_update without OVERRIDE).
            return None;
        }
        if reachable {
            n.confirmed = Some(now);
        }
        if n.mac == Some(mac) && new_state == NeighbourState::Stale {
            // Same MAC and only STALE news: keep the state (a confirmed entry stays so).
            new_state = old_state;
        }
        if new_state != old_state || n.mac != Some(mac) {
            n.updated = now;
        }
        n.mac = Some(mac);
        if new_state != n.state {
            n.state = new_state;
            n.probes = 0;
            n.timer = match new_state {
                NeighbourState::Delay | NeighbourState::Probe => n.timer,
                _ => None,
            };
        }
        None
    }

    /// Upper-layer confirmation (Linux `dst_confirm_neigh`) of the entry at `i` (from
    /// [`Self::locate`]): traffic from the neighbour's MAC.
    #[inline(always)]
    pub fn confirm_at(&mut self, now: Instant, i: usize, mac: EthernetAddress) {
        let n = &mut self.entries.0[i].1;
        if n.is_valid() && n.mac == Some(mac) {
            n.confirmed = Some(now);
        }
    }

    pub fn next_timer(&self) -> Option<Instant> {
        debug_assert_eq!(
            self.next,
            self.entries.values().filter_map(|n| n.timer).min()
        );
        self.next
    }

    fn refresh_next(&mut self) {
        self.next = self.entries.values().filter_map(|n| n.timer).min();
    }

    /// Runs every timer that is due.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<TimerAction>) {
        let p = self.params;
        let mut failed = Vec::new();
        for (k, n) in self.entries.iter_mut() {
            let key = k.parts();
            let Some(t) = n.timer else { continue };
            if t > now {
                continue;
            }
            match n.state {
                NeighbourState::Incomplete => {
                    if n.probes >= p.mcast_probes {
                        failed.push(key);
                    } else {
                        n.probes += 1;
                        n.timer = Some(now + p.retrans_time);
                        out.push(TimerAction::Probe {
                            key,
                            unicast: None,
                            src_hint: n.queue.back().and_then(|f| frame_src(f)),
                        });
                    }
                }
                NeighbourState::Delay => {
                    let confirmed_recently = n
                        .confirmed
                        .is_some_and(|c| now <= c + p.delay_first_probe_time);
                    if confirmed_recently {
                        n.state = NeighbourState::Reachable;
                        n.updated = now;
                        n.timer = None;
                    } else {
                        n.state = NeighbourState::Probe;
                        n.updated = now;
                        n.probes = 1;
                        n.timer = Some(now + p.retrans_time);
                        out.push(TimerAction::Probe {
                            key,
                            unicast: n.mac,
                            src_hint: None,
                        });
                    }
                }
                NeighbourState::Probe => {
                    if n.probes >= p.ucast_probes {
                        failed.push(key);
                    } else {
                        n.probes += 1;
                        n.timer = Some(now + p.retrans_time);
                        out.push(TimerAction::Probe {
                            key,
                            unicast: n.mac,
                            src_hint: None,
                        });
                    }
                }
                NeighbourState::Reachable | NeighbourState::Stale => n.timer = None,
            }
        }
        for key in failed {
            if let Some(n) = self.entries.remove(Key::of(key)) {
                out.push(TimerAction::Failed {
                    key,
                    dropped: n.queue.len(),
                });
            }
        }
        self.refresh_next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The packed key round-trips and orders exactly as the `(port, address)` pair, so
        /// the table iterates (and so reports and acts) in the same order.
        #[test]
        fn packed_keys_order_as_pairs(a in (any::<u16>(), any::<u32>()), b in (any::<u16>(), any::<u32>())) {
            let pa = (PortId(a.0), Ipv4Addr::from(a.1));
            let pb = (PortId(b.0), Ipv4Addr::from(b.1));
            prop_assert_eq!(Key::of(pa).parts(), pa);
            prop_assert_eq!(Key::of(pa).cmp(&Key::of(pb)), pa.cmp(&pb));
        }

        /// A hinted lookup finds what the plain search finds, whatever the hint: right, stale
        /// (the table changed since), or out of range.
        #[test]
        fn locate_with_any_hint_agrees_with_the_search(
            ports in proptest::collection::vec(0u16..3, 0..24),
            probes in proptest::collection::vec((0u16..3, 0u32..12, 0usize..30), 1..40),
        ) {
            let mut table = NeighbourTable::new(NeighParams::default(), 7);
            for (i, port) in ports.iter().enumerate() {
                let key = (PortId(*port), Ipv4Addr::from(10 << 24 | i as u32));
                let _ = table.enqueue(Instant::ZERO, key, Vec::new());
            }
            for (port, last, hint) in probes {
                let key = (PortId(port), Ipv4Addr::from(10 << 24 | last));
                let plain = table.entries.find(Key::of(key)).ok();
                prop_assert_eq!(table.locate(key, hint), plain);
                prop_assert_eq!(table.locate(key, usize::MAX), plain);
                if let Some(i) = plain {
                    prop_assert_eq!(table.locate(key, i), Some(i));
                    prop_assert_eq!(table.entries.0[i].0, Key::of(key));
                }
            }
        }

        /// The sorted vector answers every operation as a `BTreeMap` would, small (scanned)
        /// and large (binary-searched): same lookups, same removals, same iteration order.
        #[test]
        fn entries_behave_as_a_btree_map(
            ops in proptest::collection::vec((0u8..5, 0u64..40, any::<u32>()), 0..200),
        ) {
            let neighbour = |probes: u32| Neighbour {
                mac: None,
                state: NeighbourState::Incomplete,
                updated: Instant::ZERO,
                confirmed: None,
                probes,
                timer: None,
                queue: VecDeque::new(),
            };
            let mut entries = Entries::default();
            let mut model = std::collections::BTreeMap::new();
            for (op, key, value) in ops {
                // Keys spread over ports and addresses, as packed keys are.
                let k = Key((key % 3) << 32 | (key * 2_654_435_761) & 0xffff_ffff);
                match op {
                    0 => {
                        entries.insert(k, neighbour(value));
                        model.insert(k, value);
                    }
                    1 => {
                        let got = entries.remove(k).map(|n| n.probes);
                        prop_assert_eq!(got, model.remove(&k));
                    }
                    2 => {
                        let n = entries.get_or_insert_with(k, || neighbour(value));
                        n.probes = n.probes.wrapping_add(1);
                        let m = model.entry(k).or_insert(value);
                        *m = m.wrapping_add(1);
                    }
                    3 => {
                        if let Some(n) = entries.get_mut(k) {
                            n.probes = value;
                        }
                        if let Some(m) = model.get_mut(&k) {
                            *m = value;
                        }
                    }
                    _ => {
                        prop_assert_eq!(entries.contains_key(k), model.contains_key(&k));
                        prop_assert_eq!(entries.get(k).map(|n| n.probes), model.get(&k).copied());
                    }
                }
                let got: Vec<_> = entries.iter().map(|(k, n)| (k, n.probes)).collect();
                let want: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
                prop_assert_eq!(got, want);
            }
        }
    }
}
