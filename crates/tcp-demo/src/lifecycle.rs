//! One TCP connection from `socket()` to `close()`, one system call at a time.
//!
//! `std::net::TcpListener::bind` does four things in one call (`socket`, `setsockopt
//! SO_REUSEADDR`, `bind`, `listen`), and `TcpStream::connect` does two (`socket`, `connect`).
//! Here each call is made on its own through socket2, so the addresses can be printed after
//! every step and the reader can see what the kernel decided:
//!
//! 1. `socket(2)` makes an endpoint with no address.
//! 2. `bind(2)` gives the listener its local address; port 0 asks the kernel to choose a free
//!    (ephemeral) port.
//! 3. `listen(2)` makes it a listening socket with an accept queue (the backlog).
//! 4. The client's `connect(2)` binds the client to an ephemeral port implicitly and runs the
//!    three-way handshake. The kernel completes the handshake and queues the connection
//!    *before* the server calls `accept`.
//! 5. `accept(2)` takes a finished connection off the queue and returns a *new* socket for it.
//!    That socket has the *same local port* as the listener: a connection is identified by the
//!    4-tuple (local address, local port, peer address, peer port), not by a port of its own.
//! 6. `write(2)`/`read(2)` move bytes; `close(2)` (dropping the socket) ends the connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use socklab_support::Narrator;

/// The addresses seen during one walk through the life cycle, for tests and the book.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    /// The listener's address after `bind` (the real port, if port 0 was asked for).
    pub listener: SocketAddr,
    /// The client's local address after `connect` (an ephemeral port the kernel chose).
    pub client_local: SocketAddr,
    /// The accepted socket's local address: the listener's address and port.
    pub accepted_local: SocketAddr,
    /// The accepted socket's peer: the client's address and ephemeral port.
    pub accepted_peer: SocketAddr,
}

/// Converts socket2's address type to std's; every socket in this course is IPv4 or IPv6.
fn inet(addr: &SockAddr) -> std::io::Result<SocketAddr> {
    addr.as_socket().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not an IPv4 or IPv6 address",
        )
    })
}

/// Walks one connection through its life on `addr` (use port 0), narrating each call.
pub fn walk(n: &Narrator, addr: SocketAddr) -> std::io::Result<Lifecycle> {
    // ANCHOR: walk_listen
    // 1. socket(): an endpoint of the right family (IPv4 or IPv6), type and protocol.
    let listener = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    n.step("server", "socket()  -> a TCP socket with no address yet");

    // 2. bind(): attach a local address. Port 0 lets the kernel pick a free port.
    listener.bind(&addr.into())?;
    let listener_addr = inet(&listener.local_addr()?)?;
    n.step(
        "server",
        &format!("bind({addr}) -> local address is now {listener_addr}"),
    );

    // 3. listen(): from now on the kernel completes handshakes for us and queues them.
    listener.listen(128)?;
    n.step(
        "server",
        "listen(128) -> passive socket; up to ~128 finished handshakes can wait",
    );
    // ANCHOR_END: walk_listen

    // 4. connect(): the client needs no bind; the kernel gives it an ephemeral port.
    let client = TcpStream::connect(listener_addr)?;
    let client_local = client.local_addr()?;
    n.step(
        "client",
        &format!("connect({listener_addr}) -> connected from {client_local}"),
    );
    n.explain(
        "connect() returned although the server has not called accept() yet: the kernel\n\
               finished the three-way handshake and put the connection in the accept queue.",
    );

    // A second client, to show that the queue holds established connections.
    let second = TcpStream::connect(listener_addr)?;
    n.step(
        "client",
        &format!("connect() again -> connected from {}", second.local_addr()?),
    );

    // ANCHOR: walk_accept
    // 5. accept(): a *new* socket per connection; the listener keeps listening.
    let (conn, peer) = listener.accept()?;
    let accepted_local = inet(&conn.local_addr()?)?;
    let accepted_peer = inet(&peer)?;
    n.step(
        "server",
        &format!("accept() -> new socket {accepted_local} <-> {accepted_peer}"),
    );
    // ANCHOR_END: walk_accept
    let (conn2, peer2) = listener.accept()?;
    n.step(
        "server",
        &format!(
            "accept() -> new socket {} <-> {}",
            inet(&conn2.local_addr()?)?,
            inet(&peer2)?
        ),
    );
    n.explain(&format!(
        "Both accepted sockets use local port {}, the listener's own port. What tells the\n\
         connections apart is the 4-tuple: (local ip, local port, peer ip, peer port).",
        accepted_local.port()
    ));

    // 6. write() and read() move bytes in both directions; close() ends it.
    let mut conn: TcpStream = conn.into();
    let mut client = client;
    client.write_all(b"hello")?;
    let mut buf = [0u8; 16];
    let got = conn.read(&mut buf)?;
    n.step(
        "server",
        &format!(
            "read() -> {got} bytes: {:?}",
            String::from_utf8_lossy(&buf[..got])
        ),
    );
    drop(client);
    n.step("client", "close() -> sends FIN: 'I will send nothing more'");
    let eof = conn.read(&mut buf)?;
    n.step(
        "server",
        &format!("read() -> {eof}: zero means the peer closed its side"),
    );
    drop((conn, conn2, second));
    n.step("server", "close() on both connections and the listener");

    Ok(Lifecycle {
        listener: listener_addr,
        client_local,
        accepted_local,
        accepted_peer,
    })
}
