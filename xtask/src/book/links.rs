//! Relative links `[text](page.md)` and `[text](page.md#section)` must point at files that
//! exist, and a `#section` at a heading of that page. Links to the web are left alone.

use std::fs;
use std::path::Path;

use super::{resolve, shown};

/// Reports the broken relative links of `page`.
pub fn check(root: &Path, page: &Path, text: &str, problems: &mut Vec<String>) {
    let dir = page.parent().expect("a page lives in a folder");
    for (line_no, line) in text.lines().enumerate() {
        for target in targets(line) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = if path.is_empty() {
                page.to_path_buf()
            } else {
                resolve(dir, path)
            };
            let at = format!("{}:{}", shown(root, page), line_no + 1);
            if !file.exists() {
                problems.push(format!("{at}: link to {target} points at nothing"));
            } else if !fragment.is_empty()
                && file.extension().is_some_and(|e| e == "md")
                && !heading_ids(&fs::read_to_string(&file).unwrap_or_default())
                    .iter()
                    .any(|id| id == fragment)
            {
                problems.push(format!("{at}: link to {target}: no heading has that id"));
            }
        }
    }
}

/// The ids a link may point at on a page. mdBook gives each heading one: the heading's text,
/// lower-cased, spaces turned into `-`, and everything but letters, digits, `-` and `_`
/// dropped; repeats get `-1`, `-2`... An HTML element's `id="..."` is one too (the claims
/// index anchors each claim with `<a id="crate.test"></a>`).
fn heading_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut bases: Vec<String> = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find(" id=\"") {
            let after = &rest[i + 5..];
            let Some(end) = after.find('"') else { break };
            ids.push(after[..end].to_string());
            rest = &after[end..];
        }
        if !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let id: String = title
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let repeats = bases.iter().filter(|seen| **seen == id).count();
        ids.push(if repeats == 0 {
            id.clone()
        } else {
            format!("{id}-{repeats}")
        });
        bases.push(id);
    }
    ids
}

/// The targets of the `[text](target)` links on one line.
pub fn targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        out.push(after[..end].split_whitespace().next().unwrap_or_default());
        rest = &after[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Link targets are found, several per line, with titles dropped.
    #[test]
    fn links_are_found() {
        let line = r#"See [a](a.md) and [b](b.md#x "title") and [web](https://x.org)."#;
        assert_eq!(targets(line), vec!["a.md", "b.md#x", "https://x.org"]);
    }

    /// Heading ids follow mdBook's rule, skipping code blocks.
    #[test]
    fn heading_ids_match_mdbook() {
        let page = "# 1. Blocking TCP\n## `write` may be short\n```\n# not a heading <a id=\"no\">\n```\n## Ports in use, and SO_REUSEADDR\n| <a id=\"tcp-demo.x\"></a>`x` |\n";
        assert_eq!(
            heading_ids(page),
            vec![
                "1-blocking-tcp",
                "write-may-be-short",
                "ports-in-use-and-so_reuseaddr",
                "tcp-demo.x"
            ]
        );
    }
}
