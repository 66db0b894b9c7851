//! The event queue: items ordered by (time, insertion sequence).
//!
//! Two items at the same instant come out in the order they were scheduled, so a run never
//! depends on heap internals.
//!
//! Host wake-ups live apart, in a [`WakeQueue`] holding at most one entry per host that is
//! re-keyed in place when the host asks for another deadline: a host re-arms its timer after
//! nearly every input, and leaving the old entries in the main heap made it hold mostly stale
//! wake-ups. Both queues draw sequence numbers from the [`EventQueue`], so merging them by
//! (time, sequence) keeps the one order of scheduling. Both order by a [`Key`], the pair packed
//! in one integer.

use core::cmp::Ordering;
use lvs_model::time::Instant;
use std::collections::{BinaryHeap, VecDeque};

/// (time, sequence) packed in one integer, time in the high half: ordering the keys orders
/// the pairs, in one comparison.
pub type Key = u128;

/// The [`Key`] of (time, sequence).
#[inline(always)]
pub fn key(at: Instant, seq: u64) -> Key {
    (Key::from(at.as_nanos()) << 64) | Key::from(seq)
}

/// The time of a [`Key`].
#[inline(always)]
pub fn key_time(key: Key) -> Instant {
    Instant::from_nanos((key >> 64) as u64)
}

/// The (time, sequence) of a [`Key`].
pub fn key_parts(key: Key) -> (Instant, u64) {
    (key_time(key), key as u64)
}

struct Entry<T> {
    key: Key,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed, so the max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A priority queue of timed items, FIFO among equal times.
///
/// Most items are scheduled no earlier than the one scheduled before them (every link of a LAN
/// usually has the same latency), so those wait in a plain FIFO, already in (time, sequence)
/// order; only an item that would jump ahead goes to the heap. Pops take the earlier head.
pub struct EventQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    /// Items in (time, sequence) order, each pushed no earlier than the one before it.
    run: VecDeque<Entry<T>>,
    next_seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            run: VecDeque::new(),
            next_seq: 0,
        }
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `item` at `at`. Always inlined: it runs for every frame on every hop, and
    /// the compiler otherwise keeps it out of line in the world's send path.
    #[inline(always)]
    pub fn push(&mut self, at: Instant, item: T) {
        let seq = self.take_seq();
        let e = Entry {
            key: key(at, seq),
            item,
        };
        // Sequence numbers only grow, so a time no earlier than the last one keeps `run` sorted.
        if self.run.back().is_none_or(|last| last.key <= e.key) {
            self.run.push_back(e);
        } else {
            self.heap.push(e);
        }
    }

    /// Schedules `item` at `at`, well ahead of the items being pushed now (a fault scheduled
    /// before the run). It waits in the heap: at the back of the FIFO it would send every
    /// nearer item pushed after it to the heap instead.
    pub fn push_ahead(&mut self, at: Instant, item: T) {
        let seq = self.take_seq();
        self.heap.push(Entry {
            key: key(at, seq),
            item,
        });
    }

    /// Whether the earliest item is `run`'s head (else the heap's).
    #[inline]
    fn run_first(&self) -> Option<bool> {
        match (self.run.front(), self.heap.peek()) {
            (None, None) => None,
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (Some(r), Some(h)) => Some(r.key < h.key),
        }
    }

    /// The next sequence number, for an item scheduled elsewhere (a [`WakeQueue`]).
    pub fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The (time, sequence) of the earliest item.
    #[inline]
    pub fn peek_key(&self) -> Option<(Instant, u64)> {
        let e = if self.run_first()? {
            self.run.front()
        } else {
            self.heap.peek()
        };
        e.map(|e| key_parts(e.key))
    }

    /// Removes and returns the earliest item.
    #[inline]
    pub fn pop(&mut self) -> Option<(Instant, T)> {
        let e = if self.run_first()? {
            self.run.pop_front()
        } else {
            self.heap.pop()
        };
        e.map(|e| (key_time(e.key), e.item))
    }

    /// Removes and returns the earliest item if its (time, sequence) is no later than `limit`
    /// (else leaves the queue as it is): [`Self::peek_key`] and [`Self::pop`] in one look at
    /// the two heads, for a driver that merges this queue with another and stops at a time.
    #[inline(always)]
    pub fn pop_before(&mut self, limit: Key) -> Option<(Instant, T)> {
        // An empty side reads as `Key::MAX`; if both are empty the pop below finds nothing.
        let run = self.run.front().map_or(Key::MAX, |e| e.key);
        let heap = self.heap.peek().map_or(Key::MAX, |e| e.key);
        let e = if run < heap {
            if run > limit {
                return None;
            }
            self.run.pop_front()
        } else {
            if heap > limit {
                return None;
            }
            self.heap.pop()
        };
        e.map(|e| (key_time(e.key), e.item))
    }

    /// The time of the earliest item.
    pub fn peek_time(&self) -> Option<Instant> {
        self.peek_key().map(|(at, _)| at)
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.run.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.run.is_empty()
    }
}

/// At most one pending wake-up per host, ordered by (time, sequence).
///
/// A LAN of a handful of hosts keeps one key per host in a short vector and remembers which is
/// least (a scan of a few keys when that one changes); past [`SMALL_WAKES`] hosts the queue
/// becomes an indexed binary heap. Both pop in the same order.
#[derive(Debug)]
pub struct WakeQueue(Wakes);

#[derive(Debug)]
enum Wakes {
    Small(SmallWakes),
    Heap(HeapWakes),
}

/// The most hosts a [`WakeQueue`] scans linearly.
pub const SMALL_WAKES: usize = 16;

impl Default for WakeQueue {
    fn default() -> Self {
        WakeQueue(Wakes::Small(SmallWakes::default()))
    }
}

impl WakeQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// The wake-up pending for `host`.
    #[inline]
    pub fn get(&self, host: u32) -> Option<Instant> {
        match &self.0 {
            Wakes::Small(w) => w.get(host),
            Wakes::Heap(w) => w.get(host),
        }
    }

    /// Schedules `host` at `at` (sequence `seq`), replacing its pending wake-up.
    #[inline]
    pub fn set(&mut self, host: u32, at: Instant, seq: u64) {
        let k = key(at, seq);
        match &mut self.0 {
            Wakes::Small(w) if (host as usize) < SMALL_WAKES => w.set(host, k),
            Wakes::Small(w) => {
                let mut heap = HeapWakes::default();
                for (h, &k) in w.keys.iter().enumerate() {
                    if k != NO_WAKE {
                        heap.set(h as u32, k);
                    }
                }
                heap.set(host, k);
                self.0 = Wakes::Heap(heap);
            }
            Wakes::Heap(w) => w.set(host, k),
        }
    }

    /// Cancels `host`'s pending wake-up, if any.
    pub fn remove(&mut self, host: u32) {
        match &mut self.0 {
            Wakes::Small(w) => w.remove(host),
            Wakes::Heap(w) => w.remove(host),
        }
    }

    /// The [`Key`] (time, sequence) of the earliest wake-up.
    #[inline]
    pub fn peek_key(&self) -> Option<Key> {
        match &self.0 {
            Wakes::Small(w) => w.peek_key(),
            Wakes::Heap(w) => w.peek_key(),
        }
    }

    /// Removes and returns the earliest wake-up: (time, host).
    #[inline]
    pub fn pop(&mut self) -> Option<(Instant, u32)> {
        match &mut self.0 {
            Wakes::Small(w) => w.pop(),
            Wakes::Heap(w) => w.pop(),
        }
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Wakes::Small(w) => w.len,
            Wakes::Heap(w) => w.heap.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// "No wake-up pending" in [`SmallWakes::keys`] (a real key never has sequence `u64::MAX`).
const NO_WAKE: Key = Key::MAX;

/// Each host's key (or [`NO_WAKE`]) by host index, and the least of them.
#[derive(Debug)]
struct SmallWakes {
    keys: Vec<Key>,
    /// The host with the least key (0 when none is pending).
    min: usize,
    /// Its key, `NO_WAKE` when none is pending.
    min_key: Key,
    len: usize,
}

impl Default for SmallWakes {
    fn default() -> Self {
        SmallWakes {
            keys: Vec::new(),
            min: 0,
            min_key: NO_WAKE,
            len: 0,
        }
    }
}

impl SmallWakes {
    #[inline]
    fn get(&self, host: u32) -> Option<Instant> {
        match self.keys.get(host as usize) {
            Some(&k) if k != NO_WAKE => Some(key_time(k)),
            _ => None,
        }
    }

    #[inline]
    fn set(&mut self, host: u32, k: Key) {
        let h = host as usize;
        if self.keys.len() <= h {
            self.keys.resize(h + 1, NO_WAKE);
        }
        let old = self.keys[h];
        self.len += usize::from(old == NO_WAKE);
        self.keys[h] = k;
        if k < self.min_key {
            (self.min, self.min_key) = (h, k);
        } else if h == self.min && k > old {
            self.rescan();
        }
    }

    fn remove(&mut self, host: u32) {
        let h = host as usize;
        if self.keys.get(h).is_some_and(|&k| k != NO_WAKE) {
            self.keys[h] = NO_WAKE;
            self.len -= 1;
            if h == self.min {
                self.rescan();
            }
        }
    }

    #[inline]
    fn peek_key(&self) -> Option<Key> {
        (self.min_key != NO_WAKE).then_some(self.min_key)
    }

    #[inline]
    fn pop(&mut self) -> Option<(Instant, u32)> {
        let k = self.peek_key()?;
        let host = self.min;
        self.keys[host] = NO_WAKE;
        self.len -= 1;
        self.rescan();
        Some((key_time(k), host as u32))
    }

    /// Finds the least key again.
    fn rescan(&mut self) {
        let (mut min, mut min_key) = (0, NO_WAKE);
        for (h, &k) in self.keys.iter().enumerate() {
            if k < min_key {
                (min, min_key) = (h, k);
            }
        }
        (self.min, self.min_key) = (min, min_key);
    }
}

/// An indexed binary heap of (key, host), a min-heap on the key.
#[derive(Debug, Default)]
struct HeapWakes {
    heap: Vec<(Key, u32)>,
    /// Each host's index in `heap`, or `NONE`.
    pos: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl HeapWakes {
    fn get(&self, host: u32) -> Option<Instant> {
        match self.pos.get(host as usize) {
            Some(&i) if i != NONE => Some(key_time(self.heap[i as usize].0)),
            _ => None,
        }
    }

    fn set(&mut self, host: u32, k: Key) {
        if self.pos.len() <= host as usize {
            self.pos.resize(host as usize + 1, NONE);
        }
        match self.pos[host as usize] {
            NONE => {
                self.heap.push((k, host));
                let i = self.heap.len() - 1;
                self.pos[host as usize] = i as u32;
                self.sift_up(i);
            }
            i => {
                let i = i as usize;
                let old = self.heap[i].0;
                self.heap[i] = (k, host);
                if k < old {
                    self.sift_up(i);
                } else {
                    self.sift_down(i);
                }
            }
        }
    }

    fn remove(&mut self, host: u32) {
        let Some(&i) = self.pos.get(host as usize) else {
            return;
        };
        if i != NONE {
            self.remove_at(i as usize);
        }
    }

    fn peek_key(&self) -> Option<Key> {
        self.heap.first().map(|e| e.0)
    }

    fn pop(&mut self) -> Option<(Instant, u32)> {
        let &(k, host) = self.heap.first()?;
        self.remove_at(0);
        Some((key_time(k), host))
    }

    fn remove_at(&mut self, i: usize) {
        let last = self.heap.len() - 1;
        self.swap(i, last);
        let (_, host) = self.heap.pop().expect("not empty");
        self.pos[host as usize] = NONE;
        if i < self.heap.len() {
            self.sift_down(i);
            self.sift_up(i);
        }
    }

    fn key(&self, i: usize) -> Key {
        self.heap[i].0
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a].1 as usize] = a as u32;
        self.pos[self.heap[b].1 as usize] = b as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.key(i) >= self.key(parent) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut min = i;
            if l < self.heap.len() && self.key(l) < self.key(min) {
                min = l;
            }
            if r < self.heap.len() && self.key(r) < self.key(min) {
                min = r;
            }
            if min == i {
                break;
            }
            self.swap(i, min);
            i = min;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        q.push(Instant::from_secs(2), "c");
        q.push(Instant::from_secs(1), "a");
        q.push(Instant::from_secs(1), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, x)| x).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    proptest! {
        #[test]
        fn pops_are_sorted_by_time_then_sequence(times in proptest::collection::vec(0u64..50, 0..200)) {
            let mut q = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                q.push(Instant::from_nanos(*t), i);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let got: Vec<(u64, usize)> =
                std::iter::from_fn(|| q.pop()).map(|(t, i)| (t.as_nanos(), i)).collect();
            prop_assert_eq!(got, expected);
        }

        /// Pushes at a moving "now" (some far ahead, by `push_ahead`) interleaved with pops
        /// come out as a sorted model says: the FIFO and the heap together keep (time,
        /// sequence) order.
        #[test]
        fn interleaved_pushes_and_pops_follow_time_then_sequence(
            ops in proptest::collection::vec((0u64..30, any::<bool>(), 0u8..8), 0..400),
        ) {
            let mut q = EventQueue::new();
            let mut model = std::collections::BTreeSet::new();
            let (mut now, mut n) = (0u64, 0usize);
            for (delta, pop, ahead) in ops {
                if ahead == 0 {
                    q.push_ahead(Instant::from_nanos(now + delta * 10), n);
                    model.insert((now + delta * 10, n));
                    n += 1;
                } else if pop {
                    let got = q.pop().map(|(t, i)| (t.as_nanos(), i));
                    let want = model.pop_first();
                    prop_assert_eq!(got, want);
                    if let Some((t, _)) = want {
                        now = t;
                    }
                } else {
                    q.push(Instant::from_nanos(now + delta), n);
                    model.insert((now + delta, n));
                    n += 1;
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.peek_key().map(|(t, _)| t.as_nanos()), model.first().map(|(t, _)| *t));
            }
        }

        /// `pop_before(limit)` is `peek_key` then `pop` when the key is no later than `limit`.
        #[test]
        fn pop_before_is_peek_then_pop(
            ops in proptest::collection::vec((0u64..30, 0u8..8, 0u64..40, 0u64..400), 0..400),
        ) {
            let (mut q, mut plain) = (EventQueue::new(), EventQueue::new());
            let (mut now, mut n) = (0u64, 0usize);
            for (delta, op, limit_t, limit_seq) in ops {
                match op {
                    0 => {
                        q.push_ahead(Instant::from_nanos(now + delta * 10), n);
                        plain.push_ahead(Instant::from_nanos(now + delta * 10), n);
                        n += 1;
                    }
                    1..=3 => {
                        let limit = (Instant::from_nanos(now + limit_t), limit_seq);
                        let want = match plain.peek_key() {
                            Some(k) if k <= limit => plain.pop(),
                            _ => None,
                        };
                        let got = q.pop_before(key(limit.0, limit.1));
                        prop_assert_eq!(got, want);
                        if let Some((t, _)) = want {
                            now = t.as_nanos();
                        }
                    }
                    _ => {
                        q.push(Instant::from_nanos(now + delta), n);
                        plain.push(Instant::from_nanos(now + delta), n);
                        n += 1;
                    }
                }
                prop_assert_eq!(q.len(), plain.len());
                prop_assert_eq!(q.peek_key(), plain.peek_key());
            }
        }

        /// The wake queue behaves as a map host → (time, seq) popped in key order, with few
        /// hosts (the scanned vector) and with many (it turns into the heap midway).
        #[test]
        fn wake_queue_matches_a_sorted_map(
            hosts in proptest::prop_oneof![proptest::strategy::Just(6u32), proptest::strategy::Just(40u32)],
            ops in proptest::collection::vec((0u32..40, 0u64..40, 0u8..4), 0..300),
        ) {
            let mut q = WakeQueue::new();
            let mut model: std::collections::BTreeMap<u32, (u64, u64)> = Default::default();
            let mut seq = 0;
            for (host, t, op) in ops {
                let host = host % hosts;
                match op {
                    0 => {
                        q.remove(host);
                        model.remove(&host);
                    }
                    1 => {
                        let got = q.pop().map(|(t, h)| (t.as_nanos(), h));
                        let want = model
                            .iter()
                            .min_by_key(|(_, k)| **k)
                            .map(|(h, (t, _))| (*t, *h));
                        if let Some((_, h)) = want {
                            model.remove(&h);
                        }
                        prop_assert_eq!(got, want);
                    }
                    _ => {
                        q.set(host, Instant::from_nanos(t), seq);
                        model.insert(host, (t, seq));
                        seq += 1;
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(
                    q.peek_key(),
                    model.values().min().map(|&(t, s)| key(Instant::from_nanos(t), s))
                );
                for h in 0..hosts {
                    prop_assert_eq!(
                        q.get(h).map(|t| t.as_nanos()),
                        model.get(&h).map(|(t, _)| *t)
                    );
                }
            }
        }

        /// The scanned vector answers as the indexed heap (the structure it replaces for a
        /// handful of hosts) does, step by step.
        #[test]
        fn small_wakes_match_the_indexed_heap(
            ops in proptest::collection::vec((0u32..SMALL_WAKES as u32, 0u64..40, 0u8..4), 0..300),
        ) {
            let (mut small, mut heap) = (SmallWakes::default(), HeapWakes::default());
            let mut seq = 0;
            for (host, t, op) in ops {
                match op {
                    0 => {
                        small.remove(host);
                        heap.remove(host);
                    }
                    1 => prop_assert_eq!(small.pop(), heap.pop()),
                    _ => {
                        let k = key(Instant::from_nanos(t), seq);
                        small.set(host, k);
                        heap.set(host, k);
                        seq += 1;
                    }
                }
                prop_assert_eq!(small.len, heap.heap.len());
                prop_assert_eq!(small.peek_key(), heap.peek_key());
                for h in 0..SMALL_WAKES as u32 {
                    prop_assert_eq!(small.get(h), heap.get(h));
                }
            }
        }
    }
}
