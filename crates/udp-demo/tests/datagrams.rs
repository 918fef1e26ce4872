//! Chapter 2 claims about datagrams: echo, boundaries, truncation and size limits.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use socklab_support::{Narrator, within};
use udp_demo::echo::{self, Faults};
use udp_demo::{MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD, boundaries, limits, truncation};

const LIMIT: Duration = Duration::from_secs(20);

/// Sends `payload` from a new socket to `server` and returns the reply and its sender.
fn echo_once(server: std::net::SocketAddr, payload: &[u8]) -> (Vec<u8>, std::net::SocketAddr) {
    let local = if server.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let client = UdpSocket::bind(local).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.send_to(payload, server).unwrap();
    let mut buf = vec![0u8; udp_demo::RECV_BUF];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    (buf[..n].to_vec(), from)
}

// ANCHOR: one_socket_serves_every_peer
/// One unconnected socket answers several peers, each at its own address, with no accept.
#[test]
fn one_socket_serves_every_peer() {
    let (addr, stats) = echo::spawn(
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        Faults::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    within(LIMIT, "three peers", move || {
        for i in 0..3u8 {
            let (reply, from) = echo_once(addr, &[i; 10]);
            assert_eq!(reply, [i; 10]);
            assert_eq!(from, addr, "the reply comes from the one server socket");
        }
    });
    assert_eq!(stats.received.load(std::sync::atomic::Ordering::Relaxed), 3);
}
// ANCHOR_END: one_socket_serves_every_peer

// ANCHOR: boundaries_are_kept
/// Five datagrams of different sizes, all queued before the first receive, come out as five
/// receives of exactly those sizes, although the buffer could hold them all.
#[test]
fn boundaries_are_kept() {
    let sizes = vec![1, 10, 100, 1000, 10_000];
    let expected = sizes.clone();
    let got = within(LIMIT, "boundaries", move || {
        boundaries::sizes_round_trip(&sizes).unwrap()
    });
    assert_eq!(got, expected);
}
// ANCHOR_END: boundaries_are_kept

// ANCHOR: truncation_is_silent_but_detectable
/// A 1000-byte datagram received into a 100-byte buffer: `recv_from` returns 100 with no
/// error, `recvmsg` reports `MSG_TRUNC`, and (Linux) a `MSG_TRUNC` peek tells the real length.
#[test]
fn truncation_is_silent_but_detectable() {
    let t = within(LIMIT, "truncation", || {
        truncation::truncate(1000, 100).unwrap()
    });
    assert_eq!(
        t.returned, 100,
        "the rest of the datagram is discarded, silently"
    );
    assert!(t.flagged, "recvmsg says the datagram was cut");
    #[cfg(target_os = "linux")]
    assert_eq!(t.peeked_len, Some(1000));
}
// ANCHOR_END: truncation_is_silent_but_detectable

// ANCHOR: largest_datagram
/// 65,507 bytes (IPv4's maximum UDP payload) go through loopback whole; one byte more fails
/// at once with `EMSGSIZE`.
#[test]
fn largest_ipv4_datagram_and_one_byte_more() {
    within(LIMIT, "size limits", || {
        assert_eq!(
            limits::send_of_size("127.0.0.1", MAX_IPV4_PAYLOAD).unwrap(),
            65_507
        );
        let err = limits::send_of_size("127.0.0.1", MAX_IPV4_PAYLOAD + 1).unwrap_err();
        assert!(limits::is_too_large(&err), "expected EMSGSIZE, got {err:?}");
    });
}
// ANCHOR_END: largest_datagram

/// IPv6 allows 65,527 bytes of payload (its length field excludes its own header); one more
/// is `EMSGSIZE`. The echo server works over `[::1]` too.
#[test]
fn ipv6_limits_and_echo() {
    if UdpSocket::bind("[::1]:0").is_err() {
        socklab_support::skip::skip("ipv6_limits_and_echo", "this machine has no IPv6 loopback");
        return;
    }
    within(LIMIT, "ipv6", || {
        assert_eq!(
            limits::send_of_size("::1", MAX_IPV6_PAYLOAD).unwrap(),
            65_527
        );
        let err = limits::send_of_size("::1", MAX_IPV6_PAYLOAD + 1).unwrap_err();
        assert!(limits::is_too_large(&err), "expected EMSGSIZE, got {err:?}");
        let (addr, _) = echo::spawn(
            UdpSocket::bind("[::1]:0").unwrap(),
            Faults::default(),
            Arc::new(Narrator::silent()),
        )
        .unwrap();
        assert_eq!(echo_once(addr, b"v6").0, b"v6");
    });
}

// ANCHOR: server_survives_odd_datagrams
/// Empty, maximal and random datagrams are echoed like any other, and the server keeps
/// answering other peers afterwards.
#[test]
fn server_survives_empty_maximal_and_garbage_datagrams() {
    let (addr, stats) = echo::spawn(
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        Faults::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    within(LIMIT, "odd datagrams", move || {
        assert_eq!(
            echo_once(addr, b"").0,
            b"",
            "a 0-byte datagram is a datagram"
        );
        let max = socklab_support::data::payload(3, MAX_IPV4_PAYLOAD);
        assert_eq!(echo_once(addr, &max).0, max);
        for seed in 0..20 {
            let junk = socklab_support::data::payload(seed, 1 + seed as usize * 97);
            assert_eq!(echo_once(addr, &junk).0, junk);
        }
        assert_eq!(echo_once(addr, b"still fine").0, b"still fine");
    });
    assert_eq!(stats.empty.load(std::sync::atomic::Ordering::Relaxed), 1);
}
// ANCHOR_END: server_survives_odd_datagrams
