//! Subcommands of `lvslab`.

pub mod check;
pub mod drill;
pub mod fuzz;
pub mod run;
pub mod tap;
