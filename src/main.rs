//! `lvslab`: a deterministic lab for LVS (IPVS) + keepalived clusters.

use clap::{Parser, Subcommand};
use lvslab::cmd;

/// A run allocates and frees many small frames and socket buffers; mimalloc does that faster
/// than the system allocator (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "lvslab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check keepalived.conf files as keepalived 2.2.7 would, and show what it would run.
    Check(cmd::check::CheckArgs),
    /// Run a scenario (or the built-in seed lab) and check its expectations.
    Run(cmd::run::RunArgs),
    /// Run the standard failover drills on the cluster keepalived.conf files describe.
    Drill(cmd::drill::DrillArgs),
    /// Run random fault schedules against a scenario and check the failover invariants.
    Fuzz(cmd::fuzz::FuzzArgs),
    /// Run one director from a keepalived.conf on a real Linux TAP device, in real time.
    Tap(cmd::tap::TapArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Drill(args) => cmd::drill::run(args),
        Command::Fuzz(args) => cmd::fuzz::run(args),
        Command::Tap(args) => cmd::tap::run(args),
    };
    std::process::exit(code);
}
