//! `shutdown-demo`: chapter 5's binary, shutdown and half-close. Run
//! `cargo run -p shutdown-demo` for the narrated tour with live TCP states, or `server` and
//! `client` to try a half-closed request/reply by hand (Ctrl-C stops the server cleanly). A
//! hidden `sigpipe` subcommand runs the SIGPIPE experiment in a process of its own, for the
//! tests and the book.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use shutdown_demo::half_close;
use shutdown_demo::server::{MAX_REQUEST, Server, ServerConfig};
use shutdown_demo::sigpipe::{self, Writer};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, cli};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 5: shutdown and half-close, FIN and RST, the TCP close states",
    long_about = "Chapter 5 of socklab: shutdown and half-close. With no arguments, runs a \
                  narrated tour: half-close, the close states read live (Linux), shutdown \
                  directions vs close, RST, EPIPE and SO_LINGER.",
    after_help = "Examples:\n  \
        cargo run -p shutdown-demo\n  \
        cargo run -p shutdown-demo -- demo --wire --pcap close.pcap\n  \
        cargo run -p shutdown-demo -- server --addr 127.0.0.1:7000\n  \
        echo hello | cargo run -p shutdown-demo -- client --addr 127.0.0.1:7000"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo {
        /// Run the close experiments on the wire lab instead (two network namespaces and a
        /// recorded link; Linux), each followed by its packets in tcpdump's notation.
        #[arg(long)]
        wire: bool,
        /// With --wire, also save the packets shown to FILE (pcap: `tcpdump -nr FILE`).
        #[arg(long, value_name = "FILE", requires = "wire")]
        pcap: Option<PathBuf>,
    },
    /// Look with your OS: an orderly close seen by `ss -tan` at each stop (FIN-WAIT-2 and
    /// CLOSE-WAIT, then TIME-WAIT; Linux). The one tool is `ss`.
    Look {
        /// The tool to look with.
        #[arg(value_parser = ["ss"])]
        tool: String,
    },
    /// Reads each request until the client half-closes, then replies with it and closes.
    Server {
        /// Address to listen on (HOST:PORT, names work); port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Clients served at once; further clients wait in the accept queue.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
        max_connections: u16,
        /// Give up on a client silent for this long.
        #[arg(long, default_value = "30s", value_parser = cli::parse_duration)]
        idle_timeout: Duration,
        /// Give up on a request not complete (up to the client's FIN) this long after its
        /// first byte, and on a reply not taken this long after it began.
        #[arg(long, default_value = "10s", value_parser = cli::parse_duration)]
        request_timeout: Duration,
    },
    /// Sends standard input as the request, half-closes, and prints the reply.
    Client {
        /// The server's address (HOST:PORT).
        #[arg(long, value_parser = cli::parse_addr)]
        addr: SocketAddr,
    },
    /// The SIGPIPE experiment (tests run it in a process of its own): restores SIGPIPE's
    /// default action, then writes to a connection the peer has reset.
    #[command(hide = true)]
    Sigpipe {
        /// `std` (send with MSG_NOSIGNAL) or `raw` (a plain write(2)).
        #[arg(long, value_parser = ["std", "raw"])]
        writer: String,
        /// Leave SIGPIPE ignored, as the Rust runtime set it.
        #[arg(long)]
        keep_ignored: bool,
    },
}

fn main() -> ExitCode {
    cli::run("shutdown-demo", || {
        let demo = Command::Demo {
            wire: false,
            pcap: None,
        };
        match Args::parse().command.unwrap_or(demo) {
            Command::Demo { wire: false, .. } => Ok(shutdown_demo::demo::run(&Narrator::stdout())?),
            Command::Demo { wire: true, pcap } => {
                // Without root, become root of a user namespace of our own, which the kernel
                // allows only while the process has one thread: now, before anything starts
                // one. If it fails, the lab says why below.
                let _ = socklab_wire::enter_user_namespace();
                Ok(shutdown_demo::wire::demo(
                    &Narrator::stdout(),
                    pcap.as_deref(),
                )?)
            }
            Command::Look { .. } => Ok(shutdown_demo::look::closing_states(&Narrator::stdout())
                .map(drop)
                .context("look failed")?),
            Command::Server {
                addr,
                max_connections,
                idle_timeout,
                request_timeout,
            } => {
                let listener =
                    TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
                let config = ServerConfig {
                    max_connections: max_connections.into(),
                    idle_timeout,
                    request_timeout,
                    ..ServerConfig::default()
                };
                let stop = Stop::on_signals().context("cannot install the signal handlers")?;
                // Its log goes through a narrator, which shrugs off a closed stdout: a server
                // must not die because whoever started it stopped reading its output.
                let server = Server::new(listener, config).with_stop(stop);
                println!("listening on {}", server.local_addr()?);
                std::io::stdout().flush()?;
                Ok(server.run()?)
            }
            Command::Client { addr } => {
                let mut request = Vec::new();
                std::io::stdin()
                    .take(MAX_REQUEST)
                    .read_to_end(&mut request)
                    .context("reading stdin")?;
                let reply = half_close::request_reply(addr, &request)
                    .with_context(|| format!("request to {addr}"))?;
                print!("{}", String::from_utf8_lossy(&reply));
                Ok(())
            }
            Command::Sigpipe {
                writer,
                keep_ignored,
            } => {
                if !keep_ignored {
                    sigpipe::restore_default_sigpipe().context("restoring SIGPIPE")?;
                }
                let writer = if writer == "raw" {
                    Writer::Raw
                } else {
                    Writer::Std
                };
                // The write's own error is the experiment's result, printed by it: exit 0.
                sigpipe::write_after_reset(writer, &mut std::io::stdout())?;
                Ok(())
            }
        }
    })
}
