//! Several connections on one thread, each a small state machine, polled in turn.
//!
//! With every socket non-blocking, one thread can serve many connections: it visits each in
//! turn, does whatever that connection can do *now* (accept, read, write the unsent tail), and
//! moves on when a call says `WouldBlock`. Nothing ever waits, so nothing ever stalls the
//! others. This is the structure of every event loop; what is missing here is a way to
//! *sleep* until some socket is ready instead of visiting them all again and again (see the
//! `would_blocks` count in the report). Chapter 7 adds `select`, `poll` and `epoll` for that.
//!
//! The protocol is a plain byte echo: the server writes back whatever it reads.

use std::io::{self, ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socklab_support::data::{Checksum, payload};

use crate::write::Outbox;

/// What [`interleave`] did.
#[derive(Debug, Clone)]
pub struct InterleaveReport {
    /// Connections served at once, all by one thread.
    pub peers: usize,
    /// Bytes each client sent and expected back.
    pub bytes_each: usize,
    /// Passes over all sockets until every echo was complete.
    pub rounds: u64,
    /// `WouldBlock` answers seen: the wasted visits that readiness APIs remove.
    pub would_blocks: u64,
    /// For each client, (length, CRC-32) of what it sent and what it got back.
    pub digests: Vec<[(u64, u32); 2]>,
}

// ANCHOR: conn
/// One side of one connection: the socket and its unsent tail.
struct Conn {
    stream: TcpStream,
    outbox: Outbox,
}

/// What one visit to a connection's read side found.
enum Readable {
    /// Bytes were read (and handed to the callback).
    Progress,
    /// Nothing to read now; come back later.
    NotNow,
    /// The peer closed its side (`read` returned 0).
    Closed,
}

/// Reads everything available now, passing each chunk to `sink`.
fn read_available(
    stream: &mut TcpStream,
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<Readable> {
    let mut buf = [0u8; 16 * 1024];
    let mut progress = false;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(Readable::Closed),
            Ok(n) => {
                sink(&buf[..n])?;
                progress = true;
            }
            // Drained for now. Whether that was after some bytes decides what we report.
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                return Ok(if progress {
                    Readable::Progress
                } else {
                    Readable::NotNow
                });
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}
// ANCHOR_END: conn

/// Runs `peers` echo clients and their server connections on the calling thread alone, each
/// client sending `bytes_each` bytes, until every client has its bytes back (or `limit`).
pub fn interleave(
    peers: usize,
    bytes_each: usize,
    limit: Duration,
) -> io::Result<InterleaveReport> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let mut clients = Vec::new();
    for seed in 0..peers {
        let stream = TcpStream::connect(listener.local_addr()?)?; // Quick on loopback.
        stream.set_nonblocking(true)?;
        let data = payload(seed as u64, bytes_each);
        let mut sent = Checksum::new();
        sent.update(&data);
        let mut outbox = Outbox::new(bytes_each);
        outbox.push(&data)?;
        clients.push((Conn { stream, outbox }, sent, Checksum::new()));
    }
    let mut server_side: Vec<Conn> = Vec::new();
    let (mut rounds, mut would_blocks) = (0u64, 0u64);
    let deadline = Instant::now() + limit;

    while clients
        .iter()
        .any(|(_, _, got)| got.len() < bytes_each as u64)
    {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "echoes did not complete in time",
            ));
        }
        rounds += 1;
        // ANCHOR: one_round
        // Accept whoever is waiting, without waiting for anyone.
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(true)?; // Not inherited on Linux: see `accept`.
                    server_side.push(Conn {
                        stream,
                        // Each client sends `bytes_each` bytes in all: the most its echo holds.
                        outbox: Outbox::new(bytes_each),
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        // Server side: read what arrived into the outbox, write out what the socket takes.
        for conn in &mut server_side {
            let outbox = &mut conn.outbox;
            if let Readable::NotNow = read_available(&mut conn.stream, |b| Ok(outbox.push(b)?))? {
                would_blocks += 1;
            }
            if conn.outbox.flush_some(&mut conn.stream)? == 0 && !conn.outbox.is_empty() {
                would_blocks += 1;
            }
        }
        // ANCHOR_END: one_round
        // Client side: send the unsent tail, fold whatever came back into the checksum.
        for (conn, _, got) in &mut clients {
            if conn.outbox.flush_some(&mut conn.stream)? == 0 && !conn.outbox.is_empty() {
                would_blocks += 1;
            }
            match read_available(&mut conn.stream, |b| {
                got.update(b);
                Ok(())
            })? {
                Readable::NotNow => would_blocks += 1,
                Readable::Progress => {}
                Readable::Closed => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "server closed early",
                    ));
                }
            }
        }
    }
    let digests = clients
        .iter()
        .map(|(_, sent, got)| [sent.digest(), got.digest()])
        .collect();
    Ok(InterleaveReport {
        peers,
        bytes_each,
        rounds,
        would_blocks,
        digests,
    })
}
