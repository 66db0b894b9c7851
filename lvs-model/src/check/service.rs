//! Per-virtual-server consequences of checker state: which destinations IPVS holds.
//!
//! This is keepalived 2.2.7's `ipwrapper.c` (`init_service_vs`, `perform_svr_state`,
//! `update_quorum_state`, `update_svr_wgt`, `clear_service_vs`) and the `inhibit`/`set`
//! bookkeeping of `ipvswrapper.c`'s `ipvs_cmd`, producing [`DestAction`]s instead of netlink
//! commands. A real server is *alive* only when none of its checkers is DOWN. A command the
//! kernel would reject (adding a destination that is there, deleting one that is not) is not
//! emitted: it would change nothing.

use super::config::VirtualServerCheckConfig;
use crate::event::{DestChange, Event};
use std::collections::VecDeque;
use std::net::SocketAddrV4;

/// keepalived's `IPVS_WEIGHT_LIMIT` (INT32_MAX): effective weights are clamped to 0..=this.
const IPVS_WEIGHT_LIMIT: i64 = i32::MAX as i64;

/// A change for the director to apply to its IPVS table (and log as `ipvs.dest`).
///
/// `vs` is the index of the virtual server in the configuration given to
/// [`super::Checkers::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestAction {
    /// Create the virtual service (keepalived does this at start, before any destination).
    AddService { vs: usize },
    /// Add a destination with this weight.
    Add {
        vs: usize,
        rs: SocketAddrV4,
        weight: u32,
    },
    /// Edit a present destination's weight (`inhibit_on_failure`, `misc_dynamic`).
    SetWeight {
        vs: usize,
        rs: SocketAddrV4,
        weight: u32,
    },
    /// Delete a destination.
    Remove { vs: usize, rs: SocketAddrV4 },
    /// Delete the virtual service (on stop, after its destinations).
    RemoveService { vs: usize },
}

impl DestAction {
    /// The `ipvs.dest` event the director logs once it has applied this action, with `vs`
    /// named by the caller (service-level actions have none). `rs` is `ip:port`.
    pub fn ipvs_event(&self, vs_name: &str) -> Option<Event> {
        let (rs, change, weight) = match *self {
            DestAction::Add { rs, weight, .. } => (rs, DestChange::Added, weight),
            DestAction::SetWeight { rs, weight, .. } => (rs, DestChange::Weight, weight),
            DestAction::Remove { rs, .. } => (rs, DestChange::Removed, 0),
            DestAction::AddService { .. } | DestAction::RemoveService { .. } => return None,
        };
        Some(Event::IpvsDest {
            vs: vs_name.to_string(),
            rs: rs.to_string(),
            change,
            weight,
        })
    }

    /// The virtual server (index into the configuration) this action is for.
    pub fn vs(&self) -> usize {
        match *self {
            DestAction::AddService { vs }
            | DestAction::Add { vs, .. }
            | DestAction::SetWeight { vs, .. }
            | DestAction::Remove { vs, .. }
            | DestAction::RemoveService { vs } => vs,
        }
    }
}

/// keepalived's notifications (notify scripts, FIFO, SMTP), as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notification {
    QuorumUp { vs: usize },
    QuorumDown { vs: usize },
    RealServerUp { vs: usize, rs: SocketAddrV4 },
    RealServerDown { vs: usize, rs: SocketAddrV4 },
}

/// Output queues shared by every virtual server of one checker process.
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    pub dest_actions: VecDeque<DestAction>,
    pub notifications: VecDeque<Notification>,
}

/// One destination as keepalived tracks it.
#[derive(Clone, Debug)]
pub(crate) struct DestState {
    pub addr: SocketAddrV4,
    pub effective_weight: i64,
    pub inhibit: bool,
    /// Counted as up (all checkers up, or it is the sorry server in use).
    pub alive: bool,
    /// Present in IPVS (possibly at weight 0 when inhibited).
    pub set: bool,
    pub num_failed_checkers: u32,
}

impl DestState {
    fn real_weight(&self) -> u32 {
        self.effective_weight.clamp(0, IPVS_WEIGHT_LIMIT) as u32
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Add,
    Del,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Rs(usize),
    Sorry,
}

/// One virtual server's pool and quorum.
#[derive(Clone, Debug)]
pub(crate) struct ServiceState {
    pub index: usize,
    pub quorum: i64,
    pub hysteresis: i64,
    pub quorum_up: bool,
    pub omega: bool,
    pub sorry: Option<DestState>,
    pub rs: Vec<DestState>,
}

impl ServiceState {
    /// The state after config validation: nothing alive yet; alpha checkers count as failed.
    pub fn new(index: usize, cfg: &VirtualServerCheckConfig) -> Self {
        let rs = cfg
            .real_servers
            .iter()
            .map(|r| {
                let alpha_checkers = r
                    .checkers
                    .iter()
                    .filter(|c| c.effective(r, cfg).alpha)
                    .count();
                DestState {
                    addr: r.addr,
                    effective_weight: i64::from(r.weight),
                    inhibit: r.inhibit_on_failure.unwrap_or(cfg.inhibit_on_failure),
                    alive: false,
                    set: false,
                    num_failed_checkers: alpha_checkers as u32,
                }
            })
            .collect();
        let sorry = cfg.sorry_server.as_ref().map(|s| DestState {
            addr: s.addr,
            effective_weight: 1,
            inhibit: s.inhibit,
            alive: false,
            set: false,
            num_failed_checkers: 0,
        });
        let mut svc = ServiceState {
            index,
            quorum: i64::from(cfg.quorum),
            hysteresis: i64::from(cfg.hysteresis),
            quorum_up: true,
            omega: cfg.omega,
            sorry,
            rs,
        };
        // set_quorum_states() at the end of config validation, with nothing alive yet.
        svc.quorum_up = svc.weigh_live_realservers() >= svc.quorum + svc.hysteresis;
        svc
    }

    fn dest(&mut self, who: Who) -> &mut DestState {
        match who {
            Who::Rs(i) => &mut self.rs[i],
            Who::Sorry => self.sorry.as_mut().expect("sorry server configured"),
        }
    }

    fn sorry_alive(&self) -> bool {
        self.sorry.as_ref().is_some_and(|s| s.alive)
    }

    /// `weigh_live_realservers`: the summed effective weight of the alive real servers.
    pub fn weigh_live_realservers(&self) -> i64 {
        self.rs
            .iter()
            .filter(|r| r.alive)
            .map(|r| i64::from(r.real_weight()))
            .sum()
    }

    /// `ipvs_cmd` for a destination, with keepalived's inhibit and `set` rules.
    fn ipvs_cmd(&mut self, cmd: Cmd, who: Who, out: &mut Outputs) {
        let vs = self.index;
        let d = self.dest(who);
        let rs = d.addr;
        let weight = d.real_weight();
        let action = match cmd {
            Cmd::Del if d.inhibit => d.set.then_some(DestAction::SetWeight { vs, rs, weight: 0 }),
            Cmd::Add if d.inhibit && d.set => Some(DestAction::SetWeight { vs, rs, weight }),
            Cmd::Add if !d.set => {
                d.set = true;
                let weight = if d.inhibit && d.num_failed_checkers > 0 {
                    0
                } else {
                    weight
                };
                Some(DestAction::Add { vs, rs, weight })
            }
            Cmd::Del if d.set => {
                d.set = false;
                Some(DestAction::Remove { vs, rs })
            }
            // The kernel would answer EEXIST / ENOENT: nothing changes.
            Cmd::Add | Cmd::Del => None,
        };
        out.dest_actions.extend(action);
    }

    /// `init_service_vs`: create the service and its initial pool (keepalived start).
    pub fn init(&mut self, out: &mut Outputs) {
        out.dest_actions
            .push_back(DestAction::AddService { vs: self.index });
        for i in 0..self.rs.len() {
            let d = &self.rs[i];
            if (d.num_failed_checkers == 0 && !d.alive) || (d.inhibit && !d.set) {
                self.ipvs_cmd(Cmd::Add, Who::Rs(i), out);
                if self.rs[i].num_failed_checkers == 0 {
                    self.rs[i].alive = true;
                }
            }
        }
        self.update_quorum_state(true, out);
        if let Some(s) = &self.sorry
            && s.inhibit
            && !s.set
        {
            // Installed at weight 0 from the start (keepalived fakes a failed checker for it).
            self.dest(Who::Sorry).num_failed_checkers = 1;
            self.ipvs_cmd(Cmd::Add, Who::Sorry, out);
            self.dest(Who::Sorry).num_failed_checkers = 0;
        }
    }

    /// `perform_quorum_state`: add or remove every alive real server.
    fn perform_quorum_state(&mut self, add: bool, out: &mut Outputs) {
        for i in 0..self.rs.len() {
            if self.rs[i].alive {
                let cmd = if add { Cmd::Add } else { Cmd::Del };
                self.ipvs_cmd(cmd, Who::Rs(i), out);
            }
        }
    }

    /// `update_quorum_state`, with keepalived's hysteresis on both edges.
    pub fn update_quorum_state(&mut self, init: bool, out: &mut Outputs) {
        let weight_sum = self.weigh_live_realservers();
        let threshold = if self.quorum_up {
            self.quorum - self.hysteresis
        } else {
            self.quorum + self.hysteresis
        };
        let vs = self.index;
        if !self.quorum_up && weight_sum >= threshold {
            self.quorum_up = true;
            if self.sorry_alive() {
                self.ipvs_cmd(Cmd::Del, Who::Sorry, out);
                self.dest(Who::Sorry).alive = false;
                self.perform_quorum_state(true, out);
            }
            out.notifications.push_back(Notification::QuorumUp { vs });
        } else if (self.quorum_up && (weight_sum == 0 || weight_sum < threshold))
            || (init && !self.quorum_up && self.sorry.is_some() && !self.sorry_alive())
        {
            self.quorum_up = false;
            if self.sorry.is_some() && !self.sorry_alive() {
                self.perform_quorum_state(false, out);
                self.ipvs_cmd(Cmd::Add, Who::Sorry, out);
                self.dest(Who::Sorry).alive = true;
            }
            out.notifications.push_back(Notification::QuorumDown { vs });
        }
    }

    /// `perform_svr_state`: a real server becomes alive or dead.
    fn perform_svr_state(&mut self, i: usize, alive: bool, out: &mut Outputs) {
        if self.rs[i].alive == alive {
            return;
        }
        // IPVS is left alone while the sorry server stands in for the pool.
        if self.quorum_up || !self.sorry_alive() {
            let cmd = if alive { Cmd::Add } else { Cmd::Del };
            self.ipvs_cmd(cmd, Who::Rs(i), out);
        }
        self.rs[i].alive = alive;
        let (vs, rs) = (self.index, self.rs[i].addr);
        out.notifications.push_back(if alive {
            Notification::RealServerUp { vs, rs }
        } else {
            Notification::RealServerDown { vs, rs }
        });
        self.update_quorum_state(false, out);
    }

    /// `update_svr_checker_state` after one checker of real server `i` flipped to `up`.
    pub fn checker_flipped(&mut self, i: usize, up: bool, out: &mut Outputs) {
        if up {
            if self.rs[i].num_failed_checkers <= 1 {
                self.perform_svr_state(i, true, out);
            }
            let d = &mut self.rs[i];
            d.num_failed_checkers = d.num_failed_checkers.saturating_sub(1);
        } else {
            if self.rs[i].num_failed_checkers == 0 {
                self.perform_svr_state(i, false, out);
            }
            self.rs[i].num_failed_checkers += 1;
        }
    }

    /// `update_svr_wgt`: a new effective weight for real server `i`.
    pub fn update_svr_wgt(&mut self, i: usize, weight: i64, out: &mut Outputs) {
        let old = self.rs[i].real_weight();
        self.rs[i].effective_weight = weight;
        let new = self.rs[i].real_weight();
        if new != old {
            let d = &self.rs[i];
            if d.set && d.alive && (self.quorum_up || !self.sorry_alive()) {
                out.dest_actions.push_back(DestAction::SetWeight {
                    vs: self.index,
                    rs: d.addr,
                    weight: new,
                });
            }
            self.update_quorum_state(false, out);
        }
    }

    /// `clear_service_vs` on shutdown (keepalived's default, no `lvs_flush_onstop`).
    pub fn shutdown(&mut self, out: &mut Outputs) {
        let vs = self.index;
        if self.sorry.as_ref().is_some_and(|s| s.set) {
            self.remove_forced(Who::Sorry, out);
            self.dest(Who::Sorry).alive = false;
        }
        for i in 0..self.rs.len() {
            if !self.rs[i].set {
                continue;
            }
            self.remove_forced(Who::Rs(i), out);
            if self.rs[i].alive {
                self.rs[i].alive = false;
                if self.omega {
                    let rs = self.rs[i].addr;
                    out.notifications
                        .push_back(Notification::RealServerDown { vs, rs });
                }
            }
        }
        self.quorum_up = false;
        if self.omega {
            out.notifications.push_back(Notification::QuorumDown { vs });
        }
        out.dest_actions.push_back(DestAction::RemoveService { vs });
    }

    /// A real delete even with `inhibit_on_failure` (keepalived clears the flag around it).
    fn remove_forced(&mut self, who: Who, out: &mut Outputs) {
        let saved = self.dest(who).inhibit;
        self.dest(who).inhibit = false;
        self.ipvs_cmd(Cmd::Del, who, out);
        self.dest(who).inhibit = saved;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dest_actions_map_to_ipvs_dest_events() {
        let rs: SocketAddrV4 = "192.168.80.102:80".parse().unwrap();
        let ev = DestAction::Remove { vs: 0, rs }.ipvs_event("192.168.80.200:80");
        assert_eq!(
            ev,
            Some(Event::IpvsDest {
                vs: "192.168.80.200:80".into(),
                rs: "192.168.80.102:80".into(),
                change: DestChange::Removed,
                weight: 0,
            })
        );
        let ev = DestAction::SetWeight {
            vs: 1,
            rs,
            weight: 3,
        }
        .ipvs_event("x");
        assert!(matches!(
            ev,
            Some(Event::IpvsDest {
                change: DestChange::Weight,
                weight: 3,
                ..
            })
        ));
        assert_eq!(DestAction::AddService { vs: 2 }.ipvs_event("x"), None);
        assert_eq!(DestAction::RemoveService { vs: 2 }.vs(), 2);
    }
}
