//! Chapter 11 exercises: completion I/O's bookkeeping, in plain Rust: tagging operations so
//! their completions find their way back, and what to send after a partial send.

use std::io;

/// The operations one connection can have in flight, as the low byte of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A receive.
    Recv = 1,
    /// A send.
    Send = 2,
    /// A cancel of one of the other two.
    Cancel = 3,
}

// ANCHOR: ch11_tag
/// Exercise 11.1: a completion carries back only the 64-bit `user_data` its entry was
/// submitted with. Pack into it the connection's `slot` (bits 32 to 63), the slot's
/// `generation` (bits 8 to 23: a slot reused by a new connection gets a new generation, so a
/// late completion for the old one is recognised as stale) and the operation (bits 0 to 7).
pub fn tag(slot: u32, generation: u16, op: Op) -> u64 {
    // SOLUTION BEGIN: shift each part into place with `<<` and combine them with `|`; `op as u64`
    // gives the operation's number.
    (u64::from(slot) << 32) | (u64::from(generation) << 8) | op as u64
    // SOLUTION END
}

/// Exercise 11.1, the other way: `(slot, generation, op)` from a tag made by [`tag`], or
/// `None` if its low byte names no operation.
pub fn untag(user_data: u64) -> Option<(u32, u16, Op)> {
    // SOLUTION BEGIN: shift right and mask (`& 0xffff`, `& 0xff`) to take each part out; match the
    // low byte against 1, 2 and 3.
    let op = match user_data & 0xff {
        1 => Op::Recv,
        2 => Op::Send,
        3 => Op::Cancel,
        _ => return None,
    };
    Some(((user_data >> 32) as u32, (user_data >> 8) as u16, op))
    // SOLUTION END
}
// ANCHOR_END: ch11_tag

// ANCHOR: ch11_next_send
/// Exercise 11.2: a send completed. The kernel hands back `buf`, the buffer it was given, and
/// says it sent the first `sent` bytes of it; while it held the buffer, more echoes were
/// queued in `outbox` (they could not be appended to `buf`: it was the kernel's). Return the
/// buffer to submit next, the unsent tail of `buf` first and then everything in `outbox`,
/// leaving `outbox` empty; or `None` if nothing is left to send. A count larger than the
/// buffer is a bug, not a kernel's answer: refuse it with `InvalidData`.
pub fn next_send(buf: Vec<u8>, sent: usize, outbox: &mut Vec<u8>) -> io::Result<Option<Vec<u8>>> {
    // SOLUTION BEGIN: check `sent <= buf.len()`; then drop the first `sent` bytes of `buf`
    // (`drain(..sent)`), append `outbox` to it (`append` empties it), and return None if the result
    // is empty.
    if sent > buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{sent} bytes sent from a buffer of {}", buf.len()),
        ));
    }
    let mut next = buf;
    next.drain(..sent);
    next.append(outbox);
    Ok((!next.is_empty()).then_some(next))
    // SOLUTION END
}
// ANCHOR_END: ch11_next_send
