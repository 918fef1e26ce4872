//! A blocking `read` parks the thread; a non-blocking one returns `WouldBlock` at once.
//!
//! When a blocking `read(2)` finds the receive buffer empty, the kernel puts the calling thread
//! to sleep (state `S`, "interruptible sleep", in `/proc`) and wakes it when bytes or a FIN
//! arrive. The thread uses no CPU meanwhile, and can do nothing else either. With
//! `O_NONBLOCK` set, the same call returns `EAGAIN` immediately and the thread stays free.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::wait;

use crate::loopback_pair;

/// What [`blocking_read`] saw.
#[derive(Debug, Clone)]
pub struct BlockingRead {
    /// How long the `read` call took to return.
    pub waited: Duration,
    /// The bytes it returned.
    pub got: Vec<u8>,
    /// The reader thread's scheduler state while it waited (`S` = sleeping), where the system
    /// shows it (Linux's `/proc/self/task/<tid>/stat`); `None` elsewhere.
    pub state_while_waiting: Option<char>,
}

/// Starts a blocking `read` on a socket with nothing to read, looks at the reader thread's
/// state while it waits, and sends it a few bytes after `delay`.
pub fn blocking_read(delay: Duration) -> io::Result<BlockingRead> {
    let (mut client, mut server) = loopback_pair()?;
    // A safety net only: the read should return long before this.
    server.set_read_timeout(Some(delay + Duration::from_secs(10)))?;
    let (tid_tx, tid_rx) = mpsc::channel();
    // ANCHOR: blocking_read
    let reader = thread::spawn(move || -> io::Result<(Duration, Vec<u8>)> {
        let _ = tid_tx.send(thread_id());
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let n = server.read(&mut buf)?; // Parks here until the client writes.
        Ok((started.elapsed(), buf[..n].to_vec()))
    });
    let tid = tid_rx
        .recv()
        .map_err(|_| io::Error::other("reader thread died"))?;
    let state_while_waiting = wait_for_sleep(tid, Duration::from_secs(5));
    thread::sleep(delay); // The experiment: let the reader wait visibly.
    client.write_all(b"wake up")?;
    // ANCHOR_END: blocking_read
    let (waited, got) = reader
        .join()
        .map_err(|_| io::Error::other("reader panicked"))??;
    Ok(BlockingRead {
        waited,
        got,
        state_while_waiting,
    })
}

// ANCHOR: nonblocking_read
/// The same read on a socket with `O_NONBLOCK`: returns at once with `WouldBlock` (`EAGAIN`).
/// Returns the error and how long the call took.
pub fn nonblocking_read() -> io::Result<(io::Error, Duration)> {
    let (_client, mut server) = loopback_pair()?;
    server.set_nonblocking(true)?; // O_NONBLOCK: ioctl(FIONBIO) on Linux
    let started = Instant::now();
    let mut buf = [0u8; 64];
    match server.read(&mut buf) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok((e, started.elapsed())),
        Err(e) => Err(e),
        Ok(n) => Err(io::Error::other(format!(
            "read returned {n} bytes; nothing was sent"
        ))),
    }
}
// ANCHOR_END: nonblocking_read

/// The calling thread's id as the kernel knows it (`gettid`), where `/proc` can show it.
#[cfg(target_os = "linux")]
fn thread_id() -> Option<i32> {
    Some(nix::unistd::gettid().as_raw())
}

/// Other systems have no `/proc/<pid>/task`, so there is no state to look at.
#[cfg(not(target_os = "linux"))]
fn thread_id() -> Option<i32> {
    None
}

/// A thread's scheduler state letter from `/proc/self/task/<tid>/stat` (Linux only): `R`
/// running, `S` sleeping in an interruptible wait (such as a blocking read), and so on.
pub fn thread_state(tid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The second field, the thread's name, is in parentheses and may contain spaces, so the
    // state is the first character after the *last* closing parenthesis.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Polls the thread's state (bounded by `limit`) until it is sleeping, and returns the last
/// state seen: the reader reaches its `read` a few microseconds after it starts.
fn wait_for_sleep(tid: Option<i32>, limit: Duration) -> Option<char> {
    let tid = tid?;
    wait::last(limit, || thread_state(tid), |state| *state == Some('S'))
}
