//! socklab's tooling, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! - `test-all`: every check an instructor's CI runs, in order, one line per step with its
//!   time: formatting, tidy, clippy, tests, docs, benchmark builds, the book's includes, the
//!   book; then a summary with every test that skipped itself, and why.
//! - `tidy`: the source tree's own rules (module tours, used anchors, `//!` on every file, no
//!   trailing whitespace); fast, no build.
//! - `book`: builds the book and prints where to open it.
//! - `check-book`: only the book-against-code checks (fast, no build).
//! - `bench`: every measurement against its real peer (iperf3, sockperf, tokio), written to
//!   `book/src/benchmarks/results.md`; `--quick` for a smoke run (part of `test-all`).
//!
//! The modules, one per job:
//!
//! - [`bench`](mod@bench): `cargo xtask bench`, the measurements and the results page.
//! - [`book`]: the book against the code, and the pinned mdBook.
//! - [`files`]: which files make up the course.
//! - [`kit`]: the student kit and its check.
//! - [`tidy`]: the tidy checks.
//! - [`transcripts`]: the book's console transcripts, run and compared.
//!
//! Tools come from crates.io only. The book needs mdBook at one pinned version; if `mdbook`
//! on PATH is not that version, xtask installs it with `cargo install --locked` into
//! `target/tools/`, so a fresh machine needs nothing but Rust. The one dependency inside the
//! workspace is `socklab-support`, for the plumbing the course's own tests use too: reading a
//! server's `listening on ADDR` line, bounded waits, medians, and the skips file.

mod bench;
mod book;
mod files;
mod kit;
mod tidy;
mod transcripts;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use socklab_support::skip;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test-all     formatting, tidy, clippy, tests, docs, bench builds, book checks and book build
  tidy         module tours, used anchors, `//!` on every .rs file, no trailing whitespace
  book         build the book and print where index.html is
  check-book   check the book against the code (includes, anchors, chapters, links)
  student-kit DIR  write the course with the exercises' solutions replaced by todo!()
  student-kit-check  build a kit in target/ and check its grading tests fail on every stub
  transcripts  run the book's console transcripts and compare their output (Linux)
  bench        measure everything against iperf3, sockperf and tokio; write the results page
               options: --quick (one short round), --out DIR (default book/src/benchmarks)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test-all") => test_all(),
        Some("book") => build_book().map(|index| println!("book: {}", index.display())),
        Some("check-book") => book::check(&root()).map(|()| println!("book checks passed")),
        Some("tidy") => tidy::check(&root()).map(|()| println!("tidy checks passed")),
        Some("transcripts") => transcripts::run(&root(), None),
        Some("student-kit-check") => kit::check(&root(), cargo),
        Some("student-kit") => match args.get(1) {
            Some(dir) => kit::write(&root(), Path::new(dir)).map(|n| {
                println!("student kit written to {dir}: {n} solutions replaced by todo!()")
            }),
            None => Err(anyhow::anyhow!("usage: cargo xtask student-kit DIR")),
        },
        Some("bench") => {
            let quick = args.iter().any(|a| a == "--quick");
            let out = args
                .iter()
                .position(|a| a == "--out")
                .and_then(|i| args.get(i + 1))
                .map_or_else(|| root().join("book/src/benchmarks"), PathBuf::from);
            bench::run(
                &root(),
                cargo,
                &bench::Options {
                    quick,
                    out,
                    skips: None,
                },
            )
        }
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask's manifest lives one level below it.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .into()
}

/// The cargo that runs us, so `cargo +toolchain xtask` uses that toolchain throughout.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs a command to completion, failing if it does not exit with status 0.
fn run(mut cmd: Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// One step of `test-all`: its name and what it does.
type Step = (&'static str, Box<dyn FnOnce() -> Result<()>>);

fn test_all() -> Result<()> {
    let start = Instant::now();
    // Every test that cannot run here says so in this file (`socklab_support::skip`), and the
    // summary lists them: a skip that passes in silence would look like a proof.
    let skips = root().join("target/socklab-skips.txt");
    match fs::remove_file(&skips) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing the old {}", skips.display()));
        }
        _ => {}
    }
    fs::create_dir_all(root().join("target"))?;
    fs::write(&skips, "").with_context(|| format!("creating {}", skips.display()))?;
    // mdBook compiles in the background while the checks run: the tests spend much of their
    // time waiting on sockets and timers, and the install fills that time.
    let mdbook = book::find_or_install(&root(), cargo, true)?;
    let steps: Vec<Step> = vec![
        (
            "fmt",
            Box::new(|| run(with_args(cargo(), &["fmt", "--all", "--check"]))),
        ),
        ("tidy", Box::new(|| tidy::check(&root()))),
        (
            "clippy",
            Box::new(|| {
                run(with_args(
                    cargo(),
                    &[
                        "clippy",
                        "--workspace",
                        "--all-targets",
                        "--",
                        "-D",
                        "warnings",
                    ],
                ))
            }),
        ),
        (
            "test",
            // --no-fail-fast: one failing crate must not hide the rest. A student whose kit
            // still has todo!()s sees every grading test that fails *and* that everything
            // else passes; an instructor's CI log lists every failure at once.
            Box::new({
                let skips = skips.clone();
                move || {
                    let mut cmd = with_args(cargo(), &["test", "--workspace", "--no-fail-fast"]);
                    cmd.env(skip::SKIPS_VAR, &skips);
                    run(cmd)
                }
            }),
        ),
        (
            "doc",
            Box::new(|| {
                let mut cmd = with_args(cargo(), &["doc", "--workspace", "--no-deps"]);
                cmd.env("RUSTDOCFLAGS", "-D warnings");
                run(cmd)
            }),
        ),
        (
            "bench-build",
            Box::new(|| run(with_args(cargo(), &["bench", "--workspace", "--no-run"]))),
        ),
        (
            "bench-quick",
            Box::new({
                let skips = skips.clone();
                move || {
                    // A smoke run into target/, so the book's committed figures are left alone.
                    let out = root().join("target/bench-quick");
                    let opts = bench::Options {
                        quick: true,
                        out,
                        skips: Some(skips),
                    };
                    bench::run(&root(), cargo, &opts)
                }
            }),
        ),
        ("book-check", Box::new(|| book::check(&root()))),
        (
            "transcripts",
            Box::new({
                let skips = skips.clone();
                move || transcripts::run(&root(), Some(&skips))
            }),
        ),
        ("student-kit", Box::new(|| kit::check(&root(), cargo))),
        (
            "book-build",
            Box::new(move || book::build(&root(), mdbook.wait()?).map(drop)),
        ),
    ];
    let mut results = Vec::new();
    for (name, step) in steps {
        eprintln!("xtask: ---- {name} ----");
        let t = Instant::now();
        let outcome = step();
        let secs = t.elapsed().as_secs_f64();
        match &outcome {
            Ok(()) => eprintln!("xtask: PASS {name} ({secs:.1}s)"),
            Err(e) => eprintln!("xtask: FAIL {name} ({secs:.1}s): {e:#}"),
        }
        results.push((name, outcome.is_ok(), secs));
    }
    eprintln!("\nxtask: summary");
    for (name, ok, secs) in &results {
        eprintln!(
            "  {} {name:<12} {secs:7.1}s",
            if *ok { "PASS" } else { "FAIL" }
        );
    }
    for line in skipped_lines(&skips) {
        eprintln!("  {line}");
    }
    let failed: Vec<_> = results.iter().filter(|r| !r.1).map(|r| r.0).collect();
    eprintln!("  total {:.1}s", start.elapsed().as_secs_f64());
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("failed steps: {}", failed.join(", "))
    }
}

/// The summary's lines for the skips recorded in `file`: a count, then one line per skip with
/// its reason.
fn skipped_lines(file: &Path) -> Vec<String> {
    match skip::read(file) {
        Ok(skipped) => std::iter::once(format!("skipped: {}", skipped.len()))
            .chain(
                skipped
                    .iter()
                    .map(|s| format!("  SKIPPED {}: {}", s.name, s.reason)),
            )
            .collect(),
        Err(e) => vec![format!(
            "skipped: unknown (cannot read {}: {e})",
            file.display()
        )],
    }
}

fn with_args(mut cmd: Command, args: &[&str]) -> Command {
    cmd.args(args);
    cmd
}

/// Builds the book with the pinned mdBook (installing it if needed) and returns the path of
/// its `index.html`.
fn build_book() -> Result<PathBuf> {
    book::build(
        &root(),
        book::find_or_install(&root(), cargo, false)?.wait()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary counts the recorded skips and gives each its reason; no file is no skips.
    #[test]
    fn the_summary_lists_skips_with_reasons() {
        let file = std::env::temp_dir().join(format!("xtask-skips-{}", std::process::id()));
        let _ = fs::remove_file(&file);
        assert_eq!(skipped_lines(&file), vec!["skipped: 0"]);
        skip::skip_into(&file, "echo_over_ipv6", "this machine has no IPv6 loopback");
        skip::skip_into(&file, "transcripts", "not Linux");
        let lines = skipped_lines(&file);
        let _ = fs::remove_file(&file);
        assert_eq!(
            lines,
            vec![
                "skipped: 2",
                "  SKIPPED echo_over_ipv6: this machine has no IPv6 loopback",
                "  SKIPPED transcripts: not Linux",
            ]
        );
    }
}
