//! Just enough HTTP/1.x for the lab: request heads in, responses out, and the reverse.
//!
//! Every request and every response is parsed once in the hot loop of a lab run, so the parsers
//! read a head in one pass: one newline search per line finds the head's end (`\r\n\r\n`) and
//! its lines at once, a line is read only when its first byte can start `Connection` or
//! `Content-Length`, and numbers are read from their digits. The hosts read through
//! [`KnownRequests`] and [`KnownResponses`], which skip even that for a message they have read
//! before byte for byte (a lab's hosts exchange the same few messages all run). The plain
//! readings all this replaces live on in the tests, which hold the fast ones to them.

/// What the `Connection` header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    Unsaid,
    Close,
    KeepAlive,
}

/// A head found in a buffer: its length (through `\r\n\r\n`), where its first line ends (before
/// its `\n`), and its `Connection` and `Content-Length` headers (the length is `Some(None)` when
/// unparsable; the last header of each name counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    len: usize,
    first_line_end: usize,
    connection: Connection,
    length: Option<Option<usize>>,
}

/// Reads the head at the start of `buf`; `None` while it has no `\r\n\r\n`.
///
/// The first `\r\n\r\n` ends with the first `\n` that follows `\r\n\r`, so walking the newlines
/// finds it, and the lines on the way are the head's header lines.
fn read_head(buf: &[u8]) -> Option<Head> {
    let mut newlines = memchr::memchr_iter(b'\n', buf);
    let first = newlines.next()?;
    let (mut connection, mut length) = (Connection::Unsaid, None);
    let mut start = first + 1;
    for end in newlines {
        let line = &buf[start..end];
        if line == b"\r" && start >= 2 && buf[start - 2] == b'\r' {
            return Some(Head {
                len: end + 1,
                first_line_end: first,
                connection,
                length,
            });
        }
        read_header_line(line, &mut connection, &mut length);
        start = end + 1;
    }
    None
}

/// Finds the end of a head (`\r\n\r\n`) in `buf`; returns the head's length including it.
pub(crate) fn head_len(buf: &[u8]) -> Option<usize> {
    let mut newlines = memchr::memchr_iter(b'\n', buf);
    newlines
        .find(|&i| i >= 3 && buf[i - 3..i] == *b"\r\n\r")
        .map(|i| i + 1)
}

/// Reads one header line (without its `\n`) as the plain reading does — split at the first
/// colon, name and value trimmed — but only when its name can be one of the two that matter: the
/// first non-blank byte must be `c`/`C`, and the name is compared before the colon is sought.
fn read_header_line(line: &[u8], connection: &mut Connection, length: &mut Option<Option<usize>>) {
    let name_at = match line.first() {
        Some(b) if !b.is_ascii_whitespace() => 0,
        _ => match line.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => i,
            None => return,
        },
    };
    let rest = &line[name_at..];
    if rest[0] | 0x20 != b'c' {
        return;
    }
    if let Some(value) = value_after(rest, b"connection") {
        if value.eq_ignore_ascii_case(b"close") {
            *connection = Connection::Close;
        } else if value.eq_ignore_ascii_case(b"keep-alive") {
            *connection = Connection::KeepAlive;
        }
    } else if let Some(value) = value_after(rest, b"content-length") {
        *length = Some(parse_usize(value));
    }
}

/// The trimmed value of a header line that starts (after its leading blanks) with `name`,
/// blanks and a colon; `None` for a line of another name. The name holds no colon, so this
/// colon is the line's first.
fn value_after<'a>(rest: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let after = rest
        .get(..name.len())
        .filter(|n| n.eq_ignore_ascii_case(name))
        .map(|_| &rest[name.len()..])?;
    let colon = after.iter().position(|b| !b.is_ascii_whitespace())?;
    (after[colon] == b':').then(|| after[colon + 1..].trim_ascii())
}

/// `str::parse::<usize>` read from the bytes: an optional `+`, then one or more digits, without
/// overflow.
fn parse_usize(digits: &[u8]) -> Option<usize> {
    let digits = digits.strip_prefix(b"+").unwrap_or(digits);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &b| {
        let d = b.wrapping_sub(b'0');
        (d < 10).then_some(())?;
        n.checked_mul(10)?.checked_add(usize::from(d))
    })
}

/// `str::parse::<u16>` read from the bytes (see [`parse_usize`]).
fn parse_u16(digits: &[u8]) -> Option<u16> {
    parse_usize(digits).and_then(|n| u16::try_from(n).ok())
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    /// The method and path as sent (the request line is known to be UTF-8).
    pub method: &'a [u8],
    pub path: &'a [u8],
    /// The connection stays open after the response (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
}

/// Reads the request head at the start of `buf`: `None` while it is incomplete, else the head's
/// length and the request, which is `None` when the head is not HTTP/1.x. (The httpd reads
/// through [`KnownRequests`].)
#[cfg(test)]
fn parse_request(buf: &[u8]) -> Option<(usize, Option<Request<'_>>)> {
    let head = read_head(buf)?;
    Some((head.len, request(buf, &head)))
}

fn request<'a>(buf: &'a [u8], head: &Head) -> Option<Request<'a>> {
    let line = first_line(buf, head);
    // A request line must be UTF-8; split at ASCII spaces, its parts are UTF-8 when it is.
    if !line.is_ascii() && std::str::from_utf8(line).is_err() {
        return None;
    }
    let (method, rest) = split_at_space(line)?;
    let (path, version) = split_at_space(rest)?;
    if method.is_empty() || !path.starts_with(b"/") {
        return None;
    }
    // A fourth part would leave a space in `version`, which then matches neither.
    let keep_alive = match version {
        b"HTTP/1.1" => head.connection != Connection::Close,
        b"HTTP/1.0" => head.connection == Connection::KeepAlive,
        _ => return None,
    };
    Some(Request {
        method,
        path,
        keep_alive,
    })
}

/// The first line of a head, without its line end.
fn first_line<'a>(buf: &'a [u8], head: &Head) -> &'a [u8] {
    let line = &buf[..head.first_line_end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `line` split at its first space (the space in neither part).
fn split_at_space(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = line.iter().position(|&b| b == b' ')?;
    Some((&line[..sp], &line[sp + 1..]))
}

/// A complete response as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    /// Where the body lies in the parsed buffer.
    pub body: std::ops::Range<usize>,
    /// The server said `Connection: close` (or it is HTTP/1.0 without keep-alive).
    pub close: bool,
    /// Bytes the response took in the buffer.
    pub len: usize,
    /// The server the body names ([`server_from_body`]).
    pub server: Option<String>,
}

/// What is known about a response in `buf` so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Incomplete,
    Complete(Response),
    Malformed,
}

/// Parses a response; `eof` means the peer closed, which ends a body without Content-Length.
/// (The client reads through [`KnownResponses`].)
#[cfg(test)]
fn parse_response(buf: &[u8], eof: bool) -> Parsed {
    match read_head(buf) {
        Some(head) => response_with_head(buf, &head, eof),
        None => Parsed::Incomplete,
    }
}

/// [`parse_response`] once the head has been read.
fn response_with_head(buf: &[u8], head: &Head, eof: bool) -> Parsed {
    let hl = head.len;
    // The status line's first two space-separated parts.
    let line = first_line(buf, head);
    let (version, status) = match split_at_space(line) {
        Some((version, rest)) => (version, split_at_space(rest).map_or(rest, |(s, _)| s)),
        None => (line, &b""[..]),
    };
    let Some(status) = parse_u16(status) else {
        return Parsed::Malformed;
    };
    if !version.starts_with(b"HTTP/1.") {
        return Parsed::Malformed;
    }
    let close = match head.connection {
        Connection::Close => true,
        Connection::KeepAlive => false,
        Connection::Unsaid => version == b"HTTP/1.0",
    };
    match head.length {
        Some(Some(n)) if buf.len() >= hl + n => Parsed::Complete(Response {
            status,
            body: hl..hl + n,
            close,
            len: hl + n,
            server: server_from_body(&buf[hl..hl + n]),
        }),
        Some(Some(_)) => Parsed::Incomplete,
        Some(None) => Parsed::Malformed,
        None if eof => Parsed::Complete(Response {
            status,
            body: hl..buf.len(),
            close: true,
            len: buf.len(),
            server: server_from_body(&buf[hl..]),
        }),
        None => Parsed::Incomplete,
    }
}

/// Messages read before, each with what reading it gave: a lab's web server sends the same
/// response to every request (and its client the same request), so a host reads a message that
/// starts its buffer byte for byte as a known one did without reading it again. Only readings
/// that depend on nothing but those bytes are kept, so a known one is the reading of the buffer.
///
/// A few are kept (a client meets one response per real server); past that the oldest is
/// replaced.
#[derive(Debug)]
struct Known<T> {
    entries: Vec<(Vec<u8>, T)>,
    /// The entry to replace next once full.
    next: usize,
}

const KNOWN_MAX: usize = 8;

impl<T> Known<T> {
    fn new() -> Self {
        Known {
            entries: Vec::new(),
            next: 0,
        }
    }

    /// What reading the known message that starts `buf` gave.
    fn find(&self, buf: &[u8]) -> Option<&T> {
        self.entries
            .iter()
            .find(|(bytes, _)| buf.starts_with(bytes))
            .map(|(_, value)| value)
    }

    fn learn(&mut self, bytes: &[u8], value: T) {
        if self.entries.len() < KNOWN_MAX {
            self.entries.push((bytes.to_vec(), value));
        } else {
            self.entries[self.next] = (bytes.to_vec(), value);
            self.next = (self.next + 1) % KNOWN_MAX;
        }
    }
}

/// Request heads read before ([`Known`]); a head's reading depends on its bytes alone.
#[derive(Debug)]
pub(crate) struct KnownRequests(Known<Head>);

impl KnownRequests {
    pub(crate) fn new() -> Self {
        KnownRequests(Known::new())
    }

    /// [`parse_request`], from a known head when the buffer starts with one.
    pub(crate) fn parse<'a>(&mut self, buf: &'a [u8]) -> Option<(usize, Option<Request<'a>>)> {
        let head = match self.0.find(buf) {
            Some(head) => *head,
            None => {
                let head = read_head(buf)?;
                self.0.learn(&buf[..head.len], head);
                head
            }
        };
        Some((head.len, request(buf, &head)))
    }
}

/// Responses read before ([`Known`]): those framed by Content-Length, whose reading depends on
/// their head and body alone (one that ends at the peer's FIN depends on where the buffer ends).
#[derive(Debug)]
pub(crate) struct KnownResponses(Known<Response>);

impl KnownResponses {
    pub(crate) fn new() -> Self {
        KnownResponses(Known::new())
    }

    /// [`parse_response`], from a known response when the buffer starts with one.
    pub(crate) fn parse(&mut self, buf: &[u8], eof: bool) -> Parsed {
        if let Some(response) = self.0.find(buf) {
            return Parsed::Complete(response.clone());
        }
        let Some(head) = read_head(buf) else {
            return Parsed::Incomplete;
        };
        let parsed = response_with_head(buf, &head, eof);
        if let (Parsed::Complete(response), Some(Some(_))) = (&parsed, head.length) {
            self.0.learn(&buf[..response.len], response.clone());
        }
        parsed
    }
}

/// The IP in a body saying `from <ip>` (the seed's pages), as text: the digits and dots after
/// the first `from `, when they read as an IPv4 address.
pub(crate) fn server_from_body(body: &[u8]) -> Option<String> {
    let at = if body.starts_with(b"from ") {
        0
    } else {
        memchr::memchr_iter(b'f', body).find(|&i| body[i..].starts_with(b"from "))?
    };
    let rest = &body[at + 5..];
    let ip = &rest[..ipv4_len(rest)?];
    std::str::from_utf8(ip).ok().map(String::from)
}

/// The length of the run of digits and dots that starts `text`, when it reads as an IPv4
/// address as `Ipv4Addr`'s parser has it: four numbers split by dots, each one to three digits
/// without a leading zero (`0` itself allowed), at most 255. One pass, which stops at the first
/// byte that breaks the address (the whole run then fails to parse).
fn ipv4_len(text: &[u8]) -> Option<usize> {
    let (mut dots, mut digits, mut value) = (0, 0, 0u32);
    let mut leading_zero = false;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'.' if digits > 0 && dots < 3 => {
                (dots, digits, value, leading_zero) = (dots + 1, 0, 0, false);
            }
            b'0'..=b'9' if digits < 3 && !leading_zero => {
                leading_zero = digits == 0 && b == b'0';
                value = value * 10 + u32::from(b - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' | b'0'..=b'9' => return None,
            _ => return (dots == 3 && digits > 0).then_some(i),
        }
    }
    (dots == 3 && digits > 0).then_some(text.len())
}

/// Builds a response as Apache would send it (status line HTTP/1.1 whatever the request's).
pub(crate) fn response(status: u16, body: &[u8], head_only: bool, keep_alive: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        501 => "Not Implemented",
        _ => "Unknown",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nServer: lvslab-httpd\r\nContent-Length: {}\r\nContent-Type: text/html\r\nConnection: {}\r\n\r\n",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

/// The plain readings the parsers above replace, kept to hold them to it.
#[cfg(test)]
mod plain {
    use super::Connection;

    pub fn head_len(buf: &[u8]) -> Option<usize> {
        memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i + 4)
    }

    pub fn first_line(head: &[u8]) -> &[u8] {
        let end = memchr::memchr(b'\n', head).unwrap_or(head.len());
        let line = &head[..end];
        line.strip_suffix(b"\r").unwrap_or(line)
    }

    /// The header lines of a head as `(name, value)`, trimmed.
    pub fn headers(head: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut rest = memchr::memchr(b'\n', head).map_or(&[][..], |i| &head[i + 1..]);
        std::iter::from_fn(move || {
            while !rest.is_empty() {
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                let line = &rest[..end];
                rest = rest.get(end + 1..).unwrap_or(&[]);
                if let Some(colon) = memchr::memchr(b':', line) {
                    return Some((line[..colon].trim_ascii(), line[colon + 1..].trim_ascii()));
                }
            }
            None
        })
    }

    pub fn read_header(
        name: &[u8],
        value: &[u8],
        connection: &mut Connection,
        length: &mut Option<Option<usize>>,
    ) {
        if name.eq_ignore_ascii_case(b"connection") {
            if value.eq_ignore_ascii_case(b"close") {
                *connection = Connection::Close;
            } else if value.eq_ignore_ascii_case(b"keep-alive") {
                *connection = Connection::KeepAlive;
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            *length = Some(
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<usize>().ok()),
            );
        }
    }

    pub fn scan_headers(head: &[u8]) -> (Connection, Option<Option<usize>>) {
        let (mut connection, mut length) = (Connection::Unsaid, None);
        for (n, v) in headers(head) {
            read_header(n, v, &mut connection, &mut length);
        }
        (connection, length)
    }

    /// Method, path and keep-alive of a request head.
    pub fn parse_request(head: &[u8]) -> Option<(&str, &str, bool)> {
        let line = std::str::from_utf8(first_line(head)).ok()?;
        let mut parts = line.split(' ');
        let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || method.is_empty() || !path.starts_with('/') {
            return None;
        }
        let (connection, _) = scan_headers(head);
        let keep_alive = match version {
            "HTTP/1.1" => connection != Connection::Close,
            "HTTP/1.0" => connection == Connection::KeepAlive,
            _ => return None,
        };
        Some((method, path, keep_alive))
    }

    pub fn parse_response(buf: &[u8], eof: bool) -> super::Parsed {
        use super::{Parsed, Response};
        let Some(hl) = head_len(buf) else {
            return Parsed::Incomplete;
        };
        let head = &buf[..hl];
        let mut parts = first_line(head).splitn(3, |&b| b == b' ');
        let (version, status) = (parts.next().unwrap_or(b""), parts.next().unwrap_or(b""));
        let Some(status) = std::str::from_utf8(status)
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
        else {
            return Parsed::Malformed;
        };
        if !version.starts_with(b"HTTP/1.") {
            return Parsed::Malformed;
        }
        let (connection, length) = scan_headers(head);
        let close = match connection {
            Connection::Close => true,
            Connection::KeepAlive => false,
            Connection::Unsaid => version == b"HTTP/1.0",
        };
        match length {
            Some(Some(n)) if buf.len() >= hl + n => Parsed::Complete(Response {
                status,
                body: hl..hl + n,
                close,
                len: hl + n,
                server: server_from_body(&buf[hl..hl + n]),
            }),
            Some(Some(_)) => Parsed::Incomplete,
            Some(None) => Parsed::Malformed,
            None if eof => Parsed::Complete(Response {
                status,
                body: hl..buf.len(),
                close: true,
                len: buf.len(),
                server: server_from_body(&buf[hl..]),
            }),
            None => Parsed::Incomplete,
        }
    }

    pub fn server_from_body(body: &[u8]) -> Option<String> {
        let at = memchr::memmem::find(body, b"from ")?;
        let rest = &body[at + 5..];
        let end = rest
            .iter()
            .position(|&b| !(b.is_ascii_digit() || b == b'.'))
            .unwrap_or(rest.len());
        let ip = std::str::from_utf8(&rest[..end]).ok()?;
        ip.parse::<std::net::Ipv4Addr>()
            .ok()
            .map(|_| ip.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keep_alive_rules() {
        let req = |head: &'static [u8]| parse_request(head).unwrap().1;
        let r = req(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(
            (r.method, r.path, r.keep_alive),
            (&b"GET"[..], &b"/"[..], false)
        );
        assert!(req(b"GET / HTTP/1.1\r\n\r\n").unwrap().keep_alive);
        assert!(
            !req(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            req(b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert_eq!(req(b"GARBAGE\r\n\r\n"), None);
        assert_eq!(req(b"GET / SPDY/3\r\n\r\n"), None);
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\n"), None);
        // The head ends at the first blank line; what follows is the next request's.
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\n\r\nGET").unwrap().0, 18);
    }

    #[test]
    fn response_round_trip_and_server_ip() {
        let r = response(200, b"from 192.168.80.102\n", false, false);
        let Parsed::Complete(p) = parse_response(&r, false) else {
            panic!()
        };
        assert_eq!((p.status, p.close, p.len), (200, true, r.len()));
        assert_eq!(
            server_from_body(&r[p.body]).as_deref(),
            Some("192.168.80.102")
        );
        assert_eq!(parse_response(&r[..r.len() - 1], false), Parsed::Incomplete);
        assert_eq!(
            parse_response(b"HTTP/1.1 abc\r\n\r\n", false),
            Parsed::Malformed
        );
        assert_eq!(server_from_body(b"from nowhere"), None);
        assert_eq!(server_from_body(b"from 10.0.0.010"), None);
        assert_eq!(
            server_from_body(b"from 10.0.0.0").as_deref(),
            Some("10.0.0.0")
        );
        assert_eq!(
            server_from_body(b"from 0.0.0.1").as_deref(),
            Some("0.0.0.1")
        );
        assert_eq!(server_from_body(b"from 10.0.0.0.").as_deref(), None);
        assert_eq!(server_from_body(b"from 10.0.0.256 ").as_deref(), None);
        assert_eq!(server_from_body(b"ffrom 10.0.0.10.").as_deref(), None);
        assert_eq!(
            server_from_body(b"ffrom 10.0.0.1x").as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn numbers_read_as_str_parse_reads_them() {
        for s in [
            "",
            "+",
            "-1",
            "+0",
            "007",
            "65535",
            "65536",
            "18446744073709551616",
        ] {
            assert_eq!(parse_usize(s.as_bytes()), s.parse::<usize>().ok(), "{s}");
            assert_eq!(parse_u16(s.as_bytes()), s.parse::<u16>().ok(), "{s}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes built from pieces of heads, so that random inputs hold real header lines, line
    /// ends, blank lines and addresses as well as noise.
    fn head_like() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            proptest::collection::vec(any::<u8>(), 1..4),
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\r\n\r\n".to_vec()),
            Just(b":".to_vec()),
            Just(b" ".to_vec()),
            Just(b"\t".to_vec()),
            Just(b"c".to_vec()),
            Just(b"Connection".to_vec()),
            Just(b"content-LENGTH".to_vec()),
            Just(b"Content-Lengthx".to_vec()),
            Just(b"close".to_vec()),
            Just(b"Keep-Alive".to_vec()),
            Just(b"12".to_vec()),
            Just(b"+3".to_vec()),
            Just(b"HTTP/1.1".to_vec()),
            Just(b"HTTP/1.0".to_vec()),
            Just(b"GET / ".to_vec()),
            Just(b"200".to_vec()),
            Just(b"from ".to_vec()),
            Just(b"192.168.80.102".to_vec()),
            Just(b"0".to_vec()),
            Just(b"256".to_vec()),
            Just(b".".to_vec()),
            Just("é".as_bytes().to_vec()),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|ps| ps.concat())
    }

    proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), eof in any::<bool>()) {
            let _ = parse_request(&bytes);
            let _ = parse_response(&bytes, eof);
            let _ = server_from_body(&bytes);
            let _ = head_len(&bytes);
        }

        /// The head's end and headers are what the plain reading finds: `\r\n\r\n` by memmem,
        /// then every line after the first split at its first colon and trimmed.
        #[test]
        fn read_head_matches_the_plain_reading(bytes in head_like()) {
            let plain_len = plain::head_len(&bytes);
            prop_assert_eq!(head_len(&bytes), plain_len);
            let head = read_head(&bytes);
            prop_assert_eq!(head.map(|h| h.len), plain_len);
            if let (Some(h), Some(hl)) = (head, plain_len) {
                let (connection, length) = plain::scan_headers(&bytes[..hl]);
                prop_assert_eq!((h.connection, h.length), (connection, length));
                prop_assert_eq!(first_line(&bytes, &h), plain::first_line(&bytes));
            }
        }

        /// One header line is read as the plain reading reads it (its line splitting and
        /// skipping are what is under test; both read each header alike).
        #[test]
        fn scan_headers_matches_the_plain_reading(bytes in proptest::collection::vec(
            prop_oneof![
                any::<u8>(), Just(b'\n'), Just(b':'), Just(b' '), Just(b'\r'),
                Just(b'c'), Just(b'C'), Just(b'5'),
            ], 0..200),
            name in prop_oneof![Just("Connection"), Just("content-length"), Just(" CONNECTION")],
            value in prop_oneof![Just("close"), Just("Keep-Alive"), Just("12"), Just("+3"), Just("x")]) {
            let mut head = bytes.clone();
            head.extend_from_slice(format!("\n{name}:{value}\r\n").as_bytes());
            head.extend_from_slice(&bytes);
            for h in [&bytes[..], &head[..]] {
                let (mut connection, mut length) = (Connection::Unsaid, None);
                for line in h.split(|&b| b == b'\n').skip(1) {
                    read_header_line(line, &mut connection, &mut length);
                }
                prop_assert_eq!(plain::scan_headers(h), (connection, length));
            }
        }

        /// `plain::headers` gives what the plainest reading (split on `\n`, skip the first
        /// line, keep lines with a colon) gives.
        #[test]
        fn headers_match_the_plain_split(bytes in proptest::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\n'), Just(b':'), Just(b' ')], 0..200)) {
            let split: Vec<(&[u8], &[u8])> = bytes
                .split(|&b| b == b'\n')
                .skip(1)
                .filter_map(|line| {
                    let colon = line.iter().position(|&b| b == b':')?;
                    Some((line[..colon].trim_ascii(), line[colon + 1..].trim_ascii()))
                })
                .collect();
            prop_assert_eq!(plain::headers(&bytes).collect::<Vec<_>>(), split);
        }

        #[test]
        fn requests_parse_as_the_plain_reading(bytes in head_like()) {
            let plain = plain::head_len(&bytes).map(|hl| {
                let r = plain::parse_request(&bytes[..hl]);
                (hl, r.map(|(m, p, k)| (m.as_bytes(), p.as_bytes(), k)))
            });
            let fast = parse_request(&bytes)
                .map(|(hl, r)| (hl, r.map(|r| (r.method, r.path, r.keep_alive))));
            prop_assert_eq!(fast, plain);
        }

        #[test]
        fn responses_parse_as_the_plain_reading(bytes in head_like(), eof in any::<bool>()) {
            prop_assert_eq!(parse_response(&bytes, eof), plain::parse_response(&bytes, eof));
        }

        #[test]
        fn server_ips_read_as_the_plain_reading(
            bytes in head_like(),
            noise in "[0-9.]{0,18}",
            parts in proptest::collection::vec(
                prop_oneof![Just("0"), Just("00"), Just("07"), Just("1"), Just("99"), Just("255"),
                            Just("256"), Just("1000"), Just("")], 1..6),
            end in prop_oneof![Just(""), Just("\n"), Just("."), Just("1"), Just(" x")]) {
            prop_assert_eq!(server_from_body(&bytes), plain::server_from_body(&bytes));
            for ip in [noise, parts.join(".")] {
                let body = format!("from {ip}{end}");
                prop_assert_eq!(server_from_body(body.as_bytes()), plain::server_from_body(body.as_bytes()));
            }
        }

        /// A known response is what a fresh reading gives, for buffers that start with
        /// responses seen before (more kinds than are kept), their prefixes, extra bytes and
        /// noise.
        #[test]
        fn known_responses_read_as_the_plain_reading(
            bufs in proptest::collection::vec(
                (0..14usize, head_like(), 0..160usize, any::<bool>()), 1..60)) {
            let mut known = KnownResponses::new();
            for (kind, noise, cut, eof) in bufs {
                let mut buf = match kind {
                    0..12 => {
                        let body = format!("from 10.0.0.{kind}\n");
                        response(200 + kind as u16 % 2, body.as_bytes(), false, kind % 3 == 0)
                    }
                    12 => b"HTTP/1.0 200 OK\r\n\r\nfrom 10.1.1.1".to_vec(),
                    _ => Vec::new(),
                };
                buf.extend_from_slice(&noise);
                if kind % 2 == 0 {
                    buf.truncate(cut);
                }
                prop_assert_eq!(known.parse(&buf, eof), plain::parse_response(&buf, eof));
            }
        }

        /// A known request head is read as a fresh reading reads it (see above).
        #[test]
        fn known_requests_read_as_the_plain_reading(
            bufs in proptest::collection::vec(
                (0..14usize, head_like(), 0..80usize), 1..60)) {
            let mut known = KnownRequests::new();
            for (kind, noise, cut) in bufs {
                let mut buf = match kind {
                    0..12 => format!(
                        "{} /{} HTTP/1.{}\r\nHost: 10.0.0.1\r\n{}\r\n",
                        if kind % 3 == 0 { "HEAD" } else { "GET" },
                        kind,
                        kind % 2,
                        if kind % 4 == 0 { "Connection: keep-alive\r\n" } else { "" }
                    )
                    .into_bytes(),
                    12 => b"GET / HTTP/1.1\r\n\r\n".to_vec(),
                    _ => Vec::new(),
                };
                buf.extend_from_slice(&noise);
                if kind % 2 == 0 {
                    buf.truncate(cut);
                }
                let plain = plain::head_len(&buf).map(|hl| {
                    let r = plain::parse_request(&buf[..hl]);
                    (hl, r.map(|(m, p, k)| (m.as_bytes(), p.as_bytes(), k)))
                });
                let fast = known
                    .parse(&buf)
                    .map(|(hl, r)| (hl, r.map(|r| (r.method, r.path, r.keep_alive))));
                prop_assert_eq!(fast, plain);
            }
        }

        #[test]
        fn numbers_read_as_str_parse(s in "[+-]?[0-9]{0,22}|.{0,4}") {
            prop_assert_eq!(parse_usize(s.as_bytes()), s.parse::<usize>().ok());
            prop_assert_eq!(parse_u16(s.as_bytes()), s.parse::<u16>().ok());
        }

        #[test]
        fn responses_parse_back(status in prop_oneof![Just(200u16), Just(404), Just(501)],
                                body in "[ -~]{0,64}", keep in any::<bool>()) {
            let r = response(status, body.as_bytes(), false, keep);
            match parse_response(&r, false) {
                Parsed::Complete(p) => {
                    prop_assert_eq!(p.status, status);
                    prop_assert_eq!(&r[p.body], body.as_bytes());
                    prop_assert_eq!(p.close, !keep);
                    prop_assert_eq!(p.len, r.len());
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
