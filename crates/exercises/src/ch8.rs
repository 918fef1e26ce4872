//! Chapter 8 exercises: Unix domain sockets (`bind(2)` to a path and the stale file a crash
//! leaves, `sendmsg(2)` with `SCM_RIGHTS`).

use std::fs;
use std::io::{self, ErrorKind, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};

// ANCHOR: ch8_listen_replacing_stale
/// Exercise 8.1: bind a listener to `path`. If a socket file is already there and nobody
/// answers on it (a crashed server's leftover), remove it and bind. If a server answers, fail
/// with `AddrInUse`; if the path holds something that is not a socket, fail with
/// `AlreadyExists`. In both failures, touch nothing.
pub fn listen_replacing_stale(path: &Path) -> io::Result<UnixListener> {
    // SOLUTION BEGIN: UnixListener::bind; on AddrInUse, check fs::symlink_metadata(path)'s
    // file_type().is_socket(), then UnixStream::connect(path): ConnectionRefused means stale, so
    // fs::remove_file and bind again.
    match UnixListener::bind(path) {
        Err(e) if e.kind() == ErrorKind::AddrInUse => {}
        other => return other,
    }
    if !fs::symlink_metadata(path)?.file_type().is_socket() {
        return Err(io::Error::new(ErrorKind::AlreadyExists, "not a socket"));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(ErrorKind::AddrInUse, "a server answers")),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            fs::remove_file(path)?;
            UnixListener::bind(path)
        }
        Err(e) => Err(e),
    }
    // SOLUTION END
}
// ANCHOR_END: ch8_listen_replacing_stale

// ANCHOR: ch8_send_fd
/// Exercise 8.2: send the open descriptor `fd` to the process at the other end of `channel`,
/// as an `SCM_RIGHTS` control message. (`unix_demo::pass::recv_fd` receives it.)
pub fn send_fd(channel: &UnixStream, fd: BorrowedFd<'_>) -> io::Result<()> {
    // SOLUTION BEGIN: nix's sendmsg::<()>(channel.as_raw_fd(), &[IoSlice::new(b"F")],
    // &[ControlMessage::ScmRights(&[fd.as_raw_fd()])], MsgFlags::empty(), None): at least one byte
    // must carry the control message.
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        channel.as_raw_fd(),
        &[IoSlice::new(b"F")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )?;
    Ok(())
    // SOLUTION END
}
// ANCHOR_END: ch8_send_fd
