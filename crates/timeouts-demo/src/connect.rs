//! Connect timeouts: a connect that cannot complete, and one that is refused at once.
//!
//! A `connect` to a host that does not answer waits for the kernel's SYN retries: on Linux
//! `tcp_syn_retries` = 6 retries, about 2 minutes. `TcpStream::connect_timeout` bounds that
//! (std makes the socket non-blocking, calls `connect`, and `poll`s for writability with the
//! timeout, exactly chapter 4's steps).
//!
//! To make an unanswered SYN happen on loopback, deterministically: a listener with a backlog
//! of 0 that never calls `accept`. Once its accept queue is full, Linux *drops* further SYNs
//! (it counts them as "listen queue overflows"), so the next client hears nothing, as if the
//! host were gone. A closed port, by contrast, answers with RST at once: refused, no waiting.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::is_timeout;

/// A listener whose accept queue is full, and the clients that filled it (kept open).
#[derive(Debug)]
pub struct FullQueue {
    /// The listener; nobody ever calls `accept` on it.
    pub listener: TcpListener,
    /// The connections sitting in its accept queue.
    pub queued: Vec<TcpStream>,
}

// ANCHOR: full_accept_queue
/// Makes a listener (backlog 0, never accepting) and connects to it until a connect times out,
/// which proves the queue is full and further SYNs are being dropped.
pub fn full_accept_queue() -> io::Result<FullQueue> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(0)?; // The smallest accept queue the kernel allows.
    let listener: TcpListener = socket.into();
    let addr = listener.local_addr()?;
    let mut queued = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => queued.push(stream), // The kernel completed it and queued it.
            Err(e) if is_timeout(&e) => return Ok(FullQueue { listener, queued }),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "the accept queue never filled: this kernel does not drop SYNs",
    ))
}
// ANCHOR_END: full_accept_queue

/// Connects with a timeout and reports the outcome and how long it took.
pub fn timed_connect(addr: SocketAddr, timeout: Duration) -> (io::Result<TcpStream>, Duration) {
    let started = Instant::now();
    let result = TcpStream::connect_timeout(&addr, timeout);
    (result, started.elapsed())
}

/// An address on loopback where nothing listens (bound, read, and closed again).
pub fn closed_port() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A one-line description of a connect outcome for the demo.
pub fn describe(result: &io::Result<TcpStream>) -> String {
    match result {
        Ok(_) => "connected".into(),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => format!("refused ({e})"),
        Err(e) if is_timeout(e) => format!("timed out ({e})"),
        Err(e) => format!("failed ({e})"),
    }
}
