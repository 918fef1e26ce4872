//! `tcp-demo`: chapter 1's binary, blocking TCP. Run `cargo run -p tcp-demo` for the narrated
//! tour, or `server` and `client` in two terminals to play with the echo server (Ctrl-C stops
//! the server cleanly).
//!
//! The binary is thin on purpose: it parses arguments, binds, and calls the library, where
//! the lesson lives.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, cli};
use tcp_demo::{Client, Server, ServerConfig};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 1: blocking TCP, a byte stream between two sockets",
    long_about = "Chapter 1 of socklab: blocking TCP. With no arguments, runs a narrated tour of \
                  the connection life cycle, byte streams, framing and SO_REUSEADDR.",
    after_help = "Examples:\n  \
        cargo run -p tcp-demo\n  \
        cargo run -p tcp-demo -- demo --wire --pcap handshake.pcap\n  \
        cargo run -p tcp-demo -- server --addr 127.0.0.1:7878\n  \
        cargo run -p tcp-demo -- client --addr 127.0.0.1:7878 hello world\n  \
        cargo run -p tcp-demo -- look ss"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo {
        /// Run the handshake and write experiments on the wire lab instead (two network
        /// namespaces and a recorded link; Linux), each followed by its packets in tcpdump's
        /// notation.
        #[arg(long)]
        wire: bool,
        /// With --wire, also save the packets shown to FILE (pcap: `tcpdump -nr FILE`).
        #[arg(long, value_name = "FILE", requires = "wire")]
        pcap: Option<PathBuf>,
    },
    /// Look with your OS: a listener's accept queue in `ss -tln` (ss), or a line of text sent
    /// by `nc` to the echo server, which drops that connection and goes on serving (nc).
    Look {
        /// The tool to look with.
        #[arg(value_enum)]
        tool: Tool,
    },
    /// A thread-per-connection echo server for length-prefixed frames.
    Server {
        /// Address to listen on (HOST:PORT, a name such as localhost works); port 0 picks a free
        /// port. Use [::1]:0 for IPv6.
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Connections served at once; further clients wait in the accept queue.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
        max_connections: u16,
        /// Largest frame payload accepted, in bytes.
        #[arg(long, default_value_t = tcp_demo::MAX_FRAME as u32, value_parser = clap::value_parser!(u32).range(1..))]
        max_frame: u32,
        /// Close a connection silent for this long (e.g. 30s, 500ms).
        #[arg(long, default_value = "30s", value_parser = cli::parse_duration)]
        idle_timeout: Duration,
        /// Close a connection whose frame takes longer than this to arrive.
        #[arg(long, default_value = "10s", value_parser = cli::parse_duration)]
        frame_timeout: Duration,
    },
    /// Measures blocking round-trip latency against an echo server: p50 and p99.
    Ping {
        /// The server's address.
        #[arg(long, value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Round trips to make.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        count: u32,
        /// Payload bytes per frame.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=(1 << 20)))]
        size: u32,
    },
    /// Sends each message as a frame to an echo server and prints the replies.
    Client {
        /// The server's address.
        #[arg(long, value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Timeout for connecting and for each reply.
        #[arg(long, default_value = "5s", value_parser = cli::parse_duration)]
        timeout: Duration,
        /// Messages to send, one frame each.
        #[arg(default_values_t = vec!["hello".to_string()])]
        messages: Vec<String>,
    },
}

/// The tools `look` runs.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Tool {
    /// `ss -tln`: the accept queue and the backlog of a listener.
    Ss,
    /// `nc`: a line of text to the echo server.
    Nc,
}

fn main() -> ExitCode {
    cli::run("tcp-demo", || {
        let demo = Command::Demo {
            wire: false,
            pcap: None,
        };
        match Args::parse().command.unwrap_or(demo) {
            Command::Demo { wire: false, .. } => {
                Ok(tcp_demo::demo::run(&Arc::new(Narrator::stdout()))?)
            }
            Command::Demo { wire: true, pcap } => {
                // Without root, become root of a user namespace of our own, which the kernel
                // allows only while the process has one thread: now, before anything starts
                // one. If it fails, the lab says why below.
                let _ = socklab_wire::enter_user_namespace();
                Ok(tcp_demo::wire::demo(&Narrator::stdout(), pcap.as_deref())?)
            }
            Command::Look { tool } => {
                let n = Arc::new(Narrator::stdout());
                let any = SocketAddr::from(([127, 0, 0, 1], 0));
                match tool {
                    Tool::Ss => tcp_demo::look::accept_queue(&n, any).map(drop),
                    Tool::Nc => tcp_demo::look::garbage(&n, any).map(drop),
                }
                .context("look failed")
            }
            Command::Server {
                addr,
                max_connections,
                max_frame,
                idle_timeout,
                frame_timeout,
            } => {
                let listener =
                    TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
                let config = ServerConfig {
                    max_connections: max_connections.into(),
                    max_frame: max_frame as usize,
                    idle_timeout,
                    frame_timeout,
                };
                // Ctrl-C and SIGTERM now ask the server to stop instead of killing it: it closes
                // its connections, prints its counters and exits 0.
                let stop = Stop::on_signals().context("cannot install the signal handlers")?;
                let server = Server::new(listener, config).with_stop(stop);
                // The first line is the real address, so scripts can read the port when 0 was asked.
                println!("listening on {}", server.local_addr()?);
                std::io::stdout().flush()?;
                Ok(server.run()?)
            }
            Command::Ping { addr, count, size } => {
                let mut client = Client::connect(addr, Duration::from_secs(5))
                    .with_context(|| format!("cannot connect to {addr}"))?;
                let mut times = client
                    .ping(size as usize, count as usize)
                    .context("ping failed")?;
                let (p50, p99) = cli::percentiles_us(&mut times);
                println!("{count} round trips of {size} bytes: p50 {p50:.1} µs, p99 {p99:.1} µs");
                Ok(())
            }
            Command::Client {
                addr,
                timeout,
                messages,
            } => {
                let mut client = Client::connect(addr, timeout)
                    .with_context(|| format!("cannot connect to {addr}"))?;
                for message in messages {
                    let echo = client.echo(message.as_bytes()).context("echo failed")?;
                    println!("{}", String::from_utf8_lossy(&echo));
                }
                Ok(())
            }
        }
    })
}
