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
//! - [`claims`]: the claim registry: every claim table's row names tests that exist (and, in
//!   `test-all`, that ran), or a reference; the generated index `claims.md` is up to date.
//!   [`testrun`] reads the captured `cargo test` output it checks against.
//! - [`figures`]: no number with a unit of measure typed by hand in the book or the README;
//!   and the pages `cargo xtask bench` generates are what it would write from its stored
//!   figures ([`crate::bench::stale`]).
//! - [`width`]: after a build, no listing is wider than the page: no line over 100 columns,
//!   and, where Chromium is installed, no block that scrolls sideways at a desktop width.
//! - [`install`]: finding or installing mdBook at the one pinned version.

mod chapters;
pub mod claims;
pub mod figures;
pub mod includes;
mod install;
mod links;
pub mod testrun;
mod width;

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use socklab_support::skip;

pub use install::find_or_install;

/// How much of the claim registry a check covers.
pub enum Claims<'a> {
    /// Not at all (`test-all` checks the claims in a step of their own).
    Skip,
    /// Each claim's tests exist and run, and the index is up to date.
    Exists,
    /// As `Exists`, and each test ran in the `cargo test` output captured in this file, or
    /// skipped itself with a reason recorded in `target/socklab-skips.txt` ([`crate::SKIPS`]).
    Ran(&'a Path),
}

/// Runs every check and reports all problems at once.
pub fn check(root: &Path, claims: Claims) -> Result<()> {
    let src = root.join("book/src");
    let pages = markdown_files(&src)?;
    let mut problems = Vec::new();
    for page in &pages {
        let text =
            fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
        includes::check(root, page, &text, &mut problems);
        links::check(root, page, &text, &mut problems);
        let rel = shown(root, page);
        if figures::applies_to(&rel) {
            problems.extend(figures::check(&rel, &text));
        }
    }
    let readme = fs::read_to_string(root.join("README.md")).context("reading README.md")?;
    problems.extend(figures::check("README.md", &readme));
    chapters::check(root, &src, &mut problems)?;
    problems.extend(crate::bench::stale(root)?);
    let line = match claims {
        Claims::Skip => None,
        Claims::Exists => Some(check_claims(root, None, &mut problems)?),
        Claims::Ran(capture) => Some(check_claims(root, Some(capture), &mut problems)?),
    };
    for p in &problems {
        eprintln!("book: {p}");
    }
    if let Some(line) = line {
        println!("{line}");
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "{} problem(s) between the book and the code",
        problems.len()
    )
}

/// Only the claim registry, against the `cargo test` output captured in `capture` (and the
/// skips in [`crate::SKIPS`]): `test-all`'s step after its tests. Prints the counts.
pub fn check_claims_ran(root: &Path, capture: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let line = check_claims(root, Some(capture), &mut problems)?;
    for p in &problems {
        eprintln!("claims: {p}");
    }
    println!("{line}");
    if problems.is_empty() {
        return Ok(());
    }
    bail!("{} claim(s) without a proof that ran", problems.len())
}

/// The registry's problems into `problems`, its skips printed; returns the counts line.
fn check_claims(root: &Path, capture: Option<&Path>, problems: &mut Vec<String>) -> Result<String> {
    let reg = claims::registry(root)?;
    let index = claims::render_index(&reg);
    if fs::read_to_string(root.join(claims::INDEX)).ok().as_deref() != Some(index.as_str()) {
        problems.push(format!(
            "{} is out of date with the claim tables: run `cargo xtask claims`",
            claims::INDEX
        ));
    }
    let report = match capture {
        None => claims::report(&reg, &claims::Evidence::Exists),
        Some(file) => {
            let text = fs::read_to_string(file).with_context(|| {
                format!(
                    "reading {} (the captured output of `cargo test`)",
                    file.display()
                )
            })?;
            let run = testrun::TestRun::parse(&text, root);
            let skips = skip::read(&root.join(crate::SKIPS))
                .with_context(|| format!("reading {}", crate::SKIPS))?;
            claims::report(
                &reg,
                &claims::Evidence::Ran {
                    run: &run,
                    skips: &skips,
                    capture: Path::new(&shown(root, file)),
                },
            )
        }
    };
    for note in &report.notes {
        eprintln!("claims: {note}");
    }
    problems.extend(report.problems);
    Ok(report.line)
}

/// Writes the claims index, `book/src/claims.md`, from the claim tables.
pub fn write_index(root: &Path) -> Result<()> {
    let reg = claims::registry(root)?;
    let path = root.join(claims::INDEX);
    fs::write(&path, claims::render_index(&reg))
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", claims::INDEX);
    Ok(())
}

/// Checks the book against the code, builds it with `mdbook`, and checks that its code fits
/// the page ([`width`]; the browser's part is skipped into `skips` without Chromium); returns
/// the path of its `index.html`.
pub fn build(
    root: &Path,
    mdbook: PathBuf,
    claims: Claims,
    skips: Option<&Path>,
) -> Result<PathBuf> {
    check(root, claims)?;
    let mut cmd = Command::new(mdbook);
    cmd.arg("build").arg(root.join("book"));
    crate::run(cmd)?;
    width::check(root, &root.join("book/build"), skips)?;
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

    /// The claims index must be what the tables give: missing or stale, it is a problem with
    /// the command that fixes it; written, it is not.
    #[test]
    fn a_stale_claims_index_is_a_problem() {
        let root = std::env::temp_dir().join(format!("xtask-index-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("book/src")).unwrap();
        fs::create_dir_all(root.join("crates/a-demo/tests")).unwrap();
        fs::write(root.join("crates/a-demo/Cargo.toml"), "").unwrap();
        fs::write(
            root.join("crates/a-demo/tests/t.rs"),
            "#[test]\nfn it_works() {}\n",
        )
        .unwrap();
        fs::write(root.join("book/src/SUMMARY.md"), "- [A](a.md)\n").unwrap();
        let table = |claim: &str| {
            format!(
                "| Claim | Proved by (`crates/a-demo/tests/`) |\n|---|---|\n| {claim} | `t.rs`: `it_works` |\n"
            )
        };
        fs::write(root.join("book/src/a.md"), table("It works")).unwrap();
        let problems = |root: &Path| {
            let mut p = Vec::new();
            let line = check_claims(root, None, &mut p).unwrap();
            (p, line)
        };
        let (p, line) = problems(&root);
        assert_eq!(
            p,
            vec![
                "book/src/claims.md is out of date with the claim tables: run `cargo xtask claims`"
            ]
        );
        assert!(
            line.starts_with("claims: 1, proved: 1, unproved: 0"),
            "{line}"
        );
        write_index(&root).unwrap();
        assert_eq!(problems(&root).0, Vec::<String>::new());
        fs::write(root.join("book/src/a.md"), table("It works, reworded")).unwrap();
        let (p, _) = problems(&root);
        let _ = fs::remove_dir_all(&root);
        assert_eq!(p.len(), 1, "a changed claim changes the index");
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
