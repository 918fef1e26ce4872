//! Loss is real, even on loopback: a full receive buffer drops datagrams.
//!
//! UDP has no flow control. A datagram that arrives when the receiving socket's buffer
//! (`SO_RCVBUF`) is full is thrown away, and nobody is told: not the sender, whose `sendto`
//! succeeded, and not the receiver, unless it asks. Linux counts the drops per socket; with
//! the `SO_RXQ_OVFL` option set, every datagram received carries the count so far (as a
//! control message read with `recvmsg(2)`).
//!
//! [`burst`] sends a burst at a receiver with a small buffer that is not reading, then drains
//! it, and checks that received + dropped = sent.

use std::io::{self, ErrorKind};
use std::net::UdpSocket;
use std::time::Duration;

use socket2::SockRef;

/// The outcome of a burst.
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    /// Datagrams sent (every `send_to` succeeded).
    pub sent: u64,
    /// Datagrams the receiver got.
    pub received: u64,
    /// Datagrams the kernel says it dropped for this socket (Linux `SO_RXQ_OVFL`); `None`
    /// where the system does not count them.
    pub kernel_dropped: Option<u64>,
    /// The receive buffer size the kernel granted (see chapter 3 for why it differs from the
    /// request).
    pub rcvbuf: usize,
}

const MARKER: &[u8] = b"marker: end of burst";

// ANCHOR: burst
/// Sends `count` datagrams of `size` bytes at a receiver whose `SO_RCVBUF` was set to
/// `rcvbuf` and which reads nothing until the burst is over; then drains it.
pub fn burst(count: u64, size: usize, rcvbuf: usize) -> io::Result<Burst> {
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    SockRef::from(&receiver).set_recv_buffer_size(rcvbuf)?;
    let granted = SockRef::from(&receiver).recv_buffer_size()?;
    enable_drop_counter(&receiver)?;
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    let to = receiver.local_addr()?;
    let payload = vec![0x11u8; size];
    for _ in 0..count {
        sender.send_to(&payload, to)?; // Succeeds whether or not the datagram will be kept.
    }
    // Drain what was kept, then send a marker into the now empty buffer: the marker always
    // fits, arrives after every burst datagram, and carries the final drop count.
    receiver.set_nonblocking(true)?;
    let mut buf = vec![0u8; crate::RECV_BUF];
    let mut received = 0;
    loop {
        match receiver.recv_from(&mut buf) {
            Ok(_) => received += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break, // Drained.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    receiver.set_nonblocking(false)?;
    receiver.set_read_timeout(Some(Duration::from_secs(5)))?;
    sender.send_to(MARKER, to)?;
    let kernel_dropped = loop {
        let (n, dropped) = recv_with_drop_count(&receiver, &mut buf)?;
        if &buf[..n] == MARKER {
            break dropped;
        }
        received += 1; // A burst datagram still on its way when the drain stopped.
    };
    Ok(Burst {
        sent: count,
        received,
        kernel_dropped,
        rcvbuf: granted,
    })
}
// ANCHOR_END: burst

// ANCHOR: drop_counter
/// Asks Linux to attach the socket's drop count to every datagram received.
#[cfg(target_os = "linux")]
fn enable_drop_counter(socket: &UdpSocket) -> io::Result<()> {
    nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::RxqOvfl, &1)?;
    Ok(())
}

/// Receives one datagram with `recvmsg(2)` and returns its length and the drop count that
/// came with it in an `SO_RXQ_OVFL` control message.
#[cfg(target_os = "linux")]
fn recv_with_drop_count(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(u32);
    let msg = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )?;
    let mut dropped = None;
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::RxqOvfl(count) = cmsg {
            dropped = Some(u64::from(count));
        }
    }
    // The kernel attaches the counter only once it is non-zero: no message means no drops.
    Ok((msg.bytes, Some(dropped.unwrap_or(0))))
}
// ANCHOR_END: drop_counter

/// Other systems have no per-socket drop counter option.
#[cfg(not(target_os = "linux"))]
fn enable_drop_counter(_: &UdpSocket) -> io::Result<()> {
    Ok(())
}

/// Without a drop counter, a plain receive; the count is unknown.
#[cfg(not(target_os = "linux"))]
fn recv_with_drop_count(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    Ok((socket.recv_from(buf)?.0, None))
}
