//! Partial writes on a non-blocking socket, and the unsent tail that an event loop keeps.
//!
//! A non-blocking `write(2)` copies as much as fits in the send buffer *now*. When the buffer
//! is nearly full, it takes part of what you offered (a *short write*) and returns the count;
//! when it is full, it fails with `EAGAIN` (`WouldBlock`) and takes nothing. The caller must
//! keep the bytes that were not taken and offer them again later, in order, exactly once.
//! [`Outbox`] is that bookkeeping; chapter 7's servers keep one per connection.

use std::io::{self, ErrorKind, Write};

use socklab_support::queue::{ByteQueue, Full};

/// What [`fill_until_would_block`] saw.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    /// Total bytes the kernel accepted before refusing.
    pub accepted: usize,
    /// How many `write` calls succeeded.
    pub calls: usize,
    /// The last successful write that took less than offered: (offered, taken).
    pub short_write: Option<(usize, usize)>,
}

// ANCHOR: fill_until_would_block
/// Writes `chunk`-sized blocks to a non-blocking socket whose peer is not reading, until the
/// kernel refuses with `WouldBlock`. The buffers (ours and the peer's) are then full.
pub fn fill_until_would_block(socket: &mut impl Write, chunk: usize) -> io::Result<Fill> {
    let block = vec![0xabu8; chunk];
    let mut fill = Fill {
        accepted: 0,
        calls: 0,
        short_write: None,
    };
    loop {
        match socket.write(&block) {
            Ok(n) => {
                fill.accepted += n;
                fill.calls += 1;
                if n < chunk {
                    fill.short_write = Some((chunk, n)); // Took part, kept the rest: ours.
                }
            }
            // The buffers are full: nothing was taken. Not an error, just "not now".
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(fill),
            // A signal arrived before anything was copied; simply try again.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}
// ANCHOR_END: fill_until_would_block

// ANCHOR: outbox
/// Bytes waiting to be written to a non-blocking socket, in order, each to be sent exactly
/// once: the "unsent tail".
///
/// The bytes wait in a [`ByteQueue`] with a hard bound chosen by the caller: what the kernel
/// takes leaves from the front in O(1), and the space is reused as the tail drains, so a
/// reader that takes a little at a time never makes the outbox grow past its bound.
#[derive(Debug)]
pub struct Outbox {
    queue: ByteQueue,
}
// ANCHOR_END: outbox

impl Outbox {
    /// An empty outbox that will never hold more than `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            queue: ByteQueue::new(cap),
        }
    }

    /// Queues bytes behind whatever is still unsent, or refuses them all if they would take
    /// the outbox over its bound (the caller should have stopped producing: back-pressure).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.queue.push(bytes)
    }

    /// Bytes queued but not yet taken by the kernel.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// How many more bytes may be queued.
    pub fn room(&self) -> usize {
        self.queue.room()
    }

    /// Whether everything queued has been written.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    // ANCHOR: flush_some
    /// Writes as much of the unsent tail as the socket takes *now*, and returns how many bytes
    /// went out. Stops at `WouldBlock` without error: the rest stays queued for next time.
    pub fn flush_some(&mut self, socket: &mut impl Write) -> io::Result<usize> {
        let mut written = 0;
        while !self.queue.is_empty() {
            match self.queue.write_to(socket) {
                // A write that takes nothing from a non-empty buffer would loop forever.
                Ok(0) => return Err(io::Error::new(ErrorKind::WriteZero, "socket took 0 bytes")),
                // Possibly a short write: the queue advanced past what was taken.
                Ok(n) => written += n,
                // Full for now; whatever is left waits for the next call.
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }
    // ANCHOR_END: flush_some
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes a different, small number of bytes each call and refuses every
    /// third call, like a busy socket.
    struct Stingy {
        out: Vec<u8>,
        calls: usize,
    }

    impl Write for Stingy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            match self.calls % 3 {
                0 => Err(ErrorKind::WouldBlock.into()),
                1 => Err(ErrorKind::Interrupted.into()),
                _ => {
                    let n = buf.len().min(self.calls % 7 + 1);
                    self.out.extend_from_slice(&buf[..n]);
                    Ok(n)
                }
            }
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Through short writes, WouldBlock and Interrupted, every byte comes out once, in order.
    #[test]
    fn outbox_survives_short_writes_and_would_block() {
        let mut sink = Stingy {
            out: Vec::new(),
            calls: 0,
        };
        let mut outbox = Outbox::new(5000);
        let data: Vec<u8> = (0..=255).cycle().take(5000).collect();
        for piece in data.chunks(777) {
            outbox.push(piece).unwrap();
            outbox.flush_some(&mut sink).unwrap();
        }
        let mut rounds = 0;
        while !outbox.is_empty() {
            outbox.flush_some(&mut sink).unwrap();
            rounds += 1;
            assert!(rounds < 100_000, "no progress");
        }
        assert_eq!(sink.out, data);
    }

    /// The bound holds: a push that would pass it is refused whole, and space comes back as
    /// the tail drains, a few bytes at a time.
    #[test]
    fn outbox_is_bounded_and_reuses_drained_space() {
        let mut sink = Stingy {
            out: Vec::new(),
            calls: 0,
        };
        let mut outbox = Outbox::new(100);
        outbox.push(&[1; 80]).unwrap();
        assert!(outbox.push(&[2; 30]).is_err(), "80 + 30 > 100");
        assert_eq!(outbox.pending(), 80, "a refused push adds nothing");
        while outbox.room() < 30 {
            outbox.flush_some(&mut sink).unwrap();
        }
        outbox.push(&[2; 30]).unwrap();
        assert!(outbox.pending() <= 100);
    }
}
