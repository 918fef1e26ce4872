//! Chapter 6's `Deadline` reader: what its errors and counts say. (Found by `cargo mutants`:
//! a read that reported its expiry as `WouldBlock`, one that called a reset a timeout, and a
//! request reader that counted no bytes all passed `deadline.rs`.)

use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};

use socket2::SockRef;
use socklab_support::within;
use timeouts_demo::deadline::{Deadline, read_request_with_deadline};
use timeouts_demo::io::pair;

const LIMIT: Duration = Duration::from_secs(30);

/// A read on a silent peer ends when the deadline passes, as `TimedOut` ("deadline passed"),
/// not as the socket timeout's raw `WouldBlock`: the caller is told which limit it hit.
#[test]
fn a_silent_peer_ends_the_read_with_timed_out() {
    let (err, took) = within(LIMIT, "a silent peer", || {
        let (mut reader, _silent) = pair().unwrap();
        let started = Instant::now();
        let err = Deadline::after(Duration::from_millis(100))
            .read(&mut reader, &mut [0u8; 16])
            .unwrap_err();
        (err, started.elapsed())
    });
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(took >= Duration::from_millis(100), "{took:?}");
}

/// An error that is not a timeout keeps its own kind: a peer that resets (`SO_LINGER` 0, then
/// close) gives `ConnectionReset`, not a claim that the deadline passed.
#[test]
fn a_reset_is_not_reported_as_a_timeout() {
    let err = within(LIMIT, "a reset", || {
        let (mut reader, peer) = pair().unwrap();
        SockRef::from(&peer)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(peer); // RST.
        Deadline::after(Duration::from_secs(10))
            .read(&mut reader, &mut [0u8; 16])
            .unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}

/// A request that arrives in time is complete, and its bytes are counted.
#[test]
fn a_timely_request_is_read_whole() {
    let r = within(LIMIT, "a request", || {
        let (mut reader, mut peer) = pair().unwrap();
        peer.write_all(b"GET /\n").unwrap();
        read_request_with_deadline(&mut reader, Deadline::after(Duration::from_secs(10)))
    });
    assert!(matches!(r.outcome, Ok(true)), "{:?}", r.outcome);
    assert_eq!(r.bytes, 6);
}
