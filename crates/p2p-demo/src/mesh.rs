//! A whole mesh in one process, for the tour and the tests: `n` listeners bound first, then
//! `n` nodes started on them, each told the addresses of all the others. Since every listener
//! exists before any node starts, every node's first dials connect (the kernel completes a
//! connection into a listener's queue before anyone calls `accept`), so every pair is dialed
//! from both ends: the simultaneous dial, forced.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use socklab_support::Narrator;
use socklab_support::stop::Stop;

use crate::node::{Config, Node};
use crate::wire::NodeId;

// ANCHOR: start
/// Starts nodes 1 to `n` on loopback; node `id` gets the config `configure(id, peers)` where
/// `peers` are the other nodes' addresses. They log to `log`.
pub fn start(
    n: usize,
    log: &Arc<Narrator>,
    configure: impl Fn(NodeId, Vec<SocketAddr>) -> Config,
) -> io::Result<Vec<Node>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    let addrs = listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<io::Result<Vec<_>>>()?;
    let mut nodes = Vec::with_capacity(n);
    for (i, listener) in listeners.into_iter().enumerate() {
        let peers = addrs.iter().copied().filter(|&a| a != addrs[i]).collect();
        let config = configure(i as NodeId + 1, peers);
        nodes.push(Node::start(listener, config, log.clone(), Stop::new()?)?);
    }
    Ok(nodes)
}
// ANCHOR_END: start

/// The ids 1 to `n`.
pub fn ids(n: usize) -> Vec<NodeId> {
    (1..=n as NodeId).collect()
}

/// Whether every node sees exactly `want`, holds one link per other member, and has no dial
/// or handshake under way (one could still replace a link through the tie-break).
pub fn converged<'a>(nodes: impl IntoIterator<Item = &'a Node>, want: &[NodeId]) -> bool {
    nodes.into_iter().all(|node| {
        let s = node.snapshot();
        s.view == want && s.links.len() == want.len() - 1 && s.pending == 0
    })
}
