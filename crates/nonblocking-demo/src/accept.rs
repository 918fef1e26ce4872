//! Non-blocking `accept`: `WouldBlock` when nobody is waiting, and what accepted sockets
//! inherit.
//!
//! On a listener with `O_NONBLOCK`, `accept(2)` returns `EAGAIN` when the accept queue is
//! empty instead of waiting for a client. The socket it returns for a connection is a new
//! descriptor, and on Linux it does **not** inherit `O_NONBLOCK` from the listener
//! (`accept(2)`: "file status flags such as O_NONBLOCK are not inherited"); a server must set
//! it on every accepted socket, or use `accept4(SOCK_NONBLOCK)`. BSD-derived systems,
//! macOS among them, do copy the flag, which is exactly why portable code sets it explicitly.

use std::io::{self, ErrorKind};
use std::net::{TcpListener, TcpStream};

use crate::mode::is_nonblocking;

/// What [`accept_nonblocking`] saw.
#[derive(Debug)]
pub struct AcceptReport {
    /// The error `accept` returned with an empty queue.
    pub empty_queue: io::Error,
    /// Whether the socket accepted from a non-blocking listener came out non-blocking.
    pub accepted_is_nonblocking: bool,
}

// ANCHOR: accept_nonblocking
/// Calls `accept` on a non-blocking listener with no client waiting, then with one.
pub fn accept_nonblocking() -> io::Result<AcceptReport> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let empty_queue = match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => e, // Nobody is waiting: "try later".
        Err(e) => return Err(e),
        Ok((_, peer)) => return Err(io::Error::other(format!("unexpected client {peer}"))),
    };
    // Once connect() returns, the kernel has queued the connection, so accept finds it.
    let _client = TcpStream::connect(listener.local_addr()?)?;
    let (accepted, _) = listener.accept()?;
    Ok(AcceptReport {
        empty_queue,
        accepted_is_nonblocking: is_nonblocking(&accepted)?,
    })
}
// ANCHOR_END: accept_nonblocking
