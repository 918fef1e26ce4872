//! Stopping a server cleanly on Ctrl-C (`SIGINT`) and `SIGTERM`: the self-pipe pattern.
//!
//! A signal handler may do almost nothing (only async-signal-safe calls, see signal-safety(7)),
//! and a server blocked in `accept(2)`, `poll(2)` or `epoll_wait(2)` must still notice the
//! signal. The classic answer is a *self-pipe*: the handler writes one byte into a socket pair
//! whose other end the server watches like any other descriptor. The handler itself comes from
//! the well-kept `signal-hook` crate (`signal_hook::low_level::pipe`), so no `unsafe` lives here.
//!
//! [`Stop`] is the end the server watches. Event loops register [`Stop::fd`] with their
//! readiness API; blocking servers wait with [`Stop::wait_readable`] (one `poll(2)` on the
//! listener and the stop descriptor) before each `accept`. Tests do not send signals to their
//! own process (every test in it would see them): they call [`Stop::trigger`] on a clone.

use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// A stop request that a server can wait on alongside its sockets. Cheap to clone: all clones
/// share one socket pair.
#[derive(Debug, Clone)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The end the server watches: readable once a stop was requested.
    read: UnixStream,
    /// The end [`Stop::trigger`] writes to (the signal handler has its own duplicate).
    write: UnixStream,
    requested: AtomicBool,
}

/// What [`Stop::wait_readable`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The watched descriptor is ready.
    Ready,
    /// A stop was requested.
    Stopped,
    /// Neither, within the timeout.
    TimedOut,
}

impl Stop {
    /// A stop request that only [`Stop::trigger`] sets (tests, and servers started in-process).
    pub fn new() -> io::Result<Self> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(Self {
            inner: Arc::new(Inner {
                read,
                write,
                requested: AtomicBool::new(false),
            }),
        })
    }

    /// A stop request set by `SIGINT` (Ctrl-C) or `SIGTERM` as well, for the binaries.
    ///
    /// The handler writes a byte to a duplicate of the write end; it no longer kills the
    /// process, so the server decides how to end: stop accepting, close its connections with a
    /// reason, print its counters, exit 0.
    pub fn on_signals() -> io::Result<Self> {
        let stop = Self::new()?;
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::low_level::pipe::register(signal, stop.inner.write.try_clone()?)?;
        }
        Ok(stop)
    }

    /// Requests the stop, as a signal would.
    pub fn trigger(&self) {
        // A full socket buffer means a wake-up byte is already waiting: nothing to add.
        let _ = (&self.inner.write).write(&[1]);
    }

    /// Whether a stop was requested. Reads (and so clears) the wake-up bytes: call it when the
    /// stop descriptor was reported readable, or at any time to check.
    pub fn requested(&self) -> bool {
        let mut buf = [0u8; 64];
        loop {
            match (&self.inner.read).read(&mut buf) {
                Ok(n) if n > 0 => self.inner.requested.store(true, Ordering::Relaxed),
                // Ok(0) cannot happen while we hold the write end; WouldBlock: nothing more.
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self.inner.requested.load(Ordering::Relaxed)
    }

    /// The descriptor to watch for reading: it becomes readable when a stop is requested.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.inner.read.as_fd()
    }

    /// Sleeps until `fd` is readable, a stop is requested, or `timeout` passes (`None`: no
    /// limit): one `poll(2)` on both descriptors. Blocking servers call it before `accept`, so
    /// that a signal wakes them even though `accept` itself would not return.
    pub fn wait_readable(
        &self,
        fd: BorrowedFd<'_>,
        timeout: Option<Duration>,
    ) -> io::Result<Woken> {
        if self.requested() {
            return Ok(Woken::Stopped);
        }
        let timeout = match timeout {
            None => PollTimeout::NONE,
            Some(t) => PollTimeout::try_from(t.as_millis().min(i32::MAX as u128) as i32)
                .unwrap_or(PollTimeout::MAX),
        };
        let mut fds = [
            PollFd::new(fd, PollFlags::POLLIN),
            PollFd::new(self.fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, timeout) {
            Ok(0) => return Ok(Woken::TimedOut),
            Ok(_) => {}
            // A signal (perhaps the very one we wait for) cut the wait short: look again.
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        if self.requested() {
            return Ok(Woken::Stopped);
        }
        let ready = fds[0].revents().is_some_and(|r| !r.is_empty());
        Ok(if ready { Woken::Ready } else { Woken::TimedOut })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Instant;

    /// Nothing is requested until a trigger; after it, the wait returns `Stopped` at once and
    /// keeps saying so.
    #[test]
    fn trigger_wakes_a_waiter() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stop = Stop::new().unwrap();
        assert!(!stop.requested());
        let t = Instant::now();
        assert_eq!(
            stop.wait_readable(listener.as_fd(), Some(Duration::from_millis(50)))
                .unwrap(),
            Woken::TimedOut
        );
        assert!(t.elapsed() >= Duration::from_millis(50));
        let waiter = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let listener = listener;
                stop.wait_readable(listener.as_fd(), Some(Duration::from_secs(30)))
            })
        };
        stop.trigger();
        assert_eq!(waiter.join().unwrap().unwrap(), Woken::Stopped);
        assert!(stop.requested(), "a stop stays requested");
    }

    /// A pending connection makes the listener ready without any stop.
    #[test]
    fn a_ready_descriptor_is_reported() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let stop = Stop::new().unwrap();
        assert_eq!(
            stop.wait_readable(listener.as_fd(), Some(Duration::from_secs(10)))
                .unwrap(),
            Woken::Ready
        );
    }
}
