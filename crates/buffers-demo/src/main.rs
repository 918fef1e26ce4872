//! `buffers-demo`: chapter 3's binary, socket buffers. Run `cargo run -p buffers-demo` for the
//! narrated tour; `server`/`client` for an iperf-like bulk transfer; `sweep` for the table and
//! chart; `compare-iperf3` to measure against iperf3 itself, if it is installed.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command as Process, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use buffers_demo::bulk::{self, Amount};
use buffers_demo::sweep;
use clap::{Parser, Subcommand};
use socklab_support::{Narrator, cli};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 3: socket buffers (SO_RCVBUF/SO_SNDBUF), measured",
    long_about = "Chapter 3 of socklab: socket buffers. With no arguments, runs a narrated tour: \
                  defaults and limits, what the kernel does to the size you set, inheritance \
                  and autotuning, bytes in flight, and throughput against buffer size.",
    after_help = "Examples:\n  \
        cargo run -p buffers-demo\n  \
        cargo run --release -p buffers-demo -- server --addr 127.0.0.1:5201\n  \
        cargo run --release -p buffers-demo -- client --addr 127.0.0.1:5201 --time 5s\n  \
        cargo run --release -p buffers-demo -- sweep --svg book/src/img/buffers-sweep.svg\n  \
        cargo run --release -p buffers-demo -- compare-iperf3 --time 5s"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

/// A buffer size in bytes, at least 1 and at most 1 GiB.
fn buffer_size(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=1 << 30).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a buffer size in bytes (1 to 1073741824)"
        )),
    }
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo,
    /// A bulk sink: reads and discards each connection's bytes, then reports the count.
    Server {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
        /// SO_RCVBUF/SO_SNDBUF for accepted sockets (set on the listener); default: autotuned.
        #[arg(long, value_parser = buffer_size)]
        buffer: Option<usize>,
    },
    /// A bulk sender: pushes bytes for a time and reports the throughput.
    Client {
        /// The sink's address.
        #[arg(long)]
        addr: SocketAddr,
        /// How long to send.
        #[arg(long, default_value = "3s", value_parser = cli::parse_duration)]
        time: Duration,
        /// Bytes per write() call.
        #[arg(long, default_value_t = 128 * 1024, value_parser = buffer_size)]
        write_size: usize,
        /// SO_SNDBUF/SO_RCVBUF for the client socket; default: autotuned.
        #[arg(long, value_parser = buffer_size)]
        buffer: Option<usize>,
    },
    /// Throughput for several buffer sizes and write sizes: a table, and an SVG chart.
    Sweep {
        /// Bytes moved per measurement.
        #[arg(long, default_value_t = 128 << 20)]
        bytes: u64,
        /// Write the chart to this SVG file.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Rounds per point; the median is kept.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
        rounds: u16,
    },
    /// Runs iperf3 and this chapter's bulk client for the same time, and prints the ratio.
    CompareIperf3 {
        /// How long each transfer runs (whole seconds).
        #[arg(long, default_value = "2s", value_parser = cli::parse_duration)]
        time: Duration,
        /// How many alternating rounds of each.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
        rounds: u16,
        /// SO_SNDBUF/SO_RCVBUF for both tools (iperf3's -w); default: autotuned.
        #[arg(long, value_parser = buffer_size)]
        buffer: Option<usize>,
    },
}

fn main() -> ExitCode {
    cli::run("buffers-demo", || {
        match Args::parse().command.unwrap_or(Command::Demo) {
            Command::Demo => Ok(buffers_demo::demo::run(&Narrator::stdout())?),
            Command::Server { addr, buffer } => {
                let listener = listen(addr, buffer)?;
                println!("listening on {}", listener.local_addr()?);
                let log = Narrator::stdout();
                for stream in listener.incoming() {
                    match stream
                        .and_then(|s| Ok((s.peer_addr()?, s)))
                        .and_then(|(peer, s)| Ok((peer, bulk::sink_one(s)?)))
                    {
                        Ok((peer, n)) => log.step("sink", &format!("{peer}: {n} bytes")),
                        Err(e) => log.step("sink", &format!("connection failed: {e}")),
                    }
                }
                Ok(())
            }
            Command::Client {
                addr,
                time,
                write_size,
                buffer,
            } => {
                let t = bulk::send(addr, write_size, Amount::Time(time), buffer)
                    .with_context(|| format!("bulk transfer to {addr}"))?;
                println!(
                    "{} bytes in {:.2?}: {:.2} Gbit/s",
                    t.bytes,
                    t.elapsed,
                    t.gbit_per_sec()
                );
                Ok(())
            }
            Command::Sweep { bytes, svg, rounds } => {
                let buffers = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096].map(|k| Some(k * 1024));
                let mut all: Vec<Option<usize>> = buffers.to_vec();
                all.push(None);
                let points =
                    sweep::sweep(&all, &[1024, 16 * 1024, 128 * 1024], bytes, rounds.into())?;
                print!("{}", sweep::table(&points));
                if let Some(path) = svg {
                    let chart =
                        sweep::svg_chart(&points, "Loopback TCP throughput vs buffer size")?;
                    std::fs::write(&path, chart)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("chart written to {}", path.display());
                }
                Ok(())
            }
            Command::CompareIperf3 {
                time,
                rounds,
                buffer,
            } => compare_iperf3(time, rounds.into(), buffer),
        }
    })
}

fn listen(addr: SocketAddr, buffer: Option<usize>) -> anyhow::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    if let Some(size) = buffer {
        socket.set_recv_buffer_size(size)?;
        socket.set_send_buffer_size(size)?;
    }
    socket
        .bind(&addr.into())
        .with_context(|| format!("cannot listen on {addr}"))?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// Runs iperf3 (server and client, single stream, loopback) and our bulk pair for the same
/// time, alternating for `rounds` rounds, and prints the medians, the spread and the ratio.
/// Loopback throughput on a shared machine swings by a third from run to run, so one run of
/// each proves nothing; alternating spreads any drift over both.
fn compare_iperf3(time: Duration, rounds: usize, buffer: Option<usize>) -> anyhow::Result<()> {
    if Process::new("iperf3").arg("--version").output().is_err() {
        println!("skipped: iperf3 is not installed (Debian/Ubuntu: apt-get install iperf3)");
        return Ok(());
    }
    let secs = time.as_secs().max(1);
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    let sink = bulk::sink_with_buffer(buffer)?;
    for round in 1..=rounds.max(1) {
        let t = iperf3_once(secs, buffer)?;
        let o = bulk::send(
            sink,
            128 * 1024,
            Amount::Time(Duration::from_secs(secs)),
            buffer,
        )?
        .bytes_per_sec()
            * 8.0;
        println!(
            "round {round}: iperf3 {:.2} Gbit/s, buffers-demo {:.2} Gbit/s",
            t / 1e9,
            o / 1e9
        );
        theirs.push(t);
        ours.push(o);
    }
    let (t, o) = (Spread::of(&mut theirs), Spread::of(&mut ours));
    println!(
        "iperf3 (1 stream, 128 KiB writes): median {:.2} Gbit/s (min {:.2}, max {:.2})",
        t.median / 1e9,
        t.min / 1e9,
        t.max / 1e9
    );
    println!(
        "buffers-demo bulk (same):          median {:.2} Gbit/s (min {:.2}, max {:.2})",
        o.median / 1e9,
        o.min / 1e9,
        o.max / 1e9
    );
    println!(
        "ratio of medians: {:.1}% of iperf3 (goal: at least 90%)",
        100.0 * o.median / t.median
    );
    // One line for scripts (`cargo xtask bench` reads it).
    println!(
        "RESULT iperf3_median={:.4} iperf3_min={:.4} iperf3_max={:.4} ours_median={:.4} ours_min={:.4} ours_max={:.4}",
        t.median / 1e9,
        t.min / 1e9,
        t.max / 1e9,
        o.median / 1e9,
        o.min / 1e9,
        o.max / 1e9
    );
    Ok(())
}

/// Median, minimum and maximum of some measurements.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(values: &mut [f64]) -> Self {
        values.sort_by(f64::total_cmp);
        Self {
            median: values[values.len() / 2],
            min: values[0],
            max: values[values.len() - 1],
        }
    }
}

/// One iperf3 run of `secs` seconds: a one-off server and a client; returns bits per second
/// as the receiver saw them.
fn iperf3_once(secs: u64, buffer: Option<usize>) -> anyhow::Result<f64> {
    // iperf3 cannot report a port the kernel chose, so ask for a free one and hand it over.
    // Another process could take it in between; then iperf3 fails and says so.
    let port = TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port()
        .to_string();
    let mut server = Process::new("iperf3")
        .args(["-s", "-1", "--forceflush", "-B", "127.0.0.1", "-p", &port])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting iperf3 -s")?;
    let out = server.stdout.take().context("iperf3 stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let ready = (0..50).any(|_| {
        rx.recv_timeout(Duration::from_millis(100))
            .is_ok_and(|l| l.contains("listening"))
    });
    if !ready {
        let _ = server.kill();
        bail!("iperf3 -s did not start listening on port {port}");
    }
    let mut client = Process::new("iperf3");
    client.args([
        "-c",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        &secs.to_string(),
        "-J",
    ]);
    if let Some(size) = buffer {
        client.args(["-w", &size.to_string()]);
    }
    let client = client.output().context("running iperf3 -c")?;
    let _ = server.wait();
    let json = String::from_utf8_lossy(&client.stdout);
    received_bits_per_second(&json).context("no sum_received in iperf3's JSON")
}

/// The receiver-side throughput from iperf3's `-J` output: the `bits_per_second` inside
/// `"sum_received"`. A targeted look-up rather than a JSON parser, for one number.
fn received_bits_per_second(json: &str) -> Option<f64> {
    let section = &json[json.find("\"sum_received\"")?..];
    let after = &section[section.find("\"bits_per_second\"")? + "\"bits_per_second\"".len()..];
    let number: String = after
        .trim_start_matches([':', ' ', '\t'])
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        .collect();
    number.parse().ok()
}
