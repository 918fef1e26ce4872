//! The cost of spinning: retrying `WouldBlock` in a tight loop burns a whole core.
//!
//! A non-blocking read that returns `WouldBlock` tells you "not now", not "when". A loop that
//! simply tries again keeps the CPU busy doing nothing useful, while a blocking read sleeps in
//! the kernel for free. [`spin_vs_block`] waits the same wall-clock time both ways and measures
//! each waiting thread's CPU time with `getrusage(2)`. The fix is to ask the kernel to wake us
//! when a socket is ready: `select`, `poll` and `epoll`, chapter 7.

use std::io::{self, ErrorKind, Read, Write};
use std::thread;
use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

use crate::loopback_pair;

/// CPU time spent by two readers that each waited `wall` for one byte.
#[derive(Debug, Clone, Copy)]
pub struct CpuCost {
    /// How long each reader waited (wall-clock).
    pub wall: Duration,
    /// CPU time of the reader that retried `WouldBlock` in a loop.
    pub spinning: Duration,
    /// How many `read` calls the spinning reader made.
    pub spins: u64,
    /// CPU time of the reader that blocked in `read`.
    pub blocking: Duration,
}

/// CPU time (user + system) used so far by the calling thread. Linux can report one thread
/// (`RUSAGE_THREAD`); elsewhere this is the whole process, which is close enough while the
/// other threads of the experiment are asleep.
pub fn thread_cpu_time() -> io::Result<Duration> {
    #[cfg(target_os = "linux")]
    let who = UsageWho::RUSAGE_THREAD;
    #[cfg(not(target_os = "linux"))]
    let who = UsageWho::RUSAGE_SELF;
    let usage = getrusage(who)?;
    let micros = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    Ok(micros(usage.user_time()) + micros(usage.system_time()))
}

/// Waits `wall` for one byte twice: once spinning on a non-blocking socket, once blocked.
pub fn spin_vs_block(wall: Duration) -> io::Result<CpuCost> {
    let (spinning, spins) = wait_for_one_byte(wall, true)?;
    let (blocking, _) = wait_for_one_byte(wall, false)?;
    Ok(CpuCost {
        wall,
        spinning,
        spins,
        blocking,
    })
}

// ANCHOR: wait_for_one_byte
/// One reader waits for a byte that a writer sends after `wall`; returns the reader's CPU
/// time and how many `read` calls it made.
fn wait_for_one_byte(wall: Duration, spin: bool) -> io::Result<(Duration, u64)> {
    let (mut writer, mut reader) = loopback_pair()?;
    reader.set_nonblocking(spin)?;
    reader.set_read_timeout(Some(wall + Duration::from_secs(10)))?; // A safety net only.
    let waiter = thread::spawn(move || -> io::Result<(Duration, u64)> {
        let cpu_before = thread_cpu_time()?;
        let mut calls = 0u64;
        let mut buf = [0u8; 1];
        loop {
            calls += 1;
            match reader.read(&mut buf) {
                Ok(_) => break,
                // Nothing yet: a spinning reader just asks again, immediately.
                Err(e) if e.kind() == ErrorKind::WouldBlock && spin => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok((thread_cpu_time()? - cpu_before, calls))
    });
    thread::sleep(wall); // The experiment: both readers wait this long.
    writer.write_all(b"!")?;
    waiter
        .join()
        .map_err(|_| io::Error::other("reader panicked"))?
}
// ANCHOR_END: wait_for_one_byte
