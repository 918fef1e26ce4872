//! The narrated tour that `cargo run -p timeouts-demo` prints: every experiment of chapter 6
//! in about four seconds, on loopback.

use std::io::Write;
use std::thread;
use std::time::Duration;

use socklab_support::Narrator;
use socklab_support::cli::bytes;

use crate::keepalive::{self, Heartbeat};
use crate::{connect, deadline, io, is_timeout};

/// Runs every experiment of the chapter, narrating to `n`.
pub fn run(n: &Narrator) -> std::io::Result<()> {
    n.heading("1. Connect timeouts: a SYN nobody answers, and a port nobody owns");
    let full = connect::full_accept_queue()?;
    let addr = full.listener.local_addr()?;
    n.step(
        "server",
        &format!(
            "listen(0) on {addr}, never accept(); {} connection(s) fill the queue",
            full.queued.len()
        ),
    );
    let (result, took) = connect::timed_connect(addr, Duration::from_millis(500));
    n.step(
        "client",
        &format!(
            "connect_timeout(500ms) -> {} after {took:.0?}",
            connect::describe(&result)
        ),
    );
    n.explain(
        "The kernel dropped our SYN because the accept queue was full: as if the host were gone.",
    );
    let (result, took) =
        connect::timed_connect(connect::closed_port()?, Duration::from_millis(500));
    n.step(
        "client",
        &format!(
            "to a closed port -> {} after {took:.1?}",
            connect::describe(&result)
        ),
    );

    n.heading("2. Read timeout (SO_RCVTIMEO)");
    let (err, took) = io::read_timeout(Duration::from_millis(300))?;
    n.step(
        "reader",
        &format!(
            "read() from a silent peer, timeout 300ms -> {:?} after {took:.0?}",
            err.kind()
        ),
    );
    n.explain("On Unix a read timeout is EAGAIN, which Rust calls WouldBlock, not TimedOut.");
    let (ours, _peer) = io::pair()?;
    n.step(
        "reader",
        &format!(
            "set_read_timeout(Some(0s)) -> {:?}",
            ours.set_read_timeout(Some(Duration::ZERO))
                .map_err(|e| e.kind())
        ),
    );
    n.explain(
        "Refused: the kernel would read a zero timeout as \"wait forever\". Use None for that.",
    );

    n.heading("3. Write timeout (SO_SNDTIMEO)");
    let w = io::write_timeout(Duration::from_millis(300))?;
    n.step(
        "writer",
        &format!(
            "to a peer that never reads: {} got out, then {:?} after waiting {:.0?}",
            bytes(w.written as u64),
            w.error.kind(),
            w.last_wait
        ),
    );

    n.heading("4. A timeout limits one call, not the whole request (slowloris)");
    let (per_call, with_deadline) = deadline::slowloris_experiment(
        Duration::from_millis(50),
        Duration::from_millis(200),
        Duration::from_millis(1500),
        Duration::from_millis(500),
    )?;
    n.step(
        "reader A",
        &format!(
            "per-read timeout 200ms, peer drips a byte every 50ms: after {:.1?}, {} bytes, still waiting: {}",
            per_call.elapsed,
            per_call.bytes,
            matches!(per_call.outcome, Ok(false))
        ),
    );
    n.step(
        "reader B",
        &format!(
            "deadline 500ms for the whole request: gave up after {:.0?} with {:?}",
            with_deadline.elapsed,
            with_deadline.outcome.as_ref().map_err(|e| e.kind())
        ),
    );
    n.explain(
        "Reader A would wait as long as the attacker likes. Reader B recomputes the time\n\
               left before each read, so the request ends on time.",
    );

    n.heading("5. Dead peers: keepalive, TCP_USER_TIMEOUT, heartbeats");
    let (ours, _peer) = io::pair()?;
    let before = keepalive::keepalive_of(&ours)?;
    n.step("socket", &format!("keepalive by default: {before:?}"));
    if let Some((idle, intvl, probes)) = keepalive::system_keepalive_defaults() {
        n.step(
            "kernel",
            &format!(
                "sysctl defaults: idle {}s, interval {}s, {probes} probes: a dead peer is noticed after {}s",
                idle.as_secs(),
                intvl.as_secs(),
                (idle + intvl * probes).as_secs()
            ),
        );
    }
    keepalive::enable_keepalive(&ours, Duration::from_secs(10), Duration::from_secs(2), 3)?;
    let after = keepalive::keepalive_of(&ours)?;
    n.step(
        "socket",
        &format!(
            "after enable_keepalive(10s, 2s, 3): {after:?}: detection in {:?}",
            after.detection_time()
        ),
    );
    #[cfg(target_os = "linux")]
    n.step(
        "socket",
        &format!(
            "TCP_USER_TIMEOUT set to 5s, reads back {:?}",
            keepalive::set_user_timeout(&ours, Duration::from_secs(5))?
        ),
    );
    let (mut watcher, mut hung) = io::pair()?;
    let beats = thread::spawn(move || {
        for _ in 0..3 {
            let _ = hung.write_all(b"\x01");
            thread::sleep(Duration::from_millis(50));
        }
        hung // Still open: the kernel answers probes; the application has stopped.
    });
    let hb = Heartbeat {
        interval: Duration::from_millis(100),
        misses: 3,
    };
    let (got, silent) = hb.watch(&mut watcher)?;
    let _hung = beats
        .join()
        .map_err(|_| std::io::Error::other("peer thread panicked"))?;
    n.step(
        "watcher",
        &format!(
            "{got} beats, then silence; declared dead after {silent:.0?} (3 missed 100ms beats)"
        ),
    );
    n.explain("Keepalive would never fire here: the peer's kernel is alive and answers it.");

    n.heading("6. UDP receives time out the same way");
    let (err, took) = io::udp_read_timeout(Duration::from_millis(200))?;
    n.step(
        "reader",
        &format!(
            "recv_from() with a 200ms timeout -> {:?} after {took:.0?} (timeout: {})",
            err.kind(),
            is_timeout(&err)
        ),
    );
    n.explain("Chapter 2's retrying client is built on exactly this: one timeout per try.");
    n.heading(
        "Done. Chapter 6 of the book explains each step; `cargo test -p timeouts-demo` proves it.",
    );
    Ok(())
}
