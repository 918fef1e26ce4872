//! Loud skips: a test that cannot run on this machine says so, with the reason, where
//! `cargo xtask test-all` will list it.
//!
//! A test that returns early passes as far as `cargo test` is concerned, so a skip would be
//! silent. [`skip`] prints `SKIPPED name: reason` on standard error and, when the variable
//! `SOCKLAB_SKIPS` names a file (test-all sets it), appends the same line there; test-all's
//! summary prints that file. Call it and `return` from the test.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The environment variable naming the file that collects skip lines.
pub const SKIPS_VAR: &str = "SOCKLAB_SKIPS";

/// Reports test `name` as skipped because of `reason` (one line, no newline inside).
pub fn skip(name: &str, reason: &str) {
    record(std::env::var_os(SKIPS_VAR).map(PathBuf::from), name, reason);
}

/// Reports `name` as skipped into `file` itself, for a tool that knows the file but does not
/// have the variable in its own environment (test-all, skipping one of its own steps).
pub fn skip_into(file: &Path, name: &str, reason: &str) {
    record(Some(file.to_path_buf()), name, reason);
}

/// One skip read back from a skips file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The test (or step) that was skipped.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The skips recorded in `file`, in the order they were recorded, each once (a test binary
/// run twice records its skip twice); none if the file does not exist. Lines that are not
/// skip lines are ignored.
pub fn read(file: &Path) -> io::Result<Vec<Skipped>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out: Vec<Skipped> = Vec::new();
    for line in text.lines() {
        let Some((name, reason)) = line
            .strip_prefix("SKIPPED ")
            .and_then(|rest| rest.split_once(": "))
        else {
            continue;
        };
        let skipped = Skipped {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if !out.contains(&skipped) {
            out.push(skipped);
        }
    }
    Ok(out)
}

fn record(file: Option<PathBuf>, name: &str, reason: &str) {
    let line = format!("SKIPPED {name}: {}", reason.replace('\n', " "));
    eprintln!("{line}");
    if let Some(path) = file {
        // One write(2) per line, with O_APPEND: lines from tests that skip at the same moment
        // do not interleave (`writeln!` would make two writes, and did run lines together).
        // A failure to record is printed but does not fail the test.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = written {
            eprintln!(
                "(could not record the skip in {}: {e})",
                path.to_string_lossy()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the variable set, the line lands in the file.
    #[test]
    fn skips_are_recorded_in_the_named_file() {
        let path = std::env::temp_dir().join(format!("socklab-skips-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        record(Some(path.clone()), "a_test", "no such thing\nhere");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "SKIPPED a_test: no such thing here\n");
        let _ = std::fs::remove_file(&path);
    }

    /// What is recorded reads back as names and reasons, in order, each once; a missing file
    /// is no skips, and stray lines are ignored.
    #[test]
    fn skips_read_back_in_order_and_once() {
        let path = std::env::temp_dir().join(format!("socklab-skips-read-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        assert_eq!(read(&path).unwrap(), vec![]);
        skip_into(&path, "b_test", "no IPv6: here");
        skip_into(&path, "a_test", "not Linux");
        skip_into(&path, "b_test", "no IPv6: here");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "some other line"))
            .unwrap();
        let got = read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let want = |name: &str, reason: &str| Skipped {
            name: name.into(),
            reason: reason.into(),
        };
        assert_eq!(
            got,
            vec![want("b_test", "no IPv6: here"), want("a_test", "not Linux")]
        );
    }
}
