//! No hand-typed measurements: a number with a unit of measure (`26 µs`, `3.7 MiB`, `1.06x`,
//! `77%`, `19.93 Gbit/s`), or a decimal number without one (a ratio such as "0.61 of tokio's";
//! not a version such as "Linux 6.18"), in the prose of the book or the README is either a
//! figure some run measured, and then it must come from that run, or a value the code sets (a
//! timeout, a size, a limit, a goal), and then it is written in backticks.
//!
//! A measured figure comes from a generated include: `cargo xtask bench` writes one anchor per
//! figure into `book/src/benchmarks/generated/figures.md`, used as
//! `{{#include benchmarks/generated/figures.md:NAME}}`; a program's output comes from a console
//! transcript, which `cargo xtask transcripts` runs. So the same figure is stated once, and a
//! new run changes it everywhere. The README, which GitHub shows without includes, carries
//! only the block `cargo xtask bench` writes between `<!-- generated:bench:start -->` and
//! `<!-- generated:bench:end -->`.
//!
//! Not read: code blocks (transcripts included), inline code, HTML comments, include
//! directives, link targets, the README's generated block, and the generated pages
//! themselves (`book/src/benchmarks/`, `book/src/claims.md`).

/// The marker lines around the README's generated block.
pub const GENERATED_START: &str = "<!-- generated:bench:start -->";
pub const GENERATED_END: &str = "<!-- generated:bench:end -->";

/// Units of measure, longest first so that `ms` is not read as `m`.
const UNITS: &[&str] = &[
    "requests/s",
    "seconds",
    "minutes",
    "Gbit/s",
    "Mbit/s",
    "kbit/s",
    "second",
    "minute",
    "GiB/s",
    "MiB/s",
    "KiB/s",
    "bytes",
    "hours",
    "req/s",
    "GB/s",
    "MB/s",
    "KB/s",
    "kB/s",
    "Gb/s",
    "Mb/s",
    "secs",
    "byte",
    "hour",
    "sec",
    "min",
    "KiB",
    "MiB",
    "GiB",
    "TiB",
    "ns",
    "µs",
    "μs",
    "us",
    "ms",
    "KB",
    "kB",
    "MB",
    "GB",
    "TB",
    "s",
    "h",
    "B",
    "%",
    "x",
    "×",
];

/// Words after which a decimal number is a version or a section, not a figure.
const VERSION_WORDS: &[&str] = &[
    "Linux",
    "Rust",
    "rustc",
    "kernel",
    "version",
    "versions",
    "Ubuntu",
    "Debian",
    "macOS",
    "FreeBSD",
    "mdBook",
    "section",
    "sections",
    "exercise",
    "exercises",
    "§",
];

/// Whether `rel` (relative to the workspace) is a page this check reads.
pub fn applies_to(rel: &str) -> bool {
    rel == "README.md"
        || (rel.starts_with("book/src/")
            && rel.ends_with(".md")
            // The results pages are written by `cargo xtask bench` from its stored figures
            // (and checked against them); the hand-written method page is checked like any.
            && (!rel.starts_with("book/src/benchmarks/") || rel == "book/src/benchmarks/method.md")
            && rel != super::claims::INDEX)
}

/// The hand-typed figures of one page, one problem line each.
pub fn check(rel: &str, text: &str) -> Vec<String> {
    let fix = if rel == "README.md" {
        "the README may only copy figures in the block `cargo xtask bench` generates, or link \
         to the results page"
    } else {
        "if a run measured it, include it from the run \
         ({{#include benchmarks/generated/figures.md:NAME}}, or a console transcript)"
    };
    let mut problems = Vec::new();
    let mut in_fence = false;
    let mut in_comment = false;
    let mut in_generated = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if trimmed.starts_with(GENERATED_START) {
            in_generated = true;
        }
        if trimmed.starts_with(GENERATED_END) {
            in_generated = false;
            continue;
        }
        if in_fence || in_generated {
            continue;
        }
        let prose = prose(line, &mut in_comment);
        for hit in figures(&prose) {
            problems.push(format!(
                "{rel}:{}: hand-typed figure \"{hit}\": {fix}; if the code sets it (a parameter, \
                 limit or threshold), write it in backticks: `{hit}`",
                i + 1
            ));
        }
    }
    problems
}

/// The line's prose: without inline code, HTML comments (which may span lines:
/// `in_comment` carries that), include directives and link targets.
fn prose(line: &str, in_comment: &mut bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(end) => {
                    rest = &rest[end + 3..];
                    *in_comment = false;
                }
                None => return out,
            }
        }
        // The earliest of the things to drop.
        let next = [
            rest.find("<!--"),
            rest.find('`'),
            rest.find("{{#"),
            rest.find("]("),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(at) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push(' ');
        let tail = &rest[at..];
        rest = if let Some(comment) = tail.strip_prefix("<!--") {
            *in_comment = true;
            comment
        } else if tail.starts_with('`') {
            // A code span ends at the same number of backticks.
            let ticks = tail.len() - tail.trim_start_matches('`').len();
            let body = &tail[ticks..];
            match body.find(&tail[..ticks]) {
                Some(end) => &body[end + ticks..],
                None => "",
            }
        } else if tail.starts_with("{{#") {
            tail.find("}}").map_or("", |end| &tail[end + 2..])
        } else {
            tail.find(')').map_or("", |end| &tail[end + 1..])
        };
    }
}

/// Every number followed by a unit of measure in `text`, as written.
fn figures(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            && (i == 0 || {
                let p = chars[i - 1];
                !(p.is_alphanumeric() || p == '.' || p == ',' || p == '_')
            });
        if !starts_number {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_ascii_digit()
                || ((chars[i] == ',' || chars[i] == '.')
                    && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit())))
        {
            i += 1;
        }
        let number_end = i;
        if let Some(end) = unit_after(&chars, number_end) {
            out.push(chars[start..end].iter().collect());
            i = end;
            continue;
        }
        // A decimal without a unit is a ratio or a reading, unless it is a version (`6.18.44`,
        // `Linux 6.18`) or a section (`§3.5`).
        let number: String = chars[start..number_end].iter().collect();
        let dots = number.matches('.').count();
        if dots == 1 && !VERSION_WORDS.contains(&word_before(&chars, start).as_str()) {
            out.push(number);
        }
    }
    out
}

/// The word just before position `at`, past spaces and an opening parenthesis.
fn word_before(chars: &[char], at: usize) -> String {
    let mut end = at;
    while end > 0 && matches!(chars[end - 1], ' ' | '(' | '\u{a0}') {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && (chars[start - 1].is_alphanumeric() || chars[start - 1] == '§') {
        start -= 1;
    }
    chars[start..end].iter().collect()
}

/// Where a unit of measure right after a number at `at` ends, if there is one.
fn unit_after(chars: &[char], at: usize) -> Option<usize> {
    let sep = match chars.get(at) {
        Some(' ' | '\u{a0}' | '\u{202f}' | '\u{2009}') => Some(' '),
        Some('-') => Some('-'),
        _ => None,
    };
    for unit in UNITS {
        let symbol = matches!(*unit, "%" | "x" | "×");
        let start = match sep {
            None => at,
            // "1.06 x" is arithmetic, not a ratio; "5-s" is nothing.
            Some(' ') if *unit != "x" && *unit != "×" => at + 1,
            Some('-') if !symbol && unit.chars().count() >= 2 => at + 1,
            _ => continue,
        };
        let u: Vec<char> = unit.chars().collect();
        let end = start + u.len();
        if chars.get(start..end) != Some(&u[..]) {
            continue;
        }
        let boundary = chars
            .get(end)
            .is_none_or(|c| !(c.is_alphanumeric() || *c == '_'));
        if boundary {
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Measured-looking figures in prose are flagged with their line and what to do.
    #[test]
    fn figures_in_prose_are_flagged() {
        let page = "# T\n\nA read took 26 µs and moved 3.7 MiB; 1.06x sockperf's, 77% of it.\nA 2-second run at 19.93 Gbit/s, 1,024 bytes, 100ms; 0.61 of tokio's.\n";
        let got = check("book/src/ch09.md", page);
        let hits: Vec<&str> = got
            .iter()
            .map(|p| p.split('"').nth(1).unwrap_or_default())
            .collect();
        assert_eq!(
            hits,
            vec![
                "26 µs",
                "3.7 MiB",
                "1.06x",
                "77%",
                "2-second",
                "19.93 Gbit/s",
                "1,024 bytes",
                "100ms",
                "0.61"
            ]
        );
        assert!(got[0].starts_with("book/src/ch09.md:3: hand-typed figure \"26 µs\""));
        assert!(got[0].contains("{{#include benchmarks/generated/figures.md:NAME}}"));
        assert!(got[0].ends_with("write it in backticks: `26 µs`"));
    }

    /// Parameters in backticks, code blocks, transcripts, comments, includes, link targets
    /// and the README's generated block are not prose; nor are numbers without a unit.
    #[test]
    fn code_includes_and_generated_blocks_are_not_read() {
        let page = "\
A `300 ms` timeout and ``16 MiB`` sent, {{#include benchmarks/generated/figures.md:x}}.
[chapter 7](ch07.md#a-5-s-wait) has 10,000 connections on IPv6 and x86_64, Linux 6.18, RFC 9293 §3.5.
Rust 1.88 or mdBook 0.5.4 (kernel 6.18.44), RFC 2525 section 2.17, exercise 11.1, Ubuntu 23.10.
<!-- measured 5 ms
and 6 ms -->
```console
$ ping
rtt 20 ms
```
<!-- generated:bench:start -->
| Goal | **met**: 101% |
<!-- generated:bench:end -->
Chapter 7's tables, 2 to 3 x faster.
";
        assert_eq!(check("README.md", page), Vec::<String>::new());
    }

    /// The README gets its own advice; generated pages are not read at all.
    #[test]
    fn readme_and_generated_pages() {
        let got = check("README.md", "took 10 min 53 s\n");
        assert_eq!(got.len(), 2);
        assert!(got[0].contains("the README may only copy figures in the block"));
        assert!(applies_to("README.md"));
        assert!(applies_to("book/src/ch01-tcp.md"));
        assert!(!applies_to("book/src/benchmarks/results.md"));
        assert!(!applies_to("book/src/benchmarks/generated/figures.md"));
        assert!(!applies_to("book/src/claims.md"));
        assert!(!applies_to("crates/x/README.md"));
    }
}
