//! [`Httpd`]: a web server host (process `httpd`) that answers `GET /` with `from <its IP>`.
//!
//! It listens on port 80 of every local address — the VIP on `lo` included, so it serves as a
//! DR real server. smoltcp accepts one connection per listening socket, so a pool of
//! listeners is re-armed as connections are taken (Linux's accept backlog, in effect).
//!
//! Process faults:
//! - `stop httpd` (SIGTERM to Apache): the listeners close, so new SYNs are refused (RST);
//!   open connections are closed (FIN, or RST if a request was left unread).
//! - `crash httpd`: the process hangs — nothing is read or answered and nothing is sent, but
//!   the kernel keeps its listening sockets, so connections are still accepted (up to the
//!   backlog) and clients time out. A SIGKILLed httpd looks like `stop` to clients.
//! - `start httpd`: a fresh process; connections of a hung one are reset by the kernel.
//! - power off / on: the whole host (stack, ARP cache, sockets) is lost and boots afresh, with
//!   the kernel seeded for that boot (new ISNs and ports, as Linux draws new secrets at boot).
//!
//! Deviation: a connection the server closed is not kept in TIME-WAIT; its socket is reused
//! at once (a late retransmitted FIN from the client then meets a RST instead of an ACK).

use super::Deadline;
use super::http::{KnownRequests, head_len, response};
use lvs_model::event::Event;
use lvs_model::host::{LinuxStack, SocketHandle, StackConfig, tcp};
use lvs_model::node::{ControlError, Node, PortId, ProcessAction, Transmit, process_list};
use lvs_model::time::{Duration, Instant};

/// How an [`Httpd`] is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpdConfig {
    pub stack: StackConfig,
    /// TCP port, 80.
    pub port: u16,
    /// The page; `None` gives `from <first address>\n`, as the seed's pages.
    pub body: Option<String>,
    /// Listening sockets kept armed at once (simultaneous handshakes).
    pub listeners: usize,
    /// Connections accepted while the process hangs (Apache's `ListenBacklog` 511).
    pub backlog: usize,
    /// Apache `KeepAliveTimeout`: an idle keep-alive connection is closed after it.
    pub keepalive_timeout: Duration,
}

impl HttpdConfig {
    pub fn new(stack: StackConfig) -> Self {
        HttpdConfig {
            stack,
            port: 80,
            body: None,
            listeners: 2,
            backlog: 511,
            keepalive_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Process {
    Running,
    Stopped,
    Hung,
}

#[derive(Debug)]
struct Conn {
    h: SocketHandle,
    buf: Vec<u8>,
    idle_since: Instant,
    /// We sent our FIN (or gave up); the socket is freed once closed.
    closing: bool,
}

const RX: usize = 2048;
const TX: usize = 4096;
/// Spare request buffers kept at most.
const BUFS_MAX: usize = 16;

/// A web server host.
pub struct Httpd {
    config: HttpdConfig,
    body: Vec<u8>,
    page_close: Vec<u8>,
    page_keep_alive: Vec<u8>,
    stack: LinuxStack,
    process: Process,
    powered: bool,
    listeners: Vec<SocketHandle>,
    conns: Vec<Conn>,
    /// Closed sockets kept for reuse.
    free: Vec<SocketHandle>,
    /// Request buffers of closed connections, emptied, for the next ones (one allocation
    /// fewer per connection).
    bufs: Vec<Vec<u8>>,
    requests_served: u64,
    /// Request heads read before (a lab's client sends the same one every time).
    known: KnownRequests,
    deadline: Deadline,
    /// Power-ons since the host was built; each seeds its kernel afresh.
    boots: u64,
}

impl Httpd {
    pub fn new(config: HttpdConfig) -> Self {
        let stack = LinuxStack::new(config.stack.clone());
        let body = config
            .body
            .clone()
            .unwrap_or_else(|| {
                format!(
                    "from {}\n",
                    stack
                        .primary_address()
                        .map(|a| a.to_string())
                        .unwrap_or_default()
                )
            })
            .into_bytes();
        let mut h = Httpd {
            config,
            page_close: response(200, &body, false, false),
            page_keep_alive: response(200, &body, false, true),
            body,
            stack,
            process: Process::Running,
            powered: true,
            listeners: Vec::new(),
            conns: Vec::new(),
            free: Vec::new(),
            bufs: Vec::new(),
            requests_served: 0,
            known: KnownRequests::new(),
            deadline: Deadline::default(),
            boots: 0,
        };
        h.arm_listeners();
        h
    }

    /// The host's network stack (addresses, ARP cache, counters).
    pub fn stack(&self) -> &LinuxStack {
        &self.stack
    }

    pub fn stack_mut(&mut self) -> &mut LinuxStack {
        &mut self.stack
    }

    /// Requests answered since the host booted.
    pub fn requests_served(&self) -> u64 {
        self.requests_served
    }

    /// Open connections (accepted and not yet closed).
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    fn socket(&mut self) -> SocketHandle {
        match self.free.pop() {
            Some(h) => h,
            // The send buffer holds a whole response, so a big page is never cut short.
            None => self
                .stack
                .add_tcp_socket(RX, TX.max(self.page_keep_alive.len() + 64)),
        }
    }

    fn arm_listeners(&mut self) {
        let want = self.config.listeners.max(1);
        while self.listeners.len() < want {
            let h = self.socket();
            let port = self.config.port;
            if self.stack.tcp(h).listen(port).is_err() {
                // Only a port of 0 fails; keep the socket for later instead of looping.
                self.free.push(h);
                return;
            }
            self.listeners.push(h);
        }
    }

    /// Moves listeners that got a SYN into the connection list and re-arms the pool.
    fn accept(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.listeners.len() {
            let h = self.listeners[i];
            if self.stack.tcp_ref(h).is_listening() {
                i += 1;
                continue;
            }
            self.listeners.swap_remove(i);
            self.conns.push(Conn {
                h,
                buf: self.bufs.pop().unwrap_or_default(),
                idle_since: now,
                closing: false,
            });
        }
        if self.process == Process::Running
            || (self.process == Process::Hung && self.conns.len() < self.config.backlog)
        {
            self.arm_listeners();
        }
    }

    fn serve(&mut self, now: Instant) {
        if !self.powered {
            return;
        }
        self.accept(now);
        let keepalive = self.config.keepalive_timeout;
        // Whether the application gave smoltcp something to send (data, FIN, a window update
        // after reading); otherwise the stack's poll in handle_frame already sent everything.
        let mut dirty = false;
        let mut scratch;
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            // Looked at first without `tcp` (which would drop the stack's cached deadline):
            // most connections have nothing to do on a given frame.
            let s = self.stack.tcp_ref(c.h);
            let state = s.state();
            let readable = s.can_recv();
            match state {
                tcp::State::TimeWait => {
                    // TIME-WAIT is not kept: the socket is reused at once (see the module doc).
                    let c = self.conns.swap_remove(i);
                    self.free.push(c.h);
                    self.keep_buf(c.buf);
                    continue;
                }
                tcp::State::Closed => {
                    let c = self.conns.swap_remove(i);
                    self.stack.release_socket(c.h);
                    self.keep_buf(c.buf);
                    continue;
                }
                _ => {}
            }
            // What the code below would act on: data to read, or (while not closing) a whole
            // request, a half-close or an idle keep-alive.
            let due = readable
                || (!c.closing
                    && ((!c.buf.is_empty() && head_len(&c.buf).is_some())
                        || state == tcp::State::CloseWait
                        || now >= c.idle_since + keepalive));
            if self.process == Process::Hung || !due {
                i += 1;
                continue;
            }
            let s = self.stack.tcp(c.h);
            if readable {
                let _ = s.recv(|d| {
                    c.buf.extend_from_slice(d);
                    (d.len(), ())
                });
                c.idle_since = now;
                dirty = true;
            }
            if !c.closing {
                if let Some((hl, request)) = self.known.parse(&c.buf) {
                    let (out, keep) = match request {
                        Some(r) => {
                            let page = r.path == b"/" || r.path == b"/index.html";
                            match (r.method, page) {
                                // The page's responses are built once (they are most traffic).
                                (b"GET", true) if r.keep_alive => (&self.page_keep_alive[..], true),
                                (b"GET", true) => (&self.page_close[..], false),
                                (b"HEAD", true) => {
                                    scratch = response(200, &self.body, true, r.keep_alive);
                                    (&scratch[..], r.keep_alive)
                                }
                                (b"GET" | b"HEAD", false) => {
                                    scratch =
                                        response(404, b"not found\n", r.method == b"HEAD", false);
                                    (&scratch[..], false)
                                }
                                _ => {
                                    scratch = response(501, b"not implemented\n", false, false);
                                    (&scratch[..], false)
                                }
                            }
                        }
                        None => {
                            scratch = response(400, b"bad request\n", false, false);
                            (&scratch[..], false)
                        }
                    };
                    self.requests_served += 1;
                    c.buf.drain(..hl);
                    // The response fits the send buffer (it is a few hundred bytes).
                    let _ = s.send_slice(out);
                    if !keep {
                        s.close();
                        c.closing = true;
                    }
                    c.idle_since = now;
                } else if s.state() == tcp::State::CloseWait || now >= c.idle_since + keepalive {
                    // The client half-closed without a request, or the keep-alive idled out.
                    s.close();
                    c.closing = true;
                }
            }
            i += 1;
        }
        if dirty {
            self.stack.poll(now);
        }
    }

    /// Keeps a closed connection's buffer for the next connection.
    fn keep_buf(&mut self, mut buf: Vec<u8>) {
        if self.bufs.len() < BUFS_MAX {
            buf.clear();
            self.bufs.push(buf);
        }
    }

    fn next_idle_deadline(&self) -> Option<Instant> {
        if self.process != Process::Running {
            return None;
        }
        self.conns
            .iter()
            .filter(|c| !c.closing)
            .map(|c| c.idle_since + self.config.keepalive_timeout)
            .min()
    }

    fn stop(&mut self, now: Instant) {
        for h in self.listeners.drain(..) {
            // A listening socket closes silently; later SYNs find no socket and get RST.
            self.stack.tcp(h).close();
            self.stack.release_socket(h);
        }
        for c in &mut self.conns {
            let s = self.stack.tcp(c.h);
            // Linux close(): unread data means RST, otherwise FIN.
            if s.can_recv() || !c.buf.is_empty() || s.state() == tcp::State::SynReceived {
                s.abort();
            } else {
                s.close();
            }
            c.closing = true;
        }
        self.stack.poll(now);
    }

    /// Powers on again: a fresh kernel, seeded for this boot (Linux draws new ISN and port
    /// secrets at every boot; see `lvs_model::host::boot_seed`).
    fn boot(&mut self) {
        self.boots += 1;
        self.stack = LinuxStack::new(self.config.stack.for_boot(self.boots));
        self.listeners.clear();
        self.conns.clear();
        self.free.clear();
        self.requests_served = 0;
        self.deadline = Deadline::default();
    }
}

impl Node for Httpd {
    fn handle_frame(&mut self, now: Instant, port: PortId, frame: &[u8]) {
        if !self.powered {
            return;
        }
        self.stack.handle_frame(now, port, frame);
        self.serve(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if !self.powered {
            return;
        }
        self.stack.handle_timeout(now);
        self.serve(now);
    }

    fn control(
        &mut self,
        now: Instant,
        process: &str,
        action: ProcessAction,
    ) -> Result<(), ControlError> {
        if process != "httpd" {
            return Err(ControlError::NoSuchProcess(
                process.to_string(),
                process_list(self.processes()),
            ));
        }
        if !self.powered {
            return Ok(());
        }
        match (action, self.process) {
            (ProcessAction::Stop, Process::Running | Process::Hung) => {
                self.stop(now);
                self.process = Process::Stopped;
            }
            (ProcessAction::Crash, Process::Running) => self.process = Process::Hung,
            (ProcessAction::Start, Process::Hung) => {
                // The kernel resets the hung process's connections when it is killed.
                self.stop(now);
                self.process = Process::Running;
                self.arm_listeners();
            }
            (ProcessAction::Start, Process::Stopped) => {
                self.process = Process::Running;
                self.arm_listeners();
            }
            _ => {}
        }
        self.serve(now);
        Ok(())
    }

    fn processes(&self) -> &[&'static str] {
        &["httpd"]
    }

    fn power(&mut self, _now: Instant, on: bool) {
        if on && !self.powered {
            self.boot();
            self.powered = true;
            self.process = Process::Running;
            self.arm_listeners();
        } else if !on {
            self.powered = false;
        }
    }

    fn handle_link(&mut self, _now: Instant, port: PortId, up: bool) {
        self.stack.handle_link(port, up);
    }

    fn recycle_frame(&mut self, frame: Vec<u8>) {
        self.stack.recycle_frame(frame);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if !self.powered {
            return super::transmit_unpowered(&mut self.stack);
        }
        self.stack.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.stack.poll_event()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        if !self.powered {
            return None;
        }
        let s = self.stack.poll_timeout();
        let next = match (s, self.next_idle_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.deadline.report(self.stack.now(), next)
    }
}
