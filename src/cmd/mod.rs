//! Subcommands of `lvslab`.

pub mod check;
