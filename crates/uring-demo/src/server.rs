//! The io_uring echo server: chapter 7's protocol and bounds, one thread, one ring.
//!
//! The loop does not ask which sockets are ready. It keeps operations *in flight* (a
//! multishot accept on the listener, one receive and at most one send per connection, a
//! multishot poll on the stop request) and reacts to their completions. Each turn of the loop
//! is one `io_uring_enter(2)`, which submits every operation queued since the last turn and
//! sleeps until at least one completion arrives or the nearest deadline passes:
//!
//! ```text
//!   queue SQEs ──► io_uring_enter(submit all, wait for >= 1, timeout = nearest deadline)
//!        ▲                                │
//!        └── handle every CQE, expire ◄───┘
//! ```
//!
//! The bounds are chapter 7's, each kept the completion way:
//!
//! - **Connections.** At [`Config::max_connections`] the multishot accept is cancelled; the few
//!   connections the kernel accepted before the cancel took effect wait, unserved, in a queue
//!   of ours (as they would have in the kernel's accept queue), and are served first when a
//!   connection closes.
//! - **Frame size.** Chapter 1's decoder refuses a length over [`Config::max_frame`].
//! - **Idle and frame deadlines.** Chapter 7's sorted set ([`multiplex_demo::deadlines`]); the
//!   wait's timeout is the time to the nearest deadline (`IORING_ENTER_EXT_ARG`).
//! - **Back-pressure.** See [`crate::conn`]: no receive is submitted while a connection's
//!   unsent bytes are at [`Config::outbox_cap`].
//! - **Accept errors do not spin.** A failed accept (`EMFILE`) ends the multishot accept; it is
//!   submitted again 100 ms later.
//! - **Closing is asynchronous.** Closing the descriptor would not end the operations in flight
//!   on it (they hold the socket open), and their buffers must outlive them: a connection is
//!   closed by cancelling its operations (`IORING_OP_ASYNC_CANCEL`), and its socket and slot
//!   are released when the last completion arrives.
//! - **A clean stop.** On [`Stop`], every operation is cancelled, every connection closed, the
//!   final counters logged.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use multiplex_demo::deadlines::{self, Deadlines};
use socklab_support::Narrator;
use socklab_support::stop::Stop;
use tcp_demo::frame::MAX_FRAME;

use crate::conn::{Close, Conn};
use crate::ring::{self, Completion, Options, Ring};

/// The server's bounds (chapter 7's, plus the ring's sizes).
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The largest frame payload accepted.
    pub max_frame: usize,
    /// How long a connection may go without any progress before it is closed.
    pub idle_timeout: Duration,
    /// How long one frame may take to arrive, from its first byte to its last.
    pub frame_timeout: Duration,
    /// Unsent bytes per connection at which the server stops receiving from it.
    pub outbox_cap: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// Submission queue entries.
    pub ring_entries: u32,
    /// Provided buffers shared by every connection's receives (a power of two).
    pub buffers: u16,
    /// Size of each provided buffer: the most one receive completion brings.
    pub buffer_size: u32,
    /// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` (Linux 6.1): completions are
    /// produced only while the loop waits in `io_uring_enter`, in batches, rather than by
    /// interrupting the thread wherever it is. On by default; the chapter's benchmark has a
    /// row without it, to compare the server's CPU time per request.
    pub defer_taskrun: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame: MAX_FRAME,
            idle_timeout: Duration::from_secs(30),
            frame_timeout: Duration::from_secs(10),
            outbox_cap: 256 * 1024,
            max_connections: 100_000,
            ring_entries: 1024,
            buffers: 1024,
            buffer_size: 16 * 1024,
            defer_taskrun: true,
        }
    }
}

/// Counters the loop keeps, readable while it runs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections open now (a closing connection counts until its last completion).
    pub active: AtomicUsize,
    /// Frames echoed.
    pub frames: AtomicU64,
    /// Connections closed for idling, or for a frame that took too long.
    pub closed_idle: AtomicU64,
    /// Connections closed for a bad frame or a failed operation.
    pub closed_bad: AtomicU64,
    /// Accepts that failed (such as `EMFILE`).
    pub accept_errors: AtomicU64,
    /// `io_uring_enter(2)` calls: the server's system calls for I/O, all of them.
    pub enters: AtomicU64,
    /// Submission queue entries the kernel consumed.
    pub submitted: AtomicU64,
    /// Completion queue entries handled.
    pub completions: AtomicU64,
    /// The most bytes (decoder + unsent echoes) any one connection held at once.
    pub peak_buffered: AtomicUsize,
    /// Times receiving from a connection was held back because its outbox was full.
    pub pauses: AtomicU64,
    /// Receives that found the buffer pool empty (`ENOBUFS`) and were submitted again.
    pub no_buffers: AtomicU64,
    /// Sends that completed with only part of their buffer sent, and were submitted again for
    /// the rest.
    pub partial_sends: AtomicU64,
}

impl fmt::Display for Stats {
    /// The final counters line: `accepted 3, frames 12, closed idle 1, ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        write!(
            f,
            "accepted {}, frames {}, closed idle {}, closed bad {}, accept errors {}, \
             io_uring_enter calls {}, SQEs {}, CQEs {}, pauses {}",
            get(&self.accepted),
            get(&self.frames),
            get(&self.closed_idle),
            get(&self.closed_bad),
            get(&self.accept_errors),
            get(&self.enters),
            get(&self.submitted),
            get(&self.completions),
            get(&self.pauses),
        )
    }
}

/// What an operation is, in the low byte of its `user_data`; the connection's slot is above.
mod tag {
    pub const RECV: u64 = 1;
    pub const SEND: u64 = 2;
    pub const CANCEL: u64 = 3;
    pub const ACCEPT: u64 = 4;
    pub const STOP: u64 = 5;

    pub fn of(token: usize, kind: u64) -> u64 {
        (token as u64) << 8 | kind
    }
    pub fn kind(user_data: u64) -> u64 {
        user_data & 0xff
    }
    pub fn token(user_data: u64) -> usize {
        (user_data >> 8) as usize
    }
}

/// One connection's slot: the connection, and where its send stands.
struct Slot {
    conn: Conn,
    /// Offset into the buffer of the send in flight (for resubmitting a partial send).
    send_from: usize,
}

// ANCHOR: event_loop
/// A one-thread io_uring event loop serving echo frames on `listener`.
pub struct EventLoop {
    listener: TcpListener,
    ring: Ring,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    deadlines: Deadlines,
    /// The multishot accept is in flight.
    accepting: bool,
    /// A cancel of the multishot accept is in flight (connection limit reached).
    accept_cancelled: bool,
    /// Accepting is paused (after `EMFILE`) until then.
    accept_paused_until: Option<Instant>,
    /// Accepted beyond the connection limit before the cancel took effect: served later.
    waiting: VecDeque<TcpStream>,
    completions: Vec<Completion>,
    config: Config,
    stats: Arc<Stats>,
    log: Arc<Narrator>,
    stop: Option<Stop>,
}
// ANCHOR_END: event_loop

impl EventLoop {
    /// A loop for `listener`, with its ring (`io_uring_setup(2)`). Build it on the thread that
    /// will run it: with [`Config::defer_taskrun`] only that thread may use the ring.
    pub fn new(listener: TcpListener, config: Config, log: Arc<Narrator>) -> io::Result<Self> {
        crate::probe::support().map_err(|why| io::Error::new(ErrorKind::Unsupported, why))?;
        let ring = Ring::new(Options {
            entries: config.ring_entries,
            buffers: config.buffers,
            buffer_size: config.buffer_size,
            defer_taskrun: config.defer_taskrun,
        })?;
        Ok(Self {
            listener,
            ring,
            slots: Vec::new(),
            free: Vec::new(),
            deadlines: Deadlines::default(),
            accepting: false,
            accept_cancelled: false,
            accept_paused_until: None,
            waiting: VecDeque::new(),
            completions: Vec::with_capacity(1024),
            config,
            stats: Arc::default(),
            log,
            stop: None,
        })
    }

    /// Makes the loop end cleanly when `stop` fires.
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    // ANCHOR: run
    /// Runs the loop until its stop fires (forever without one): submit and wait, handle every
    /// completion, close what has expired.
    pub fn run(mut self) -> io::Result<()> {
        self.arm_accept()?;
        if let Some(stop) = &self.stop {
            self.ring.poll_readable(stop.fd(), tag::STOP)?;
        }
        loop {
            // One system call: everything queued goes in, and we sleep until a completion or
            // the nearest deadline.
            let timeout = self.next_timeout();
            self.ring.submit_and_wait(timeout)?;
            let mut done = std::mem::take(&mut self.completions);
            done.clear();
            self.ring.complete(&mut done);
            self.publish_counters();
            let mut stopping = false;
            for c in done.drain(..) {
                stopping |= tag::kind(c.user_data) == tag::STOP
                    && self.stop.as_ref().is_some_and(Stop::requested);
                self.on_completion(c)?;
            }
            self.completions = done;
            if stopping {
                return self.shut_down();
            }
            self.expire(Instant::now())?;
        }
    }
    // ANCHOR_END: run

    fn publish_counters(&self) {
        let c = self.ring.counters();
        self.stats.enters.store(c.enters, Ordering::Relaxed);
        self.stats.submitted.store(c.submitted, Ordering::Relaxed);
        self.stats.completions.store(c.completed, Ordering::Relaxed);
    }

    /// How long the wait may sleep: until the nearest deadline or the end of an accept pause.
    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        [self.deadlines.first(), self.accept_paused_until]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    fn arm_accept(&mut self) -> io::Result<()> {
        self.ring.accept_multi(self.listener.as_fd(), tag::ACCEPT)?;
        self.accepting = true;
        self.accept_cancelled = false;
        Ok(())
    }

    // ANCHOR: on_completion
    /// Routes one completion by its tag. Only a failure of the ring itself ends the loop; a
    /// failed operation on a connection closes that connection.
    fn on_completion(&mut self, c: Completion) -> io::Result<()> {
        let token = tag::token(c.user_data);
        match tag::kind(c.user_data) {
            tag::ACCEPT => self.on_accept(&c),
            tag::RECV => {
                let outcome = self.on_recv(token, &c);
                if let Some(bid) = c.selected {
                    self.ring.recycle(bid); // Back to the pool as soon as it is copied.
                }
                self.after(token, outcome);
                Ok(())
            }
            tag::SEND => {
                let outcome = self.on_send(token, c);
                self.after(token, outcome);
                Ok(())
            }
            tag::STOP if !c.more => {
                // The multishot poll ended (it should not): watch the stop request again.
                match &self.stop {
                    Some(stop) => self.ring.poll_readable(stop.fd(), tag::STOP),
                    None => Ok(()),
                }
            }
            _ => Ok(()), // A cancel's own completion, or a spurious stop wake-up.
        }
    }
    // ANCHOR_END: on_completion

    fn on_accept(&mut self, c: &Completion) -> io::Result<()> {
        if !c.more {
            self.accepting = false; // Ended: by our cancel, or by an error below.
        }
        match ring::accepted(c.result) {
            Ok(stream) => {
                // Those accepted beyond the limit earlier go first.
                self.waiting.push_back(stream);
                self.serve_waiting();
                if self.stats.active.load(Ordering::Relaxed) >= self.config.max_connections
                    && self.accepting
                    && !self.accept_cancelled
                {
                    // At the limit: stop accepting; new clients wait in the kernel's queue.
                    self.ring.cancel(tag::ACCEPT, tag::of(0, tag::CANCEL))?;
                    self.accept_cancelled = true;
                }
            }
            Err(e) if c.failed_with(libc::ECANCELED) => drop(e),
            // The client gave up before we accepted it, or a signal: the next accept will come.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNABORTED | libc::EINTR)) => {}
            Err(e) => {
                // EMFILE, ENFILE, ENOBUFS...: retrying at once would fail again at once.
                self.stats.accept_errors.fetch_add(1, Ordering::Relaxed);
                let what = match e.raw_os_error() {
                    Some(libc::EMFILE | libc::ENFILE) => "out of file descriptors",
                    _ => "accept failed",
                };
                self.log
                    .step("server", &format!("{what} ({e}); pausing accept for 100ms"));
                self.accept_paused_until = Some(Instant::now() + Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// Starts serving a newly accepted connection; one that cannot be set up is closed with
    /// the reason logged.
    fn add(&mut self, stream: TcpStream) {
        let setup = stream.set_nodelay(true).and_then(|()| stream.peer_addr());
        let peer = match setup {
            Ok(peer) => peer,
            Err(e) => {
                self.stats.closed_bad.fetch_add(1, Ordering::Relaxed);
                self.log.step(
                    "server",
                    &format!("cannot serve a new connection: {e}; closed"),
                );
                return;
            }
        };
        let token = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let deadline = deadlines::later(Instant::now(), self.config.idle_timeout);
        self.deadlines.insert(token, deadline);
        self.slots[token] = Some(Slot {
            conn: Conn::new(stream, peer, &self.config, deadline),
            send_from: 0,
        });
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        self.stats.active.fetch_add(1, Ordering::Relaxed);
        self.after(token, Ok(false));
    }

    /// A receive completed: feed its bytes to the connection. Returns whether it made
    /// progress.
    fn on_recv(&mut self, token: usize, c: &Completion) -> Result<bool, Close> {
        let config = self.config;
        let Some(slot) = self.slots.get_mut(token).and_then(Option::as_mut) else {
            return Ok(false);
        };
        let conn = &mut slot.conn;
        conn.recv_in_flight = false;
        if conn.closing {
            return Ok(false);
        }
        match c.result {
            n if n > 0 => {
                let bid = c
                    .selected
                    .ok_or_else(|| Close::Bad("a receive completed without a buffer".into()))?;
                conn.received(self.ring.received(bid, n as usize), &config, &self.stats)?;
                Ok(true)
            }
            0 => conn.end_of_stream().map(|()| true),
            // The pool was empty when data arrived: the data waits in the socket, and the
            // receive is submitted again (buffers come back within this same turn).
            _ if c.failed_with(libc::ENOBUFS) => {
                self.stats.no_buffers.fetch_add(1, Ordering::Relaxed);
                Ok(false)
            }
            _ => Err(Close::Bad(format!(
                "receive failed: {}",
                c.error().unwrap_or_else(|| io::Error::other("?"))
            ))),
        }
    }

    /// A send completed: account for what went, and send the rest if it was partial.
    fn on_send(&mut self, token: usize, c: Completion) -> Result<bool, Close> {
        let Some(slot) = self.slots.get_mut(token).and_then(Option::as_mut) else {
            return Ok(false);
        };
        slot.conn.send_in_flight = false;
        if slot.conn.closing {
            return Ok(false);
        }
        if let Some(e) = c.error() {
            return Err(Close::Bad(format!("send failed: {e}")));
        }
        let buf = c
            .buffer
            .ok_or_else(|| Close::Bad("a send completed without its buffer".into()))?;
        if c.result == 0 && buf.len() > slot.send_from {
            return Err(Close::Bad("send took no bytes".into()));
        }
        if let Some((buf, from)) = slot.conn.sent(buf, slot.send_from, c.result as usize) {
            // A partial send: the rest goes first, before anything queued since.
            self.stats.partial_sends.fetch_add(1, Ordering::Relaxed);
            slot.send_from = from;
            slot.conn.send_in_flight = true;
            self.ring
                .send(
                    slot.conn.stream.as_fd(),
                    buf,
                    from,
                    tag::of(token, tag::SEND),
                )
                .map_err(|e| Close::Bad(format!("cannot submit a send: {e}")))?;
        }
        Ok(c.result > 0)
    }

    // ANCHOR: after
    /// After a completion on `token` (or its acceptance): push its deadline back if it made
    /// progress, submit its next send and its next receive, or close it.
    fn after(&mut self, token: usize, outcome: Result<bool, Close>) {
        let config = self.config;
        let Some(slot) = self.slots.get_mut(token).and_then(Option::as_mut) else {
            return;
        };
        if slot.conn.closing {
            self.release_if_done(token);
            return;
        }
        let submitted = outcome.and_then(|progress| {
            let conn = &mut slot.conn;
            if progress {
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
            if let Some(buf) = conn.send_wanted() {
                slot.send_from = 0;
                conn.send_in_flight = true;
                self.ring
                    .send(conn.stream.as_fd(), buf, 0, tag::of(token, tag::SEND))
                    .map_err(|e| Close::Bad(format!("cannot submit a send: {e}")))?;
            }
            if conn.finished() {
                return Err(Close::Peer); // Every echo delivered after the peer's FIN.
            }
            if let Some(room) = conn.receive_wanted(&config, &self.stats) {
                conn.recv_in_flight = true;
                let max = u32::try_from(room).unwrap_or(u32::MAX);
                self.ring
                    .recv(conn.stream.as_fd(), max, tag::of(token, tag::RECV))
                    .map_err(|e| Close::Bad(format!("cannot submit a receive: {e}")))?;
            }
            Ok(())
        });
        if let Err(reason) = submitted {
            self.close(token, reason);
        }
    }
    // ANCHOR_END: after

    // ANCHOR: close
    /// Closes one connection: logs why, cancels its operations in flight, and releases it
    /// when their completions are in (closing the socket first would not stop them).
    fn close(&mut self, token: usize, reason: Close) {
        let Some(slot) = self.slots.get_mut(token).and_then(Option::as_mut) else {
            return;
        };
        let conn = &mut slot.conn;
        if conn.closing {
            return;
        }
        conn.closing = true;
        self.deadlines.remove(token, conn.deadline);
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
        for (busy, kind) in [
            (conn.recv_in_flight, tag::RECV),
            (conn.send_in_flight, tag::SEND),
        ] {
            // If the cancel cannot even be queued, the operation still ends when the peer
            // goes; the slot waits for it either way.
            if busy {
                let _ = self
                    .ring
                    .cancel(tag::of(token, kind), tag::of(token, tag::CANCEL));
            }
        }
        self.release_if_done(token);
    }
    // ANCHOR_END: close

    /// Releases a closing connection once nothing of it is in flight: its socket is closed
    /// (now the FIN goes out) and its slot freed; a waiting client takes its place.
    fn release_if_done(&mut self, token: usize) {
        let done = self
            .slots
            .get(token)
            .and_then(Option::as_ref)
            .is_some_and(|s| s.conn.closing && !s.conn.recv_in_flight && !s.conn.send_in_flight);
        if !done {
            return;
        }
        drop(self.slots[token].take()); // close(2)
        self.free.push(token);
        self.stats.active.fetch_sub(1, Ordering::Relaxed);
        self.serve_waiting();
    }

    /// Serves clients accepted beyond the limit, oldest first, while below it.
    fn serve_waiting(&mut self) {
        while self.stats.active.load(Ordering::Relaxed) < self.config.max_connections {
            let Some(next) = self.waiting.pop_front() else {
                break;
            };
            self.add(next);
        }
    }

    /// Closes every connection whose deadline has passed; accepts again when allowed.
    fn expire(&mut self, now: Instant) -> io::Result<()> {
        while let Some(token) = self.deadlines.expired(now) {
            self.close(token, Close::Expired);
        }
        if self.accept_paused_until.is_some_and(|until| until <= now) {
            self.accept_paused_until = None;
        }
        if !self.accepting
            && self.accept_paused_until.is_none()
            && self.waiting.is_empty()
            && self.stats.active.load(Ordering::Relaxed) < self.config.max_connections
        {
            self.arm_accept()?; // Below the limit again, or after a pause.
        }
        Ok(())
    }

    /// The clean stop: every operation cancelled, every connection closed once its
    /// completions are in, the final counters logged.
    fn shut_down(mut self) -> io::Result<()> {
        let open: Vec<usize> = (0..self.slots.len())
            .filter(|t| self.slots[*t].as_ref().is_some_and(|s| !s.conn.closing))
            .collect();
        self.log.step(
            "server",
            &format!(
                "stop requested: no longer accepting; closing {} connection(s)",
                open.len()
            ),
        );
        self.stop = None;
        self.waiting.clear();
        for token in open {
            self.close(token, Close::Stopping);
        }
        self.ring.cancel_all(tag::of(0, tag::CANCEL))?;
        let until = Instant::now() + Duration::from_secs(5);
        let mut done = Vec::new();
        while self.ring.in_flight() > 0 && Instant::now() < until {
            self.ring
                .submit_and_wait(Some(Duration::from_millis(100)))?;
            done.clear();
            self.ring.complete(&mut done);
            for c in done.drain(..) {
                if tag::kind(c.user_data) == tag::ACCEPT {
                    // Accepted just before the cancel: closed at once.
                    let _ = ring::accepted(c.result);
                    continue;
                }
                self.on_completion(c)?;
            }
        }
        self.publish_counters();
        drop(self.listener); // Clients still queued in the backlog are refused from now on.
        self.log.step("server", &format!("stopped: {}", self.stats));
        Ok(())
    }
}

/// A listener for the server: chapter 7's (`SO_REUSEADDR`, an accept queue of 4096).
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    multiplex_demo::server::listen(addr)
}

/// Runs the server on this thread until `stop` fires (forever if `None`).
pub fn run(
    listener: TcpListener,
    config: Config,
    log: Arc<Narrator>,
    stop: Option<Stop>,
) -> io::Result<()> {
    let event_loop = EventLoop::new(listener, config, log)?;
    match stop {
        Some(stop) => event_loop.with_stop(stop).run(),
        None => event_loop.run(),
    }
}

/// Starts the server on its own thread; returns its address, its counters, and the thread
/// (which ends when `stop` fires). The ring is built on that thread, and a failure to build
/// it is returned here.
pub fn spawn_with_stop(
    listener: TcpListener,
    config: Config,
    log: Arc<Narrator>,
    stop: Option<Stop>,
) -> io::Result<(SocketAddr, Arc<Stats>, thread::JoinHandle<()>)> {
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name("uring server".into())
        .spawn(move || {
            let event_loop = match EventLoop::new(listener, config, Arc::clone(&log)) {
                Ok(event_loop) => event_loop,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = tx.send(Ok(event_loop.stats()));
            let event_loop = match stop {
                Some(stop) => event_loop.with_stop(stop),
                None => event_loop,
            };
            if let Err(e) = event_loop.run() {
                log.step("server", &format!("event loop stopped: {e}"));
            }
        })?;
    let stats = rx
        .recv()
        .map_err(|_| io::Error::other("the server thread ended before it started"))??;
    Ok((addr, stats, handle))
}

/// Starts the server on its own thread; returns its address and counters.
pub fn spawn(
    listener: TcpListener,
    config: Config,
    log: Arc<Narrator>,
) -> io::Result<(SocketAddr, Arc<Stats>)> {
    spawn_with_stop(listener, config, log, None).map(|(addr, stats, _)| (addr, stats))
}
