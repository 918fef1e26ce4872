//! Chapter 2: UDP, datagrams instead of a stream.
//!
//! A UDP socket sends and receives whole *datagrams*: each `send_to` is one message, each
//! `recv_from` returns exactly one, or part of one if the buffer is too small. There is no
//! connection, no accept, no retransmission and no flow control; one socket can talk to any
//! number of peers. The system calls covered: `socket(AF_INET, SOCK_DGRAM)`, `bind(2)`,
//! `sendto(2)`, `recvfrom(2)`, `recvmsg(2)` with `MSG_TRUNC` and the `SO_RXQ_OVFL` drop
//! counter, `connect(2)` on a UDP socket, `IP_RECVERR` with `recvmsg(MSG_ERRQUEUE)`, and
//! `setsockopt(SO_RCVBUF)`.
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`echo`]: a datagram echo server (one socket serves every peer) with fault injection
//!   (drop and duplicate a fraction of datagrams), and counters.
//! - [`boundaries`]: N sends arrive as N receives, each whole.
//! - [`truncation`]: a too-small buffer silently cuts a datagram; how to notice
//!   (`MSG_TRUNC`) and how to learn the true length.
//! - [`limits`]: the largest datagram (65,507 bytes of payload over IPv4), and `EMSGSIZE`.
//! - [`loss`]: loss is real even on loopback; the kernel's own drop counter adds up.
//! - [`connected`]: `connect` on UDP sends nothing, filters peers and surfaces ICMP errors;
//!   `IP_RECVERR` lets an unconnected socket hear them too (Linux).
//! - [`reliable`]: sequence numbers, per-try timeouts and retries: reliability is the
//!   application's job.
//! - [`wire`]: the link itself losing, reordering and fragmenting: the retries, fragments
//!   and `IP_MTU_DISCOVER` on the wire lab, every packet recorded (`demo --wire`).
//! - [`demo`]: the narrated tour that `cargo run -p udp-demo` prints.

pub mod boundaries;
pub mod connected;
pub mod demo;
pub mod echo;
pub mod limits;
pub mod loss;
pub mod reliable;
pub mod truncation;
pub mod wire;

/// The largest UDP payload over IPv4: 65,535 (the IP length field's maximum) minus 20 bytes of
/// IPv4 header and 8 bytes of UDP header.
pub const MAX_IPV4_PAYLOAD: usize = 65_535 - 20 - 8;

/// The largest UDP payload over IPv6 without jumbograms: the IPv6 payload length field counts
/// the UDP header (8 bytes) but not the 40-byte IPv6 header.
pub const MAX_IPV6_PAYLOAD: usize = 65_535 - 8;

/// A receive buffer large enough for any datagram.
pub const RECV_BUF: usize = 65_536;
