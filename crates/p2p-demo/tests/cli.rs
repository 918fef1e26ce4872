//! The `p2p-demo` binary: the tour, one node per process, broadcasting typed lines, a clean
//! stop on SIGTERM, and bad input.

mod nodes;

use std::net::TcpListener;
use std::time::Duration;

use nix::sys::signal::Signal;
use socklab_support::process::{self, Output};

use nodes::{BIN, mesh};

const LIMIT: Duration = Duration::from_secs(60);

/// With no arguments the tour runs all six sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = process::run(BIN, &[], LIMIT);
    assert_eq!(code, Some(0), "{err}\n{out}");
    for n in 1..=6 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    assert!(
        out.contains("every link dialed by the lower id: yes"),
        "{out}"
    );
    assert!(out.contains("== Done."), "{out}");
}

// ANCHOR: lines_typed_into_a_node_are_broadcast
/// A line typed into one node of a mesh of three is delivered once by each, the sender
/// included: each node's last line, when it stops, counts one delivery.
#[test]
fn lines_typed_into_a_node_are_broadcast() {
    let mut nodes = mesh(3, &[]);
    nodes[1].say("hello, mesh");
    for node in &mut nodes {
        node.wait_for(0, "delivered #1 from 2: \"hello, mesh\"");
    }
    for node in &mut nodes {
        node.signal(Signal::SIGTERM);
    }
    for node in &mut nodes {
        assert_eq!(node.wait_exit(), Some(0), "{}", node.dump());
        let last = &node.lines.last().unwrap().text;
        assert!(
            last.contains("stopped: ") && last.contains(" 1 delivered,"),
            "{last}"
        );
    }
}
// ANCHOR_END: lines_typed_into_a_node_are_broadcast

// ANCHOR: sigterm_stops_a_node_cleanly
/// SIGTERM stops a node cleanly: it says goodbye on every link, prints its counters as its
/// last line and exits 0; its peers log the goodbye as the reason it left.
#[test]
fn sigterm_stops_a_node_cleanly() {
    let mut nodes = mesh(2, &[]);
    let mark = nodes[0].mark();
    nodes[1].signal(Signal::SIGTERM);
    let code = nodes[1].wait_exit();
    assert_eq!(code, Some(0), "{}", nodes[1].dump());
    let last = &nodes[1].lines.last().unwrap().text;
    assert!(last.contains("node 2: stopped: 1 links made,"), "{last}");
    let line = nodes[0].wait_for(mark, "down 2 (");
    assert!(
        line.text
            .contains("down 2 (said goodbye: shutting down): view [1]"),
        "{}",
        line.text
    );
}
// ANCHOR_END: sigterm_stops_a_node_cleanly

/// A taken port, and malformed arguments: one line (or clap's usage), a non-zero exit, no
/// panic.
#[test]
fn bad_input_is_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Output {
        code, stderr: err, ..
    } = process::run(BIN, &["node", "--listen", &addr], LIMIT);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    for args in [
        &["node", "--heartbeat", "0s"][..],
        &["node", "--heartbeat", "3 days"],
        &["node", "--misses", "0"],
        &["node", "--max-peers", "0"],
        &["node", "--peer", "nowhere"],
        &["node", "--id", "minus-one"],
        &["demo", "--nodes", "2"],
        &["demo", "--nodes", "100"],
    ] {
        let Output {
            code, stderr: err, ..
        } = process::run(BIN, args, LIMIT);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// With no `--id`, a node's id is its listening port.
#[test]
fn the_id_defaults_to_the_port() {
    let server = process::start_server(BIN, &["node"], LIMIT);
    let port = server.addr().rsplit(':').next().unwrap().to_string();
    let out = server.terminate(LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains(&format!("node {port}: stopped: ")),
        "{out:?}"
    );
}
