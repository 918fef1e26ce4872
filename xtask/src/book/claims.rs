//! The claim registry: every row of every table in the book whose header has a "Proved by" or
//! "Refuted by" column is a claim, and that column names the tests that prove it.
//!
//! A proof cell names tests as `` `file.rs`: `test_a`, `test_b` `` (the folder comes from the
//! header, "Proved by (`crates/NAME/tests/`)"), as `` `crate-name`: `test` `` (the test is
//! looked for in that crate's `tests/` and `src/`), as `` `crate/tests/file.rs`: `test` `` under
//! a "Proved by (`crates/`)" header, or as a bare `` `test` `` found in exactly one crate. A
//! statement the reader's machine cannot prove is marked as a reference instead: `ref: tcp(7)`,
//! `ref: RFC 9293 §3.5`. A row with neither is an unproved claim.
//!
//! Each claim has an id, `crate.first_test` (or the `<a id="..."></a>` in its claim cell), so
//! that [the generated index](render_index), `book/src/claims.md`, can give each one an anchor
//! to link to. [`report`] counts them: `claims: N, proved: P, unproved: U`. On its own it
//! checks that each named test exists, is a `#[test]` and is not `#[ignore]`d; given the output
//! `test-all` captured from `cargo test`, it checks that each one ran and passed in that very
//! run (or skipped itself with a reason, or is compiled out on this platform by a `#[cfg]`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use socklab_support::skip::Skipped;

use super::testrun::{Outcome, TestRun};
use super::{links, markdown_files, resolve, shown};

/// Where the generated index lives, relative to the workspace.
pub const INDEX: &str = "book/src/claims.md";

/// One test a claim names, found in the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRef {
    /// The crate's folder name under `crates/`.
    pub krate: String,
    /// The file that defines it, relative to the workspace.
    pub file: String,
    /// The test function's name.
    pub name: String,
    /// The predicate of the `#[cfg(...)]` that may compile it out on some platforms
    /// (`target_os = "linux"`), if any.
    pub cfg: Option<String>,
}

/// One row of a claim table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The page, relative to the workspace.
    pub page: String,
    /// Whether `SUMMARY.md` lists the page (only those rows are counted).
    pub listed: bool,
    /// The row's line on the page, from 1.
    pub line: usize,
    /// The claim cell's markdown, without its id marker. For a myth, the myth.
    pub claim: String,
    /// Whether the table is of myths (the claim cell is the myth the tests refute).
    pub myth: bool,
    /// The row's id (see the module docs).
    pub id: String,
    /// The tests named and found.
    pub tests: Vec<TestRef>,
    /// The references, when the row is a reference.
    pub references: Vec<String>,
    /// Whether a problem was found in the row itself.
    pub broken: bool,
}

impl Row {
    fn at(&self) -> String {
        format!("{}:{}", self.page, self.line)
    }

    /// A row that names no test but a reference is a reference, not a claim.
    pub fn is_reference(&self) -> bool {
        self.tests.is_empty() && !self.references.is_empty()
    }
}

/// Every claim row of the book, with the problems found while reading them.
#[derive(Debug, Default)]
pub struct Registry {
    pub rows: Vec<Row>,
    /// Pages in `SUMMARY.md` order, with their titles there.
    pub pages: Vec<(String, String)>,
    pub problems: Vec<String>,
}

/// Reads every page under `book/src` (those in `SUMMARY.md` first, in its order) and resolves
/// every claim row's proofs against the code.
pub fn registry(root: &Path) -> Result<Registry> {
    let src = root.join("book/src");
    let summary = fs::read_to_string(src.join("SUMMARY.md")).context("reading SUMMARY.md")?;
    let mut reg = Registry::default();
    for (target, title) in summary_entries(&summary) {
        let rel = shown(root, &resolve(&src, target));
        if !reg.pages.iter().any(|(p, _)| *p == rel) {
            reg.pages.push((rel, title.to_string()));
        }
    }
    let mut others = Vec::new();
    for page in markdown_files(&src)? {
        let rel = shown(root, &page);
        if rel != INDEX
            && !rel.starts_with("book/src/benchmarks/")
            && !reg.pages.iter().any(|(p, _)| *p == rel)
        {
            others.push(rel);
        }
    }
    // The generated index is listed in SUMMARY.md but is not a page of claims: reading its rows
    // would let a stale row keep itself alive.
    let listed: Vec<String> = reg
        .pages
        .iter()
        .map(|(p, _)| p.clone())
        .filter(|p| p != INDEX)
        .collect();
    let mut code = Code::new(root);
    for (rel, is_listed) in listed
        .into_iter()
        .map(|p| (p, true))
        .chain(others.into_iter().map(|p| (p, false)))
    {
        let Ok(text) = fs::read_to_string(root.join(&rel)) else {
            continue; // A missing page is the links check's to report.
        };
        let before = reg.rows.len();
        read_page(&rel, is_listed, &text, &mut code, &mut reg);
        if !is_listed && reg.rows.len() > before {
            eprintln!(
                "book: note: {rel} has claims but is not in SUMMARY.md: they are checked, not counted"
            );
        }
    }
    Ok(reg)
}

/// The `[title](target)` entries of `SUMMARY.md`.
fn summary_entries(summary: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for line in summary.lines() {
        let Some(open) = line.find('[') else { continue };
        let Some(close) = line[open..].find("](").map(|i| open + i) else {
            continue;
        };
        let title = &line[open + 1..close];
        if let Some(target) = links::targets(line).into_iter().next()
            && !target.is_empty()
        {
            out.push((target, title));
        }
    }
    out
}

/// Adds the claim rows of one page to `reg`.
fn read_page(rel: &str, listed: bool, text: &str, code: &mut Code, reg: &mut Registry) {
    let lines: Vec<&str> = text.lines().collect();
    let mut in_fence = false;
    let mut i = 0;
    let mut ids: HashMap<String, usize> = HashMap::new();
    while i < lines.len() {
        let line = lines[i];
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        let is_header = !in_fence
            && line.trim_start().starts_with('|')
            && (i == 0 || !lines[i - 1].trim_start().starts_with('|'))
            && lines.get(i + 1).is_some_and(|next| is_delimiter(next));
        if !is_header {
            i += 1;
            continue;
        }
        let header = cells(line);
        let Some(col) = header.iter().position(|c| {
            let c = c.trim().to_lowercase();
            c.starts_with("proved by") || c.starts_with("refuted by")
        }) else {
            i += 1;
            continue;
        };
        let folder = header[col]
            .split('`')
            .nth(1)
            .map(|f| format!("{}/", f.trim_end_matches('/')));
        let myth = header[0].trim().eq_ignore_ascii_case("myth");
        i += 2;
        while i < lines.len() && lines[i].trim_start().starts_with('|') {
            let row_cells = cells(lines[i]);
            let at = format!("{rel}:{}", i + 1);
            let mut row = read_row(
                &at,
                &row_cells,
                col,
                folder.as_deref(),
                code,
                &mut reg.problems,
            );
            row.page = rel.to_string();
            row.listed = listed;
            row.line = i + 1;
            row.myth = myth;
            if row.id.is_empty() {
                let stem = Path::new(rel)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                row.id = format!("{stem}.line{}", i + 1);
            }
            if let Some(first) = ids.insert(row.id.clone(), i + 1) {
                reg.problems.push(format!(
                    "{at}: this row has the same id `{}` as the row at line {first} (its first test): \
                     name a different test first, or give one row its own id with \
                     `<a id=\"a-new-id\"></a>` in its claim cell",
                    row.id
                ));
                row.broken = true;
            }
            reg.rows.push(row);
            i += 1;
        }
    }
}

/// A table's delimiter row: `|---|:--:|`.
fn is_delimiter(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.contains('-') && t.chars().all(|c| "|-: ".contains(c))
}

/// Reads one row: its claim, id, tests and references; pushes what is wrong with it.
fn read_row(
    at: &str,
    row: &[String],
    col: usize,
    folder: Option<&str>,
    code: &mut Code,
    problems: &mut Vec<String>,
) -> Row {
    let (claim, explicit_id) = claim_and_id(row.first().map_or("", String::as_str));
    let proof = row.get(col).map_or("", String::as_str);
    let before = problems.len();
    let (proof_part, ref_part) = match proof.find("ref:") {
        Some(i) => (&proof[..i], Some(&proof[i + "ref:".len()..])),
        None => (proof, None),
    };
    let tests = read_proofs(at, proof_part, folder, code, problems);
    let mut references = Vec::new();
    if let Some(refs) = ref_part {
        for r in refs.split([';', ',']).map(|r| r.replace('`', "")) {
            let r = r.trim().to_string();
            if r.is_empty() {
                continue;
            }
            if is_reference(&r) {
                references.push(r);
            } else {
                problems.push(format!(
                    "{at}: `{r}` is not a reference this check knows: write a man page with its \
                     section (`ref: tcp(7)`) or an RFC (`ref: RFC 9293 §3.5`)"
                ));
            }
        }
    }
    if tests.is_empty() && references.is_empty() && problems.len() == before {
        problems.push(format!(
            "{at}: unproved claim: the proof column names no test. Name the test that fails if \
             the claim is false (`file.rs`: `test_name`), or, if this machine cannot prove it, \
             cite where it is stated (`ref: tcp(7)`, `ref: RFC 9293 §3.5`)"
        ));
    }
    let id = explicit_id.unwrap_or_else(|| {
        if let Some(t) = tests.first() {
            format!("{}.{}", t.krate, t.name)
        } else if let Some(r) = references.first() {
            format!("ref.{}", slug(r))
        } else {
            String::new()
        }
    });
    Row {
        page: String::new(),
        listed: false,
        line: 0,
        claim,
        myth: false,
        id,
        tests,
        references,
        broken: problems.len() > before,
    }
}

/// The claim cell without an `<a id="x"></a>` marker, and the marker's id.
fn claim_and_id(cell: &str) -> (String, Option<String>) {
    let cell = cell.trim();
    let Some(start) = cell.find("<a id=\"") else {
        return (cell.to_string(), None);
    };
    let rest = &cell[start + "<a id=\"".len()..];
    let Some(end_quote) = rest.find('"') else {
        return (cell.to_string(), None);
    };
    let id = rest[..end_quote].to_string();
    let after = &rest[end_quote..];
    let close = after.find("</a>").map_or(after.len(), |i| i + "</a>".len());
    let claim = format!("{}{}", &cell[..start], &after[close..]);
    (claim.trim().to_string(), Some(id))
}

/// A man page with its section (`tcp(7)`, `epoll_wait(2)`) or an RFC (`RFC 9293`), each maybe
/// followed by where in it (`§3.5`, `under TCP_KEEPIDLE`).
fn is_reference(r: &str) -> bool {
    if let Some(rest) = r.strip_prefix("RFC ") {
        return rest.starts_with(|c: char| c.is_ascii_digit());
    }
    let Some(open) = r.find('(') else {
        return false;
    };
    let name = &r[..open];
    let section = r[open + 1..].split(')').next().unwrap_or_default();
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c))
        && section.starts_with(|c: char| c.is_ascii_digit())
        && r[open..].contains(')')
}

/// Lower case, runs of anything but letters and digits turned into one `-`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Resolves the backticked names of a proof cell to tests in the code.
fn read_proofs(
    at: &str,
    cell: &str,
    folder: Option<&str>,
    code: &mut Code,
    problems: &mut Vec<String>,
) -> Vec<TestRef> {
    // The crate and folder the header names, if it names one crate's tests.
    let header_crate = folder.and_then(crate_of);
    let mut krate: Option<String> = header_crate.clone();
    let mut dir: Option<String> = folder.map(String::from);
    let mut file: Option<String> = None;
    // A file or crate named and not yet followed by a test.
    let mut dangling: Option<String> = None;
    // A file that does not exist: the tests after it are not looked for elsewhere.
    let mut bad_file = false;
    let mut tests = Vec::new();
    let complain_dangling = |d: &Option<String>, problems: &mut Vec<String>| {
        if let Some(name) = d {
            problems.push(format!(
                "{at}: `{name}` is followed by no test: write `{name}`: `test_name`"
            ));
        }
    };
    for token in cell.split('`').skip(1).step_by(2) {
        let token = token.trim();
        if token.ends_with(".rs") {
            complain_dangling(&dangling, problems);
            let path = if token.contains('/') {
                format!("{}{token}", folder.unwrap_or("crates/"))
            } else if let Some(d) = &dir {
                format!("{d}{token}")
            } else {
                problems.push(format!(
                    "{at}: `{token}`: which crate? Name it first (`crate-name`: ...) or in the \
                     header (Proved by (`crates/NAME/tests/`))"
                ));
                continue;
            };
            if !code.root.join(&path).is_file() {
                problems.push(format!("{at}: no file {path}"));
                bad_file = true;
                dangling = None;
                continue;
            }
            bad_file = false;
            krate = crate_of(&path);
            file = Some(path);
            dangling = Some(token.to_string());
        } else if code.is_crate(token) {
            complain_dangling(&dangling, problems);
            krate = Some(token.to_string());
            dir = Some(format!("crates/{token}/tests/"));
            file = None;
            bad_file = false;
            dangling = Some(token.to_string());
        } else if is_identifier(token) {
            dangling = None;
            if bad_file {
                continue;
            }
            match code.find(token, file.as_deref(), krate.as_deref()) {
                Ok(t) => tests.push(t),
                Err(e) => problems.push(format!("{at}: {e}")),
            }
        } else {
            problems.push(format!(
                "{at}: `{token}` in the proof column is neither a test, a test file nor a crate: \
                 keep only `file.rs`: `test_name` there (other words without backticks), and put \
                 commands in the \"See it\" column"
            ));
        }
    }
    complain_dangling(&dangling, problems);
    tests
}

/// `tcp-demo` for a path `crates/tcp-demo/...`.
fn crate_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("crates/")?;
    let (name, _) = rest.split_once('/')?;
    (!name.is_empty()).then(|| name.to_string())
}

fn is_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Splits a table line into its cells; a `|` inside backticks or escaped as `\|` is text.
pub fn cells(line: &str) -> Vec<String> {
    let inner = line.trim();
    let inner = inner.strip_prefix('|').unwrap_or(inner);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut out = vec![String::new()];
    let mut in_code = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                in_code = !in_code;
                out.last_mut().expect("one cell").push(c);
            }
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().expect("one cell").push('|');
                chars.next();
            }
            '|' if !in_code => out.push(String::new()),
            _ => out.last_mut().expect("one cell").push(c),
        }
    }
    out
}

/// What the code defines under a function's name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Def {
    is_test: bool,
    ignored: bool,
    cfg: Option<String>,
}

/// The course's source files, read once.
struct Code {
    root: PathBuf,
    texts: HashMap<String, Option<String>>,
    crates: BTreeMap<String, Vec<String>>,
}

impl Code {
    fn new(root: &Path) -> Code {
        let mut crates = BTreeMap::new();
        if let Ok(entries) = fs::read_dir(root.join("crates")) {
            for entry in entries.flatten() {
                let dir = entry.path();
                if !dir.join("Cargo.toml").is_file() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let mut files = Vec::new();
                for sub in ["tests", "src"] {
                    rust_files(root, &dir.join(sub), &mut files);
                }
                files.sort();
                crates.insert(name, files);
            }
        }
        Code {
            root: root.to_path_buf(),
            texts: HashMap::new(),
            crates,
        }
    }

    fn is_crate(&self, name: &str) -> bool {
        self.crates.contains_key(name)
    }

    fn text(&mut self, rel: &str) -> Option<&str> {
        let root = &self.root;
        self.texts
            .entry(rel.to_string())
            .or_insert_with(|| fs::read_to_string(root.join(rel)).ok())
            .as_deref()
    }

    /// Finds test `name` in `file`, else in crate `krate`, else in the one crate that has it.
    fn find(
        &mut self,
        name: &str,
        file: Option<&str>,
        krate: Option<&str>,
    ) -> std::result::Result<TestRef, String> {
        let candidates: Vec<String> = match (file, krate) {
            (Some(f), _) => vec![f.to_string()],
            (None, Some(k)) => self.crates.get(k).cloned().unwrap_or_default(),
            (None, None) => self.crates.values().flatten().cloned().collect(),
        };
        let mut found: Vec<(String, Def)> = Vec::new();
        for f in &candidates {
            if let Some(def) = self.text(f).and_then(|t| definition(t, name)) {
                found.push((f.clone(), def));
            }
        }
        let tests: Vec<&(String, Def)> = found.iter().filter(|(_, d)| d.is_test).collect();
        let place = match (file, krate) {
            (Some(f), _) => f.to_string(),
            (None, Some(k)) => format!("crates/{k}/ (tests/ and src/)"),
            (None, None) => "any crate".to_string(),
        };
        let Some((first_file, def)) = tests.first() else {
            return Err(match found.first() {
                Some((f, _)) => format!(
                    "`{name}` in {f} is not a test: name a function marked #[test] that fails \
                     if the claim is false"
                ),
                None => format!(
                    "no test `{name}` in {place}: fix the name, or write the test (a claim is a \
                     test that fails if the claim is false)"
                ),
            });
        };
        let crates: Vec<String> = {
            let mut c: Vec<String> = tests.iter().filter_map(|(f, _)| crate_of(f)).collect();
            c.dedup();
            c
        };
        if crates.len() > 1 {
            return Err(format!(
                "`{name}` is a test in several crates ({}): name the crate first (`{}`: `{name}`)",
                crates.join(", "),
                crates[0]
            ));
        }
        if def.ignored {
            return Err(format!(
                "`{name}` in {first_file} is #[ignore]d, so it never runs: remove #[ignore], or \
                 name a test that runs"
            ));
        }
        // Compiled on every platform if any definition is.
        let cfg = if tests.iter().any(|(_, d)| d.cfg.is_none()) {
            None
        } else {
            def.cfg.clone()
        };
        Ok(TestRef {
            krate: crate_of(first_file).unwrap_or_default(),
            file: first_file.clone(),
            name: name.to_string(),
            cfg,
        })
    }
}

/// Every `.rs` file under `dir`, relative to `root`.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(shown(root, &path));
        }
    }
}

/// What `text` defines as `fn name(`: whether its attributes make it a test, an ignored one,
/// and the `#[cfg]` (its own or the file's `#![cfg]`) that may compile it out.
fn definition(text: &str, name: &str) -> Option<Def> {
    let lines: Vec<&str> = text.lines().collect();
    let file_cfg = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("#![cfg("))
        .and_then(cfg_predicate);
    let needle = format!("fn {name}(");
    let mut first: Option<Def> = None;
    for (i, line) in lines.iter().enumerate() {
        let Some(pos) = line.find(&needle) else {
            continue;
        };
        if pos > 0 && !line[..pos].ends_with(char::is_whitespace) {
            continue; // `xfn name(`, not this function.
        }
        let mut def = Def {
            is_test: false,
            ignored: false,
            cfg: file_cfg.clone(),
        };
        for above in lines[..i].iter().rev().map(|l| l.trim()) {
            if above.starts_with("//") {
                continue;
            }
            let Some(attr) = above.strip_prefix("#[") else {
                break;
            };
            let attr = attr.trim_end_matches(']');
            let head: String = attr
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if head == "test" || head.ends_with("::test") {
                def.is_test = true;
            } else if head == "ignore" {
                def.ignored = true;
            } else if head == "cfg"
                && let Some(p) = cfg_predicate(attr)
            {
                def.cfg = Some(match def.cfg.take() {
                    Some(outer) => format!("all({outer}, {p})"),
                    None => p,
                });
            }
        }
        if def.is_test {
            return Some(def);
        }
        first.get_or_insert(def);
    }
    first
}

/// The predicate inside the first `cfg(...)` of an attribute line, parentheses balanced.
fn cfg_predicate(line: &str) -> Option<String> {
    let start = line.find("cfg(")? + "cfg(".len();
    let mut depth = 1;
    let mut in_str = false;
    for (i, c) in line[start..].char_indices() {
        match c {
            '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return Some(line[start..start + i].trim().to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether a `cfg` predicate holds on this machine (the one the tests ran on): `unix`,
/// `windows`, `target_os = "..."`, `target_family = "..."`, and `not`, `any`, `all` of them.
/// Anything else is taken to hold, so that a test it guards is expected to have run.
pub fn cfg_holds(predicate: &str) -> bool {
    let p = predicate.trim();
    let args = |inner: &str| -> Vec<String> {
        let mut out = vec![String::new()];
        let mut depth = 0;
        let mut in_str = false;
        for c in inner.chars() {
            match c {
                '"' => in_str = !in_str,
                '(' if !in_str => depth += 1,
                ')' if !in_str => depth -= 1,
                ',' if !in_str && depth == 0 => {
                    out.push(String::new());
                    continue;
                }
                _ => {}
            }
            out.last_mut().expect("one").push(c);
        }
        out.into_iter().filter(|a| !a.trim().is_empty()).collect()
    };
    let call = |name: &str| {
        p.strip_prefix(name)
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
    };
    if let Some(inner) = call("not") {
        return !cfg_holds(inner);
    }
    if let Some(inner) = call("any") {
        return args(inner).iter().any(|a| cfg_holds(a));
    }
    if let Some(inner) = call("all") {
        return args(inner).iter().all(|a| cfg_holds(a));
    }
    if let Some((key, value)) = p.split_once('=') {
        let value = value.trim().trim_matches('"');
        return match key.trim() {
            "target_os" => value == std::env::consts::OS,
            "target_family" => value == std::env::consts::FAMILY,
            _ => true,
        };
    }
    match p {
        "unix" => cfg!(unix),
        "windows" => cfg!(windows),
        _ => true,
    }
}

/// How the proofs are checked: that they exist, or that they ran in a captured test run.
pub enum Evidence<'a> {
    /// Each named test exists and is a test that runs.
    Exists,
    /// Each named test also ran and passed in `run` (or skipped itself, per `skips`).
    Ran {
        run: &'a TestRun,
        skips: &'a [Skipped],
        /// The captured output's file, for messages.
        capture: &'a Path,
    },
}

/// The counts, and what is wrong.
#[derive(Debug, Default)]
pub struct Report {
    /// `claims: N, proved: P, unproved: U; references: R ...`.
    pub line: String,
    /// Unproved claims, one line each, saying what to do.
    pub problems: Vec<String>,
    /// Proofs that skipped themselves here, with their reasons.
    pub notes: Vec<String>,
    pub unproved: usize,
}

/// Checks every row's tests against `evidence` and counts the claims of the pages in
/// `SUMMARY.md`. The registry's own problems come first.
pub fn report(reg: &Registry, evidence: &Evidence) -> Report {
    let mut out = Report {
        problems: reg.problems.clone(),
        ..Report::default()
    };
    // id -> (is a claim, proved).
    let mut ids: Vec<(String, bool, bool)> = Vec::new();
    for row in &reg.rows {
        let mut ok = !row.broken;
        for test in &row.tests {
            if let Err(problem) = ran(test, evidence, &mut out.notes) {
                out.problems.push(format!("{}: {problem}", row.at()));
                ok = false;
            }
        }
        if !row.listed {
            continue;
        }
        let claim = !row.is_reference();
        match ids.iter_mut().find(|(id, _, _)| *id == row.id) {
            Some(entry) => {
                entry.1 |= claim;
                entry.2 &= ok;
            }
            None => ids.push((row.id.clone(), claim, ok)),
        }
    }
    let claims = ids.iter().filter(|e| e.1).count();
    let unproved = ids.iter().filter(|e| e.1 && !e.2).count();
    let references = ids.iter().filter(|e| !e.1).count();
    out.unproved = unproved + ids.iter().filter(|e| !e.1 && !e.2).count();
    out.notes.sort();
    out.notes.dedup();
    let how = match evidence {
        Evidence::Exists => {
            " (each proof exists and runs; that each one ran and passed is checked by `cargo xtask test-all`)"
                .to_string()
        }
        Evidence::Ran { capture, .. } => format!(
            " (each proof ran in this test run, {}{})",
            capture.display(),
            if out.notes.is_empty() {
                String::new()
            } else {
                format!("; {} skipped here, listed above", out.notes.len())
            }
        ),
    };
    out.line = format!(
        "claims: {claims}, proved: {}, unproved: {unproved}; references: {references}{how}",
        claims - unproved
    );
    out
}

/// Whether `test` counts as run under `evidence`; a skip is noted in `notes`.
fn ran(test: &TestRef, evidence: &Evidence, notes: &mut Vec<String>) -> Result<(), String> {
    let Evidence::Ran {
        run,
        skips,
        capture,
    } = evidence
    else {
        return Ok(());
    };
    let TestRef {
        krate, file, name, ..
    } = test;
    let skipped = skips.iter().find(|s| s.name == *name);
    match run.outcome(krate, file, name) {
        Some(Outcome::Ok) => {
            if let Some(s) = skipped {
                notes.push(format!("`{name}` ({krate}) skipped here: {}", s.reason));
            }
            Ok(())
        }
        Some(Outcome::Failed) => Err(format!(
            "`{name}` ({file}) FAILED in this run: the claim is not proved until it passes"
        )),
        Some(Outcome::Ignored) => Err(format!(
            "`{name}` ({file}) was ignored in this run: an ignored test proves nothing; remove \
             its #[ignore] or name a test that runs"
        )),
        None => {
            if let Some(s) = skipped {
                notes.push(format!("`{name}` ({krate}) skipped here: {}", s.reason));
                Ok(())
            } else if let Some(cfg) = test.cfg.as_ref().filter(|c| !cfg_holds(c)) {
                notes.push(format!(
                    "`{name}` ({krate}) is compiled out on this platform by #[cfg({cfg})]"
                ));
                Ok(())
            } else {
                Err(format!(
                    "`{name}` ({file}) did not run in this test run: no `test {name} ... ok` \
                     line in {}. Is it in a test target `cargo test --workspace` builds?",
                    capture.display()
                ))
            }
        }
    }
}

/// The index page, `claims.md`: every claim of the pages in `SUMMARY.md`, once per id, with
/// an anchor to link to, the pages that state it and its proofs; then the references.
pub fn render_index(reg: &Registry) -> String {
    let title = |page: &str| -> String {
        reg.pages
            .iter()
            .find(|(p, _)| p == page)
            .map_or(page, |(_, t)| t.as_str())
            .to_string()
    };
    let link = |page: &str| {
        let file = page.strip_prefix("book/src/").unwrap_or(page);
        format!("[{}]({file})", title(page))
    };
    let mut grouped: Vec<(String, Vec<&Row>)> = Vec::new();
    for row in reg.rows.iter().filter(|r| r.listed) {
        match grouped.iter_mut().find(|(id, _)| *id == row.id) {
            Some((_, rows)) => rows.push(row),
            None => grouped.push((row.id.clone(), vec![row])),
        }
    }
    let mut out = String::from(
        "# Claims\n\n\
         <!-- Written by `cargo xtask claims` from the claim tables of the pages in SUMMARY.md. \
         Do not edit: edit the tables, then run it again (`cargo xtask check-book` fails while \
         this page is out of date). -->\n\n\
         Every claim the book makes, with the tests that prove it on your machine. \
         `cargo xtask test-all` checks that each of these tests ran and passed in that run (or \
         said why it could not run here). Link to a claim as `claims.md#ID`.\n\n\
         | Id | Claim | Stated in | Proved by |\n|---|---|---|---|\n",
    );
    let escape = |s: &str| s.replace('|', "\\|");
    for (id, rows) in grouped.iter().filter(|(_, rows)| !rows[0].is_reference()) {
        let first = rows.iter().find(|r| !r.myth).unwrap_or(&rows[0]);
        let claim = if first.myth {
            format!("Refutes the myth: {}", first.claim)
        } else {
            first.claim.clone()
        };
        let mut pages: Vec<String> = Vec::new();
        for r in rows {
            let l = link(&r.page);
            if !pages.contains(&l) {
                pages.push(l);
            }
        }
        let mut by_file: Vec<(String, Vec<String>)> = Vec::new();
        for t in rows.iter().flat_map(|r| &r.tests) {
            let file = t
                .file
                .strip_prefix("crates/")
                .unwrap_or(&t.file)
                .to_string();
            let name = format!("`{}`", t.name);
            match by_file.iter_mut().find(|(f, _)| *f == file) {
                Some((_, names)) if names.contains(&name) => {}
                Some((_, names)) => names.push(name),
                None => by_file.push((file, vec![name])),
            }
        }
        let proofs: Vec<String> = by_file
            .iter()
            .map(|(f, names)| format!("`{f}`: {}", names.join(", ")))
            .collect();
        let _ = writeln!(
            out,
            "| <a id=\"{id}\"></a>`{id}` | {} | {} | {} |",
            escape(&claim),
            pages.join(", "),
            escape(&proofs.join("; "))
        );
    }
    out += "\n## References\n\nStatements a test on your machine cannot prove, and where they are \
            stated instead.\n\n| Id | Statement | Stated in | Reference |\n|---|---|---|---|\n";
    for (id, rows) in grouped.iter().filter(|(_, rows)| rows[0].is_reference()) {
        let r = rows[0];
        let _ = writeln!(
            out,
            "| <a id=\"{id}\"></a>`{id}` | {} | {} | {} |",
            escape(&r.claim),
            link(&r.page),
            r.references.join("; ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch workspace with one crate and its tests, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let root =
                std::env::temp_dir().join(format!("xtask-claims-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            let tests = root.join("crates/tcp-demo/tests");
            fs::create_dir_all(&tests).unwrap();
            fs::create_dir_all(root.join("crates/udp-demo/tests")).unwrap();
            fs::create_dir_all(root.join("book/src")).unwrap();
            for krate in ["tcp-demo", "udp-demo"] {
                fs::write(root.join(format!("crates/{krate}/Cargo.toml")), "").unwrap();
            }
            fs::write(
                tests.join("echo.rs"),
                "//! Echo.\n\n/// Proves it.\n#[test]\nfn echo_works() {}\n\n#[test]\n#[ignore]\nfn slow() {}\n\nfn helper() {}\n\n#[cfg(target_os = \"plan9\")] // Nowhere we run.\n#[test]\nfn plan9_only() {}\n\n#[cfg(all())]\n#[test]\nfn everywhere() {}\n",
            )
            .unwrap();
            fs::write(
                root.join("crates/udp-demo/tests/cli.rs"),
                "#[test]\nfn echo_works() {}\n#[test]\nfn only_udp() {}\n",
            )
            .unwrap();
            Scratch(root)
        }

        fn page(&self, table: &str) -> Registry {
            let src = self.0.join("book/src");
            fs::write(src.join("SUMMARY.md"), "- [1. TCP](ch01.md)\n").unwrap();
            fs::write(
                src.join("ch01.md"),
                format!("# 1. TCP\n\n{table}\n\nAfter.\n"),
            )
            .unwrap();
            registry(&self.0).unwrap()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const HEADER: &str =
        "| Claim | Proved by (`crates/tcp-demo/tests/`) | See it |\n|---|---|---|\n";

    /// A row naming a test that exists is a proved claim, with the crate and test as its id;
    /// a reference is counted apart.
    #[test]
    fn proved_claims_and_references_are_counted() {
        let s = Scratch::new("counted");
        let reg = s.page(&format!(
            "{HEADER}| Echo echoes | `echo.rs`: `echo_works` | demo |\n| Keepalive defaults | ref: tcp(7) | |\n| Plan 9 only | `echo.rs`: `plan9_only` (Plan 9) | |\n"
        ));
        assert_eq!(reg.problems, Vec::<String>::new());
        let ids: Vec<&str> = reg.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["tcp-demo.echo_works", "ref.tcp-7", "tcp-demo.plan9_only"]
        );
        let report = report(&reg, &Evidence::Exists);
        assert!(
            report
                .line
                .starts_with("claims: 2, proved: 2, unproved: 0; references: 1"),
            "{}",
            report.line
        );
        assert_eq!(report.unproved, 0);
    }

    /// Each way a proof can be missing is one clear problem on the row's line, and the row is
    /// counted as unproved: a misspelt test, a helper that is not a test, an ignored test, an
    /// empty proof column, a file with no test after it, a bad reference.
    #[test]
    fn each_missing_proof_is_a_problem() {
        let s = Scratch::new("missing");
        let reg = s.page(&format!(
            "{HEADER}| a | `echo.rs`: `echo_wroks` | |\n| b | `echo.rs`: `helper` | |\n| c | `echo.rs`: `slow` | |\n| d | the suite shows it | |\n| e | `echo.rs` | |\n| f | ref: the internet | |\n| g | `nope.rs`: `echo_works` | |\n"
        ));
        let p = &reg.problems;
        assert_eq!(p.len(), 7, "{p:#?}");
        assert!(p[0].starts_with(
            "book/src/ch01.md:5: no test `echo_wroks` in crates/tcp-demo/tests/echo.rs"
        ));
        assert!(p[1].contains("`helper` in crates/tcp-demo/tests/echo.rs is not a test"));
        assert!(p[2].contains("`slow` in crates/tcp-demo/tests/echo.rs is #[ignore]d"));
        assert!(p[3].starts_with("book/src/ch01.md:8: unproved claim"));
        assert!(p[4].contains("`echo.rs` is followed by no test"));
        assert!(p[5].contains("`the internet` is not a reference"));
        assert!(p[6].starts_with("book/src/ch01.md:11: no file crates/tcp-demo/tests/nope.rs"));
        let report = report(&reg, &Evidence::Exists);
        assert!(
            report
                .line
                .starts_with("claims: 7, proved: 0, unproved: 7; references: 0"),
            "{}",
            report.line
        );
    }

    /// Crates and bare names resolve like the myths and defences tables write them; a name
    /// in two crates must say which; two rows with one id on a page are a problem.
    #[test]
    fn crates_bare_names_and_ids() {
        let s = Scratch::new("crates");
        let reg = s.page(
            "| Myth | What really happens | Refuted by |\n|---|---|---|\n| \"x\" | y | `udp-demo`: [`only_udp`](ch02.md#x) |\n| \"z\" | w | `only_udp` |\n| <a id=\"own\"></a>\"v\" | w | `echo_works` |\n| \"u\" | w | `tcp-demo`: `echo_works`; `udp-demo`: `echo_works` |\n",
        );
        assert_eq!(reg.rows[0].tests[0].file, "crates/udp-demo/tests/cli.rs");
        assert_eq!(reg.rows[0].id, "udp-demo.only_udp");
        assert!(reg.rows[0].myth);
        assert_eq!(reg.rows[2].id, "own");
        assert_eq!(reg.rows[2].claim, "\"v\"");
        let p = &reg.problems;
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p[0].contains("same id `udp-demo.only_udp` as the row at line 5"));
        assert!(p[1].contains("`echo_works` is a test in several crates (tcp-demo, udp-demo)"));
        assert_eq!(reg.rows[3].tests.len(), 2, "crate-qualified names resolve");
    }

    /// With a captured run, a test that passed proves its claim; one that failed, was ignored
    /// or did not run does not (also under a `#[cfg]` that holds here); a recorded skip or a
    /// `#[cfg]` that compiles it out here is a note, not a failure.
    #[test]
    fn a_captured_run_decides_what_ran() {
        let s = Scratch::new("ran");
        let reg = s.page(&format!(
            "{HEADER}| a | `echo.rs`: `echo_works` | |\n| b | `echo.rs`: `plan9_only` | |\n| c | `echo.rs`: `everywhere` | |\n"
        ));
        assert_eq!(
            reg.rows[1].tests[0].cfg.as_deref(),
            Some("target_os = \"plan9\"")
        );
        let parse = |text: &str| TestRun::parse(text, Path::new("/nonexistent"));
        let capture = Path::new("target/out.txt");
        let check = |run: &TestRun, skips: &[Skipped]| {
            report(
                &reg,
                &Evidence::Ran {
                    run,
                    skips,
                    capture,
                },
            )
        };
        let passed =
            parse("Running tests/echo.rs (x)\ntest echo_works ... ok\ntest everywhere ... ok\n");
        let r = check(&passed, &[]);
        assert_eq!(r.problems, Vec::<String>::new());
        assert!(
            r.line.starts_with("claims: 3, proved: 3, unproved: 0"),
            "{}",
            r.line
        );
        assert_eq!(r.notes.len(), 1, "plan9_only compiled out: {:?}", r.notes);

        let failed = parse(
            "Running tests/echo.rs (x)\ntest echo_works ... FAILED\ntest everywhere ... ok\n",
        );
        let r = check(&failed, &[]);
        assert_eq!(r.unproved, 1, "{:?}", r.problems);
        assert!(r.problems[0].contains("`echo_works` (crates/tcp-demo/tests/echo.rs) FAILED"));

        let ignored = parse("Running tests/echo.rs (x)\ntest echo_works ... ignored\n");
        assert!(check(&ignored, &[]).problems[0].contains("was ignored"));

        let none = parse("Running tests/echo.rs (x)\n");
        let r = check(&none, &[]);
        assert_eq!(r.problems.len(), 2, "{r:?}");
        assert!(
            r.problems[0].contains("`echo_works`")
                && r.problems[0].contains("did not run in this test run")
        );
        assert!(
            r.problems[1].contains("`everywhere`"),
            "its cfg holds here, so it had to run"
        );
        let skips = [Skipped {
            name: "echo_works".into(),
            reason: "no loopback".into(),
        }];
        let r = check(&none, &skips);
        assert_eq!(r.problems.len(), 1, "only `everywhere`: {r:?}");
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("skipped here: no loopback"))
        );
    }

    /// Cells split on `|` but not inside code or when escaped; references are man pages with
    /// a section or RFCs.
    #[test]
    fn cells_and_references() {
        assert_eq!(
            cells("| a `x | y` | b \\| c |"),
            vec![" a `x | y` ", " b | c "]
        );
        assert!(is_reference("tcp(7)"));
        assert!(is_reference("epoll_wait(2) under EINTR"));
        assert!(is_reference("RFC 9293 §3.5"));
        assert!(!is_reference("the internet"));
        assert!(!is_reference("RFC"));
        assert!(!is_reference("tcp(x)"));
        assert_eq!(slug("RFC 9293 §3.5"), "rfc-9293-3-5");
    }

    /// cfg predicates are read from attribute lines and evaluated for this machine.
    #[test]
    fn cfg_predicates() {
        assert_eq!(
            cfg_predicate("#![cfg(target_os = \"linux\")] // epoll (is Linux's)").as_deref(),
            Some("target_os = \"linux\"")
        );
        assert_eq!(
            cfg_predicate("#[cfg(any(unix, windows))]").as_deref(),
            Some("any(unix, windows)")
        );
        assert!(cfg_holds("all()"));
        assert!(!cfg_holds("any()"));
        assert!(!cfg_holds("target_os = \"plan9\""));
        assert!(cfg_holds(&format!(
            "target_os = \"{}\"",
            std::env::consts::OS
        )));
        assert!(cfg_holds("not(target_os = \"plan9\")"));
        assert_eq!(cfg_holds("unix"), cfg!(unix));
        assert!(cfg_holds("any(target_os = \"plan9\", all())"));
        assert!(
            cfg_holds("feature = \"whatever\""),
            "unknown: expected to run"
        );
    }

    /// The index has one anchored row per id and lists references apart.
    #[test]
    fn the_index_anchors_every_claim() {
        let s = Scratch::new("index");
        let reg = s.page(&format!(
            "{HEADER}| Echo echoes | `echo.rs`: `echo_works` | |\n| Keepalive | ref: tcp(7) | |\n"
        ));
        let index = render_index(&reg);
        assert!(index.contains(
            "| <a id=\"tcp-demo.echo_works\"></a>`tcp-demo.echo_works` | Echo echoes | [1. TCP](ch01.md) | `tcp-demo/tests/echo.rs`: `echo_works` |"
        ), "{index}");
        assert!(index.contains(
            "| <a id=\"ref.tcp-7\"></a>`ref.tcp-7` | Keepalive | [1. TCP](ch01.md) | tcp(7) |"
        ));
    }
}
