//! Chapter 6: timeouts — connect, read, write, deadlines, keepalive and heartbeats.
//!
//! Every blocking call can wait forever: for a SYN-ACK that never comes, for bytes a silent
//! peer never sends, for buffer space a peer that never reads never frees. Timeouts bound
//! those waits. The calls covered: `connect(2)` with a timeout (non-blocking connect plus
//! `poll`, inside std's `connect_timeout`), `setsockopt(SO_RCVTIMEO)` and `SO_SNDTIMEO`
//! (`set_read_timeout`, `set_write_timeout`), `SO_KEEPALIVE` with `TCP_KEEPIDLE`,
//! `TCP_KEEPINTVL` and `TCP_KEEPCNT`, and Linux's `TCP_USER_TIMEOUT`.
//!
//! The chapter's central point: a socket timeout bounds **one call**, not a whole exchange.
//! A peer that sends one byte just before each timeout keeps a reader busy forever. An
//! overall [`deadline::Deadline`] fixes that by giving each call only the time that remains.
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`connect`]: a connect that cannot complete, made deterministic on loopback, and one
//!   refused at once.
//! - [`io`]: read and write timeouts, on TCP and on a UDP receive, and the error kinds they
//!   produce (`WouldBlock` on Unix).
//! - [`deadline`]: per-call timeouts versus an overall deadline, against a slowloris peer.
//! - [`keepalive`]: TCP keepalive and `TCP_USER_TIMEOUT`, their defaults, and an
//!   application heartbeat for what keepalive cannot see.
//! - [`wire`]: dead peers on the wire lab: a connect into a black hole, keepalive probes and
//!   `TCP_USER_TIMEOUT`, every packet sent into the cut recorded (`demo --wire`).
//! - [`demo`]: the narrated tour that `cargo run -p timeouts-demo` prints.

pub mod connect;
pub mod deadline;
pub mod demo;
pub mod io;
pub mod keepalive;
pub mod wire;

/// Whether `e` is a timeout. On Unix, `SO_RCVTIMEO`/`SO_SNDTIMEO` expiring makes the call fail
/// with `EAGAIN`, which Rust reports as `WouldBlock`; Windows reports `TimedOut`; deadlines in
/// this crate report `TimedOut`. Code that handles timeouts must accept both.
pub fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
