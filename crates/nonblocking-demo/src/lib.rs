//! Chapter 4: blocking vs non-blocking sockets.
//!
//! A blocking socket call waits inside the kernel until it can do its job; a non-blocking one
//! does what it can *right now* and otherwise fails with `EAGAIN`/`EWOULDBLOCK`, which Rust
//! reports as [`std::io::ErrorKind::WouldBlock`]. The switch is one flag on the descriptor,
//! `O_NONBLOCK`, set with `fcntl(2)` (`set_nonblocking(true)` in std and socket2). The system
//! calls this chapter covers: `fcntl(F_GETFL/F_SETFL)`, `read(2)`, `write(2)`, `connect(2)`
//! with `EINPROGRESS` and `getsockopt(SO_ERROR)`, `accept(2)`, `poll(2)` on one descriptor,
//! `sigaction(2)`/`pthread_kill(3)` for `EINTR`, and `getrusage(2)` to measure CPU time.
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`mode`]: reading and setting `O_NONBLOCK`.
//! - [`read`]: a blocking read parks the thread; a non-blocking one returns `WouldBlock` at once.
//! - [`write`](mod@write): short writes, and the [`write::Outbox`] that keeps the unsent tail, the heart
//!   of every event loop.
//! - [`connect`]: the non-blocking connect: `EINPROGRESS`, writability, `SO_ERROR`.
//! - [`accept`]: non-blocking accept, and whether accepted sockets inherit `O_NONBLOCK`.
//! - [`interrupt`]: `EINTR` (`Interrupted`), shown with a real signal, and why we retry.
//! - [`spin`]: what retrying `WouldBlock` in a loop costs in CPU time.
//! - [`interleave`]: several connections served by one thread, polled in turn: the bridge to
//!   chapter 7's `select`, `poll` and `epoll`.
//! - [`demo`]: the narrated tour that `cargo run -p nonblocking-demo` prints.

pub mod accept;
pub mod connect;
pub mod demo;
pub mod interleave;
pub mod interrupt;
pub mod mode;
pub mod read;
pub mod spin;
pub mod write;

use std::io;
use std::net::{TcpListener, TcpStream};

/// A connected pair of blocking TCP sockets on loopback: (client side, accepted server side).
/// Plumbing for the experiments; chapter 1 explains every call in it.
pub fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((client, server))
}
