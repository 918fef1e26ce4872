//! Two rules for every file: a `.rs` file opens with a `//!` line saying what it is (the
//! concept, the calls), so a reader who opens any file knows where they are; and no `.rs` or
//! `.md` line ends in spaces or tabs (invisible, and noise in every diff).

/// The problems of one file, `rel` being its path for messages.
pub fn check(rel: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if rel.ends_with(".rs") && !text.starts_with("//!") {
        problems.push(format!(
            "{rel}:1: does not open with a `//!` line saying what the file is"
        ));
    }
    if rel.ends_with(".rs") || rel.ends_with(".md") {
        for (i, line) in text.lines().enumerate() {
            if line.ends_with([' ', '\t']) {
                problems.push(format!("{rel}:{}: trailing whitespace", i + 1));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with its `//!` line and clean lines passes.
    #[test]
    fn a_tidy_file_passes() {
        assert!(check("a.rs", "//! What this is.\n\nfn f() {}\n").is_empty());
        assert!(check("a.md", "# Title\n\nText.\n").is_empty());
    }

    /// A `.rs` file without its opening `//!` line fails (a `///` or a plain comment is not
    /// one); other files need none.
    #[test]
    fn a_rust_file_without_its_module_doc_fails() {
        assert_eq!(
            check("src/x.rs", "use std::io;\n"),
            vec!["src/x.rs:1: does not open with a `//!` line saying what the file is"]
        );
        assert_eq!(check("src/x.rs", "/// An item doc.\nfn f() {}\n").len(), 1);
        assert_eq!(check("src/x.rs", "").len(), 1);
        assert!(check("page.md", "no doc line\n").is_empty());
    }

    /// Trailing spaces and tabs are found on the line they are on, in `.rs` and `.md`.
    #[test]
    fn trailing_whitespace_fails() {
        assert_eq!(
            check("a.rs", "//! Doc.\nfn f() {} \n"),
            vec!["a.rs:2: trailing whitespace"]
        );
        assert_eq!(
            check("b.md", "# T\nline\t\n"),
            vec!["b.md:2: trailing whitespace"]
        );
        assert!(check("c.toml", "x = 1 \n").is_empty(), "only .rs and .md");
    }
}
