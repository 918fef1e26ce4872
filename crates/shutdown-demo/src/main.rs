//! `shutdown-demo`: chapter 5's binary, shutdown and half-close. Run
//! `cargo run -p shutdown-demo` for the narrated tour with live TCP states, or `server` and
//! `client` to try a half-closed request/reply by hand.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use shutdown_demo::half_close;
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
    Demo,
    /// Reads each request until the client half-closes, then replies with it and closes.
    Server {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
        /// Give up on a client silent for this long.
        #[arg(long, default_value = "30s", value_parser = cli::parse_duration)]
        idle_timeout: Duration,
    },
    /// Sends standard input as the request, half-closes, and prints the reply.
    Client {
        /// The server's address.
        #[arg(long)]
        addr: SocketAddr,
    },
}

/// The largest request the client reads from standard input: the server holds it in memory.
const MAX_REQUEST: u64 = 16 << 20;

fn main() -> ExitCode {
    cli::run("shutdown-demo", || {
        match Args::parse().command.unwrap_or(Command::Demo) {
            Command::Demo => Ok(shutdown_demo::demo::run(&Narrator::stdout())?),
            Command::Server { addr, idle_timeout } => {
                let listener =
                    TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
                println!("listening on {}", listener.local_addr()?);
                // Log lines go through a narrator, which shrugs off a closed stdout: a server must
                // not die because whoever started it stopped reading its output.
                let log = Narrator::stdout();
                // One client at a time: the lesson is the close, not concurrency (chapter 1 has it).
                for conn in listener.incoming() {
                    let stream = match conn {
                        Ok(s) => s,
                        Err(e) => {
                            log.step("server", &format!("accept failed: {e}"));
                            continue;
                        }
                    };
                    let peer = stream.peer_addr()?;
                    stream.set_read_timeout(Some(idle_timeout))?;
                    stream.set_write_timeout(Some(idle_timeout))?;
                    // A bound on what one client may make us hold in memory.
                    match half_close::serve_until_eof(stream, MAX_REQUEST) {
                        Ok(n) => {
                            log.step("server", &format!("{peer}: {n} bytes, then FIN; replied"))
                        }
                        Err(e) => log.step("server", &format!("{peer}: dropped: {e}")),
                    }
                }
                Ok(())
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
        }
    })
}
