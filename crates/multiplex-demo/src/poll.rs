//! `poll(2)`: an array of `{fd, events, revents}` structures instead of bitmaps.
//!
//! No `FD_SETSIZE` limit (any descriptor number works), and the caller's interest and the
//! kernel's answer live in separate fields, so nothing needs rebuilding because the kernel
//! overwrote it. But the whole array still crosses into the kernel on every call and is
//! scanned there, and the answer must be found by scanning it again: O(watched) per wait.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::readiness::{Event, Readiness, Source, timeout_ms};

/// The `poll(2)` readiness API.
#[derive(Debug, Default)]
pub struct Poll;

impl Readiness for Poll {
    fn name(&self) -> &'static str {
        "poll"
    }

    // Like select, poll keeps no state in the kernel between calls.
    fn register(&mut self, _: &Source<'_>) -> io::Result<()> {
        Ok(())
    }
    fn reregister(&mut self, _: &Source<'_>) -> io::Result<()> {
        Ok(())
    }
    fn deregister(&mut self, _: BorrowedFd<'_>) -> io::Result<()> {
        Ok(())
    }

    // ANCHOR: poll
    fn wait<'a>(
        &mut self,
        sources: impl Iterator<Item = Source<'a>>,
        timeout: Option<Duration>,
        events: &mut Vec<Event>,
    ) -> io::Result<()> {
        let mut tokens = Vec::new();
        let mut fds = Vec::new();
        for s in sources.filter(|s| s.interest.read || s.interest.write) {
            let mut flags = PollFlags::empty();
            if s.interest.read {
                flags |= PollFlags::POLLIN;
            }
            if s.interest.write {
                flags |= PollFlags::POLLOUT;
            }
            tokens.push(s.token);
            fds.push(PollFd::new(s.fd, flags));
        }
        let timeout = PollTimeout::try_from(timeout_ms(timeout)).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(()), // A signal: report nothing ready.
            Err(e) => return Err(e.into()),
        }
        for (fd, token) in fds.iter().zip(tokens) {
            let got = fd.revents().unwrap_or(PollFlags::empty());
            // Hang-up and error count as readable: the next read reports them.
            let r = got.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR);
            let w = got.intersects(PollFlags::POLLOUT | PollFlags::POLLERR);
            if r || w {
                events.push(Event {
                    token,
                    readable: r,
                    writable: w,
                });
            }
        }
        Ok(())
    }
    // ANCHOR_END: poll
}
