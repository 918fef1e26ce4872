//! Partial writes on a non-blocking socket, and the unsent tail that an event loop keeps.
//!
//! A non-blocking `write(2)` copies as much as fits in the send buffer *now*. When the buffer
//! is nearly full, it takes part of what you offered (a *short write*) and returns the count;
//! when it is full, it fails with `EAGAIN` (`WouldBlock`) and takes nothing. The caller must
//! keep the bytes that were not taken and offer them again later, in order, exactly once.
//! [`Outbox`] is that bookkeeping; chapter 7's servers keep one per connection.

use std::io::{self, ErrorKind, Write};

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
#[derive(Debug, Default)]
pub struct Outbox {
    buf: Vec<u8>,
    /// How many bytes at the front of `buf` have already been written.
    sent: usize,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues bytes behind whatever is still unsent.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes queued but not yet taken by the kernel.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }

    /// Whether everything queued has been written.
    pub fn is_empty(&self) -> bool {
        self.pending() == 0
    }

    /// Writes as much of the unsent tail as the socket takes *now*, and returns how many bytes
    /// went out. Stops at `WouldBlock` without error: the rest stays queued for next time.
    pub fn flush_some(&mut self, socket: &mut impl Write) -> io::Result<usize> {
        let mut written = 0;
        while self.sent < self.buf.len() {
            match socket.write(&self.buf[self.sent..]) {
                // A write that takes nothing from a non-empty buffer would loop forever.
                Ok(0) => return Err(io::Error::new(ErrorKind::WriteZero, "socket took 0 bytes")),
                // Possibly a short write: advance past what was taken and offer the rest.
                Ok(n) => {
                    self.sent += n;
                    written += n;
                }
                // Full for now; whatever is left waits for the next call.
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.sent == self.buf.len() {
            // All out: reuse the allocation rather than let the buffer grow forever.
            self.buf.clear();
            self.sent = 0;
        }
        Ok(written)
    }
}
// ANCHOR_END: outbox

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
        let mut outbox = Outbox::new();
        let data: Vec<u8> = (0..=255).cycle().take(5000).collect();
        for piece in data.chunks(777) {
            outbox.push(piece);
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
}
