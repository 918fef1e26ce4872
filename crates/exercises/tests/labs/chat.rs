//! Lab 3's clients: the protocol's frames (`SUB`, `PUB`, and the server's `OK` and `MSG`), a
//! blocking [`Client`] for the small checks, and [`Load`], a load generator that subscribes a
//! thousand clients and checks that each gets every message of every publisher exactly once
//! and in order, while measuring how many it gets per second.
//!
//! The load generator is one thread with one `epoll(7)` instance over every client, so that a
//! thousand clients cost one core at most, whatever server they talk to. Its publishers are
//! *windowed*: a publisher sends its next message only while fewer than `window` of its
//! messages have not yet reached every subscriber. What the server must queue for a subscriber
//! is then bounded by the load itself (`publishers * window` messages), so a correct server
//! never has a reason to drop one of these subscribers, and the rate measured is the rate at
//! which the server delivers, not the rate at which it can be flooded.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use socklab_abuse::wire;

/// How long a client waits for any one answer.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// Subscribers connected and subscribed before their acknowledgements are read: below any
/// accept queue, so that no SYN is dropped and retried a second later.
const BATCH: usize = 100;
/// The bytes a `MSG` frame from the load may have beyond its message (its header, `MSG `, the
/// topic and a space): what a subscriber's reassembly buffer must leave room for.
const MSG_OVERHEAD: usize = 4 + 4 + 64 + 1;

/// `SUB <topic>` as a frame.
pub fn sub(topic: &str) -> Vec<u8> {
    wire::frame(format!("SUB {topic}").as_bytes())
}

/// `PUB <topic> <message>` as a frame.
pub fn publish(topic: &str, message: &[u8]) -> Vec<u8> {
    let mut payload = format!("PUB {topic} ").into_bytes();
    payload.extend_from_slice(message);
    wire::frame(&payload)
}

/// A client with blocking reads and writes, each bounded by [`PATIENCE`].
pub struct Client {
    /// Its connection.
    pub stream: TcpStream,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.set_write_timeout(Some(PATIENCE))?;
        stream.set_nodelay(true)?;
        Ok(Client { stream })
    }

    /// Connects and subscribes to `topic`: returns once the server has said `OK topic`.
    pub fn subscribed(addr: SocketAddr, topic: &str) -> Result<Client, String> {
        let mut client = Client::connect(addr).map_err(|e| format!("connecting: {e}"))?;
        client.subscribe(topic)?;
        Ok(client)
    }

    /// Sends `SUB topic`; the next frame must be `OK topic`.
    pub fn subscribe(&mut self, topic: &str) -> Result<(), String> {
        self.send(&sub(topic))?;
        self.expect(format!("OK {topic}").as_bytes())
    }

    /// Sends `PUB topic message`.
    pub fn publish(&mut self, topic: &str, message: &[u8]) -> Result<(), String> {
        self.send(&publish(topic, message))
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("sending {} bytes: {e}", bytes.len()))
    }

    /// The next frame's payload; the end of the stream is an error.
    pub fn next(&mut self) -> Result<Vec<u8>, String> {
        match wire::read_frame(&mut self.stream, 16 << 20) {
            Ok(Some(payload)) => Ok(payload),
            Ok(None) => Err("the server closed the connection".into()),
            Err(e) => Err(format!("reading a frame: {e}")),
        }
    }

    /// The next frame must be `want`.
    pub fn expect(&mut self, want: &[u8]) -> Result<(), String> {
        let got = self.next()?;
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "expected {:?}, got {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got[..got.len().min(80)])
            ))
        }
    }

    /// Reads (and drops) whatever comes until the server closes the connection, for at most
    /// `limit`; returns the bytes read.
    pub fn closed_within(&mut self, limit: Duration) -> Result<u64, String> {
        let deadline = Instant::now() + limit;
        let mut sink = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("still open {limit:?} later ({total} bytes read)"));
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| e.to_string())?;
            match self.stream.read(&mut sink) {
                Ok(0) => return Ok(total),
                Ok(n) => total += n as u64,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(total),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(format!("still open {limit:?} later ({total} bytes read)"));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading: {e}")),
            }
        }
    }
}

/// When a load's publishers stop.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// After this many messages each.
    Messages(u64),
    /// After this long; the rate is measured over it.
    Time(Duration),
}

/// A fan-out load: `subscribers` clients on one topic, `publishers` more that publish to it.
#[derive(Debug, Clone)]
pub struct Load {
    /// Clients subscribed to `topic`.
    pub subscribers: usize,
    /// Clients that publish to it (and subscribe to nothing).
    pub publishers: usize,
    /// The topic.
    pub topic: String,
    /// Bytes per message (at least 6: the publisher's number and the message's).
    pub size: usize,
    /// Messages per publisher on their way at most (sent, not yet at every subscriber).
    pub window: usize,
    /// Every this many subscribers, one subscribes twice (it must still get each message
    /// once); 0 for none.
    pub twice_every: usize,
    /// When the publishers stop.
    pub until: Until,
    /// The whole run's bound, connections included.
    pub limit: Duration,
    /// The processor the load's thread runs on, if it should stay on one (the speed test puts
    /// the server being measured on another: see [`two_cpus`]).
    pub cpu: Option<usize>,
}

/// Two processors this process may run on, if it has two: one for a load, one for the server
/// it measures. Kept apart, the two never take turns on one core, which otherwise happens or
/// not from one run to the next as other work comes and goes, and changes the rate by half.
pub fn two_cpus() -> Option<(usize, usize)> {
    use nix::sched::{CpuSet, sched_getaffinity};
    use nix::unistd::Pid;
    let allowed = sched_getaffinity(Pid::from_raw(0)).ok()?;
    let mut cpus = (0..CpuSet::count()).filter(|c| allowed.is_set(*c).unwrap_or(false));
    Some((cpus.next()?, cpus.next()?))
}

/// Keeps thread or process `pid` (0: the calling thread) on processor `cpu`; returns the set it
/// had, to put back.
pub fn pin(pid: i32, cpu: usize) -> io::Result<nix::sched::CpuSet> {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    let pid = Pid::from_raw(pid);
    let before = sched_getaffinity(pid)?;
    let mut only = CpuSet::new();
    only.set(cpu)?;
    sched_setaffinity(pid, &only)?;
    Ok(before)
}

/// What a load saw.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Messages published, all publishers together.
    pub published: u64,
    /// Messages received, all subscribers together.
    pub delivered: u64,
    /// Messages received per second while the publishers ran.
    pub rate: f64,
    /// How long connecting and subscribing took.
    pub setup: Duration,
    /// What went wrong (the run stops at the first problem); empty if nothing did.
    pub problems: Vec<String>,
}

/// One subscriber of the load: its socket, the bytes of a frame not yet complete, and the
/// number of the next message it expects from each publisher.
struct Sub {
    stream: TcpStream,
    partial: Vec<u8>,
    next: Vec<u64>,
}

/// One publisher: its socket and the bytes it has not managed to write yet.
struct Pub {
    stream: TcpStream,
    out: Vec<u8>,
    written: usize,
    watch_write: bool,
}

impl Load {
    /// Runs the load against the server at `addr`.
    pub fn run(&self, addr: SocketAddr) -> Outcome {
        self.run_then(addr, || {})
    }

    /// Runs the load, then calls `then` while its clients are still connected.
    pub fn run_then(&self, addr: SocketAddr, then: impl FnOnce()) -> Outcome {
        let mut outcome = Outcome::default();
        let before = match self.cpu.map(|cpu| pin(0, cpu)).transpose() {
            Ok(before) => before,
            Err(e) => {
                outcome
                    .problems
                    .push(format!("cannot keep the load on one processor: {e}"));
                return outcome;
            }
        };
        if let Err(e) = self.drive(addr, &mut outcome, then) {
            outcome.problems.push(e);
        }
        if let Some(before) = before {
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &before);
        }
        outcome
    }

    fn drive(
        &self,
        addr: SocketAddr,
        outcome: &mut Outcome,
        then: impl FnOnce(),
    ) -> Result<(), String> {
        assert!(self.size >= 6 && self.publishers > 0 && self.window > 0);
        let started = Instant::now();
        let deadline = started + self.limit;
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(|e| e.to_string())?;
        let subs = self.subscribe_all(addr, &epoll)?;
        let mut pubs = Vec::new();
        for p in 0..self.publishers {
            let client = Client::connect(addr).map_err(|e| format!("connecting publisher: {e}"))?;
            client
                .stream
                .set_nonblocking(true)
                .map_err(|e| e.to_string())?;
            let token = (subs.len() + p) as u64;
            epoll
                .add(
                    client.stream.as_fd(),
                    EpollEvent::new(EpollFlags::EPOLLIN, token),
                )
                .map_err(|e| e.to_string())?;
            pubs.push(Pub {
                stream: client.stream,
                out: Vec::new(),
                written: 0,
                watch_write: false,
            });
        }
        outcome.setup = started.elapsed();
        let mut run = Run {
            load: self,
            subs,
            pubs,
            prefix: format!("MSG {} ", self.topic).into_bytes(),
            sent: vec![0; self.publishers],
            acked: vec![0; self.publishers],
            arrived: vec![0; self.publishers * self.window],
            scratch: vec![0; 64 * 1024],
            delivered: 0,
        };
        let result = run.go(&epoll, deadline, outcome);
        then();
        outcome.published = run.sent.iter().sum();
        outcome.delivered = run.delivered;
        result
    }

    /// Connects the subscribers, a batch at a time, and waits for each acknowledgement.
    fn subscribe_all(&self, addr: SocketAddr, epoll: &Epoll) -> Result<Vec<Sub>, String> {
        let mut subs = Vec::with_capacity(self.subscribers);
        let frame = sub(&self.topic);
        let ok = format!("OK {}", self.topic).into_bytes();
        while subs.len() < self.subscribers {
            let first = subs.len();
            let batch = BATCH.min(self.subscribers - first);
            let mut clients = Vec::with_capacity(batch);
            for i in first..first + batch {
                let mut client =
                    Client::connect(addr).map_err(|e| format!("connecting subscriber {i}: {e}"))?;
                let twice = self.twice_every > 0 && i % self.twice_every == 0;
                let times = if twice { 2 } else { 1 };
                for _ in 0..times {
                    client
                        .send(&frame)
                        .map_err(|e| format!("subscriber {i}: {e}"))?;
                }
                clients.push((client, times));
            }
            for (i, (mut client, times)) in (first..).zip(clients) {
                for _ in 0..times {
                    client
                        .expect(&ok)
                        .map_err(|e| format!("subscriber {i}'s SUB: {e}"))?;
                }
                client
                    .stream
                    .set_nonblocking(true)
                    .map_err(|e| e.to_string())?;
                epoll
                    .add(
                        client.stream.as_fd(),
                        EpollEvent::new(EpollFlags::EPOLLIN, i as u64),
                    )
                    .map_err(|e| format!("watching subscriber {i}: {e}"))?;
                subs.push(Sub {
                    stream: client.stream,
                    partial: Vec::new(),
                    next: vec![0; self.publishers],
                });
            }
        }
        Ok(subs)
    }
}

/// A load while it runs.
struct Run<'a> {
    load: &'a Load,
    subs: Vec<Sub>,
    pubs: Vec<Pub>,
    /// What every message's payload starts with: `MSG <topic> `.
    prefix: Vec<u8>,
    /// Messages each publisher has sent.
    sent: Vec<u64>,
    /// Messages of each publisher that every subscriber has.
    acked: Vec<u64>,
    /// For each publisher's window slot, how many subscribers have that message.
    arrived: Vec<u32>,
    scratch: Vec<u8>,
    delivered: u64,
}

impl Run<'_> {
    fn go(
        &mut self,
        epoll: &Epoll,
        deadline: Instant,
        outcome: &mut Outcome,
    ) -> Result<(), String> {
        let start = Instant::now();
        let stop_at = match self.load.until {
            Until::Time(d) => Some(start + d),
            Until::Messages(_) => None,
        };
        let mut events = vec![EpollEvent::empty(); 1024];
        let mut measured = false;
        loop {
            let now = Instant::now();
            let publishing = match (self.load.until, stop_at) {
                (Until::Messages(_), _) => true,
                (_, Some(at)) => now < at,
                _ => unreachable!(),
            };
            if !publishing && !measured {
                measured = true;
                outcome.rate = self.delivered as f64 / now.duration_since(start).as_secs_f64();
            }
            if publishing {
                self.publish()?;
            }
            let done = match self.load.until {
                Until::Messages(k) => self.acked.iter().all(|a| *a == k),
                Until::Time(_) => !publishing && self.acked == self.sent,
            };
            if done {
                if !measured {
                    let took = now.duration_since(start).as_secs_f64();
                    outcome.rate = self.delivered as f64 / took;
                }
                return Ok(());
            }
            if now >= deadline {
                let total = self.sent.iter().sum::<u64>() * self.subs.len() as u64;
                return Err(format!(
                    "after {:?}, {} of the {total} messages published had reached their \
                     subscribers (the rest are missing or very late)",
                    self.load.limit, self.delivered
                ));
            }
            let mut wake = deadline;
            if let Some(at) = stop_at.filter(|_| publishing) {
                wake = wake.min(at);
            }
            let ms = wake
                .saturating_duration_since(now)
                .as_millis()
                .clamp(1, 100) as i32;
            let timeout = EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::MAX);
            let n = match epoll.wait(&mut events, timeout) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => 0,
                Err(e) => return Err(format!("epoll_wait: {e}")),
            };
            for event in &events[..n] {
                let token = event.data() as usize;
                if token < self.subs.len() {
                    self.receive(token)?;
                } else {
                    self.publisher_ready(epoll, token - self.subs.len(), event.events())?;
                }
            }
        }
    }

    /// Each publisher sends what its window allows, and writes what it can.
    fn publish(&mut self) -> Result<(), String> {
        let w = self.load.window as u64;
        for p in 0..self.pubs.len() {
            if let Until::Messages(k) = self.load.until
                && self.sent[p] >= k
            {
                continue;
            }
            while self.sent[p] < self.acked[p] + w {
                let s = self.sent[p];
                let mut message = vec![s as u8; self.load.size];
                message[..2].copy_from_slice(&(p as u16).to_be_bytes());
                message[2..6].copy_from_slice(&(s as u32).to_be_bytes());
                let frame = publish(&self.load.topic, &message);
                self.pubs[p].out.extend_from_slice(&frame);
                self.sent[p] += 1;
                if let Until::Messages(k) = self.load.until
                    && self.sent[p] >= k
                {
                    break;
                }
            }
            self.write(p)?;
        }
        Ok(())
    }

    fn write(&mut self, p: usize) -> Result<(), String> {
        let publisher = &mut self.pubs[p];
        while publisher.written < publisher.out.len() {
            match (&publisher.stream).write(&publisher.out[publisher.written..]) {
                Ok(n) => publisher.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("publisher {p} could not send: {e}")),
            }
        }
        if publisher.written == publisher.out.len() {
            publisher.out.clear();
            publisher.written = 0;
        }
        Ok(())
    }

    fn publisher_ready(
        &mut self,
        epoll: &Epoll,
        p: usize,
        events: EpollFlags,
    ) -> Result<(), String> {
        if events.intersects(EpollFlags::EPOLLIN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR) {
            let mut byte = [0u8; 1];
            match (&self.pubs[p].stream).read(&mut byte) {
                Ok(0) => return Err(format!("the server closed publisher {p}'s connection")),
                Ok(_) => {
                    return Err(format!(
                        "publisher {p} subscribed to nothing, yet the server sent it bytes"
                    ));
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => return Err(format!("publisher {p}'s connection: {e}")),
            }
        }
        self.write(p)?;
        // Watched for writability only while it has bytes the socket did not take.
        let publisher = &mut self.pubs[p];
        let want = !publisher.out.is_empty();
        if want != publisher.watch_write {
            publisher.watch_write = want;
            let mut flags = EpollFlags::EPOLLIN;
            if want {
                flags |= EpollFlags::EPOLLOUT;
            }
            let mut event = EpollEvent::new(flags, (self.subs.len() + p) as u64);
            epoll
                .modify(publisher.stream.as_fd(), &mut event)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Reads what subscriber `i` has received and checks every complete message.
    fn receive(&mut self, i: usize) -> Result<(), String> {
        loop {
            let n = match (&self.subs[i].stream).read(&mut self.scratch) {
                Ok(0) => {
                    return Err(format!(
                        "the server closed subscriber {i}'s connection (it was reading all along)"
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("subscriber {i}: {e}")),
            };
            let mut partial = std::mem::take(&mut self.subs[i].partial);
            let used = if partial.is_empty() {
                let bytes = std::mem::take(&mut self.scratch);
                let used = self.messages(i, &bytes[..n]);
                partial.extend_from_slice(&bytes[used.as_ref().map_or(n, |u| *u)..n]);
                self.scratch = bytes;
                used
            } else {
                partial.extend_from_slice(&self.scratch[..n]);
                let used = self.messages(i, &partial);
                if let Ok(used) = used {
                    partial.drain(..used);
                }
                used
            };
            used?;
            if partial.len() > self.load.size + MSG_OVERHEAD {
                return Err(format!(
                    "subscriber {i} received a frame longer than any message published"
                ));
            }
            self.subs[i].partial = partial;
        }
    }

    /// Checks the complete frames at the front of `bytes` as subscriber `i`'s next messages;
    /// returns how many bytes they took.
    fn messages(&mut self, i: usize, bytes: &[u8]) -> Result<usize, String> {
        let mut at = 0;
        let w = self.load.window;
        let expected_len = self.prefix.len() + self.load.size;
        while let Some(header) = bytes.get(at..at + 4) {
            let len = u32::from_be_bytes(header.try_into().expect("four bytes")) as usize;
            let Some(payload) = bytes.get(at + 4..at + 4 + len) else {
                break;
            };
            let bad = |what: &str| {
                let shown = String::from_utf8_lossy(&payload[..payload.len().min(40)]);
                format!("subscriber {i} received {what}: {shown:?}")
            };
            if len != expected_len || !payload.starts_with(&self.prefix) {
                return Err(bad("a frame that is not one of the messages published"));
            }
            let message = &payload[self.prefix.len()..];
            let p = u16::from_be_bytes([message[0], message[1]]) as usize;
            let s = u32::from_be_bytes(message[2..6].try_into().expect("four bytes")) as u64;
            if p >= self.pubs.len() || message[self.load.size - 1] != s as u8 {
                return Err(bad("a damaged message"));
            }
            let next = &mut self.subs[i].next[p];
            if s != *next {
                return Err(format!(
                    "subscriber {i} received message {s} of publisher {p} when the next was \
                     {next}: {}",
                    if s < *next {
                        "a message twice, or out of order"
                    } else {
                        "messages were lost"
                    }
                ));
            }
            *next += 1;
            self.delivered += 1;
            self.arrived[p * w + (s as usize % w)] += 1;
            // The oldest messages every subscriber has leave the window.
            let all = self.subs.len() as u32;
            while self.acked[p] < self.sent[p] {
                let slot = p * w + (self.acked[p] as usize % w);
                if self.arrived[slot] < all {
                    break;
                }
                self.arrived[slot] = 0;
                self.acked[p] += 1;
            }
            at += 4 + len;
        }
        Ok(at)
    }
}
