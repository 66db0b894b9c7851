//! `lvslab fuzz` as a user runs it: the same seed prints the same cases in two processes and
//! writes no files; a broken pair exits 1 with the shrunk `[[at]]` lines; a bad scenario
//! exits 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEED_LAB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/seed/00-seed-lab.toml"
);

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lvslab-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fuzz(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvslab"))
        .arg("fuzz")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn the_seed_lab_holds_and_two_processes_print_the_same() {
    let cwd = temp_dir("fuzz-cli-seed");
    let args = [SEED_LAB, "--cases", "4", "--seed", "5", "--duration", "10s"];
    let a = fuzz(&cwd, &args);
    let stdout = String::from_utf8_lossy(&a.stdout);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert!(stdout.contains("with 4 cases from seed 5"), "{stdout}");
    assert!(stdout.contains("case 4: "), "{stdout}");
    assert!(stdout.contains("all 4 cases held"), "{stdout}");
    let b = fuzz(&cwd, &args);
    assert_eq!(a.stdout, b.stdout, "same seed, same cases, same verdicts");
    let other = fuzz(
        &cwd,
        &[SEED_LAB, "--cases", "4", "--seed", "6", "--duration", "10s"],
    );
    assert_ne!(a.stdout, other.stdout);
    // No proptest persistence files (or anything else) in the working directory.
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(cwd);
}

fn conf(priority: u8, real_servers: &[&str]) -> String {
    let rs: String = real_servers
        .iter()
        .map(|ip| {
            format!(
                "real_server {ip} 80 {{\n weight 1\n TCP_CHECK {{\n connect_timeout 3\n }}\n}}\n"
            )
        })
        .collect();
    format!(
        "vrrp_instance VI_1 {{\n state BACKUP\n nopreempt\n interface eth0\n virtual_router_id 51\n \
         priority {priority}\n advert_int 1\n virtual_ipaddress {{\n 192.168.80.200\n }}\n}}\n\
         virtual_server 192.168.80.200 80 {{\n delay_loop 2\n lb_algo rr\n lb_kind DR\n \
         protocol TCP\n{rs}}}\n"
    )
}

#[test]
fn a_broken_pair_exits_1_with_the_shrunk_schedule() {
    let dir = temp_dir("fuzz-cli-broken");
    std::fs::write(
        dir.join("m.conf"),
        conf(100, &["192.168.80.102", "192.168.80.103"]),
    )
    .unwrap();
    // The backup forgot a real server; with nopreempt it stays MASTER after a failover.
    std::fs::write(dir.join("b.conf"), conf(99, &["192.168.80.102"])).unwrap();
    let web = |n: u8| {
        format!(
            "[[web]]\nname = \"web-{n}\"\nip = \"192.168.80.{n}/24\"\n\
             realserver = {{ vip = \"192.168.80.200\", arp_ignore = 1, arp_announce = 2 }}\n"
        )
    };
    let scenario = format!(
        "name = \"broken\"\nseed = 1\nduration = \"20s\"\n\
         [[director]]\nname = \"lvs-master\"\nip = \"192.168.80.100/24\"\nkeepalived = \"m.conf\"\n\
         [[director]]\nname = \"lvs-backup\"\nip = \"192.168.80.101/24\"\nkeepalived = \"b.conf\"\n\
         {}{}",
        web(102),
        web(103)
    );
    std::fs::write(dir.join("lab.toml"), scenario).unwrap();
    let out = fuzz(&dir, &["lab.toml", "--cases", "64", "--seed", "3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("shrunk to 1 episode(s)"), "{stdout}");
    assert!(stdout.contains("[[at]]\nt = \""), "{stdout}");
    assert!(stdout.contains("on = \"lvs-master\""), "{stdout}");
    assert!(
        stdout.contains("[MASTER's dests = web servers up] at "),
        "{stdout}"
    );
    assert!(stdout.contains("missing: 192.168.80.103:80"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_missing_scenario_exits_2() {
    let cwd = temp_dir("fuzz-cli-missing");
    let out = fuzz(&cwd, &["no-such.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lvslab fuzz: "));
    let _ = std::fs::remove_dir_all(cwd);
}

#[test]
fn leaving_out_every_kind_of_fault_exits_2() {
    let cwd = temp_dir("fuzz-cli-without");
    let out = fuzz(
        &cwd,
        &[
            SEED_LAB,
            "--without",
            "keepalived",
            "--without",
            "httpd",
            "--without",
            "power",
            "--without",
            "link",
            "--without",
            "partition",
            "--without",
            "loss",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no director or web server to fault"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(cwd);
}
