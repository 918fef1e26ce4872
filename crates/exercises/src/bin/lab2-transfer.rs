//! `lab2-transfer`: Lab 2's program, a file sent reliably over UDP. Run
//! `cargo run -p exercises --bin lab2-transfer -- receive --out copy.bin` (it prints
//! `listening on ADDR`), then, in another terminal,
//! `cargo run -p exercises --bin lab2-transfer -- send --to ADDR original.bin`.
//!
//! The binary is thin on purpose, and given: it parses the options, reads and writes the
//! files, binds the UDP socket, and calls `exercises::lab2::send` or `receive`, which are the
//! lab.

use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use exercises::lab2::{Config, DEFAULT_MAX_DATAGRAM, MAX_FILE, receive, send};
use socklab_support::cli;

#[derive(Parser)]
#[command(
    version,
    about = "Lab 2: a file sent reliably over UDP",
    long_about = "Lab 2 of socklab: a file sent over UDP arrives whole and in order, however \
                  the network loses, duplicates and reorders datagrams, and neither side waits \
                  for ever on a peer that is gone. The protocol is yours to write, in \
                  crates/exercises/src/lab2.rs.",
    after_help = "Examples:\n  \
        cargo run -p exercises --bin lab2-transfer -- receive --addr 127.0.0.1:7000 --out copy\n  \
        cargo run -p exercises --bin lab2-transfer -- send --to 127.0.0.1:7000 original\n  \
        cargo xtask exercises --check lab2"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive one file, write it to --out, exit.
    Receive {
        /// Address to receive on (HOST:PORT); port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        addr: SocketAddr,
        /// Where to write the file (created, or replaced).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        protocol: Protocol,
    },
    /// Send one file to a receiver, exit once it has all of it.
    Send {
        /// The receiver's address (HOST:PORT).
        #[arg(long, value_parser = cli::parse_addr)]
        to: SocketAddr,
        /// The file to send.
        file: PathBuf,
        #[command(flatten)]
        protocol: Protocol,
    },
}

/// The options both sides share.
#[derive(Args)]
struct Protocol {
    /// Give up when nothing has come from the peer for this long (e.g. 30s).
    #[arg(long, default_value = "30s", value_parser = cli::parse_duration)]
    timeout: Duration,
    /// The largest datagram to send, in bytes of UDP payload.
    #[arg(long, default_value_t = DEFAULT_MAX_DATAGRAM as u16,
          value_parser = clap::value_parser!(u16).range(64..=65_507))]
    max_datagram: u16,
}

impl Protocol {
    fn config(&self) -> Config {
        Config {
            max_datagram: usize::from(self.max_datagram),
            peer_timeout: self.timeout,
        }
    }
}

fn main() -> ExitCode {
    let args = Cli::parse();
    cli::run("lab2-transfer", || match args.command {
        Command::Receive {
            addr,
            out,
            protocol,
        } => {
            // Created before anything is received: a path that cannot be written fails now,
            // not after the whole transfer.
            let mut file =
                File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
            let socket = UdpSocket::bind(addr).with_context(|| format!("cannot bind {addr}"))?;
            println!("listening on {}", socket.local_addr()?);
            std::io::stdout().flush()?;
            let data = receive(&socket, &protocol.config()).context("receiving")?;
            file.write_all(&data)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "received {} into {}",
                cli::bytes(data.len() as u64),
                out.display()
            );
            Ok(())
        }
        Command::Send { to, file, protocol } => {
            let size = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            if size > MAX_FILE {
                bail!(
                    "{} is {}; the most this program sends is {}",
                    file.display(),
                    cli::bytes(size),
                    cli::bytes(MAX_FILE)
                );
            }
            let data =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            // The unspecified address of the receiver's family: the kernel picks the port and
            // the source address that reaches it.
            let local: SocketAddr = match to {
                SocketAddr::V4(_) => "0.0.0.0:0",
                SocketAddr::V6(_) => "[::]:0",
            }
            .parse()?;
            let socket = UdpSocket::bind(local).with_context(|| format!("cannot bind {local}"))?;
            let started = Instant::now();
            let report = send(&socket, to, &data, &protocol.config())
                .with_context(|| format!("sending {} to {to}", file.display()))?;
            println!(
                "sent {} to {to} in {:.1?}: {} datagrams ({} retransmitted), {} on the wire",
                cli::bytes(data.len() as u64),
                started.elapsed(),
                report.datagrams,
                report.retransmitted,
                cli::bytes(report.bytes)
            );
            Ok(())
        }
    })
}
