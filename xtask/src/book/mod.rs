//! The book against the code, and the pinned mdBook that builds it.
//!
//! mdBook itself only *warns* about a missing include or anchor and then renders an empty
//! block, so a renamed anchor would silently blank a listing. These checks make it an error.
//! One module per check, and one for mdBook itself:
//!
//! - [`includes`]: every `{{#include path:anchor}}` names a file that exists and an anchor
//!   opened and closed in it.
//! - [`links`]: every relative link points at a page that exists, and at a heading on it.
//! - [`chapters`]: every `crates/*-demo` crate has a chapter in `SUMMARY.md` that includes
//!   its code.
//! - [`proofs`]: every test a chapter's summary table names as proof exists.
//! - [`install`]: finding or installing mdBook at the one pinned version.

mod chapters;
pub mod includes;
mod install;
mod links;
mod proofs;

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

pub use install::find_or_install;

/// Runs every check and reports all problems at once.
pub fn check(root: &Path) -> Result<()> {
    let src = root.join("book/src");
    let pages = markdown_files(&src)?;
    let mut problems = Vec::new();
    for page in &pages {
        let text =
            fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
        includes::check(root, page, &text, &mut problems);
        links::check(root, page, &text, &mut problems);
    }
    chapters::check(root, &src, &mut problems)?;
    for page in &pages {
        proofs::check(root, page, &fs::read_to_string(page)?, &mut problems);
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

/// Checks the book against the code, then builds it with `mdbook`; returns the path of its
/// `index.html`.
pub fn build(root: &Path, mdbook: PathBuf) -> Result<PathBuf> {
    check(root)?;
    let mut cmd = Command::new(mdbook);
    cmd.arg("build").arg(root.join("book"));
    crate::run(cmd)?;
    Ok(root.join("book/build/index.html"))
}

/// Every `.md` file under `dir`, sorted.
pub fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>> {
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
pub fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Joins `rel` onto `base` and folds `..` away without touching the file system.
pub fn resolve(base: &Path, rel: &str) -> PathBuf {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `..` is folded without touching the disk.
    #[test]
    fn paths_resolve() {
        assert_eq!(
            resolve(Path::new("/w/book/src"), "../../crates/x.rs"),
            Path::new("/w/crates/x.rs")
        );
    }
}
