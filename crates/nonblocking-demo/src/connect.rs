//! The non-blocking `connect`: `EINPROGRESS`, completion as writability, the result in
//! `SO_ERROR`.
//!
//! A blocking `connect(2)` waits for the three-way handshake. A non-blocking one sends the SYN
//! and returns `EINPROGRESS` at once (Rust has no stable `ErrorKind` for it everywhere, so it
//! is matched on the raw error number). The program then waits until the socket becomes
//! *writable*, here with `poll(2)` on this one descriptor (chapter 7 watches thousands at
//! once), and reads the outcome with `getsockopt(SO_ERROR)`: no error means connected; an
//! error such as `ECONNREFUSED` means the attempt failed.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use socket2::{Domain, Protocol, Socket, Type};

/// What the first `connect` call on a non-blocking socket returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstCall {
    /// `EINPROGRESS`: the handshake has started and will finish later (the usual case).
    InProgress,
    /// Connected at once (some systems can finish a loopback handshake inside the call).
    Connected,
    /// Refused at once (ditto, for a closed port).
    Refused,
}

/// The story of one non-blocking connect.
#[derive(Debug)]
pub struct ConnectReport {
    /// What the `connect` call itself returned.
    pub first_call: FirstCall,
    /// The final outcome, read from `SO_ERROR` after the socket became writable.
    pub outcome: io::Result<()>,
    /// The connected (or failed) socket, for the caller to use or inspect.
    pub socket: Socket,
}

// ANCHOR: connect_nonblocking
/// Connects to `addr` without blocking in `connect`, waiting at most `timeout` for the outcome.
pub fn connect_nonblocking(addr: SocketAddr, timeout: Duration) -> io::Result<ConnectReport> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;

    let first_call = match socket.connect(&addr.into()) {
        Ok(()) => FirstCall::Connected,
        // EINPROGRESS: the SYN is out; the answer comes later.
        Err(e) if e.raw_os_error() == Some(Errno::EINPROGRESS as i32) => FirstCall::InProgress,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => FirstCall::Refused,
        Err(e) => return Err(e),
    };
    let outcome = match first_call {
        FirstCall::Connected => Ok(()),
        FirstCall::Refused => Err(ErrorKind::ConnectionRefused.into()),
        FirstCall::InProgress => {
            // Writable means "the handshake is over", successfully or not.
            wait_writable(&socket, timeout)?;
            // SO_ERROR holds (and clears) the pending error: None means connected.
            match socket.take_error()? {
                None => Ok(()),
                Some(e) => Err(e),
            }
        }
    };
    Ok(ConnectReport {
        first_call,
        outcome,
        socket,
    })
}
// ANCHOR_END: connect_nonblocking

/// Waits with `poll(2)` until `socket` is writable (or has an error), at most `timeout`.
pub fn wait_writable(socket: &impl AsFd, timeout: Duration) -> io::Result<()> {
    let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLOUT)];
    let timeout = PollTimeout::try_from(timeout).map_err(|e| io::Error::other(e.to_string()))?;
    loop {
        match poll(&mut fds, timeout) {
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    "connect did not finish",
                ));
            }
            Ok(_) => return Ok(()),
            // A signal cut the wait short: wait again (a real program would shorten the
            // timeout by the time already spent; chapter 6 does).
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
