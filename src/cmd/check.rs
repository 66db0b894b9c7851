//! `lvslab check FILE...`: keepalived.conf diagnostics and the effective model.

use std::path::PathBuf;

/// Arguments of `lvslab check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// keepalived.conf files, one per director.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `lvslab check`; returns the process exit status.
pub fn run(args: &CheckArgs) -> i32 {
    eprintln!(
        "lvslab check: not implemented yet ({} files)",
        args.files.len()
    );
    2
}
