//! One checker's retry counter and up/down state: keepalived 2.2.7's epilogs, minus the I/O.
//!
//! Each function here takes the result of one attempt and returns the checker-level
//! consequence: whether the checker flipped UP/DOWN, a weight change (`misc_dynamic`) and when
//! the next attempt is due. The real-server and quorum consequences live in
//! [`super::service`]. The three checker types schedule differently, as keepalived does:
//! - TCP_CHECK and HTTP_GET measure the next delay from the end of the attempt;
//! - MISC_CHECK measures it from when the script started (and never less than 1 µs from now).

use super::config::{CheckerKind, EffectiveTiming, MiscCheckConfig};
use crate::time::{Duration, Instant};

/// The smallest delay keepalived's MISC_CHECK re-arms with when the next run is already due.
const MISC_MIN_DELAY: Duration = Duration::from_micros(1);

/// A scripted outcome of one MISC_CHECK run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MiscOutcome {
    /// The script exits with `code` after running for `after`. If `after` reaches the
    /// `misc_timeout`, the run counts as [`MiscOutcome::Hang`].
    Exit { code: u8, after: Duration },
    /// The script does not finish: keepalived's SIGTERM at `misc_timeout` ends it (a failure).
    Hang,
}

impl MiscOutcome {
    /// The script exits at once with `code`.
    pub const fn exit(code: u8) -> Self {
        MiscOutcome::Exit {
            code,
            after: Duration::ZERO,
        }
    }
}

/// How a MISC_CHECK run ended, once its time is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MiscEnd {
    Exited(u8),
    /// Killed by SIGTERM at `misc_timeout` ("timed out").
    Killed,
}

/// A change to the real server's effective weight, applied before any state transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WeightOp {
    /// Through keepalived's `update_svr_wgt`: IPVS is edited and the quorum re-evaluated.
    Update(i64),
    /// Only the stored value changes (keepalived does this when a dynamic MISC_CHECK fails).
    Silent(i64),
}

/// What one attempt led to at the checker level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Epilog {
    /// `Some(up)` when the checker's own state flipped.
    pub transition: Option<bool>,
    pub weight: Option<WeightOp>,
    pub next: Instant,
}

/// Which epilog keepalived's HTTP checker runs (`register_checker_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HttpMethod {
    New,
    Retry,
    Failed,
}

#[derive(Clone, Debug)]
pub(crate) enum Flavor {
    Tcp,
    Http {
        urls: usize,
        /// The url the next attempt fetches (`url_it`); `None` only transiently.
        url_it: Option<usize>,
        failed_url: Option<usize>,
        fast_recovery: bool,
    },
    Misc(MiscState),
}

#[derive(Clone, Debug)]
pub(crate) struct MiscState {
    pub timeout: Duration,
    pub dynamic: bool,
    pub last_exit_code: u8,
    /// This checker's contribution to the real server's effective weight.
    pub cur_weight: i64,
    /// The real server's configured weight (`iweight`).
    pub iweight: i64,
    pub last_ran: Instant,
}

/// One checker's state.
#[derive(Clone, Debug)]
pub(crate) struct CheckerState {
    pub timing: EffectiveTiming,
    pub is_up: bool,
    pub has_run: bool,
    pub retry_it: u32,
    pub flavor: Flavor,
}

impl CheckerState {
    /// The state right after keepalived's config validation: alpha checkers start DOWN, and
    /// `retry_it = retry` so that the first-ever failure is final at once.
    pub fn new(
        kind: &CheckerKind,
        timing: EffectiveTiming,
        vs_delay_loop: Duration,
        iweight: i64,
    ) -> Self {
        let flavor = match kind {
            CheckerKind::Tcp => Flavor::Tcp,
            CheckerKind::Http(h) => Flavor::Http {
                urls: h.urls.len(),
                url_it: if h.urls.is_empty() { None } else { Some(0) },
                failed_url: None,
                fast_recovery: h.fast_recovery,
            },
            CheckerKind::Misc(MiscCheckConfig {
                timeout, dynamic, ..
            }) => Flavor::Misc(MiscState {
                // misc_timeout 0 or unset means the virtual server's delay_loop.
                timeout: timeout.filter(|t| !t.is_zero()).unwrap_or(vs_delay_loop),
                dynamic: *dynamic,
                last_exit_code: 0,
                cur_weight: 0,
                iweight,
                last_ran: Instant::ZERO,
            }),
        };
        CheckerState {
            timing,
            is_up: !timing.alpha,
            has_run: false,
            retry_it: timing.retry,
            flavor,
        }
    }

    /// keepalived's `update_svr_checker_state` as seen by the checker: it has run, and its
    /// state is now `up`. Returns the flip, if any, for the real-server logic.
    fn set_up(&mut self, up: bool) -> Option<bool> {
        self.has_run = true;
        if self.is_up == up {
            None
        } else {
            self.is_up = up;
            Some(up)
        }
    }

    /// `tcp_epilog`: the result of one TCP connect.
    pub fn tcp_result(&mut self, now: Instant, success: bool) -> Epilog {
        let mut transition = None;
        let delay = if success || self.retry_it >= self.timing.retry {
            self.retry_it = 0;
            if success && (!self.is_up || !self.has_run) {
                transition = self.set_up(true);
            } else if !success && (self.is_up || !self.has_run) {
                transition = self.set_up(false);
            }
            // A DOWN checker that keeps failing alternates delay_loop and delay_before_retry,
            // because retry_it still counts up while down (keepalived 2.2.7 tcp_epilog).
            self.timing.delay_loop
        } else {
            self.retry_it += 1;
            self.timing.delay_before_retry
        };
        self.has_run = true;
        Epilog {
            transition,
            weight: None,
            next: now + delay,
        }
    }

    /// The url index the next HTTP attempt fetches.
    pub fn http_url(&self) -> Option<usize> {
        match &self.flavor {
            Flavor::Http { url_it, .. } => *url_it,
            _ => None,
        }
    }

    /// The result of one HTTP GET (`http_handle_response` / `timeout_epilog`).
    pub fn http_result(&mut self, now: Instant, success: bool) -> Epilog {
        let method = if success {
            HttpMethod::New
        } else if self.is_up || !self.has_run {
            self.has_run = true;
            HttpMethod::Retry
        } else {
            // Already known dead: no retry counting.
            HttpMethod::Failed
        };
        self.http_epilog(now, method)
    }

    /// keepalived 2.2.7 `check_http.c` `epilog`.
    fn http_epilog(&mut self, now: Instant, method: HttpMethod) -> Epilog {
        let retry = self.timing.retry;
        let Flavor::Http {
            urls,
            mut url_it,
            mut failed_url,
            fast_recovery,
        } = self.flavor
        else {
            unreachable!("http_epilog on a non-HTTP checker");
        };
        let mut transition = None;
        match method {
            HttpMethod::New => {
                url_it = match url_it {
                    Some(i) if i + 1 < urls => Some(i + 1),
                    _ => None,
                };
                self.retry_it = 0;
            }
            HttpMethod::Retry => self.retry_it += 1,
            HttpMethod::Failed => {}
        }
        if method == HttpMethod::New && url_it.is_none() && failed_url.is_none() {
            // A full pass over every url succeeded.
            if !self.is_up || !self.has_run {
                transition = self.set_up(true);
            }
            url_it = (urls > 0).then_some(0);
            self.retry_it = 0;
        } else if method == HttpMethod::Retry && self.retry_it > retry {
            if self.is_up || !self.has_run {
                transition = self.set_up(false);
            }
            failed_url = url_it;
        } else if method == HttpMethod::New && failed_url.is_some() {
            // The failed url answers again: start over from the first url.
            failed_url = None;
            url_it = (urls > 0).then_some(0);
            self.retry_it = 0;
        }
        let delay = if method == HttpMethod::New {
            if !self.has_run {
                self.retry_it = retry;
            }
            self.timing.delay_loop
        } else if failed_url.is_some() {
            self.timing.delay_before_retry.max(self.timing.delay_loop)
        } else {
            self.timing.delay_before_retry
        };
        let delay = if fast_recovery && (!self.has_run || (!self.is_up && failed_url.is_none())) {
            Duration::ZERO
        } else {
            delay
        };
        self.flavor = Flavor::Http {
            urls,
            url_it,
            failed_url,
            fast_recovery,
        };
        Epilog {
            transition,
            weight: None,
            next: now + delay,
        }
    }

    /// Starts a MISC_CHECK run at `now` that the scenario scripted as `outcome`: when it ends.
    pub fn misc_begin(&mut self, now: Instant, outcome: MiscOutcome) -> (Instant, MiscEnd) {
        let Flavor::Misc(m) = &mut self.flavor else {
            unreachable!("misc_begin on a non-MISC checker");
        };
        m.last_ran = now;
        match outcome {
            MiscOutcome::Exit { code, after } if after < m.timeout => {
                (now + after, MiscEnd::Exited(code))
            }
            _ => (now + m.timeout, MiscEnd::Killed),
        }
    }

    /// keepalived 2.2.7 `misc_check_child_thread`: the script ended.
    pub fn misc_result(&mut self, now: Instant, end: MiscEnd) -> (Epilog, bool) {
        let retry = self.timing.retry;
        let Flavor::Misc(m) = &mut self.flavor else {
            unreachable!("misc_result on a non-MISC checker");
        };
        let mut weight = None;
        let mut want = None;
        let ok = match end {
            MiscEnd::Exited(code) if code == 0 || (m.dynamic && code >= 2) => {
                if code != m.last_exit_code {
                    let new_cur = if code == 0 {
                        0
                    } else {
                        i64::from(code) - 2 - m.iweight
                    };
                    weight = Some(WeightOp::Update(new_cur - m.cur_weight));
                    m.cur_weight = new_cur;
                    m.last_exit_code = code;
                }
                if !self.is_up || !self.has_run {
                    want = Some(true);
                }
                self.retry_it = 0;
                true
            }
            _ => {
                if self.is_up || !self.has_run {
                    if self.retry_it < retry {
                        self.retry_it += 1;
                    } else {
                        self.retry_it = 0;
                        if let MiscEnd::Exited(code) = end {
                            weight = Some(WeightOp::Silent(-m.cur_weight));
                            m.cur_weight = 0;
                            m.last_exit_code = code;
                        }
                        want = Some(false);
                    }
                }
                false
            }
        };
        let delay = if self.retry_it > 0 {
            self.timing.delay_before_retry
        } else {
            self.timing.delay_loop
        };
        let next = (m.last_ran + delay).max(now + MISC_MIN_DELAY);
        if want == Some(false) {
            m.cur_weight = 0;
        }
        let transition = want.and_then(|up| self.set_up(up));
        self.has_run = true;
        (
            Epilog {
                transition,
                weight,
                next,
            },
            ok,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::config::{HttpCheckConfig, UrlCheck};

    fn timing(retry: u32) -> EffectiveTiming {
        EffectiveTiming {
            delay_loop: Duration::from_secs(6),
            connect_timeout: Duration::from_secs(10),
            retry,
            delay_before_retry: Duration::from_secs(3),
            warmup: Duration::ZERO,
            alpha: false,
        }
    }

    fn secs(s: u64) -> Instant {
        Instant::from_secs(s)
    }

    #[test]
    fn tcp_first_ever_failure_is_final_and_down_failures_alternate_d_and_b() {
        let mut c = CheckerState::new(&CheckerKind::Tcp, timing(1), Duration::ZERO, 1);
        // retry_it starts at retry: the first failure marks DOWN and waits delay_loop.
        let e = c.tcp_result(secs(1), false);
        assert_eq!(e.transition, Some(false));
        assert_eq!(e.next, secs(7));
        // While down: a failure at retry_it 0 counts a retry (B) ...
        let e = c.tcp_result(secs(7), false);
        assert_eq!((e.transition, e.next), (None, secs(10)));
        // ... and the next one waits delay_loop again.
        let e = c.tcp_result(secs(10), false);
        assert_eq!((e.transition, e.next), (None, secs(16)));
        let e = c.tcp_result(secs(16), true);
        assert_eq!((e.transition, e.next), (Some(true), secs(22)));
    }

    #[test]
    fn http_single_url_needs_two_successes_to_recover() {
        let kind = CheckerKind::Http(HttpCheckConfig::new(vec![UrlCheck::new("/")]));
        let mut c = CheckerState::new(&kind, timing(1), Duration::ZERO, 1);
        assert_eq!(c.http_result(secs(1), true).transition, None);
        // Up and has run: the first failure is a retry after B.
        let e = c.http_result(secs(7), false);
        assert_eq!((e.transition, e.next), (None, secs(10)));
        let e = c.http_result(secs(10), false);
        // Down; the failed url is re-tried every max(B, D).
        assert_eq!((e.transition, e.next), (Some(false), secs(16)));
        let e = c.http_result(secs(16), true);
        assert_eq!((e.transition, e.next), (None, secs(22)));
        let e = c.http_result(secs(22), true);
        assert_eq!((e.transition, e.next), (Some(true), secs(28)));
    }

    #[test]
    fn misc_next_run_counts_from_script_start() {
        let kind = CheckerKind::Misc(MiscCheckConfig {
            path: "x".into(),
            timeout: Some(Duration::from_secs(2)),
            dynamic: false,
        });
        let mut c = CheckerState::new(&kind, timing(0), Duration::from_secs(6), 1);
        let (end_at, end) = c.misc_begin(secs(1), MiscOutcome::Hang);
        assert_eq!((end_at, end), (secs(3), MiscEnd::Killed));
        let (e, ok) = c.misc_result(end_at, end);
        // Started at 1 s, delay_loop 6 s: next at 7 s although it ended at 3 s.
        assert_eq!((ok, e.transition, e.next), (false, Some(false), secs(7)));
    }
}
