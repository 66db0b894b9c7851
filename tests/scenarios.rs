//! Every scenario under `scenarios/` as its own test: build the lab, run it, require every
//! expectation to hold, and snapshot its report (reviewed with `cargo insta review`).

use lvslab::lab::Lab;
use lvslab::scenario::Scenario;
use reports::{Extras, ReportInput};

#[test]
fn scenario_suite() {
    insta::glob!("../scenarios", "**/*.toml", |path| {
        let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let lab = Lab::build(scenario, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let scenario = lab.scenario.clone();
        let diagnostics = lab.diagnostics.clone();
        let config = lab.config_lines.clone();
        let (_world, out) = lab
            .run(|_, _| {})
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let verdicts = scenario.evaluate(&out.records);
        let name = path.file_name().unwrap().to_string_lossy();
        let summary = scenario.run_summary(format!("lvslab run scenarios/.../{name}"));
        let extras = Extras {
            ipvsadm: out.ipvsadm,
            diagnostics,
            config,
        };
        let input = ReportInput {
            summary: &summary,
            events: &out.records,
            verdicts: &verdicts,
            extras: &extras,
        };
        let failed: Vec<String> = verdicts
            .iter()
            .filter(|v| !v.passed)
            .map(|v| format!("line {}: {} — {}", v.line, v.expectation, v.explanation))
            .collect();
        assert!(
            failed.is_empty(),
            "{}: expectations failed:\n{}",
            path.display(),
            failed.join("\n")
        );
        insta::assert_snapshot!(reports::report_md(&input));
    });
}

/// Same scenario, same seed: byte-identical event log and pcap, in a second process too (the
/// digest printed by `lvslab run` is compared by the CLI test).
#[test]
fn a_scenario_run_is_byte_identical_twice() {
    let run = || {
        let s = Scenario::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/seed/02-httpd-stop-start.toml"
        ))
        .unwrap();
        let (mut world, out) = Lab::build(s, None).unwrap().run(|_, _| {}).unwrap();
        let mut events = Vec::new();
        sim::trace::write_events(&out.records, &mut events).unwrap();
        (events, world.trace_mut().take_pcap().unwrap())
    };
    let (e1, p1) = run();
    let (e2, p2) = run();
    assert!(e1.len() > 10_000);
    assert!(e1 == e2, "event logs differ");
    assert!(p1 == p2, "pcaps differ");
}

/// The frames of a pcap lvslab wrote (little-endian, nanosecond timestamps): (ns, frame).
fn pcap_frames(pcap: &[u8]) -> Vec<(u64, &[u8])> {
    let u32_at = |i: usize| u32::from_le_bytes(pcap[i..i + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xa1b2_3c4d, "a little-endian nanosecond pcap");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let t = u64::from(u32_at(at)) * 1_000_000_000 + u64::from(u32_at(at + 4));
        let len = u32_at(at + 8) as usize;
        out.push((t, &pcap[at + 16..at + 16 + len]));
        at += 16 + len;
    }
    assert_eq!(at, pcap.len(), "whole records");
    out
}

/// LVS-NAT on the wire (`scenarios/methods/nat.toml`): the client only ever addresses the VIP;
/// the director rewrites VIP:80 to RIP:8080 and keeps the client's address (DNAT); the real
/// servers send their replies to the gateway's MAC, not to the client; and every segment the
/// client receives comes from a director with the VIP:80 as its source (SNAT) — the master's
/// before the failover, the backup's after it.
#[test]
fn nat_replies_come_back_through_the_director() {
    use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, TcpPacket};
    use std::net::Ipv4Addr;
    let s = Scenario::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/methods/nat.toml"
    ))
    .unwrap();
    let (mut world, _) = Lab::build(s, None).unwrap().run(|_, _| {}).unwrap();
    let pcap = world.trace_mut().take_pcap().unwrap();

    let mac = |ip: [u8; 4]| lvslab::lab::mac_for(Ipv4Addr::from(ip));
    let (master, backup) = (mac([192, 168, 80, 100]), mac([192, 168, 80, 101]));
    let client = Ipv4Addr::new(10, 0, 0, 50);
    let client_mac = mac([10, 0, 0, 50]);
    let vip = Ipv4Addr::new(10, 0, 0, 200);
    let webs = [
        Ipv4Addr::new(192, 168, 80, 102),
        Ipv4Addr::new(192, 168, 80, 103),
    ];
    let web_macs = webs.map(lvslab::lab::mac_for);
    // The backup takes over at 45 s + 609.375 ms + 50 us (see the scenario).
    let takeover = 45_609_425_000;

    let (mut dnat, mut rs_replies, mut from_master, mut from_backup) = (0, 0, 0, 0);
    for (t, frame) in pcap_frames(&pcap) {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            continue;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        if ip.next_header() != IpProtocol::Tcp {
            continue;
        }
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        let (src, dst) = (
            (ip.src_addr(), tcp.src_port()),
            (ip.dst_addr(), tcp.dst_port()),
        );
        let (esrc, edst) = (eth.src_addr().0, eth.dst_addr().0);
        let director = |m: [u8; 6]| m == master || m == backup;
        if esrc == client_mac {
            assert_eq!(dst, (vip, 80), "t={t}: the client addressed {dst:?}");
            assert!(director(edst), "t={t}: the client sent to {edst:?}");
        }
        if ip.src_addr() == client && web_macs.contains(&edst) {
            let i = web_macs.iter().position(|m| *m == edst).unwrap();
            assert_eq!(dst, (webs[i], 8080), "t={t}: DNAT to {dst:?}");
            assert!(director(esrc), "t={t}: forwarded by {esrc:?}");
            dnat += 1;
        }
        if web_macs.contains(&esrc) && ip.dst_addr() == client {
            assert!(director(edst), "t={t}: a real server sent to {edst:?}");
            assert!(
                webs.contains(&src.0) && src.1 == 8080,
                "t={t}: from {src:?}"
            );
            rs_replies += 1;
        }
        if edst == client_mac {
            assert_eq!(
                src,
                (vip, 80),
                "t={t}: the client got a segment from {src:?}"
            );
            if esrc == master {
                assert!(t < takeover, "t={t}: the old master answered");
                from_master += 1;
            } else {
                assert_eq!(esrc, backup, "t={t}: the client got a frame from {esrc:?}");
                assert!(
                    t >= takeover,
                    "t={t}: the backup answered before the takeover"
                );
                from_backup += 1;
            }
        }
    }
    // Each answered request takes at least two segments each way (SYN and the GET; SYN-ACK
    // and the answer): 530 answered, 380 of them before the failover and 150 after it (six
    // of those had their first SYN lost to the old master).
    assert!(dnat >= 2 * 530, "{dnat}");
    assert!(rs_replies >= 2 * 530, "{rs_replies}");
    assert!(from_master >= 2 * 380, "{from_master}");
    assert!(from_backup >= 2 * 150, "{from_backup}");
    assert_eq!(
        rs_replies,
        from_master + from_backup,
        "each reply is forwarded once"
    );
}
