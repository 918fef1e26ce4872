//! `cargo xtask bench`: every measurement of the course against the tool a reader would use
//! instead, in one run, with medians and spreads, written to `book/src/benchmarks/`.
//!
//! - [`throughput`]: chapter 3's bulk pair against `iperf3` (one stream, 128 KiB writes), at
//!   default buffers and two fixed sizes.
//! - [`latency`]: round trips of chapter 1's blocking TCP pair and chapter 2's UDP pair
//!   against `sockperf ping-pong`, p50 and p99. sockperf reports *one-way* latency (half the
//!   round trip); its figures are doubled there so that both columns are round trips.
//! - [`models`]: echo requests/s at 1 to 10,000 connections, chapter 7's `models` benchmark
//!   (threads, select, poll, epoll, tokio, and chapter 11's io_uring server), server and load
//!   generator pinned to separate CPUs, with system calls per request counted by strace.
//! - [`uring`]: chapter 11's own table, io_uring against tokio with each server's CPU time per
//!   request.
//! - [`unix`]: chapter 8's Unix stream against TCP on loopback (criterion's medians).
//! - [`link`]: the wire lab's link on its own: throughput through an unimpaired link (goal:
//!   at least 1 Gbit/s) and the latency it adds at zero delay.
//! - [`bdp`]: chapter 3's bandwidth-delay chart, drawn by a test run on the wire lab.
//! - [`peers`]: the tools from outside the course: whether they are installed, starting and
//!   reading sockperf. strace counts the system calls; without it that column is skipped.
//! - [`data`]: the figures of a run, stored in `figures.tsv` (and the models benchmark's
//!   `models.tsv`): the one source of every figure the bench writes anywhere.
//! - [`page`]: what is rendered from them: the results page, the goals (also copied into the
//!   README's generated block) and one include per figure for the chapters.
//!
//! A peer that is not installed is reported as skipped, with the command to install it (and,
//! in `test-all`, listed among its skips). With `--quick` every measurement runs once,
//! briefly: a smoke test that the harness works, part of `test-all`, which fails if any of
//! the course's own figures is missing. `--render` measures nothing and writes every page
//! again from the stored figures (after a change to the pages' format).

pub mod bdp;
mod data;
mod latency;
mod link;
mod models;
mod page;
mod peers;
mod throughput;
mod unix;
mod uring;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use socklab_support::skip;

use data::{Models, Run};

/// Where the committed results live, relative to the workspace.
pub const RESULTS: &str = "book/src/benchmarks";

/// How a `cargo xtask bench` run is shaped.
pub struct Options {
    /// One short round of everything.
    pub quick: bool,
    /// Measure nothing: render every page again from the stored figures in `out`.
    pub render: bool,
    /// Where results.md, the generated includes, the stored figures and the charts go.
    pub out: PathBuf,
    /// Where to record the comparisons skipped for want of a peer (test-all's skips file).
    pub skips: Option<PathBuf>,
}

/// Runs every measurement, stores the figures in `figures.tsv` (and, through the models
/// benchmark, `models.tsv`, `models.md` and `models.svg`) in `opts.out`, and renders every
/// page from them; into the README too when `out` is the book's own results folder.
pub fn run(root: &Path, cargo: fn() -> Command, opts: &Options) -> Result<()> {
    let out = if opts.out.is_absolute() {
        opts.out.clone()
    } else {
        root.join(&opts.out)
    };
    std::fs::create_dir_all(&out)?;
    let readme = root.join("README.md");
    let is_the_book =
        std::fs::canonicalize(&out).ok() == std::fs::canonicalize(root.join(RESULTS)).ok();
    let readme = is_the_book.then_some(readme.as_path());
    if opts.render {
        let tsv = std::fs::read_to_string(out.join("figures.tsv"))
            .with_context(|| format!("reading {}", out.join("figures.tsv").display()))?;
        return page::write(&out, &Run::parse(&tsv)?, &Models::load(&out), readme);
    }
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "--bins",
        "-p",
        "buffers-demo",
        "-p",
        "tcp-demo",
        "-p",
        "udp-demo",
        "-p",
        "uring-demo",
    ]);
    crate::run(build)?;
    let bin = |name: &str| {
        root.join("target/release")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    };
    let (rounds, seconds) = if opts.quick { (1usize, 1u32) } else { (5, 2) };
    let mut run = Run {
        date: page_date(),
        machine: machine(),
        quick: opts.quick,
        rounds,
        seconds,
        ..Run::default()
    };
    run.throughput = throughput::measure(&bin("buffers-demo"), rounds, seconds, &mut run.missing)?;
    let count = if opts.quick { 2000 } else { 20_000 };
    run.latency = latency::measure(&bin, rounds, seconds, count, &mut run.missing)?;
    run.unix = Some(unix::measure(root, cargo, opts.quick)?);
    run.uring = uring::measure(&out, cargo, opts.quick)?;
    run.link = Some(link::measure(root, cargo, opts.quick)?);
    let strace = peers::installed("strace");
    if !strace {
        run.missing
            .push("strace, for system calls per request (apt-get install strace)".into());
    }
    let models = models::measure(cargo, &out, opts.quick, &bin("uring-demo"), strace)?;
    page::write(&out, &run, &models, readme)?;
    if readme.is_some() && !opts.quick {
        bdp::refresh(root, cargo, opts.skips.as_deref())?; // The book's own run only.
    }
    if let Some(file) = &opts.skips {
        for peer in &run.missing {
            skip::skip_into(
                file,
                "bench",
                &format!("peer missing, not measured: {peer}"),
            );
        }
        for why in &models.not_measured {
            skip::skip_into(file, "bench", why);
        }
        if let Some(data::WireLink::NotMeasured(why)) = &run.link {
            skip::skip_into(file, "bench: the wire lab's link", why);
        }
    }
    if opts.quick
        && page::goals(&run, &models)
            .iter()
            .any(page::Goal::lacks_a_figure)
    {
        bail!("some of the course's own figures are missing");
    }
    Ok(())
}

/// What is wrong with the committed results: every page the bench renders must be exactly
/// what it renders from the stored figures, and the README's block exactly the goals. A
/// difference is a hand edit, or a format change not yet rendered.
pub fn stale(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(RESULTS);
    let fix = "run `cargo xtask bench --render` (or measure again: `cargo xtask bench`)";
    let Ok(tsv) = std::fs::read_to_string(dir.join("figures.tsv")) else {
        return Ok(vec![format!(
            "{RESULTS}/figures.tsv is missing: the figures of the book come from it; run `cargo xtask bench`"
        )]);
    };
    let run = Run::parse(&tsv)?;
    let mut problems = Vec::new();
    let files = page::render(&run, &Models::load(&dir));
    for (name, text) in &files {
        if std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str()) {
            problems.push(format!(
                "{RESULTS}/{name} is not what the bench writes from figures.tsv and models.tsv (edited by hand?): {fix}"
            ));
        }
    }
    let readme = std::fs::read_to_string(root.join("README.md")).context("reading README.md")?;
    let goals = &files
        .iter()
        .find(|(name, _)| *name == "generated/goals.md")
        .expect("the goals are rendered")
        .1;
    match page::readme_block(&readme) {
        Some(block) if block == goals => {}
        Some(_) => problems.push(format!(
            "README.md: the generated block differs from {RESULTS}/generated/goals.md (edited by hand?): {fix}"
        )),
        None => problems.push(
            "README.md has no generated block for the goals (`<!-- generated:bench:start -->` ... `<!-- generated:bench:end -->`)".to_string(),
        ),
    }
    Ok(problems)
}

/// The CPU, core count and kernel, as best this system says.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = Command::new("uname")
        .arg("-sr")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {kernel}")
}

/// Today's date (UTC), from the system clock.
fn page_date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Runs `cmd` and returns its standard output, failing with its standard error.
fn output(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The number after `key` in `text` (up to the next space or comma).
fn number_after(text: &str, key: &str) -> Option<f64> {
    let rest = &text[text.find(key)? + key.len()..];
    rest.trim_start_matches([' ', '=', ':'])
        .split([' ', ',', '\n'])
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A committed page or README block that differs from what the stored figures render is
    /// reported with the command that fixes it; rendered again, nothing is reported.
    #[test]
    fn hand_edits_of_generated_pages_are_found() {
        let root = std::env::temp_dir().join(format!("xtask-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join(RESULTS);
        std::fs::create_dir_all(&dir).unwrap();
        let readme = root.join("README.md");
        let markers = format!(
            "# R\n\n{}\n{}\n",
            crate::book::figures::GENERATED_START,
            crate::book::figures::GENERATED_END
        );
        std::fs::write(&readme, &markers).unwrap();
        assert!(stale(&root).unwrap()[0].contains("figures.tsv is missing"));
        let run = Run {
            date: "2026-11-24".into(),
            machine: "m".into(),
            rounds: 1,
            seconds: 1,
            ..Run::default()
        };
        page::write(&dir, &run, &Models::default(), Some(&readme)).unwrap();
        assert_eq!(stale(&root).unwrap(), Vec::<String>::new());

        let results = dir.join("results.md");
        let page = std::fs::read_to_string(&results).unwrap();
        std::fs::write(&results, page.replace("Benchmark results", "Results")).unwrap();
        let text = std::fs::read_to_string(&readme).unwrap();
        std::fs::write(&readme, text.replace("2026-11-24", "2026-11-25")).unwrap();
        let problems = stale(&root).unwrap();
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].starts_with("book/src/benchmarks/results.md is not what the bench writes")
        );
        assert!(
            problems[0].ends_with(
                "run `cargo xtask bench --render` (or measure again: `cargo xtask bench`)"
            )
        );
        assert!(problems[1].starts_with("README.md: the generated block differs"));
    }

    /// Figures are read from the tools' own output formats.
    #[test]
    fn numbers_are_read_after_their_keys() {
        assert_eq!(number_after("p50 12.5 µs, p99 40 µs", "p99"), Some(40.0));
        assert_eq!(
            number_after("ours_median=9.87\n", "ours_median"),
            Some(9.87)
        );
        assert_eq!(
            number_after(
                "sockperf: ---> percentile 50.000 =   3.123",
                "percentile 50.000"
            ),
            Some(3.123)
        );
        assert_eq!(number_after("nothing here", "p50"), None);
    }
}
