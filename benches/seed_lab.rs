//! The seed lab at speed: two directors (the seed keepalived.conf files), .102/.103 as DR real
//! servers, one client at 100 requests/s, 10 simulated minutes with every seed fault
//! (`benches/seed_lab.toml`). The trace records what a plain `lvslab run` records: the event
//! log and the digest over every frame, no pcap (that is kept only when one is written).
//!
//! Besides criterion's figure it prints the ratio of simulated to wall time of one run, and the
//! LAN's counters so a change of workload shows.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lvslab::lab::Lab;
use lvslab::scenario::Scenario;
use sim::trace::TraceConfig;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant as WallInstant;

/// The allocator the `lvslab` binary runs with, so the figure is the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn scenario() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/seed_lab.toml");
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn build(s: &Scenario) -> Lab {
    let trace = TraceConfig {
        pcap: false,
        frame_digest: true,
    };
    Lab::build_with(s.clone(), None, trace).unwrap_or_else(|e| panic!("{e}"))
}

fn seed_lab(c: &mut Criterion) {
    let s = scenario();
    // One run outside criterion: check it did the work, and report the speed-up.
    let lab = build(&s);
    let start = WallInstant::now();
    let (world, out) = lab.run(|_, _| {}).unwrap();
    let wall = start.elapsed();
    let failed: Vec<_> = s
        .evaluate(&out.records)
        .into_iter()
        .filter(|v| !v.passed)
        .map(|v| format!("{}: {}", v.expectation, v.explanation))
        .collect();
    assert!(failed.is_empty(), "the bench lab misbehaves: {failed:?}");
    let simulated = s.duration.as_secs_f64();
    let stats = world.stats();
    println!(
        "seed lab: {simulated:.0} s simulated in {:.3} s wall = {:.0} x real time; \
         {} events, {} frames sent, {} delivered, {} records; digest {}",
        wall.as_secs_f64(),
        simulated / wall.as_secs_f64(),
        stats.events,
        stats.frames_sent,
        stats.frames_delivered,
        out.records.len(),
        world.trace().digest(&out.records),
    );

    let mut g = c.benchmark_group("seed_lab");
    g.sample_size(10);
    g.bench_function("ten_minutes_100_rps_all_faults", |b| {
        b.iter_batched(
            || build(&s),
            |lab| {
                let (world, out) = lab.run(|_, _| {}).unwrap();
                black_box((world.stats().events, out.records.len()))
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, seed_lab);
criterion_main!(benches);
