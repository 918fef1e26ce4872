//! The event-loop echo server: one thread, any number of connections, any readiness API.
//!
//! Same protocol as chapter 1 (length-prefixed frames, echoed back), served the chapter 4 way
//! (non-blocking sockets, an unsent tail per connection) but woken by a readiness API instead
//! of visiting every socket. Each connection is a small state machine (`Conn`): a frame
//! [`Decoder`] for what came in, an [`Outbox`] for what must go out.
//!
//! The bounds that keep one thread safe with thousands of strangers:
//!
//! - **Write interest only while there is an unsent tail.** A socket with room in its send
//!   buffer is *always* writable; watching it for writability when there is nothing to write
//!   wakes the loop for nothing, forever (a busy loop: [`Config::always_write_interest`]
//!   shows it).
//! - **Idle timeout from the nearest deadline.** Every connection has a deadline, kept in a
//!   sorted set; the wait's timeout is the time to the nearest one, so a silent client is
//!   closed on time without any timer thread or periodic scan. Progress pushes the deadline
//!   back, except past [`Config::frame_timeout`] after a frame began: a client dripping one
//!   byte at a time (slowloris) makes progress forever, but its frame never completes.
//! - **Back-pressure.** A client that sends and never reads would make its outbox grow
//!   without end. Past [`Config::outbox_cap`] the loop stops reading from it until the tail
//!   drains; its own send buffer then fills and *it* blocks, not us.
//! - **Accept errors do not spin.** When `accept` fails with `EMFILE` (out of descriptors) the
//!   pending connection stays queued and the listener stays readable: retrying at once would
//!   spin a core. The loop stops watching the listener for 100 ms instead.
//! - **Connection limit.** At [`Config::max_connections`] the loop stops accepting until one
//!   closes; new clients wait in the kernel's accept queue, as in chapter 1.

use std::collections::BTreeSet;
use std::io::{self, ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nonblocking_demo::write::Outbox;
use socklab_support::Narrator;
use tcp_demo::frame::{Decoder, MAX_FRAME};

use crate::readiness::{Api, Event, Interest, Readiness, Source};

/// The server's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The largest frame payload accepted.
    pub max_frame: usize,
    /// How long a connection may go without any progress before it is closed.
    pub idle_timeout: Duration,
    /// How long one frame may take to arrive, from its first byte to its last.
    pub frame_timeout: Duration,
    /// Unsent bytes per connection above which the loop stops reading from it.
    pub outbox_cap: usize,
    /// Connections served at once; beyond, new clients wait in the accept queue.
    pub max_connections: usize,
    /// The mistake, for the lesson: watch every connection for writability all the time.
    pub always_write_interest: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame: MAX_FRAME,
            idle_timeout: Duration::from_secs(30),
            frame_timeout: Duration::from_secs(10),
            outbox_cap: 256 * 1024,
            max_connections: 100_000,
            always_write_interest: false,
        }
    }
}

/// Counters the loop keeps, readable while it runs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections open now.
    pub active: AtomicUsize,
    /// Frames echoed.
    pub frames: AtomicU64,
    /// Connections closed for idling, or for a frame that took too long.
    pub closed_idle: AtomicU64,
    /// Connections closed for a bad frame or an I/O error.
    pub closed_bad: AtomicU64,
    /// Connections refused because the API cannot watch their descriptor (select).
    pub refused_fd: AtomicU64,
    /// `accept` failures (such as `EMFILE`).
    pub accept_errors: AtomicU64,
    /// Times the wait returned.
    pub wakeups: AtomicU64,
    /// The most bytes (decoder + outbox) any one connection held at once.
    pub peak_buffered: AtomicUsize,
    /// Times reading from a connection was paused because its outbox was full.
    pub pauses: AtomicU64,
}

/// The listener's token; connections use their index in the table.
const LISTENER: usize = usize::MAX;

/// Why a connection was closed.
enum Close {
    /// The peer closed cleanly between frames.
    Peer,
    /// No progress within the idle timeout.
    Idle,
    /// A bad frame or an I/O error.
    Bad(String),
}

// ANCHOR: conn
/// One connection's state: the socket, the frames coming in, the bytes going out.
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    decoder: Decoder,
    outbox: Outbox,
    /// When the connection will be closed if nothing happens (its key in the deadline set).
    deadline: Instant,
    /// When the frame now arriving began, if one is partly here.
    frame_started: Option<Instant>,
    /// What it is registered for right now.
    interest: Interest,
    /// Reading is paused because the outbox is over its cap (back-pressure).
    paused: bool,
}

impl Conn {
    /// Reads everything available (until `WouldBlock`, as edge-triggering requires), turning
    /// complete frames into echoes in the outbox. Stops early, *paused*, if the outbox is full.
    /// Returns whether any byte was read.
    fn read_ready(&mut self, scratch: &mut [u8], cap: usize, stats: &Stats) -> Result<bool, Close> {
        let mut progress = false;
        loop {
            if self.outbox.pending() >= cap {
                if !self.paused {
                    stats.pauses.fetch_add(1, Ordering::Relaxed);
                }
                self.paused = true; // Back-pressure: let the client's buffers fill instead.
                return Ok(progress);
            }
            match self.stream.read(scratch) {
                // End of stream: clean between frames, truncated inside one.
                Ok(0) => {
                    return Err(match self.decoder.finish() {
                        None => Close::Peer,
                        Some(e) => Close::Bad(e.to_string()),
                    });
                }
                Ok(n) => {
                    progress = true;
                    self.decoder.feed(&scratch[..n]);
                    while let Some(frame) = self
                        .decoder
                        .next_frame()
                        .map_err(|e| Close::Bad(e.to_string()))?
                    {
                        self.outbox.push(&(frame.len() as u32).to_be_bytes());
                        self.outbox.push(&frame);
                        stats.frames.fetch_add(1, Ordering::Relaxed);
                    }
                    // What this connection holds right now: the figure back-pressure bounds.
                    let held = self.decoder.buffered() + self.outbox.pending();
                    stats.peak_buffered.fetch_max(held, Ordering::Relaxed);
                }
                // Drained: nothing more until the next readiness event.
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.paused = false;
                    return Ok(progress);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(Close::Bad(e.to_string())),
            }
        }
    }

    /// Writes as much of the unsent tail as the socket takes; returns whether anything went.
    fn write_ready(&mut self) -> Result<bool, Close> {
        let n = self
            .outbox
            .flush_some(&mut &self.stream)
            .map_err(|e| Close::Bad(e.to_string()))?;
        Ok(n > 0)
    }

    /// What to watch this connection for, level-triggered: readable unless paused, writable
    /// only while there is something to write.
    fn wanted(&self, always_write: bool) -> Interest {
        Interest {
            read: !self.paused,
            write: always_write || !self.outbox.is_empty(),
        }
    }
}
// ANCHOR_END: conn

/// A one-thread event loop serving echo frames on `listener` with readiness API `R`.
pub struct EventLoop<R: Readiness> {
    listener: TcpListener,
    listener_interest: Interest,
    /// Accepting is paused (after `EMFILE`) until then.
    accept_paused_until: Option<Instant>,
    readiness: R,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    deadlines: BTreeSet<(Instant, usize)>,
    config: Config,
    stats: Arc<Stats>,
    log: Arc<Narrator>,
    scratch: Vec<u8>,
}

impl<R: Readiness> EventLoop<R> {
    /// A loop for `listener` (which it makes non-blocking).
    ///
    /// Fails with `InvalidInput` if `readiness` cannot watch the listener at all: a listening
    /// socket numbered `FD_SETSIZE` or above, under select.
    pub fn new(
        listener: TcpListener,
        readiness: R,
        config: Config,
        log: Arc<Narrator>,
    ) -> io::Result<Self> {
        let fd = listener.as_raw_fd();
        if !readiness.can_watch(fd) {
            // Found the day a test opened many files before starting a select server: without
            // this check, nix's `FdSet::insert` panicked on the loop's thread.
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the listening socket is descriptor {fd}, beyond {}'s limit \
                     (FD_SETSIZE = {}); use poll or epoll, or start the server before \
                     opening many files",
                    readiness.name(),
                    crate::select::fd_setsize()
                ),
            ));
        }
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            listener_interest: Interest::READ,
            accept_paused_until: None,
            readiness,
            conns: Vec::new(),
            free: Vec::new(),
            deadlines: BTreeSet::new(),
            config,
            stats: Arc::default(),
            log,
            scratch: vec![0; 64 * 1024],
        })
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    // ANCHOR: run
    /// Runs the loop forever: wait, handle what is ready, close what has idled.
    pub fn run(mut self) -> io::Result<()> {
        let src = Source {
            fd: self.listener.as_fd(),
            token: LISTENER,
            interest: Interest::READ,
        };
        self.readiness.register(&src)?;
        let mut events = Vec::with_capacity(1024);
        loop {
            // The wait ends at the nearest deadline at the latest: no timer thread needed.
            let timeout = self.next_timeout();
            events.clear();
            let listener = (self.listener_interest != Interest::NONE).then(|| Source {
                fd: self.listener.as_fd(),
                token: LISTENER,
                interest: self.listener_interest,
            });
            let conns = self.conns.iter().enumerate().filter_map(|(token, c)| {
                c.as_ref().map(|c| Source {
                    fd: c.stream.as_fd(),
                    token,
                    interest: c.interest,
                })
            });
            self.readiness
                .wait(listener.into_iter().chain(conns), timeout, &mut events)?;
            self.stats.wakeups.fetch_add(1, Ordering::Relaxed);

            for event in &events {
                if event.token == LISTENER {
                    self.accept_all()?;
                } else {
                    self.on_event(*event)?;
                }
            }
            self.expire(Instant::now())?;
        }
    }
    // ANCHOR_END: run

    /// How long the wait may sleep: until the nearest idle deadline or the end of an accept
    /// pause, or forever if there is neither.
    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let idle = self.deadlines.first().map(|(at, _)| *at);
        [idle, self.accept_paused_until]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    // ANCHOR: accept_all
    /// Accepts every connection waiting (until `WouldBlock`, so edge-triggered mode misses
    /// none), pausing on descriptor exhaustion or at the connection limit.
    fn accept_all(&mut self) -> io::Result<()> {
        loop {
            if self.stats.active.load(Ordering::Relaxed) >= self.config.max_connections {
                return self.set_listener(Interest::NONE); // Resumed when one closes.
            }
            match self.listener.accept() {
                Ok((stream, peer)) => self.add(stream, peer)?,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                // The client gave up before we accepted it, or a signal: try the next.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    // EMFILE, ENFILE, ENOBUFS...: the connection stays queued and the listener
                    // stays readable, so retrying now would spin. Stop watching for a while.
                    self.stats.accept_errors.fetch_add(1, Ordering::Relaxed);
                    let what = match Errno::from_raw(e.raw_os_error().unwrap_or(0)) {
                        Errno::EMFILE | Errno::ENFILE => "out of file descriptors",
                        _ => "accept failed",
                    };
                    self.log
                        .step("server", &format!("{what} ({e}); pausing accept for 100ms"));
                    self.accept_paused_until = Some(Instant::now() + Duration::from_millis(100));
                    return self.set_listener(Interest::NONE);
                }
            }
        }
    }
    // ANCHOR_END: accept_all

    fn set_listener(&mut self, interest: Interest) -> io::Result<()> {
        if self.listener_interest != interest {
            self.listener_interest = interest;
            let src = Source {
                fd: self.listener.as_fd(),
                token: LISTENER,
                interest,
            };
            self.readiness.reregister(&src)?;
        }
        Ok(())
    }

    /// Starts serving a newly accepted connection.
    fn add(&mut self, stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
        let fd = stream.as_raw_fd();
        if !self.readiness.can_watch(fd) {
            // select's bitmap has no bit for this descriptor: refuse it plainly.
            self.stats.refused_fd.fetch_add(1, Ordering::Relaxed);
            self.log.step(
                "server",
                &format!(
                    "{peer}: descriptor {fd} is beyond {}'s limit (FD_SETSIZE = {}); closed",
                    self.readiness.name(),
                    crate::select::fd_setsize()
                ),
            );
            return Ok(()); // Dropping `stream` closes it.
        }
        stream.set_nonblocking(true)?; // Not inherited from the listener on Linux (chapter 4).
        stream.set_nodelay(true)?;
        let token = match self.free.pop() {
            Some(t) => t,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        // Edge-triggered: both directions, once. Level-triggered: read only, for now.
        let interest = if self.readiness.edge_triggered() || self.config.always_write_interest {
            Interest::BOTH
        } else {
            Interest::READ
        };
        self.readiness.register(&Source {
            fd: stream.as_fd(),
            token,
            interest,
        })?;
        let deadline = Instant::now() + self.config.idle_timeout;
        self.deadlines.insert((deadline, token));
        self.conns[token] = Some(Conn {
            stream,
            peer,
            decoder: Decoder::new(self.config.max_frame),
            outbox: Outbox::new(),
            deadline,
            frame_started: None,
            interest,
            paused: false,
        });
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        self.stats.active.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    // ANCHOR: on_event
    /// Handles one ready connection: read, write, and fix what it is watched for.
    fn on_event(&mut self, event: Event) -> io::Result<()> {
        let (cap, always_write) = (self.config.outbox_cap, self.config.always_write_interest);
        let edge = self.readiness.edge_triggered();
        // It may have been closed by an earlier event in this batch.
        let Some(conn) = self.conns.get_mut(event.token).and_then(Option::as_mut) else {
            return Ok(());
        };
        let mut outcome = Ok(false);
        // Read, then write; if writing freed room in a paused outbox, read again (an
        // edge-triggered socket would not report the waiting bytes a second time).
        let mut read_now = event.readable;
        for _ in 0..4 {
            if read_now {
                outcome = conn
                    .read_ready(&mut self.scratch, cap, &self.stats)
                    .map(|p| p || matches!(outcome, Ok(true)));
            }
            if outcome.is_ok() && !conn.outbox.is_empty() {
                outcome = conn.write_ready().map(|p| p || matches!(outcome, Ok(true)));
            }
            read_now = conn.paused && conn.outbox.pending() < cap && outcome.is_ok();
            if !read_now {
                break;
            }
        }
        match outcome {
            Err(reason) => self.close(event.token, reason),
            Ok(progress) => {
                if progress {
                    // Activity pushes the idle deadline back, but never past the end of the
                    // time allowed for the frame that is partly here.
                    let now = Instant::now();
                    let mut deadline = now + self.config.idle_timeout;
                    if conn.decoder.buffered() > 0 {
                        let began = *conn.frame_started.get_or_insert(now);
                        deadline = deadline.min(began + self.config.frame_timeout);
                    } else {
                        conn.frame_started = None;
                    }
                    self.deadlines.remove(&(conn.deadline, event.token));
                    conn.deadline = deadline;
                    self.deadlines.insert((conn.deadline, event.token));
                }
                let wanted = conn.wanted(always_write);
                if !edge && wanted != conn.interest {
                    conn.interest = wanted;
                    let src = Source {
                        fd: conn.stream.as_fd(),
                        token: event.token,
                        interest: wanted,
                    };
                    self.readiness.reregister(&src)?;
                }
                Ok(())
            }
        }
    }
    // ANCHOR_END: on_event

    /// Closes every connection whose deadline has passed, and ends an accept pause.
    fn expire(&mut self, now: Instant) -> io::Result<()> {
        while let Some(&(at, token)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.close(token, Close::Idle)?;
        }
        if self.accept_paused_until.is_some_and(|until| until <= now) {
            self.accept_paused_until = None;
            self.set_listener(Interest::READ)?;
            self.accept_all()?; // Edge-triggered: the queue will not announce itself again.
        }
        Ok(())
    }

    fn close(&mut self, token: usize, reason: Close) -> io::Result<()> {
        let Some(conn) = self.conns.get_mut(token).and_then(Option::take) else {
            return Ok(());
        };
        self.readiness.deregister(conn.stream.as_fd())?;
        self.deadlines.remove(&(conn.deadline, token));
        self.free.push(token);
        self.stats.active.fetch_sub(1, Ordering::Relaxed);
        match reason {
            Close::Peer => {}
            Close::Idle => {
                self.stats.closed_idle.fetch_add(1, Ordering::Relaxed);
                let why = match conn.frame_started {
                    Some(_) => format!(
                        "frame not complete within {:?} (slow sender)",
                        self.config.frame_timeout
                    ),
                    None => format!("idle for {:?}", self.config.idle_timeout),
                };
                self.log
                    .step("server", &format!("{}: {why}; closed", conn.peer));
            }
            Close::Bad(why) => {
                self.stats.closed_bad.fetch_add(1, Ordering::Relaxed);
                self.log
                    .step("server", &format!("{}: dropped: {why}", conn.peer));
            }
        }
        drop(conn); // close(2)
        if self.listener_interest == Interest::NONE && self.accept_paused_until.is_none() {
            self.set_listener(Interest::READ)?; // Below the connection limit again.
            self.accept_all()?;
        }
        Ok(())
    }
}

/// A listener for event-loop servers: `SO_REUSEADDR` and a long accept queue (4096), so a
/// burst of thousands of connects is queued rather than dropped.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// Starts an event-loop server with `api` on its own thread; returns its address and counters.
pub fn spawn(
    api: Api,
    listener: TcpListener,
    config: Config,
    log: Arc<Narrator>,
) -> io::Result<(SocketAddr, Arc<Stats>)> {
    let addr = listener.local_addr()?;
    let stats;
    macro_rules! start {
        ($readiness:expr) => {{
            let event_loop = EventLoop::new(listener, $readiness, config, Arc::clone(&log))?;
            stats = event_loop.stats();
            thread::Builder::new()
                .name(format!("{} server", api.name()))
                .spawn(move || {
                    if let Err(e) = event_loop.run() {
                        log.step("server", &format!("event loop stopped: {e}"));
                    }
                })?;
        }};
    }
    match api {
        Api::Select => start!(crate::select::Select),
        Api::Poll => start!(crate::poll::Poll),
        #[cfg(target_os = "linux")]
        Api::Epoll => start!(crate::epoll::Epoll::new(false)?),
        #[cfg(target_os = "linux")]
        Api::EpollEdge => start!(crate::epoll::Epoll::new(true)?),
        #[cfg(not(target_os = "linux"))]
        Api::Epoll | Api::EpollEdge => {
            return Err(io::Error::new(
                ErrorKind::Unsupported,
                "epoll is Linux only",
            ));
        }
    }
    Ok((addr, stats))
}
