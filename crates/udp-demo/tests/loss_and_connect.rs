//! Chapter 2 claims about loss, connected UDP and reliability.

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use socklab_support::{Narrator, within};
use udp_demo::echo::{self, Faults};
use udp_demo::reliable::Client;
use udp_demo::{connected, loss};

const LIMIT: Duration = Duration::from_secs(30);

// ANCHOR: loss_adds_up
/// A burst of 2000 datagrams at a receiver with a 16 KiB buffer that is not reading: many are
/// lost although every `send_to` succeeded, and (on Linux) the kernel's own drop counter
/// accounts for every one: received + dropped = sent.
#[test]
fn loss_is_real_and_adds_up() {
    let b = within(LIMIT, "burst", || {
        loss::burst(2000, 1000, 16 * 1024).unwrap()
    });
    assert!(
        b.received < b.sent,
        "a 16 KiB buffer cannot hold 2 MB: {b:?}"
    );
    assert!(b.received > 0, "the buffer held some: {b:?}");
    #[cfg(target_os = "linux")]
    assert_eq!(b.received + b.kernel_dropped.unwrap(), b.sent, "{b:?}");
}
// ANCHOR_END: loss_adds_up

// ANCHOR: connect_filters_peers
/// A UDP socket connected to B receives B's datagrams and never the stranger's, although the
/// stranger's was sent first.
#[test]
fn connect_filters_other_peers() {
    let f = within(LIMIT, "filter", || connected::filter().unwrap());
    assert_eq!(
        f.received,
        vec![b"from the peer".to_vec(), b"from the peer again".to_vec()]
    );
}
// ANCHOR_END: connect_filters_peers

// ANCHOR: icmp_errors_need_connect
/// Sending to a closed port: the connected socket's next receive fails with
/// `ConnectionRefused` (the ICMP "port unreachable"); by default (no `IP_RECVERR`) the
/// unconnected one's just times out.
#[test]
fn only_connected_sockets_hear_port_unreachable() {
    let started = Instant::now();
    let (connected_err, unconnected_err) =
        within(LIMIT, "unreachable", || connected::unreachable().unwrap());
    assert_eq!(
        connected_err.kind(),
        ErrorKind::ConnectionRefused,
        "{connected_err:?}"
    );
    assert!(
        matches!(
            unconnected_err.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut
        ),
        "{unconnected_err:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "the unconnected one waited it out"
    );
}
// ANCHOR_END: icmp_errors_need_connect

// ANCHOR: recverr_tells_unconnected_sockets
/// With `IP_RECVERR` set, an unconnected socket hears the "port unreachable" too: its next
/// receive fails with `ConnectionRefused`, and its error queue holds the ICMP error (type 3,
/// code 3) with the destination it concerns, the closed port (Linux).
#[test]
#[cfg(target_os = "linux")]
fn ip_recverr_tells_an_unconnected_socket_which_peer_was_unreachable() {
    let told = within(LIMIT, "IP_RECVERR", || {
        connected::unconnected_with_recverr().unwrap()
    });
    let kind = told.next_recv.as_ref().map_err(|e| e.kind());
    assert_eq!(kind, Err(ErrorKind::ConnectionRefused), "{told:?}");
    assert_eq!(told.queued.errno, nix::libc::ECONNREFUSED, "{told:?}");
    assert_eq!(told.queued.origin, 2, "SO_EE_ORIGIN_ICMP: {told:?}");
    assert_eq!(told.queued.icmp, (3, 3), "port unreachable: {told:?}");
    assert_eq!(told.queued.destination, Some(told.closed), "{told:?}");
}
// ANCHOR_END: recverr_tells_unconnected_sockets

// ANCHOR: connect_sends_nothing
/// Myth: "`connect` on a UDP socket makes a connection". It sends nothing: the first datagram
/// the peer receives is the first one the socket sends after connecting.
#[test]
fn connect_on_udp_sends_nothing() {
    let first = within(LIMIT, "connect, then send", || {
        connected::first_datagram_after_connect().unwrap()
    });
    assert_eq!(first, b"the first datagram");
}
// ANCHOR_END: connect_sends_nothing

// ANCHOR: retries_survive_loss
/// Against a server that drops 30% of requests and duplicates 20% of replies, a client with
/// sequence numbers, a 50 ms per-try timeout and retries completes all 100 requests with the
/// right answers: at least one retry per deliberate drop, and duplicates discarded.
#[test]
fn retries_and_sequence_numbers_survive_loss_and_duplicates() {
    let faults = Faults {
        drop: 0.3,
        duplicate: 0.2,
        seed: 11,
    };
    let (addr, stats) = echo::spawn(
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        faults,
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    let client_stats = within(LIMIT, "reliable requests", move || {
        let mut client = Client::new(addr, Duration::from_millis(50), 20).unwrap();
        for i in 0..100u32 {
            assert_eq!(
                client.request(&i.to_be_bytes()).unwrap(),
                i.to_be_bytes(),
                "request {i}"
            );
        }
        client.stats
    });
    let dropped = stats.dropped.load(Ordering::Relaxed);
    assert_eq!(client_stats.completed, 100);
    assert!(dropped > 0, "the server dropped some on purpose");
    // Each deliberate drop costs one retry; a reply slower than 50 ms on a busy machine can
    // cost an extra one, so the relation is "at least".
    assert!(
        client_stats.retries >= dropped,
        "{client_stats:?}, dropped {dropped}"
    );
    assert!(
        client_stats.stale_replies > 0,
        "duplicated replies were seen and discarded"
    );
}
// ANCHOR_END: retries_survive_loss

/// With no server at all, the client gives up after its tries with `TimedOut`, or earlier with
/// `ConnectionRefused` (connected UDP hears the ICMP error); it never hangs.
#[test]
fn client_gives_up_on_a_dead_server() {
    let dead = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = within(LIMIT, "dead server", move || {
        let mut client = Client::new(dead, Duration::from_millis(50), 3).unwrap();
        client.request(b"hello?").unwrap_err()
    });
    assert!(
        matches!(
            err.kind(),
            ErrorKind::TimedOut | ErrorKind::ConnectionRefused
        ),
        "{err:?}"
    );
}

// ANCHOR: stale_replies_do_not_extend_a_try
/// Each try has a deadline fixed when the request is sent: a peer answering every 2 ms with
/// replies to some *other* request (stale sequence numbers) uses up that time instead of
/// restarting the wait. With 2 tries of 500 ms, the request fails with `TimedOut` after
/// exactly 1 retry, having discarded the stale replies, instead of waiting as long as the
/// babble lasts (12 s, longer than the test's bound).
#[test]
fn stale_replies_do_not_extend_a_try() {
    let fake = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = fake.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let babbler = std::thread::spawn({
        let done = Arc::clone(&done);
        move || {
            // Learn the client's address from its first request, then answer it with stale
            // replies every 2 ms until the test is over.
            fake.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut buf = [0u8; 64];
            let (_, client) = fake.recv_from(&mut buf).unwrap();
            let stale = u64::MAX.to_be_bytes();
            let started = Instant::now();
            while !done.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(12) {
                let _ = fake.send_to(&stale, client);
                std::thread::sleep(Duration::from_millis(2)); // The babble's pace.
            }
        }
    });
    let per_try = Duration::from_millis(500);
    let (err, stats, took) = within(
        Duration::from_secs(10),
        "a request among stale replies",
        move || {
            let mut client = Client::new(addr, per_try, 2).unwrap();
            let started = Instant::now();
            let err = client.request(b"hello?").unwrap_err();
            (err, client.stats, started.elapsed())
        },
    );
    done.store(true, Ordering::Relaxed);
    babbler.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert_eq!(stats.retries, 1, "{stats:?}");
    assert_eq!(stats.completed, 0);
    assert!(stats.stale_replies > 0, "{stats:?}");
    assert!(took >= 2 * per_try, "gave up early: {took:?}");
}
// ANCHOR_END: stale_replies_do_not_extend_a_try
