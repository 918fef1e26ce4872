//! Passing an open descriptor to another process: `sendmsg(2)` with an `SCM_RIGHTS` control
//! message, `recvmsg(2)` on the other side (unix(7), cmsg(3)).
//!
//! The kernel does not send a number: it installs a *new* descriptor in the receiver's table
//! that refers to the same open file description as the sender's, as `dup(2)` would across
//! processes. The receiver can use it even if it could never have opened the thing itself: a
//! file it has no permission for or no name for, or an accepted TCP connection. A supervisor
//! that accepts connections and hands each to a worker process works this way, and so does
//! systemd's socket activation over its notify socket.
//!
//! Two details every real implementation gets right:
//!
//! - At least one byte of ordinary data travels with the control message: on a stream socket
//!   a `sendmsg` of zero bytes sends nothing at all, control data included.
//! - The receiver asks for `MSG_CMSG_CLOEXEC` (Linux), so a descriptor it receives is closed
//!   in any program it later `exec`s, instead of leaking into it.

use std::io::{self, ErrorKind, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

// ANCHOR: send_fd
/// Sends one descriptor over `channel`, with one byte of data to carry it.
pub fn send_fd(channel: &UnixStream, fd: BorrowedFd<'_>) -> io::Result<()> {
    let fds = [fd.as_raw_fd()];
    let rights = [ControlMessage::ScmRights(&fds)];
    let data = [IoSlice::new(b"F")];
    sendmsg::<()>(channel.as_raw_fd(), &data, &rights, MsgFlags::empty(), None)?;
    Ok(())
}
// ANCHOR_END: send_fd

// ANCHOR: recv_fd
/// Receives one descriptor sent with [`send_fd`], and owns it from then on.
pub fn recv_fd(channel: &UnixStream) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut data = [IoSliceMut::new(&mut byte)];
    // Room for one control message holding one descriptor.
    let mut space = nix::cmsg_space!([RawFd; 1]);
    // Linux can mark the new descriptor close-on-exec as it is installed; macOS cannot.
    #[cfg(target_os = "linux")]
    let flags = MsgFlags::MSG_CMSG_CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    let flags = MsgFlags::empty();
    let msg = recvmsg::<()>(channel.as_raw_fd(), &mut data, Some(&mut space), flags)?;
    if msg.bytes == 0 {
        return Err(io::Error::new(
            ErrorKind::UnexpectedEof,
            "the sender closed without sending a descriptor",
        ));
    }
    // Every descriptor received is ours now and must be owned (and so closed) by someone,
    // even ones we did not expect; `cmsgs()` fails if the kernel had to truncate them.
    let mut received: Vec<OwnedFd> = Vec::new();
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            received.extend(fds.into_iter().map(own));
        }
    }
    let mut received = received.into_iter();
    received.next().ok_or_else(|| {
        io::Error::new(
            ErrorKind::InvalidData,
            "a message came, but no descriptor with it",
        )
    })
}
// ANCHOR_END: recv_fd

// ANCHOR: own
/// Takes ownership of a descriptor that `recvmsg` has just installed in our table.
#[allow(unsafe_code)]
fn own(fd: RawFd) -> OwnedFd {
    // Safety: `from_raw_fd` requires that `fd` be open and owned by nobody else. The kernel
    // created it inside the `recvmsg` call that returned it, and only this function ever sees
    // that number, once; nix gives the number as a plain integer, so this is the one place
    // where it becomes an owned descriptor, closed when dropped.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
// ANCHOR_END: own

/// Accepts one connection on `listener`, waiting at most `limit` (`poll(2)` first, so a
/// receiver that never comes is an error, not a hang).
pub fn accept_within(listener: &UnixListener, limit: Duration) -> io::Result<UnixStream> {
    let millis = i32::try_from(limit.as_millis()).unwrap_or(i32::MAX);
    let timeout = PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(
        std::os::fd::AsFd::as_fd(listener),
        PollFlags::POLLIN,
    )];
    if poll(&mut fds, timeout)? == 0 {
        return Err(io::Error::new(
            ErrorKind::TimedOut,
            format!("nobody connected within {limit:?}"),
        ));
    }
    Ok(listener.accept()?.0)
}

/// What the receiving process writes through the descriptor it was given: its own pid, so
/// that whoever reads it can tell which process wrote.
pub fn greeting(pid: u32) -> String {
    format!("hello from pid {pid}, through a descriptor it never opened\n")
}

// ANCHOR: hand_over
/// Hands `fd` to another process: listens on `path`, starts `bin receive-fd --socket PATH`
/// (this crate's binary, optionally as the user and group `as_user`), sends `fd` over the
/// connection it makes, and waits for it to finish. The receiver writes [`greeting`] through
/// the descriptor and exits. Returns the receiver's process id.
pub fn hand_over(
    bin: &std::path::Path,
    path: &std::path::Path,
    fd: BorrowedFd<'_>,
    as_user: Option<(u32, u32)>,
) -> io::Result<u32> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    // Mode 0777, so that another user may connect (see `access`).
    let listener = crate::access::bind_with_mode(path, 0o777)?;
    let mut cmd = Command::new(bin);
    cmd.arg("receive-fd").arg("--socket").arg(path);
    if let Some((uid, gid)) = as_user {
        cmd.uid(uid).gid(gid);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let sent = accept_within(&listener, crate::STEP_TIMEOUT).and_then(|c| send_fd(&c, fd));
    let out = crate::finish(child, crate::STEP_TIMEOUT)?;
    sent?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "the receiver failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(pid)
}
// ANCHOR_END: hand_over

// ANCHOR: receive_and_greet
/// The receiving side, run by the hidden `receive-fd` subcommand in its own process: connects
/// to `path`, receives one descriptor, and writes [`greeting`] through it.
pub fn receive_and_greet(path: &std::path::Path) -> io::Result<()> {
    use std::io::Write;

    let channel = UnixStream::connect(path)?;
    channel.set_read_timeout(Some(crate::STEP_TIMEOUT))?; // recvmsg obeys SO_RCVTIMEO too.
    let fd = recv_fd(&channel)?;
    // A descriptor is a descriptor: File's `write` is write(2), which works on a socket too.
    let mut through = std::fs::File::from(fd);
    through.write_all(greeting(std::process::id()).as_bytes())
}
// ANCHOR_END: receive_and_greet
