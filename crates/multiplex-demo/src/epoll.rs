//! `epoll(7)` (Linux): the watched set lives in the kernel.
//!
//! `epoll_ctl` adds, changes and removes sockets once, when something changes; `epoll_wait`
//! then returns only the ready ones. A wait costs O(ready), not O(watched), which is what lets
//! one thread hold ten thousand mostly idle connections cheaply.
//!
//! Two modes:
//!
//! - **Level-triggered** (the default): a socket is reported as long as it *is* ready, exactly
//!   like poll. Forgetting to read everything is harmless; the next wait reports it again.
//! - **Edge-triggered** (`EPOLLET`): a socket is reported when it *becomes* ready. After an
//!   event the program must read (or write) until `WouldBlock`: bytes left behind produce no
//!   new event until more arrive, and the connection stalls. In return the interest can be
//!   registered once for both directions and never changed.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use nix::sys::epoll::{Epoll as Instance, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use crate::readiness::{Event, Interest, Readiness, Source, timeout_ms};

/// The `epoll(7)` readiness API, level- or edge-triggered.
#[derive(Debug)]
pub struct Epoll {
    instance: Instance,
    edge: bool,
    ready: Vec<EpollEvent>,
}

impl Epoll {
    /// A new epoll instance (`epoll_create1(EPOLL_CLOEXEC)`); `edge` selects `EPOLLET`.
    pub fn new(edge: bool) -> io::Result<Self> {
        Ok(Self {
            instance: Instance::new(EpollCreateFlags::EPOLL_CLOEXEC)?,
            edge,
            ready: vec![EpollEvent::empty(); 1024],
        })
    }

    fn flags(&self, interest: Interest) -> EpollFlags {
        let mut flags = EpollFlags::empty();
        if interest.read {
            flags |= EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP;
        }
        if interest.write {
            flags |= EpollFlags::EPOLLOUT;
        }
        if self.edge {
            flags |= EpollFlags::EPOLLET;
        }
        flags
    }
}

// ANCHOR: epoll
impl Readiness for Epoll {
    fn name(&self) -> &'static str {
        if self.edge { "epoll-et" } else { "epoll" }
    }

    fn edge_triggered(&self) -> bool {
        self.edge
    }

    fn register(&mut self, source: &Source<'_>) -> io::Result<()> {
        let event = EpollEvent::new(self.flags(source.interest), source.token as u64);
        Ok(self.instance.add(source.fd, event)?) // epoll_ctl(EPOLL_CTL_ADD)
    }

    fn reregister(&mut self, source: &Source<'_>) -> io::Result<()> {
        let mut event = EpollEvent::new(self.flags(source.interest), source.token as u64);
        Ok(self.instance.modify(source.fd, &mut event)?) // epoll_ctl(EPOLL_CTL_MOD)
    }

    fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        Ok(self.instance.delete(fd)?) // epoll_ctl(EPOLL_CTL_DEL)
    }

    fn wait<'a>(
        &mut self,
        _sources: impl Iterator<Item = Source<'a>>, // Never walked: the set is in the kernel.
        timeout: Option<Duration>,
        events: &mut Vec<Event>,
    ) -> io::Result<()> {
        let timeout = EpollTimeout::try_from(timeout_ms(timeout)).unwrap_or(EpollTimeout::MAX);
        let n = match self.instance.wait(&mut self.ready, timeout) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => return Ok(()), // A signal: nothing ready.
            Err(e) => return Err(e.into()),
        };
        // Only the ready ones come back: O(ready), however many are watched.
        for e in &self.ready[..n] {
            let f = e.events();
            let err = f.intersects(EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP);
            events.push(Event {
                token: e.data() as usize,
                readable: err || f.intersects(EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP),
                writable: err || f.contains(EpollFlags::EPOLLOUT),
            });
        }
        Ok(())
    }
}
// ANCHOR_END: epoll
