//! Lab 3: a publish/subscribe chat server on one thread, for chapter 1's frames (`epoll(7)`:
//! `epoll_create1`, `epoll_ctl`, `epoll_wait`; `accept(2)`, `read(2)` and `write(2)` on
//! non-blocking sockets).
//!
//! The binary `lab3-chat` (`src/bin/lab3-chat.rs`) parses its options, binds, prints
//! `listening on ADDR`, and calls [`serve`]; everything else is the lab. Its grading tests,
//! `tests/lab3.rs`, start that binary and connect a thousand subscribers to it, a reader that
//! stops reading, clients that send garbage, and finally the course's own baseline server
//! (tokio, in the grader) to compare speeds. The book's page, "Lab 3: a chat server on one
//! thread", says what is asked.
//!
//! The protocol, on chapter 1's frames (a 4-byte big-endian length, then the payload):
//!
//! - a client sends `SUB <topic>`; the server answers `OK <topic>`, and from then on sends the
//!   client every message published to that topic;
//! - a client sends `PUB <topic> <message>`; every subscriber of the topic (the publisher too,
//!   if it subscribed) gets `MSG <topic> <message>`, in the order the server read them.
//!
//! The reference solution is one `epoll` loop (chapter 7), with a bounded outbox per client;
//! a subscriber whose outbox cannot take the next message is dropped. The two functions are
//! the reference's own structure; a solution may divide the work another way, but it must
//! serve every client from one thread.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use socklab_support::queue::ByteQueue;
use socklab_support::stop::Stop;

/// Bytes in a frame's length prefix (chapter 1: a big-endian `u32`).
pub const HEADER_LEN: usize = 4;
/// The longest topic name, in bytes.
pub const MAX_TOPIC: usize = 64;
/// The most topics one client may subscribe to; one more closes it.
pub const MAX_SUBSCRIPTIONS: usize = 64;

/// The server's bounds, from the binary's options (their defaults are there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Clients served at once (the rest wait in the kernel's accept queue).
    pub max_connections: usize,
    /// The largest frame payload accepted; a longer one closes its client.
    pub max_frame: usize,
    /// The most bytes queued for one client and not yet taken by its socket. A message that
    /// would take a client's queue over it drops that client (it is too far behind).
    pub max_outbox: usize,
}

/// One frame from a client, understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `SUB <topic>`.
    Sub(&'a [u8]),
    /// `PUB <topic> <message>` (the message may be empty, and any bytes).
    Pub {
        /// The topic.
        topic: &'a [u8],
        /// The bytes after the topic's space.
        message: &'a [u8],
    },
}

// ANCHOR: lab3_parse
/// Reads one frame's payload as a [`Request`]. A topic is `1` to [`MAX_TOPIC`] bytes without a
/// space. Anything else (an unknown command, an empty or long topic, a `PUB` without the space
/// before its message) is an error that says what is wrong; the server then closes that client.
pub fn parse(payload: &[u8]) -> Result<Request<'_>, String> {
    // SOLUTION BEGIN: split off the command ("SUB " or "PUB "); for SUB the rest is the topic; for
    // PUB the topic ends at the first space and the message is everything after it; check each
    // topic's length (1..=MAX_TOPIC) and that it has no space.
    fn topic(t: &[u8]) -> Result<&[u8], String> {
        match t.len() {
            0 => Err("an empty topic".into()),
            n if n > MAX_TOPIC => Err(format!("a topic of {n} bytes (at most {MAX_TOPIC})")),
            _ if t.contains(&b' ') => Err("a topic with a space in it".into()),
            _ => Ok(t),
        }
    }
    if let Some(rest) = payload.strip_prefix(b"SUB ") {
        return Ok(Request::Sub(topic(rest)?));
    }
    if let Some(rest) = payload.strip_prefix(b"PUB ") {
        let space = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or("a PUB without a space between its topic and its message")?;
        return Ok(Request::Pub {
            topic: topic(&rest[..space])?,
            message: &rest[space + 1..],
        });
    }
    let start = String::from_utf8_lossy(&payload[..payload.len().min(16)]).into_owned();
    Err(format!(
        "an unknown request ({start:?}...): only SUB and PUB"
    ))
    // SOLUTION END
}
// ANCHOR_END: lab3_parse

// ANCHOR: lab3_serve
/// Serves `listener` from this one thread until `stop` is requested, then closes every client
/// and returns `Ok(())` (the binary then exits 0). Each `PUB` goes to every subscriber of its
/// topic, once and in order; a client that breaks the protocol or falls more than
/// `config.max_outbox` bytes behind is closed, and only that client. No client can make
/// `serve` return, panic, block, or hold more than its bounds.
pub fn serve(listener: TcpListener, config: &Config, stop: &Stop) -> io::Result<()> {
    // SOLUTION BEGIN: one epoll instance watching the listener, stop.fd() and every client
    // (non-blocking); per client an inbox (HEADER_LEN + max_frame) and an outbox (max_outbox)
    // ByteQueue; a topic -> subscribers map; a PUB's MSG frame is built once and pushed to each
    // subscriber's outbox (drop the subscriber if it does not fit); write the outboxes after each
    // batch of events, watching EPOLLOUT only while one is not empty; close clients at the end of
    // the batch.
    /// The listener's and the stop request's tokens; clients use their slot's index.
    const LISTENER: u64 = u64::MAX;
    const STOP: u64 = u64::MAX - 1;
    /// Reads per readiness event: one busy publisher cannot starve the others (the socket is
    /// level-triggered, so what is left is reported again by the next wait).
    const READS_PER_VISIT: usize = 4;

    struct Client {
        stream: TcpStream,
        peer: SocketAddr,
        /// Bytes read, not yet handled: at most one frame and its header.
        inbox: ByteQueue,
        /// Bytes for the client, not yet taken by its socket.
        outbox: ByteQueue,
        topics: Vec<Vec<u8>>,
        /// Whether it is watched for writability (only while its outbox is not empty).
        watch_write: bool,
        /// In the list of outboxes to write at the end of this batch.
        dirty: bool,
        /// Why it will be closed at the end of this batch, if it will.
        closing: Option<String>,
    }

    /// The loop's state; clients live in slots whose index is their epoll token.
    struct Chat {
        epoll: Epoll,
        config: Config,
        clients: Vec<Option<Client>>,
        free: Vec<usize>,
        open: usize,
        topics: HashMap<Vec<u8>, Vec<usize>>,
        /// Clients with bytes queued during this batch: written once, at its end.
        dirty: Vec<usize>,
        /// Clients to close at the end of this batch (closing later keeps every token of the
        /// batch's events pointing at the client it meant).
        closing: Vec<usize>,
        /// Where each `read` lands before its bytes join the client's inbox.
        scratch: Vec<u8>,
        /// A `MSG` frame being built, and the subscribers it goes to: reused for every PUB.
        frame: Vec<u8>,
        targets: Vec<usize>,
        /// Whether the listener is watched; accepting pauses at the connection limit and for
        /// a while after an error such as EMFILE (retrying at once would spin).
        accepting: bool,
        accept_paused_until: Option<Instant>,
    }

    fn flags(write: bool) -> EpollFlags {
        let read = EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP;
        if write {
            read | EpollFlags::EPOLLOUT
        } else {
            read
        }
    }

    impl Chat {
        fn accept_all(&mut self, listener: &TcpListener) -> io::Result<()> {
            loop {
                if self.open >= self.config.max_connections {
                    return self.watch_listener(listener, false); // Resumed when one closes.
                }
                match listener.accept() {
                    Ok((stream, peer)) => self.add(stream, peer),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                    // The client left before we took it, or a signal: take the next one.
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::ConnectionAborted | ErrorKind::Interrupted
                        ) => {}
                    Err(e) => {
                        // EMFILE and the like: the connection stays queued, the listener stays
                        // readable. Stop watching it for a moment instead of spinning.
                        eprintln!("accept failed ({e}); pausing accept for 100ms");
                        self.accept_paused_until =
                            Some(Instant::now() + Duration::from_millis(100));
                        return self.watch_listener(listener, false);
                    }
                }
            }
        }

        fn watch_listener(&mut self, listener: &TcpListener, on: bool) -> io::Result<()> {
            if self.accepting != on {
                self.accepting = on;
                let wanted = if on {
                    EpollFlags::EPOLLIN
                } else {
                    EpollFlags::empty()
                };
                let mut event = EpollEvent::new(wanted, LISTENER);
                self.epoll.modify(listener.as_fd(), &mut event)?;
            }
            Ok(())
        }

        fn add(&mut self, stream: TcpStream, peer: SocketAddr) {
            let token = self.free.pop().unwrap_or(self.clients.len());
            let setup = stream
                .set_nonblocking(true) // Not inherited from the listener on Linux.
                .and_then(|()| stream.set_nodelay(true)) // A message is news: send it now.
                .and_then(|()| {
                    let event = EpollEvent::new(flags(false), token as u64);
                    Ok(self.epoll.add(stream.as_fd(), event)?)
                });
            if let Err(e) = setup {
                eprintln!("{peer}: cannot serve it: {e}; closed");
                self.free.push(token);
                return;
            }
            let client = Client {
                stream,
                peer,
                inbox: ByteQueue::new(HEADER_LEN + self.config.max_frame),
                outbox: ByteQueue::new(self.config.max_outbox),
                topics: Vec::new(),
                watch_write: false,
                dirty: false,
                closing: None,
            };
            if token == self.clients.len() {
                self.clients.push(Some(client));
            } else {
                self.clients[token] = Some(client);
            }
            self.open += 1;
        }

        /// A client is ready: note that its outbox can be written, and read what it sent.
        fn on_ready(&mut self, token: usize, events: EpollFlags) {
            let Some(client) = self.clients.get_mut(token).and_then(Option::as_mut) else {
                return;
            };
            if client.closing.is_some() {
                return;
            }
            if events.contains(EpollFlags::EPOLLOUT) {
                self.mark_dirty(token);
            }
            let readable = EpollFlags::EPOLLIN
                | EpollFlags::EPOLLRDHUP
                | EpollFlags::EPOLLHUP
                | EpollFlags::EPOLLERR;
            if events.intersects(readable) {
                for _ in 0..READS_PER_VISIT {
                    match self.read_once(token) {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(why) => {
                            self.close_later(token, why);
                            break;
                        }
                    }
                }
            }
        }

        /// One `read`, then every complete frame it completed; `Ok(false)`: nothing more to
        /// read for now.
        fn read_once(&mut self, token: usize) -> Result<bool, String> {
            let client = self.clients[token].as_mut().expect("a live client");
            // Into the loop's one scratch buffer, then only the bytes read into the inbox: an
            // idle client's inbox holds its partial frame, not a read's worth of zeroes.
            let room = client.inbox.room().min(self.scratch.len());
            let n = match (&client.stream).read(&mut self.scratch[..room]) {
                Ok(0) if client.inbox.is_empty() => return Err(String::new()), // A clean end.
                Ok(0) => {
                    return Err(format!(
                        "the stream ended inside a frame ({} bytes of it)",
                        client.inbox.len()
                    ));
                }
                Ok(n) => {
                    let read = &self.scratch[..n];
                    client.inbox.push(read).expect("read no more than its room");
                    n
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(true),
                Err(e) => return Err(e.to_string()),
            };
            self.handle_frames(token)?;
            Ok(n > 0)
        }

        /// Handles every complete frame at the front of the client's inbox.
        fn handle_frames(&mut self, token: usize) -> Result<(), String> {
            loop {
                let client = self.clients[token].as_mut().expect("a live client");
                if client.closing.is_some() {
                    return Ok(()); // Dropped while publishing to itself: read no more.
                }
                let held = client.inbox.front();
                let Some(header) = held.get(..HEADER_LEN) else {
                    return Ok(());
                };
                let len = u32::from_be_bytes(header.try_into().expect("four bytes")) as usize;
                if len > self.config.max_frame {
                    // Refused on its header: nothing allocated, no payload awaited.
                    let max = self.config.max_frame;
                    return Err(format!("a frame of {len} bytes (at most {max})"));
                }
                let Some(payload) = held.get(HEADER_LEN..HEADER_LEN + len) else {
                    return Ok(()); // Not all here yet.
                };
                match parse(payload)? {
                    Request::Sub(topic) => {
                        let topic = topic.to_vec();
                        client.inbox.consume(HEADER_LEN + len);
                        self.subscribe(token, topic)?;
                    }
                    Request::Pub { topic, message } => {
                        // The MSG frame is built once, whatever the number of subscribers.
                        let body = b"MSG ".len() + topic.len() + 1 + message.len();
                        self.frame.clear();
                        self.frame.extend_from_slice(&(body as u32).to_be_bytes());
                        self.frame.extend_from_slice(b"MSG ");
                        self.frame.extend_from_slice(topic);
                        self.frame.push(b' ');
                        self.frame.extend_from_slice(message);
                        self.targets.clear();
                        if let Some(subscribers) = self.topics.get(topic) {
                            self.targets.extend_from_slice(subscribers);
                        }
                        client.inbox.consume(HEADER_LEN + len);
                        self.fan_out();
                    }
                }
            }
        }

        fn subscribe(&mut self, token: usize, topic: Vec<u8>) -> Result<(), String> {
            let client = self.clients[token].as_mut().expect("a live client");
            if !client.topics.contains(&topic) {
                if client.topics.len() == MAX_SUBSCRIPTIONS {
                    return Err(format!("more than {MAX_SUBSCRIPTIONS} subscriptions"));
                }
                client.topics.push(topic.clone());
                self.topics.entry(topic.clone()).or_default().push(token);
            } // Subscribing again changes nothing: each message still comes once.
            self.frame.clear();
            self.frame
                .extend_from_slice(&((3 + topic.len()) as u32).to_be_bytes());
            self.frame.extend_from_slice(b"OK ");
            self.frame.extend_from_slice(&topic);
            self.targets.clear();
            self.targets.push(token);
            self.fan_out();
            Ok(())
        }

        /// Queues `self.frame` for every client in `self.targets`; one whose outbox cannot
        /// take it is too far behind, and is dropped.
        fn fan_out(&mut self) {
            for i in 0..self.targets.len() {
                let token = self.targets[i];
                let Some(client) = self.clients[token].as_mut() else {
                    continue;
                };
                if client.closing.is_some() {
                    continue;
                }
                match client.outbox.push(&self.frame) {
                    Ok(()) => self.mark_dirty(token),
                    Err(full) => {
                        let why = format!("dropped, too far behind: {full}");
                        self.close_later(token, why);
                    }
                }
            }
        }

        fn mark_dirty(&mut self, token: usize) {
            let client = self.clients[token].as_mut().expect("a live client");
            if !client.dirty {
                client.dirty = true;
                self.dirty.push(token);
            }
        }

        /// Writes every outbox that got bytes in this batch, until it is empty or its socket is
        /// full; watches for writability exactly while bytes are left.
        fn flush(&mut self) {
            for token in std::mem::take(&mut self.dirty) {
                let Some(client) = self.clients[token].as_mut() else {
                    continue;
                };
                client.dirty = false;
                if client.closing.is_some() {
                    continue;
                }
                let failed = loop {
                    match client.outbox.write_to(&mut &client.stream) {
                        Ok(_) if client.outbox.is_empty() => break None,
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break None,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => break Some(e.to_string()),
                    }
                };
                let want_write = !client.outbox.is_empty();
                let failed = failed.or_else(|| {
                    if want_write == client.watch_write {
                        return None;
                    }
                    client.watch_write = want_write;
                    let mut event = EpollEvent::new(flags(want_write), token as u64);
                    let changed = self.epoll.modify(client.stream.as_fd(), &mut event);
                    changed
                        .err()
                        .map(|e| format!("cannot change its interest: {e}"))
                });
                if let Some(why) = failed {
                    self.close_later(token, why);
                }
            }
        }

        fn close_later(&mut self, token: usize, why: String) {
            let client = self.clients[token].as_mut().expect("a live client");
            if client.closing.is_none() {
                client.closing = Some(why);
                self.closing.push(token);
            }
        }

        /// Closes the clients marked during this batch; an empty reason is a client that left.
        fn close_marked(&mut self) {
            for token in std::mem::take(&mut self.closing) {
                let Some(client) = self.clients[token].take() else {
                    continue;
                };
                for topic in &client.topics {
                    if let Some(subscribers) = self.topics.get_mut(topic) {
                        subscribers.retain(|t| *t != token);
                        if subscribers.is_empty() {
                            self.topics.remove(topic);
                        }
                    }
                }
                // Deregistered before close(2), so the set stays exact; closing would remove
                // it anyway if this failed.
                let _ = self.epoll.delete(client.stream.as_fd());
                match client.closing.as_deref() {
                    Some("") | None => {}
                    Some(why) => eprintln!("{}: closed: {why}", client.peer),
                }
                self.free.push(token);
                self.open -= 1;
            } // Dropping the client closes its socket.
        }
    }

    listener.set_nonblocking(true)?;
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    epoll.add(
        listener.as_fd(),
        EpollEvent::new(EpollFlags::EPOLLIN, LISTENER),
    )?;
    epoll.add(stop.fd(), EpollEvent::new(EpollFlags::EPOLLIN, STOP))?;
    let mut chat = Chat {
        epoll,
        config: *config,
        clients: Vec::new(),
        free: Vec::new(),
        open: 0,
        topics: HashMap::new(),
        dirty: Vec::new(),
        closing: Vec::new(),
        scratch: vec![0; 64 * 1024], // A typical socket read.
        frame: Vec::new(),
        targets: Vec::new(),
        accepting: true,
        accept_paused_until: None,
    };
    let mut events = vec![EpollEvent::empty(); 1024];
    loop {
        // Sleep until something is ready; only an accept pause sets a time limit.
        let timeout = match chat.accept_paused_until {
            Some(until) => {
                let ms = until.saturating_duration_since(Instant::now()).as_millis() + 1;
                EpollTimeout::try_from(ms.min(1000) as i32).unwrap_or(EpollTimeout::MAX)
            }
            None => EpollTimeout::NONE,
        };
        let n = match chat.epoll.wait(&mut events, timeout) {
            Ok(n) => n,
            Err(Errno::EINTR) => 0, // A signal: look at the stop descriptor below.
            Err(e) => return Err(e.into()),
        };
        let mut stopping = false;
        for event in &events[..n] {
            match event.data() {
                LISTENER => chat.accept_all(&listener)?,
                STOP => stopping |= stop.requested(), // SIGTERM or Ctrl-C.
                token => chat.on_ready(token as usize, event.events()),
            }
        }
        if stopping {
            break;
        }
        chat.flush();
        chat.close_marked();
        if chat
            .accept_paused_until
            .is_some_and(|t| t <= Instant::now())
        {
            chat.accept_paused_until = None;
        }
        if !chat.accepting
            && chat.accept_paused_until.is_none()
            && chat.open < chat.config.max_connections
        {
            chat.watch_listener(&listener, true)?;
        }
    }
    let open = chat.open;
    drop(chat); // Every client's socket is closed here.
    eprintln!("stopped: closed {open} open connection(s)");
    Ok(())
    // SOLUTION END
}
// ANCHOR_END: lab3_serve
