//! Chapter 5's experiments on the wire lab, where every packet of a close can be seen.
//!
//! On loopback the close is proved by what the calls return (`Ok(0)`, `ConnectionReset`) and
//! by the kernel's state table. Here the same experiments run between two hosts of the wire
//! lab (`socklab_wire`: two network namespaces joined by a link run in user space, `5 ms` each
//! way), and the link records each segment: the FIN of an orderly close and the ACK that
//! answers it, the reply that crosses after a half-close, the RST that `close(2)` sends when
//! unread data would be lost or when `SO_LINGER` is zero, and the retransmitted FIN that only a
//! TIME-WAIT connection is left to answer. The experiments call the chapter's own lesson
//! functions ([`half_close::request_reply`], [`linger::abort`], [`reset::wait_until_readable`],
//! [`states::state_of`]) with sockets made on the lab's hosts.
//!
//! `cargo run -p shutdown-demo -- demo --wire` runs them with the narration and each one's
//! packets; the tests in `tests/wire.rs` assert on the same packets. The calls are the
//! chapter's (`shutdown(2)`, `close(2)`, `setsockopt(SO_LINGER)`); what is new is where they
//! run: host A (`10.77.0.1`) is the client, host B (`10.77.0.2`) the server.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::path::Path;
use std::time::Duration;

use socklab_support::Narrator;
use socklab_support::cli::bytes;
use socklab_wire::demo::Shown;
use socklab_wire::{Direction, Lab, LinkConfig, Trace};

use crate::states::{self, TcpState};
use crate::{half_close, linger, reset};

/// The link of every experiment here: `5 ms` each way, so that each segment is an event of
/// its own on the lab's clock, and the default MTU of `1500` bytes.
pub fn link() -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(5),
        ..LinkConfig::default()
    }
}

/// How long to wait for a TCP state to settle: the last ACK is still on the link when the
/// experiment looks.
const SETTLE: Duration = Duration::from_secs(1);

// ANCHOR: orderly_close
/// A closes first; B reads the end of the stream, then closes too. Returns the connection's
/// packets once A's last ACK has reached the link.
pub fn orderly_close(lab: &Lab, port: u16) -> io::Result<Trace> {
    let (client, mut server) = lab.connect(port)?;
    drop(client); // close(2) on A: the kernel sends A's FIN.
    let eof = server.read(&mut [0u8; 16])?; // 0: A's FIN has arrived at B.
    if eof != 0 {
        return Err(io::Error::other(
            "B read data instead of the end of the stream",
        ));
    }
    drop(server); // close(2) on B: B's FIN.
    // B sent no data, so its FIN is its byte 1, and A's ACK of it says "ack 2".
    lab.wait_for(port, "A's ACK of B's FIN", |p, t| {
        p.direction == Direction::AToB && !t.flags.fin && t.ack == Some(2)
    })
}
// ANCHOR_END: orderly_close

/// What the half-close over the lab did.
#[derive(Debug)]
pub struct HalfClose {
    /// Request bytes the server read before its `read` returned 0.
    pub server_read: usize,
    /// The reply the client read after its own `shutdown(Write)`.
    pub reply: Vec<u8>,
    /// The connection's packets.
    pub trace: Trace,
}

// ANCHOR: half_close
/// Chapter 5's half-closed request and reply, with the client on A and the server on B: the
/// lesson's own [`half_close::request_reply`] and [`half_close::serve_until_eof`].
pub fn half_close(lab: &Lab, port: u16, request: &[u8]) -> io::Result<HalfClose> {
    let listener = lab.listen(port)?;
    let server = std::thread::spawn(move || {
        let stream = socklab_wire::lab::accept(&listener)?;
        half_close::serve_until_eof(stream, 1 << 20)
    });
    let to = lab.b().addr(port);
    // The client's socket is made on a thread inside host A, so it is A's.
    let reply = lab.a().run(|| half_close::request_reply(to, request))??;
    let server_read = server
        .join()
        .map_err(|_| io::Error::other("the server thread panicked"))??;
    // B's FIN follows its reply: A's last ACK acknowledges the reply and the FIN.
    let last_ack = reply.len() as u32 + 2;
    let trace = lab.wait_for(port, "A's ACK of B's FIN", |p, t| {
        p.direction == Direction::AToB && !t.flags.fin && t.ack == Some(last_ack)
    })?;
    Ok(HalfClose {
        server_read,
        reply,
        trace,
    })
}
// ANCHOR_END: half_close

/// What the peer saw when the other side reset the connection.
#[derive(Debug)]
pub struct Reset {
    /// A's next `read` after B's close.
    pub peer_read: io::Result<usize>,
    /// B's side of the connection in B's `/proc/net/tcp` afterwards (`None`: not listed).
    pub b_state: Option<TcpState>,
    /// The connection's packets.
    pub trace: Trace,
}

// ANCHOR: close_with_unread_data
/// A sends bytes that B never reads; B closes. Returns A's next read and the packets once
/// B's RST has reached the link.
pub fn close_with_unread_data(lab: &Lab, port: u16) -> io::Result<Reset> {
    let (mut client, server) = lab.connect(port)?;
    let (b, a) = (server.local_addr()?, server.peer_addr()?);
    client.write_all(b"you will never read this")?;
    reset::wait_until_readable(&server)?; // The bytes are in B's receive buffer, unread.
    drop(server); // close(2) with unread data: RST, not FIN.
    let trace = lab.wait_for(port, "B's RST", |_, t| t.flags.rst)?;
    let peer_read = client.read(&mut [0u8; 64]); // ConnectionReset, once the RST arrives.
    let b_state = lab.b().run(|| states::wait_for(b, a, None, SETTLE))??;
    Ok(Reset {
        peer_read,
        b_state,
        trace,
    })
}
// ANCHOR_END: close_with_unread_data

// ANCHOR: linger_zero
/// B closes with `SO_LINGER` 0, with nothing unread: the lesson's [`linger::abort`]. Returns
/// A's next read, B's state afterwards and the packets.
pub fn linger_zero(lab: &Lab, port: u16) -> io::Result<Reset> {
    let (mut client, server) = lab.connect(port)?;
    let (b, a) = (server.local_addr()?, server.peer_addr()?);
    linger::abort(server)?; // SO_LINGER {on, 0 s}, then close(2): RST, no FIN.
    let trace = lab.wait_for(port, "B's RST", |_, t| t.flags.rst)?;
    let peer_read = client.read(&mut [0u8; 64]);
    let b_state = lab.b().run(|| states::wait_for(b, a, None, SETTLE))??;
    Ok(Reset {
        peer_read,
        b_state,
        trace,
    })
}
// ANCHOR_END: linger_zero

/// Both ends' states after a close in which A's last ACK was lost.
#[derive(Debug)]
pub struct TimeWait {
    /// A's side of the connection in A's `/proc/net/tcp`, after everything.
    pub a_state: Option<TcpState>,
    /// B's side in B's table.
    pub b_state: Option<TcpState>,
    /// The connection's packets.
    pub trace: Trace,
}

// ANCHOR: time_wait
/// A sends the first FIN, then B's FIN arrives and A closes its socket. The link loses A's
/// ACK of B's FIN (it cuts A→B for that moment), so B sends its FIN again after its
/// retransmission timeout; what answers it on A is the connection in TIME-WAIT, which no
/// program holds any more. Returns both ends' states and the packets.
pub fn time_wait(lab: &Lab, port: u16) -> io::Result<TimeWait> {
    let (mut client, mut server) = lab.connect(port)?;
    let (a, b) = (client.local_addr()?, client.peer_addr()?);
    client.shutdown(Shutdown::Write)?; // A's FIN: the first.
    let eof = server.read(&mut [0u8; 16])?;
    lab.link().cut_one_way(Direction::AToB, true); // A's next segment, its ACK, is lost.
    drop(server); // B's FIN.
    let eof_too = client.read(&mut [0u8; 16])?; // A reads B's FIN; its kernel ACKs it.
    if (eof, eof_too) != (0, 0) {
        return Err(io::Error::other("data instead of the end of the stream"));
    }
    drop(client); // A's descriptor is gone: from now on, only the kernel answers.
    lab.wait_for(port, "A's lost ACK", |p, t| {
        p.direction == Direction::AToB && t.ack == Some(2)
    })?;
    lab.link().cut_one_way(Direction::AToB, false);
    let trace = lab.wait_for(port, "A's ACK of B's second FIN", |p, t| {
        p.direction == Direction::AToB && t.ack == Some(2) && p.dropped().is_none()
    })?;
    let a_state = lab.a().run(|| states::state_of(a, b))??;
    let b_state = lab.b().run(|| states::wait_for(b, a, None, SETTLE))??;
    Ok(TimeWait {
        a_state,
        b_state,
        trace,
    })
}
// ANCHOR_END: time_wait

/// A state, or `(gone)` when the kernel lists none.
fn show(state: Option<TcpState>) -> String {
    state.map_or_else(|| "(gone)".to_string(), |s| s.to_string())
}

/// What a read returned, in a few words.
fn outcome(read: &io::Result<usize>) -> String {
    match read {
        Ok(n) => format!("Ok({n})"),
        Err(e) => format!("Err({:?})", e.kind()),
    }
}

/// `shutdown-demo demo --wire`: every experiment above on one lab (ports 7001 to 7005), each
/// narrated and followed by its packets; with `pcap`, the packets shown are also saved there
/// (even when an experiment fails, to see why). Without a lab, the error says why and how to
/// allow it.
pub fn demo(n: &Narrator, pcap: Option<&Path>) -> io::Result<()> {
    socklab_wire::demo::run(n, link(), pcap, |lab, shown| run_on(n, lab, shown))
}

fn run_on(n: &Narrator, lab: &Lab, shown: &mut Shown) -> io::Result<()> {
    n.explain(&format!(
        "The wire lab: host A (10.77.0.1) is the client, host B (10.77.0.2) the server, on a\n\
         link of {:?} each way. Under each experiment, every packet of its connection, in\n\
         tcpdump's notation; times are on the lab's clock.",
        link().delay
    ));

    n.heading("1. An orderly close: a FIN each way, each acknowledged");
    let trace = orderly_close(lab, 7001)?;
    n.step("host A", "close(): A's FIN");
    n.step("host B", "read() -> 0: A's FIN; then close(): B's FIN");
    shown.all(n, trace);

    n.heading("2. Half-close: the request, A's FIN, and still the reply");
    let request = b"hello over the wire";
    let h = half_close(lab, 7002, request)?;
    n.step(
        "host A",
        &format!(
            "sent {} then shutdown(Write): A's FIN",
            bytes(request.len() as u64)
        ),
    );
    n.step(
        "host B",
        &format!(
            "read until read() returned 0: {}; replied, then close(): B's FIN",
            bytes(h.server_read as u64)
        ),
    );
    n.step(
        "host A",
        &format!(
            "read the reply after its own FIN: {}",
            bytes(h.reply.len() as u64)
        ),
    );
    shown.all(n, h.trace);

    n.heading("3. RST: B closes with A's bytes unread");
    let r = close_with_unread_data(lab, 7003)?;
    n.step(
        "host B",
        "close() with unread bytes in its buffer: a RST, no FIN",
    );
    n.step(
        "host A",
        &format!("its next read() -> {}", outcome(&r.peer_read)),
    );
    shown.all(n, r.trace);

    n.heading("4. RST: B closes with SO_LINGER 0");
    let r = linger_zero(lab, 7004)?;
    n.step("host B", "SO_LINGER {on, 0 s}, then close(): a RST, no FIN");
    n.step(
        "host A",
        &format!("its next read() -> {}", outcome(&r.peer_read)),
    );
    n.step(
        "kernel",
        &format!("B's side of the connection: {}", show(r.b_state)),
    );
    shown.all(n, r.trace);

    n.heading("5. TIME-WAIT answers a FIN sent again");
    let t = time_wait(lab, 7005)?;
    n.step("host A", "shutdown(Write): the first FIN");
    n.step("host B", "read() -> 0, close(): B's FIN");
    n.step(
        "link",
        "loses A's ACK of B's FIN; B sends its FIN again, and A's kernel ACKs it",
    );
    n.step(
        "kernel",
        &format!(
            "A's side: {}; B's side: {}",
            show(t.a_state),
            show(t.b_state)
        ),
    );
    shown.all(n, t.trace);
    n.explain(
        "A's program had closed its socket before the second FIN came: the connection in\n\
         TIME-WAIT answered it. The side that sends the first FIN is the one that waits.",
    );
    Ok(())
}
