//! Chapter 5's claims about how a TCP connection ends, proved by the packets on the wire
//! lab's link: the FIN exchange, half-close, the RSTs of `close` with unread data and of
//! `SO_LINGER` 0, and TIME-WAIT on the side that sent the first FIN.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use common::{LIMIT, TIMEOUT, connect, show, wait_for};
use socket2::SockRef;
use socklab_support::within;
use socklab_wire::{Direction, DropReason, Host, LinkConfig, Packet, Tcp, testing};

/// Linux's number for TIME-WAIT in `/proc/net/tcp`.
const TIME_WAIT: u8 = 0x06;

/// A few milliseconds each way, so that each segment is a separate event on the lab's clock.
fn config() -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(5),
        ..LinkConfig::default()
    }
}

/// The segments after the handshake.
fn after_handshake(seen: &[(Packet, Tcp)]) -> Vec<(Packet, Tcp)> {
    seen.iter().skip(3).cloned().collect()
}

/// The states of `host`'s TCP connections from or to `port`, from its own `/proc` table.
/// (`/proc/net/tcp` shows the main thread's namespace; `/proc/thread-self/net/tcp` this
/// thread's, which [`Host::run`] has moved into the host's.)
fn states(host: &Host, port: u16) -> Vec<u8> {
    let text = host
        .run(|| std::fs::read_to_string("/proc/thread-self/net/tcp").unwrap())
        .unwrap();
    let port_of = |field: &str| {
        let hex = field.split_once(':').unwrap().1;
        u16::from_str_radix(hex, 16).unwrap()
    };
    text.lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|f| port_of(f[1]) == port || port_of(f[2]) == port)
        .filter(|f| f[3] != "0A") // not the listener
        .map(|f| u8::from_str_radix(f[3], 16).unwrap())
        .collect()
}

/// An orderly close is a FIN each way, each acknowledged: A's `[F.]`, B's `[F.]` (which
/// acknowledges A's FIN), and A's last `[.]` acknowledging B's; no RST.
#[test]
fn orderly_close_exchanges_fins() {
    let Some(lab) = testing::lab("orderly_close_exchanges_fins", config()) else {
        return;
    };
    let (client, mut server) = connect(&lab, 7000);
    within(LIMIT, "an orderly close", move || {
        drop(client); // A closes first: its FIN
        assert_eq!(
            server.read(&mut [0; 16]).unwrap(),
            0,
            "B reads the end of the stream"
        );
        drop(server); // then B: its FIN
    });
    // B's FIN is sequence number 1 (B sent no data): A's last ACK acknowledges 2.
    let seen = wait_for(&lab, 7000, "A's last ACK", |p, t| {
        p.direction == Direction::AToB && !t.flags.fin && t.ack == Some(2)
    });
    show(&seen);
    let close = after_handshake(&seen);
    let a_fin = close
        .iter()
        .position(|(p, t)| p.direction == Direction::AToB && t.flags.fin)
        .expect("A sent no FIN");
    let b_fin = close
        .iter()
        .position(|(p, t)| p.direction == Direction::BToA && t.flags.fin)
        .expect("B sent no FIN");
    assert!(a_fin < b_fin, "B's FIN came first");
    assert_eq!(close[a_fin].1.flags.notation(), "F.");
    assert_eq!(close[b_fin].1.flags.notation(), "F.");
    assert_eq!(
        close[b_fin].1.ack,
        Some(close[a_fin].1.seq_end()),
        "B's FIN acks A's"
    );
    let last = close.last().unwrap();
    assert_eq!(last.0.direction, Direction::AToB);
    assert_eq!(last.1.flags.notation(), ".");
    assert!(
        close.iter().all(|(_, t)| !t.flags.rst),
        "an orderly close sent a RST"
    );
}

/// Half-close: after A's `shutdown(Write)` sends its FIN, B still sends 50 KB to A, and A still
/// acknowledges them; A sends no data after its FIN (proved by the packets: data B→A after
/// A's FIN, only ACKs A→B).
#[test]
fn half_close_keeps_the_other_direction() {
    let Some(lab) = testing::lab("half_close_keeps_the_other_direction", config()) else {
        return;
    };
    let (mut client, mut server) = connect(&lab, 7000);
    let got = within(LIMIT, "half-close, then a reply", move || {
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(server.read(&mut [0; 16]).unwrap(), 0, "B sees A's FIN");
        server.write_all(&[7u8; 50_000]).unwrap();
        drop(server);
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).unwrap();
        reply.len()
    });
    assert_eq!(got, 50_000);
    let seen = wait_for(&lab, 7000, "A's ACK of B's FIN", |_, t| {
        t.ack == Some(50_002)
    });
    show(&seen);
    let a_fin = seen
        .iter()
        .position(|(p, t)| p.direction == Direction::AToB && t.flags.fin)
        .expect("A sent no FIN");
    let after = &seen[a_fin + 1..];
    let data_back: usize = after
        .iter()
        .filter(|(p, _)| p.direction == Direction::BToA)
        .map(|(_, t)| t.payload_len)
        .sum();
    assert_eq!(
        data_back, 50_000,
        "B's data did not all cross after A's FIN"
    );
    let from_a: Vec<&Tcp> = after
        .iter()
        .filter(|(p, _)| p.direction == Direction::AToB)
        .map(|(_, t)| t)
        .collect();
    assert!(from_a.len() > 1, "A acknowledged nothing after its FIN");
    assert!(
        from_a.iter().all(|t| t.payload_len == 0 && !t.flags.fin),
        "A sent data after its FIN"
    );
}

/// `close` with bytes still unread sends a RST, not a FIN: B received 6 bytes and acknowledged
/// them, never read them, and closed: on the wire, `[R.]` from B and no FIN; A's next read
/// fails with `ConnectionReset`.
#[test]
fn close_with_unread_data_sends_rst() {
    let Some(lab) = testing::lab("close_with_unread_data_sends_rst", config()) else {
        return;
    };
    let (mut client, server) = connect(&lab, 7000);
    client.write_all(b"unread").unwrap();
    wait_for(&lab, 7000, "B's ACK of the 6 bytes", |_, t| {
        t.ack == Some(7)
    });
    drop(server);
    let seen = wait_for(&lab, 7000, "B's RST", |_, t| t.flags.rst);
    show(&seen);
    let close = after_handshake(&seen);
    let from_b: Vec<&Tcp> = close
        .iter()
        .filter(|(p, _)| p.direction == Direction::BToA)
        .map(|(_, t)| t)
        .collect();
    assert!(from_b.iter().all(|t| !t.flags.fin), "B sent a FIN");
    assert_eq!(from_b.last().unwrap().flags.notation(), "R.");
    let err = within(LIMIT, "A's read", move || {
        client.read(&mut [0; 16]).unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

/// `SO_LINGER` with a zero timeout turns `close` into an abort: B had nothing unread, yet
/// sends `[R.]` and no FIN, and keeps no TIME-WAIT (proved by the packets and by B's own
/// `/proc` table).
#[test]
fn linger_zero_sends_rst() {
    let Some(lab) = testing::lab("linger_zero_sends_rst", config()) else {
        return;
    };
    let (mut client, server) = connect(&lab, 7000);
    SockRef::from(&server)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(server);
    let seen = wait_for(&lab, 7000, "B's RST", |_, t| t.flags.rst);
    show(&seen);
    let close = after_handshake(&seen);
    assert_eq!(close.len(), 1, "more than the RST");
    assert_eq!(close[0].0.direction, Direction::BToA);
    assert_eq!(close[0].1.flags.notation(), "R.");
    assert_eq!(
        states(lab.b(), 7000),
        vec![],
        "B kept its side of the connection"
    );
    let err = within(LIMIT, "A's read", move || {
        client.read(&mut [0; 16]).unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

// ANCHOR: time_wait_on_the_side_that_sent_the_first_fin
/// The side that sends the first FIN ends in TIME-WAIT, and TIME-WAIT is there to answer a
/// retransmitted FIN. A closes first; its ACK of B's FIN is lost (the lab cuts A→B for that
/// moment); B retransmits its FIN after its retransmission timeout (200 ms at least); A, whose
/// socket is closed by then, acknowledges it again: the kernel's TIME-WAIT speaking. A's table
/// shows TIME-WAIT, B's nothing (proved by the packets and by both hosts' `/proc` tables).
#[test]
fn time_wait_on_the_side_that_sent_the_first_fin() {
    let name = "time_wait_on_the_side_that_sent_the_first_fin";
    let Some(lab) = testing::lab(name, config()) else {
        return;
    };
    let (mut client, mut server) = connect(&lab, 7000);
    let link = lab.link().clone();
    within(LIMIT, "close, A first", move || {
        client.shutdown(Shutdown::Write).unwrap(); // A's FIN, the first
        assert_eq!(server.read(&mut [0; 16]).unwrap(), 0);
        link.cut_one_way(Direction::AToB, true); // A's next ACK will be lost
        drop(server); // B's FIN
        assert_eq!(client.read(&mut [0; 16]).unwrap(), 0, "A sees B's FIN");
        drop(client); // A's descriptor is gone: what answers now is the kernel
    });
    wait_for(&lab, 7000, "A's lost ACK of B's FIN", |p, t| {
        p.direction == Direction::AToB && t.ack == Some(2)
    });
    lab.link().cut_one_way(Direction::AToB, false);
    let answered = |seen: &[(Packet, Tcp)]| {
        seen.iter()
            .filter(|(p, t)| p.direction == Direction::AToB && t.ack == Some(2))
            .any(|(p, _)| p.dropped().is_none())
    };
    let mut seen = Vec::new();
    socklab_support::wait::until(TIMEOUT, "A's ACK of the retransmitted FIN", || {
        seen = common::flow(&lab.trace(), 7000);
        answered(&seen)
    })
    .unwrap();
    show(&seen);
    let b_fins: Vec<&Packet> = seen
        .iter()
        .filter(|(p, t)| p.direction == Direction::BToA && t.flags.fin)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(b_fins.len(), 2, "B's FIN was not retransmitted once");
    assert_eq!(
        b_fins[0].tcp().unwrap().raw_seq,
        b_fins[1].tcp().unwrap().raw_seq
    );
    // B's retransmission timeout, on B's own clock (TSval, in ms): 200 ms at least.
    let sent_at = |p: &Packet| p.tcp().unwrap().timestamp().unwrap().0;
    assert!(sent_at(b_fins[1]) - sent_at(b_fins[0]) >= 200);
    let a_acks: Vec<&Packet> = seen
        .iter()
        .filter(|(p, t)| p.direction == Direction::AToB && t.ack == Some(2))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(a_acks[0].dropped(), Some(DropReason::Cut));
    assert!(a_acks.last().unwrap().time >= b_fins[1].arrived().unwrap());
    assert_eq!(
        states(lab.a(), 7000),
        vec![TIME_WAIT],
        "A is not in TIME-WAIT"
    );
    assert_eq!(
        states(lab.b(), 7000),
        vec![],
        "B kept its side of the connection"
    );
}
// ANCHOR_END: time_wait_on_the_side_that_sent_the_first_fin
