//! Chapter 9: a peer that dies, hangs or returns, with real processes. Each test starts a mesh
//! of five `p2p-demo node` processes (a heartbeat every 100 ms, a deadline of 3 heartbeats,
//! unless the test says otherwise) and signals one of them.

mod nodes;

use std::time::Duration;

use nix::sys::signal::Signal;

use nodes::{NodeProcess, mesh, spawn, view_of};

const INTERVAL: Duration = Duration::from_millis(100);
const DEADLINE: Duration = Duration::from_millis(300);

/// The milliseconds in `silent for N ms` of a down line.
fn silence_ms(text: &str) -> Option<u128> {
    text.split("silent for ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

// ANCHOR: a_hung_peer_is_noticed_after_the_deadline_not_before
/// A hung peer (`SIGSTOP`: its kernel still acknowledges everything, its application sends
/// nothing) is declared down by every other node because of its silence: not before the
/// deadline, and within a few heartbeat intervals after it. The lower bound has two
/// witnesses: the silence each node measured since the last heartbeat it heard (the whole
/// deadline, exactly), and the test's own clock from the moment of the stop, which allows two
/// intervals: node 5's last heartbeat left up to one interval before the stop, or longer
/// before it when a busy machine made node 5 itself late to its tick.
#[test]
fn a_hung_peer_is_noticed_after_the_deadline_not_before() {
    let mut nodes = mesh(5, &[]);
    let marks: Vec<usize> = nodes.iter_mut().map(NodeProcess::mark).collect();
    let hung = &nodes[4];
    let stopped = std::time::Instant::now();
    hung.signal(Signal::SIGSTOP);
    for (node, &mark) in nodes[..4].iter_mut().zip(&marks) {
        let line = node.wait_for(mark, "down 5 (");
        let took = line.at - stopped;
        let silence = silence_ms(&line.text)
            .unwrap_or_else(|| panic!("a silence, not another reason: {}", line.text));
        assert!(silence >= DEADLINE.as_millis(), "{}", line.text);
        assert!(
            took >= DEADLINE - 2 * INTERVAL,
            "node {} noticed {took:?} after the stop: before the deadline",
            node.id
        );
        assert!(
            took <= DEADLINE + 5 * INTERVAL,
            "node {} noticed only {took:?} after the stop",
            node.id
        );
    }
    nodes[4].signal(Signal::SIGCONT);
}
// ANCHOR_END: a_hung_peer_is_noticed_after_the_deadline_not_before

// ANCHOR: a_killed_peer_is_noticed_at_once
/// A killed peer (`SIGKILL`) is noticed by every other node at once, long before the
/// heartbeat deadline (here 3 s): the dead process's kernel closed its sockets, and each peer
/// read the end of the stream (or a reset) on its link. The heartbeat is for the peers whose
/// kernel cannot speak for them: hung ones, and ones behind a cut link.
#[test]
fn a_killed_peer_is_noticed_at_once() {
    let mut nodes = mesh(5, &["--heartbeat", "1s"]);
    let marks: Vec<usize> = nodes.iter_mut().map(NodeProcess::mark).collect();
    let killed = std::time::Instant::now();
    nodes[4].signal(Signal::SIGKILL);
    for (node, &mark) in nodes[..4].iter_mut().zip(&marks) {
        let line = node.wait_for(mark, "down 5 (");
        let took = line.at - killed;
        assert!(
            line.text.contains("connection closed by the peer")
                || line.text.contains("reset by peer"),
            "{}",
            line.text
        );
        assert!(
            took < Duration::from_secs(3),
            "node {}: {took:?}, as long as the deadline",
            node.id
        );
        assert!(line.text.contains(&view_of(1..=4)), "{}", line.text);
    }
}
// ANCHOR_END: a_killed_peer_is_noticed_at_once

// ANCHOR: a_returning_peer_is_reconnected_with_backoff
/// A killed peer's address is dialed again by every other node, with waits that double from
/// one heartbeat interval up to the cap (here 400 ms); when the peer returns at that address,
/// knowing no peers itself, every node reconnects to it within one capped wait.
#[test]
fn a_returning_peer_is_reconnected_with_backoff() {
    let extra = ["--backoff-cap", "400ms"];
    let mut nodes = mesh(5, &extra);
    let marks: Vec<usize> = nodes.iter_mut().map(NodeProcess::mark).collect();
    let addr = nodes[4].addr;
    nodes[4].signal(Signal::SIGKILL);
    nodes[4].wait_exit();
    let failed = format!("dial {addr} failed");
    for (node, &mark) in nodes[..4].iter_mut().zip(&marks) {
        node.wait_for(mark, "down 5 (");
        // Four failed dials: the waits double from the interval, then stay at the cap.
        let mut from = mark;
        let mut announced = Vec::new();
        for _ in 0..4 {
            let line = node.wait_for(from, &failed);
            from = line.index + 1;
            announced.push(
                line.text
                    .rsplit("next try in ")
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        assert_eq!(
            announced,
            ["100 ms", "200 ms", "400 ms", "400 ms"],
            "node {}",
            node.id
        );
    }
    let marks: Vec<usize> = nodes[..4].iter_mut().map(NodeProcess::mark).collect();
    let back = spawn(5, &addr.to_string(), &[], &extra);
    let returned = back.lines[0].at;
    for (node, &mark) in nodes[..4].iter_mut().zip(&marks) {
        let line = node.wait_for(mark, "up 5 (");
        assert!(line.text.contains(&view_of(1..=5)), "{}", line.text);
        assert!(
            line.at - returned < Duration::from_millis(400) + 3 * INTERVAL,
            "node {} reconnected {:?} after the return",
            node.id,
            line.at - returned
        );
    }
    nodes[4] = back;
    nodes[4].wait_for(0, &view_of(1..=5));
}
// ANCHOR_END: a_returning_peer_is_reconnected_with_backoff
