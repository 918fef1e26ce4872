//! Chapter 7's edge-triggered rule, shown failing: with `EPOLLET`, a loop that reads one
//! message per event and goes back to `epoll_wait(2)` while bytes are still waiting is never
//! told about them again, and the connection stalls; level-triggered epoll reports the same
//! socket again, and an edge-triggered loop that reads until `WouldBlock` finishes.
//!
//! The stall is observed, not inferred: the client is owed a reply, its message sits in the
//! server's receive buffer (`MSG_PEEK` sees it), and `epoll_wait` returns nothing.
#![cfg(target_os = "linux")] // epoll is Linux's.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::Duration;

use multiplex_demo::epoll::Epoll;
use multiplex_demo::readiness::{Interest, Readiness, Source};
use socklab_support::net::loopback_pair_with_timeouts;

/// Each message is this long, and so is each reply.
const MESSAGE: usize = 5;
/// How long the loop waits for an event before it calls the connection stalled. Generous:
/// when the event exists it comes at once; when it does not, no wait would bring it.
const QUIET: Duration = Duration::from_millis(500);
/// Every blocking call's bound.
const LIMIT: Duration = Duration::from_secs(10);

/// How one loop ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Every message was answered.
    Answered(usize),
    /// No event came for `QUIET` while `waiting` bytes sat unread in the receive buffer.
    Stalled { answered: usize, waiting: usize },
}

// ANCHOR: edge_stall
/// A server loop for `expected` messages that reads `MESSAGE` bytes per event (or, with
/// `drain`, every message until `WouldBlock`) and answers each one.
fn serve(api: &mut Epoll, server: &TcpStream, expected: usize, drain: bool) -> Ended {
    server.set_nonblocking(true).unwrap();
    // `Read` and `Write` for `&TcpStream`: the registered source keeps borrowing `server`.
    let mut conn = server;
    let source = Source {
        fd: server.as_fd(),
        token: 0,
        interest: Interest::READ,
    };
    api.register(&source).unwrap();
    let mut answered = 0;
    let mut events = Vec::new();
    while answered < expected {
        events.clear();
        api.wait(std::iter::once(source), Some(QUIET), &mut events)
            .unwrap();
        if events.is_empty() {
            // Nothing reported: are there bytes the kernel is keeping from us?
            let mut peek = [0u8; 64];
            let waiting = server.peek(&mut peek).unwrap_or(0);
            return Ended::Stalled { answered, waiting };
        }
        loop {
            let mut message = [0u8; MESSAGE];
            match conn.read(&mut message) {
                Ok(0) => return Ended::Answered(answered), // The client closed.
                Ok(n) => {
                    assert_eq!(n, MESSAGE, "loopback delivers each small write whole");
                    conn.write_all(b"pong!").unwrap();
                    answered += 1;
                }
                // Everything that had arrived is read: the next edge will announce more.
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("read: {e}"),
            }
            if !drain {
                break; // One message per event: fine level-triggered, fatal edge-triggered.
            }
        }
    }
    Ended::Answered(answered)
}
// ANCHOR_END: edge_stall

/// The client sends two messages at once, then waits for its replies; the server loop runs
/// with `edge` and `drain` as given.
fn two_messages(edge: bool, drain: bool) -> Ended {
    let (mut client, server) = loopback_pair_with_timeouts(LIMIT).unwrap();
    client.write_all(b"ping1ping2").unwrap();
    // Both messages are in the server's receive buffer before the loop's first wait, so
    // both arrive under one edge.
    socklab_support::wait::until(LIMIT, "both messages to arrive", || {
        let mut peek = [0u8; 16];
        server.peek(&mut peek).unwrap_or(0) == 2 * MESSAGE
    })
    .unwrap();
    let mut api = Epoll::new(edge).unwrap();
    serve(&mut api, &server, 2, drain)
}

/// Edge-triggered, one read per event: the first message is answered, the second waits in
/// the buffer and `epoll_wait` never reports it.
#[test]
fn edge_triggered_without_draining_stalls() {
    assert_eq!(
        two_messages(true, false),
        Ended::Stalled {
            answered: 1,
            waiting: MESSAGE
        }
    );
}

/// The same loop level-triggered: the socket is reported again while bytes remain.
#[test]
fn level_triggered_reports_the_rest_again() {
    assert_eq!(two_messages(false, false), Ended::Answered(2));
}

/// Edge-triggered and reading until `WouldBlock`: both answered from the one event.
#[test]
fn edge_triggered_with_draining_finishes() {
    assert_eq!(two_messages(true, true), Ended::Answered(2));
}
