//! Chapter 8: sockets on one machine — Unix domain sockets.
//!
//! A Unix domain socket (`AF_UNIX`, also `AF_LOCAL`) joins two processes on the same kernel.
//! Nothing goes near a network stack: no IP addresses, no ports, no checksums, no
//! acknowledgements. A socket is named by a path in the file system (or, on Linux, by an
//! *abstract* name that is no file at all), and the kernel knows, for every connection, which
//! process is at the other end. Because both ends share one kernel, a Unix socket can carry
//! things no network can: the sender's credentials, and open file descriptors. The calls
//! covered: `socket(AF_UNIX, SOCK_STREAM / SOCK_DGRAM / SOCK_SEQPACKET)`, `socketpair(2)`,
//! `bind(2)` to a path or an abstract name, `chmod(2)` on the socket file, `unlink(2)`,
//! `getsockopt(SO_PEERCRED)` (Linux) and `getpeereid(3)` (macOS), and `sendmsg(2)` /
//! `recvmsg(2)` with `SCM_RIGHTS`. The reference is unix(7).
//!
//! A tour of the modules, in the order the book reads them:
//!
//! - [`kinds`]: stream, datagram and seqpacket sockets (and UDP beside them): which keep
//!   message boundaries, which are reliable, which are connections. Each property measured.
//! - [`pair`]: `socketpair(2)`, a connected pair with no name at all.
//! - [`names`]: path names, which are files, and Linux's abstract names, which are not.
//! - [`stale`]: the socket file a crashed server leaves behind (`EADDRINUSE`), and how a
//!   server removes it safely, and only when it is stale.
//! - [`access`]: file permissions on the socket file (and its folder) as access control.
//! - [`peer`]: who is at the other end: `SO_PEERCRED` on Linux, `getpeereid` on macOS.
//! - [`pass`]: handing an open descriptor to another process (`SCM_RIGHTS`).
//! - [`speed`]: the round-trip and bulk loops that the benchmark times, on a Unix stream
//!   pair and on a TCP loopback pair.
//! - [`scratch`]: unique scratch folders for socket files, removed when done.
//! - [`demo`]: the narrated tour that `cargo run -p unix-demo` prints.

pub mod access;
pub mod demo;
pub mod kinds;
pub mod names;
pub mod pair;
pub mod pass;
pub mod peer;
pub mod scratch;
pub mod speed;
pub mod stale;

use std::io;
use std::process::{Child, Output};
use std::time::Duration;

/// The read and write timeout of every experiment's sockets: far longer than any step takes on
/// one machine, so it only ever ends a hang.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits for a child process to exit and collects its output, for at most `limit`; a child
/// still running then is killed, and that is a `TimedOut` error rather than a wait forever.
/// Its standard output and error should be piped (and short: nobody reads them until it
/// exits).
pub fn finish(mut child: Child, limit: Duration) -> io::Result<Output> {
    let waited = socklab_support::wait::try_until(limit, "the child process to exit", || {
        child.try_wait().map(|status| status.is_some())
    });
    if let Err(e) = waited {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    child.wait_with_output()
}
