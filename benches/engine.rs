//! Engine benchmarks: raw event throughput of the queue, and frames per second across one
//! switch hop of the virtual LAN (host → link → switch → link → host), the marginal cost of a
//! second switch hop, and the hop's parts alone (switch decision, link transmission).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lvs_model::event::Event;
use lvs_model::node::{ControlError, Node, PortId, ProcessAction, Transmit};
use lvs_model::time::{Duration, Instant};
use sim::lan::{Endpoint, Forward, Link, Switch};
use sim::queue::EventQueue;
use sim::rng::SeedTree;
use sim::trace::TraceConfig;
use sim::{Attach, ElementId, HostSpec, LanBuilder, LinkConfig, SwitchConfig, World};
use std::hint::black_box;
use std::net::Ipv4Addr;

/// Empty events through the queue in the "hold" pattern of a running simulation: pop the
/// earliest, schedule a successor a pseudo-random delay later, with 1,000 events pending.
fn queue(c: &mut Criterion) {
    const N: u64 = 100_000;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(N));
    g.bench_function("empty_events_hold_1000_pending", |b| {
        b.iter_batched(
            || {
                let mut q = EventQueue::new();
                for i in 0..1000u64 {
                    q.push(Instant::from_nanos(i * 7919 % 1000), ());
                }
                q
            },
            |mut q| {
                let mut x: u64 = 1;
                for _ in 0..N {
                    let (t, ()) = q.pop().unwrap();
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    q.push(t + Duration::from_nanos(x >> 54), ());
                }
                black_box(q.len())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Sends `burst` frames to its peer at every tick of 1 µs; ignores what it receives.
struct Blaster {
    frame: Vec<u8>,
    burst: usize,
    pending: usize,
    next: Instant,
}

impl Node for Blaster {
    fn handle_frame(&mut self, _: Instant, _: PortId, frame: &[u8]) {
        black_box(frame.len());
    }
    fn handle_timeout(&mut self, now: Instant) {
        if now >= self.next {
            self.pending = self.burst;
            self.next = now + Duration::from_micros(1);
        }
    }
    fn control(&mut self, _: Instant, p: &str, _: ProcessAction) -> Result<(), ControlError> {
        Err(ControlError::NoSuchProcess(p.into(), "none".into()))
    }
    fn processes(&self) -> &[&'static str] {
        &[]
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.pending == 0 {
            return None;
        }
        self.pending -= 1;
        Some(Transmit {
            port: PortId(0),
            frame: self.frame.clone(),
        })
    }
    fn poll_event(&mut self) -> Option<Event> {
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        (self.burst > 0).then_some(self.next)
    }
}

/// Host a → `switches` learning switches in a chain → host b; a sends 10 frames per µs for
/// 1 ms of simulated time (10,000 frames), b only receives. As b never sends, the switches
/// never learn it and flood each frame — with two ports per switch, one copy, as a known
/// unicast would be.
fn chain(switches: usize) -> World {
    let mac = |n: u8| [2, 0, 0, 0, 0, n];
    let mut frame = vec![0u8; 60];
    frame[0..6].copy_from_slice(&mac(2));
    frame[6..12].copy_from_slice(&mac(1));
    let mut lan = LanBuilder::new(1).trace(TraceConfig {
        pcap: false,
        frame_digest: false,
    });
    let sws: Vec<_> = (0..switches)
        .map(|i| {
            lan.add_switch(&format!("sw{i}"), SwitchConfig::default())
                .unwrap()
        })
        .collect();
    let spec = |n: u8| HostSpec {
        name: format!("h{n}"),
        macs: vec![mac(n)],
        ips: vec![Ipv4Addr::new(10, 0, 0, n)],
    };
    let a = lan
        .add_host(
            spec(1),
            Box::new(Blaster {
                frame,
                burst: 10,
                pending: 0,
                next: Instant::ZERO,
            }),
        )
        .unwrap();
    let b = lan
        .add_host(
            spec(2),
            Box::new(Blaster {
                frame: vec![],
                burst: 0,
                pending: 0,
                next: Instant::MAX,
            }),
        )
        .unwrap();
    let link = LinkConfig::default();
    lan.connect(Attach::Host(a, 0), Attach::Switch(sws[0]), link.clone())
        .unwrap();
    for w in sws.windows(2) {
        lan.connect(Attach::Switch(w[0]), Attach::Switch(w[1]), link.clone())
            .unwrap();
    }
    lan.connect(Attach::Host(b, 0), Attach::Switch(sws[switches - 1]), link)
        .unwrap();
    lan.build().unwrap()
}

/// A frame end to end through one and through two switches: the difference is the marginal
/// cost of one switch hop in the running world (arrival event popped, learning + lookup, link
/// transmit, next arrival event pushed), with the sender's and receiver's fixed costs cancelled.
fn switch_hop(c: &mut Criterion) {
    const FRAMES: u64 = 10_000;
    let mut g = c.benchmark_group("lan");
    g.throughput(Throughput::Elements(FRAMES));
    for (switches, name) in [
        (1, "frame_across_switch_hop"),
        (2, "frame_across_two_switch_hops"),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || chain(switches),
                |mut w| {
                    // The last burst leaves at 999 µs and lands (switches + 1) * 50 µs later.
                    w.run_until(Instant::from_micros(999 + 50 * (switches as u64 + 1)))
                        .unwrap();
                    assert_eq!(w.stats().frames_delivered, FRAMES);
                    black_box(w.stats().events)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// The parts of a hop alone: the switch's decision (learn the source, look up the
/// destination) and one link transmission (latency only, and with rate + queue).
fn hop_parts(c: &mut Criterion) {
    const N: u64 = 10_000;
    let mut g = c.benchmark_group("lan_parts");
    g.throughput(Throughput::Elements(N));
    g.bench_function("switch_forward_known_unicast", |b| {
        let mut sw = Switch::new("sw".into(), SwitchConfig::default());
        let macs: Vec<[u8; 6]> = (0..16u8).map(|n| [2, 0, 0, 0, 0, n]).collect();
        for (port, m) in macs.iter().enumerate() {
            sw.forward(Instant::ZERO, port as u16, &[0xff; 6], m);
        }
        let mut now = Instant::ZERO;
        b.iter(|| {
            let mut out = 0u32;
            for i in 0..N as usize {
                now += Duration::from_nanos(100);
                let (src, dst) = (&macs[i % 16], &macs[(i * 7 + 3) % 16]);
                if let Forward::One(p) = sw.forward(now, (i % 16) as u16, dst, src) {
                    out += p as u32;
                }
            }
            black_box(out)
        })
    });
    let ends = [
        Endpoint {
            element: ElementId::Host(0),
            port: 0,
        },
        Endpoint {
            element: ElementId::Switch(0),
            port: 0,
        },
    ];
    for (name, config) in [
        ("link_transmit_latency_only", LinkConfig::default()),
        (
            "link_transmit_1gbit_queue",
            LinkConfig {
                rate_bps: Some(1_000_000_000),
                ..LinkConfig::default()
            },
        ),
    ] {
        g.bench_function(name, |b| {
            let mut link = Link::new(
                "l".into(),
                ends,
                config.clone(),
                SeedTree::new(1).stream("l"),
            );
            let mut now = Instant::ZERO;
            b.iter(|| {
                let mut last = Instant::ZERO;
                for _ in 0..N {
                    // One frame per µs: the 1 Gbit/s queue never fills.
                    now += Duration::from_micros(1);
                    last = link.transmit(now, 0, 60).unwrap();
                }
                black_box(last)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, queue, switch_hop, hop_parts);
criterion_main!(benches);
