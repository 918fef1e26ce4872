//! Chapter 3: socket buffers — `SO_RCVBUF` and `SO_SNDBUF`, measured.
//!
//! Every TCP and UDP socket has a send buffer (bytes written but not yet acknowledged) and a
//! receive buffer (bytes arrived but not yet read). Their sizes decide how much data can be in
//! flight, how far a fast sender can run ahead of a slow reader, and, over a network, how fast
//! one connection can go. The calls covered: `getsockopt`/`setsockopt` with `SO_RCVBUF` and
//! `SO_SNDBUF`, the Linux sysctls that bound them (`net.core.{r,w}mem_{default,max}`,
//! `net.ipv4.tcp_{r,w}mem`), and the per-connection queue lengths that `SIOCINQ`/`SIOCOUTQ`
//! report (read here from `/proc/net/tcp`).
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`sizes`]: the defaults of fresh sockets, the system limits, and what the kernel does to
//!   the value you set (Linux doubles it, caps it, and has a floor).
//! - [`inherit`]: accepted sockets inherit the listener's buffers; setting `SO_RCVBUF` turns
//!   Linux's receive autotuning off.
//! - [`inflight`]: how many bytes a writer can push at a peer that does not read.
//! - [`bulk`]: an iperf-like bulk sender and sink, and the throughput they reach.
//! - [`sweep`]: throughput against buffer size and write size, as a table and an SVG chart.
//! - [`busy`]: what holds a loopback transfer back: the threads' own busy times show it is
//!   the processors, not the window (Linux).
//! - [`compare`]: the bulk pair against iperf3, for the same time, in alternating rounds.
//! - [`wire`]: the bandwidth-delay product on the wire lab: the window read off the wire,
//!   fixed buffers against autotuning (`demo --wire`).
//! - [`demo`]: the narrated tour that `cargo run -p buffers-demo` prints.
//! - [`look`]: a connection's queues and congestion window seen by `ss -tni` (`look ss`).

pub mod bulk;
pub mod busy;
pub mod compare;
pub mod demo;
pub mod inflight;
pub mod inherit;
pub mod look;
pub mod sizes;
pub mod sweep;
pub mod wire;
