//! Size limits: the largest datagram, and `EMSGSIZE` one byte past it.
//!
//! A UDP datagram travels in one IP packet, whose 16-bit length field caps it at 65,535
//! bytes *including* the headers: 65,535 − 20 (IPv4) − 8 (UDP) = 65,507 bytes of payload.
//! Over IPv6 the payload length excludes the 40-byte IPv6 header: 65,535 − 8 = 65,527. On
//! loopback these maxima go through (the kernel fragments what exceeds the interface's MTU);
//! one byte more and `sendto(2)` fails at once with `EMSGSIZE`, "Message too long". On a real
//! network, datagrams over the path MTU (often 1,500 bytes) are fragmented, and the loss of
//! any fragment loses the whole datagram, so protocols keep datagrams small.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use nix::errno::Errno;

use crate::RECV_BUF;

// ANCHOR: send_of_size
/// Sends one datagram of `len` bytes to a fresh receiver on `ip` and returns how many bytes
/// arrived, or the send's error.
pub fn send_of_size(ip: &str, len: usize) -> io::Result<usize> {
    let ip: IpAddr = ip
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let receiver = UdpSocket::bind(SocketAddr::new(ip, 0))?;
    receiver.set_read_timeout(Some(Duration::from_secs(5)))?;
    let sender = UdpSocket::bind(SocketAddr::new(receiver.local_addr()?.ip(), 0))?;
    sender.send_to(&vec![1u8; len], receiver.local_addr()?)?;
    let mut buf = vec![0u8; RECV_BUF];
    Ok(receiver.recv_from(&mut buf)?.0)
}
// ANCHOR_END: send_of_size

/// Whether `e` is `EMSGSIZE`, the error for a datagram too large to send.
pub fn is_too_large(e: &io::Error) -> bool {
    e.raw_os_error() == Some(Errno::EMSGSIZE as i32)
}
