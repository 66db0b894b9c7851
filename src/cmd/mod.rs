//! Subcommands of `lvslab`.

pub mod check;
pub mod run;
