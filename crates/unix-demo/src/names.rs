//! Names for Unix sockets: a path, which `bind(2)` creates as a file of type *socket*, and on
//! Linux an abstract name, which lives in a namespace of its own (one per network namespace)
//! and is no file at all (unix(7), "Address format").
//!
//! The difference that matters in practice: a path name is a file, and a file outlives the
//! socket that made it. Closing the listener (or crashing) leaves the file behind, and the next
//! `bind` to that path fails until someone removes it ([`crate::stale`]). An abstract name
//! disappears with the last socket bound to it. In exchange, a path has owner and permission
//! bits that control who may connect ([`crate::access`]); an abstract name has none, so any
//! process in the same network namespace can connect to it.

use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// Whether `path` exists and is a socket file (`S_IFSOCK`), as `ls -l` shows with an `s`.
pub fn is_socket_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// What happened to a name around a listener's life.
#[derive(Debug)]
pub struct NameLife {
    /// While the listener was open, the name was visible: as a socket file (a path), or in
    /// `/proc/net/unix` (an abstract name).
    pub visible_while_open: bool,
    /// A client reached the listener by the name.
    pub connected: bool,
    /// After the listener was closed, the name was still visible.
    pub visible_after_close: bool,
    /// What a new `bind` to the same name gave after the close: `None` for success.
    pub rebind_error: Option<ErrorKind>,
}

// ANCHOR: path_name_life
/// Binds a listener to `path`, connects to it by that path, closes it, and binds again.
pub fn path_name_life(path: &Path) -> io::Result<NameLife> {
    let listener = UnixListener::bind(path)?; // Creates the socket file.
    let visible_while_open = is_socket_file(path);
    let connected = UnixStream::connect(path).is_ok();
    drop(listener); // close(2): the socket is gone, the file is not.
    let visible_after_close = is_socket_file(path);
    let rebind_error = UnixListener::bind(path).err().map(|e| e.kind());
    Ok(NameLife {
        visible_while_open,
        connected,
        visible_after_close,
        rebind_error,
    })
}
// ANCHOR_END: path_name_life

// ANCHOR: abstract_name_life
/// Binds a listener to the abstract name `name` (Linux), connects to it by name, closes it,
/// and binds again. `ss -x` and `/proc/net/unix` show abstract names with a leading `@`; the
/// name itself starts with a zero byte, which std adds for us.
#[cfg(target_os = "linux")]
pub fn abstract_name_life(name: &str) -> io::Result<NameLife> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;

    let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    let listener = UnixListener::bind_addr(&addr)?; // No file is created anywhere.
    let visible_while_open = listed_in_proc_net_unix(name)?;
    let connected = UnixStream::connect_addr(&addr).is_ok();
    drop(listener); // The name goes with the socket.
    let visible_after_close = listed_in_proc_net_unix(name)?;
    let rebind_error = UnixListener::bind_addr(&addr).err().map(|e| e.kind());
    Ok(NameLife {
        visible_while_open,
        connected,
        visible_after_close,
        rebind_error,
    })
}
// ANCHOR_END: abstract_name_life

/// Whether Linux's table of Unix sockets, `/proc/net/unix`, lists a *listening* socket bound
/// to the abstract name `name` (shown there as `@name`). The client's own end of a connection
/// has no name, and the listener's accepted sockets are not listening, so only the listener
/// counts. Columns: `Num RefCount Protocol Flags Type St Inode Path`; flag `00010000` is
/// `__SO_ACCEPTCON`, a listening socket.
#[cfg(target_os = "linux")]
pub fn listed_in_proc_net_unix(name: &str) -> io::Result<bool> {
    let table = fs::read_to_string("/proc/net/unix")?;
    let wanted = format!("@{name}");
    Ok(table.lines().skip(1).any(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols.get(3) == Some(&"00010000") && cols.get(7) == Some(&wanted.as_str())
    }))
}
