//! Memory of 1,000,000 concurrent IPVS connections, measured with a counting allocator (the
//! heap the table really holds, not an estimate). Target: ≤ 256 MiB.

#[path = "ipvs_packets.rs"]
mod packets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicIsize, Ordering};

use lvs_model::ipvs::{DestConfig, Ipvs, IpvsConfig, SchedulerKind, ServiceConfig, ServiceKey};
use lvs_model::time::Instant;
use packets::*;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn one_million_connections_fit_in_256_mib() {
    const N: u32 = 1_000_000;
    let mut ipvs = Ipvs::new(IpvsConfig::default());
    let key = ServiceKey::tcp(VIP, 80);
    ipvs.add_service(ServiceConfig::new(key).scheduler(SchedulerKind::Wlc))
        .unwrap();
    for i in 0..10 {
        ipvs.add_dest(&key, DestConfig::new(rs(100 + i), 80))
            .unwrap();
    }
    let mut r = rng();
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..N {
        let src = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + (i >> 16));
        let p = tcp((src, (i & 0xffff) as u16), (VIP, 80), "S", b"");
        let _ = ipvs.process_inbound(Instant::ZERO, &p, &mut r);
    }
    let used = (LIVE.load(Ordering::Relaxed) - before) as usize;
    assert_eq!(ipvs.conns().len(), N as usize);
    let mib = used as f64 / (1024.0 * 1024.0);
    println!(
        "1M connections: {used} bytes ({mib:.1} MiB), {:.0} bytes/entry, entry size {} bytes",
        used as f64 / N as f64,
        std::mem::size_of::<lvs_model::ipvs::Conn>()
    );
    assert!(used <= 256 * 1024 * 1024, "{mib:.1} MiB");
    assert!(ipvs.check_invariants().is_ok());
}
