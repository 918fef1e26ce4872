//! Chapter 8: stream, datagram and seqpacket Unix sockets, with UDP as the contrast: which
//! keep message boundaries, which are reliable, which are connections. Each test measures one
//! property on real socket pairs.

use std::time::Duration;

use socklab_support::within;
use unix_demo::kinds::{self, Kind};
use unix_demo::scratch::Scratch;

const LIMIT: Duration = Duration::from_secs(20);

// ANCHOR: stream_keeps_no_boundaries
/// A Unix stream socket is a byte stream, like TCP: two sends (2 and 3 bytes) queued before
/// the reader reads come out of one read as 5 bytes.
#[test]
fn stream_keeps_no_boundaries() {
    let sizes = within(LIMIT, "stream", || {
        kinds::read_sizes_after_two_sends(Kind::Stream).unwrap()
    });
    assert_eq!(sizes, [5], "both messages in one read");
}
// ANCHOR_END: stream_keeps_no_boundaries

// ANCHOR: datagram_and_seqpacket_keep_boundaries
/// Datagram and seqpacket sockets keep each send a message of its own: the same two sends
/// come out of two reads, 2 bytes then 3, although one read had room for all 5.
#[test]
fn datagram_and_seqpacket_keep_boundaries() {
    let sizes = within(LIMIT, "datagram", || {
        kinds::read_sizes_after_two_sends(Kind::Datagram).unwrap()
    });
    assert_eq!(sizes, [2, 3]);
    // SOCK_SEQPACKET for Unix sockets is Linux's (macOS has none).
    #[cfg(target_os = "linux")]
    {
        let sizes = within(LIMIT, "seqpacket", || {
            kinds::read_sizes_after_two_sends(Kind::Seqpacket).unwrap()
        });
        assert_eq!(sizes, [2, 3]);
    }
}
// ANCHOR_END: datagram_and_seqpacket_keep_boundaries

// ANCHOR: unix_sockets_are_reliable_udp_is_not
/// Myth: "Unix datagram sockets are unreliable, like UDP." A sender that outruns a reader
/// which never reads is pushed back (`EAGAIN` on Linux) by every kind of Unix socket, and
/// every byte the kernel accepted comes out, in order. UDP on loopback accepts more than
/// arrives (on Linux, all 4 MiB, without complaint).
#[test]
fn unix_sockets_are_reliable_udp_is_not() {
    let kinds = [
        Kind::Stream,
        Kind::Datagram,
        #[cfg(target_os = "linux")]
        Kind::Seqpacket,
    ];
    for kind in kinds {
        let fill = within(LIMIT, kind.name(), move || {
            kinds::fill_then_drain(kind).unwrap()
        });
        let pushback = fill.pushback.as_ref().map(|e| e.kind());
        // Linux says EAGAIN; macOS may say ENOBUFS for datagrams instead. Either way the sender
        // is told, and nothing is dropped.
        #[cfg(target_os = "linux")]
        assert_eq!(
            pushback,
            Some(std::io::ErrorKind::WouldBlock),
            "{}: {fill:?}",
            kind.name()
        );
        assert!(
            pushback.is_some(),
            "{}: the kernel never pushed back",
            kind.name()
        );
        assert!(fill.sent > 0);
        assert_eq!(
            fill.received,
            fill.sent,
            "{}: something was lost",
            kind.name()
        );
        assert!(fill.in_order, "{}: out of order", kind.name());
        assert!(fill.reliable());
    }
    let udp = within(LIMIT, "udp", || kinds::fill_then_drain(Kind::Udp).unwrap());
    assert!(udp.received < udp.sent, "UDP lost nothing? {udp:?}");
    assert!(!udp.reliable());
    // Linux never tells a UDP sender: every send succeeded.
    #[cfg(target_os = "linux")]
    {
        assert!(udp.pushback.is_none(), "UDP never pushes back: {udp:?}");
        assert_eq!(udp.sent, kinds::MESSAGE * kinds::MAX_MESSAGES);
    }
}
// ANCHOR_END: unix_sockets_are_reliable_udp_is_not

// ANCHOR: stream_and_seqpacket_are_connections
/// Stream and seqpacket sockets are connections: when one end closes, the other's read
/// returns 0, an end of stream. A datagram socket has no connection to end: its read just
/// waits, as UDP's does.
#[test]
fn stream_and_seqpacket_are_connections() {
    let eof = |kind: Kind| {
        within(LIMIT, kind.name(), move || {
            kinds::eof_on_peer_close(kind).unwrap()
        })
    };
    assert!(eof(Kind::Stream));
    #[cfg(target_os = "linux")]
    assert!(eof(Kind::Seqpacket));
    assert!(!eof(Kind::Datagram));
    assert!(!eof(Kind::Udp));
}
// ANCHOR_END: stream_and_seqpacket_are_connections

// ANCHOR: datagrams_need_no_connection
/// One datagram socket bound to a path receives from any sender that names it, without
/// `listen`, `accept` or `connect`; `recv_from` gives a bound sender's path and nothing for
/// an unbound one.
#[test]
fn datagrams_need_no_connection() {
    let scratch = Scratch::new("kinds").unwrap();
    let (inbox, named) = (scratch.path("inbox"), scratch.path("a"));
    let expected_named = named.clone();
    let got = within(LIMIT, "datagrams to a name", move || {
        kinds::datagrams_name_their_sender(&inbox, &named).unwrap()
    });
    assert_eq!(
        got,
        vec![
            (b"from a named sender".to_vec(), Some(expected_named)),
            (b"from an unbound sender".to_vec(), None),
        ]
    );
}
// ANCHOR_END: datagrams_need_no_connection
