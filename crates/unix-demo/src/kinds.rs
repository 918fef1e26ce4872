//! Three kinds of Unix domain socket, and UDP beside them for contrast: which keep message
//! boundaries, which are reliable, which are connections. Every property is *measured* on a
//! connected pair from `socketpair(2)` (two `UdpSocket`s `connect`ed to each other for UDP),
//! with `send(2)` and `recv(2)`, never looked up in a table.
//!
//! - `SOCK_STREAM`: a byte stream, like TCP.
//! - `SOCK_DGRAM`: datagrams, like UDP, but reliable and in order (unix(7)).
//! - `SOCK_SEQPACKET`: datagrams over a connection: boundaries kept, and the peer's close is
//!   an end of stream. Linux only here: macOS has no `SOCK_SEQPACKET` for Unix sockets.

use std::io::{self, ErrorKind, Read, Write};
use std::net::UdpSocket;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::time::Duration;

use socket2::Socket;

use crate::STEP_TIMEOUT;

/// The kinds of socket compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `AF_UNIX, SOCK_STREAM`.
    Stream,
    /// `AF_UNIX, SOCK_DGRAM`.
    Datagram,
    /// `AF_UNIX, SOCK_SEQPACKET`. Linux only: macOS does not offer it for Unix sockets.
    #[cfg(target_os = "linux")]
    Seqpacket,
    /// `AF_INET, SOCK_DGRAM` on loopback: the contrast.
    Udp,
}

impl Kind {
    /// Every kind this system offers, in the book's order.
    pub fn all() -> Vec<Kind> {
        vec![
            Kind::Stream,
            Kind::Datagram,
            #[cfg(target_os = "linux")]
            Kind::Seqpacket,
            Kind::Udp,
        ]
    }

    /// The name the book and the demo print.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Stream => "unix SOCK_STREAM",
            Kind::Datagram => "unix SOCK_DGRAM",
            #[cfg(target_os = "linux")]
            Kind::Seqpacket => "unix SOCK_SEQPACKET",
            Kind::Udp => "UDP (loopback)",
        }
    }
}

// ANCHOR: connected_pair
/// A connected pair of `kind`, both ends blocking with [`STEP_TIMEOUT`] on reads and writes.
/// socket2's `Socket` is the common type: it reads and writes any kind.
pub fn connected_pair(kind: Kind) -> io::Result<(Socket, Socket)> {
    let (a, b): (Socket, Socket) = match kind {
        // socketpair(AF_UNIX, SOCK_STREAM, 0): std wraps it.
        Kind::Stream => {
            let (a, b) = UnixStream::pair()?;
            (a.into(), b.into())
        }
        // socketpair(AF_UNIX, SOCK_DGRAM, 0): each end's peer is the other.
        Kind::Datagram => {
            let (a, b) = UnixDatagram::pair()?;
            (a.into(), b.into())
        }
        // socketpair(AF_UNIX, SOCK_SEQPACKET, 0): std has no type for it; socket2 does.
        #[cfg(target_os = "linux")]
        Kind::Seqpacket => Socket::pair(socket2::Domain::UNIX, socket2::Type::SEQPACKET, None)?,
        // UDP has no socketpair: two sockets on loopback, each connect()ed to the other.
        Kind::Udp => {
            let a = UdpSocket::bind("127.0.0.1:0")?;
            let b = UdpSocket::bind("127.0.0.1:0")?;
            a.connect(b.local_addr()?)?;
            b.connect(a.local_addr()?)?;
            (a.into(), b.into())
        }
    };
    for s in [&a, &b] {
        s.set_read_timeout(Some(STEP_TIMEOUT))?;
        s.set_write_timeout(Some(STEP_TIMEOUT))?;
    }
    Ok((a, b))
}
// ANCHOR_END: connected_pair

// ANCHOR: read_sizes
/// Sends two messages, 2 bytes then 3, and only then reads, with room for 64 bytes per read,
/// until all 5 have arrived. Returns the size of each read: `[2, 3]` if the kind keeps message
/// boundaries, `[5]` if it joined them into one stream.
pub fn read_sizes_after_two_sends(kind: Kind) -> io::Result<Vec<usize>> {
    let (mut a, mut b) = connected_pair(kind)?;
    a.write_all(b"ab")?;
    a.write_all(b"cde")?;
    let mut sizes = Vec::new();
    let mut buf = [0u8; 64];
    let mut total = 0;
    while total < 5 {
        let n = b.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(ErrorKind::UnexpectedEof, "closed early"));
        }
        sizes.push(n);
        total += n;
    }
    Ok(sizes)
}
// ANCHOR_END: read_sizes

/// The size of each message in [`fill_then_drain`].
pub const MESSAGE: usize = 1024;

/// The most messages [`fill_then_drain`] sends: 4 MiB, far more than any default socket
/// buffer on loopback holds, so a kind that never pushes back must have dropped some.
pub const MAX_MESSAGES: usize = 4096;

/// How long a quiet receiver must stay quiet before [`fill_then_drain`] decides it has
/// everything: loopback delivers in microseconds.
pub const QUIET: Duration = Duration::from_millis(100);

/// What [`fill_then_drain`] saw.
#[derive(Debug)]
pub struct Fill {
    /// Bytes the sender's `send` calls accepted.
    pub sent: usize,
    /// The error that stopped the sender, if the kernel pushed back before
    /// [`MAX_MESSAGES`]: `WouldBlock` (`EAGAIN`) on Linux.
    pub pushback: Option<io::Error>,
    /// Bytes the receiver got.
    pub received: usize,
    /// Whether what arrived is exactly the start of what was sent, in order: nothing
    /// reordered, nothing duplicated, nothing missing in the middle.
    pub in_order: bool,
}

impl Fill {
    /// Reliable: the kernel pushed back instead of dropping, and everything it accepted came
    /// out, in order.
    pub fn reliable(&self) -> bool {
        self.pushback.is_some() && self.received == self.sent && self.in_order
    }
}

/// The byte at offset `i` of the sender's stream: a pattern whose period (251, a prime) is
/// no divisor of [`MESSAGE`], so a message lost or repeated shows as a mismatch.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

// ANCHOR: fill_then_drain
/// Fills a pair whose receiver does not read: the sender, non-blocking, sends numbered
/// [`MESSAGE`]-byte messages until the kernel refuses one (or [`MAX_MESSAGES`] are sent). Then
/// the receiver reads until it has been quiet for [`QUIET`], and what it got is compared with
/// what the sender's calls accepted.
pub fn fill_then_drain(kind: Kind) -> io::Result<Fill> {
    let (a, mut b) = connected_pair(kind)?;
    a.set_nonblocking(true)?;
    let mut sent = 0;
    let mut pushback = None;
    let mut message = vec![0u8; MESSAGE];
    for _ in 0..MAX_MESSAGES {
        for (k, byte) in message.iter_mut().enumerate() {
            *byte = pattern(sent + k);
        }
        match a.send(&message) {
            // A stream may take part of a message: the rest is simply not sent.
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                pushback = Some(e);
                break;
            }
        }
    }
    b.set_read_timeout(Some(QUIET))?;
    let mut received = 0;
    let mut in_order = true;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match b.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                in_order &= buf[..n]
                    .iter()
                    .enumerate()
                    .all(|(k, &byte)| byte == pattern(received + k));
                received += n;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // Quiet for QUIET: everything that was coming has come.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Fill {
        sent,
        pushback,
        received,
        in_order,
    })
}
// ANCHOR_END: fill_then_drain

// ANCHOR: eof_on_peer_close
/// Closes one end and reads on the other: `Ok(0)`, an end of stream, means the kind is a
/// connection whose end the kernel reports. A read that just waits (until [`QUIET`] passes)
/// means there was no connection to end: the kind is connectionless.
pub fn eof_on_peer_close(kind: Kind) -> io::Result<bool> {
    let (a, mut b) = connected_pair(kind)?;
    drop(a);
    b.set_read_timeout(Some(QUIET))?;
    match b.read(&mut [0u8; 64]) {
        Ok(0) => Ok(true),
        Ok(n) => Err(io::Error::other(format!("read {n} bytes nobody sent"))),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(false),
        Err(e) => Err(e),
    }
}
// ANCHOR_END: eof_on_peer_close

/// The three properties of one kind, as measured.
#[derive(Debug)]
pub struct Properties {
    /// The kind measured.
    pub kind: Kind,
    /// Two sends read as two messages.
    pub keeps_boundaries: bool,
    /// A full receiver makes the sender wait; nothing is lost.
    pub reliable: bool,
    /// The fill experiment behind `reliable`, with its counts.
    pub fill: Fill,
    /// The peer's close is seen as an end of stream.
    pub connection: bool,
}

/// Measures all three properties of `kind`.
pub fn measure(kind: Kind) -> io::Result<Properties> {
    let fill = fill_then_drain(kind)?;
    Ok(Properties {
        kind,
        keeps_boundaries: read_sizes_after_two_sends(kind)? == [2, 3],
        reliable: fill.reliable(),
        fill,
        connection: eof_on_peer_close(kind)?,
    })
}

// ANCHOR: datagrams_name_their_sender
/// A datagram socket needs no connection: one socket bound to `inbox` receives from any
/// sender that names it in `send_to`. Two senders write to it, one bound to `named` and one
/// never bound; `recv_from` tells the receiver who sent each datagram, a path or nobody (an
/// unbound sender cannot be answered). Returns (payload, sender's path) in arrival order.
pub fn datagrams_name_their_sender(
    inbox: &std::path::Path,
    named: &std::path::Path,
) -> io::Result<Vec<(Vec<u8>, Option<std::path::PathBuf>)>> {
    let receiver = UnixDatagram::bind(inbox)?;
    receiver.set_read_timeout(Some(STEP_TIMEOUT))?;
    let with_name = UnixDatagram::bind(named)?;
    let without = UnixDatagram::unbound()?;
    with_name.send_to(b"from a named sender", inbox)?;
    without.send_to(b"from an unbound sender", inbox)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    for _ in 0..2 {
        let (n, from) = receiver.recv_from(&mut buf)?;
        got.push((
            buf[..n].to_vec(),
            from.as_pathname().map(|p| p.to_path_buf()),
        ));
    }
    Ok(got)
}
// ANCHOR_END: datagrams_name_their_sender
