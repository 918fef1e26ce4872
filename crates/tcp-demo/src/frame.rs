//! Length-prefixed framing: putting message boundaries back on top of a byte stream.
//!
//! TCP delivers bytes, not messages (see [`crate::stream`]), so a protocol has to mark where
//! each message ends. The simplest robust way is a length prefix: every frame is a 4-byte
//! big-endian length followed by that many bytes of payload.
//!
//! ```text
//! +----------------+---------------------------+
//! | length: u32 BE | payload: `length` bytes   |
//! +----------------+---------------------------+
//! ```
//!
//! Two things make a framing layer safe to expose to the network, and both are here:
//!
//! - A maximum frame size, checked *before* allocating. Without it, four bytes of garbage
//!   (`ff ff ff ff`) would make the server allocate 4 GiB.
//! - A clear distinction between a clean end of stream (the peer closed between frames, which
//!   is normal) and a truncated frame (the peer closed in the middle of one, which is an error).
//!
//! [`read_frame`] serves blocking code; [`Decoder`] does the same job incrementally for
//! non-blocking event loops (chapter 7). The calls underneath are plain `read(2)` and `write(2)`; a `BufReader`/`BufWriter` around
//! the socket turns the many small reads and writes of framing into few system calls.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};

use socklab_support::queue::ByteQueue;

/// The default limit on a frame's payload: 1 MiB. Large enough for the course's experiments,
/// small enough that a hostile peer cannot make a server allocate much per connection.
pub const MAX_FRAME: usize = 1 << 20;

/// Size of the length prefix in bytes.
pub const HEADER_LEN: usize = 4;

/// Why a frame could not be read. Unlike most I/O errors, the first two are expected flow that
/// a server handles by closing just that one connection, so they get variants of their own.
#[derive(Debug)]
pub enum FrameError {
    /// The peer announced a payload larger than the limit; nothing was allocated for it.
    TooLarge {
        /// The length the peer announced.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The stream ended in the middle of a frame (in its header or its payload).
    Truncated {
        /// How many bytes the frame (header included) should have had.
        expected: usize,
        /// How many arrived before the end of the stream.
        got: usize,
    },
    /// The socket failed underneath (reset, timeout, ...).
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the limit of {max} bytes")?;
                if let Some(text) = looks_like_text(*len) {
                    write!(
                        f,
                        "; its length prefix reads {text:?}, which looks like text: this server \
                         speaks length-prefixed frames (a 4-byte big-endian length, then the \
                         payload), so use a framed client such as `tcp-demo client`, not nc, \
                         telnet or a browser"
                    )?;
                }
                Ok(())
            }
            Self::Truncated { expected, got } => {
                write!(
                    f,
                    "stream ended inside a frame: got {got} of {expected} bytes"
                )
            }
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The four bytes of a length prefix as text, if they are all printable ASCII (or common
/// whitespace): what arrives when someone types at a framed server with `nc`, or a browser
/// sends `GET /`.
pub fn looks_like_text(len: usize) -> Option<String> {
    let bytes = u32::try_from(len).ok()?.to_be_bytes();
    let texty = |b: &u8| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    bytes
        .iter()
        .all(texty)
        .then(|| String::from_utf8_lossy(&bytes).into_owned())
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::TooLarge { .. } | Self::Truncated { .. } => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Io(e) => e,
            FrameError::TooLarge { .. } => io::Error::new(ErrorKind::InvalidData, e.to_string()),
            FrameError::Truncated { .. } => io::Error::new(ErrorKind::UnexpectedEof, e.to_string()),
        }
    }
}

// ANCHOR: write_frame
/// Writes one frame: the 4-byte big-endian length, then the payload.
///
/// The two parts go through `write_all`, because a single `write` may take fewer bytes than
/// offered. Wrap the socket in a `BufWriter` and `flush` after the frame so the header and a
/// small payload leave in one `write(2)`: two small writes could otherwise wait on each other
/// (Nagle's algorithm holding the second until the first is acknowledged).
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            ErrorKind::InvalidInput,
            "a frame's payload must fit in a u32 length",
        )
    })?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(payload)
}
// ANCHOR_END: write_frame

// ANCHOR: read_frame
/// Reads one frame of at most `max` payload bytes.
///
/// Returns `Ok(None)` when the peer closed the stream cleanly *between* frames, which is how a
/// well-behaved client says goodbye. A close in the middle of a frame is
/// [`FrameError::Truncated`]; an announced length over `max` is [`FrameError::TooLarge`] and
/// is refused before any memory is allocated for it.
pub fn read_frame(r: &mut impl Read, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_full(r, &mut header)?;
    if got == 0 {
        return Ok(None); // read returned 0 before the first byte: a clean end of stream.
    }
    if got < HEADER_LEN {
        return Err(FrameError::Truncated {
            expected: HEADER_LEN,
            got,
        });
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut payload = vec![0u8; len];
    let got = read_full(r, &mut payload)?;
    if got < len {
        return Err(FrameError::Truncated {
            expected: HEADER_LEN + len,
            got: HEADER_LEN + got,
        });
    }
    Ok(Some(payload))
}
// ANCHOR_END: read_frame

// ANCHOR: read_full
/// Reads until `buf` is full or the stream ends, and returns how many bytes arrived.
///
/// This is `read_exact` with one difference that framing needs: at end of stream it reports
/// how far it got, so the caller can tell "closed between frames" (0) from "closed inside a
/// frame" (anything else short).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            // `read` returning 0 is the only way a stream says "the peer closed": no more
            // bytes will ever come, so stop and report what we have.
            Ok(0) => break,
            Ok(n) => filled += n,
            // A signal arrived before any byte was read; nothing was lost, so try again.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
// ANCHOR_END: read_full

/// Incremental framing for non-blocking code (chapter 7): bytes go in as they arrive, in
/// pieces of any size; whole frames come out.
///
/// The bytes wait in a [`ByteQueue`] bounded to one maximal frame (`HEADER_LEN + max`): a
/// peer cannot make the decoder hold more, and the limit is checked as soon as a header is
/// complete. Frames leave from the front in O(1) (the queue advances past them instead of
/// shifting what follows), so a stream of thousands of tiny frames costs time in proportion
/// to its bytes, not to their square.
#[derive(Debug)]
pub struct Decoder {
    queue: ByteQueue,
    max: usize,
}

impl Decoder {
    /// A decoder accepting payloads of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            queue: ByteQueue::new(HEADER_LEN + max),
            max,
        }
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.queue.len()
    }

    /// How many more bytes the decoder may take right now without exceeding its bound.
    pub fn room(&self) -> usize {
        self.queue.room()
    }

    /// Appends as much of `bytes` as fits (see [`Self::room`]) and returns how many it took;
    /// take frames out with [`Self::next_frame`] to make room for the rest.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.room());
        // Cannot fail: `n` fits by construction.
        let _ = self.queue.push(&bytes[..n]);
        n
    }

    /// One `read(2)` from `r` straight into the decoder, of at most [`Self::room`] bytes.
    /// `Ok(0)` is end of stream (the decoder always has room after its frames are taken).
    pub fn read_from(&mut self, r: &mut impl Read) -> io::Result<usize> {
        self.queue.read_from(r)
    }

    // ANCHOR: next_frame
    /// The next complete frame, `Ok(None)` if more bytes are needed, or an error for an
    /// announced length over the limit (the connection should be closed).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(len) = self.header() else {
            return Ok(None);
        };
        if len > self.max {
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        let Some(payload) = self.queue.front().get(HEADER_LEN..HEADER_LEN + len) else {
            return Ok(None);
        };
        let payload = payload.to_vec();
        self.queue.consume(HEADER_LEN + len); // O(1): the front advances.
        Ok(Some(payload))
    }
    // ANCHOR_END: next_frame

    /// The error for a stream that ends now: `None` between frames, `Truncated` inside one.
    pub fn finish(&self) -> Option<FrameError> {
        match self.queue.len() {
            0 => None,
            got => Some(FrameError::Truncated {
                expected: self.header().map_or(HEADER_LEN, |len| HEADER_LEN + len),
                got,
            }),
        }
    }

    /// Bytes the decoder's queue has copied inside memory so far (see
    /// [`ByteQueue::bytes_moved`]): proportional to the bytes fed, however small the frames.
    pub fn bytes_moved(&self) -> u64 {
        self.queue.bytes_moved()
    }

    /// The announced payload length, once the header is complete.
    fn header(&self) -> Option<usize> {
        let header: [u8; HEADER_LEN] = self.queue.front().get(..HEADER_LEN)?.try_into().ok()?;
        Some(u32::from_be_bytes(header) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Frames fed one byte at a time, or all at once, come out the same; a frame split across
    /// feeds waits for its last byte.
    #[test]
    fn decoder_is_indifferent_to_how_bytes_arrive() {
        let mut wire = Vec::new();
        for payload in [&b"one"[..], b"", &[9u8; 700]] {
            write_frame(&mut wire, payload).unwrap();
        }
        for chunk in [1, 3, 5, 64, wire.len()] {
            let mut d = Decoder::new(MAX_FRAME);
            let mut frames = Vec::new();
            for piece in wire.chunks(chunk) {
                d.feed(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    frames.push(f);
                }
            }
            assert_eq!(
                frames,
                vec![b"one".to_vec(), vec![], vec![9u8; 700]],
                "chunk {chunk}"
            );
            assert!(d.finish().is_none());
        }
    }

    /// An oversize header is refused as soon as it is complete; a stream ending inside a frame
    /// is truncated; `room` never invites more than one frame's worth.
    #[test]
    fn decoder_enforces_the_limit_and_reports_truncation() {
        let mut d = Decoder::new(10);
        d.feed(&11u32.to_be_bytes());
        assert!(matches!(
            d.next_frame(),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        ));
        let mut d = Decoder::new(10);
        assert_eq!(d.room(), HEADER_LEN + 10, "one maximal frame");
        assert_eq!(d.feed(&[0, 0, 0, 8, 1, 2]), 6);
        assert_eq!(d.room(), 8);
        assert_eq!(d.feed(&[0; 20]), 8, "never more than the bound");
        let mut d = Decoder::new(10);
        d.feed(&[0, 0, 0, 8, 1, 2]);
        assert!(d.next_frame().unwrap().is_none());
        assert!(matches!(
            d.finish(),
            Some(FrameError::Truncated {
                expected: 12,
                got: 6
            })
        ));
    }

    /// Text typed at the server (`GET /`, `hello`) is named as text in the error; a binary
    /// oversize length is not.
    #[test]
    fn a_text_length_prefix_gets_a_hint() {
        let e = FrameError::TooLarge {
            len: u32::from_be_bytes(*b"GET ") as usize,
            max: MAX_FRAME,
        };
        let text = e.to_string();
        assert!(
            text.contains("\"GET \"") && text.contains("looks like text"),
            "{text}"
        );
        let e = FrameError::TooLarge {
            len: u32::MAX as usize,
            max: MAX_FRAME,
        };
        assert!(!e.to_string().contains("text"), "{e}");
    }

    /// Frames written back to back are read back one by one, and then a clean end.
    #[test]
    fn frames_round_trip() {
        let mut wire = Vec::new();
        for payload in [&b"hello"[..], b"", &[7u8; 3000]] {
            write_frame(&mut wire, payload).unwrap();
        }
        let mut r = Cursor::new(wire);
        assert_eq!(read_frame(&mut r, MAX_FRAME).unwrap().unwrap(), b"hello");
        assert_eq!(read_frame(&mut r, MAX_FRAME).unwrap().unwrap(), b"");
        assert_eq!(
            read_frame(&mut r, MAX_FRAME).unwrap().unwrap(),
            vec![7u8; 3000]
        );
        assert!(read_frame(&mut r, MAX_FRAME).unwrap().is_none());
    }

    /// A header announcing 4 GiB is refused by its length alone.
    #[test]
    fn oversize_is_refused_before_allocating() {
        let mut r = Cursor::new(vec![0xff, 0xff, 0xff, 0xff]);
        match read_frame(&mut r, MAX_FRAME) {
            Err(FrameError::TooLarge { len, max }) => {
                assert_eq!(len, u32::MAX as usize);
                assert_eq!(max, MAX_FRAME);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    /// A stream that stops inside the header or inside the payload is truncated, not clean.
    #[test]
    fn truncation_is_reported_with_counts() {
        let mut r = Cursor::new(vec![0, 0]);
        assert!(matches!(
            read_frame(&mut r, MAX_FRAME),
            Err(FrameError::Truncated {
                expected: 4,
                got: 2
            })
        ));
        let mut r = Cursor::new(vec![0, 0, 0, 10, 1, 2, 3]);
        assert!(matches!(
            read_frame(&mut r, MAX_FRAME),
            Err(FrameError::Truncated {
                expected: 14,
                got: 7
            })
        ));
    }
}
