//! Chapter 1's experiments on the wire lab, where the segments themselves can be seen.
//!
//! On loopback the handshake takes microseconds, the MTU is 64 KiB and no segment can be
//! seen. On the wire lab (`socklab_wire`: two network namespaces joined by a link run in user
//! space, with an MTU of `1500` bytes like Ethernet's, and a delay each way) the link records
//! every segment, and the lab's clock says when each call returned:
//!
//! - [`handshake`]: the three segments of `connect(2)`, the options the SYNs carry (the
//!   MSS, the window scale), and when `connect` and `accept(2)` return against them;
//! - [`one_big_write`]: one `write(2)` of `100 KB` leaving as segments no larger than the
//!   MSS: TCP cuts the byte stream to fit the path, whatever the size of the write;
//! - [`small_writes`]: several small writes leaving as fewer segments than writes (Nagle's
//!   algorithm, tcp(7)), or one segment each with `TCP_NODELAY`.
//!
//! `cargo run -p tcp-demo -- demo --wire` runs them with the narration and each one's
//! packets; the tests in `tests/wire.rs` assert on the same packets. Host A (`10.77.0.1`) is
//! the client, host B (`10.77.0.2`) the server.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use socklab_support::Narrator;
use socklab_wire::demo::Shown;
use socklab_wire::lab::STEP_TIMEOUT;
use socklab_wire::{Direction, Lab, LinkConfig, Packet, Tcp, Trace};

/// The demo's link: `20 ms` each way (a round trip of `40 ms`, long enough to tell the
/// handshake's segments apart on the lab's clock), and the default MTU of `1500` bytes.
pub fn link() -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(20),
        ..LinkConfig::default()
    }
}

/// IPv4 and TCP headers without options: what the MSS leaves out of the MTU.
pub const IPV4_TCP_HEADERS: u16 = 20 + 20;

/// What the handshake experiment saw, on the lab's clock (the clock of the packets' times).
#[derive(Debug)]
pub struct Handshake {
    /// When A called `connect`.
    pub called: Duration,
    /// When A's `connect` returned.
    pub connected: Duration,
    /// When B's `accept` returned.
    pub accepted: Duration,
    /// The handshake's packets.
    pub trace: Trace,
}

// ANCHOR: handshake
/// A connects to a listener on B, while a thread on B waits in `accept`; notes on the lab's
/// clock when `connect` was called, when it returned and when `accept` returned, and returns
/// that with the packets once the handshake's last segment has reached the link.
pub fn handshake(lab: &Lab, port: u16) -> io::Result<Handshake> {
    let listener = lab.listen(port)?;
    let clock = lab.link().clone();
    let server = std::thread::spawn(move || -> io::Result<(TcpStream, Duration)> {
        let stream = socklab_wire::lab::accept(&listener)?;
        Ok((stream, clock.now()))
    });
    let to = lab.b().addr(port);
    // The client's socket is made on a thread inside host A, so it is A's.
    let (called, client, connected) = lab.a().run(|| {
        let called = lab.now();
        let client = TcpStream::connect_timeout(&to, STEP_TIMEOUT);
        (called, client, lab.now())
    })?;
    let _client = client?;
    let (_server, accepted) = server
        .join()
        .map_err(|_| io::Error::other("the accepting thread panicked"))??;
    let trace = lab.wait_for(port, "the handshake's ACK", |p, t| {
        p.direction == Direction::AToB && !t.flags.syn && t.flags.ack
    })?;
    Ok(Handshake {
        called,
        connected,
        accepted,
        trace,
    })
}
// ANCHOR_END: handshake

/// What one big write did.
#[derive(Debug)]
pub struct BigWrite {
    /// What the one `write` call returned: the bytes it took.
    pub written: usize,
    /// The connection's packets, up to B's ACK of the last byte.
    pub trace: Trace,
}

// ANCHOR: one_big_write
/// A makes *one* `write` call of `len` bytes to B, which reads them all; returns what the
/// call took and the packets once B has acknowledged the last byte.
pub fn one_big_write(lab: &Lab, port: u16, len: usize) -> io::Result<BigWrite> {
    let (mut client, server) = lab.connect(port)?;
    let reader = std::thread::spawn(move || -> io::Result<TcpStream> {
        let mut got = vec![0u8; len];
        (&server).read_exact(&mut got)?;
        Ok(server) // Kept open: its close would add a FIN to the trace.
    });
    // One call. A blocking socket waits for room in its send buffer until it has taken
    // everything; the kernel then cuts the bytes into segments that fit the path.
    let written = client.write(&vec![0x5a; len])?;
    let _server = reader
        .join()
        .map_err(|_| io::Error::other("the reading thread panicked"))??;
    let last = written as u32 + 1; // The SYN is byte 0: data bytes are 1 to `written`.
    let trace = lab.wait_for(port, "B's ACK of the last byte", |p, t| {
        p.direction == Direction::BToA && t.ack == Some(last)
    })?;
    Ok(BigWrite { written, trace })
}
// ANCHOR_END: one_big_write

// ANCHOR: small_writes
/// A makes `writes` calls of `10` bytes each, one right after the other, with `TCP_NODELAY`
/// set to `nodelay`; B reads them all. Returns the packets once B has acknowledged the last
/// byte.
pub fn small_writes(lab: &Lab, port: u16, writes: usize, nodelay: bool) -> io::Result<Trace> {
    let (mut client, mut server) = lab.connect(port)?;
    client.set_nodelay(nodelay)?; // setsockopt(TCP_NODELAY): Nagle's algorithm off.
    for _ in 0..writes {
        client.write_all(&[b'x'; 10])?;
    }
    server.read_exact(&mut vec![0u8; writes * 10])?;
    let last = (writes * 10) as u32 + 1;
    lab.wait_for(port, "B's ACK of the last byte", |p, t| {
        p.direction == Direction::BToA && t.ack == Some(last)
    })
}
// ANCHOR_END: small_writes

/// The payload lengths of the data segments A sent, in order.
pub fn data_from_a(trace: &Trace) -> Vec<usize> {
    trace
        .tcp()
        .filter(|(p, t)| p.direction == Direction::AToB && t.payload_len > 0)
        .map(|(_, t)| t.payload_len)
        .collect()
}

/// The first three segments: the SYN, the SYN-ACK and the ACK, if they are there.
pub fn handshake_segments(trace: &Trace) -> Option<[(&Packet, &Tcp); 3]> {
    let mut segments = trace.tcp();
    Some([segments.next()?, segments.next()?, segments.next()?])
}

/// A time on the lab's clock, in milliseconds.
fn ms(t: Duration) -> String {
    format!("{:.1} ms", t.as_secs_f64() * 1000.0)
}

/// `tcp-demo demo --wire`: every experiment above on one lab (ports 7001 to 7004), each
/// narrated and followed by its packets; with `pcap`, the packets shown are also saved there
/// (even when an experiment fails, to see why). Without a lab, the error says why and how to
/// allow it.
pub fn demo(n: &Narrator, pcap: Option<&Path>) -> io::Result<()> {
    let config = link();
    socklab_wire::demo::run(n, config.clone(), pcap, |lab, shown| {
        run_on(n, lab, &config, shown)
    })
}

fn run_on(n: &Narrator, lab: &Lab, config: &LinkConfig, shown: &mut Shown) -> io::Result<()> {
    n.explain(&format!(
        "The wire lab: host A (10.77.0.1) is the client, host B (10.77.0.2) the server, on a\n\
         link of {:?} each way with an MTU of {} bytes. Under each experiment, every packet of\n\
         its connection, in tcpdump's notation; times are on the lab's clock.",
        config.delay, config.mtu
    ));

    n.heading("1. The three-way handshake, and when connect() and accept() return");
    let h = handshake(lab, 7001)?;
    let [(syn, syn_tcp), (syn_ack, _), (ack, _)] = handshake_segments(&h.trace)
        .ok_or_else(|| io::Error::other("fewer than three segments in the handshake"))?;
    let arrived = |p: &Packet| p.arrived().map_or_else(|| "never".into(), ms);
    n.step(
        "host A",
        &format!(
            "connect() called at {}, SYN sent at {}",
            ms(h.called),
            ms(syn.time)
        ),
    );
    n.step(
        "host A",
        &format!(
            "connect() returned at {}: the SYN-ACK had arrived at {}, its own ACK arrives at B at {}",
            ms(h.connected),
            arrived(syn_ack),
            arrived(ack)
        ),
    );
    n.step(
        "host B",
        &format!("accept() returned at {}", ms(h.accepted)),
    );
    shown.all(n, h.trace.clone());
    if let Some(mss) = syn_tcp.mss() {
        n.explain(&format!(
            "Each SYN offers an MSS (mss {mss}: the MTU of {} less {IPV4_TCP_HEADERS} bytes of \
             IPv4 and TCP headers)\nand a window scale (wscale); the third segment, an ACK, \
             carries neither.",
            config.mtu
        ));
    }

    n.heading("2. One write() of 100 KB leaves as segments that fit the link");
    let big = one_big_write(lab, 7002, 100_000)?;
    let data = data_from_a(&big.trace);
    let largest = data.iter().copied().max().unwrap_or(0);
    n.step(
        "host A",
        &format!("one write() call took {} bytes", big.written),
    );
    n.step(
        "link",
        &format!(
            "they crossed as {} segments, the largest of {largest} bytes ({} of that size)",
            data.len(),
            data.iter().filter(|&&len| len == largest).count()
        ),
    );
    shown.all(n, big.trace);
    n.explain(
        "Each segment carries at most the MSS less the 12 bytes of the timestamp option that\n\
         every segment after the handshake carries.",
    );

    for (section, port, nodelay) in [(3, 7003, false), (4, 7004, true)] {
        let what = if nodelay {
            "with TCP_NODELAY"
        } else {
            "Nagle's algorithm on (the default)"
        };
        n.heading(&format!("{section}. Eight writes of 10 bytes, {what}"));
        let trace = small_writes(lab, port, 8, nodelay)?;
        let data = data_from_a(&trace);
        n.step(
            "link",
            &format!(
                "8 write() calls left as {} data segments, of {data:?} bytes",
                data.len()
            ),
        );
        shown.all(n, trace);
        if !nodelay {
            n.explain(
                "With Nagle's algorithm, the first small write leaves at once; the next ones\n\
                 wait while it is unacknowledged, and leave together when its ACK comes.",
            );
        }
    }
    Ok(())
}
