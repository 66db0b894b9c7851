//! Every scenario file in `scenarios/` parses and validates; bad scenarios fail with the file
//! and line of the problem.

use lvslab::scenario::Scenario;
use std::path::{Path, PathBuf};

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scenario_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn every_scenario_file_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files = Vec::new();
    scenario_files(&root, &mut files);
    assert!(
        files.len() >= 6,
        "the seed scenarios are missing: {files:?}"
    );
    let mut failures = Vec::new();
    for f in &files {
        match Scenario::load(f) {
            Ok(s) => {
                assert!(
                    !s.expectations.is_empty(),
                    "{}: no expectations",
                    f.display()
                );
                assert!(!s.directors.is_empty(), "{}: no director", f.display());
            }
            Err(e) => failures.push(format!("{e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "invalid scenarios:\n{}",
        failures.join("\n")
    );
}

#[test]
fn seed_scenarios_describe_the_seed_lab() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/seed");
    let s = Scenario::load(root.join("03-master-stop.toml")).unwrap();
    let names: Vec<&str> = s.directors.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["lvs-master", "lvs-backup"]);
    assert_eq!(s.directors[0].interface, "eth1");
    assert_eq!(
        s.directors[0].keepalived,
        root.join("keepalived-master.conf")
    );
    assert_eq!(s.faults.len(), 1);
    assert_eq!(s.faults[0].action.to_string(), "stop keepalived");
    assert_eq!(s.lan.latency, std::time::Duration::from_micros(50));
    // The seed's configs are the article's, byte for byte: the backup's vrrp_instance is the
    // one the article prints for it.
    let master = std::fs::read_to_string(root.join("keepalived-master.conf")).unwrap();
    let backup = std::fs::read_to_string(root.join("keepalived-backup.conf")).unwrap();
    assert!(master.contains("    state MASTER   #"));
    assert!(backup.contains("    state BACKUP # 这里改为 BACKUP\n"));
    assert!(backup.contains("    priority 99 # 这里改为 99,master 优先级是 100\n"));
    assert!(master.contains("virtual_server 192.168.80.200 80 {delay_loop 6 #"));
    assert_eq!(master.lines().count(), backup.lines().count());
}

/// Writes a scenario into a fresh directory beside a keepalived.conf and loads it.
fn load_text(name: &str, text: &str) -> Result<Scenario, String> {
    let dir = std::env::temp_dir().join(format!(
        "lvslab-scenario-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("k.conf"), "vrrp_instance VI_1 {\n}\n").unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let r = Scenario::load(&path).map_err(|e| e.to_string());
    std::fs::remove_dir_all(&dir).unwrap();
    r
}

const GOOD: &str = r#"name = "t"
seed = 1
duration = "60s"

[[director]]
name = "lvs-master"
ip = "192.168.80.100/24"
keepalived = "k.conf"

[[web]]
name = "web-102"
ip = "192.168.80.102/24"
realserver = { vip = "192.168.80.200", arp_ignore = 1, arp_announce = 2 }

[[client]]
name = "client"
ip = "192.168.80.50/24"
get = "http://192.168.80.200/"
rate = "20/s"

[[at]]
t = "30s"
do = "stop httpd"
on = "web-102"

[[expect]]
that = "dest 192.168.80.102:80 removed on lvs-master within 15s"
"#;

/// GOOD with one line replaced.
fn with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_template_is_valid() {
    let s = load_text("good", GOOD).unwrap();
    assert_eq!(s.faults[0].at, std::time::Duration::from_secs(30));
    assert_eq!(s.expectations[0].line, 27);
}

#[test]
fn unknown_field_names_file_and_line() {
    let e = load_text(
        "unknown",
        &with("rate = \"20/s\"", "rate = \"20/s\"\nburst = 3"),
    )
    .unwrap_err();
    assert!(
        e.contains("unknown.toml:20:1: unknown field `burst`"),
        "{e}"
    );
}

#[test]
fn bad_duration_names_file_and_line() {
    let e = load_text("dur", &with("t = \"30s\"", "t = \"30 seconds\"")).unwrap_err();
    assert!(e.contains("dur.toml:22:5: bad duration"), "{e}");
    assert!(e.contains("unknown unit `seconds`"), "{e}");
    let e = load_text("dur2", &with("duration = \"60s\"", "duration = 60")).unwrap_err();
    assert!(e.contains("dur2.toml:3:12:"), "{e}");
}

#[test]
fn unknown_node_names_file_and_line() {
    let e = load_text("node", &with("on = \"web-102\"", "on = \"web-104\"")).unwrap_err();
    assert!(e.contains("node.toml:24:6: unknown node `web-104`"), "{e}");
    let e = load_text(
        "node2",
        &with("removed on lvs-master", "removed on lvs-slave"),
    )
    .unwrap_err();
    // The column is the word's inside the string: the quote is at column 8, `lvs-slave` 35 characters later.
    assert!(
        e.contains("node2.toml:27:43: unknown node `lvs-slave`"),
        "{e}"
    );
}

#[test]
fn bad_fault_names_file_and_line() {
    let e = load_text(
        "fault",
        &with("do = \"stop httpd\"", "do = \"reboot httpd\""),
    )
    .unwrap_err();
    assert!(
        e.contains("fault.toml:23:6: invalid fault `reboot httpd`"),
        "{e}"
    );
    // A fault on a process the node does not run.
    let e = load_text(
        "fault2",
        &with("do = \"stop httpd\"", "do = \"stop keepalived\""),
    )
    .unwrap_err();
    assert!(
        e.contains(
            "fault2.toml:24:6: `web-102` is a web and runs `httpd`, so it cannot `stop keepalived`"
        ),
        "{e}"
    );
    let e = load_text("fault3", &with("t = \"30s\"", "t = \"61s\"")).unwrap_err();
    assert!(
        e.contains("fault3.toml:22:5: the fault at 61s comes after the end of the run"),
        "{e}"
    );
}

#[test]
fn an_interface_keepalived_does_not_name_is_a_warning() {
    let dir = std::env::temp_dir().join(format!("lvslab-scenario-warn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("k.conf"),
        "vrrp_instance VI_1 {\n    interface eth1  # the seed's port\n}\n",
    )
    .unwrap();
    let path = dir.join("w.toml");
    std::fs::write(&path, GOOD).unwrap();
    let s = Scenario::load(&path).unwrap();
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    let w = s.warnings[0].to_string();
    assert!(
        w.contains("w.toml:8:14: `k.conf` names interface eth1 but `lvs-master`'s port is `eth0`"),
        "{w}"
    );
    std::fs::write(
        &path,
        GOOD.replace(
            "keepalived = \"k.conf\"",
            "keepalived = \"k.conf\"\ninterface = \"eth1\"",
        ),
    )
    .unwrap();
    assert!(Scenario::load(&path).unwrap().warnings.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_node_name_is_an_error_not_a_panic() {
    let e = load_text("badname", &with("name = \"web-102\"", "name = \"web 102\"")).unwrap_err();
    assert!(
        e.contains("badname.toml:11:8: node name `web 102` may only use"),
        "{e}"
    );
}

#[test]
fn other_validation_errors() {
    let e = load_text(
        "kfile",
        &with("keepalived = \"k.conf\"", "keepalived = \"missing.conf\""),
    )
    .unwrap_err();
    assert!(
        e.contains("kfile.toml:8:14: keepalived file `missing.conf` not found"),
        "{e}"
    );
    let e = load_text("dup", &with("192.168.80.50/24", "192.168.80.102/24")).unwrap_err();
    assert!(
        e.contains(
            "dup.toml:16:8: `client` has address 192.168.80.102 which `web-102` already has"
        ),
        "{e}"
    );
    let e = load_text(
        "vip",
        &with("vip = \"192.168.80.200\"", "vip = \"192.168.80.100\""),
    )
    .unwrap_err();
    assert!(
        e.contains(
            "vip.toml:11:8: `web-102`'s realserver VIP 192.168.80.100 is `lvs-master`'s own address"
        ),
        "{e}"
    );
    let e = load_text("late", &with("within 15s", "within 45s")).unwrap_err();
    assert!(e.contains("late.toml:27:54:"), "{e}");
    assert!(e.contains("75s is after the end of the run (60s)"), "{e}");
    let e = load_text("ip", &with("192.168.80.100/24", "192.168.80.100")).unwrap_err();
    assert!(
        e.contains("ip.toml:7:6: `192.168.80.100`: write the address with its prefix"),
        "{e}"
    );
    let e = load_text(
        "two",
        &with("rate = \"20/s\"", "rate = \"20/s\"\nconcurrency = 2"),
    )
    .unwrap_err();
    assert!(
        e.contains("two.toml:19:8: give either `rate` or `concurrency`"),
        "{e}"
    );
    // Every problem is reported, in file order.
    let e = load_text(
        "many",
        &with("on = \"web-102\"", "on = \"web-104\"").replace("20/s", "fast"),
    )
    .unwrap_err();
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 2, "{e}");
    assert!(lines[0].contains("many.toml:19:"), "{e}");
    assert!(lines[1].contains("many.toml:24:"), "{e}");
}
