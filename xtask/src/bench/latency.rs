//! Round-trip latency: chapter 1's blocking TCP pair and chapter 2's UDP pair, 64-byte
//! ping-pong on one connection, against `sockperf ping-pong`; p50 and p99 round trips in µs.
//! Each round runs the course's own `ping` client against its server, then sockperf's client
//! against a fresh sockperf server; the medians of the rounds are kept.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use socklab_support::process::{ServerProcess, spawn_server};
use socklab_support::stats::Spread;

use super::data::Latency;
use super::{number_after, output, peers};

/// How long a server of the course may take to print its `listening on ADDR` line.
const START_LIMIT: Duration = Duration::from_secs(30);

/// Measures the latency rows; without sockperf, the course's own figures are still measured
/// and the peer is added to `missing`.
pub fn measure(
    bin: &dyn Fn(&str) -> PathBuf,
    rounds: usize,
    seconds: u32,
    count: u32,
    missing: &mut Vec<String>,
) -> Result<Vec<Latency>> {
    let tcp = start(&bin("tcp-demo"))?;
    let udp = start(&bin("udp-demo"))?;
    let have_sockperf = peers::installed("sockperf");
    if !have_sockperf {
        missing.push("sockperf (apt-get install sockperf)".into());
    }
    let mut rows = Vec::new();
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
        rows.push(Latency {
            proto: proto.to_string(),
            ours: (median(o50), median(o99)),
            sockperf: have_sockperf.then(|| (median(t50), median(t99))),
        });
    }
    Ok(rows)
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
