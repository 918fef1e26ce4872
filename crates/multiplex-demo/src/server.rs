//! The event-loop echo server: one thread, any number of connections, any readiness API.
//!
//! Same protocol as chapter 1 (length-prefixed frames, echoed back), served the chapter 4 way
//! (non-blocking sockets, an unsent tail per connection) but woken by a readiness API instead
//! of visiting every socket. This module is the loop itself; each connection's state machine is
//! in [`crate::conn`] and the deadline rules in [`crate::deadlines`].
//!
//! The bounds that keep one thread safe with thousands of strangers:
//!
//! - **Write interest only while there is an unsent tail.** A socket with room in its send
//!   buffer is *always* writable; watching it for writability when there is nothing to write
//!   wakes the loop for nothing, forever (a busy loop: [`Config::always_write_interest`]
//!   shows it).
//! - **Idle timeout from the nearest deadline.** Every connection has a deadline, kept in a
//!   sorted set; the wait's timeout is the time to the nearest one, so a silent client is
//!   closed on time without any timer thread or periodic scan, and a frame that takes longer
//!   than [`Config::frame_timeout`] from its first byte (slowloris) is cut.
//! - **Back-pressure.** A client that sends and never reads would make its outbox grow
//!   without end. At [`Config::outbox_cap`] the loop stops reading from it until the tail
//!   drains; its own send buffer then fills and *it* blocks, not us.
//! - **Accept errors do not spin.** When `accept` fails with `EMFILE` (out of descriptors) the
//!   pending connection stays queued and the listener stays readable: retrying at once would
//!   spin a core. The loop stops watching the listener for 100 ms instead.
//! - **Connection limit.** At [`Config::max_connections`] the loop stops accepting until one
//!   closes; new clients wait in the kernel's accept queue, as in chapter 1.
//! - **One client's failure is that client's.** An error on a connection's socket, even from
//!   `epoll_ctl`, closes that connection with its reason logged; only a failure of the wait
//!   itself ends the loop.
//! - **A clean stop.** Given a [`Stop`] (Ctrl-C or `SIGTERM` in the binary), the loop watches
//!   it like a socket; when it fires, it stops accepting, closes every connection, logs its
//!   final counters and returns `Ok`.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use socklab_support::Narrator;
use socklab_support::stop::Stop;
use tcp_demo::frame::MAX_FRAME;

use crate::conn::{Close, Conn};
use crate::deadlines::{self, Deadlines};
use crate::readiness::{Api, Interest, Readiness, Source};

/// The server's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The largest frame payload accepted.
    pub max_frame: usize,
    /// How long a connection may go without any progress before it is closed.
    pub idle_timeout: Duration,
    /// How long one frame may take to arrive, from its first byte to its last.
    pub frame_timeout: Duration,
    /// Unsent bytes per connection at which the loop stops reading from it.
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

impl fmt::Display for Stats {
    /// The final counters line: `accepted 3, frames 12, closed idle 1, closed bad 0, ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        write!(
            f,
            "accepted {}, frames {}, closed idle {}, closed bad {}, refused {}, accept errors {}, \
             wakeups {}, pauses {}",
            get(&self.accepted),
            get(&self.frames),
            get(&self.closed_idle),
            get(&self.closed_bad),
            get(&self.refused_fd),
            get(&self.accept_errors),
            get(&self.wakeups),
            get(&self.pauses),
        )
    }
}

/// The listener's token; connections use their index in the table.
const LISTENER: usize = usize::MAX;
/// The stop request's token.
const STOP: usize = usize::MAX - 1;

/// A one-thread event loop serving echo frames on `listener` with readiness API `R`.
pub struct EventLoop<R: Readiness> {
    listener: TcpListener,
    listener_interest: Interest,
    /// Accepting is paused (after `EMFILE`) until then.
    accept_paused_until: Option<Instant>,
    readiness: R,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    deadlines: Deadlines,
    /// Connections whose last visit stopped for fairness with work left.
    backlog: Vec<usize>,
    config: Config,
    stats: Arc<Stats>,
    log: Arc<Narrator>,
    stop: Option<Stop>,
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
            deadlines: Deadlines::default(),
            backlog: Vec::new(),
            config,
            stats: Arc::default(),
            log,
            stop: None,
        })
    }

    /// Makes the loop end cleanly when `stop` fires (see the module docs).
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Runs the loop until its stop fires (forever without one): wait, handle what is ready,
    /// close what has expired.
    pub fn run(mut self) -> io::Result<()> {
        self.readiness.register(&Source {
            fd: self.listener.as_fd(),
            token: LISTENER,
            interest: Interest::READ,
        })?;
        if let Some(stop) = &self.stop {
            self.readiness.register(&Source {
                fd: stop.fd(),
                token: STOP,
                interest: Interest::READ,
            })?;
        }
        // ANCHOR: run
        let mut events = Vec::with_capacity(1024);
        loop {
            // The wait ends at the nearest deadline at the latest: no timer thread needed. A
            // connection left with work by a fair visit means: do not sleep at all.
            let timeout = match self.backlog.is_empty() {
                true => self.next_timeout(),
                false => Some(Duration::ZERO),
            };
            events.clear();
            let listener = (self.listener_interest != Interest::NONE).then(|| Source {
                fd: self.listener.as_fd(),
                token: LISTENER,
                interest: self.listener_interest,
            });
            let stop = self.stop.as_ref().map(|s| Source {
                fd: s.fd(),
                token: STOP,
                interest: Interest::READ,
            });
            let conns = self.conns.iter().enumerate().filter_map(|(token, c)| {
                c.as_ref().map(|c| Source {
                    fd: c.stream.as_fd(),
                    token,
                    interest: c.interest,
                })
            });
            let sources = listener.into_iter().chain(stop).chain(conns);
            self.readiness.wait(sources, timeout, &mut events)?;
            self.stats.wakeups.fetch_add(1, Ordering::Relaxed);

            for event in &events {
                match event.token {
                    LISTENER => self.accept_all()?,
                    STOP if self.stop.as_ref().is_some_and(Stop::requested) => {
                        return self.shut_down();
                    }
                    STOP => {} // A spurious wake-up: nothing was requested.
                    token => self.on_event(token, event.readable),
                }
            }
            for token in std::mem::take(&mut self.backlog) {
                self.on_event(token, true);
            }
            self.expire(Instant::now())?;
        }
        // ANCHOR_END: run
    }

    /// How long the wait may sleep: until the nearest deadline or the end of an accept pause,
    /// or forever if there is neither.
    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        [self.deadlines.first(), self.accept_paused_until]
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
                Ok((stream, peer)) => self.add(stream, peer),
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

    /// Starts serving a newly accepted connection; a connection that cannot be set up is
    /// closed with the reason logged, and the loop goes on.
    fn add(&mut self, stream: TcpStream, peer: SocketAddr) {
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
            return; // Dropping `stream` closes it.
        }
        // Edge-triggered: both directions, once. Level-triggered: read only, for now.
        let interest = if self.readiness.edge_triggered() || self.config.always_write_interest {
            Interest::BOTH
        } else {
            Interest::READ
        };
        let token = self.free.last().copied().unwrap_or(self.conns.len());
        let setup = stream
            .set_nonblocking(true) // Not inherited from the listener on Linux (chapter 4).
            .and_then(|()| stream.set_nodelay(true))
            .and_then(|()| {
                self.readiness.register(&Source {
                    fd: stream.as_fd(),
                    token,
                    interest,
                })
            });
        if let Err(e) = setup {
            self.stats.closed_bad.fetch_add(1, Ordering::Relaxed);
            self.log
                .step("server", &format!("{peer}: cannot serve: {e}; closed"));
            return;
        }
        if self.free.pop().is_none() {
            self.conns.push(None);
        }
        let deadline = deadlines::later(Instant::now(), self.config.idle_timeout);
        self.deadlines.insert(token, deadline);
        let mut conn = Conn::new(stream, peer, &self.config, deadline);
        conn.interest = interest;
        self.conns[token] = Some(conn);
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        self.stats.active.fetch_add(1, Ordering::Relaxed);
    }

    // ANCHOR: on_event
    /// Handles one ready connection: serve it, push its deadline back if it made progress,
    /// and fix what it is watched for. Anything that goes wrong closes this connection only.
    fn on_event(&mut self, token: usize, readable: bool) {
        let config = self.config;
        // It may have been closed by an earlier event in this batch.
        let Some(conn) = self.conns.get_mut(token).and_then(Option::as_mut) else {
            return;
        };
        let outcome = conn
            .service(readable, &config, &self.stats)
            .and_then(|visit| {
                if visit.more {
                    self.backlog.push(token);
                }
                if visit.progress {
                    // Activity pushes the deadline back, within the frame's own time limit.
                    let frame = conn.frame_started.filter(|_| !conn.paused());
                    let deadline = deadlines::deadline(
                        Instant::now(),
                        frame,
                        config.idle_timeout,
                        config.frame_timeout,
                    );
                    self.deadlines.reset(token, conn.deadline, deadline);
                    conn.deadline = deadline;
                }
                let wanted = conn.wanted(&config);
                if !self.readiness.edge_triggered() && wanted != conn.interest {
                    conn.interest = wanted;
                    let src = Source {
                        fd: conn.stream.as_fd(),
                        token,
                        interest: wanted,
                    };
                    // epoll_ctl can fail (ENOMEM): that is this connection's problem only.
                    self.readiness
                        .reregister(&src)
                        .map_err(|e| Close::Bad(format!("cannot change its interest: {e}")))?;
                }
                Ok(())
            });
        if let Err(reason) = outcome {
            self.close(token, reason);
        }
    }
    // ANCHOR_END: on_event

    /// Closes every connection whose deadline has passed, and ends an accept pause.
    fn expire(&mut self, now: Instant) -> io::Result<()> {
        while let Some(token) = self.deadlines.expired(now) {
            self.close(token, Close::Expired);
        }
        if self.accept_paused_until.is_some_and(|until| until <= now) {
            self.accept_paused_until = None;
            self.set_listener(Interest::READ)?;
            self.accept_all()?; // Edge-triggered: the queue will not announce itself again.
        }
        if self.listener_interest == Interest::NONE
            && self.accept_paused_until.is_none()
            && self.stats.active.load(Ordering::Relaxed) < self.config.max_connections
        {
            self.set_listener(Interest::READ)?; // Below the connection limit again.
            self.accept_all()?;
        }
        Ok(())
    }

    /// Closes one connection, logging why.
    fn close(&mut self, token: usize, reason: Close) {
        let Some(conn) = self.conns.get_mut(token).and_then(Option::take) else {
            return;
        };
        // Deregistering before close(2) keeps epoll's set exact; if it fails, closing the
        // descriptor removes it from the set anyway.
        let _ = self.readiness.deregister(conn.stream.as_fd());
        self.deadlines.remove(token, conn.deadline);
        self.backlog.retain(|t| *t != token);
        self.free.push(token);
        self.stats.active.fetch_sub(1, Ordering::Relaxed);
        let why = match reason {
            Close::Peer | Close::Stopping => None,
            Close::Expired => {
                self.stats.closed_idle.fetch_add(1, Ordering::Relaxed);
                Some(if conn.partial_frame() > 0 && !conn.paused() {
                    format!(
                        "frame not complete within {:?} (slow sender); closed",
                        self.config.frame_timeout
                    )
                } else {
                    format!("idle for {:?}; closed", self.config.idle_timeout)
                })
            }
            Close::Bad(why) => {
                self.stats.closed_bad.fetch_add(1, Ordering::Relaxed);
                Some(format!("dropped: {why}"))
            }
        };
        if let Some(why) = why {
            self.log.step("server", &format!("{}: {why}", conn.peer));
        }
        drop(conn); // close(2)
    }

    /// The clean stop: no more accepting, every connection closed, the final counters logged.
    fn shut_down(mut self) -> io::Result<()> {
        let open: Vec<usize> = (0..self.conns.len())
            .filter(|t| self.conns[*t].is_some())
            .collect();
        self.log.step(
            "server",
            &format!(
                "stop requested: no longer accepting; closing {} connection(s)",
                open.len()
            ),
        );
        for token in open {
            self.close(token, Close::Stopping);
        }
        drop(self.listener); // Clients still queued in the backlog are refused from now on.
        self.log.step("server", &format!("stopped: {}", self.stats));
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

/// Runs an event loop with `api` on this thread until `stop` fires (forever if `None`).
pub fn run(
    api: Api,
    listener: TcpListener,
    config: Config,
    log: Arc<Narrator>,
    stop: Option<Stop>,
) -> io::Result<()> {
    start(api, listener, config, log, stop, |event_loop| {
        event_loop.run()
    })
}

/// Starts an event-loop server with `api` on its own thread; returns its address, its
/// counters, and the thread (which ends when `stop` fires).
pub fn spawn_with_stop(
    api: Api,
    listener: TcpListener,
    config: Config,
    log: Arc<Narrator>,
    stop: Option<Stop>,
) -> io::Result<(SocketAddr, Arc<Stats>, thread::JoinHandle<()>)> {
    let addr = listener.local_addr()?;
    let name = format!("{} server", api.name());
    let mut stats = None;
    let mut handle = None;
    start(
        api,
        listener,
        config,
        Arc::clone(&log),
        stop,
        |event_loop| {
            stats = Some(event_loop.stats());
            handle = Some(thread::Builder::new().name(name).spawn(move || {
                if let Err(e) = event_loop.run() {
                    log.step("server", &format!("event loop stopped: {e}"));
                }
            })?);
            Ok(())
        },
    )?;
    match (stats, handle) {
        (Some(stats), Some(handle)) => Ok((addr, stats, handle)),
        _ => Err(io::Error::other("the event loop did not start")),
    }
}

/// Starts an event-loop server with `api` on its own thread; returns its address and counters.
pub fn spawn(
    api: Api,
    listener: TcpListener,
    config: Config,
    log: Arc<Narrator>,
) -> io::Result<(SocketAddr, Arc<Stats>)> {
    spawn_with_stop(api, listener, config, log, None).map(|(addr, stats, _)| (addr, stats))
}

/// Builds the loop for `api` and hands it to `go`: the one place that maps an API name to its
/// type.
fn start(
    api: Api,
    listener: TcpListener,
    config: Config,
    log: Arc<Narrator>,
    stop: Option<Stop>,
    go: impl FnOnce(Box<dyn Runnable>) -> io::Result<()>,
) -> io::Result<()> {
    fn boxed<R: Readiness + Send + 'static>(
        l: TcpListener,
        r: R,
        c: Config,
        log: Arc<Narrator>,
        stop: Option<Stop>,
    ) -> io::Result<Box<dyn Runnable>> {
        let event_loop = EventLoop::new(l, r, c, log)?;
        Ok(Box::new(match stop {
            Some(stop) => event_loop.with_stop(stop),
            None => event_loop,
        }))
    }
    let event_loop = match api {
        Api::Select => boxed(listener, crate::select::Select, config, log, stop)?,
        Api::Poll => boxed(listener, crate::poll::Poll, config, log, stop)?,
        #[cfg(target_os = "linux")]
        Api::Epoll => boxed(
            listener,
            crate::epoll::Epoll::new(false)?,
            config,
            log,
            stop,
        )?,
        #[cfg(target_os = "linux")]
        Api::EpollEdge => boxed(listener, crate::epoll::Epoll::new(true)?, config, log, stop)?,
        #[cfg(not(target_os = "linux"))]
        Api::Epoll | Api::EpollEdge => {
            return Err(io::Error::new(
                ErrorKind::Unsupported,
                "epoll is Linux only",
            ));
        }
    };
    go(event_loop)
}

/// An event loop of any readiness API, ready to run: lets [`run`] and [`spawn`] pick the API
/// at run time.
pub trait Runnable: Send {
    /// Its live counters.
    fn stats(&self) -> Arc<Stats>;
    /// Runs it (see [`EventLoop::run`]).
    fn run(self: Box<Self>) -> io::Result<()>;
}

impl<R: Readiness + Send> Runnable for EventLoop<R> {
    fn stats(&self) -> Arc<Stats> {
        EventLoop::stats(self)
    }
    fn run(self: Box<Self>) -> io::Result<()> {
        EventLoop::run(*self)
    }
}
