//! One listener for both families. An IPv6 socket bound to the unspecified address `::` can
//! also accept IPv4 connections: the kernel presents each IPv4 peer as a *v4-mapped* IPv6
//! address, `::ffff:a.b.c.d` (RFC 4291, section 2.5.5.2). The socket option `IPV6_V6ONLY`
//! turns that off (ipv6(7)): the socket is then IPv6 only, and the IPv4 side of its port stays
//! free for an IPv4 socket of its own.
//!
//! The default differs between systems (Linux reads `/proc/sys/net/ipv6/bindv6only`, 0 unless
//! changed; Windows defaults to on), and std's `TcpListener::bind` leaves it at the default.
//! So a server that means to serve both families sets the option itself, before `bind`, and
//! the course reads the default at run time instead of assuming it.
//!
//! Listening on `::` means every interface, not only loopback: the experiments here hold such
//! a listener for a moment, and only ever connect to it from loopback.

use std::io;
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};

use socket2::{Domain, Socket, Type};

use crate::STEP_TIMEOUT;

/// Whether this machine has IPv6 loopback (`::1`) to test with: can a socket bind to it?
pub fn ipv6_loopback_available() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

// ANCHOR: system_default
/// The system's default for `IPV6_V6ONLY`: the value a fresh IPv6 socket has before anyone
/// sets it (`getsockopt(IPV6_V6ONLY)`).
pub fn system_default_v6only() -> io::Result<bool> {
    Socket::new(Domain::IPV6, Type::STREAM, None)?.only_v6()
}
// ANCHOR_END: system_default

/// Linux's knob for that default, `/proc/sys/net/ipv6/bindv6only` (ipv6(7)).
#[cfg(target_os = "linux")]
pub fn proc_bindv6only() -> io::Result<bool> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only")?;
    Ok(text.trim() != "0")
}

// ANCHOR: listen_v6
/// A TCP listener on `[::]:port`. With `v6only` given, `IPV6_V6ONLY` is set to it before
/// `bind` (afterwards is too late: the port's IPv4 side is claimed, or not, at bind time);
/// with `None` the socket keeps the system's default.
pub fn listen_v6(port: u16, v6only: Option<bool>) -> io::Result<TcpListener> {
    listen(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)), v6only)
}

/// A TCP listener on `addr`, with `IPV6_V6ONLY` set to `v6only` first if `addr` is IPv6 and
/// `v6only` is given.
pub fn listen(addr: SocketAddr, v6only: Option<bool>) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // As std's `TcpListener::bind` does, so that a restarted server can bind while its old
    // connections linger in TIME-WAIT (chapter 1).
    socket.set_reuse_address(true)?;
    if let (true, Some(only)) = (addr.is_ipv6(), v6only) {
        socket.set_only_v6(only)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}
// ANCHOR_END: listen_v6

/// What happened when a client tried a listener.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// It connected: the client's own address, and the peer address the server's `accept`
    /// returned for it.
    Accepted {
        /// The client's address, as the client sees it.
        client: SocketAddr,
        /// The same client, as the server sees it.
        server_saw: SocketAddr,
    },
    /// Its `connect` failed with this kind of error.
    Refused(io::ErrorKind),
}

// ANCHOR: client_against
/// Connects to `listener`'s port at `ip` (`127.0.0.1` for an IPv4 client, `::1` for IPv6)
/// and reports how the server saw the connection.
pub fn client_against(listener: &TcpListener, ip: std::net::IpAddr) -> io::Result<Seen> {
    let target = SocketAddr::new(ip, listener.local_addr()?.port());
    match TcpStream::connect_timeout(&target, STEP_TIMEOUT) {
        Ok(client) => {
            let (_conn, server_saw) = listener.accept()?;
            Ok(Seen::Accepted {
                client: client.local_addr()?,
                server_saw,
            })
        }
        Err(e) => Ok(Seen::Refused(e.kind())),
    }
}
// ANCHOR_END: client_against

// ANCHOR: ipv4_side_taken
/// Whether `listener` (on `[::]:port`) also holds the IPv4 side of its port: a second,
/// IPv4-only listener on `127.0.0.1:port` gets `EADDRINUSE` if it does. Returns that
/// listener's error kind, or `None` if it could bind.
pub fn ipv4_bind_error(listener: &TcpListener) -> io::Result<Option<io::ErrorKind>> {
    let port = listener.local_addr()?.port();
    Ok(TcpListener::bind(("127.0.0.1", port))
        .err()
        .map(|e| e.kind()))
}
// ANCHOR_END: ipv4_side_taken
