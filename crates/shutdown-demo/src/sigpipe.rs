//! Why `EPIPE` does not kill a Rust program: `SIGPIPE`, its disposition, and `MSG_NOSIGNAL`.
//!
//! A write on a connection that is closed for sending (the peer's RST arrived, or we called
//! `shutdown(Write)`) fails with `EPIPE`, and the kernel also sends the writing thread
//! `SIGPIPE` unless the call passed `MSG_NOSIGNAL` (send(2), socket(7) "Signals"). `SIGPIPE`'s
//! default action is to terminate the process (signal(7)). A C server that forgets this dies
//! the first time a client hangs up at the wrong moment.
//!
//! A Rust program is protected twice over, and this module takes the two apart:
//!
//! - The runtime sets `SIGPIPE` to *ignored* before `main` runs; [`sigpipe_ignored`] reads the
//!   disposition from the kernel (`SigIgn` in `/proc/self/status`).
//! - std's `TcpStream` writes with `send(2)` and `MSG_NOSIGNAL` on Linux, so no signal is
//!   raised at all, whatever the disposition (`strace` shows `sendto(..., MSG_NOSIGNAL, ...)`).
//!
//! To see which one matters, [`restore_default_sigpipe`] gives the process back the default
//! disposition, as a C program has it, and [`write_after_reset`] then writes to a connection
//! the peer has reset, either with std's `write` or with a plain `write(2)` (nix's
//! `unistd::write`, which passes no flags). The plain one kills the process with `SIGPIPE`;
//! std's returns `EPIPE`. The experiment needs a process of its own: the binary's hidden
//! `sigpipe` subcommand runs it, and the tests watch how that process ends.

use std::io::{self, Read, Write};

use nix::sys::signal::{SigHandler, Signal, signal};

use crate::{loopback_pair, reset};

/// Which call writes to the reset connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// `TcpStream::write`: `send(2)` with `MSG_NOSIGNAL` on Linux.
    Std,
    /// `nix::unistd::write`: a plain `write(2)`, no flags, like C's `write`.
    Raw,
}

/// Whether this process ignores `SIGPIPE`, as the kernel reports it: bit `SIGPIPE - 1` of the
/// `SigIgn` mask in `/proc/self/status` (Linux).
pub fn sigpipe_ignored() -> io::Result<bool> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| io::Error::other("no SigIgn line in /proc/self/status"))?;
    Ok(mask & (1 << (Signal::SIGPIPE as u64 - 1)) != 0)
}

// ANCHOR: restore_default_sigpipe
/// Gives `SIGPIPE` back its default action, termination, as a C program has it.
#[allow(unsafe_code)] // Audited: the one call below, explained in its safety note.
pub fn restore_default_sigpipe() -> io::Result<()> {
    // Safety: `signal` is unsafe because a handler it installs runs at an arbitrary point and
    // may call only async-signal-safe functions. `SigDfl` installs no handler at all: the
    // kernel applies the default action itself. Nothing in this process relies on SIGPIPE
    // being ignored (it runs only the experiment below), and no other thread is running.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }?;
    Ok(())
}
// ANCHOR_END: restore_default_sigpipe

// ANCHOR: write_after_reset
/// Makes a connection whose peer has closed and answered our first write with RST, then
/// writes to it once more with `writer`, narrating each step to `out` first (a process killed
/// by the write cannot say anything afterwards), and last what the write returned, if the
/// process is still alive to see it. The write's own error is the experiment's result, not
/// this function's: `Err` means the experiment could not be set up.
pub fn write_after_reset(writer: Writer, out: &mut impl Write) -> io::Result<()> {
    let (mut ours, peer) = loopback_pair()?;
    drop(peer); // FIN.
    let eof = ours.read(&mut [0u8; 1])?; // 0: we are in CLOSE-WAIT.
    let first = ours.write(b"hello?")?; // Succeeds, and draws the peer's RST.
    reset::wait_for_reset(&ours)?;
    writeln!(
        out,
        "read -> {eof}, first write -> {first} bytes, RST received; SIGPIPE ignored: {}",
        sigpipe_ignored()?
    )?;
    writeln!(out, "writing again with {writer:?}")?;
    out.flush()?;
    let result = match writer {
        Writer::Std => ours.write(b"hello?"),
        Writer::Raw => nix::unistd::write(&ours, b"hello?").map_err(io::Error::from),
    };
    writeln!(out, "the write returned {result:?}")
}
// ANCHOR_END: write_after_reset
