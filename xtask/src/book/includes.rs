//! `{{#include path}}`, `{{#include path:anchor}}` and `{{#include path:10:20}}` (also
//! `rustdoc_include`): the file must exist, and a named anchor must be opened and closed in it
//! with `// ANCHOR: name` and `// ANCHOR_END: name`.
//!
//! The parsing is shared with the tidy check that every anchor in the code is used.

use std::fs;
use std::path::{Path, PathBuf};

use super::{resolve, shown};

/// One include directive in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include<'a> {
    /// The page's line it is on, counting from 1.
    pub line: usize,
    /// The path as written, relative to the page's folder.
    pub path: &'a str,
    /// The named anchor, if any (a line range such as `10:20` is not one).
    pub anchor: Option<&'a str>,
}

impl Include<'_> {
    /// The included file, resolved against the folder of the page it is in.
    pub fn file(&self, page: &Path) -> PathBuf {
        resolve(page.parent().expect("a page lives in a folder"), self.path)
    }
}

/// Every include directive in `text`, in order.
pub fn parse(text: &str) -> Vec<Include<'_>> {
    let mut out = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let escaped = rest[..start].ends_with('\\');
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let directive = after[..end].trim();
            rest = &after[end + 2..];
            if escaped {
                continue; // `\{{#include x}}` is mdBook's way to show a directive as text.
            }
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
            // A line range, not a named anchor.
            let anchor = anchor.filter(|a| !a.chars().next().is_some_and(|c| c.is_ascii_digit()));
            out.push(Include {
                line: line_no + 1,
                path,
                anchor,
            });
        }
    }
    out
}

/// Reports includes in `page` whose file is missing or whose anchor is not opened and closed.
pub fn check(root: &Path, page: &Path, text: &str, problems: &mut Vec<String>) {
    for include in parse(text) {
        let at = format!("{}:{}", shown(root, page), include.line);
        let path = include.path;
        let Ok(body) = fs::read_to_string(include.file(page)) else {
            problems.push(format!("{at}: included file {path} does not exist"));
            continue;
        };
        let Some(anchor) = include.anchor else {
            continue;
        };
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

/// The anchor named on a line such as `// ANCHOR: name`, if the line has `marker`
/// (`"ANCHOR:"` or `"ANCHOR_END:"`).
pub fn anchor_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let i = line.find(marker)?;
    // `ANCHOR:` is also the tail of `ANCHOR_END:`; make sure we matched the marker we meant.
    if marker == "ANCHOR:" && line[..i].ends_with('_') {
        return None;
    }
    line[i + marker.len()..].split_whitespace().next()
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

    /// Includes are found with their anchors; line ranges and other directives are not
    /// anchors; an escaped directive is text.
    #[test]
    fn includes_are_parsed() {
        let page = "text\n{{#include ../a.rs:walk}} and {{#include b.rs}}\n{{#include c.rs:10:20}}\n{{#title x}} `\\{{#include shown.rs}}`\n";
        assert_eq!(
            parse(page),
            vec![
                Include {
                    line: 2,
                    path: "../a.rs",
                    anchor: Some("walk")
                },
                Include {
                    line: 2,
                    path: "b.rs",
                    anchor: None
                },
                Include {
                    line: 3,
                    path: "c.rs",
                    anchor: None
                },
            ]
        );
    }
}
