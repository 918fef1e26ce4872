//! socklab's tooling, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! - `test-all`: every check an instructor's CI runs, in order, one line per step with its
//!   time: formatting, tidy, clippy, tests, the claims (each claim's test ran and passed in
//!   that very test run), docs, benchmark builds, the book's checks, the book; then a summary
//!   with every test that skipped itself, and why, and the total time against its budget.
//! - `tidy`: the source tree's own rules (module tours, used anchors, `//!` on every file, no
//!   trailing whitespace); fast, no build.
//! - `book`: builds the book, checks that no listing is wider than the page (in headless
//!   Chromium too, where installed), and prints where to open it.
//! - `check-book`: only the book-against-code checks (fast, no build), ending with the claims'
//!   count, `claims: N, proved: P, unproved: U`.
//! - `exercises`: every exercise and lab, solved or not yet, the next one to do with its
//!   hint and the book section it practises, and the progress (`--check NAME` grades one).
//! - `claims`: writes the claims index, `book/src/claims.md`, from the claim tables.
//! - `bench`: every measurement against its real peer (iperf3, sockperf, tokio), stored in
//!   `book/src/benchmarks/figures.tsv` and rendered into the results page, the figures the
//!   chapters include, and the README's goals; `--quick` for a smoke run (part of `test-all`),
//!   `--render` to render again without measuring.
//!
//! The modules, one per job:
//!
//! - [`bench`](mod@bench): `cargo xtask bench`, the measurements and the results page.
//! - [`book`]: the book against the code, and the pinned mdBook.
//! - [`exercises`]: the exercise runner, `cargo xtask exercises`.
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
mod exercises;
mod files;
mod kit;
mod tidy;
mod transcripts;

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use socklab_support::skip;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test-all     formatting, tidy, clippy, tests, claims, docs, bench builds, book checks, book
  tidy         module tours, used anchors, `//!` on every .rs file, no trailing whitespace
  book         build the book, check its code fits the page (Chromium, if installed), and
               print where index.html is
  check-book   check the book against the code (includes, anchors, chapters, links, claims,
               hand-typed figures, generated pages); prints `claims: N, proved: P, unproved: U`
               options: --ran FILE (also check each claim's test ran in this captured
               `cargo test` output; test-all writes target/socklab-test-output.txt)
  claims       write the claims index, book/src/claims.md, from the claim tables
  student-kit DIR  write the course with the exercises' solutions replaced by todo!()
  student-kit-check  build a kit in target/ and check its grading tests fail on every stub
  exercises    list every exercise and lab, solved or not yet, and the next one with its hint
               options: --check NAME|all, --watch, --markdown FILE, --tsv FILE
  transcripts  run the book's console transcripts and compare their output (Linux)
  bench        measure everything against iperf3, sockperf and tokio; store the figures and
               write the results page, the chapters' figures and the README's goals
               options: --quick (one short round), --out DIR (default book/src/benchmarks),
               --render (measure nothing: write the pages again from the stored figures)
  bdp-chart    chapter 3's bandwidth-delay chart only: run its test on the wire lab and copy
               the chart it drew into the book (`bench` does this too)
";

/// Where `test-all` collects the skips of its tests (`socklab_support::skip`).
pub const SKIPS: &str = "target/socklab-skips.txt";
/// Where `test-all` keeps the output of its `cargo test`, for the claims step.
pub const TEST_OUTPUT: &str = "target/socklab-test-output.txt";
/// Where `test-all` writes each step's time and the total.
pub const TIMES: &str = "target/socklab-test-all-times.txt";
/// How long `test-all` may take on a 2-core machine; it warns beyond.
const BUDGET: Duration = Duration::from_secs(15 * 60);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test-all") => test_all(),
        Some("book") => build_book().map(|index| println!("book: {}", index.display())),
        Some("check-book") => {
            let ran = args
                .iter()
                .position(|a| a == "--ran")
                .and_then(|i| args.get(i + 1))
                .map(|f| root().join(f));
            let claims = match &ran {
                Some(file) => book::Claims::Ran(file),
                None => book::Claims::Exists,
            };
            book::check(&root(), claims).map(|()| println!("book checks passed"))
        }
        Some("claims") => book::write_index(&root()),
        Some("tidy") => tidy::check(&root()).map(|()| println!("tidy checks passed")),
        Some("transcripts") => transcripts::run(&root(), None),
        Some("student-kit-check") => kit::check(&root(), cargo),
        Some("exercises") => exercises::main(&root(), cargo, &args[1..]),
        Some("student-kit") => match args.get(1) {
            Some(dir) => kit::write(&root(), Path::new(dir)).map(|n| {
                println!("student kit written to {dir}: {n} solutions replaced by todo!()")
            }),
            None => Err(anyhow::anyhow!("usage: cargo xtask student-kit DIR")),
        },
        Some("bench") => {
            let quick = args.iter().any(|a| a == "--quick");
            let render = args.iter().any(|a| a == "--render");
            let out = args
                .iter()
                .position(|a| a == "--out")
                .and_then(|i| args.get(i + 1))
                .map_or_else(|| root().join(bench::RESULTS), PathBuf::from);
            bench::run(
                &root(),
                cargo,
                &bench::Options {
                    quick,
                    render,
                    out,
                    skips: None,
                },
            )
        }
        Some("bdp-chart") => bench::bdp::refresh(&root(), cargo, None),
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

/// Runs a command to completion with its standard output and error merged, printed live and
/// kept in `file`; fails if it does not exit with status 0.
fn run_captured(mut cmd: Command, file: &Path) -> Result<()> {
    let shown = format!("{cmd:?}");
    let mut capture =
        fs::File::create(file).with_context(|| format!("creating {}", file.display()))?;
    // One pipe for both streams keeps cargo's `Running` lines (stderr) in order with the
    // tests' results (stdout).
    let (mut reader, writer) = io::pipe().context("creating a pipe")?;
    cmd.stdout(writer.try_clone()?).stderr(writer);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    drop(cmd); // Our copies of the writing end: the reader sees the end when the children's close.
    let (done_tx, done_rx) = mpsc::channel();
    let copier = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let result = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    let mut out = io::stdout().lock();
                    let written = out
                        .write_all(&buf[..n])
                        .and_then(|()| out.flush())
                        .and_then(|()| capture.write_all(&buf[..n]));
                    if let Err(e) = written {
                        break Err(e);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let _ = done_tx.send(result);
    });
    let status = child.wait()?;
    // A process a test left running may still hold the pipe open: give the copy a bounded
    // time to finish, then go on without it.
    match done_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(copied) => {
            copied.with_context(|| format!("copying the output into {}", file.display()))?;
            let _ = copier.join();
        }
        Err(_) => eprintln!(
            "xtask: warning: a process started by {shown} still holds its output open; \
             {} may lack its last lines",
            file.display()
        ),
    }
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
    let skips = root().join(SKIPS);
    // The claims step reads this run's test output only: an old one must not stand in for it.
    let captured = root().join(TEST_OUTPUT);
    for old in [&skips, &captured] {
        match fs::remove_file(old) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing the old {}", old.display()));
            }
            _ => {}
        }
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
            // Its output is kept for the claims step.
            Box::new({
                let skips = skips.clone();
                let captured = captured.clone();
                move || {
                    let mut cmd = with_args(cargo(), &["test", "--workspace", "--no-fail-fast"]);
                    cmd.env(skip::SKIPS_VAR, &skips);
                    run_captured(cmd, &captured)
                }
            }),
        ),
        (
            // Every claim of the book names a test; each must have run and passed just now
            // (or said why it cannot run here). A claim whose test was renamed, deleted,
            // ignored or broken fails here.
            "claims",
            Box::new({
                let captured = captured.clone();
                move || book::check_claims_ran(&root(), &captured)
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
        // No separate `cargo bench --no-run`: clippy `--all-targets` above already type-checks
        // every benchmark, and building them all in the release profile cost about four
        // minutes of a 15-minute budget on 2 cores. bench-quick builds and runs the ones it
        // measures.
        (
            "bench-quick",
            Box::new({
                let skips = skips.clone();
                move || {
                    // A smoke run into target/, so the book's committed figures are left alone.
                    let out = root().join("target/bench-quick");
                    let opts = bench::Options {
                        quick: true,
                        render: false,
                        out,
                        skips: Some(skips),
                    };
                    bench::run(&root(), cargo, &opts)
                }
            }),
        ),
        (
            "book-check",
            Box::new(|| book::check(&root(), book::Claims::Skip)),
        ),
        (
            "transcripts",
            Box::new({
                let skips = skips.clone();
                move || transcripts::run(&root(), Some(&skips))
            }),
        ),
        (
            // Each exercise and lab, solved or not, read from the test step's output: no build,
            // no run. Fails unless all are solved and each is found whole (test, hint, book).
            "exercises",
            Box::new({
                let captured = captured.clone();
                move || exercises::report_captured(&root(), &captured)
            }),
        ),
        ("student-kit", Box::new(|| kit::check(&root(), cargo))),
        (
            "book-build",
            // Built, then checked: no listing wider than the page (in Chromium, if installed).
            Box::new({
                let skips = skips.clone();
                move || {
                    book::build(&root(), mdbook.wait()?, book::Claims::Skip, Some(&skips)).map(drop)
                }
            }),
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
    let total = start.elapsed();
    eprintln!("  total {:.1}s", total.as_secs_f64());
    if total > BUDGET {
        eprintln!(
            "  warning: over the budget of {} min for a 2-core machine",
            BUDGET.as_secs() / 60
        );
    }
    // The times as data, for whoever wants to quote them: nothing states them by hand.
    let times = root().join(TIMES);
    if let Err(e) = fs::write(&times, times_tsv(&results, total)) {
        eprintln!("  (could not write {}: {e})", times.display());
    }
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

/// Each step's outcome and seconds, then the total and the budget, tab-separated.
fn times_tsv(results: &[(&str, bool, f64)], total: Duration) -> String {
    let mut out = String::from("step\toutcome\tseconds\n");
    for (name, ok, secs) in results {
        out += &format!("{name}\t{}\t{secs:.1}\n", if *ok { "PASS" } else { "FAIL" });
    }
    out += &format!(
        "total\t\t{:.1}\nbudget\t\t{}\n",
        total.as_secs_f64(),
        BUDGET.as_secs()
    );
    out
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
        book::Claims::Exists,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The times file lists each step, the total and the budget.
    #[test]
    fn times_are_written_as_data() {
        let tsv = times_tsv(
            &[("fmt", true, 1.25), ("test", false, 300.0)],
            Duration::from_secs(301),
        );
        assert_eq!(
            tsv,
            "step\toutcome\tseconds\nfmt\tPASS\t1.2\ntest\tFAIL\t300.0\ntotal\t\t301.0\nbudget\t\t900\n"
        );
    }

    /// The captured output holds both streams, and a failing command still fails.
    #[test]
    fn a_captured_command_keeps_both_streams() {
        let file = std::env::temp_dir().join(format!("xtask-capture-{}", std::process::id()));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; echo out2"]);
        run_captured(cmd, &file).unwrap();
        let text = fs::read_to_string(&file).unwrap();
        assert_eq!(text, "out\nerr\nout2\n");
        let mut fails = Command::new("sh");
        fails.args(["-c", "exit 3"]);
        assert!(run_captured(fails, &file).is_err());
        let _ = fs::remove_file(&file);
    }

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
