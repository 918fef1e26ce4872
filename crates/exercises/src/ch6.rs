//! Chapter 6 exercises: deadlines (`SO_RCVTIMEO`, `SO_SNDTIMEO` recomputed per call).

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// The time left before `deadline`, or `TimedOut`; never zero (a zero socket timeout would
/// mean "wait forever").
fn left(deadline: Instant) -> io::Result<std::time::Duration> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(io::Error::new(ErrorKind::TimedOut, "deadline passed")),
    }
}

// ANCHOR: ch6_read_exact_by
/// Exercise 6.1: fill `buf` completely, or fail with `TimedOut` at `deadline` however the peer
/// spaces its bytes (a per-read timeout alone would let a slow peer go on for ever).
/// `UnexpectedEof` if the peer closes first.
pub fn read_exact_by(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> io::Result<()> {
    // SOLUTION BEGIN: before each read, set_read_timeout(Some(time left)); map a
    // WouldBlock/TimedOut error to TimedOut; Ok(0) is UnexpectedEof.
    let mut filled = 0;
    while filled < buf.len() {
        stream.set_read_timeout(Some(left(deadline)?))?;
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Err(io::Error::new(ErrorKind::UnexpectedEof, "peer closed")),
            Ok(n) => filled += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(io::Error::new(ErrorKind::TimedOut, "deadline passed"));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
    // SOLUTION END
}
// ANCHOR_END: ch6_read_exact_by

// ANCHOR: ch6_write_all_by
/// Exercise 6.2, add a write deadline: write all of `data`, or fail with `TimedOut` at
/// `deadline`, against a peer that reads slowly or not at all.
pub fn write_all_by(stream: &mut TcpStream, data: &[u8], deadline: Instant) -> io::Result<()> {
    // SOLUTION BEGIN: like read_exact_by, with set_write_timeout before each write and the index of
    // what was written.
    let mut sent = 0;
    while sent < data.len() {
        stream.set_write_timeout(Some(left(deadline)?))?;
        match stream.write(&data[sent..]) {
            Ok(0) => return Err(io::Error::new(ErrorKind::WriteZero, "socket took 0 bytes")),
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(io::Error::new(ErrorKind::TimedOut, "deadline passed"));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
    // SOLUTION END
}
// ANCHOR_END: ch6_write_all_by
