//! Chapter 4: a blocking read parks the thread; a non-blocking read returns at once.

use std::io::ErrorKind;
use std::time::Duration;

use nonblocking_demo::read;
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(20);

/// A blocking read on an empty socket does not return until the writer writes, and (on
/// Linux, where `/proc` shows it) the reader thread sleeps in the kernel meanwhile.
#[test]
fn blocking_read_parks_the_thread() {
    let delay = Duration::from_millis(300);
    let seen = within(LIMIT, "blocking read", move || {
        read::blocking_read(delay).unwrap()
    });
    assert!(
        seen.waited >= delay,
        "read returned after {:?}, before any data",
        seen.waited
    );
    assert_eq!(seen.got, b"wake up");
    #[cfg(target_os = "linux")]
    assert_eq!(
        seen.state_while_waiting,
        Some('S'),
        "a blocked reader is asleep (S)"
    );
}

/// The same read with `O_NONBLOCK` fails with `WouldBlock` instead of waiting. (If the flag
/// did nothing, the read would block forever and the watchdog would fail the test.)
#[test]
fn nonblocking_read_returns_would_block() {
    let (err, _) = within(LIMIT, "non-blocking read", || {
        read::nonblocking_read().unwrap()
    });
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
}
