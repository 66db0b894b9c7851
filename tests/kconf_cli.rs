//! `lvslab check` end to end: exit status contract (0 clean, 1 keepalived would report
//! something, 2 usage/I-O error), JSON fields, `--config-id`, and cluster notes that never change
//! the exit status. Configurations are small inline cases written for these tests.

use std::path::PathBuf;
use std::process::Command;

fn lvslab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lvslab"))
}

fn write(dir: &str, name: &str, text: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lvslab-kconf-cli-{}-{dir}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    let p = d.join(name);
    std::fs::write(&p, text).expect("write config");
    p
}

fn instance(prio: u32, state: &str, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n state {state}\n interface eth1\n virtual_router_id 51\n priority {prio}\n{extra}\n authentication {{\n  auth_type PASS\n  auth_pass 1111\n }}\n virtual_ipaddress {{\n  192.168.80.200\n }}\n}}\n"
    )
}

#[test]
fn clean_file_exits_0_and_reported_problem_exits_1() {
    let clean = write("a", "clean.conf", &instance(100, "MASTER", ""));
    let out = lvslab().args(["check"]).arg(&clean).output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("vrrp_instance VI_1"), "{text}");
    assert!(text.contains("priority 100"), "{text}");

    let bad = write(
        "a",
        "bad.conf",
        &instance(0, "MASTER", " nat_mask 255.255.255.0"),
    );
    let out = lvslab()
        .args(["check", "--format", "json"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let arr = v.as_array().expect("array");
    let first = &arr[0];
    for k in ["file", "line", "column", "severity", "message", "code"] {
        assert!(first.get(k).is_some(), "missing {k} in {first}");
    }
    let msgs: Vec<(u64, String)> = arr
        .iter()
        .filter(|d| d["severity"] != "note")
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        msgs.contains(&(5, "number '0' outside range [1, 255]".to_string())),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&(6, "Unknown keyword 'nat_mask'".to_string())),
        "{msgs:?}"
    );
    let nat = arr
        .iter()
        .find(|d| d["message"] == "Unknown keyword 'nat_mask'")
        .expect("nat_mask");
    assert_eq!(nat["column"], 2);
    assert_eq!(nat["code"], "unknown-keyword");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = lvslab()
        .args(["check", "/nonexistent/keepalived.conf"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let f = write("b", "x.conf", &instance(100, "MASTER", ""));
    let out = lvslab()
        .args(["check", "--ip", "eth1-no-equals"])
        .arg(&f)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cluster_notes_do_not_change_the_exit_status() {
    let a = write("c", "a.conf", &instance(100, "MASTER", ""));
    let b = write("c", "b.conf", &instance(100, "BACKUP", " nopreempt"));
    let out = lvslab()
        .args(["check", "--format", "json", "--ip", "eth1=10.0.0.1/24"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"cluster-equal-priority"), "{codes:?}");
    assert!(codes.contains(&"cluster-nopreempt-master"), "{codes:?}");
    assert!(codes.contains(&"cluster-vip-subnet"), "{codes:?}");
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|d| d["severity"] == "note")
    );
}

#[test]
fn config_id_selects_conditional_lines() {
    let f = write(
        "d",
        "cond.conf",
        &instance(100, "BACKUP", "@node_b priority 50"),
    );
    let a = lvslab()
        .args(["check", "--config-id", "node_a"])
        .arg(&f)
        .output()
        .expect("run");
    let b = lvslab()
        .args(["check", "--config-id", "node_b"])
        .arg(&f)
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&a.stdout).contains("priority 100"));
    assert!(String::from_utf8_lossy(&b.stdout).contains("priority 50"));
}
