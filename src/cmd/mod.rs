//! Subcommands of `lvslab`.

pub mod check;
pub mod drill;
pub mod run;
