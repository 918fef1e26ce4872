//! socklab's tooling, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! - `test-all`: every check an instructor's CI runs, in order, one line per step with its
//!   time: formatting, clippy, tests, docs, benchmark builds, the book's includes, the book.
//! - `book`: builds the book and prints where to open it.
//! - `check-book`: only the book-against-code checks (fast, no build).
//! - `bench`: every measurement against its real peer (iperf3, sockperf, tokio), written to
//!   `book/src/benchmarks/results.md`; `--quick` for a smoke run (part of `test-all`).
//!
//! Tools come from crates.io only. The book needs mdBook at one pinned version; if `mdbook`
//! on PATH is not that version, xtask installs it with `cargo install --locked` into
//! `target/tools/`, so a fresh machine needs nothing but Rust.

mod bench;
mod book;
mod kit;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test-all     formatting, clippy, tests, docs, bench builds, book checks and book build
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
        Some("transcripts") => transcripts(),
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
            bench::run(&root(), cargo, &bench::Options { quick, out })
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
    // mdBook compiles in the background while the checks run: the tests spend much of their
    // time waiting on sockets and timers, and the install fills that time.
    let mdbook = book::find_or_install(&root(), cargo, true)?;
    let steps: Vec<Step> = vec![
        (
            "fmt",
            Box::new(|| run(with_args(cargo(), &["fmt", "--all", "--check"]))),
        ),
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
            Box::new(|| {
                run(with_args(
                    cargo(),
                    &["test", "--workspace", "--no-fail-fast"],
                ))
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
            Box::new(|| {
                // A smoke run into target/, so the book's committed figures are left alone.
                let out = root().join("target/bench-quick");
                bench::run(&root(), cargo, &bench::Options { quick: true, out })
            }),
        ),
        ("book-check", Box::new(|| book::check(&root()))),
        ("transcripts", Box::new(transcripts)),
        ("student-kit", Box::new(|| kit::check(&root(), cargo))),
        (
            "book-build",
            Box::new(move || build_book_with(mdbook.wait()?).map(drop)),
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
    let failed: Vec<_> = results.iter().filter(|r| !r.1).map(|r| r.0).collect();
    eprintln!("  total {:.1}s", start.elapsed().as_secs_f64());
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("failed steps: {}", failed.join(", "))
    }
}

fn with_args(mut cmd: Command, args: &[&str]) -> Command {
    cmd.args(args);
    cmd
}

/// Runs every `console` transcript in the book (`$ cargo run -q -p ...` and the output the book
/// shows) and compares what the program prints with what the book says, `[..]` and `...`
/// standing for what varies. Runs outside `cargo test`, whose lock on the build directory
/// would make the transcripts' own `cargo run` wait forever.
fn transcripts() -> Result<()> {
    if !cfg!(target_os = "linux") {
        eprintln!(
            "xtask: the book's transcripts were recorded on Linux (errno numbers, /proc); skipped here"
        );
        return Ok(());
    }
    let cargo_path =
        std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
    let root = root();
    // trycmd reports a mismatch by panicking, as it would in a #[test]; make that this step's error.
    std::panic::catch_unwind(move || {
        trycmd::TestCases::new()
            .case(root.join("book/src/*.md"))
            .register_bin("cargo", trycmd::schema::Bin::Path(cargo_path))
            .timeout(std::time::Duration::from_secs(120))
            .run();
    })
    .map_err(|_| {
        anyhow::anyhow!("a transcript in the book does not match what its program printed")
    })
}

/// Builds the book with the pinned mdBook (installing it if needed) and returns the path of
/// its `index.html`.
fn build_book() -> Result<PathBuf> {
    build_book_with(book::find_or_install(&root(), cargo, false)?.wait()?)
}

/// Checks the book against the code, then builds it with `mdbook`.
fn build_book_with(mdbook: PathBuf) -> Result<PathBuf> {
    let root = root();
    book::check(&root)?;
    let mut cmd = Command::new(mdbook);
    cmd.arg("build").arg(root.join("book"));
    run(cmd)?;
    Ok(root.join("book/build/index.html"))
}
