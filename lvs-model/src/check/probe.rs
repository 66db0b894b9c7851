//! A health-check probe as a request the driver executes, and the outcome it reports back.
//!
//! The checker never touches a socket: it emits a [`ProbeRequest`], the driver performs it over
//! the director's own TCP stack (see [`super::executor`]) and reports a [`ProbeOutcome`] with the
//! same [`ProbeId`]. `timeout` is keepalived's `connect_timeout`: for a TCP connect it bounds the
//! whole attempt; for an HTTP GET it bounds *each* wait (connect, send, every read), as
//! keepalived 2.2.7 re-arms it before every socket wait.

use super::config::HttpProtocol;
use crate::time::Duration;
use std::net::SocketAddrV4;

/// Names one probe; never reused within a [`super::Checkers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProbeId(pub u64);

/// One attempt for the driver to perform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    pub id: ProbeId,
    pub target: SocketAddrV4,
    pub kind: ProbeKind,
    pub timeout: Duration,
}

/// What to do once connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// Connect, then close at once (TCP_CHECK).
    TcpConnect,
    /// Send a GET and read the response until the server closes (HTTP_GET; SSL_GET without TLS).
    HttpGet {
        path: String,
        /// The `Host:` value: the url/checker/RS/VS `virtualhost`, else `ip:port`.
        host: String,
        protocol: HttpProtocol,
    },
}

impl ProbeKind {
    /// The request bytes keepalived sends for an HTTP GET (its request template's fields).
    pub fn http_request(&self) -> Option<Vec<u8>> {
        match self {
            ProbeKind::TcpConnect => None,
            ProbeKind::HttpGet {
                path,
                host,
                protocol,
            } => {
                let minor = if *protocol == HttpProtocol::Http11 {
                    1
                } else {
                    0
                };
                let close = if *protocol == HttpProtocol::Http10 {
                    ""
                } else {
                    "Connection: close\r\n"
                };
                Some(
                    format!(
                        "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n"
                    )
                    .into_bytes(),
                )
            }
        }
    }
}

/// How a probe ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The TCP handshake completed (a TCP_CHECK success).
    Connected,
    /// The SYN was answered by an RST.
    Refused,
    /// A wait ran past the timeout.
    Timeout,
    /// A complete HTTP response: the header block ended and the server closed the connection.
    HttpResponse { status: u16, body_md5: [u8; 16] },
    /// Anything else: a reset mid-transfer, no header end before EOF, an unparsable status line.
    Error,
}

impl ProbeOutcome {
    /// Whether a TCP_CHECK counts this as success.
    pub fn tcp_ok(self) -> bool {
        matches!(
            self,
            ProbeOutcome::Connected | ProbeOutcome::HttpResponse { .. }
        )
    }
}

/// The MD5 of a response body, as keepalived's `digest` compares it.
pub fn body_md5(body: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    Md5::digest(body).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_request_matches_keepalived_template() {
        let k = ProbeKind::HttpGet {
            path: "/index.html".into(),
            host: "192.168.80.102:80".into(),
            protocol: HttpProtocol::Http10,
        };
        assert_eq!(
            k.http_request().unwrap(),
            b"GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.168.80.102:80\r\n\r\n"
        );
        let k11 = ProbeKind::HttpGet {
            path: "/".into(),
            host: "www".into(),
            protocol: HttpProtocol::Http11,
        };
        assert_eq!(
            k11.http_request().unwrap(),
            b"GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www\r\n\r\n"
        );
        assert!(ProbeKind::TcpConnect.http_request().is_none());
    }

    #[test]
    fn md5_of_empty_body_is_the_well_known_digest() {
        assert_eq!(
            body_md5(b""),
            crate::check::config::parse_digest("d41d8cd98f00b204e9800998ecf8427e").unwrap()
        );
    }
}
