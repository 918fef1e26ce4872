//! `buffers-demo`: chapter 3's binary, socket buffers. Run `cargo run -p buffers-demo` for the
//! narrated tour; `server`/`client` for an iperf-like bulk transfer; `sweep` for the table and
//! chart; `compare-iperf3` to measure against iperf3 itself, if it is installed; `demo --wire`
//! for the bandwidth-delay product on the wire lab. The lesson lives in the library; this file
//! only parses arguments and calls it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use buffers_demo::bulk::{self, Amount, Sink};
use buffers_demo::{compare, sweep};
use clap::{Parser, Subcommand};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, cli};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 3: socket buffers (SO_RCVBUF/SO_SNDBUF), measured",
    long_about = "Chapter 3 of socklab: socket buffers. With no arguments, runs a narrated tour: \
                  defaults and limits, what the kernel does to the size you set, inheritance \
                  and autotuning, bytes in flight, and throughput against buffer size. With \
                  `demo --wire`, the bandwidth-delay product on the wire lab, the window read \
                  off the wire.",
    after_help = "Examples:\n  \
        cargo run -p buffers-demo\n  \
        cargo run -p buffers-demo -- demo --wire --pcap bdp.pcap\n  \
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
    Demo {
        /// Run transfers over the wire lab instead (two network namespaces and a recorded
        /// link of 100 Mbit/s with a round trip of 40 ms; Linux): fixed buffers against
        /// autotuning, each followed by its first packets and its largest window.
        #[arg(long)]
        wire: bool,
        /// With --wire, also save the packets shown to FILE (pcap: `tcpdump -nr FILE`).
        #[arg(long, value_name = "FILE", requires = "wire")]
        pcap: Option<PathBuf>,
    },
    /// Look with your OS: a connection with both buffers full, each end seen by `ss -tni`
    /// (its queues, congestion window and round-trip time). The one tool is `ss`.
    Look {
        /// The tool to look with.
        #[arg(value_parser = ["ss"])]
        tool: String,
    },
    /// A bulk sink: reads and discards each connection's bytes, then reports the count.
    Server {
        /// Address to listen on (HOST:PORT, names work); port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// SO_RCVBUF/SO_SNDBUF for accepted sockets (set on the listener); default: autotuned.
        #[arg(long, value_parser = buffer_size)]
        buffer: Option<usize>,
    },
    /// A bulk sender: pushes bytes for a time and reports the throughput.
    Client {
        /// The sink's address (HOST:PORT).
        #[arg(long, value_parser = cli::parse_addr)]
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
        let demo = Command::Demo {
            wire: false,
            pcap: None,
        };
        match Args::parse().command.unwrap_or(demo) {
            Command::Demo { wire: false, .. } => buffers_demo::demo::run(&Narrator::stdout())?,
            Command::Demo { wire: true, pcap } => {
                // Without root, become root of a user namespace of our own, which the kernel
                // allows only while the process has one thread: now, before anything starts
                // one. If it fails, the lab says why below.
                let _ = socklab_wire::enter_user_namespace();
                buffers_demo::wire::demo(&Narrator::stdout(), pcap.as_deref())?;
            }
            Command::Look { .. } => {
                buffers_demo::look::queues(&Narrator::stdout()).context("look failed")?;
            }
            Command::Server { addr, buffer } => {
                let listener = bulk::listen(addr, buffer)
                    .with_context(|| format!("cannot listen on {addr}"))?;
                // Ctrl-C and SIGTERM ask the sink to stop: it prints its counters, exits 0.
                let stop = Stop::on_signals().context("cannot install the signal handlers")?;
                let sink = Sink::new(listener).with_stop(stop);
                println!("listening on {}", sink.local_addr()?);
                std::io::stdout().flush()?;
                sink.run()?;
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
            }
            Command::Sweep { bytes, svg, rounds } => {
                let points = sweep::sweep(
                    &sweep::standard_buffers(),
                    &sweep::STANDARD_WRITES,
                    bytes,
                    rounds.into(),
                )?;
                print!("{}", sweep::table(&points));
                if let Some(path) = svg {
                    let chart =
                        sweep::svg_chart(&points, "Loopback TCP throughput vs buffer size")?;
                    std::fs::write(&path, chart)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("chart written to {}", path.display());
                }
            }
            Command::CompareIperf3 {
                time,
                rounds,
                buffer,
            } => compare::against_iperf3(time, rounds.into(), buffer, &mut std::io::stdout())?,
        }
        Ok(())
    })
}
