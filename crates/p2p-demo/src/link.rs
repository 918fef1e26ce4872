//! One connection to a peer: a reader thread and a writer thread around one TCP socket, so
//! that the node's event loop never blocks on a peer.
//!
//! The reader turns frames into events for the node (`read(2)` through chapter 1's
//! `read_frame`); the writer drains a bounded queue of frames (`write(2)`). Both are bounded in
//! time (`SO_RCVTIMEO`, `SO_SNDTIMEO`) and the queue in length: a peer that stops reading fills
//! the queue, and the node drops that peer instead of waiting for it. `TCP_NODELAY` is on: a
//! heartbeat is a 5-byte frame, and Nagle's algorithm would hold one back while the previous
//! is unacknowledged, which with delayed ACKs costs tens of milliseconds of a heartbeat
//! interval.
//!
//! Closing comes in two kinds. [`Link::finish`] is polite: the frames already queued (a
//! `Leave`, a `Superseded`) are written, then the writer sends FIN (`shutdown(SHUT_WR)`) and the
//! reader reads on until the peer closes too, so the last frame is read before the end of the
//! stream. [`Link::abort`] is for peers that misbehave or fell silent: `shutdown(SHUT_RDWR)`
//! at once, which also wakes both threads.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::node::Event;
use crate::wire::read_msg;

/// The node's number for one of its connections.
pub type ConnId = u64;

/// How many frames may wait to be written to one peer before the node gives up on it.
pub const OUT_QUEUE: usize = 64;

/// Each connection thread's stack: it only ever holds a frame header and a few locals (the
/// frames themselves live on the heap), so far less than std's default of 2 MiB.
const THREAD_STACK: usize = 256 * 1024;

/// The node's handle on one connection and its two threads.
#[derive(Debug)]
pub struct Link {
    stream: Arc<TcpStream>,
    out: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<()>>,
    /// Our end's address.
    pub local: SocketAddr,
    /// The peer's end's address.
    pub remote: SocketAddr,
}

impl Link {
    /// Starts the reader and the writer of connection `id`, whose events go to `events`; each
    /// read waits at most `read_timeout`, each write at most `write_timeout`.
    pub fn open(
        id: ConnId,
        stream: TcpStream,
        events: SyncSender<Event>,
        read_timeout: Duration,
        write_timeout: Duration,
    ) -> io::Result<Link> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(read_timeout))?;
        stream.set_write_timeout(Some(write_timeout))?;
        let (local, remote) = (stream.local_addr()?, stream.peer_addr()?);
        let (out, queue) = sync_channel(OUT_QUEUE);
        // One descriptor shared by both threads (`&TcpStream` reads and writes): a mesh in one
        // process holds both ends of every connection, and descriptors are a finite resource.
        let stream = Arc::new(stream);
        let (reader, writer) = (stream.clone(), stream.clone());
        let to_node = events.clone();
        thread::Builder::new()
            .name(format!("conn {id} reader"))
            .stack_size(THREAD_STACK)
            .spawn(move || read_loop(id, &reader, to_node))?;
        let writer = thread::Builder::new()
            .name(format!("conn {id} writer"))
            .stack_size(THREAD_STACK)
            .spawn(move || write_loop(id, &writer, queue, events))?;
        Ok(Link {
            stream,
            out: Some(out),
            writer: Some(writer),
            local,
            remote,
        })
    }

    /// Queues one frame; false if the queue is full (the peer is not reading) or the link is
    /// closing.
    pub fn send(&self, frame: Vec<u8>) -> bool {
        self.out.as_ref().is_some_and(|q| q.try_send(frame).is_ok())
    }

    /// Polite close: what is queued is written, then FIN; the reader reads until the peer
    /// closes too (or its read timeout).
    pub fn finish(&mut self) {
        self.out = None;
    }

    /// Abrupt close: both directions shut down now.
    pub fn abort(&mut self) {
        self.out = None;
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Waits for the writer to finish what was queued (at most one write timeout per frame).
    pub fn join_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

// ANCHOR: threads
/// Frames in, events out, until the stream ends or fails.
fn read_loop(id: ConnId, mut stream: &TcpStream, events: SyncSender<Event>) {
    loop {
        let event = match read_msg(&mut stream) {
            Ok(Some(msg)) => Event::Frame(id, msg),
            Ok(None) => Event::Closed(id, "connection closed by the peer (end of stream)".into()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Event::Closed(id, "read timed out".into())
            }
            Err(e) => Event::Closed(id, e.to_string()),
        };
        let last = matches!(event, Event::Closed(..));
        if events.send(event).is_err() || last {
            return; // The node has stopped, or this connection is over.
        }
    }
}

/// Queued frames out, until the queue is closed (then FIN) or a write fails.
fn write_loop(
    id: ConnId,
    mut stream: &TcpStream,
    queue: Receiver<Vec<u8>>,
    events: SyncSender<Event>,
) {
    for frame in queue {
        if let Err(e) = stream.write_all(&frame) {
            // try_send: the node may be waiting for this thread (a stop), so never block on
            // it. If the queue is full the reader reports the end instead: the shutdown ends it.
            let _ = events.try_send(Event::Closed(id, format!("write failed: {e}")));
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
}
// ANCHOR_END: threads
