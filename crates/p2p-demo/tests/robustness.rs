//! Chapter 9: a node bounds what strangers can make it do: garbage closes that one
//! connection, a handshake that never finishes is closed at the deadline, and connections
//! beyond the limit are refused.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use p2p_demo::node::{Config, Node};
use p2p_demo::wire::{Msg, read_msg};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, wait, within};

const LIMIT: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(10);

fn start(config: Config, log: &Arc<Narrator>) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    Node::start(listener, config, log.clone(), Stop::new().unwrap()).unwrap()
}

/// Reads until the node closes the connection; fails if it does not within the bound.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(SETTLE)).unwrap();
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => {}
        // The node may close with our bytes unread: the kernel then sends a reset.
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the node did not close the connection: {e}"),
    }
    got
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

// ANCHOR: garbage_closes_that_connection_and_the_node_keeps_running
/// Six kinds of garbage, each on a connection of its own: text (a length prefix that reads
/// `GET `), an unknown kind, a frame too short for its kind, a hello whose address does not
/// parse, a hello that claims the node's own id, and a heartbeat before any hello. Each
/// connection is closed with its reason in the log; the node keeps its link to a real peer
/// and goes on broadcasting to it.
#[test]
fn garbage_closes_that_connection_and_the_node_keeps_running() {
    within(LIMIT, "six kinds of garbage", || {
        let log = Arc::new(Narrator::capture());
        let heartbeat = Duration::from_secs(1);
        let a = start(
            Config {
                heartbeat,
                ..Config::new(1)
            },
            &log,
        );
        let b = start(
            Config {
                heartbeat,
                peers: vec![a.addr()],
                ..Config::new(2)
            },
            &log,
        );
        wait::until(SETTLE, "a and b linked", || {
            a.view() == [1, 2] && b.view() == [1, 2]
        })
        .unwrap();
        let mut bad_hello = vec![1];
        bad_hello.extend_from_slice(&[0; 16]);
        bad_hello.extend_from_slice(b"nowhere");
        let me: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let cases: [(Vec<u8>, &str); 6] = [
            (b"GET / HTTP/1.1\r\n\r\n".to_vec(), "looks like text"),
            (frame(&[9]), "unknown kind 9"),
            (frame(&[4, 0, 0]), "kind 4 is too short"),
            (frame(&bad_hello), "the listen address does not parse"),
            (
                Msg::Hello {
                    id: 1,
                    incarnation: 7,
                    listen: me,
                }
                .frame(),
                "which is me",
            ),
            (
                Msg::Heartbeat.frame(),
                "expected a hello first, got a heartbeat",
            ),
        ];
        for (bytes, reason) in &cases {
            let mut stranger = TcpStream::connect(a.addr()).unwrap();
            let from = stranger.local_addr().unwrap();
            stranger.write_all(bytes).unwrap();
            read_until_closed(&mut stranger);
            let said = format!("closed connection from {from}: ");
            wait::until(SETTLE, reason, || {
                log.lines()
                    .iter()
                    .any(|l| l.contains(&said) && l.contains(reason))
            })
            .unwrap_or_else(|e| panic!("{e}: {:#?}", log.lines()));
        }
        wait::until(SETTLE, "every bad connection counted", || {
            a.snapshot().counters.bad_closed == cases.len() as u64
        })
        .unwrap_or_else(|e| panic!("{e}: {:?}", a.snapshot().counters));
        assert_eq!(a.view(), [1, 2], "the real peer is still linked");
        a.broadcast(b"still serving").unwrap();
        wait::until(SETTLE, "b to deliver", || {
            !b.snapshot().delivered.is_empty()
        })
        .unwrap();
        a.stop();
        b.stop();
    });
}
// ANCHOR_END: garbage_closes_that_connection_and_the_node_keeps_running

// ANCHOR: a_handshake_that_never_finishes_is_closed_at_the_deadline
/// A stranger that connects, reads the node's hello and says nothing is closed once the
/// deadline (3 heartbeats of 100 ms) has passed, not before, and within two heartbeats after.
#[test]
fn a_handshake_that_never_finishes_is_closed_at_the_deadline() {
    within(LIMIT, "a silent stranger", || {
        let log = Arc::new(Narrator::capture());
        let config = Config::new(1);
        let (deadline, tick) = (config.deadline(), config.heartbeat);
        let a = start(config, &log);
        let started = Instant::now();
        let mut stranger = TcpStream::connect(a.addr()).unwrap();
        stranger.set_read_timeout(Some(SETTLE)).unwrap();
        let hello = read_msg(&mut stranger).unwrap();
        assert!(matches!(hello, Some(Msg::Hello { id: 1, .. })), "{hello:?}");
        read_until_closed(&mut stranger);
        let took = started.elapsed();
        assert!(
            took >= deadline,
            "closed after {took:?}, before the deadline"
        );
        assert!(
            took <= deadline + 2 * tick + Duration::from_millis(300),
            "{took:?}"
        );
        // The node logs right after it closes: the line may be a moment behind the EOF.
        wait::until(SETTLE, "the reason in the log", || {
            log.said("no handshake within 300 ms")
        })
        .unwrap_or_else(|e| panic!("{e}: {:#?}", log.lines()));
        a.stop();
    });
}
// ANCHOR_END: a_handshake_that_never_finishes_is_closed_at_the_deadline

// ANCHOR: connections_beyond_the_limit_are_refused
/// A node that takes at most one peer holds at most two connections (a handshake may be a
/// duplicate on its way to the tie-break): two strangers get its hello, the third is closed
/// at once without one, and the refusal is logged.
#[test]
fn connections_beyond_the_limit_are_refused() {
    within(LIMIT, "three strangers", || {
        let log = Arc::new(Narrator::capture());
        let config = Config {
            max_peers: 1,
            heartbeat: Duration::from_secs(1),
            ..Config::new(1)
        };
        let a = start(config, &log);
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut s = TcpStream::connect(a.addr()).unwrap();
            s.set_read_timeout(Some(SETTLE)).unwrap();
            assert!(matches!(read_msg(&mut s).unwrap(), Some(Msg::Hello { .. })));
            held.push(s);
        }
        let mut third = TcpStream::connect(a.addr()).unwrap();
        let from = third.local_addr().unwrap();
        assert!(
            read_until_closed(&mut third).is_empty(),
            "no hello for the third"
        );
        let said = format!("refused connection from {from}: limit of 2 connections");
        wait::until(SETTLE, "the refusal logged and counted", || {
            log.said(&said) && a.snapshot().counters.refused == 1
        })
        .unwrap_or_else(|e| panic!("{e}: {:#?}", log.lines()));
        a.stop();
    });
}
// ANCHOR_END: connections_beyond_the_limit_are_refused

// ANCHOR: a_hello_without_its_ack_is_not_a_link
/// A `Hello` whose sender is already gone (it said hello and closed, as a peer that gave up on
/// a connection still waiting in the listen queue has) never becomes a link: the node answers
/// it, reads the end of the stream, and its view never holds the sender.
#[test]
fn a_hello_without_its_ack_is_not_a_link() {
    within(LIMIT, "a hello alone", || {
        let log = Arc::new(Narrator::capture());
        let heartbeat = Duration::from_secs(1);
        let a = start(
            Config {
                heartbeat,
                ..Config::new(1)
            },
            &log,
        );
        let mut gone = TcpStream::connect(a.addr()).unwrap();
        let listen: SocketAddr = "127.0.0.1:9".parse().unwrap();
        gone.write_all(
            &Msg::Hello {
                id: 9,
                incarnation: 1,
                listen,
            }
            .frame(),
        )
        .unwrap();
        gone.shutdown(Shutdown::Write).unwrap();
        read_until_closed(&mut gone);
        wait::until(SETTLE, "the connection to end", || {
            log.said("ended before its handshake")
        })
        .unwrap_or_else(|e| panic!("{e}: {:#?}", log.lines()));
        assert!(!log.said("up 9"), "{:#?}", log.lines());
        assert_eq!(a.view(), [1]);
        a.stop();
    });
}
// ANCHOR_END: a_hello_without_its_ack_is_not_a_link

// ANCHOR: a_peer_that_does_not_read_is_dropped
/// A peer that completes the handshake and keeps sending heartbeats, but never reads, is
/// dropped once what the node has for it fills the socket's buffers and the node's queue: by
/// the write timeout or the full queue, not by silence, since it is not silent.
#[test]
fn a_peer_that_does_not_read_is_dropped() {
    within(LIMIT, "a peer that does not read", || {
        let log = Arc::new(Narrator::capture());
        let a = start(Config::new(1), &log);
        let mut deaf = TcpStream::connect(a.addr()).unwrap();
        deaf.set_read_timeout(Some(SETTLE)).unwrap();
        let listen: SocketAddr = "127.0.0.1:9".parse().unwrap();
        deaf.write_all(
            &Msg::Hello {
                id: 9,
                incarnation: 1,
                listen,
            }
            .frame(),
        )
        .unwrap();
        // Its hello and our ack: then never another read.
        assert!(matches!(
            read_msg(&mut deaf).unwrap(),
            Some(Msg::Hello { .. })
        ));
        assert_eq!(read_msg(&mut deaf).unwrap(), Some(Msg::HelloAck));
        deaf.write_all(&Msg::HelloAck.frame()).unwrap();
        wait::until(SETTLE, "the link", || a.view() == [1, 9]).unwrap();
        let beating = Arc::new(AtomicBool::new(true));
        let heart = {
            let (mut deaf, beating) = (deaf.try_clone().unwrap(), beating.clone());
            thread::spawn(move || {
                while beating.load(Ordering::Relaxed) {
                    if deaf.write_all(&Msg::Heartbeat.frame()).is_err() {
                        return;
                    }
                    thread::sleep(Duration::from_millis(50)); // A heartbeat's pace.
                }
            })
        };
        let body = vec![b'x'; 60 * 1024];
        let mut sent = 0;
        while a.view().contains(&9) {
            assert!(sent < 10_000, "never dropped: {:#?}", log.lines());
            let _ = a.broadcast(&body);
            sent += 1;
            if sent % 64 == 0 {
                thread::yield_now();
            }
        }
        beating.store(false, Ordering::Relaxed);
        let line = log
            .lines()
            .into_iter()
            .find(|l| l.contains("down 9 ("))
            .expect("a down line");
        assert!(
            line.contains("write failed") || line.contains("send queue is full"),
            "{line}"
        );
        let _ = heart.join();
        a.stop();
    });
}
// ANCHOR_END: a_peer_that_does_not_read_is_dropped
