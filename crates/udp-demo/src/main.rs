//! `udp-demo`: chapter 2's binary, UDP. Run `cargo run -p udp-demo` for the narrated tour, or
//! `server` and `client` in two terminals (try `server --drop 0.3`; Ctrl-C stops it cleanly),
//! or `demo --wire` to see the datagrams on a link that loses, reorders and fragments.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::{Parser, Subcommand};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, cli};
use udp_demo::echo::{Faults, Server};
use udp_demo::reliable::Client;

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 2: UDP datagrams, boundaries, truncation, loss and reliability",
    long_about = "Chapter 2 of socklab: UDP. With no arguments, runs a narrated tour of \
                  datagram echo, boundaries, truncation, size limits, loss, connected UDP and \
                  retries. With `demo --wire`, the retries, fragments and IP_MTU_DISCOVER on \
                  the wire lab, a link that loses and reorders, every packet shown.",
    after_help = "Examples:\n  \
        cargo run -p udp-demo\n  \
        cargo run -p udp-demo -- demo --wire --pcap bad-link.pcap\n  \
        cargo run -p udp-demo -- server --addr 127.0.0.1:9000 --drop 0.3\n  \
        cargo run -p udp-demo -- client --addr 127.0.0.1:9000 --count 100"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

/// A fraction between 0 and 1, for the fault-injection flags.
fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("`{text}` is not a fraction between 0 and 1")),
    }
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo {
        /// Run the bad-link experiments on the wire lab instead (two network namespaces and a
        /// recorded link that loses, reorders and fragments; Linux), each followed by its
        /// packets in tcpdump's notation.
        #[arg(long)]
        wire: bool,
        /// With --wire, also save the packets shown to FILE (pcap: `tcpdump -nr FILE`).
        #[arg(long, value_name = "FILE", requires = "wire")]
        pcap: Option<PathBuf>,
    },
    /// A datagram echo server, optionally dropping and duplicating on purpose.
    Server {
        /// Address to bind (HOST:PORT, names work); port 0 picks a free port. Use [::1]:0 for
        /// IPv6.
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Fraction of requests to ignore, as if lost.
        #[arg(long, default_value = "0", value_parser = fraction)]
        drop: f64,
        /// Fraction of replies to send twice.
        #[arg(long, default_value = "0", value_parser = fraction)]
        duplicate: f64,
        /// Seed for the fault choices.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measures request/response round-trip latency against the server: p50 and p99.
    Ping {
        /// The server's address.
        #[arg(long, value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Round trips to make.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        count: u32,
        /// Payload bytes per request.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=65_000))]
        size: u32,
    },
    /// Sends numbered requests with timeouts and retries, and checks every reply.
    Client {
        /// The server's address.
        #[arg(long, value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Requests to send.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        count: u32,
        /// How long to wait for each reply before retrying.
        #[arg(long, default_value = "200ms", value_parser = cli::parse_duration)]
        timeout: Duration,
        /// Tries per request before giving up.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
        tries: u32,
    },
}

fn main() -> ExitCode {
    cli::run("udp-demo", || {
        let demo = Command::Demo {
            wire: false,
            pcap: None,
        };
        match Args::parse().command.unwrap_or(demo) {
            Command::Demo { wire: false, .. } => {
                Ok(udp_demo::demo::run(&Arc::new(Narrator::stdout()))?)
            }
            Command::Demo { wire: true, pcap } => {
                // Without root, become root of a user namespace of our own, which the kernel
                // allows only while the process has one thread: now, before anything starts
                // one. If it fails, the lab says why below.
                let _ = socklab_wire::enter_user_namespace();
                Ok(udp_demo::wire::demo(&Narrator::stdout(), pcap.as_deref())?)
            }
            Command::Server {
                addr,
                drop,
                duplicate,
                seed,
            } => {
                let socket =
                    UdpSocket::bind(addr).with_context(|| format!("cannot bind {addr}"))?;
                let faults = Faults {
                    drop,
                    duplicate,
                    seed,
                };
                // Ctrl-C and SIGTERM ask the server to stop: it prints its counters, exits 0.
                let stop = Stop::on_signals().context("cannot install the signal handlers")?;
                let server = Server::new(socket, faults).with_stop(stop);
                println!("listening on {}", server.local_addr()?);
                std::io::stdout().flush()?;
                Ok(server.run()?)
            }
            Command::Ping { addr, count, size } => {
                let mut client = Client::new(addr, Duration::from_secs(1), 5)
                    .context("cannot start the client")?;
                let payload = vec![0x70u8; size as usize];
                let mut times = Vec::with_capacity(count as usize);
                for i in 0..count {
                    let t = std::time::Instant::now();
                    client
                        .request(&payload)
                        .with_context(|| format!("request {i} to {addr}"))?;
                    times.push(t.elapsed());
                }
                let (p50, p99) = cli::percentiles_us(&mut times);
                println!("{count} round trips of {size} bytes: p50 {p50:.1} µs, p99 {p99:.1} µs");
                Ok(())
            }
            Command::Client {
                addr,
                count,
                timeout,
                tries,
            } => {
                let mut client =
                    Client::new(addr, timeout, tries).context("cannot start the client")?;
                for i in 0..count {
                    let reply = client
                        .request(&i.to_be_bytes())
                        .with_context(|| format!("request {i} to {addr}"))?;
                    ensure!(
                        reply == i.to_be_bytes(),
                        "request {i}: the reply does not match"
                    );
                }
                let s = client.stats;
                println!(
                    "{} requests answered; {} retries; {} stale replies discarded",
                    s.completed, s.retries, s.stale_replies
                );
                Ok(())
            }
        }
    })
}
