//! How much data can be "in flight" with nobody reading.
//!
//! A writer whose peer does not read can still write for a while: its bytes fill the peer's
//! receive buffer (acknowledged, waiting to be read), then its own send buffer (waiting for the
//! peer's window to open). Then a blocking write blocks and a non-blocking one says
//! `WouldBlock`. [`in_flight`] measures that amount for given buffer sizes, and on Linux reads
//! the two queues as `SIOCOUTQ` and `SIOCINQ` would (from `/proc/net/tcp`): the sender's
//! unacknowledged bytes and the receiver's unread ones. The two overlap while an ACK is on its
//! way (received, unread, and not yet acknowledged bytes count on both sides), so they need
//! not add up to the total accepted.

use std::io::{self, ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use socklab_support::proc_tcp;

use crate::inherit::listener_with_rcvbuf;

/// What [`in_flight`] measured.
#[derive(Debug, Clone, Copy)]
pub struct InFlight {
    /// The sender's `SO_SNDBUF` as the kernel reports it.
    pub sndbuf: usize,
    /// The receiver's `SO_RCVBUF` as the kernel reports it.
    pub rcvbuf: usize,
    /// Bytes the writer got accepted before `WouldBlock`.
    pub accepted: usize,
    /// Bytes still queued at the sender, unacknowledged (Linux only).
    pub sender_queue: Option<u64>,
    /// Bytes queued at the receiver, unread (Linux only).
    pub receiver_queue: Option<u64>,
}

// ANCHOR: in_flight
/// Writes (non-blocking) to a peer that never reads until `WouldBlock`, with both buffers set
/// to `buffer` bytes (or left at their defaults), and reports where the bytes are.
pub fn in_flight(buffer: Option<usize>) -> io::Result<InFlight> {
    let listener = listener_with_rcvbuf(buffer)?; // Inherited by the accepted receiver.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(size) = buffer {
        socket.set_send_buffer_size(size)?;
    }
    socket.connect(&listener.local_addr()?.into())?;
    let mut sender: TcpStream = socket.into();
    let (receiver, _) = listener.accept()?; // Never read from.

    sender.set_nonblocking(true)?;
    let chunk = vec![0u8; 16 * 1024];
    let mut accepted = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match sender.write(&chunk) {
            Ok(n) => accepted += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break, // Both buffers are full.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the buffers never filled",
            ));
        }
    }
    let (s, r) = (sender.local_addr()?, receiver.local_addr()?);
    Ok(InFlight {
        sndbuf: SockRef::from(&sender).send_buffer_size()?,
        rcvbuf: SockRef::from(&receiver).recv_buffer_size()?,
        accepted,
        sender_queue: proc_tcp::lookup(s, r)?.map(|e| e.tx_queue),
        receiver_queue: proc_tcp::lookup(r, s)?.map(|e| e.rx_queue),
    })
}
// ANCHOR_END: in_flight
