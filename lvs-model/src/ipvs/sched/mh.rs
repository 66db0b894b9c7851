//! Maglev hashing (`ip_vs_mh.c`): a 4093-slot lookup table (CONFIG_IP_VS_MH_TAB_INDEX 12).
//!
//! Each dest gets a permutation of the slots from two keyed hashes of its address + port
//! (offset, skip); dests take turns, in list order, claiming their next free preferred slot,
//! `turns` slots per round, where turns = (last_weight / gcd) >> rshift (at least 1 for a
//! non-zero weight) and rshift = max(0, fls(max_weight / gcd) − 6). `last_weight` is the last
//! non-zero weight, so a quiesced dest keeps its slots; a lookup landing on it gives no
//! destination unless mh-fallback probes on. The lookup slot is hsiphash(client address
//! [+ source port with mh-port]) mod 4093.
//!
//! The kernel's `hsiphash` is SipHash-1-3 on 64-bit builds (HalfSipHash-1-3 on 32-bit); this is
//! the 64-bit variant, keyed with the kernel's fixed constants, and it reproduces the kernel's
//! own hsiphash self-test vectors. The resulting table has not been compared with a table read
//! from a running kernel (no recording has one).

use super::{DestList, SchedFlags, SchedInput, gcd, usable};
use crate::ipvs::dest::DestId;

/// Slots in the lookup table (a prime).
pub const TAB_SIZE: usize = 4093;
/// `IP_VS_MH_TAB_BITS` = CONFIG_IP_VS_MH_TAB_INDEX / 2.
const TAB_BITS: i32 = 6;

const KEY1: (u64, u64) = (2_654_435_761, 2_654_435_761);
const KEY2: (u64, u64) = (2_654_446_892, 2_654_446_892);

#[derive(Clone, Debug)]
pub struct Mh {
    lookup: Vec<Option<DestId>>,
}

#[inline]
fn sipround(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-c-d of a message shorter than 8 bytes, full 64-bit result.
fn siphash_short(c: usize, d: usize, key: (u64, u64), msg: &[u8]) -> u64 {
    debug_assert!(msg.len() < 8);
    let mut v = [
        0x736f_6d65_7073_6575 ^ key.0,
        0x646f_7261_6e64_6f6d ^ key.1,
        0x6c79_6765_6e65_7261 ^ key.0,
        0x7465_6462_7974_6573 ^ key.1,
    ];
    let mut b = (msg.len() as u64) << 56;
    for (i, &byte) in msg.iter().enumerate() {
        b |= (byte as u64) << (8 * i);
    }
    v[3] ^= b;
    for _ in 0..c {
        sipround(&mut v);
    }
    v[0] ^= b;
    v[2] ^= 0xff;
    for _ in 0..d {
        sipround(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// `ip_vs_mh_hashkey`: hsiphash of the u32 `offset + port + addr` (host order, stored
/// little-endian as on x86-64), truncated to 32 bits.
pub fn hashkey(addr: std::net::Ipv4Addr, port: u16, key: (u64, u64), offset: u32) -> u32 {
    let v = offset
        .wrapping_add(port as u32)
        .wrapping_add(u32::from(addr));
    siphash_short(1, 3, key, &v.to_le_bytes()) as u32
}

impl Mh {
    pub fn new(list: DestList<'_>) -> Self {
        let mut s = Mh {
            lookup: vec![None; TAB_SIZE],
        };
        s.rebuild(list);
        s
    }

    /// `ip_vs_mh_dest_changed`: recompute gcd and shift, then repopulate the table.
    pub fn rebuild(&mut self, list: DestList<'_>) {
        let g = list
            .iter()
            .map(|(_, d)| d.last_weight)
            .filter(|&w| w > 0)
            .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
        if g == 0 || list.ids.len() > TAB_SIZE {
            // No weights at all (or more dests than slots, which the kernel refuses).
            self.lookup.fill(None);
            return;
        }
        let maxw = list.iter().map(|(_, d)| d.last_weight).max().unwrap_or(0);
        let mw = maxw / g;
        let fls = 32 - mw.leading_zeros() as i32;
        let rshift = (fls - TAB_BITS).max(0) as u32;
        struct Setup {
            skip: usize,
            perm: usize,
            turns: u32,
        }
        let mut setup: Vec<Setup> = list
            .iter()
            .map(|(_, d)| {
                let offset = hashkey(d.addr, d.port, KEY1, 0) as usize % TAB_SIZE;
                let skip = hashkey(d.addr, d.port, KEY2, 0) as usize % (TAB_SIZE - 1) + 1;
                let lw = d.last_weight;
                let t = (lw / g) >> rshift;
                Setup {
                    skip,
                    perm: offset,
                    turns: if t > 0 { t } else { u32::from(lw != 0) },
                }
            })
            .collect();
        let mut taken = vec![false; TAB_SIZE];
        let mut n = 0;
        let mut dt_count = 0;
        'fill: loop {
            let mut i = 0;
            while i < setup.len() {
                let ds = &mut setup[i];
                if ds.turns < 1 {
                    i += 1;
                    continue;
                }
                let mut c = ds.perm;
                while taken[c] {
                    ds.perm += ds.skip;
                    if ds.perm >= TAB_SIZE {
                        ds.perm -= TAB_SIZE;
                    }
                    c = ds.perm;
                }
                taken[c] = true;
                self.lookup[c] = Some(list.ids[i]);
                n += 1;
                if n == TAB_SIZE {
                    break 'fill;
                }
                dt_count += 1;
                if dt_count >= ds.turns {
                    dt_count = 0;
                    i += 1;
                }
            }
        }
    }

    /// The dest in slot `i` (for tests and the table dump).
    pub fn slot(&self, i: usize) -> Option<DestId> {
        self.lookup.get(i).copied().flatten()
    }

    pub fn schedule(
        &self,
        list: DestList<'_>,
        flags: SchedFlags,
        input: &SchedInput,
    ) -> Option<DestId> {
        let port = if flags.flag2 { input.sport } else { 0 };
        let ihash = hashkey(input.saddr, port, KEY1, 0) as usize % TAB_SIZE;
        let first = self.lookup[ihash]?;
        if usable(list.dests.get(first)) {
            return Some(first);
        }
        if !flags.flag1 {
            return None;
        }
        for offset in 0..TAB_SIZE {
            let roffset = ((offset + ihash) % TAB_SIZE) as u32;
            let h = hashkey(input.saddr, port, KEY1, roffset) as usize % TAB_SIZE;
            let id = self.lookup[h]?;
            if usable(list.dests.get(id)) {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Fixture, input, ip};
    use super::super::{SchedFlags, SchedState, SchedulerKind};
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn siphash_core_matches_std_siphash24() {
        use std::hash::{Hasher, SipHasher};
        for msg in [&b""[..], b"a", b"abcd", b"abcdefg"] {
            let mut h = SipHasher::new_with_keys(0x0706050403020100, 0x0f0e0d0c0b0a0908);
            h.write(msg);
            assert_eq!(
                siphash_short(2, 4, (0x0706050403020100, 0x0f0e0d0c0b0a0908), msg),
                h.finish()
            );
        }
    }

    #[test]
    fn hsiphash_matches_the_kernel_self_test_vectors() {
        // lib/siphash self-test (64-bit hsiphash): key 00..0f, input bytes 0, 1, …, len − 1.
        let key = (0x0706050403020100, 0x0f0e0d0c0b0a0908);
        let want: [u32; 8] = [
            0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67, 0xc59f22a7,
            0x9bb11140,
        ];
        for (len, w) in want.iter().enumerate() {
            let msg: Vec<u8> = (0..len as u8).collect();
            assert_eq!(siphash_short(1, 3, key, &msg) as u32, *w, "len {len}");
        }
    }

    fn counts(f: &Fixture) -> std::collections::BTreeMap<u8, usize> {
        let SchedState::Mh(s) = &f.sched else {
            unreachable!()
        };
        let mut m = std::collections::BTreeMap::new();
        for i in 0..TAB_SIZE {
            let d = s.slot(i).expect("table is full");
            *m.entry(f.dests.get(d).addr.octets()[3]).or_insert(0) += 1;
        }
        m
    }

    #[test]
    fn table_is_full_and_weighted() {
        let f = Fixture::build(SchedulerKind::Mh, &[(102, 1), (103, 1), (104, 2)]);
        let c = counts(&f);
        assert_eq!(c.values().sum::<usize>(), TAB_SIZE);
        // Turns 1:1:2 per round: 104 holds about half the slots.
        assert!((1900..=2200).contains(&c[&104]), "{c:?}");
    }

    #[test]
    fn quiesced_dest_keeps_its_slots_and_fallback_finds_another() {
        let mut f = Fixture::build(SchedulerKind::Mh, &[(102, 1), (103, 1)]);
        let before = counts(&f);
        let client = ip(77);
        let first = f
            .pick_with(&input(client, 1), SchedFlags::default())
            .unwrap();
        f.set_weight(first, 0);
        assert_eq!(counts(&f), before, "last_weight keeps the table");
        assert_eq!(f.pick_with(&input(client, 1), SchedFlags::default()), None);
        let other = if first == 102 { 103 } else { 102 };
        assert_eq!(
            f.pick_with(&input(client, 1), SchedFlags::default().fallback()),
            Some(other)
        );
    }

    #[test]
    fn removing_a_dest_moves_only_its_slots() {
        let mut f = Fixture::build(SchedulerKind::Mh, &[(102, 1), (103, 1), (104, 1)]);
        let snap = |f: &Fixture| -> Vec<u8> {
            let SchedState::Mh(s) = &f.sched else {
                unreachable!()
            };
            (0..TAB_SIZE)
                .map(|i| f.dests.get(s.slot(i).unwrap()).addr.octets()[3])
                .collect()
        };
        let a = snap(&f);
        f.remove(103);
        let b = snap(&f);
        let moved_other = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| **x != 103 && x != y)
            .count();
        // Maglev's minimal disruption: few slots of surviving dests move.
        assert!(moved_other < TAB_SIZE / 10, "{moved_other}");
        assert!(!b.contains(&103));
    }
}
