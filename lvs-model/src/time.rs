//! Simulated time: an [`Instant`] is nanoseconds since the start of a run.
//!
//! Nanoseconds because keepalived's timers are exact fractions of a second (the VRRPv2 skew is
//! `(256 - priority)/256` s, e.g. 0.61328125 s) and the lab asserts them exactly. Durations are
//! [`std::time::Duration`], which has the same resolution. smoltcp counts microseconds: use
//! [`Instant::to_smoltcp`] / [`Instant::from_smoltcp_ceil`] at that boundary.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
pub use core::time::Duration;

/// A point in simulated time, in nanoseconds since the run began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    nanos: u64,
}

impl Instant {
    /// The start of the run.
    pub const ZERO: Instant = Instant { nanos: 0 };
    /// Later than any real deadline; used as "never".
    pub const MAX: Instant = Instant { nanos: u64::MAX };

    pub const fn from_nanos(nanos: u64) -> Self {
        Instant { nanos }
    }

    pub const fn from_micros(micros: u64) -> Self {
        Instant {
            nanos: micros.saturating_mul(1_000),
        }
    }

    pub const fn from_millis(millis: u64) -> Self {
        Instant {
            nanos: millis.saturating_mul(1_000_000),
        }
    }

    pub const fn from_secs(secs: u64) -> Self {
        Instant {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// Time since the start of the run.
    pub const fn since_start(self) -> Duration {
        Duration::from_nanos(self.nanos)
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// `self + d`, or `None` past [`Instant::MAX`]. In 64-bit steps: `Duration::as_nanos` is a
    /// 128-bit multiply, and connection timers add a duration on every packet.
    #[inline]
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        let d = d
            .as_secs()
            .checked_mul(1_000_000_000)?
            .checked_add(d.subsec_nanos() as u64)?;
        self.nanos.checked_add(d).map(Instant::from_nanos)
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    #[inline]
    pub fn saturating_add(self, d: Duration) -> Instant {
        self.checked_add(d).unwrap_or(Instant::MAX)
    }

    /// The same instant for smoltcp, truncated to whole microseconds.
    pub fn to_smoltcp(self) -> smoltcp::time::Instant {
        smoltcp::time::Instant::from_micros((self.nanos / 1_000) as i64)
    }

    /// A smoltcp deadline as an [`Instant`], rounded up so the driver never wakes early.
    pub fn from_smoltcp_ceil(t: smoltcp::time::Instant) -> Instant {
        Instant::from_micros(t.total_micros().max(0) as u64)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    #[inline]
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    /// Seconds with nanosecond precision, e.g. `3.613281250s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.nanos / 1_000_000_000,
            self.nanos % 1_000_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_is_exact_in_nanoseconds() {
        // VRRPv2 skew for priority 99: (256 - 99)/256 s = 0.61328125 s exactly.
        let skew = Duration::from_nanos(157 * 1_000_000_000 / 256);
        assert_eq!(Instant::ZERO + skew, Instant::from_nanos(613_281_250));
        assert_eq!((Instant::ZERO + skew).to_string(), "0.613281250s");
    }

    #[test]
    fn smoltcp_round_trip_never_wakes_early() {
        let t = Instant::from_nanos(1_500);
        assert_eq!(t.to_smoltcp().total_micros(), 1);
        assert!(Instant::from_smoltcp_ceil(smoltcp::time::Instant::from_micros(2)) >= t);
    }

    #[test]
    fn checked_add_agrees_with_128_bit_nanoseconds() {
        let reference = |t: Instant, d: Duration| {
            u64::try_from(d.as_nanos())
                .ok()
                .and_then(|d| t.as_nanos().checked_add(d))
                .map(Instant::from_nanos)
        };
        let nanos = [
            0,
            1,
            999_999_999,
            1_000_000_000,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        let secs = [
            0,
            1,
            60,
            900,
            18_446_744_073,
            18_446_744_074,
            u64::MAX / 1_000_000_000 + 1,
            u64::MAX,
        ];
        let subs = [0, 1, 709_551_615, 709_551_616, 999_999_999];
        for &n in &nanos {
            for &s in &secs {
                for &sub in &subs {
                    let (t, d) = (Instant::from_nanos(n), Duration::new(s, sub));
                    assert_eq!(t.checked_add(d), reference(t, d), "{n} + {d:?}");
                }
            }
        }
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Instant::from_secs(1), Duration::ZERO);
    }
}
