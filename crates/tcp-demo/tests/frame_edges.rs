//! Chapter 1's framing at its edges: a frame of exactly the maximum, a read interrupted by a
//! signal, and the decoder's own accounting (what it holds, what it has copied), which
//! chapter 7's event loop relies on. (Found by `cargo mutants`: refusing a frame of exactly
//! `max` bytes, failing on `EINTR`, and a decoder whose `buffered`, `read_from` or
//! `bytes_moved` returned a constant all passed the other tests.)

use std::io::{self, ErrorKind, Read};

use tcp_demo::frame::{Decoder, FrameError, HEADER_LEN, read_frame};

fn frame(payload: &[u8]) -> Vec<u8> {
    [&(payload.len() as u32).to_be_bytes()[..], payload].concat()
}

/// The limit is inclusive: a payload of exactly `max` bytes is a frame; one byte more is
/// refused as `TooLarge` before anything is allocated for it.
#[test]
fn a_frame_of_exactly_max_bytes_is_accepted() {
    let wire = frame(b"12345");
    assert_eq!(read_frame(&mut &wire[..], 5).unwrap().unwrap(), b"12345");
    assert!(matches!(
        read_frame(&mut &wire[..], 4),
        Err(FrameError::TooLarge { len: 5, max: 4 })
    ));
}

/// A reader whose first `read` is interrupted by a signal (`EINTR`) before any byte moves,
/// then delivers everything: as a blocking `read(2)` can be when a handler is installed
/// without `SA_RESTART` (chapter 4).
struct InterruptedOnce {
    interrupted: bool,
    data: Vec<u8>,
}

impl Read for InterruptedOnce {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(io::Error::from(ErrorKind::Interrupted));
        }
        (&self.data[..]).read(buf).inspect(|&n| {
            self.data.drain(..n);
        })
    }
}

/// `EINTR` loses nothing, so `read_frame` reads again and returns the frame.
#[test]
fn an_interrupted_read_is_retried() {
    let mut r = InterruptedOnce {
        interrupted: false,
        data: frame(b"after the signal"),
    };
    assert_eq!(
        read_frame(&mut r, 100).unwrap().unwrap(),
        b"after the signal"
    );
}

/// The decoder reads straight from a socket-like reader, says how many bytes of an
/// incomplete frame it holds (the event loop's slow-sender clock reads this), and empties
/// as frames are taken.
#[test]
fn the_decoder_reads_and_reports_what_it_holds() {
    let mut d = Decoder::new(100);
    let wire = frame(b"0123456789");
    let mut src = &wire[..6];
    assert_eq!(d.read_from(&mut src).unwrap(), 6);
    assert_eq!(d.buffered(), 6);
    assert_eq!(d.next_frame().unwrap(), None);
    let mut rest = &wire[6..];
    assert_eq!(d.read_from(&mut rest).unwrap(), wire.len() - 6);
    assert_eq!(d.buffered(), HEADER_LEN + 10);
    assert_eq!(d.next_frame().unwrap().unwrap(), b"0123456789");
    assert_eq!(d.buffered(), 0);
    assert_eq!(d.read_from(&mut rest).unwrap(), 0, "end of stream");
}

/// The decoder's work counter counts: with a 64-byte bound, one 60-byte frame and the
/// 4-byte header of the next fill it; taking the frame leaves those 4 bytes at the back, and
/// the next bytes fit only after they are moved to the front: exactly 4 bytes copied.
/// (`a_stream_of_empty_frames_costs_linear_work` bounds this counter from above; this shows
/// it is not stuck at zero.)
#[test]
fn reclaiming_space_is_counted() {
    let mut d = Decoder::new(60);
    let mut wire = frame(&[7; 56]);
    wire.extend_from_slice(&frame(&[8; 10]));
    assert_eq!(d.feed(&wire), 64, "the bound: one maximal frame");
    assert_eq!(d.next_frame().unwrap().unwrap(), [7; 56]);
    assert_eq!(d.bytes_moved(), 0);
    assert_eq!(d.feed(&wire[64..]), 10);
    assert_eq!(d.bytes_moved(), 4);
    assert_eq!(d.next_frame().unwrap().unwrap(), [8; 10]);
}
