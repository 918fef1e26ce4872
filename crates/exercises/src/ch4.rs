//! Chapter 4 exercises: non-blocking sockets (`O_NONBLOCK`, `EAGAIN`).

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// What a non-blocking read found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadNow {
    /// Bytes that were there.
    Data(Vec<u8>),
    /// Nothing yet (`WouldBlock`).
    NotYet,
    /// The peer closed (`read` returned 0).
    Closed,
}

// ANCHOR: ch4_read_now
/// Exercise 4.1: read what is there *now* from a socket, without ever blocking: set it
/// non-blocking, read once into a 64 KiB buffer, and say what happened.
pub fn read_now(stream: &mut TcpStream) -> io::Result<ReadNow> {
    // SOLUTION BEGIN: set_nonblocking(true); one read: Ok(0) is Closed, Ok(n) is Data, WouldBlock
    // is NotYet (retry Interrupted).
    stream.set_nonblocking(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        return match stream.read(&mut buf) {
            Ok(0) => Ok(ReadNow::Closed),
            Ok(n) => Ok(ReadNow::Data(buf[..n].to_vec())),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(ReadNow::NotYet),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        };
    }
    // SOLUTION END
}
// ANCHOR_END: ch4_read_now

// ANCHOR: ch4_write_all
/// Exercise 4.2: `write_all` for a non-blocking socket: write every byte of `data`, in order,
/// exactly once, keeping the unsent tail across `WouldBlock`s (yield the thread between
/// tries), and give up with `TimedOut` once `limit` has passed.
pub fn write_all_nonblocking(
    stream: &mut TcpStream,
    data: &[u8],
    limit: Duration,
) -> io::Result<()> {
    // SOLUTION BEGIN: keep an index of what was sent; on Ok(n) advance, on WouldBlock check the
    // clock and yield_now, on Interrupted retry.
    stream.set_nonblocking(true)?;
    let deadline = Instant::now() + limit;
    let mut sent = 0;
    while sent < data.len() {
        match stream.write(&data[sent..]) {
            Ok(0) => return Err(io::Error::new(ErrorKind::WriteZero, "socket took 0 bytes")),
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(io::Error::new(
                        ErrorKind::TimedOut,
                        format!("{sent} of {} bytes sent", data.len()),
                    ));
                }
                std::thread::yield_now();
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
    // SOLUTION END
}
// ANCHOR_END: ch4_write_all
