//! The event log's lines, written by hand.
//!
//! The log is a contract (ARCHITECTURE.md): one JSON object per line, `t`, `node`, `kind`,
//! then the event's fields in declaration order, exactly as `serde_json` writes the
//! [`Record`] type. A long run logs tens of thousands of records and serde's tagged,
//! flattened path cost several times this writer; the tests hold the two byte-identical for
//! every kind of event and for arbitrary strings.

use lvs_model::event::{DestChange, Event, HttpError, Record};
use std::net::Ipv4Addr;

/// Appends one line of the event log (with its `\n`) to `out`.
pub fn write_line(record: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"t\":");
    number(out, record.t);
    out.extend_from_slice(b",\"node\":");
    string(out, &record.node);
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(record.event.kind().as_bytes());
    out.push(b'"');
    let mut f = Fields(out);
    match &record.event {
        Event::Fault { action, target } => {
            f.str("action", action);
            f.str("target", target);
        }
        Event::VrrpState { instance, from, to } => {
            f.str("instance", instance);
            f.str("from", from.as_str());
            f.str("to", to.as_str());
        }
        Event::VrrpAdvert {
            instance,
            vrid,
            priority,
            version,
        } => {
            f.str("instance", instance);
            f.num("vrid", u64::from(*vrid));
            f.num("priority", u64::from(*priority));
            f.num("version", u64::from(*version));
        }
        Event::Garp { ip } => f.ip("ip", *ip),
        Event::CheckResult {
            vs,
            rs,
            checker,
            ok,
        } => {
            f.str("vs", vs);
            f.str("rs", rs);
            f.str("checker", checker);
            f.bool("ok", *ok);
        }
        Event::IpvsDest {
            vs,
            rs,
            change,
            weight,
        } => {
            f.str("vs", vs);
            f.str("rs", rs);
            f.str("change", dest_change(*change));
            f.num("weight", u64::from(*weight));
        }
        Event::HttpRequest {
            client,
            started,
            status,
            server,
            error,
        } => {
            f.str("client", client);
            f.num("started", *started);
            f.key("status");
            match status {
                Some(s) => number(f.0, u64::from(*s)),
                None => f.0.extend_from_slice(b"null"),
            }
            f.key("server");
            match server {
                Some(s) => string(f.0, s),
                None => f.0.extend_from_slice(b"null"),
            }
            f.key("error");
            match error {
                Some(e) => string(f.0, http_error(*e)),
                None => f.0.extend_from_slice(b"null"),
            }
        }
        Event::ConfigDiagnostic {
            file,
            line,
            severity,
            message,
        } => {
            f.str("file", file);
            f.num("line", u64::from(*line));
            f.str("severity", severity);
            f.str("message", message);
        }
        Event::Vip {
            instance,
            ip,
            added,
        } => {
            f.str("instance", instance);
            f.ip("ip", *ip);
            f.bool("added", *added);
        }
        Event::Drop { reason } => f.str("reason", reason),
    }
    out.extend_from_slice(b"}\n");
}

/// The fields after `kind`, each preceded by its comma.
struct Fields<'a>(&'a mut Vec<u8>);

impl Fields<'_> {
    fn key(&mut self, name: &str) {
        self.0.extend_from_slice(b",\"");
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b"\":");
    }

    fn str(&mut self, name: &str, value: &str) {
        self.key(name);
        string(self.0, value);
    }

    fn num(&mut self, name: &str, value: u64) {
        self.key(name);
        number(self.0, value);
    }

    fn bool(&mut self, name: &str, value: bool) {
        self.key(name);
        self.0
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn ip(&mut self, name: &str, ip: Ipv4Addr) {
        self.key(name);
        self.0.push(b'"');
        for (i, octet) in ip.octets().into_iter().enumerate() {
            if i > 0 {
                self.0.push(b'.');
            }
            number(self.0, u64::from(octet));
        }
        self.0.push(b'"');
    }
}

fn dest_change(c: DestChange) -> &'static str {
    match c {
        DestChange::Added => "added",
        DestChange::Removed => "removed",
        DestChange::Weight => "weight",
    }
}

fn http_error(e: HttpError) -> &'static str {
    match e {
        HttpError::Refused => "refused",
        HttpError::Reset => "reset",
        HttpError::Timeout => "timeout",
    }
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string as `serde_json` writes it: `"` and `\` escaped, control characters as
/// `\b \t \n \f \r` or `\u00XX` (lowercase hex), everything else (UTF-8 included) as is.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Names and addresses never need escaping: check with a branch-free (vectorizable) pass.
    let plain = !bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvs_model::event::VrrpStateName;
    use lvs_model::time::Instant;
    use proptest::prelude::*;

    fn serde_line(r: &Record) -> String {
        let mut s = serde_json::to_string(r).unwrap();
        s.push('\n');
        s
    }

    fn ours(r: &Record) -> String {
        let mut out = Vec::new();
        write_line(r, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// One event of every kind, with the optional fields both ways.
    fn every_kind(s: &str, n: u64) -> Vec<Event> {
        let ip = Ipv4Addr::from(n as u32);
        vec![
            Event::Fault {
                action: s.into(),
                target: s.into(),
            },
            Event::VrrpState {
                instance: s.into(),
                from: VrrpStateName::Init,
                to: VrrpStateName::Master,
            },
            Event::VrrpState {
                instance: s.into(),
                from: VrrpStateName::Backup,
                to: VrrpStateName::Fault,
            },
            Event::VrrpState {
                instance: s.into(),
                from: VrrpStateName::Stop,
                to: VrrpStateName::Backup,
            },
            Event::VrrpAdvert {
                instance: s.into(),
                vrid: n as u8,
                priority: (n >> 8) as u8,
                version: 2,
            },
            Event::Garp { ip },
            Event::CheckResult {
                vs: s.into(),
                rs: s.into(),
                checker: s.into(),
                ok: n.is_multiple_of(2),
            },
            Event::IpvsDest {
                vs: s.into(),
                rs: s.into(),
                change: DestChange::Added,
                weight: n as u32,
            },
            Event::IpvsDest {
                vs: s.into(),
                rs: s.into(),
                change: DestChange::Removed,
                weight: 0,
            },
            Event::IpvsDest {
                vs: s.into(),
                rs: s.into(),
                change: DestChange::Weight,
                weight: u32::MAX,
            },
            Event::HttpRequest {
                client: s.into(),
                started: n,
                status: Some(n as u16),
                server: Some(s.into()),
                error: None,
            },
            Event::HttpRequest {
                client: s.into(),
                started: n,
                status: None,
                server: None,
                error: Some(HttpError::Refused),
            },
            Event::HttpRequest {
                client: s.into(),
                started: u64::MAX,
                status: None,
                server: None,
                error: Some(HttpError::Reset),
            },
            Event::HttpRequest {
                client: s.into(),
                started: 0,
                status: Some(0),
                server: None,
                error: Some(HttpError::Timeout),
            },
            Event::ConfigDiagnostic {
                file: s.into(),
                line: n as u32,
                severity: s.into(),
                message: s.into(),
            },
            Event::Vip {
                instance: s.into(),
                ip,
                added: n.is_multiple_of(3),
            },
            Event::Drop { reason: s.into() },
        ]
    }

    #[test]
    fn every_kind_is_written_as_serde_writes_it() {
        for (s, n) in [
            ("VI_1", 0),
            ("", u64::MAX),
            ("a\"b\\c\n\u{1}\u{7f}é😀", 1 << 40),
        ] {
            for event in every_kind(s, n) {
                let r = Record::new(Instant::from_nanos(n), s, event);
                assert_eq!(ours(&r), serde_line(&r));
            }
        }
    }

    proptest! {
        /// Any strings (control characters, quotes, non-ASCII) and numbers come out as
        /// serde_json writes them.
        #[test]
        fn lines_are_byte_identical_to_serde(s in "\\PC*|[\\x00-\\x1f\"\\\\]{0,8}", node in ".*", n in any::<u64>()) {
            for event in every_kind(&s, n) {
                let r = Record::new(Instant::from_nanos(n), node.clone(), event);
                prop_assert_eq!(ours(&r), serde_line(&r));
            }
        }
    }
}
