//! Scenario files for LVS-NAT: a director's further port `addresses`, NAT web servers and
//! their `gateway`, and the errors and warnings about them, each with file:line:col.

use lvslab::lab::Lab;
use lvslab::scenario::{ForwardMethod, IpCidr, Scenario};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Two VRRP instances: the service VIP and the real servers' gateway.
const KEEPALIVED: &str = "vrrp_instance VI_EXT {
    interface eth0
    virtual_router_id 71
    priority 150
    virtual_ipaddress {
        10.0.0.200
    }
}
vrrp_instance VI_INT {
    interface eth0
    virtual_router_id 72
    priority 150
    virtual_ipaddress {
        192.168.80.254
    }
}
";

const GOOD: &str = r#"name = "nat"
seed = 1
duration = "30s"

[[director]]
name = "lvs"
ip = "192.168.80.100/24"
addresses = ["10.0.0.1/24"]
keepalived = "k.conf"

[[web]]
name = "web-102"
ip = "192.168.80.102/24"
method = "nat"
gateway = "192.168.80.254"

[[client]]
name = "client"
ip = "10.0.0.50/24"
get = "http://10.0.0.200/"
rate = "10/s"

[[expect]]
that = "no failed requests"
"#;

/// A fresh directory holding `k.conf` and the scenario; removed when dropped.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(name: &str, text: &str) -> (Dir, PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("lvslab-scenario-nat-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("k.conf"), KEEPALIVED).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    (Dir(dir), path)
}

fn load(name: &str, text: &str) -> Result<Scenario, String> {
    let (_dir, path) = write(name, text);
    Scenario::load(&path).map_err(|e| e.to_string())
}

/// The warnings of a scenario that loads, one string each.
fn warnings(name: &str, text: &str) -> Vec<String> {
    let s = load(name, text).unwrap_or_else(|e| panic!("{e}"));
    s.warnings.iter().map(ToString::to_string).collect()
}

/// GOOD with one piece replaced.
fn with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

const SECOND_DIRECTOR: &str = r#"keepalived = "k.conf"

[[director]]
name = "lvs-backup"
ip = "192.168.80.101/24"
addresses = ["10.0.0.2/24"]
keepalived = "k.conf"
"#;

#[test]
fn the_template_is_valid_and_keeps_the_addresses() {
    let s = load("good", GOOD).unwrap();
    assert_eq!(
        s.extra_addresses("lvs"),
        [IpCidr {
            addr: Ipv4Addr::new(10, 0, 0, 1),
            prefix_len: 24
        }]
    );
    assert!(s.extra_addresses("web-102").is_empty());
    assert_eq!(s.webs[0].method, ForwardMethod::Nat);
    assert_eq!(s.webs[0].gateway, Some(Ipv4Addr::new(192, 168, 80, 254)));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let summary = s.run_summary("x");
    assert_eq!(
        summary.nodes[0].details,
        "keepalived k.conf on eth0, also 10.0.0.1/24"
    );
}

#[test]
fn a_director_without_addresses_is_summarised_as_before() {
    let s = load("plain", &with("addresses = [\"10.0.0.1/24\"]\n", "")).unwrap();
    assert!(s.extra_addresses("lvs").is_empty());
    assert!(s.lan.port_addresses.is_empty());
    assert_eq!(
        s.run_summary("x").nodes[0].details,
        "keepalived k.conf on eth0"
    );
}

#[test]
fn the_lab_puts_the_addresses_on_the_directors_port() {
    let (_dir, path) = write("lab", GOOD);
    let lab = Lab::build(Scenario::load(&path).unwrap(), None).unwrap();
    let director = lab
        .world
        .host("lvs")
        .and_then(|n| n.as_any())
        .and_then(|a| a.downcast_ref::<lvs_model::director::Director>())
        .unwrap();
    assert!(director.stack().is_local(Ipv4Addr::new(10, 0, 0, 1)));
    assert!(director.stack().is_local(Ipv4Addr::new(192, 168, 80, 100)));
    assert!(!director.stack().is_local(Ipv4Addr::new(10, 0, 0, 2)));
    // The outside subnet is on-link: the director reaches the client without a gateway.
    let route = director.stack().route(Ipv4Addr::new(10, 0, 0, 50)).unwrap();
    assert_eq!(route.next_hop, Ipv4Addr::new(10, 0, 0, 50));
}

#[test]
fn a_nat_lab_from_the_template_answers_through_the_director() {
    // Not the full nat.toml: the smallest lab the format allows, run for a few seconds.
    let text = with("duration = \"30s\"", "duration = \"8s\"")
        .replace("rate = \"10/s\"", "rate = \"10/s\"\nstart = \"5s\"");
    let conf = KEEPALIVED.replace("    priority 150\n", "    priority 150\n    advert_int 1\n")
        + "virtual_server 10.0.0.200 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
           real_server 192.168.80.102 80 {\n        weight 1\n    }\n}\n";
    let (dir, path) = write("run", &text);
    std::fs::write(dir.0.join("k.conf"), conf).unwrap();
    let s = Scenario::load(&path).unwrap();
    let lab = Lab::build(s, None).unwrap();
    let scenario = lab.scenario.clone();
    let (_, out) = lab.run(|_, _| {}).unwrap();
    let answered = out
        .records
        .iter()
        .filter(|r| {
            matches!(&r.event, lvs_model::event::Event::HttpRequest { status: Some(200), server: Some(s), .. } if s == "192.168.80.102")
        })
        .count();
    // 10/s from 5 s to 8 s, after the MASTER at 3 s + 106/256 s.
    assert_eq!(answered, 30);
    assert!(scenario.evaluate(&out.records).iter().all(|v| v.passed));
}

#[test]
fn an_unknown_director_field_names_file_and_line() {
    let e = load("typo", &with("addresses = [", "adresses = [")).unwrap_err();
    assert!(e.contains("typo.toml:8:1: unknown field `adresses`"), "{e}");
}

#[test]
fn a_bad_address_names_its_column() {
    let e = load(
        "prefix",
        &with("[\"10.0.0.1/24\"]", "[\"10.0.0.5/24\", \"10.0.0.1\"]"),
    )
    .unwrap_err();
    assert!(
        e.contains("prefix.toml:8:29: `10.0.0.1`: write the address with its prefix"),
        "{e}"
    );
    let e = load("net", &with("[\"10.0.0.1/24\"]", "[\"10.0.0.0/24\"]")).unwrap_err();
    assert!(
        e.contains("net.toml:8:14: `10.0.0.0/24` is the network or broadcast address"),
        "{e}"
    );
}

#[test]
fn an_address_another_node_has_is_an_error() {
    // The client's address on the director: the client, declared later, is the one reported.
    let e = load("dup", &with("[\"10.0.0.1/24\"]", "[\"10.0.0.50/24\"]")).unwrap_err();
    assert!(
        e.contains("dup.toml:18:8: `client` has address 10.0.0.50 which `lvs` already has"),
        "{e}"
    );
    // Two directors with the same outside address: the second one's is reported, at its column.
    let e = load(
        "dup2",
        &with(
            "keepalived = \"k.conf\"\n",
            &SECOND_DIRECTOR.replace("10.0.0.2/24", "10.0.0.1/24"),
        ),
    )
    .unwrap_err();
    assert!(
        e.contains("dup2.toml:14:14: `lvs-backup` has address 10.0.0.1 which `lvs` already has"),
        "{e}"
    );
    // Its own `ip` again.
    let e = load(
        "dup3",
        &with(
            "[\"10.0.0.1/24\"]",
            "[\"10.0.0.1/24\", \"192.168.80.100/24\"]",
        ),
    )
    .unwrap_err();
    assert!(
        e.contains("dup3.toml:8:29: `lvs` has address 192.168.80.100 twice"),
        "{e}"
    );
}

#[test]
fn a_realserver_vip_on_a_directors_further_address_is_an_error() {
    let text = with(
        "gateway = \"192.168.80.254\"\n",
        "gateway = \"192.168.80.254\"\n\n[[web]]\nname = \"web-103\"\nip = \"192.168.80.103/24\"\n\
         realserver = { vip = \"10.0.0.1\" }\n",
    );
    let e = load("rsvip", &text).unwrap_err();
    assert!(
        e.contains("rsvip.toml:18:8: `web-103`'s realserver VIP 10.0.0.1 is `lvs`'s own address"),
        "{e}"
    );
}

#[test]
fn a_nat_gateway_must_be_a_director_address_or_vip() {
    let e = load("gw", &with("\"192.168.80.254\"", "\"192.168.80.1\"")).unwrap_err();
    assert!(
        e.contains(
            "gw.toml:15:11: gateway 192.168.80.1 is neither a director's address nor a VIP in \
             their keepalived files, so NAT replies would not go back through a director \
             (on 192.168.80.0/24: 192.168.80.254 (a VIP of `lvs`'s VI_INT), \
             192.168.80.100 (`lvs`'s address))"
        ),
        "{e}"
    );
    // The director's own inside address is a director address.
    assert!(warnings("own", &with("\"192.168.80.254\"", "\"192.168.80.100\"")).is_empty());
    // A DR web server's gateway may be any router.
    let dr = with("method = \"nat\"", "method = \"dr\"").replace("192.168.80.254", "192.168.80.1");
    assert!(load("dr", &dr).is_ok());
}

#[test]
fn a_nat_web_server_without_gateway_gets_the_candidates() {
    let e = load("nogw", &with("gateway = \"192.168.80.254\"\n", "")).unwrap_err();
    assert!(
        e.contains(
            "nogw.toml:12:8: a NAT real server needs `gateway` (its replies must go back \
             through the director); on 192.168.80.0/24: 192.168.80.254 (a VIP of `lvs`'s \
             VI_INT), 192.168.80.100 (`lvs`'s address)"
        ),
        "{e}"
    );
    // No director on the web server's subnet at all.
    let e = load(
        "nogw2",
        &with("gateway = \"192.168.80.254\"\n", "").replace("192.168.80.102/24", "172.16.0.2/24"),
    )
    .unwrap_err();
    assert!(
        e.contains("nogw2.toml:12:8: a NAT real server needs `gateway` (its replies must go back through the director); no director has an address on 172.16.0.0/24"),
        "{e}"
    );
}

#[test]
fn a_pairs_nat_gateway_on_one_directors_own_address_is_a_warning() {
    let pair = with("keepalived = \"k.conf\"\n", SECOND_DIRECTOR);
    assert!(warnings("pair", &pair).is_empty());
    let w = warnings(
        "pairown",
        &pair.replace(
            "gateway = \"192.168.80.254\"",
            "gateway = \"192.168.80.100\"",
        ),
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].ends_with(
            "pairown.toml:21:11: gateway 192.168.80.100 is `lvs`'s address, not a VIP: after a \
             failover the replies still go to that director (on 192.168.80.0/24: \
             192.168.80.254 (a VIP of `lvs`'s VI_INT), 192.168.80.100 (`lvs`'s address), \
             192.168.80.101 (`lvs-backup`'s address))"
        ),
        "{w:?}"
    );
}

#[test]
fn a_nat_web_server_with_a_realserver_vip_is_a_warning() {
    let w = warnings(
        "natrs",
        &with(
            "method = \"nat\"",
            "method = \"nat\"\nrealserver = { vip = \"10.0.0.200\" }",
        ),
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].ends_with(
            "natrs.toml:15:14: a NAT real server gets packets for its own address: the VIP on \
             lo (`realserver`) is for dr and tun"
        ),
        "{w:?}"
    );
}

#[test]
fn a_client_on_a_nat_servers_subnet_is_a_warning() {
    let w = warnings(
        "samenet",
        &with("ip = \"10.0.0.50/24\"", "ip = \"192.168.80.50/24\""),
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].ends_with(
            "samenet.toml:19:6: `client` is on the subnet of NAT real server `web-102` \
             (192.168.80.102/24): the server answers it directly, not through the director, \
             so the replies come from the wrong address"
        ),
        "{w:?}"
    );
    // A DR server on the client's subnet is the usual seed setup: no warning.
    let dr = with("ip = \"10.0.0.50/24\"", "ip = \"192.168.80.50/24\"")
        .replace("method = \"nat\"", "method = \"dr\"");
    assert!(warnings("samenet-dr", &dr).is_empty());
}
