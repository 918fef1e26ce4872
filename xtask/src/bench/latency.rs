//! Round-trip latency: chapter 1's blocking TCP pair and chapter 2's UDP pair, 64-byte
//! ping-pong on one connection, against `sockperf ping-pong`; p50 and p99 round trips in µs.
//! Each round runs the course's own `ping` client against its server, then sockperf's client
//! against a fresh sockperf server; the medians of the rounds are tabulated.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use socklab_support::process::{ServerProcess, spawn_server};
use socklab_support::stats::Spread;

use super::page::verdict;
use super::{Findings, number_after, output, peers};

/// How long a server of the course may take to print its `listening on ADDR` line.
const START_LIMIT: Duration = Duration::from_secs(30);

/// Measures and writes the latency section; without sockperf, the course's own figures are
/// still measured and sockperf's columns say skipped.
pub fn measure(
    bin: &dyn Fn(&str) -> PathBuf,
    rounds: usize,
    seconds: u32,
    count: u32,
    found: &mut Findings,
) -> Result<()> {
    let md = &mut found.md;
    writeln!(
        md,
        "\n## Round-trip latency: chapters 1 and 2 against sockperf\n"
    )?;
    writeln!(
        md,
        "64-byte messages, ping-pong on one connection; round trips in µs, median of {rounds} round(s). sockperf's one-way figures are doubled.\n"
    )?;
    let tcp = start(&bin("tcp-demo"))?;
    let udp = start(&bin("udp-demo"))?;
    let have_sockperf = peers::installed("sockperf");
    if !have_sockperf {
        found.missing.push("sockperf (apt-get install sockperf)");
    }
    writeln!(
        md,
        "| protocol | course p50 | course p99 | sockperf p50 | sockperf p99 | p50 ratio |\n|---|---:|---:|---:|---:|---:|"
    )?;
    for (proto, ours_bin, addr) in [
        ("TCP", "tcp-demo", tcp.addr()),
        ("UDP", "udp-demo", udp.addr()),
    ] {
        let (mut o50, mut o99, mut t50, mut t99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (a, b) = our_ping(&bin(ours_bin), addr, count)?;
            o50.push(a);
            o99.push(b);
            if have_sockperf {
                let (server, port) = peers::sockperf_server(proto == "TCP")?;
                let (a, b) = peers::sockperf_ping(port, proto == "TCP", seconds)?;
                drop(server);
                t50.push(a);
                t99.push(b);
            }
        }
        let (o50, o99) = (median(o50), median(o99));
        if have_sockperf {
            let (t50, t99) = (median(t50), median(t99));
            writeln!(
                md,
                "| {proto} | {o50:.1} | {o99:.1} | {t50:.1} | {t99:.1} | {:.2} |",
                o50 / t50
            )?;
            if proto == "TCP" {
                found.goals.push(format!("Blocking TCP ping-pong p50 within 10% of sockperf's: **{}** ({:.2}x sockperf's round trip).", verdict(o50 <= 1.1 * t50), o50 / t50));
            }
        } else {
            writeln!(
                md,
                "| {proto} | {o50:.1} | {o99:.1} | skipped | skipped | |"
            )?;
        }
    }
    Ok(())
}

/// The median of the rounds (there is at least one).
fn median(mut rounds: Vec<f64>) -> f64 {
    Spread::of(&mut rounds).map_or(f64::NAN, |s| s.median)
}

/// A server binary of the course on a port the kernel picks; killed when dropped. Its
/// narration goes nowhere: nobody reads it during a benchmark.
fn start(bin: &Path) -> Result<ServerProcess> {
    let mut cmd = Command::new(bin);
    cmd.args(["server", "--addr", "127.0.0.1:0"])
        .stderr(Stdio::null());
    spawn_server(&mut cmd, START_LIMIT).with_context(|| format!("starting {}", bin.display()))
}

/// The course's own ping: (p50, p99) round trips in µs.
fn our_ping(bin: &Path, addr: &str, count: u32) -> Result<(f64, f64)> {
    let text = output(Command::new(bin).args([
        "ping",
        "--addr",
        addr,
        "--count",
        &count.to_string(),
        "--size",
        "64",
    ]))?;
    Ok((
        number_after(&text, "p50").context("no p50")?,
        number_after(&text, "p99").context("no p99")?,
    ))
}
