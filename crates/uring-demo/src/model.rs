//! The model, one experiment per claim: each function sets up sockets on loopback, drives a
//! [`Ring`] and returns what it saw, counted by the ring itself or read from the kernel's own
//! tables. The tour narrates them; `tests/model.rs` asserts them.
//!
//! - [`batch`]: one `io_uring_enter(2)` submits N receives (the kernel's return value says
//!   how many entries it consumed).
//! - [`handed_over`]: completion vs readiness: a receive is submitted *before* the data
//!   exists; when it completes, the bytes are already in our buffer and the socket's receive
//!   queue is empty. Readiness only says the bytes are waiting in the kernel.
//! - [`multishot_accept`] and [`multishot_receive`]: one submission, many completions, each
//!   flagged `IORING_CQE_F_MORE` until the operation ends.
//! - [`provided_buffers`]: receives waiting on idle sockets hold no memory; the kernel picks
//!   a pool buffer only when data arrives.
//! - [`close_does_not_cancel`]: closing a socket's descriptor does not end an operation in
//!   flight on it (the operation holds the socket open); cancelling it does.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use socklab_support::{net, proc_tcp};

use crate::ring::{self, Completion, Options, Ring};

/// How long an experiment waits for a completion that loopback delivers in microseconds.
const PATIENCE: Duration = Duration::from_secs(10);

/// Waits (bounded) until `want` completions have arrived, and returns them.
fn collect(ring: &mut Ring, want: usize) -> io::Result<Vec<Completion>> {
    let until = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while got.len() < want {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{} of {want} completions after {PATIENCE:?}", got.len()),
            ));
        }
        ring.submit_and_wait(Some(left))?;
        ring.complete(&mut got);
    }
    Ok(got)
}

/// What [`batch`] saw.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Receives queued.
    pub receives: usize,
    /// `io_uring_enter` calls made to submit them (counted by the ring).
    pub enters_to_submit: u64,
    /// Entries the kernel said it consumed in that call (its return value).
    pub submitted: usize,
    /// Receives that completed with the byte sent to their socket.
    pub completed: usize,
}

// ANCHOR: batch
/// Queues a receive on each of `n` connections, submits them all, then sends one byte to
/// each and collects the completions.
pub fn batch(n: usize) -> io::Result<Batch> {
    let pairs: Vec<(TcpStream, TcpStream)> = (0..n)
        .map(|_| net::loopback_pair())
        .collect::<io::Result<_>>()?;
    let slots = n.next_power_of_two().max(8);
    let mut ring = Ring::new(Options {
        entries: slots as u32,
        buffers: u16::try_from(slots).unwrap_or(u16::MAX / 2 + 1),
        buffer_size: 64,
        defer_taskrun: false,
    })?;
    for (i, (server, _)) in pairs.iter().enumerate() {
        ring.recv(server.as_fd(), 64, i as u64)?; // Queued in shared memory: no system call.
    }
    let before = ring.counters().enters;
    let submitted = ring.submit()?; // One io_uring_enter for all of them.
    let enters_to_submit = ring.counters().enters - before;
    for (_, client) in &pairs {
        (&*client).write_all(b"x")?;
    }
    let done = collect(&mut ring, n)?;
    let completed = done.iter().filter(|c| c.result == 1).count();
    for c in &done {
        if let Some(bid) = c.selected {
            ring.recycle(bid);
        }
    }
    Ok(Batch {
        receives: n,
        enters_to_submit,
        submitted,
        completed,
    })
}
// ANCHOR_END: batch

/// What [`handed_over`] saw, for the completion way and the readiness way.
#[derive(Debug, Clone)]
pub struct HandedOver {
    /// The receive was submitted, and still in flight, before the peer sent anything.
    pub submitted_before_data: bool,
    /// What the completion handed back in our buffer.
    pub in_our_buffer: Vec<u8>,
    /// The socket's receive queue (`/proc/net/tcp`) when the completion arrived.
    pub kernel_queue_on_completion: Option<u64>,
    /// The same socket's receive queue when `poll(2)` said "readable" (the readiness way).
    pub kernel_queue_on_readiness: Option<u64>,
}

// ANCHOR: handed_over
/// Completion vs readiness, on two connections receiving the same five bytes.
pub fn handed_over() -> io::Result<HandedOver> {
    let mut ring = Ring::new(Options::default())?;
    // The completion way: hand the kernel a buffer first; the data does not exist yet.
    let (server, client) = net::loopback_pair()?;
    ring.recv_into(server.as_fd(), vec![0u8; 64], 1)?;
    ring.submit()?;
    let submitted_before_data = ring.in_flight() == 1;
    (&client).write_all(b"hello")?;
    let done = collect(&mut ring, 1)?;
    let queue_then = proc_tcp::lookup(server.local_addr()?, server.peer_addr()?)?;
    let mut buf = done
        .into_iter()
        .next()
        .and_then(|c| c.buffer.map(|b| (b, c.result)))
        .map(|(mut b, n)| {
            b.truncate(n.max(0) as usize);
            b
        })
        .unwrap_or_default();
    // The readiness way: poll(2) says "readable"; the bytes are still the kernel's.
    let (server2, client2) = net::loopback_pair()?;
    (&client2).write_all(b"hello")?;
    poll_readable(&server2)?;
    let queue_ready = proc_tcp::lookup(server2.local_addr()?, server2.peer_addr()?)?;
    let mut read_back = [0u8; 5];
    (&server2).read_exact(&mut read_back)?; // Only now does the data move: one more call.
    buf.shrink_to_fit();
    Ok(HandedOver {
        submitted_before_data,
        in_our_buffer: buf,
        kernel_queue_on_completion: queue_then.map(|e| e.rx_queue),
        kernel_queue_on_readiness: queue_ready.map(|e| e.rx_queue),
    })
}
// ANCHOR_END: handed_over

/// One bounded `poll(2)` on `stream`, with chapter 7's poll module.
fn poll_readable(stream: &TcpStream) -> io::Result<()> {
    use multiplex_demo::readiness::{Interest, Readiness, Source};
    let mut events = Vec::new();
    let source = Source {
        fd: stream.as_fd(),
        token: 0,
        interest: Interest::READ,
    };
    multiplex_demo::poll::Poll.wait(std::iter::once(source), Some(PATIENCE), &mut events)?;
    match events.is_empty() {
        true => Err(io::Error::new(io::ErrorKind::TimedOut, "never readable")),
        false => Ok(()),
    }
}

/// What [`multishot_accept`] saw.
#[derive(Debug, Clone)]
pub struct MultishotAccept {
    /// Entries submitted (the one accept).
    pub submitted: u64,
    /// Connections accepted from it.
    pub accepted: usize,
    /// Every completion carried `IORING_CQE_F_MORE`: the accept is still armed.
    pub all_more: bool,
}

// ANCHOR: multishot_accept
/// One multishot accept, then `clients` connections: one completion (a new descriptor) each.
pub fn multishot_accept(clients: usize) -> io::Result<MultishotAccept> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut ring = Ring::new(Options::default())?;
    ring.accept_multi(listener.as_fd(), 7)?;
    ring.submit()?;
    let _clients: Vec<TcpStream> = (0..clients)
        .map(|_| TcpStream::connect_timeout(&addr, PATIENCE))
        .collect::<io::Result<_>>()?;
    let done = collect(&mut ring, clients)?;
    let all_more = done.iter().all(|c| c.more);
    let accepted = done
        .iter()
        .filter_map(|c| ring::accepted(c.result).ok()) // Each becomes a TcpStream, then closes.
        .count();
    Ok(MultishotAccept {
        submitted: ring.counters().submitted,
        accepted,
        all_more,
    })
}
// ANCHOR_END: multishot_accept

/// What [`multishot_receive`] saw.
#[derive(Debug, Clone)]
pub struct MultishotReceive {
    /// Entries submitted before the cancel (the one receive).
    pub submitted: u64,
    /// Each completion's `(result, more)`, in order.
    pub completions: Vec<(i32, bool)>,
    /// The last completion, after the cancel: `(result, more)`.
    pub after_cancel: (i32, bool),
}

// ANCHOR: multishot_receive
/// One multishot receive; the peer sends `messages` messages, each after the previous one's
/// completion; then the receive is cancelled.
pub fn multishot_receive(messages: usize) -> io::Result<MultishotReceive> {
    let (server, client) = net::loopback_pair()?;
    let mut ring = Ring::new(Options::default())?;
    ring.recv_multi(server.as_fd(), 1)?;
    ring.submit()?;
    let submitted = ring.counters().submitted;
    let mut completions = Vec::new();
    for i in 0..messages {
        (&client).write_all(&[i as u8; 3])?;
        for c in collect(&mut ring, 1)? {
            completions.push((c.result, c.more));
            if let Some(bid) = c.selected {
                ring.recycle(bid);
            }
        }
    }
    ring.cancel(1, 2)?;
    let done = collect(&mut ring, 2)?; // The receive's last completion and the cancel's own.
    let last = done
        .iter()
        .find(|c| c.user_data == 1)
        .map_or((0, true), |c| (c.result, c.more));
    Ok(MultishotReceive {
        submitted,
        completions,
        after_cancel: last,
    })
}
// ANCHOR_END: multishot_receive

/// What [`provided_buffers`] saw.
#[derive(Debug, Clone)]
pub struct ProvidedBuffers {
    /// Receives in flight on idle connections.
    pub waiting: usize,
    /// Buffers in the pool.
    pub pool: usize,
    /// Pool buffers still free while all those receives wait.
    pub free_while_waiting: usize,
    /// Pool buffers free once one connection has received data (before it is recycled).
    pub free_after_one: usize,
}

// ANCHOR: provided_buffers
/// `n` receives wait on idle connections, sharing a pool of 16 buffers; then one peer sends.
pub fn provided_buffers(n: usize) -> io::Result<ProvidedBuffers> {
    let pairs: Vec<(TcpStream, TcpStream)> = (0..n)
        .map(|_| net::loopback_pair())
        .collect::<io::Result<_>>()?;
    let mut ring = Ring::new(Options {
        entries: n.next_power_of_two().max(8) as u32,
        buffers: 16,
        buffer_size: 4096,
        defer_taskrun: false,
    })?;
    for (i, (server, _)) in pairs.iter().enumerate() {
        ring.recv(server.as_fd(), 4096, i as u64)?;
    }
    ring.submit()?;
    let free_while_waiting = ring.buffers_available();
    (&pairs[0].1).write_all(b"data")?;
    let done = collect(&mut ring, 1)?;
    let free_after_one = ring.buffers_available();
    for c in &done {
        if let Some(bid) = c.selected {
            ring.recycle(bid);
        }
    }
    Ok(ProvidedBuffers {
        waiting: ring.in_flight() + done.len(),
        pool: 16,
        free_while_waiting,
        free_after_one,
    })
}
// ANCHOR_END: provided_buffers

/// What [`close_does_not_cancel`] saw.
#[derive(Debug, Clone)]
pub struct CloseCancel {
    /// The peer's read after our `close(2)`: `Some(0)` for end of stream, `None` if nothing came
    /// within the wait (the connection is still open).
    pub peer_after_close: Option<usize>,
    /// The connection's TCP state (`/proc/net/tcp`, 1 = ESTABLISHED) after our `close(2)`.
    pub state_after_close: Option<u8>,
    /// The receive's result after the cancel (`-ECANCELED`).
    pub result_after_cancel: i32,
    /// Whether the cancelled receive handed our buffer back.
    pub buffer_returned: bool,
    /// The peer's read after the cancel.
    pub peer_after_cancel: Option<usize>,
}

// ANCHOR: close_does_not_cancel
/// A receive is in flight on a connection; we close the descriptor, watch the peer for
/// `wait`, then cancel the receive and watch again.
pub fn close_does_not_cancel(wait: Duration) -> io::Result<CloseCancel> {
    let (server, client) = net::loopback_pair()?;
    let (local, peer) = (server.local_addr()?, server.peer_addr()?);
    let mut ring = Ring::new(Options::default())?;
    ring.recv_into(server.as_fd(), vec![0u8; 64], 1)?;
    ring.submit()?;
    drop(server); // close(2) on our descriptor, with the receive in flight.
    let peer_read = |limit: Duration| -> io::Result<Option<usize>> {
        let until = Instant::now() + limit;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            client.set_read_timeout(Some(left))?;
            match (&client).read(&mut [0u8; 8]) {
                Ok(n) => return Ok(Some(n)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                // The ring's task work can interrupt a blocking read of the same thread
                // (a read with a timeout is not restarted, chapter 4): read again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    };
    let peer_after_close = peer_read(wait)?;
    let state_after_close = proc_tcp::lookup(local, peer)?.map(|e| e.state);
    ring.cancel(1, 2)?;
    let done = collect(&mut ring, 2)?;
    let receive = done.iter().find(|c| c.user_data == 1);
    Ok(CloseCancel {
        peer_after_close,
        state_after_close,
        result_after_cancel: receive.map_or(0, |c| c.result),
        buffer_returned: receive.is_some_and(|c| c.buffer.is_some()),
        peer_after_cancel: peer_read(PATIENCE)?,
    })
}
// ANCHOR_END: close_does_not_cancel
