//! A client that tries each address in turn until one connects, as RFC 6724 (section 2) asks
//! of well-behaved applications, and as std's own `TcpStream::connect` does when given a name
//! (its documentation says so). `localhost` may resolve to `::1` first while the server
//! listens on `127.0.0.1` only; a client that takes only the first address then fails although
//! the server is up.
//!
//! Each attempt is bounded (`connect_timeout`), so an address that silently drops packets
//! costs at most that bound before the next is tried. Clients that must be fast against such
//! addresses race them instead, staggered ("Happy Eyeballs", RFC 8305); the sequential loop is
//! the base that they refine.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One attempt: the address and, if it failed, why.
#[derive(Debug)]
pub struct Attempt {
    /// The address tried.
    pub addr: SocketAddr,
    /// `None` if it connected.
    pub error: Option<io::Error>,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            None => write!(f, "{}: connected", self.addr),
            Some(e) => write!(f, "{}: {e}", self.addr),
        }
    }
}

/// A connection, and every attempt it took, the successful one last.
#[derive(Debug)]
pub struct Connected {
    /// The connection.
    pub stream: TcpStream,
    /// The attempts, in order.
    pub attempts: Vec<Attempt>,
}

// ANCHOR: connect_each
/// Tries each of `addrs` in order, each for at most `per_attempt`, and returns the first
/// connection. If none connects, the error has the last attempt's kind and lists them all.
pub fn connect_each(addrs: &[SocketAddr], per_attempt: Duration) -> io::Result<Connected> {
    let mut attempts = Vec::new();
    for &addr in addrs {
        match TcpStream::connect_timeout(&addr, per_attempt) {
            Ok(stream) => {
                attempts.push(Attempt { addr, error: None });
                return Ok(Connected { stream, attempts });
            }
            Err(e) => attempts.push(Attempt {
                addr,
                error: Some(e),
            }),
        }
    }
    let kind = attempts
        .last()
        .and_then(|a| a.error.as_ref())
        .map_or(io::ErrorKind::InvalidInput, io::Error::kind);
    let tried: Vec<String> = attempts.iter().map(Attempt::to_string).collect();
    Err(io::Error::new(
        kind,
        if tried.is_empty() {
            "no address to try".to_string()
        } else {
            format!("no address answered: {}", tried.join("; "))
        },
    ))
}
// ANCHOR_END: connect_each

/// Resolves `host` (see [`crate::resolve`]) and tries its addresses in the resolver's order.
pub fn connect_name(host: &str, port: u16, per_attempt: Duration) -> io::Result<Connected> {
    let addrs = crate::resolve::resolve(host, port)?;
    connect_each(&addrs, per_attempt)
}
