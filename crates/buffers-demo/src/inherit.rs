//! What accepted sockets inherit, and how setting a buffer turns autotuning off.
//!
//! An accepted socket is cloned from its listener inside the kernel, options included, and the
//! TCP handshake already advertised a window (and a window-scale factor) based on the
//! listener's receive buffer. So a server that wants other buffer sizes sets them on the
//! listener *before* `listen`, not on each accepted socket afterwards.
//!
//! Linux also *autotunes* TCP buffers: an untouched socket starts at `tcp_rmem[1]` (128 KiB
//! here) and grows, up to `tcp_rmem[2]`, as a transfer shows it needs more. Setting
//! `SO_RCVBUF` yourself locks the size (the kernel marks it `SOCK_RCVBUF_LOCK`): the socket
//! stays exactly as big as you said, for better or worse.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// A listener on loopback with `SO_RCVBUF` set (or not) before `listen`.
pub fn listener_with_rcvbuf(rcvbuf: Option<usize>) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(size) = rcvbuf {
        socket.set_recv_buffer_size(size)?; // Before listen: the handshake will use it.
    }
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

// ANCHOR: inherited
/// Sets `SO_RCVBUF` on a listener, accepts a connection, and returns (listener's value,
/// accepted socket's value).
pub fn inherited(rcvbuf: usize) -> io::Result<(usize, usize)> {
    let listener = listener_with_rcvbuf(Some(rcvbuf))?;
    let _client = TcpStream::connect(listener.local_addr()?)?;
    let (accepted, _) = listener.accept()?;
    Ok((
        SockRef::from(&listener).recv_buffer_size()?,
        SockRef::from(&accepted).recv_buffer_size()?,
    ))
}
// ANCHOR_END: inherited

// ANCHOR: autotuning
/// Transfers `bytes` to a receiver whose `SO_RCVBUF` was set to `rcvbuf` (or left alone) and
/// returns its `SO_RCVBUF` before and after the transfer.
pub fn rcvbuf_during_transfer(rcvbuf: Option<usize>, bytes: usize) -> io::Result<(usize, usize)> {
    let listener = listener_with_rcvbuf(rcvbuf)?;
    let mut sender = TcpStream::connect(listener.local_addr()?)?;
    let (mut receiver, _) = listener.accept()?;
    receiver.set_read_timeout(Some(Duration::from_secs(20)))?;
    let before = SockRef::from(&receiver).recv_buffer_size()?;
    let writer = thread::spawn(move || -> io::Result<()> {
        let chunk = vec![0u8; 128 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            sender.write_all(&chunk[..n])?;
            left -= n;
        }
        Ok(())
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    while got < bytes {
        match receiver.read(&mut buf)? {
            0 => break,
            n => got += n,
        }
    }
    writer
        .join()
        .map_err(|_| io::Error::other("writer panicked"))??;
    Ok((before, SockRef::from(&receiver).recv_buffer_size()?))
}
// ANCHOR_END: autotuning
