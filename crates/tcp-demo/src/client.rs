//! The blocking client for the echo server: `connect(2)`, then framed `write`s and `read`s.
//!
//! A request/response client on a blocking socket is the simplest kind there is: send a frame,
//! wait for its echo. The one subtlety is timeouts: without one, a client whose server died
//! silently would wait forever, so [`Client::connect`] sets read and write timeouts.

use std::io::{self, BufReader, BufWriter, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::frame::{self, MAX_FRAME};

/// A connection to an echo server, speaking length-prefixed frames.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

impl Client {
    /// Connects to `addr` with a timeout on the connect and on every later read and write.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Self::from_stream(stream)
    }

    /// Wraps a stream the caller connected and configured itself.
    pub fn from_stream(stream: TcpStream) -> io::Result<Self> {
        // Frames are written whole through the BufWriter; Nagle's delay would only add latency.
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: BufWriter::new(stream),
        })
    }

    /// Sends one frame (without waiting for anything back).
    pub fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        frame::write_frame(&mut self.writer, payload)?;
        self.writer.flush()
    }

    /// Receives one frame; `None` if the server closed the connection between frames.
    pub fn recv(&mut self) -> io::Result<Option<Vec<u8>>> {
        Ok(frame::read_frame(&mut self.reader, MAX_FRAME)?)
    }

    // ANCHOR: echo
    /// Sends `payload` and waits for its echo.
    pub fn echo(&mut self, payload: &[u8]) -> io::Result<Vec<u8>> {
        self.send(payload)?;
        self.recv()?.ok_or_else(|| {
            io::Error::new(ErrorKind::UnexpectedEof, "the server closed the connection")
        })
    }
    // ANCHOR_END: echo

    /// Sends `count` frames of `size` bytes, each after the previous one's echo, and returns
    /// every round-trip time: the blocking request/response latency of this machine.
    pub fn ping(&mut self, size: usize, count: usize) -> io::Result<Vec<std::time::Duration>> {
        let payload = vec![0x70u8; size];
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            let t = std::time::Instant::now();
            let echo = self.echo(&payload)?;
            times.push(t.elapsed());
            if echo.len() != size {
                return Err(io::Error::new(
                    ErrorKind::InvalidData,
                    "echo of the wrong length",
                ));
            }
        }
        Ok(times)
    }

    /// The underlying socket, for experiments that need it (peer address, shutdown, ...).
    pub fn stream(&self) -> &TcpStream {
        self.writer.get_ref()
    }
}
