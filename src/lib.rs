//! The `lvslab` command line: each subcommand lives in its own module under [`cmd`].

pub mod cmd;
pub mod drill;
pub mod fuzz;
pub mod lab;
pub mod scenario;
