//! Chapter 7 exercises: readiness (`poll(2)`) and the edge-triggered drain rule.

use std::io::{self, ErrorKind, Read};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

// ANCHOR: ch7_readable
/// Exercise 7.1: which of `streams` can be read without blocking (data, or end of stream)?
/// Wait at most `timeout` for at least one, with a single `poll(2)`, and return their indexes
/// (empty if none became ready in time).
pub fn readable(streams: &[&TcpStream], timeout: Duration) -> io::Result<Vec<usize>> {
    // SOLUTION BEGIN: build one PollFd per stream with POLLIN, call nix::poll::poll once, and
    // collect the indexes whose revents contain POLLIN or POLLHUP.
    let mut fds: Vec<PollFd> = streams
        .iter()
        .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
        .collect();
    let timeout = PollTimeout::try_from(timeout).map_err(|e| io::Error::other(e.to_string()))?;
    poll(&mut fds, timeout)?;
    Ok(fds
        .iter()
        .enumerate()
        .filter(|(_, fd)| {
            fd.revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP))
        })
        .map(|(i, _)| i)
        .collect())
    // SOLUTION END
}
// ANCHOR_END: ch7_readable

// ANCHOR: ch7_drain
/// Exercise 7.2, the edge-triggered rule: read everything available from a non-blocking
/// socket into `into`, until `WouldBlock`; return whether the peer has closed (read 0).
pub fn drain(stream: &mut TcpStream, into: &mut Vec<u8>) -> io::Result<bool> {
    // SOLUTION BEGIN: loop reading into a buffer and appending to `into`; Ok(0) means closed
    // (true), WouldBlock means drained (false), Interrupted means retry.
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // SOLUTION END
}
// ANCHOR_END: ch7_drain
