//! A connected pair of TCP sockets on loopback: the starting point of most experiments after
//! chapter 1.
//!
//! Chapter 1 teaches every call in it (`socket(2)`, `bind(2)` to port 0, `listen(2)`,
//! `connect(2)`, `accept(2)`) and writes them out where the lesson is. The later chapters, the
//! exercises' grading tests and the robustness tests need a connection, not that lesson again,
//! so they take one from here. A chapter whose lesson *is* the setup (a buffer size set before
//! `connect`, say) still writes its own calls out.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// A connected pair of blocking TCP sockets on `127.0.0.1`: (client side, accepted server
/// side). The listener is dropped once the connection is accepted. No timeouts are set: the
/// experiments that study timeouts set their own; see [`loopback_pair_with_timeouts`] for the
/// rest.
pub fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((client, server))
}

/// [`loopback_pair`] with a read and a write timeout of `limit` on both sockets
/// (`SO_RCVTIMEO`, `SO_SNDTIMEO`), so that no experiment built on it can hang: a read or write
/// that waits longer fails with `WouldBlock` (Unix) or `TimedOut`.
pub fn loopback_pair_with_timeouts(limit: Duration) -> io::Result<(TcpStream, TcpStream)> {
    let (client, server) = loopback_pair()?;
    for s in [&client, &server] {
        s.set_read_timeout(Some(limit))?;
        s.set_write_timeout(Some(limit))?;
    }
    Ok((client, server))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// The two ends are each other's peer, on loopback, and bytes flow both ways.
    #[test]
    fn the_pair_is_one_connection() {
        let (mut client, mut server) = loopback_pair_with_timeouts(Duration::from_secs(5)).unwrap();
        assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        assert!(client.local_addr().unwrap().ip().is_loopback());
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).unwrap();
        server.write_all(&buf).unwrap();
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }

    /// The plain pair has no timeouts; the bounded one has both, on both ends (read back with
    /// `getsockopt`), so an idle read ends instead of hanging.
    #[test]
    fn timeouts_are_set_only_when_asked() {
        let (client, server) = loopback_pair().unwrap();
        assert_eq!(client.read_timeout().unwrap(), None);
        assert_eq!(server.write_timeout().unwrap(), None);
        let limit = Duration::from_millis(100);
        let (client, mut server) = loopback_pair_with_timeouts(limit).unwrap();
        for s in [&client, &server] {
            assert_eq!(s.read_timeout().unwrap(), Some(limit));
            assert_eq!(s.write_timeout().unwrap(), Some(limit));
        }
        let err = server.read(&mut [0u8; 1]).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{err:?}"
        );
    }
}
