//! `vrrp_script` result tracking with keepalived's rise/fall counter.
//!
//! The counter runs from 0 to `rise + fall - 1`; the script is good when it is ≥ `rise`.
//! A success climbs by one below `rise - 1` and otherwise jumps to the top; a failure drops by
//! one above `rise` and otherwise falls to 0. So `fall` consecutive failures make a good script
//! bad and `rise` consecutive successes make a bad one good. The very first result decides
//! outright, whatever rise/fall say.

use super::config::ScriptConfig;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptState {
    name: String,
    rise: u32,
    fall: u32,
    init_fail: bool,
    /// `None` until the first result (unless `init_fail`).
    counter: Option<u32>,
}

impl ScriptState {
    pub fn new(cfg: &ScriptConfig) -> Self {
        let mut s = ScriptState {
            name: cfg.name.clone(),
            rise: cfg.rise.max(1),
            fall: cfg.fall.max(1),
            init_fail: cfg.init_fail,
            counter: None,
        };
        s.reset();
        s
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Back to the state of a freshly started process.
    pub fn reset(&mut self) {
        self.counter = if self.init_fail { Some(0) } else { None };
    }

    fn top(&self) -> u32 {
        self.rise + self.fall - 1
    }

    pub fn record(&mut self, ok: bool) {
        let top = self.top();
        let next = match (self.counter, ok) {
            (None, true) => top,
            (None, false) => 0,
            (Some(c), true) if c + 1 < self.rise => c + 1,
            (Some(_), true) => top,
            (Some(c), false) if c > self.rise => c - 1,
            (Some(_), false) => 0,
        };
        self.counter = Some(next);
    }

    /// `Some(good)` once the script has reported (or `init_fail`), else `None`.
    pub fn result(&self) -> Option<bool> {
        self.counter.map(|c| c >= self.rise)
    }

    /// Good for FAULT purposes: a script that has not reported yet is not good.
    pub fn is_good(&self) -> bool {
        self.result() == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(rise: u32, fall: u32) -> ScriptState {
        let mut c = ScriptConfig::new("chk");
        c.rise = rise;
        c.fall = fall;
        ScriptState::new(&c)
    }

    #[test]
    fn fall_failures_make_it_bad_and_rise_successes_make_it_good() {
        let mut s = script(2, 3);
        assert_eq!(s.result(), None);
        s.record(true);
        assert_eq!(s.result(), Some(true), "the first result decides outright");
        s.record(false);
        s.record(false);
        assert_eq!(s.result(), Some(true), "two of three failures");
        s.record(false);
        assert_eq!(s.result(), Some(false));
        s.record(true);
        assert_eq!(s.result(), Some(false), "one of two successes");
        s.record(true);
        assert_eq!(s.result(), Some(true));
    }

    #[test]
    fn first_failure_is_bad_and_init_fail_starts_bad() {
        let mut s = script(3, 3);
        s.record(false);
        assert_eq!(s.result(), Some(false));
        let mut c = ScriptConfig::new("x");
        c.init_fail = true;
        assert_eq!(ScriptState::new(&c).result(), Some(false));
    }
}
