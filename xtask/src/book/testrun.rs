//! What one `cargo test` run did, read back from its captured output: which test binary each
//! `test NAME ... ok` line came from, and how each test ended.
//!
//! `cargo test` prints `Running tests/cli.rs (target/debug/deps/cli-1a2b3c)` before each test
//! binary, with the path relative to *its package*: several crates have a `tests/cli.rs`. The
//! binary's dep-info file (`cli-1a2b3c.d`, which cargo always writes beside it) lists the
//! absolute paths of its sources, and so names the crate. Without it, the section keeps the
//! package-relative path and matches any crate's file of that name.

use std::fs;
use std::path::Path;

/// How one test ended, as libtest printed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// `test x ... ignored`: it never ran.
    Ignored,
    /// `test x ... ok`.
    Ok,
    /// `test x ... FAILED`.
    Failed,
}

/// The tests of one test binary.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// The binary's root source, relative to the workspace (`crates/udp-demo/tests/cli.rs`),
    /// or as cargo printed it (`tests/cli.rs`) when its dep-info could not be read.
    pub source: String,
    /// Whether `source` was resolved to a path in the workspace.
    pub resolved: bool,
    /// Each test's path inside the binary (`name`, `module::tests::name`) and its outcome.
    pub results: Vec<(String, Outcome)>,
}

/// Every test binary's section of one run.
#[derive(Debug, Default)]
pub struct TestRun {
    pub sections: Vec<Section>,
}

impl TestRun {
    /// Reads the output captured in `text`; `root` is the workspace, against which cargo's
    /// relative paths are resolved.
    pub fn parse(text: &str, root: &Path) -> TestRun {
        let mut run = TestRun::default();
        let mut pending: Option<String> = None;
        for raw in text.lines() {
            let line = strip_ansi(raw);
            let trimmed = line.trim();
            if let Some(rest) = trimmed.strip_prefix("Running ") {
                pending = None;
                run.sections.push(section(rest, root));
                continue;
            }
            if let Some(krate) = trimmed.strip_prefix("Doc-tests ") {
                // Doc tests are named by file and line, never by a claim: set them apart.
                pending = None;
                run.sections.push(Section {
                    source: format!("doc-tests {krate}"),
                    ..Section::default()
                });
                continue;
            }
            let Some(current) = run.sections.last_mut() else {
                continue;
            };
            if let Some(rest) = line.strip_prefix("test ")
                && let Some((name, after)) = rest.split_once(" ... ")
            {
                match outcome(after) {
                    Some(o) => current.results.push((name.trim().to_string(), o)),
                    // A child process wrote between "test x ... " and its outcome (libtest
                    // flushes the first half when it runs one test at a time).
                    None => pending = Some(name.trim().to_string()),
                }
            } else if let Some(name) = pending.take() {
                match outcome(trimmed) {
                    Some(o) => current.results.push((name, o)),
                    None => pending = Some(name),
                }
            }
        }
        run
    }

    /// How test `name` ended in the binary built from `file` (relative to the workspace, in
    /// crate `krate`): the worst outcome among the binaries that may hold it, or `None` if it
    /// did not run. A test in a binary's root file is looked for in that binary only; one in a
    /// module (`src/x.rs`, `tests/common/mod.rs`) in every binary of its crate.
    pub fn outcome(&self, krate: &str, file: &str, name: &str) -> Option<Outcome> {
        let exact: Vec<&Section> = self.sections.iter().filter(|s| s.source == file).collect();
        let in_crate = format!("crates/{krate}/");
        // Without dep-info, a section knows only its package-relative root (`src/lib.rs`): a
        // module is looked for in every such section under the same folder.
        let within = file.strip_prefix(&in_crate).unwrap_or(file);
        let same_folder = |source: &str| {
            source.split('/').next().is_some_and(|top| {
                within.starts_with(&format!("{top}/")) && !is_binary_root(within)
            })
        };
        let candidates: Vec<&Section> = if exact.is_empty() {
            self.sections
                .iter()
                .filter(|s| {
                    (s.resolved && s.source.starts_with(&in_crate))
                        || (!s.resolved
                            && !s.source.is_empty()
                            && (file.ends_with(&s.source) || same_folder(&s.source)))
                })
                .collect()
        } else {
            exact
        };
        let suffix = format!("::{name}");
        candidates
            .iter()
            .flat_map(|s| &s.results)
            .filter(|(path, _)| path == name || path.ends_with(&suffix))
            .map(|(_, o)| *o)
            .max()
    }
}

/// Whether a crate-relative path is the root of a test binary: `src/lib.rs`, `src/main.rs`,
/// `tests/x.rs`.
fn is_binary_root(within: &str) -> bool {
    within == "src/lib.rs"
        || within == "src/main.rs"
        || within
            .strip_prefix("tests/")
            .is_some_and(|rest| !rest.contains('/'))
}

/// `ok`, `FAILED` or `ignored` (libtest may add `, reason` or a time after it).
fn outcome(text: &str) -> Option<Outcome> {
    match text.trim().split([' ', ',']).next()? {
        "ok" => Some(Outcome::Ok),
        "FAILED" => Some(Outcome::Failed),
        "ignored" => Some(Outcome::Ignored),
        _ => None,
    }
}

/// The section a `Running SOURCE (BINARY)` line opens.
fn section(rest: &str, root: &Path) -> Section {
    let rest = rest.strip_prefix("unittests ").unwrap_or(rest);
    let (source, binary) = match rest.rsplit_once(" (") {
        Some((s, b)) => (s.trim(), b.trim_end_matches(')').trim()),
        None => (rest.trim(), ""),
    };
    match resolve(source, binary, root) {
        Some(full) => Section {
            source: full,
            resolved: true,
            results: Vec::new(),
        },
        None => Section {
            source: source.to_string(),
            resolved: false,
            results: Vec::new(),
        },
    }
}

/// The workspace-relative path of `source` (package-relative, as cargo printed it), read from
/// the dep-info file cargo writes beside `binary`.
fn resolve(source: &str, binary: &str, root: &Path) -> Option<String> {
    if binary.is_empty() {
        return None;
    }
    let binary = root.join(binary); // An absolute path stays as it is.
    let binary = binary.to_string_lossy();
    let stem = binary.strip_suffix(".exe").unwrap_or(&binary);
    let info = fs::read_to_string(format!("{stem}.d")).ok()?;
    // Cargo gives a workspace member's sources relative to the workspace root; others (and
    // older cargos) absolute.
    let wanted = format!("/{source}");
    let dep = info
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(_, deps)| deps))
        .flat_map(str::split_whitespace)
        .find(|d| *d == source || d.ends_with(&wanted))?;
    let path = Path::new(dep);
    if path.is_relative() {
        return Some(dep.to_string());
    }
    let root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    path.strip_prefix(&root)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// The line without terminal colour codes (`ESC [ ... m`), in case CI asked cargo for colour.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
   Compiling udp-demo v0.1.0
     Running tests/cli.rs (target/debug/deps/cli-79fb4c06b97df691)

running 3 tests
test addresses_may_be_names ... ok
test sigterm_stops_the_server_cleanly ... FAILED
test slow_one ... ignored, needs a wire lab
     Running unittests src/lib.rs (target/debug/deps/udp_demo-0123)
test wire::tests::frames_round_trip ... ok
test interleaved ... SKIPPED interleaved: no IPv6
ok
   Doc-tests udp_demo
test crates/udp-demo/src/lib.rs - f (line 3) ... ok
";

    /// Sections follow the `Running` lines; outcomes are read per test, also when a child's
    /// output split the line; doc tests are set apart.
    #[test]
    fn output_is_read_per_binary() {
        let run = TestRun::parse(OUTPUT, Path::new("/nonexistent"));
        assert_eq!(run.sections.len(), 3);
        assert_eq!(run.sections[0].source, "tests/cli.rs");
        assert!(!run.sections[0].resolved);
        assert_eq!(
            run.sections[0].results,
            vec![
                ("addresses_may_be_names".to_string(), Outcome::Ok),
                (
                    "sigterm_stops_the_server_cleanly".to_string(),
                    Outcome::Failed
                ),
                ("slow_one".to_string(), Outcome::Ignored),
            ]
        );
        assert_eq!(
            run.sections[1].results,
            vec![
                ("wire::tests::frames_round_trip".to_string(), Outcome::Ok),
                ("interleaved".to_string(), Outcome::Ok),
            ]
        );
        assert_eq!(run.sections[2].source, "doc-tests udp_demo");
    }

    /// A test is found in its own binary, a module's test in any binary of its crate; a test
    /// that did not run has no outcome, and a failure anywhere wins.
    #[test]
    fn outcomes_are_looked_up_by_file() {
        let run = TestRun::parse(OUTPUT, Path::new("/nonexistent"));
        let file = "crates/udp-demo/tests/cli.rs";
        let got = |name| run.outcome("udp-demo", file, name);
        assert_eq!(got("addresses_may_be_names"), Some(Outcome::Ok));
        assert_eq!(
            got("sigterm_stops_the_server_cleanly"),
            Some(Outcome::Failed)
        );
        assert_eq!(got("slow_one"), Some(Outcome::Ignored));
        assert_eq!(got("never_ran"), None);
        assert_eq!(
            run.outcome(
                "udp-demo",
                "crates/udp-demo/src/wire.rs",
                "frames_round_trip"
            ),
            Some(Outcome::Ok),
            "a unit test in a module is found by the end of its path"
        );
        assert_eq!(
            run.outcome("udp-demo", "crates/udp-demo/tests/other.rs", "slow_one"),
            None,
            "a binary's root file is not another binary's"
        );
    }

    /// With the dep-info file beside the binary, the section names the crate's file.
    #[test]
    fn dep_info_names_the_crate() {
        let root = std::env::temp_dir().join(format!("xtask-testrun-{}", std::process::id()));
        let deps = root.join("target/debug/deps");
        fs::create_dir_all(&deps).unwrap();
        let canon = fs::canonicalize(&root).unwrap();
        let src = canon.join("crates/udp-demo/tests/cli.rs");
        fs::write(
            deps.join("cli-abc.d"),
            format!(
                "{}: {} {}\n",
                deps.join("cli-abc").display(),
                src.display(),
                canon.join("crates/udp-demo/tests/common/mod.rs").display()
            ),
        )
        .unwrap();
        // What cargo writes for a workspace member: paths relative to the workspace.
        fs::write(
            deps.join("lib-def.d"),
            format!(
                "{0}.d: crates/tcp-demo/src/lib.rs\n\n{0}: crates/tcp-demo/src/lib.rs\n",
                deps.join("lib-def").display()
            ),
        )
        .unwrap();
        let text = "\u{1b}[1m\u{1b}[32m     Running\u{1b}[0m tests/cli.rs (target/debug/deps/cli-abc)\ntest a ... ok\n     Running unittests src/lib.rs (target/debug/deps/lib-def)\n";
        let run = TestRun::parse(text, &root);
        let _ = fs::remove_dir_all(&root);
        assert_eq!(run.sections[0].source, "crates/udp-demo/tests/cli.rs");
        assert!(run.sections[0].resolved);
        assert_eq!(run.sections[1].source, "crates/tcp-demo/src/lib.rs");
        assert!(run.sections[1].resolved);
        assert_eq!(
            run.outcome("tcp-demo", "crates/tcp-demo/tests/cli.rs", "a"),
            None,
            "another crate's cli.rs"
        );
    }
}
