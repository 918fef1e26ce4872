//! The little of the course's protocols that the attacks must speak, written out here so that
//! the attack tool does not depend on the servers it attacks.
//!
//! - A **frame** (chapter 1, and every echo server after it): a 4-byte big-endian length, then
//!   that many bytes of payload. The servers echo each frame back whole.
//! - A **datagram** (chapter 2): at most [`MAX_UDP_PAYLOAD_V4`] bytes of payload over IPv4,
//!   because the IPv4 length field is 16 bits and the IP (20) and UDP (8) headers count in it.

use std::io::{self, ErrorKind, Read};

/// Bytes in a frame's length prefix.
pub const HEADER_LEN: usize = 4;

/// The largest UDP payload IPv4 can carry: 65,535 - 20 (IP header) - 8 (UDP header).
pub const MAX_UDP_PAYLOAD_V4: usize = 65_535 - 20 - 8;

/// `payload` as one frame: its length (big-endian `u32`), then the bytes.
///
/// # Panics
/// If `payload` is 4 GiB or longer, which no attack sends.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a frame payload under 4 GiB");
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads one frame's payload; `Ok(None)` if the stream ended cleanly before its first byte.
/// A length over `max` is refused before anything is allocated (the attacks know the largest
/// frame they sent, so a longer echo is the server's error, not a reason to allocate).
pub fn read_frame(r: &mut impl Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > max {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("the server sent a frame of {len} bytes; the largest sent was {max}"),
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame is its big-endian length and its bytes, and reads back as it was.
    #[test]
    fn frames_round_trip() {
        let bytes = frame(b"hello");
        assert_eq!(bytes, b"\0\0\0\x05hello");
        let mut two = [frame(b"hello"), frame(b"")].concat();
        two.extend_from_slice(&frame(b"x"));
        let mut r = &two[..];
        assert_eq!(read_frame(&mut r, 10).unwrap().unwrap(), b"hello");
        assert_eq!(read_frame(&mut r, 10).unwrap().unwrap(), b"");
        assert_eq!(read_frame(&mut r, 10).unwrap().unwrap(), b"x");
        assert!(read_frame(&mut r, 10).unwrap().is_none(), "clean end");
    }

    /// A truncated frame is an error, and so is a length beyond what was sent.
    #[test]
    fn truncated_and_oversize_frames_are_errors() {
        let bytes = frame(b"hello");
        let err = read_frame(&mut &bytes[..6], 10).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        let err = read_frame(&mut &bytes[..2], 10).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        let err = read_frame(&mut &bytes[..], 4).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }

    /// The IPv4 limit is the one chapter 2 measures.
    #[test]
    fn the_largest_ipv4_datagram() {
        assert_eq!(MAX_UDP_PAYLOAD_V4, 65_507);
    }
}
