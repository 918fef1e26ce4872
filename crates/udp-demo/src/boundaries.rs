//! Datagrams keep their boundaries: N sends arrive as N receives, each whole.
//!
//! Compare chapter 1, where ten writes came out of one read. With UDP each `send_to` is one
//! datagram and each `recv_from` returns exactly one datagram, never two merged, never one
//! split, whatever the buffer size.

use std::io;
use std::net::UdpSocket;
use std::time::Duration;

use crate::RECV_BUF;

// ANCHOR: sizes_round_trip
/// Sends one datagram of each size in `sizes` (all sent before any is received), then receives
/// as many datagrams and returns the size of each receive, in order.
pub fn sizes_round_trip(sizes: &[usize]) -> io::Result<Vec<usize>> {
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_secs(5)))?;
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    for (i, &size) in sizes.iter().enumerate() {
        sender.send_to(&vec![i as u8; size], receiver.local_addr()?)?;
    }
    let mut buf = vec![0u8; RECV_BUF]; // Room for all of them at once; still one per receive.
    let mut got = Vec::new();
    for _ in sizes {
        let (n, _) = receiver.recv_from(&mut buf)?;
        got.push(n);
    }
    Ok(got)
}
// ANCHOR_END: sizes_round_trip
