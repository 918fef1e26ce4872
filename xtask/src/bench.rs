//! `cargo xtask bench`: every measurement of the course against the tool a reader would use
//! instead, in one run, with medians and spreads, written to `book/src/benchmarks/`.
//!
//! - Bulk throughput: chapter 3's bulk pair against `iperf3` (one stream, 128 KiB writes), at
//!   default buffers and two fixed sizes.
//! - Round-trip latency: chapter 1's blocking TCP pair and chapter 2's UDP pair against
//!   `sockperf ping-pong`, p50 and p99. sockperf reports *one-way* latency (half the round
//!   trip); its figures are doubled here so that both columns are round trips.
//! - Echo requests/s at 1 to 10,000 connections: chapter 7's `models` benchmark (threads,
//!   select, poll, epoll, tokio).
//!
//! A peer that is not installed is reported as skipped, with the command to install it. With
//! `--quick` every measurement runs once, briefly: a smoke test that the harness works, part
//! of `test-all`, which fails if any of the course's own figures is missing.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// How a `cargo xtask bench` run is shaped.
pub struct Options {
    /// One short round of everything.
    pub quick: bool,
    /// Where results.md and the charts go.
    pub out: PathBuf,
}

/// A measured figure with its spread: (median, min, max).
type Figure = (f64, f64, f64);

fn median(mut v: Vec<f64>) -> Figure {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A free loopback port, for peers that cannot be told to pick one (iperf3, sockperf). The
/// port could be taken in between; the peer then fails and says so.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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

/// A server binary of the course, started on port 0; killed when dropped.
struct Server(Child, String);

impl Server {
    fn start(bin: &Path, args: &[&str]) -> Result<Self> {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        let addr = line
            .split_whitespace()
            .nth(2)
            .context("no `listening on ADDR` line")?
            .to_string();
        Ok(Server(child, addr))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A sockperf server on a free port; killed when dropped. Waits until it accepts (TCP) or
/// for a moment (UDP, which cannot be probed without disturbing it).
fn sockperf_server(tcp: bool) -> Result<(Server, u16)> {
    let port = free_port()?;
    let mut cmd = Command::new("sockperf");
    cmd.args(["server", "-i", "127.0.0.1", "-p", &port.to_string()]);
    if tcp {
        cmd.arg("--tcp");
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting sockperf server")?;
    let server = Server(child, format!("127.0.0.1:{port}"));
    for _ in 0..50 {
        if !tcp || TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50)); // Polling for the server to listen.
    }
    if !tcp {
        std::thread::sleep(Duration::from_millis(300)); // UDP: nothing to probe.
    }
    Ok((server, port))
}

/// sockperf ping-pong: (p50, p99) *round trips* in µs (its one-way figures doubled).
fn sockperf_ping(port: u16, tcp: bool, seconds: u32) -> Result<(f64, f64)> {
    let mut cmd = Command::new("sockperf");
    cmd.args([
        "ping-pong",
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-m",
        "64",
        "-t",
        &seconds.to_string(),
    ]);
    if tcp {
        cmd.arg("--tcp");
    }
    let text = output(&mut cmd)?;
    let p50 = number_after(&text, "percentile 50.000").context("no p50 in sockperf's output")?;
    let p99 = number_after(&text, "percentile 99.000").context("no p99 in sockperf's output")?;
    Ok((2.0 * p50, 2.0 * p99))
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
    super::run(build)?;
    let bin = |name: &str| {
        root.join("target/release")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    };
    let (rounds, seconds) = if opts.quick { (1usize, 1u32) } else { (5, 2) };
    let mut md = String::new();
    let mut missing = Vec::new();
    let mut goals = Vec::new();

    // Bulk throughput against iperf3.
    writeln!(md, "## Bulk throughput: chapter 3 against iperf3\n")?;
    writeln!(
        md,
        "One stream, 128 KiB writes, {seconds} s per run, {rounds} alternating round(s); Gbit/s, median (min to max).\n"
    )?;
    if installed("iperf3") {
        writeln!(
            md,
            "| buffers | iperf3 | buffers-demo | ratio |\n|---|---:|---:|---:|"
        )?;
        for buffer in [None, Some(64 * 1024), Some(1024 * 1024)] {
            let mut cmd = Command::new(bin("buffers-demo"));
            cmd.args([
                "compare-iperf3",
                "--time",
                &format!("{seconds}s"),
                "--rounds",
                &rounds.to_string(),
            ]);
            if let Some(b) = buffer {
                cmd.args(["--buffer", &b.to_string()]);
            }
            let text = output(&mut cmd)?;
            let f = |k: &str| {
                number_after(&text, k).with_context(|| format!("no {k} in compare-iperf3's output"))
            };
            let (t, o) = (
                (f("iperf3_median")?, f("iperf3_min")?, f("iperf3_max")?),
                (f("ours_median")?, f("ours_min")?, f("ours_max")?),
            );
            let label = buffer.map_or("default (autotuned)".to_string(), |b| {
                format!("{} KiB", b / 1024)
            });
            writeln!(
                md,
                "| {label} | {:.2} ({:.2} to {:.2}) | {:.2} ({:.2} to {:.2}) | {:.0}% |",
                t.0,
                t.1,
                t.2,
                o.0,
                o.1,
                o.2,
                100.0 * o.0 / t.0
            )?;
            if buffer.is_none() {
                goals.push(format!(
                    "Bulk throughput at default buffers at least 90% of iperf3's: **{}** ({:.0}%).",
                    verdict(o.0 >= 0.9 * t.0),
                    100.0 * o.0 / t.0
                ));
            }
        }
    } else {
        missing.push("iperf3 (apt-get install iperf3)");
        writeln!(
            md,
            "Skipped: iperf3 is not installed (`apt-get install iperf3`)."
        )?;
    }

    // Round-trip latency against sockperf.
    writeln!(
        md,
        "\n## Round-trip latency: chapters 1 and 2 against sockperf\n"
    )?;
    writeln!(
        md,
        "64-byte messages, ping-pong on one connection; round trips in µs, median of {rounds} round(s). sockperf's one-way figures are doubled.\n"
    )?;
    let count = if opts.quick { 2000 } else { 20_000 };
    let tcp = Server::start(&bin("tcp-demo"), &["server", "--addr", "127.0.0.1:0"])?;
    let udp = Server::start(&bin("udp-demo"), &["server", "--addr", "127.0.0.1:0"])?;
    let have_sockperf = installed("sockperf");
    if !have_sockperf {
        missing.push("sockperf (apt-get install sockperf)");
    }
    writeln!(
        md,
        "| protocol | course p50 | course p99 | sockperf p50 | sockperf p99 | p50 ratio |\n|---|---:|---:|---:|---:|---:|"
    )?;
    for (proto, ours_bin, addr) in [("TCP", "tcp-demo", &tcp.1), ("UDP", "udp-demo", &udp.1)] {
        let (mut o50, mut o99, mut t50, mut t99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (a, b) = our_ping(&bin(ours_bin), addr, count)?;
            o50.push(a);
            o99.push(b);
            if have_sockperf {
                let (server, port) = sockperf_server(proto == "TCP")?;
                let (a, b) = sockperf_ping(port, proto == "TCP", seconds)?;
                drop(server);
                t50.push(a);
                t99.push(b);
            }
        }
        let (o50, o99) = (median(o50).0, median(o99).0);
        if have_sockperf {
            let (t50, t99) = (median(t50).0, median(t99).0);
            writeln!(
                md,
                "| {proto} | {o50:.1} | {o99:.1} | {t50:.1} | {t99:.1} | {:.2} |",
                o50 / t50
            )?;
            if proto == "TCP" {
                goals.push(format!("Blocking TCP ping-pong p50 within 10% of sockperf's: **{}** ({:.2}x sockperf's round trip).", verdict(o50 <= 1.1 * t50), o50 / t50));
            }
        } else {
            writeln!(
                md,
                "| {proto} | {o50:.1} | {o99:.1} | skipped | skipped | |"
            )?;
        }
    }
    drop((tcp, udp));

    // Echo requests/s per model (chapter 7's benchmark writes models.md, models.svg, models.tsv).
    let mut models = cargo();
    models
        .args([
            "bench",
            "-p",
            "multiplex-demo",
            "--bench",
            "models",
            "--",
            "--out",
        ])
        .arg(&out);
    if opts.quick {
        models.arg("--quick");
    }
    super::run(models)?;
    let tsv = std::fs::read_to_string(out.join("models.tsv")).context("models.tsv")?;
    goals.extend(model_goals(&tsv, opts.quick));

    let machine = machine();
    let mut page = format!(
        "# Benchmark results\n\nWritten by `cargo xtask bench{}` on {} ({machine}). Absolute figures vary \
         between machines and runs; the ratios, taken in one run, are what to compare.\n\n## Goals\n\n",
        if opts.quick { " --quick" } else { "" },
        today()
    );
    for g in &goals {
        writeln!(page, "- {g}")?;
    }
    if !missing.is_empty() {
        writeln!(
            page,
            "- Not measured, peer missing: {}.",
            missing.join(", ")
        )?;
    }
    // The page is regenerated on every run, so the analysis of missed goals lives in the
    // hand-written chapters; point at it.
    page += "\nWhat the figures mean, and what was tried where a goal is missed: \
             [chapter 3](../ch03-buffers.md) for throughput, \
             [chapter 7](../ch07-multiplex.md#measurements-every-model-side-by-side) for the \
             I/O models.\n\n";
    page += &md;
    page += "\n## Echo requests/s per model (chapter 7)\n\n{{#include models.md}}\n\n![requests/s against connections](models.svg)\n";
    std::fs::write(out.join("results.md"), page)?;
    eprintln!("xtask: wrote {}", out.join("results.md").display());
    if opts.quick && goals.iter().any(|g| g.contains("no figure")) {
        bail!("some of the course's own figures are missing");
    }
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

/// The chapter 7 goals, checked against the models table: epoll at least tokio
/// current-thread's requests/s at every count with p99 no worse; epoll at 10,000 within 20% of
/// its figure at 100.
fn model_goals(tsv: &str, quick: bool) -> Vec<String> {
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let get = |model: &str, c: &str| {
        rows.iter()
            .find(|r| r.first() == Some(&model) && r.get(1) == Some(&c))
    };
    let num = |r: &Vec<&str>, i: usize| r.get(i).and_then(|v| v.parse::<f64>().ok());
    let mut goals = Vec::new();
    let counts: Vec<&str> = if quick {
        vec!["1", "100"]
    } else {
        vec!["1", "100", "1000", "10000"]
    };
    let mut parts = Vec::new();
    let mut met = true;
    for c in &counts {
        match (get("epoll", c), get("tokio current-thread", c)) {
            (Some(e), Some(t)) => {
                let (er, tr) = (num(e, 2).unwrap_or(0.0), num(t, 2).unwrap_or(f64::MAX));
                let (ep, tp) = (num(e, 4).unwrap_or(f64::MAX), num(t, 4).unwrap_or(0.0));
                met &= er >= tr && ep <= tp;
                parts.push(format!(
                    "C={c}: {:.2}x requests/s, p99 {:.2}x",
                    er / tr,
                    ep / tp
                ));
            }
            _ => {
                met = false;
                parts.push(format!("C={c}: no figure"));
            }
        }
    }
    goals.push(format!(
        "epoll at least matches tokio current-thread, p99 no worse: **{}** ({}).",
        verdict(met),
        parts.join("; ")
    ));
    if let (false, Some(a), Some(b)) = (quick, get("epoll", "100"), get("epoll", "10000")) {
        let ratio = num(b, 2).unwrap_or(0.0) / num(a, 2).unwrap_or(f64::MAX);
        goals.push(format!(
            "epoll at 10,000 connections within 20% of its figure at 100: **{}** ({:.0}%).",
            verdict(ratio >= 0.8),
            100.0 * ratio
        ));
    }
    goals
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
fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
