//! `p2p-demo`: chapter 9's binary, peer-to-peer with heartbeats. Run `cargo run -p p2p-demo`
//! for the narrated tour (a whole mesh on loopback, in one process), or start one node per
//! terminal with `node --listen ADDR --peer ADDR ...`; each line typed into a node is
//! broadcast to the mesh.

use std::io::{BufRead, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use p2p_demo::node::{Config, Node};
use p2p_demo::wire::NodeId;
use socklab_support::stop::Stop;
use socklab_support::{Narrator, cli};

/// The longest broadcast a node makes from standard input: a longer line goes in pieces.
const MAX_LINE: u64 = 1024;

#[derive(Parser)]
#[command(
    version,
    about = "Chapter 9: peer-to-peer with heartbeats: a mesh, a tie-break, dead peers, broadcast",
    long_about = "Chapter 9 of socklab: peer-to-peer with heartbeats. With no arguments, runs a \
                  narrated tour: a mesh of nodes on loopback that all dial each other at once \
                  (one link per pair survives the tie-break), a broadcast delivered once at \
                  every node, a hung node noticed after the heartbeat deadline, a crashed node \
                  noticed at once and reconnected with backoff when it returns, and garbage \
                  refused. `node` runs one node of a mesh.",
    after_help = "Examples:\n  \
        cargo run -p p2p-demo\n  \
        cargo run -p p2p-demo -- demo --nodes 7\n  \
        cargo run -p p2p-demo -- node --listen 127.0.0.1:7001 --id 1\n  \
        cargo run -p p2p-demo -- node --listen 127.0.0.1:7002 --id 2 --peer 127.0.0.1:7001\n\n\
        A node prints its view of the mesh each time it changes; each line typed into it is \
        broadcast. Ctrl-C (or SIGTERM) says goodbye to every peer and exits 0."
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The narrated tour (the default): a whole mesh in this process.
    Demo {
        /// How many nodes (every pair holds a connection, and both ends are in this process).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(3..=16))]
        nodes: u16,
    },
    /// One node: listens, dials its peers, prints its view as it changes, broadcasts each line
    /// of standard input, until SIGINT or SIGTERM.
    Node {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0", value_parser = cli::parse_addr)]
        listen: SocketAddr,
        /// This node's id, unique in the mesh; its listening port by default.
        #[arg(long)]
        id: Option<NodeId>,
        /// A peer's listening address, dialed at start and whenever it is lost (repeat it).
        #[arg(long = "peer", value_parser = cli::parse_addr)]
        peers: Vec<SocketAddr>,
        /// How often a heartbeat goes out on every link.
        #[arg(long, default_value = "100ms", value_parser = cli::parse_duration)]
        heartbeat: Duration,
        /// How many heartbeat intervals of silence make a peer down.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
        misses: u32,
        /// The most peers this node links to.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
        max_peers: u64,
        /// The longest wait between two dials of a lost peer.
        #[arg(long, default_value = "2s", value_parser = cli::parse_duration)]
        backoff_cap: Duration,
    },
}

fn main() -> ExitCode {
    cli::run("p2p-demo", || {
        match Args::parse().command.unwrap_or(Command::Demo { nodes: 5 }) {
            Command::Demo { nodes } => Ok(p2p_demo::demo::run(
                &Arc::new(Narrator::stdout()),
                usize::from(nodes),
            )?),
            Command::Node {
                listen,
                id,
                peers,
                heartbeat,
                misses,
                max_peers,
                backoff_cap,
            } => {
                let listener = TcpListener::bind(listen)
                    .with_context(|| format!("cannot listen on {listen}"))?;
                // Before the first line: a signal that arrives once we say we listen must stop
                // us cleanly.
                let stop = Stop::on_signals().context("cannot install the signal handlers")?;
                let addr = listener.local_addr()?;
                let id = id.unwrap_or(u64::from(addr.port()));
                let config = Config {
                    peers,
                    heartbeat,
                    misses,
                    max_peers: usize::try_from(max_peers)?,
                    backoff_cap,
                    ..Config::new(id)
                };
                println!("listening on {addr} (node {id})");
                let node = Node::start(listener, config, Arc::new(Narrator::stdout()), stop)
                    .context("cannot start the node")?;
                let say = node.broadcaster();
                // Standard input is read on a thread of its own; at its end (or with no input
                // at all) the node keeps running until a signal.
                std::thread::spawn(move || {
                    let mut input = std::io::stdin().lock();
                    loop {
                        let mut line = Vec::new();
                        match (&mut input).take(MAX_LINE).read_until(b'\n', &mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let text = line.trim_ascii_end();
                        if !text.is_empty() && say.broadcast(text).is_err() {
                            return;
                        }
                    }
                });
                node.wait();
                Ok(())
            }
        }
    })
}
