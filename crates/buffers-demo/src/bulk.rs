//! Bulk transfer: a sink that reads and discards, and a sender that pushes as fast as it can.
//!
//! Like iperf3's single stream: the client writes `write_size` blocks for a fixed number of
//! bytes or a fixed time, half-closes, and waits for the sink to say how many bytes it read,
//! so the time measured covers delivery, not just handing bytes to the kernel.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use socklab_support::Narrator;
use socklab_support::stop::Stop;
use tcp_demo::connections::{Active, Connections};

/// How a transfer is bounded.
#[derive(Debug, Clone, Copy)]
pub enum Amount {
    /// Exactly this many bytes.
    Bytes(u64),
    /// As many bytes as fit in this time.
    Time(Duration),
}

/// A measured transfer.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Bytes the sink confirmed it read.
    pub bytes: u64,
    /// From the first write to the sink's confirmation.
    pub elapsed: Duration,
}

impl Throughput {
    /// Bytes per second.
    pub fn bytes_per_sec(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Gigabits per second, the unit iperf3 reports.
    pub fn gbit_per_sec(&self) -> f64 {
        self.bytes_per_sec() * 8.0 / 1e9
    }
}

/// Serves one bulk connection: reads and discards until end of stream, then reports the byte
/// count (8 bytes, big-endian) and closes.
pub fn sink_one(stream: &TcpStream) -> io::Result<u64> {
    stream.set_read_timeout(Some(SINK_IDLE))?; // An idle sender is dropped.
    stream.set_write_timeout(Some(SINK_IDLE))?;
    let mut stream = stream;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break, // The sender half-closed: everything has arrived.
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    stream.write_all(&total.to_be_bytes())?;
    Ok(total)
}

/// How long the sink waits for a silent sender (or one that will not take the count).
pub const SINK_IDLE: Duration = Duration::from_secs(30);

/// A listener for the sink on `addr`, with `SO_REUSEADDR` (so a restarted sink binds at once)
/// and, if `buffer` is given, `SO_RCVBUF`/`SO_SNDBUF` set before `listen`, so that accepted
/// sockets inherit them ([`crate::inherit`]).
pub fn listen(addr: SocketAddr, buffer: Option<usize>) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if let Some(size) = buffer {
        socket.set_recv_buffer_size(size)?;
        socket.set_send_buffer_size(size)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// Counters the sink keeps.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Transfers being received right now (0 or 1).
    pub active: AtomicUsize,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Transfers received whole, their count reported back.
    pub transfers: AtomicU64,
    /// Bytes received in those transfers.
    pub bytes: AtomicU64,
    /// Connections closed because of a timeout or an I/O error.
    pub dropped: AtomicU64,
    /// Transfers cut short because the sink stopped.
    pub closed_at_stop: AtomicU64,
}

impl SinkStats {
    /// The counters as the sink's last log line prints them.
    pub fn summary(&self) -> String {
        format!(
            "accepted {}, transfers {}, bytes {}, dropped {}, closed at stop {}",
            self.accepted.load(Ordering::Relaxed),
            self.transfers.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.closed_at_stop.load(Ordering::Relaxed),
        )
    }
}

/// The bulk sink as a server: [`sink_one`] for each connection, one transfer at a time (so
/// that measurements do not disturb each other; the next sender waits in the accept queue),
/// on a listener the caller has bound. It stops cleanly ([`Sink::with_stop`]): the transfer
/// in progress is shut down with a logged reason, the counters are logged last, and
/// [`Sink::run`] returns `Ok`. Chapter 1's [`tcp_demo::connections`] does the bookkeeping.
#[derive(Debug)]
pub struct Sink {
    listener: TcpListener,
    stats: Arc<SinkStats>,
    log: Arc<Narrator>,
    stop: Option<Stop>,
}

impl Sink {
    /// A sink accepting on `listener`, logging to standard output.
    pub fn new(listener: TcpListener) -> Self {
        Self {
            listener,
            stats: Arc::default(),
            log: Arc::new(Narrator::stdout()),
            stop: None,
        }
    }

    /// Sends the log lines to `log` instead.
    pub fn with_log(mut self, log: Arc<Narrator>) -> Self {
        self.log = log;
        self
    }

    /// Stops the sink when `stop` is requested ([`Stop::on_signals`] in the binary).
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The address senders connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<SinkStats> {
        Arc::clone(&self.stats)
    }

    /// Receives transfers until the stop; then ends the one in progress, logs the counters as
    /// the last line, and returns `Ok`.
    pub fn run(self) -> io::Result<()> {
        let stop = match &self.stop {
            Some(stop) => stop.clone(),
            None => Stop::new()?,
        };
        // One slot: one transfer at a time.
        let conns = Connections::new(1);
        conns.accept_loop(&self.listener, &stop, &self.log, |peer| {
            self.stats.accepted.fetch_add(1, Ordering::Relaxed);
            let active = Active::count(self.stats(), |s| &s.active);
            let log = Arc::clone(&self.log);
            move |stream: &TcpStream, conns: &Connections| {
                let stats = active.stats();
                // A transfer whose count was sent is complete, even if the stop came while
                // it finished: only one cut short by the stop counts as closed at stop.
                match sink_one(stream) {
                    Ok(n) => {
                        stats.transfers.fetch_add(1, Ordering::Relaxed);
                        stats.bytes.fetch_add(n, Ordering::Relaxed);
                        log.step("sink", &format!("{peer}: {n} bytes"));
                    }
                    Err(_) if conns.stopping() => {
                        stats.closed_at_stop.fetch_add(1, Ordering::Relaxed);
                        log.step("sink", &format!("{peer}: closed: the sink is stopping"));
                    }
                    Err(e) => {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        log.step("sink", &format!("{peer}: dropped: {e}"));
                    }
                }
            }
        })?;
        conns.shut_down(&self.log);
        self.log
            .step("sink", &format!("stopped: {}", self.stats.summary()));
        Ok(())
    }

    /// Runs the sink on a background thread and returns its address at once.
    pub fn spawn(mut self) -> io::Result<SocketAddr> {
        let addr = self.local_addr()?;
        if self.stop.is_none() {
            self.stop = Some(Stop::new()?);
        }
        let log = Arc::clone(&self.log);
        thread::Builder::new()
            .name("bulk sink".into())
            .spawn(move || {
                if let Err(e) = self.run() {
                    log.step("sink", &format!("stopped: {e}"));
                }
            })?;
        Ok(addr)
    }
}

/// Accepts bulk connections on a background thread, one transfer at a time, each served by
/// [`sink_one`], silently: the sink the sweep and the benchmarks measure against.
pub fn spawn_sink(listener: TcpListener) -> io::Result<SocketAddr> {
    Sink::new(listener)
        .with_log(Arc::new(Narrator::silent()))
        .spawn()
}

// ANCHOR: send
/// Connects to a sink (with `SO_SNDBUF`/`SO_RCVBUF` set to `buffer` before connecting, if
/// given), sends `amount` in blocks of `write_size`, and measures until the sink confirms.
pub fn send(
    addr: SocketAddr,
    write_size: usize,
    amount: Amount,
    buffer: Option<usize>,
) -> io::Result<Throughput> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(size) = buffer {
        socket.set_send_buffer_size(size)?;
        socket.set_recv_buffer_size(size)?;
    }
    socket.connect(&addr.into())?;
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let block = vec![0x5au8; write_size.max(1)];
    let started = Instant::now();
    let mut sent = 0u64;
    loop {
        let n = match amount {
            Amount::Bytes(total) if sent >= total => break,
            Amount::Bytes(total) => (total - sent).min(block.len() as u64) as usize,
            Amount::Time(limit) if started.elapsed() >= limit => break,
            Amount::Time(_) => block.len(),
        };
        stream.write_all(&block[..n])?;
        sent += n as u64;
    }
    stream.shutdown(Shutdown::Write)?; // "That is all"; the sink's count follows.
    let mut count = [0u8; 8];
    stream.read_exact(&mut count)?;
    let bytes = u64::from_be_bytes(count);
    if bytes != sent {
        return Err(io::Error::other(format!(
            "sent {sent} bytes but the sink read {bytes}"
        )));
    }
    Ok(Throughput {
        bytes,
        elapsed: started.elapsed(),
    })
}
// ANCHOR_END: send

/// A sink with its listener's buffers set to `buffer` (so accepted sockets inherit them).
pub fn sink_with_buffer(buffer: Option<usize>) -> io::Result<SocketAddr> {
    spawn_sink(crate::inherit::listener_with_rcvbuf(buffer)?)
}
