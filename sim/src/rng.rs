//! One seed, many independent named random streams.
//!
//! Every consumer of randomness (a link's jitter and loss, a host's TCP initial sequence
//! numbers, a checker's warm-up draw) takes its own stream, derived from the run's seed and the
//! stream's name by SHA-256. Adding a host or a link therefore never changes the draws of the
//! others — which keeps a scenario's timings stable while it grows.

use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// The run's seed, from which named streams are forked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedTree {
    seed: u64,
}

/// A deterministic random stream (ChaCha12).
pub type Stream = ChaCha12Rng;

impl SeedTree {
    pub fn new(seed: u64) -> Self {
        SeedTree { seed }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The 32-byte key of the stream called `name`.
    fn key(&self, name: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"lvslab-stream-v1\0");
        h.update(self.seed.to_le_bytes());
        h.update(name.as_bytes());
        h.finalize().into()
    }

    /// The stream called `name` (e.g. `"link:client-sw0:a"`, `"host:web-102"`).
    pub fn stream(&self, name: &str) -> Stream {
        ChaCha12Rng::from_seed(self.key(name))
    }

    /// A 64-bit seed for a component that seeds itself (e.g. smoltcp's `random_seed`).
    pub fn seed_for(&self, name: &str) -> u64 {
        self.stream(name).next_u64()
    }
}

/// A draw in `[0, n)`, unbiased (Lemire's method with rejection).
pub fn below(rng: &mut impl Rng, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    loop {
        let m = (rng.next_u64() as u128) * (n as u128);
        let low = m as u64;
        if low >= n.wrapping_neg() % n {
            return (m >> 64) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_independent() {
        let tree = SeedTree::new(1);
        let a1: Vec<u64> = (0..4)
            .map({
                let mut r = tree.stream("host:a");
                move |_| r.next_u64()
            })
            .collect();
        // Taking another stream first does not disturb "host:a".
        let _ = tree.stream("host:b").next_u64();
        let mut r = tree.stream("host:a");
        let a2: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert_eq!(a1, a2);
        assert_ne!(tree.seed_for("host:a"), tree.seed_for("host:b"));
        assert_ne!(SeedTree::new(2).seed_for("host:a"), tree.seed_for("host:a"));
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SeedTree::new(7).stream("x");
        for n in [1, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(below(&mut r, n) < n);
            }
        }
        assert_eq!(below(&mut r, 0), 0);
    }
}
