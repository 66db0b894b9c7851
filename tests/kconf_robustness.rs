//! Robustness: the keepalived.conf parser never panics, never loops, and its work stays linear
//! in the input size, on arbitrary bytes and on mutations of the seed configuration (the seed
//! article's keepalived.conf, our own material, inlined below).

use lvs_model::config::{self, MemoryFiles, ParseOptions};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// The seed article's keepalived.conf, verbatim (trailing blanks and Chinese comments kept).
const SEED: &str = r##"global_defs {  
   notification_email {edisonchou@hotmail.com}  
   notification_email_from sns-lvs@gmail.com  
   smtp_server 192.168.80.1  
   smtp_connection_timeout 30
   router_id LVS_DEVEL  # 设置 lvs 的 id,在一个网络内应该是唯一的
}  
vrrp_instance VI_1 {  
    state MASTER   #指定 Keepalived 的角色,MASTER 为主,BACKUP 为备          
    interface eth1  #指定 Keepalived 的角色,MASTER 为主,BACKUP 为备
    virtual_router_id 51  #虚拟路由编号,主备要一致
    priority 100  #定义优先级,数字越大,优先级越高,主 DR 必须大于备用 DR    
    advert_int 1  #检查间隔,默认为 1s
    authentication {  
        auth_type PASS  
        auth_pass 1111  
    }  
    virtual_ipaddress {192.168.80.200  #定义虚拟 IP(VIP)为 192.168.2.33,可多设,每行一个
    }  
}  
# 定义对外提供服务的 LVS 的 VIP 以及 port
virtual_server 192.168.80.200 80 {delay_loop 6 # 设置健康检查时间,单位是秒                    
    lb_algo wrr # 设置负载调度的算法为 wlc                   
    lb_kind DR # 设置 LVS 实现负载的机制,有 NAT、TUN、DR 三个模式   
    nat_mask 255.255.255.0                
    persistence_timeout 0          
    protocol TCP                  
    real_server 192.168.80.102 80 {  # 指定 real server1 的 IP 地址
        weight 3   # 配置节点权值,数字越大权重越高              
        TCP_CHECK {connect_timeout 10         
        nb_get_retry 3  
        delay_before_retry 3  
        connect_port 80  
        }  
    }  
    real_server 192.168.80.103 80 {  # 指定 real server2 的 IP 地址
        weight 3  # 配置节点权值,数字越大权重越高  
        TCP_CHECK {connect_timeout 10  
        nb_get_retry 3  
        delay_before_retry 3  
        connect_port 80  
        }  
     }  
} 
"##;

fn parse_bytes(b: &[u8]) -> config::Parsed {
    let files = MemoryFiles::new().with("keepalived.conf", b.to_vec());
    config::parse(
        &files,
        "keepalived.conf",
        &ParseOptions {
            config_id: Some("node_a".into()),
        },
    )
}

/// Work bound: a constant per input byte plus the fixed substitution allowance.
fn within_budget(p: &config::Parsed, len: usize) -> bool {
    p.steps <= 64 * (len as u64 + 1) + 1_000_000
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        b"{".to_vec(),
        b"}".to_vec(),
        b"\"".to_vec(),
        b"#".to_vec(),
        b"!".to_vec(),
        b"\\".to_vec(),
        b"\n".to_vec(),
        b"$A=${A}${A}".to_vec(),
        b"${A}".to_vec(),
        b"@node_a ".to_vec(),
        b"@^node_a ".to_vec(),
        "\u{a0}".as_bytes().to_vec(),
        "\u{feff}".as_bytes().to_vec(),
        b"include keepalived.conf\n".to_vec(),
        b"include *\n".to_vec(),
        b"\0".to_vec(),
        b"\r".to_vec(),
        b"priority".to_vec(),
        b" 0 ".to_vec(),
        b"virtual_server 1.2.3.4 80 {\n".to_vec(),
        b"HTTP_GET {\n".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), special).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(mut text: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = text.len().max(1);
        match m {
            Mutation::Delete(p, n) => {
                let p = p % len;
                let e = (p + n).min(text.len());
                if p < e {
                    text.drain(p..e);
                }
            }
            Mutation::Insert(p, b) => {
                let p = p % (text.len() + 1);
                text.splice(p..p, b.iter().copied());
            }
            Mutation::DuplicateLine(p) => {
                let p = p % len;
                let s = text[..p.min(text.len())]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |i| i + 1);
                let e = text[s..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(text.len(), |i| s + i + 1);
                let line = text[s..e].to_vec();
                text.splice(e..e, line);
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let p = parse_bytes(&bytes);
        prop_assert!(within_budget(&p, bytes.len()), "steps {} for {} bytes", p.steps, bytes.len());
        for d in &p.diagnostics {
            let _ = p.render(d);
        }
    }

    #[test]
    fn keyword_soup_never_panics(words in prop::collection::vec(prop::sample::select(vec![
        "vrrp_instance", "virtual_server", "real_server", "TCP_CHECK", "HTTP_GET", "url", "{", "}",
        "priority", "virtual_ipaddress", "authentication", "auth_pass", "\n", "\n", " ", "1", "0",
        "192.168.1.1", "\"", "#", "$X=1", "${X}", "include", "global_defs", "notify_master", "'",
    ]), 0..400)) {
        let text = words.concat();
        let p = parse_bytes(text.as_bytes());
        prop_assert!(within_budget(&p, text.len()));
    }

    #[test]
    fn mutated_seed_never_panics(muts in prop::collection::vec(mutation(), 1..12)) {
        let text = apply(SEED.as_bytes().to_vec(), &muts);
        let p = parse_bytes(&text);
        prop_assert!(within_budget(&p, text.len()), "steps {} for {} bytes", p.steps, text.len());
        for d in &p.diagnostics {
            let _ = p.position(d);
        }
    }
}

#[test]
fn seed_reports_keepalived_messages() {
    let p = parse_bytes(SEED.as_bytes());
    let lines: Vec<u32> = p.reported().map(|d| d.line).collect();
    assert_eq!(lines, vec![5, 25, 26, 26, 31, 39]);
}

#[test]
fn work_grows_linearly_with_input() {
    // The seed's vrrp_instance renamed per copy, repeated: steps per byte must stay flat.
    let unit = |k: usize| {
        SEED.replace("VI_1", &format!("VI_{k}")).replace(
            "virtual_router_id 51",
            &format!("virtual_router_id {}", k % 255 + 1),
        )
    };
    let build = |n: usize| (0..n).map(unit).collect::<String>();
    let small = build(4);
    let big = build(64);
    let ps = parse_bytes(small.as_bytes());
    let pb = parse_bytes(big.as_bytes());
    let per_small = ps.steps as f64 / small.len() as f64;
    let per_big = pb.steps as f64 / big.len() as f64;
    println!("steps/byte: {per_small:.2} (4 copies), {per_big:.2} (64 copies)");
    assert!(
        per_big <= per_small * 1.10,
        "work is not linear: {per_small} vs {per_big}"
    );
}
