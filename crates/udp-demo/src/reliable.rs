//! Reliability is the application's job: sequence numbers, timeouts and retries.
//!
//! UDP may lose, duplicate or reorder datagrams, and says nothing. A request/response
//! protocol over UDP copes with three tools:
//!
//! - a **per-try deadline**, fixed when the request is sent, because a lost request or reply
//!   otherwise means waiting forever. It is a deadline, not a timeout per `recv`
//!   (`SO_RCVTIMEO`): each stale or stray datagram that arrives meanwhile uses up time from it
//!   instead of starting the wait over, or a peer sending junk every few milliseconds would
//!   keep the client waiting for ever;
//! - **retries**, a bounded number, because one loss should not fail the request;
//! - **sequence numbers** in every request, echoed in the reply, because after a retry *two*
//!   replies may come back (the first was only late), and a reply to an old request must not
//!   be mistaken for the answer to the current one.
//!
//! The wire format: an 8-byte big-endian sequence number, then the payload. The echo server
//! of [`crate::echo`] returns both unchanged.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Counters from a run of requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests that got their reply.
    pub completed: u64,
    /// Sends beyond the first, made because a try timed out.
    pub retries: u64,
    /// Replies discarded because they answered an earlier request (late or duplicated).
    pub stale_replies: u64,
}

/// A request/response client over UDP with a per-try deadline and bounded retries.
#[derive(Debug)]
pub struct Client {
    socket: UdpSocket,
    next_seq: u64,
    tries: u32,
    per_try: Duration,
    /// The receive timeout last set on the socket, to skip the `setsockopt` when unchanged.
    timeout: Duration,
    /// What happened so far.
    pub stats: ClientStats,
}

impl Client {
    /// A client talking to `server`, waiting `per_try` for each reply and sending each
    /// request at most `tries` times.
    pub fn new(server: SocketAddr, per_try: Duration, tries: u32) -> io::Result<Self> {
        let local: SocketAddr = if server.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        }
        .parse()
        .map_err(io::Error::other)?;
        Self::with_socket(UdpSocket::bind(local)?, server, per_try, tries)
    }

    /// Like [`Client::new`], on a socket the caller has bound (on a host of the wire lab,
    /// say, whose loopback cannot reach the server).
    pub fn with_socket(
        socket: UdpSocket,
        server: SocketAddr,
        per_try: Duration,
        tries: u32,
    ) -> io::Result<Self> {
        socket.connect(server)?; // Only the server's datagrams, and ICMP errors, reach us.
        // A zero timeout is refused by std ("no timeout" to the kernel): wait at least 1 µs.
        let per_try = per_try.max(Duration::from_micros(1));
        socket.set_read_timeout(Some(per_try))?;
        Ok(Self {
            socket,
            next_seq: 0,
            tries: tries.max(1),
            per_try,
            timeout: per_try,
            stats: ClientStats::default(),
        })
    }

    // ANCHOR: request
    /// Sends `payload` and returns the server's reply payload, retrying lost tries.
    pub fn request(&mut self, payload: &[u8]) -> io::Result<Vec<u8>> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut datagram = seq.to_be_bytes().to_vec();
        datagram.extend_from_slice(payload);
        let mut buf = vec![0u8; crate::RECV_BUF];
        for attempt in 0..self.tries {
            if attempt > 0 {
                self.stats.retries += 1;
            }
            self.socket.send(&datagram)?;
            // This try ends at a fixed time. (`checked_add`: a per-try time so long that the
            // clock cannot represent its end means no end.)
            let deadline = Instant::now().checked_add(self.per_try);
            self.wait_at_most(self.per_try)?;
            // Wait for *our* reply; throw away answers to earlier requests.
            loop {
                let n = match self.socket.recv(&mut buf) {
                    Ok(n) => n,
                    // This try timed out (WouldBlock on Unix): the request or its reply was
                    // lost, or is late. Send again.
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        break;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                match reply_seq(&buf[..n]) {
                    Some(s) if s == seq => {
                        self.stats.completed += 1;
                        return Ok(buf[8..n].to_vec());
                    }
                    // A late or duplicated reply to an earlier request, or garbage.
                    _ => self.stats.stale_replies += 1,
                }
                // It cost time from this try's deadline; the next wait gets only what is left.
                match deadline.map(|d| d.saturating_duration_since(Instant::now())) {
                    Some(left) if left.is_zero() => break,
                    Some(left) => self.wait_at_most(left)?,
                    None => {}
                }
            }
        }
        Err(io::Error::new(
            ErrorKind::TimedOut,
            format!("no reply after {} tries", self.tries),
        ))
    }
    // ANCHOR_END: request
}

impl Client {
    /// Sets the receive timeout (`SO_RCVTIMEO`) to `limit`, unless it already is.
    fn wait_at_most(&mut self, limit: Duration) -> io::Result<()> {
        if limit != self.timeout {
            self.socket.set_read_timeout(Some(limit))?;
            self.timeout = limit;
        }
        Ok(())
    }
}

/// The sequence number at the front of a reply, if it is long enough to have one.
fn reply_seq(datagram: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(datagram.get(..8)?.try_into().ok()?))
}
