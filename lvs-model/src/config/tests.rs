//! Unit tests on small inline configurations written for lvslab.

use super::*;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn p(text: &str) -> Parsed {
    parse_str(text, &ParseOptions::default())
}

/// (line, message) of every message keepalived would print.
fn msgs(x: &Parsed) -> Vec<(u32, String)> {
    x.reported().map(|d| (d.line, d.message.clone())).collect()
}

const BASE_VRRP: &str = "vrrp_instance VI_1 {\n state BACKUP\n interface eth1\n virtual_router_id 51\n priority 90\n virtual_ipaddress {\n  192.168.80.200\n }\n}\n";

#[test]
fn clean_instance_has_keepalived_defaults() {
    let x = p(BASE_VRRP);
    assert_eq!(x.verdict(), Verdict::Accept, "{:?}", msgs(&x));
    let i = &x.config.vrrp_instances[0];
    assert_eq!(i.vrid, Some(51));
    assert_eq!(i.priority, 90);
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert_eq!(i.version, VrrpVersion::V2);
    assert_eq!(i.initial_state, VrrpState::Backup);
    assert_eq!(i.garp_master_delay, Duration::from_secs(5));
    assert_eq!(i.garp_master_repeat, 5);
    assert_eq!(
        i.virtual_ipaddresses[0].addr,
        IpAddr::V4(Ipv4Addr::new(192, 168, 80, 200))
    );
    assert_eq!(i.virtual_ipaddresses[0].prefix_len, 32);
    assert_eq!(i.location.line, 1);
}

#[test]
fn braces_glued_to_words_and_comments_anywhere() {
    let x = p(
        "global_defs {\n notification_email {a@b.c}\n router_id X#c\n}\nvrrp_instance VI_1{\n state MASTER#m\n interface eth1!x\n virtual_router_id 51 # 注释\n priority 100\n authentication {\n auth_type PASS\n auth_pass 1111}\n virtual_ipaddress {192.168.80.200/24 dev eth1 label eth1:0}}\n",
    );
    assert_eq!(x.verdict(), Verdict::Accept, "{:?}", msgs(&x));
    assert_eq!(
        x.config.global.notification_email,
        vec!["a@b.c".to_string()]
    );
    assert_eq!(x.config.global.router_id.as_deref(), Some("X"));
    let i = &x.config.vrrp_instances[0];
    assert_eq!(i.initial_state, VrrpState::Master);
    let a = i.authentication.as_ref().expect("auth kept");
    assert_eq!(a.password, b"1111");
    assert_eq!(i.virtual_ipaddresses[0].prefix_len, 24);
    assert_eq!(i.virtual_ipaddresses[0].label.as_deref(), Some("eth1:0"));
}

#[test]
fn one_statement_per_line_even_in_a_one_line_block() {
    let x = p(
        "vrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n authentication { auth_type PASS auth_pass 1111 }\n virtual_ipaddress { 10.0.0.1 10.0.0.2 }\n}\n",
    );
    let m = msgs(&x);
    assert!(
        m.contains(&(
            5,
            "Unknown configuration entry '10.0.0.2' for ip address - ignoring".into()
        )),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|(_, s)| s == "(VI_1) Authentication specified but no password given. Ignoring"),
        "{m:?}"
    );
    assert!(x.config.vrrp_instances[0].authentication.is_none());
}

#[test]
fn unknown_block_closes_the_enclosing_block() {
    let text = "vrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n virtual_ipaddress {\n 10.0.0.1\n }\n bogus_block {\n  priority 50\n }\n priority 60\n}\n";
    let x = p(text);
    let m = msgs(&x);
    assert!(
        m.contains(&(7, "Unknown keyword 'bogus_block'".into())),
        "{m:?}"
    );
    assert!(
        m.contains(&(7, "Unexpected '{' - ignoring".into())),
        "{m:?}"
    );
    // Line 8 is read as an instance keyword; line 9's `}` closes the instance, so line 10 is a
    // top-level unknown keyword and line 11's `}` is unknown too.
    assert!(
        m.contains(&(10, "Unknown keyword 'priority'".into())),
        "{m:?}"
    );
    assert!(m.contains(&(11, "Unknown keyword '}'".into())), "{m:?}");
    assert_eq!(x.config.vrrp_instances[0].priority, 50);
}

#[test]
fn nbsp_and_bom_are_not_whitespace_and_keywords_are_case_sensitive() {
    let x =
        p("\u{feff}global_defs {\n}\nvrrp_instance VI_1 {\n\u{a0}state BACKUP\n State BACKUP\n}\n");
    let m = msgs(&x);
    assert!(
        m.contains(&(1, "Unknown keyword '<U+FEFF>global_defs'".into())),
        "{m:?}"
    );
    assert!(
        m.contains(&(4, "Unknown keyword '<U+00A0>state'".into())),
        "{m:?}"
    );
    assert!(m.contains(&(5, "Unknown keyword 'State'".into())), "{m:?}");
}

#[test]
fn out_of_range_values_are_rejected_clamped_or_defaulted() {
    let x = p(
        "vrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n version 3\n priority 0\n advert_int 41\n virtual_ipaddress {\n 10.0.0.1/33\n }\n}\n",
    );
    let m = msgs(&x);
    assert!(
        m.contains(&(5, "number '0' outside range [1, 255]".into())),
        "{m:?}"
    );
    assert!(
        m.contains(&(
            5,
            "(VI_1) Priority not valid! must be between 1 & 255. Using default 100".into()
        )),
        "{m:?}"
    );
    assert!(
        m.contains(&(
            8,
            "Invalid address prefix len 33 for address 10.0.0.1/33 - using 32".into()
        )),
        "{m:?}"
    );
    let i = &x.config.vrrp_instances[0];
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_int, Duration::from_millis(40_950));
    assert_eq!(i.virtual_ipaddresses[0].prefix_len, 32);
    assert!(x.config.startup_failure.is_none());
}

#[test]
fn vrid_zero_disables_the_daemon() {
    let x = p(&BASE_VRRP.replace("virtual_router_id 51", "virtual_router_id 0"));
    let m = msgs(&x);
    assert!(
        m.contains(&(
            4,
            "(VI_1): VRID '0' not valid - must be between 1 & 255".into()
        )),
        "{m:?}"
    );
    let d = x
        .reported()
        .find(|d| d.message == "(VI_1) the virtual router id must be set")
        .expect("validation message");
    assert_eq!(d.effect, Effect::InstanceDisabled);
    assert!(!d.keepalived_line);
    assert!(x.config.startup_failure.is_some());
}

#[test]
fn master_without_priority_is_owner_and_nopreempt_is_cleared() {
    let x = p(&BASE_VRRP
        .replace("state BACKUP", "state MASTER\n nopreempt")
        .replace(" priority 90\n", ""));
    let i = &x.config.vrrp_instances[0];
    assert_eq!(i.priority, 255);
    assert!(!i.nopreempt);
    assert!(
        msgs(&x)
            .iter()
            .any(|(_, s)| s.contains("nopreempt is incompatible with priority 255"))
    );
}

const VS: &str = "virtual_server 192.168.80.200 80 {\n delay_loop 6\n lb_algo wrr\n lb_kind DR\n protocol TCP\n real_server 192.168.80.102 80 {\n  weight 3\n  TCP_CHECK {\n   connect_timeout 10\n   nb_get_retry 3\n   delay_before_retry 3\n  }\n }\n}\n";

#[test]
fn nb_get_retry_is_unknown_in_tcp_check_so_retry_stays_1() {
    let x = p(VS);
    let d = x
        .reported()
        .find(|d| d.line == 10)
        .expect("line 10 flagged");
    assert_eq!(d.message, "Unknown keyword 'nb_get_retry'");
    assert!(d.help.as_deref().unwrap_or("").contains("retry"));
    let vs = &x.config.virtual_servers[0];
    assert_eq!(vs.lb_algo, LbAlgo::Wrr);
    assert_eq!(vs.lb_kind, LbKind::Dr);
    let c = &vs.real_servers[0].checkers[0];
    assert_eq!(c.kind, CheckerKind::Tcp);
    assert_eq!(c.retry, 1);
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.delay_before_retry, Duration::from_secs(3));
    assert_eq!(c.delay_loop, Duration::from_secs(6));
    assert_eq!(c.warmup, Duration::from_secs(6));
    assert_eq!(c.connect_port, 80);
}

#[test]
fn nb_get_retry_is_a_deprecated_alias_in_http_get() {
    let x = p(&VS.replace(
        "TCP_CHECK {",
        "HTTP_GET {\n   url {\n    path /\n    status_code 200\n   }",
    ));
    let m = msgs(&x);
    assert!(
        m.iter()
            .any(|(_, s)| s == "nb_get_retry is deprecated - please use 'retry'"),
        "{m:?}"
    );
    let c = &x.config.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(c.retry, 3);
    let CheckerKind::Http(h) = &c.kind else {
        panic!("http")
    };
    assert_eq!(h.urls[0].path, "/");
    assert_eq!(h.urls[0].status_codes, vec![(200, 200)]);
}

#[test]
fn unknown_scheduler_method_and_missing_protocol_take_keepalived_defaults() {
    let x = p(&VS
        .replace("lb_algo wrr", "lb_algo WRR")
        .replace("lb_kind DR", "lb_kind dr")
        .replace(" protocol TCP\n", ""));
    let vs = &x.config.virtual_servers[0];
    assert_eq!(vs.lb_algo, LbAlgo::Wlc);
    assert_eq!(vs.lb_kind, LbKind::Nat);
    assert_eq!(vs.protocol, Protocol::Udp);
    let m = msgs(&x);
    assert!(
        m.contains(&(3, "Invalid lvs_scheduler 'WRR' - ignoring".into())),
        "{m:?}"
    );
    assert!(
        m.contains(&(
            4,
            "PARSER : unknown [dr] routing method for virtual server.".into()
        )),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|(_, s)| s.ends_with("no protocol set - defaulting to UDP")),
        "{m:?}"
    );
}

#[test]
fn missing_parameter_exits_the_daemon() {
    let x = p(&BASE_VRRP.replace("priority 90", "priority"));
    let d = x
        .reported()
        .find(|d| d.effect == Effect::DaemonExits)
        .expect("exit");
    assert_eq!(d.line, 5);
    assert!(
        d.message
            .starts_with("*** Configuration line starting `priority` is missing a parameter")
    );
    assert!(x.config.startup_failure.is_some());
}

#[test]
fn includes_globs_and_relative_paths_through_the_loader() {
    let files = MemoryFiles::new()
        .with("etc/k/keepalived.conf", "global_defs {\n router_id A\n}\ninclude conf.d/*.conf\n")
        .with("etc/k/conf.d/b.conf", "vrrp_instance VI_2 {\n interface eth1\n virtual_router_id 52\n virtual_ipaddress {\n 10.0.0.2\n }\n}\n")
        .with("etc/k/conf.d/a.conf", "vrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n bad_kw\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n");
    let x = parse(&files, "etc/k/keepalived.conf", &ParseOptions::default());
    let names: Vec<_> = x
        .config
        .vrrp_instances
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["VI_1", "VI_2"]);
    let d = x.reported().next().expect("one message");
    let (file, line, col) = x.position(d);
    assert_eq!((file.as_str(), line, col), ("etc/k/conf.d/a.conf", 4, 2));
    assert_eq!(
        x.config.vrrp_instances[1].location.file,
        "etc/k/conf.d/b.conf"
    );
}

#[test]
fn parameters_and_conditional_lines() {
    let text = "$IF=eth1\n$VIP=10.0.0.1\nvrrp_instance VI_1 {\n interface ${IF}\n virtual_router_id 51\n@node_a priority 150\n@^node_a priority 90\n virtual_ipaddress {\n ${VIP}/24\n $VIP/24\n }\n}\n";
    let a = parse_str(
        text,
        &ParseOptions {
            config_id: Some("node_a".into()),
        },
    );
    let b = parse_str(
        text,
        &ParseOptions {
            config_id: Some("node_b".into()),
        },
    );
    assert_eq!(a.config.vrrp_instances[0].priority, 150);
    assert_eq!(b.config.vrrp_instances[0].priority, 90);
    assert_eq!(
        a.config.vrrp_instances[0].interface.as_deref(),
        Some("eth1")
    );
    assert_eq!(a.config.vrrp_instances[0].virtual_ipaddresses.len(), 1);
    assert!(msgs(&a).contains(&(10, "VRRP parsed invalid IP $VIP/24. skipping IP...".into())));
}

#[test]
fn brace_balance_messages() {
    let x = p(&format!("{BASE_VRRP}}}\n"));
    let m = msgs(&x);
    assert!(m.contains(&(10, "Extra '}' found".into())), "{m:?}");
    assert!(m.contains(&(10, "Unknown keyword '}'".into())), "{m:?}");
    let y = p(&BASE_VRRP[..BASE_VRRP.len() - 2]);
    assert!(
        msgs(&y)
            .iter()
            .any(|(_, s)| s == "There are 1 missing '}'s or extra '{'s")
    );
    assert_eq!(y.config.vrrp_instances.len(), 1);
}

#[test]
fn quorum_and_hysteresis_are_corrected() {
    let x = p(&VS.replace("weight 3", "weight 0"));
    let vs = &x.config.virtual_servers[0];
    assert_eq!(vs.quorum, 0);
    assert_eq!(vs.hysteresis, u32::MAX);
    let y = p(&VS.replace(" delay_loop 6\n", " delay_loop 6\n persistence_timeout 0\n"));
    assert!(msgs(&y).contains(&(3, "persistence_timeout invalid".into())));
    assert_eq!(y.config.virtual_servers[0].persistence_timeout, None);
}

#[test]
fn not_simulated_keywords_are_kept_and_noted_once() {
    let x = p(&BASE_VRRP.replace(
        "priority 90",
        "priority 90\n promote_secondaries\n promote_secondaries",
    ));
    assert_eq!(x.verdict(), Verdict::Accept);
    assert_eq!(x.config.not_simulated.len(), 2);
    let notes = x
        .diagnostics
        .iter()
        .filter(|d| d.code == "not-simulated")
        .count();
    assert_eq!(notes, 1);
}

#[test]
fn rendered_diagnostic_has_snippet() {
    let x = p(VS);
    let d = x.reported().next().expect("message");
    let s = x.render(d);
    assert!(s.contains("nb_get_retry"), "{s}");
    assert!(s.contains("keepalived.conf:10:"), "{s}");
}

#[test]
fn shared_timers_keep_each_level_message_and_inherit_downwards() {
    let x = p(
        "virtual_server 10.0.0.1 80 {\n    delay_loop x\n    warmup -1\n    protocol TCP\n    lb_algo rr\n    lb_kind DR\n    real_server 10.0.0.2 80 {\n        connect_timeout 0\n        delay_before_retry 2\n        TCP_CHECK {\n            delay_loop 0\n            warmup 7\n        }\n    }\n}\n",
    );
    let m = msgs(&x);
    for want in [
        (2, "virtual server delay loop 'x' invalid - ignoring"),
        (3, "virtual server warmup '-1' invalid - ignoring"),
        (8, "real server connect_timeout '0' invalid - ignoring"),
        (11, "delay_loop '0' is invalid - ignoring"),
    ] {
        assert!(
            m.iter().any(|(l, s)| *l == want.0 && s == want.1),
            "{want:?} in {m:?}"
        );
    }
    let vs = &x.config.virtual_servers[0];
    assert_eq!(vs.delay_loop, Duration::from_secs(60));
    let c = &vs.real_servers[0].checkers[0];
    assert_eq!(c.warmup, Duration::from_secs(7));
    assert_eq!(c.delay_before_retry, Duration::from_secs(2));
    assert_eq!(c.delay_loop, Duration::from_secs(60));
    assert_eq!(c.connect_timeout, Duration::from_secs(5));
}
