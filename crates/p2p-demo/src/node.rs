//! A node of the mesh: it listens and dials, keeps one link per peer, sends heartbeats and
//! watches for silence, dials lost peers again with backoff, and floods broadcasts.
//!
//! One thread, the *event loop*, owns all of the node's state: its connections, its view of
//! the membership (which peers are up), the addresses it dials, the broadcasts it has seen.
//! Everything else talks to it through one bounded channel of [`Event`]s: the acceptor thread
//! (`poll(2)` on the listener and the stop pipe, then `accept(2)`), one short-lived thread per
//! dial (`connect(2)` with a timeout), and each connection's reader and writer
//! ([`crate::link`]). The loop also wakes every heartbeat interval (a *tick*) to send
//! heartbeats, declare silent peers down, close handshakes that never finished, and dial.
//!
//! What a node prints, as its view changes (and the tests read):
//!
//! ```text
//! node 1: up 2 (link dialed by 1): view [1 2]
//! node 1: duplicate link to 3: kept the one dialed by 1 (lower id), closed the one dialed by 3
//! node 1: down 3 (silent for 301 ms, deadline 300 ms): view [1 2]
//! node 1: dial 127.0.0.1:7003 failed (Connection refused (os error 111)); next try in 200 ms
//! node 1: delivered #1 from 2: "hello"
//! ```
//!
//! Broadcasts are *flooded*: the origin sends a message to every peer, and every node that
//! receives it for the first time delivers it and passes it on to its other peers, except the
//! one it came from and the origin. In a full mesh the origin's own copies would be enough;
//! the relays cost (n - 1)(n - 2) extra frames per message, and buy delivery to a live node
//! whose link to the origin is down at that moment (being re-dialed, or never configured).
//! [`crate::seen`] drops the copies.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use socklab_support::Narrator;
use socklab_support::stop::{Stop, Woken};

use crate::backoff::Backoff;
use crate::link::{ConnId, Link};
use crate::seen::Seen;
use crate::tiebreak::{self, Candidate, Keep};
use crate::wire::{Msg, NodeId};

/// How many events may wait for the event loop; readers block beyond it (TCP's flow control
/// then slows their peers down).
const EVENT_QUEUE: usize = 1024;

/// How many broadcast names a node remembers to drop copies (see [`crate::seen`]).
const SEEN_WINDOW: usize = 4096;

/// How many deliveries and dial attempts the snapshot keeps, newest last.
pub const RECORDED: usize = 1024;

// ANCHOR: config
/// A node's settings. The defaults suit loopback: a heartbeat every 100 ms, a peer silent
/// for 3 heartbeats is down.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's id; unique in the mesh.
    pub id: NodeId,
    /// Addresses to dial at start, and again whenever their node is lost.
    pub peers: Vec<SocketAddr>,
    /// How often a heartbeat goes out on every link, and how often the node looks for silence.
    pub heartbeat: Duration,
    /// How many heartbeat intervals of silence make a peer down (the deadline).
    pub misses: u32,
    /// At most this many peers (links), and twice as many connections counting handshakes.
    pub max_peers: usize,
    /// The longest wait between two dials of a lost peer (the backoff starts at `heartbeat`).
    pub backoff_cap: Duration,
    /// The bound on one `connect`.
    pub dial_timeout: Duration,
}

impl Config {
    /// The defaults for node `id`, with no peers.
    pub fn new(id: NodeId) -> Self {
        Self {
            id,
            peers: Vec::new(),
            heartbeat: Duration::from_millis(100),
            misses: 3,
            max_peers: 16,
            backoff_cap: Duration::from_secs(2),
            dial_timeout: Duration::from_secs(2),
        }
    }

    /// How long a peer may stay silent: `heartbeat × misses`.
    pub fn deadline(&self) -> Duration {
        self.heartbeat.saturating_mul(self.misses)
    }
}
// ANCHOR_END: config

/// What the event loop hears about.
#[derive(Debug)]
pub enum Event {
    /// The acceptor accepted a connection.
    Accepted(TcpStream),
    /// A dial to this address ended.
    Dialed(SocketAddr, io::Result<TcpStream>),
    /// A connection's reader read a message.
    Frame(ConnId, Msg),
    /// A connection ended, and why (its reader or writer saw it).
    Closed(ConnId, String),
    /// Send this to every node.
    Broadcast(Vec<u8>),
    /// Hang for this long, as a stuck application would (the demo's hung node).
    Pause(Duration),
    /// Close every socket at once, with no goodbye, as a killed process's kernel would.
    Crash,
    /// Stop cleanly: say goodbye to every peer.
    Stop,
}

/// A node's counters, printed as its last line when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Handshakes that became a peer's link.
    pub links_made: u64,
    /// Tie-breaks: a second connection to a peer, one of the two closed.
    pub duplicates_closed: u64,
    /// Broadcasts delivered (each once).
    pub delivered: u64,
    /// Copies of broadcasts already delivered, dropped.
    pub copies_dropped: u64,
    /// Broadcast frames sent: our own messages and the ones passed on.
    pub broadcast_frames_sent: u64,
    /// Broadcast frames received: first copies and later ones.
    pub broadcast_frames_received: u64,
    /// Connections closed for bad input (garbage, a frame out of turn, a handshake that never
    /// came).
    pub bad_closed: u64,
    /// Connections refused over the limit.
    pub refused: u64,
    /// Dials started.
    pub dials: u64,
    /// Dials that failed to connect.
    pub dials_failed: u64,
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} links made, {} duplicate links closed, {} delivered, {} copies dropped, \
             {} broadcast frames sent, {} received, {} bad connections closed, {} refused, \
             {} dials ({} failed)",
            self.links_made,
            self.duplicates_closed,
            self.delivered,
            self.copies_dropped,
            self.broadcast_frames_sent,
            self.broadcast_frames_received,
            self.bad_closed,
            self.refused,
            self.dials,
            self.dials_failed
        )
    }
}

/// One link as seen from this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkInfo {
    /// The peer at the other end.
    pub peer: NodeId,
    /// This end's socket address.
    pub local: SocketAddr,
    /// The other end's socket address.
    pub remote: SocketAddr,
    /// Which of the two dialed it.
    pub dialer: NodeId,
}

/// One broadcast delivered here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Who sent it first.
    pub origin: NodeId,
    /// The origin's sequence number.
    pub seq: u64,
    /// What it said.
    pub body: Vec<u8>,
}

/// One dial: where, when it started, and, if it failed, the wait announced before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialRecord {
    /// The address dialed.
    pub addr: SocketAddr,
    /// When the dial started.
    pub at: Instant,
    /// `Some(wait)` if it failed to connect.
    pub retry_in: Option<Duration>,
}

/// A connection this node closed, or saw closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedConn {
    /// The peer, if its `Hello` had arrived.
    pub peer: Option<NodeId>,
    /// This end's socket address.
    pub local: SocketAddr,
    /// The other end's socket address.
    pub remote: SocketAddr,
    /// Why it closed.
    pub reason: String,
}

/// What the node looks like now, for tests and the demo.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The ids this node considers up, itself included, sorted.
    pub view: Vec<NodeId>,
    /// Its links, one per peer that is up (a peer whose link was just superseded may have
    /// none for a moment).
    pub links: Vec<LinkInfo>,
    /// The connections closed so far (the last [`RECORDED`]).
    pub closed: Vec<ClosedConn>,
    /// The broadcasts delivered (the last [`RECORDED`]).
    pub delivered: Vec<Delivery>,
    /// The dials (the last [`RECORDED`]).
    pub dials: Vec<DialRecord>,
    /// Dials under way and handshakes not finished: while any is, the links may still change.
    pub pending: usize,
    /// The counters.
    pub counters: Counters,
    /// Whether the event loop has ended.
    pub stopped: bool,
}

fn push_bounded<T>(v: &mut Vec<T>, item: T) {
    if v.len() >= RECORDED {
        v.remove(0);
    }
    v.push(item);
}

fn lock(s: &Mutex<Snapshot>) -> MutexGuard<'_, Snapshot> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running node: its event loop and acceptor run on threads of their own.
#[derive(Debug)]
pub struct Node {
    id: NodeId,
    addr: SocketAddr,
    events: SyncSender<Event>,
    shared: Arc<Mutex<Snapshot>>,
    stop: Stop,
    event_loop: Option<JoinHandle<Counters>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Node {
    /// Starts a node on `listener` (already bound: tests bind port 0). It dials every peer in
    /// `config.peers` at once, then runs until `stop` is triggered (a signal, or
    /// [`Node::stop`]). `log` gets one line per change, under the name `node ID`.
    pub fn start(
        listener: TcpListener,
        config: Config,
        log: Arc<Narrator>,
        stop: Stop,
    ) -> io::Result<Node> {
        if config.heartbeat.is_zero() || config.misses == 0 || config.max_peers == 0 {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "the heartbeat, the misses and the peer limit must all be above zero",
            ));
        }
        let addr = listener.local_addr()?;
        let (events, queue) = sync_channel(EVENT_QUEUE);
        let shared = Arc::new(Mutex::new(Snapshot {
            view: vec![config.id],
            ..Snapshot::default()
        }));
        let id = config.id;
        let event_loop = EventLoop::new(
            config,
            addr,
            log.clone(),
            events.clone(),
            shared.clone(),
            stop.clone(),
        );
        let event_loop = thread::Builder::new()
            .name(format!("node {id}"))
            .spawn(move || event_loop.run(queue))?;
        let acceptor = {
            let (events, stop) = (events.clone(), stop.clone());
            thread::Builder::new()
                .name(format!("node {id} acceptor"))
                .spawn(move || accept_loop(listener, events, stop, log, id))?
        };
        Ok(Node {
            id,
            addr,
            events,
            shared,
            stop,
            event_loop: Some(event_loop),
            acceptor: Some(acceptor),
        })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `body` to every node (itself included: it delivers its own message too).
    pub fn broadcast(&self, body: &[u8]) -> io::Result<()> {
        self.send(Event::Broadcast(body.to_vec()))
    }

    /// A handle that broadcasts through this node from another thread (the binary's reader of
    /// standard input).
    pub fn broadcaster(&self) -> Broadcaster {
        Broadcaster(self.events.clone())
    }

    /// Makes the event loop hang for `d`, as a stuck application would: no heartbeats go out,
    /// nothing is read. Its sockets stay open, and its kernel keeps answering for it.
    pub fn pause(&self, d: Duration) -> io::Result<()> {
        self.send(Event::Pause(d))
    }

    fn send(&self, event: Event) -> io::Result<()> {
        self.events
            .send(event)
            .map_err(|_| io::Error::new(ErrorKind::BrokenPipe, "the node has stopped"))
    }

    /// What the node looks like now.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.shared).clone()
    }

    /// The ids it considers up, itself included.
    pub fn view(&self) -> Vec<NodeId> {
        lock(&self.shared).view.clone()
    }

    /// Stops cleanly (every peer is told, with a `Leave`) and returns the counters.
    pub fn stop(mut self) -> Counters {
        let _ = self.events.send(Event::Stop);
        self.stop.trigger();
        self.join()
    }

    /// Closes every socket at once with no goodbye, as the kernel does for a killed process,
    /// and returns the counters.
    pub fn crash(mut self) -> Counters {
        let _ = self.events.send(Event::Crash);
        self.join()
    }

    /// Waits until the node stops (after a signal, for the binary) and returns the counters.
    pub fn wait(mut self) -> Counters {
        self.join()
    }

    fn join(&mut self) -> Counters {
        let counters = self
            .event_loop
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        self.stop.trigger(); // The acceptor stops with the loop.
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
        counters
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.event_loop.is_some() {
            let _ = self.events.try_send(Event::Crash);
            self.stop.trigger();
        }
    }
}

/// Broadcasts through a node, from any thread; see [`Node::broadcaster`].
#[derive(Debug, Clone)]
pub struct Broadcaster(SyncSender<Event>);

impl Broadcaster {
    /// Like [`Node::broadcast`].
    pub fn broadcast(&self, body: &[u8]) -> io::Result<()> {
        self.0
            .send(Event::Broadcast(body.to_vec()))
            .map_err(|_| io::Error::new(ErrorKind::BrokenPipe, "the node has stopped"))
    }
}

// ANCHOR: accept_loop
/// Accepts connections until a stop is requested; each goes to the event loop, which decides.
fn accept_loop(
    listener: TcpListener,
    events: SyncSender<Event>,
    stop: Stop,
    log: Arc<Narrator>,
    id: NodeId,
) {
    loop {
        match stop.wait_readable(listener.as_fd(), None) {
            Ok(Woken::Ready) => {}
            Ok(Woken::TimedOut) => continue,
            Ok(Woken::Stopped) | Err(_) => {
                let _ = events.send(Event::Stop);
                return;
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if events.send(Event::Accepted(stream)).is_err() {
                    return; // The event loop has ended.
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                // Out of descriptors (EMFILE), most likely: the listener stays readable, so
                // pause instead of spinning on it.
                log.step(&format!("node {id}"), &format!("accept failed: {e}"));
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
// ANCHOR_END: accept_loop

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the peer's `Hello`.
    Handshake,
    /// The link of the member it belongs to.
    Linked,
    /// Lost a tie-break or said goodbye: closing politely. Broadcasts on it still count.
    Closing,
}

#[derive(Debug)]
struct Conn {
    link: Link,
    /// `Some(addr)` if we dialed it.
    dialed: Option<SocketAddr>,
    opened: Instant,
    order: u64,
    /// From the peer's `Hello`: its id, incarnation and listening address.
    peer: Option<(NodeId, u64, SocketAddr)>,
    stage: Stage,
}

#[derive(Debug)]
struct Member {
    /// Where it listens.
    addr: SocketAddr,
    /// Its current link; `None` for a moment after the peer superseded it (the link it kept
    /// is on its way).
    link: Option<ConnId>,
    last_heard: Instant,
}

#[derive(Debug)]
struct Dial {
    backoff: Backoff,
    next_at: Instant,
    /// The wait before the next dial, decided when this one started.
    wait: Duration,
    in_flight: bool,
}

/// The node's state, owned by one thread.
struct EventLoop {
    cfg: Config,
    me: NodeId,
    incarnation: u64,
    addr: SocketAddr,
    log: Arc<Narrator>,
    actor: String,
    events: SyncSender<Event>,
    shared: Arc<Mutex<Snapshot>>,
    stop: Stop,
    conns: HashMap<ConnId, Conn>,
    opened: u64,
    members: BTreeMap<NodeId, Member>,
    dials: BTreeMap<SocketAddr, Dial>,
    seen: Seen,
    seq: u64,
    counters: Counters,
}

impl EventLoop {
    fn new(
        cfg: Config,
        addr: SocketAddr,
        log: Arc<Narrator>,
        events: SyncSender<Event>,
        shared: Arc<Mutex<Snapshot>>,
        stop: Stop,
    ) -> Self {
        // A new number for each life of the node: the wall clock in nanoseconds.
        let incarnation = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let now = Instant::now();
        let mut dials = BTreeMap::new();
        for &peer in &cfg.peers {
            if peer != addr {
                dials.insert(peer, fresh_dial(&cfg, now));
            }
        }
        Self {
            me: cfg.id,
            actor: format!("node {}", cfg.id),
            cfg,
            incarnation,
            addr,
            log,
            events,
            shared,
            stop,
            conns: HashMap::new(),
            opened: 0,
            members: BTreeMap::new(),
            dials,
            seen: Seen::new(SEEN_WINDOW),
            seq: 0,
            counters: Counters::default(),
        }
    }

    fn say(&self, what: &str) {
        self.log.step(&self.actor, what);
    }

    // ANCHOR: run
    /// The event loop: events as they come, and a tick every heartbeat interval.
    fn run(mut self, queue: Receiver<Event>) -> Counters {
        // Every configured peer is dialed now, before any incoming connection is looked at:
        // two nodes that start together both dial, and the tie-break decides.
        self.dial_due();
        let interval = self.cfg.heartbeat;
        let mut next_tick = Instant::now() + interval;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match queue.recv_timeout(wait) {
                Ok(event) => {
                    if self.handle(event).is_break() {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break, // Cannot happen: we hold a sender.
            }
            if Instant::now() >= next_tick {
                // What already arrived is taken first: after a hang, the heartbeats that
                // waited in the queue count before the silence is judged.
                for _ in 0..EVENT_QUEUE {
                    match queue.try_recv() {
                        Ok(event) => {
                            if self.handle(event).is_break() {
                                return self.finish();
                            }
                        }
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                    }
                }
                self.tick();
                next_tick = (next_tick + interval).max(Instant::now());
            }
            self.publish();
        }
        self.finish()
    }
    // ANCHOR_END: run

    fn handle(&mut self, event: Event) -> std::ops::ControlFlow<()> {
        use std::ops::ControlFlow::{Break, Continue};
        match event {
            Event::Accepted(stream) => self.admit(stream, None),
            Event::Dialed(addr, result) => self.dialed(addr, result),
            Event::Frame(id, msg) => self.on_msg(id, msg),
            Event::Closed(id, reason) => self.on_closed(id, &reason),
            Event::Broadcast(body) => self.originate(body),
            Event::Pause(d) => {
                self.say(&format!(
                    "hangs for {} ms (its event loop sleeps)",
                    d.as_millis()
                ));
                thread::sleep(d);
                self.say("resumes");
            }
            Event::Crash => {
                self.say("crashes: every socket closed at once, no goodbye");
                for (_, mut c) in self.conns.drain() {
                    c.link.abort();
                }
                self.members.clear();
                return Break(());
            }
            Event::Stop => {
                self.leave("shutting down");
                return Break(());
            }
        }
        Continue(())
    }

    /// A clean stop: a `Leave` on every link, written before the sockets close.
    fn leave(&mut self, reason: &str) {
        let bye = Msg::Leave {
            reason: reason.into(),
        }
        .frame();
        for c in self.conns.values_mut() {
            if c.stage == Stage::Linked {
                c.link.send(bye.clone());
            }
            c.link.finish();
        }
        for c in self.conns.values_mut() {
            c.link.join_writer(); // Bounded: each write has its timeout.
            c.link.abort();
        }
        self.conns.clear();
        self.members.clear();
    }

    fn finish(self) -> Counters {
        self.stop.trigger();
        self.say(&format!("stopped: {}", self.counters));
        self.publish();
        lock(&self.shared).stopped = true;
        self.counters
    }

    fn publish(&self) {
        let mut s = lock(&self.shared);
        s.view = self.view_ids();
        s.links = self
            .members
            .iter()
            .filter_map(|(&peer, m)| {
                let c = self.conns.get(&m.link?)?;
                Some(LinkInfo {
                    peer,
                    local: c.link.local,
                    remote: c.link.remote,
                    dialer: if c.dialed.is_some() { self.me } else { peer },
                })
            })
            .collect();
        s.pending = self.dials.values().filter(|d| d.in_flight).count()
            + self
                .conns
                .values()
                .filter(|c| c.stage == Stage::Handshake)
                .count();
        s.counters = self.counters;
    }

    fn view_ids(&self) -> Vec<NodeId> {
        let mut ids: BTreeSet<NodeId> = self.members.keys().copied().collect();
        ids.insert(self.me);
        ids.into_iter().collect()
    }

    fn view_text(&self) -> String {
        let ids: Vec<String> = self.view_ids().iter().map(u64::to_string).collect();
        format!("view [{}]", ids.join(" "))
    }

    /// A new connection, accepted (`dialed` is `None`) or dialed: within the limit, it starts
    /// its threads and sends our `Hello`.
    fn admit(&mut self, stream: TcpStream, dialed: Option<SocketAddr>) {
        let from = stream.peer_addr().map_or("?".into(), |a| a.to_string());
        if self.conns.len() >= 2 * self.cfg.max_peers {
            self.counters.refused += 1;
            self.say(&format!(
                "refused connection {} {from}: limit of {} connections",
                if dialed.is_some() { "to" } else { "from" },
                2 * self.cfg.max_peers
            ));
            return; // Dropping the stream closes it.
        }
        self.opened += 1;
        let id = self.opened;
        let deadline = self.cfg.deadline();
        let link = match Link::open(id, stream, self.events.clone(), 2 * deadline, deadline) {
            Ok(link) => link,
            Err(e) => {
                self.say(&format!("connection {from} dropped: {e}"));
                return;
            }
        };
        let hello = Msg::Hello {
            id: self.me,
            incarnation: self.incarnation,
            listen: self.addr,
        };
        link.send(hello.frame());
        self.conns.insert(
            id,
            Conn {
                link,
                dialed,
                opened: Instant::now(),
                order: id,
                peer: None,
                stage: Stage::Handshake,
            },
        );
    }

    /// Closes a connection for bad input: at once, with the reason in the log.
    fn reject(&mut self, id: ConnId, reason: &str) {
        let Some(mut c) = self.conns.remove(&id) else {
            return;
        };
        c.link.abort();
        self.counters.bad_closed += 1;
        self.record_closed(&c, reason);
        self.say(&format!(
            "closed connection {} {}: {reason}",
            if c.dialed.is_some() { "to" } else { "from" },
            c.link.remote
        ));
        if c.stage == Stage::Linked
            && let Some((peer, ..)) = c.peer
        {
            self.down(peer, reason);
        }
    }

    fn record_closed(&self, c: &Conn, reason: &str) {
        push_bounded(
            &mut lock(&self.shared).closed,
            ClosedConn {
                peer: c.peer.map(|(p, ..)| p),
                local: c.link.local,
                remote: c.link.remote,
                reason: reason.to_string(),
            },
        );
    }

    fn on_closed(&mut self, id: ConnId, reason: &str) {
        let Some(c) = self.conns.get(&id) else {
            return; // Already closed by us.
        };
        match c.stage {
            Stage::Handshake if reason.starts_with("bad frame") => self.reject(id, reason),
            Stage::Handshake => {
                let mut c = self.conns.remove(&id).expect("present");
                c.link.abort();
                self.record_closed(&c, reason);
                self.say(&format!(
                    "connection {} {} ended before its handshake: {reason}",
                    if c.dialed.is_some() { "to" } else { "from" },
                    c.link.remote
                ));
            }
            Stage::Closing => {
                let mut c = self.conns.remove(&id).expect("present");
                c.link.abort();
                self.record_closed(&c, reason);
            }
            Stage::Linked => {
                let peer = c.peer.map(|(p, ..)| p);
                if reason.starts_with("bad frame") {
                    self.reject(id, reason);
                } else if let Some(peer) = peer {
                    self.down(peer, reason);
                }
            }
        }
    }

    /// `peer` is down: its link closes at once, the view changes, and its address is dialed
    /// again: at once, then with backoff.
    fn down(&mut self, peer: NodeId, reason: &str) {
        let Some(m) = self.members.remove(&peer) else {
            return;
        };
        if let Some(mut c) = m.link.and_then(|l| self.conns.remove(&l)) {
            c.link.abort();
            self.record_closed(&c, reason);
        }
        self.say(&format!("down {peer} ({reason}): {}", self.view_text()));
        let now = Instant::now();
        if let Some(d) = self.dials.get_mut(&m.addr) {
            d.backoff.reset();
            d.next_at = now;
        }
    }

    fn heard(&mut self, peer: NodeId) {
        if let Some(m) = self.members.get_mut(&peer) {
            m.last_heard = Instant::now();
        }
    }

    fn on_msg(&mut self, id: ConnId, msg: Msg) {
        let Some(c) = self.conns.get(&id) else {
            return; // A frame that was already on its way when we closed the connection.
        };
        let (stage, linked) = (c.stage, c.stage == Stage::Linked);
        match (c.peer, msg) {
            (
                None,
                Msg::Hello {
                    id: peer,
                    incarnation,
                    listen,
                },
            ) => self.on_hello(id, peer, incarnation, listen),
            (None, other) => {
                self.reject(
                    id,
                    &format!("expected a hello first, got a {}", other.kind()),
                );
            }
            (Some(_), Msg::Hello { .. }) => self.reject(id, "a second hello"),
            (Some((peer, _, listen)), Msg::HelloAck) if stage == Stage::Handshake => {
                self.handshake_done(id, peer, listen);
            }
            (Some(_), other) if stage == Stage::Handshake => {
                self.reject(id, &format!("expected a hello-ack, got a {}", other.kind()));
            }
            (Some(_), Msg::HelloAck) => self.reject(id, "a second hello-ack"),
            (Some((peer, ..)), Msg::Heartbeat) => self.heard(peer),
            (
                Some((peer, ..)),
                Msg::Broadcast {
                    origin,
                    incarnation,
                    seq,
                    body,
                },
            ) => {
                self.heard(peer);
                self.on_broadcast(id, origin, incarnation, seq, body);
            }
            (Some((peer, ..)), Msg::Superseded) => {
                // The peer kept another connection to us; that one's handshake is on its way.
                if let Some(m) = self.members.get_mut(&peer)
                    && m.link == Some(id)
                {
                    m.link = None;
                }
                self.close_politely(id);
            }
            (Some((peer, ..)), Msg::Leave { reason }) => {
                self.close_politely(id);
                if linked {
                    self.down(peer, &format!("said goodbye: {reason}"));
                }
            }
        }
    }

    fn close_politely(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.stage = Stage::Closing;
            c.link.finish();
        }
    }

    /// The peer's `Hello` on connection `id`: remembered, and acknowledged.
    fn on_hello(&mut self, id: ConnId, peer: NodeId, incarnation: u64, listen: SocketAddr) {
        if peer == self.me {
            return self.reject(id, &format!("the peer says it is node {peer}, which is me"));
        }
        let c = self.conns.get_mut(&id).expect("present");
        // A node listening on 0.0.0.0 is reached at the address its connection came from.
        let listen = if listen.ip().is_unspecified() {
            SocketAddr::new(c.link.remote.ip(), listen.port())
        } else {
            listen
        };
        c.peer = Some((peer, incarnation, listen));
        c.link.send(Msg::HelloAck.frame());
    }

    // ANCHOR: handshake_done
    /// The peer acknowledged our `Hello` on connection `id`: it becomes the peer's link,
    /// unless the peer already has one; then the tie-break keeps one of the two.
    fn handshake_done(&mut self, id: ConnId, peer: NodeId, listen: SocketAddr) {
        let dialed = self.conns[&id].dialed;
        let now = Instant::now();
        if let Some(addr) = dialed
            && let Some(d) = self.dials.get_mut(&addr)
        {
            d.backoff.reset(); // A handshake made it: the next loss starts the backoff over.
        }
        // Peers that dialed us are dialed back if they are lost.
        if listen != self.addr
            && !self.dials.contains_key(&listen)
            && self.dials.len() < self.cfg.max_peers
        {
            self.dials.insert(listen, fresh_dial(&self.cfg, now));
        }
        let current = self.members.get(&peer).map(|m| m.link);
        match current {
            None => {
                if self.members.len() >= self.cfg.max_peers {
                    return self.reject(id, &format!("limit of {} peers", self.cfg.max_peers));
                }
                self.link(id, peer, listen);
                self.counters.links_made += 1;
                let how = self.dialer_of(id, peer);
                self.say(&format!(
                    "up {peer} (link dialed by {how}): {}",
                    self.view_text()
                ));
            }
            Some(None) => {
                // The link the peer kept after superseding ours.
                self.link(id, peer, listen);
            }
            Some(Some(old)) => self.tie_break(peer, old, id, listen),
        }
    }
    // ANCHOR_END: handshake_done

    fn dialer_of(&self, id: ConnId, peer: NodeId) -> NodeId {
        match self.conns.get(&id) {
            Some(c) if c.dialed.is_some() => self.me,
            _ => peer,
        }
    }

    fn link(&mut self, id: ConnId, peer: NodeId, addr: SocketAddr) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.stage = Stage::Linked;
        }
        self.members.insert(
            peer,
            Member {
                addr,
                link: Some(id),
                last_heard: Instant::now(),
            },
        );
    }

    // ANCHOR: tie_break
    /// Two connections to `peer`: keep one by [`tiebreak::keep`], tell the peer on the other
    /// (`Superseded`) and close it politely.
    fn tie_break(&mut self, peer: NodeId, old: ConnId, new: ConnId, addr: SocketAddr) {
        let candidate = |id: ConnId| {
            let c = &self.conns[&id];
            Candidate {
                dialer: self.dialer_of(id, peer),
                incarnation: c.peer.map_or(0, |(_, inc, _)| inc),
                opened: c.order,
            }
        };
        let (a, b) = (candidate(old), candidate(new));
        let (kept, closed, why) = match tiebreak::keep(&a, &b) {
            Keep::First => (old, new, &a),
            Keep::Second => (new, old, &b),
        };
        let how = if a.incarnation != b.incarnation {
            "the peer restarted: kept its new life's".to_string()
        } else if a.dialer != b.dialer {
            format!(
                "kept the one dialed by {} (lower id), closed the one dialed by {}",
                why.dialer,
                if why.dialer == a.dialer {
                    b.dialer
                } else {
                    a.dialer
                }
            )
        } else {
            "the same node dialed twice: kept the newer".to_string()
        };
        self.counters.duplicates_closed += 1;
        self.say(&format!("duplicate link to {peer}: {how}"));
        if let Some(c) = self.conns.get_mut(&closed) {
            c.link.send(Msg::Superseded.frame());
        }
        self.close_politely(closed);
        self.link(kept, peer, addr);
    }
    // ANCHOR_END: tie_break

    // ANCHOR: broadcast
    /// A broadcast of our own: numbered, delivered here, sent to every peer.
    fn originate(&mut self, body: Vec<u8>) {
        self.seq += 1;
        let (origin, incarnation, seq) = (self.me, self.incarnation, self.seq);
        self.seen.first_time((origin, incarnation, seq));
        self.deliver(origin, seq, &body);
        let msg = Msg::Broadcast {
            origin,
            incarnation,
            seq,
            body,
        };
        self.forward(&msg, None, origin);
    }

    /// A broadcast that arrived on connection `from`: delivered and passed on the first time,
    /// dropped after that.
    fn on_broadcast(
        &mut self,
        from: ConnId,
        origin: NodeId,
        incarnation: u64,
        seq: u64,
        body: Vec<u8>,
    ) {
        self.counters.broadcast_frames_received += 1;
        if !self.seen.first_time((origin, incarnation, seq)) {
            self.counters.copies_dropped += 1;
            return;
        }
        self.deliver(origin, seq, &body);
        let msg = Msg::Broadcast {
            origin,
            incarnation,
            seq,
            body,
        };
        self.forward(&msg, Some(from), origin);
    }

    /// Sends `msg` on every link but the one it came from and the origin's.
    fn forward(&mut self, msg: &Msg, from: Option<ConnId>, origin: NodeId) {
        let frame = msg.frame();
        let mut full = Vec::new();
        for (&peer, m) in &self.members {
            let Some(link) = m.link else { continue };
            if Some(link) == from || peer == origin {
                continue;
            }
            if self
                .conns
                .get(&link)
                .is_some_and(|c| c.link.send(frame.clone()))
            {
                self.counters.broadcast_frames_sent += 1;
            } else {
                full.push(peer);
            }
        }
        for peer in full {
            self.down(peer, "its send queue is full: it does not read");
        }
    }
    // ANCHOR_END: broadcast

    fn deliver(&mut self, origin: NodeId, seq: u64, body: &[u8]) {
        self.counters.delivered += 1;
        let text = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        self.say(&format!("delivered #{seq} from {origin}: {text:?}"));
        // The delivery and the counters that go with it are published together.
        let mut shared = lock(&self.shared);
        push_bounded(
            &mut shared.delivered,
            Delivery {
                origin,
                seq,
                body: body.to_vec(),
            },
        );
        shared.counters = self.counters;
    }

    // ANCHOR: tick
    /// Every heartbeat interval: a heartbeat on every link, silent peers declared down,
    /// unfinished handshakes closed, lost peers dialed.
    fn tick(&mut self) {
        let now = Instant::now();
        let deadline = self.cfg.deadline();
        let beat = Msg::Heartbeat.frame();
        let mut full = Vec::new();
        for (&peer, m) in &self.members {
            let sent = m
                .link
                .and_then(|l| self.conns.get(&l))
                .is_none_or(|c| c.link.send(beat.clone()));
            if !sent {
                full.push(peer);
            }
        }
        for peer in full {
            self.down(peer, "its send queue is full: it does not read");
        }
        let silent: Vec<(NodeId, Duration)> = self
            .members
            .iter()
            .map(|(&peer, m)| (peer, now.saturating_duration_since(m.last_heard)))
            .filter(|&(_, quiet)| quiet >= deadline)
            .collect();
        for (peer, quiet) in silent {
            let why = format!(
                "silent for {} ms, deadline {} ms",
                quiet.as_millis(),
                deadline.as_millis()
            );
            self.down(peer, &why);
        }
        let stalled: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.stage == Stage::Handshake && now.saturating_duration_since(c.opened) >= deadline
            })
            .map(|(&id, _)| id)
            .collect();
        for id in stalled {
            if let Some(mut c) = self.conns.remove(&id) {
                c.link.abort();
                let why = format!("no handshake within {} ms", deadline.as_millis());
                self.record_closed(&c, &why);
                self.say(&format!(
                    "closed connection {} {}: {why}",
                    if c.dialed.is_some() { "to" } else { "from" },
                    c.link.remote
                ));
            }
        }
        self.dial_due();
    }
    // ANCHOR_END: tick

    /// Starts a dial to every known address that is due: not up, not being dialed or
    /// handshaking, and past its backoff.
    fn dial_due(&mut self) {
        let now = Instant::now();
        let up: BTreeSet<SocketAddr> = self.members.values().map(|m| m.addr).collect();
        let handshaking: BTreeSet<SocketAddr> = self
            .conns
            .values()
            .filter(|c| c.stage == Stage::Handshake)
            .filter_map(|c| c.dialed)
            .collect();
        let timeout = self.cfg.dial_timeout;
        for (&addr, d) in &mut self.dials {
            if d.in_flight || now < d.next_at || up.contains(&addr) || handshaking.contains(&addr) {
                continue;
            }
            d.in_flight = true;
            // Scheduled now; if this dial or its handshake fails, the next waits this long.
            d.wait = d.backoff.after_failure();
            d.next_at = now + d.wait;
            self.counters.dials += 1;
            push_bounded(
                &mut lock(&self.shared).dials,
                DialRecord {
                    addr,
                    at: now,
                    retry_in: None,
                },
            );
            let events = self.events.clone();
            let spawned = thread::Builder::new()
                .name(format!("dial {addr}"))
                .stack_size(64 * 1024)
                .spawn(move || {
                    let _ = events.send(Event::Dialed(
                        addr,
                        TcpStream::connect_timeout(&addr, timeout),
                    ));
                });
            if spawned.is_err() {
                d.in_flight = false;
            }
        }
    }

    fn dialed(&mut self, addr: SocketAddr, result: io::Result<TcpStream>) {
        let Some(d) = self.dials.get_mut(&addr) else {
            return;
        };
        d.in_flight = false;
        match result {
            Ok(stream) => self.admit(stream, Some(addr)),
            Err(e) => {
                self.counters.dials_failed += 1;
                let wait = d.wait;
                if let Some(last) = lock(&self.shared)
                    .dials
                    .iter_mut()
                    .rev()
                    .find(|r| r.addr == addr)
                {
                    last.retry_in = Some(wait);
                }
                self.say(&format!(
                    "dial {addr} failed ({e}); next try in {} ms",
                    wait.as_millis()
                ));
            }
        }
    }
}

fn fresh_dial(cfg: &Config, now: Instant) -> Dial {
    Dial {
        backoff: Backoff::new(cfg.heartbeat, cfg.backoff_cap),
        next_at: now,
        wait: Duration::ZERO,
        in_flight: false,
    }
}
