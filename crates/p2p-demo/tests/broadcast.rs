//! Chapter 9: a broadcast arrives once at every live node: flooded over the mesh, each copy
//! after the first dropped by its `(origin, incarnation, seq)`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use p2p_demo::mesh;
use p2p_demo::node::{Config, Node};
use p2p_demo::wire::NodeId;
use socklab_support::stop::Stop;
use socklab_support::{Narrator, wait, within};

const LIMIT: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(10);

/// These tests are about delivery, not timing: a heartbeat of 1 s keeps a loaded machine
/// from declaring a slow node dead halfway through.
const HEARTBEAT: Duration = Duration::from_secs(1);

fn config(id: NodeId, peers: Vec<std::net::SocketAddr>) -> Config {
    Config {
        peers,
        heartbeat: HEARTBEAT,
        ..Config::new(id)
    }
}

/// How many times each `(origin, seq)` was delivered at `node`.
fn deliveries(node: &Node) -> BTreeMap<(NodeId, u64), usize> {
    let mut count = BTreeMap::new();
    for d in node.snapshot().delivered {
        *count.entry((d.origin, d.seq)).or_insert(0) += 1;
    }
    count
}

/// Waits until every broadcast frame sent has been received, so that a count taken
/// afterwards is final.
fn quiet(nodes: &[&Node]) {
    wait::until(SETTLE, "every broadcast frame to land", || {
        let (sent, received) = nodes.iter().fold((0, 0), |(s, r), n| {
            let c = n.snapshot().counters;
            (s + c.broadcast_frames_sent, r + c.broadcast_frames_received)
        });
        sent == received
    })
    .unwrap();
}

// ANCHOR: a_broadcast_arrives_once_at_every_live_node
/// In a mesh of 5, every node broadcasts 3 messages at the same time: each of the 15 arrives
/// at every node exactly once, with its body intact, although each node received most of
/// them several times (the flood's copies, counted and dropped).
#[test]
fn a_broadcast_arrives_once_at_every_live_node() {
    within(LIMIT, "15 broadcasts in a mesh of 5", || {
        let log = Arc::new(Narrator::capture());
        let nodes = mesh::start(5, &log, config).unwrap();
        let all = mesh::ids(5);
        wait::until(SETTLE, "the mesh to form", || mesh::converged(&nodes, &all)).unwrap();
        for node in &nodes {
            for k in 1..=3 {
                node.broadcast(format!("{k} from {}", node.id()).as_bytes())
                    .unwrap();
            }
        }
        wait::until(SETTLE, "15 deliveries at every node", || {
            nodes.iter().all(|n| n.snapshot().delivered.len() >= 15)
        })
        .unwrap();
        quiet(&nodes.iter().collect::<Vec<_>>());
        let mut dropped = 0;
        for node in &nodes {
            let got = deliveries(node);
            assert_eq!(got.len(), 15, "node {}: {got:?}", node.id());
            assert!(got.values().all(|&n| n == 1), "node {}: {got:?}", node.id());
            for d in node.snapshot().delivered {
                assert_eq!(d.body, format!("{} from {}", d.seq, d.origin).into_bytes());
            }
            dropped += node.snapshot().counters.copies_dropped;
        }
        assert!(dropped > 0, "the flood sent copies, and they were dropped");
        let (sent, received) = nodes.iter().fold((0, 0), |(s, r), n| {
            let c = n.snapshot().counters;
            (s + c.broadcast_frames_sent, r + c.broadcast_frames_received)
        });
        // Each message reached 4 nodes over the network: the rest of what arrived were copies.
        assert_eq!(dropped, received - 15 * 4);
        assert!(
            sent <= 15 * 16,
            "{sent} frames: more than (n - 1)² per message"
        );
        for node in nodes {
            node.stop();
        }
    });
}
// ANCHOR_END: a_broadcast_arrives_once_at_every_live_node

// ANCHOR: a_broadcast_reaches_a_node_with_no_link_to_its_origin
/// Nodes 1 and 3 know nothing of each other; node 2 links to both. A broadcast from 1 reaches
/// 3 once, relayed by 2: what flooding buys over sending only to one's own links.
#[test]
fn a_broadcast_reaches_a_node_with_no_link_to_its_origin() {
    within(LIMIT, "a chain of 3", || {
        let log = Arc::new(Narrator::capture());
        let listeners: Vec<TcpListener> = (0..3)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let addrs: Vec<_> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let mut nodes = Vec::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            let id = i as NodeId + 1;
            let peers = if id == 2 {
                vec![addrs[0], addrs[2]]
            } else {
                vec![]
            };
            nodes.push(
                Node::start(
                    listener,
                    config(id, peers),
                    log.clone(),
                    Stop::new().unwrap(),
                )
                .unwrap(),
            );
        }
        // 1 and 3 see only 2: neither knows the other.
        let views = [vec![1, 2], vec![1, 2, 3], vec![2, 3]];
        wait::until(SETTLE, "the chain to form", || {
            nodes.iter().zip(&views).all(|(n, v)| {
                let s = n.snapshot();
                s.view == *v && s.pending == 0
            })
        })
        .unwrap();
        nodes[0].broadcast(b"over the hill").unwrap();
        wait::until(SETTLE, "node 3 to deliver", || {
            !nodes[2].snapshot().delivered.is_empty()
        })
        .unwrap();
        quiet(&nodes.iter().collect::<Vec<_>>());
        for node in &nodes {
            assert_eq!(
                deliveries(node).into_iter().collect::<Vec<_>>(),
                [((1, 1), 1)]
            );
        }
        for node in nodes {
            node.stop();
        }
    });
}
// ANCHOR_END: a_broadcast_reaches_a_node_with_no_link_to_its_origin

// ANCHOR: a_broadcast_after_a_crash_reaches_every_live_node
/// After one node of five crashes (every socket closed, no goodbye), a broadcast reaches the
/// four that live, once each.
#[test]
fn a_broadcast_after_a_crash_reaches_every_live_node() {
    within(LIMIT, "a broadcast after a crash", || {
        let log = Arc::new(Narrator::capture());
        let mut nodes = mesh::start(5, &log, config).unwrap();
        wait::until(SETTLE, "the mesh to form", || {
            mesh::converged(&nodes, &mesh::ids(5))
        })
        .unwrap();
        nodes.remove(2).crash();
        wait::until(SETTLE, "the others to see node 3 go", || {
            mesh::converged(&nodes, &[1, 2, 4, 5])
        })
        .unwrap();
        nodes[3].broadcast(b"still here").unwrap();
        wait::until(SETTLE, "every live node to deliver", || {
            nodes.iter().all(|n| !n.snapshot().delivered.is_empty())
        })
        .unwrap();
        quiet(&nodes.iter().collect::<Vec<_>>());
        for node in &nodes {
            assert_eq!(
                deliveries(node).into_iter().collect::<Vec<_>>(),
                [((5, 1), 1)]
            );
        }
        for node in nodes {
            node.stop();
        }
    });
}
// ANCHOR_END: a_broadcast_after_a_crash_reaches_every_live_node
