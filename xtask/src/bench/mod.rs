//! `cargo xtask bench`: every measurement of the course against the tool a reader would use
//! instead, in one run, with medians and spreads, written to `book/src/benchmarks/`.
//!
//! - [`throughput`]: chapter 3's bulk pair against `iperf3` (one stream, 128 KiB writes), at
//!   default buffers and two fixed sizes.
//! - [`latency`]: round trips of chapter 1's blocking TCP pair and chapter 2's UDP pair
//!   against `sockperf ping-pong`, p50 and p99. sockperf reports *one-way* latency (half the
//!   round trip); its figures are doubled there so that both columns are round trips.
//! - [`models`]: echo requests/s at 1 to 10,000 connections, chapter 7's `models` benchmark
//!   (threads, select, poll, epoll, tokio), and its goals.
//! - [`peers`]: the tools from outside the course: whether they are installed, starting and
//!   reading sockperf.
//! - [`page`]: the results page: the goals met or missed, the machine, the date, the tables.
//!
//! A peer that is not installed is reported as skipped, with the command to install it (and,
//! in `test-all`, listed among its skips). With `--quick` every measurement runs once,
//! briefly: a smoke test that the harness works, part of `test-all`, which fails if any of
//! the course's own figures is missing.

mod latency;
mod models;
mod page;
mod peers;
mod throughput;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use socklab_support::skip;

/// How a `cargo xtask bench` run is shaped.
pub struct Options {
    /// One short round of everything.
    pub quick: bool,
    /// Where results.md and the charts go.
    pub out: PathBuf,
    /// Where to record the comparisons skipped for want of a peer (test-all's skips file).
    pub skips: Option<PathBuf>,
}

/// What the measurements add up to: the page's tables, the goals with their verdicts, and the
/// peers that were missing.
#[derive(Default)]
pub struct Findings {
    /// The measurement sections of the page, in order.
    pub md: String,
    /// One line per goal, "met" or "not met" with the figure.
    pub goals: Vec<String>,
    /// Peers that are not installed, with the command that installs them.
    pub missing: Vec<&'static str>,
}

/// Runs every measurement and writes `results.md` (and, through the models benchmark,
/// `models.md` and `models.svg`) into `opts.out`.
pub fn run(root: &Path, cargo: fn() -> Command, opts: &Options) -> Result<()> {
    let out = if opts.out.is_absolute() {
        opts.out.clone()
    } else {
        root.join(&opts.out)
    };
    std::fs::create_dir_all(&out)?;
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
    ]);
    crate::run(build)?;
    let bin = |name: &str| {
        root.join("target/release")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    };
    let (rounds, seconds) = if opts.quick { (1usize, 1u32) } else { (5, 2) };
    let mut found = Findings::default();
    throughput::measure(&bin("buffers-demo"), rounds, seconds, &mut found)?;
    let count = if opts.quick { 2000 } else { 20_000 };
    latency::measure(&bin, rounds, seconds, count, &mut found)?;
    found
        .goals
        .extend(models::measure(cargo, &out, opts.quick)?);
    page::write(&out, opts.quick, &found)?;
    if let Some(file) = &opts.skips {
        for peer in &found.missing {
            skip::skip_into(
                file,
                "bench",
                &format!("peer missing, not measured: {peer}"),
            );
        }
    }
    if opts.quick && found.goals.iter().any(|g| g.contains("no figure")) {
        bail!("some of the course's own figures are missing");
    }
    Ok(())
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
