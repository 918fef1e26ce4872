//! Linux's table of TCP sockets, `/proc/net/tcp` and `/proc/net/tcp6`: plumbing shared by
//! chapter 3 (how many bytes sit in each queue) and chapter 5 (which state a connection is in).
//!
//! Each line describes one socket of the network namespace, including sockets whose
//! descriptor is already closed (FIN-WAIT-2, TIME-WAIT):
//!
//! ```text
//!   sl  local_address rem_address   st tx_queue:rx_queue ...
//!    0: 0100007F:1F90 0100007F:C35A 01 00000000:00000000 ...
//! ```
//!
//! Addresses are `HEXIP:HEXPORT`; the state and the two queue lengths are hex too. The
//! transmit queue counts bytes sent but not yet acknowledged (what `SIOCOUTQ` reports), the
//! receive queue bytes received but not yet read (`SIOCINQ`). Other systems have no such file:
//! [`lookup`] returns `None` there.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One connection's line in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The TCP state as Linux numbers it (1 = ESTABLISHED ... 11 = CLOSING).
    pub state: u8,
    /// Bytes in the send queue: written by the application, not yet acknowledged by the peer.
    pub tx_queue: u64,
    /// Bytes in the receive queue: arrived, not yet read by the application.
    pub rx_queue: u64,
}

/// The table's line for the connection from `local` to `peer`, or `None` if it is not listed
/// (closed and gone, or not Linux).
pub fn lookup(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<Entry>> {
    if !cfg!(target_os = "linux") {
        return Ok(None);
    }
    // `/proc/thread-self/net` is the calling thread's network namespace: the same table as
    // `/proc/net` (the main thread's) for ordinary code, and the right one for code running
    // on a wire-lab host, whose thread has entered a namespace of its own.
    let table = if local.is_ipv4() {
        "/proc/thread-self/net/tcp"
    } else {
        "/proc/thread-self/net/tcp6"
    };
    let text = std::fs::read_to_string(table)?;
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(l), Some(r), Some(st), Some(queues)) =
            (fields.get(1), fields.get(2), fields.get(3), fields.get(4))
        else {
            continue;
        };
        if parse_addr(l) != Some(local) || parse_addr(r) != Some(peer) {
            continue;
        }
        let (tx, rx) = queues.split_once(':').unwrap_or(("0", "0"));
        let hex = |s: &str| u64::from_str_radix(s, 16).unwrap_or(0);
        return Ok(Some(Entry {
            state: u8::from_str_radix(st, 16).unwrap_or(0),
            tx_queue: hex(tx),
            rx_queue: hex(rx),
        }));
    }
    Ok(None)
}

/// Parses `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6). The kernel prints each
/// 32-bit word of the address as a native-endian integer, so the bytes come back in memory
/// order with `to_ne_bytes`.
fn parse_addr(field: &str) -> Option<SocketAddr> {
    let (ip_hex, port_hex) = field.split_once(':')?;
    let port = u16::from_str_radix(port_hex, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for chunk in ip_hex.as_bytes().chunks(8) {
        let word = u32::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback addresses in the kernel's notation parse back (on little-endian machines the
    /// IPv4 word for 127.0.0.1 is 0100007F).
    #[test]
    #[cfg(target_endian = "little")]
    fn parses_proc_addresses() {
        assert_eq!(
            parse_addr("0100007F:1F90"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            parse_addr("00000000000000000000000001000000:0050"),
            Some("[::1]:80".parse().unwrap())
        );
        assert_eq!(parse_addr("zz:1"), None);
    }

    /// A live connection is found with its state, and its queues count unread bytes.
    #[test]
    #[cfg(target_os = "linux")]
    fn finds_a_live_connection_and_its_queue() {
        use std::io::Write;
        let (mut client, server) = crate::net::loopback_pair().unwrap();
        client.write_all(&[0u8; 1000]).unwrap();
        let (s, c) = (server.local_addr().unwrap(), client.local_addr().unwrap());
        let e = crate::wait::last(
            std::time::Duration::from_secs(5),
            || lookup(s, c).unwrap().expect("listed"),
            |e| e.rx_queue == 1000,
        );
        assert_eq!(e.state, 1, "ESTABLISHED");
        assert_eq!(e.rx_queue, 1000, "bytes never showed: {e:?}");
    }
}
