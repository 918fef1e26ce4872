//! Half-close: "I have finished sending, but I am still listening."
//!
//! `shutdown(Write)` sends a FIN. The peer's reads return 0 (end of stream) once it has read
//! everything before the FIN, which is how it knows the request is complete; and the
//! connection's other direction stays open, so the peer can still answer and we can still
//! read. This is how a client sends a request of unknown length without any framing:
//! send everything, half-close, read the reply until the server closes. `nc -N` and HTTP/1.0
//! clients without `Content-Length` work this way.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

// ANCHOR: serve_until_eof
/// Server side: reads the whole request (until `read` returns 0, the client's FIN), then
/// replies with the request's length and the request itself, and closes. A request over
/// `max` bytes is refused rather than held in memory.
pub fn serve_until_eof(stream: TcpStream, max: u64) -> io::Result<usize> {
    let mut request = Vec::new();
    // Ends at the client's FIN (read returned 0), or one byte past the limit.
    (&stream)
        .take(max.saturating_add(1))
        .read_to_end(&mut request)?;
    if request.len() as u64 > max {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("request over {max} bytes"),
        ));
    }
    // The client can no longer send, but it can still receive: answer now.
    reply(&mut &stream, &request)?;
    Ok(request.len())
    // Dropping `stream` closes our direction too: the client's read_to_end ends.
}

/// The reply: a line with the request's length, then the request itself.
pub fn reply(out: &mut impl Write, request: &[u8]) -> io::Result<()> {
    out.write_all(format!("{} bytes received\n", request.len()).as_bytes())?;
    out.write_all(request)
}
// ANCHOR_END: serve_until_eof

// ANCHOR: request_reply
/// Client side: sends `request`, half-closes, and reads the reply until the server closes.
pub fn request_reply(addr: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request)?;
    stream.shutdown(Shutdown::Write)?; // FIN: "that was the whole request".
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?; // Still readable after our own shutdown.
    Ok(reply)
}
// ANCHOR_END: request_reply

/// Runs [`serve_until_eof`] for one connection on a background thread; returns the address
/// and a handle yielding how many request bytes the server saw.
pub fn spawn_one_shot_server() -> io::Result<(SocketAddr, thread::JoinHandle<io::Result<usize>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        serve_until_eof(stream, 64 << 20)
    });
    Ok((addr, handle))
}
