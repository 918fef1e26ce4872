//! `nonblocking-demo`: chapter 4's binary, and the course's front door. Run
//! `cargo run -p nonblocking-demo` for the narrated tour, or one experiment with its knobs,
//! e.g. `cargo run -p nonblocking-demo -- spin --wait 2s`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::{Parser, Subcommand};
use socklab_support::Narrator;
use socklab_support::cli::{self, bytes};

use nonblocking_demo::{accept, connect, interleave, interrupt, loopback_pair, read, spin, write};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 4: blocking vs non-blocking sockets",
    long_about = "Chapter 4 of socklab: blocking vs non-blocking sockets. With no arguments, runs \
                  a narrated tour (about three seconds): parked reads, WouldBlock, partial \
                  writes, EINPROGRESS, EINTR, the cost of spinning, and a one-thread loop.",
    after_help = "Examples:\n  \
        cargo run -p nonblocking-demo\n  \
        cargo run -p nonblocking-demo -- read --wait 2s\n  \
        cargo run -p nonblocking-demo -- write --chunk 100000\n  \
        cargo run -p nonblocking-demo -- interleave --peers 50 --bytes 100000"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo,
    /// A blocking read that waits, then a non-blocking read that does not.
    Read {
        /// How long the writer keeps the blocking reader waiting.
        #[arg(long, default_value = "1s", value_parser = cli::parse_duration)]
        wait: Duration,
    },
    /// Fill the buffers with non-blocking writes until WouldBlock.
    Write {
        /// Bytes offered per write() call.
        #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u32).range(1..=(64 << 20)))]
        chunk: u32,
    },
    /// A non-blocking connect, to a listening port and to a closed one.
    Connect {
        /// How long to wait for the handshake.
        #[arg(long, default_value = "5s", value_parser = cli::parse_duration)]
        timeout: Duration,
    },
    /// A non-blocking accept, and whether O_NONBLOCK is inherited.
    Accept,
    /// Interrupt a blocking read with a signal (EINTR) and retry it.
    Interrupt,
    /// Compare the CPU time of spinning on WouldBlock with blocking.
    Spin {
        /// How long each reader waits for its byte.
        #[arg(long, default_value = "1s", value_parser = cli::parse_duration)]
        wait: Duration,
    },
    /// Serve several echo connections on one thread by polling them in turn.
    Interleave {
        /// Number of client connections.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=500))]
        peers: u16,
        /// Bytes each client sends and expects back.
        #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(u32).range(1..=(64 << 20)))]
        bytes: u32,
    },
}

fn main() -> ExitCode {
    cli::run("nonblocking-demo", || {
        match Args::parse().command.unwrap_or(Command::Demo) {
            Command::Demo => nonblocking_demo::demo::run(&Narrator::stdout())?,
            Command::Read { wait } => {
                let blocked = read::blocking_read(wait).context("blocking read")?;
                println!(
                    "blocking read: waited {:.1?}, thread state while waiting: {}",
                    blocked.waited,
                    blocked
                        .state_while_waiting
                        .map_or("not shown on this OS".into(), String::from)
                );
                let (err, took) = read::nonblocking_read().context("non-blocking read")?;
                println!(
                    "non-blocking read: {:?} ({err}) after {took:.1?}",
                    err.kind()
                );
            }
            Command::Write { chunk } => {
                let (mut writer, _peer) = loopback_pair()?;
                writer.set_nonblocking(true)?;
                let fill = write::fill_until_would_block(&mut writer, chunk as usize)?;
                println!(
                    "{} writes of {chunk} bytes; kernel took {}; short write: {:?}; then WouldBlock",
                    fill.calls,
                    bytes(fill.accepted as u64),
                    fill.short_write
                );
            }
            Command::Connect { timeout } => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
                let ok = connect::connect_nonblocking(listener.local_addr()?, timeout)?;
                println!(
                    "listening port: first call {:?}, outcome {:?}",
                    ok.first_call, ok.outcome
                );
                let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
                let refused = connect::connect_nonblocking(closed, timeout)?;
                println!(
                    "closed port:    first call {:?}, outcome {:?}",
                    refused.first_call, refused.outcome
                );
            }
            Command::Accept => {
                let report = accept::accept_nonblocking()?;
                println!("empty queue: {:?}", report.empty_queue.kind());
                println!(
                    "accepted socket non-blocking: {}",
                    report.accepted_is_nonblocking
                );
            }
            Command::Interrupt => {
                let report = interrupt::interrupted_read()?;
                println!(
                    "interrupted {} time(s), then read {:?}",
                    report.interruptions,
                    String::from_utf8_lossy(&report.got)
                );
            }
            Command::Spin { wait } => {
                let cost = spin::spin_vs_block(wait)?;
                println!(
                    "spinning: {} reads, {:.1?} CPU in {:.1?}",
                    cost.spins, cost.spinning, cost.wall
                );
                println!(
                    "blocking: 1 read, {:.1?} CPU in {:.1?}",
                    cost.blocking, cost.wall
                );
            }
            Command::Interleave { peers, bytes: each } => {
                let report =
                    interleave::interleave(peers.into(), each as usize, Duration::from_secs(60))?;
                let intact = report.digests.iter().all(|[sent, got]| sent == got);
                ensure!(intact, "some echo came back different");
                println!(
                    "{} peers x {}: {} rounds, {} WouldBlocks, all intact",
                    report.peers,
                    bytes(report.bytes_each as u64),
                    report.rounds,
                    report.would_blocks
                );
            }
        }
        Ok(())
    })
}
