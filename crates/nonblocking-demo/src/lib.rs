//! Chapter 4: blocking vs non-blocking sockets.
//!
//! A blocking socket call waits inside the kernel until it can do its job; a non-blocking one
//! does what it can *right now* and otherwise fails with `EAGAIN`/`EWOULDBLOCK`, which Rust
//! reports as [`std::io::ErrorKind::WouldBlock`]. The switch is one flag on the open file
//! description, `O_NONBLOCK`, set by `set_nonblocking(true)` in std and socket2 (on Linux std
//! does it with `ioctl(FIONBIO)`, elsewhere often with `fcntl(F_SETFL)`: the same flag either
//! way). The system calls this chapter covers: `ioctl(FIONBIO)` and `fcntl(F_GETFL/F_SETFL)`,
//! `read(2)`, `write(2)`, `connect(2)` with `EINPROGRESS` and `getsockopt(SO_ERROR)`,
//! `accept(2)`, `poll(2)` on one descriptor, `sigaction(2)`/`pthread_kill(3)` for `EINTR`
//! (with and without `SA_RESTART`), and `getrusage(2)` to measure CPU time.
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
//! - [`restart`] (Linux): `SA_RESTART` restarts an interrupted read, except on a socket with a
//!   timeout, where it fails with `EINTR` anyway.
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
#[cfg(target_os = "linux")]
pub mod restart;
pub mod spin;
pub mod write;

/// A connected pair of blocking TCP sockets on loopback: (client side, accepted server side).
/// Plumbing for the experiments, shared by the whole course; chapter 1 explains every call in
/// it.
pub use socklab_support::net::loopback_pair;
