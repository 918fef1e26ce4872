//! The course's servers, started inside the test process with tight bounds so that the suite
//! runs in seconds (idle 1.5 s, frame 2 s), and what the suite can ask each of them: its own
//! count of connections, the most it held for one connection, whether its thread still runs.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use multiplex_demo::Api;
use socklab_support::stop::Stop;
use socklab_support::{Narrator, wait};

/// The idle timeout the suite gives every server. Short, so attacks end quickly, but not so
/// short that a well-behaved client starved of the CPU for a moment on a busy 2-core CI machine
/// looks idle: at `500 ms` CI once saw good clients closed during the steady-sender attack
/// while other test processes loaded both cores.
pub const IDLE: Duration = Duration::from_millis(1500);
/// The frame timeout the suite gives every server (longer than [`IDLE`], so that a frame's own
/// clock, not the idle timeout, is what cuts a slow sender).
pub const FRAME: Duration = Duration::from_secs(2);

/// The largest request the suite lets the half-close server hold (its default is 16 MiB):
/// room for the slow reader's 6 MiB request, whose reply overflows the kernel's buffers;
/// less than what no-read sends.
pub const MAX_REQUEST: u64 = 8 << 20;

/// The most an event-loop server may hold for one connection: its outbox cap, plus one read
/// of frames (64 KiB), plus one maximal frame in the decoder.
pub const HELD_BOUND: usize = 256 * 1024 + 64 * 1024 + tcp_demo::MAX_FRAME + 4;

/// How a server's clients talk to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Length-prefixed frames, each echoed back (chapters 1 and 7).
    Frames,
    /// A request is everything until the client half-closes; the reply is
    /// `"N bytes received\n"` and the request, then the server closes (chapter 5).
    HalfClose,
    /// A bulk sink: the client sends bytes and half-closes; the server answers with the count
    /// (8 bytes, big-endian) and closes (chapter 3).
    Sink,
}

/// A TCP server under test.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Chapter 1: one thread per connection, at most 64 at once.
    Threaded,
    /// Chapter 7: one event loop on this readiness API.
    Event(Api),
    /// Chapter 5: the half-close server, one thread per connection, at most 64 at once.
    HalfClose,
    /// Chapter 3: the bulk sink, one transfer at a time.
    Sink,
}

impl Target {
    /// The server's name in the suite's output.
    pub fn name(self) -> String {
        match self {
            Target::Threaded => "tcp-demo (threads)".into(),
            Target::Event(api) => format!("multiplex-demo ({})", api.name()),
            Target::HalfClose => "shutdown-demo (half-close)".into(),
            Target::Sink => "buffers-demo (sink)".into(),
        }
    }

    /// How its clients talk to it.
    pub fn protocol(self) -> Protocol {
        match self {
            Target::Threaded | Target::Event(_) => Protocol::Frames,
            Target::HalfClose => Protocol::HalfClose,
            Target::Sink => Protocol::Sink,
        }
    }
}

/// A running server: its address, its log, and what it counts.
pub struct Running {
    /// Which server.
    pub target: Target,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Everything it logged (a capturing narrator; empty for a server that logs nothing).
    pub log: Arc<Narrator>,
    active: Option<Box<dyn Fn() -> usize + Send + Sync>>,
    peak: Option<Box<dyn Fn() -> usize + Send + Sync>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Running {
    /// Connections the server holds right now by its own count, if it keeps one (threaded:
    /// connection threads; event loops: table entries).
    pub fn active(&self) -> Option<usize> {
        self.active.as_ref().map(|f| f())
    }

    /// The most bytes the server held for any one connection so far, where it counts them
    /// (the event loops); `None` for the others, whose per-connection memory is one frame on
    /// a thread's stack and heap.
    pub fn peak_held(&self) -> Option<usize> {
        self.peak.as_ref().map(|f| f())
    }

    /// Whether the server's thread has ended (it never should), where the suite started it
    /// itself.
    pub fn exited(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(thread::JoinHandle::is_finished)
    }

    /// Waits, up to `limit`, until the server holds no connection by its own count; an error
    /// names how many are left. A server without a count passes (the descriptor count, which
    /// the suite checks next, covers it).
    pub fn drains(&self, limit: Duration) -> Result<(), String> {
        let Some(active) = &self.active else {
            return Ok(());
        };
        let left = wait::last(limit, active, |n| *n == 0);
        match left {
            0 => Ok(()),
            n => Err(format!(
                "{n} connections still open {limit:?} after the attack"
            )),
        }
    }
}

/// Starts `target` on a fresh loopback port with the suite's bounds.
pub fn start(target: Target) -> std::io::Result<Running> {
    let log = Arc::new(Narrator::capture());
    match target {
        Target::Threaded => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let config = tcp_demo::ServerConfig {
                max_connections: 64,
                idle_timeout: IDLE,
                frame_timeout: FRAME,
                ..Default::default()
            };
            // A stop of our own, made now: one the server made for itself on its thread would
            // open its descriptors after the suite's first count.
            let server = tcp_demo::Server::new(listener, config)
                .with_log(Arc::clone(&log))
                .with_stop(Stop::new()?);
            let stats = server.stats();
            // `run` on a thread of ours rather than `spawn`, so the suite can see it end.
            let thread = thread::Builder::new()
                .name("tcp-demo server".into())
                .spawn(move || {
                    let _ = server.run();
                })?;
            Ok(Running {
                target,
                addr,
                log,
                active: Some(Box::new(move || stats.active.load(Ordering::Relaxed))),
                peak: None,
                thread: Some(thread),
            })
        }
        Target::Event(api) => {
            let config = multiplex_demo::server::Config {
                idle_timeout: IDLE,
                frame_timeout: FRAME,
                max_connections: 2000,
                ..Default::default()
            };
            // The event loops' own listener: a long accept queue for the floods.
            let listener = multiplex_demo::server::listen(([127, 0, 0, 1], 0).into())?;
            let (addr, stats, thread) = multiplex_demo::server::spawn_with_stop(
                api,
                listener,
                config,
                Arc::clone(&log),
                None,
            )?;
            let peak_stats = Arc::clone(&stats);
            Ok(Running {
                target,
                addr,
                log,
                active: Some(Box::new(move || stats.active.load(Ordering::Relaxed))),
                peak: Some(Box::new(move || {
                    peak_stats.peak_buffered.load(Ordering::Relaxed)
                })),
                thread: Some(thread),
            })
        }
        Target::HalfClose => {
            let config = shutdown_demo::server::ServerConfig {
                max_connections: 64,
                max_request: MAX_REQUEST,
                idle_timeout: IDLE,
                request_timeout: FRAME,
            };
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let server = shutdown_demo::server::Server::new(listener, config)
                .with_log(Arc::clone(&log))
                .with_stop(Stop::new()?);
            let stats = server.stats();
            let thread = thread::Builder::new()
                .name("half-close server".into())
                .spawn(move || {
                    let _ = server.run();
                })?;
            Ok(Running {
                target,
                addr,
                log,
                active: Some(Box::new(move || stats.active.load(Ordering::Relaxed))),
                peak: None,
                thread: Some(thread),
            })
        }
        Target::Sink => {
            // The sink's own bounds are fixed (a 30 s idle timeout), not the suite's.
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let sink = buffers_demo::bulk::Sink::new(listener)
                .with_log(Arc::clone(&log))
                .with_stop(Stop::new()?);
            let stats = sink.stats();
            let thread = thread::Builder::new()
                .name("bulk sink".into())
                .spawn(move || {
                    let _ = sink.run();
                })?;
            Ok(Running {
                target,
                addr,
                log,
                active: Some(Box::new(move || stats.active.load(Ordering::Relaxed))),
                peak: None,
                thread: Some(thread),
            })
        }
    }
}
