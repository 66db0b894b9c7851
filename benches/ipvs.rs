//! IPVS benchmarks: DR forwarding on an established connection (copying and in-place calls),
//! a new connection (schedule + insert + forward; copying and in-place calls), wlc/lc picks among 1,000 dests, and the mh table build for 1,000 dests.
//! Memory for 1 M connections is measured by `tests/ipvs_memory.rs` (a counting allocator).

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lvs_model::ipvs::{DestConfig, Ipvs, IpvsConfig, SchedulerKind, ServiceConfig, ServiceKey};
use lvs_model::time::Instant;
use rand_core::SeedableRng;
use smoltcp::wire::{IpAddress, Ipv4Packet, TcpPacket};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 80, 200);

fn tcp(src: Ipv4Addr, sport: u16, syn: bool) -> Vec<u8> {
    let mut b = vec![0u8; 40];
    {
        let mut t = TcpPacket::new_unchecked(&mut b[20..]);
        t.set_src_port(sport);
        t.set_dst_port(80);
        t.set_header_len(20);
        t.clear_flags();
        t.set_syn(syn);
        t.set_ack(!syn);
        t.set_window_len(1000);
        t.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(VIP));
    }
    let mut ip = Ipv4Packet::new_unchecked(&mut b[..]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_total_len(40);
    ip.clear_flags();
    ip.set_dont_frag(true);
    ip.set_hop_limit(64);
    ip.set_next_header(6u8.into());
    ip.set_src_addr(src);
    ip.set_dst_addr(VIP);
    ip.fill_checksum();
    b
}

fn director(kind: SchedulerKind, dests: u32) -> (Ipvs, ServiceKey) {
    let mut ipvs = Ipvs::new(IpvsConfig {
        local_addr: Ipv4Addr::new(192, 168, 80, 100),
        route_mtu: 1500,
    });
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(ServiceConfig::new(key).scheduler(kind))
        .unwrap();
    for i in 0..dests {
        let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 0)) + i);
        ipvs.add_dest(&key, DestConfig::new(a, 80).weight(1 + i % 5))
            .unwrap();
    }
    (ipvs, key)
}

/// `n` SYNs from distinct clients (16,384 ports per address), each a new connection.
fn syns(n: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let src = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + (i >> 14) as u32);
            tcp(src, 1024 + (i & 0x3fff) as u16, true)
        })
        .collect()
}

/// Times `iters` new connections, each a SYN through `forward`; the table (wlc over 2 dests) is
/// rebuilt every 65,536 connections outside the timed part.
fn time_new_connections(
    iters: u64,
    mut forward: impl FnMut(&mut Ipvs, &[u8], &mut rand_chacha::ChaCha8Rng),
) -> StdDuration {
    let mut total = StdDuration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let n = (iters - done).min(65_536);
        let (mut ipvs, _) = director(SchedulerKind::Wlc, 2);
        let pkts = syns(n);
        let mut r = rng();
        let start = StdInstant::now();
        for p in &pkts {
            forward(&mut ipvs, p, &mut r);
        }
        total += start.elapsed();
        done += n;
    }
    total
}

fn rng() -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::from_seed([9; 32])
}

fn forwarding(c: &mut Criterion) {
    let mut g = c.benchmark_group("ipvs");
    g.throughput(Throughput::Elements(1));

    // DR, established connection: parse, lookup, state, counters, TTL, verdict.
    let (mut ipvs, _) = director(SchedulerKind::Wrr, 2);
    let client = Ipv4Addr::new(10, 9, 0, 1);
    let mut r = rng();
    let _ = ipvs.process_inbound(Instant::ZERO, &tcp(client, 1000, true), &mut r);
    let ack = tcp(client, 1000, false);
    let mut t = 1u64;
    g.bench_function("dr_established", |b| {
        b.iter(|| {
            t += 1;
            black_box(ipvs.process_inbound(Instant::from_nanos(t), black_box(&ack), &mut r))
        })
    });

    // The same through the allocation-free call the director uses: the frame buffer is
    // refilled (as the director copies each frame in) and rewritten in place.
    let mut buf = Vec::with_capacity(1600);
    g.bench_function("dr_established_in_place", |b| {
        b.iter(|| {
            t += 1;
            buf.clear();
            buf.extend_from_slice(&ack);
            black_box(ipvs.process_inbound_in_place(
                Instant::from_nanos(t),
                0,
                black_box(&mut buf),
                &mut r,
            ))
        })
    });

    // A new connection: schedule (wlc over 2 dests) + insert + forward. The table is rebuilt
    // every 65,536 connections outside the timed part.
    g.bench_function("new_connection", |b| {
        b.iter_custom(|iters| {
            time_new_connections(iters, |ipvs, p, r| {
                let _ = black_box(ipvs.process_inbound(Instant::ZERO, p, r));
            })
        })
    });

    // The same through the in-place call the director uses: each SYN is copied into the
    // frame buffer (as the director copies each frame in) and rewritten there, so the
    // difference to `new_connection` is the copying call's allocation and free.
    g.bench_function("new_connection_in_place", |b| {
        let mut buf = Vec::with_capacity(1600);
        b.iter_custom(|iters| {
            time_new_connections(iters, |ipvs, p, r| {
                buf.clear();
                buf.extend_from_slice(p);
                let _ = black_box(ipvs.process_inbound_in_place(
                    Instant::ZERO,
                    0,
                    black_box(&mut buf),
                    r,
                ));
            })
        })
    });

    for kind in [SchedulerKind::Wlc, SchedulerKind::Lc] {
        let (mut ipvs, key) = director(kind, 1000);
        let mut r = rng();
        // Spread some load so the comparisons are not all ties.
        for i in 0..3000u32 {
            let src = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 2, 0, 0)) + i);
            let _ = ipvs.process_inbound(Instant::ZERO, &tcp(src, 1000, true), &mut r);
        }
        g.bench_function(format!("{}_pick_1000_dests", kind.name()), |b| {
            b.iter(|| {
                black_box(
                    ipvs.pick_dest(&key, Instant::ZERO, client, 1, &mut r)
                        .map(|d| d.addr),
                )
            })
        });
    }

    // mh: every dest edit rebuilds the 4093-slot table from 1,000 dests.
    let (mut ipvs, key) = director(SchedulerKind::Mh, 1000);
    let a = Ipv4Addr::new(10, 1, 0, 7);
    let mut w = 1;
    g.bench_function("mh_build_1000_dests", |b| {
        b.iter(|| {
            w = w % 5 + 1;
            ipvs.edit_dest(&key, DestConfig::new(a, 80).weight(w))
                .unwrap();
        })
    });
    g.finish();
}

/// This thread's CPU time in ns (Linux `schedstat`), to report per-operation cost that does not
/// count time spent waiting for a CPU on a loaded machine.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn per_op(n: u64, mut f: impl FnMut(u64)) -> Option<f64> {
    let start = cpu_ns()?;
    for i in 0..n {
        f(i);
    }
    Some((cpu_ns()? - start) as f64 / n as f64)
}

/// CPU time per operation, printed after the criterion runs. Wall-clock figures include time
/// spent waiting for a CPU when other jobs share the machine; CPU time does not, but it is
/// still slowed by jobs on a sibling hyperthread and by shared caches.
fn cpu_time_report(_: &mut Criterion) {
    let mut lines = Vec::new();
    let (mut ipvs, _) = director(SchedulerKind::Wrr, 2);
    let client = Ipv4Addr::new(10, 9, 0, 1);
    let mut r = rng();
    let _ = ipvs.process_inbound(Instant::ZERO, &tcp(client, 1000, true), &mut r);
    let ack = tcp(client, 1000, false);
    lines.push((
        "dr_established",
        per_op(2_000_000, |i| {
            let _ =
                black_box(ipvs.process_inbound(Instant::from_nanos(i), black_box(&ack), &mut r));
        }),
    ));
    let mut buf = Vec::with_capacity(1600);
    lines.push((
        "dr_established_in_place",
        per_op(2_000_000, |i| {
            buf.clear();
            buf.extend_from_slice(&ack);
            let _ = black_box(ipvs.process_inbound_in_place(
                Instant::from_nanos(2_000_000 + i),
                0,
                black_box(&mut buf),
                &mut r,
            ));
        }),
    ));
    let (mut ipvs, _) = director(SchedulerKind::Wlc, 2);
    let pkts: Vec<Vec<u8>> = (0..500_000u32)
        .map(|i| {
            let src = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + (i >> 14));
            tcp(src, 1024 + (i & 0x3fff) as u16, true)
        })
        .collect();
    lines.push((
        "new_connection",
        per_op(pkts.len() as u64, |i| {
            let _ = black_box(ipvs.process_inbound(Instant::ZERO, &pkts[i as usize], &mut r));
        }),
    ));
    for (name, kind) in [
        ("wlc_pick_1000_dests", SchedulerKind::Wlc),
        ("lc_pick_1000_dests", SchedulerKind::Lc),
    ] {
        let (mut ipvs, key) = director(kind, 1000);
        lines.push((
            name,
            per_op(20_000, |_| {
                black_box(
                    ipvs.pick_dest(&key, Instant::ZERO, client, 1, &mut r)
                        .map(|d| d.addr),
                );
            }),
        ));
    }
    let (mut ipvs, key) = director(SchedulerKind::Mh, 1000);
    let a = Ipv4Addr::new(10, 1, 0, 7);
    lines.push((
        "mh_build_1000_dests",
        per_op(1_000, |i| {
            ipvs.edit_dest(&key, DestConfig::new(a, 80).weight(1 + (i % 5) as u32))
                .unwrap();
        }),
    ));
    for (name, ns) in lines {
        match ns {
            Some(ns) => println!("cpu-time ipvs/{name}: {ns:.1} ns/op"),
            None => println!("cpu-time ipvs/{name}: unavailable"),
        }
    }
}

criterion_group!(benches, forwarding, cpu_time_report);
criterion_main!(benches);
