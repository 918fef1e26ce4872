//! `shutdown(Read)`, `shutdown(Both)`, and `close`: which direction ends, and for whom.
//!
//! - `shutdown(Write)` sends FIN; our later writes fail with `EPIPE` (`BrokenPipe`); we can
//!   still read.
//! - `shutdown(Read)` sends *nothing* to the peer, and leaves our sending direction open: we
//!   can still write, the peer still reads. Our reads return 0 once the receive queue is
//!   empty. What happens to bytes that arrive afterwards differs: Linux still queues them and
//!   a later read returns them; BSD-derived systems (macOS) discard them.
//! - `shutdown(Both)` is both at once.
//! - `close` (drop) releases *this descriptor*. The connection ends only when the last
//!   descriptor for it is closed (clones from `try_clone`, or inherited by a child process,
//!   keep it alive), and after that this process can neither read nor write it: incoming
//!   data is answered with RST (see [`crate::reset`]). `shutdown`, by contrast, acts on the
//!   connection at once, however many descriptors share it.

use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use crate::loopback_pair;

/// What happened around a `shutdown(Write)`.
#[derive(Debug)]
pub struct AfterShutdownWrite {
    /// What our own `write` returned after the shutdown.
    pub our_write: io::Result<usize>,
    /// What the peer's read returned: 0, the FIN.
    pub peer_read: usize,
    /// What we read when the peer answered afterwards.
    pub we_read: Vec<u8>,
}

// ANCHOR: shutdown_write
/// Half-closes our side, then tries to write, lets the peer read and answer, and reads.
pub fn shutdown_write() -> io::Result<AfterShutdownWrite> {
    let (mut ours, mut peer) = loopback_pair()?;
    ours.shutdown(Shutdown::Write)?;
    let our_write = ours.write(b"too late"); // Our direction is over: EPIPE.
    let peer_read = peer.read(&mut [0u8; 16])?; // 0: end of stream.
    peer.write_all(b"but I can still answer")?;
    let mut we_read = vec![0u8; 64];
    let n = ours.read(&mut we_read)?;
    we_read.truncate(n);
    Ok(AfterShutdownWrite {
        our_write,
        peer_read,
        we_read,
    })
}
// ANCHOR_END: shutdown_write

/// What happened around a `shutdown(Read)`.
#[derive(Debug)]
pub struct AfterShutdownRead {
    /// Our read right after the shutdown, with nothing queued.
    pub empty_read: usize,
    /// Whether the peer noticed anything: its read with a short timeout.
    pub peer_noticed: Option<usize>,
    /// Whether the peer's later write succeeded.
    pub peer_write_ok: bool,
    /// What our next read returned after the peer wrote: Linux delivers the bytes.
    pub later_read: Vec<u8>,
    /// What the peer read of our own write after the shutdown: our sending direction is open.
    pub peer_got_ours: Vec<u8>,
}

// ANCHOR: shutdown_read
/// Shuts down our reading side, then lets the peer write, and reads again; and writes
/// ourselves, to show that our own direction is untouched.
pub fn shutdown_read() -> io::Result<AfterShutdownRead> {
    let (mut ours, mut peer) = loopback_pair()?;
    ours.shutdown(Shutdown::Read)?;
    let empty_read = ours.read(&mut [0u8; 16])?; // 0 at once: "end of stream" for us.
    // The peer was told nothing: its read waits (and times out) rather than seeing a FIN.
    peer.set_read_timeout(Some(Duration::from_millis(100)))?;
    let peer_noticed = match peer.read(&mut [0u8; 16]) {
        Ok(n) => Some(n),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => return Err(e),
    };
    let peer_write_ok = peer.write_all(b"late data").is_ok();
    ours.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut buf = [0u8; 64];
    let later_read = match ours.read(&mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Vec::new(),
        Err(e) => return Err(e),
    };
    ours.write_all(b"we can still send")?; // shutdown(Read) left our direction open.
    let mut got = [0u8; 64];
    let n = peer.read(&mut got)?;
    Ok(AfterShutdownRead {
        empty_read,
        peer_noticed,
        peer_write_ok,
        later_read,
        peer_got_ours: got[..n].to_vec(),
    })
}
// ANCHOR_END: shutdown_read

/// What closing one of two descriptors did, compared with shutting down.
#[derive(Debug)]
pub struct CloseVsShutdown {
    /// Whether the peer saw end of stream after we closed one of two clones (it should not).
    pub eof_after_closing_a_clone: bool,
    /// Whether the remaining clone could still write to the peer.
    pub clone_still_writes: bool,
    /// Whether the peer saw end of stream after `shutdown(Write)` on the remaining clone.
    pub eof_after_shutdown: bool,
}

// ANCHOR: close_vs_shutdown
/// Clones a socket, closes the original, then shuts down the clone, watching the peer.
pub fn close_vs_shutdown() -> io::Result<CloseVsShutdown> {
    let (ours, mut peer) = loopback_pair()?;
    let clone = ours.try_clone()?; // A second descriptor for the same connection.
    drop(ours); // close(2) on one descriptor: the connection lives on through the clone.
    peer.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut buf = [0u8; 64];
    let eof_after_closing_a_clone = matches!(peer.read(&mut buf), Ok(0));
    let clone_still_writes = (&clone).write_all(b"still here").is_ok()
        && peer
            .read(&mut buf)
            .map(|n| &buf[..n] == b"still here")
            .unwrap_or(false);
    clone.shutdown(Shutdown::Write)?; // Acts on the connection, although `clone` is open.
    peer.set_read_timeout(Some(Duration::from_secs(5)))?;
    let eof_after_shutdown = matches!(peer.read(&mut buf), Ok(0));
    Ok(CloseVsShutdown {
        eof_after_closing_a_clone,
        clone_still_writes,
        eof_after_shutdown,
    })
}
// ANCHOR_END: close_vs_shutdown
