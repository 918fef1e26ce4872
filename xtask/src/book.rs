//! The book against the code: includes and anchors resolve, every chapter crate has its
//! chapter, every internal link points at a page that exists. And the pinned mdBook.
//!
//! mdBook itself only *warns* about a missing include or anchor and then renders an empty
//! block, so a renamed anchor would silently blank a listing. These checks make it an error.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command};

use anyhow::{Context, Result, bail};

/// The one mdBook version the book is built with.
pub const MDBOOK_VERSION: &str = "0.5.4";

/// Runs every check and reports all problems at once.
pub fn check(root: &Path) -> Result<()> {
    let src = root.join("book/src");
    let pages = markdown_files(&src)?;
    let mut problems = Vec::new();
    for page in &pages {
        let text =
            fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
        check_includes(root, page, &text, &mut problems);
        check_links(root, page, &text, &mut problems);
    }
    check_chapters(root, &src, &mut problems)?;
    for page in &pages {
        check_proofs(root, page, &fs::read_to_string(page)?, &mut problems);
    }
    if problems.is_empty() {
        return Ok(());
    }
    for p in &problems {
        eprintln!("book: {p}");
    }
    bail!(
        "{} problem(s) between the book and the code",
        problems.len()
    )
}

/// Every `.md` file under `dir`, sorted.
fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The path relative to the workspace root, for messages.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Joins `rel` onto `base` and folds `..` away without touching the file system.
fn resolve(base: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `{{#include path}}`, `{{#include path:anchor}}` and `{{#include path:10:20}}` (also
/// `rustdoc_include`): the file must exist, and a named anchor must be opened and closed in it.
fn check_includes(root: &Path, page: &Path, text: &str, problems: &mut Vec<String>) {
    let dir = page.parent().expect("a page lives in a folder");
    for (line_no, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let directive = after[..end].trim();
            rest = &after[end + 2..];
            let Some(arg) = directive
                .strip_prefix("include ")
                .or_else(|| directive.strip_prefix("rustdoc_include "))
            else {
                continue;
            };
            let arg = arg.trim();
            let (path, anchor) = match arg.split_once(':') {
                Some((p, a)) => (p, Some(a)),
                None => (arg, None),
            };
            let at = format!("{}:{}", shown(root, page), line_no + 1);
            let file = resolve(dir, path);
            let Ok(body) = fs::read_to_string(&file) else {
                problems.push(format!("{at}: included file {path} does not exist"));
                continue;
            };
            let Some(anchor) = anchor else { continue };
            if anchor.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                continue; // A line range, not a named anchor.
            }
            let opens = body
                .lines()
                .any(|l| anchor_name(l, "ANCHOR:") == Some(anchor));
            let closes = body
                .lines()
                .any(|l| anchor_name(l, "ANCHOR_END:") == Some(anchor));
            if !opens || !closes {
                problems.push(format!(
                    "{at}: anchor `{anchor}` is not opened and closed in {path}"
                ));
            }
        }
    }
}

/// The anchor named on a line such as `// ANCHOR: name`, if the line has `marker`.
fn anchor_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let i = line.find(marker)?;
    // `ANCHOR:` is also the tail of `ANCHOR_END:`; make sure we matched the marker we meant.
    if marker == "ANCHOR:" && line[..i].ends_with('_') {
        return None;
    }
    line[i + marker.len()..].split_whitespace().next()
}

/// Relative links `[text](page.md)` and `[text](page.md#section)` must point at files that
/// exist. Links to the web are left alone.
fn check_links(root: &Path, page: &Path, text: &str, problems: &mut Vec<String>) {
    let dir = page.parent().expect("a page lives in a folder");
    for (line_no, line) in text.lines().enumerate() {
        for target in link_targets(line) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = if path.is_empty() {
                page.to_path_buf()
            } else {
                resolve(dir, path)
            };
            let at = format!("{}:{}", shown(root, page), line_no + 1);
            if !file.exists() {
                problems.push(format!("{at}: link to {target} points at nothing"));
            } else if !fragment.is_empty()
                && file.extension().is_some_and(|e| e == "md")
                && !heading_ids(&fs::read_to_string(&file).unwrap_or_default())
                    .iter()
                    .any(|id| id == fragment)
            {
                problems.push(format!("{at}: link to {target}: no heading has that id"));
            }
        }
    }
}

/// The ids mdBook gives the headings of a page: the heading's text, lower-cased, spaces turned
/// into `-`, and everything but letters, digits, `-` and `_` dropped; repeats get `-1`, `-2`...
fn heading_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut bases: Vec<String> = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let id: String = title
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let repeats = bases.iter().filter(|seen| **seen == id).count();
        ids.push(if repeats == 0 {
            id.clone()
        } else {
            format!("{id}-{repeats}")
        });
        bases.push(id);
    }
    ids
}

/// The targets of the `[text](target)` links on one line.
fn link_targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        out.push(after[..end].split_whitespace().next().unwrap_or_default());
        rest = &after[end..];
    }
    out
}

/// Every test a chapter's summary table names as proof exists. The table's header says where
/// the tests live ("Proved by (`crates/NAME/tests/`)"), and each row names them as
/// "`file.rs`: `test_a`, `test_b`".
fn check_proofs(root: &Path, page: &Path, text: &str, problems: &mut Vec<String>) {
    let mut folder: Option<PathBuf> = None;
    for (line_no, line) in text.lines().enumerate() {
        if let Some(i) = line.find("Proved by (`") {
            let rest = &line[i + "Proved by (`".len()..];
            folder = rest.split('`').next().map(|f| root.join(f));
            continue;
        }
        let Some(dir) = &folder else { continue };
        if !line.starts_with('|') {
            if !line.trim().is_empty() {
                folder = None; // The table ended.
            }
            continue;
        }
        let Some(cell) = line.split('|').nth(2) else {
            continue;
        };
        // "`a.rs`: `x`, `y`; `b.rs`: `z`" -> files and their tests.
        let mut file: Option<PathBuf> = None;
        for quoted in cell.split('`').skip(1).step_by(2) {
            if quoted.ends_with(".rs") {
                file = Some(dir.join(quoted));
            } else if let Some(f) = &file {
                let body = fs::read_to_string(f).unwrap_or_default();
                if !body.contains(&format!("fn {quoted}(")) {
                    let at = format!("{}:{}", shown(root, page), line_no + 1);
                    problems.push(format!("{at}: no test `{quoted}` in {}", shown(root, f)));
                }
            }
        }
    }
}

/// Every `crates/*-demo` crate has a chapter listed in SUMMARY.md that includes its code.
fn check_chapters(root: &Path, src: &Path, problems: &mut Vec<String>) -> Result<()> {
    let summary = fs::read_to_string(src.join("SUMMARY.md")).context("reading SUMMARY.md")?;
    let listed: BTreeSet<PathBuf> = link_targets_all(&summary)
        .into_iter()
        .map(|t| resolve(src, t))
        .collect();
    let mut crates: Vec<String> = fs::read_dir(root.join("crates"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-demo"))
        .collect();
    crates.sort();
    for name in crates {
        let needle = format!("crates/{name}/");
        let found = listed.iter().any(|page| {
            fs::read_to_string(page).is_ok_and(|text| {
                text.lines()
                    .any(|l| l.contains("{{#include") && l.contains(&needle))
            })
        });
        if !found {
            problems.push(format!(
                "crates/{name} has no chapter in SUMMARY.md that includes its code"
            ));
        }
    }
    Ok(())
}

fn link_targets_all(text: &str) -> Vec<&str> {
    text.lines().flat_map(link_targets).collect()
}

/// An mdBook of the pinned version: found, or being installed in the background.
pub enum MdBook {
    /// Ready to run at this path.
    Ready(PathBuf),
    /// `cargo install` is running; its output goes to `log`.
    Installing {
        /// The install process.
        child: Child,
        /// Where the binary will be.
        local: PathBuf,
        /// The install's output.
        log: PathBuf,
    },
}

/// What `--version` prints for the pinned mdBook.
fn wanted() -> String {
    format!("mdbook v{MDBOOK_VERSION}")
}

fn version_of(program: &Path) -> Option<String> {
    Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The mdBook on PATH if it is the pinned version, or one already installed under
/// `target/tools/`; otherwise starts installing it there with `cargo install --locked`.
/// In `background` mode the install uses one job and writes to a log, so that other work
/// can go on meanwhile; otherwise it runs in the foreground with its output shown.
pub fn find_or_install(root: &Path, cargo: fn() -> Command, background: bool) -> Result<MdBook> {
    if version_of(Path::new("mdbook")).as_deref() == Some(wanted().as_str()) {
        return Ok(MdBook::Ready(PathBuf::from("mdbook")));
    }
    let tools = root.join("target/tools");
    let local = tools
        .join("bin")
        .join(format!("mdbook{}", std::env::consts::EXE_SUFFIX));
    if version_of(&local).as_deref() == Some(wanted().as_str()) {
        return Ok(MdBook::Ready(local));
    }
    fs::create_dir_all(&tools)?;
    let mut cmd = cargo();
    cmd.args(["install", "mdbook", "--locked", "--version"])
        .arg(format!("={MDBOOK_VERSION}"))
        // Only the renderer and its search index: no `serve`/`watch`, which bring a web
        // server and a file watcher that a build does not need, and minutes of compiling.
        .args(["--no-default-features", "--features", "search"])
        // A debug build compiles in half the time and still renders this book in a second.
        .arg("--debug")
        .arg("--root")
        .arg(&tools)
        .arg("--target-dir")
        .arg(tools.join("build"));
    if !background {
        eprintln!(
            "xtask: installing mdBook {MDBOOK_VERSION} into {} (once)",
            tools.display()
        );
        super::run(cmd).context("installing mdBook")?;
        return match version_of(&local) {
            Some(v) if v == wanted() => Ok(MdBook::Ready(local)),
            other => bail!("installed mdBook reports {other:?}, expected {}", wanted()),
        };
    }
    eprintln!(
        "xtask: installing mdBook {MDBOOK_VERSION} into {} in the background (once)",
        tools.display()
    );
    let log = tools.join("install.log");
    let out = fs::File::create(&log)?;
    // One job, so the checks running meanwhile keep most of the machine.
    cmd.args(["--jobs", "1"])
        .stdout(out.try_clone()?)
        .stderr(out);
    Ok(MdBook::Installing {
        child: cmd.spawn().context("starting cargo install mdbook")?,
        local,
        log,
    })
}

impl MdBook {
    /// Waits for a background install (if any) and returns the path of the pinned mdBook.
    pub fn wait(self) -> Result<PathBuf> {
        match self {
            MdBook::Ready(path) => Ok(path),
            MdBook::Installing {
                mut child,
                local,
                log,
            } => {
                let status = child.wait()?;
                if !status.success() {
                    let text = fs::read_to_string(&log).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(20).collect();
                    for line in tail.into_iter().rev() {
                        eprintln!("  {line}");
                    }
                    bail!(
                        "installing mdBook failed ({status}); the whole log is {}",
                        log.display()
                    );
                }
                match version_of(&local) {
                    Some(v) if v == wanted() => Ok(local),
                    other => bail!("installed mdBook reports {other:?}, expected {}", wanted()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Anchor markers are recognised in any comment style, and END is not taken for a start.
    #[test]
    fn anchors_are_parsed() {
        assert_eq!(anchor_name("// ANCHOR: walk", "ANCHOR:"), Some("walk"));
        assert_eq!(anchor_name("# ANCHOR: walk  ", "ANCHOR:"), Some("walk"));
        assert_eq!(anchor_name("// ANCHOR_END: walk", "ANCHOR:"), None);
        assert_eq!(
            anchor_name("// ANCHOR_END: walk", "ANCHOR_END:"),
            Some("walk")
        );
    }

    /// Link targets are found, several per line, with titles dropped.
    #[test]
    fn links_are_found() {
        let line = r#"See [a](a.md) and [b](b.md#x "title") and [web](https://x.org)."#;
        assert_eq!(link_targets(line), vec!["a.md", "b.md#x", "https://x.org"]);
    }

    /// Heading ids follow mdBook's rule, skipping code blocks.
    #[test]
    fn heading_ids_match_mdbook() {
        let page = "# 1. Blocking TCP\n## `write` may be short\n```\n# not a heading\n```\n## Ports in use, and SO_REUSEADDR\n";
        assert_eq!(
            heading_ids(page),
            vec![
                "1-blocking-tcp",
                "write-may-be-short",
                "ports-in-use-and-so_reuseaddr"
            ]
        );
    }

    /// `..` is folded without touching the disk.
    #[test]
    fn paths_resolve() {
        assert_eq!(
            resolve(Path::new("/w/book/src"), "../../crates/x.rs"),
            Path::new("/w/crates/x.rs")
        );
    }
}
