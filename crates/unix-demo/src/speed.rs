//! The loops the benchmark (`benches/unix_vs_tcp.rs`) times, written once for both
//! transports: a Unix stream pair from `socketpair(2)` and a TCP connection on loopback
//! (`TCP_NODELAY` set, so that Nagle's algorithm does not hold back small writes).
//!
//! A round trip is one `write(2)` of a small message and one `read(2)` of its echo, done by a
//! thread at the other end. Bulk is a long run of large writes into a thread that reads and
//! discards. Everything else is equal between the two transports: same threads, same sizes,
//! same calls, so the difference is what the kernel does between `write` and `read`: for a
//! Unix socket, queue the data on the peer socket (unix(7)); for TCP, the TCP and IP layers and
//! the loopback device (tcp(7), ip(7)).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The two transports compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `socketpair(AF_UNIX, SOCK_STREAM)`.
    Unix,
    /// TCP over `127.0.0.1`.
    Tcp,
}

impl Transport {
    /// Both, in the order the tables print them.
    pub const BOTH: [Transport; 2] = [Transport::Unix, Transport::Tcp];

    /// The name the benchmark and the demo print.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Unix => "unix stream",
            Transport::Tcp => "tcp loopback",
        }
    }
}

/// One end of either transport: anything that reads and writes and can go to a thread.
pub trait End: Read + Write + Send + 'static {}
impl<T: Read + Write + Send + 'static> End for T {}

/// A connected pair of `transport`, with both ends' timeouts at [`crate::STEP_TIMEOUT`].
pub fn pair(transport: Transport) -> io::Result<(Box<dyn End>, Box<dyn End>)> {
    let limit = Some(crate::STEP_TIMEOUT);
    match transport {
        Transport::Unix => {
            let (a, b) = UnixStream::pair()?;
            for s in [&a, &b] {
                s.set_read_timeout(limit)?;
                s.set_write_timeout(limit)?;
            }
            Ok((Box::new(a), Box::new(b)))
        }
        Transport::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let a = TcpStream::connect(listener.local_addr()?)?;
            let (b, _) = listener.accept()?;
            for s in [&a, &b] {
                s.set_nodelay(true)?;
                s.set_read_timeout(limit)?;
                s.set_write_timeout(limit)?;
            }
            Ok((Box::new(a), Box::new(b)))
        }
    }
}

// ANCHOR: echo
/// Echoes what it reads, message by message of up to `max` bytes, until end of stream;
/// returns how many bytes it echoed.
pub fn spawn_echo(mut end: Box<dyn End>, max: usize) -> JoinHandle<io::Result<u64>> {
    thread::spawn(move || {
        let mut buf = vec![0u8; max];
        let mut total = 0;
        loop {
            let n = end.read(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            end.write_all(&buf[..n])?;
            total += n as u64;
        }
    })
}

/// Sends `message` and reads until its whole echo is back, into `buf` (at least as long).
pub fn round_trip(end: &mut dyn End, message: &[u8], buf: &mut [u8]) -> io::Result<()> {
    end.write_all(message)?;
    end.read_exact(&mut buf[..message.len()])
}
// ANCHOR_END: echo

// ANCHOR: bulk
/// Reads and discards until end of stream; returns how many bytes it read.
pub fn spawn_sink(mut end: Box<dyn End>) -> JoinHandle<io::Result<u64>> {
    thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0;
        loop {
            match end.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    })
}

/// Writes `total` bytes in writes of `chunk` bytes.
pub fn send_bulk(end: &mut dyn End, total: u64, chunk: usize) -> io::Result<()> {
    let block = vec![0x5au8; chunk];
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk as u64) as usize;
        end.write_all(&block[..n])?;
        left -= n as u64;
    }
    Ok(())
}
// ANCHOR_END: bulk

/// Times `count` round trips of a `size`-byte message on a fresh pair of `transport`, for the
/// demo's quick look (the benchmark does it properly, with warm-up and statistics).
pub fn time_round_trips(
    transport: Transport,
    size: usize,
    count: usize,
) -> io::Result<Vec<Duration>> {
    let (mut ours, theirs) = pair(transport)?;
    let echo = spawn_echo(theirs, size.max(1));
    let message = vec![0xabu8; size];
    let mut buf = vec![0u8; size];
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        round_trip(ours.as_mut(), &message, &mut buf)?;
        times.push(started.elapsed());
    }
    drop(ours);
    echo.join()
        .map_err(|_| io::Error::other("the echo thread panicked"))??;
    Ok(times)
}
