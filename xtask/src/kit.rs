//! `cargo xtask student-kit DIR`: the course with the exercises' solutions taken out.
//!
//! Every region between `// SOLUTION BEGIN: <hint>` (a long hint goes on over the `//` lines
//! right after it) and `// SOLUTION END` in `crates/exercises/src/` becomes
//! `todo!("<hint>")`; the grading tests stay; the book's
//! solutions page keeps only its headings. The kit check (a `test-all` step) builds a kit and runs its
//! grading tests: they must fail, all of them, each with "not yet implemented", and nothing
//! else may fail.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Writes the kit for the workspace at `root` into `dest` (which must not exist yet, or be
/// empty), copying the course's files as they are in the work tree (see
/// [`crate::files::course_files`]).
pub fn write(root: &Path, dest: &Path) -> Result<usize> {
    if dest.exists() && fs::read_dir(dest)?.next().is_some() {
        bail!("{} exists and is not empty", dest.display());
    }
    let files = crate::files::course_files(root)?;
    let mut stubbed = 0;
    for rel in files.iter().map(String::as_str) {
        if rel == "book/src/solutions.md" {
            // The kit has no solutions: the page keeps its headings (the chapters link to
            // them) and says where the answers went.
            let text = fs::read_to_string(root.join(rel))?;
            let mut page = String::from(
                "# Solutions\n\nThis is a student kit: the solutions are yours to write.\n\n",
            );
            for heading in text.lines().filter(|l| l.starts_with("## Chapter")) {
                page += &format!("{heading}\n\nSee the exercises at the end of the chapter.\n\n");
            }
            fs::create_dir_all(dest.join("book/src"))?;
            fs::write(dest.join(rel), page)?;
            continue;
        }
        let from = root.join(rel);
        if !from.is_file() {
            continue; // Listed but deleted in the work tree.
        }
        let to = dest.join(rel);
        fs::create_dir_all(to.parent().expect("a file has a folder"))?;
        let is_exercise = rel.starts_with("crates/exercises/src/") && rel.ends_with(".rs");
        if rel == "book/src/SUMMARY.md" {
            let text = fs::read_to_string(&from)?;
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains("(solutions.md)"))
                .collect();
            fs::write(&to, kept.join("\n") + "\n")?;
        } else if is_exercise {
            let (text, n) = stub(&fs::read_to_string(&from)?);
            stubbed += n;
            fs::write(&to, text)?;
        } else {
            fs::copy(&from, &to)?;
        }
    }
    Ok(stubbed)
}

// ANCHOR: stub
/// Replaces each solution region with `todo!("<hint>")`; returns the text and how many
/// regions it replaced. The crate root also gets
/// `#![allow(unused, clippy::todo, clippy::ptr_arg)]`: the stubs leave parameters and imports
/// unused (and signatures without the bodies that justify them), and are `todo!()`s, until
/// they are solved.
pub fn stub(text: &str) -> (String, usize) {
    let mut out = Vec::new();
    let mut skipping = false;
    let mut count = 0;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("// SOLUTION BEGIN:") {
            let indent = &line[..line.len() - trimmed.len()];
            let mut hint = rest.trim().to_string();
            while let Some(more) = lines.peek().and_then(|l| hint_continues(l)) {
                hint = format!("{hint} {more}");
                lines.next();
            }
            let hint = hint.replace('\\', "\\\\").replace('"', "\\\"");
            // Laid out as rustfmt would (100 columns), so the kit passes `cargo fmt --check`.
            let one_line = format!("{indent}todo!(\"{hint}\")");
            if one_line.chars().count() <= 100 {
                out.push(one_line);
            } else {
                out.push(format!("{indent}todo!("));
                out.push(format!("{indent}    \"{hint}\""));
                out.push(format!("{indent})"));
            }
            skipping = true;
            count += 1;
        } else if trimmed.starts_with("// SOLUTION END") {
            skipping = false;
        } else if !skipping {
            out.push(line.to_string());
        }
    }
    let mut text = out.join("\n") + "\n";
    if text.contains("\npub mod ch1;") {
        text = text.replacen(
            "\npub mod ch1;",
            "\n#![allow(unused, clippy::todo, clippy::ptr_arg)] \
             // Until the exercises are solved: no bodies yet.\n\npub mod ch1;",
            1,
        );
    }
    (text, count)
}
// ANCHOR_END: stub

/// The rest of the hint on `line`, if it goes on a hint: a long hint continues on the plain
/// `//` comment lines right after its `// SOLUTION BEGIN:` line, so the solutions page shows
/// it without scrolling. (A solution that opens with a comment of its own starts it after a
/// line of code, or makes it a `///` doc comment.)
pub fn hint_continues(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix("//")?;
    let more = rest.trim();
    (!rest.starts_with(['/', '!']) && !more.is_empty() && !more.starts_with("SOLUTION "))
        .then_some(more)
}

/// Builds a kit under `root/target/student-kit` (compiled in `target/kit-target`) and runs its
/// grading tests and every lab's checks: every exercise's test must fail with "not yet
/// implemented", every lab check must fail, and nothing else may fail or fail to build.
pub fn check(root: &Path, cargo: fn() -> Command) -> Result<()> {
    let dest = root.join("target/student-kit");
    if dest.exists() {
        fs::remove_dir_all(&dest)?;
    }
    let stubbed = write(root, &dest)?;
    let tests_dir = dest.join("crates/exercises/tests");
    // What is graded: each exercise's test in grading.rs (`fn ch..`), and each lab's checks in
    // its own file (`tests/labN.rs`, `fn labN_..`).
    let test_fns = |file: &str, prefix: &str| -> Result<BTreeSet<String>> {
        Ok(fs::read_to_string(tests_dir.join(file))?
            .lines()
            .filter_map(|l| {
                let name = l.trim().strip_prefix("fn ")?.split('(').next()?;
                name.starts_with(prefix).then(|| name.to_string())
            })
            .collect())
    };
    let exercises = test_fns("grading.rs", "ch")?;
    let mut labs = BTreeSet::new();
    let mut targets = vec!["--test".to_string(), "grading".to_string()];
    for entry in fs::read_dir(&tests_dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(lab) = name
            .strip_suffix(".rs")
            .filter(|n| n.starts_with("lab") && n[3..].parse::<u32>().is_ok())
        {
            labs.extend(test_fns(&name, &format!("{lab}_"))?);
            targets.extend(["--test".to_string(), lab.to_string()]);
        }
    }
    let mut cmd = cargo();
    // The kit needs a target folder of its own. Cargo names a workspace member's artifacts by
    // its path *relative to the workspace*, which the kit shares with the course: in a shared
    // folder the kit's stubbed crates would overwrite the course's own builds.
    cmd.current_dir(&dest)
        .env("CARGO_TARGET_DIR", root.join("target/kit-target"))
        .args(["test", "-p", "exercises"])
        .args(&targets)
        .arg("--no-fail-fast");
    let out = cmd.output().context("running the kit's grading tests")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("error[") || text.contains("error: could not compile") {
        bail!("the student kit does not build:\n{text}");
    }
    let failed: BTreeSet<String> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("test ")
                .and_then(|r| r.strip_suffix(" ... FAILED"))
                .map(str::to_string)
        })
        .collect();
    let passed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("test ") && l.ends_with(" ... ok"))
        .collect();
    let todo_panics = text.matches("not yet implemented").count();
    // Tests for other systems' behaviour may be compiled out (cfg); compare with what ran.
    let ran = |graded: &BTreeSet<String>| -> BTreeSet<String> {
        graded
            .iter()
            .filter(|g| text.contains(&format!("test {g} ...")))
            .cloned()
            .collect()
    };
    let (ran_exercises, ran_labs) = (ran(&exercises), ran(&labs));
    let expected: BTreeSet<String> = ran_exercises.union(&ran_labs).cloned().collect();
    // Every exercise's test fails on its own todo!(); a lab's checks fail on the stubbed
    // server or library, whose todo!() may panic in another process (the lab's binary).
    if !passed.is_empty()
        || failed != expected
        || todo_panics < ran_exercises.len()
        || ran_exercises.is_empty()
        || ran_labs.len() < labs.len().min(1)
    {
        bail!(
            "in the kit, expected exactly the {} graded exercises and the {} lab checks to fail \
             on the stubs; passed: {passed:?}, failed: {failed:?}, todo!() panics: {todo_panics}\n{text}",
            ran_exercises.len(),
            ran_labs.len()
        );
    }
    eprintln!(
        "xtask: student kit: {stubbed} solutions stubbed; all {} exercise tests and {} lab checks \
         fail on the stubs",
        ran_exercises.len(),
        ran_labs.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A solution region becomes todo!() with its hint, indentation kept, other lines kept.
    #[test]
    fn stubbing_keeps_everything_but_the_solution() {
        let src = "pub fn f() -> u8 {\n    // SOLUTION BEGIN: add \"one\"\n    1 + 1\n    // SOLUTION END\n}\n";
        let (out, n) = stub(src);
        assert_eq!(n, 1);
        assert_eq!(
            out,
            "pub fn f() -> u8 {\n    todo!(\"add \\\"one\\\"\")\n}\n"
        );
    }

    /// A hint wrapped over comment lines is one hint; a doc comment or code ends it.
    #[test]
    fn a_wrapped_hint_is_one_hint() {
        let src = "fn f() -> u8 {\n    // SOLUTION BEGIN: add one\n    // to one\n    /// Doc.\n    1 + 1\n    // SOLUTION END\n}\n";
        assert_eq!(
            stub(src).0,
            "fn f() -> u8 {\n    todo!(\"add one to one\")\n}\n"
        );
        assert_eq!(hint_continues("    // more"), Some("more"));
        for not in ["/// doc", "//! tour", "//", "// SOLUTION END", "x // y"] {
            assert_eq!(hint_continues(not), None, "{not}");
        }
    }
}
