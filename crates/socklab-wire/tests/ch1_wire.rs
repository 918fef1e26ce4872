//! Chapter 1's claims about TCP, proved by the packets on the wire lab's link: the
//! three-way handshake and what its SYNs carry, when `connect` returns, and how writes become
//! segments.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{LIMIT, TIMEOUT, connect, listen, show, wait_for};
use socklab_support::within;
use socklab_wire::{Direction, LinkConfig, testing};

/// IPv4 and TCP headers without options: what an MSS leaves out of the MTU.
const IPV4_TCP_HEADERS: u16 = 20 + 20;

/// The timestamp option (10 bytes, padded to 12) that Linux puts in every segment after the
/// handshake, inside the MSS.
const TIMESTAMPS: usize = 12;

// ANCHOR: handshake_carries_mss_and_window_scale
/// The handshake is three segments, `[S]`, `[S.]`, `[.]`; both SYNs carry an MSS of the
/// link's MTU minus 40 bytes of headers, and a window scale; the third acknowledges the
/// SYN-ACK and carries no options of the kind (proved by the packets, at two MTUs).
#[test]
fn handshake_carries_mss_and_window_scale() {
    for mtu in [1500u16, 4000] {
        let config = LinkConfig {
            mtu,
            ..LinkConfig::default()
        };
        let Some(lab) = testing::lab("handshake_carries_mss_and_window_scale", config) else {
            return;
        };
        let (_client, _server) = connect(&lab, 7000);
        let seen = wait_for(&lab, 7000, "the handshake's last ACK", |_, t| {
            !t.flags.syn && t.flags.ack
        });
        show(&seen);
        let (syn, syn_ack, ack) = (&seen[0], &seen[1], &seen[2]);
        assert_eq!(syn.0.direction, Direction::AToB);
        assert_eq!(syn.1.flags.notation(), "S");
        assert_eq!(syn_ack.0.direction, Direction::BToA);
        assert_eq!(syn_ack.1.flags.notation(), "S.");
        assert_eq!(syn_ack.1.ack, Some(1), "the SYN-ACK acknowledges the SYN");
        assert_eq!(ack.0.direction, Direction::AToB);
        assert_eq!(ack.1.flags.notation(), ".");
        assert_eq!((ack.1.seq, ack.1.ack), (1, Some(1)));
        for (_, syn) in [syn, syn_ack] {
            assert_eq!(syn.mss(), Some(mtu - IPV4_TCP_HEADERS), "{syn:?}");
            assert!(syn.window_scale().is_some(), "no window scale: {syn:?}");
        }
        assert_eq!((ack.1.mss(), ack.1.window_scale()), (None, None));
    }
}
// ANCHOR_END: handshake_carries_mss_and_window_scale

// ANCHOR: connect_returns_after_the_syn_ack
/// `connect` returns once the SYN-ACK has arrived: after one round trip (two 50 ms crossings),
/// and *before* its own ACK reaches the server; `accept` returns only after that ACK has
/// arrived, half a round trip later (proved by the lab's clock against the packets' times).
#[test]
fn connect_returns_after_the_syn_ack() {
    let delay = Duration::from_millis(50);
    let config = LinkConfig {
        delay,
        ..LinkConfig::default()
    };
    let Some(lab) = testing::lab("connect_returns_after_the_syn_ack", config) else {
        return;
    };
    let listener = listen(&lab, 7000);
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let link = lab.link().clone();
    let accepted = std::thread::spawn(move || {
        within(LIMIT, "accept", move || {
            listener.accept().unwrap();
            link.now()
        })
    });
    let (started, _client, returned) = a
        .run(|| {
            let started = lab.now();
            let client = TcpStream::connect_timeout(&b.addr(7000), TIMEOUT).unwrap();
            (started, client, lab.now())
        })
        .unwrap();
    let accepted = accepted.join().unwrap();
    let seen = wait_for(&lab, 7000, "the handshake's ACK", |_, t| !t.flags.syn);
    show(&seen);
    let (syn_ack, ack) = (&seen[1].0, &seen[2].0);
    assert!(
        returned - started >= 2 * delay,
        "connect took {:?}",
        returned - started
    );
    assert!(
        syn_ack.arrived().unwrap() <= returned,
        "connect returned before the SYN-ACK"
    );
    assert!(
        returned < ack.arrived().unwrap(),
        "connect waited for its ACK to arrive"
    );
    assert!(
        accepted >= ack.arrived().unwrap(),
        "accept returned before the ACK arrived"
    );
}
// ANCHOR_END: connect_returns_after_the_syn_ack

/// One 100 KB `write` over a 1500-byte-MTU link leaves as segments of at most one MSS
/// (1460 bytes, less 12 of timestamp option: 1448 of data), nearly all of them full: TCP cuts
/// the byte stream to fit the path, whatever the size of the write.
#[test]
fn one_big_write_leaves_as_mss_segments() {
    let Some(lab) = testing::lab(
        "one_big_write_leaves_as_mss_segments",
        LinkConfig::default(),
    ) else {
        return;
    };
    let (mut client, mut server) = connect(&lab, 7000);
    let data = vec![42u8; 100_000];
    within(LIMIT, "one 100 KB write, read whole", move || {
        // A blocking socket's write takes everything it is given (or fails).
        assert_eq!(client.write(&data).unwrap(), 100_000);
        let mut got = vec![0u8; 100_000];
        server.read_exact(&mut got).unwrap();
    });
    let mss = 1500 - usize::from(IPV4_TCP_HEADERS) - TIMESTAMPS;
    let seen = wait_for(&lab, 7000, "the last data ACKed", |_, t| {
        t.ack == Some(100_001)
    });
    let data: Vec<usize> = seen
        .iter()
        .filter(|(p, t)| p.direction == Direction::AToB && t.payload_len > 0)
        .map(|(_, t)| t.payload_len)
        .collect();
    show(&seen);
    assert_eq!(
        data.iter().sum::<usize>(),
        100_000,
        "a segment was sent twice"
    );
    assert_eq!(data.iter().max(), Some(&mss));
    let full = data.iter().filter(|&&len| len == mss).count();
    assert!(full >= 100_000 / mss - 2, "{full} full segments: {data:?}");
    for (p, _) in &seen {
        assert!(p.len <= 1500, "a packet longer than the MTU: {p}");
    }
}

/// How many small writes: fewer than Linux's initial congestion window (10 segments), so
/// that only Nagle's algorithm, and not the congestion window, can hold any of them back.
const WRITES: usize = 8;

/// [`WRITES`] 10-byte writes, one right after the other, on a connection with 10 ms each
/// way. Returns the payload lengths of the data segments that left A.
fn small_writes(name: &str, nodelay: bool) -> Option<Vec<usize>> {
    let config = LinkConfig {
        delay: Duration::from_millis(10),
        ..LinkConfig::default()
    };
    let lab = testing::lab(name, config)?;
    let (mut client, mut server) = connect(&lab, 7000);
    client.set_nodelay(nodelay).unwrap();
    within(LIMIT, "small writes", move || {
        for _ in 0..WRITES {
            client.write_all(&[1u8; 10]).unwrap();
        }
        let mut got = [0u8; WRITES * 10];
        server.read_exact(&mut got).unwrap();
    });
    let all_acked = (WRITES * 10 + 1) as u32;
    let seen = wait_for(&lab, 7000, "every byte ACKed", |_, t| {
        t.ack == Some(all_acked)
    });
    show(&seen);
    let data: Vec<usize> = seen
        .iter()
        .filter(|(p, t)| p.direction == Direction::AToB && t.payload_len > 0)
        .map(|(_, t)| t.payload_len)
        .collect();
    assert_eq!(data.iter().sum::<usize>(), WRITES * 10);
    Some(data)
}

/// Eight 10-byte writes leave as fewer segments than writes: the first leaves at once; while
/// it waits for its ACK (20 ms away), Nagle's algorithm holds the bytes of the next writes and
/// sends them together when the ACK comes (proved by the packets: a segment carrying several
/// writes, and fewer segments than writes).
#[test]
fn small_writes_leave_as_fewer_segments() {
    let Some(data) = small_writes("small_writes_leave_as_fewer_segments", false) else {
        return;
    };
    assert_eq!(data[0], 10, "the first write leaves alone, at once");
    assert!(
        data.len() < WRITES,
        "{} segments for {WRITES} writes: {data:?}",
        data.len()
    );
    assert!(
        data.iter().any(|&len| len > 10),
        "no segment carried several writes"
    );
}

/// With `TCP_NODELAY`, Nagle's algorithm is off and each small write leaves in a segment of
/// its own at once (proved by the packets: eight 10-byte segments).
#[test]
fn nodelay_sends_each_small_write() {
    let Some(data) = small_writes("nodelay_sends_each_small_write", true) else {
        return;
    };
    assert_eq!(data, vec![10; WRITES]);
}
