//! The link: two relay threads, one per direction, between the hosts' TUN devices.
//!
//! Each relay reads the packets host A's kernel sends out of its TUN interface, asks the
//! [`Scheduler`](crate::impair::Scheduler) what happens to each one (see [`crate::impair`]),
//! records it, and writes it into host B's TUN device when its time comes, where B's kernel
//! receives it as if from a network. The other relay does the same from B to A. Between
//! reading and writing, a packet waits in a queue ordered by arrival time; the relay sleeps in
//! `ppoll(2)` until either a new packet can be read or the next queued one is due.
//!
//! [`Link`] is the handle a test holds: it cuts and restores the link, changes its settings
//! while it runs, and reads the lab's clock.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::impair::LinkConfig;
use crate::trace::{Direction, Record};

#[cfg(target_os = "linux")]
pub(crate) use relay::Relay;

/// What the relays and the handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The lab's clock starts here; every time in the trace is measured from it.
    pub epoch: Instant,
    pub(crate) config: Mutex<LinkConfig>,
    /// Bumped on every change to `config`, so relays copy it only when it changed.
    pub(crate) generation: AtomicU64,
    /// Cut flags, A→B and B→A.
    pub(crate) cut: [AtomicBool; 2],
    records: Mutex<Vec<Record>>,
    unrecorded: AtomicU64,
}

impl Shared {
    #[cfg(target_os = "linux")]
    pub fn new(config: LinkConfig) -> Self {
        Shared {
            epoch: Instant::now(),
            config: Mutex::new(config),
            generation: AtomicU64::new(0),
            cut: [AtomicBool::new(false), AtomicBool::new(false)],
            records: Mutex::new(Vec::new()),
            unrecorded: AtomicU64::new(0),
        }
    }

    /// A copy of the records so far, and the count of packets not kept.
    pub fn records(&self) -> (Vec<Record>, u64) {
        let records = self.records.lock().unwrap().clone();
        (records, self.unrecorded.load(Ordering::Relaxed))
    }

    /// Keeps `make()`'s record if the trace has room for it (the record, with its copy of the
    /// packet's first bytes, is only made then); counts it otherwise.
    #[cfg(target_os = "linux")]
    pub(crate) fn record(&self, limit: usize, make: impl FnOnce() -> Record) {
        let mut records = self.records.lock().unwrap();
        if records.len() < limit {
            records.push(make());
        } else {
            self.unrecorded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The handle on the running link.
#[derive(Debug, Clone)]
pub struct Link {
    pub(crate) shared: Arc<Shared>,
}

impl Link {
    /// Cuts the link in both directions (`true`: every packet is dropped, as by a dead peer
    /// or a black hole) or restores it (`false`).
    pub fn cut(&self, cut: bool) {
        self.cut_one_way(Direction::AToB, cut);
        self.cut_one_way(Direction::BToA, cut);
    }

    /// Cuts or restores one direction only.
    pub fn cut_one_way(&self, direction: Direction, cut: bool) {
        self.shared.cut[index(direction)].store(cut, Ordering::SeqCst);
    }

    /// Whether `direction` is cut.
    pub fn is_cut(&self, direction: Direction) -> bool {
        self.shared.cut[index(direction)].load(Ordering::SeqCst)
    }

    /// The link's settings now.
    pub fn config(&self) -> LinkConfig {
        self.shared.config.lock().unwrap().clone()
    }

    /// Changes the impairments while the link runs (the seed and the hosts' MTU stay as they
    /// were set when the lab was made).
    pub fn set(&self, config: LinkConfig) -> io::Result<()> {
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        *self.shared.config.lock().unwrap() = config;
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// The time on the lab's clock, the clock of the trace: a test can note when a call
    /// returned and compare with when packets crossed.
    pub fn now(&self) -> Duration {
        self.shared.epoch.elapsed()
    }
}

fn index(direction: Direction) -> usize {
    match direction {
        Direction::AToB => 0,
        Direction::BToA => 1,
    }
}

#[cfg(target_os = "linux")]
mod relay {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::io;
    use std::os::fd::AsFd;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use nix::poll::{PollFd, PollFlags, ppoll};
    use nix::sys::time::TimeSpec;
    use socklab_support::stop::Stop;
    use tun_rs::SyncDevice;

    use super::{Shared, index};
    use crate::impair::{Fate, Scheduler};
    use crate::trace::{Direction, Record};

    /// The largest packet a TUN device can hand over (an IPv4 or IPv6 packet's length field).
    const MAX_PACKET: usize = 65_535;

    /// How many packets a relay reads in a row before it looks at its queue again.
    const BATCH: usize = 64;

    /// A packet waiting for its arrival time.
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Pending {
        at: Duration,
        /// Ties keep reading order.
        order: u64,
        copies: u8,
        bytes: Vec<u8>,
    }

    /// One direction of the link.
    pub(crate) struct Relay {
        pub direction: Direction,
        pub from: Arc<SyncDevice>,
        pub to: Arc<SyncDevice>,
        pub shared: Arc<Shared>,
        pub stop: Stop,
    }

    impl Relay {
        /// Relays until the lab stops.
        pub fn run(self) -> io::Result<()> {
            // Wake from ppoll within a microsecond of the deadline, not the default 50 µs: the
            // delays and serialisation times the link imposes are often well under a millisecond.
            let _ = nix::sys::prctl::set_timerslack(1_000);
            let mut config = self.shared.config.lock().unwrap().clone();
            let mut generation = self.shared.generation.load(Ordering::SeqCst);
            let mut scheduler = Scheduler::for_direction(config.seed, self.direction);
            let mut queue: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
            let mut order = 0u64;
            let mut buf = vec![0u8; MAX_PACKET];
            loop {
                let now = self.shared.epoch.elapsed();
                while queue.peek().is_some_and(|Reverse(p)| p.at <= now) {
                    let Reverse(p) = queue.pop().unwrap();
                    for _ in 0..p.copies {
                        self.deliver(&p.bytes);
                    }
                }
                let timeout = queue.peek().map(|Reverse(p)| TimeSpec::from(p.at - now));
                let readable = {
                    let mut fds = [
                        PollFd::new(self.from.as_fd(), PollFlags::POLLIN),
                        PollFd::new(self.stop.fd(), PollFlags::POLLIN),
                    ];
                    match ppoll(&mut fds, timeout, None) {
                        Ok(_) => {}
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(e) => return Err(e.into()),
                    }
                    if fds[1].any().unwrap_or(false) {
                        return Ok(());
                    }
                    fds[0].any().unwrap_or(false)
                };
                if !readable {
                    continue;
                }
                for _ in 0..BATCH {
                    let len = match self.from.recv(&mut buf) {
                        Ok(len) => len,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    let latest = self.shared.generation.load(Ordering::SeqCst);
                    if latest != generation {
                        config = self.shared.config.lock().unwrap().clone();
                        generation = latest;
                    }
                    let now = self.shared.epoch.elapsed();
                    let cut = self.shared.cut[index(self.direction)].load(Ordering::SeqCst);
                    let fate = scheduler.decide(&config, cut, now, len);
                    let packet = &buf[..len];
                    self.shared.record(config.trace_limit, || Record {
                        time: now,
                        direction: self.direction,
                        len,
                        bytes: packet[..len.min(config.snaplen)].into(),
                        fate,
                    });
                    match fate {
                        // Due now and nothing queued before it: straight through, no copy.
                        Fate::Delivered { at, copies } if at <= now && queue.is_empty() => {
                            for _ in 0..copies {
                                self.deliver(packet);
                            }
                        }
                        Fate::Delivered { at, copies } => {
                            order += 1;
                            queue.push(Reverse(Pending {
                                at,
                                order,
                                copies,
                                bytes: packet.to_vec(),
                            }));
                        }
                        Fate::Dropped(_) => {}
                    }
                }
            }
        }

        /// Hands a packet to the receiving host's kernel. A TUN write does not block; if the
        /// kernel refuses the packet (its backlog is full), it is lost, as on a real wire.
        fn deliver(&self, packet: &[u8]) {
            let _ = self.to.send(packet);
        }
    }
}
