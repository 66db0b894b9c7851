//! keepalived 2.2.7's `read_line` + `alloc_strvec`: physical lines become logical lines, and
//! logical lines become token vectors.
//!
//! The pipeline, in keepalived's order: strip `\n`/`\r`; skip empty lines; `decomment` (leading
//! blanks, `#`/`!` comments anywhere outside double quotes, `\#` escapes, trailing blanks); `@id`
//! conditional lines; `$NAME=value` definitions; `$NAME`/`${NAME}` substitution; `include`; then
//! every `{` or `}` outside quotes is split into its own logical line. Only space and tab are
//! blanks (NBSP and a BOM are ordinary characters); the tokenizer also splits on `\f\n\r\v`.
//!
//! Every byte of a logical line remembers its column in the physical line, so diagnostics point
//! at the right place even after comments, escapes and braces were cut out.

use super::diag::{Diagnostic, Effect, Severity};
use super::source::{self, FileId, SourceLoader, SourceMap};
use std::collections::VecDeque;

/// keepalived's line buffer (`MAXBUF`); substitutions may not grow a line beyond it.
const MAXBUF: usize = 1024;
/// Nested include depth beyond which lvslab stops (keepalived would recurse until it runs out of
/// file descriptors).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Substitution rounds per line (a self-referencing `$A=$A` would make keepalived spin forever).
const MAX_SUBST_ROUNDS: usize = 16;
/// Files `include` may open in one parse.
const MAX_INCLUDED_FILES: usize = 256;

/// Text with the source column of each byte. Most lines are only trimmed and cut, so the
/// columns are `base + index` until an edit (an escape removed, a substitution) makes them
/// explicit.
#[derive(Clone, Debug, Default)]
pub(crate) struct Text {
    pub b: Vec<u8>,
    base: u32,
    col: Option<Vec<u32>>,
}

impl Text {
    fn from_vec(b: Vec<u8>) -> Text {
        Text {
            b,
            base: 0,
            col: None,
        }
    }
    fn with_cols(b: Vec<u8>, col: Vec<u32>) -> Text {
        Text {
            b,
            base: 0,
            col: Some(col),
        }
    }
    fn explicit(&mut self) -> &mut Vec<u32> {
        let (base, n) = (self.base, self.b.len() as u32);
        self.col
            .get_or_insert_with(|| (0..n).map(|i| base + i).collect())
    }
    /// The bytes `from..to`, written into `buf` (a recycled buffer).
    fn slice_into(&self, from: usize, to: usize, mut buf: Vec<u8>) -> Text {
        buf.clear();
        buf.extend_from_slice(&self.b[from..to]);
        Text {
            b: buf,
            base: self.base + from as u32,
            col: self.col.as_ref().map(|c| c[from..to].to_vec()),
        }
    }
    fn drain_front(&mut self, n: usize) {
        self.b.drain(..n);
        match &mut self.col {
            Some(c) => {
                c.drain(..n);
            }
            None => self.base += n as u32,
        }
    }
    fn remove(&mut self, i: usize) {
        self.explicit().remove(i);
        self.b.remove(i);
    }
    fn truncate(&mut self, n: usize) {
        self.b.truncate(n);
        if let Some(c) = &mut self.col {
            c.truncate(n);
        }
    }
    fn push(&mut self, byte: u8, col: u32) {
        if self.col.is_some() || col != self.base + self.b.len() as u32 {
            self.explicit().push(col);
        }
        self.b.push(byte);
    }
    /// Source column of byte `i` (one past the end for `i == len`).
    pub fn col_at(&self, i: usize) -> u32 {
        match &self.col {
            None => self.base + i as u32,
            Some(c) => c
                .get(i)
                .copied()
                .or_else(|| c.last().map(|c| c + 1))
                .unwrap_or(self.base),
        }
    }
    fn trim_end_blanks(&mut self) {
        let mut n = self.b.len();
        while n > 0 && matches!(self.b[n - 1], b' ' | b'\t') {
            n -= 1;
        }
        self.truncate(n);
    }
    pub fn as_string(&self) -> String {
        String::from_utf8_lossy(&self.b).into_owned()
    }
}

/// One logical line while it is being read: a keyword line, a value line, or a lone brace.
#[derive(Clone, Debug)]
pub(crate) struct RawLine {
    pub file: FileId,
    pub line: u32,
    pub text: Text,
}

/// One word of a logical line (its text borrowed from [`Input`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub col: u32,
    pub len: u32,
}

struct Cursor {
    file: FileId,
    pos: usize,
    line_no: u32,
    dir: String,
}

struct Def {
    name: Vec<u8>,
    value: Vec<u8>,
    /// Continuation lines of a multi-line definition.
    more: Vec<Vec<u8>>,
    multiline: bool,
}

/// keepalived's `read_line` state.
pub(crate) struct Reader<'a> {
    loader: &'a dyn SourceLoader,
    pub sources: SourceMap,
    /// Text of each source (bytes), parallel to `sources`.
    texts: Vec<Vec<u8>>,
    stack: Vec<Cursor>,
    residue: Option<RawLine>,
    pending: VecDeque<RawLine>,
    /// Line buffers handed back by [`Reader::recycle`], reused for the next lines.
    spare: Vec<Vec<u8>>,
    defs: Vec<Def>,
    /// Index of a definition currently collecting continuation lines.
    collecting: Option<usize>,
    pub block_depth: i64,
    config_id: Option<String>,
    pub diags: Vec<Diagnostic>,
    /// Work counter: bytes scanned plus lines produced (for the linear-work property).
    pub steps: u64,
    /// Bytes that substitution may still add (keeps the work linear in the input).
    expansion_budget: usize,
    /// Files that may still be opened by `include`.
    open_budget: usize,
    /// Location of the last physical line read.
    pub cur_file: FileId,
    pub cur_line: u32,
}

impl<'a> Reader<'a> {
    /// Opens `main`. A missing main file is not an error for keepalived -t (it prints
    /// "Config files missing" and exits 0); the caller decides.
    pub fn new(
        loader: &'a dyn SourceLoader,
        main: &str,
        main_bytes: Option<Vec<u8>>,
        config_id: Option<String>,
    ) -> Reader<'a> {
        let mut r = Reader {
            loader,
            sources: SourceMap::default(),
            texts: Vec::new(),
            stack: Vec::new(),
            residue: None,
            pending: VecDeque::new(),
            spare: Vec::new(),
            defs: Vec::new(),
            collecting: None,
            block_depth: 0,
            config_id,
            diags: Vec::new(),
            steps: 0,
            expansion_budget: 0,
            open_budget: MAX_INCLUDED_FILES,
            cur_file: 0,
            cur_line: 0,
        };
        let dir = source::dirname(main);
        r.defs.push(Def {
            name: b"_PWD".to_vec(),
            value: dir.clone().into_bytes(),
            more: vec![],
            multiline: false,
        });
        if let Some(bytes) = main_bytes.or_else(|| loader.read(main)) {
            r.push_file(main, bytes);
        } else {
            let id = r.sources.add(main, b"");
            r.texts.push(Vec::new());
            r.note(
                id,
                0,
                0,
                0,
                "config-files-missing",
                format!("Config files missing '{main}'."),
                "keepalived -t prints this and still exits 0 (with -e it exits 4)",
            );
        }
        r
    }

    fn push_file(&mut self, name: &str, bytes: Vec<u8>) {
        self.expansion_budget = self
            .expansion_budget
            .saturating_add(4 * bytes.len() + 65_536);
        let id = self.sources.add(name, &bytes);
        self.texts.push(bytes);
        self.stack.push(Cursor {
            file: id,
            pos: 0,
            line_no: 0,
            dir: source::dirname(name),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn note(
        &mut self,
        file: FileId,
        line: u32,
        col: u32,
        len: u32,
        code: &'static str,
        message: String,
        help: &str,
    ) {
        self.diags.push(Diagnostic {
            file,
            line,
            byte_col: col,
            len,
            severity: Severity::Note,
            effect: Effect::None,
            code,
            message,
            help: Some(help.to_string()),
            keepalived_line: true,
        });
    }

    /// Reports a keepalived message at the current physical line.
    #[allow(clippy::too_many_arguments)]
    pub fn report(
        &mut self,
        severity: Severity,
        effect: Effect,
        code: &'static str,
        col: u32,
        len: u32,
        message: String,
        help: Option<String>,
    ) {
        self.diags.push(Diagnostic {
            file: self.cur_file,
            line: self.cur_line,
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

    /// Takes back the buffer of a line that was consumed.
    pub fn recycle(&mut self, t: Text) {
        if self.spare.len() < 4 {
            self.spare.push(t.b);
        }
    }

    /// Next physical line of the innermost open file (after EOL stripping), or `None` at the end
    /// of all files.
    fn next_physical(&mut self) -> Option<(FileId, u32, Vec<u8>)> {
        loop {
            let cur = self.stack.last_mut()?;
            let text = &self.texts[cur.file];
            if cur.pos >= text.len() {
                self.stack.pop();
                continue;
            }
            let rest = &text[cur.pos..];
            let (line, adv) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], i + 1),
                None => (rest, rest.len()),
            };
            cur.line_no += 1;
            cur.pos += adv;
            self.steps += adv as u64 + 1;
            // fgets + strlen: an embedded NUL ends the line.
            let line = match memchr::memchr(0, line) {
                Some(i) => &line[..i],
                None => line,
            };
            let mut end = line.len();
            while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
                end -= 1;
            }
            let mut out = self.spare.pop().unwrap_or_default();
            out.clear();
            out.extend_from_slice(&line[..end]);
            self.cur_file = cur.file;
            self.cur_line = cur.line_no;
            return Some((cur.file, cur.line_no, out));
        }
    }

    /// keepalived's `decomment`. Returns the continuation flag (a trailing `\`).
    fn decomment(&mut self, t: &mut Text, report: bool) -> bool {
        let lead = t.b.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        t.drain_front(lead);
        // Most lines have no quote, escape or comment: one scan tells, and nothing changes.
        if !t.b.iter().any(|&c| matches!(c, b'"' | b'\\' | b'!' | b'#')) {
            self.steps += t.b.len() as u64;
            t.trim_end_blanks();
            return false;
        }
        let mut quote = false;
        let mut skip: Option<usize> = None;
        let mut cont = false;
        let mut i = 0;
        while i < t.b.len() {
            self.steps += 1;
            match t.b[i] {
                b'"' if skip.is_none() => quote = !quote,
                b'\\' => {
                    if i + 1 < t.b.len() {
                        if !quote && (t.b[i + 1] == b'#' || t.b[i + 1] == b'!') {
                            t.remove(i);
                        } else {
                            i += 1;
                        }
                    } else {
                        t.truncate(i);
                        cont = true;
                        break;
                    }
                }
                b'!' | b'#' if !quote && skip.is_none() => skip = Some(i),
                _ => {}
            }
            i += 1;
        }
        if quote && report {
            let s = t.as_string();
            let col = t.col_at(0);
            self.report(
                Severity::Error,
                Effect::Ignored,
                "unterminated-quote",
                col,
                s.len() as u32,
                format!("Unterminated quote '{s}'"),
                Some("a double quote is opened and never closed on this line; keepalived has no line continuation for ordinary keywords".into()),
            );
        }
        if let Some(s) = skip
            && s < t.b.len()
        {
            t.truncate(s);
        }
        t.trim_end_blanks();
        if cont {
            let c = t.col_at(t.b.len());
            t.push(b'\\', c);
        }
        cont
    }

    /// The next logical line, or `None` at the end of input.
    pub fn read_line(&mut self) -> Option<RawLine> {
        let mut line = loop {
            if let Some(l) = self.residue.take() {
                break l;
            }
            if let Some(l) = self.pending.pop_front() {
                break l;
            }
            let (file, line_no, raw) = self.next_physical()?;
            if raw.is_empty() {
                // An empty line ends a multi-line definition.
                self.collecting = None;
                continue;
            }
            let mut t = Text::from_vec(raw);
            self.decomment(&mut t, true);
            if t.b.is_empty() {
                continue;
            }
            if let Some(di) = self.collecting {
                let mut v = t.b.clone();
                let more = v.last() == Some(&b'\\');
                if more {
                    v.pop();
                    while matches!(v.last(), Some(b' ') | Some(b'\t')) {
                        v.pop();
                    }
                } else {
                    self.collecting = None;
                }
                if !v.is_empty() {
                    self.defs[di].more.push(v);
                }
                continue;
            }
            let l = RawLine {
                file,
                line: line_no,
                text: t,
            };
            match self.preprocess(l) {
                Some(l) => break l,
                None => continue,
            }
        };
        self.split_braces(&mut line);
        self.steps += 1 + line.text.b.len() as u64;
        Some(line)
    }

    /// Conditionals, definitions, substitution and include; `None` when the line is consumed.
    fn preprocess(&mut self, mut l: RawLine) -> Option<RawLine> {
        let mut rounds = 0;
        loop {
            let mut recheck = false;
            if l.text.b.first() == Some(&b'@') {
                let (rev, ofs) = if l.text.b.get(1) == Some(&b'^') {
                    (true, 2)
                } else {
                    (false, 1)
                };
                let sp = l.text.b[ofs..]
                    .iter()
                    .position(|&b| b == b' ' || b == b'\t')?
                    + ofs;
                let id = &l.text.b[ofs..sp];
                let matches = self.config_id.as_ref().is_some_and(|c| c.as_bytes() == id);
                if matches == rev {
                    return None;
                }
                let start = sp
                    + l.text.b[sp..]
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                l.text = l.text.slice_into(start, l.text.b.len(), Vec::new());
                if l.text.b.is_empty() {
                    return None;
                }
            }
            if l.text.b.first() == Some(&b'$') && self.check_definition(&l.text.b) {
                return None;
            }
            if l.text.b.starts_with(b"~SEQ") || l.text.b.starts_with(b"~LST") {
                self.note(
                    l.file,
                    l.line,
                    l.text.col_at(0),
                    4,
                    "not-simulated",
                    "~SEQ/~LST repetition is not supported by lvslab; the line is dropped"
                        .to_string(),
                    "expand the sequence by hand",
                );
                return None;
            }
            if l.text.b.first() == Some(&b'~') {
                break;
            }
            if l.text.b.contains(&b'$') {
                if !self.replace_params(&mut l) {
                    break;
                }
                self.decomment(&mut l.text, true);
                if l.text.b.first() == Some(&b'@') || l.text.b.contains(&b'$') {
                    recheck = true;
                }
            }
            rounds += 1;
            if !recheck || l.text.b.is_empty() {
                break;
            }
            if rounds >= MAX_SUBST_ROUNDS {
                self.note(
                    l.file,
                    l.line,
                    l.text.col_at(0),
                    1,
                    "substitution-loop",
                    "parameter substitution does not terminate; lvslab stops after 16 rounds"
                        .to_string(),
                    "keepalived would loop forever on this line",
                );
                break;
            }
        }
        if l.text.b.is_empty() {
            return None;
        }
        if self.check_include(&l) {
            return None;
        }
        Some(l)
    }

    /// `$NAME=value` (keepalived's `check_definition`). Returns true when the line was one.
    fn check_definition(&mut self, buf: &[u8]) -> bool {
        if buf.len() < 2 || !(buf[1].is_ascii_alphabetic() || buf[1] == b'_') {
            return false;
        }
        let mut p = 2;
        while p < buf.len() && buf[p] != b'=' {
            if !(buf[p].is_ascii_alphanumeric() || buf[p] == b'_') {
                return false;
            }
            p += 1;
        }
        let name = buf[1..p].to_vec();
        while p < buf.len() && (buf[p] == b' ' || buf[p] == b'\t') {
            p += 1;
        }
        if p >= buf.len() || buf[p] != b'=' {
            return false;
        }
        p += 1;
        while p < buf.len() && (buf[p] == b' ' || buf[p] == b'\t') {
            p += 1;
        }
        let mut value = buf[p..].to_vec();
        let multiline = value.last() == Some(&b'\\');
        if multiline {
            value.pop();
            while matches!(value.last(), Some(b' ') | Some(b'\t')) {
                value.pop();
            }
        }
        let idx = match self.defs.iter().position(|d| d.name == name) {
            Some(i) => {
                self.defs[i].value = value;
                self.defs[i].more.clear();
                self.defs[i].multiline = multiline;
                i
            }
            None => {
                self.defs.push(Def {
                    name,
                    value,
                    more: vec![],
                    multiline,
                });
                self.defs.len() - 1
            }
        };
        self.collecting = multiline.then_some(idx);
        true
    }

    /// `$NAME` / `${NAME}` substitution (keepalived's `replace_param`). Returns whether anything
    /// was replaced.
    fn replace_params(&mut self, l: &mut RawLine) -> bool {
        let mut found = false;
        let mut i = 0;
        while i + 1 < l.text.b.len() {
            self.steps += 1;
            if l.text.b[i] != b'$' {
                i += 1;
                continue;
            }
            let b = &l.text.b;
            let braces = b[i + 1] == b'{';
            let ns = i + 1 + usize::from(braces);
            if ns >= b.len() || !(b[ns].is_ascii_alphabetic() || b[ns] == b'_') {
                i += 1;
                continue;
            }
            let mut ne = ns + 1;
            while ne < b.len() && (b[ne].is_ascii_alphanumeric() || b[ne] == b'_') {
                ne += 1;
            }
            let end_ok = if braces {
                ne < b.len() && b[ne] == b'}'
            } else {
                ne >= b.len() || matches!(b[ne], b' ' | b'\t' | b',' | b')')
            };
            let whole_rest = if braces {
                ne + 1 >= b.len()
            } else {
                ne >= b.len()
            };
            let name = &b[ns..ne];
            let def = self
                .defs
                .iter()
                .find(|d| d.name == name && (whole_rest || !d.multiline));
            let (Some(def), true) = (def, end_ok) else {
                i += 1;
                continue;
            };
            let repl_end = if braces { ne + 1 } else { ne };
            let value = def.value.clone();
            let more = def.more.clone();
            if l.text.b.len() - (repl_end - i) + value.len() >= MAXBUF {
                break;
            }
            let added = value.len() + more.iter().map(Vec::len).sum::<usize>();
            if added > self.expansion_budget {
                self.note(
                    l.file,
                    l.line,
                    l.text.col_at(i),
                    1,
                    "substitution-budget",
                    "parameter substitution would expand the configuration more than 4 times its size; lvslab stops substituting".to_string(),
                    "keepalived would keep expanding",
                );
                break;
            }
            self.expansion_budget -= added;
            found = true;
            let col = l.text.col_at(i);
            l.text
                .explicit()
                .splice(i..repl_end, std::iter::repeat_n(col, value.len()));
            l.text.b.splice(i..repl_end, value.iter().copied());
            // Continuation lines of a multi-line definition follow as their own lines.
            for m in more.into_iter().rev() {
                self.pending.push_front(RawLine {
                    file: l.file,
                    line: l.line,
                    text: {
                        let n = m.len();
                        Text::with_cols(m, vec![col; n])
                    },
                });
            }
            i += value.len();
        }
        found
    }

    /// `include[rmwba] PATTERN`: opens the matching files in place. True when the line was one.
    fn check_include(&mut self, l: &RawLine) -> bool {
        let b = &l.text.b;
        if !b.starts_with(b"include") || b.len() < 8 {
            return false;
        }
        let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
        let (strict, p) = if is_space(b[7]) {
            (false, 8)
        } else if b.len() > 8 && is_space(b[8]) && b"rmwba".contains(&b[7]) {
            (true, 9)
        } else {
            return false;
        };
        let mut p = p;
        while p < b.len() && (b[p] == b' ' || b[p] == b'\t') {
            p += 1;
        }
        let pattern = String::from_utf8_lossy(&b[p..]).into_owned();
        let dir = self
            .stack
            .last()
            .map(|c| c.dir.clone())
            .unwrap_or_else(|| ".".into());
        let full = source::join(&dir, &pattern);
        let res = source::glob(self.loader, &full);
        let col = l.text.col_at(p);
        if res.paths.is_empty() {
            let msg = if res.missing || !res.wildcards {
                format!("Config files missing '{pattern}'.")
            } else {
                format!("No config files matched '{pattern}'.")
            };
            if strict {
                self.report(
                    Severity::Error,
                    Effect::Ignored,
                    "include-missing",
                    col,
                    pattern.len() as u32,
                    msg,
                    Some("the include is skipped".into()),
                );
            } else if res.missing || !res.wildcards {
                self.note(
                    l.file,
                    l.line,
                    col,
                    pattern.len() as u32,
                    "include-missing",
                    msg,
                    "keepalived prints this for a plain `include` but does not count it as an error (exit 0); the include is skipped",
                );
            }
            return true;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.note(
                l.file,
                l.line,
                col,
                pattern.len() as u32,
                "include-depth",
                format!("includes nested more than {MAX_INCLUDE_DEPTH} deep; '{pattern}' skipped"),
                "keepalived would recurse until it runs out of file descriptors",
            );
            return true;
        }
        let mut opened = Vec::new();
        for path in &res.paths {
            let open_now = self.stack.iter().any(|c| {
                self.sources.name(c.file) == source::normalize(path)
                    || self.sources.name(c.file) == path.as_str()
            });
            if open_now || self.open_budget == 0 {
                self.note(
                    l.file,
                    l.line,
                    col,
                    pattern.len() as u32,
                    "include-cycle",
                    format!(
                        "'{path}' is already being read (or too many includes); lvslab skips it"
                    ),
                    "keepalived would include it again until it runs out of file descriptors",
                );
                continue;
            }
            self.open_budget -= 1;
            if let Some(bytes) = self.loader.read(path) {
                opened.push((path.clone(), bytes));
            }
        }
        // Files are read one after another: queue them by pushing in reverse.
        for (path, bytes) in opened.into_iter().rev() {
            self.push_file(&path, bytes);
        }
        true
    }

    /// Cuts the line at the first brace outside quotes; the rest becomes the next line.
    fn split_braces(&mut self, l: &mut RawLine) {
        let b = &l.text.b;
        if b.is_empty() {
            return;
        }
        let mut p = None;
        if b[0] == b'{' || b[0] == b'}' {
            p = Some(0);
        } else {
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'{' | b'}' => {
                        p = Some(i);
                        break;
                    }
                    b'"' => match b[i + 1..].iter().position(|&c| c == b'"') {
                        Some(j) => i += j + 2,
                        None => break,
                    },
                    _ => i += 1,
                }
            }
        }
        if let Some(p) = p {
            let skip = if p == 0 {
                1 + b[1..]
                    .iter()
                    .take_while(|&&c| c == b' ' || c == b'\t')
                    .count()
            } else {
                0
            };
            if p + skip < b.len() {
                let buf = self.spare.pop().unwrap_or_default();
                let mut rest = l.text.slice_into(p + skip, b.len(), buf);
                rest.trim_end_blanks();
                if !rest.b.is_empty() {
                    self.residue = Some(RawLine {
                        file: l.file,
                        line: l.line,
                        text: rest,
                    });
                }
                l.text.truncate(p + skip);
            }
        }
        l.text.trim_end_blanks();
        if l.text.b == b"{" {
            self.block_depth += 1;
        } else if l.text.b == b"}" {
            self.block_depth -= 1;
            if self.block_depth < 0 {
                let col = l.text.col_at(0);
                self.diags.push(Diagnostic {
                    file: l.file,
                    line: l.line,
                    byte_col: col,
                    len: 1,
                    severity: Severity::Error,
                    effect: Effect::Ignored,
                    code: "extra-close-brace",
                    message: "Extra '}' found".into(),
                    help: Some("there are more `}` than `{` at this point; keepalived resets its brace count and reads this `}` as a keyword".into()),
                    keepalived_line: true,
                });
                self.block_depth = 0;
            }
        }
    }
}

/// One logical line as the parser sees it; its text stays in [`Input`]'s byte arena.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub file: FileId,
    pub line: u32,
    /// Source column of the first byte (of the line end when the line is empty).
    pub col0: u32,
    /// Length of the logical line in bytes.
    pub len: u32,
    /// Range of the text in [`Input::line_bytes`].
    start: u32,
}

/// One logical line with the range of its words in [`Input`]'s word list.
pub(crate) struct Lexed {
    pub line: Line,
    words_start: u32,
    words_end: u32,
    /// 1 when the line is exactly `{`, -1 when exactly `}` (then it has no words), else 0.
    pub brace: i8,
    /// A word of a longer line is `{` or `}` (only possible with quotes).
    pub other_braces: bool,
}

/// Where a word's text sits in [`Input`]'s text arena, and where it came from.
struct WordRec {
    start: u32,
    end: u32,
    col: u32,
    len: u32,
}

/// The whole input as keepalived's `read_line` + `alloc_strvec` deliver it. The lexer does not
/// depend on the parser, so the three passes share one lexing. Lines and words are kept in two
/// arenas (no allocation per line or word); [`Input::words`] lends the words out as [`Token`]s.
pub(crate) struct Input {
    pub lines: Vec<Lexed>,
    /// Logical-line bytes, back to back.
    line_bytes: Vec<u8>,
    /// Word texts (UTF-8, invalid bytes replaced), back to back.
    word_text: String,
    word_recs: Vec<WordRec>,
    pub sources: SourceMap,
    /// Unbalanced `{` at the end of input.
    pub block_depth: i64,
    pub diags: Vec<Diagnostic>,
    pub steps: u64,
}

impl Input {
    /// Every word of the input, in order; [`Input::line_words`] slices it per line.
    pub fn words(&self) -> Vec<Token<'_>> {
        self.word_recs
            .iter()
            .map(|r| Token {
                text: &self.word_text[r.start as usize..r.end as usize],
                col: r.col,
                len: r.len,
            })
            .collect()
    }

    /// The words of one line (empty for a lone brace or a line without words).
    pub fn line_words<'w, 't>(&self, words: &'w [Token<'t>], lx: &Lexed) -> &'w [Token<'t>] {
        &words[lx.words_start as usize..lx.words_end as usize]
    }

    /// The text of a logical line.
    pub fn line_text(&self, l: &Line) -> String {
        let s = l.start as usize;
        String::from_utf8_lossy(&self.line_bytes[s..s + l.len as usize]).into_owned()
    }
}

/// Lexes `main` and everything it includes.
pub(crate) fn lex(loader: &dyn SourceLoader, main: &str, config_id: Option<String>) -> Input {
    let mut r = Reader::new(loader, main, None, config_id);
    // Sized from the main file (a logical line or word per 12 or 6 bytes is typical), so the
    // arenas rarely grow.
    let size = r.texts.first().map_or(0, Vec::len);
    let mut lines = Vec::with_capacity(size / 12 + 16);
    let mut line_bytes = Vec::with_capacity(size);
    let mut word_text = String::with_capacity(size / 2);
    let mut word_recs = Vec::with_capacity(size / 6 + 16);
    while let Some(raw) = r.read_line() {
        let words_start = word_recs.len() as u32;
        // A lone brace (a third of all lines) gets no words: the parser reads `brace`.
        let brace = match raw.text.b.as_slice() {
            b"{" => 1,
            b"}" => -1,
            _ => {
                tokenize(&raw, &mut r.diags, &mut word_text, &mut word_recs);
                0
            }
        };
        let words = &word_recs[words_start as usize..];
        r.steps += if words.is_empty() {
            1
        } else {
            words.len() as u64 + 1
        };
        let other_braces = words.iter().any(|w| {
            matches!(
                &word_text.as_bytes()[w.start as usize..w.end as usize],
                b"{" | b"}"
            )
        });
        let line = Line {
            file: raw.file,
            line: raw.line,
            col0: raw.text.col_at(0),
            len: raw.text.b.len() as u32,
            start: line_bytes.len() as u32,
        };
        line_bytes.extend_from_slice(&raw.text.b);
        lines.push(Lexed {
            line,
            words_start,
            words_end: word_recs.len() as u32,
            brace,
            other_braces,
        });
        r.recycle(raw.text);
    }
    Input {
        lines,
        line_bytes,
        word_text,
        word_recs,
        sources: r.sources,
        block_depth: r.block_depth,
        diags: r.diags,
        steps: r.steps,
    }
}

/// keepalived's `alloc_strvec_r`: words split on blanks; a word starting with `"` runs to the
/// next `"`; a `"` inside an unquoted word ends that word. An unmatched quote drops the rest of
/// the line (reported). Appends the words' texts to `text` and their records to `recs`.
fn tokenize(
    line: &RawLine,
    diags: &mut Vec<Diagnostic>,
    text: &mut String,
    recs: &mut Vec<WordRec>,
) {
    let b = &line.text.b;
    // Words start and end at ASCII bytes, so a valid line slices into valid words.
    let line_str = std::str::from_utf8(b).ok();
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let mut i = 0;
    loop {
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let (s, e);
        if b[i] == b'"' {
            match b[i + 1..].iter().position(|&c| c == b'"') {
                Some(j) => {
                    s = i + 1;
                    e = i + 1 + j;
                    i = e + 1;
                }
                None => {
                    let text = line.text.as_string();
                    diags.push(Diagnostic {
                        file: line.file,
                        line: line.line,
                        byte_col: line.text.col_at(start),
                        len: (b.len() - start) as u32,
                        severity: Severity::Error,
                        effect: Effect::Ignored,
                        code: "unmatched-quote",
                        message: format!("Unmatched quote: '{text}'"),
                        help: Some(
                            "the rest of the line after the opening quote is dropped".into(),
                        ),
                        keepalived_line: true,
                    });
                    break;
                }
            }
        } else {
            s = i;
            while i < b.len() && !ws(b[i]) && b[i] != b'"' {
                i += 1;
            }
            e = i;
        }
        let t0 = text.len() as u32;
        match line_str.and_then(|l| l.get(s..e)) {
            Some(v) => text.push_str(v),
            None => text.push_str(&String::from_utf8_lossy(&b[s..e])),
        }
        recs.push(WordRec {
            start: t0,
            end: text.len() as u32,
            col: line.text.col_at(start),
            len: (i - start).max(1) as u32,
        });
    }
}

/// keepalived's `alloc_strvec_quoted_escaped`, used for script keywords: `"` and `'` quotes,
/// adjacent quoted and unquoted parts join, C-like escapes. `Err` on a missing closing quote.
pub(crate) fn tokenize_quoted(raw: &str) -> Result<Vec<String>, char> {
    let b = raw.as_bytes();
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && ws(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut word: Vec<u8> = Vec::new();
        let mut quote: u8 = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'\\' {
                i += 1;
                if i >= b.len() {
                    // "Missing escape char at end": keepalived drops the whole script silently.
                    return Ok(Vec::new());
                }
                let e = b[i];
                i += 1;
                word.push(match e {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'a' => 7,
                    b'b' => 8,
                    b'f' => 12,
                    b'v' => 11,
                    b'E' => 0x1b,
                    other => other,
                });
                continue;
            }
            if quote != 0 {
                if c == quote {
                    quote = 0;
                } else {
                    word.push(c);
                }
                i += 1;
                continue;
            }
            if c == b'"' || c == b'\'' {
                quote = c;
                i += 1;
                continue;
            }
            if ws(c) {
                break;
            }
            word.push(c);
            i += 1;
        }
        if quote != 0 {
            return Err(quote as char);
        }
        out.push(String::from_utf8_lossy(&word).into_owned());
    }
    Ok(out)
}
