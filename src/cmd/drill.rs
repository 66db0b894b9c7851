//! `lvslab drill CONF... [--web IP]... [--ip N=ADDR/LEN]... [--seed N]`: the standard failover
//! drills (real server down/up, keepalived stop and crash on each director, the master's
//! restart, a partition between the directors and its heal) on a lab built from
//! keepalived.conf files alone; see [`crate::drill`] for how the lab is derived.
//!
//! Prints the lab, keepalived's messages per file and a table of convergence times. Exit
//! status: 0 when every drill converged, 1 when one did not, 2 for usage or I/O errors.

use crate::drill::{Cluster, DrillOptions, parse_ip_flag, render, run_all};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Arguments of `lvslab drill`.
#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    /// keepalived.conf files, one per director (the director is named after the file).
    #[arg(required = true)]
    pub confs: Vec<PathBuf>,
    /// A web server's address; replaces the configs' `real_server` entries.
    #[arg(long = "web", value_name = "IP")]
    pub webs: Vec<Ipv4Addr>,
    /// A director's address, `N=A.B.C.D/LEN` (N = 1-based file index).
    #[arg(long = "ip", value_name = "N=ADDR/LEN")]
    pub ips: Vec<String>,
    /// Seed for every random draw of the runs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs `lvslab drill`; returns the exit status.
pub fn run(args: &DrillArgs) -> i32 {
    let mut ips = Vec::new();
    for s in &args.ips {
        match parse_ip_flag(s) {
            Some(x) => ips.push(x),
            None => {
                eprintln!("lvslab drill: --ip expects N=A.B.C.D/LEN, got '{s}'");
                return 2;
            }
        }
    }
    let opts = DrillOptions {
        confs: args.confs.clone(),
        webs: args.webs.clone(),
        ips,
        seed: args.seed,
    };
    let cluster = match Cluster::from_configs(&opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lvslab drill: {e}");
            return 2;
        }
    };
    let results = match run_all(&cluster, opts.seed) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lvslab drill: {e}");
            return 2;
        }
    };
    let text = render(&cluster, &results, opts.seed);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    i32::from(!results.iter().all(|r| r.converged()))
}
