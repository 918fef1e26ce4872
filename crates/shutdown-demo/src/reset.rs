//! When closing sends RST instead of FIN, and what the peer sees.
//!
//! A normal close sends FIN: "no more data from me", and the peer reads 0. But if the socket
//! is closed while received data sits *unread* in its buffer, the kernel sends RST instead
//! (RFC 2525, section 2.17): the application never saw those bytes, so the connection did not
//! end cleanly and the peer must not believe it did. The peer's next read or write then fails
//! with `ECONNRESET` (`ConnectionReset`), and any data still on its way to it may be thrown
//! away.
//!
//! Writing to a connection whose peer has gone is the other classic: the first write is
//! answered with RST, and the next fails with `EPIPE` (`BrokenPipe`). In C, `EPIPE` comes with
//! the `SIGPIPE` signal, whose default action kills the process. The Rust runtime sets
//! `SIGPIPE` to "ignore" before `main` runs, so in Rust it is just an error to handle.

use std::io::{self, ErrorKind, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

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
    /// How many writes succeeded before the first error.
    pub writes_before_error: usize,
    /// The first error.
    pub error: io::Error,
}

// ANCHOR: write_after_peer_closed
/// The peer closes (cleanly: nothing unread); we keep writing. The first write succeeds (the
/// kernel cannot know yet), its arrival draws a RST, and a following write fails.
pub fn write_after_peer_closed() -> io::Result<WriteToClosed> {
    let (mut ours, peer) = loopback_pair()?;
    drop(peer);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut writes_before_error = 0;
    loop {
        match ours.write(b"hello?") {
            Ok(_) => writes_before_error += 1,
            Err(error) => {
                return Ok(WriteToClosed {
                    writes_before_error,
                    error,
                });
            }
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "writes kept succeeding",
            ));
        }
        thread::yield_now(); // Give the RST a moment to arrive before the next write.
    }
}
// ANCHOR_END: write_after_peer_closed

/// Waits (bounded) until `stream` has bytes queued, by peeking at its receive buffer.
pub fn wait_until_readable(stream: &std::net::TcpStream) -> io::Result<()> {
    let mut one = [0u8; 1];
    match stream.peek(&mut one)? {
        0 => Err(io::Error::new(
            ErrorKind::UnexpectedEof,
            "the peer closed instead",
        )),
        _ => Ok(()), // peek blocks (up to the read timeout) until a byte is there.
    }
}
