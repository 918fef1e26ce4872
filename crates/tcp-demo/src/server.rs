//! A blocking echo server for framed messages: one thread per connection, bounded.
//!
//! The accept loop calls `accept(2)` and hands each connection to a thread of its own, which
//! loops `read_frame` → `write_frame` until the peer closes. Blocking code is easy to follow
//! because each thread's story is one straight line; its cost is a thread (and its stack) per
//! connection, which chapter 7 measures against one-thread event loops.
//!
//! Four bounds keep one bad client from hurting the others:
//!
//! - **Connections** ([`ServerConfig::max_connections`]): when every slot is taken, the accept
//!   loop *waits* for a slot before calling `accept` again. New clients still connect (the
//!   kernel completes their handshake and queues them, up to the listen backlog), and they are
//!   served as soon as a slot frees. Nothing is refused, nobody is served half-way.
//! - **Frame size** ([`ServerConfig::max_frame`]): an oversize or truncated frame closes that
//!   connection only, with the reason logged.
//! - **Idle time** ([`ServerConfig::idle_timeout`]): each connection's reads and writes carry a
//!   timeout (`SO_RCVTIMEO`, `SO_SNDTIMEO`), so a client that goes quiet, or stops reading its
//!   replies, gives its slot back.
//! - **Frame time** ([`ServerConfig::frame_timeout`]): once a frame has begun, all of it must
//!   arrive within this time. A per-read timeout alone restarts with every byte, so a client
//!   dripping one byte at a time (slowloris, chapter 6) would hold its thread forever.
//!
//! And it stops cleanly ([`Server::with_stop`]): the accept loop sleeps in `poll(2)` on the
//! listener *and* a stop descriptor (the self-pipe of [`socklab_support::stop`], written by the
//! `SIGINT`/`SIGTERM` handler), so Ctrl-C wakes it. It then stops accepting, shuts every open
//! connection down with a logged reason ([`crate::connections`]), waits for their threads
//! (bounded), logs its counters as its last line, and returns `Ok`: the binary exits 0.

use std::io::{self, BufReader, BufWriter, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::Narrator;
use socklab_support::stop::Stop;

use crate::connections::{Active, Connections};
use crate::frame::{self, FrameError};

/// The server's bounds. The defaults suit a classroom machine.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// Connections served at once; the next ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// The largest frame payload accepted, in bytes.
    pub max_frame: usize,
    /// How long a connection may stay silent (or refuse to read replies) before it is closed.
    pub idle_timeout: Duration,
    /// How long one frame may take to arrive, from its first byte to its last.
    pub frame_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 64,
            max_frame: frame::MAX_FRAME,
            idle_timeout: Duration::from_secs(30),
            frame_timeout: Duration::from_secs(10),
        }
    }
}

/// Counters the server keeps, readable while it runs (tests and the robustness suite use them
/// to check that nothing leaks).
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections being served right now.
    pub active: AtomicUsize,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Frames echoed since start.
    pub frames: AtomicU64,
    /// Connections closed because of a bad frame, a timeout or an I/O error.
    pub dropped: AtomicU64,
    /// Connections still open when the server stopped, closed by it.
    pub closed_at_stop: AtomicU64,
}

impl Stats {
    /// The counters as the server's last log line prints them.
    pub fn summary(&self) -> String {
        format!(
            "accepted {}, frames {}, dropped {}, closed at stop {}",
            self.accepted.load(Ordering::Relaxed),
            self.frames.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.closed_at_stop.load(Ordering::Relaxed),
        )
    }
}

/// A thread-per-connection echo server on a listener the caller has already bound, so tests
/// can pass their own on port 0 and read its address first.
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

    /// Stops the server when `stop` is requested: [`Stop::on_signals`] in the binary (Ctrl-C,
    /// `SIGTERM`), [`Stop::trigger`] in tests. Without one, it serves until the process exits.
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

    /// Runs the server on a background thread and returns at once: the way tests and the demo
    /// start one. The thread serves until the stop is requested, or the process exits.
    pub fn spawn(mut self) -> io::Result<SocketAddr> {
        let addr = self.local_addr()?;
        // Made here rather than in the thread, so that its descriptors exist before we return.
        if self.stop.is_none() {
            self.stop = Some(Stop::new()?);
        }
        let log = Arc::clone(&self.log);
        thread::Builder::new()
            .name(format!("echo server {addr}"))
            .spawn(move || {
                if let Err(e) = self.run() {
                    log.step("server", &format!("stopped: {e}"));
                }
            })?;
        Ok(addr)
    }

    /// Accepts and serves connections, each on its own thread, until the stop is requested;
    /// then closes the open connections, logs the counters, and returns `Ok`.
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

/// Echoes frames on one connection until the peer closes, misbehaves or goes idle, or the
/// server stops.
fn serve_connection(
    stream: &TcpStream,
    peer: SocketAddr,
    config: ServerConfig,
    stats: &Stats,
    log: &Narrator,
    conns: &Connections,
) {
    let result = echo_frames(stream, config, stats);
    if conns.stopping() {
        // The stop shut the socket down under us: whatever the loop saw, that is the reason.
        stats.closed_at_stop.fetch_add(1, Ordering::Relaxed);
        log.step("server", &format!("{peer}: closed: the server is stopping"));
        return;
    }
    match result {
        Ok(frames) => log.step(
            "server",
            &format!("{peer}: closed by peer after {frames} frames"),
        ),
        Err(e) => {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            log.step(
                "server",
                &format!("{peer}: dropped: {}", describe(&e, config)),
            );
        }
    }
    // When the thread lets go of `stream`, the socket closes: close(2) sends FIN to the peer.
}

// ANCHOR: echo_frames
/// The echo loop proper; returns how many frames were echoed before a clean close.
fn echo_frames(stream: &TcpStream, config: ServerConfig, stats: &Stats) -> Result<u64, FrameError> {
    // Every blocking call below is bounded, so an idle or stuck peer frees its thread.
    stream.set_read_timeout(Some(config.idle_timeout))?;
    stream.set_write_timeout(Some(config.idle_timeout))?;
    // Replies are written whole by a BufWriter, so Nagle's delay would only add latency.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(FrameDeadline::new(stream, config));
    let mut writer = BufWriter::new(stream);
    let mut frames = 0;
    while let Some(payload) = frame::read_frame(&mut reader, config.max_frame)? {
        reader.get_mut().frame_done(); // The next frame's clock starts with its first byte.
        frame::write_frame(&mut writer, &payload)?;
        writer.flush()?;
        frames += 1;
        stats.frames.fetch_add(1, Ordering::Relaxed);
    }
    Ok(frames)
}
// ANCHOR_END: echo_frames

/// A reader that gives each `read` the idle timeout, or less once a frame has begun: the
/// time left of [`ServerConfig::frame_timeout`] (chapter 6's deadline, recomputed before every
/// call).
struct FrameDeadline<'a> {
    stream: &'a TcpStream,
    config: ServerConfig,
    started: Option<Instant>,
}

impl<'a> FrameDeadline<'a> {
    fn new(stream: &'a TcpStream, config: ServerConfig) -> Self {
        Self {
            stream,
            config,
            started: None,
        }
    }

    fn frame_done(&mut self) {
        self.started = None;
    }
}

impl Read for FrameDeadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let timeout = match self.started {
            None => self.config.idle_timeout,
            Some(t0) => match self.config.frame_timeout.checked_sub(t0.elapsed()) {
                Some(left) if !left.is_zero() => left.min(self.config.idle_timeout),
                _ => return Err(io::Error::new(ErrorKind::TimedOut, "frame deadline")),
            },
        };
        self.stream.set_read_timeout(Some(timeout))?;
        let n = match (&mut &*self.stream).read(buf) {
            // The socket timeout was the frame's remaining time: report it as the deadline.
            Err(e) if self.started.is_some() && e.kind() == ErrorKind::WouldBlock => {
                return Err(io::Error::new(ErrorKind::TimedOut, "frame deadline"));
            }
            other => other?,
        };
        if n > 0 && self.started.is_none() {
            self.started = Some(Instant::now());
        }
        Ok(n)
    }
}

/// A one-line reason for dropping a connection, for the server's log.
fn describe(e: &FrameError, config: ServerConfig) -> String {
    match e {
        FrameError::Io(io)
            if io.kind() == ErrorKind::TimedOut && io.to_string() == "frame deadline" =>
        {
            format!(
                "frame not complete within {:?} (slow sender)",
                config.frame_timeout
            )
        }
        // On Unix a read or write timeout surfaces as EAGAIN, which Rust calls WouldBlock.
        FrameError::Io(io) if matches!(io.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            format!("idle for {:?} (timeout)", config.idle_timeout)
        }
        other => other.to_string(),
    }
}
