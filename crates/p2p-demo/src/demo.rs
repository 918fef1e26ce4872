//! The narrated tour that `cargo run -p p2p-demo` prints: a whole mesh on loopback, in this
//! one process, through every experiment of chapter 9. The nodes narrate their own changes
//! (`node 3: down 5 (...)`) as they happen; between the experiments the tour checks what all
//! the nodes say and sums it up.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socklab_support::Narrator;
use socklab_support::stop::Stop;
use socklab_support::wait;

use crate::mesh;
use crate::node::{Config, Counters, Node};
use crate::wire::NodeId;

/// The bound on every wait of the tour: far longer than anything takes on loopback.
const LIMIT: Duration = Duration::from_secs(10);

/// How long the hung node hangs: several heartbeat deadlines.
const HANG: Duration = Duration::from_millis(1000);

/// How long the crashed node stays away, so that its peers' backoff shows.
const AWAY: Duration = Duration::from_millis(1000);

fn config(id: NodeId, peers: Vec<SocketAddr>, nodes: usize) -> Config {
    Config {
        peers,
        max_peers: nodes,
        ..Config::new(id)
    }
}

fn start(listener: TcpListener, cfg: Config, n: &Arc<Narrator>) -> io::Result<Node> {
    Node::start(listener, cfg, n.clone(), Stop::new()?)
}

/// Waits until every node in `mesh` sees exactly `want`.
fn converge(nodes: &[Option<Node>], want: &[NodeId], what: &str) -> io::Result<()> {
    wait::until(LIMIT, what, || {
        mesh::converged(nodes.iter().flatten(), want)
    })
}

/// Runs the tour with `nodes` nodes (at least 3), narrating to `n`.
pub fn run(n: &Arc<Narrator>, nodes: usize) -> io::Result<()> {
    let nodes = nodes.max(3);
    let all = mesh::ids(nodes);
    n.heading(&format!(
        "1. A mesh of {nodes} nodes: each listens, and dials every other as it starts"
    ));
    n.explain(
        "Every pair is dialed from both ends at once, so every pair starts with two\n\
         connections. Both ends keep the one dialed by the lower id and close the other.",
    );
    let mut mesh: Vec<Option<Node>> = mesh::start(nodes, n, |id, peers| config(id, peers, nodes))?
        .into_iter()
        .map(Some)
        .collect();
    converge(&mesh, &all, "the mesh to form")?;
    let links: usize = mesh
        .iter()
        .flatten()
        .map(|m| m.snapshot().links.len())
        .sum();
    let lower = mesh.iter().flatten().all(|m| {
        m.snapshot()
            .links
            .iter()
            .all(|l| l.dialer == l.peer.min(m.id()))
    });
    let closed = counters(&mesh).duplicates_closed;
    n.step("mesh", &format!("every node's view is {}", show(&all)));
    n.step(
        "mesh",
        &format!(
            "{} links, one per pair; every link dialed by the lower id: {}",
            links / 2,
            if lower { "yes" } else { "NO" }
        ),
    );
    n.step(
        "mesh",
        &format!("duplicates closed by the tie-break: {closed}"),
    );

    n.heading("2. A broadcast arrives once at every node");
    n.explain(
        "Node 1 sends to its peers; each passes a new message on to its other peers and\n\
         drops the copies it has already delivered.",
    );
    node(&mesh, 1).broadcast(b"hello from node 1")?;
    wait::until(LIMIT, "every node to deliver the broadcast", || {
        mesh.iter()
            .flatten()
            .all(|m| m.snapshot().delivered.len() == 1)
    })?;
    // Every frame sent is received somewhere: wait until all of them have been.
    wait::until(LIMIT, "every copy to arrive", || {
        let c = counters(&mesh);
        c.broadcast_frames_received == c.broadcast_frames_sent
    })?;
    let c = counters(&mesh);
    n.step(
        "mesh",
        &format!(
            "delivered once at each of the {nodes} nodes; {} frames sent for it, {} copies dropped",
            c.broadcast_frames_sent, c.copies_dropped
        ),
    );

    let hung = nodes as NodeId;
    let deadline = Config::new(0).deadline();
    n.heading(&format!(
        "3. Node {hung} hangs: its peers notice after the heartbeat deadline ({} ms)",
        deadline.as_millis()
    ));
    n.explain(
        "Its event loop sleeps: no heartbeats go out, nothing is read. Its kernel still\n\
         answers for it (TCP is fine), so only the silence gives it away.",
    );
    let hang_started = Instant::now();
    node(&mesh, hung).pause(HANG)?;
    let others: Vec<NodeId> = all.iter().copied().filter(|&i| i != hung).collect();
    wait::until(LIMIT, "the others to notice", || {
        others
            .iter()
            .all(|&i| !node(&mesh, i).view().contains(&hung))
    })?;
    n.step(
        "mesh",
        &format!(
            "every other node saw node {hung} go silent; the last noticed {} ms after the hang began",
            hang_started.elapsed().as_millis()
        ),
    );
    converge(&mesh, &all, "the hung node to come back")?;
    n.step(
        "mesh",
        &format!(
            "node {hung} resumed and reconnected: every view is {} again",
            show(&all)
        ),
    );

    n.heading("4. Node 2 crashes: its peers notice at once; when it returns, they reconnect");
    n.explain(
        "A crashed process's kernel closes its sockets: its peers read the end of the stream\n\
         at once, without waiting for the deadline. They dial it again, backing off.",
    );
    let crashed = Instant::now();
    let gone = mesh[1].take().expect("node 2 runs");
    let addr = gone.addr();
    gone.crash();
    let others: Vec<NodeId> = all.iter().copied().filter(|&i| i != 2).collect();
    wait::until(LIMIT, "the others to notice", || {
        others.iter().all(|&i| !node(&mesh, i).view().contains(&2))
    })?;
    n.step(
        "mesh",
        &format!(
            "every other node saw node 2 go, {} ms after the crash",
            crashed.elapsed().as_millis()
        ),
    );
    std::thread::sleep(AWAY.saturating_sub(crashed.elapsed()));
    n.step(
        "mesh",
        "node 2 restarts at its old address, knowing no peers: they must dial it",
    );
    let listener = TcpListener::bind(addr)?;
    mesh[1] = Some(start(listener, config(2, Vec::new(), nodes), n)?);
    converge(&mesh, &all, "node 2 to be reconnected")?;
    n.step(
        "mesh",
        &format!("node 2 is back: every view is {} again", show(&all)),
    );

    n.heading("5. Garbage on a peer connection: that connection is closed, the mesh stays");
    let mut stranger = TcpStream::connect(node(&mesh, 1).addr())?;
    stranger.set_read_timeout(Some(LIMIT))?;
    stranger.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
    let mut rest = Vec::new();
    let end = match stranger.read_to_end(&mut rest) {
        Ok(_) => "the end of the stream".to_string(),
        Err(e) => e.to_string(),
    };
    n.step(
        "stranger",
        &format!("sent `GET / HTTP/1.1`; read until {end}"),
    );
    converge(&mesh, &all, "the mesh to stay whole")?;
    n.step("mesh", &format!("every view is still {}", show(&all)));

    n.heading("6. Every node stops cleanly: its peers hear it say goodbye");
    for m in mesh.into_iter().flatten() {
        m.stop();
    }
    n.heading("Done. The book's chapter 9 explains each step; `cargo test -p p2p-demo` proves it.");
    Ok(())
}

fn node(mesh: &[Option<Node>], id: NodeId) -> &Node {
    mesh.iter()
        .flatten()
        .find(|m| m.id() == id)
        .expect("the node runs")
}

/// The mesh's counters, summed.
fn counters(mesh: &[Option<Node>]) -> Counters {
    let mut sum = Counters::default();
    for c in mesh.iter().flatten().map(|m| m.snapshot().counters) {
        sum.broadcast_frames_sent += c.broadcast_frames_sent;
        sum.broadcast_frames_received += c.broadcast_frames_received;
        sum.copies_dropped += c.copies_dropped;
        sum.duplicates_closed += c.duplicates_closed;
    }
    sum
}

fn show(ids: &[NodeId]) -> String {
    let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
    format!("[{}]", ids.join(" "))
}
