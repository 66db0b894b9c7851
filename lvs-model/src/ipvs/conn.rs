//! The connection table: entries, the TCP/UDP state tables, timeouts and expiry.
//!
//! Contract:
//! - Every entry has a deadline `expires`; [`ConnTable::poll_timeout`] returns the earliest
//!   armed timer and `ConnTable::pop_due` yields entries whose timer is due. Timers are kept
//!   in per-timeout FIFO queues (ordered by construction, since time only moves forward) and
//!   re-armed lazily: a packet that pushes `expires` later
//!   only rewrites the field, and the old timer re-arms itself when it fires. So
//!   `poll_timeout` may return a wake-up that expires nothing; it never returns one late.
//! - Lookups go through a hash index (never iterated); listings walk the slot vector, whose
//!   reuse is lowest-free-first, so output order depends only on the inputs.
//! - Dest counters (active/inactive/persist) are kept by `bind`/`unbind`/`set_state`,
//!   which the owner ([`Ipvs`](super::Ipvs)) calls; the property tests check they always equal
//!   the entries.
//!
//! States and timeouts follow `ip_vs_proto_tcp.c`/`ip_vs_proto_udp.c` (keepalived-ipvs.md
//! §D.3, E6): RST wins over SYN, SYN over FIN, FIN over ACK, and a packet with none of them
//! moves to CLOSE. DR and TUN entries carry NOOUTPUT and use the INPUT_ONLY table (the
//! director never sees the server's packets); NAT entries use INPUT/OUTPUT.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};
use std::hash::Hasher;

use hashbrown::HashTable;
use std::net::Ipv4Addr;

use super::dest::{DestId, DestTable, ForwardMethod};
use crate::time::{Duration, Instant};

/// The protocol of an entry. `Ip` is a fwmark service's persistence template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnProto {
    Tcp,
    Udp,
    Ip,
}

impl ConnProto {
    pub fn name(self) -> &'static str {
        match self {
            ConnProto::Tcp => "TCP",
            ConnProto::Udp => "UDP",
            ConnProto::Ip => "IP",
        }
    }
    #[inline]
    fn code(self) -> u128 {
        match self {
            ConnProto::Tcp => 6,
            ConnProto::Udp => 17,
            ConnProto::Ip => 0,
        }
    }
}

/// The kernel's TCP states, in its numbering (the index into the state tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TcpState {
    None = 0,
    Established,
    SynSent,
    SynRecv,
    FinWait,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Synack,
}

impl TcpState {
    pub const ALL: [TcpState; 11] = [
        TcpState::None,
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::Synack,
    ];
    /// As `ipvsadm -Lnc` prints it.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Synack => "SYNACK",
        }
    }
}

/// Which way a packet travels, as the state tables see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client → server.
    Input,
    /// Server → client (NAT replies only).
    Output,
}

/// The three tables: INPUT, OUTPUT, INPUT_ONLY; rows syn, fin, ack, rst; columns the current
/// state (NO ES SS SR FW TW CL CW LA LI SA).
const TCP_STATES: [[[TcpState; 11]; 4]; 3] = {
    use TcpState::{
        Close as CL, CloseWait as CW, Established as ES, FinWait as FW, LastAck as LA,
        Listen as LI, SynRecv as SR, SynSent as SS, TimeWait as TW,
    };
    [
        // INPUT
        [
            [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
            [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
            [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
            [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR],
        ],
        // OUTPUT
        [
            [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
            [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
            [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
            [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL],
        ],
        // INPUT_ONLY
        [
            [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
            [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
            [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
            [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
        ],
    ]
};

/// The TCP flags the state machine looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub fin: bool,
    pub ack: bool,
    pub rst: bool,
}

/// Which table a packet uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateTable {
    Input = 0,
    Output = 1,
    InputOnly = 2,
}

/// `set_tcp_state`'s lookup: the next state, or CLOSE for a packet with none of the flags.
pub fn tcp_next_state(table: StateTable, flags: TcpFlags, current: TcpState) -> TcpState {
    next_state_in_row(table, flags.row(), current)
}

/// The state-table row a TCP header's flag byte selects (RST over SYN over FIN over ACK),
/// or [`NO_ROW`]: indexed by the byte's FIN, SYN, RST and ACK bits (mask [`ROW_BITS`]), so the
/// per-packet path makes no decision chain of its own.
const TCP_ROW: [u8; 32] = {
    let mut t = [NO_ROW; 32];
    let mut i = 0;
    while i < 32 {
        t[i] = if i & 0x04 != 0 {
            3
        } else if i & 0x02 != 0 {
            0
        } else if i & 0x01 != 0 {
            1
        } else if i & 0x10 != 0 {
            2
        } else {
            NO_ROW
        };
        i += 1;
    }
    t
};

/// The flag bits [`TCP_ROW`] is indexed by: FIN, SYN, RST and ACK.
pub(crate) const ROW_BITS: u8 = 0x17;
/// No flag the state tables look at: the next state is CLOSE.
pub(crate) const NO_ROW: u8 = 4;

/// The row for a TCP flag byte (only [`ROW_BITS`] matter).
#[inline(always)]
pub(crate) fn tcp_row(flag_byte: u8) -> u8 {
    TCP_ROW[(flag_byte & ROW_BITS) as usize]
}

/// [`tcp_next_state`] for a row from [`tcp_row`].
#[inline(always)]
fn next_state_in_row(table: StateTable, row: u8, current: TcpState) -> TcpState {
    match TCP_STATES[table as usize].get(row as usize) {
        Some(r) => r[current as usize],
        None => TcpState::Close,
    }
}

impl TcpFlags {
    /// The flag byte of a TCP header with these flags.
    pub(crate) fn bits(self) -> u8 {
        self.fin as u8 | (self.syn as u8) << 1 | (self.rst as u8) << 2 | (self.ack as u8) << 4
    }
    /// The flags of a flag byte.
    #[cfg(test)]
    pub(crate) fn from_bits(b: u8) -> TcpFlags {
        TcpFlags {
            fin: b & 0x01 != 0,
            syn: b & 0x02 != 0,
            rst: b & 0x04 != 0,
            ack: b & 0x10 != 0,
        }
    }
    /// The state-table row these flags select.
    fn row(self) -> u8 {
        tcp_row(self.bits())
    }
}

/// Timeouts per TCP state and for UDP (`ipvsadm --set` changes three of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: [Duration; 11],
    pub udp: Duration,
}

impl Default for Timeouts {
    /// The kernel's defaults (E6: `Timeout (tcp tcpfin udp): 900 120 300`).
    fn default() -> Self {
        let s = Duration::from_secs;
        Timeouts {
            tcp: [
                s(2),
                s(900),
                s(120),
                s(60),
                s(120),
                s(120),
                s(10),
                s(60),
                s(30),
                s(120),
                s(120),
            ],
            udp: s(300),
        }
    }
}

impl Timeouts {
    pub fn tcp_state(&self, st: TcpState) -> Duration {
        self.tcp[st as usize]
    }
    /// `ipvsadm --set tcp tcpfin udp` / keepalived `lvs_timeouts`: ESTABLISHED, FIN_WAIT and
    /// UDP; a zero leaves that value unchanged.
    pub fn set(&mut self, tcp: Duration, tcpfin: Duration, udp: Duration) {
        if !tcp.is_zero() {
            self.tcp[TcpState::Established as usize] = tcp;
        }
        if !tcpfin.is_zero() {
            self.tcp[TcpState::FinWait as usize] = tcpfin;
        }
        if !udp.is_zero() {
            self.udp = udp;
        }
    }
    /// (tcp, tcpfin, udp) as `ipvsadm -L --timeout` prints them.
    pub fn listed(&self) -> (Duration, Duration, Duration) {
        (
            self.tcp_state(TcpState::Established),
            self.tcp_state(TcpState::FinWait),
            self.udp,
        )
    }
}

/// Index of an entry in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub(crate) u32);

/// One entry (`struct ip_vs_conn`): a connection, or a persistence template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conn {
    pub protocol: ConnProto,
    pub caddr: Ipv4Addr,
    pub cport: u16,
    /// The VIP; for a fwmark template, the mark as an address.
    pub vaddr: Ipv4Addr,
    pub vport: u16,
    pub daddr: Ipv4Addr,
    pub dport: u16,
    pub dest: DestId,
    pub forward: ForwardMethod,
    /// The TCP state (`TcpState::None` for UDP and templates).
    pub state: TcpState,
    pub template: bool,
    /// Counted in the dest's inactconns (else activeconns); templates: neither.
    pub inactive: bool,
    /// No server→client packet seen yet and none expected (DR/TUN): INPUT_ONLY table.
    pub no_output: bool,
    /// The template this connection was made through ([`Conn::control`]): its slot, or
    /// [`NO_CONTROL`]. A bare slot number and the timeout in ns keep an entry at 64 bytes.
    control_slot: u32,
    /// Live connections made through this template.
    pub n_control: u32,
    /// What the next packet (or timer) re-arms the entry with, in ns ([`Conn::timeout`]).
    timeout_ns: u64,
    pub expires: Instant,
    /// Findable by lookups; an invalidated template stays until it expires, unhashed.
    pub hashed: bool,
    timer_at: Instant,
}

/// [`Conn::control_slot`] of an entry made through no template (slots stay below 2^31, see
/// [`OUT_TAG`]).
const NO_CONTROL: u32 = u32::MAX;

/// `d` in ns, saturating (a deadline that far out is [`Instant::MAX`] either way).
#[inline]
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `now + ns`, saturating: what `now + Duration::from_nanos(ns)` gives.
#[inline(always)]
fn after(now: Instant, ns: u64) -> Instant {
    Instant::from_nanos(now.as_nanos().saturating_add(ns))
}

/// [`Timeouts`] in ns, as entries store them; the owner ([`Ipvs`](super::Ipvs)) keeps one
/// beside its `Timeouts` and passes it to [`set_state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeoutsNs {
    tcp: [u64; 11],
    udp: u64,
}

impl From<&Timeouts> for TimeoutsNs {
    fn from(t: &Timeouts) -> Self {
        TimeoutsNs {
            tcp: t.tcp.map(nanos),
            udp: nanos(t.udp),
        }
    }
}

impl Conn {
    /// The template this connection was made through.
    #[inline]
    pub fn control(&self) -> Option<ConnId> {
        (self.control_slot != NO_CONTROL).then_some(ConnId(self.control_slot))
    }
    pub(crate) fn set_control(&mut self, template: ConnId) {
        self.control_slot = template.0;
    }
    /// What the next packet (or timer) re-arms the entry with.
    pub fn timeout(&self) -> Duration {
        Duration::from_nanos(self.timeout_ns)
    }
}

/// Key kinds sharing the index.
#[derive(Clone, Copy)]
enum KeyKind {
    In = 0,
    Out = 1,
    Template = 2,
}

#[inline]
fn key(kind: KeyKind, proto: ConnProto, a1: Ipv4Addr, p1: u16, a2: Ipv4Addr, p2: u16) -> u128 {
    ((kind as u128) << 112)
        | (proto.code() << 96)
        | ((u32::from(a1) as u128) << 64)
        | ((p1 as u128) << 48)
        | ((u32::from(a2) as u128) << 16)
        | p2 as u128
}

/// A fixed, fast hash for the packed keys (lookups only; nothing iterates the index).
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u128(&mut self, k: u128) {
        let lo = k as u64;
        let hi = (k >> 64) as u64;
        // Fold, then murmur3's fmix64 so every key bit reaches the low (bucket) bits.
        let mut h = lo ^ hi.rotate_left(23).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        self.0 = h;
    }
}

/// The lookup index: each element is a slot number, with [`OUT_TAG`] set when it stands for
/// that entry's reply (NAT out) key rather than its in/template key, and the 32-bit hash of
/// that key. The key itself is not stored: it is read back from the entry, so an element is
/// 8 bytes (+1 control byte) instead of 20. The stored hash lets the table grow without
/// reading every entry back (a rehash would otherwise touch each entry in random order), and
/// a probe compares it before it reads an entry.
type Index = HashTable<(u32, u32)>;

/// Marks an index element as an entry's out key.
const OUT_TAG: u32 = 1 << 31;

/// A key's 32-bit hash (the high half of the 64-bit one, whose bits are all mixed).
#[inline(always)]
fn hash_key(k: u128) -> u32 {
    let mut h = KeyHasher::default();
    h.write_u128(k);
    (h.finish() >> 32) as u32
}

/// The 64-bit hash the table wants from a 32-bit one: hashbrown takes the bucket from the low
/// bits and the 7-bit tag from the top ones, so both come from the 32 mixed bits (independent
/// below 2^25 buckets).
#[inline]
fn spread(h: u32) -> u64 {
    ((h as u64) << 32) | h as u64
}

/// The key an index element stands for; `u128::MAX` (no key has kind bits 0xffff) if the
/// element were stale, which the table never lets happen.
#[inline(always)]
fn element_key(slots: &[Option<Conn>], e: u32) -> u128 {
    match slots.get((e & !OUT_TAG) as usize) {
        Some(Some(c)) if e & OUT_TAG != 0 => c.out_key().unwrap_or(u128::MAX),
        Some(Some(c)) => c.in_key(),
        _ => u128::MAX,
    }
}

/// The table of entries with its lookup index and timers.
#[derive(Clone, Debug, Default)]
pub struct ConnTable {
    slots: Vec<Option<Conn>>,
    /// Free slots, lowest first: a min-heap costs less per entry than an ordered set and
    /// gives the same order (a slot is freed at most once before it is reused).
    free: BinaryHeap<Reverse<u32>>,
    index: Index,
    timers: Timers,
    len: usize,
}

/// Deadlines `(when, slot)`, earliest first. Entries armed with the same timeout at
/// non-decreasing times are already in order, so each distinct timeout gets a FIFO queue
/// (O(1) to arm — the common case, as time only moves forward); an entry that would break a
/// queue's order goes to an ordered set instead. Stale entries are skipped by the caller.
#[derive(Clone, Debug, Default)]
struct Timers {
    /// One queue per timeout value (ns), in ascending timeout order.
    queues: Vec<(u64, VecDeque<(Instant, u32)>)>,
    /// The queue the last timer went to: most arms repeat the timeout of the one before.
    last: usize,
    overflow: BTreeSet<(Instant, u32)>,
    len: usize,
    /// [`Timers::first_source`] as of the last change: the director asks for its next
    /// deadline after every packet, and most packets only append to a queue's back, which
    /// leaves the earliest entry where it was.
    head: Option<Source>,
}

/// Where an entry is (`Some(i)` queue `i`, `None` the overflow set), and the entry.
type Source = (Option<usize>, (Instant, u32));

/// Whether `a` is what [`Timers::first_source`] picks over `b`: the earlier entry; for two
/// equal ones, the overflow set's, then the lower queue's.
fn precedes(a: Source, b: Source) -> bool {
    let rank = |s: Option<usize>| s.map_or(0, |i| i + 1);
    a.1 < b.1 || (a.1 == b.1 && rank(a.0) < rank(b.0))
}

impl Timers {
    /// Arm a timer for `slot` at `at`, which is `timeout` after the packet that armed it.
    /// The common case — the same timeout as the last arm, not before that queue's back —
    /// inline; the rest in [`Timers::arm_elsewhere`].
    #[inline(always)]
    fn arm(&mut self, at: Instant, timeout: u64, slot: u32) {
        if let Some((d, q)) = self.queues.get_mut(self.last)
            && *d == timeout
            && q.back().is_none_or(|&back| back <= (at, slot))
        {
            self.len += 1;
            q.push_back((at, slot));
            let e = (Some(self.last), (at, slot));
            if self.head.is_none_or(|h| precedes(e, h)) {
                self.head = Some(e);
            }
            return;
        }
        self.arm_elsewhere(at, timeout, slot);
    }

    #[inline(never)]
    fn arm_elsewhere(&mut self, at: Instant, timeout: u64, slot: u32) {
        self.len += 1;
        let i = match self.queues.get(self.last) {
            Some((d, _)) if *d == timeout => self.last,
            _ => {
                let i = match self.queues.binary_search_by(|(d, _)| d.cmp(&timeout)) {
                    Ok(i) => i,
                    Err(i) => {
                        self.queues.insert(i, (timeout, VecDeque::new()));
                        // The queues from `i` on moved up one.
                        if let Some((Some(j), _)) = &mut self.head
                            && *j >= i
                        {
                            *j += 1;
                        }
                        i
                    }
                };
                self.last = i;
                i
            }
        };
        let q = &mut self.queues[i].1;
        let e = if q.back().is_none_or(|&back| back <= (at, slot)) {
            q.push_back((at, slot));
            (Some(i), (at, slot))
        } else {
            self.overflow.insert((at, slot));
            (None, (at, slot))
        };
        // A new entry is the earliest only where it is its container's first, so its source
        // is right for `pop_first`.
        if self.head.is_none_or(|h| precedes(e, h)) {
            self.head = Some(e);
        }
    }

    /// Where the earliest entry is: `Some(i)` a queue, `None` the overflow set.
    fn first_source(&self) -> Option<(Option<usize>, (Instant, u32))> {
        let mut best: Option<(Option<usize>, (Instant, u32))> =
            self.overflow.first().map(|&e| (None, e));
        for (i, (_, q)) in self.queues.iter().enumerate() {
            if let Some(&e) = q.front()
                && best.is_none_or(|(_, b)| e < b)
            {
                best = Some((Some(i), e));
            }
        }
        best
    }

    #[inline]
    fn first(&self) -> Option<(Instant, u32)> {
        debug_assert_eq!(self.head, self.first_source());
        self.head.map(|(_, e)| e)
    }

    fn pop_first(&mut self) -> Option<(Instant, u32)> {
        debug_assert_eq!(self.head, self.first_source());
        let (src, e) = self.head?;
        match src {
            Some(i) => {
                self.queues[i].1.pop_front();
            }
            None => {
                self.overflow.pop_first();
            }
        }
        self.len -= 1;
        self.head = self.first_source();
        Some(e)
    }
}

impl Conn {
    #[inline]
    fn in_key(&self) -> u128 {
        if self.template {
            key(
                KeyKind::Template,
                self.protocol,
                self.caddr,
                self.cport,
                self.vaddr,
                self.vport,
            )
        } else {
            key(
                KeyKind::In,
                self.protocol,
                self.caddr,
                self.cport,
                self.vaddr,
                self.vport,
            )
        }
    }
    #[inline]
    fn out_key(&self) -> Option<u128> {
        (!self.template && self.forward == ForwardMethod::Masquerade).then(|| {
            key(
                KeyKind::Out,
                self.protocol,
                self.daddr,
                self.dport,
                self.caddr,
                self.cport,
            )
        })
    }
}

/// A new entry's fields; the table fills in the rest.
#[derive(Clone, Copy, Debug)]
pub struct NewConn {
    pub protocol: ConnProto,
    pub caddr: Ipv4Addr,
    pub cport: u16,
    pub vaddr: Ipv4Addr,
    pub vport: u16,
    pub daddr: Ipv4Addr,
    pub dport: u16,
    pub dest: DestId,
    pub forward: ForwardMethod,
    pub template: bool,
    pub timeout: Duration,
}

impl ConnTable {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, id: ConnId) -> Option<&Conn> {
        self.slots.get(id.0 as usize).and_then(|s| s.as_ref())
    }
    pub(crate) fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.slots.get_mut(id.0 as usize).and_then(|s| s.as_mut())
    }

    /// Entries in slot order (deterministic).
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Conn)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|c| (ConnId(i as u32), c)))
    }

    #[inline(always)]
    fn find(&self, k: u128) -> Option<ConnId> {
        let slots = &self.slots;
        let h = hash_key(k);
        // The probe compares stored hashes only (hashbrown calls the comparison out of
        // line); the key is checked here. Should another key share the 32-bit hash and come
        // first, the full search decides.
        let &(e, _) = self.index.find(spread(h), |&(_, eh)| eh == h)?;
        if element_key(slots, e) == k {
            return Some(ConnId(e & !OUT_TAG));
        }
        self.index
            .find(spread(h), |&(e, eh)| eh == h && element_key(slots, e) == k)
            .map(|&(e, _)| ConnId(e & !OUT_TAG))
    }

    /// Map `k` to `element`, replacing what `k` mapped to (as a map insert does).
    #[inline]
    fn index_insert(&mut self, k: u128, element: u32) {
        let slots = &self.slots;
        let h = hash_key(k);
        match self.index.entry(
            spread(h),
            |&(e, eh)| eh == h && element_key(slots, e) == k,
            |&(_, eh)| spread(eh),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut o) => *o.get_mut() = (element, h),
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert((element, h));
            }
        }
    }

    /// Remove `element` if `k` maps to it.
    fn index_remove(&mut self, k: u128, element: u32) {
        if let Ok(entry) = self
            .index
            .find_entry(spread(hash_key(k)), |&(e, _)| e == element)
        {
            entry.remove();
        }
    }

    /// Client → VIP lookup (`ip_vs_conn_in_get`).
    #[inline(always)]
    pub fn lookup_in(
        &self,
        proto: ConnProto,
        caddr: Ipv4Addr,
        cport: u16,
        vaddr: Ipv4Addr,
        vport: u16,
    ) -> Option<ConnId> {
        let h = hash_key(key(KeyKind::In, proto, caddr, cport, vaddr, vport));
        let slots = &self.slots;
        // `element_key(slots, e) == k` for an in key, compared field by field: an out-key
        // element or a template never matches.
        let is = |e: u32| {
            e & OUT_TAG == 0
                && matches!(slots.get(e as usize), Some(Some(c))
                    if c.caddr == caddr && c.vaddr == vaddr && c.cport == cport
                        && c.vport == vport && c.protocol == proto && !c.template)
        };
        // As in `find`: stored hashes in the probe, the entry checked here.
        let &(e, _) = self.index.find(spread(h), |&(_, eh)| eh == h)?;
        if is(e) {
            return Some(ConnId(e));
        }
        self.index
            .find(spread(h), |&(e, eh)| eh == h && is(e))
            .map(|&(e, _)| ConnId(e))
    }

    /// RS → client lookup for NAT replies (`ip_vs_conn_out_get`).
    #[inline]
    pub fn lookup_out(
        &self,
        proto: ConnProto,
        raddr: Ipv4Addr,
        rport: u16,
        caddr: Ipv4Addr,
        cport: u16,
    ) -> Option<ConnId> {
        self.find(key(KeyKind::Out, proto, raddr, rport, caddr, cport))
    }

    /// Persistence template lookup (`ip_vs_ct_in_get`).
    pub fn lookup_template(
        &self,
        proto: ConnProto,
        caddr: Ipv4Addr,
        vaddr: Ipv4Addr,
        vport: u16,
    ) -> Option<ConnId> {
        self.find(key(KeyKind::Template, proto, caddr, 0, vaddr, vport))
    }

    /// Add an entry expiring at `now + timeout`. Its timer is armed by the `ConnTable::rearm`
    /// that follows every insertion (after the first state transition has set the real
    /// timeout). The caller binds it to its dest.
    pub(crate) fn insert(&mut self, now: Instant, n: NewConn) -> ConnId {
        let timeout_ns = nanos(n.timeout);
        let expires = after(now, timeout_ns);
        let conn = Conn {
            protocol: n.protocol,
            caddr: n.caddr,
            cport: n.cport,
            vaddr: n.vaddr,
            vport: n.vport,
            daddr: n.daddr,
            dport: n.dport,
            dest: n.dest,
            forward: n.forward,
            state: TcpState::None,
            template: n.template,
            inactive: true,
            no_output: n.forward != ForwardMethod::Masquerade,
            control_slot: NO_CONTROL,
            n_control: 0,
            timeout_ns,
            expires,
            hashed: true,
            timer_at: Instant::MAX,
        };
        let (ki, ko) = (conn.in_key(), conn.out_key());
        let slot = match self.free.pop() {
            Some(Reverse(i)) => {
                self.slots[i as usize] = Some(conn);
                i
            }
            None => {
                self.slots.push(Some(conn));
                (self.slots.len() - 1) as u32
            }
        };
        let id = ConnId(slot);
        // No entry has this in key: the caller looked it up and found none, or took the one
        // it found out of the index (`expire_now`, `unhash`).
        debug_assert!(self.find(ki).is_none(), "in key already indexed");
        let h = hash_key(ki);
        self.index
            .insert_unique(spread(h), (slot, h), |&(_, eh)| spread(eh));
        if let Some(k) = ko {
            self.index_insert(k, slot | OUT_TAG);
        }
        self.len += 1;
        id
    }

    /// Take an entry out of the lookup index (it stays in the table until removed).
    pub(crate) fn unhash(&mut self, id: ConnId) {
        let Some(c) = self.get_mut(id) else { return };
        if !c.hashed {
            return;
        }
        c.hashed = false;
        let (k, ko) = (c.in_key(), c.out_key());
        self.index_remove(k, id.0);
        if let Some(ko) = ko {
            self.index_remove(ko, id.0 | OUT_TAG);
        }
    }

    /// Re-arm an entry's timer to `now + timeout` (`ip_vs_conn_put`).
    #[inline]
    pub(crate) fn rearm(&mut self, id: ConnId, now: Instant) {
        let Some(c) = self.slots.get_mut(id.0 as usize).and_then(|s| s.as_mut()) else {
            return;
        };
        c.expires = after(now, c.timeout_ns);
        if c.expires < c.timer_at {
            c.timer_at = c.expires;
            self.timers.arm(c.expires, c.timeout_ns, id.0);
        }
    }

    /// Apply a packet to an entry with `f` (`ip_vs_set_state`) and re-arm its timer to
    /// `now + timeout` (`ip_vs_conn_put`) in one visit; `None` if `id` is free.
    #[inline(always)]
    pub(crate) fn touch<R>(
        &mut self,
        id: ConnId,
        now: Instant,
        f: impl FnOnce(&mut Conn) -> R,
    ) -> Option<R> {
        let c = self.slots.get_mut(id.0 as usize)?.as_mut()?;
        let r = f(c);
        c.expires = after(now, c.timeout_ns);
        if c.expires < c.timer_at {
            c.timer_at = c.expires;
            self.timers.arm(c.expires, c.timeout_ns, id.0);
        }
        Some(r)
    }

    /// [`ConnTable::touch`] for an inbound packet with state-table row `row` (see
    /// [`set_state`]): the forwarding path's visit, written without a closure so that it
    /// inlines whole. Returns the entry's dest, method, address and port.
    #[inline(always)]
    pub(crate) fn touch_in(
        &mut self,
        id: ConnId,
        now: Instant,
        row: u8,
        timeouts: &TimeoutsNs,
        dests: &mut DestTable,
    ) -> Option<(DestId, ForwardMethod, Ipv4Addr, u16)> {
        let c = self.slots.get_mut(id.0 as usize)?.as_mut()?;
        set_state(c, Direction::Input, row, timeouts, dests);
        c.expires = after(now, c.timeout_ns);
        if c.expires < c.timer_at {
            c.timer_at = c.expires;
            self.timers.arm(c.expires, c.timeout_ns, id.0);
        }
        Some((c.dest, c.forward, c.daddr, c.dport))
    }

    /// Remove an entry entirely; the caller unbinds it from its dest and template first.
    pub(crate) fn remove(&mut self, id: ConnId) -> Option<Conn> {
        self.unhash(id);
        // Its timer entries stay behind; they find the slot empty (or re-used with another
        // deadline) and are skipped.
        let c = self.slots.get_mut(id.0 as usize)?.take()?;
        self.free.push(Reverse(id.0));
        self.len -= 1;
        Some(c)
    }

    /// The earliest armed timer.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| t)
    }

    /// Settles the earliest timers that would expire nothing when they fire, until the
    /// earliest is one that will: a timer whose slot is empty, or whose entry has armed one
    /// for another time since, is dropped (should the entry later arm one for that very
    /// time, that arm queues its own copy); a timer whose entry has been pushed later is
    /// re-armed at the entry's deadline now rather than when it fires. Entries expire at the
    /// same times either way — at the first instant their deadline is not in the future —
    /// and [`ConnTable::poll_timeout`] becomes a deadline that does something: a connection
    /// that lives past its first timer would otherwise wake the director for nothing.
    ///
    /// The common case, checked inline: the earliest timer is its entry's own and will expire
    /// it (or there is none), and nothing is to settle.
    #[inline(always)]
    pub(crate) fn settle_timers(&mut self) {
        let Some((t, slot)) = self.timers.first() else {
            return;
        };
        if let Some(Some(c)) = self.slots.get(slot as usize)
            && c.timer_at == t
            && c.expires <= t
        {
            return;
        }
        self.settle_timers_slow();
    }

    /// [`ConnTable::settle_timers`] past its first check.
    #[inline(never)]
    fn settle_timers_slow(&mut self) {
        while let Some((t, slot)) = self.timers.first() {
            match self.slots.get_mut(slot as usize) {
                Some(Some(c)) if c.timer_at == t => {
                    if c.expires <= t {
                        return;
                    }
                    self.timers.pop_first();
                    c.timer_at = c.expires;
                    self.timers.arm(c.expires, c.timeout_ns, slot);
                }
                _ => {
                    self.timers.pop_first();
                }
            }
        }
    }

    /// The next entry whose deadline has passed at `now`, with that deadline, re-arming any
    /// whose deadline moved later. The caller decides what expiry means (templates with
    /// children live on).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(ConnId, Instant)> {
        while let Some((t, slot)) = self.timers.first() {
            if t > now {
                return None;
            }
            self.timers.pop_first();
            let Some(c) = self.slots.get_mut(slot as usize).and_then(|s| s.as_mut()) else {
                continue;
            };
            if c.timer_at != t {
                continue; // superseded by an earlier timer
            }
            if c.expires > now {
                c.timer_at = c.expires;
                self.timers.arm(c.expires, c.timeout_ns, slot);
                continue;
            }
            return Some((ConnId(slot), t));
        }
        None
    }

    /// Keep an entry for another `timeout` from `now` (a template that still controls
    /// connections).
    pub(crate) fn extend(&mut self, id: ConnId, now: Instant, timeout: Duration) {
        if let Some(c) = self.slots.get_mut(id.0 as usize).and_then(|s| s.as_mut()) {
            c.timeout_ns = nanos(timeout);
            c.expires = after(now, c.timeout_ns);
            c.timer_at = c.expires;
            self.timers.arm(c.expires, c.timeout_ns, id.0);
        }
    }

    /// Bytes the table itself holds for `n` entries of this layout (entry slots, index,
    /// timers), for the memory estimate reported by the bench.
    pub fn estimated_bytes(&self) -> usize {
        let slot = std::mem::size_of::<Option<Conn>>();
        let index_entry = std::mem::size_of::<(u32, u32)>() + 1;
        let timer_entry = std::mem::size_of::<(Instant, u32)>();
        self.slots.capacity() * slot
            + self.index.capacity() * index_entry
            + self.timers.len * timer_entry
            + self.free.len() * 8
    }
}

/// `ip_vs_bind_dest`: count a new entry on its dest.
#[inline]
pub(crate) fn bind(c: &Conn, dests: &mut DestTable) {
    let mut d = dests.get_mut(c.dest);
    if c.template {
        d.persistconns += 1;
    } else if c.inactive {
        d.inactconns += 1;
    } else {
        d.activeconns += 1;
    }
    d.check_overload_on_bind();
}

/// `ip_vs_unbind_dest`: uncount an entry that goes away.
pub(crate) fn unbind(c: &Conn, dests: &mut DestTable) {
    let mut d = dests.get_mut(c.dest);
    if c.template {
        d.persistconns -= 1;
    } else if c.inactive {
        d.inactconns -= 1;
    } else {
        d.activeconns -= 1;
    }
    d.check_overload_on_unbind();
}

/// `set_tcp_state` / `udp_state_transition`: move the entry and set its timeout; an entry
/// becomes active on entering ESTABLISHED and inactive on leaving it. `row` is the packet's
/// [`tcp_row`] (unused for UDP).
#[inline(always)]
pub(crate) fn set_state(
    c: &mut Conn,
    dir: Direction,
    row: u8,
    timeouts: &TimeoutsNs,
    dests: &mut DestTable,
) {
    match c.protocol {
        ConnProto::Tcp => {
            let mut table = match dir {
                Direction::Input => StateTable::Input,
                Direction::Output => StateTable::Output,
            };
            if c.no_output {
                if dir == Direction::Output {
                    c.no_output = false;
                } else {
                    table = StateTable::InputOnly;
                }
            }
            let new = next_state_in_row(table, row, c.state);
            // The dest is borrowed (and its scheduling record refreshed) only when a counter
            // moves.
            if new != c.state && c.inactive == (new == TcpState::Established) {
                let mut d = dests.get_mut(c.dest);
                if c.inactive {
                    d.activeconns += 1;
                    d.inactconns -= 1;
                    c.inactive = false;
                } else {
                    d.activeconns -= 1;
                    d.inactconns += 1;
                    c.inactive = true;
                }
            }
            c.state = new;
            c.timeout_ns = timeouts.tcp[new as usize];
        }
        ConnProto::Udp => c.timeout_ns = timeouts.udp,
        ConnProto::Ip => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TcpState::*;

    fn f(s: &str) -> TcpFlags {
        TcpFlags {
            syn: s.contains('S'),
            fin: s.contains('F'),
            ack: s.contains('A'),
            rst: s.contains('R'),
        }
    }

    #[test]
    fn state_tables_row_by_row() {
        // (table, flags, from, to) — one line per cell family of §D.3.
        let cases: &[(StateTable, &str, TcpState, TcpState)] = &[
            (StateTable::Input, "S", None, SynRecv),
            (StateTable::Input, "S", Established, Established),
            (StateTable::Input, "F", Established, CloseWait),
            (StateTable::Input, "F", SynRecv, TimeWait),
            (StateTable::Input, "A", SynRecv, Established),
            (StateTable::Input, "A", LastAck, Close),
            (StateTable::Input, "R", SynRecv, SynRecv),
            (StateTable::Input, "R", Synack, SynRecv),
            (StateTable::Output, "S", None, SynSent),
            (StateTable::Output, "SA", SynRecv, SynRecv), // SYN wins over ACK
            (StateTable::Output, "F", Established, FinWait),
            (StateTable::Output, "F", CloseWait, TimeWait),
            (StateTable::Output, "A", Listen, Established),
            (StateTable::Output, "R", TimeWait, TimeWait),
            (StateTable::InputOnly, "F", Established, FinWait),
            (StateTable::InputOnly, "FA", Established, FinWait), // FIN wins over ACK
            (StateTable::InputOnly, "A", FinWait, FinWait),
            (StateTable::InputOnly, "R", Established, Close),
            (StateTable::InputOnly, "RS", None, Close), // RST wins over SYN
            (StateTable::InputOnly, "R", Synack, Close),
            (StateTable::InputOnly, "", Established, Close), // no flag at all
        ];
        for &(t, fl, from, to) in cases {
            assert_eq!(tcp_next_state(t, f(fl), from), to, "{t:?} {fl} {from:?}");
        }
    }

    #[test]
    fn an_entry_is_64_bytes() {
        // One cache line per entry; 1 M entries' slots take 64 MB.
        assert_eq!(std::mem::size_of::<Option<Conn>>(), 64);
    }

    #[test]
    fn row_lookup_matches_the_decision_chain() {
        // RST over SYN over FIN over ACK; none of them: CLOSE whatever the state.
        for b in 0..=255u8 {
            let fl = TcpFlags::from_bits(b);
            let want = if fl.rst {
                3
            } else if fl.syn {
                0
            } else if fl.fin {
                1
            } else if fl.ack {
                2
            } else {
                NO_ROW
            };
            assert_eq!(tcp_row(b), want, "flag byte {b:#04x}");
            assert_eq!(fl.row(), want);
        }
        for t in [StateTable::Input, StateTable::Output, StateTable::InputOnly] {
            for st in TcpState::ALL {
                assert_eq!(tcp_next_state(t, TcpFlags::default(), st), Close);
            }
        }
    }

    #[test]
    fn full_tables_match_the_reference_text() {
        // §D.3 verbatim, parsed, against the const tables.
        let text = "\
INPUT      syn: SR ES ES SR SR SR SR SR SR SR SR   fin: CL CW SS TW TW TW CL CW LA LI TW
           ack: ES ES SS ES FW TW CL CW CL LI ES   rst: CL CL CL SR CL CL CL CL LA LI SR
OUTPUT     syn: SS ES SS SR SS SS SS SS SS LI SR   fin: TW FW SS TW FW TW CL TW LA LI TW
           ack: ES ES SS ES FW TW CL CW LA ES ES   rst: CL CL SS CL CL TW CL CL CL CL CL
INPUT_ONLY syn: SR ES ES SR SR SR SR SR SR SR SR   fin: CL FW SS TW FW TW CL CW LA LI TW
           ack: ES ES SS ES FW TW CL CW CL LI ES   rst: CL CL CL SR CL CL CL CL LA LI CL";
        let abbrev = [
            "NO", "ES", "SS", "SR", "FW", "TW", "CL", "CW", "LA", "LI", "SA",
        ];
        let tables = [StateTable::Input, StateTable::Output, StateTable::InputOnly];
        let mut n = 0;
        for (li, line) in text.lines().enumerate() {
            let table = tables[li / 2];
            // Parse explicitly: "<flag>: 11 states" twice per line.
            let tokens: Vec<&str> = line.split_whitespace().collect();
            let mut i = 0;
            while i < tokens.len() {
                if let Some(flag) = tokens[i].strip_suffix(':') {
                    let fl = match flag {
                        "syn" => "S",
                        "fin" => "F",
                        "ack" => "A",
                        _ => "R",
                    };
                    for col in 0..11 {
                        let want = abbrev
                            .iter()
                            .position(|a| *a == tokens[i + 1 + col])
                            .unwrap();
                        let got = tcp_next_state(table, f(fl), TcpState::ALL[col]);
                        assert_eq!(got as usize, want, "{table:?} {flag} col {col}");
                        n += 1;
                    }
                    i += 12;
                } else {
                    i += 1;
                }
            }
        }
        assert_eq!(n, 3 * 4 * 11);
    }

    #[test]
    fn default_and_set_timeouts() {
        let mut t = Timeouts::default();
        assert_eq!(
            t.listed(),
            (
                Duration::from_secs(900),
                Duration::from_secs(120),
                Duration::from_secs(300)
            )
        );
        assert_eq!(t.tcp_state(SynRecv), Duration::from_secs(60));
        assert_eq!(t.tcp_state(Close), Duration::from_secs(10));
        // E6: --set 30 20 40 changes only ESTABLISHED, FIN_WAIT and UDP.
        t.set(
            Duration::from_secs(30),
            Duration::from_secs(20),
            Duration::from_secs(40),
        );
        assert_eq!(t.tcp_state(Established), Duration::from_secs(30));
        assert_eq!(t.tcp_state(FinWait), Duration::from_secs(20));
        assert_eq!(t.udp, Duration::from_secs(40));
        assert_eq!(t.tcp_state(SynRecv), Duration::from_secs(60));
        assert_eq!(t.tcp_state(Close), Duration::from_secs(10));
        t.set(Duration::ZERO, Duration::ZERO, Duration::from_secs(7));
        assert_eq!(
            t.tcp_state(Established),
            Duration::from_secs(30),
            "0 = unchanged"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The cached earliest timer is always the one a scan of the queues finds (what
        /// `first` and `pop_first` answered before the cache), and a pop takes that one:
        /// arms at `now + timeout` with mixed timeouts (queues created between existing ones),
        /// arms that break a queue's order (the overflow set), duplicates and pops.
        #[test]
        fn timers_cache_their_earliest_entry(
            ops in proptest::collection::vec(
                (0u8..4, proptest::sample::select(vec![10u64, 60, 120, 900, 5]), 0u64..50, 0u32..6),
                1..200,
            ),
        ) {
            let mut t = Timers::default();
            let mut now = Instant::ZERO;
            for (kind, timeout, skew, slot) in ops {
                now += Duration::from_millis(skew);
                match kind {
                    0 => {
                        let want = t.first_source().map(|(_, e)| e);
                        proptest::prop_assert_eq!(t.pop_first(), want);
                    }
                    // Earlier than its queue's back: into the overflow set.
                    1 => t.arm(Instant::ZERO + Duration::from_millis(skew), timeout, slot),
                    _ => t.arm(now + Duration::from_secs(timeout), timeout, slot),
                }
                proptest::prop_assert_eq!(t.head, t.first_source());
                proptest::prop_assert_eq!(t.first(), t.first_source().map(|(_, e)| e));
            }
        }

        /// Slots are reused lowest first, as with an ordered set of free slots.
        #[test]
        fn free_slots_are_reused_lowest_first(
            ops in proptest::collection::vec((any_bool(), 0usize..64), 1..300),
        ) {
            let mut table = ConnTable::default();
            let mut free: BTreeSet<u32> = BTreeSet::new();
            let mut live: Vec<ConnId> = Vec::new();
            let mut next_slot = 0u32;
            for (n, (add, pick)) in ops.into_iter().enumerate() {
                if add || live.is_empty() {
                    let id = table.insert(Instant::ZERO, NewConn {
                        protocol: ConnProto::Tcp,
                        caddr: Ipv4Addr::new(10, 0, (n >> 8) as u8, n as u8),
                        cport: 1000,
                        vaddr: Ipv4Addr::new(10, 0, 0, 200),
                        vport: 80,
                        daddr: Ipv4Addr::new(10, 0, 0, 102),
                        dport: 80,
                        dest: DestId(0),
                        forward: ForwardMethod::DirectRoute,
                        template: false,
                        timeout: Duration::from_secs(60),
                    });
                    let want = free.pop_first().unwrap_or_else(|| {
                        next_slot += 1;
                        next_slot - 1
                    });
                    proptest::prop_assert_eq!(id, ConnId(want));
                    live.push(id);
                } else {
                    let id = live.swap_remove(pick % live.len());
                    proptest::prop_assert!(table.remove(id).is_some());
                    free.insert(id.0);
                }
            }
        }
    }

    fn any_bool() -> impl proptest::strategy::Strategy<Value = bool> {
        proptest::prelude::any::<bool>()
    }
}
