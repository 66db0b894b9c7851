//! keepalived 2.2.7's `process_stream`: keyword dispatch by block, unknown keywords skipped line
//! by line (an unknown block's `}` closes the *enclosing* block), inactive blocks skipped by
//! counting braces, value blocks, and the number readers with their exact messages.

use super::diag::{Diagnostic, Effect, Severity};
use super::keywords::{Blk, Pass, lookup, root_group};
use super::lexer::{Input, Lexed, Line, Token};
use super::model::*;
use super::source::FileId;
use std::collections::BTreeSet;
use std::time::Duration;

/// The missing-parameter exit: the parsing process stops.
pub(crate) struct Exit;

/// In-progress VRRP instance: `None` = not set (so defaults can be told from values).
#[derive(Clone, Debug, Default)]
pub(crate) struct InstB {
    pub name: String,
    pub loc: Location,
    pub want_master: Option<bool>,
    pub interface: Option<String>,
    pub vrid: Option<u8>,
    pub priority: Option<u8>,
    pub advert_us: Option<u64>,
    pub version: Option<VrrpVersion>,
    pub family: Option<AddressFamily>,
    pub auth_type: Option<AuthType>,
    pub auth_pass: Vec<u8>,
    pub vips: Vec<VirtualIp>,
    pub evips: Vec<VirtualIp>,
    pub nopreempt: bool,
    pub preempt_delay_us: u64,
    pub garp_master_delay: Option<Duration>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh: Option<Option<Duration>>,
    pub garp_master_refresh_repeat: Option<u32>,
    pub garp_lower_prio_delay: Option<Duration>,
    pub garp_lower_prio_repeat: Option<u32>,
    pub down_timer_adverts: Option<u32>,
    pub unicast_configured: bool,
    pub saddr_from_config: bool,
    pub unicast_src_ip: Option<std::net::IpAddr>,
    pub unicast_peers: Vec<std::net::IpAddr>,
    pub mcast_src_ip: Option<std::net::IpAddr>,
    pub track_interfaces: Vec<TrackInterface>,
    pub track_scripts: Vec<TrackScript>,
    pub notify: Notify,
    pub smtp_alert: Option<bool>,
    pub strict_mode: Option<bool>,
    pub accept: Option<bool>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub dont_track_primary: bool,
    pub use_vmac: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct CheckerB {
    pub kind: Option<CheckerKind>,
    pub loc: Location,
    pub connect_ip: Option<std::net::IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<std::net::IpAddr>,
    pub connect_timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub delay_loop: Option<Duration>,
    pub alpha: Option<bool>,
    pub log_all_failures: bool,
    pub default_retry: u32,
    pub default_dbr: Option<Duration>,
    /// Dropped by its end handler (no url, no misc_path).
    pub dropped: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct RsB {
    pub addr: Option<std::net::IpAddr>,
    pub port: u16,
    pub loc: Location,
    pub weight: Option<u32>,
    pub inhibit: Option<bool>,
    pub lb_kind: Option<LbKind>,
    pub uthreshold: u32,
    pub lthreshold: u32,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    pub alpha: Option<bool>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub delay_loop: Option<Duration>,
    pub checkers: Vec<CheckerB>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct VsB {
    pub address: Option<VirtualServerAddress>,
    pub loc: Location,
    pub protocol: Option<Protocol>,
    pub lb_algo: Option<LbAlgo>,
    pub lb_kind: Option<LbKind>,
    pub delay_loop: Option<Duration>,
    pub persistence_timeout: Option<u32>,
    pub persistence_granularity: Option<std::net::Ipv4Addr>,
    pub quorum: Option<u32>,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub sorry: Option<(std::net::IpAddr, u16)>,
    pub sorry_inhibit: bool,
    pub sorry_lb_kind: Option<LbKind>,
    pub ha_suspend: bool,
    pub alpha: bool,
    pub omega: bool,
    pub virtualhost: Option<String>,
    pub weight: Option<u32>,
    pub inhibit: Option<bool>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub rs: Vec<RsB>,
}

/// What one pass builds.
#[derive(Default)]
pub(crate) struct State {
    pub global: GlobalDefs,
    pub scripts: Vec<VrrpScript>,
    pub script_ok: Vec<bool>,
    pub insts: Vec<InstB>,
    /// Names in `insts`, for the duplicate check (a lookup, not a scan per instance).
    pub inst_names: std::collections::HashSet<String>,
    pub syncs: Vec<(SyncGroup, Vec<(String, Location)>)>,
    pub vsgs: Vec<VirtualServerGroup>,
    pub vss: Vec<VsB>,
    /// Set while inside an instance / vs whose header was rejected (skip_block).
    pub raw: Vec<RawStatement>,
}

pub(crate) struct Parser<'l> {
    pub input: &'l Input,
    /// Every word of the input ([`Input::words`]), shared by the three passes.
    words: &'l [Token<'l>],
    pos: usize,
    pub diags: Vec<Diagnostic>,
    /// Logical lines visited (work counter).
    pub steps: u64,
    pub pass: Pass,
    pub(crate) skip_sublevel: i64,
    kw_level: u32,
    pub exited: bool,
    pub st: State,
    /// Headers of the open blocks, for raw statements (e.g. `vrrp_instance VI_1`).
    pub ctx: Vec<&'l [Token<'l>]>,
    pub not_simulated_seen: BTreeSet<String>,
    pub cur: Option<&'l Line>,
}

impl<'l> Parser<'l> {
    pub fn new(input: &'l Input, words: &'l [Token<'l>], pass: Pass, global: GlobalDefs) -> Self {
        Parser {
            input,
            words,
            pos: 0,
            diags: Vec::new(),
            steps: 0,
            pass,
            skip_sublevel: 0,
            kw_level: 0,
            exited: false,
            st: State {
                global,
                ..State::default()
            },
            ctx: Vec::new(),
            not_simulated_seen: BTreeSet::new(),
            cur: None,
        }
    }

    /// Parses the whole input; afterwards reports unbalanced `{`.
    pub fn run(&mut self) {
        self.process_stream(Blk::Root, false);
        if !self.exited && self.input.block_depth > 0 {
            let d = self.input.block_depth;
            self.push_diag_noline(
                Severity::Error,
                Effect::None,
                "missing-close-brace",
                format!("There are {d} missing '}}'s or extra '{{'s"),
                Some("a block is never closed; keepalived keeps everything parsed so far".into()),
            );
        }
    }

    /// File and line of the last line read.
    fn last_pos(&self) -> (FileId, u32) {
        self.cur
            .or_else(|| self.input.lines.last().map(|l| &l.line))
            .map(|l| (l.file, l.line))
            .unwrap_or((0, 0))
    }

    pub fn loc(&self) -> Location {
        let (file, line) = self.last_pos();
        Location {
            file: self.input.sources.name(file).to_string(),
            line,
        }
    }

    fn read_lexed(&mut self) -> Option<&'l Lexed> {
        let input: &'l Input = self.input;
        let lx = input.lines.get(self.pos)?;
        self.pos += 1;
        self.steps += 1;
        self.cur = Some(&lx.line);
        Some(lx)
    }

    /// The words of a line read by [`Parser::read_lexed`].
    fn words_of(&self, lx: &Lexed) -> &'l [Token<'l>] {
        self.input.line_words(self.words, lx)
    }

    /// Reports at the current logical line, pointing at `tok` (or the line start).
    pub fn err(&mut self, tok: Option<&Token>, effect: Effect, code: &'static str, msg: String) {
        self.diag(Severity::Error, tok, effect, code, msg, None)
    }

    pub fn err_help(
        &mut self,
        tok: Option<&Token>,
        effect: Effect,
        code: &'static str,
        msg: String,
        help: &str,
    ) {
        self.diag(
            Severity::Error,
            tok,
            effect,
            code,
            msg,
            Some(help.to_string()),
        )
    }

    pub fn warn(&mut self, tok: Option<&Token>, effect: Effect, code: &'static str, msg: String) {
        self.diag(Severity::Warning, tok, effect, code, msg, None)
    }

    pub fn diag(
        &mut self,
        severity: Severity,
        tok: Option<&Token>,
        effect: Effect,
        code: &'static str,
        message: String,
        help: Option<String>,
    ) {
        let (file, line, col0) = match self.cur {
            Some(l) => (l.file, l.line, l.col0),
            None => {
                let (f, l) = self.last_pos();
                (f, l, 0)
            }
        };
        // keepalived's own warnings (and deprecations) are printed the same way as errors; the
        // text tells them apart.
        let severity = if severity == Severity::Error
            && (message.starts_with("Warning")
                || message.starts_with("WARNING")
                || message.contains("deprecated"))
        {
            Severity::Warning
        } else {
            severity
        };
        let (col, len) = match tok {
            Some(t) => (t.col, t.len),
            None => (col0, self.cur.map(|l| l.len).unwrap_or(1)),
        };
        self.diags.push(Diagnostic {
            file,
            line,
            byte_col: col,
            len,
            severity,
            effect,
            code,
            message,
            help,
            keepalived_line: true,
        });
    }

    /// A message keepalived prints without a line number (validation stage); located at `loc`.
    pub fn push_diag_noline(
        &mut self,
        severity: Severity,
        effect: Effect,
        code: &'static str,
        message: String,
        help: Option<String>,
    ) {
        self.noline_at(None, severity, effect, code, message, help)
    }

    pub fn noline_at(
        &mut self,
        at: Option<&Location>,
        severity: Severity,
        effect: Effect,
        code: &'static str,
        message: String,
        help: Option<String>,
    ) {
        let (file, line) = match at {
            Some(l) => (
                self.input
                    .sources
                    .files
                    .iter()
                    .position(|f| f.name == l.file)
                    .unwrap_or(0),
                l.line,
            ),
            None => self.last_pos(),
        };
        let col = self
            .input
            .sources
            .get(file)
            .map(|f| {
                let t = f.line_text(line);
                (t.len() - t.trim_start().len()) as u32
            })
            .unwrap_or(0);
        let len = self
            .input
            .sources
            .get(file)
            .map(|f| f.line_text(line).trim().len() as u32)
            .unwrap_or(1);
        self.diags.push(Diagnostic {
            file,
            line,
            byte_col: col,
            len,
            severity,
            effect,
            code,
            message,
            help,
            keepalived_line: false,
        });
    }

    /// lvslab's own remark.
    pub fn note(&mut self, tok: Option<&Token>, code: &'static str, msg: String, help: String) {
        self.diag(Severity::Note, tok, Effect::None, code, msg, Some(help))
    }

    /// keepalived's `strvec_slot` on a missing word: the process exits with status 2.
    pub fn arg<'t, 'w>(&mut self, toks: &'t [Token<'w>], i: usize) -> Result<&'t Token<'w>, Exit> {
        if let Some(t) = toks.get(i) {
            return Ok(t);
        }
        let first = toks.first().map(|t| t.text).unwrap_or("***MISSING ***");
        let msg = match i.checked_sub(1).and_then(|j| toks.get(j)) {
            Some(prev) => format!(
                "*** Configuration line starting `{first}` is missing a parameter after keyword `{}` at word position {}",
                prev.text,
                i + 1
            ),
            None => format!(
                "*** Configuration line starting `{first}` is missing a parameter at word position {}",
                i + 1
            ),
        };
        let last = toks.last().cloned();
        self.err_help(
            last.as_ref(),
            Effect::DaemonExits,
            "missing-parameter",
            msg,
            "keepalived's parser exits here (status 2) and the whole daemon terminates",
        );
        self.exited = true;
        Err(Exit)
    }

    /// keepalived's `process_stream`. Returns true when a skipped block ended the level.
    fn process_stream(&mut self, blk: Blk, need_bob: bool) -> bool {
        let mut need_bob = need_bob;
        while !self.exited {
            let Some(lx) = self.read_lexed() else {
                break;
            };
            let line = &lx.line;
            let toks: &'l [Token<'l>] = self.words_of(lx);
            if toks.is_empty() && lx.brace == 0 {
                continue;
            }
            if self.skip_sublevel == -1 {
                if lx.brace == 1 || (lx.other_braces && toks[0].text == "{") {
                    self.skip_sublevel = 1;
                    need_bob = false;
                    continue;
                }
                self.skip_sublevel = 0;
            }
            if self.skip_sublevel != 0 {
                // Inactive or rejected block: count braces only.
                let last_close = if !lx.other_braces {
                    self.skip_sublevel += lx.brace as i64;
                    lx.brace == -1
                } else {
                    let mut last = "";
                    for t in toks {
                        last = t.text;
                        if t.text == "{" {
                            self.skip_sublevel += 1;
                        } else if t.text == "}" {
                            self.skip_sublevel -= 1;
                            if self.skip_sublevel == 0 {
                                break;
                            }
                        }
                    }
                    last == "}"
                };
                if last_close && self.skip_sublevel == 0 && self.kw_level > 0 {
                    return true;
                }
                continue;
            }
            let str0 = match lx.brace {
                1 => "{",
                -1 => "}",
                _ => toks[0].text,
            };
            if need_bob {
                need_bob = false;
                if str0 == "{" && self.kw_level > 0 {
                    continue;
                }
                let t0 = first_token(lx, self.words_of(lx));
                self.err_help(
                    Some(&t0),
                    Effect::None,
                    "missing-open-brace",
                    "Missing '{' at beginning of configuration block".into(),
                    "keepalived carries on as if the `{` were there",
                );
            } else if str0 == "{" {
                let t0 = first_token(lx, self.words_of(lx));
                self.err_help(
                    Some(&t0),
                    Effect::Ignored,
                    "unexpected-open-brace",
                    "Unexpected '{' - ignoring".into(),
                    "usually the `{` of an unknown block: its lines are read as keywords of the enclosing block, and its `}` closes the enclosing block",
                );
                continue;
            }
            if str0 == "}" && self.kw_level > 0 {
                break;
            }
            let Some(sub) = lookup(blk, str0) else {
                let t0 = [first_token(lx, self.words_of(lx))];
                self.unknown_keyword(blk, &t0);
                continue;
            };
            let active = if blk == Blk::Root {
                root_group(str0).is_some_and(|(g, _)| self.pass.active(g))
            } else {
                true
            };
            let mut toks = toks;
            if !active {
                self.skip_sublevel = if toks.last().is_some_and(|t| t.text == "{") {
                    1
                } else {
                    -1
                };
            }
            let mut bob_needed = false;
            if sub.is_some() {
                if toks.last().is_some_and(|t| t.text == "{") && toks.len() > 1 {
                    toks = &toks[..toks.len() - 1];
                } else {
                    bob_needed = true;
                }
            }
            if active && self.handle(blk, toks, line).is_err() {
                break;
            }
            if let Some(sub) = sub {
                self.kw_level += 1;
                let pushed = active;
                if pushed {
                    self.ctx.push(toks);
                }
                let ret = self.process_stream(sub, bob_needed);
                if pushed {
                    self.ctx.pop();
                }
                self.kw_level -= 1;
                if !ret && active && !self.exited {
                    self.close_block(sub);
                }
            }
        }
        false
    }

    fn unknown_keyword(&mut self, blk: Blk, toks: &[Token]) {
        let kw = &toks[0].text;
        let shown = kw
            .replace('\u{a0}', "<U+00A0>")
            .replace('\u{feff}', "<U+FEFF>");
        let help = explain_unknown(blk, kw);
        self.err_help(
            Some(&toks[0]),
            Effect::Ignored,
            "unknown-keyword",
            format!("Unknown keyword '{shown}'"),
            &help,
        );
    }

    /// keepalived's `alloc_value_block`: the item lines of a `{ ... }` value block.
    pub fn value_block<'t>(&mut self, toks: &[Token<'t>]) -> Vec<(&'l Line, Vec<Token<'t>>)>
    where
        'l: 't,
    {
        let mut items = Vec::new();
        let mut need_bob = true;
        let mut first: Option<Vec<Token<'t>>> = None;
        let mut first_eob = false;
        if toks.len() > 1 {
            if toks[1].text == "{" {
                need_bob = false;
                if toks.len() > 2 {
                    let mut v = toks[2..].to_vec();
                    if v.last().is_some_and(|t| t.text == "}") {
                        v.pop();
                        first_eob = true;
                    }
                    first = Some(v);
                }
            } else {
                let (k, p) = (toks[0].text, toks[1].text);
                self.err(
                    Some(&toks[1]),
                    Effect::Ignored,
                    "block-extra-parameters",
                    format!("Block {k} has extra parameters {p} ..."),
                );
            }
        }
        if let Some(v) = first.take() {
            if let (Some(l), false) = (self.cur, v.is_empty()) {
                items.push((l, v));
            }
            if first_eob {
                return items;
            }
        }
        while let Some(lx) = self.read_lexed() {
            let line = &lx.line;
            if lx.brace != 0 {
                if need_bob {
                    need_bob = false;
                    if lx.brace == 1 {
                        continue;
                    }
                }
                if lx.brace == -1 {
                    break;
                }
                // A lone `{` after the block start is read as a value.
                items.push((line, vec![first_token(lx, self.words_of(lx))]));
                continue;
            }
            let mut vec = self.words_of(lx);
            if vec.is_empty() {
                continue;
            }
            if need_bob {
                need_bob = false;
                if vec[0].text == "{" {
                    if vec.len() == 1 {
                        continue;
                    }
                    vec = &vec[1..];
                }
            }
            let mut had_eob = false;
            if vec.last().is_some_and(|t| t.text == "}") {
                if vec.len() == 1 {
                    break;
                }
                had_eob = true;
                vec = &vec[..vec.len() - 1];
            }
            if !vec.is_empty() {
                items.push((line, vec.to_vec()));
            }
            if had_eob {
                break;
            }
        }
        items
    }

    /// Records a keyword the lab parses but does not simulate (noted once per keyword).
    pub fn not_simulated(&mut self, toks: &[Token]) {
        let kw = toks[0].text.to_string();
        let block = self
            .ctx
            .last()
            .map(|h| {
                h.iter()
                    .take(2)
                    .map(|t| t.text)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        self.st.raw.push(RawStatement {
            block: block.clone(),
            keyword: kw.clone(),
            args: toks[1..].iter().map(|t| t.text.to_string()).collect(),
            location: self.loc(),
        });
        if self.not_simulated_seen.insert(kw.clone()) {
            self.note(
                Some(&toks[0]),
                "not-simulated",
                format!("'{kw}' is accepted by keepalived but not simulated by lvslab"),
                "the value is kept in the model (not_simulated) and has no effect in the lab"
                    .into(),
            );
        }
    }

    // ---- number readers: keepalived's read_*_func with `keepalived -t` semantics --------------

    /// `read_unsigned`: Ok(v) when valid; Err(runtime value) otherwise, where the runtime value
    /// is what a running daemon (not `-t`) would accept for `ignore_error` keywords.
    pub fn read_unsigned(
        &mut self,
        tok: &Token,
        min: u64,
        max: u64,
        ignore_error: bool,
    ) -> Result<u64, Option<u64>> {
        let s = tok.text;
        let NumberWord {
            negative: neg,
            digits,
            junk,
        } = number_word(s);
        let val: Option<u64> = if digits.is_empty() {
            Some(0)
        } else {
            digits.parse::<u64>().ok()
        };
        let msg = if neg {
            format!("negative number '{s}'")
        } else if junk {
            format!("invalid number '{s}'")
        } else if val.is_none_or(|v| v > u32::MAX as u64) {
            format!("number '{s}' outside unsigned integer range")
        } else if val.is_some_and(|v| v < min || v > max) {
            format!("number '{s}' outside range [{min}, {max}]")
        } else {
            return Ok(val.unwrap_or(0));
        };
        self.err(Some(tok), Effect::Ignored, "invalid-number", msg);
        let runtime = (ignore_error && !neg)
            .then_some(val)
            .flatten()
            .filter(|v| *v >= min && *v <= max);
        Err(runtime)
    }

    /// `read_int`.
    pub fn read_int(
        &mut self,
        tok: &Token,
        min: i64,
        max: i64,
        ignore_error: bool,
    ) -> Result<i64, Option<i64>> {
        let s = tok.text;
        let NumberWord {
            negative,
            digits,
            junk,
        } = number_word(s);
        let sign = if negative { -1i64 } else { 1 };
        let val: Option<i64> = if digits.is_empty() {
            Some(0)
        } else {
            digits.parse::<i64>().ok().map(|v| v * sign)
        };
        let msg = if junk {
            format!("invalid number '{s}'")
        } else if val.is_none_or(|v| v < i32::MIN as i64 || v > i32::MAX as i64) {
            format!("number '{s}' outside integer range")
        } else if val.is_some_and(|v| v < min || v > max) {
            format!("number '{s}' outside range [{min}, {max}]")
        } else {
            return Ok(val.unwrap_or(0));
        };
        self.err(Some(tok), Effect::Ignored, "invalid-number", msg);
        Err(ignore_error
            .then_some(val)
            .flatten()
            .filter(|v| *v >= min && *v <= max))
    }

    /// `read_decimal_unsigned_long_func`: a decimal with up to `shift` places, returned as an
    /// integer in units of 10^-shift.
    pub fn read_decimal(
        &mut self,
        tok: &Token,
        min: u64,
        max: u64,
        shift: u32,
        ignore_error: bool,
    ) -> Result<u64, Option<u64>> {
        let s = tok.text;
        if s.starts_with('-') {
            self.err(
                Some(tok),
                Effect::Ignored,
                "invalid-number",
                format!("negative number '{s}'"),
            );
            return Err(None);
        }
        let (int_part, frac) = match s.find('.') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        // keepalived pads or cuts the fraction to `shift` digits, glues it to the integer part
        // and reads the result as one unsigned number; done here on bytes, without a buffer.
        let frac = frac.unwrap_or("").as_bytes();
        let w = shift as usize;
        let mut round_up = false;
        if frac.len() > w {
            self.err(
                Some(tok),
                Effect::Clamped,
                "invalid-number",
                format!("number '{s}' has too many decimal places"),
            );
            round_up = frac[w] >= b'5';
        }
        let kept = &frac[..frac.len().min(w)];
        let mut joined = int_part
            .bytes()
            .chain(kept.iter().copied())
            .chain(std::iter::repeat_n(b'0', w - kept.len()))
            .skip_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
            .peekable();
        let t_empty = joined.peek().is_none();
        if joined.peek() == Some(&b'+') {
            joined.next();
        }
        let mut nd = 0usize;
        let mut digits_val: Option<u64> = Some(0);
        while let Some(c) = joined.next_if(u8::is_ascii_digit) {
            nd += 1;
            digits_val = digits_val
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(u64::from(c - b'0')));
        }
        let junk = if nd == 0 {
            !t_empty
        } else {
            joined.peek().is_some()
        };
        let mut val: Option<u64> = if nd == 0 { Some(0) } else { digits_val };
        if round_up {
            val = val.map(|v| v.saturating_add(1));
        }
        let p = 10u64.pow(shift);
        let msg = if junk {
            format!("invalid number '{s}'")
        } else if val.is_none() {
            self.err(
                Some(tok),
                Effect::Ignored,
                "invalid-number",
                format!("number '{s}' outside unsigned decimal range"),
            );
            return Err(None);
        } else if val.is_some_and(|v| v < min || v > max) {
            format!(
                "number '{s}' outside range [{}.{:0w$}, {}.{:0w$}]",
                min / p,
                min % p,
                max / p,
                max % p
            )
        } else {
            return Ok(val.unwrap_or(0));
        };
        self.err(Some(tok), Effect::Ignored, "invalid-number", msg);
        Err(ignore_error
            .then_some(val)
            .flatten()
            .filter(|v| *v >= min && *v <= max))
    }

    /// `read_timer` (microseconds; max 0 = TIMER_MAXIMUM).
    pub fn read_timer(
        &mut self,
        tok: &Token,
        min_us: u64,
        max_us: u64,
        ignore_error: bool,
    ) -> Result<Duration, Option<Duration>> {
        let max = if max_us == 0 {
            u32::MAX as u64 * 1_000_000
        } else {
            max_us
        };
        self.read_decimal(tok, min_us, max, 6, ignore_error)
            .map(Duration::from_micros)
            .map_err(|e| e.map(Duration::from_micros))
    }
}

/// The first word of a line (built for a lone brace, which has no word vector).
fn first_token<'t>(lx: &Lexed, words: &[Token<'t>]) -> Token<'t> {
    match words {
        [t, ..] => t.clone(),
        _ => Token {
            text: if lx.brace == 1 { "{" } else { "}" },
            col: lx.line.col0,
            len: 1,
        },
    }
}

/// A number word as `strtoul`/`strtol` see it: leading blanks skipped, one optional sign, then
/// the run of digits; `junk` when anything follows the digits (or no digit follows a sign).
struct NumberWord<'a> {
    negative: bool,
    digits: &'a str,
    junk: bool,
}

fn number_word(s: &str) -> NumberWord<'_> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits_src) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let nd = digits_src.bytes().take_while(u8::is_ascii_digit).count();
    let junk = if nd == 0 {
        !t.is_empty()
    } else {
        nd < digits_src.len()
    };
    NumberWord {
        negative,
        digits: &digits_src[..nd],
        junk,
    }
}

/// keepalived's `check_true_false`.
pub(crate) fn true_false(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// Plain-words explanation for an unknown keyword.
fn explain_unknown(blk: Blk, kw: &str) -> String {
    let s = match (blk, kw) {
        (Blk::Tcp, "nb_get_retry") => {
            "`nb_get_retry` is not a TCP_CHECK keyword in keepalived 2.2.7 (only HTTP_GET/SSL_GET accept it, as a deprecated alias of `retry`), so the line is ignored and `retry` stays at its default of 1; write `retry 3`"
        }
        (_, "nat_mask") => {
            "`nat_mask` was removed in keepalived 1.2.20; the line is ignored (IPVS never needed it)"
        }
        (_, "smtp_connection_timeout") => {
            "the keyword is `smtp_connect_timeout`; the line is ignored and the SMTP timeout stays at 30 s"
        }
        (_, "}") => {
            "this `}` has no block to close at this level (often because an unknown block's `}` already closed the enclosing block)"
        }
        (_, "net_namespace") => "this keepalived build has no network-namespace support",
        (_, "lvs_id") => "`lvs_id` was removed; use `router_id`",
        (_, "local_address_group") => {
            "`local_address_group` belongs to the keepalived fork shipped with Alibaba's FULLNAT LVS, not to keepalived; its block's lines are read as top-level keywords"
        }
        _ if kw.contains('\u{a0}') => {
            "the line starts with a no-break space (U+00A0), which keepalived does not treat as whitespace"
        }
        _ if kw.starts_with('\u{feff}') => {
            "the file starts with a UTF-8 byte-order mark, which keepalived does not strip"
        }
        _ if kw.chars().any(|c| c.is_ascii_uppercase())
            && lookup(blk, &kw.to_ascii_lowercase()).is_some() =>
        {
            "keywords are case-sensitive; the lower-case spelling is the keyword"
        }
        _ => {
            "keepalived ignores this line (keywords are exact and case-sensitive, and depend on the enclosing block)"
        }
    };
    s.to_string()
}
