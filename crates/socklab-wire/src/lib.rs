//! The wire lab: a private network where every experiment shows its packets.
//!
//! On loopback a round trip takes 20 µs, the MTU is 64 KiB, nothing is ever lost and no
//! packet can be seen. A [`Lab`] is a small network of its own instead: two hosts, each in a
//! Linux network namespace (its own interfaces, addresses, routes, ports), joined by a link
//! that this crate runs in user space. The hosts' sockets are the kernel's real TCP and UDP;
//! the link between them can delay, jitter, lose, rate-limit, reorder, duplicate and cut, from
//! a seed so a run repeats exactly; and it records every packet, which prints in tcpdump's
//! notation and saves as a pcap file for Wireshark. Nothing touches the machine's own network.
//!
//! ```text
//!   host A (netns)                      this process                      host B (netns)
//!  10.77.0.1 fd77::1                                                     10.77.0.2 fd77::2
//!  sockets ─ TCP/IP ─ wire0 (TUN) ═fd═▶ relay A→B: impair, record ═fd═▶ wire0 (TUN) ─ TCP/IP
//!                                 ◀═fd═ relay B→A: impair, record ◀═fd═
//! ```
//!
//! A tour of the modules:
//!
//! - [`lab`]: [`Lab`], the whole: make one, get its hosts, its link, its trace.
//! - [`host`]: a host is a network namespace with `lo` up and a TUN interface; code runs *on*
//!   a host with [`Host::run`], and the sockets it makes stay that host's.
//! - [`impair`]: what the link does to each packet, as a pure function of a seeded random
//!   stream ([`LinkConfig`], [`Scheduler`]).
//! - [`link`]: the relay threads that carry packets between the TUN devices, and [`Link`], the
//!   handle that cuts and changes the link while it runs.
//! - [`trace`]: the decoded packets ([`Trace`], [`Packet`], [`Tcp`]) and their tcpdump-style
//!   lines.
//! - [`pcap`]: [`Trace::save_pcap`], for `tcpdump -r` and Wireshark.
//! - [`demo`]: what every chapter's `demo --wire` does around its experiments: the lab, each
//!   experiment's packets under its narration, the pcap file of the packets shown.
//! - [`access`]: whether this process may make labs, and if not, why and how to allow it.
//! - [`testing`]: a lab in a test: made here (root), in a child process (a user namespace),
//!   or skipped out loud.
//! - [`netlink`]: bringing `lo` up over rtnetlink, as `ip link set lo up` does (Linux only).
//!
//! Syscalls and interfaces behind it: `unshare(2)` and `setns(2)` with `CLONE_NEWNET`,
//! network_namespaces(7), user_namespaces(7), tun(4) (`TUNSETIFF` on `/dev/net/tun`),
//! rtnetlink(7), `ppoll(2)`.

pub mod access;
pub mod demo;
pub mod host;
pub mod impair;
pub mod lab;
pub mod link;
#[cfg(target_os = "linux")]
pub mod netlink;
pub mod pcap;
pub mod testing;
pub mod trace;

pub use access::{Unavailable, enter_user_namespace};
pub use host::Host;
pub use impair::{DropReason, Fate, LinkConfig, Scheduler};
pub use lab::Lab;
pub use link::Link;
pub use trace::{Direction, Flags, Packet, Tcp, TcpOption, Trace, Transport, Udp};
