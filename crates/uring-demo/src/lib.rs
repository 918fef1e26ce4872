//! Chapter 11: io_uring — completion instead of readiness.
//!
//! Chapter 7's loops ask the kernel *which sockets are ready*, then make one system call per
//! read and per write. io_uring turns the question around: the program queues the operations
//! themselves (receive into a buffer, send this buffer, accept) in a *submission queue*
//! shared with the kernel, makes one `io_uring_enter(2)` for all of them, and later reads
//! their results from a *completion queue*. This crate serves chapter 1's echo protocol that
//! way, with chapter 7's bounds, and measures what it saves.
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`probe`]: is io_uring usable here (kernel, `io_uring_disabled`, seccomp), and if not,
//!   why not: the chapter's tests skip loudly instead of failing.
//! - [`ring`]: the ring, wrapped so that buffers the kernel holds cannot be touched: the one
//!   module with `unsafe` in it, and why completion I/O needs it.
//! - [`model`]: small experiments, one per claim: one system call for many operations, the
//!   buffer handed over before the data exists, multishot accept and receive, provided
//!   buffers, and what happens to operations in flight on close and cancel.
//! - [`server`]: the echo server: chapter 7's bounds (connections, frame size, idle and frame
//!   deadlines, back-pressure) kept the completion way, and a clean stop on `SIGTERM`.
//! - [`conn`]: one connection as a state machine driven by completions: one receive and one
//!   send in flight at most, two send buffers that swap.
//! - [`demo`]: the narrated tour that `cargo run -p uring-demo` prints.

pub mod conn;
pub mod demo;
pub mod model;
pub mod probe;
pub mod ring;
pub mod server;
