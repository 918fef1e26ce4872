//! A bounded byte queue: the one buffer discipline behind chapter 1's frame decoder and
//! chapter 4's outbox.
//!
//! Bytes go in at the back (a `read(2)` from a socket, or a reply to send) and leave from the
//! front (a parsed frame, or whatever `write(2)` took). Two properties matter to a server that
//! strangers talk to:
//!
//! - **Consuming from the front is O(1).** `Vec::drain(..n)` moves every remaining byte down on
//!   each call, so a stream of many small frames costs quadratic time; here the front is only
//!   advanced (`bytes::BytesMut::advance`), and the space it leaves is reclaimed when the
//!   buffer next needs room and the live bytes are no more than what was consumed, so each
//!   byte is moved at most a bounded number of times (amortised O(1)).
//! - **A hard bound.** A queue never holds more than its `cap`: [`ByteQueue::push`] refuses
//!   with [`Full`], and [`ByteQueue::read_from`] reads at most [`ByteQueue::room`] bytes, so
//!   what a peer can make us hold is known in advance.
//!
//! The storage is `BytesMut` from the well-kept `bytes` crate (tokio's buffer type), rather
//! than a ring buffer written by hand.

use std::fmt;
use std::io::{self, Read, Write};

use bytes::{Buf, BytesMut};

/// The most one [`ByteQueue::read_from`] asks the kernel for: 64 KiB, a typical socket read.
const READ_CHUNK: usize = 64 * 1024;
/// The least it asks for (below its room): where a connection's reads start.
const MIN_READ: usize = 4 * 1024;

/// A FIFO of bytes with a hard capacity.
#[derive(Debug)]
pub struct ByteQueue {
    buf: BytesMut,
    cap: usize,
    /// Bytes copied from one place in memory to another so far (reallocations and reclaims of
    /// the consumed front): the work a bounded, amortised queue keeps linear.
    moved: u64,
    /// How much the next [`ByteQueue::read_from`] asks for: it adapts to what the reads get.
    read_size: usize,
}

/// [`ByteQueue::push`] refused: the bytes would take the queue over its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    /// The queue's bound.
    pub cap: usize,
    /// Bytes it held.
    pub len: usize,
    /// Bytes offered.
    pub offered: usize,
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queue full: {} bytes offered, {} held, bound {}",
            self.offered, self.len, self.cap
        )
    }
}

impl std::error::Error for Full {}

impl From<Full> for io::Error {
    fn from(e: Full) -> Self {
        io::Error::new(io::ErrorKind::OutOfMemory, e)
    }
}

impl ByteQueue {
    /// An empty queue that will never hold more than `cap` bytes. Nothing is allocated until
    /// bytes arrive.
    pub fn new(cap: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            cap,
            moved: 0,
            read_size: MIN_READ,
        }
    }

    /// Bytes the queue has copied inside memory so far (when it grew or reclaimed the space
    /// before its front). Tests use it to show that the work stays proportional to the bytes
    /// passed through, without timing anything.
    pub fn bytes_moved(&self) -> u64 {
        self.moved
    }

    /// Runs a change to the buffer that drops `dropped` bytes from the front, and counts the
    /// live bytes it copied: if the data does not start where it should (`dropped` bytes after
    /// where it started), the bytes that stayed were moved.
    fn track<T>(&mut self, dropped: usize, change: impl FnOnce(&mut BytesMut) -> T) -> T {
        let expected = self.buf.as_ptr().wrapping_add(dropped);
        let kept = self.buf.len() - dropped;
        let out = change(&mut self.buf);
        if kept > 0 && self.buf.as_ptr() != expected {
            self.moved += kept as u64;
        }
        out
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bound.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many more bytes fit under the bound.
    pub fn room(&self) -> usize {
        self.cap.saturating_sub(self.buf.len())
    }

    /// The bytes held, oldest first.
    pub fn front(&self) -> &[u8] {
        &self.buf
    }

    /// Appends `bytes`, or refuses all of them if they do not fit under the bound.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), Full> {
        if bytes.len() > self.room() {
            return Err(Full {
                cap: self.cap,
                len: self.len(),
                offered: bytes.len(),
            });
        }
        self.track(0, |buf| buf.extend_from_slice(bytes));
        Ok(())
    }

    /// Drops the first `n` bytes (all of them if fewer are held), in O(1).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.track(n, |buf| buf.advance(n));
    }

    /// One `read` from `r` into the back of the queue, of at most [`Self::room`] bytes (and
    /// between 4 and 64 KiB, adapting to what earlier reads got). Returns the count; `Ok(0)`
    /// means end of stream, or that the queue was already full (check [`Self::room`] first).
    pub fn read_from(&mut self, r: &mut impl Read) -> io::Result<usize> {
        let want = self.room().min(self.read_size);
        if want == 0 {
            return Ok(0);
        }
        let start = self.buf.len();
        // `read` may only be handed initialised memory in safe code, so the room is zeroed
        // first. That costs as much as the bytes asked for, not the bytes that came: asking
        // for 64 KiB to receive a 68-byte frame spent a quarter of an echo server's time in
        // `memset` (a profile of chapter 7's epoll server). Hence the adaptive size.
        self.track(0, |buf| buf.resize(start + want, 0));
        let result = r.read(&mut self.buf[start..]);
        let got = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(start + got);
        // A read that filled its request suggests more is waiting: ask for twice as much next
        // time. One that got under a quarter asks for half. Between 4 and 64 KiB, as tokio's
        // and hyper's adaptive read buffers do.
        if got == want && want == self.read_size {
            self.read_size = (self.read_size * 2).min(READ_CHUNK);
        } else if got < self.read_size / 4 {
            self.read_size = (self.read_size / 2).max(MIN_READ);
        }
        result
    }

    /// One `write` of the front of the queue to `w`; what was taken is consumed. Returns the
    /// count (0 if the queue is empty).
    pub fn write_to(&mut self, w: &mut impl Write) -> io::Result<usize> {
        if self.buf.is_empty() {
            return Ok(0);
        }
        let n = w.write(&self.buf)?;
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes come out in order; the bound refuses a push that would pass it and takes one that
    /// fits exactly.
    #[test]
    fn fifo_with_a_hard_bound() {
        let mut q = ByteQueue::new(8);
        q.push(b"abcde").unwrap();
        assert_eq!(
            q.push(b"fghi"),
            Err(Full {
                cap: 8,
                len: 5,
                offered: 4
            })
        );
        q.push(b"fgh").unwrap();
        assert_eq!(q.room(), 0);
        q.consume(2);
        assert_eq!(q.front(), b"cdefgh");
        q.push(b"ij").unwrap();
        assert_eq!(q.front(), b"cdefghij");
        q.consume(100);
        assert!(q.is_empty());
    }

    /// Records the size of every buffer `read` is handed, and fills `give(n)` bytes of each.
    struct Recorder<F> {
        asked: Vec<usize>,
        give: F,
    }

    impl<F: FnMut(usize) -> usize> Read for Recorder<F> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.asked.push(buf.len());
            Ok((self.give)(buf.len()).min(buf.len()))
        }
    }

    /// The sizes six reads from a `Recorder` that fills `give(n)` bytes of each were asked.
    fn six_reads(q: &mut ByteQueue, give: impl FnMut(usize) -> usize) -> Vec<usize> {
        let mut recorder = Recorder {
            asked: Vec::new(),
            give,
        };
        for _ in 0..6 {
            q.read_from(&mut recorder).unwrap();
        }
        recorder.asked
    }

    /// Reads that fill their request double the next one, up to 64 KiB; small reads bring it
    /// back down to 4 KiB. (Each request is zeroed first, so a fixed 64 KiB request for every
    /// small frame costs a 64 KiB `memset` per read.)
    #[test]
    fn read_size_adapts_to_what_reads_get() {
        let mut q = ByteQueue::new(1 << 20);
        assert_eq!(
            six_reads(&mut q, |n| n),
            [4096, 8192, 16384, 32768, 65536, 65536],
            "full reads grow"
        );
        assert_eq!(
            six_reads(&mut q, |_| 68),
            [65536, 32768, 16384, 8192, 4096, 4096],
            "small reads shrink"
        );
    }

    /// `read_from` never reads past the bound; `write_to` consumes what the writer took.
    #[test]
    fn reads_stop_at_the_bound_and_writes_consume() {
        let mut q = ByteQueue::new(10);
        let mut src: &[u8] = &[1; 25];
        assert_eq!(q.read_from(&mut src).unwrap(), 10);
        assert_eq!(q.read_from(&mut src).unwrap(), 0, "full: reads nothing");
        assert_eq!(src.len(), 15, "the rest stays in the source");
        let mut out = [0u8; 4];
        let mut sink: &mut [u8] = &mut out;
        assert_eq!(q.write_to(&mut sink).unwrap(), 4);
        assert_eq!(q.len(), 6);
        assert_eq!(q.read_from(&mut src).unwrap(), 4);
    }

    /// Consuming is O(1) and space is reclaimed: a million bytes pass through a queue in
    /// small pieces, always with a backlog, while the allocation stays within a small multiple
    /// of the bound and the bytes copied inside memory stay below the bytes passed through.
    /// Counted, not timed. (A queue that shifted its backlog down on every consume, as
    /// `Vec::drain` does, copies about 500 bytes per 20 consumed here.)
    #[test]
    fn a_long_stream_of_small_pieces_costs_linear_work() {
        let mut q = ByteQueue::new(1024);
        q.push(&[1; 500]).unwrap(); // A standing backlog, as in a pipelined stream.
        let mut passed = 0u64;
        let mut most = 0usize;
        while passed < 1_000_000 {
            q.push(&[7; 20]).unwrap();
            q.consume(20);
            passed += 20;
            most = most.max(q.buf.capacity());
        }
        assert!(
            most <= 4 * 1024,
            "capacity grew to {most} for a 1024-byte bound"
        );
        assert!(
            q.bytes_moved() <= passed,
            "{} bytes moved to pass {passed}",
            q.bytes_moved()
        );
    }
}
