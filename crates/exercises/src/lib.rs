//! socklab's exercises, two per chapter, the first easier than the second; and its labs.
//!
//! Each exercise is a function whose body, between `SOLUTION BEGIN` and `SOLUTION END`
//! markers, is the reference solution. `cargo xtask student-kit DIR` writes a copy of the
//! course in which every such body is replaced by `todo!("<the hint>")`; the grading tests in
//! `tests/grading.rs` (one per exercise, named after it) then fail exactly where a student
//! has work to do, and pass once the exercise is solved.
//!
//! One module per chapter:
//!
//! - [`ch1`]: framing on a byte stream.
//! - [`ch2`]: reliability over UDP.
//! - [`ch3`]: socket buffers and the bandwidth-delay product.
//! - [`ch4`]: non-blocking sockets.
//! - [`ch5`]: shutdown and abortive close.
//! - [`ch6`]: read and write deadlines, recomputed per call.
//! - [`ch7`]: readiness and the edge-triggered drain rule.
//! - [`ch8`]: Unix domain sockets: a stale socket file, passing a descriptor.
//! - [`ch9`]: peer-to-peer: delivering each broadcast once, a handshake with a deadline.
//! - [`ch10`]: names and dual-stack: trying each address, `IPV6_V6ONLY`.
//! - [`ch11`]: io_uring's bookkeeping: tags that route completions, the send after a partial
//!   send.
//!
//! And the labs, each a larger piece of work graded by its own test file (`tests/labN.rs`):
//!
//! - [`lab1`]: a robust echo server (its binary is `src/bin/lab1-echo.rs`).
//! - [`lab2`]: reliable transfer over UDP (its binary is `src/bin/lab2-transfer.rs`).
//! - [`lab3`]: a publish/subscribe chat server on one thread (its binary is
//!   `src/bin/lab3-chat.rs`; Linux, for `epoll`).

pub mod ch1;
pub mod ch10;
pub mod ch11;
pub mod ch2;
pub mod ch3;
pub mod ch4;
pub mod ch5;
pub mod ch6;
pub mod ch7;
pub mod ch8;
pub mod ch9;
pub mod lab1;
pub mod lab2;
#[cfg(target_os = "linux")] // Built on epoll(7), and graded through /proc.
pub mod lab3;
