//! `socklab-abuse`: attack your own servers, on this machine only. Every attack is bounded
//! in connections, bytes and time, and refuses any address outside 127.0.0.0/8 and ::1.
//!
//! Try it against the course's servers, e.g. in one terminal
//! `cargo run -p tcp-demo -- server --addr 127.0.0.1:7000` and in another
//! `cargo run -p socklab-abuse -- slowloris --addr 127.0.0.1:7000`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use socklab_abuse::attacks;
use socklab_support::cli;

#[derive(Parser)]
#[command(
    version,
    about = "Attack your own echo servers (loopback only), each attack bounded in count and time",
    after_help = "Examples:\n  \
        cargo run -p socklab-abuse -- slowloris --addr 127.0.0.1:7000 --connections 50\n  \
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
        let report = match Args::parse().attack {
            Attack::Slowloris {
                target,
                connections,
                drip,
            } => attacks::slowloris(target.addr, connections.into(), drip, target.duration)?,
            Attack::Silent {
                target,
                connections,
            } => attacks::silent(target.addr, connections.into(), target.duration)?,
            Attack::NoRead { target, bytes } => {
                attacks::no_read(target.addr, bytes as usize, target.duration)?
            }
            Attack::ResetStorm { target, count } => {
                attacks::reset_storm(target.addr, count.into())?
            }
            Attack::Garbage { target, seed } => attacks::garbage(target.addr, seed)?,
            Attack::Flood { target, max } => {
                attacks::flood(target.addr, max as usize, target.duration)?
            }
            Attack::UdpGarbage { target, count } => {
                attacks::udp_garbage(target.addr, count.into(), 1)?
            }
        };
        println!("{report}");
        Ok(())
    })
}
