//! Chapter 9: a mesh in which every pair dials both ways keeps exactly one connection per
//! pair, with nodes in one process (`p2p_demo::mesh`).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use p2p_demo::mesh;
use p2p_demo::node::{Config, Node};
use socklab_support::{Narrator, wait, within};

const LIMIT: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(10);

/// These tests are about connections, not timing: a heartbeat of 1 s keeps a loaded machine
/// from declaring a slow node dead halfway through.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// ESTABLISHED in `/proc/net/tcp` (Linux numbers the states from 1, in hex).
const ESTABLISHED: &str = "01";

/// Every connection `a` ever had with `b`, as `(a's end, b's end)`: its link and the ones it
/// closed.
fn connections(a: &Node, b: &Node) -> Vec<(SocketAddr, SocketAddr)> {
    let s = a.snapshot();
    let mut all: Vec<(SocketAddr, SocketAddr)> = s
        .links
        .iter()
        .filter(|l| l.peer == b.id())
        .map(|l| (l.local, l.remote))
        .chain(
            s.closed
                .iter()
                .filter(|c| c.peer == Some(b.id()))
                .map(|c| (c.local, c.remote)),
        )
        .collect();
    all.sort();
    all.dedup();
    all
}

/// For each group of connections, how many the kernel lists as ESTABLISHED in
/// `/proc/net/tcp` (`None` on other systems). The table is read once per call: on a busy
/// machine it has thousands of lines, and `proc_tcp::lookup` reads it whole for each
/// connection.
fn established(groups: &[Vec<(SocketAddr, SocketAddr)>]) -> Option<Vec<usize>> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    // The kernel prints an IPv4 address as one native-endian hex word, then the port.
    let hex = |a: SocketAddr| match a.ip() {
        IpAddr::V4(ip) => format!("{:08X}:{:04X}", u32::from_ne_bytes(ip.octets()), a.port()),
        IpAddr::V6(_) => unreachable!("the mesh is on 127.0.0.1"),
    };
    let open: HashSet<(&str, &str)> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.get(3) == Some(&ESTABLISHED)).then(|| (f[1], f[2]))
        })
        .collect();
    let count = |conns: &Vec<(SocketAddr, SocketAddr)>| {
        conns
            .iter()
            .filter(|&&(l, r)| open.contains(&(hex(l).as_str(), hex(r).as_str())))
            .count()
    };
    Some(groups.iter().map(count).collect())
}

// ANCHOR: a_mesh_has_one_connection_per_pair
/// Meshes of 5 and 8 nodes, every node dialing every other as it starts: every view holds
/// every node, every node holds one link per peer, both ends of each pair name the same TCP
/// connection, dialed by the lower id, and of all the connections a pair ever had the kernel
/// lists exactly that one as ESTABLISHED (Linux's `/proc/net/tcp`).
#[test]
fn a_mesh_has_one_connection_per_pair() {
    within(LIMIT, "meshes of 5 and 8", || {
        for n in [5, 8] {
            let log = Arc::new(Narrator::capture());
            let nodes = mesh::start(n, &log, |id, peers| Config {
                peers,
                heartbeat: HEARTBEAT,
                ..Config::new(id)
            })
            .unwrap();
            let all = mesh::ids(n);
            wait::until(SETTLE, "the mesh to form", || mesh::converged(&nodes, &all)).unwrap();
            for node in &nodes {
                let bad = node.snapshot().counters.bad_closed;
                assert_eq!(bad, 0, "a healthy mesh refuses nothing: {:#?}", log.lines());
            }
            let mut pairs = Vec::new();
            for (i, a) in nodes.iter().enumerate() {
                for b in &nodes[i + 1..] {
                    let la = a
                        .snapshot()
                        .links
                        .into_iter()
                        .find(|l| l.peer == b.id())
                        .unwrap();
                    let lb = b
                        .snapshot()
                        .links
                        .into_iter()
                        .find(|l| l.peer == a.id())
                        .unwrap();
                    assert_eq!(
                        (la.local, la.remote),
                        (lb.remote, lb.local),
                        "one connection"
                    );
                    assert_eq!(la.dialer, a.id().min(b.id()), "dialed by the lower id");
                    assert_eq!(lb.dialer, la.dialer);
                    pairs.push((a, b));
                }
            }
            if established(&[]).is_some() {
                let mut counts = Vec::new();
                wait::until(SETTLE, "one ESTABLISHED connection per pair", || {
                    let groups: Vec<_> = pairs.iter().map(|(a, b)| connections(a, b)).collect();
                    counts = established(&groups).unwrap();
                    counts.iter().all(|&c| c == 1)
                })
                .unwrap_or_else(|e| panic!("{e}: {counts:?}"));
            }
            for node in nodes {
                node.stop();
            }
        }
    });
}
// ANCHOR_END: a_mesh_has_one_connection_per_pair

// ANCHOR: simultaneous_dials_keep_the_connection_dialed_by_the_lower_id
/// Two nodes dial each other at the same moment (each dials its peers as it starts, and both
/// listeners exist before either starts), so each pair has two connections: both ends keep
/// the one dialed by the lower id, whichever node that is, and the kernel lists only it as
/// ESTABLISHED. Twenty rounds, the lower id on either node.
#[test]
fn simultaneous_dials_keep_the_connection_dialed_by_the_lower_id() {
    within(LIMIT, "twenty simultaneous dials", || {
        for round in 0..20u64 {
            // Even rounds: ids 1 and 2. Odd rounds: the second node has the lower id.
            let id_of = move |i: u64| if round % 2 == 0 { i } else { 10 - 4 * i };
            let log = Arc::new(Narrator::capture());
            let nodes = mesh::start(2, &log, |i, peers| Config {
                peers,
                heartbeat: HEARTBEAT,
                ..Config::new(id_of(i))
            })
            .unwrap();
            let (a, b) = (&nodes[0], &nodes[1]);
            let (low, high) = if a.id() < b.id() { (a, b) } else { (b, a) };
            let want = vec![low.id(), high.id()];
            wait::until(SETTLE, "one link each", || mesh::converged(&nodes, &want)).unwrap();
            wait::until(SETTLE, "both connections seen", || {
                connections(a, b).len() == 2 && connections(b, a).len() == 2
            })
            .unwrap_or_else(|e| panic!("round {round}: {e}: {:#?}", log.lines()));
            let kept = low.snapshot().links[0];
            assert_eq!(kept.dialer, low.id(), "round {round}");
            assert_eq!(
                kept.remote,
                high.addr(),
                "the low node dialed the high one's listener"
            );
            let other = high.snapshot().links[0];
            assert_eq!((other.local, other.remote), (kept.remote, kept.local));
            for node in &nodes {
                let bad = node.snapshot().counters.bad_closed;
                assert_eq!(bad, 0, "round {round}: {:#?}", log.lines());
            }
            let resolved: u64 = nodes
                .iter()
                .map(|n| n.snapshot().counters.duplicates_closed)
                .sum();
            assert!(resolved >= 1, "round {round}: {:#?}", log.lines());
            if established(&[]).is_some() {
                let groups = || vec![connections(low, high), vec![(kept.local, kept.remote)]];
                wait::until(SETTLE, "only the kept connection ESTABLISHED", || {
                    established(&groups()) == Some(vec![1, 1])
                })
                .unwrap();
            }
            for node in nodes {
                node.stop();
            }
        }
    });
}
// ANCHOR_END: simultaneous_dials_keep_the_connection_dialed_by_the_lower_id
