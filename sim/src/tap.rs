//! The TAP backend: runs any [`Node`] on a real Linux TAP device, in real time.
//!
//! The node is the same sans-IO code the simulator drives; this module only pumps the node
//! contract (see `lvs_model::node`) against a file descriptor instead of a virtual LAN:
//! - every frame read from the device goes to `handle_frame(now, PortId(0), frame)` — a TAP
//!   device is one Ethernet port, whose far end is the kernel's interface of that name;
//! - a deadline from `poll_timeout` that has come goes to `handle_timeout(now)`;
//! - after every input the driver drains `poll_transmit` (each frame written to the device)
//!   and then `poll_event` (each event handed to the caller's sink as a [`Record`], the same
//!   line format as the simulator's event log), then asks `poll_timeout` again;
//! - with nothing to do it waits in `ppoll(2)` on the device until the next deadline, never
//!   longer than [`MAX_WAIT`] so a stop flag set elsewhere (a signal handler) is seen soon.
//!
//! Time: a monotonic clock (`std::time::Instant`), read as nanoseconds since the driver was
//! built and handed to the node as [`lvs_model::time::Instant`]; it never goes backwards.
//! Reading the clock is allowed here and nowhere in `lvs-model`.
//!
//! Errors: a frame the kernel refuses (the interface is down, its queue is full) is counted in
//! [`TapStats::write_errors`] and dropped, as a NIC would drop it; a failing read (the device
//! was deleted) ends the run with the error.
//!
//! The TUN/TAP ioctl is a few lines over `libc` (already in the dependency tree through other
//! crates) rather than a TUN crate: the maintained ones (`tun`, `tun-tap`) bring async
//! runtimes or blocking I/O we do not want, and we need only `TUNSETIFF` plus `ppoll`.
//! Linux only: elsewhere [`TapDevice::open`] returns an `Unsupported` error.

use lvs_model::event::Record;
use lvs_model::node::{ControlError, Node, PortId, ProcessAction};
use lvs_model::time::Instant;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The longest the driver sleeps without looking at its stop flag and end time.
pub const MAX_WAIT: Duration = Duration::from_millis(50);

/// Room for any frame a TAP device hands out without a vnet header (MTU up to 64 KiB).
const FRAME_BUF: usize = 65_536;

/// At most this many frames are read in a row before timers get their turn, so a flood of
/// input cannot starve the node's deadlines.
const READ_BATCH: usize = 64;

/// An open TAP device (`IFF_TAP | IFF_NO_PI`): whole Ethernet frames, no packet-info header,
/// non-blocking.
#[derive(Debug)]
pub struct TapDevice {
    #[cfg(target_os = "linux")]
    fd: OwnedFd,
    name: String,
}

/// Checks an interface name as the kernel would (`IFNAMSIZ` is 16 with the NUL).
fn check_name(name: &str) -> io::Result<()> {
    let bad = name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == 0 || b == b'/' || b == b':' || b.is_ascii_whitespace());
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{name}` is not a valid interface name (1 to 15 bytes, no '/', ':' or spaces)"
            ),
        ));
    }
    Ok(())
}

#[cfg(target_os = "linux")]
impl TapDevice {
    /// Opens (creating it if needed) the TAP device `name`. A device made here disappears when
    /// the device is dropped; a persistent one (`ip tuntap add dev NAME mode tap`) stays.
    /// Needs `CAP_NET_ADMIN` unless the persistent device belongs to the caller.
    pub fn open(name: &str) -> io::Result<TapDevice> {
        check_name(name)?;
        let path = c"/dev/net/tun";
        // SAFETY: a valid NUL-terminated path and plain flags.
        let raw = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("cannot open /dev/net/tun ({e}); is the tun module available?"),
            ));
        }
        // SAFETY: `raw` is a descriptor we just opened and own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: ifreq is plain old data; all-zero is a valid value.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
            *dst = src as libc::c_char;
        }
        ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one `ifreq`, which outlives the call.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut ifr) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            let hint = if e.raw_os_error() == Some(libc::EPERM) {
                " (needs CAP_NET_ADMIN, e.g. run as root)"
            } else if e.raw_os_error() == Some(libc::EBUSY) {
                " (another process holds it, or it is a TUN device)"
            } else {
                ""
            };
            return Err(io::Error::new(
                e.kind(),
                format!("cannot attach TAP device `{name}`: {e}{hint}"),
            ));
        }
        let len = ifr.ifr_name.iter().position(|&c| c == 0).unwrap_or(0);
        let name = ifr.ifr_name[..len]
            .iter()
            .map(|&c| c as u8 as char)
            .collect();
        Ok(TapDevice { fd, name })
    }

    /// Wraps any non-blocking descriptor that carries one Ethernet frame per read and write
    /// (a `SOCK_SEQPACKET` socket in tests). The caller sets `O_NONBLOCK`.
    pub fn from_fd(fd: OwnedFd, name: impl Into<String>) -> TapDevice {
        TapDevice {
            fd,
            name: name.into(),
        }
    }

    /// Reads one frame; `None` when none is waiting.
    fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            // SAFETY: `buf` is valid for `buf.len()` bytes for the whole call.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if n >= 0 {
                return Ok(Some(n as usize));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(None),
                _ => return Err(e),
            }
        }
    }

    /// Writes one frame.
    fn send(&self, frame: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: `frame` is valid for `frame.len()` bytes for the whole call.
            let n = unsafe {
                libc::write(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast::<libc::c_void>(),
                    frame.len(),
                )
            };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Waits until a frame can be read or `timeout` passes (or a signal arrives).
    fn wait(&self, timeout: Duration) -> io::Result<()> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
        };
        // SAFETY: one valid pollfd, a valid timespec, no signal mask change.
        let rc = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
impl TapDevice {
    /// TAP devices are a Linux feature; elsewhere this always fails.
    pub fn open(name: &str) -> io::Result<TapDevice> {
        check_name(name)?;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "TAP devices are only supported on Linux",
        ))
    }

    fn recv(&self, _buf: &mut [u8]) -> io::Result<Option<usize>> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn send(&self, _frame: &[u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn wait(&self, _timeout: Duration) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

impl TapDevice {
    /// The interface name the kernel gave the device.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What the driver moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapStats {
    pub frames_in: u64,
    pub frames_out: u64,
    /// Frames the kernel refused (interface down, queue full); dropped.
    pub write_errors: u64,
    pub timeouts: u64,
    pub events: u64,
}

/// Drives one [`Node`] on one [`TapDevice`] in real time.
pub struct TapDriver<N> {
    node: N,
    tap: TapDevice,
    node_name: String,
    epoch: std::time::Instant,
    last: Instant,
    buf: Vec<u8>,
    stats: TapStats,
    /// Every frame in and out, when [`TapDriver::capture_to`] was called.
    capture: Option<PcapWriter<Box<dyn io::Write + Send>>>,
    /// The first error writing the capture; capturing stops there.
    capture_error: Option<io::Error>,
}

impl<N: Node> TapDriver<N> {
    /// The driver's time zero is now. Build the node just before (a director starts its
    /// keepalived at time zero); outputs it already queued go out on the first run.
    pub fn new(node: N, tap: TapDevice, node_name: impl Into<String>) -> Self {
        TapDriver {
            node,
            tap,
            node_name: node_name.into(),
            epoch: std::time::Instant::now(),
            last: Instant::ZERO,
            buf: vec![0; FRAME_BUF],
            stats: TapStats::default(),
            capture: None,
            capture_error: None,
        }
    }

    /// Captures every frame read from and written to the device from now on, as pcap with
    /// nanosecond timestamps in the driver's time (the event log's `t`): what `tcpdump -i`
    /// on the device would show, on the same clock as the events.
    pub fn capture_to(&mut self, out: Box<dyn io::Write + Send>) -> io::Result<()> {
        let w =
            PcapWriter::with_header(out, crate::trace::pcap_header()).map_err(io::Error::other)?;
        self.capture = Some(w);
        Ok(())
    }

    /// Ends the capture: flushes it and reports the first error writing it, if any.
    pub fn finish_capture(&mut self) -> io::Result<()> {
        if let Some(e) = self.capture_error.take() {
            self.capture = None;
            return Err(e);
        }
        match self.capture.take() {
            Some(w) => w.into_writer().flush(),
            None => Ok(()),
        }
    }

    fn capture(&mut self, now: Instant, frame: &[u8]) {
        let Some(w) = &mut self.capture else { return };
        let packet = PcapPacket::new(now.since_start(), frame.len() as u32, frame);
        if let Err(e) = w.write_packet(&packet) {
            self.capture = None;
            self.capture_error = Some(io::Error::other(e));
        }
    }

    /// Time since the driver was built, never earlier than a time already handed out.
    pub fn now(&mut self) -> Instant {
        let nanos = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last = self.last.max(Instant::from_nanos(nanos));
        self.last
    }

    pub fn node(&self) -> &N {
        &self.node
    }

    pub fn node_mut(&mut self) -> &mut N {
        &mut self.node
    }

    pub fn tap(&self) -> &TapDevice {
        &self.tap
    }

    pub fn stats(&self) -> TapStats {
        self.stats
    }

    /// Gives the node back (the device closes when the driver's `TapDevice` is dropped).
    pub fn into_parts(self) -> (N, TapDevice) {
        (self.node, self.tap)
    }

    /// Stops, crashes or starts one of the node's processes now, and sends what that produced.
    pub fn control(
        &mut self,
        process: &str,
        action: ProcessAction,
        sink: &mut impl FnMut(Record),
    ) -> Result<(), ControlError> {
        let now = self.now();
        let r = self.node.control(now, process, action);
        self.drain(now, sink);
        r
    }

    /// Runs for `duration` of wall time (or until `stop` is set).
    pub fn run_for(
        &mut self,
        duration: Duration,
        stop: Option<&AtomicBool>,
        sink: &mut impl FnMut(Record),
    ) -> io::Result<()> {
        let end = self.now().saturating_add(duration);
        self.run_until(Some(end), stop, sink)
    }

    /// Runs until `end` (driver time) or until `stop` is set, whichever comes first; with
    /// neither, until the device fails.
    pub fn run_until(
        &mut self,
        end: Option<Instant>,
        stop: Option<&AtomicBool>,
        sink: &mut impl FnMut(Record),
    ) -> io::Result<()> {
        let now = self.now();
        self.drain(now, sink);
        loop {
            let now = self.now();
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) || end.is_some_and(|e| now >= e) {
                return Ok(());
            }
            let deadline = self.node.poll_timeout();
            if deadline.is_some_and(|d| d <= now) {
                self.stats.timeouts += 1;
                self.node.handle_timeout(now);
                self.drain(now, sink);
                continue;
            }
            let mut read = 0;
            while read < READ_BATCH {
                let Some(n) = self.tap.recv(&mut self.buf)? else {
                    break;
                };
                read += 1;
                self.stats.frames_in += 1;
                let now = self.now();
                if self.capture.is_some() {
                    let frame = std::mem::take(&mut self.buf);
                    self.capture(now, &frame[..n]);
                    self.buf = frame;
                }
                self.node.handle_frame(now, PortId(0), &self.buf[..n]);
                self.drain(now, sink);
            }
            if read > 0 {
                continue;
            }
            let wake = [deadline, end].into_iter().flatten().min();
            let wait = wake.map_or(MAX_WAIT, |w| (w - now).min(MAX_WAIT));
            self.tap.wait(wait)?;
        }
    }

    /// Drains the node's outputs in the contract's order: frames, then events.
    fn drain(&mut self, now: Instant, sink: &mut impl FnMut(Record)) {
        while let Some(tx) = self.node.poll_transmit() {
            // One port: anything addressed elsewhere has nowhere to go.
            if tx.port != PortId(0) {
                continue;
            }
            match self.tap.send(&tx.frame) {
                Ok(()) => {
                    self.stats.frames_out += 1;
                    self.capture(now, &tx.frame);
                }
                Err(_) => self.stats.write_errors += 1,
            }
        }
        while let Some(event) = self.node.poll_event() {
            self.stats.events += 1;
            sink(Record::new(now, self.node_name.clone(), event));
        }
    }
}

/// Set by SIGINT or SIGTERM once [`stop_on_signals`] ran.
static STOP: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "linux")]
extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM set the returned flag instead of killing the process, so a driver
/// given the flag can stop its node gracefully (keepalived's SIGTERM: priority-0 adverts).
#[cfg(target_os = "linux")]
pub fn stop_on_signals() -> io::Result<&'static AtomicBool> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only stores to an atomic, which is
        // async-signal-safe; no SA_RESTART, so ppoll returns EINTR and the loop looks.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(&STOP)
}

#[cfg(not(target_os = "linux"))]
pub fn stop_on_signals() -> io::Result<&'static AtomicBool> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "the TAP backend is only supported on Linux",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use lvs_model::event::Event;
    use lvs_model::node::Transmit;
    use std::collections::VecDeque;

    /// A node that echoes every frame reversed, ticks every 5 ms, and logs what it saw.
    #[derive(Default)]
    struct Echo {
        next_tick: Option<Instant>,
        ticks: u32,
        times: Vec<Instant>,
        early: u32,
        ports: Vec<PortId>,
        out: VecDeque<Transmit>,
        events: VecDeque<Event>,
    }

    impl Node for Echo {
        fn handle_frame(&mut self, now: Instant, port: PortId, frame: &[u8]) {
            self.times.push(now);
            self.ports.push(port);
            self.out.push_back(Transmit {
                port,
                frame: frame.iter().rev().copied().collect(),
            });
            self.events.push_back(Event::Drop {
                reason: format!("echo{}", frame.len()),
            });
        }

        fn handle_timeout(&mut self, now: Instant) {
            self.times.push(now);
            match self.next_tick {
                Some(t) if now < t => self.early += 1,
                _ => {
                    self.ticks += 1;
                    self.next_tick = Some(now + Duration::from_millis(5));
                }
            }
        }

        fn control(&mut self, _: Instant, _: &str, _: ProcessAction) -> Result<(), ControlError> {
            self.out.push_back(Transmit {
                port: PortId(0),
                frame: b"control".to_vec(),
            });
            Ok(())
        }

        fn processes(&self) -> &[&'static str] {
            &["echo"]
        }

        fn poll_transmit(&mut self) -> Option<Transmit> {
            self.out.pop_front()
        }

        fn poll_event(&mut self) -> Option<Event> {
            self.events.pop_front()
        }

        fn poll_timeout(&mut self) -> Option<Instant> {
            Some(self.next_tick.unwrap_or(Instant::ZERO))
        }
    }

    /// Two ends of a non-blocking SOCK_SEQPACKET pair: one frame per read, like a TAP fd.
    fn pair() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        let rc = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        assert_eq!(rc, 0, "socketpair: {}", io::Error::last_os_error());
        // SAFETY: both descriptors were just created and are ours.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    fn peer_recv(fd: &OwnedFd) -> Vec<Vec<u8>> {
        let dev = TapDevice::from_fd(fd.try_clone().unwrap(), "peer");
        let mut buf = [0u8; 2048];
        let mut out = Vec::new();
        while let Some(n) = dev.recv(&mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn frames_in_go_to_port_zero_and_echoes_and_events_come_out() {
        let (ours, peer) = pair();
        let peer_dev = TapDevice::from_fd(peer.try_clone().unwrap(), "peer");
        peer_dev.send(b"abc").unwrap();
        peer_dev.send(b"hello").unwrap();
        let mut driver = TapDriver::new(Echo::default(), TapDevice::from_fd(ours, "t0"), "n1");
        let mut records = Vec::new();
        driver
            .run_for(Duration::from_millis(60), None, &mut |r| records.push(r))
            .unwrap();
        assert_eq!(peer_recv(&peer), vec![b"cba".to_vec(), b"olleh".to_vec()]);
        let reasons: Vec<_> = records
            .iter()
            .map(|r| (r.node.as_str(), serde_json::to_value(&r.event).unwrap()))
            .map(|(n, v)| format!("{n}:{}", v["reason"].as_str().unwrap()))
            .collect();
        assert_eq!(reasons, ["n1:echo3", "n1:echo5"]);
        let node = driver.node();
        assert!(node.ports.iter().all(|&p| p == PortId(0)));
        // Time handed to the node never goes backwards.
        assert!(
            node.times.windows(2).all(|w| w[0] <= w[1]),
            "{:?}",
            node.times
        );
        // A 5 ms tick over 60 ms: the deadline was honoured repeatedly, never before it came.
        assert!(node.ticks >= 2, "ticks {}", node.ticks);
        assert_eq!(node.early, 0);
        let stats = driver.stats();
        assert_eq!((stats.frames_in, stats.frames_out, stats.events), (2, 2, 2));
    }

    /// A `Write` the test can read back after the driver took it.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_capture_holds_every_frame_in_and_out_on_the_driver_clock() {
        let (ours, peer) = pair();
        let peer_dev = TapDevice::from_fd(peer.try_clone().unwrap(), "peer");
        peer_dev.send(b"abc").unwrap();
        let mut driver = TapDriver::new(Echo::default(), TapDevice::from_fd(ours, "t0"), "n1");
        let pcap = Shared::default();
        driver.capture_to(Box::new(pcap.clone())).unwrap();
        driver
            .control("echo", ProcessAction::Stop, &mut |_| {})
            .unwrap();
        driver
            .run_for(Duration::from_millis(20), None, &mut |_| {})
            .unwrap();
        driver.finish_capture().unwrap();
        let bytes = pcap.0.lock().unwrap().clone();
        let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(
            reader.header().ts_resolution,
            pcap_file::TsResolution::NanoSecond
        );
        let mut frames = Vec::new();
        while let Some(p) = reader.next_packet() {
            let p = p.unwrap();
            frames.push((p.timestamp, p.data.to_vec()));
        }
        let data: Vec<_> = frames.iter().map(|(_, d)| d.as_slice()).collect();
        assert_eq!(data, [&b"control"[..], b"abc", b"cba"]);
        // The echo went out at the instant its frame came in, after the control frame.
        assert_eq!(frames[1].0, frames[2].0);
        assert!(frames[0].0 <= frames[1].0);
        assert!(frames[2].0 <= driver.now().since_start());
    }

    #[test]
    fn control_sends_at_once_and_a_stop_flag_ends_the_run() {
        let (ours, peer) = pair();
        let mut driver = TapDriver::new(Echo::default(), TapDevice::from_fd(ours, "t0"), "n1");
        driver
            .control("echo", ProcessAction::Stop, &mut |_| {})
            .unwrap();
        assert_eq!(peer_recv(&peer), vec![b"control".to_vec()]);
        let stop = AtomicBool::new(true);
        // With the flag set and no end time, the run returns instead of waiting forever.
        driver.run_until(None, Some(&stop), &mut |_| {}).unwrap();
    }

    #[test]
    fn a_closed_peer_is_a_write_error_not_a_panic() {
        let (ours, peer) = pair();
        drop(peer);
        let mut driver = TapDriver::new(Echo::default(), TapDevice::from_fd(ours, "t0"), "n1");
        driver
            .control("echo", ProcessAction::Start, &mut |_| {})
            .unwrap();
        assert_eq!(driver.stats().write_errors, 1);
    }

    #[test]
    fn bad_names_are_refused_before_any_syscall() {
        for name in ["", "a/b", "sixteen-chars-xx", "a b"] {
            let e = TapDevice::open(name).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{name}");
        }
    }
}
