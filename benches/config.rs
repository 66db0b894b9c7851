//! Parsing speed of the keepalived.conf front end: a 10,000-line configuration built from the
//! seed's instance and virtual server (renamed per copy). Target: ≤ 10 ms per parse.

use criterion::{Criterion, criterion_group, criterion_main};
use lvs_model::config::{self, ParseOptions};
use std::hint::black_box;

const UNIT: &str = "vrrp_instance VI_N {  \n    state MASTER   # initial state\n    interface eth1\n    virtual_router_id VRID  # same on master and backup\n    priority 100\n    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n    virtual_ipaddress {192.168.80.200  # the VIP\n    }\n}\nvirtual_server 10.0.X.Y 80 {delay_loop 6\n    lb_algo wrr\n    lb_kind DR\n    persistence_timeout 50\n    protocol TCP\n    real_server 192.168.80.102 80 {\n        weight 3\n        TCP_CHECK {connect_timeout 10\n        retry 3\n        delay_before_retry 3\n        connect_port 80\n        }\n    }\n    real_server 192.168.80.103 80 {\n        weight 3\n        TCP_CHECK {connect_timeout 10\n        retry 3\n        delay_before_retry 3\n        connect_port 80\n        }\n    }\n}\n";

fn ten_thousand_lines() -> String {
    let mut out = String::from("global_defs {\n    router_id LVS_DEVEL\n}\n");
    let mut k = 0usize;
    while out.lines().count() < 10_000 {
        out.push_str(
            &UNIT
                .replace("VI_N", &format!("VI_{k}"))
                .replace("VRID", &(k % 255 + 1).to_string())
                .replace("X.Y", &format!("{}.{}", k / 250, k % 250 + 1)),
        );
        k += 1;
    }
    out
}

fn bench_parse(c: &mut Criterion) {
    let text = ten_thousand_lines();
    let opts = ParseOptions::default();
    c.bench_function("parse_10000_lines", |b| {
        b.iter(|| black_box(config::parse_str(black_box(&text), &opts)))
    });
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
