//! A UDP echo server: one socket, every peer, no connections.
//!
//! The whole server is a loop of `recv_from` (which says who sent the datagram) and `send_to`
//! back to that address. There is nothing to accept and nothing to close; a "client" is just
//! an address that datagrams came from. Because each datagram stands alone, garbage, empty
//! (0-byte) and maximal datagrams are simply echoed like any other: there is no framing state
//! a bad datagram could corrupt.
//!
//! For the reliability lesson, the server can be told to *drop* a fraction of the datagrams it
//! receives and to *duplicate* a fraction of its replies ([`Faults`]), deterministically from
//! a seed so that tests are repeatable.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use socklab_support::Narrator;

use crate::RECV_BUF;

/// Fault injection: what fraction of datagrams to drop and of replies to send twice.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Fraction (0.0 to 1.0) of received datagrams ignored, as if lost on the way.
    pub drop: f64,
    /// Fraction (0.0 to 1.0) of replies sent twice, as if duplicated on the way.
    pub duplicate: f64,
    /// Seed for the choices, so runs are repeatable.
    pub seed: u64,
}

/// Counters the server keeps.
#[derive(Debug, Default)]
pub struct Stats {
    /// Datagrams received.
    pub received: AtomicU64,
    /// Datagrams deliberately dropped by fault injection.
    pub dropped: AtomicU64,
    /// Replies sent (duplicates included).
    pub replies: AtomicU64,
    /// Datagrams received with no payload at all.
    pub empty: AtomicU64,
}

// ANCHOR: serve
/// Echoes every datagram on `socket` back to its sender, forever, applying `faults`.
pub fn serve(socket: &UdpSocket, faults: Faults, stats: &Stats, log: &Narrator) -> io::Result<()> {
    let mut rng = SmallRng::seed_from_u64(faults.seed);
    let mut buf = vec![0u8; RECV_BUF]; // Big enough for any datagram: nothing is truncated.
    loop {
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            // A signal interrupted the wait: nothing was received, wait again.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // On some systems an ICMP error from an earlier reply (a client that went away)
            // is reported on the next receive; it concerns that client only.
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
            Err(e) => return Err(e),
        };
        stats.received.fetch_add(1, Ordering::Relaxed);
        if len == 0 {
            stats.empty.fetch_add(1, Ordering::Relaxed); // Legal in UDP: echoed like any other.
        }
        if rng.random_bool(faults.drop.clamp(0.0, 1.0)) {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let copies = if rng.random_bool(faults.duplicate.clamp(0.0, 1.0)) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            match socket.send_to(&buf[..len], peer) {
                Ok(_) => {
                    stats.replies.fetch_add(1, Ordering::Relaxed);
                }
                // One peer's trouble (unreachable, buffer full) must not stop the server:
                // UDP promises nothing, so a lost reply is the client's to retry.
                Err(e) => log.step("server", &format!("reply to {peer} failed: {e}")),
            }
        }
    }
}
// ANCHOR_END: serve

/// Binds nothing itself: serves `socket` on a background thread and returns its address and
/// counters. The thread serves until the process exits.
pub fn spawn(
    socket: UdpSocket,
    faults: Faults,
    log: Arc<Narrator>,
) -> io::Result<(SocketAddr, Arc<Stats>)> {
    let addr = socket.local_addr()?;
    let stats = Arc::new(Stats::default());
    let counters = Arc::clone(&stats);
    thread::Builder::new()
        .name(format!("udp echo {addr}"))
        .spawn(move || {
            if let Err(e) = serve(&socket, faults, &counters, &log) {
                log.step("server", &format!("stopped: {e}"));
            }
        })?;
    Ok((addr, stats))
}
