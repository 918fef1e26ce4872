//! The TCP states of a closing connection, read live from the kernel (Linux).
//!
//! RFC 793 describes a connection's life as a state machine. The close-side part:
//!
//! ```text
//!   active closer (sends FIN first)            passive closer (receives FIN first)
//!
//!   ESTABLISHED                                  ESTABLISHED
//!     | close/shutdown: send FIN                   |
//!   FIN-WAIT-1  -------------- FIN -------------> | receive FIN, send ACK
//!     | receive ACK                              CLOSE-WAIT   (read returns 0 here)
//!   FIN-WAIT-2  <------------- ACK --------------  |
//!     |                                            | close: send FIN
//!     | receive FIN, send ACK                    LAST-ACK
//!   TIME-WAIT   <------------- FIN --------------  |
//!     |         -------------- ACK ------------->  | receive ACK
//!     | 2 x MSL (60 s on Linux)                  CLOSED
//!   CLOSED
//! ```
//!
//! Linux publishes every TCP socket of the network namespace in `/proc/net/tcp` and
//! `/proc/net/tcp6`, one line each with the local and remote address and the state as a hex
//! number (read by `socklab_support::proc_tcp`). [`state_of`] finds the line for one connection, so the demo can show the states of
//! its own sockets, including ones already closed (FIN-WAIT-2, TIME-WAIT), which no socket
//! option could show because their descriptor is gone. Other systems have no such file; there
//! the functions return `None` (macOS users can watch with `netstat -an -p tcp`).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socklab_support::{proc_tcp, wait};

/// The TCP states, named as in RFC 793 (with Linux's numbering in `/proc/net/tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// 01: data flows both ways.
    Established,
    /// 02: our SYN is out.
    SynSent,
    /// 03: a SYN came in; our SYN-ACK is out.
    SynRecv,
    /// 04: we sent FIN, not yet acknowledged.
    FinWait1,
    /// 05: our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// 06: both FINs done; lingering so stray segments die out.
    TimeWait,
    /// 07: closed.
    Close,
    /// 08: the peer sent FIN; waiting for our application to close.
    CloseWait,
    /// 09: we sent FIN after the peer's; waiting for its ACK.
    LastAck,
    /// 0A: a listening socket.
    Listen,
    /// 0B: both sides sent FIN at the same time.
    Closing,
}

impl TcpState {
    /// The state for Linux's hex code, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        use TcpState::*;
        Some(match code {
            0x01 => Established,
            0x02 => SynSent,
            0x03 => SynRecv,
            0x04 => FinWait1,
            0x05 => FinWait2,
            0x06 => TimeWait,
            0x07 => Close,
            0x08 => CloseWait,
            0x09 => LastAck,
            0x0A => Listen,
            0x0B => Closing,
            _ => return None,
        })
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TcpState::*;
        f.write_str(match self {
            Established => "ESTABLISHED",
            SynSent => "SYN-SENT",
            SynRecv => "SYN-RECEIVED",
            FinWait1 => "FIN-WAIT-1",
            FinWait2 => "FIN-WAIT-2",
            TimeWait => "TIME-WAIT",
            Close => "CLOSED",
            CloseWait => "CLOSE-WAIT",
            LastAck => "LAST-ACK",
            Listen => "LISTEN",
            Closing => "CLOSING",
        })
    }
}

// ANCHOR: state_of
/// The state of the connection from `local` to `peer` as the kernel lists it, or `None` if it
/// is not listed (gone, or not Linux). The table's parsing is plumbing, in
/// `socklab_support::proc_tcp`.
pub fn state_of(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<TcpState>> {
    Ok(proc_tcp::lookup(local, peer)?.and_then(|entry| TcpState::from_code(entry.state)))
}
// ANCHOR_END: state_of

// ANCHOR: time_wait_left
/// How much longer the kernel will keep the IPv4 connection from `local` to `peer` in
/// TIME-WAIT: the timer that `/proc/net/tcp` prints for it (the `tr:tm->when` column: timer
/// kind 3, then the time left in hundredths of a second). `None` if the connection is not in
/// TIME-WAIT, not listed, or not IPv4, or on other systems.
pub fn time_wait_left(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<Duration>> {
    let (SocketAddr::V4(l), SocketAddr::V4(p)) = (local, peer) else {
        return Ok(None);
    };
    if !cfg!(target_os = "linux") {
        return Ok(None);
    }
    // The kernel prints an IPv4 address as one native-endian 32-bit word, and the port in hex.
    let hex = |a: std::net::SocketAddrV4| {
        format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(a.ip().octets()),
            a.port()
        )
    };
    let (l, p) = (hex(l), hex(p));
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.get(1) != Some(&l.as_str()) || f.get(2) != Some(&p.as_str()) {
            continue;
        }
        let timer = f.get(5).and_then(|t| t.split_once(':'));
        return Ok(match (f.get(3), timer) {
            (Some(&"06"), Some(("03", when))) => u64::from_str_radix(when, 16)
                .ok()
                .map(|hundredths| Duration::from_millis(hundredths * 10)),
            _ => None,
        });
    }
    Ok(None)
}
// ANCHOR_END: time_wait_left

/// Polls [`state_of`] until it returns `want` or `limit` passes, and returns the last state
/// seen. Loopback transitions take microseconds; polling only absorbs that.
pub fn wait_for(
    local: SocketAddr,
    peer: SocketAddr,
    want: Option<TcpState>,
    limit: Duration,
) -> io::Result<Option<TcpState>> {
    // The first error ends the wait too.
    wait::last(
        limit,
        || state_of(local, peer),
        |seen| seen.as_ref().is_ok_and(|s| *s == want) || seen.is_err(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// States print with RFC 793's names.
    #[test]
    fn states_print_like_the_rfc() {
        assert_eq!(TcpState::from_code(5).unwrap().to_string(), "FIN-WAIT-2");
        assert_eq!(TcpState::from_code(0x08).unwrap().to_string(), "CLOSE-WAIT");
        assert_eq!(TcpState::from_code(0x42), None);
    }
}

/// The states of both ends after one step of a close.
#[derive(Debug, Clone)]
pub struct Observed {
    /// What was just done.
    pub step: &'static str,
    /// The client's (active closer's) state, `None` if not listed.
    pub client: Option<TcpState>,
    /// The server's (passive closer's) state, `None` if not listed.
    pub server: Option<TcpState>,
}

// ANCHOR: watch_orderly_close
/// Closes a connection the orderly way, client first, and records both ends' states after
/// each step: ESTABLISHED, then FIN-WAIT-2 / CLOSE-WAIT, then TIME-WAIT / gone.
pub fn watch_orderly_close() -> io::Result<Vec<Observed>> {
    use TcpState::*;
    use std::io::Read;
    use std::net::Shutdown;

    let (client, mut server) = crate::loopback_pair()?;
    let (c, s) = (client.local_addr()?, server.local_addr()?);
    let limit = Duration::from_secs(5);
    let mut seen = Vec::new();
    let mut record =
        |step, want_client: Option<TcpState>, want_server: Option<TcpState>| -> io::Result<()> {
            let client = wait_for(c, s, want_client, limit)?;
            let server = wait_for(s, c, want_server, limit)?;
            seen.push(Observed {
                step,
                client,
                server,
            });
            Ok(())
        };

    record("connected", Some(Established), Some(Established))?;
    client.shutdown(Shutdown::Write)?; // The client's FIN goes out; the server ACKs it.
    record(
        "client shutdown(Write): FIN sent and acknowledged",
        Some(FinWait2),
        Some(CloseWait),
    )?;
    let eof = server.read(&mut [0u8; 8])?; // CLOSE-WAIT is where the server reads 0.
    debug_assert_eq!(eof, 0);
    drop(server); // The server's FIN; the client ACKs it and enters TIME-WAIT.
    record(
        "server read 0, then close(): its FIN sent and acknowledged",
        Some(TimeWait),
        None,
    )?;
    drop(client); // Closing the descriptor changes nothing: TIME-WAIT belongs to the kernel.
    record(
        "client close(): the descriptor is gone, the connection lingers",
        Some(TimeWait),
        None,
    )?;
    Ok(seen)
}
// ANCHOR_END: watch_orderly_close
