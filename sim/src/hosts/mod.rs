//! Simulated hosts on smoltcp: the web server ("httpd") and the HTTP client load generator.
//!
//! Both are [`lvs_model::node::Node`]s built on [`lvs_model::host::LinuxStack`], so they ARP,
//! route and own addresses as Linux hosts do (a DR real server's VIP on `lo`, arp_ignore, ...).

mod client;
mod http;
mod httpd;

pub use client::{HttpClient, HttpClientConfig, Load};
pub use httpd::{Httpd, HttpdConfig};
