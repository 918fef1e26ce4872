//! Read and write timeouts: `SO_RCVTIMEO` and `SO_SNDTIMEO`.
//!
//! `set_read_timeout(Some(d))` sets `SO_RCVTIMEO`: a read that finds no data for `d` fails.
//! On Unix the error is `EAGAIN`/`EWOULDBLOCK`, so Rust reports `ErrorKind::WouldBlock`, not
//! `TimedOut` (std documents this); check for both ([`crate::is_timeout`]).
//!
//! `set_write_timeout(Some(d))` sets `SO_SNDTIMEO`: a write that cannot place a single byte
//! for `d` fails the same way. A write that placed *some* bytes before the timeout returns
//! that count instead: a short write (chapter 1).
//!
//! `set_read_timeout(Some(Duration::ZERO))` is an *error* (`InvalidInput`). The kernel reads a
//! zero `SO_RCVTIMEO` as "no timeout", so passing it through would silently mean "wait
//! forever", the opposite of what a caller asking for zero means. `None` is how to say "no
//! timeout".

use std::io::{self, Read, Write};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use crate::is_timeout;

/// A connected pair on loopback: (ours, peer), with no timeouts set, since setting them is
/// this chapter's lesson. The peer does whatever the experiment says, usually nothing. The
/// course's shared pair; chapter 1 explains every call in it.
pub use socklab_support::net::loopback_pair as pair;

// ANCHOR: read_timeout
/// Reads from a peer that sends nothing, with a read timeout; returns the error and the time
/// the read took.
pub fn read_timeout(timeout: Duration) -> io::Result<(io::Error, Duration)> {
    let (mut ours, _silent_peer) = pair()?;
    ours.set_read_timeout(Some(timeout))?; // setsockopt(SO_RCVTIMEO)
    let started = Instant::now();
    match ours.read(&mut [0u8; 64]) {
        Err(e) if is_timeout(&e) => Ok((e, started.elapsed())),
        Err(e) => Err(e),
        Ok(n) => Err(io::Error::other(format!(
            "a silent peer produced {n} bytes"
        ))),
    }
}
// ANCHOR_END: read_timeout

/// What a write with a timeout to a peer that never reads did.
#[derive(Debug)]
pub struct WriteTimeout {
    /// Bytes the kernel took before the writes stalled.
    pub written: usize,
    /// The error that ended the writing.
    pub error: io::Error,
    /// How long the final, failing write waited.
    pub last_wait: Duration,
}

// ANCHOR: udp_read_timeout
/// Receives on a UDP socket that nobody sends to, with a read timeout: the same `SO_RCVTIMEO`,
/// the same error. Returns the error and the time the receive took.
pub fn udp_read_timeout(timeout: Duration) -> io::Result<(io::Error, Duration)> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(timeout))?; // setsockopt(SO_RCVTIMEO), as for TCP.
    let started = Instant::now();
    match socket.recv_from(&mut [0u8; 64]) {
        Err(e) if is_timeout(&e) => Ok((e, started.elapsed())),
        Err(e) => Err(e),
        Ok((n, from)) => Err(io::Error::other(format!(
            "{from} sent {n} bytes to a fresh socket"
        ))),
    }
}
// ANCHOR_END: udp_read_timeout

// ANCHOR: write_timeout
/// Writes to a peer that never reads, with a write timeout, until a write fails; returns how
/// much got out first.
pub fn write_timeout(timeout: Duration) -> io::Result<WriteTimeout> {
    let (mut ours, _silent_peer) = pair()?;
    ours.set_write_timeout(Some(timeout))?; // setsockopt(SO_SNDTIMEO)
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0;
    loop {
        let started = Instant::now();
        match ours.write(&chunk) {
            Ok(n) => written += n, // Possibly short: the timeout hit after some bytes.
            Err(error) if is_timeout(&error) => {
                return Ok(WriteTimeout {
                    written,
                    error,
                    last_wait: started.elapsed(),
                });
            }
            Err(e) => return Err(e),
        }
    }
}
// ANCHOR_END: write_timeout
