//! `select(2)`: the original. Three bitmaps (read, write, error) of descriptor numbers go in;
//! the kernel clears the bits of those not ready and hands them back.
//!
//! Its two costs are visible here. Every call rebuilds the bitmaps from every watched socket,
//! and the kernel scans them all, so a wait costs O(watched) however few are ready. And an
//! `fd_set` is a fixed bitmap of `FD_SETSIZE` (1024) bits: a descriptor numbered 1024 or more
//! cannot be put in it at all (in C, `FD_SET` would silently write past the end of the
//! bitmap; nix panics rather). [`Select::can_watch`] says so up front, so the server can
//! refuse such a connection with a clear message instead.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use nix::sys::select::{FD_SETSIZE, FdSet, select};
use nix::sys::time::{TimeVal, TimeValLike};

use crate::readiness::{Event, Readiness, Source};

/// The `select(2)` readiness API.
#[derive(Debug, Default)]
pub struct Select;

impl Readiness for Select {
    fn name(&self) -> &'static str {
        "select"
    }

    fn can_watch(&self, fd: RawFd) -> bool {
        usize::try_from(fd).is_ok_and(|fd| fd < FD_SETSIZE)
    }

    // select keeps no state in the kernel: nothing to register.
    fn register(&mut self, _: &Source<'_>) -> io::Result<()> {
        Ok(())
    }
    fn reregister(&mut self, _: &Source<'_>) -> io::Result<()> {
        Ok(())
    }
    fn deregister(&mut self, _: BorrowedFd<'_>) -> io::Result<()> {
        Ok(())
    }

    // ANCHOR: select
    fn wait<'a>(
        &mut self,
        sources: impl Iterator<Item = Source<'a>>,
        timeout: Option<Duration>,
        events: &mut Vec<Event>,
    ) -> io::Result<()> {
        // Rebuild both bitmaps from scratch: select overwrites them with its answer.
        let watched: Vec<Source<'a>> = sources
            .filter(|s| s.interest.read || s.interest.write)
            .collect();
        let (mut readable, mut writable) = (FdSet::new(), FdSet::new());
        for s in &watched {
            // The server never hands us such a descriptor (it checks `can_watch` first); if a
            // bug ever did, an error is better than nix's panic or C's memory corruption.
            if !self.can_watch(s.fd.as_raw_fd()) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "descriptor {} is beyond FD_SETSIZE ({FD_SETSIZE})",
                        s.fd.as_raw_fd()
                    ),
                ));
            }
            if s.interest.read {
                readable.insert(s.fd);
            }
            if s.interest.write {
                writable.insert(s.fd);
            }
        }
        // A `timeval` cannot hold years (nix panics: "TimeVal out of bounds"). Waiting at most a
        // day and then waiting again is the same to the loop, which recomputes its timeout.
        let mut tv = timeout.map(|t| {
            let t = t.min(Duration::from_secs(24 * 60 * 60));
            TimeVal::microseconds(t.as_micros().try_into().unwrap_or(i64::MAX))
        });
        match select(None, &mut readable, &mut writable, None, tv.as_mut()) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(()), // A signal: report nothing ready.
            Err(e) => return Err(e.into()),
        }
        // Then scan every watched socket again to find the ready ones: O(watched) both ways.
        for s in &watched {
            let r = s.interest.read && readable.contains(s.fd);
            let w = s.interest.write && writable.contains(s.fd);
            if r || w {
                events.push(Event {
                    token: s.token,
                    readable: r,
                    writable: w,
                });
            }
        }
        Ok(())
    }
    // ANCHOR_END: select
}

/// The highest descriptor number select can watch, plus one.
pub fn fd_setsize() -> usize {
    FD_SETSIZE
}

/// Whether `fd` could go in an `fd_set`.
pub fn fits(fd: &impl AsRawFd) -> bool {
    Select.can_watch(fd.as_raw_fd())
}
