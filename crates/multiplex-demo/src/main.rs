//! `multiplex-demo`: chapter 7's binary, select/poll/epoll. Run `cargo run -p multiplex-demo`
//! for the narrated tour; `server --api epoll` to run one; `load` to measure any echo server.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use multiplex_demo::Api;
use multiplex_demo::load::{self, Load, Stop};
use multiplex_demo::server::{self, Config};
use socklab_support::stop;
use socklab_support::{Narrator, cli};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 7: select, poll and epoll: one thread, ten thousand connections",
    long_about = "Chapter 7 of socklab: readiness APIs. With no arguments, runs a narrated tour: \
                  every API serving hundreds of connections, the cost of scanning, write \
                  interest, idle deadlines, back-pressure, and select's FD_SETSIZE limit.",
    after_help = "Examples:\n  \
        cargo run -p multiplex-demo\n  \
        cargo run --release -p multiplex-demo -- server --api epoll --addr 127.0.0.1:7000\n  \
        cargo run --release -p multiplex-demo -- load --addr 127.0.0.1:7000 -c 1000 --time 5s"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo,
    /// A one-thread echo server (length-prefixed frames) on the chosen readiness API.
    Server {
        /// select, poll, epoll or epoll-et (the last two on Linux only).
        #[arg(long, default_value = "poll")]
        api: Api,
        /// Address to listen on (a name such as `localhost:0` is resolved); port 0 picks a free
        /// port. Ctrl-C or SIGTERM stops the server cleanly.
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Close connections idle this long.
        #[arg(long, default_value = "30s", value_parser = cli::parse_duration)]
        idle_timeout: Duration,
        /// Connections served at once.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        max_connections: u32,
    },
    /// Load any echo server: C connections of ping-pong; prints requests/s and p50/p99.
    Load {
        /// The server's address (loopback only; a name such as `localhost:7000` is resolved).
        #[arg(long, value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Concurrent connections.
        #[arg(short = 'c', long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=60_000))]
        connections: u32,
        /// Payload bytes per request.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=(1 << 20)))]
        size: u32,
        /// How long to run.
        #[arg(long, default_value = "3s", value_parser = cli::parse_duration, conflicts_with = "requests")]
        time: Duration,
        /// Instead of a time, this many round trips on every connection.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        requests: Option<u64>,
        /// Instead of any traffic, open the connections and hold them idle this long.
        #[arg(long, value_parser = cli::parse_duration, conflicts_with = "requests")]
        hold: Option<Duration>,
    },
}

fn main() -> ExitCode {
    cli::run("multiplex-demo", || {
        match Args::parse().command.unwrap_or(Command::Demo) {
            Command::Demo => Ok(multiplex_demo::demo::run(&Arc::new(Narrator::stdout()))?),
            Command::Server {
                api,
                addr,
                idle_timeout,
                max_connections,
            } => {
                let _ = load::raise_fd_limit(u64::from(max_connections) + 64);
                let listener =
                    server::listen(addr).with_context(|| format!("cannot listen on {addr}"))?;
                println!("listening on {} ({})", listener.local_addr()?, api.name());
                let config = Config {
                    idle_timeout,
                    max_connections: max_connections as usize,
                    ..Config::default()
                };
                let log = Arc::new(Narrator::stdout());
                // Ctrl-C and SIGTERM end the loop cleanly: it closes its connections, logs its
                // final counters, and we exit 0.
                let stop =
                    stop::Stop::on_signals().context("cannot install the signal handlers")?;
                server::run(api, listener, config, log, Some(stop))?;
                Ok(())
            }
            Command::Load {
                addr,
                connections,
                size,
                time,
                requests,
                hold,
            } => {
                // The load generator is a flood by design: it may only be pointed at this machine.
                anyhow::ensure!(
                    addr.ip().is_loopback(),
                    "refusing to load {addr}: only loopback addresses (127.0.0.0/8, ::1) are allowed"
                );
                let fds = load::raise_fd_limit(u64::from(connections) + 64)?;
                anyhow::ensure!(
                    fds >= u64::from(connections) + 16,
                    "descriptor limit {fds} is too low for {connections} connections"
                );
                if let Some(hold) = hold {
                    let idle = load::hold(addr, connections as usize)?;
                    println!("holding {} idle connections for {hold:?}", idle.len());
                    std::io::Write::flush(&mut std::io::stdout())?;
                    std::thread::sleep(hold); // The point of --hold: keep them open, doing nothing.
                    return Ok(());
                }
                let stop = requests.map_or(Stop::Time(time), Stop::Requests);
                let r = load::run(
                    addr,
                    Load {
                        connections: connections as usize,
                        message_size: size as usize,
                        stop,
                    },
                )
                .with_context(|| format!("load on {addr}"))?;
                println!(
                    "{} connections: {} requests in {:.2?}: {:.0} req/s, p50 {:.1}µs, p99 {:.1}µs, errors {}",
                    r.connections,
                    r.requests,
                    r.elapsed,
                    r.requests_per_sec,
                    r.p50.as_secs_f64() * 1e6,
                    r.p99.as_secs_f64() * 1e6,
                    r.errors
                );
                Ok(())
            }
        }
    })
}
