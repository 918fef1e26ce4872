//! `socklab-abuse`: attack your own servers, on this machine only. Every attack is bounded
//! in connections, bytes and time, and refuses any address outside 127.0.0.0/8 and ::1.
//!
//! Try it against the course's servers, e.g. in one terminal
//! `cargo run -p tcp-demo -- server --addr 127.0.0.1:7000` and in another
//! `cargo run -p socklab-abuse -- slowloris --addr 127.0.0.1:7000`.
//!
//! Exit status: 0 when the attack ran (its report says how the server fared); 1 when it could
//! not run (nothing listens at the address, a non-loopback address), and 1 when an attack with
//! a right answer (every byte echoed, intact and in order) did not get it; 2 for bad
//! arguments.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::{Parser, Subcommand};
use socklab_abuse::attacks;
use socklab_support::cli;

#[derive(Parser)]
#[command(
    version,
    about = "Attack your own echo servers (loopback only), each attack bounded in count and time",
    after_help = "Examples:\n  \
        cargo run -p socklab-abuse -- slowloris --addr 127.0.0.1:7000 --connections 50\n  \
        cargo run -p socklab-abuse -- full-duplex --addr 127.0.0.1:7000\n  \
        cargo run -p socklab-abuse -- garbage --addr 127.0.0.1:7000\n  \
        cargo run -p socklab-abuse -- udp-garbage --addr 127.0.0.1:9000"
)]
struct Args {
    #[command(subcommand)]
    attack: Attack,
}

#[derive(Subcommand)]
enum Attack {
    /// Many connections, a byte now and then, never a whole frame.
    Slowloris {
        #[command(flatten)]
        target: Target,
        /// Connections to open.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=5000))]
        connections: u16,
        /// Time between bytes on each connection.
        #[arg(long, default_value = "100ms", value_parser = cli::parse_duration)]
        drip: Duration,
    },
    /// Connections that connect and never send.
    Silent {
        #[command(flatten)]
        target: Target,
        /// Connections to open.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=5000))]
        connections: u16,
    },
    /// Sends echo requests and never reads the replies.
    NoRead {
        #[command(flatten)]
        target: Target,
        /// Most bytes to send.
        #[arg(long, default_value_t = 64 << 20, value_parser = clap::value_parser!(u64).range(1..=(1 << 30)))]
        bytes: u64,
    },
    /// A tiny receive buffer; sends requests, reads the replies a few bytes at a time.
    SlowReader {
        #[command(flatten)]
        target: Target,
        /// Most bytes of requests to send.
        #[arg(long, default_value_t = 16 << 20, value_parser = clap::value_parser!(u64).range(1..=(1 << 30)))]
        bytes: u64,
        /// Send one request of all the bytes, then half-close, and read the reply slowly: for
        /// servers that answer at the client's FIN (chapter 5's).
        #[arg(long)]
        half_close: bool,
    },
    /// Connections that send half a frame and abort with RST.
    ResetStorm {
        #[command(flatten)]
        target: Target,
        /// Connections to reset.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=10000))]
        count: u16,
    },
    /// Random bytes, a 4 GiB length prefix, a truncated frame, an empty frame.
    Garbage {
        #[command(flatten)]
        target: Target,
        /// Seed for the random bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// As many connections as the descriptor limit allows, as fast as possible.
    Flood {
        #[command(flatten)]
        target: Target,
        /// Most connections to open.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=60000))]
        max: u32,
    },
    /// Empty, maximal and random datagrams, for the UDP server.
    UdpGarbage {
        #[command(flatten)]
        target: Target,
        /// Datagrams of each kind.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=10000))]
        count: u16,
        /// How long to wait for each reply; one later than that counts as missing.
        #[arg(long, default_value = "200ms", value_parser = cli::parse_duration)]
        patience: Duration,
    },
    /// One thread writes frames while another reads the echoes, on one connection.
    FullDuplex {
        #[command(flatten)]
        target: Target,
        /// Bytes to send.
        #[arg(long, default_value_t = 16 << 20, value_parser = clap::value_parser!(u64).range(1..=(1 << 30)))]
        bytes: u64,
        /// Payload bytes per frame (the course's servers accept up to 1 MiB).
        #[arg(long, default_value_t = 64 << 10, value_parser = clap::value_parser!(u32).range(1..=(1 << 20)))]
        frame: u32,
    },
    /// Many small frames written back to back before any echo is read.
    Pipelining {
        #[command(flatten)]
        target: Target,
        /// Frames to send.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        frames: u32,
        /// Payload bytes per frame.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(0..=65536))]
        size: u32,
    },
    /// Whole frames sent one byte per write (TCP_NODELAY), each echo read before the next.
    ByteAtATime {
        #[command(flatten)]
        target: Target,
        /// Frames to send.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        frames: u32,
        /// Payload bytes per frame.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=4096))]
        size: u32,
    },
    /// Complete frames sent without a pause for longer than the server's frame timeout.
    SteadySender {
        /// The server's address: loopback only (127.0.0.0/8 or [::1]).
        #[arg(long)]
        addr: SocketAddr,
        /// How long to keep sending: longer than the server's frame timeout (the course's
        /// servers default to 10 s). The attack waits up to 5 s more for the last echoes.
        #[arg(long = "for", default_value = "12s", value_parser = cli::parse_duration)]
        send_for: Duration,
    },
    /// A long stream of zero-length frames; every one must be echoed, exactly once.
    EmptyFrames {
        #[command(flatten)]
        target: Target,
        /// Frames to send.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        count: u32,
    },
}

/// Where to attack, and for how long at most.
#[derive(clap::Args)]
struct Target {
    /// The server's address: loopback only (127.0.0.0/8 or [::1]).
    #[arg(long)]
    addr: SocketAddr,
    /// The longest the attack may run.
    #[arg(long, default_value = "5s", value_parser = cli::parse_duration)]
    duration: Duration,
}

fn main() -> ExitCode {
    cli::run("socklab-abuse", || {
        let (addr, report) = match Args::parse().attack {
            Attack::Slowloris {
                target: Target { addr, duration },
                connections,
                drip,
            } => (
                addr,
                attacks::slowloris(addr, connections.into(), drip, duration)?,
            ),
            Attack::Silent {
                target: Target { addr, duration },
                connections,
            } => (addr, attacks::silent(addr, connections.into(), duration)?),
            Attack::NoRead {
                target: Target { addr, duration },
                bytes,
            } => (addr, attacks::no_read(addr, bytes as usize, duration)?),
            Attack::SlowReader {
                target: Target { addr, duration },
                bytes,
                half_close,
            } => (
                addr,
                attacks::slow_reader(addr, bytes as usize, half_close, duration)?,
            ),
            Attack::ResetStorm {
                target: Target { addr, duration },
                count,
            } => (addr, attacks::reset_storm(addr, count.into(), duration)?),
            Attack::Garbage {
                target: Target { addr, duration },
                seed,
            } => (addr, attacks::garbage(addr, seed, duration)?),
            Attack::Flood {
                target: Target { addr, duration },
                max,
            } => (addr, attacks::flood(addr, max as usize, duration)?),
            Attack::UdpGarbage {
                target: Target { addr, duration },
                count,
                patience,
            } => (
                addr,
                attacks::udp_garbage(addr, count.into(), 1, patience, duration)?,
            ),
            Attack::FullDuplex {
                target: Target { addr, duration },
                bytes,
                frame,
            } => (
                addr,
                attacks::full_duplex(addr, bytes as usize, frame as usize, duration)?,
            ),
            Attack::Pipelining {
                target: Target { addr, duration },
                frames,
                size,
            } => (
                addr,
                attacks::pipelining(addr, frames as usize, size as usize, duration)?,
            ),
            Attack::ByteAtATime {
                target: Target { addr, duration },
                frames,
                size,
            } => (
                addr,
                attacks::byte_at_a_time(addr, frames as usize, size as usize, duration)?,
            ),
            Attack::SteadySender { addr, send_for } => {
                (addr, attacks::steady_sender(addr, send_for)?)
            }
            Attack::EmptyFrames {
                target: Target { addr, duration },
                count,
            } => (addr, attacks::empty_frames(addr, count as usize, duration)?),
        };
        println!("{report}");
        if let Some(failure) = report.failure {
            bail!("the server at {addr} failed {}: {failure}", report.attack);
        }
        Ok(())
    })
}
