//! The half-close server: each client sends a request of any length and half-closes; the server
//! reads until that FIN, replies, and closes. One thread per connection, bounded, and a stop.
//!
//! A server that reads "until the client's FIN" has handed the client the choice of when the
//! request ends, and so the choice of how long the server waits. Three bounds take it back:
//!
//! - **Connections** ([`ServerConfig::max_connections`]): each client has a thread of its own
//!   (chapter 1's [`tcp_demo::connections`]), so a slow client delays nobody else; beyond the
//!   limit, clients wait in the kernel's accept queue.
//! - **Idle time** ([`ServerConfig::idle_timeout`]): a timeout on each `read` and `write`
//!   (`SO_RCVTIMEO`, `SO_SNDTIMEO`), for a client that says nothing.
//! - **Request time** ([`ServerConfig::request_timeout`]): from the request's first byte to
//!   its FIN, and again for the reply to be taken. A per-read timeout restarts with every byte,
//!   so without this a client dripping a byte every 200 ms (slowloris, chapter 6) would hold
//!   its connection for ever; a client reading the reply a byte at a time likewise.
//!
//! And a size limit ([`ServerConfig::max_request`]) on what one client can make it hold.
//!
//! The accept loop takes the peer's address from `accept(2)` and never turns one connection's
//! error into its own: a client that connected, sent, and reset (`SO_LINGER` 0) while it sat in
//! the accept queue is accepted as a dead socket, and asking for its address again
//! (`getpeername`) fails with `ENOTCONN`. An earlier version of this server did ask, with `?`,
//! and exited, taking every other client with it.
//!
//! On a stop ([`Server::with_stop`]: Ctrl-C or `SIGTERM` in the binary) it stops accepting,
//! shuts the open connections down with a logged reason, logs its counters, and returns `Ok`.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::Narrator;
use socklab_support::stop::Stop;
use tcp_demo::connections::{Active, Connections};

use crate::half_close;

/// The largest request accepted by default, in bytes: the server holds a request in memory.
pub const MAX_REQUEST: u64 = 16 << 20;

/// The server's bounds. The defaults suit a classroom machine.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// Connections served at once; the next ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// The largest request accepted, in bytes.
    pub max_request: u64,
    /// How long a connection may stay silent (or refuse to read the reply) before it is closed.
    pub idle_timeout: Duration,
    /// How long the request may take from its first byte to the client's FIN, and the reply
    /// from its first byte to its last.
    pub request_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 64,
            max_request: MAX_REQUEST,
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Counters the server keeps, readable while it runs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections being served right now.
    pub active: AtomicUsize,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Requests answered in full.
    pub requests: AtomicU64,
    /// Connections closed because of a timeout, an oversize request or an I/O error.
    pub dropped: AtomicU64,
    /// Connections still open when the server stopped, closed by it.
    pub closed_at_stop: AtomicU64,
}

impl Stats {
    /// The counters as the server's last log line prints them.
    pub fn summary(&self) -> String {
        format!(
            "accepted {}, requests {}, dropped {}, closed at stop {}",
            self.accepted.load(Ordering::Relaxed),
            self.requests.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.closed_at_stop.load(Ordering::Relaxed),
        )
    }
}

/// The half-close server on a listener the caller has already bound.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: ServerConfig,
    stats: Arc<Stats>,
    log: Arc<Narrator>,
    stop: Option<Stop>,
}

impl Server {
    /// A server that will accept on `listener`, logging to standard output.
    pub fn new(listener: TcpListener, config: ServerConfig) -> Self {
        Self {
            listener,
            config,
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

    /// Stops the server when `stop` is requested. Without one, it serves until the process
    /// exits.
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The address clients should connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Runs the server on a background thread and returns its address at once.
    pub fn spawn(mut self) -> io::Result<SocketAddr> {
        let addr = self.local_addr()?;
        if self.stop.is_none() {
            self.stop = Some(Stop::new()?);
        }
        let log = Arc::clone(&self.log);
        thread::Builder::new()
            .name(format!("half-close server {addr}"))
            .spawn(move || {
                if let Err(e) = self.run() {
                    log.step("server", &format!("stopped: {e}"));
                }
            })?;
        Ok(addr)
    }

    /// Serves clients, each on its own thread, until the stop; then closes the open
    /// connections, logs the counters as the last line, and returns `Ok`.
    pub fn run(self) -> io::Result<()> {
        let stop = match &self.stop {
            Some(stop) => stop.clone(),
            None => Stop::new()?,
        };
        let conns = Connections::new(self.config.max_connections);
        conns.accept_loop(&self.listener, &stop, &self.log, |peer| {
            self.stats.accepted.fetch_add(1, Ordering::Relaxed);
            let active = Active::count(self.stats(), |s| &s.active);
            let (config, log) = (self.config, Arc::clone(&self.log));
            move |stream: &TcpStream, conns: &Connections| {
                serve_connection(stream, peer, config, active.stats(), &log, conns);
            }
        })?;
        conns.shut_down(&self.log);
        self.log
            .step("server", &format!("stopped: {}", self.stats.summary()));
        Ok(())
    }
}

/// Serves one client and logs how it ended.
fn serve_connection(
    stream: &TcpStream,
    peer: SocketAddr,
    config: ServerConfig,
    stats: &Stats,
    log: &Narrator,
    conns: &Connections,
) {
    // A reply sent in full is a request served, even if the stop came while it finished (the
    // client may already hold it): only one cut short by the stop counts as closed at stop.
    match serve_request(stream, config) {
        Ok(n) => {
            stats.requests.fetch_add(1, Ordering::Relaxed);
            log.step("server", &format!("{peer}: {n} bytes, then FIN; replied"));
        }
        Err(_) if conns.stopping() => {
            stats.closed_at_stop.fetch_add(1, Ordering::Relaxed);
            log.step("server", &format!("{peer}: closed: the server is stopping"));
        }
        Err(e) => {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            log.step("server", &format!("{peer}: dropped: {e}"));
        }
    }
}

// ANCHOR: serve_request
/// [`half_close::serve_until_eof`] with its bounds: reads the request until the client's FIN
/// (idle timeout before the first byte, then the request deadline), replies (the reply has
/// its own deadline), and returns the request's length.
fn serve_request(stream: &TcpStream, config: ServerConfig) -> Result<usize, Refused> {
    stream.set_write_timeout(Some(config.idle_timeout))?;
    let mut request = Vec::new();
    let mut reader = Deadline::new(stream, config, Phase::Request);
    // Ends at the client's FIN (read returned 0), or one byte past the limit.
    (&mut reader)
        .take(config.max_request.saturating_add(1))
        .read_to_end(&mut request)
        .map_err(|e| reader.explain(e))?;
    if request.len() as u64 > config.max_request {
        return Err(Refused::TooLarge(config.max_request));
    }
    let mut writer = Deadline::new(stream, config, Phase::Reply);
    half_close::reply(&mut writer, &request).map_err(|e| writer.explain(e))?;
    Ok(request.len())
}
// ANCHOR_END: serve_request

/// Why a connection was dropped, as the log says it.
#[derive(Debug)]
enum Refused {
    /// Nothing at all for the idle timeout.
    Idle(Duration),
    /// The request (or the reply) did not complete within the request timeout.
    Deadline(Phase, Duration),
    /// More than the limit before the FIN.
    TooLarge(u64),
    /// Anything else (a reset, say).
    Io(io::Error),
}

impl From<io::Error> for Refused {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Idle(t) => write!(f, "idle for {t:?} (timeout)"),
            Self::Deadline(Phase::Request, t) => {
                write!(f, "request not complete within {t:?} (slow sender)")
            }
            Self::Deadline(Phase::Reply, t) => {
                write!(f, "reply not taken within {t:?} (slow reader)")
            }
            Self::TooLarge(max) => write!(f, "request over {max} bytes"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Which half of the exchange a [`Deadline`] bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Request,
    Reply,
}

// ANCHOR: deadline
/// The connection as a reader (for the request) or a writer (for the reply) that gives each
/// call the idle timeout until the first byte moves, and from then on no more than what is
/// left of the request timeout: chapter 6's deadline, recomputed before every call.
struct Deadline<'a> {
    stream: &'a TcpStream,
    config: ServerConfig,
    phase: Phase,
    started: Option<Instant>,
    /// Whether the last timeout given was the deadline's remaining time (not the idle time).
    bound_by_deadline: bool,
    expired: bool,
}

impl<'a> Deadline<'a> {
    fn new(stream: &'a TcpStream, config: ServerConfig, phase: Phase) -> Self {
        Self {
            stream,
            config,
            phase,
            started: None,
            bound_by_deadline: false,
            expired: false,
        }
    }

    /// The timeout for the next call, or an error if the deadline has passed.
    fn timeout(&mut self) -> io::Result<Duration> {
        let idle = self.config.idle_timeout;
        let Some(t0) = self.started else {
            return Ok(idle);
        };
        match self.config.request_timeout.checked_sub(t0.elapsed()) {
            Some(left) if !left.is_zero() => {
                self.bound_by_deadline = left < idle;
                Ok(left.min(idle))
            }
            _ => Err(self.expire()),
        }
    }

    fn expire(&mut self) -> io::Error {
        self.expired = true;
        io::Error::new(ErrorKind::TimedOut, "deadline")
    }

    /// Turns what a call returned into the reason the log gives. On Unix a socket timeout
    /// surfaces as EAGAIN, which Rust calls WouldBlock.
    fn explain(&self, e: io::Error) -> Refused {
        let timed_out = matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
        if self.expired || (timed_out && self.bound_by_deadline) {
            Refused::Deadline(self.phase, self.config.request_timeout)
        } else if timed_out {
            Refused::Idle(self.config.idle_timeout)
        } else {
            Refused::Io(e)
        }
    }

    fn moved(&mut self, n: usize) {
        if n > 0 && self.started.is_none() {
            self.started = Some(Instant::now());
        }
    }
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let timeout = self.timeout()?;
        self.stream.set_read_timeout(Some(timeout))?;
        let n = (&mut &*self.stream).read(buf)?;
        self.moved(n);
        Ok(n)
    }
}

impl Write for Deadline<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let timeout = self.timeout()?;
        self.stream.set_write_timeout(Some(timeout))?;
        let n = (&mut &*self.stream).write(buf)?;
        self.moved(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // Nothing is buffered here: each write went to the socket.
    }
}
// ANCHOR_END: deadline
