//! Subcommands of `lvslab`.

pub mod check;
pub mod drill;
pub mod run;
pub mod tap;
