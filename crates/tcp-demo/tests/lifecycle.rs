//! Chapter 1 claims about the connection life cycle, checked on the running kernel.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use socklab_support::{Narrator, within};

const LIMIT: Duration = Duration::from_secs(10);

/// Myth: "the server assigns a new port to each accepted connection". Every accepted socket
/// has the listener's own local port; connections differ only in the peer's half of the
/// 4-tuple.
#[test]
fn accepted_socket_shares_listener_port() {
    within(LIMIT, "accept three connections", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let clients: Vec<TcpStream> = (0..3)
            .map(|_| TcpStream::connect(listener.local_addr().unwrap()).unwrap())
            .collect();
        let mut tuples = std::collections::HashSet::new();
        for client in &clients {
            let (accepted, peer) = listener.accept().unwrap();
            assert_eq!(
                accepted.local_addr().unwrap().port(),
                port,
                "same port as the listener"
            );
            assert_eq!(
                peer,
                client.local_addr().unwrap(),
                "the peer is the client's address"
            );
            assert_eq!(
                client.peer_addr().unwrap().port(),
                port,
                "the client talks to that port"
            );
            tuples.insert((accepted.local_addr().unwrap(), peer));
        }
        assert_eq!(
            tuples.len(),
            3,
            "three distinct 4-tuples share one local port"
        );
    });
}

// ANCHOR: handshake_completes_before_accept
/// `connect` returns once the kernel has finished the handshake, before the server calls
/// `accept`; bytes sent then wait in the queued connection's receive buffer.
#[test]
fn handshake_completes_before_accept() {
    within(LIMIT, "connect, send, then accept", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.write_all(b"early").unwrap(); // Nobody has accepted yet.
        let (mut accepted, _) = listener.accept().unwrap();
        accepted.set_read_timeout(Some(LIMIT)).unwrap();
        let mut buf = [0u8; 5];
        accepted.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"early");
    });
}
// ANCHOR_END: handshake_completes_before_accept

/// The narrated walk reports the addresses the kernel really chose: an ephemeral port for the
/// listener (port 0 was asked for), another for the client, and a shared port after accept.
#[test]
fn walk_reports_real_addresses() {
    let n = Narrator::capture();
    let seen = tcp_demo::lifecycle::walk(&n, "127.0.0.1:0".parse().unwrap()).unwrap();
    assert_ne!(seen.listener.port(), 0, "bind to port 0 picks a real port");
    assert_eq!(seen.accepted_local, seen.listener);
    assert_eq!(seen.accepted_peer, seen.client_local);
    assert_ne!(seen.client_local.port(), seen.listener.port());
    assert!(
        n.said("read() -> 0"),
        "the walk ends with the peer's close seen as read() == 0"
    );
}
