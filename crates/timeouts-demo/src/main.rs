//! `timeouts-demo`: chapter 6's binary, timeouts. Run `cargo run -p timeouts-demo` for the
//! narrated tour, or one experiment with its own durations, e.g.
//! `cargo run -p timeouts-demo -- slowloris --per-read 1s --deadline 3s`, or `demo --wire` for
//! dead peers on the wire lab, every packet shown.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use socklab_support::{Narrator, cli};
use timeouts_demo::{connect, deadline, io};

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 6: connect, read and write timeouts, deadlines, keepalive",
    long_about = "Chapter 6 of socklab: timeouts. With no arguments, runs a narrated tour: a \
                  connect that cannot complete, read and write timeouts, why a per-read \
                  timeout is not a deadline (slowloris), keepalive and heartbeats. With \
                  `demo --wire`, black holes, keepalive probes and TCP_USER_TIMEOUT on the \
                  wire lab, a link that can be cut, every packet shown.",
    after_help = "Durations take units: 500ms, 2s, 1m.\n\nExamples:\n  \
        cargo run -p timeouts-demo\n  \
        cargo run -p timeouts-demo -- demo --wire --pcap dead-peers.pcap\n  \
        cargo run -p timeouts-demo -- connect --timeout 2s\n  \
        cargo run -p timeouts-demo -- slowloris --drip 100ms --per-read 1s --deadline 3s"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default).
    Demo {
        /// Run the dead-peer experiments on the wire lab instead (two network namespaces and
        /// a recorded link that is cut; Linux), each followed by its packets in tcpdump's
        /// notation.
        #[arg(long)]
        wire: bool,
        /// With --wire, also save the packets shown to FILE (pcap: `tcpdump -nr FILE`).
        #[arg(long, value_name = "FILE", requires = "wire")]
        pcap: Option<PathBuf>,
    },
    /// Connect to a listener whose accept queue is full, with a timeout.
    Connect {
        /// How long to wait for the handshake.
        #[arg(long, default_value = "1s", value_parser = cli::parse_duration)]
        timeout: Duration,
    },
    /// Read from a silent peer, and write to one that never reads, with timeouts.
    Io {
        /// The read and write timeout.
        #[arg(long, default_value = "500ms", value_parser = cli::parse_duration)]
        timeout: Duration,
    },
    /// A peer dripping one byte at a time against a per-read timeout and a deadline.
    Slowloris {
        /// Time between the attacker's bytes.
        #[arg(long, default_value = "50ms", value_parser = cli::parse_duration)]
        drip: Duration,
        /// The per-read timeout of the first reader.
        #[arg(long, default_value = "200ms", value_parser = cli::parse_duration)]
        per_read: Duration,
        /// How long to watch the first reader.
        #[arg(long, default_value = "2s", value_parser = cli::parse_duration)]
        watch: Duration,
        /// The second reader's deadline for the whole request.
        #[arg(long, default_value = "500ms", value_parser = cli::parse_duration)]
        deadline: Duration,
    },
}

fn main() -> ExitCode {
    cli::run("timeouts-demo", || {
        let demo = Command::Demo {
            wire: false,
            pcap: None,
        };
        match Args::parse().command.unwrap_or(demo) {
            Command::Demo { wire: false, .. } => timeouts_demo::demo::run(&Narrator::stdout())?,
            Command::Demo { wire: true, pcap } => {
                // Without root, become root of a user namespace of our own, which the kernel
                // allows only while the process has one thread: now, before anything starts
                // one. If it fails, the lab says why below.
                let _ = socklab_wire::enter_user_namespace();
                timeouts_demo::wire::demo(&Narrator::stdout(), pcap.as_deref())?;
            }
            Command::Connect { timeout } => {
                let full = connect::full_accept_queue()?;
                let (result, took) = connect::timed_connect(full.listener.local_addr()?, timeout);
                println!(
                    "full accept queue: {} after {took:.1?}",
                    connect::describe(&result)
                );
                let (result, took) = connect::timed_connect(connect::closed_port()?, timeout);
                println!(
                    "closed port:       {} after {took:.1?}",
                    connect::describe(&result)
                );
            }
            Command::Io { timeout } => {
                let (err, took) = io::read_timeout(timeout)?;
                println!("read:  {:?} after {took:.1?}", err.kind());
                let w = io::write_timeout(timeout)?;
                println!(
                    "write: {} bytes out, then {:?} after {:.1?}",
                    w.written,
                    w.error.kind(),
                    w.last_wait
                );
            }
            Command::Slowloris {
                drip,
                per_read,
                watch,
                deadline: limit,
            } => {
                anyhow::ensure!(
                    drip < per_read,
                    "--drip must be shorter than --per-read, or the per-read timeout simply fires"
                );
                let (a, b) = deadline::slowloris_experiment(drip, per_read, watch, limit)?;
                // Ok(false): still waiting, within its rules, when the experiment stopped looking.
                let said = |outcome: std::io::Result<bool>| match outcome {
                    Ok(false) => "still waiting for the end of the request".to_string(),
                    Ok(true) => "the request was complete".to_string(),
                    Err(e) => format!("gave up: {:?}", e.kind()),
                };
                println!(
                    "per-read timeout {per_read:?}: {} bytes in {:.1?}, {}",
                    a.bytes,
                    a.elapsed,
                    said(a.outcome)
                );
                println!(
                    "deadline {limit:?}: {} bytes in {:.1?}, {}",
                    b.bytes,
                    b.elapsed,
                    said(b.outcome)
                );
            }
        }
        Ok(())
    })
}
