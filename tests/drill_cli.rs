//! `lvslab drill` as a command: bad input gives a clear message and exit 2 (never a panic), a
//! drill that does not converge gives exit 1, and the flags choose the web servers and the
//! directors' addresses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/seed")
        .join(name)
}

fn drill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvslab"))
        .arg("drill")
        .args(args)
        .output()
        .expect("lvslab runs")
}

/// A private directory for generated configs, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("lvslab-drill-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn seed_text(name: &str) -> String {
    std::fs::read_to_string(seed(name)).unwrap()
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let out = drill(&["no-such-dir/keepalived.conf"]);
    assert_usage_error(&out, "cannot read no-such-dir/keepalived.conf");
}

#[test]
fn no_file_at_all_is_a_usage_error() {
    let out = drill(&[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_config_without_vrrp_instance_is_a_usage_error() {
    let t = TempDir::new("novrrp");
    let text = seed_text("keepalived-master.conf");
    let start = text.find("vrrp_instance").unwrap();
    let end = text.find("# 定义对外").unwrap();
    let f = t.write("lvs.conf", &format!("{}{}", &text[..start], &text[end..]));
    let out = drill(&[&f]);
    assert_usage_error(&out, "no vrrp_instance");
}

#[test]
fn no_real_servers_and_no_web_is_a_usage_error() {
    let t = TempDir::new("nors");
    let text = seed_text("keepalived-master.conf");
    let start = text.find("    real_server 192.168.80.102").unwrap();
    let end = text.rfind('}').unwrap();
    let f = t.write("lvs.conf", &format!("{}{}", &text[..start], &text[end..]));
    // keepalived ignores a virtual_server without real servers ("has no real servers -
    // ignoring"), so there is no service for the client either, with or without --web.
    assert_usage_error(
        &drill(&[&f]),
        "no real servers: no file has an IPv4 virtual_server",
    );
    assert_usage_error(
        &drill(&[&f, "--web", "192.168.80.102"]),
        "--web needs one for its VIP, port and lb_kind",
    );
}

#[test]
fn tun_real_servers_are_refused() {
    let t = TempDir::new("tun");
    let text = seed_text("keepalived-master.conf").replace("lb_kind DR", "lb_kind TUN");
    let f = t.write("lvs.conf", &text);
    let out = drill(&[&f]);
    assert_usage_error(&out, "TUN real servers are not simulated");
}

#[test]
fn bad_ip_flags_are_usage_errors() {
    let m = seed("keepalived-master.conf");
    let m = m.to_str().unwrap();
    assert_usage_error(
        &drill(&[m, "--ip", "eth1=10.0.0.1/24"]),
        "--ip expects N=A.B.C.D/LEN",
    );
    assert_usage_error(
        &drill(&[m, "--ip", "2=192.168.80.10/24"]),
        "there are only 1 file(s)",
    );
    assert_usage_error(
        &drill(&[m, "--ip", "1=192.168.80.200/24"]),
        "director address 192.168.80.200 is the VIP's or a web server's",
    );
    let out = drill(&[m, "--web", "not-an-ip"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_lone_director_does_not_survive_its_own_stop() {
    // With one director, stopping its keepalived leaves no MASTER: exit 1.
    let m = seed("keepalived-master.conf");
    let out = drill(&[m.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("NOT CONVERGED: 0 MASTER(s) at the end of the drill"),
        "{stdout}"
    );
    // The real server drills still converge, and there is no partition drill.
    assert!(stdout.contains("web-102 down, up"), "{stdout}");
    assert!(!stdout.contains("partition"), "{stdout}");
    assert!(stdout.contains("of 5 drills converged"), "{stdout}");
}

#[test]
fn web_and_ip_flags_choose_the_lab() {
    let (m, b) = (
        seed("keepalived-master.conf"),
        seed("keepalived-backup.conf"),
    );
    let out = drill(&[
        m.to_str().unwrap(),
        b.to_str().unwrap(),
        "--web",
        "192.168.80.103",
        "--ip",
        "1=192.168.80.10/24",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("192.168.80.10/24 (--ip)"), "{stdout}");
    // The other director: the free address just below the lowest web server (.103).
    assert!(stdout.contains("192.168.80.102/24 (derived)"), "{stdout}");
    assert!(stdout.contains("web-103 down, up"), "{stdout}");
    assert!(!stdout.contains("web-102"), "{stdout}");
    assert!(stdout.contains("7 of 7 drills converged"), "{stdout}");
}

#[test]
fn unicast_src_ip_gives_the_address_and_unicast_vrrp_converges() {
    let t = TempDir::new("unicast");
    let add = |name: &str, src: &str, peer: &str| {
        seed_text(name).replace(
            "    advert_int 1",
            &format!("    unicast_src_ip {src}\n    unicast_peer {{\n        {peer}\n    }}\n    advert_int 1"),
        )
    };
    let m = t.write(
        "east.conf",
        &add("keepalived-master.conf", "192.168.80.21", "192.168.80.22"),
    );
    let b = t.write(
        "west.conf",
        &add("keepalived-backup.conf", "192.168.80.22", "192.168.80.21"),
    );
    let out = drill(&[&b, &m]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "director east 192.168.80.21/24 (unicast_src_ip) on eth1, VI_1 priority 100, master"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("director west 192.168.80.22/24 (unicast_src_ip)"),
        "{stdout}"
    );
    // Graceful stop: the backup's skew 157/256 s after the priority-0 advert (+ 50 µs).
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("west becomes MASTER") && l.ends_with("+0.61333125s")),
        "{stdout}"
    );
}

#[test]
fn timers_too_long_for_a_drill_are_refused() {
    // delay_loop 3000 s: the first fault would come after 1 s + warmup (= delay_loop) and the
    // removal window alone is 3000 + 10 + (3 + 10) + 1 s: over the 1 h limit.
    let t = TempDir::new("long");
    let text = seed_text("keepalived-master.conf").replace("delay_loop 6", "delay_loop 3000");
    let f = t.write("lvs.conf", &text);
    assert_usage_error(&drill(&[&f]), "would last");
}

#[test]
fn inhibit_on_failure_counts_weight_zero_as_leaving_the_pool() {
    let t = TempDir::new("inhibit");
    let add =
        |name: &str| seed_text(name).replace("weight 3 ", "weight 3\n        inhibit_on_failure ");
    let m = t.write("m.conf", &add("keepalived-master.conf"));
    let b = t.write("b.conf", &add("keepalived-backup.conf"));
    let out = drill(&[&m, &b]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("192.168.80.102:80 leaves the pool on m"),
        "{stdout}"
    );
    assert!(stdout.contains("8 of 8 drills converged"), "{stdout}");
}
