//! `cargo xtask tidy`: quick checks of the source tree that need no build, run first by
//! `test-all` so that they fail in seconds:
//!
//! - [`tours`]: the module tour at the top of each crate's `lib.rs` names exactly the modules
//!   that `lib.rs` declares.
//! - [`anchors`]: every `// ANCHOR: name` in the code is shown by some page of the book.
//! - [`text`]: every `.rs` file opens with a `//!` line saying what it is, and no `.rs` or `.md`
//!   line ends in whitespace.
//!
//! Each check takes text and returns its problems, so its tests hand it small bad inputs; the
//! file list is [`crate::files::course_files`].

mod anchors;
mod text;
mod tours;

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Runs every tidy check over the course at `root` and reports all problems at once.
pub fn check(root: &Path) -> Result<()> {
    let files = crate::files::course_files(root)?;
    let mut sources = Vec::new();
    for rel in files
        .iter()
        .filter(|f| f.ends_with(".rs") || f.ends_with(".md"))
    {
        let text = fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"))?;
        sources.push((rel.as_str(), text));
    }
    let mut problems = Vec::new();
    for (rel, text) in &sources {
        problems.extend(text::check(rel, text));
        if is_crate_root(rel) {
            problems.extend(tours::check(rel, text));
        }
    }
    let pages: Vec<(&str, &str)> = sources
        .iter()
        .filter(|(rel, _)| rel.starts_with("book/src/") && rel.ends_with(".md"))
        .map(|(rel, text)| (*rel, text.as_str()))
        .collect();
    let code: Vec<(&str, &str)> = sources
        .iter()
        .filter(|(rel, _)| rel.ends_with(".rs"))
        .map(|(rel, text)| (*rel, text.as_str()))
        .collect();
    problems.extend(anchors::check(&pages, &code));
    if problems.is_empty() {
        return Ok(());
    }
    for p in &problems {
        eprintln!("tidy: {p}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

/// A library crate's root, whose `//!` tour [`tours`] checks: `crates/NAME/src/lib.rs`.
fn is_crate_root(rel: &str) -> bool {
    rel.strip_prefix("crates/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, rest)| rest == "src/lib.rs")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the crates' `lib.rs` files are crate roots.
    #[test]
    fn crate_roots() {
        assert!(is_crate_root("crates/tcp-demo/src/lib.rs"));
        assert!(!is_crate_root("crates/tcp-demo/src/main.rs"));
        assert!(!is_crate_root("crates/tcp-demo/src/x/lib.rs"));
        assert!(!is_crate_root("xtask/src/lib.rs"));
    }
}
