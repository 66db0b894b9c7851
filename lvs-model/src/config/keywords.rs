//! keepalived 2.2.7's keyword tables (Debian build): which words each block knows, which open a
//! sub-block, and which process parses each top-level block. Lookups are exact and
//! case-sensitive, as keepalived's `strcmp`.

/// A block whose keywords are looked up in one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blk {
    Root,
    Global,
    Vrrp,
    Auth,
    Script,
    Sync,
    TrackGroup,
    GarpGroup,
    TrackProcess,
    TrackFileRoot,
    Bfd,
    Ssl,
    Vs,
    Rs,
    Tcp,
    Http,
    Url,
    Misc,
    Smtp,
    SmtpHost,
    Udp,
    Dns,
    Ping,
    FileCheck,
    BfdCheck,
}

/// Which keepalived process has a top-level keyword active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    Global,
    Vrrp,
    Check,
    Bfd,
    TrackFile,
}

/// The three parses keepalived makes of one file (the parent's global parse, then the VRRP and
/// checker children); the union of their messages is what `keepalived -t` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    Parent,
    Vrrp,
    Check,
}

impl Pass {
    pub fn active(self, g: Group) -> bool {
        matches!(
            (self, g),
            (Pass::Parent, Group::Global)
                | (Pass::Vrrp, Group::Vrrp)
                | (Pass::Vrrp, Group::Bfd)
                | (Pass::Vrrp, Group::TrackFile)
                | (Pass::Check, Group::Check)
                | (Pass::Check, Group::Bfd)
                | (Pass::Check, Group::TrackFile)
        )
    }
}

pub(crate) fn root_group(kw: &str) -> Option<(Group, Option<Blk>)> {
    use Blk::*;
    Some(match kw {
        "linkbeat_use_polling" | "use_pid_dir" | "instance" | "child_wait_time" => {
            (Group::Global, None)
        }
        "global_defs" => (Group::Global, Some(Global)),
        "track_group" => (Group::Vrrp, Some(TrackGroup)),
        "static_ipaddress"
        | "static_routes"
        | "static_rules"
        | "linkbeat_interfaces"
        | "interface_up_down_delays" => (Group::Vrrp, None),
        "vrrp_sync_group" => (Group::Vrrp, Some(Sync)),
        "garp_group" => (Group::Vrrp, Some(GarpGroup)),
        "vrrp_instance" => (Group::Vrrp, Some(Vrrp)),
        "vrrp_script" => (Group::Vrrp, Some(Script)),
        "vrrp_track_process" => (Group::Vrrp, Some(TrackProcess)),
        "SSL" => (Group::Check, Some(Ssl)),
        "virtual_server_group" => (Group::Check, None),
        "virtual_server" => (Group::Check, Some(Vs)),
        "bfd_instance" => (Group::Bfd, Some(Bfd)),
        "track_file" => (Group::TrackFile, Some(TrackFileRoot)),
        _ => return None,
    })
}

const GLOBAL: &[&str] = &[
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "lvs_process_name",
    "bfd_process_name",
    "router_id",
    "notification_email_from",
    "smtp_server",
    "smtp_helo_name",
    "smtp_connect_timeout",
    "notification_email",
    "smtp_alert",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "max_auto_priority",
    "min_auto_priority_delay",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "checker_log_all_failures",
    "dynamic_interfaces",
    "no_email_faults",
    "default_interface",
    "disable_local_igmp",
    "lvs_timeouts",
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "lvs_sync_daemon",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_down_timer_adverts",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_min_garp",
    "vrrp_garp_extra_if",
    "vrrp_vmac_garp_intvl",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_version",
    "vrrp_iptables",
    "vrrp_ipsets",
    "nftables",
    "nftables_priority",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "nftables_counters",
    "vrrp_check_unicast_src",
    "vrrp_skip_check_adv_addr",
    "vrrp_strict",
    "vrrp_priority",
    "vrrp_no_swap",
    "vrrp_rt_priority",
    "vrrp_cpu_affinity",
    "vrrp_rlimit_rttime",
    "vrrp_rlimit_rtime",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "fifo_write_vrrp_states_on_reload",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "checker_priority",
    "checker_no_swap",
    "checker_rt_priority",
    "checker_cpu_affinity",
    "checker_rlimit_rttime",
    "checker_rlimit_rtime",
    "bfd_priority",
    "bfd_no_swap",
    "bfd_rt_priority",
    "bfd_cpu_affinity",
    "bfd_rlimit_rttime",
    "bfd_rlimit_rtime",
    "snmp_socket",
    "enable_traps",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_checker",
    "enable_dbus",
    "dbus_service_name",
    "script_user",
    "enable_script_security",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "rs_init_notifies",
    "no_checker_emails",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "vrrp_startup_delay",
    "log_unknown_vrids",
    "vmac_prefix",
    "vmac_addr_prefix",
    "umask",
    "random_seed",
    "reload_check_config",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "include_check",
    "config_save_dir",
    "tmp_config_directory",
    "data_use_instance",
];

const VRRP: &[&str] = &[
    "use_vmac",
    "use_vmac_addr",
    "vmac_xmit_base",
    "use_ipvlan",
    "unicast_peer",
    "unicast_fault_no_peer",
    "check_unicast_src",
    "old_unicast_checksum",
    "native_ipv6",
    "state",
    "interface",
    "vrf",
    "dont_track_primary",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "mcast_src_ip",
    "unicast_src_ip",
    "mcast_dst_ip",
    "track_src_ip",
    "virtual_router_id",
    "unicast_ttl",
    "version",
    "priority",
    "advert_int",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "promote_secondaries",
    "linkbeat_use_polling",
    "virtual_routes",
    "virtual_rules",
    "accept",
    "no_accept",
    "skip_check_adv_addr",
    "strict_mode",
    "preempt",
    "nopreempt",
    "preempt_delay",
    "debug",
    "notify_backup",
    "notify_master",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify",
    "notify_master_rx_lower_pri",
    "smtp_alert",
    "notify_priority_changes",
    "lvs_sync_daemon_interface",
    "garp_master_delay",
    "garp_master_refresh",
    "garp_master_repeat",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "down_timer_adverts",
    "garp_extra_if",
    "vmac_garp_intvl",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "kernel_rx_buf_size",
];

const SYNC: &[&str] = &[
    "group",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "notify_backup",
    "notify_master",
    "notify_fault",
    "notify_stop",
    "notify",
    "smtp_alert",
    "global_tracking",
    "sync_group_tracking_weight",
    "notify_priority_changes",
];

const VS: &[&str] = &[
    "ip_family",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "inhibit_on_failure",
    "lb_algo",
    "lvs_sched",
    "hashed",
    "ops",
    "flag-1",
    "flag-2",
    "flag-3",
    "sh-port",
    "sh-fallback",
    "mh-port",
    "mh-fallback",
    "lb_kind",
    "lvs_method",
    "persistence_engine",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "ha_suspend",
    "smtp_alert",
    "virtualhost",
    "snmp_name",
    "alpha",
    "omega",
    "quorum_up",
    "quorum_down",
    "quorum",
    "hysteresis",
    "weight",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
];

const RS: &[&str] = &[
    "weight",
    "lvs_method",
    "uthreshold",
    "lthreshold",
    "inhibit_on_failure",
    "notify_up",
    "notify_down",
    "alpha",
    "retry",
    "delay_before_retry",
    "warmup",
    "connect_timeout",
    "delay_loop",
    "smtp_alert",
    "virtualhost",
    "snmp_name",
];

const CHECK_CONN: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
];
const CHECK_ALL: &[&str] = &[
    "retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
];

/// A keyword table sorted once for binary search.
struct Table(std::sync::LazyLock<Vec<&'static str>>);

impl Table {
    fn contains(&self, kw: &&str) -> bool {
        self.0.binary_search(kw).is_ok()
    }
}

fn sorted(t: &'static [&'static str]) -> Vec<&'static str> {
    let mut v = t.to_vec();
    v.sort_unstable();
    v
}

static GLOBAL_T: Table = Table(std::sync::LazyLock::new(|| sorted(GLOBAL)));
static VRRP_T: Table = Table(std::sync::LazyLock::new(|| sorted(VRRP)));
static VS_T: Table = Table(std::sync::LazyLock::new(|| sorted(VS)));

/// `Some(sub)` for a known keyword (`sub` = the block it opens).
pub(crate) fn lookup(b: Blk, kw: &str) -> Option<Option<Blk>> {
    use Blk::*;
    let common = |extra: &[&str], conn: bool| {
        (conn && CHECK_CONN.contains(&kw)) || CHECK_ALL.contains(&kw) || extra.contains(&kw)
    };
    let known = match b {
        Root => return root_group(kw).map(|(_, s)| s),
        Global => GLOBAL_T.contains(&kw),
        Vrrp => {
            if kw == "authentication" {
                return Some(Some(Auth));
            }
            VRRP_T.contains(&kw)
        }
        Auth => matches!(kw, "auth_type" | "auth_pass"),
        Script => matches!(
            kw,
            "script" | "interval" | "timeout" | "weight" | "rise" | "fall" | "user" | "init_fail"
        ),
        Sync => SYNC.contains(&kw),
        TrackGroup => kw == "group",
        GarpGroup => matches!(
            kw,
            "garp_interval" | "gna_interval" | "interface" | "interfaces"
        ),
        TrackProcess => matches!(
            kw,
            "process"
                | "param_match"
                | "weight"
                | "quorum"
                | "quorum_max"
                | "delay"
                | "terminate_delay"
                | "fork_delay"
                | "full_command"
        ),
        TrackFileRoot => matches!(kw, "file" | "weight" | "init_file"),
        Bfd => matches!(
            kw,
            "source_ip"
                | "neighbor_ip"
                | "neighbour_ip"
                | "min_rx"
                | "min_tx"
                | "idle_tx"
                | "multiplier"
                | "passive"
                | "ttl"
                | "hoplimit"
                | "max_hops"
                | "weight"
                | "vrrp"
                | "checker"
        ),
        Ssl => matches!(kw, "password" | "ca" | "certificate" | "key"),
        Vs => {
            if kw == "real_server" {
                return Some(Some(Rs));
            }
            VS_T.contains(&kw)
        }
        Rs => {
            let sub = match kw {
                "TCP_CHECK" => Tcp,
                "HTTP_GET" | "SSL_GET" => Http,
                "MISC_CHECK" => Misc,
                "SMTP_CHECK" => Smtp,
                "UDP_CHECK" => Udp,
                "DNS_CHECK" => Dns,
                "PING_CHECK" => Ping,
                "FILE_CHECK" => FileCheck,
                "BFD_CHECK" => BfdCheck,
                _ => return RS.contains(&kw).then_some(None),
            };
            return Some(Some(sub));
        }
        Tcp | Ping => common(&[], true),
        Http => {
            if kw == "url" {
                return Some(Some(Url));
            }
            common(
                &[
                    "nb_get_retry",
                    "virtualhost",
                    "http_protocol",
                    "enable_sni",
                    "fast_recovery",
                    "tls_compliant",
                    "sni_name",
                ],
                true,
            )
        }
        Url => matches!(
            kw,
            "path"
                | "digest"
                | "status_code"
                | "virtualhost"
                | "regex"
                | "regex_no_match"
                | "regex_options"
                | "regex_min_offset"
                | "regex_max_offset"
                | "regex_stack"
        ),
        Misc => common(
            &["misc_path", "misc_timeout", "misc_dynamic", "user"],
            false,
        ),
        Smtp => {
            if kw == "host" {
                return Some(Some(SmtpHost));
            }
            common(&["helo_name"], true)
        }
        SmtpHost => common(&[], true),
        Udp => common(
            &[
                "payload",
                "require_reply",
                "min_reply_length",
                "max_reply_length",
            ],
            true,
        ),
        Dns => common(&["type", "name"], true),
        FileCheck => matches!(kw, "track_file" | "weight"),
        BfdCheck => matches!(kw, "name" | "alpha"),
    };
    known.then_some(None)
}
