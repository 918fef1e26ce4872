//! Chapter 5: shutdown and half-close — FIN, RST, and the TCP states along the way.
//!
//! A TCP connection is two independent byte streams, one each way. `shutdown(2)` ends one or
//! both directions of the *connection*; `close(2)` (dropping the socket in Rust) releases the
//! *descriptor*, and with the last descriptor gone the kernel ends the connection for you:
//! with a FIN normally, with a RST if unread data would otherwise be lost or if `SO_LINGER`
//! asks for an abort. The calls covered: `shutdown(SHUT_WR / SHUT_RD / SHUT_RDWR)`,
//! `close(2)`, `setsockopt(SO_LINGER)`, `send(2)` with `MSG_NOSIGNAL` against `write(2)` and
//! `SIGPIPE`, and on Linux the state table in `/proc/net/tcp`.
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`half_close`]: a client sends a request, half-closes with `shutdown(Write)`, and still
//!   reads the whole reply (what `nc -N` does).
//! - [`directions`]: `shutdown(Read)`, `shutdown(Both)`, and how both differ from `close`.
//! - [`reset`]: when closing sends RST instead of FIN, and what the peer sees
//!   (`ConnectionReset`, `BrokenPipe`).
//! - [`sigpipe`]: why `EPIPE` does not kill a Rust program: the runtime ignores `SIGPIPE`, and
//!   std's writes pass `MSG_NOSIGNAL`, which alone is enough (Linux).
//! - [`linger`]: `SO_LINGER` with a zero timeout: an abortive close that skips TIME-WAIT.
//! - [`states`]: the TCP states of the demo's own sockets, read live, and the TIME-WAIT timer
//!   (Linux).
//! - [`server`]: the half-close server of the `server` subcommand: a thread per client,
//!   bounded in connections, size and time (a whole-request deadline against slow senders),
//!   and a clean stop on Ctrl-C.
//! - [`wire`]: the FINs and RSTs themselves: the close experiments again on the wire lab,
//!   every packet recorded (`demo --wire`).
//! - [`demo`]: the narrated tour that `cargo run -p shutdown-demo` prints.
//! - [`look`]: the closing states seen by `ss -tan` (`look ss`, Linux).

pub mod demo;
pub mod directions;
pub mod half_close;
pub mod linger;
pub mod look;
pub mod reset;
pub mod server;
pub mod sigpipe;
pub mod states;
pub mod wire;

use std::io;
use std::net::TcpStream;
use std::time::Duration;

/// The read and write timeout on both ends of every experiment's pair: far longer than any
/// step takes on loopback, so it only ever ends a hang.
pub const PAIR_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected pair on loopback: (client side, accepted server side), each with read and
/// write timeouts of [`PAIR_TIMEOUT`] so that no experiment can hang. The course's shared
/// pair; chapter 1 explains every call in it.
pub fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    socklab_support::net::loopback_pair_with_timeouts(PAIR_TIMEOUT)
}
