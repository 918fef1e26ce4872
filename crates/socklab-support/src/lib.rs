//! Plumbing shared by socklab's chapters, and nothing that a chapter teaches.
//!
//! No lesson lives here: every `socket`, `bind`, `listen`, `connect`, `accept`, `setsockopt`
//! and friends that a chapter explains is written out in that chapter's own crate, where the
//! reader looks for it. The one socket helper here, [`net::loopback_pair`], is chapter 1's
//! lesson reused as plumbing by everything after it. What is here is the scaffolding around
//! the lessons, each piece written once:
//!
//! - [`descriptors`]: using up descriptor numbers on purpose, for the tests of `EMFILE` and of
//!   select's `FD_SETSIZE`, and raising the descriptor limit for the 10,000-connection runs.
//! - [`narrate`]: the [`Narrator`] that demos and servers print through, which tests can switch
//!   to capture mode and read back.
//! - [`cli`]: how every binary reports an error (one line, non-zero exit, no backtrace) and
//!   parses durations with units (`500ms`, `2s`).
//! - [`data`]: reproducible pseudo-random payloads and checksums, so a test can prove that
//!   every byte came back in order.
//! - [`net`]: a connected pair of TCP sockets on loopback, with or without timeouts.
//! - [`os_tool`]: running `ss`, `nc` or `strace` on a demo's own sockets and showing the
//!   command line and the tool's output, for the chapters' "look with your OS" steps.
//! - [`process`]: running the course's binaries from tests as a user would, and starting a
//!   server and reading its `listening on ADDR` line.
//! - [`proc_tcp`]: Linux's table of TCP sockets (`/proc/net/tcp`): each connection's state
//!   and queue lengths, for chapters 3 and 5.
//! - [`queue`]: [`queue::ByteQueue`], the bounded byte FIFO behind the frame decoder and the
//!   outbox (amortised O(1) consume, a hard bound).
//! - [`skip`]: loud skips, which `cargo xtask test-all` lists in its summary.
//! - [`stats`]: percentiles of latencies and the median and spread of repeated runs, by one
//!   rule for every table of the course.
//! - [`stop`]: stopping a server cleanly on Ctrl-C and `SIGTERM` (the self-pipe pattern), or
//!   on a test's request.
//! - [`wait`]: waiting, bounded, for a condition that only shows when looked at (a server's
//!   counter, a TCP state): the one polling loop of the course.
//! - [`watchdog`]: [`within`], a bound on a whole test step, so that a bug makes a test fail
//!   instead of hanging the suite.

pub mod cli;
pub mod data;
pub mod descriptors;
pub mod narrate;
pub mod net;
pub mod os_tool;
pub mod proc_tcp;
pub mod process;
pub mod queue;
pub mod skip;
pub mod stats;
pub mod stop;
pub mod wait;
pub mod watchdog;

pub use narrate::Narrator;
pub use watchdog::within;
