//! A load generator: C connections doing ping-pong with fixed-size frames, from one thread.
//!
//! It is itself an event loop on the chapter's [`Readiness`] trait (epoll on Linux, poll
//! elsewhere), so one thread can drive ten thousand connections. Each connection sends a frame,
//! waits for its echo, checks it byte for byte, records the round-trip time, and sends the
//! next. It reports requests per second and latency percentiles; any server that speaks the
//! echo protocol can be measured with it, including a student's own.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nonblocking_demo::write::Outbox;
use socklab_support::queue::Full;
use socklab_support::stats;
use tcp_demo::frame::{Decoder, HEADER_LEN};

use crate::readiness::{Event, Interest, Readiness, Source};

/// When the load stops.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this many round trips on every connection.
    Requests(u64),
    /// After this much time (round trips in flight then finish).
    Time(Duration),
}

/// The load to apply.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Concurrent connections.
    pub connections: usize,
    /// Payload bytes per frame.
    pub message_size: usize,
    /// When to stop.
    pub stop: Stop,
}

/// What the load saw.
#[derive(Debug, Clone)]
pub struct Report {
    /// Connections that took part.
    pub connections: usize,
    /// Round trips completed.
    pub requests: u64,
    /// Time from the first request to the last reply.
    pub elapsed: Duration,
    /// Round trips per second.
    pub requests_per_sec: f64,
    /// Median round-trip time.
    pub p50: Duration,
    /// 99th-percentile round-trip time.
    pub p99: Duration,
    /// Replies that differed from their request, and connections the server closed early.
    pub errors: u64,
    /// Time taken to open all connections.
    pub connect_time: Duration,
}

/// One client connection's state.
struct Client {
    stream: TcpStream,
    decoder: Decoder,
    outbox: Outbox,
    payload: Vec<u8>,
    sent_at: Instant,
    done: u64,
    finished: bool,
    interest: Interest,
}

/// The payload connection `i` sends: different per connection, so a mixed-up reply is caught.
fn payload_for(i: usize, size: usize) -> Vec<u8> {
    (0..size)
        .map(|j| (i.wrapping_mul(31).wrapping_add(j)) as u8)
        .collect()
}

/// How long a run stopped by time may go on past that time, finishing the round trips in
/// flight, before it gives up on a server that stopped answering.
pub const GRACE: Duration = Duration::from_secs(30);

/// Opens the connections and runs the load against `addr`.
pub fn run(addr: SocketAddr, load: Load) -> io::Result<Report> {
    run_with_grace(addr, load, GRACE)
}

/// [`run`], giving up `grace` after the stop time (a `Stop::Time` run) instead of [`GRACE`]:
/// the load always stops by itself, even against a server that accepts and never answers.
pub fn run_with_grace(addr: SocketAddr, load: Load, grace: Duration) -> io::Result<Report> {
    let started = Instant::now();
    let mut clients = Vec::with_capacity(load.connections);
    for i in 0..load.connections {
        // Blocking connects: on loopback each takes microseconds, and the server's long accept
        // queue absorbs the burst while it accepts.
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        clients.push(Client {
            stream,
            decoder: Decoder::new(load.message_size.max(1)),
            // One request in flight per connection: each queue holds one frame at most.
            outbox: Outbox::new(HEADER_LEN + load.message_size),
            payload: payload_for(i, load.message_size),
            sent_at: Instant::now(),
            done: 0,
            finished: false,
            interest: Interest::READ,
        });
    }
    let connect_time = started.elapsed();
    #[cfg(target_os = "linux")]
    let readiness = crate::epoll::Epoll::new(false)?;
    #[cfg(not(target_os = "linux"))]
    let readiness = crate::poll::Poll;
    drive(readiness, clients, load, connect_time, grace)
}

fn drive<R: Readiness>(
    mut readiness: R,
    mut clients: Vec<Client>,
    load: Load,
    connect_time: Duration,
    grace: Duration,
) -> io::Result<Report> {
    let mut latencies: Vec<Duration> = Vec::new();
    let mut errors = 0u64;
    let started = Instant::now();
    let end = match load.stop {
        Stop::Time(d) => Some(started + d),
        Stop::Requests(_) => None,
    };
    // Every connection sends its first request.
    for (token, c) in clients.iter_mut().enumerate() {
        send_next(c).map_err(io::Error::from)?;
        c.outbox.flush_some(&mut &c.stream)?;
        c.interest = Interest {
            read: true,
            write: !c.outbox.is_empty(),
        };
        readiness.register(&Source {
            fd: c.stream.as_fd(),
            token,
            interest: c.interest,
        })?;
    }
    let mut open = clients.len();
    let mut events: Vec<Event> = Vec::with_capacity(1024);
    // A hard bound on the whole run: the load always stops by itself.
    let give_up = started + end.map_or(Duration::from_secs(600), |e| e - started + grace);
    while open > 0 {
        if Instant::now() > give_up {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the server stopped answering",
            ));
        }
        events.clear();
        let sources = clients
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.finished)
            .map(|(token, c)| Source {
                fd: c.stream.as_fd(),
                token,
                interest: c.interest,
            });
        // At most a second, and no later than the give-up time, so that it comes on time.
        let timeout = give_up
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(1));
        readiness.wait(sources, Some(timeout), &mut events)?;
        for ev in &events {
            let c = &mut clients[ev.token];
            if c.finished {
                continue;
            }
            let mut closed = false;
            if ev.readable {
                loop {
                    if c.decoder.room() == 0 {
                        // One whole reply is here: take it first (level-triggered readiness
                        // reports anything more on the next wait).
                        break;
                    }
                    match c.decoder.read_from(&mut &c.stream) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
                loop {
                    match c.decoder.next_frame() {
                        Ok(Some(reply)) => {
                            latencies.push(c.sent_at.elapsed());
                            if reply != c.payload {
                                errors += 1;
                            }
                            c.done += 1;
                            let more = match load.stop {
                                Stop::Requests(n) => c.done < n,
                                Stop::Time(_) => end.is_some_and(|e| Instant::now() < e),
                            };
                            if more {
                                if send_next(c).is_err() {
                                    closed = true;
                                    break;
                                }
                            } else {
                                c.finished = true;
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
            }
            if !c.finished && !closed && c.outbox.flush_some(&mut &c.stream).is_err() {
                closed = true;
            }
            if closed && !c.finished {
                errors += 1;
                c.finished = true;
            }
            if c.finished {
                readiness.deregister(c.stream.as_fd())?;
                open -= 1;
                continue;
            }
            let wanted = Interest {
                read: true,
                write: !c.outbox.is_empty(),
            };
            if wanted != c.interest {
                c.interest = wanted;
                readiness.reregister(&Source {
                    fd: c.stream.as_fd(),
                    token: ev.token,
                    interest: wanted,
                })?;
            }
        }
    }
    let elapsed = started.elapsed();
    let p50 = stats::quantile(&mut latencies, 0.50).unwrap_or_default();
    let p99 = stats::quantile(&mut latencies, 0.99).unwrap_or_default();
    Ok(Report {
        connections: clients.len(),
        requests: latencies.len() as u64,
        elapsed,
        requests_per_sec: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50,
        p99,
        errors,
        connect_time,
    })
}

/// Queues the next request frame and starts its clock. Fails if the previous request is
/// still unsent, which a server that replied before reading it all would cause.
fn send_next(c: &mut Client) -> Result<(), Full> {
    c.outbox.push(&(c.payload.len() as u32).to_be_bytes())?;
    c.outbox.push(&c.payload)?;
    c.sent_at = Instant::now();
    Ok(())
}

/// Opens `connections` connections to `addr` and returns them, idle: for measuring what a
/// server spends on a connection that does nothing.
pub fn hold(addr: SocketAddr, connections: usize) -> io::Result<Vec<TcpStream>> {
    (0..connections)
        .map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(10)))
        .collect()
}

/// This process's resident memory (Linux `VmRSS`), for the memory-per-connection figure.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Raises this process's soft descriptor limit to at least `wanted` if the hard limit (or,
/// for root, raising the hard limit) allows; returns the soft limit now in force. (The
/// course's shared helper, re-exported where the load tools have always found it.)
pub use socklab_support::descriptors::raise_fd_limit;
