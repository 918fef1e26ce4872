//! Every test a chapter's summary table names as proof exists. The table's header says where
//! the tests live ("Proved by (`crates/NAME/tests/`)"), and each row names them as
//! "`file.rs`: `test_a`, `test_b`".

use std::fs;
use std::path::{Path, PathBuf};

use super::shown;

/// Reports the proofs named in `page`'s tables that no test file defines.
pub fn check(root: &Path, page: &Path, text: &str, problems: &mut Vec<String>) {
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
