//! Readiness: "which of these sockets can I use without blocking?", asked three ways.
//!
//! Chapter 4's loop visited every socket to find out, and burned a core doing it. A readiness
//! API asks the kernel instead: the thread sleeps until at least one socket is ready (or a
//! timeout passes) and learns which. [`Readiness`] is the question; [`crate::select`],
//! [`crate::poll`] and [`crate::epoll`] are three answers from three eras of Unix:
//!
//! | API | the watched set lives | cost per wait | limits |
//! |---|---|---|---|
//! | `select(2)` (1983) | in the caller, copied in every call | O(all watched) | descriptors < `FD_SETSIZE` (1024) |
//! | `poll(2)` (1986) | in the caller, copied in every call | O(all watched) | none |
//! | `epoll(7)` (Linux 2002) | in the kernel, changed with `epoll_ctl` | O(ready ones) | Linux only |
//!
//! The trait has two halves to fit all three: `register`/`reregister`/`deregister` tell a
//! kernel-side set about changes (epoll uses them; select and poll need not), and `wait` is
//! handed every watched socket lazily (select and poll walk them; epoll never looks).

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

/// What a socket is watched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interest {
    /// Wake when it can be read (or accepted from, or the peer closed).
    pub read: bool,
    /// Wake when it can be written.
    pub write: bool,
}

impl Interest {
    /// Nothing: the socket stays registered but never wakes the loop.
    pub const NONE: Self = Self {
        read: false,
        write: false,
    };
    /// Readable only: the normal state of an idle connection.
    pub const READ: Self = Self {
        read: true,
        write: false,
    };
    /// Readable and writable: while there is an unsent tail.
    pub const BOTH: Self = Self {
        read: true,
        write: true,
    };
}

/// One watched socket, as `wait` sees it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The descriptor.
    pub fd: BorrowedFd<'a>,
    /// The caller's name for it, handed back in its events.
    pub token: usize,
    /// What to watch it for.
    pub interest: Interest,
}

/// One ready socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The token it was registered with.
    pub token: usize,
    /// It can be read: data, a pending connection, end of stream, or an error to collect.
    pub readable: bool,
    /// It can be written (or has an error to collect).
    pub writable: bool,
}

// ANCHOR: readiness
/// A readiness API.
pub trait Readiness {
    /// The API's name, for logs and tables.
    fn name(&self) -> &'static str;

    /// Whether the API can watch descriptor `fd` at all (select cannot watch 1024 and above).
    fn can_watch(&self, _fd: RawFd) -> bool {
        true
    }

    /// Whether readiness is reported on *changes* only (edge-triggered epoll): then every
    /// event must be followed by reading or writing until `WouldBlock`, or the rest is never
    /// reported again.
    fn edge_triggered(&self) -> bool {
        false
    }

    /// A new socket to watch.
    fn register(&mut self, source: &Source<'_>) -> io::Result<()>;

    /// A watched socket's interest changed.
    fn reregister(&mut self, source: &Source<'_>) -> io::Result<()>;

    /// A socket that will no longer be watched (call before closing it).
    fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()>;

    /// Sleeps until a watched socket is ready or `timeout` passes (`None`: no timeout), and
    /// appends the ready ones to `events`. `sources` yields every watched socket; APIs that
    /// keep their set in the kernel do not look at it.
    fn wait<'a>(
        &mut self,
        sources: impl Iterator<Item = Source<'a>>,
        timeout: Option<Duration>,
        events: &mut Vec<Event>,
    ) -> io::Result<()>;
}
// ANCHOR_END: readiness

/// Which API to use, by name: for command lines, tests and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `select(2)`.
    Select,
    /// `poll(2)`.
    Poll,
    /// `epoll(7)`, level-triggered (Linux).
    Epoll,
    /// `epoll(7)` with `EPOLLET`, edge-triggered (Linux).
    EpollEdge,
}

impl Api {
    /// Every API this system has.
    pub fn available() -> Vec<Api> {
        let mut apis = vec![Api::Select, Api::Poll];
        if cfg!(target_os = "linux") {
            apis.extend([Api::Epoll, Api::EpollEdge]);
        }
        apis
    }

    /// The API's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Api::Select => "select",
            Api::Poll => "poll",
            Api::Epoll => "epoll",
            Api::EpollEdge => "epoll-et",
        }
    }
}

impl std::str::FromStr for Api {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Api::available()
            .into_iter()
            .find(|api| api.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Api::available().iter().map(|a| a.name()).collect();
                format!(
                    "`{s}` is not a readiness API on this system; choose one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Converts a timeout to whole milliseconds for `poll`/`epoll_wait`, rounding *up* so that a
/// deadline 0.4 ms away does not become a busy `0 ms` wait.
pub fn timeout_ms(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_micros().div_ceil(1000);
            i32::try_from(ms).unwrap_or(i32::MAX)
        }
    }
}
