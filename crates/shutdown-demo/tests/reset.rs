//! Chapter 5: RST instead of FIN, EPIPE, SO_LINGER 0, and the TCP states along the way.

use std::io::ErrorKind;
use std::time::Duration;

use shutdown_demo::{linger, reset};
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(20);

// ANCHOR: close_with_unread_data_sends_rst
/// Myth, other half: "close() still lets you receive". Closing with received data unread
/// resets the connection: the peer's next read fails with `ConnectionReset`, not `Ok(0)`.
#[test]
fn close_with_unread_data_sends_rst() {
    let peer_read = within(LIMIT, "close with unread data", || {
        reset::close_with_unread_data().unwrap()
    });
    assert_eq!(peer_read.unwrap_err().kind(), ErrorKind::ConnectionReset);
}
// ANCHOR_END: close_with_unread_data_sends_rst

// ANCHOR: write_to_departed_peer_is_broken_pipe
/// Writing to a peer that closed cleanly: the first write succeeds (our kernel cannot know
/// yet) and draws a RST; that RST finds us in CLOSE-WAIT, so the next write fails with
/// `EPIPE` (`BrokenPipe`), and so does every one after it (Linux).
#[test]
fn write_to_departed_peer_is_broken_pipe() {
    let w = within(LIMIT, "write after close", || {
        reset::write_after_peer_closed().unwrap()
    });
    assert_eq!(w.first.unwrap(), 6, "the first write cannot know yet");
    #[cfg(target_os = "linux")] // Which error a RST leaves behind is the kernel's choice.
    {
        assert_eq!(w.second.unwrap_err().kind(), ErrorKind::BrokenPipe);
        assert_eq!(w.third.unwrap_err().kind(), ErrorKind::BrokenPipe);
    }
}
// ANCHOR_END: write_to_departed_peer_is_broken_pipe

// ANCHOR: write_to_aborted_peer_is_reset_then_broken_pipe
/// Writing to a peer that aborted (a RST with no FIN, while we were ESTABLISHED): the first
/// write reports the reset, `ECONNRESET` (`ConnectionReset`), once; every later write fails
/// with `EPIPE` (Linux).
#[test]
fn write_to_aborted_peer_is_reset_then_broken_pipe() {
    let w = within(LIMIT, "write after abort", || {
        reset::write_after_peer_aborted().unwrap()
    });
    assert_eq!(w.first.unwrap_err().kind(), ErrorKind::ConnectionReset);
    #[cfg(target_os = "linux")]
    {
        assert_eq!(w.second.unwrap_err().kind(), ErrorKind::BrokenPipe);
        assert_eq!(w.third.unwrap_err().kind(), ErrorKind::BrokenPipe);
    }
}
// ANCHOR_END: write_to_aborted_peer_is_reset_then_broken_pipe

// ANCHOR: linger_zero_aborts
/// `SO_LINGER` 0 then close: the peer's read fails with `ConnectionReset`, and (Linux) the
/// aborted side leaves no TIME-WAIT entry behind.
#[test]
fn linger_zero_aborts_without_time_wait() {
    let a = within(LIMIT, "abort", || linger::abort_and_watch().unwrap());
    assert_eq!(a.peer_read.unwrap_err().kind(), ErrorKind::ConnectionReset);
    #[cfg(target_os = "linux")]
    {
        let (local, peer) = a.addrs;
        assert_eq!(
            shutdown_demo::states::state_of(local, peer).unwrap(),
            None,
            "no TIME-WAIT"
        );
    }
}
// ANCHOR_END: linger_zero_aborts
