//! Where configuration text comes from: the [`SourceLoader`] seam that keeps the parser sans-IO,
//! an in-memory implementation for tests, the [`SourceMap`] of every file read, and the glob
//! expansion `include` needs (done here, over `list_dir`, so every loader globs the same way).

use std::collections::BTreeMap;

/// Index of a file in a [`SourceMap`].
pub type FileId = usize;

/// Read access to configuration files. The CLI passes a real-filesystem implementation;
/// tests pass [`MemoryFiles`]. Paths use `/` separators.
pub trait SourceLoader {
    /// The bytes of a regular file, or `None` when it cannot be read.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// Names of the entries of a directory, or `None` when it does not exist.
    fn list_dir(&self, dir: &str) -> Option<Vec<String>>;
}

/// In-memory files keyed by path.
#[derive(Clone, Debug, Default)]
pub struct MemoryFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemoryFiles {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl Into<String>, text: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.into(), text.into());
        self
    }

    /// Builder form of [`MemoryFiles::insert`].
    pub fn with(mut self, path: impl Into<String>, text: impl Into<Vec<u8>>) -> Self {
        self.insert(path, text);
        self
    }
}

impl SourceLoader for MemoryFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.files.get(&normalize(path)).cloned()
    }

    fn list_dir(&self, dir: &str) -> Option<Vec<String>> {
        let dir = normalize(dir);
        let prefix = if dir.ends_with('/') {
            dir.clone()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<String> = Vec::new();
        for key in self.files.keys() {
            if let Some(rest) = key.strip_prefix(&prefix) {
                let name = rest.split('/').next().unwrap_or(rest);
                if !name.is_empty() && names.last().map(String::as_str) != Some(name) {
                    names.push(name.to_string());
                }
            }
        }
        if names.is_empty() && dir != "." && dir != "/" {
            return None;
        }
        names.dedup();
        Some(names)
    }
}

/// One file that was read, for locations and snippets.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Byte offset of the start of each line (line 1 at index 0).
    pub line_starts: Vec<usize>,
}

impl SourceFile {
    fn new(name: String, text: String) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 16 + 2);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        SourceFile {
            name,
            text,
            line_starts,
        }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: u32) -> &str {
        let i = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(i) else {
            return "";
        };
        let end = self
            .line_starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// 1-based column (in characters) of a byte offset within a line.
    pub fn column(&self, line: u32, byte_col: u32) -> u32 {
        let text = self.line_text(line);
        let mut b = (byte_col as usize).min(text.len());
        while !text.is_char_boundary(b) {
            b -= 1;
        }
        text[..b].chars().count() as u32 + 1
    }

    /// Byte offset in the file of a (line, byte column) position, clamped to the line.
    pub fn offset(&self, line: u32, byte_col: u32) -> usize {
        let i = (line as usize).saturating_sub(1);
        let start = self.line_starts.get(i).copied().unwrap_or(self.text.len());
        let len = self.line_text(line).len();
        let mut o = start + (byte_col as usize).min(len);
        while !self.text.is_char_boundary(o) {
            o -= 1;
        }
        o
    }
}

/// Every file read while parsing, in the order they were opened.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file; invalid UTF-8 is replaced (it can only ever be part of a value or keyword,
    /// and keepalived compares bytes, so a replaced byte still differs from every keyword).
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> FileId {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        };
        self.files.push(SourceFile::new(name.to_string(), text));
        self.files.len() - 1
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id)
    }

    pub fn name(&self, id: FileId) -> &str {
        self.files.get(id).map(|f| f.name.as_str()).unwrap_or("?")
    }
}

/// Collapses `.` and empty components (not `..`, which keepalived's `chdir` would resolve
/// through the real filesystem).
pub fn normalize(path: &str) -> String {
    let abs = path.starts_with('/');
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// The directory part of a path (`.` when there is none).
pub fn dirname(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}

/// `pattern` relative to `dir` unless it is absolute.
pub fn join(dir: &str, pattern: &str) -> String {
    if pattern.starts_with('/') || dir == "." || dir.is_empty() {
        pattern.to_string()
    } else {
        format!("{}/{}", dir.trim_end_matches('/'), pattern)
    }
}

/// Expands `{a,b}` alternatives (glibc `GLOB_BRACE`), at most 64 results.
fn expand_braces(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= 64 {
        return;
    }
    let bytes = pattern.as_bytes();
    let Some(open) = bytes.iter().position(|&b| b == b'{') else {
        out.push(pattern.to_string());
        return;
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        out.push(pattern.to_string());
        return;
    };
    let mut starts = vec![open + 1];
    starts.extend(commas.iter().map(|c| c + 1));
    let mut ends = commas.clone();
    ends.push(close);
    for (s, e) in starts.into_iter().zip(ends) {
        let p = format!(
            "{}{}{}",
            &pattern[..open],
            &pattern[s..e],
            &pattern[close + 1..]
        );
        expand_braces(&p, out);
    }
}

/// fnmatch-style match of one path component: `*`, `?`, `[...]`, `\` escapes; a leading
/// `.` must be matched literally.
pub fn component_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    // Iterative wildcard match with single backtrack point: linear-ish and never recursive.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class_match(&p, pi, n[ni])
                        && ok
                    {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Outcome of expanding an include pattern.
#[derive(Debug, Default)]
pub struct GlobResult {
    /// Matching files, sorted as glob(3) sorts them.
    pub paths: Vec<String>,
    /// A directory on the way did not exist, or a literal file was missing.
    pub missing: bool,
    /// The pattern had wildcards.
    pub wildcards: bool,
}

/// Expands an include pattern (already joined to the including file's directory).
pub fn glob(loader: &dyn SourceLoader, pattern: &str) -> GlobResult {
    let mut alts = Vec::new();
    expand_braces(pattern, &mut alts);
    let mut res = GlobResult::default();
    for alt in alts {
        let abs = alt.starts_with('/');
        let comps: Vec<&str> = alt.split('/').filter(|c| !c.is_empty()).collect();
        let mut current: Vec<String> = vec![if abs { "/".into() } else { ".".into() }];
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let mut next = Vec::new();
            for base in &current {
                let child = |name: &str| {
                    if base == "/" {
                        format!("/{name}")
                    } else if base == "." && !abs {
                        name.to_string()
                    } else {
                        format!("{base}/{name}")
                    }
                };
                if has_wildcard(comp) {
                    res.wildcards = true;
                    match loader.list_dir(base) {
                        Some(mut names) => {
                            names.sort();
                            for n in names {
                                if component_matches(comp, &n) {
                                    next.push(child(&n));
                                }
                            }
                        }
                        None => res.missing = true,
                    }
                } else {
                    let unescaped = comp.replace('\\', "");
                    let path = child(&unescaped);
                    if last {
                        if loader.read(&path).is_some() {
                            next.push(path);
                        } else {
                            res.missing = true;
                        }
                    } else {
                        next.push(path);
                    }
                }
            }
            current = next;
            if current.len() > 4096 {
                current.truncate(4096);
            }
        }
        if !comps.is_empty() {
            let mut files: Vec<String> = current
                .into_iter()
                .filter(|p| loader.read(p).is_some())
                .collect();
            files.sort();
            res.paths.extend(files);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_components() {
        assert!(component_matches("*.conf", "a.conf"));
        assert!(!component_matches("*.conf", "a.conf.bak"));
        assert!(component_matches("vi_[ab]?.conf", "vi_a1.conf"));
        assert!(!component_matches("*", ".hidden"));
    }

    #[test]
    fn glob_over_memory_files() {
        let fs = MemoryFiles::new()
            .with("etc/k/conf.d/b.conf", "x")
            .with("etc/k/conf.d/a.conf", "y")
            .with("etc/k/other.txt", "z");
        let r = glob(&fs, "etc/k/conf.d/*.conf");
        assert_eq!(r.paths, vec!["etc/k/conf.d/a.conf", "etc/k/conf.d/b.conf"]);
        let r = glob(&fs, "etc/k/{other.txt,conf.d/a.conf}");
        assert_eq!(r.paths.len(), 2);
        let r = glob(&fs, "etc/nope/*.conf");
        assert!(r.paths.is_empty() && r.missing);
    }
}
