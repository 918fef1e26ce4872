//! Chapter 1 exercises: framing on a byte stream (`read(2)`, `write(2)`).

use std::io::{self, ErrorKind, Read, Write};

use tcp_demo::frame::{self, FrameError};

// ANCHOR: ch1_typed_frame
/// Exercise 1.1, add a frame type: a typed frame is a chapter 1 frame whose payload starts
/// with one byte saying what kind of message follows. Write one.
pub fn write_typed_frame(w: &mut impl Write, kind: u8, body: &[u8]) -> io::Result<()> {
    // SOLUTION BEGIN: build a payload of `kind` followed by `body`, and send it with
    // frame::write_frame.
    let mut payload = Vec::with_capacity(1 + body.len());
    payload.push(kind);
    payload.extend_from_slice(body);
    frame::write_frame(w, &payload)
    // SOLUTION END
}

/// ...and read one back: `Ok(None)` at a clean end of stream; a frame with no kind byte at
/// all is `InvalidData`.
pub fn read_typed_frame(r: &mut impl Read, max: usize) -> io::Result<Option<(u8, Vec<u8>)>> {
    // SOLUTION BEGIN: read a frame with frame::read_frame, then split off its first byte (an empty
    // payload is InvalidData).
    let Some(mut payload) = frame::read_frame(r, max)? else {
        return Ok(None);
    };
    if payload.is_empty() {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            "a typed frame needs a kind byte",
        ));
    }
    let kind = payload.remove(0);
    Ok(Some((kind, payload)))
    // SOLUTION END
}
// ANCHOR_END: ch1_typed_frame

// ANCHOR: ch1_delimited
/// Exercise 1.2, another way to frame: read one message ending in `\n` (returned without it),
/// one byte-stream `read` at a time, however the bytes were split. `Ok(None)` at a clean end
/// of stream; a message longer than `max` bytes is `FrameError::TooLarge`, and a stream that
/// ends inside a message is `FrameError::Truncated`. (Reading one byte per call is slow; it
/// keeps the exercise about the stream, not about buffering.)
pub fn read_delimited(r: &mut impl Read, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    // SOLUTION BEGIN: loop reading one byte; 0 means end of stream (clean only if nothing was
    // read); stop at b'\n'; check the length against max.
    let mut message = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte) {
            Ok(0) if message.is_empty() => return Ok(None),
            Ok(0) => {
                return Err(FrameError::Truncated {
                    expected: message.len() + 1,
                    got: message.len(),
                });
            }
            Ok(_) if byte[0] == b'\n' => return Ok(Some(message)),
            Ok(_) => {
                if message.len() == max {
                    return Err(FrameError::TooLarge { len: max + 1, max });
                }
                message.push(byte[0]);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
    // SOLUTION END
}
// ANCHOR_END: ch1_delimited
