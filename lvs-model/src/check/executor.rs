//! Performs [`ProbeRequest`]s over a smoltcp stack: the driver-side half of a health check.
//!
//! The driver owns the `Interface`, the device and the `SocketSet`; the executor owns one TCP
//! socket per probe. Loop: `start` each polled probe, then after every `Interface::poll` call
//! [`ProbeExecutor::poll`] and drain [`ProbeExecutor::poll_outcome`]; wake up at
//! [`ProbeExecutor::poll_timeout`] too, since a silent peer produces no packet.
//!
//! Classification, as a Linux socket would see it:
//! - TCP connect: handshake done → [`ProbeOutcome::Connected`] and the socket is closed (FIN);
//!   an RST to the SYN → [`ProbeOutcome::Refused`]; nothing by `timeout` →
//!   [`ProbeOutcome::Timeout`] and the socket is dropped without a packet (as closing a
//!   SYN_SENT socket does).
//! - HTTP GET: the request is keepalived's (HTTP/1.0, `User-Agent: KeepAliveClient`); the
//!   response is read until the server closes. `timeout` is re-armed for each wait (connect,
//!   send, every read), as keepalived does. The status comes from the status line and the MD5
//!   from the bytes after the blank line. EOF before the header end, an unparsable status
//!   line or a reset → [`ProbeOutcome::Error`].
//!
//! Local ports are taken in turn from Linux's default ephemeral range 32768..=60999, skipping
//! ports in use by this executor (a deterministic stand-in for Linux's randomised choice).

use super::probe::{ProbeId, ProbeKind, ProbeOutcome, ProbeRequest};
use crate::time::{Duration, Instant};
use md5::{Digest, Md5};
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpListenEndpoint};
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

/// Linux's default `ip_local_port_range`.
const EPHEMERAL_FIRST: u16 = 32768;
const EPHEMERAL_LAST: u16 = 60999;
/// keepalived reads into a 4 KiB buffer; the header block must fit in it.
const MAX_HEADER: usize = 4096;
const RX_BUFFER: usize = 4096;
const TX_BUFFER: usize = 2048;
/// How long a closed probe socket may linger for its FIN exchange before it is aborted.
const LINGER: Duration = Duration::from_secs(60);

#[derive(Debug)]
enum Phase {
    Connecting,
    /// HTTP: the request is being queued; `sent` bytes so far.
    Sending {
        sent: usize,
    },
    Reading,
}

#[derive(Debug)]
struct Running {
    handle: SocketHandle,
    kind: ProbeKind,
    timeout: Duration,
    deadline: Instant,
    phase: Phase,
    request: Vec<u8>,
    header: Vec<u8>,
    header_done: bool,
    status: Option<u16>,
    md5: Md5,
}

/// Runs probes on smoltcp TCP sockets; see the module docs for the loop.
#[derive(Debug)]
pub struct ProbeExecutor {
    running: BTreeMap<ProbeId, Running>,
    /// Sockets closed after use, kept until their close handshake ends (or `LINGER` runs out).
    lingering: Vec<(SocketHandle, Instant)>,
    done: VecDeque<(ProbeId, ProbeOutcome)>,
    next_port: u16,
    ports_in_use: BTreeMap<SocketHandle, u16>,
}

impl Default for ProbeExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl ProbeExecutor {
    pub fn new() -> Self {
        Self::from_port(EPHEMERAL_FIRST)
    }

    /// An executor whose ephemeral ports start at a place `seed` picks in the range, as the
    /// checker of a host that booted again would (see [`crate::host::boot_seed`]).
    pub fn seeded(seed: u64) -> Self {
        let span = u64::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        Self::from_port(EPHEMERAL_FIRST + (seed % span) as u16)
    }

    fn from_port(first: u16) -> Self {
        ProbeExecutor {
            running: BTreeMap::new(),
            lingering: Vec::new(),
            done: VecDeque::new(),
            next_port: first,
            ports_in_use: BTreeMap::new(),
        }
    }

    /// Opens a socket for `req` and sends the SYN on the next `Interface::poll`.
    /// A request that cannot even start (e.g. an unroutable target) ends at once as `Error`.
    pub fn start(
        &mut self,
        now: Instant,
        req: &ProbeRequest,
        iface: &mut Interface,
        sockets: &mut SocketSet<'_>,
    ) {
        self.start_from(now, req, None, iface, sockets);
    }

    /// As [`Self::start`], from source address `src` — the address Linux would pick for the
    /// target. A host stack that gives smoltcp no addresses of its own (lvs-model's
    /// `LinuxStack` decides locality itself) must name it.
    pub fn start_from(
        &mut self,
        now: Instant,
        req: &ProbeRequest,
        src: Option<Ipv4Addr>,
        iface: &mut Interface,
        sockets: &mut SocketSet<'_>,
    ) {
        let Some(port) = self.take_port() else {
            self.done.push_back((req.id, ProbeOutcome::Error));
            return;
        };
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; RX_BUFFER]),
            tcp::SocketBuffer::new(vec![0; TX_BUFFER]),
        );
        let remote = (IpAddress::Ipv4(*req.target.ip()), req.target.port());
        let local = IpListenEndpoint {
            addr: src.map(IpAddress::Ipv4),
            port,
        };
        if socket.connect(iface.context(), remote, local).is_err() {
            self.done.push_back((req.id, ProbeOutcome::Error));
            return;
        }
        let handle = sockets.add(socket);
        self.ports_in_use.insert(handle, port);
        self.running.insert(
            req.id,
            Running {
                handle,
                request: req.kind.http_request().unwrap_or_default(),
                kind: req.kind.clone(),
                timeout: req.timeout,
                deadline: now + req.timeout,
                phase: Phase::Connecting,
                header: Vec::new(),
                header_done: false,
                status: None,
                md5: Md5::new(),
            },
        );
    }

    fn take_port(&mut self) -> Option<u16> {
        let span = usize::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        for _ in 0..span {
            let port = self.next_port;
            self.next_port = if port >= EPHEMERAL_LAST {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            if !self.ports_in_use.values().any(|&p| p == port) {
                return Some(port);
            }
        }
        None
    }

    /// Abandons probe `id` (the checker process stopped): its socket is dropped silently.
    pub fn cancel(&mut self, id: ProbeId, sockets: &mut SocketSet<'_>) {
        if let Some(r) = self.running.remove(&id) {
            self.drop_socket(r.handle, sockets);
        }
    }

    /// Abandons every probe (the checker process stopped or crashed). Lingering closes go on.
    pub fn cancel_all(&mut self, sockets: &mut SocketSet<'_>) {
        for (_, r) in std::mem::take(&mut self.running) {
            self.drop_socket(r.handle, sockets);
        }
    }

    fn drop_socket(&mut self, handle: SocketHandle, sockets: &mut SocketSet<'_>) {
        sockets.remove(handle);
        self.ports_in_use.remove(&handle);
    }

    /// Advances every probe after the interface has processed its packets.
    pub fn poll(&mut self, now: Instant, sockets: &mut SocketSet<'_>) {
        let ids: Vec<ProbeId> = self.running.keys().copied().collect();
        for id in ids {
            let outcome = {
                let r = self.running.get_mut(&id).expect("listed above");
                let socket = sockets.get_mut::<tcp::Socket>(r.handle);
                advance(now, r, socket)
            };
            if let Some((outcome, fate)) = outcome {
                let r = self.running.remove(&id).expect("listed above");
                match fate {
                    Fate::Drop => self.drop_socket(r.handle, sockets),
                    Fate::Linger => self.lingering.push((r.handle, now + LINGER)),
                }
                self.done.push_back((id, outcome));
            }
        }
        let mut keep = Vec::new();
        for (handle, give_up) in std::mem::take(&mut self.lingering) {
            let socket = sockets.get_mut::<tcp::Socket>(handle);
            let finished = match socket.state() {
                tcp::State::Closed => socket.remote_endpoint().is_none(),
                tcp::State::TimeWait => true,
                _ => false,
            };
            if finished || now >= give_up {
                self.drop_socket(handle, sockets);
            } else {
                keep.push((handle, give_up));
            }
        }
        self.lingering = keep;
    }

    /// The next finished probe.
    #[must_use]
    pub fn poll_outcome(&mut self) -> Option<(ProbeId, ProbeOutcome)> {
        self.done.pop_front()
    }

    /// The earliest probe deadline (the interface's own `poll_at` covers retransmissions).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let probes = self.running.values().map(|r| r.deadline);
        let lingers = self.lingering.iter().map(|(_, t)| *t);
        probes.chain(lingers).min()
    }

    /// Probes still running.
    pub fn in_flight(&self) -> usize {
        self.running.len()
    }
}

enum Fate {
    /// Remove the socket now (nothing more to send).
    Drop,
    /// Keep it until its FIN or RST has gone out.
    Linger,
}

/// One step of one probe; `Some` when it has ended.
fn advance(now: Instant, r: &mut Running, s: &mut tcp::Socket<'_>) -> Option<(ProbeOutcome, Fate)> {
    if let Phase::Connecting = r.phase {
        match s.state() {
            tcp::State::SynSent | tcp::State::SynReceived => {
                return (now >= r.deadline).then_some((ProbeOutcome::Timeout, Fate::Drop));
            }
            // An RST to our SYN: smoltcp forgets the peer and goes CLOSED.
            tcp::State::Closed => return Some((ProbeOutcome::Refused, Fate::Drop)),
            _ => {}
        }
        if matches!(r.kind, ProbeKind::TcpConnect) {
            s.close();
            return Some((ProbeOutcome::Connected, Fate::Linger));
        }
        r.phase = Phase::Sending { sent: 0 };
        r.deadline = now + r.timeout;
    }
    if let Phase::Sending { sent } = &mut r.phase {
        if s.can_send() {
            *sent += s.send_slice(&r.request[*sent..]).unwrap_or(0);
        }
        if *sent == r.request.len() {
            r.phase = Phase::Reading;
            r.deadline = now + r.timeout;
        } else if !s.may_send() {
            s.abort();
            return Some((ProbeOutcome::Error, Fate::Linger));
        }
    }
    if let Phase::Reading = r.phase {
        let mut buf = [0u8; 1024];
        loop {
            match s.recv_slice(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    r.deadline = now + r.timeout;
                    consume(r, &buf[..n]);
                }
                Err(tcp::RecvError::Finished) => {
                    s.close();
                    return Some((finish(r), Fate::Linger));
                }
                // Reset by the peer (or closed under us): keepalived's "Read error".
                Err(tcp::RecvError::InvalidState) => {
                    return Some((ProbeOutcome::Error, Fate::Drop));
                }
            }
        }
    }
    if now >= r.deadline {
        // keepalived closes the socket with unread state; Linux answers with an RST.
        s.abort();
        return Some((ProbeOutcome::Timeout, Fate::Linger));
    }
    None
}

/// Feeds response bytes: the header block into `header`, the body into the MD5.
fn consume(r: &mut Running, mut data: &[u8]) {
    if !r.header_done {
        let take = data.len().min(MAX_HEADER.saturating_sub(r.header.len()));
        r.header.extend_from_slice(&data[..take]);
        if let Some(end) = find(&r.header, b"\r\n\r\n") {
            r.header_done = true;
            r.status = parse_status(&r.header[..end]);
            let body_start = end + 4;
            let body_in_header = r.header.split_off(body_start);
            r.md5.update(&body_in_header);
            data = &data[take..];
        } else {
            // Everything taken belongs to the header; the rest overflowed keepalived's buffer.
            return;
        }
    }
    r.md5.update(data);
}

fn finish(r: &mut Running) -> ProbeOutcome {
    match (r.header_done, r.status) {
        (true, Some(status)) => ProbeOutcome::HttpResponse {
            status,
            body_md5: std::mem::take(&mut r.md5).finalize().into(),
        },
        _ => ProbeOutcome::Error,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `HTTP/1.x NNN ...` → `NNN`.
fn parse_status(header: &[u8]) -> Option<u16> {
    let line = header.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split_ascii_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running() -> Running {
        Running {
            handle: SocketSet::new(vec![]).add(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; 1]),
                tcp::SocketBuffer::new(vec![0; 1]),
            )),
            kind: ProbeKind::TcpConnect,
            timeout: Duration::from_secs(1),
            deadline: Instant::ZERO,
            phase: Phase::Reading,
            request: Vec::new(),
            header: Vec::new(),
            header_done: false,
            status: None,
            md5: Md5::new(),
        }
    }

    #[test]
    fn status_line_parsing() {
        assert_eq!(parse_status(b"HTTP/1.0 200 OK"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.1 404 Not Found\r\nX: y"), Some(404));
        assert_eq!(parse_status(b"HTTP/1.0 20 OK"), None);
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn body_md5_is_independent_of_how_the_bytes_arrive() {
        let response = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello world";
        let whole = {
            let mut r = running();
            consume(&mut r, response);
            finish(&mut r)
        };
        for split in 1..response.len() {
            let mut r = running();
            consume(&mut r, &response[..split]);
            consume(&mut r, &response[split..]);
            assert_eq!(finish(&mut r), whole, "split at {split}");
        }
        assert_eq!(
            whole,
            ProbeOutcome::HttpResponse {
                status: 200,
                body_md5: crate::check::body_md5(b"hello world")
            }
        );
        let mut r = running();
        consume(&mut r, b"HTTP/1.0 200 OK\r\n");
        assert_eq!(finish(&mut r), ProbeOutcome::Error, "no header end");
    }
}
