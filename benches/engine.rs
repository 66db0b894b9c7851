//! Engine benchmarks: raw event throughput of the queue, and frames per second across one
//! switch hop of the virtual LAN (host → link → switch → link → host).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lvs_model::event::Event;
use lvs_model::node::{ControlError, Node, PortId, ProcessAction, Transmit};
use lvs_model::time::{Duration, Instant};
use sim::queue::EventQueue;
use sim::trace::TraceConfig;
use sim::{Attach, HostSpec, LanBuilder, LinkConfig, SwitchConfig};
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

fn switch_hop(c: &mut Criterion) {
    // 10 frames per µs for 1 ms of simulated time: 10,000 frames, each crossing a switch.
    const FRAMES: u64 = 10_000;
    let mut g = c.benchmark_group("lan");
    g.throughput(Throughput::Elements(FRAMES));
    g.bench_function("frame_across_switch_hop", |b| {
        b.iter_batched(
            || {
                let mac = |n: u8| [2, 0, 0, 0, 0, n];
                let mut frame = vec![0u8; 60];
                frame[0..6].copy_from_slice(&mac(2));
                frame[6..12].copy_from_slice(&mac(1));
                let mut lan = LanBuilder::new(1).trace(TraceConfig {
                    pcap: false,
                    frame_digest: false,
                });
                let sw = lan.add_switch("sw", SwitchConfig::default()).unwrap();
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
                lan.connect(
                    Attach::Host(a, 0),
                    Attach::Switch(sw),
                    LinkConfig::default(),
                )
                .unwrap();
                lan.connect(
                    Attach::Host(b, 0),
                    Attach::Switch(sw),
                    LinkConfig::default(),
                )
                .unwrap();
                lan.build().unwrap()
            },
            |mut w| {
                // The last burst leaves at 999 µs and lands 100 µs later.
                w.run_until(Instant::from_micros(1099)).unwrap();
                assert_eq!(w.stats().frames_delivered, FRAMES);
                black_box(w.stats().events)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, queue, switch_hop);
criterion_main!(benches);
