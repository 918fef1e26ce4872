//! `uring-demo`: chapter 11's binary, io_uring. Run `cargo run -p uring-demo` for the narrated
//! tour; `server` to run the echo server (measure it with `multiplex-demo load`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use socklab_support::stop;
use socklab_support::{Narrator, cli};
use uring_demo::server::{self, Config};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 11: io_uring, completion instead of readiness",
    long_about = "Chapter 11 of socklab: io_uring. With no arguments, runs a narrated tour: \
                  the probe, one system call for many operations, buffers handed over before \
                  the data exists, multishot accept and receive, provided buffers, close versus \
                  cancel, and the echo server's system calls per request.",
    after_help = "Examples:\n  \
        cargo run -p uring-demo\n  \
        cargo run --release -p uring-demo -- server --addr 127.0.0.1:7000\n  \
        cargo run --release -p multiplex-demo -- load --addr 127.0.0.1:7000 -c 100 --time 5s"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo,
    /// A one-thread io_uring echo server (length-prefixed frames).
    Server {
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
}

fn main() -> ExitCode {
    cli::run("uring-demo", || {
        match Args::parse().command.unwrap_or(Command::Demo) {
            Command::Demo => Ok(uring_demo::demo::run(&Arc::new(Narrator::stdout()))?),
            Command::Server {
                addr,
                idle_timeout,
                max_connections,
            } => {
                uring_demo::probe::support()
                    .map_err(|why| anyhow::anyhow!("io_uring is not available here: {why}"))?;
                let _ =
                    socklab_support::descriptors::raise_fd_limit(u64::from(max_connections) + 64);
                let listener =
                    server::listen(addr).with_context(|| format!("cannot listen on {addr}"))?;
                println!("listening on {} (io_uring)", listener.local_addr()?);
                let config = Config {
                    idle_timeout,
                    max_connections: max_connections as usize,
                    ..Config::default()
                };
                // Ctrl-C and SIGTERM end the loop cleanly: it cancels its operations, closes its
                // connections, logs its final counters, and we exit 0.
                let stop =
                    stop::Stop::on_signals().context("cannot install the signal handlers")?;
                server::run(listener, config, Arc::new(Narrator::stdout()), Some(stop))?;
                Ok(())
            }
        }
    })
}
