//! Chapter 3's bandwidth-delay product on the wire lab, where the window can be read off the
//! wire.
//!
//! On loopback a transfer is bound by the processors, whatever the buffers. On the wire lab
//! (`socklab_wire`: two network namespaces joined by a link run in user space, here with a
//! round trip of `40 ms` or more and a rate of `100 Mbit/s`), the chapter's own bulk pair
//! ([`bulk::send`] on host A, [`bulk::listen`]'s sink on host B) meets a real path: with a fixed
//! `SO_RCVBUF`, the window the receiver advertises (the `win` field of its ACKs, shifted left
//! by the window scale of its SYN-ACK) caps the throughput at one window per round trip; left
//! alone, Linux grows the buffer (autotuning, `tcp_rmem` in tcp(7)) until the window covers
//! the path's bandwidth-delay product.
//!
//! - [`link`]: the path; [`measure`]: one transfer over it, and the largest window on the wire.
//!
//! `cargo run -p buffers-demo -- demo --wire` runs a few transfers with the narration and each
//! one's first packets and largest window; the tests in `tests/bdp.rs` sweep the buffer sizes
//! and round trips with the same [`measure`] and draw the chapter's chart.

use std::io;
use std::path::Path;
use std::time::Duration;

use socket2::SockRef;
use socklab_support::Narrator;
use socklab_support::cli::bytes;
use socklab_wire::demo::Shown;
use socklab_wire::{Direction, Lab, LinkConfig, Packet, Trace};

use crate::bulk::{self, Amount};

/// The link's rate, each way.
pub const RATE_BPS: u64 = 100_000_000;

/// One measured transfer.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    /// The link's round trip, without queueing.
    pub rtt: Duration,
    /// The buffer size requested on both sides; `None`: untouched, autotuned.
    pub buffer: Option<usize>,
    /// The receiver's `SO_RCVBUF` as the kernel granted it (read back before the transfer).
    pub granted: usize,
    /// The window scale the receiver announced in its SYN-ACK: its `win` fields count in
    /// units of `2^scale` bytes.
    pub scale: u8,
    /// The largest window the receiver advertised, in bytes (its ACKs' window field, scaled).
    pub window: u64,
    /// Bytes the sink confirmed, per second from the first write to its confirmation.
    pub bytes_per_sec: f64,
}

impl Point {
    /// What one window per round trip allows: the throughput cap, bytes per second.
    pub fn window_bound(&self) -> f64 {
        self.window as f64 / self.rtt.as_secs_f64()
    }
}

/// The path's bandwidth-delay product at round trip `rtt`: the bytes in flight that keep a
/// link of [`RATE_BPS`] busy.
pub fn bdp(rtt: Duration) -> f64 {
    RATE_BPS as f64 / 8.0 * rtt.as_secs_f64()
}

// ANCHOR: measure
/// The path: a round trip of `rtt` (half of it each way) and a rate of [`RATE_BPS`].
pub fn link(rtt: Duration) -> LinkConfig {
    LinkConfig {
        delay: rtt / 2,
        rate_bps: Some(RATE_BPS),
        // Room for a bandwidth-delay product or two: the queue of a router on the path.
        queue_bytes: 1 << 20,
        ..LinkConfig::default()
    }
}

/// Runs the chapter's bulk pair for `writing`, from host A to a sink on B's `port`, with both
/// sides' buffers set to `buffer` (or left alone), and reads the receiver's largest
/// advertised window from its ACKs on the wire. Returns the measurement and the transfer's
/// packets.
pub fn measure(
    lab: &Lab,
    port: u16,
    buffer: Option<usize>,
    writing: Duration,
) -> io::Result<(Point, Trace)> {
    let (a, b) = (lab.a(), lab.b());
    // The sink on B, its buffers set on the listener (accepted sockets inherit them).
    let listener = b.run(|| bulk::listen(b.addr(port), buffer))??;
    let granted = SockRef::from(&listener).recv_buffer_size()?;
    bulk::spawn_sink(listener)?;
    let sent = a.run(|| bulk::send(b.addr(port), 128 << 10, Amount::Time(writing), buffer))??;
    // The window field counts in units of 2^wscale, the scale B announced in its SYN-ACK.
    let trace = lab.trace().port(port);
    let scale = trace
        .tcp()
        .find(|(_, t)| t.is_syn_ack())
        .and_then(|(_, t)| t.window_scale())
        .ok_or_else(|| io::Error::other("no window scale in the SYN-ACK"))?;
    let window = trace
        .tcp()
        .filter(|(p, t)| p.direction == Direction::BToA && !t.flags.syn)
        .map(|(_, t)| u64::from(t.window) << scale)
        .max()
        .ok_or_else(|| io::Error::other("no ACK from the sink"))?;
    let point = Point {
        rtt: lab.link().config().delay * 2,
        buffer,
        granted,
        scale,
        window,
        bytes_per_sec: sent.bytes_per_sec(),
    };
    Ok((point, trace))
}
// ANCHOR_END: measure

/// The index, in `trace`, of the first of the receiver's segments that advertised the largest
/// window.
pub fn largest_window_at(trace: &Trace) -> Option<usize> {
    let from_b = |p: &Packet| {
        p.tcp()
            .filter(|t| p.direction == Direction::BToA && !t.flags.syn)
            .map(|t| t.window)
    };
    let largest = trace.iter().filter_map(from_b).max()?;
    trace.iter().position(|p| from_b(p) == Some(largest))
}

/// The round trip of the demo's path.
const RTT: Duration = Duration::from_millis(40);

/// How long each of the demo's transfers writes: enough round trips for autotuning to grow
/// the window, short enough for three transfers in two seconds.
const WRITING: Duration = Duration::from_millis(500);

/// How many of a transfer's first packets the demo prints: the handshake and the first data.
const FIRST: usize = 5;

/// `buffers-demo demo --wire`: three transfers on one lab (ports 5001 to 5003), with
/// `SO_RCVBUF` fixed at `16 KiB` and `64 KiB`, then untouched, each narrated and followed by
/// its first packets and the ACK with the largest window; with `pcap`, the packets shown are
/// also saved there (even when a transfer fails, to see why). Without a lab, the error says
/// why and how to allow it.
pub fn demo(n: &Narrator, pcap: Option<&Path>) -> io::Result<()> {
    socklab_wire::demo::run(n, link(RTT), pcap, |lab, shown| run_on(n, lab, shown))
}

/// Megabits per second.
fn mbit(bytes_per_sec: f64) -> String {
    format!("{:.1} Mbit/s", bytes_per_sec * 8.0 / 1e6)
}

fn run_on(n: &Narrator, lab: &Lab, shown: &mut Shown) -> io::Result<()> {
    n.explain(&format!(
        "The wire lab: host A (10.77.0.1) sends, a sink on host B (10.77.0.2) reads, over a\n\
         link of {} Mbit/s with a round trip of {RTT:?}: a bandwidth-delay product of {}.\n\
         Under each transfer, its first packets and B's ACK with the largest window, in\n\
         tcpdump's notation (win counts in units of 2^wscale, the scale of B's SYN-ACK).",
        RATE_BPS / 1_000_000,
        bytes(bdp(RTT) as u64)
    ));
    let runs = [
        (1, 5001, Some(16 << 10)),
        (2, 5002, Some(64 << 10)),
        (3, 5003, None),
    ];
    for (section, port, buffer) in runs {
        let title = match buffer {
            Some(size) => format!("SO_RCVBUF = SO_SNDBUF = {} KiB on both sides", size >> 10),
            None => "buffers untouched: autotuned".to_string(),
        };
        n.heading(&format!("{section}. {title}, for {WRITING:?}"));
        let (p, trace) = measure(lab, port, buffer, WRITING)?;
        n.step(
            "host B",
            &format!(
                "the sink's SO_RCVBUF, as granted: {}",
                bytes(p.granted as u64)
            ),
        );
        n.step(
            "host A",
            &format!("sent for {WRITING:?}: {}", mbit(p.bytes_per_sec)),
        );
        n.step(
            "wire",
            &format!(
                "the largest window B advertised: {} (win << {}); one window per round \
                 trip allows {}",
                bytes(p.window),
                p.scale,
                mbit(p.window_bound())
            ),
        );
        let largest = largest_window_at(&trace);
        shown.some(n, &trace, |i, _| i < FIRST || Some(i) == largest);
        match buffer {
            Some(_) => n.explain(
                "The window never exceeds the buffer granted, and the transfer goes no faster\n\
                 than one window per round trip: the buffer, not the link, sets the pace.",
            ),
            None => n.explain(
                "Left alone, the receiver's buffer grows (autotuning) until the window covers\n\
                 the bandwidth-delay product: the link, not the window, sets the pace.",
            ),
        }
    }
    Ok(())
}
