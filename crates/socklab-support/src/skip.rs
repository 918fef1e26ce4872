//! Loud skips: a test that cannot run on this machine says so, with the reason, where
//! `cargo xtask test-all` will list it.
//!
//! A test that returns early passes as far as `cargo test` is concerned, so a skip would be
//! silent. [`skip`] prints `SKIPPED name: reason` on standard error and, when the variable
//! `SOCKLAB_SKIPS` names a file (test-all sets it), appends the same line there; test-all's
//! summary prints that file. Call it and `return` from the test.

use std::io::Write;
use std::path::PathBuf;

/// The environment variable naming the file that collects skip lines.
pub const SKIPS_VAR: &str = "SOCKLAB_SKIPS";

/// Reports test `name` as skipped because of `reason` (one line, no newline inside).
pub fn skip(name: &str, reason: &str) {
    record(std::env::var_os(SKIPS_VAR).map(PathBuf::from), name, reason);
}

fn record(file: Option<PathBuf>, name: &str, reason: &str) {
    let line = format!("SKIPPED {name}: {}", reason.replace('\n', " "));
    eprintln!("{line}");
    if let Some(path) = file {
        // O_APPEND writes of one short line are atomic enough for test processes that skip at
        // the same moment; a failure to record is printed but does not fail the test.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
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
}
