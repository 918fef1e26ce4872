//! Chapter 1's claims about the wire, proved by the packets the wire lab's link recorded (the
//! deepest proof the course has: the segments themselves): what the handshake's SYNs carry,
//! when `connect` and `accept` return, and how writes become segments. And `demo --wire`,
//! which prints those packets under its narration and saves them for `tcpdump -r`.
//!
//! Where no lab can be made, each test says so and why (`SKIPPED ...`) and returns.

use std::time::Duration;

use socklab_wire::{Direction, LinkConfig, testing};
use tcp_demo::wire::{self, IPV4_TCP_HEADERS};

const BIN: &str = env!("CARGO_BIN_EXE_tcp-demo");

/// The bound on each run of the binary.
const LIMIT: Duration = Duration::from_secs(60);

/// The timestamp option (10 bytes, padded to 12) that Linux puts in every segment after the
/// handshake, inside the MSS.
const TIMESTAMPS: usize = 12;

/// The handshake is three segments, `[S]`, `[S.]`, `[.]`; both SYNs carry an MSS of the
/// link's MTU less 40 bytes of headers, and a window scale; the third acknowledges the
/// SYN-ACK and carries neither (proved by the packets, at two MTUs).
#[test]
fn handshake_carries_mss_and_window_scale() {
    for mtu in [1500u16, 4000] {
        let config = LinkConfig {
            mtu,
            ..wire::link()
        };
        let Some(lab) = testing::lab("handshake_carries_mss_and_window_scale", config) else {
            return;
        };
        let h = wire::handshake(&lab, 7000).unwrap();
        print!("{}", h.trace);
        let [syn, syn_ack, ack] = wire::handshake_segments(&h.trace).unwrap();
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

/// `connect` returns once the SYN-ACK has arrived: one round trip (two crossings of `50 ms`)
/// after it was called, and *before* its own ACK reaches the server; `accept` returns only
/// after that ACK has arrived (proved by the lab's clock against the packets' times).
#[test]
fn connect_returns_after_the_syn_ack() {
    let delay = Duration::from_millis(50);
    let config = LinkConfig {
        delay,
        ..wire::link()
    };
    let Some(lab) = testing::lab("connect_returns_after_the_syn_ack", config) else {
        return;
    };
    let h = wire::handshake(&lab, 7000).unwrap();
    print!("{}", h.trace);
    println!(
        "called {:?}, connected {:?}, accepted {:?}",
        h.called, h.connected, h.accepted
    );
    let [_, (syn_ack, _), (ack, _)] = wire::handshake_segments(&h.trace).unwrap();
    assert!(
        h.connected - h.called >= 2 * delay,
        "connect took {:?}",
        h.connected - h.called
    );
    assert!(
        syn_ack.arrived().unwrap() <= h.connected,
        "connect returned before the SYN-ACK arrived"
    );
    assert!(
        h.connected < ack.arrived().unwrap(),
        "connect waited for its own ACK to arrive"
    );
    assert!(
        h.accepted >= ack.arrived().unwrap(),
        "accept returned before the ACK arrived"
    );
}

/// One `write` of `100 KB` over a link with an MTU of `1500` bytes leaves as segments of at
/// most one MSS (`1460` bytes, less `12` of timestamp option: `1448` of data), nearly all of
/// them full, and no packet longer than the MTU (proved by the packets).
#[test]
fn one_big_write_leaves_as_mss_segments() {
    let Some(lab) = testing::lab("one_big_write_leaves_as_mss_segments", wire::link()) else {
        return;
    };
    let big = wire::one_big_write(&lab, 7000, 100_000).unwrap();
    print!("{}", big.trace);
    assert_eq!(big.written, 100_000, "one write took everything");
    let data = wire::data_from_a(&big.trace);
    assert_eq!(
        data.iter().sum::<usize>(),
        100_000,
        "a segment was sent twice"
    );
    let mss = usize::from(1500 - IPV4_TCP_HEADERS) - TIMESTAMPS;
    assert_eq!(data.iter().max(), Some(&mss));
    let full = data.iter().filter(|&&len| len == mss).count();
    assert!(full >= 100_000 / mss - 2, "{full} full segments: {data:?}");
    for p in big.trace.iter() {
        assert!(p.len <= 1500, "a packet longer than the MTU: {p}");
    }
}

/// How many small writes: fewer than Linux's initial congestion window (10 segments), so
/// that only Nagle's algorithm, and not the congestion window, can hold any of them back.
const WRITES: usize = 8;

/// Eight `10`-byte writes, one right after the other, leave as fewer segments than writes:
/// the first leaves at once; while it waits for its ACK, Nagle's algorithm holds the next
/// writes' bytes and sends them together (proved by the packets: a segment carrying several
/// writes, and fewer segments than writes).
#[test]
fn small_writes_leave_as_fewer_segments() {
    let name = "small_writes_leave_as_fewer_segments";
    let Some(lab) = testing::lab(name, wire::link()) else {
        return;
    };
    let trace = wire::small_writes(&lab, 7000, WRITES, false).unwrap();
    print!("{trace}");
    let data = wire::data_from_a(&trace);
    assert_eq!(data.iter().sum::<usize>(), WRITES * 10);
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
/// its own at once (proved by the packets: eight `10`-byte segments).
#[test]
fn nodelay_sends_each_small_write() {
    let Some(lab) = testing::lab("nodelay_sends_each_small_write", wire::link()) else {
        return;
    };
    let trace = wire::small_writes(&lab, 7000, WRITES, true).unwrap();
    print!("{trace}");
    assert_eq!(wire::data_from_a(&trace), vec![10; WRITES]);
}

/// `demo --wire --pcap FILE` runs the experiments on the lab and prints each one's packets
/// under its narration: the SYN with its MSS under the handshake, full-sized segments under
/// the big write; and `tcpdump -r FILE` reads the very packets it printed.
#[test]
fn demo_wire_prints_the_packets_under_the_narration() {
    let name = "demo_wire_prints_the_packets_under_the_narration";
    let Some((out, pcap)) = testing::run_demo_wire(name, BIN, LIMIT) else {
        return;
    };
    let sections = testing::Sections::of(&out.stdout);
    sections.under(
        "1.",
        "connect() returned",
        &["Flags [S], seq 0", "mss 1460", "wscale"],
    );
    sections.under("1.", "accept() returned", &["Flags [S.], seq 0, ack 1"]);
    sections.under("2.", "one write() call took 100000 bytes", &["length 1448"]);
    sections.under("3.", "left as", &["Flags [P.], seq 1:11"]);
    sections.under("4.", "left as 8 data segments", &["Flags [P.], seq 71:81"]);
    let printed = testing::trace_lines(&out.stdout);
    testing::compare_with_tcpdump(name, &printed, &pcap);
    let _ = std::fs::remove_file(&pcap);
}

/// Where no lab can be made, `demo --wire` says why and how to allow it in one line, and
/// exits 1 (the lab is switched off here with `SOCKLAB_WIRE_FORCE_UNAVAILABLE`); `--pcap`
/// without `--wire` is refused as a usage error.
#[test]
fn demo_wire_without_a_lab_says_why_in_one_line() {
    testing::assert_demo_wire_without_a_lab_says_why(BIN, "tcp-demo", LIMIT);
}
