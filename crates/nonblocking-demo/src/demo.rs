//! The narrated tour that `cargo run -p nonblocking-demo` prints: the course's front door.
//! Every experiment of chapter 4, in about three seconds, on loopback.

use std::io::{self, Read};
use std::time::Duration;

use socklab_support::Narrator;
use socklab_support::cli::bytes;

use crate::connect::{FirstCall, connect_nonblocking};
use crate::{accept, interleave, interrupt, loopback_pair, read, spin, write};

/// Runs every experiment of the chapter, narrating to `n`.
pub fn run(n: &Narrator) -> io::Result<()> {
    n.explain(
        "socklab, chapter 4: blocking vs non-blocking sockets.\n\
         Every line below is a real system call on your kernel, over loopback.",
    );

    n.heading("1. A blocking read parks the thread until data arrives");
    let blocked = read::blocking_read(Duration::from_millis(500))?;
    match blocked.state_while_waiting {
        Some(state) => n.step(
            "reader",
            &format!(
                "read() on an empty socket... thread state '{state}' (S = asleep in the kernel)"
            ),
        ),
        None => n.step(
            "reader",
            "read() on an empty socket... (thread state not shown on this OS)",
        ),
    }
    n.step(
        "reader",
        &format!(
            "read() returned {:?} after {:.0?}, when the writer finally wrote",
            String::from_utf8_lossy(&blocked.got),
            blocked.waited
        ),
    );
    n.explain("While parked, the thread costs no CPU, but it cannot do anything else either.");

    n.heading("2. A non-blocking read returns at once");
    let (err, took) = read::nonblocking_read()?;
    n.step(
        "reader",
        "set_nonblocking(true) sets O_NONBLOCK (std: ioctl(FIONBIO) on Linux)",
    );
    n.step(
        "reader",
        &format!(
            "read() on an empty socket -> Err({:?}) \"{err}\" after {took:.1?}",
            err.kind()
        ),
    );
    n.explain("WouldBlock (EAGAIN) means \"nothing now, try later\". It is not a failure.");

    n.heading("3. Partial writes, and keeping the unsent tail");
    let (mut writer, mut peer) = loopback_pair()?;
    writer.set_nonblocking(true)?;
    let fill = write::fill_until_would_block(&mut writer, 64 * 1024)?;
    n.step(
        "writer",
        &format!(
            "{} write() calls of 64 KiB went through; the kernel took {} in all",
            fill.calls,
            bytes(fill.accepted as u64)
        ),
    );
    match fill.short_write {
        Some((offered, taken)) => n.step(
            "writer",
            &format!("one write() was short: offered {offered} bytes, taken {taken}"),
        ),
        None => n.step(
            "writer",
            "no write() was short this time: the buffers filled on a boundary",
        ),
    }
    n.step(
        "writer",
        "the next write() -> WouldBlock: our send buffer and the peer's receive buffer are full",
    );
    let mut outbox = write::Outbox::new(256 * 1024);
    outbox.push(&[7u8; 256 * 1024])?;
    let mut drained = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    peer.set_read_timeout(Some(Duration::from_secs(10)))?;
    while !outbox.is_empty() || drained < fill.accepted {
        drained += peer.read(&mut buf)?;
        outbox.flush_some(&mut writer)?;
    }
    n.step(
        "writer",
        &format!(
            "as the peer read, the Outbox wrote its 256 KiB tail in order; {} still pending",
            outbox.pending()
        ),
    );
    drop((writer, peer));

    n.heading("4. A non-blocking connect: EINPROGRESS, then writable, then SO_ERROR");
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let report = connect_nonblocking(listener.local_addr()?, Duration::from_secs(5))?;
    n.step(
        "client",
        &format!("connect() -> {}", describe(report.first_call)),
    );
    n.step(
        "client",
        &format!(
            "poll(POLLOUT) said writable; SO_ERROR -> {:?}",
            report.outcome
        ),
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?; // Dropped: closed.
    let refused = connect_nonblocking(closed, Duration::from_secs(5))?;
    n.step(
        "client",
        &format!(
            "to closed port {closed}: connect() -> {}",
            describe(refused.first_call)
        ),
    );
    n.step(
        "client",
        &format!(
            "SO_ERROR -> {:?}",
            refused.outcome.as_ref().map_err(io::Error::kind)
        ),
    );

    n.heading("5. A non-blocking accept");
    let acc = accept::accept_nonblocking()?;
    n.step(
        "server",
        &format!(
            "accept() with nobody waiting -> {:?}",
            acc.empty_queue.kind()
        ),
    );
    n.step(
        "server",
        &format!(
            "accepted socket has O_NONBLOCK: {} ({})",
            acc.accepted_is_nonblocking,
            if acc.accepted_is_nonblocking {
                "inherited from the listener, as on BSD and macOS"
            } else {
                "not inherited on Linux: set it on every accepted socket"
            }
        ),
    );

    n.heading("6. EINTR: a signal interrupts a blocking read");
    let intr = interrupt::interrupted_read()?;
    n.step(
        "reader",
        &format!(
            "read() failed with Interrupted {} time(s); retried each time",
            intr.interruptions
        ),
    );
    n.step(
        "reader",
        &format!("then read {:?}", String::from_utf8_lossy(&intr.got)),
    );
    n.explain("EINTR means the call was cut short before doing anything: retry it.");

    n.heading("7. Spinning on WouldBlock burns a core");
    let cost = spin::spin_vs_block(Duration::from_millis(500))?;
    n.step(
        "spinner",
        &format!(
            "waited {:.0?}: {} read() calls, {:.0?} of CPU time",
            cost.wall, cost.spins, cost.spinning
        ),
    );
    n.step(
        "blocker",
        &format!(
            "waited {:.0?}: 1 read() call, {:.1?} of CPU time",
            cost.wall, cost.blocking
        ),
    );
    n.explain("Chapter 7's select, poll and epoll let one thread wait on many sockets at once.");

    n.heading("8. One thread, several connections, polled in turn");
    let il = interleave::interleave(8, 4 << 20, Duration::from_secs(20))?;
    let intact = il.digests.iter().all(|[sent, got]| sent == got);
    n.step(
        "loop",
        &format!(
            "{} clients echoed {} each through one thread in {} rounds; all intact: {intact}",
            il.peers,
            bytes(il.bytes_each as u64),
            il.rounds
        ),
    );
    n.step(
        "loop",
        &format!(
            "{} visits found nothing to do (WouldBlock)",
            il.would_blocks
        ),
    );

    n.heading(
        "Done. Read chapter 4 of the book; `cargo test -p nonblocking-demo` proves each step.",
    );
    Ok(())
}

fn describe(first: FirstCall) -> &'static str {
    match first {
        FirstCall::InProgress => "Err(EINPROGRESS): the handshake is under way",
        FirstCall::Connected => "Ok: connected within the call",
        FirstCall::Refused => "Err(ECONNREFUSED) within the call",
    }
}
