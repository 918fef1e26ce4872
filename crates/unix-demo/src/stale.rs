//! The stale socket file: a server that crashed (or simply exited without `unlink(2)`; std's
//! `UnixListener` never removes its file) leaves its socket file behind, and the next `bind(2)`
//! to that path fails with `EADDRINUSE` although nothing is listening.
//!
//! Removing the file blindly before every `bind` is the common fix and a bad one: if another
//! instance of the server *is* running, its file is unlinked from under it and it becomes
//! unreachable, while still running; and a typo in a path can delete a file that was never a
//! socket. [`bind_fresh`] removes the file only when it is a socket *and* nobody answers on it.
//! A small window remains between that probe and the `unlink` (another server could start in
//! it); servers that must close it take a lock file (`flock(2)`) beside the socket first.
//!
//! On the way out, [`OwnFile::remove_if_ours`] removes the file only if it is still the one
//! this server created: a successor may already have replaced it.

use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::names::is_socket_file;

/// How [`bind_fresh`] got its listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The path was free.
    Fresh,
    /// A stale socket file was there; nobody answered on it, so it was removed.
    ReplacedStale,
}

// ANCHOR: bind_fresh
/// Binds a listener to `path`, removing a stale socket file first if one is in the way.
///
/// Refuses, leaving everything as it is, when the path holds something that is not a socket
/// (`AlreadyExists`) or a socket on which a server answers (`AddrInUse`).
pub fn bind_fresh(path: &Path) -> io::Result<(UnixListener, Bound)> {
    match UnixListener::bind(path) {
        Ok(listener) => return Ok((listener, Bound::Fresh)),
        Err(e) if e.kind() == ErrorKind::AddrInUse => {} // Something is there: look at it.
        Err(e) => return Err(e),
    }
    if !is_socket_file(path) {
        return Err(io::Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket; not removing it",
                path.display()
            ),
        ));
    }
    // Probe: a live server accepts the connection (it will see a client that says nothing and
    // leaves); a stale file refuses it, as nothing is bound to it any more.
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            ErrorKind::AddrInUse,
            format!("a server is already listening on {}", path.display()),
        )),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            fs::remove_file(path)?;
            Ok((UnixListener::bind(path)?, Bound::ReplacedStale))
        }
        Err(e) => Err(e),
    }
}
// ANCHOR_END: bind_fresh

/// The socket file a server created, remembered by its inode number so that the server
/// removes it on the way out only if it is still the same file.
#[derive(Debug)]
pub struct OwnFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

// ANCHOR: remove_if_ours
impl OwnFile {
    /// Remembers the file now at `path` (call it right after `bind`).
    pub fn new(path: &Path) -> io::Result<Self> {
        let meta = fs::symlink_metadata(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Removes the file if it is still the one remembered; returns whether it did. A file
    /// that is gone, or that another server has put in its place, is left alone.
    pub fn remove_if_ours(&self) -> io::Result<bool> {
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.dev() == self.dev && meta.ino() == self.ino => {
                fs::remove_file(&self.path)?;
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
// ANCHOR_END: remove_if_ours
