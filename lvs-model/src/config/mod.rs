//! keepalived.conf: a lexer and parser that read files exactly as keepalived 2.2.7 does, the
//! typed model with keepalived's defaults, and diagnostics with file:line:column.
//!
//! Contract:
//! * [`parse`] reads a main file (and its includes) through a [`SourceLoader`] — the core never
//!   touches the filesystem — and returns the effective [`KeepalivedConfig`] plus every message
//!   `keepalived -t` would print ([`Severity::Error`]/[`Severity::Warning`]) and lvslab's own
//!   remarks ([`Severity::Note`]).
//! * keepalived parses a file three times (the parent's global parse, the VRRP child, the
//!   checker child), each with a different set of active top-level blocks; inactive blocks are
//!   skipped by counting braces. lvslab does the same three passes and prints the union of their
//!   messages, deduplicated, so brace cascades and unknown keywords land on the same lines.
//! * Work is linear in the input: [`Parsed::steps`] counts bytes scanned and lines produced.
//!
//! Known deviations from keepalived 2.2.7:
//! * Host-dependent checks are not reproduced: interface existence, script files and users
//!   (`script_security`), DNS for `smtp_server` (a host name gets a note instead).
//! * `~SEQ`/`~LST` repetition is not supported (the line is dropped with a note).
//! * Lines longer than 1023 bytes are not split as `fgets` would split them, and a last line
//!   without a newline keeps its own number (keepalived reports the previous one).
//! * Self-including files, more than 256 included files and substitution that would grow the
//!   input more than 4 times are cut short with a note (keepalived would recurse or expand
//!   without bound).
//! * Messages of the completion stage (`(VI_1) ...`, `Virtual server ...`) carry the location of
//!   the block they are about, with `keepalived_line == false` (keepalived prints no line).
//! * Keyword handlers lvslab does not model are accepted silently and recorded in
//!   [`KeepalivedConfig::not_simulated`]; their own value checks are not reproduced.

pub mod cluster;
mod diag;
mod handlers;
mod handlers_check;
mod handlers_vrrp;
mod keywords;
mod lexer;
pub mod model;
mod parser;
pub mod source;
mod validate;

pub use diag::{Diagnostic, Effect, Severity, render};
pub use model::*;
pub use source::{FileId, MemoryFiles, SourceLoader, SourceMap};

use keywords::Pass;
use parser::Parser;

/// Options of a parse.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// keepalived's config-id (`-i`; by default the host name up to the first dot), matched by
    /// `@id` conditional lines. `None` drops every `@id` line and keeps every `@^id` line.
    pub config_id: Option<String>,
}

/// What `keepalived -t` would conclude.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing reported (exit 0).
    Accept,
    /// Something reported (non-zero exit).
    Reject,
    /// keepalived 2.2.7 crashes on this file.
    Crash,
}

/// Result of [`parse`].
#[derive(Clone, Debug)]
pub struct Parsed {
    pub config: KeepalivedConfig,
    /// Sorted by file, line, column.
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// Work done (bytes scanned + logical lines), for the linear-work property.
    pub steps: u64,
}

impl Parsed {
    pub fn verdict(&self) -> Verdict {
        let reported = self
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note);
        let mut v = Verdict::Accept;
        for d in reported {
            if d.effect == Effect::Crash {
                return Verdict::Crash;
            }
            v = Verdict::Reject;
        }
        v
    }

    /// Messages keepalived itself would print (errors and warnings).
    pub fn reported(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
    }

    /// File name, line and 1-based character column of a diagnostic.
    pub fn position(&self, d: &Diagnostic) -> (String, u32, u32) {
        let file = self.sources.get(d.file);
        (
            file.map(|f| f.name.clone()).unwrap_or_default(),
            d.line,
            file.map(|f| f.column(d.line, d.byte_col)).unwrap_or(1),
        )
    }

    /// The diagnostic with its source snippet.
    pub fn render(&self, d: &Diagnostic) -> String {
        render(&self.sources, d)
    }
}

/// Parses `path` (read through `loader`) as keepalived 2.2.7 would.
pub fn parse(loader: &dyn SourceLoader, path: &str, opts: &ParseOptions) -> Parsed {
    let input = lexer::lex(loader, path, opts.config_id.clone());
    let words = input.words();
    let mut diags = input.diags.clone();
    let mut steps = input.steps;
    let mut config = KeepalivedConfig::default();
    let exit_failure = |p: &Parser<'_>| StartupFailure {
        reason: "keepalived's parser exits on a missing parameter".into(),
        location: Some(p.loc()),
    };

    // Parent: global_defs.
    let mut p = Parser::new(&input, &words, Pass::Parent, GlobalDefs::default());
    p.run();
    let global = std::mem::take(&mut p.st.global);
    let mut raw = std::mem::take(&mut p.st.raw);
    let mut seen = std::mem::take(&mut p.not_simulated_seen);
    if p.exited {
        config.startup_failure = Some(exit_failure(&p));
    }
    steps += p.steps;
    diags.append(&mut p.diags);

    // VRRP child.
    let mut p = Parser::new(&input, &words, Pass::Vrrp, global.clone());
    p.not_simulated_seen = seen;
    p.run();
    if !p.exited {
        let (insts, groups, fail) = p.complete_vrrp();
        config.vrrp_instances = insts;
        config.sync_groups = groups;
        if config.startup_failure.is_none() {
            config.startup_failure = fail;
        }
    } else if config.startup_failure.is_none() {
        config.startup_failure = Some(exit_failure(&p));
    }
    config.vrrp_scripts =
        p.st.scripts
            .iter()
            .zip(p.st.script_ok.iter())
            .filter(|(_, ok)| **ok)
            .map(|(s, _)| s.clone())
            .collect();
    raw.append(&mut p.st.raw);
    seen = std::mem::take(&mut p.not_simulated_seen);
    steps += p.steps;
    diags.append(&mut p.diags);

    // Checker child.
    let mut p = Parser::new(&input, &words, Pass::Check, global.clone());
    p.not_simulated_seen = seen;
    p.run();
    if !p.exited {
        config.virtual_servers = p.complete_check();
    } else if config.startup_failure.is_none() {
        config.startup_failure = Some(exit_failure(&p));
    }
    config.virtual_server_groups = std::mem::take(&mut p.st.vsgs);
    raw.append(&mut p.st.raw);
    steps += p.steps;
    diags.append(&mut p.diags);
    drop(p);
    drop(words);

    let sources = input.sources;
    if config.startup_failure.is_none()
        && let Some(d) = diags.iter().find(|d| d.effect == Effect::Crash)
    {
        config.startup_failure = Some(StartupFailure {
            reason: format!("keepalived 2.2.7 crashes: {}", d.message),
            location: Some(Location {
                file: sources.name(d.file).to_string(),
                line: d.line,
            }),
        });
    }
    config.global = global;
    raw.sort_by(|a, b| a.location.cmp(&b.location));
    raw.dedup();
    config.not_simulated = raw;

    // Union of the three passes' messages.
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diags.dedup_by(|a, b| {
        a.file == b.file && a.line == b.line && a.message == b.message && a.severity == b.severity
    });
    Parsed {
        config,
        diagnostics: diags,
        sources,
        steps,
    }
}

/// Parses configuration text held in memory (as file `keepalived.conf`).
pub fn parse_str(text: &str, opts: &ParseOptions) -> Parsed {
    let files = MemoryFiles::new().with("keepalived.conf", text.as_bytes().to_vec());
    parse(&files, "keepalived.conf", opts)
}

#[cfg(test)]
mod tests;
