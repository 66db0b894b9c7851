//! Events a node reports for the run's event log.
//!
//! The event log is a contract read by tools outside the project (see ARCHITECTURE.md): each
//! line is `{"t": <ns>, "node": <name>, "kind": <kind>, ...fields}`. The driver adds `t` and
//! `node`; this enum is the `kind` and its fields. Field names are stable: add, never rename.

use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// VRRP instance state, as keepalived names it in its logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpStateName {
    Init,
    Backup,
    Master,
    Fault,
    /// The process was stopped (gracefully or by a crash).
    Stop,
}

impl VrrpStateName {
    pub fn as_str(self) -> &'static str {
        match self {
            VrrpStateName::Init => "INIT",
            VrrpStateName::Backup => "BACKUP",
            VrrpStateName::Master => "MASTER",
            VrrpStateName::Fault => "FAULT",
            VrrpStateName::Stop => "STOP",
        }
    }
}

/// How an IPVS destination changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DestChange {
    Added,
    Removed,
    Weight,
}

/// Why an HTTP request failed, from the client's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpError {
    /// The connection was refused (RST in answer to the SYN).
    Refused,
    /// The connection was reset after it was established.
    Reset,
    /// No complete answer within the request timeout.
    Timeout,
}

/// One thing that happened on a node. Serialized with `kind` as the tag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Event {
    /// A scheduled fault was applied (the driver logs these).
    #[serde(rename = "fault")]
    Fault { action: String, target: String },
    #[serde(rename = "vrrp.state")]
    VrrpState {
        instance: String,
        from: VrrpStateName,
        to: VrrpStateName,
    },
    /// One per VRRP advertisement sent.
    #[serde(rename = "vrrp.advert")]
    VrrpAdvert {
        instance: String,
        vrid: u8,
        priority: u8,
        version: u8,
    },
    /// One per gratuitous ARP sent.
    #[serde(rename = "arp.garp")]
    Garp { ip: Ipv4Addr },
    /// One per health-check attempt.
    #[serde(rename = "check.result")]
    CheckResult {
        vs: String,
        rs: String,
        checker: String,
        ok: bool,
    },
    #[serde(rename = "ipvs.dest")]
    IpvsDest {
        vs: String,
        rs: String,
        change: DestChange,
        weight: u32,
    },
    #[serde(rename = "http.request")]
    HttpRequest {
        client: String,
        /// When the request started, ns since the start of the run.
        started: u64,
        status: Option<u16>,
        /// The answering server, from the body's `from <ip>`.
        server: Option<String>,
        error: Option<HttpError>,
    },
    #[serde(rename = "config.diagnostic")]
    ConfigDiagnostic {
        file: String,
        line: u32,
        severity: String,
        message: String,
    },
    /// A VIP was added to or removed from a director's interface.
    #[serde(rename = "vip")]
    Vip {
        instance: String,
        ip: Ipv4Addr,
        added: bool,
    },
    /// A frame or packet was dropped as malformed or unexpected; `reason` is a stable counter name.
    #[serde(rename = "drop")]
    Drop { reason: String },
}

impl Event {
    /// The `kind` string this event is logged under.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Fault { .. } => "fault",
            Event::VrrpState { .. } => "vrrp.state",
            Event::VrrpAdvert { .. } => "vrrp.advert",
            Event::Garp { .. } => "arp.garp",
            Event::CheckResult { .. } => "check.result",
            Event::IpvsDest { .. } => "ipvs.dest",
            Event::HttpRequest { .. } => "http.request",
            Event::ConfigDiagnostic { .. } => "config.diagnostic",
            Event::Vip { .. } => "vip",
            Event::Drop { .. } => "drop",
        }
    }
}

/// One line of the event log: an [`Event`] with the simulated time and the node it happened on.
///
/// Serialized as `{"t": <ns>, "node": "...", "kind": "...", ...fields}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Simulated time since the start of the run, in nanoseconds.
    pub t: u64,
    /// The scenario's name for the node.
    pub node: String,
    #[serde(flatten)]
    pub event: Event,
}

impl Record {
    pub fn new(t: Instant, node: impl Into<String>, event: Event) -> Self {
        Record {
            t: t.as_nanos(),
            node: node.into(),
            event,
        }
    }

    pub fn time(&self) -> Instant {
        Instant::from_nanos(self.t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_serializes_with_stable_field_order() {
        let r = Record::new(
            Instant::from_nanos(613_281_250),
            "lvs-backup",
            Event::VrrpState {
                instance: "VI_1".into(),
                from: VrrpStateName::Backup,
                to: VrrpStateName::Master,
            },
        );
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(
            line,
            r#"{"t":613281250,"node":"lvs-backup","kind":"vrrp.state","instance":"VI_1","from":"BACKUP","to":"MASTER"}"#
        );
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn http_request_nulls_are_explicit() {
        let r = Record::new(
            Instant::from_secs(1),
            "client",
            Event::HttpRequest {
                client: "client".into(),
                started: 900_000_000,
                status: None,
                server: None,
                error: Some(HttpError::Refused),
            },
        );
        let line = serde_json::to_string(&r).unwrap();
        assert!(
            line.contains(r#""status":null,"server":null,"error":"refused""#),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
    }
}
