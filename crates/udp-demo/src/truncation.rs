//! Truncation: a receive buffer smaller than the datagram silently loses the rest of it.
//!
//! `recv_from` into a 100-byte buffer takes the first 100 bytes of the next datagram and the
//! kernel *discards* the remainder; the call returns 100, exactly as if the datagram had been
//! 100 bytes long. Two ways to notice:
//!
//! - `recvmsg(2)` sets `MSG_TRUNC` in the returned message flags when it cut the datagram
//!   (portable across Unix systems).
//! - On Linux, passing `MSG_TRUNC` as a *flag* to `recv(2)` makes it return the datagram's real
//!   length even if the buffer is smaller; with `MSG_PEEK` too, the datagram stays queued, so
//!   the program can size a buffer and then read it whole.

use std::io::{self, IoSliceMut};
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::sys::socket::{MsgFlags, SockaddrStorage, recvmsg};

/// What a truncating receive saw.
#[derive(Debug, Clone, Copy)]
pub struct Truncated {
    /// Bytes the datagram really had.
    pub sent: usize,
    /// Bytes `recv_from` returned into the small buffer.
    pub returned: usize,
    /// Whether `recvmsg` reported `MSG_TRUNC` in its flags.
    pub flagged: bool,
    /// The real length learned by peeking with `MSG_TRUNC` (Linux only).
    pub peeked_len: Option<usize>,
}

// ANCHOR: recv_detecting_truncation
/// Receives one datagram into `buf` with `recvmsg(2)`, returning the bytes stored and whether
/// the kernel had to cut the datagram to fit (`MSG_TRUNC` in the message flags).
pub fn recv_detecting_truncation(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, bool)> {
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(socket.as_raw_fd(), &mut iov, None, MsgFlags::empty())?;
    Ok((msg.bytes, msg.flags.contains(MsgFlags::MSG_TRUNC)))
}
// ANCHOR_END: recv_detecting_truncation

// ANCHOR: peek_true_length
/// The real length of the next datagram, without consuming it: `recv(MSG_PEEK | MSG_TRUNC)`
/// into a one-byte buffer. Linux only; elsewhere `MSG_TRUNC` is not an input flag, and a
/// program peeks into a buffer of [`crate::RECV_BUF`] bytes instead.
#[cfg(target_os = "linux")]
pub fn peek_true_length(socket: &UdpSocket) -> io::Result<usize> {
    let mut one = [0u8; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC;
    Ok(nix::sys::socket::recv(socket.as_raw_fd(), &mut one, flags)?)
}
// ANCHOR_END: peek_true_length

/// Sends a `len`-byte datagram and receives it three ways into a `buf_len`-byte buffer.
pub fn truncate(len: usize, buf_len: usize) -> io::Result<Truncated> {
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_secs(5)))?;
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    let datagram = vec![0x42u8; len];
    let mut buf = vec![0u8; buf_len];

    // First: the plain std call, which cannot tell.
    sender.send_to(&datagram, receiver.local_addr()?)?;
    #[cfg(target_os = "linux")]
    let peeked_len = Some(peek_true_length(&receiver)?);
    #[cfg(not(target_os = "linux"))]
    let peeked_len = None;
    let (returned, _) = receiver.recv_from(&mut buf)?;

    // Second: recvmsg, which reports MSG_TRUNC.
    sender.send_to(&datagram, receiver.local_addr()?)?;
    let (_, flagged) = recv_detecting_truncation(&receiver, &mut buf)?;
    Ok(Truncated {
        sent: len,
        returned,
        flagged,
        peeked_len,
    })
}
