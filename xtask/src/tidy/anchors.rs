//! Every `// ANCHOR: name` in the code is shown by some page of the book with
//! `{{#include path:name}}`. An anchor nobody includes is a claim that the book shows this
//! code when it does not: either the book lost a listing, or the markers are left over and
//! should go. (The opposite direction, an include whose anchor is missing, is
//! `cargo xtask check-book`'s.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::book::includes;

/// The anchors in `code` that no page in `pages` includes. Both are `(path relative to the
/// workspace root, text)`; includes are resolved against their page's folder.
pub fn check(pages: &[(&str, &str)], code: &[(&str, &str)]) -> Vec<String> {
    let mut used: BTreeSet<(PathBuf, &str)> = BTreeSet::new();
    for (page, text) in pages {
        for include in includes::parse(text) {
            if let Some(anchor) = include.anchor {
                used.insert((include.file(Path::new(page)), anchor));
            }
        }
    }
    let mut problems = Vec::new();
    for (file, text) in code {
        for (i, line) in text.lines().enumerate() {
            // Only a marker comment on a line of its own counts; the tests of the book
            // checks mention markers inside strings.
            if !line.trim_start().starts_with("// ANCHOR:") {
                continue;
            }
            let Some(name) = includes::anchor_name(line, "ANCHOR:") else {
                continue;
            };
            if !used.contains(&(PathBuf::from(file), name)) {
                problems.push(format!(
                    "{file}:{}: anchor `{name}` is not included by any page of the book: \
                     include it in a chapter, or delete its `// ANCHOR: {name}` and \
                     `// ANCHOR_END: {name}` lines",
                    i + 1
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "//! Code.\n// ANCHOR: shown\nfn a() {}\n// ANCHOR_END: shown\n    // ANCHOR: hidden\nfn b() {}\n    // ANCHOR_END: hidden\nfn c() { let _ = \"// ANCHOR: in_a_string\"; }\n";

    /// An anchor that a page includes passes; one that none includes fails, with its line
    /// and what to do. A marker inside a string is not a marker.
    #[test]
    fn an_unused_anchor_fails() {
        let pages = [(
            "book/src/ch01.md",
            "# One\n\n```rust\n{{#include ../../crates/x/src/a.rs:shown}}\n```\n",
        )];
        let problems = check(&pages, &[("crates/x/src/a.rs", CODE)]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "crates/x/src/a.rs:5: anchor `hidden` is not included by any page of the book"
            ),
            "{problems:?}"
        );
        assert!(
            problems[0].contains("or delete its `// ANCHOR: hidden` and"),
            "{problems:?}"
        );
    }

    /// The include must point at the anchor's own file: the same name elsewhere does not
    /// count.
    #[test]
    fn an_include_of_another_file_does_not_count() {
        let pages = [(
            "book/src/ch01.md",
            "{{#include ../../crates/x/src/other.rs:shown}}\n{{#include ../../crates/x/src/a.rs:hidden}}\n",
        )];
        let problems = check(&pages, &[("crates/x/src/a.rs", CODE)]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("anchor `shown`"), "{problems:?}");
    }
}
