//! Buffer sizes: the defaults, the system limits, and what the kernel does with your request.
//!
//! On Linux, `setsockopt(SO_RCVBUF, n)` does not store `n`:
//!
//! - it stores `2 × n`, because the kernel counts its own bookkeeping (the `sk_buff` structures
//!   around each packet) against the buffer, and reserves that much room for it (socket(7):
//!   "the kernel doubles this value ... and this doubled value is returned by getsockopt");
//! - it first caps `n` at `net.core.rmem_max` (`wmem_max` for `SO_SNDBUF`), so a request above
//!   the cap reads back as twice the cap (root can exceed it with `SO_RCVBUFFORCE`);
//! - it enforces a floor of a couple of kilobytes, so tiny requests read back larger.
//!
//! Other systems store the value as given (within their own limits). The tests read every
//! limit at run time from `/proc/sys`; nothing is hard-coded.

use std::io;
use std::net::{TcpListener, TcpStream, UdpSocket};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// Buffer sizes of freshly made sockets, as `getsockopt` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    /// A connected TCP socket's `SO_RCVBUF`.
    pub tcp_rcvbuf: usize,
    /// A connected TCP socket's `SO_SNDBUF`.
    pub tcp_sndbuf: usize,
    /// A UDP socket's `SO_RCVBUF`.
    pub udp_rcvbuf: usize,
    /// A UDP socket's `SO_SNDBUF`.
    pub udp_sndbuf: usize,
}

// ANCHOR: defaults
/// Reads `SO_RCVBUF` and `SO_SNDBUF` of a fresh, connected TCP socket and of a UDP socket.
pub fn defaults() -> io::Result<Defaults> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let tcp = TcpStream::connect(listener.local_addr()?)?;
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    let (t, u) = (SockRef::from(&tcp), SockRef::from(&udp));
    Ok(Defaults {
        tcp_rcvbuf: t.recv_buffer_size()?,
        tcp_sndbuf: t.send_buffer_size()?,
        udp_rcvbuf: u.recv_buffer_size()?,
        udp_sndbuf: u.send_buffer_size()?,
    })
}
// ANCHOR_END: defaults

/// Linux's system-wide buffer limits, read from `/proc/sys/net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `net.core.rmem_default`: a new non-TCP socket's `SO_RCVBUF`.
    pub rmem_default: usize,
    /// `net.core.rmem_max`: the cap on what `setsockopt(SO_RCVBUF)` may ask for.
    pub rmem_max: usize,
    /// `net.core.wmem_default`.
    pub wmem_default: usize,
    /// `net.core.wmem_max`: the cap for `SO_SNDBUF`.
    pub wmem_max: usize,
    /// `net.ipv4.tcp_rmem`: TCP's receive buffer (min, default, max for autotuning).
    pub tcp_rmem: [usize; 3],
    /// `net.ipv4.tcp_wmem`: TCP's send buffer (min, default, max for autotuning).
    pub tcp_wmem: [usize; 3],
}

// ANCHOR: limits
/// Reads the limits from `/proc/sys` (Linux); `None` on other systems.
pub fn limits() -> Option<Limits> {
    let one = |path: &str| -> Option<usize> {
        std::fs::read_to_string(format!("/proc/sys/net/{path}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let three = |path: &str| -> Option<[usize; 3]> {
        let text = std::fs::read_to_string(format!("/proc/sys/net/{path}")).ok()?;
        let v: Vec<usize> = text
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        v.try_into().ok()
    };
    Some(Limits {
        rmem_default: one("core/rmem_default")?,
        rmem_max: one("core/rmem_max")?,
        wmem_default: one("core/wmem_default")?,
        wmem_max: one("core/wmem_max")?,
        tcp_rmem: three("ipv4/tcp_rmem")?,
        tcp_wmem: three("ipv4/tcp_wmem")?,
    })
}
// ANCHOR_END: limits

// ANCHOR: set_then_get
/// Sets `SO_RCVBUF` to `requested` on a fresh TCP socket and returns what `getsockopt` reads
/// back: on Linux, twice the request, capped and floored.
pub fn set_then_get_rcvbuf(requested: usize) -> io::Result<usize> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_recv_buffer_size(requested)?;
    socket.recv_buffer_size()
}

/// The same for `SO_SNDBUF`.
pub fn set_then_get_sndbuf(requested: usize) -> io::Result<usize> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_send_buffer_size(requested)?;
    socket.send_buffer_size()
}
// ANCHOR_END: set_then_get
