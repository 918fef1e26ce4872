//! Chapter 10 exercises: names and dual-stack (`connect(2)` to each resolved address,
//! `setsockopt(IPV6_V6ONLY)`).

use std::io::{self, ErrorKind};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

// ANCHOR: ch10_connect_first
/// Exercise 10.1: try each of `addrs` in order, each for at most `per_attempt`, and return
/// the first connection. If none connects, return the last attempt's error; if `addrs` is
/// empty, an `InvalidInput` error.
pub fn connect_first(addrs: &[SocketAddr], per_attempt: Duration) -> io::Result<TcpStream> {
    // SOLUTION BEGIN: loop over addrs with TcpStream::connect_timeout, return the first Ok,
    // remember the last Err.
    let mut last = io::Error::new(ErrorKind::InvalidInput, "no address to try");
    for addr in addrs {
        match TcpStream::connect_timeout(addr, per_attempt) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
    // SOLUTION END
}
// ANCHOR_END: ch10_connect_first

// ANCHOR: ch10_listen_both_families
/// Exercise 10.2: a TCP listener on `[::]:port` that serves IPv4 clients too (as v4-mapped
/// addresses), whatever this system's default for `IPV6_V6ONLY` is.
pub fn listen_both_families(port: u16) -> io::Result<TcpListener> {
    // SOLUTION BEGIN: socket2: Socket::new(Domain::IPV6, Type::STREAM, None), set_only_v6(false)
    // before bind((Ipv6Addr::UNSPECIFIED, port)), then listen.
    let socket = Socket::new(Domain::IPV6, Type::STREAM, None)?;
    socket.set_only_v6(false)?;
    socket.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())?;
    socket.listen(128)?;
    Ok(socket.into())
    // SOLUTION END
}
// ANCHOR_END: ch10_listen_both_families
