//! Model-based test: one VRRPv2 [`VrrpInstance`] against a small reference model of
//! keepalived's rules (§B of the behaviour reference), over random sequences of adverts (any
//! priority, right or wrong auth, interval and TTL, source above or below ours), time steps,
//! graceful stops, crashes and starts. After every step the state, the deadline, the adverts
//! and GARPs sent so far and whether the VIPs are held must agree.

use lvs_model::event::VrrpStateName as St;
use lvs_model::time::{Duration, Instant};
use lvs_model::vrrp::{GlobalVrrpConfig, InstanceConfig, InstanceTransmit, RxMeta, VrrpInstance};
use lvs_model::wire::vrrp::{AuthType, MCAST_GROUP4};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use std::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 100);
const S: u64 = 1_000_000_000;

#[derive(Clone, Debug)]
enum Step {
    Advance {
        ms: u64,
    },
    Advert {
        prio: u8,
        src_above: bool,
        auth_ok: bool,
        int_s: u8,
        ttl: u8,
    },
    Stop,
    Crash,
    Start,
}

#[derive(Clone, Debug)]
struct Model {
    prio: u8,
    nopreempt: bool,
    now: u64,
    state: St,
    down: Option<u64>,
    advert: Option<u64>,
    garp: Option<u64>,
    garp_lower: Option<u64>,
    vips: bool,
    adverts_sent: u64,
    garps_sent: u64,
}

impl Model {
    /// (256 − p)/256 s.
    fn skew(&self) -> u64 {
        (256 - u64::from(self.prio)) * S / 256
    }
    /// 3 × 1 s + skew.
    fn mdi(&self) -> u64 {
        3 * S + self.skew()
    }
    fn next_deadline(&self) -> Option<u64> {
        [self.down, self.advert, self.garp, self.garp_lower]
            .into_iter()
            .flatten()
            .min()
    }
    fn timeout(&mut self, t: u64) {
        match self.state {
            St::Backup if self.down.is_some_and(|d| d <= t) => {
                self.down = None;
                self.state = St::Master;
                self.adverts_sent += 1;
                self.vips = true;
                self.garps_sent += 5;
                self.advert = Some(t + S);
                self.garp = Some(t + 5 * S);
            }
            St::Master => {
                if self.garp.is_some_and(|d| d <= t) {
                    self.garp = None;
                    self.garps_sent += 5;
                }
                if self.garp_lower.is_some_and(|d| d <= t) {
                    self.garp_lower = None;
                    self.garps_sent += 5;
                }
                if self.advert.is_some_and(|d| d <= t) {
                    self.adverts_sent += 1;
                    self.advert = Some(t + S);
                }
            }
            _ => {}
        }
    }
    fn clear(&mut self) {
        self.down = None;
        self.advert = None;
        self.garp = None;
        self.garp_lower = None;
    }
}

struct Ref;

impl ReferenceStateMachine for Ref {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        (1u8..=254, any::<bool>())
            .prop_map(|(prio, nopreempt)| Model {
                prio,
                nopreempt,
                now: 0,
                state: St::Init,
                down: None,
                advert: None,
                garp: None,
                garp_lower: None,
                vips: false,
                adverts_sent: 0,
                garps_sent: 0,
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        let p = state.prio;
        let prio = prop_oneof![
            Just(0u8),
            Just(p),
            Just(p.saturating_sub(1).max(1)),
            Just(p.saturating_add(1)),
            any::<u8>()
        ];
        prop_oneof![
            4 => (0u64..4_000).prop_map(|ms| Step::Advance { ms }),
            4 => (prio, any::<bool>(), prop::bool::weighted(0.9), prop_oneof![9 => Just(1u8), 1 => 0u8..4],
                  prop_oneof![9 => Just(255u8), 1 => any::<u8>()])
                .prop_map(|(prio, src_above, auth_ok, int_s, ttl)| Step::Advert { prio, src_above, auth_ok, int_s, ttl }),
            1 => Just(Step::Stop),
            1 => Just(Step::Crash),
            2 => Just(Step::Start),
        ]
        .boxed()
    }

    fn apply(mut m: Model, step: &Step) -> Model {
        match *step {
            Step::Advance { ms } => {
                let target = m.now + ms * 1_000_000;
                while let Some(t) = m.next_deadline().filter(|&t| t <= target) {
                    m.timeout(t);
                }
                m.now = target;
            }
            Step::Advert {
                prio,
                src_above,
                auth_ok,
                int_s,
                ttl,
            } => {
                let valid = ttl == 255 && auth_ok && int_s == 1;
                let now = m.now;
                match m.state {
                    St::Backup if valid => {
                        if prio == 0 {
                            m.down = Some(now + m.skew());
                        } else if m.nopreempt || prio >= m.prio {
                            m.down = Some(now + m.mdi());
                        }
                    }
                    St::Master if valid => {
                        if prio == 0 {
                            m.adverts_sent += 1;
                            m.advert = Some(now + S);
                        } else if prio > m.prio || (prio == m.prio && src_above) {
                            m.clear();
                            m.vips = false;
                            m.state = St::Backup;
                            m.down = Some(now + m.mdi());
                        } else {
                            m.adverts_sent += 1;
                            m.advert = Some(now + S);
                            m.garps_sent += 5;
                            m.garp_lower = Some(now + 5 * S);
                        }
                    }
                    _ => {}
                }
            }
            Step::Stop => {
                if matches!(m.state, St::Backup | St::Master) {
                    if m.state == St::Master {
                        m.adverts_sent += 1;
                        m.vips = false;
                    }
                    m.clear();
                    m.state = St::Stop;
                }
            }
            Step::Crash => {
                if matches!(m.state, St::Backup | St::Master) {
                    m.clear();
                    m.state = St::Stop;
                }
            }
            Step::Start => {
                if matches!(m.state, St::Init | St::Stop) {
                    m.vips = false;
                    m.state = St::Backup;
                    m.down = Some(m.now + m.mdi());
                }
            }
        }
        m
    }
}

struct Sut {
    inst: VrrpInstance,
    now: Instant,
    adverts_sent: u64,
    garps_sent: u64,
}

fn cfg(prio: u8, nopreempt: bool) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", "eth1", 51, &GlobalVrrpConfig::default());
    c.priority = prio;
    c.nopreempt = nopreempt;
    c.auth_type = AuthType::Pass;
    c.set_auth_pass(b"1111");
    c.vips = vec![Ipv4Addr::new(192, 168, 80, 200)];
    c
}

impl Sut {
    fn drain(&mut self) {
        while let Some(t) = self.inst.poll_transmit() {
            match t {
                InstanceTransmit::Advert { .. } => self.adverts_sent += 1,
                InstanceTransmit::Garp { .. } => self.garps_sent += 1,
            }
        }
        while self.inst.poll_event().is_some() {}
    }
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Ref;

    fn init_test(m: &Model) -> Sut {
        Sut {
            inst: VrrpInstance::new(cfg(m.prio, m.nopreempt), ME),
            now: Instant::ZERO,
            adverts_sent: 0,
            garps_sent: 0,
        }
    }

    fn apply(mut sut: Sut, m: &Model, step: Step) -> Sut {
        match step {
            Step::Advance { ms } => {
                let target = sut.now + Duration::from_millis(ms);
                while let Some(t) = sut.inst.poll_timeout().filter(|&t| t <= target) {
                    sut.inst.handle_timeout(t);
                    sut.drain();
                }
                sut.now = target;
            }
            Step::Advert {
                prio,
                src_above,
                auth_ok,
                int_s,
                ttl,
            } => {
                let src = if src_above {
                    Ipv4Addr::new(192, 168, 80, 101)
                } else {
                    Ipv4Addr::new(192, 168, 80, 99)
                };
                let mut peer = cfg(m.prio, false);
                if !auth_ok {
                    peer.set_auth_pass(b"9999");
                }
                peer.advert_int = Duration::from_secs(u64::from(int_s));
                let bytes = VrrpInstance::new(peer, src).advert_message(prio, MCAST_GROUP4);
                let rx = RxMeta {
                    src,
                    dst: MCAST_GROUP4,
                    ttl,
                };
                let _ = sut.inst.handle_packet(sut.now, &rx, &bytes);
                sut.drain();
            }
            Step::Stop => {
                if matches!(sut.inst.state(), St::Backup | St::Master) {
                    sut.inst.stop(sut.now);
                }
                sut.drain();
            }
            Step::Crash => {
                if matches!(sut.inst.state(), St::Backup | St::Master) {
                    sut.inst.crash(sut.now);
                }
                sut.drain();
            }
            Step::Start => {
                if matches!(sut.inst.state(), St::Init | St::Stop) {
                    sut.inst.start(sut.now, false);
                }
                sut.drain();
            }
        }
        sut
    }

    fn check_invariants(sut: &Sut, m: &Model) {
        assert_eq!(sut.inst.state(), m.state);
        assert_eq!(sut.now.as_nanos(), m.now);
        assert_eq!(
            sut.inst.poll_timeout().map(|t| t.as_nanos()),
            m.next_deadline()
        );
        assert_eq!(sut.adverts_sent, m.adverts_sent, "adverts sent");
        assert_eq!(sut.garps_sent, m.garps_sent, "GARPs sent");
        assert_eq!(sut.inst.vips_configured(), m.vips, "VIPs held");
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]
    #[test]
    fn vrrp_instance_follows_the_reference_model(sequential 1..60 => Sut);
}
