//! Lab 1: a robust echo server for chapter 1's frames (`accept(2)`, `read(2)`, `write(2)`,
//! `SO_RCVTIMEO`, `SO_SNDTIMEO`, `shutdown(2)`, and `poll(2)` on a stop descriptor).
//!
//! The binary `lab1-echo` (`src/bin/lab1-echo.rs`) parses its options, binds, prints
//! `listening on ADDR`, and calls [`serve`]; everything else is the lab. Its grading tests,
//! `tests/lab1.rs`, start that binary and attack it with the course's robustness suite
//! (`socklab_abuse::attacks`) while well-behaved clients check that every byte they send comes
//! back. The book's page, "Lab 1: a robust echo server", says what is asked.
//!
//! The reference solution here is one thread per connection, with the bounds of chapter 1's
//! server written out again and exercise 6.2's write deadline (`ch6::write_all_by`): an event
//! loop (chapter 7) is just as welcome. The two helper functions are the reference's own
//! structure; a solution may ignore them.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::stop::{Stop, Woken};

/// Bytes in a frame's length prefix (chapter 1: a big-endian `u32`).
pub const HEADER_LEN: usize = 4;

/// The server's bounds, from the binary's options (their defaults are there). The grader
/// runs the server with short timeouts so that its attacks end in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Connections served at once (the rest wait, or are closed at once: your choice).
    pub max_connections: usize,
    /// The largest frame payload accepted; a longer one closes its connection.
    pub max_frame: usize,
    /// How long a connection may go without starting a frame, or without taking its echoes,
    /// before it is closed.
    pub idle_timeout: Duration,
    /// How long one frame may take to arrive, from its first byte to its last.
    pub frame_timeout: Duration,
}

// ANCHOR: lab1_serve
/// Serves `listener` until `stop` is requested, then closes every connection and returns
/// `Ok(())` (the binary then exits 0). Each connection's frames are echoed back, whole and in
/// order, within `config`'s bounds; a client that breaks them is closed, and only that
/// client. No client can make `serve` return or panic.
pub fn serve(listener: TcpListener, config: &Config, stop: &Stop) -> io::Result<()> {
    // SOLUTION BEGIN: an accept loop that waits with stop.wait_readable(listener.as_fd(), ..)
    // before each accept; one thread per connection (at most max_connections), each registered so
    // that a stop can shut it down; on stop, shut every connection down and join the threads.
    /// The connections open now, each with a handle to shut it down, and a signal for the accept
    /// loop when one closes.
    #[derive(Default)]
    struct Open {
        streams: Mutex<HashMap<u64, TcpStream>>,
        closed: Condvar,
    }

    impl Open {
        fn insert(&self, id: u64, stream: TcpStream) {
            self.lock().insert(id, stream);
        }

        fn remove(&self, id: u64) {
            self.lock().remove(&id);
            self.closed.notify_all();
        }

        /// Waits until fewer than `max` connections are open; `false` if a stop came first.
        fn wait_for_slot(&self, max: usize, stop: &Stop) -> bool {
            let mut streams = self.lock();
            while streams.len() >= max {
                if stop.requested() {
                    return false;
                }
                // Bounded, so that a stop is noticed even while every slot stays taken.
                streams = self
                    .closed
                    .wait_timeout(streams, Duration::from_millis(100))
                    .map_or_else(|e| e.into_inner().0, |(s, _)| s);
            }
            true
        }

        /// Shuts every open connection down; returns how many there were.
        fn shut_down_all(&self) -> usize {
            let streams = self.lock();
            for stream in streams.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            streams.len()
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, TcpStream>> {
            // A connection thread that panicked while holding the lock leaves the map usable.
            self.streams.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    /// A connection's place in [`Open`], given back when its thread ends.
    struct Registered(Arc<Open>, u64);

    impl Drop for Registered {
        fn drop(&mut self) {
            self.0.remove(self.1);
        }
    }

    let open = Arc::new(Open::default());
    let mut threads = Vec::new();
    let mut next_id = 0u64;
    loop {
        // A free slot first: beyond the limit, new clients wait in the kernel's accept queue.
        if !open.wait_for_slot(config.max_connections, stop) {
            break;
        }
        // Sleeps in poll(2) on the listener and the stop descriptor: SIGTERM wakes it.
        match stop.wait_readable(listener.as_fd(), None)? {
            Woken::Stopped => break,
            Woken::TimedOut => continue,
            Woken::Ready => {}
        }
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (EMFILE), a connection reset while queued (ECONNABORTED):
                // this client's trouble, or a passing one. Log, pause so as not to spin on a
                // full table, and go on serving.
                eprintln!("accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let id = next_id;
        next_id += 1;
        match stream.try_clone() {
            Ok(handle) => open.insert(id, handle),
            Err(e) => {
                eprintln!("{peer}: closed: cannot register it ({e})");
                continue;
            }
        }
        let (config, mine) = (*config, Arc::clone(&open));
        let spawned = thread::Builder::new()
            .name(format!("conn {peer}"))
            .spawn(move || {
                // Leaves the registry however the thread ends, a panic included.
                let _registered = Registered(mine, id);
                let reason = match echo_connection(stream, &config) {
                    Ok(()) => "closed by the client".to_string(),
                    Err(e) => e.to_string(),
                };
                eprintln!("{peer}: {reason}");
            });
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(e) => {
                // No thread for it (the system's limit): close it, keep serving the others.
                eprintln!("{peer}: closed: no thread ({e})");
                open.remove(id);
            }
        }
        threads.retain(|t| !t.is_finished());
    }
    // Stopping: every connection is shut down, which wakes a thread blocked in `read` (it
    // reads the end of stream) or in `write` (it fails), so each ends at once.
    let closed = open.shut_down_all();
    for t in threads {
        let _ = t.join();
    }
    eprintln!("stopped: closed {closed} open connection(s)");
    Ok(())
    // SOLUTION END
}
// ANCHOR_END: lab1_serve

// ANCHOR: lab1_connection
/// Echoes `stream`'s frames until the client closes between two frames (`Ok`), or breaks a
/// bound (an error that says which: the thread logs it as the reason for closing).
fn echo_connection(mut stream: TcpStream, config: &Config) -> io::Result<()> {
    // SOLUTION BEGIN: keep the bytes read in a buffer; echo every complete frame it holds with one
    // write, by a deadline of idle_timeout; read again with a timeout of the time left:
    // idle_timeout between frames, frame_timeout from a frame's first byte; refuse a length over
    // max_frame before reading its payload.
    stream.set_nodelay(true)?; // An echo is an answer: send it now, not with the next one.
    // Bytes read, not yet echoed: at most one partial frame and one read's worth.
    let mut held: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    // When the partial frame at the front of `held` began to arrive, if there is one.
    let mut frame_began: Option<Instant> = None;
    loop {
        let whole = complete_frames(&held, config.max_frame)?;
        if whole > 0 {
            // Chapter 6's write deadline (exercise 6.2): a client that does not read its
            // echoes cannot hold the thread.
            let by = Instant::now() + config.idle_timeout;
            crate::ch6::write_all_by(&mut stream, &held[..whole], by).map_err(|e| {
                let took = config.idle_timeout;
                io::Error::new(
                    e.kind(),
                    format!("closed: echoes not taken within {took:?} ({e})"),
                )
            })?;
            held.drain(..whole);
            frame_began = None;
        }
        if !held.is_empty() {
            // A partial frame: its clock started when its first byte came, in the last read.
            frame_began.get_or_insert_with(Instant::now);
        }
        // The frame clock runs from a frame's first byte, whatever the pauses between reads:
        // a per-read timeout alone would let a slow client drip bytes for ever (chapter 6).
        let (deadline, why) = match frame_began {
            Some(began) => (
                began + config.frame_timeout,
                format!(
                    "closed: frame not complete within {:?}",
                    config.frame_timeout
                ),
            ),
            None => (
                Instant::now() + config.idle_timeout,
                format!("closed: idle for {:?}", config.idle_timeout),
            ),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(ErrorKind::TimedOut, why));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk) {
            Ok(0) if held.is_empty() => return Ok(()),
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!(
                        "closed: the stream ended inside a frame ({} bytes of it)",
                        held.len()
                    ),
                ));
            }
            Ok(n) => held.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(io::Error::new(ErrorKind::TimedOut, why));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // SOLUTION END
}
// ANCHOR_END: lab1_connection

// ANCHOR: lab1_frames
/// How many bytes at the front of `held` are complete frames. A length over `max_frame` is an
/// error (`InvalidData`), found as soon as its header is there, before its payload is awaited.
fn complete_frames(held: &[u8], max_frame: usize) -> io::Result<usize> {
    // SOLUTION BEGIN: walk the frames from the front: read each 4-byte big-endian length, check it
    // against max_frame, and stop at the first frame not all there.
    let mut at = 0;
    loop {
        let Some(header) = held.get(at..at + HEADER_LEN) else {
            return Ok(at);
        };
        let len = u32::from_be_bytes(header.try_into().expect("four bytes")) as usize;
        if len > max_frame {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("closed: a frame of {len} bytes exceeds the limit of {max_frame}"),
            ));
        }
        if held.len() < at + HEADER_LEN + len {
            return Ok(at);
        }
        at += HEADER_LEN + len;
    }
    // SOLUTION END
}
// ANCHOR_END: lab1_frames
