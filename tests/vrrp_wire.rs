//! The frames our VRRP emits, as a real decoder sees them: `tshark` (when installed) reads a
//! pcap of frames taken from running [`VrrpProcess`]es and must decode VRRP v2 and v3 adverts
//! with the right fields and good checksums, and keepalived-style gratuitous ARPs.

use lvs_model::node::PortId;
use lvs_model::time::{Duration, Instant};
use lvs_model::vrrp::{
    GlobalVrrpConfig, InstanceConfig, InterfaceConfig, ProcessConfig, VrrpProcess,
};
use lvs_model::wire::vrrp::AuthType;
use smoltcp::wire::EthernetAddress;
use std::net::Ipv4Addr;
use std::process::Command;

fn owner(version: u8, vrid: u8) -> VrrpProcess {
    let mut c = InstanceConfig::new("VI_T", "eth1", vrid, &GlobalVrrpConfig::default());
    c.version = version;
    // Address owner with state MASTER: MASTER 1 µs after start.
    c.priority = 255;
    c.state_master = true;
    c.vips = vec![
        Ipv4Addr::new(192, 168, 80, 200),
        Ipv4Addr::new(192, 168, 80, 201),
    ];
    if version == 2 {
        c.auth_type = AuthType::Pass;
        c.set_auth_pass(b"secret12");
        c.advert_int = Duration::from_secs(2);
    } else {
        c.advert_int = Duration::from_millis(350);
    }
    let mut p = VrrpProcess::new(ProcessConfig {
        interfaces: vec![InterfaceConfig {
            name: "eth1".into(),
            port: PortId(0),
            mac: EthernetAddress([0x02, 0, 0, 0, 0, vrid]),
            ip: Ipv4Addr::new(192, 168, 80, 100),
        }],
        instances: vec![c],
        ..Default::default()
    })
    .unwrap();
    p.start(Instant::ZERO);
    p
}

/// The first `n` frames the process sends, plus its priority-0 advert on stop.
fn frames(mut p: VrrpProcess, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while out.len() < n {
        let t = p.poll_timeout().expect("a timer");
        p.handle_timeout(t);
        while let Some(tx) = p.poll_transmit() {
            out.push(tx.frame);
        }
    }
    p.stop(Instant::from_secs(100));
    while let Some(tx) = p.poll_transmit() {
        out.push(tx.frame);
    }
    out
}

fn write_pcap(path: &std::path::Path, frames: &[Vec<u8>]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (i, f) in frames.iter().enumerate() {
        b.extend_from_slice(&(i as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn tshark_decodes_our_adverts_and_garps() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("tshark is not installed: skipping the decoder check");
        return;
    }
    // Each: advert, 5 GARPs × 2 VIPs, then the priority-0 advert (12 frames); v2 then v3.
    let mut all = frames(owner(2, 51), 11);
    all.extend(frames(owner(3, 52), 11));
    let dir = std::env::temp_dir().join(format!("lvslab-vrrp-wire-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("vrrp.pcap");
    write_pcap(&pcap, &all);
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&pcap)
        .args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "vrrp.version",
            "-e",
            "vrrp.type",
            "-e",
            "vrrp.virt_rtr_id",
            "-e",
            "vrrp.prio",
            "-e",
            "vrrp.addr_count",
            "-e",
            "vrrp.auth_type",
            "-e",
            "vrrp.adver_int",
            "-e",
            "vrrp.checksum.status",
            "-e",
            "vrrp.ip_addr",
            "-e",
            "vrrp.auth_string",
            "-e",
            "ip.ttl",
            "-e",
            "ip.dsfield",
            "-e",
            "eth.dst",
            "-e",
            "arp.opcode",
            "-e",
            "arp.isgratuitous",
            "-e",
            "arp.dst.proto_ipv4",
            "-e",
            "vrrp.short_adver_int",
        ])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), all.len(), "{text}");
    let vips = "192.168.80.200,192.168.80.201";
    // v2 advert: version 2, type 1, VRID 51, prio 255, 2 addrs, PASS, 2 s, checksum good.
    let v2 = format!("2|1|51|255|2|1|2|1|{vips}|secret12|255|0xc0|01:00:5e:00:00:12||||");
    assert_eq!(lines[0], v2);
    // v3 advert: 35 centiseconds, no auth; checksum (with pseudo-header) good.
    let v3 = format!("3|1|52|255|2|||1|{vips}||255|0xc0|01:00:5e:00:00:12||||35");
    assert_eq!(lines[12], v3);
    // GARPs: request, gratuitous, five rounds over the VIPs, interleaved as keepalived does.
    for (k, l) in lines[1..11].iter().chain(&lines[13..23]).enumerate() {
        let vip = if k % 2 == 0 {
            "192.168.80.200"
        } else {
            "192.168.80.201"
        };
        assert_eq!(
            *l,
            format!("||||||||||||ff:ff:ff:ff:ff:ff|1|1|{vip}|"),
            "frame {k}"
        );
    }
    // Priority-0 adverts on stop.
    assert!(lines[11].starts_with("2|1|51|0|2|1|2|1|"), "{}", lines[11]);
    assert!(lines[23].starts_with("3|1|52|0|2|||1|"), "{}", lines[23]);
    std::fs::remove_dir_all(&dir).ok();
}
