//! Binding a port: `EADDRINUSE`, and what `SO_REUSEADDR` changes.
//!
//! Only one socket may listen on a given address and port. A second `bind(2)` fails with
//! `EADDRINUSE` ("Address already in use"), and a server should say so plainly.
//!
//! The surprise is the restart: stop a server that had clients and start it again at once,
//! and `bind` may *still* fail, although nothing listens any more. The connections the server
//! closed first linger in the TIME_WAIT state (for 60 s on Linux; chapter 5 watches them), and
//! they still hold the port. Setting `SO_REUSEADDR` before `bind` says "lingering connections
//! do not count": the restarted server binds at once. It never lets two sockets *listen* on
//! the same port (on Linux that needs `SO_REUSEPORT`, a different option).
//!
//! Rust's `TcpListener::bind` already sets `SO_REUSEADDR` on Unix, which is why Rust servers
//! rarely meet the restart problem that C and Python servers do. To show it, [`listen_on`]
//! builds the listener by hand with socket2 and lets the caller choose.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};

use socket2::{Domain, Protocol, Socket, Type};

// ANCHOR: listen_on
/// `socket` + `setsockopt(SO_REUSEADDR)` + `bind` + `listen`, with the option as asked.
pub fn listen_on(addr: SocketAddr, reuse_address: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(reuse_address)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}
// ANCHOR_END: listen_on

/// Serves one connection on `listener` and closes it from the server side first, then closes
/// the listener too: what a server does when it is stopped. Returns the address it listened
/// on, which the closed connection still holds (FIN-WAIT-2, then TIME-WAIT) for a while.
pub fn serve_one_and_stop(listener: TcpListener) -> io::Result<SocketAddr> {
    let addr = listener.local_addr()?;
    let mut client = TcpStream::connect(addr)?;
    client.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let (server_side, _) = listener.accept()?;
    // The server closes first (an "active close"): its side is the one that ends in TIME_WAIT.
    drop(server_side);
    // The client sees end of stream and closes too, completing the four-way close.
    let mut buf = [0u8; 1];
    let eof = client.read(&mut buf)?;
    debug_assert_eq!(
        eof, 0,
        "the server sent nothing, so the first read is end of stream"
    );
    drop(client);
    drop(listener);
    Ok(addr)
}
