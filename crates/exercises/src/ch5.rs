//! Chapter 5 exercises: shutdown and abortive close (`shutdown(2)`, `SO_LINGER`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

// ANCHOR: ch5_ask
/// Exercise 5.1: like `nc -N`: connect to `addr`, send `request`, half-close, and return the
/// whole reply (read until the server closes). Bound every read by a 10 s timeout.
pub fn ask(addr: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
    // SOLUTION BEGIN: connect, set_read_timeout, write_all, shutdown(Shutdown::Write), read_to_end.
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request)?;
    stream.shutdown(Shutdown::Write)?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(reply)
    // SOLUTION END
}
// ANCHOR_END: ch5_ask

// ANCHOR: ch5_hang_up
/// Exercise 5.2: hang up on a peer at once: close `stream` so that the peer's next read fails
/// with `ConnectionReset` instead of seeing an orderly end of stream.
pub fn hang_up(stream: TcpStream) -> io::Result<()> {
    // SOLUTION BEGIN: SO_LINGER with a zero timeout (socket2's
    // SockRef::set_linger(Some(Duration::ZERO))), then drop the stream.
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    drop(stream);
    Ok(())
    // SOLUTION END
}
// ANCHOR_END: ch5_hang_up
