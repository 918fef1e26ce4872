//! `connect` on a UDP socket: a fixed peer, a filter, and errors that can finally arrive.
//!
//! `connect(2)` on a UDP socket sends nothing. It records a default destination (so `send`
//! needs no address) and, more usefully, makes the kernel deliver only datagrams *from* that
//! peer: everything else addressed to the socket is dropped.
//!
//! It also changes error reporting. When a datagram reaches a port where nobody listens, the
//! peer's kernel answers with an ICMP "port unreachable". An unconnected socket never hears of
//! it (which of its many peers would it concern?). A connected socket has one peer, so the
//! kernel reports it on the next call: `recv` fails with `ECONNREFUSED`.

use std::io::{self, ErrorKind};
use std::net::UdpSocket;
use std::time::Duration;

/// What [`filter`] saw.
#[derive(Debug, Clone)]
pub struct Filtered {
    /// The datagrams the connected socket received, in order.
    pub received: Vec<Vec<u8>>,
}

// ANCHOR: filter
/// A socket connected to peer B; a stranger C sends first, then B. Returns what the
/// connected socket received before going quiet (a short read timeout ends the wait).
pub fn filter() -> io::Result<Filtered> {
    let a = UdpSocket::bind("127.0.0.1:0")?;
    let b = UdpSocket::bind("127.0.0.1:0")?;
    let stranger = UdpSocket::bind("127.0.0.1:0")?;
    a.connect(b.local_addr()?)?; // From now on, only B's datagrams reach A.
    stranger.send_to(b"from the stranger", a.local_addr()?)?;
    b.send_to(b"from the peer", a.local_addr()?)?;
    b.send_to(b"from the peer again", a.local_addr()?)?;
    a.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut received = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match a.recv(&mut buf) {
            Ok(n) => received.push(buf[..n].to_vec()),
            // Nothing more within the timeout (WouldBlock on Unix, TimedOut on Windows).
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Filtered { received })
}
// ANCHOR_END: filter

// ANCHOR: unreachable
/// Sends a datagram to a closed port from a connected and from an unconnected socket, and
/// returns what the next receive on each says.
pub fn unreachable() -> io::Result<(io::Error, io::Error)> {
    // Bind, note the port, close: now nobody listens there.
    let closed = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    let wait = Some(Duration::from_millis(200));

    let connected = UdpSocket::bind("127.0.0.1:0")?;
    connected.connect(closed)?;
    connected.set_read_timeout(wait)?;
    connected.send(b"anyone there?")?;
    let mut buf = [0u8; 64];
    let connected_err = match connected.recv(&mut buf) {
        Err(e) => e,
        Ok(n) => {
            return Err(io::Error::other(format!(
                "a closed port answered with {n} bytes"
            )));
        }
    };

    let unconnected = UdpSocket::bind("127.0.0.1:0")?;
    unconnected.set_read_timeout(wait)?;
    unconnected.send_to(b"anyone there?", closed)?;
    let unconnected_err = match unconnected.recv_from(&mut buf) {
        Err(e) => e,
        Ok((n, _)) => {
            return Err(io::Error::other(format!(
                "a closed port answered with {n} bytes"
            )));
        }
    };
    Ok((connected_err, unconnected_err))
}
// ANCHOR_END: unreachable
