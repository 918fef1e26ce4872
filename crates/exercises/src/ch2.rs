//! Chapter 2 exercises: reliability over UDP (`sendto(2)`, `recvfrom(2)`, `SO_RCVTIMEO`).

use std::io::{self, ErrorKind};
use std::net::UdpSocket;
use std::time::Duration;

// ANCHOR: ch2_backoff
/// Exercise 2.1: the wait before try number `attempt` (0 for the first try) under exponential
/// back-off: `base`, then twice that, four times, and so on, but never more than `cap`.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    // SOLUTION BEGIN: multiply base by 2^attempt with checked arithmetic (overflow means "the
    // cap"), then take the min with cap.
    2u32.checked_pow(attempt)
        .and_then(|factor| base.checked_mul(factor))
        .map_or(cap, |d| d.min(cap))
    // SOLUTION END
}
// ANCHOR_END: ch2_backoff

// ANCHOR: ch2_retry
/// Exercise 2.2: send `request` on a *connected* UDP socket and return the first reply,
/// waiting `backoff(attempt, base, cap)` for each try and trying at most `tries` times; after
/// that, `TimedOut`. (Replies to earlier tries may arrive late: for this exercise any reply
/// will do; chapter 2's client shows how sequence numbers tell them apart.)
pub fn request_with_backoff(
    socket: &UdpSocket,
    request: &[u8],
    tries: u32,
    base: Duration,
    cap: Duration,
) -> io::Result<Vec<u8>> {
    // SOLUTION BEGIN: for each attempt: set_read_timeout(Some(backoff(..))), send, recv; a
    // WouldBlock/TimedOut error means try again.
    let mut buf = vec![0u8; 65_536];
    for attempt in 0..tries {
        socket.set_read_timeout(Some(backoff(attempt, base, cap)))?;
        socket.send(request)?;
        match socket.recv(&mut buf) {
            Ok(n) => return Ok(buf[..n].to_vec()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        ErrorKind::TimedOut,
        format!("no reply after {tries} tries"),
    ))
    // SOLUTION END
}
// ANCHOR_END: ch2_retry
