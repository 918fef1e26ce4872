//! `SA_RESTART`, and the socket calls it does not restart: a read with a timeout (Linux).
//!
//! A handler installed with `SA_RESTART` asks the kernel to restart an interrupted call
//! instead of failing it with `EINTR`. signal(7) lists the exceptions, which are "never
//! restarted ... regardless of the use of `SA_RESTART`": among them the socket calls
//! (`read(2)`, `recv(2)`, `accept(2)`, ...) on a socket that has a timeout set with
//! `SO_RCVTIMEO` (std's `set_read_timeout`). So code that sets a socket timeout must handle
//! `Interrupted` even if every handler in the program uses `SA_RESTART`.
//!
//! [`read_through_signal`] shows both sides: one `read` on a socket, a `SIGUSR2` (handler with
//! `SA_RESTART`) delivered while the thread sleeps in it, then data. Without a timeout the
//! read is restarted and returns the data; with one, it fails with `Interrupted`.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::loopback_pair;
use crate::read::thread_state;

/// How many `SIGUSR2`s the handler has run for. An atomic add is async-signal-safe.
static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_sigusr2(_: nix::libc::c_int) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// Installs [`on_sigusr2`] for `SIGUSR2`, *with* `SA_RESTART`.
#[allow(unsafe_code)]
fn install_restarting_handler() -> io::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_sigusr2),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // Safety: a handler runs at an arbitrary point and may only do async-signal-safe work;
    // ours does one atomic add on a static, which is. No other code here handles SIGUSR2.
    unsafe { sigaction(Signal::SIGUSR2, &action) }?;
    Ok(())
}

/// What the one `read` returned after a signal hit it.
#[derive(Debug)]
pub struct Restart {
    /// The read's result: the data, or the error kind (`Interrupted`).
    pub read: Result<Vec<u8>, ErrorKind>,
    /// Signals the handler ran for while the reader slept in its read.
    pub handled: usize,
}

// ANCHOR: read_through_signal
/// One `read` with `timeout` as the socket's `SO_RCVTIMEO` (`None`: no timeout), hit by a
/// `SIGUSR2` whose handler has `SA_RESTART`, then given data.
pub fn read_through_signal(timeout: Option<Duration>) -> io::Result<Restart> {
    install_restarting_handler()?;
    let (mut client, mut server) = loopback_pair()?;
    server.set_read_timeout(timeout)?;
    let (ids_tx, ids_rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let _ = ids_tx.send((pthread_self(), nix::unistd::gettid().as_raw()));
        let mut buf = [0u8; 64];
        // One call, no retry loop: we want to see what the kernel makes of it.
        server.read(&mut buf).map(|n| buf[..n].to_vec())
    });
    // ANCHOR_END: read_through_signal
    let (thread, tid) = ids_rx
        .recv()
        .map_err(|_| io::Error::other("reader thread died"))?;
    let limit = Instant::now() + Duration::from_secs(10);
    let asleep = || thread_state(tid) == Some('S');
    while !asleep() {
        if Instant::now() > limit {
            return Err(io::Error::other("the reader never blocked in read"));
        }
        thread::yield_now();
    }
    let before = HANDLED.load(Ordering::SeqCst);
    pthread_kill(thread, Signal::SIGUSR2)?;
    while HANDLED.load(Ordering::SeqCst) == before {
        if Instant::now() > limit {
            return Err(io::Error::other("the signal was never handled"));
        }
        thread::yield_now();
    }
    // Either the read was restarted (the thread sleeps in it again) or it failed (the thread
    // has finished). Wait for one of the two before sending, so the data cannot be what woke it.
    while !reader.is_finished() && !asleep() {
        if Instant::now() > limit {
            return Err(io::Error::other("the reader neither slept nor finished"));
        }
        thread::yield_now();
    }
    client.write_all(b"data after the signal")?;
    let read = reader
        .join()
        .map_err(|_| io::Error::other("reader panicked"))?
        .map_err(|e| e.kind());
    Ok(Restart {
        read,
        handled: HANDLED.load(Ordering::SeqCst) - before,
    })
}
