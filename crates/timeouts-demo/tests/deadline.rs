//! Chapter 6: per-call timeouts are not deadlines (slowloris), and heartbeats catch what
//! keepalive cannot.

use std::io::{ErrorKind, Write};
use std::time::Duration;

use socklab_support::within;
use timeouts_demo::deadline::{Deadline, slowloris_experiment};
use timeouts_demo::io::pair;
use timeouts_demo::keepalive::Heartbeat;

const LIMIT: Duration = Duration::from_secs(30);

// ANCHOR: per_read_timeout_is_not_a_deadline
/// Myth: "a timeout limits the whole operation". Against a peer dripping a byte every 20 ms,
/// a reader with a 300 ms per-read timeout is still waiting for its request after 1 s, more
/// than three of its timeouts (no read ever timed out); a reader with the same 300 ms as a
/// deadline gives up with `TimedOut` after at least 300 ms, and well before the first reader
/// was even checked. (The per-read timeout is fifteen drips long: only a drip 280 ms late, a
/// busy machine's doing and not the lesson's, could make one read time out.)
#[test]
fn per_read_timeout_is_not_a_deadline() {
    let (per_call, with_deadline) = within(LIMIT, "slowloris", || {
        slowloris_experiment(
            Duration::from_millis(20),
            Duration::from_millis(300),
            Duration::from_secs(1),
            Duration::from_millis(300),
        )
        .unwrap()
    });
    assert!(
        matches!(per_call.outcome, Ok(false)),
        "still waiting: {:?}",
        per_call.outcome
    );
    assert!(per_call.elapsed >= Duration::from_secs(1));
    assert!(
        per_call.bytes > 1,
        "the attacker's bytes kept each read alive"
    );
    let err = with_deadline.outcome.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(
        with_deadline.elapsed >= Duration::from_millis(300),
        "{:?}",
        with_deadline.elapsed
    );
}
// ANCHOR_END: per_read_timeout_is_not_a_deadline

/// A deadline that has passed refuses to start another read at all.
#[test]
fn a_passed_deadline_refuses_more_reads() {
    let (mut ours, _peer) = pair().unwrap();
    let deadline = Deadline::after(Duration::ZERO); // Already over: no time is left.
    let err = deadline.read(&mut ours, &mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(
        ours.read_timeout().unwrap(),
        None,
        "no socket call was made"
    );
}

// ANCHOR: heartbeat_detects_a_hung_peer
/// A peer whose process stops sending but keeps the connection open (its kernel still
/// answers, so keepalive would see nothing) is declared dead after three missed 100 ms beats,
/// not before.
#[test]
fn heartbeat_detects_a_hung_peer() {
    let (got, silent, _hung) = within(LIMIT, "heartbeat", || {
        let (mut watcher, mut hung) = pair().unwrap();
        hung.write_all(b"\x01\x01").unwrap(); // Two beats, then the application hangs.
        let hb = Heartbeat {
            interval: Duration::from_millis(100),
            misses: 3,
        };
        let (got, silent) = hb.watch(&mut watcher).unwrap();
        (got, silent, hung) // `hung` is returned so it stays open throughout.
    });
    assert_eq!(got, 2);
    assert!(
        silent >= Duration::from_millis(300),
        "declared dead early: {silent:?}"
    );
}
// ANCHOR_END: heartbeat_detects_a_hung_peer
