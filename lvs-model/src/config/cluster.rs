//! Cluster lints over several directors' configurations (lvslab's own advice; keepalived checks
//! none of this, so the CLI prints every finding as a note).
//!
//! Peers are instances with the same VRID on the same interface name. They must agree on
//! authentication, advert_int, VRRP version and VIPs; their priorities should differ; nopreempt
//! only works when every peer starts as BACKUP. When a director's interface addresses are
//! known, VIPs should lie in an interface subnet and DR real servers on a directly connected
//! subnet.

use super::model::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// An address of one of a director's interfaces (`eth1=192.168.80.100/24`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAddr {
    pub interface: String,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl InterfaceAddr {
    /// Parses `IF=A.B.C.D/LEN`.
    pub fn parse(s: &str) -> Option<InterfaceAddr> {
        let (ifname, rest) = s.split_once('=')?;
        let (a, l) = rest.split_once('/')?;
        let prefix_len: u8 = l.parse().ok().filter(|l| *l <= 32)?;
        Some(InterfaceAddr {
            interface: ifname.to_string(),
            addr: a.parse().ok()?,
            prefix_len,
        })
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len)
        };
        u32::from(self.addr) & mask == u32::from(ip) & mask
    }
}

/// One director: its parsed configuration and what is known about its interfaces.
#[derive(Clone, Copy, Debug)]
pub struct Director<'a> {
    pub name: &'a str,
    pub config: &'a KeepalivedConfig,
    pub interfaces: &'a [InterfaceAddr],
}

/// One cluster finding, located on one director.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Index into the directors given to [`lint`].
    pub director: usize,
    pub location: Option<Location>,
    pub code: &'static str,
    pub message: String,
}

fn auth_text(a: &Option<Authentication>) -> String {
    match a {
        None => "none".into(),
        Some(a) => format!(
            "{:?} '{}'",
            a.auth_type,
            String::from_utf8_lossy(&a.password)
        ),
    }
}

fn vip_set(i: &VrrpInstance) -> Vec<String> {
    let mut v: Vec<String> = i
        .virtual_ipaddresses
        .iter()
        .map(|v| format!("{}/{}", v.addr, v.prefix_len))
        .collect();
    v.sort();
    v
}

/// Runs every cluster lint.
pub fn lint(directors: &[Director<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    // Peers: (vrid, interface) -> [(director, instance)].
    let mut peers: BTreeMap<(u8, String), Vec<(usize, &VrrpInstance)>> = BTreeMap::new();
    for (d, dir) in directors.iter().enumerate() {
        for i in &dir.config.vrrp_instances {
            if let Some(vrid) = i.vrid {
                peers
                    .entry((vrid, i.interface.clone().unwrap_or_default()))
                    .or_default()
                    .push((d, i));
            }
        }
    }
    for ((vrid, ifname), list) in &peers {
        if directors.len() > 1 && list.len() == 1 {
            let (d, i) = list[0];
            out.push(Finding {
                director: d,
                location: Some(i.location.clone()),
                code: "cluster-lonely-instance",
                message: format!(
                    "({}) VRID {vrid} on {ifname} has no peer on the other directors",
                    i.name
                ),
            });
            continue;
        }
        let (d0, first) = list[0];
        for &(d, i) in &list[1..] {
            let mut diff = |what: &str, a: String, b: String, code: &'static str| {
                if a != b {
                    out.push(Finding {
                        director: d,
                        location: Some(i.location.clone()),
                        code,
                        message: format!(
                            "({}) VRID {vrid}: {what} {b} differs from {a} on {} ({}); peers drop each other's adverts or disagree on the VIPs",
                            i.name, directors[d0].name, first.name
                        ),
                    });
                }
            };
            diff(
                "authentication",
                auth_text(&first.authentication),
                auth_text(&i.authentication),
                "cluster-auth-mismatch",
            );
            diff(
                "advert_int",
                format!("{:?}", first.advert_int),
                format!("{:?}", i.advert_int),
                "cluster-advert-mismatch",
            );
            diff(
                "version",
                format!("{:?}", first.version),
                format!("{:?}", i.version),
                "cluster-version-mismatch",
            );
            diff(
                "VIPs",
                vip_set(first).join(","),
                vip_set(i).join(","),
                "cluster-vip-mismatch",
            );
        }
        for (a, &(da, ia)) in list.iter().enumerate() {
            for &(db, ib) in &list[a + 1..] {
                if ia.priority == ib.priority {
                    out.push(Finding {
                        director: db,
                        location: Some(ib.location.clone()),
                        code: "cluster-equal-priority",
                        message: format!(
                            "({}) VRID {vrid}: priority {} equals the priority on {}; the election then falls back to the higher primary IP address",
                            ib.name, ib.priority, directors[da].name
                        ),
                    });
                }
            }
        }
        let any_master = list
            .iter()
            .any(|(_, i)| i.initial_state == VrrpState::Master);
        for &(d, i) in list {
            if i.nopreempt && any_master {
                out.push(Finding {
                    director: d,
                    location: Some(i.location.clone()),
                    code: "cluster-nopreempt-master",
                    message: format!(
                        "({}) VRID {vrid}: nopreempt only works when every peer starts as BACKUP, but a peer has state MASTER",
                        i.name
                    ),
                });
            }
        }
    }
    // Subnet checks, only where the interface addresses are known.
    for (d, dir) in directors.iter().enumerate() {
        if dir.interfaces.is_empty() {
            continue;
        }
        for i in &dir.config.vrrp_instances {
            for v in &i.virtual_ipaddresses {
                let IpAddr::V4(a) = v.addr else { continue };
                let dev = v.dev.as_ref().or(i.interface.as_ref());
                let Some(dev) = dev else { continue };
                let known: Vec<&InterfaceAddr> = dir
                    .interfaces
                    .iter()
                    .filter(|x| &x.interface == dev)
                    .collect();
                if !known.is_empty() && !known.iter().any(|x| x.contains(a)) {
                    out.push(Finding {
                        director: d,
                        location: Some(v.location.clone()),
                        code: "cluster-vip-subnet",
                        message: format!(
                            "({}) VIP {a} is outside the subnet of {dev} ({}); hosts on that LAN will not ARP for it directly",
                            i.name,
                            known
                                .iter()
                                .map(|x| format!("{}/{}", x.addr, x.prefix_len))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        for vs in &dir.config.virtual_servers {
            for rs in &vs.real_servers {
                let IpAddr::V4(a) = rs.addr else { continue };
                if rs.lb_kind == LbKind::Dr && !dir.interfaces.iter().any(|x| x.contains(a)) {
                    out.push(Finding {
                        director: d,
                        location: Some(rs.location.clone()),
                        code: "cluster-dr-subnet",
                        message: format!(
                            "DR real server {a} is not on a subnet of this director; DR rewrites only the MAC address, so the real server must be directly reachable"
                        ),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ParseOptions, parse_str};

    fn conf(prio: u32, state: &str, pass: &str, extra: &str) -> KeepalivedConfig {
        parse_str(
            &format!("vrrp_instance VI_1 {{\n state {state}\n interface eth1\n virtual_router_id 51\n priority {prio}\n {extra}\n authentication {{\n auth_type PASS\n auth_pass {pass}\n }}\n virtual_ipaddress {{\n 192.168.80.200\n }}\n}}\n"),
            &ParseOptions::default(),
        )
        .config
    }

    #[test]
    fn peers_must_agree_and_priorities_differ() {
        let a = conf(100, "MASTER", "1111", "");
        let b = conf(100, "BACKUP", "2222", "nopreempt");
        let ifs = [InterfaceAddr::parse("eth1=10.0.0.1/24").unwrap()];
        let ds = [
            Director {
                name: "a",
                config: &a,
                interfaces: &[],
            },
            Director {
                name: "b",
                config: &b,
                interfaces: &ifs,
            },
        ];
        let codes: Vec<&str> = lint(&ds).iter().map(|f| f.code).collect();
        assert!(codes.contains(&"cluster-auth-mismatch"), "{codes:?}");
        assert!(codes.contains(&"cluster-equal-priority"), "{codes:?}");
        assert!(codes.contains(&"cluster-nopreempt-master"), "{codes:?}");
        assert!(codes.contains(&"cluster-vip-subnet"), "{codes:?}");
        assert!(!codes.contains(&"cluster-advert-mismatch"), "{codes:?}");
    }

    #[test]
    fn a_consistent_pair_has_no_findings() {
        let a = conf(100, "MASTER", "1111", "");
        let b = conf(99, "BACKUP", "1111", "");
        let ifs = [InterfaceAddr::parse("eth1=192.168.80.100/24").unwrap()];
        let ds = [
            Director {
                name: "a",
                config: &a,
                interfaces: &ifs,
            },
            Director {
                name: "b",
                config: &b,
                interfaces: &ifs,
            },
        ];
        assert_eq!(lint(&ds), vec![]);
    }
}
