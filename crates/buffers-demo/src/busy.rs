//! What holds a loopback transfer back: the window, or the processors?
//!
//! Over a real path, one TCP connection has at most one window of unacknowledged data in
//! flight per round trip, so its throughput is at most `window / RTT`: a transfer whose buffer
//! is smaller than the bandwidth-delay product spends part of every round trip with nothing
//! to send, both ends asleep while data and acknowledgements travel. That is what "window
//! bound" means, and it can be seen without a stopwatch: in the threads' own accounts.
//!
//! Linux keeps, for every thread, how long it has run on a processor and how long it has
//! waited, runnable, for one (`/proc/thread-self/schedstat`: the first two numbers, in
//! nanoseconds; the kernel's `Documentation/scheduler/sched-stats.rst`). A thread that is
//! doing neither is asleep, blocked in `read` or `write`. [`transfer`] runs one bulk transfer
//! with a sender and a receiver thread and reports how long each was *busy* (running or
//! runnable) against how long the transfer took. If their busy times add up to the whole
//! transfer, at no point were both waiting for the network: the transfer is bound by the
//! processors, by copies and system calls, not by the window.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::inherit::listener_with_rcvbuf;

/// One transfer, with the time each thread was busy.
#[derive(Debug, Clone, Copy)]
pub struct Busy {
    /// Bytes the receiver read.
    pub bytes: u64,
    /// From the sender's first write to the receiver's end of stream.
    pub elapsed: Duration,
    /// Time the sending thread ran or waited to run, during its writes.
    pub sender: Duration,
    /// Time the receiving thread ran or waited to run, during its reads.
    pub receiver: Duration,
}

impl Busy {
    /// Both threads' busy time as a fraction of the transfer's duration: at least 1 when one
    /// of them could have been busy at every moment, far below 1 when both waited.
    pub fn busy_fraction(&self) -> f64 {
        (self.sender + self.receiver).as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The sender's busy time alone, as a fraction of the transfer's duration.
    pub fn sender_fraction(&self) -> f64 {
        self.sender.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// This thread's busy time so far: time on a processor plus time waiting, runnable, for one.
/// `None` where the kernel does not publish it (not Linux, or no `schedstat`).
pub fn thread_busy() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    let (on_cpu, waiting) = (fields.next()??, fields.next()??);
    Some(Duration::from_nanos(on_cpu + waiting))
}

// ANCHOR: transfer
/// Moves `bytes` over loopback in `write_size` writes, with both buffers set to `buffer` (or
/// left to autotuning), and measures each thread's busy time. `None` where the kernel does not
/// publish busy times. `read_pause` makes the receiver sleep after every read: a stand-in for
/// a receiver that is not keeping up, so the measurement can be seen to notice waiting.
pub fn transfer(
    buffer: Option<usize>,
    write_size: usize,
    bytes: u64,
    read_pause: Option<Duration>,
) -> io::Result<Option<Busy>> {
    if thread_busy().is_none() {
        return Ok(None);
    }
    let listener = listener_with_rcvbuf(buffer)?; // Inherited by the accepted receiver.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(size) = buffer {
        socket.set_send_buffer_size(size)?;
        socket.set_recv_buffer_size(size)?;
    }
    socket.connect(&listener.local_addr()?.into())?;
    let mut sender: TcpStream = socket.into();
    let (mut receiver, _) = listener.accept()?;
    receiver.set_read_timeout(Some(Duration::from_secs(30)))?;
    sender.set_write_timeout(Some(Duration::from_secs(30)))?;

    let started = Instant::now();
    let reading = thread::spawn(move || -> io::Result<(u64, Duration, Instant)> {
        let before = thread_busy().unwrap_or_default();
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0u64;
        loop {
            match receiver.read(&mut buf)? {
                0 => break, // The sender's FIN: everything has arrived.
                n => got += n as u64,
            }
            if let Some(pause) = read_pause {
                thread::sleep(pause);
            }
        }
        let busy = thread_busy().unwrap_or_default().saturating_sub(before);
        Ok((got, busy, Instant::now()))
    });
    let before = thread_busy().unwrap_or_default();
    let block = vec![0x5au8; write_size.max(1)];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        sender.write_all(&block[..n])?;
        left -= n as u64;
    }
    sender.shutdown(Shutdown::Write)?;
    let sender_busy = thread_busy().unwrap_or_default().saturating_sub(before);
    let (got, receiver_busy, ended) = reading
        .join()
        .map_err(|_| io::Error::other("the receiver panicked"))??;
    Ok(Some(Busy {
        bytes: got,
        elapsed: ended.duration_since(started),
        sender: sender_busy,
        receiver: receiver_busy,
    }))
}
// ANCHOR_END: transfer
