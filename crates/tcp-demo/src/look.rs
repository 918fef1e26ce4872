//! Look with your OS: the chapter's sockets seen by the system's own tools (`look ss`,
//! `look nc`), each run on sockets this program has just set up, with the command line shown so
//! the reader can type it in a second terminal beside `cargo run -p tcp-demo -- server`.
//!
//! - [`accept_queue`]: `ss -tln` on a listener whose clients have connected and not been
//!   accepted: for a listening socket, ss's `Recv-Q` is the accept queue and `Send-Q` the
//!   backlog given to `listen(2)`.
//! - [`garbage`]: `nc` sends a line of text to the echo server, which reads its first four
//!   bytes as a frame's length, drops that one connection with one log line, and goes on
//!   serving.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use socklab_support::{Narrator, os_tool, proc_tcp, wait};

use crate::{Client, Server, ServerConfig};

/// The backlog passed to `listen`, which ss shows as the listener's `Send-Q`.
pub const BACKLOG: i32 = 128;
/// How many clients connect without being accepted.
pub const WAITING: usize = 3;
/// The bound on each tool's run and on each wait.
const LIMIT: Duration = Duration::from_secs(10);

/// Listens on `addr` (port 0) with [`BACKLOG`], connects [`WAITING`] clients and accepts none,
/// then runs `ss -tln` on the listener's port. Returns ss's output.
pub fn accept_queue(n: &Narrator, addr: SocketAddr) -> std::io::Result<String> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    let listener: TcpListener = socket.into();
    let local = listener.local_addr()?;
    n.step(
        "server",
        &format!("listen({BACKLOG}) on {local}, and no accept()"),
    );
    let clients = (0..WAITING)
        .map(|_| TcpStream::connect(local))
        .collect::<std::io::Result<Vec<_>>>()?;
    n.step(
        "client",
        &format!("connect() returned {} times", clients.len()),
    );
    // connect() returns once the SYN-ACK is in; the server's side joins the accept queue when
    // the client's ACK arrives, a moment later. Wait for the kernel's own count (a listening
    // socket's receive queue in /proc/net/tcp is its accept queue), so ss sees all of them.
    let unspecified = SocketAddr::new(
        match local {
            SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
        },
        0,
    );
    wait::try_until(LIMIT, "the connections to reach the accept queue", || {
        Ok(proc_tcp::lookup(local, unspecified)?
            .is_none_or(|entry| entry.rx_queue >= WAITING as u64))
    })?;
    let port = format!(":{}", local.port());
    let shown = os_tool::show("ss", &["-tln", "sport", "=", &port], b"", LIMIT)?;
    drop(clients);
    Ok(shown.stdout)
}

/// Starts the echo server on `addr` (port 0), has `nc` send it a line of text, then sends a
/// proper frame from a client of our own to show the server still serves. Returns nc's output.
pub fn garbage(n: &Arc<Narrator>, addr: SocketAddr) -> std::io::Result<String> {
    let listener = TcpListener::bind(addr)?;
    let server = Server::new(listener, ServerConfig::default()).with_log(Arc::clone(n));
    let stats = server.stats();
    let local = server.spawn()?;
    n.step(
        "server",
        &format!("listening on {local}, for frames: a 4-byte length, then the payload"),
    );
    let port = local.port().to_string();
    let ip = local.ip().to_string();
    let shown = os_tool::show("nc", &[&ip, &port], b"hello\n", LIMIT)?;
    // The server logs the drop before it closes the socket, which is what ends nc; waiting on
    // its counter as well costs nothing and makes the order certain.
    wait::until(LIMIT, "the server to drop nc's connection", || {
        stats.dropped.load(Ordering::Relaxed) >= 1
    })?;
    let mut client = Client::connect(local, LIMIT)?;
    let echo = client.echo(b"hello")?;
    n.step(
        "client",
        &format!(
            "sent \"hello\" as a frame, got back {:?}: the server still serves",
            String::from_utf8_lossy(&echo)
        ),
    );
    // Hang up, and wait for the server to have logged it (a connection leaves the count of
    // active ones after its log line), so the log ends the same way on every run.
    drop(client);
    wait::until(LIMIT, "the server to see the client close", || {
        stats.active.load(Ordering::Relaxed) == 0
    })?;
    Ok(shown.stdout)
}
