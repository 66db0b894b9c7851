//! Interop against the real keepalived: our director (the sans-IO `lvs-model` code, driven by
//! `sim::tap` on a TAP device) and keepalived 2.2.7 share one LAN — the TAP device, moved into
//! a network namespace of the test's own, with the kernel side at 192.168.80.101/24.
//!
//! Real time, so wall-clock bounds are generous and only reported, never asserted tightly.
//! Skips (passing, with a message) unless root with `ip`, `keepalived` and /dev/net/tun.

#![cfg(target_os = "linux")]

use lvs_model::director::Director;
use lvs_model::director::from_config::DirectorPort;
use lvs_model::event::{Event, Record, VrrpStateName};
use lvs_model::host::EthernetAddress;
use lvs_model::node::ProcessAction;
use lvslab::cmd::tap::build_director;
use sim::tap::{TapDevice, TapDriver};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const VIP: &str = "192.168.80.200";
const KERNEL_IP: &str = "192.168.80.101/24";
const OUR_IP: [u8; 4] = [192, 168, 80, 100];

/// The seed's keepalived.conf shape (scenarios/seed/keepalived-*.conf) on interface `iface`,
/// without the virtual_server (VRRP is what this test is about) and with the seed's
/// `smtp_connection_timeout` typo fixed, so neither keepalived has anything to report.
fn conf(iface: &str, state: &str, priority: u8) -> String {
    format!(
        "global_defs {{
   notification_email {{edisonchou@hotmail.com}}
   notification_email_from sns-lvs@gmail.com
   smtp_server 192.168.80.1
   smtp_connect_timeout 30
   router_id LVS_DEVEL
}}
vrrp_instance VI_1 {{
    state {state}
    interface {iface}
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass 1111
    }}
    virtual_ipaddress {{{VIP}
    }}
}}
"
    )
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Why the test cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("not root (needs CAP_NET_ADMIN for netns and TAP)".into());
    }
    for p in ["ip", "keepalived"] {
        if find_program(p).is_none() {
            return Some(format!("`{p}` is not installed"));
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is unavailable".into());
    }
    None
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{cmd:?}: cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A network namespace with a TAP device in it; keepalived runs there. Everything is torn down
/// on drop, also when an assertion failed.
struct Netns {
    ns: String,
    tap: String,
    dir: PathBuf,
    keepalived: Option<Child>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// Creates the namespace and opens the TAP device in it, kernel side 192.168.80.101/24 up.
    fn create() -> Result<(Netns, TapDevice), String> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let ns = format!("lvslab-tap-{pid}-{n}");
        let tap_name = format!("lvt{}x{n}", pid % 1_000_000);
        let dir = std::env::temp_dir().join(&ns);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        run(Command::new("ip").args(["netns", "add", &ns]))?;
        let mut guard = Netns {
            ns,
            tap: tap_name.clone(),
            dir,
            keepalived: None,
        };
        // Made in our namespace (down, no address: no traffic), then moved into the test's;
        // the descriptor stays attached across the move.
        let tap = TapDevice::open(&tap_name).map_err(|e| e.to_string())?;
        let ns = guard.ns.clone();
        run(Command::new("ip").args(["link", "set", "dev", &tap_name, "netns", &ns]))?;
        run(Command::new("ip").args(["-n", &ns, "link", "set", "lo", "up"]))?;
        run(Command::new("ip").args(["-n", &ns, "addr", "add", KERNEL_IP, "dev", &tap_name]))?;
        run(Command::new("ip").args(["-n", &ns, "link", "set", &tap_name, "up"]))?;
        guard.tap = tap_name;
        Ok((guard, tap))
    }

    /// Starts the real keepalived (VRRP only, foreground, logging to a file) in the namespace.
    fn start_keepalived(&mut self, state: &str, priority: u8) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        let conf_path = self.dir.join("keepalived.conf");
        std::fs::write(&conf_path, conf(&self.tap, state, priority)).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(self.log_path()).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let path = |f: &str| self.dir.join(f).display().to_string();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "keepalived"])
            .args(["-n", "-l", "-D", "-G", "-P", "-f"])
            .arg(&conf_path)
            .args(["-p", &path("keepalived.pid")])
            .args(["-r", &path("vrrp.pid")])
            .args(["-c", &path("checkers.pid")])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            // Its own process group, so a "crash" can SIGKILL parent and VRRP child at once.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start keepalived: {e}"))?;
        self.keepalived = Some(child);
        Ok(())
    }

    /// SIGKILL to keepalived's process group (the parent and its VRRP child).
    fn kill_keepalived(&mut self) {
        if let Some(mut child) = self.keepalived.take() {
            let pgid = format!("-{}", child.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &pgid])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("keepalived.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Whether the VIP is on the namespace's interface (keepalived holds it as MASTER).
    fn has_vip(&self) -> bool {
        run(Command::new("ip").args(["-n", &self.ns, "-4", "addr", "show", "dev", &self.tap]))
            .map(|s| s.contains(&format!("inet {VIP}/")))
            .unwrap_or(false)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill_keepalived();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

enum Cmd {
    Control(ProcessAction),
    Quit,
}

/// Our director, driven on the TAP device by a thread of its own.
struct OurDirector {
    commands: mpsc::Sender<Cmd>,
    records: mpsc::Receiver<Record>,
    seen: Vec<(Instant, Record)>,
    thread: Option<thread::JoinHandle<(Director, sim::tap::TapStats)>>,
    /// The driver's capture of every frame in and out.
    pcap: PathBuf,
}

impl OurDirector {
    fn start(tap: TapDevice, dir: &Path, state: &str, priority: u8) -> OurDirector {
        let conf_path = dir.join(format!("ours-{state}.conf"));
        std::fs::write(&conf_path, conf(tap.name(), state, priority)).unwrap();
        let port = DirectorPort {
            name: tap.name().to_string(),
            mac: EthernetAddress(lvslab::lab::mac_for(OUR_IP.into())),
            addr: OUR_IP.into(),
            prefix_len: 24,
        };
        let (director, messages) = build_director(&conf_path, port, 7).unwrap();
        assert!(messages.is_empty(), "{messages:?}");
        let (ctx, crx) = mpsc::channel();
        let (rtx, rrx) = mpsc::channel();
        let pcap = dir.join(format!("ours-{state}.pcap"));
        let capture = std::fs::File::create(&pcap).unwrap();
        let thread = thread::spawn(move || {
            let mut driver = TapDriver::new(director, tap, "ours");
            driver.capture_to(Box::new(capture)).unwrap();
            let mut sink = |r: Record| {
                let _ = rtx.send(r);
            };
            loop {
                match crx.try_recv() {
                    Ok(Cmd::Control(a)) => driver.control("keepalived", a, &mut sink).unwrap(),
                    Ok(Cmd::Quit) | Err(mpsc::TryRecvError::Disconnected) => break,
                    Err(mpsc::TryRecvError::Empty) => {}
                }
                driver
                    .run_for(Duration::from_millis(20), None, &mut sink)
                    .expect("the TAP device failed");
            }
            driver.finish_capture().expect("writing the capture");
            let stats = driver.stats();
            (driver.into_parts().0, stats)
        });
        OurDirector {
            commands: ctx,
            records: rrx,
            seen: Vec::new(),
            thread: Some(thread),
            pcap,
        }
    }

    fn control(&self, a: ProcessAction) {
        self.commands.send(Cmd::Control(a)).unwrap();
    }

    fn collect(&mut self) {
        while let Ok(r) = self.records.try_recv() {
            self.seen.push((Instant::now(), r));
        }
    }

    /// When our VI_1 entered `to` after `since`, if it did.
    fn entered(&mut self, to: VrrpStateName, since: Instant) -> Option<Instant> {
        self.collect();
        self.seen.iter().find_map(|(at, r)| match &r.event {
            Event::VrrpState { to: t, .. } if *t == to && *at >= since => Some(*at),
            _ => None,
        })
    }

    fn finish(mut self) -> (Director, sim::tap::TapStats) {
        let _ = self.commands.send(Cmd::Quit);
        let (director, stats) = self.thread.take().unwrap().join().unwrap();
        assert_capture_matches(&self.pcap, &stats);
        (director, stats)
    }
}

/// The driver's capture holds every frame it read and wrote, in time order, and VRRP adverts
/// from both routers: keepalived's (read) and ours (written).
fn assert_capture_matches(path: &Path, stats: &sim::tap::TapStats) {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
    let (mut packets, mut last) = (0u64, Duration::ZERO);
    let mut advert_sources = std::collections::BTreeSet::new();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        assert!(
            p.timestamp >= last,
            "capture out of order in {}",
            path.display()
        );
        last = p.timestamp;
        packets += 1;
        let d = &p.data;
        // Ethernet + IPv4 with protocol 112 (VRRP): note the source address.
        if d.len() >= 34 && d[12..14] == [0x08, 0x00] && d[23] == 112 {
            advert_sources.insert(std::net::Ipv4Addr::new(d[26], d[27], d[28], d[29]));
        }
    }
    assert_eq!(packets, stats.frames_in + stats.frames_out, "{stats:?}");
    let kernel: std::net::Ipv4Addr = KERNEL_IP.split('/').next().unwrap().parse().unwrap();
    assert!(
        advert_sources.contains(&OUR_IP.into()) && advert_sources.contains(&kernel),
        "adverts from {advert_sources:?}"
    );
}

/// Waits up to `limit` for `cond`, checking every 50 ms; returns when it held.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Instant> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(Instant::now());
        }
        if start.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Holds `cond` for `span`, checking every 100 ms; `false` as soon as it fails.
fn holds_for(span: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < span {
        if !cond() {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
    cond()
}

/// keepalived's complaints about packets it received: none may be about ours.
fn assert_keepalived_accepted_everything(ns: &Netns) {
    let log = ns.log();
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            ["invalid", "bogus", "not present in", "mismatch", "wrong"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect();
    assert!(bad.is_empty(), "keepalived complained:\n{}", bad.join("\n"));
}

/// The receive-error counters of our VI_1: keepalived's adverts must all be valid for us.
fn assert_we_accepted_everything(director: &Director, expect_adverts: bool) {
    let stats = *director
        .vrrp()
        .and_then(|v| v.instance_stats("VI_1"))
        .expect("VI_1 runs");
    let errors = stats.dropped() - stats.not_listening;
    assert_eq!(errors, 0, "{stats:?}");
    if expect_adverts {
        assert!(stats.advert_rcvd > 0, "{stats:?}");
    }
}

fn setup() -> Option<(Netns, TapDevice)> {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP: {why}");
        return None;
    }
    match Netns::create() {
        Ok(x) => Some(x),
        Err(e) => {
            eprintln!("SKIP: cannot set up the namespace and TAP device: {e}");
            None
        }
    }
}

#[test]
fn ours_master_keepalived_backup_then_stop_and_preempt_back() {
    let Some((mut ns, tap)) = setup() else {
        return;
    };
    let t0 = Instant::now();
    let mut ours = OurDirector::start(tap, &ns.dir, "MASTER", 100);
    ns.start_keepalived("BACKUP", 99).unwrap();

    let master = ours.entered(VrrpStateName::Master, t0);
    let master = master.or_else(|| {
        wait_for(Duration::from_secs(15), || {
            ours.entered(VrrpStateName::Master, t0).is_some()
        })
    });
    assert!(master.is_some(), "our director never became MASTER");
    assert!(
        wait_for(Duration::from_secs(15), || ns
            .log()
            .contains("Entering BACKUP STATE"))
        .is_some(),
        "keepalived never entered BACKUP:\n{}",
        ns.log()
    );
    // keepalived's master_down_interval at priority 99 is 3 x 1 s + 0.613 s: hearing our
    // adverts for 5 s, it must not take the VIP.
    assert!(
        holds_for(Duration::from_secs(5), || !ns.has_vip()),
        "keepalived took the VIP while we were MASTER:\n{}",
        ns.log()
    );
    assert!(!ns.log().contains("Entering MASTER STATE"), "{}", ns.log());

    // Graceful stop: a priority-0 advert; keepalived takes over after skew_time = 157/256 s.
    let stop = Instant::now();
    ours.control(ProcessAction::Stop);
    let took = wait_for(Duration::from_secs(10), || ns.has_vip());
    let took = took.unwrap_or_else(|| panic!("keepalived never took over:\n{}", ns.log()));
    eprintln!(
        "measured: keepalived held the VIP {:?} after our graceful stop (skew_time 0.613 s)",
        took - stop
    );

    // Restart: we come up BACKUP, ignore the lower-priority adverts, and preempt after our
    // master_down_interval (3 x 1 s + 0.609 s); keepalived hears us and drops the VIP.
    let start = Instant::now();
    ours.control(ProcessAction::Start);
    let back = wait_for(Duration::from_secs(15), || {
        ours.entered(VrrpStateName::Master, start).is_some()
    });
    assert!(back.is_some(), "our director did not preempt back");
    let left = wait_for(Duration::from_secs(10), || !ns.has_vip());
    let left = left.unwrap_or_else(|| panic!("keepalived kept the VIP:\n{}", ns.log()));
    eprintln!(
        "measured: we were MASTER again {:?} after restarting, keepalived's VIP gone after {:?}",
        ours.entered(VrrpStateName::Master, start).unwrap() - start,
        left - start
    );
    let log = ns.log();
    assert!(log.contains("Entering MASTER STATE"), "{log}");
    assert!(
        log.matches("Entering BACKUP STATE").count() >= 2,
        "keepalived should have gone back to BACKUP:\n{log}"
    );
    assert_keepalived_accepted_everything(&ns);
    let (director, stats) = ours.finish();
    eprintln!("driver: {stats:?}");
    assert_we_accepted_everything(&director, true);
    assert!(stats.frames_out > 0 && stats.frames_in > 0, "{stats:?}");
    assert_eq!(stats.write_errors, 0);
}

#[test]
fn keepalived_master_ours_backup_then_keepalived_crashes() {
    let Some((mut ns, tap)) = setup() else {
        return;
    };
    ns.start_keepalived("MASTER", 100).unwrap();
    assert!(
        wait_for(Duration::from_secs(15), || ns.has_vip()).is_some(),
        "keepalived never became MASTER:\n{}",
        ns.log()
    );
    let t0 = Instant::now();
    let mut ours = OurDirector::start(tap, &ns.dir, "BACKUP", 99);
    assert!(
        wait_for(Duration::from_secs(5), || ours
            .entered(VrrpStateName::Backup, t0)
            .is_some())
        .is_some(),
        "our director did not enter BACKUP"
    );
    // Hearing keepalived's priority-100 adverts, we stay BACKUP well past our
    // master_down_interval (3 x 1 s + 0.613 s).
    assert!(
        holds_for(Duration::from_secs(6), || ours
            .entered(VrrpStateName::Master, t0)
            .is_none()),
        "we became MASTER while keepalived was MASTER"
    );
    assert!(ns.has_vip());

    // SIGKILL: no priority-0 advert; we take over after master_down_interval.
    let crash = Instant::now();
    ns.kill_keepalived();
    let took = wait_for(Duration::from_secs(15), || {
        ours.entered(VrrpStateName::Master, crash).is_some()
    });
    assert!(took.is_some(), "we never took over after keepalived died");
    eprintln!(
        "measured: we were MASTER {:?} after keepalived was killed (3.613 s after its last advert)",
        ours.entered(VrrpStateName::Master, crash).unwrap() - crash
    );
    assert_keepalived_accepted_everything(&ns);
    let (director, stats) = ours.finish();
    eprintln!("driver: {stats:?}");
    assert_we_accepted_everything(&director, true);
    assert_eq!(stats.write_errors, 0);
}
