//! `EINTR`: a blocking call cut short by a signal, and why the answer is "try again".
//!
//! When a signal is delivered to a thread blocked in a system call such as `read(2)`, the
//! kernel runs the signal handler and then either restarts the call (if the handler was
//! installed with `SA_RESTART`) or makes it fail with `EINTR`, which Rust reports as
//! [`ErrorKind::Interrupted`]. Nothing was read and nothing is wrong: the call simply did not
//! finish. Every loop around a raw `read` or `write` therefore retries on `Interrupted`;
//! std's `read_exact`, `write_all` and `read_to_end` already do.
//!
//! To show it, [`interrupted_read`] installs a do-nothing `SIGUSR1` handler *without*
//! `SA_RESTART` and sends the signal to a thread blocked in `read`.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::loopback_pair;

/// The handler: it does nothing. Its only purpose is to exist, so that `SIGUSR1` interrupts
/// the blocked call instead of killing the process (the default action).
extern "C" fn on_sigusr1(_: nix::libc::c_int) {}

/// Installs [`on_sigusr1`] for `SIGUSR1`, without `SA_RESTART`.
#[allow(unsafe_code)]
fn install_handler() -> io::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_sigusr1),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // Safety: `sigaction` is unsafe because a handler runs at an arbitrary point in the
    // program and may only call async-signal-safe functions. Ours has an empty body, so it
    // calls nothing at all; and no other code in this crate installs a SIGUSR1 handler.
    unsafe { sigaction(Signal::SIGUSR1, &action) }?;
    Ok(())
}

/// What [`interrupted_read`] saw.
#[derive(Debug, Clone)]
pub struct InterruptReport {
    /// How many times the reader's `read` failed with `Interrupted` before it got data.
    pub interruptions: usize,
    /// The bytes finally read after retrying.
    pub got: Vec<u8>,
}

// ANCHOR: read_retrying
/// Reads into `buf`, retrying when a signal interrupts the call; counts the interruptions.
fn read_retrying(
    socket: &mut impl Read,
    buf: &mut [u8],
    seen: &mpsc::Sender<()>,
) -> io::Result<usize> {
    loop {
        match socket.read(buf) {
            // The call was cut short before any byte was read: nothing lost, just retry.
            Err(e) if e.kind() == ErrorKind::Interrupted => {
                let _ = seen.send(());
                continue;
            }
            other => return other,
        }
    }
}
// ANCHOR_END: read_retrying

/// Blocks a thread in `read`, interrupts it with `SIGUSR1`, then sends it data.
pub fn interrupted_read() -> io::Result<InterruptReport> {
    install_handler()?;
    let (mut client, mut server) = loopback_pair()?;
    server.set_read_timeout(Some(Duration::from_secs(20)))?; // A safety net only.
    let (thread_tx, thread_rx) = mpsc::channel();
    let (seen_tx, seen_rx) = mpsc::channel();
    let reader = thread::spawn(move || -> io::Result<Vec<u8>> {
        let _ = thread_tx.send(pthread_self());
        let mut buf = [0u8; 64];
        let n = read_retrying(&mut server, &mut buf, &seen_tx)?;
        Ok(buf[..n].to_vec())
    });
    let target = thread_rx
        .recv()
        .map_err(|_| io::Error::other("reader thread died"))?;
    // A signal that lands before the reader is inside `read` interrupts nothing, so signal
    // until the reader reports an interruption (a bounded number of tries).
    let mut interruptions = 0;
    for _ in 0..500 {
        pthread_kill(target, Signal::SIGUSR1)?;
        if seen_rx.recv_timeout(Duration::from_millis(10)).is_ok() {
            interruptions += 1;
            break;
        }
    }
    client.write_all(b"after the signal")?;
    let got = reader
        .join()
        .map_err(|_| io::Error::other("reader panicked"))??;
    interruptions += seen_rx.try_iter().count();
    Ok(InterruptReport { interruptions, got })
}
