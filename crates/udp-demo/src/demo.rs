//! The narrated tour that `cargo run -p udp-demo` prints: every experiment of chapter 2 in a
//! second or two, on loopback.

use std::io;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use socklab_support::Narrator;

use crate::echo::{self, Faults};
use crate::reliable::Client;
use crate::{MAX_IPV4_PAYLOAD, boundaries, connected, limits, loss, truncation};

/// Runs every experiment of the chapter, narrating to `n`.
pub fn run(n: &Arc<Narrator>) -> io::Result<()> {
    n.heading("1. One socket serves every peer: a datagram echo server");
    let (addr, stats) = echo::spawn(
        UdpSocket::bind("127.0.0.1:0")?,
        Faults::default(),
        Arc::clone(n),
    )?;
    n.step(
        "server",
        &format!("bound {addr}; no listen(), no accept(): recv_from() says who sent"),
    );
    for i in 0..3 {
        let client = UdpSocket::bind("127.0.0.1:0")?;
        client.set_read_timeout(Some(Duration::from_secs(5)))?;
        client.send_to(format!("hello from client {i}").as_bytes(), addr)?;
        let mut buf = [0u8; 64];
        let (len, from) = client.recv_from(&mut buf)?;
        n.step(
            &format!("client {i}"),
            &format!(
                "{} -> got {:?} back from {from}",
                client.local_addr()?,
                String::from_utf8_lossy(&buf[..len])
            ),
        );
    }
    n.step(
        "server",
        &format!(
            "{} datagrams in, {} replies out, one socket",
            stats.received.load(std::sync::atomic::Ordering::Relaxed),
            stats.replies.load(std::sync::atomic::Ordering::Relaxed)
        ),
    );

    n.heading("2. Boundaries are kept: N sends arrive as N receives");
    let sizes = [1, 10, 100, 1000, 10_000];
    let got = boundaries::sizes_round_trip(&sizes)?;
    n.step(
        "sender",
        &format!("sent datagrams of {sizes:?} bytes before the receiver read any"),
    );
    n.step(
        "receiver",
        &format!(
            "{} receives returned {got:?} bytes: one datagram each, whole",
            got.len()
        ),
    );

    n.heading("3. Truncation: a small buffer silently loses the rest");
    let t = truncation::truncate(1000, 100)?;
    n.step(
        "receiver",
        &format!(
            "a {}-byte datagram into a 100-byte buffer: recv_from() returned {}",
            t.sent, t.returned
        ),
    );
    if let Some(real) = t.peeked_len {
        n.step(
            "receiver",
            &format!("recv(MSG_PEEK | MSG_TRUNC) first said the datagram had {real} bytes"),
        );
    }
    n.step(
        "receiver",
        &format!("recvmsg() flags contain MSG_TRUNC: {}", t.flagged),
    );
    n.explain("The other 900 bytes are gone. Size buffers for the largest datagram (64 KiB).");

    n.heading("4. Size limits: 65,507 bytes is the largest IPv4 datagram");
    let ok = limits::send_of_size("127.0.0.1", MAX_IPV4_PAYLOAD)?;
    n.step(
        "sender",
        &format!("{MAX_IPV4_PAYLOAD} bytes -> received {ok} bytes"),
    );
    match limits::send_of_size("127.0.0.1", MAX_IPV4_PAYLOAD + 1) {
        Err(e) if limits::is_too_large(&e) => {
            n.step("sender", &format!("{} bytes -> {e}", MAX_IPV4_PAYLOAD + 1))
        }
        other => n.step(
            "sender",
            &format!("{} bytes -> unexpected: {other:?}", MAX_IPV4_PAYLOAD + 1),
        ),
    }

    n.heading("5. Loss is real, even on loopback");
    let b = loss::burst(2000, 1000, 16 * 1024)?;
    n.step(
        "sender",
        &format!(
            "sent {} datagrams of 1000 bytes; every send_to() succeeded",
            b.sent
        ),
    );
    n.step(
        "receiver",
        &format!(
            "SO_RCVBUF {} bytes, not reading during the burst: received {}",
            b.rcvbuf, b.received
        ),
    );
    match b.kernel_dropped {
        Some(d) => n.step(
            "kernel",
            &format!(
                "SO_RXQ_OVFL drop counter: {d}; {} + {d} = {}",
                b.received,
                b.received + d
            ),
        ),
        None => n.step("kernel", "this system keeps no per-socket drop counter"),
    }

    n.heading("6. connect() on UDP: one peer, and ICMP errors you can see");
    let f = connected::filter()?;
    let texts: Vec<_> = f
        .received
        .iter()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .collect();
    n.step(
        "client",
        &format!("connected to B; a stranger and B both sent; received {texts:?}"),
    );
    let (c, u) = connected::unreachable()?;
    n.step(
        "client",
        &format!(
            "connected socket, closed port: next recv() -> {:?}",
            c.kind()
        ),
    );
    n.step(
        "client",
        &format!(
            "unconnected socket, closed port: next recv() -> {:?} (timeout: not told)",
            u.kind()
        ),
    );
    #[cfg(target_os = "linux")]
    {
        let told = connected::unconnected_with_recverr()?;
        n.step(
            "client",
            &format!(
                "unconnected with IP_RECVERR: next recv() -> {:?}; error queue: errno {}, \
                 ICMP type {} code {}, for {}",
                told.next_recv.map_err(|e| e.kind()),
                told.queued.errno,
                told.queued.icmp.0,
                told.queued.icmp.1,
                if told.queued.destination == Some(told.closed) {
                    "the closed port we sent to"
                } else {
                    "another address"
                }
            ),
        );
    }

    n.heading("7. Reliability is the application's job");
    let faults = Faults {
        drop: 0.3,
        duplicate: 0.2,
        seed: 7,
    };
    let (addr, stats) = echo::spawn(UdpSocket::bind("127.0.0.1:0")?, faults, Arc::clone(n))?;
    n.step(
        "server",
        "drops 30% of requests and sends 20% of replies twice, on purpose",
    );
    let mut client = Client::new(addr, Duration::from_millis(50), 10)?;
    for i in 0..50u32 {
        let reply = client.request(&i.to_be_bytes())?;
        if reply != i.to_be_bytes() {
            return Err(io::Error::other(format!("request {i} got a wrong reply")));
        }
    }
    n.step(
        "client",
        &format!(
            "50 requests, all answered correctly: {} retries after timeouts, {} stale replies discarded",
            client.stats.retries, client.stats.stale_replies
        ),
    );
    n.step(
        "server",
        &format!(
            "dropped {} on purpose",
            stats.dropped.load(std::sync::atomic::Ordering::Relaxed)
        ),
    );
    n.heading("Done. The book's chapter 2 explains each step; `cargo test -p udp-demo` proves it.");
    Ok(())
}
