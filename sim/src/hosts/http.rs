//! Just enough HTTP/1.x for the lab: request heads in, responses out, and the reverse.

use memchr::memmem::Finder;
use std::sync::LazyLock;

/// Searchers built once: `memmem::find` would build one per call, which cost more than the
/// search itself on a lab's short heads and bodies.
static HEAD_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\r\n\r\n"));
static FROM: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"from "));

/// Finds the end of a head (`\r\n\r\n`) in `buf`; returns the head's length including it.
pub(crate) fn head_len(buf: &[u8]) -> Option<usize> {
    HEAD_END.find(buf).map(|i| i + 4)
}

/// The first line of a head, without its line end.
fn first_line(head: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let line = &head[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The header lines of a head as `(name, value)`, trimmed: the plain reading that
/// [`scan_headers`] must agree with (its tests check it does).
#[cfg(test)]
fn headers(head: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    // Line by line with memchr (a byte-wise split cost more than the rest of the parse).
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

/// What the `Connection` header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    Unsaid,
    Close,
    KeepAlive,
}

/// The `Connection` and `Content-Length` headers of a head (the lines after the first, split
/// at their first colon, names and values trimmed); the length is `Some(None)` when
/// unparsable.
///
/// It runs twice per request, so it is written for speed: one newline search over the whole
/// head, and a line whose name cannot start with `c` is skipped before its colon is sought.
fn scan_headers(head: &[u8]) -> (Connection, Option<Option<usize>>) {
    let (mut connection, mut length) = (Connection::Unsaid, None);
    let mut newlines = memchr::memchr_iter(b'\n', head);
    let Some(first_end) = newlines.next() else {
        return (connection, length);
    };
    let mut start = first_end + 1;
    let mut ends = newlines.chain(std::iter::once(head.len()));
    while start <= head.len() {
        let Some(end) = ends.next() else { break };
        let line = &head[start..end];
        start = end + 1;
        let Some(first) = line.iter().find(|b| !b.is_ascii_whitespace()) else {
            continue;
        };
        if first | 0x20 != b'c' {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (n, v) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
        read_header(n, v, &mut connection, &mut length);
    }
    (connection, length)
}

/// What one header (trimmed name and value) says of the connection and the body's length.
fn read_header(
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

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The connection stays open after the response (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
}

/// Parses a request head; `None` when it is not HTTP/1.x.
pub(crate) fn parse_request(head: &[u8]) -> Option<Request<'_>> {
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
    Some(Request {
        method,
        path,
        keep_alive,
    })
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
}

/// What is known about a response in `buf` so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Incomplete,
    Complete(Response),
    Malformed,
}

/// Parses a response; `eof` means the peer closed, which ends a body without Content-Length.
pub(crate) fn parse_response(buf: &[u8], eof: bool) -> Parsed {
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
        }),
        Some(Some(_)) => Parsed::Incomplete,
        Some(None) => Parsed::Malformed,
        None if eof => Parsed::Complete(Response {
            status,
            body: hl..buf.len(),
            close: true,
            len: buf.len(),
        }),
        None => Parsed::Incomplete,
    }
}

/// The IP in a body saying `from <ip>` (the seed's pages), as text.
pub(crate) fn server_from_body(body: &[u8]) -> Option<String> {
    let at = FROM.find(body)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keep_alive_rules() {
        let r = parse_request(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!((r.method, r.path, r.keep_alive), ("GET", "/", false));
        assert!(parse_request(b"GET / HTTP/1.1\r\n\r\n").unwrap().keep_alive);
        assert!(
            !parse_request(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            parse_request(b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert_eq!(parse_request(b"GARBAGE\r\n\r\n"), None);
        assert_eq!(parse_request(b"GET / SPDY/3\r\n\r\n"), None);
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
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), eof in any::<bool>()) {
            let _ = parse_request(&bytes);
            let _ = parse_response(&bytes, eof);
            let _ = server_from_body(&bytes);
            let _ = head_len(&bytes);
        }

        /// `scan_headers` finds what the plain reading of the headers finds (its line
        /// splitting and skipping are what is under test; both read each header alike).
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
                for (n, v) in headers(h) {
                    read_header(n, v, &mut connection, &mut length);
                }
                prop_assert_eq!(scan_headers(h), (connection, length));
            }
        }

        /// `headers` gives what the plain reading (split on `\n`, skip the first line, keep
        /// lines with a colon) gives.
        #[test]
        fn headers_match_the_plain_split(bytes in proptest::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\n'), Just(b':'), Just(b' ')], 0..200)) {
            let plain: Vec<(&[u8], &[u8])> = bytes
                .split(|&b| b == b'\n')
                .skip(1)
                .filter_map(|line| {
                    let colon = line.iter().position(|&b| b == b':')?;
                    Some((line[..colon].trim_ascii(), line[colon + 1..].trim_ascii()))
                })
                .collect();
            prop_assert_eq!(headers(&bytes).collect::<Vec<_>>(), plain);
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
