//! Just enough HTTP/1.x for the lab: request heads in, responses out, and the reverse.

/// The end of a message head.
const HEAD_END: &[u8] = b"\r\n\r\n";

/// Finds the end of a head (`\r\n\r\n`) in `buf`; returns the head's length including it.
pub(crate) fn head_len(buf: &[u8]) -> Option<usize> {
    buf.windows(HEAD_END.len())
        .position(|w| w == HEAD_END)
        .map(|p| p + HEAD_END.len())
}

/// The value of a header (case-insensitive name) in a head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
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
    let head = std::str::from_utf8(head).ok()?;
    let line = head.split("\r\n").next()?;
    let mut parts = line.split(' ');
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || method.is_empty() || !path.starts_with('/') {
        return None;
    }
    let connection = header(head, "connection").map(str::to_ascii_lowercase);
    let keep_alive = match version {
        "HTTP/1.1" => connection.as_deref() != Some("close"),
        "HTTP/1.0" => connection.as_deref() == Some("keep-alive"),
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
    pub body: Vec<u8>,
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
    let Ok(head) = std::str::from_utf8(&buf[..hl]) else {
        return Parsed::Malformed;
    };
    let line = head.split("\r\n").next().unwrap_or("");
    let mut parts = line.splitn(3, ' ');
    let (version, status) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let Ok(status) = status.parse::<u16>() else {
        return Parsed::Malformed;
    };
    if !version.starts_with("HTTP/1.") {
        return Parsed::Malformed;
    }
    let connection = header(head, "connection").map(str::to_ascii_lowercase);
    let close = match connection.as_deref() {
        Some("close") => true,
        Some("keep-alive") => false,
        _ => version == "HTTP/1.0",
    };
    match header(head, "content-length").map(str::parse::<usize>) {
        Some(Ok(n)) if buf.len() >= hl + n => Parsed::Complete(Response {
            status,
            body: buf[hl..hl + n].to_vec(),
            close,
            len: hl + n,
        }),
        Some(Ok(_)) => Parsed::Incomplete,
        Some(Err(_)) => Parsed::Malformed,
        None if eof => Parsed::Complete(Response {
            status,
            body: buf[hl..].to_vec(),
            close: true,
            len: buf.len(),
        }),
        None => Parsed::Incomplete,
    }
}

/// The IP in a body saying `from <ip>` (the seed's pages), as text.
pub(crate) fn server_from_body(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let at = text.find("from ")?;
    let rest = &text[at + 5..];
    let ip: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    ip.parse::<std::net::Ipv4Addr>().ok().map(|_| ip)
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
        assert_eq!(server_from_body(&p.body).as_deref(), Some("192.168.80.102"));
        assert_eq!(parse_response(&r[..r.len() - 1], false), Parsed::Incomplete);
        assert_eq!(
            parse_response(b"HTTP/1.1 abc\r\n\r\n", false),
            Parsed::Malformed
        );
        assert_eq!(server_from_body(b"from nowhere"), None);
    }
}
