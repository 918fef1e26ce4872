//! One connection of the event loop: a small state machine with a frame [`Decoder`] for what
//! comes in and an [`Outbox`] for what goes out, both bounded byte queues.
//!
//! A visit to a ready connection (`Conn::service`) reads until `read(2)` says `WouldBlock`,
//! echoes every complete frame into the outbox, and writes until `write(2)` says
//! `WouldBlock`. Two rules keep it safe and live:
//!
//! - **Read interest follows the outbox.** While the outbox holds [`Config::outbox_cap`]
//!   bytes or more, the connection is not read (back-pressure: a client that does not read its
//!   echoes fills its own buffers and blocks). Below the cap it is read. So a connection is
//!   always watched for *something*: reading (room in the outbox) or writing (a full
//!   outbox), never neither, which is the state that once stalled a full-duplex client.
//! - **Fair, but never stranded.** A visit makes at most [`ROUNDS`] read-write rounds, so one
//!   busy client cannot starve the others; if it stops with work left it says so
//!   (`Visit::more`) and the loop comes back to it before sleeping. With edge-triggered
//!   epoll that matters: the kernel will not report those waiting bytes a second time.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::Instant;

use nonblocking_demo::write::Outbox;
use tcp_demo::frame::{Decoder, HEADER_LEN};

use crate::readiness::Interest;
use crate::server::{Config, Stats};

/// Read-write rounds in one visit before the loop moves on to other connections.
pub const ROUNDS: usize = 8;

/// Why a connection was closed.
#[derive(Debug)]
pub(crate) enum Close {
    /// The peer closed cleanly between frames.
    Peer,
    /// No progress within the idle timeout, or a frame that took longer than the frame
    /// timeout (the deadline set decides which).
    Expired,
    /// A bad frame, or a system call on this connection failed.
    Bad(String),
    /// The server is stopping.
    Stopping,
}

/// What one visit achieved.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Visit {
    /// Bytes moved in either direction.
    pub progress: bool,
    /// The visit stopped for fairness with bytes still to move: come back before sleeping.
    pub more: bool,
}

/// One connection's state: the socket, the frames coming in, the bytes going out.
pub(crate) struct Conn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    decoder: Decoder,
    outbox: Outbox,
    /// When the connection will be closed if nothing happens (its key in the deadline set).
    pub deadline: Instant,
    /// When the frame now arriving began, if one is partly here and we are reading.
    pub frame_started: Option<Instant>,
    /// What it is registered for right now.
    pub interest: Interest,
    /// Reading stopped because the outbox reached its cap (back-pressure).
    paused: bool,
    /// The peer closed its side between frames; the echoes still queued go out before we close.
    eof: bool,
}

impl Conn {
    /// A connection just accepted, with its first deadline.
    pub fn new(stream: TcpStream, peer: SocketAddr, config: &Config, deadline: Instant) -> Self {
        Self {
            stream,
            peer,
            decoder: Decoder::new(config.max_frame),
            // The cap is where reading stops; the hard bound adds room for the frames one
            // decoder can hold, which a read below the cap may still complete.
            outbox: Outbox::new(config.outbox_cap + HEADER_LEN + config.max_frame),
            deadline,
            frame_started: None,
            interest: Interest::READ,
            paused: false,
            eof: false,
        }
    }

    // ANCHOR: service
    /// Serves one readiness event: read (if `readable`, or if back-pressure has eased), echo,
    /// write; repeat while writing frees room for reading, up to [`ROUNDS`] times.
    pub fn service(
        &mut self,
        readable: bool,
        config: &Config,
        stats: &Stats,
    ) -> Result<Visit, Close> {
        let mut visit = Visit::default();
        let mut read_now = readable || self.paused;
        for _ in 0..ROUNDS {
            if read_now && !self.eof && self.outbox.pending() < config.outbox_cap {
                visit.progress |= self.read_ready(config, stats)?;
            }
            if !self.outbox.is_empty() {
                visit.progress |= self.write_ready()?;
            }
            if self.eof && self.outbox.is_empty() {
                return Err(Close::Peer); // Every echo delivered: now we close too.
            }
            // Reading stopped at the cap and writing has made room since: read again now. An
            // edge-triggered socket would not report the bytes already waiting a second time.
            read_now = self.paused && !self.eof && self.outbox.pending() < config.outbox_cap;
            if !read_now {
                return Ok(visit);
            }
        }
        visit.more = true;
        Ok(visit)
    }
    // ANCHOR_END: service

    /// Reads everything available (until `WouldBlock`, as edge-triggering requires), echoing
    /// complete frames into the outbox; stops early, *paused*, when the outbox reaches its
    /// cap. Returns whether any byte was read.
    fn read_ready(&mut self, config: &Config, stats: &Stats) -> Result<bool, Close> {
        if self.paused && self.decoder.buffered() > 0 {
            // While paused we did not read, so the frame in progress could not advance: its
            // clock starts again now rather than blaming the client for our back-pressure.
            self.frame_started = Some(Instant::now());
        }
        self.paused = false;
        let mut progress = false;
        loop {
            if self.outbox.pending() >= config.outbox_cap {
                stats.pauses.fetch_add(1, Ordering::Relaxed);
                self.paused = true; // Back-pressure: let the client's buffers fill instead.
                return Ok(progress);
            }
            match self.decoder.read_from(&mut &self.stream) {
                // End of stream: clean between frames, truncated inside one. A clean end with
                // echoes still queued (the peer half-closed after pipelining) is not the end
                // for us: they are sent first, then we close.
                Ok(0) => {
                    if let Some(e) = self.decoder.finish() {
                        return Err(Close::Bad(e.to_string()));
                    }
                    self.eof = true;
                    self.frame_started = None;
                    return Ok(progress);
                }
                Ok(_) => {
                    progress = true;
                    self.echo_frames(stats)?;
                }
                // Drained: nothing more until the next readiness event.
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(progress),
                // A signal arrived before any byte was read: nothing lost, read again.
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(Close::Bad(e.to_string())),
            }
        }
    }

    /// Moves every complete frame from the decoder to the outbox as its echo, and keeps the
    /// frame clock: it runs from the first byte of the frame now partly here.
    fn echo_frames(&mut self, stats: &Stats) -> Result<(), Close> {
        let mut completed = false;
        while let Some(frame) = self
            .decoder
            .next_frame()
            .map_err(|e| Close::Bad(e.to_string()))?
        {
            let full = |e| Close::Bad(format!("outbox over its bound, a server bug: {e}"));
            self.outbox
                .push(&(frame.len() as u32).to_be_bytes())
                .map_err(full)?;
            self.outbox.push(&frame).map_err(full)?;
            stats.frames.fetch_add(1, Ordering::Relaxed);
            completed = true;
        }
        self.frame_started = match (self.decoder.buffered(), completed, self.frame_started) {
            (0, _, _) => None,
            // The bytes left over began a new frame during this read.
            (_, true, _) | (_, false, None) => Some(Instant::now()),
            (_, false, started) => started,
        };
        // What this connection holds right now: the figure back-pressure bounds.
        let held = self.decoder.buffered() + self.outbox.pending();
        stats.peak_buffered.fetch_max(held, Ordering::Relaxed);
        Ok(())
    }

    /// Writes as much of the unsent tail as the socket takes; returns whether anything went.
    fn write_ready(&mut self) -> Result<bool, Close> {
        let n = self
            .outbox
            .flush_some(&mut &self.stream)
            .map_err(|e| Close::Bad(e.to_string()))?;
        Ok(n > 0)
    }

    // ANCHOR: wanted
    /// What to watch this connection for, level-triggered: readable while the outbox is below
    /// its cap, writable while there is something to write. (A full outbox is never empty, and
    /// after end of stream the connection is closed as soon as its outbox is empty, so one of
    /// the two always holds.)
    pub fn wanted(&self, config: &Config) -> Interest {
        Interest {
            read: !self.eof && self.outbox.pending() < config.outbox_cap,
            write: config.always_write_interest || !self.outbox.is_empty(),
        }
    }
    // ANCHOR_END: wanted

    /// Whether reading is paused by back-pressure (the frame clock does not run then).
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Bytes of a frame received but not yet complete.
    pub fn partial_frame(&self) -> usize {
        self.decoder.buffered()
    }
}
