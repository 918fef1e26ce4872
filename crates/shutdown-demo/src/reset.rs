//! When closing sends RST instead of FIN, and what the peer sees.
//!
//! A normal close sends FIN: "no more data from me", and the peer reads 0. But if the socket
//! is closed while received data sits *unread* in its buffer, the kernel sends RST instead
//! (RFC 2525, section 2.17): the application never saw those bytes, so the connection did not
//! end cleanly and the peer must not believe it did. The peer's next read or write then fails
//! with `ECONNRESET` (`ConnectionReset`), and any data still on its way to it may be thrown
//! away.
//!
//! Writing to a connection whose peer has gone is the other classic. The peer's FIN only says
//! "no more data from me", so our first write succeeds; it reaches a socket that no longer
//! exists, and the peer's kernel answers with RST. Which error the *next* write gets depends
//! on the state the RST found us in (Linux, `tcp_reset` in `net/ipv4/tcp_input.c`):
//!
//! - in CLOSE-WAIT (we had received the peer's FIN), the RST is recorded as `EPIPE`
//!   ([`write_after_peer_closed`]);
//! - in ESTABLISHED (a RST with no FIN before it: the peer aborted, see [`crate::linger`]), it
//!   is recorded as `ECONNRESET` ([`write_after_peer_aborted`]).
//!
//! Either way the recorded error is reported once; after it, the connection is closed for
//! sending and every write fails with `EPIPE` (`BrokenPipe`). In C, `EPIPE` from a write comes
//! with the `SIGPIPE` signal, whose default action kills the process; why a Rust program
//! survives is [`crate::sigpipe`]'s subject.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use socklab_support::wait;

use crate::loopback_pair;

// ANCHOR: close_with_unread_data
/// The peer sends bytes we never read; we close; returns what the peer's next read says.
pub fn close_with_unread_data() -> io::Result<io::Result<usize>> {
    let (ours, mut peer) = loopback_pair()?;
    peer.write_all(b"you will never read this")?;
    wait_until_readable(&ours)?; // The bytes are in our receive buffer, unread.
    drop(ours); // close(2) with unread data: the kernel sends RST, not FIN.
    Ok(peer.read(&mut [0u8; 64])) // ConnectionReset, not Ok(0).
}
// ANCHOR_END: close_with_unread_data

/// What writing to a departed peer did.
#[derive(Debug)]
pub struct WriteToClosed {
    /// What the first write returned: the byte count, since our kernel could not know yet.
    pub first: io::Result<usize>,
    /// What the next write returned, after the peer's RST had arrived.
    pub second: io::Result<usize>,
    /// What the write after that returned.
    pub third: io::Result<usize>,
}

// ANCHOR: write_after_peer_closed
/// The peer closes cleanly; we read its FIN, then write three times. The first write succeeds
/// and draws a RST; the RST finds us in CLOSE-WAIT, so the next write fails with `EPIPE`, and
/// so does every one after it.
pub fn write_after_peer_closed() -> io::Result<WriteToClosed> {
    let (mut ours, peer) = loopback_pair()?;
    drop(peer); // The peer's FIN: "no more data from me".
    let eof = ours.read(&mut [0u8; 1])?; // 0: the FIN has arrived; we are in CLOSE-WAIT.
    if eof != 0 {
        return Err(io::Error::other("the peer sent data instead of closing"));
    }
    let first = ours.write(b"hello?"); // Ok: our kernel cannot know the peer's socket is gone.
    wait_for_reset(&ours)?; // The peer's kernel answered the bytes with RST.
    let second = ours.write(b"hello?"); // Err(EPIPE): the RST came in CLOSE-WAIT.
    let third = ours.write(b"hello?"); // Err(EPIPE): closed for sending from now on.
    Ok(WriteToClosed {
        first,
        second,
        third,
    })
}
// ANCHOR_END: write_after_peer_closed

// ANCHOR: write_after_peer_aborted
/// The peer aborts (`SO_LINGER` 0: a RST with no FIN before it) while we are ESTABLISHED; we
/// write three times. The RST was recorded as `ECONNRESET`, which the first write reports;
/// after that, every write fails with `EPIPE`.
pub fn write_after_peer_aborted() -> io::Result<WriteToClosed> {
    let (mut ours, peer) = loopback_pair()?;
    crate::linger::abort(peer)?; // RST at once; no FIN ever.
    wait_for_reset(&ours)?;
    let first = ours.write(b"hello?"); // Err(ECONNRESET): the error the RST left behind.
    let second = ours.write(b"hello?"); // Err(EPIPE): closed for sending from now on.
    let third = ours.write(b"hello?");
    Ok(WriteToClosed {
        first,
        second,
        third,
    })
}
// ANCHOR_END: write_after_peer_aborted

/// Waits (bounded by [`crate::PAIR_TIMEOUT`]) until a RST has closed `stream`'s connection:
/// `poll(2)` reports `POLLHUP` once both directions are shut, which a FIN alone (one
/// direction) never does.
pub fn wait_for_reset(stream: &TcpStream) -> io::Result<()> {
    wait::try_until(crate::PAIR_TIMEOUT, "the peer's RST", || {
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO)?;
        Ok(fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLHUP)))
    })
}

/// Waits (bounded) until `stream` has bytes queued, by peeking at its receive buffer.
pub fn wait_until_readable(stream: &TcpStream) -> io::Result<()> {
    let mut one = [0u8; 1];
    match stream.peek(&mut one)? {
        0 => Err(io::Error::new(
            ErrorKind::UnexpectedEof,
            "the peer closed instead",
        )),
        _ => Ok(()), // peek blocks (up to the read timeout) until a byte is there.
    }
}
