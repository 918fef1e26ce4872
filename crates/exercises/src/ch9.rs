//! Chapter 9 exercises: peer-to-peer (a bounded memory that delivers each broadcast once, and a
//! handshake over chapter 1's frames with a deadline: `write(2)`, `read(2)` under
//! `SO_RCVTIMEO`).

use std::collections::{HashSet, VecDeque};
use std::io::{self, ErrorKind};
use std::net::TcpStream;
use std::time::Duration;

use tcp_demo::frame::{FrameError, read_frame, write_frame};

/// Exercise 9.1's memory of delivered messages, named by `(origin, seq)`.
#[derive(Debug)]
pub struct Dedup {
    seen: HashSet<(u64, u64)>,
    order: VecDeque<(u64, u64)>,
    capacity: usize,
}

impl Dedup {
    /// Remembers at most `capacity` names (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// How many names it remembers now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether it remembers none.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    // ANCHOR: ch9_first_time
    /// Exercise 9.1: whether message `(origin, seq)` is seen for the first time (deliver it)
    /// or is a copy (drop it). Never remember more than `capacity` names: forget the oldest.
    pub fn first_time(&mut self, origin: u64, seq: u64) -> bool {
        // SOLUTION BEGIN: insert into the HashSet (false if already there); push the name at the
        // back of the VecDeque; past the capacity, pop the front and remove it from the set.
        if !self.seen.insert((origin, seq)) {
            return false;
        }
        self.order.push_back((origin, seq));
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        true
        // SOLUTION END
    }
    // ANCHOR_END: ch9_first_time
}

/// The first byte of exercise 9.2's hello frame.
pub const HELLO: u8 = b'H';

// ANCHOR: ch9_handshake
/// Exercise 9.2: introduce yourself as node `me` on `stream` and learn who the peer is. Send
/// one chapter 1 frame whose payload is [`HELLO`] followed by `me` as 8 big-endian bytes; read
/// the peer's frame of the same shape (at most 64 bytes) and return its id. Give up with
/// `TimedOut` if it has not arrived within `timeout`; `UnexpectedEof` if the peer closes
/// first; `InvalidData` if the frame has another shape, or if the peer claims our own id.
pub fn handshake(stream: &mut TcpStream, me: u64, timeout: Duration) -> io::Result<u64> {
    // SOLUTION BEGIN: write_frame([HELLO, me.to_be_bytes()...]); set_read_timeout(Some(timeout));
    // read_frame(stream, 64): Ok(None) is UnexpectedEof, a WouldBlock/TimedOut Io error is
    // TimedOut; check the length (9), the first byte and the id.
    let mut hello = vec![HELLO];
    hello.extend_from_slice(&me.to_be_bytes());
    write_frame(stream, &hello)?;
    stream.set_read_timeout(Some(timeout))?;
    let payload = match read_frame(stream, 64) {
        Ok(Some(payload)) => payload,
        Ok(None) => return Err(io::Error::new(ErrorKind::UnexpectedEof, "peer closed")),
        Err(FrameError::Io(e))
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            return Err(io::Error::new(ErrorKind::TimedOut, "no hello in time"));
        }
        Err(e) => return Err(e.into()),
    };
    let peer = match payload.split_first() {
        Some((&HELLO, id)) if id.len() == 8 => u64::from_be_bytes(id.try_into().expect("8 bytes")),
        _ => return Err(io::Error::new(ErrorKind::InvalidData, "not a hello")),
    };
    if peer == me {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            "the peer claims my id",
        ));
    }
    Ok(peer)
    // SOLUTION END
}
// ANCHOR_END: ch9_handshake
