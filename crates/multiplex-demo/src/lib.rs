//! Chapter 7: `select`, `poll` and `epoll` — one thread, ten thousand connections.
//!
//! Chapter 4 served several connections from one thread by visiting each in turn, and paid
//! for it with a busy core. A *readiness API* lets the thread sleep until some socket is ready
//! and tells it which. This crate serves chapter 1's echo protocol with one thread three ways
//! (`select(2)`, `poll(2)`, `epoll(7)` level- and edge-triggered), measures them against
//! chapter 1's thread-per-connection server, and drives them with a load generator that is an
//! event loop too.
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`readiness`]: the question all three APIs answer, as a trait, and how they differ.
//! - [`select`], [`poll`], [`epoll`]: one small implementation each.
//! - [`server`]: the event loop: write interest only while there is an unsent tail, accept
//!   errors that do not spin, the connection limit, one client's failure closing only that
//!   client, and a clean stop on `SIGTERM`.
//! - [`conn`]: one connection as a state machine: a frame decoder in, an outbox out, read
//!   interest that follows the outbox (back-pressure), fair visits.
//! - [`deadlines`]: idle and frame deadlines in one sorted set, the wait's timeout taken from
//!   the nearest.
//! - [`load`]: the load generator: C connections of ping-pong, requests/s and p50/p99.
//! - [`demo`]: the narrated tour that `cargo run -p multiplex-demo` prints.
//!
//! On systems without epoll (macOS), the epoll module is left out and everything else works
//! with select and poll.

pub mod conn;
pub mod deadlines;
pub mod demo;
#[cfg(target_os = "linux")]
pub mod epoll;
pub mod load;
pub mod poll;
pub mod readiness;
pub mod select;
pub mod server;

pub use readiness::Api;
