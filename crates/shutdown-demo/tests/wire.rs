//! Chapter 5's claims about how a connection ends, proved by the packets the wire lab's link
//! recorded (the deepest proof the course has: the segments themselves): the FIN exchange,
//! half-close, the RSTs of `close` with unread data and of `SO_LINGER` 0, and TIME-WAIT on
//! the side that sent the first FIN. And `demo --wire`, which prints those packets under its
//! narration and saves them for `tcpdump -r`.
//!
//! Where no lab can be made, each test says so and why (`SKIPPED ...`) and returns.

use std::io::ErrorKind;
use std::time::Duration;

use shutdown_demo::states::TcpState;
use shutdown_demo::wire;
use socklab_wire::{Direction, DropReason, Packet, Tcp, Trace, testing};

const BIN: &str = env!("CARGO_BIN_EXE_shutdown-demo");

/// The bound on each run of the binary.
const LIMIT: Duration = Duration::from_secs(60);

/// The segments after the handshake, with their packets.
fn after_handshake(trace: &Trace) -> Vec<(&Packet, &Tcp)> {
    trace.tcp().skip(3).collect()
}

// ANCHOR: orderly_close_exchanges_fins
/// An orderly close is a FIN each way, each acknowledged: A's `[F.]`, then B's `[F.]`, which
/// acknowledges A's FIN, and A's last `[.]` acknowledging B's; no RST (proved by the packets).
#[test]
fn orderly_close_exchanges_fins() {
    let Some(lab) = testing::lab("orderly_close_exchanges_fins", wire::link()) else {
        return;
    };
    let trace = wire::orderly_close(&lab, 7000).unwrap();
    print!("{trace}");
    let close = after_handshake(&trace);
    let fin_from = |d: Direction| {
        close
            .iter()
            .position(|(p, t)| p.direction == d && t.flags.fin)
            .unwrap_or_else(|| panic!("no FIN {d:?}"))
    };
    let (a_fin, b_fin) = (fin_from(Direction::AToB), fin_from(Direction::BToA));
    assert!(a_fin < b_fin, "B's FIN came first");
    assert_eq!(close[a_fin].1.flags.notation(), "F.");
    assert_eq!(close[b_fin].1.flags.notation(), "F.");
    assert_eq!(
        close[b_fin].1.ack,
        Some(close[a_fin].1.seq_end()),
        "B's FIN acknowledges A's"
    );
    let (last, last_tcp) = close.last().unwrap();
    assert_eq!(last.direction, Direction::AToB);
    assert_eq!(last_tcp.flags.notation(), ".");
    assert_eq!(last_tcp.ack, Some(close[b_fin].1.seq_end()));
    assert!(
        close.iter().all(|(_, t)| !t.flags.rst),
        "an orderly close sent a RST"
    );
}
// ANCHOR_END: orderly_close_exchanges_fins

// ANCHOR: half_close_keeps_the_other_direction
/// Half-close: after A's `shutdown(Write)` sends its FIN, B's whole reply still crosses to A,
/// and A still acknowledges it; A sends no data after its FIN (proved by the packets: data
/// B→A after A's FIN, only ACKs A→B).
#[test]
fn half_close_keeps_the_other_direction() {
    let Some(lab) = testing::lab("half_close_keeps_the_other_direction", wire::link()) else {
        return;
    };
    let request = [7u8; 3000];
    let h = wire::half_close(&lab, 7000, &request).unwrap();
    print!("{}", h.trace);
    assert_eq!(h.server_read, request.len());
    assert!(
        h.reply.ends_with(&request),
        "the reply did not come back whole"
    );
    let segments: Vec<(&Packet, &Tcp)> = h.trace.tcp().collect();
    let a_fin = segments
        .iter()
        .position(|(p, t)| p.direction == Direction::AToB && t.flags.fin)
        .expect("A sent no FIN");
    let after = &segments[a_fin + 1..];
    let data_back: usize = after
        .iter()
        .filter(|(p, _)| p.direction == Direction::BToA)
        .map(|(_, t)| t.payload_len)
        .sum();
    assert_eq!(
        data_back,
        h.reply.len(),
        "not all the reply crossed after A's FIN"
    );
    let from_a: Vec<&Tcp> = after
        .iter()
        .filter(|(p, _)| p.direction == Direction::AToB)
        .map(|(_, t)| *t)
        .collect();
    assert!(!from_a.is_empty(), "A acknowledged nothing after its FIN");
    assert!(
        from_a.iter().all(|t| t.payload_len == 0 && !t.flags.fin),
        "A sent data after its FIN"
    );
}
// ANCHOR_END: half_close_keeps_the_other_direction

// ANCHOR: close_with_unread_data_puts_rst_on_the_wire
/// `close` with bytes still unread sends a RST, not a FIN: B received the bytes and
/// acknowledged them, never read them, and closed: on the wire, `[R.]` from B and no FIN;
/// A's next read fails with `ConnectionReset` (proved by the packets).
#[test]
fn close_with_unread_data_puts_rst_on_the_wire() {
    let name = "close_with_unread_data_puts_rst_on_the_wire";
    let Some(lab) = testing::lab(name, wire::link()) else {
        return;
    };
    let r = wire::close_with_unread_data(&lab, 7000).unwrap();
    print!("{}", r.trace);
    let from_b: Vec<&Tcp> = after_handshake(&r.trace)
        .into_iter()
        .filter(|(p, _)| p.direction == Direction::BToA)
        .map(|(_, t)| t)
        .collect();
    assert!(from_b.iter().all(|t| !t.flags.fin), "B sent a FIN");
    assert_eq!(from_b.last().unwrap().flags.notation(), "R.");
    let err = r.peer_read.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}
// ANCHOR_END: close_with_unread_data_puts_rst_on_the_wire

// ANCHOR: linger_zero_puts_rst_on_the_wire
/// `SO_LINGER` with a zero timeout turns `close` into an abort: B had nothing unread, yet
/// its close is `[R.]` and nothing else, and B keeps no TIME-WAIT (proved by the packets and
/// by B's own `/proc/net/tcp`).
#[test]
fn linger_zero_puts_rst_on_the_wire() {
    let Some(lab) = testing::lab("linger_zero_puts_rst_on_the_wire", wire::link()) else {
        return;
    };
    let r = wire::linger_zero(&lab, 7000).unwrap();
    print!("{}", r.trace);
    let close = after_handshake(&r.trace);
    assert_eq!(close.len(), 1, "more than the RST");
    assert_eq!(close[0].0.direction, Direction::BToA);
    assert_eq!(close[0].1.flags.notation(), "R.");
    assert_eq!(r.b_state, None, "B kept its side of the connection");
    assert_eq!(r.peer_read.unwrap_err().kind(), ErrorKind::ConnectionReset);
}
// ANCHOR_END: linger_zero_puts_rst_on_the_wire

// ANCHOR: time_wait_on_the_side_that_sent_the_first_fin
/// The side that sends the first FIN ends in TIME-WAIT, and TIME-WAIT answers a
/// retransmitted FIN: A's ACK of B's FIN is lost; B sends the same FIN again after its
/// retransmission timeout (`200 ms` at least, on B's own timestamp clock); A, whose socket is
/// closed by then, acknowledges it. A's table shows TIME-WAIT, B's nothing (proved by the
/// packets and by both hosts' `/proc/net/tcp`).
#[test]
fn time_wait_on_the_side_that_sent_the_first_fin() {
    let name = "time_wait_on_the_side_that_sent_the_first_fin";
    let Some(lab) = testing::lab(name, wire::link()) else {
        return;
    };
    let t = wire::time_wait(&lab, 7000).unwrap();
    print!("{}", t.trace);
    let b_fins: Vec<&Packet> = t
        .trace
        .tcp()
        .filter(|(p, t)| p.direction == Direction::BToA && t.flags.fin)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(b_fins.len(), 2, "B's FIN was not sent again once");
    let tcp = |p: &Packet| p.tcp().unwrap().clone();
    assert_eq!(
        tcp(b_fins[0]).raw_seq,
        tcp(b_fins[1]).raw_seq,
        "not the same FIN"
    );
    let sent_at = |p: &Packet| tcp(p).timestamp().unwrap().0; // TSval: B's clock, in ms.
    assert!(sent_at(b_fins[1]) - sent_at(b_fins[0]) >= 200);
    let a_acks: Vec<&Packet> = t
        .trace
        .tcp()
        .filter(|(p, t)| p.direction == Direction::AToB && t.ack == Some(2))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(a_acks[0].dropped(), Some(DropReason::Cut));
    let answer = a_acks.last().unwrap();
    assert_eq!(answer.dropped(), None);
    assert!(
        answer.time >= b_fins[1].arrived().unwrap(),
        "answered before the FIN came"
    );
    assert_eq!(t.a_state, Some(TcpState::TimeWait), "A is not in TIME-WAIT");
    assert_eq!(t.b_state, None, "B kept its side of the connection");
}
// ANCHOR_END: time_wait_on_the_side_that_sent_the_first_fin

// ANCHOR: demo_wire_prints_fins_and_rsts_under_the_narration
/// `demo --wire --pcap FILE` runs the close experiments on the lab and prints each one's
/// packets under its narration: `Flags [F.]` each way under the orderly close, `Flags [R.]`
/// under each RST, the lost ACK under TIME-WAIT; and `tcpdump -r FILE` reads the very
/// packets it printed.
#[test]
fn demo_wire_prints_fins_and_rsts_under_the_narration() {
    let name = "demo_wire_prints_fins_and_rsts_under_the_narration";
    let Some((out, pcap)) = testing::run_demo_wire(name, BIN, LIMIT) else {
        return;
    };
    let sections = testing::Sections::of(&out.stdout);
    sections.under(
        "1.",
        "close(): A's FIN",
        &["10.77.0.1.", "> 10.77.0.2.7001: Flags [F.]"],
    );
    sections.under(
        "1.",
        "close(): B's FIN",
        &["10.77.0.2.7001 >", "Flags [F.]"],
    );
    sections.under("2.", "shutdown(Write)", &["10.77.0.1.", "Flags [F.]"]);
    sections.under(
        "3.",
        "Err(ConnectionReset)",
        &["10.77.0.2.7003 >", "Flags [R.]"],
    );
    sections.under(
        "4.",
        "Err(ConnectionReset)",
        &["10.77.0.2.7004 >", "Flags [R.]"],
    );
    sections.under("5.", "A's side: TIME-WAIT", &["[dropped: cut]"]);
    let printed = testing::trace_lines(&out.stdout);
    testing::compare_with_tcpdump(name, &printed, &pcap);
    let _ = std::fs::remove_file(&pcap);
}
// ANCHOR_END: demo_wire_prints_fins_and_rsts_under_the_narration

/// Where no lab can be made, `demo --wire` says why and how to allow it in one line, and
/// exits 1 (the lab is switched off here with `SOCKLAB_WIRE_FORCE_UNAVAILABLE`); `--pcap`
/// without `--wire` is refused as a usage error.
#[test]
fn demo_wire_without_a_lab_says_why_in_one_line() {
    testing::assert_demo_wire_without_a_lab_says_why(BIN, "shutdown-demo", LIMIT);
}
