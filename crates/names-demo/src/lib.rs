//! Chapter 10: names and dual-stack — from `localhost` to an address, and one listener for
//! IPv4 and IPv6.
//!
//! A program is given a *name* (`localhost`, `example.org`) and must turn it into socket
//! addresses. The system's resolver, `getaddrinfo(3)` (std calls it through `ToSocketAddrs`),
//! reads `/etc/hosts`, DNS and whatever else `/etc/nsswitch.conf` lists, and returns a *list*,
//! possibly of both families, in an order chosen by the system (RFC 6724's sorting rules,
//! tuned by `/etc/gai.conf` on glibc). A client that takes only the first address fails
//! whenever the server listens on another; a correct client tries each in turn. On the server
//! side, one IPv6 socket can serve IPv4 clients too, seeing them as v4-mapped addresses
//! (`::ffff:127.0.0.1`), unless `IPV6_V6ONLY` is set (ipv6(7)); its default is the system's.
//! The calls covered: `getaddrinfo(3)`, `connect(2)` per address, `setsockopt(IPV6_V6ONLY)`.
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`resolve`]: what a name resolves to here, in the resolver's order, and what
//!   `/etc/hosts` says about it.
//! - [`connect`]: a client that tries each address in turn until one connects.
//! - [`dual_stack`]: one IPv6 listener for both families: `IPV6_V6ONLY` off, on, and the
//!   platform's default read at run time.
//! - [`demo`]: the narrated tour that `cargo run -p names-demo` prints.

pub mod connect;
pub mod demo;
pub mod dual_stack;
pub mod resolve;

use std::time::Duration;

/// The bound on every experiment's connects, reads and writes: far longer than anything takes
/// on loopback, so it only ever ends a hang.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);
