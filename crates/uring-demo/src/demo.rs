//! The narrated tour that `cargo run -p uring-demo` prints: the probe, each part of the model,
//! and the echo server under load, with every figure counted as it runs.

use std::io::{self, ErrorKind, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use multiplex_demo::load::{self, Load, Stop};
use socklab_support::Narrator;
use socklab_support::cli::bytes;

use crate::model;
use crate::server::{self, Config};

/// Runs every experiment of the chapter, narrating to `n`. Where io_uring is not available,
/// says why and returns `Ok`: there is nothing else to show.
pub fn run(n: &Arc<Narrator>) -> io::Result<()> {
    n.heading("1. Probe first: can this process use io_uring?");
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .map_or("absent (before Linux 6.6)".into(), |s| s.trim().to_string());
    n.step(
        "probe",
        &format!(
            "kernel {}, /proc/sys/kernel/io_uring_disabled = {disabled}",
            release.trim()
        ),
    );
    if let Err(why) = crate::probe::support() {
        n.step("probe", &format!("io_uring is not available here: {why}"));
        n.heading("Nothing more to show here; the chapter's tests skip for the same reason.");
        return Ok(());
    }
    n.step(
        "probe",
        "io_uring_setup(2) works, and the kernel has every operation this chapter uses",
    );

    n.heading("2. One system call, many operations");
    let b = model::batch(64)?;
    n.step(
        "ring",
        &format!(
            "queued {} receives in shared memory, then {} io_uring_enter call(s): the kernel \
             took {} entries; {} completed with their byte",
            b.receives, b.enters_to_submit, b.submitted, b.completed
        ),
    );
    n.explain(
        "Chapter 7 made one recv(2) per socket. Here the requests are written into the\n\
         submission queue, a ring shared with the kernel, and one io_uring_enter hands over all.",
    );

    n.heading("3. Completion, not readiness: the buffer goes first");
    let h = model::handed_over()?;
    let queue = |q: Option<u64>| q.map_or("unknown".into(), |q| format!("{q} bytes"));
    n.step(
        "ring",
        &format!(
            "receive submitted before any data ({}); on completion our buffer held {:?}, \
             and the socket's receive queue held {}",
            if h.submitted_before_data {
                "in flight"
            } else {
                "?"
            },
            String::from_utf8_lossy(&h.in_our_buffer),
            queue(h.kernel_queue_on_completion)
        ),
    );
    n.step(
        "poll",
        &format!(
            "readiness said \"readable\" while the receive queue held {}: a read(2) must follow",
            queue(h.kernel_queue_on_readiness)
        ),
    );

    n.heading("4. Multishot: one submission, many completions");
    let a = model::multishot_accept(5)?;
    n.step(
        "ring",
        &format!(
            "{} accept submitted, {} connections accepted, every completion flagged MORE: {}",
            a.submitted, a.accepted, a.all_more
        ),
    );
    let r = model::multishot_receive(4)?;
    n.step(
        "ring",
        &format!(
            "{} receive submitted, {} completions {:?}; after the cancel: {:?} (-ECANCELED = {})",
            r.submitted,
            r.completions.len(),
            r.completions,
            r.after_cancel,
            -libc::ECANCELED
        ),
    );

    n.heading("5. Provided buffers: an idle connection holds no buffer");
    let p = model::provided_buffers(200)?;
    n.step(
        "ring",
        &format!(
            "{} receives waiting, pool of {}: {} free while they wait, {} once one peer sent",
            p.waiting, p.pool, p.free_while_waiting, p.free_after_one
        ),
    );
    n.explain(
        "A receive into our own buffer would lend the kernel that buffer for as long as the\n\
         client stays silent; with a provided buffer ring the kernel picks one when data comes.",
    );

    n.heading("6. Close is not cancel");
    let c = model::close_does_not_cancel(Duration::from_millis(200))?;
    n.step(
        "ring",
        &format!(
            "closed our descriptor with a receive in flight: the peer's read saw {} in 200ms, \
             TCP state {:?} (1 = ESTABLISHED)",
            c.peer_after_close
                .map_or("nothing".into(), |n| format!("{n} bytes")),
            c.state_after_close
        ),
    );
    n.step(
        "ring",
        &format!(
            "cancelled the receive: result {}, buffer handed back: {}; the peer's read -> {:?}",
            c.result_after_cancel, c.buffer_returned, c.peer_after_cancel
        ),
    );

    n.heading("7. The echo server: system calls per request");
    let (addr, stats) = server::spawn(
        server::listen(([127, 0, 0, 1], 0).into())?,
        Config::default(),
        Arc::new(Narrator::silent()),
    )?;
    let report = load::run(
        addr,
        Load {
            connections: 100,
            message_size: 64,
            stop: Stop::Requests(100),
        },
    )?;
    let frames = stats.frames.load(Ordering::Relaxed);
    let enters = stats.enters.load(Ordering::Relaxed);
    n.step(
        "load",
        &format!(
            "100 connections x 100 requests: {:.0} req/s, p99 {:.0?}, errors {}",
            report.requests_per_sec, report.p99, report.errors
        ),
    );
    n.step(
        "server",
        &format!(
            "{frames} frames echoed with {enters} io_uring_enter calls ({:.2} per request), \
             {} SQEs, {} CQEs",
            enters as f64 / frames.max(1) as f64,
            stats.submitted.load(Ordering::Relaxed),
            stats.completions.load(Ordering::Relaxed)
        ),
    );

    n.heading("8. Back-pressure: a client that sends and never reads");
    let cap = 256 * 1024;
    let (addr, stats) = server::spawn(
        server::listen(([127, 0, 0, 1], 0).into())?,
        Config {
            outbox_cap: cap,
            idle_timeout: Duration::from_millis(500),
            ..Config::default()
        },
        Arc::clone(n),
    )?;
    let mut hog = TcpStream::connect(addr)?;
    hog.set_write_timeout(Some(Duration::from_millis(300)))?; // Ends the hog once it blocks.
    let frame = [&(64u32 * 1024).to_be_bytes()[..], &[7u8; 64 * 1024]].concat();
    let mut sent = 0usize;
    while sent < 64 << 20 && io::Write::write_all(&mut hog, &frame).is_ok() {
        sent += frame.len();
    }
    n.step(
        "hog",
        &format!(
            "wrote {} of echo requests without reading, then its writes blocked",
            bytes(sent as u64)
        ),
    );
    n.step(
        "server",
        &format!(
            "held back its receive {} time(s); most it ever held for the hog: {} (outbox cap {})",
            stats.pauses.load(Ordering::Relaxed),
            bytes(stats.peak_buffered.load(Ordering::Relaxed) as u64),
            bytes(cap as u64)
        ),
    );
    // The idle deadline ends the hog: its read sees the close (after its unread echoes).
    hog.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut drained = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match hog.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => drained += k as u64,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    n.step(
        "hog",
        &format!(
            "read {} of echoes before the server closed it",
            bytes(drained)
        ),
    );
    n.heading(
        "Done. Chapter 11 of the book explains each step; `cargo test -p uring-demo` proves each claim.",
    );
    Ok(())
}
