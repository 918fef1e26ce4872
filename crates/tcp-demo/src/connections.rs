//! The bookkeeping of a thread-per-connection server: a bounded number of slots, and a
//! registry of the open connections so that a stop can close them all.
//!
//! Three questions every blocking server must answer, and where this module answers them:
//!
//! - *How many at once?* [`Connections::acquire`] hands out at most `max` slots and waits for
//!   one to free before the server calls `accept(2)` again. Clients beyond the limit still
//!   connect: the kernel completes their handshake and queues them (up to the listen backlog).
//! - *Who is open right now?* [`Connections::spawn`] records each connection (the socket,
//!   shared with its thread through an `Arc`, so no descriptor is duplicated) and removes it
//!   when its thread ends.
//! - *How do they end when the server stops?* A thread parked in `read(2)` does not notice a
//!   signal. [`Connections::close_all`] calls `shutdown(SHUT_RDWR)` on every open socket: each
//!   parked `read` returns 0 at once and each `write` fails with `EPIPE`, so every thread comes
//!   back to its own code, sees [`Connections::stopping`], logs why it ended, and returns.
//!   [`Connections::wait_closed`] then waits for them, with a bound.
//!
//! Chapters 3 and 5 reuse this for their own blocking servers.

use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::Narrator;
use socklab_support::stop::{Stop, Woken};

/// While every slot is taken, how often the accept loop looks at the stop request. A condition
/// variable cannot be waited on together with a descriptor, so this is the one place a blocking
/// server looks instead of being woken; it bounds how late a stop is noticed at the limit.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// How long a stopping server waits for its connections' threads to finish after shutting
/// their sockets down. They finish in microseconds (every blocking call on a shut-down socket
/// returns at once); the bound is there so that a stop always ends.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// After an `accept` error that is not about one connection (out of descriptors or memory),
/// how long to wait before trying again: at once would fail again and spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The slots and the open connections of one server.
#[derive(Debug)]
pub struct Connections {
    max: usize,
    state: Mutex<State>,
    /// Signalled whenever a slot is given back.
    freed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Slots handed out (a slot is taken before `accept`, so this can exceed `open.len()`).
    taken: usize,
    /// The open connections, by slot number, shared with the threads serving them.
    open: HashMap<u64, Arc<TcpStream>>,
    next_id: u64,
    stopping: bool,
}

/// One taken slot. Dropping it (when the connection's thread ends, or when the accept loop
/// gives up on the connection) forgets the connection and wakes an accept loop waiting for a
/// slot.
#[derive(Debug)]
pub struct Slot {
    conns: Arc<Connections>,
    id: u64,
}

impl Connections {
    /// Room for `max` connections at once (at least one).
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            state: Mutex::default(),
            freed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not take the server down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a free slot and takes it; `None` once `stop` is requested.
    pub fn acquire(self: &Arc<Self>, stop: &Stop) -> Option<Slot> {
        let mut state = self.lock();
        loop {
            if state.stopping || stop.requested() {
                return None;
            }
            if state.taken < self.max {
                state.taken += 1;
                let id = state.next_id;
                state.next_id += 1;
                return Some(Slot {
                    conns: Arc::clone(self),
                    id,
                });
            }
            state = self
                .freed
                .wait_timeout(state, STOP_CHECK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    // ANCHOR: accept_loop
    /// The accept loop of a thread-per-connection server: waits for a free slot, then for a
    /// client (or the stop), accepts it, asks `start` for the code that will serve it, and
    /// runs that on a thread of its own. Returns `Ok` when the stop is requested; no error of
    /// one connection ends it.
    pub fn accept_loop<F>(
        self: &Arc<Self>,
        listener: &TcpListener,
        stop: &Stop,
        log: &Narrator,
        mut start: impl FnMut(SocketAddr) -> F,
    ) -> io::Result<()>
    where
        F: FnOnce(&TcpStream, &Connections) + Send + 'static,
    {
        // Non-blocking, so that an `accept` after a wake-up can never park the loop (and
        // with it the stop): if the client has gone, we get WouldBlock and wait again.
        listener.set_nonblocking(true)?;
        loop {
            // Wait for a free slot *before* accepting: while we wait, new clients queue in the
            // kernel (their connect() has already succeeded) instead of being half-served.
            let Some(slot) = self.acquire(stop) else {
                return Ok(());
            };
            // Sleep in poll(2) on the listener and the stop together: a signal wakes us here.
            match stop.wait_readable(listener.as_fd(), None)? {
                Woken::Stopped => return Ok(()),
                Woken::TimedOut => continue,
                Woken::Ready => {}
            }
            let (stream, peer) = match accept(listener) {
                Ok(conn) => conn,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => {
                    log.step("server", &format!("accept failed: {e}"));
                    if !is_transient(&e) {
                        thread::sleep(ACCEPT_BACKOFF);
                    }
                    continue; // Either way the listener is fine: keep serving.
                }
            };
            // The peer's address came from accept(2) itself. Asking for it again
            // (getpeername) fails with ENOTCONN if the client has already reset: one client's
            // problem, which must not become the server's.
            let serve = start(peer);
            if let Err(e) = self.spawn(slot, stream, format!("conn {peer}"), serve) {
                // The connection was closed; the client sees that, and the server carries on.
                log.step("server", &format!("{peer}: cannot start a thread: {e}"));
            }
        }
    }
    // ANCHOR_END: accept_loop

    /// Serves `stream` on a thread of its own, named `name`, holding `slot` until `serve`
    /// returns. The socket is closed when both the thread and the registry have let go of it.
    /// If no thread can be started, the connection is closed at once and the error returned:
    /// it concerns this connection only.
    pub fn spawn(
        &self,
        slot: Slot,
        stream: TcpStream,
        name: String,
        serve: impl FnOnce(&TcpStream, &Connections) + Send + 'static,
    ) -> io::Result<()> {
        let stream = Arc::new(stream);
        {
            let mut state = self.lock();
            if state.stopping {
                // Too late to serve it; it ends like the others.
                let _ = stream.shutdown(Shutdown::Both);
            }
            state.open.insert(slot.id, Arc::clone(&stream));
        }
        thread::Builder::new().name(name).spawn(move || {
            serve(&stream, &slot.conns);
            drop(stream);
            drop(slot); // Forgets the connection (closing it) and frees the slot.
        })?;
        Ok(())
    }

    /// Whether [`Self::close_all`] was called: a thread whose connection ended should say
    /// that the server closed it, not the peer.
    pub fn stopping(&self) -> bool {
        self.lock().stopping
    }

    /// Connections open right now.
    pub fn open(&self) -> usize {
        self.lock().open.len()
    }

    // ANCHOR: close_all
    /// Refuses new slots and shuts every open connection down in both directions
    /// (`shutdown(SHUT_RDWR)`): their threads' reads return 0 and their writes fail, so each
    /// thread finishes promptly. Returns how many were open.
    pub fn close_all(&self) -> usize {
        let mut state = self.lock();
        state.stopping = true;
        for stream in state.open.values() {
            // ENOTCONN (the peer already reset it) is fine: it is over either way.
            let _ = stream.shutdown(Shutdown::Both);
        }
        self.freed.notify_all();
        state.open.len()
    }
    // ANCHOR_END: close_all

    /// Waits until every slot is free again, at most `limit`; returns how many connections
    /// were still open at the bound (their threads are left to finish on their own).
    pub fn wait_closed(&self, limit: Duration) -> usize {
        let started = Instant::now();
        let mut state = self.lock();
        while state.taken > 0 {
            let Some(left) = limit
                .checked_sub(started.elapsed())
                .filter(|l| !l.is_zero())
            else {
                break;
            };
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.open.len()
    }

    /// The end of a stop, once the accept loop has returned: shuts the open connections
    /// down, logs how many, and waits for their threads (at most [`STOP_GRACE`]).
    pub fn shut_down(&self, log: &Narrator) {
        let open = self.close_all();
        log.step(
            "server",
            &format!("stopping: closing {open} open connections"),
        );
        let left = self.wait_closed(STOP_GRACE);
        if left > 0 {
            log.step(
                "server",
                &format!("{left} connections still closing after {STOP_GRACE:?}"),
            );
        }
    }
}

/// `accept(2)` on the non-blocking listener, giving back a blocking socket.
fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    let (stream, peer) = listener.accept()?;
    // Linux gives accepted sockets their own flags, but macOS and the BSDs copy the
    // listener's O_NONBLOCK (chapter 4): make sure each connection's thread blocks.
    stream.set_nonblocking(false)?;
    Ok((stream, peer))
}

/// Accept errors that concern one connection, not the listener: retry at once.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Interrupted | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    )
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.conns.lock();
        state.open.remove(&self.id);
        state.taken -= 1;
        self.conns.freed.notify_all();
    }
}

/// One connection counted in a server's gauge of open connections (its `active` counter) for
/// as long as this value lives. Made when the connection is accepted and moved into the code
/// that serves it, it is dropped when that code ends, or with it if no thread could start: the
/// gauge cannot drift either way.
#[derive(Debug)]
pub struct Active<T> {
    stats: Arc<T>,
    gauge: fn(&T) -> &AtomicUsize,
}

impl<T> Active<T> {
    /// Counts one more in `gauge(&stats)`.
    pub fn count(stats: Arc<T>, gauge: fn(&T) -> &AtomicUsize) -> Self {
        gauge(&stats).fetch_add(1, Ordering::Relaxed);
        Self { stats, gauge }
    }

    /// The counters this connection is counted in.
    pub fn stats(&self) -> &T {
        &self.stats
    }
}

impl<T> Drop for Active<T> {
    fn drop(&mut self) {
        (self.gauge)(&self.stats).fetch_sub(1, Ordering::Relaxed);
    }
}
