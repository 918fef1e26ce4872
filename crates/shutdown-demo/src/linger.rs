//! `SO_LINGER` with a zero timeout: the abortive close.
//!
//! With `SO_LINGER` set to `{on, 0 seconds}`, `close(2)` discards anything unsent, sends RST
//! and frees the connection at once. The peer's next read fails with `ConnectionReset`, and
//! no TIME-WAIT is left behind on either side. It is the "hang up on them" close: useful to
//! shed an abusive client instantly, harmful as a habit, since data in flight is lost.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::SockRef;

use crate::loopback_pair;

/// What an abortive close did.
#[derive(Debug)]
pub struct Abort {
    /// What the peer's next read returned.
    pub peer_read: io::Result<usize>,
    /// The aborted socket's local and peer addresses, to look for TIME-WAIT afterwards.
    pub addrs: (SocketAddr, SocketAddr),
}

// ANCHOR: abort
/// Closes `stream` with RST instead of FIN: `SO_LINGER` on with a timeout of zero, then close.
pub fn abort(stream: TcpStream) -> io::Result<()> {
    SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    drop(stream); // close(2): RST, no FIN, no TIME-WAIT.
    Ok(())
}
// ANCHOR_END: abort

/// Aborts our side of a fresh connection and returns what the peer saw.
pub fn abort_and_watch() -> io::Result<Abort> {
    let (ours, mut peer) = loopback_pair()?;
    let addrs = (ours.local_addr()?, ours.peer_addr()?);
    abort(ours)?;
    Ok(Abort {
        peer_read: peer.read(&mut [0u8; 16]),
        addrs,
    })
}
