//! Bulk transfer: a sink that reads and discards, and a sender that pushes as fast as it can.
//!
//! Like iperf3's single stream: the client writes `write_size` blocks for a fixed number of
//! bytes or a fixed time, half-closes, and waits for the sink to say how many bytes it read,
//! so the time measured covers delivery, not just handing bytes to the kernel.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// How a transfer is bounded.
#[derive(Debug, Clone, Copy)]
pub enum Amount {
    /// Exactly this many bytes.
    Bytes(u64),
    /// As many bytes as fit in this time.
    Time(Duration),
}

/// A measured transfer.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Bytes the sink confirmed it read.
    pub bytes: u64,
    /// From the first write to the sink's confirmation.
    pub elapsed: Duration,
}

impl Throughput {
    /// Bytes per second.
    pub fn bytes_per_sec(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Gigabits per second, the unit iperf3 reports.
    pub fn gbit_per_sec(&self) -> f64 {
        self.bytes_per_sec() * 8.0 / 1e9
    }
}

// ANCHOR: sink
/// Serves one bulk connection: reads and discards until end of stream, then reports the byte
/// count (8 bytes, big-endian) and closes.
pub fn sink_one(mut stream: TcpStream) -> io::Result<u64> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?; // An idle sender is dropped.
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break, // The sender half-closed: everything has arrived.
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    stream.write_all(&total.to_be_bytes())?;
    Ok(total)
}
// ANCHOR_END: sink

/// Accepts bulk connections forever on a background thread, each served by [`sink_one`].
pub fn spawn_sink(listener: TcpListener) -> io::Result<SocketAddr> {
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("bulk sink".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // One transfer at a time keeps measurements from disturbing each other.
                let _ = sink_one(stream);
            }
        })?;
    Ok(addr)
}

// ANCHOR: send
/// Connects to a sink (with `SO_SNDBUF`/`SO_RCVBUF` set to `buffer` before connecting, if
/// given), sends `amount` in blocks of `write_size`, and measures until the sink confirms.
pub fn send(
    addr: SocketAddr,
    write_size: usize,
    amount: Amount,
    buffer: Option<usize>,
) -> io::Result<Throughput> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(size) = buffer {
        socket.set_send_buffer_size(size)?;
        socket.set_recv_buffer_size(size)?;
    }
    socket.connect(&addr.into())?;
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let block = vec![0x5au8; write_size.max(1)];
    let started = Instant::now();
    let mut sent = 0u64;
    loop {
        let n = match amount {
            Amount::Bytes(total) if sent >= total => break,
            Amount::Bytes(total) => (total - sent).min(block.len() as u64) as usize,
            Amount::Time(limit) if started.elapsed() >= limit => break,
            Amount::Time(_) => block.len(),
        };
        stream.write_all(&block[..n])?;
        sent += n as u64;
    }
    stream.shutdown(Shutdown::Write)?; // "That is all"; the sink's count follows.
    let mut count = [0u8; 8];
    stream.read_exact(&mut count)?;
    let bytes = u64::from_be_bytes(count);
    if bytes != sent {
        return Err(io::Error::other(format!(
            "sent {sent} bytes but the sink read {bytes}"
        )));
    }
    Ok(Throughput {
        bytes,
        elapsed: started.elapsed(),
    })
}
// ANCHOR_END: send

/// A sink with its listener's buffers set to `buffer` (so accepted sockets inherit them).
pub fn sink_with_buffer(buffer: Option<usize>) -> io::Result<SocketAddr> {
    spawn_sink(crate::inherit::listener_with_rcvbuf(buffer)?)
}
