//! Helpers shared by the wire experiments: a connected pair across the link, and waiting
//! for packets to show in the trace.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use socklab_support::wait;
use socklab_wire::{Lab, Packet, Tcp, Trace};

/// The bound on each blocking socket call in these tests.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The bound on each test step.
pub const LIMIT: Duration = Duration::from_secs(30);

/// A listener on host B at `port`.
pub fn listen(lab: &Lab, port: u16) -> TcpListener {
    let b = lab.b().clone();
    b.run(|| TcpListener::bind(b.addr(port))).unwrap().unwrap()
}

/// A TCP connection from host A to B's `port`: (client on A, server on B), both with read
/// and write timeouts.
pub fn connect(lab: &Lab, port: u16) -> (TcpStream, TcpStream) {
    let listener = listen(lab, port);
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let client = a
        .run(|| TcpStream::connect_timeout(&b.addr(port), TIMEOUT))
        .unwrap()
        .unwrap();
    let server = socklab_support::within(TIMEOUT, "accept", move || listener.accept().unwrap().0);
    for s in [&client, &server] {
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s.set_write_timeout(Some(TIMEOUT)).unwrap();
    }
    (client, server)
}

/// The TCP segments from or to `port` in `trace`.
pub fn flow(trace: &Trace, port: u16) -> Vec<(Packet, Tcp)> {
    trace
        .tcp()
        .filter(|(_, t)| t.src_port == port || t.dst_port == port)
        .map(|(p, t)| (p.clone(), t.clone()))
        .collect()
}

/// Waits until the trace holds a segment of `port`'s connection that `want` accepts (given
/// the packet, for its direction and fate, and the segment), and returns the connection's
/// segments then.
pub fn wait_for(
    lab: &Lab,
    port: u16,
    what: &str,
    want: impl Fn(&Packet, &Tcp) -> bool,
) -> Vec<(Packet, Tcp)> {
    let mut seen = Vec::new();
    wait::until(TIMEOUT, what, || {
        seen = flow(&lab.trace(), port);
        seen.iter().any(|(p, t)| want(p, t))
    })
    .unwrap_or_else(|e| {
        let lines: Vec<String> = seen.iter().map(|(p, _)| p.to_string()).collect();
        panic!("{e}; the trace:\n{}", lines.join("\n"))
    });
    seen
}

/// Prints the segments, one tcpdump line each (shown by `cargo test -- --nocapture`, and
/// with a failing test's output).
pub fn show(segments: &[(Packet, Tcp)]) {
    for (p, _) in segments {
        println!("{p}");
    }
}
