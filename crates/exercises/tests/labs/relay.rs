//! A bad link on loopback: a relay between two UDP sockets that loses, duplicates, delays and
//! reorders datagrams, for graders on machines where no wire lab can be made.
//!
//! What happens to each datagram is decided by the wire lab's own rules,
//! [`socklab_wire::Scheduler::decide`], with the same seeds per direction as the lab's link,
//! so a [`LinkConfig`] means the same here as there. The relay counts, at the link, what each
//! side put on it: a program's own report of what it sent could be wrong.
//!
//! ```text
//!   A ── sends to ──▶ [a_side ▶ impair ▶ b_side] ── from b_side ──▶ B
//!   A ◀── from a_side ── [a_side ◀ impair ◀ b_side] ◀── replies to ── B
//! ```
//!
//! A sends to [`Relay::to_b`], and B's datagrams reach it from that same address; B sees its
//! peer as [`Relay::to_a`]. Only datagrams from A's and B's addresses enter the link: a
//! stranger's are left out of it and of its counts. The relay sleeps in `poll(2)` on its
//! socket and a stop descriptor until a datagram comes or a delayed one is due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socklab_support::stop::{Stop, Woken};
use socklab_wire::{self as wire, Fate, LinkConfig, Scheduler};

/// The headers a datagram carries on a real link besides its payload (IPv4's 20 bytes and
/// UDP's 8; IPv6 has 40 and 8): the link's MTU applies to the whole packet, as on the lab.
const IPV4_UDP_HEADERS: usize = 28;
const IPV6_UDP_HEADERS: usize = 48;

/// What the link saw in one direction.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Datagrams that reached the link (whatever became of them).
    pub datagrams: u64,
    /// Their bytes of UDP payload.
    pub bytes: u64,
    /// The largest of them, in bytes of UDP payload.
    pub largest: usize,
    /// Datagrams the link lost (or dropped at a cut, or as longer than the MTU).
    pub dropped: u64,
    /// Datagrams the link delivered twice.
    pub duplicated: u64,
    /// Datagrams the link held back, so that later ones overtook them.
    pub held_back: u64,
    /// Datagrams the link damaged, one bit flipped ([`Relay::corrupt_every`]), whether it then
    /// delivered or lost them.
    pub corrupted: u64,
    /// When the link last delivered a datagram this way.
    pub last_delivery: Option<Instant>,
}

/// One direction's state, shared with the test.
#[derive(Debug, Default)]
struct Side {
    counts: Mutex<Counts>,
}

/// A relay running on two threads (one per direction); stopped when dropped.
pub struct Relay {
    to_b: SocketAddr,
    to_a: SocketAddr,
    a_side: Arc<UdpSocket>,
    b_side: Arc<UdpSocket>,
    a: SocketAddr,
    b: SocketAddr,
    sides: [Arc<Side>; 2],
    cut: Arc<AtomicBool>,
    cut_at: Arc<Mutex<Option<Instant>>>,
    cut_after: Arc<AtomicU64>,
    corrupt_every: Arc<AtomicU64>,
    /// One per direction: a stop's wake-up byte is read by the one thread that sees it.
    stops: Vec<Stop>,
    threads: Vec<JoinHandle<io::Result<()>>>,
}

impl Relay {
    /// A link between `a` and `b` (each a bound socket's address) that behaves as `config`
    /// says, on two new sockets on loopback.
    pub fn start(a: SocketAddr, b: SocketAddr, config: LinkConfig) -> io::Result<Relay> {
        config
            .validate()
            .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
        let loopback = |peer: SocketAddr| -> SocketAddr {
            match peer {
                SocketAddr::V4(_) => "127.0.0.1:0".parse().unwrap(),
                SocketAddr::V6(_) => "[::1]:0".parse().unwrap(),
            }
        };
        let a_side = Arc::new(UdpSocket::bind(loopback(a))?);
        let b_side = Arc::new(UdpSocket::bind(loopback(b))?);
        for socket in [&a_side, &b_side] {
            socket.set_nonblocking(true)?;
        }
        let stops = vec![Stop::new()?, Stop::new()?];
        let epoch = Instant::now();
        let sides = [Arc::new(Side::default()), Arc::new(Side::default())];
        let cut = Arc::new(AtomicBool::new(false));
        let cut_at = Arc::new(Mutex::new(None));
        let cut_after = Arc::new(AtomicU64::new(u64::MAX));
        let corrupt_every = Arc::new(AtomicU64::new(0));
        let (to_b, to_a) = (a_side.local_addr()?, b_side.local_addr()?);
        let mut threads = Vec::new();
        for (name, from, into, source, dest, side, way, stop) in [
            (
                "A to B",
                &a_side,
                &b_side,
                a,
                b,
                &sides[0],
                wire::Direction::AToB,
                &stops[0],
            ),
            (
                "B to A",
                &b_side,
                &a_side,
                b,
                a,
                &sides[1],
                wire::Direction::BToA,
                &stops[1],
            ),
        ] {
            let direction = Direction {
                from: Arc::clone(from),
                into: Arc::clone(into),
                source,
                dest,
                config: config.clone(),
                // The lab's dice for this direction: the same seed, the same fates per
                // datagram, here and on the lab.
                scheduler: Scheduler::for_direction(config.seed, way),
                side: Arc::clone(side),
                a_to_b: way == wire::Direction::AToB,
                cut: Arc::clone(&cut),
                cut_at: Arc::clone(&cut_at),
                cut_after: Arc::clone(&cut_after),
                corrupt_every: Arc::clone(&corrupt_every),
                epoch,
                stop: stop.clone(),
            };
            threads.push(
                thread::Builder::new()
                    .name(format!("relay {name}"))
                    .spawn(move || direction.run())?,
            );
        }
        Ok(Relay {
            to_b,
            to_a,
            a_side,
            b_side,
            a,
            b,
            sides,
            cut,
            cut_at,
            cut_after,
            corrupt_every,
            stops,
            threads,
        })
    }

    /// Where A sends to reach B (and where B's datagrams come to A from).
    pub fn to_b(&self) -> SocketAddr {
        self.to_b
    }

    /// Where B's datagrams to A go (B sees A's datagrams come from it).
    pub fn to_a(&self) -> SocketAddr {
        self.to_a
    }

    /// Sends `datagram` to B from the address A's datagrams reach it from, outside the
    /// link and its counts: what B receives from its peer's address may be anything.
    pub fn inject_to_b(&self, datagram: &[u8]) -> io::Result<usize> {
        self.b_side.send_to(datagram, self.b)
    }

    /// Sends `datagram` to A from the address B's datagrams reach it from.
    pub fn inject_to_a(&self, datagram: &[u8]) -> io::Result<usize> {
        self.a_side.send_to(datagram, self.a)
    }

    /// What the link saw from A to B so far.
    pub fn a_to_b(&self) -> Counts {
        self.sides[0].counts.lock().unwrap().clone()
    }

    /// What the link saw from B to A so far.
    pub fn b_to_a(&self) -> Counts {
        self.sides[1].counts.lock().unwrap().clone()
    }

    /// Cuts the link both ways once `n` datagrams from A have reached it: the first `n` are
    /// carried (or lost) as usual, everything after is dropped.
    pub fn cut_after(&self, n: u64) {
        self.cut_after.store(n, Ordering::SeqCst);
    }

    /// Flips one bit of every `n`th datagram each way before it is carried (0: none), as a
    /// link whose checksums let damage through would: only a program that checks its own
    /// datagrams notices. The bit is chosen from the datagram's number, so a run repeats.
    pub fn corrupt_every(&self, n: u64) {
        self.corrupt_every.store(n, Ordering::SeqCst);
    }

    /// When the link was cut, if it was.
    pub fn cut_at(&self) -> Option<Instant> {
        *self.cut_at.lock().unwrap()
    }

    /// Whether the link is cut.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.trigger();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A datagram waiting for its arrival time.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Duration,
    /// Ties keep arrival order.
    order: u64,
    copies: u8,
    bytes: Vec<u8>,
}

/// One direction of the relay.
struct Direction {
    from: Arc<UdpSocket>,
    into: Arc<UdpSocket>,
    /// The only address whose datagrams enter this direction.
    source: SocketAddr,
    dest: SocketAddr,
    config: LinkConfig,
    scheduler: Scheduler,
    side: Arc<Side>,
    a_to_b: bool,
    cut: Arc<AtomicBool>,
    cut_at: Arc<Mutex<Option<Instant>>>,
    cut_after: Arc<AtomicU64>,
    corrupt_every: Arc<AtomicU64>,
    epoch: Instant,
    stop: Stop,
}

impl Direction {
    fn run(mut self) -> io::Result<()> {
        let mut queue: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
        let mut order = 0u64;
        let mut buf = vec![0u8; 65_536];
        loop {
            let now = self.epoch.elapsed();
            while queue.peek().is_some_and(|Reverse(p)| p.at <= now) {
                let Reverse(p) = queue.pop().unwrap();
                self.deliver(&p.bytes, p.copies);
            }
            // Asleep until a datagram comes or the next delayed one is due; poll(2) counts in
            // whole milliseconds, so a wait shorter than one is rounded up, not down to a spin.
            let timeout = queue
                .peek()
                .map(|Reverse(p)| (p.at - now).max(Duration::from_millis(1)));
            match self.stop.wait_readable(self.from.as_fd(), timeout)? {
                Woken::Stopped => return Ok(()),
                Woken::TimedOut => continue,
                Woken::Ready => {}
            }
            loop {
                let (len, sender) = match self.from.recv_from(&mut buf) {
                    Ok(got) => got,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // An ICMP error for a datagram delivered earlier (a peer that is gone).
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                    Err(e) => return Err(e),
                };
                if sender != self.source {
                    continue; // A stranger: not part of this link.
                }
                let now = self.epoch.elapsed();
                let fate = self.decide(len, now);
                self.maybe_corrupt(&mut buf[..len]);
                match fate {
                    Fate::Delivered { at, copies } if at <= now && queue.is_empty() => {
                        self.deliver(&buf[..len], copies);
                    }
                    Fate::Delivered { at, copies } => {
                        order += 1;
                        queue.push(Reverse(Pending {
                            at,
                            order,
                            copies,
                            bytes: buf[..len].to_vec(),
                        }));
                    }
                    Fate::Dropped(_) => {}
                }
            }
        }
    }

    /// The fate of a datagram of `len` bytes that reached the link at `now`, counted.
    fn decide(&mut self, len: usize, now: Duration) -> Fate {
        let mut counts = self.side.counts.lock().unwrap();
        counts.datagrams += 1;
        counts.bytes += len as u64;
        counts.largest = counts.largest.max(len);
        if self.a_to_b
            && counts.datagrams > self.cut_after.load(Ordering::SeqCst)
            && !self.cut.swap(true, Ordering::SeqCst)
        {
            *self.cut_at.lock().unwrap() = Some(Instant::now());
        }
        let cut = self.cut.load(Ordering::SeqCst);
        let headers = match self.dest {
            SocketAddr::V4(_) => IPV4_UDP_HEADERS,
            SocketAddr::V6(_) => IPV6_UDP_HEADERS,
        };
        let fate = self.scheduler.decide(&self.config, cut, now, len + headers);
        match fate {
            Fate::Dropped(_) => counts.dropped += 1,
            Fate::Delivered { at, copies } => {
                if copies > 1 {
                    counts.duplicated += 1;
                }
                // Later than the link's delay and jitter allow: held back to be overtaken.
                if at > now + self.config.delay + self.config.jitter {
                    counts.held_back += 1;
                }
            }
        }
        fate
    }

    /// Flips one bit of the datagram just counted if it is one of every `corrupt_every`th.
    fn maybe_corrupt(&self, datagram: &mut [u8]) {
        let every = self.corrupt_every.load(Ordering::SeqCst);
        let mut counts = self.side.counts.lock().unwrap();
        let number = counts.datagrams;
        if every == 0 || datagram.is_empty() || !number.is_multiple_of(every) {
            return;
        }
        // Spread over the datagram, header and payload alike, by a large prime stride.
        let at = (number as usize).wrapping_mul(7919) % datagram.len();
        datagram[at] ^= 1 << (number % 8);
        counts.corrupted += 1;
    }

    /// Sends a datagram on to its destination, `copies` times. A send that fails is a loss,
    /// as on a real link.
    fn deliver(&self, datagram: &[u8], copies: u8) {
        for _ in 0..copies {
            // The cut may have come while the datagram waited: it is lost with the link.
            if self.cut.load(Ordering::SeqCst) {
                return;
            }
            if self.into.send_to(datagram, self.dest).is_ok() {
                self.side.counts.lock().unwrap().last_delivery = Some(Instant::now());
            }
        }
    }
}
