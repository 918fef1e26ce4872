//! The robustness suite's harness: the course's servers, started with tight bounds, and the
//! well-behaved clients that must see every byte back while an attack runs.
//!
//! The bounds are the servers' own (chapter 1's thread-per-connection server, chapter 7's
//! event loops), set short so the suite runs in seconds: idle 500 ms, frame 1 s.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use multiplex_demo::Api;
use socklab_support::Narrator;
use socklab_support::data::{Checksum, Generator};
use tcp_demo::Client;

/// The most an event-loop server may hold for one connection: its outbox cap, plus one read
/// of frames (64 KiB), plus one maximal frame in the decoder.
pub const HELD_BOUND: usize = 256 * 1024 + 64 * 1024 + tcp_demo::MAX_FRAME + 4;

/// The idle timeout the suite gives every server.
pub const IDLE: Duration = Duration::from_millis(500);
/// The frame timeout the suite gives every server.
pub const FRAME: Duration = Duration::from_secs(1);

/// A TCP server under test.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Chapter 1: one thread per connection, at most 64 at once.
    Threaded,
    /// Chapter 7: one event loop on this readiness API.
    Event(Api),
}

impl Target {
    /// Every TCP server of the course that this system can run.
    pub fn all() -> Vec<Target> {
        let mut all = vec![Target::Threaded];
        all.extend(Api::available().into_iter().map(Target::Event));
        all
    }

    /// The server's name in the suite's output.
    pub fn name(self) -> String {
        match self {
            Target::Threaded => "tcp-demo (threads)".into(),
            Target::Event(api) => format!("multiplex-demo ({})", api.name()),
        }
    }
}

/// A running server: its address, its log, and how many connections it holds right now.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Everything it logged (a capturing narrator).
    pub log: Arc<Narrator>,
    active: Box<dyn Fn() -> usize + Send + Sync>,
    peak: Option<Box<dyn Fn() -> usize + Send + Sync>>,
}

impl Running {
    /// Connections (threaded: connection threads) the server holds right now, by its own count.
    pub fn active(&self) -> usize {
        (self.active)()
    }

    /// The most bytes the server held for any one connection so far, where it counts them
    /// (the event loops); `None` for the threaded server, whose per-connection memory is one
    /// frame on its thread's stack and heap.
    pub fn peak_held(&self) -> Option<usize> {
        self.peak.as_ref().map(|f| f())
    }

    /// Waits, up to `limit`, until the server holds no connection; returns whether it got there.
    pub fn drains(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.active() > 0 {
            if Instant::now() > deadline {
                return false;
            }
            thread::yield_now();
        }
        true
    }
}

/// Starts `target` on a fresh loopback port with the suite's bounds.
pub fn start(target: Target) -> std::io::Result<Running> {
    let log = Arc::new(Narrator::capture());
    match target {
        Target::Threaded => {
            let config = tcp_demo::ServerConfig {
                max_connections: 64,
                idle_timeout: IDLE,
                frame_timeout: FRAME,
                ..Default::default()
            };
            let server = tcp_demo::Server::new(TcpListener::bind("127.0.0.1:0")?, config)
                .with_log(Arc::clone(&log));
            let stats = server.stats();
            let addr = server.spawn()?;
            Ok(Running {
                addr,
                log,
                active: Box::new(move || stats.active.load(Ordering::Relaxed)),
                peak: None,
            })
        }
        Target::Event(api) => {
            let config = multiplex_demo::server::Config {
                idle_timeout: IDLE,
                frame_timeout: FRAME,
                max_connections: 2000,
                ..Default::default()
            };
            let listener = multiplex_demo::server::listen(([127, 0, 0, 1], 0).into())?;
            let (addr, stats) =
                multiplex_demo::server::spawn(api, listener, config, Arc::clone(&log))?;
            let peak_stats = Arc::clone(&stats);
            Ok(Running {
                addr,
                log,
                active: Box::new(move || stats.active.load(Ordering::Relaxed)),
                peak: Some(Box::new(move || {
                    peak_stats.peak_buffered.load(Ordering::Relaxed)
                })),
            })
        }
    }
}

/// What the well-behaved clients saw.
#[derive(Debug, Clone, Copy)]
pub struct WellBehaved {
    /// Round trips completed, all clients together.
    pub round_trips: u64,
    /// Whether every client got back exactly the bytes it sent (length and CRC-32).
    pub intact: bool,
    /// The slowest single round trip.
    pub slowest: Duration,
}

// ANCHOR: well_behaved
/// Connects `clients` well-behaved clients, each read, write and connect bounded by
/// `patience`. The suite connects them *before* an attack starts: the claim under test is that
/// clients already being served keep being served. (A client arriving in the middle of a
/// flood may rightly be turned away: the server is at its limit.)
pub fn connect_clients(
    addr: SocketAddr,
    clients: usize,
    patience: Duration,
) -> std::io::Result<Vec<Client>> {
    (0..clients)
        .map(|_| Client::connect(addr, patience))
        .collect()
}

/// Each of `clients` echoes random frames (up to 64 KiB) for `duration`, from its own thread;
/// a client whose round trip exceeds the patience it connected with fails the run.
pub fn well_behaved(clients: Vec<Client>, duration: Duration) -> std::io::Result<WellBehaved> {
    let workers: Vec<_> = clients
        .into_iter()
        .zip(0u64..)
        .map(|(mut client, seed)| {
            thread::spawn(move || -> std::io::Result<(u64, bool, Duration)> {
                let mut rng = Generator::new(seed);
                let (mut sent, mut got) = (Checksum::new(), Checksum::new());
                let (mut trips, mut slowest) = (0u64, Duration::ZERO);
                let started = Instant::now();
                while started.elapsed() < duration {
                    let mut msg = vec![0u8; rng.size(0, 64 * 1024)];
                    rng.fill(&mut msg);
                    sent.update(&msg);
                    let t = Instant::now();
                    got.update(&client.echo(&msg)?);
                    slowest = slowest.max(t.elapsed());
                    trips += 1;
                }
                Ok((trips, sent.digest() == got.digest(), slowest))
            })
        })
        .collect();
    let mut out = WellBehaved {
        round_trips: 0,
        intact: true,
        slowest: Duration::ZERO,
    };
    for w in workers {
        let (trips, intact, slowest) = w
            .join()
            .map_err(|_| std::io::Error::other("client panicked"))??;
        out.round_trips += trips;
        out.intact &= intact;
        out.slowest = out.slowest.max(slowest);
    }
    Ok(out)
}
// ANCHOR_END: well_behaved
