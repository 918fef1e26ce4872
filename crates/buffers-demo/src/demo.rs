//! The narrated tour that `cargo run -p buffers-demo` prints: every experiment of chapter 3 in
//! a few seconds, with this machine's own numbers.

use std::io;

use socklab_support::Narrator;
use socklab_support::cli::bytes;

use crate::{busy, inflight, inherit, sizes, sweep};

/// Runs every experiment of the chapter, narrating to `n`.
pub fn run(n: &Narrator) -> io::Result<()> {
    n.heading("1. Defaults and limits: far more than 8 KB");
    let d = sizes::defaults()?;
    n.step(
        "tcp",
        &format!(
            "fresh socket: SO_RCVBUF {}, SO_SNDBUF {}",
            bytes(d.tcp_rcvbuf as u64),
            bytes(d.tcp_sndbuf as u64)
        ),
    );
    n.step(
        "udp",
        &format!(
            "fresh socket: SO_RCVBUF {}, SO_SNDBUF {}",
            bytes(d.udp_rcvbuf as u64),
            bytes(d.udp_sndbuf as u64)
        ),
    );
    match sizes::limits() {
        Some(l) => {
            n.step(
                "kernel",
                &format!(
                    "net.core.rmem_default {} rmem_max {}",
                    l.rmem_default, l.rmem_max
                ),
            );
            n.step(
                "kernel",
                &format!(
                    "net.core.wmem_default {} wmem_max {}",
                    l.wmem_default, l.wmem_max
                ),
            );
            n.step(
                "kernel",
                &format!(
                    "net.ipv4.tcp_rmem {:?} (min, default, autotuning max)",
                    l.tcp_rmem
                ),
            );
            n.step("kernel", &format!("net.ipv4.tcp_wmem {:?}", l.tcp_wmem));
            n.explain(&format!(
                "Myth: \"Linux's default maximum socket buffer is 8 KB\". On this machine setsockopt may\n\
                 ask for up to {} and TCP autotuning may grow a receive buffer to {}.",
                bytes(l.rmem_max as u64),
                bytes(l.tcp_rmem[2] as u64)
            ));
        }
        None => n.step(
            "kernel",
            "no /proc/sys/net on this system; see `sysctl net.inet.tcp` on macOS",
        ),
    }

    n.heading("2. What you set is not what you get");
    for ask in [1usize, 16 * 1024, 64 * 1024] {
        n.step(
            "socket",
            &format!(
                "setsockopt(SO_RCVBUF, {ask}) -> getsockopt says {}",
                sizes::set_then_get_rcvbuf(ask)?
            ),
        );
    }
    if let Some(l) = sizes::limits() {
        let ask = l.rmem_max * 4;
        n.step(
            "socket",
            &format!(
                "setsockopt(SO_RCVBUF, {ask}) -> {} (capped at rmem_max, then doubled)",
                sizes::set_then_get_rcvbuf(ask)?
            ),
        );
        n.explain(
            "Linux doubles the request to leave room for its own bookkeeping, caps it at\n\
                   rmem_max, and keeps a floor of a couple of kilobytes.",
        );
    }

    n.heading("3. Inheritance and autotuning");
    let (listener, accepted) = inherit::inherited(32 * 1024)?;
    n.step(
        "server",
        &format!("listener SO_RCVBUF {listener}; accepted socket: {accepted} (inherited)"),
    );
    let (before, after) = inherit::rcvbuf_during_transfer(None, 64 << 20)?;
    n.step(
        "receiver",
        &format!(
            "untouched: SO_RCVBUF {} before 64 MiB, {} after (autotuning)",
            bytes(before as u64),
            bytes(after as u64)
        ),
    );
    let (before, after) = inherit::rcvbuf_during_transfer(Some(32 * 1024), 64 << 20)?;
    n.step(
        "receiver",
        &format!(
            "set to 32 KiB: {} before (doubled), {} after (locked)",
            bytes(before as u64),
            bytes(after as u64)
        ),
    );

    n.heading("4. In flight with nobody reading");
    for buffer in [Some(16 * 1024), Some(256 * 1024), None] {
        let f = inflight::in_flight(buffer)?;
        let split = match (f.sender_queue, f.receiver_queue) {
            (Some(s), Some(r)) => format!(
                "; sender: {} unacknowledged, receiver: {} unread",
                bytes(s),
                bytes(r)
            ),
            _ => String::new(),
        };
        n.step(
            "writer",
            &format!(
                "buffers {}: {} accepted before WouldBlock{split}",
                sweep::label(buffer),
                bytes(f.accepted as u64)
            ),
        );
    }

    n.heading("5. Throughput against buffer size and write size");
    let buffers = [
        Some(16 * 1024),
        Some(64 * 1024),
        Some(256 * 1024),
        Some(1 << 20),
        None,
    ];
    let points = sweep::sweep(&buffers, &[1024, 128 * 1024], 32 << 20, 1)?;
    for line in sweep::table(&points).lines() {
        n.explain(line);
    }
    n.explain(
        "One run on a shared machine is noisy: `cargo run --release -p buffers-demo -- sweep\n\
         --svg chart.svg` takes the median of five rounds and draws the chart.",
    );
    for (buffer, write_size) in [
        (Some(16 * 1024), 128 * 1024),
        (None, 128 * 1024),
        (None, 1024),
    ] {
        match busy::transfer(buffer, write_size, 32 << 20, None)? {
            Some(b) => n.step(
                "threads",
                &format!(
                    "buffers {}, {write_size} B writes: over {:.0?}, sender busy {:.0?}, \
                     receiver busy {:.0?}: {:.0}% of the time between them",
                    sweep::label(buffer),
                    b.elapsed,
                    b.sender,
                    b.receiver,
                    100.0 * b.busy_fraction()
                ),
            ),
            None => n.step("threads", "this kernel publishes no busy times; skipped"),
        }
    }
    n.explain(
        "Busy means running, or runnable and waiting for a processor. Far below 100% would\n\
         mean both threads sat waiting, as over a real path whose buffer is smaller than its\n\
         bandwidth-delay product. On loopback nothing waits for the network: buffer and\n\
         write sizes change what the processors do per byte, not how long anything waits.",
    );
    n.heading("Done. Chapter 3 of the book explains each step; `cargo test -p buffers-demo` proves each claim.");
    Ok(())
}
