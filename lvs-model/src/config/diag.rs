//! Diagnostics: what keepalived 2.2.7 would print for a configuration, where, and what the
//! daemon would do about it at run time; plus lvslab's own remarks (severity [`Severity::Note`]).

use super::source::{FileId, SourceMap};
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;

/// How serious a message is. `Error` and `Warning` are messages keepalived itself prints (any of
/// them makes `keepalived -t` exit non-zero); `Note` is lvslab's own remark and never changes an
/// exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// What the running daemon does about the problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// Nothing changes (advice, deprecation, not simulated).
    None,
    /// The line or value is ignored; the previous or default value stays.
    Ignored,
    /// The value is replaced by keepalived's default.
    Defaulted,
    /// The value is clamped, rounded or truncated into range.
    Clamped,
    /// An item (VIP, real server, virtual server, track script, checker) is dropped.
    ItemDropped,
    /// A vrrp_instance cannot run; keepalived's VRRP process then exits and takes the daemon
    /// down with it.
    InstanceDisabled,
    /// The daemon exits at start-up.
    DaemonExits,
    /// keepalived 2.2.7 crashes (SIGSEGV) on this input.
    Crash,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::None => "none",
            Effect::Ignored => "ignored",
            Effect::Defaulted => "defaulted",
            Effect::Clamped => "clamped",
            Effect::ItemDropped => "item dropped",
            Effect::InstanceDisabled => "instance disabled, daemon exits",
            Effect::DaemonExits => "daemon exits",
            Effect::Crash => "keepalived crashes",
        }
    }
}

/// One message with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: FileId,
    /// 1-based line of the statement the message is about.
    pub line: u32,
    /// Byte offset of the offending text within the line.
    pub byte_col: u32,
    /// Length in bytes of the offending text (at least 1 for rendering).
    pub len: u32,
    pub severity: Severity,
    pub effect: Effect,
    /// Stable kebab-case identifier, e.g. `unknown-keyword`.
    pub code: &'static str,
    /// keepalived's message text (or lvslab's, for notes).
    pub message: String,
    /// Plain-words explanation of what happens.
    pub help: Option<String>,
    /// keepalived prints this message with a line number (`(Line N) ...`); validation-stage
    /// messages have none, and the conformance test compares only numbered lines.
    pub keepalived_line: bool,
}

impl Diagnostic {
    /// Sort key: file, line, column, then message.
    pub fn sort_key(&self) -> (FileId, u32, u32, &str) {
        (self.file, self.line, self.byte_col, &self.message)
    }
}

/// Renders one diagnostic with its source snippet (plain text, no colour).
pub fn render(sources: &SourceMap, d: &Diagnostic) -> String {
    let mut files = SimpleFiles::new();
    let mut ids = Vec::new();
    for f in &sources.files {
        ids.push(files.add(f.name.clone(), f.text.clone()));
    }
    let mut cs = match d.severity {
        Severity::Error => CsDiagnostic::error(),
        Severity::Warning => CsDiagnostic::warning(),
        Severity::Note => CsDiagnostic::note(),
    }
    .with_code(d.code)
    .with_message(&d.message);
    if let (Some(file), Some(&id)) = (sources.get(d.file), ids.get(d.file)) {
        let start = file.offset(d.line, d.byte_col);
        let end = file.offset(d.line, d.byte_col.saturating_add(d.len.max(1)));
        let label = Label::primary(id, start..end.max(start));
        let label = if d.keepalived_line {
            label
        } else {
            label.with_message("keepalived reports this without a line number")
        };
        cs = cs.with_labels(vec![label]);
    }
    let mut notes = vec![format!("at run time: {}", d.effect.as_str())];
    if let Some(h) = &d.help {
        notes.insert(0, h.clone());
    }
    cs = cs.with_notes(notes);
    let config = term::Config::default();
    term::emit_into_string(&config, &files, &cs).unwrap_or_else(|_| format!("{}\n", d.message))
}
