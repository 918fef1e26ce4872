//! One connection of the io_uring server: chapter 7's state machine, driven by completions
//! instead of readiness.
//!
//! Chapter 7's connection reacted to "readable" by reading until `WouldBlock`, and to
//! "writable" by writing until `WouldBlock`. Here nothing is ever "ready": the connection has
//! at most **one receive and one send in flight**, and reacts to their *completions*:
//!
//! - a receive completion brings bytes that are already in memory (a provided buffer); they
//!   go through chapter 1's frame [`Decoder`] and every complete frame's echo is appended to
//!   the outbox;
//! - a send completion says how many bytes went, and hands the buffer back.
//!
//! **Two buffers for sending.** The bytes of a send in flight belong to the kernel until its
//! completion (see [`crate::ring`]), so new echoes cannot be appended to them. The outbox is
//! therefore two `Vec`s that swap: the kernel holds one, the echoes pile up in the other, and
//! when the send completes the first comes back empty, for the next swap.
//!
//! **Back-pressure is exact.** A receive is submitted only while the bytes waiting to be sent
//! are below [`Config::outbox_cap`], and it asks for at most what the decoder has room for. A
//! client that never reads makes our send wait in the kernel forever; its unsent bytes stay at
//! the cap, no further receive is submitted, its own writes block, and the idle deadline ends
//! it. Since at most one receive is in flight, nothing arrives after the decision to pause:
//! chapter 7's bound holds as it was.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::Instant;

use tcp_demo::frame::{Decoder, HEADER_LEN};

use crate::server::{Config, Stats};

/// A send buffer larger than this is not kept for reuse after its completion: one large echo
/// must not pin its memory for the connection's lifetime.
const KEEP_SPARE: usize = 64 * 1024;

/// Why a connection was closed.
#[derive(Debug)]
pub(crate) enum Close {
    /// The peer closed cleanly between frames, and every echo was sent.
    Peer,
    /// No progress within the idle timeout, or a frame slower than the frame timeout.
    Expired,
    /// A bad frame, or an operation on this connection failed.
    Bad(String),
    /// The server is stopping.
    Stopping,
}

// ANCHOR: conn
/// One connection: the socket, the frames coming in, the two buffers going out.
pub(crate) struct Conn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    decoder: Decoder,
    /// Echoes not yet handed to the kernel.
    outbox: Vec<u8>,
    /// The last send buffer back from the kernel, kept (empty) for its capacity.
    spare: Vec<u8>,
    /// Bytes of the send in flight that the kernel has not yet reported sent.
    unsent: usize,
    /// A receive is in flight (the kernel will pick a pool buffer when data arrives).
    pub recv_in_flight: bool,
    /// A send is in flight (the kernel holds its buffer).
    pub send_in_flight: bool,
    /// When the connection will be closed if nothing happens (its key in the deadline set).
    pub deadline: Instant,
    /// When the frame now arriving began, if one is partly here and we are receiving.
    pub frame_started: Option<Instant>,
    /// No receive was submitted because the outbox is at its cap (back-pressure).
    paused: bool,
    /// The peer closed its side between frames; queued echoes still go out.
    eof: bool,
    /// Closing: cancels are submitted, waiting for the last completions.
    pub closing: bool,
}

impl Conn {
    /// A connection just accepted, with its first deadline.
    pub fn new(stream: TcpStream, peer: SocketAddr, config: &Config, deadline: Instant) -> Self {
        Self {
            stream,
            peer,
            decoder: Decoder::new(config.max_frame),
            outbox: Vec::new(),
            spare: Vec::new(),
            unsent: 0,
            recv_in_flight: false,
            send_in_flight: false,
            deadline,
            frame_started: None,
            paused: false,
            eof: false,
            closing: false,
        }
    }

    /// Bytes waiting to be sent: the outbox and the unconfirmed part of the send in flight.
    pub fn pending(&self) -> usize {
        self.outbox.len() + self.unsent
    }

    /// How many bytes the next receive may ask for, if one should be submitted now: none while
    /// one is in flight, after end of stream, or at the outbox cap (back-pressure, counted
    /// once per pause).
    pub fn receive_wanted(&mut self, config: &Config, stats: &Stats) -> Option<usize> {
        if self.recv_in_flight || self.eof || self.closing {
            return None;
        }
        if self.pending() >= config.outbox_cap {
            if !self.paused {
                self.paused = true;
                stats.pauses.fetch_add(1, Ordering::Relaxed);
            }
            return None;
        }
        if self.paused && self.decoder.buffered() > 0 {
            // While paused the frame in progress could not advance: its clock starts again now
            // rather than blaming the client for our back-pressure.
            self.frame_started = Some(Instant::now());
        }
        self.paused = false;
        // The decoder never holds more than one maximal frame, so a receive never brings more
        // than it can take (it always has room: complete frames have left it).
        Some(self.decoder.room().max(1))
    }

    /// Takes the bytes received by one completion: every complete frame's echo goes to the
    /// outbox.
    pub fn received(&mut self, data: &[u8], config: &Config, stats: &Stats) -> Result<(), Close> {
        let took = self.decoder.feed(data);
        if took < data.len() {
            return Err(Close::Bad(format!(
                "received {} bytes with room for {took}, a server bug",
                data.len()
            )));
        }
        let mut completed = false;
        while let Some(frame) = self
            .decoder
            .next_frame()
            .map_err(|e| Close::Bad(e.to_string()))?
        {
            if self.pending() + HEADER_LEN + frame.len()
                > config.outbox_cap + HEADER_LEN + config.max_frame
            {
                return Err(Close::Bad("outbox over its bound, a server bug".into()));
            }
            self.outbox
                .extend_from_slice(&(frame.len() as u32).to_be_bytes());
            self.outbox.extend_from_slice(&frame);
            stats.frames.fetch_add(1, Ordering::Relaxed);
            completed = true;
        }
        // The frame clock runs from the first byte of the frame now partly here.
        self.frame_started = match (self.decoder.buffered(), completed, self.frame_started) {
            (0, _, _) => None,
            (_, true, _) | (_, false, None) => Some(Instant::now()),
            (_, false, started) => started,
        };
        let held = self.decoder.buffered() + self.pending();
        stats.peak_buffered.fetch_max(held, Ordering::Relaxed);
        Ok(())
    }

    /// The peer closed its side: clean between frames, an error inside one.
    pub fn end_of_stream(&mut self) -> Result<(), Close> {
        if let Some(e) = self.decoder.finish() {
            return Err(Close::Bad(e.to_string()));
        }
        self.eof = true;
        self.frame_started = None;
        Ok(())
    }

    /// The buffer for the next send, if one should be submitted now: the outbox, swapped for
    /// the spare buffer.
    pub fn send_wanted(&mut self) -> Option<Vec<u8>> {
        if self.send_in_flight || self.outbox.is_empty() || self.closing {
            return None;
        }
        let next = std::mem::take(&mut self.spare);
        let buf = std::mem::replace(&mut self.outbox, next);
        self.unsent = buf.len();
        Some(buf)
    }

    /// A send completed with `sent` bytes of `buf[from..]`: returns the buffer and the offset
    /// to send from again if part of it is left, or keeps the buffer as the spare.
    pub fn sent(&mut self, buf: Vec<u8>, from: usize, sent: usize) -> Option<(Vec<u8>, usize)> {
        self.unsent = self.unsent.saturating_sub(sent);
        let next = from + sent;
        if next < buf.len() {
            return Some((buf, next));
        }
        if buf.capacity() <= KEEP_SPARE {
            let mut buf = buf;
            buf.clear();
            self.spare = buf;
        }
        None
    }

    /// The peer has closed, and every echo has gone: time to close our side.
    pub fn finished(&self) -> bool {
        self.eof && !self.send_in_flight && self.outbox.is_empty()
    }

    /// Whether a receive is held back by back-pressure (the frame clock does not run then).
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Bytes of a frame received but not yet complete.
    pub fn partial_frame(&self) -> usize {
        self.decoder.buffered()
    }
}
// ANCHOR_END: conn
