//! Chapter 6: connect, read and write timeouts, on the running kernel. Every timing assertion
//! is a lower bound (a timeout must not fire early); upper bounds are left generous, because
//! a busy CI machine may be slow to wake a thread, never early.

use std::io::{ErrorKind, Read};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use socklab_support::within;
use timeouts_demo::{connect, io, is_timeout};

const LIMIT: Duration = Duration::from_secs(30);

/// A kernel timer running beside an experiment: a read with `SO_RCVTIMEO` on a silent
/// connection, in a thread that reports on a channel when the read times out.
struct Alarm {
    rang: mpsc::Receiver<()>,
}

impl Alarm {
    /// Starts the alarm: it goes off `after` from now (no sooner: a read timeout never fires
    /// early).
    fn start(after: Duration) -> Self {
        let (ours, _silent_peer) = io::pair().unwrap();
        ours.set_read_timeout(Some(after)).unwrap();
        let (tx, rang) = mpsc::channel();
        thread::spawn(move || {
            let _keep_open = _silent_peer;
            let _timed_out = (&ours).read(&mut [0u8; 1]).is_err();
            let _ = tx.send(()); // The test may be over already; then nobody listens.
        });
        Self { rang }
    }

    /// Whether the alarm has gone off by now.
    fn went_off(&self) -> bool {
        self.rang.try_recv().is_ok()
    }
}

// ANCHOR: connect_timeout_fires
/// A connect to a listener whose accept queue is full gets no answer (the kernel drops the
/// SYN), and `connect_timeout` ends it after the requested time: no sooner, and long before
/// the kernel's own SYN retries would (minutes).
#[test]
#[cfg(target_os = "linux")] // Linux drops SYNs on a full queue; other kernels may reset them.
fn connect_timeout_fires_when_nobody_answers() {
    let requested = Duration::from_millis(300);
    let (result, took) = within(LIMIT, "connect to full queue", move || {
        let full = connect::full_accept_queue().unwrap();
        let out = connect::timed_connect(full.listener.local_addr().unwrap(), requested);
        (out.0.map(drop), out.1)
    });
    let err = result.unwrap_err();
    assert!(is_timeout(&err), "{err:?}");
    assert!(took >= requested, "fired early: {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "not bounded by the timeout: {took:?}"
    );
}
// ANCHOR_END: connect_timeout_fires

// ANCHOR: closed_port_is_refused_at_once
/// A closed port answers the SYN with RST: the connect fails with `ConnectionRefused`, not a
/// timeout, and at once: its own 10 s timeout never came into play, and a 3 s alarm (a read
/// timeout on another socket) started just before it had not gone off when it returned.
#[test]
fn closed_port_is_refused_not_timed_out() {
    let (result, alarm_went_off) = within(LIMIT, "connect to closed port", || {
        let alarm = Alarm::start(Duration::from_secs(3));
        let out = connect::timed_connect(connect::closed_port().unwrap(), Duration::from_secs(10));
        (out.0.map(drop), alarm.went_off())
    });
    assert_eq!(result.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    assert!(!alarm_went_off, "the refusal took longer than the alarm");
}
// ANCHOR_END: closed_port_is_refused_at_once

// ANCHOR: read_timeout_is_would_block
/// A read from a silent peer with a 200 ms timeout fails after at least 200 ms, and on Unix
/// the error kind is `WouldBlock` (`EAGAIN`), not `TimedOut`.
#[test]
fn read_timeout_fires_with_would_block() {
    let timeout = Duration::from_millis(200);
    let (err, took) = within(LIMIT, "read timeout", move || {
        io::read_timeout(timeout).unwrap()
    });
    assert!(took >= timeout, "fired early: {took:?}");
    #[cfg(unix)]
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "Unix reports EAGAIN");
    assert!(is_timeout(&err));
}
// ANCHOR_END: read_timeout_is_would_block

// ANCHOR: udp_read_timeout_is_would_block
/// A UDP receive with a 200 ms timeout fails the same way as a TCP read: after at least
/// 200 ms, with `WouldBlock` on Unix.
#[test]
fn udp_receive_timeout_fires_with_would_block() {
    let timeout = Duration::from_millis(200);
    let (err, took) = within(LIMIT, "udp timeout", move || {
        io::udp_read_timeout(timeout).unwrap()
    });
    assert!(took >= timeout, "fired early: {took:?}");
    #[cfg(unix)]
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "Unix reports EAGAIN");
}
// ANCHOR_END: udp_read_timeout_is_would_block

// ANCHOR: zero_timeout_is_refused
/// `set_read_timeout(Some(ZERO))` is an error: the kernel would take a zero `SO_RCVTIMEO` to
/// mean "no timeout", so std refuses rather than block forever in the caller's name.
#[test]
fn zero_timeout_is_refused() {
    let (ours, _peer) = io::pair().unwrap();
    let err = ours.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        ours.read_timeout().unwrap(),
        None,
        "the setting was left unchanged"
    );
}
// ANCHOR_END: zero_timeout_is_refused

// ANCHOR: write_timeout_reports_progress
/// Writing to a peer that never reads, with a 200 ms write timeout: megabytes get out while
/// the buffers fill, then a write waits at least 200 ms and fails as a timeout.
#[test]
fn write_timeout_ends_a_stalled_writer() {
    let timeout = Duration::from_millis(200);
    let w = within(LIMIT, "write timeout", move || {
        io::write_timeout(timeout).unwrap()
    });
    assert!(w.written > 0, "the empty buffers took something first");
    assert!(is_timeout(&w.error), "{:?}", w.error);
    assert!(w.last_wait >= timeout, "fired early: {:?}", w.last_wait);
}
// ANCHOR_END: write_timeout_reports_progress
