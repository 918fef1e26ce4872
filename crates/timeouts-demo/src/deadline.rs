//! Per-call timeouts are not deadlines: the slowloris peer, and the fix.
//!
//! `SO_RCVTIMEO` restarts with every call. A peer that sends one byte a little before each
//! timeout keeps every single `read` within its limit, so a reader that waits for a complete
//! request with only a per-read timeout can be held forever, one byte at a time. Hold a few
//! hundred such connections and a thread-per-connection server has no threads left: that is
//! the "slowloris" attack.
//!
//! The fix is a deadline for the whole request: compute, before *each* call, how much time
//! is left, and give the call only that ([`Deadline`]). Then the request ends on time however
//! the peer spaces its bytes.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::io::pair;
use crate::is_timeout;

// ANCHOR: deadline
/// A point in time by which a whole operation must finish.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
        }
    }

    /// The time left, or `TimedOut` if none is. Never zero: a zero socket timeout would mean
    /// "wait forever" to the kernel (and std refuses it).
    pub fn remaining(&self) -> io::Result<Duration> {
        match self.at.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(io::Error::new(ErrorKind::TimedOut, "deadline passed")),
        }
    }

    /// One `read` that may use only the time left before the deadline.
    pub fn read(&self, stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        stream.set_read_timeout(Some(self.remaining()?))?;
        match stream.read(buf) {
            // The socket's timeout was the remaining time, so its expiry is the deadline's.
            Err(e) if is_timeout(&e) => Err(io::Error::new(ErrorKind::TimedOut, "deadline passed")),
            other => other,
        }
    }
}
// ANCHOR_END: deadline

/// How a request read ended.
#[derive(Debug)]
pub struct RequestRead {
    /// Bytes of the request received.
    pub bytes: usize,
    /// How long the reader spent.
    pub elapsed: Duration,
    /// `Ok(true)`: the request was complete (a newline came). `Ok(false)`: the reader was still
    /// waiting, within its rules, when the observer stopped watching. `Err`: it gave up.
    pub outcome: io::Result<bool>,
}

// ANCHOR: read_request_per_call
/// Reads a newline-terminated request with only a per-read timeout. `watch` is not part of
/// the reader's logic: it is how long the experiment observes before calling the result.
pub fn read_request_per_call(
    stream: &mut TcpStream,
    per_read: Duration,
    watch: Duration,
) -> RequestRead {
    let started = Instant::now();
    let mut bytes = 0;
    let mut buf = [0u8; 256];
    let outcome = (|| {
        stream.set_read_timeout(Some(per_read))?; // Restarts with every read.
        loop {
            if started.elapsed() >= watch {
                return Ok(false); // Still going, each read well within its timeout.
            }
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::new(ErrorKind::UnexpectedEof, "peer closed"));
            }
            bytes += n;
            if buf[..n].contains(&b'\n') {
                return Ok(true);
            }
        }
    })();
    RequestRead {
        bytes,
        elapsed: started.elapsed(),
        outcome,
    }
}
// ANCHOR_END: read_request_per_call

// ANCHOR: read_request_with_deadline
/// Reads a newline-terminated request that must be complete by `deadline`.
pub fn read_request_with_deadline(stream: &mut TcpStream, deadline: Deadline) -> RequestRead {
    let started = Instant::now();
    let mut bytes = 0;
    let mut buf = [0u8; 256];
    let outcome = (|| loop {
        let n = deadline.read(stream, &mut buf)?; // Only the time that is left.
        if n == 0 {
            return Err(io::Error::new(ErrorKind::UnexpectedEof, "peer closed"));
        }
        bytes += n;
        if buf[..n].contains(&b'\n') {
            return Ok(true);
        }
    })();
    RequestRead {
        bytes,
        elapsed: started.elapsed(),
        outcome,
    }
}
// ANCHOR_END: read_request_with_deadline

/// A slowloris peer: one byte of a request that never ends, every `drip`, until the reader
/// hangs up or `max_bytes` have been sent (a bound, so the experiment always stops).
pub fn slowloris(mut stream: TcpStream, drip: Duration, max_bytes: usize) {
    for _ in 0..max_bytes {
        if stream.write_all(b"x").is_err() {
            return; // The reader gave up and closed: the attack is over.
        }
        thread::sleep(drip); // The attack itself: just slow enough to dodge each timeout.
    }
}

/// Runs both readers against their own slowloris peer: a per-read timeout of `per_read`
/// (observed for `watch`) and a `deadline`. Returns (per-read outcome, deadline outcome).
pub fn slowloris_experiment(
    drip: Duration,
    per_read: Duration,
    watch: Duration,
    deadline: Duration,
) -> io::Result<(RequestRead, RequestRead)> {
    let (mut reader, attacker) = pair()?;
    let drip_bytes = (watch.as_millis() / drip.as_millis().max(1)) as usize + 100;
    let a = thread::spawn(move || slowloris(attacker, drip, drip_bytes));
    let per_call = read_request_per_call(&mut reader, per_read, watch);
    drop(reader);
    let (mut reader, attacker) = pair()?;
    let b = thread::spawn(move || slowloris(attacker, drip, drip_bytes));
    let with_deadline = read_request_with_deadline(&mut reader, Deadline::after(deadline));
    drop(reader);
    for t in [a, b] {
        t.join()
            .map_err(|_| io::Error::other("attacker thread panicked"))?;
    }
    Ok((per_call, with_deadline))
}
