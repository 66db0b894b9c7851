//! `lvslab tap` refuses bad arguments with a clear message and exit 2, before it touches any
//! device (so these run anywhere, root or not).

use std::process::Command;

fn tap(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvslab"))
        .arg("tap")
        .args(["--conf", "scenarios/seed/keepalived-master.conf"])
        .args(args)
        .output()
        .expect("lvslab runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_exit_2_with_the_reason() {
    let cases: &[(&[&str], &str)] = &[
        (&["--iface", "t0", "--ip", "192.168.80.100"], "prefix"),
        (
            &["--iface", "t0", "--ip", "192.168.80.300/24"],
            "not an IPv4 address",
        ),
        (
            &[
                "--iface",
                "t0",
                "--ip",
                "192.168.80.100/24",
                "--mac",
                "01:00:5e:00:00:12",
            ],
            "not a unicast MAC",
        ),
        (
            &[
                "--iface",
                "t0",
                "--ip",
                "192.168.80.100/24",
                "--duration",
                "5",
            ],
            "--duration",
        ),
        (
            &["--iface", "much-too-long-name", "--ip", "192.168.80.100/24"],
            "not a valid interface name",
        ),
    ];
    for (args, reason) in cases {
        let (code, stderr) = tap(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
