//! Who is at the other end. Both ends of a Unix socket live on one kernel, and the kernel
//! records who connected: a server can ask for its client's user and group ids (and on Linux
//! its process id) and decide what to allow, with no password on the wire. Docker's and
//! PostgreSQL's local sockets work this way (PostgreSQL's "peer" authentication).
//!
//! - Linux: `getsockopt(SO_PEERCRED)` returns a `struct ucred` (pid, uid, gid), as they were
//!   when the peer called `connect(2)` (or `socketpair(2)`), not as they are now (unix(7),
//!   socket(7)).
//! - macOS and the BSDs: `getpeereid(3)` returns the uid and gid; no pid.

use std::io;
use std::os::unix::net::UnixStream;

/// The credentials of the process at the other end of a Unix stream socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Its effective user id.
    pub uid: u32,
    /// Its effective group id.
    pub gid: u32,
    /// Its process id (Linux only).
    pub pid: Option<i32>,
}

// ANCHOR: peer_of
impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "uid {} gid {}", self.uid, self.gid)?;
        match self.pid {
            Some(pid) => write!(f, " pid {pid}"),
            None => Ok(()),
        }
    }
}

/// Asks the kernel who is at the other end of `stream`.
#[cfg(target_os = "linux")]
pub fn peer_of(stream: &UnixStream) -> io::Result<Peer> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

    let cred = getsockopt(stream, PeerCredentials)?; // SO_PEERCRED
    Ok(Peer {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: Some(cred.pid()),
    })
}
// ANCHOR_END: peer_of

/// Asks the kernel who is at the other end of `stream` (`getpeereid(3)`: no pid).
#[cfg(target_os = "macos")]
pub fn peer_of(stream: &UnixStream) -> io::Result<Peer> {
    let (uid, gid) = nix::unistd::getpeereid(stream)?;
    Ok(Peer {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        pid: None,
    })
}

/// Neither Linux nor macOS: the course does not know this system's call.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn peer_of(_stream: &UnixStream) -> io::Result<Peer> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "peer credentials: only Linux (SO_PEERCRED) and macOS (getpeereid) are covered",
    ))
}

/// This process's own effective ids and pid, to compare a peer with.
pub fn me() -> Peer {
    Peer {
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
        pid: cfg!(target_os = "linux").then(|| std::process::id() as i32),
    }
}

// ANCHOR: peer_of_child
/// Listens on `path`, starts `bin probe --path PATH` (this crate's binary: it connects and
/// exits), optionally as the user and group `as_user`, accepts its connection, and asks who
/// it is. Returns what the kernel said and the child's real process id, to compare.
pub fn peer_of_child(
    bin: &std::path::Path,
    path: &std::path::Path,
    as_user: Option<(u32, u32)>,
) -> io::Result<(Peer, u32)> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    // Mode 0777, so that another user may connect (see `access`).
    let listener = crate::access::bind_with_mode(path, 0o777)?;
    let mut cmd = Command::new(bin);
    cmd.arg("probe").arg("--path").arg(path);
    if let Some((uid, gid)) = as_user {
        cmd.uid(uid).gid(gid);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let accepted = crate::pass::accept_within(&listener, crate::STEP_TIMEOUT);
    let out = crate::finish(child, crate::STEP_TIMEOUT)?;
    let peer = peer_of(&accepted?)?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "the probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok((peer, pid))
}
// ANCHOR_END: peer_of_child
