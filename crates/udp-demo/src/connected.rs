//! `connect` on a UDP socket: a fixed peer, a filter, and errors that can finally arrive.
//!
//! `connect(2)` on a UDP socket sends nothing. It records a default destination (so `send`
//! needs no address) and, more usefully, makes the kernel deliver only datagrams *from* that
//! peer: everything else addressed to the socket is dropped.
//!
//! It also changes error reporting. When a datagram reaches a port where nobody listens, the
//! peer's kernel answers with an ICMP "port unreachable". A connected socket has one peer, so
//! Linux reports it on the next call: `recv` fails with `ECONNREFUSED`. An unconnected socket
//! is not told by default: the error could concern any of its peers, and a plain `recv_from`
//! has no way to say which. (udp(7) says all fatal errors reach unconnected sockets too;
//! Linux's `__udp4_lib_err` does that only with the option below.)
//!
//! `IP_RECVERR` (ip(7), Linux) is the way for an unconnected socket to hear. With it set, the
//! kernel reports the error on the next call *and* queues it, with the details, in the
//! socket's error queue, read with `recvmsg(2)` and `MSG_ERRQUEUE`: the errno, the ICMP type
//! and code, and, as the message's address, the destination of the datagram that drew it.
//! That address answers "which peer?".

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
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

// ANCHOR: connect_sends_nothing
/// Connects a UDP socket to a receiver, then sends one datagram, and returns the first
/// datagram the receiver gets. If `connect` sent anything, that would come first.
pub fn first_datagram_after_connect() -> io::Result<Vec<u8>> {
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_secs(5)))?;
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(receiver.local_addr()?)?; // Records the peer; nothing goes out.
    socket.send(b"the first datagram")?;
    let mut buf = [0u8; 64];
    let (n, _) = receiver.recv_from(&mut buf)?;
    Ok(buf[..n].to_vec())
}
// ANCHOR_END: connect_sends_nothing

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

/// An error that the kernel queued for a socket with `IP_RECVERR` set, as `recvmsg(2)` with
/// `MSG_ERRQUEUE` returned it (ip(7) describes the `sock_extended_err` it comes in).
#[derive(Debug, Clone)]
pub struct QueuedError {
    /// The error number: `ECONNREFUSED` for "port unreachable".
    pub errno: i32,
    /// Where the error came from: `SO_EE_ORIGIN_ICMP` (2) for an ICMP message.
    pub origin: u8,
    /// The ICMP type and code: (3, 3) is "destination unreachable: port unreachable".
    pub icmp: (u8, u8),
    /// The destination of the datagram that drew the error: which peer it concerns.
    pub destination: Option<SocketAddr>,
}

/// What an unconnected socket with `IP_RECVERR` heard after a send to a closed port.
#[derive(Debug)]
pub struct Told {
    /// The port the datagram was sent to, where nobody listens.
    pub closed: SocketAddr,
    /// What the next `recv_from` returned.
    pub next_recv: io::Result<usize>,
    /// What the error queue held then.
    pub queued: QueuedError,
}

// ANCHOR: recverr
/// Sends a datagram to a closed port from an *unconnected* socket with `IP_RECVERR` set, then
/// receives, and reads the error queue.
#[cfg(target_os = "linux")]
pub fn unconnected_with_recverr() -> io::Result<Told> {
    use nix::sys::socket::{setsockopt, sockopt::Ipv4RecvErr};
    let closed = UdpSocket::bind("127.0.0.1:0")?.local_addr()?; // Nobody listens there now.
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    setsockopt(&socket, Ipv4RecvErr, &true)?; // ip(7): queue errors, and report them.
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    socket.send_to(b"anyone there?", closed)?;
    let next_recv = socket.recv_from(&mut [0u8; 64]).map(|(n, _)| n);
    let queued = read_error_queue(&socket)?;
    Ok(Told {
        closed,
        next_recv,
        queued,
    })
}

/// Takes one error from the socket's error queue: `recvmsg(2)` with `MSG_ERRQUEUE`, which never
/// waits. Its control message carries the `sock_extended_err`, its address the destination.
#[cfg(target_os = "linux")]
fn read_error_queue(socket: &UdpSocket) -> io::Result<QueuedError> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrIn, recvmsg};
    use std::os::fd::AsRawFd;
    let mut payload = [0u8; 64]; // The datagram that drew the error comes back as data.
    let mut iov = [io::IoSliceMut::new(&mut payload)];
    let mut space = nix::cmsg_space!(nix::libc::sock_extended_err, nix::libc::sockaddr_in);
    let flags = MsgFlags::MSG_ERRQUEUE;
    let msg = recvmsg::<SockaddrIn>(socket.as_raw_fd(), &mut iov, Some(&mut space), flags)?;
    let destination = msg.address.map(|a| SocketAddr::V4(a.into()));
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::Ipv4RecvErr(e, _offender) = cmsg {
            return Ok(QueuedError {
                errno: e.ee_errno as i32,
                origin: e.ee_origin,
                icmp: (e.ee_type, e.ee_code),
                destination,
            });
        }
    }
    Err(io::Error::other(
        "the error queue held no IP_RECVERR message",
    ))
}
// ANCHOR_END: recverr
