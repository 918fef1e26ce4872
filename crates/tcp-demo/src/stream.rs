//! TCP is a byte stream: experiments on what `read(2)` and `write(2)` really return.
//!
//! TCP promises that the bytes arrive complete and in order. It promises nothing about how
//! they are grouped: the kernel cuts and merges them into segments and into reads as it sees
//! fit. Three experiments show it on the running kernel:
//!
//! - [`one_write_many_reads`]: one `write` of a large buffer arrives in several `read`s,
//!   even with a read buffer as large as the whole message.
//! - [`many_writes_one_read`]: several small `write`s, each sent as its own segment, come
//!   out of one `read`, merged: the boundaries between them are gone.
//! - [`short_write`]: a `write` can take fewer bytes than it was offered, which is why
//!   `write_all` exists.
//!
//! Neither experiment moves "one byte at a time": reads return as many bytes as have arrived
//! and fit the buffer, often tens of kilobytes at once.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use socklab_support::wait;

/// What [`one_write_many_reads`] saw.
#[derive(Debug, Clone)]
pub struct OneWrite {
    /// Bytes taken by the sender's single `write` call.
    pub written: usize,
    /// The size of every `read` the receiver needed, in order.
    pub read_sizes: Vec<usize>,
}

/// What [`many_writes_one_read`] saw.
#[derive(Debug, Clone, Copy)]
pub struct ManyWrites {
    /// How many `write` calls the sender made.
    pub writes: usize,
    /// Bytes in each of those writes.
    pub bytes_per_write: usize,
    /// Bytes returned by the receiver's single `read`.
    pub first_read: usize,
}

/// A connected pair on loopback: (client side, accepted server side).
fn pair(listener: &TcpListener, client: Socket) -> io::Result<(TcpStream, TcpStream)> {
    client.connect(&listener.local_addr()?.into())?;
    let (server, _) = listener.accept()?;
    Ok((client.into(), server))
}

/// A fresh TCP socket of the family that `addr` needs.
fn tcp_socket(addr: SocketAddr) -> io::Result<Socket> {
    Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
}

// ANCHOR: one_write_many_reads
/// Sends `len` bytes with a *single* `write` call and reads them with a buffer of `len` bytes,
/// recording the size of each `read`.
///
/// The receiver's receive buffer (`SO_RCVBUF`, chapter 3) is set small (64 KiB) before
/// connecting, so the kernel can hold only a fraction of the message at a time: the bytes
/// *must* arrive in several reads. The same happens without the setting, only less
/// predictably.
pub fn one_write_many_reads(len: usize) -> io::Result<OneWrite> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let receiver = tcp_socket(listener.local_addr()?)?;
    receiver.set_recv_buffer_size(64 * 1024)?;
    let (mut receiver, mut sender) = pair(&listener, receiver)?;
    receiver.set_read_timeout(Some(Duration::from_secs(10)))?;

    let writer = thread::spawn(move || -> io::Result<usize> {
        let data = vec![0x5a; len];
        // One call. A blocking socket waits for buffer space until it has taken everything
        // (or until a signal or a timeout interrupts it; see `short_write`).
        let written = sender.write(&data)?;
        Ok(written) // Dropping `sender` closes it, so the reader sees the end of stream.
    });

    let mut buf = vec![0u8; len];
    let mut read_sizes = Vec::new();
    loop {
        match receiver.read(&mut buf) {
            Ok(0) => break, // The writer closed: every byte it wrote has been read.
            Ok(n) => read_sizes.push(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let written = writer
        .join()
        .map_err(|_| io::Error::other("writer thread panicked"))??;
    Ok(OneWrite {
        written,
        read_sizes,
    })
}
// ANCHOR_END: one_write_many_reads

// ANCHOR: many_writes_one_read
/// Makes `writes` separate `write` calls of `bytes_per_write` bytes each, then one `read`.
///
/// `TCP_NODELAY` is set so each write leaves as its own segment at once, instead of being
/// held back while an earlier one is unacknowledged and merged with it (Nagle's algorithm,
/// tcp(7)). The reader waits until every byte is queued in its receive buffer, asking the
/// kernel with `peek` (`recv(MSG_PEEK)`), which looks without consuming; then a single `read`
/// takes them all.
pub fn many_writes_one_read(writes: usize, bytes_per_write: usize) -> io::Result<ManyWrites> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let (mut sender, mut receiver) = pair(&listener, tcp_socket(listener.local_addr()?)?)?;
    sender.set_nodelay(true)?;
    receiver.set_read_timeout(Some(Duration::from_secs(10)))?;

    for i in 0..writes {
        let message = vec![b'a' + (i % 26) as u8; bytes_per_write];
        sender.write_all(&message)?;
    }

    let total = writes * bytes_per_write;
    let mut buf = vec![0u8; total + 1024];
    wait_until_queued(&receiver, total, Duration::from_secs(10))?;
    let first_read = receiver.read(&mut buf)?;
    Ok(ManyWrites {
        writes,
        bytes_per_write,
        first_read,
    })
}

/// Waits, bounded by `limit`, until at least `want` bytes are queued for reading on `stream`,
/// by peeking at the receive queue. Loopback delivers in microseconds, so this spins briefly.
pub fn wait_until_queued(stream: &TcpStream, want: usize, limit: Duration) -> io::Result<()> {
    let mut buf = vec![0u8; want];
    // `peek` blocks until at least one byte is there, then reports how many are queued (up to
    // the buffer's size) without removing them.
    wait::try_until(limit, "bytes to arrive", || {
        Ok(stream.peek(&mut buf)? >= want)
    })
}
// ANCHOR_END: many_writes_one_read

// ANCHOR: short_write
/// Offers `offered` bytes to one `write` on a connection whose peer never reads, with a write
/// timeout (`SO_SNDTIMEO`, chapter 6) of `timeout`, and returns how many bytes the call took.
///
/// The kernel copies bytes into the send buffer (and the peer's receive buffer fills behind
/// it) until both are full; then the call sleeps. When the timeout expires it returns the
/// count copied so far: a *short write*. Code that calls `write` once and assumes everything
/// went out silently drops the rest; `write_all` loops until all is written or an error.
pub fn short_write(offered: usize, timeout: Duration) -> io::Result<usize> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let (mut writer, _silent_peer) = pair(&listener, tcp_socket(listener.local_addr()?)?)?;
    writer.set_write_timeout(Some(timeout))?;
    let data = vec![0u8; offered];
    writer.write(&data)
}
// ANCHOR_END: short_write

#[cfg(test)]
mod tests {
    use super::*;

    /// `wait_until_queued` gives up with `TimedOut` when the bytes never come.
    #[test]
    fn waiting_for_bytes_is_bounded() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (mut tx, rx) = pair(
            &listener,
            tcp_socket(listener.local_addr().unwrap()).unwrap(),
        )
        .unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tx.write_all(b"ab").unwrap();
        let err = wait_until_queued(&rx, 3, Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
    }
}
