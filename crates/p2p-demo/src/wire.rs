//! The peer protocol: six kinds of message, each carried in one chapter 1 frame
//! (`tcp_demo::frame`: a 4-byte big-endian length, then the payload), whose first payload byte
//! says which kind it is.
//!
//! ```text
//! Hello      1 | id: u64 | incarnation: u64 | listen address (text)
//! HelloAck   2
//! Heartbeat  3
//! Broadcast  4 | origin: u64 | incarnation: u64 | seq: u64 | body
//! Superseded 5
//! Leave      6 | reason (text)
//! ```
//!
//! The handshake is two messages each way: both ends send `Hello` as soon as the connection
//! exists, and each answers the other's with `HelloAck`. A node counts a connection
//! as a link only once its own `Hello` was acknowledged, which proves the peer is reading this
//! connection *now*: a `Hello` alone may have waited in a listen queue long after its sender
//! gave up on the connection (a node that hung finds a backlog of those when it resumes).
//!
//! Integers are big-endian, like the length prefix. Every field is checked on the way in, and a
//! frame that does not parse is a [`BadFrame`]: the node closes that one connection with the
//! reason and carries on. Frames are bounded by [`MAX_FRAME`], checked by `read_frame` before
//! anything is allocated (chapter 1).

use std::fmt;
use std::io::{self, ErrorKind, Read};
use std::net::SocketAddr;

use tcp_demo::frame::{FrameError, read_frame, write_frame};

/// A node's identity: chosen by the operator (`--id`), or its listening port by default.
pub type NodeId = u64;

/// The largest frame a node accepts: 64 KiB, enough for any broadcast the course sends.
pub const MAX_FRAME: usize = 64 * 1024;

/// The longest listen address a `Hello` may carry (`[ffff:...]:65535` is 47 characters).
pub const MAX_ADDR_TEXT: usize = 64;

/// The longest reason a `Leave` may carry.
pub const MAX_REASON: usize = 256;

// ANCHOR: msg
/// One message between peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// The first frame on every connection, from both ends: who I am, which life of mine this
    /// is (a restarted node has a new incarnation), and where I listen (so that the other end
    /// can dial me again if we lose each other).
    Hello {
        /// The sender's id.
        id: NodeId,
        /// Changes each time the node starts.
        incarnation: u64,
        /// The address the sender listens on.
        listen: SocketAddr,
    },
    /// "I read your `Hello`": the handshake is complete for the end that receives it.
    HelloAck,
    /// "I am still here": sent every heartbeat interval on every link.
    Heartbeat,
    /// A message for every node, identified by its origin and a sequence number.
    Broadcast {
        /// The node that first sent it.
        origin: NodeId,
        /// The origin's incarnation, so that a restarted origin's `seq` 1 is a new message.
        incarnation: u64,
        /// Counts the origin's broadcasts from 1.
        seq: u64,
        /// What was said.
        body: Vec<u8>,
    },
    /// "I keep another connection to you, this one is closing": the loser of a tie-break.
    Superseded,
    /// "I am going away", with why (a clean stop).
    Leave {
        /// Why, for the other end's log.
        reason: String,
    },
}
// ANCHOR_END: msg

/// Why a frame was not a message; the connection that sent it is closed with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrame(pub String);

impl fmt::Display for BadFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad frame: {}", self.0)
    }
}

impl std::error::Error for BadFrame {}

impl Msg {
    /// The kind's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Hello { .. } => "hello",
            Msg::HelloAck => "hello-ack",
            Msg::Heartbeat => "heartbeat",
            Msg::Broadcast { .. } => "broadcast",
            Msg::Superseded => "superseded",
            Msg::Leave { .. } => "leave",
        }
    }

    /// The frame's payload: the kind byte, then the fields.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Msg::Hello {
                id,
                incarnation,
                listen,
            } => {
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&incarnation.to_be_bytes());
                out.extend_from_slice(listen.to_string().as_bytes());
            }
            Msg::HelloAck => out.push(2),
            Msg::Heartbeat => out.push(3),
            Msg::Broadcast {
                origin,
                incarnation,
                seq,
                body,
            } => {
                out.push(4);
                out.extend_from_slice(&origin.to_be_bytes());
                out.extend_from_slice(&incarnation.to_be_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
                out.extend_from_slice(body);
            }
            Msg::Superseded => out.push(5),
            Msg::Leave { reason } => {
                out.push(6);
                let cut = reason.len().min(MAX_REASON);
                out.extend_from_slice(&reason.as_bytes()[..cut]);
            }
        }
        out
    }

    /// The whole frame, length prefix included, in one buffer: one `write(2)` sends it, so
    /// that a heartbeat never leaves as two small segments.
    pub fn frame(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail, and encode() never exceeds a u32 length.
        let _ = write_frame(&mut out, &self.encode());
        out
    }

    /// Parses a frame's payload, checking every field.
    pub fn decode(payload: &[u8]) -> Result<Msg, BadFrame> {
        let Some((&kind, rest)) = payload.split_first() else {
            return Err(BadFrame("an empty frame has no kind".into()));
        };
        let u64_at = |at: usize| -> Result<u64, BadFrame> {
            rest.get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| BadFrame(format!("kind {kind} is too short")))
        };
        let exact = |len: usize| -> Result<(), BadFrame> {
            if rest.len() == len {
                Ok(())
            } else {
                Err(BadFrame(format!(
                    "kind {kind} has {} bytes after the kind, expected {len}",
                    rest.len()
                )))
            }
        };
        match kind {
            1 => {
                let (id, incarnation) = (u64_at(0)?, u64_at(8)?);
                let text = &rest[16..];
                if text.len() > MAX_ADDR_TEXT {
                    return Err(BadFrame("hello: the listen address is too long".into()));
                }
                let listen = std::str::from_utf8(text)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| BadFrame("hello: the listen address does not parse".into()))?;
                Ok(Msg::Hello {
                    id,
                    incarnation,
                    listen,
                })
            }
            2 => exact(0).map(|()| Msg::HelloAck),
            3 => exact(0).map(|()| Msg::Heartbeat),
            4 => Ok(Msg::Broadcast {
                origin: u64_at(0)?,
                incarnation: u64_at(8)?,
                seq: u64_at(16)?,
                body: rest[24..].to_vec(),
            }),
            5 => exact(0).map(|()| Msg::Superseded),
            6 => {
                if rest.len() > MAX_REASON {
                    return Err(BadFrame("leave: the reason is too long".into()));
                }
                Ok(Msg::Leave {
                    reason: String::from_utf8_lossy(rest).into_owned(),
                })
            }
            other => Err(BadFrame(format!("unknown kind {other}"))),
        }
    }
}

/// Reads one message: `Ok(None)` at a clean end of stream (between frames), `InvalidData` for
/// a frame over [`MAX_FRAME`] or one that does not parse, other errors as the socket gave them.
pub fn read_msg(r: &mut impl Read) -> io::Result<Option<Msg>> {
    match read_frame(r, MAX_FRAME) {
        Ok(None) => Ok(None),
        Ok(Some(payload)) => Msg::decode(&payload)
            .map(Some)
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, e)),
        Err(FrameError::Io(e)) => Err(e),
        Err(e @ FrameError::TooLarge { .. }) => Err(io::Error::new(
            ErrorKind::InvalidData,
            BadFrame(e.to_string()),
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Every kind survives a round trip through a frame.
    #[test]
    fn every_kind_round_trips() {
        let msgs = [
            Msg::Hello {
                id: 7,
                incarnation: 99,
                listen: "127.0.0.1:7007".parse().unwrap(),
            },
            Msg::HelloAck,
            Msg::Heartbeat,
            Msg::Broadcast {
                origin: 3,
                incarnation: 1,
                seq: 42,
                body: b"hi".to_vec(),
            },
            Msg::Superseded,
            Msg::Leave {
                reason: "shutting down".into(),
            },
        ];
        let mut wire = Vec::new();
        for m in &msgs {
            wire.extend_from_slice(&m.frame());
        }
        let mut r = Cursor::new(wire);
        for m in &msgs {
            assert_eq!(read_msg(&mut r).unwrap().as_ref(), Some(m));
        }
        assert!(read_msg(&mut r).unwrap().is_none());
    }

    /// Short fields, trailing bytes, unknown kinds and text for a length are refused.
    #[test]
    fn malformed_frames_are_refused() {
        for bad in [&[][..], &[1, 0, 0], &[3, 0], &[4; 10], &[9], &[1; 20]] {
            assert!(Msg::decode(bad).is_err(), "{bad:?}");
        }
        let err = read_msg(&mut Cursor::new(b"GET / HTTP/1.1\r\n".to_vec())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert!(err.to_string().contains("looks like text"), "{err}");
    }
}
