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
//!
//! It stops cleanly ([`Server::with_stop`]): it sleeps in `poll(2)` on its socket and a stop
//! descriptor together, so Ctrl-C or `SIGTERM` wakes it; it then logs its counters and returns.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use socklab_support::Narrator;
use socklab_support::stop::{Stop, Woken};

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

impl Stats {
    /// The counters as the server's last log line prints them.
    pub fn summary(&self) -> String {
        format!(
            "received {}, replies {}, dropped {}, empty {}",
            self.received.load(Ordering::Relaxed),
            self.replies.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.empty.load(Ordering::Relaxed),
        )
    }
}

/// A safety net on each receive: `poll(2)` said a datagram is waiting, but the kernel may
/// still drop it before `recvfrom` (a bad checksum, see select(2)'s BUGS); then the receive
/// gives up after this instead of parking the loop, and the loop waits again.
const RECV_SAFETY: Duration = Duration::from_secs(1);

// ANCHOR: serve
/// Echoes every datagram on `socket` back to its sender, applying `faults`, until `stop` is
/// requested.
pub fn serve(
    socket: &UdpSocket,
    faults: Faults,
    stats: &Stats,
    log: &Narrator,
    stop: &Stop,
) -> io::Result<()> {
    let mut rng = SmallRng::seed_from_u64(faults.seed);
    let mut buf = vec![0u8; RECV_BUF]; // Big enough for any datagram: nothing is truncated.
    socket.set_read_timeout(Some(RECV_SAFETY))?;
    loop {
        // Sleep in poll(2) on the socket and the stop together: Ctrl-C wakes us here.
        match stop.wait_readable(socket.as_fd(), None)? {
            Woken::Stopped => return Ok(()),
            Woken::TimedOut => continue,
            Woken::Ready => {}
        }
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            // A signal interrupted the wait, or the datagram vanished: wait again.
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => {
                continue;
            }
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

/// The echo server as a value: a socket the caller has already bound, its faults, its log and
/// its stop, started with [`Server::run`] (in this thread) or [`Server::spawn`].
#[derive(Debug)]
pub struct Server {
    socket: UdpSocket,
    faults: Faults,
    stats: Arc<Stats>,
    log: Arc<Narrator>,
    stop: Option<Stop>,
}

impl Server {
    /// A server answering on `socket`, logging to standard output.
    pub fn new(socket: UdpSocket, faults: Faults) -> Self {
        Self {
            socket,
            faults,
            stats: Arc::default(),
            log: Arc::new(Narrator::stdout()),
            stop: None,
        }
    }

    /// Sends the server's log lines to `log` instead (a capturing narrator in tests).
    pub fn with_log(mut self, log: Arc<Narrator>) -> Self {
        self.log = log;
        self
    }

    /// Stops the server when `stop` is requested: [`Stop::on_signals`] in the binary,
    /// [`Stop::trigger`] in tests. Without one, it serves until the process exits.
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The address clients should send to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Serves until the stop, then logs the counters as the last line and returns `Ok`.
    pub fn run(self) -> io::Result<()> {
        let stop = match &self.stop {
            Some(stop) => stop.clone(),
            None => Stop::new()?,
        };
        serve(&self.socket, self.faults, &self.stats, &self.log, &stop)?;
        self.log
            .step("server", &format!("stopped: {}", self.stats.summary()));
        Ok(())
    }

    /// Runs the server on a background thread and returns its address at once.
    pub fn spawn(mut self) -> io::Result<SocketAddr> {
        let addr = self.local_addr()?;
        if self.stop.is_none() {
            self.stop = Some(Stop::new()?);
        }
        let log = Arc::clone(&self.log);
        thread::Builder::new()
            .name(format!("udp echo {addr}"))
            .spawn(move || {
                if let Err(e) = self.run() {
                    log.step("server", &format!("stopped: {e}"));
                }
            })?;
        Ok(addr)
    }
}

/// Binds nothing itself: serves `socket` on a background thread and returns its address and
/// counters. The thread serves until the process exits.
pub fn spawn(
    socket: UdpSocket,
    faults: Faults,
    log: Arc<Narrator>,
) -> io::Result<(SocketAddr, Arc<Stats>)> {
    let server = Server::new(socket, faults).with_log(log);
    let stats = server.stats();
    Ok((server.spawn()?, stats))
}
