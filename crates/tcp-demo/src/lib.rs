//! Chapter 1: blocking TCP.
//!
//! The lesson of this crate is the plain, blocking socket API and what TCP really promises:
//! an ordered, reliable *byte stream* between two endpoints, identified by a 4-tuple. The
//! system calls it covers are `socket(2)`, `bind(2)`, `listen(2)`, `connect(2)`, `accept(2)`,
//! `read(2)`/`recv(2)`, `write(2)`/`send(2)`, `setsockopt(2)` with `SO_REUSEADDR`, and `close(2)`.
//!
//! A tour of the modules, in the order the book's chapter reads them:
//!
//! - [`lifecycle`]: one connection from `socket()` to `close()`, each call made separately
//!   (through socket2) so the addresses can be printed at every step. Shows that the accepted
//!   socket keeps the listener's port.
//! - [`stream`]: experiments showing that TCP keeps no message boundaries, that `read`
//!   returning 0 means the peer closed, and that `write` may take fewer bytes than offered.
//! - [`frame`]: the fix for missing boundaries, length-prefixed framing with a size limit.
//! - [`server`]: a thread-per-connection echo server for framed messages, with a bound on
//!   concurrent connections and an idle timeout, that stops cleanly on Ctrl-C.
//! - [`connections`]: its bookkeeping: connection slots, and the registry that lets a stop
//!   shut every open connection down (chapters 3 and 5 reuse it).
//! - [`client`]: the matching blocking client.
//! - [`reuse`]: binding a port that is taken (`EADDRINUSE`) and what `SO_REUSEADDR` changes.
//! - [`wire`]: the segments themselves: the handshake and the writes again on the wire lab,
//!   every packet recorded (`demo --wire`).
//! - [`demo`]: the narrated tour that `cargo run -p tcp-demo` prints.
//! - [`look`]: the same sockets seen by the system's tools, `ss` and `nc` (`look ss`,
//!   `look nc`).

pub mod client;
pub mod connections;
pub mod demo;
pub mod frame;
pub mod lifecycle;
pub mod look;
pub mod reuse;
pub mod server;
pub mod stream;
pub mod wire;

pub use client::Client;
pub use frame::{FrameError, MAX_FRAME};
pub use server::{Server, ServerConfig};
