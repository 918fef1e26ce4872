//! Chapter 1 on a link with delay: Nagle's algorithm meets the peer's delayed ACK, proved by
//! the packets the wire lab's link recorded and the lab's clock.
//!
//! A request written in two small pieces (a header, then a body) and answered by the server
//! once it has both: without `TCP_NODELAY`, Nagle's algorithm holds the body while the header
//! is unacknowledged, and the server, which has nothing to say until the body comes, delays
//! its ACK. Each request waits out that delayed ACK. With `TCP_NODELAY` it does not.
//!
//! Where no lab can be made, each test says why (`SKIPPED ...`) and returns.

use std::io::{self, Read, Write};
use std::thread;
use std::time::Duration;

use socklab_support::within;
use socklab_wire::{Direction, Lab, LinkConfig, Packet, Tcp, testing};

/// The bound on each whole experiment: far above what any takes, so it only ends a hang.
const LIMIT: Duration = Duration::from_secs(30);

/// The link: `20 ms` each way, a round trip of `40 ms`. Long next to a moment's starvation of
/// the client's thread between its two writes on a loaded machine: with `TCP_NODELAY` the body
/// leaves when it is written, and B's ACK of the header (quick or not) cannot be back at A
/// before a round trip, so only a stall of a whole round trip between the two writes could
/// look like waiting for it. (At `5 ms` each way, a `10 ms` stall was enough.)
const DELAY: Duration = Duration::from_millis(20);

/// The header and the body of each request, and the reply.
const HEADER: usize = 10;
const BODY: usize = 10;
const REPLY: usize = 10;

/// How many requests on one connection. Linux acknowledges at once ("quick ACKs") for the
/// first segments of a connection; the delayed ACK shows once the exchange has settled.
const REQUESTS: usize = 12;

/// Linux's shortest delayed-ACK time (`TCP_DELACK_MIN`, `40 ms`), less one timer tick at the
/// coarsest usual clock (`HZ` 100, `10 ms`): the timer counts in ticks and can fire up to one
/// early.
const DELACK_LEAST: Duration = Duration::from_millis(30);

// ANCHOR: write_write_read
/// How the client writes each request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Writes {
    /// Header, then body: two writes, with Nagle's algorithm on (the default).
    Two,
    /// Two writes, with `TCP_NODELAY`.
    TwoNoDelay,
    /// Header and body assembled in one buffer: one write, Nagle's algorithm on.
    One,
}

/// Makes `REQUESTS` requests on a new connection from A to B, each written as `writes` says
/// and followed by a read of the reply, which B writes once it has read the whole request.
/// Returns each request's time on the lab's clock.
fn write_write_read(lab: &Lab, port: u16, writes: Writes) -> io::Result<Vec<Duration>> {
    let (mut client, mut server) = lab.connect(port)?;
    client.set_nodelay(writes == Writes::TwoNoDelay)?; // setsockopt(TCP_NODELAY)
    let replier = thread::spawn(move || -> io::Result<()> {
        let mut request = [0u8; HEADER + BODY];
        for _ in 0..REQUESTS {
            server.read_exact(&mut request)?;
            server.write_all(&[b'r'; REPLY])?;
        }
        Ok(())
    });
    let mut times = Vec::new();
    for _ in 0..REQUESTS {
        let started = lab.now();
        if writes == Writes::One {
            let mut request = [b'h'; HEADER + BODY];
            request[HEADER..].fill(b'b');
            client.write_all(&request)?;
        } else {
            client.write_all(&[b'h'; HEADER])?;
            client.write_all(&[b'b'; BODY])?;
        }
        client.read_exact(&mut [0u8; REPLY])?;
        times.push(lab.now() - started);
    }
    replier
        .join()
        .map_err(|_| io::Error::other("the replier panicked"))??;
    Ok(times)
}
// ANCHOR_END: write_write_read

/// The request's segments from A, one per request: (header's packet, body's packet), when
/// each piece left in a segment of its own.
fn pieces<'t>(segments: &[(&'t Packet, &'t Tcp)]) -> Vec<[(&'t Packet, &'t Tcp); 2]> {
    let from_a: Vec<_> = segments
        .iter()
        .filter(|(p, t)| p.direction == Direction::AToB && t.payload_len > 0)
        .copied()
        .collect();
    from_a.chunks(2).filter_map(|c| c.try_into().ok()).collect()
}

/// Without `TCP_NODELAY`, once the exchange has settled, each write-write-read request holds
/// its body back until the header is acknowledged, and B delays that ACK, having no reply to
/// carry it yet: the body leaves only after B's lone ACK has arrived, B sent that ACK at
/// least `30 ms` (Linux's delayed-ACK minimum, less a timer tick) after the header reached
/// it, and the request took at least two round trips plus that. With `TCP_NODELAY`, header
/// and body leave together, before anything from B has reached A, in every request; written
/// with one call, each request leaves in one segment (proved by the packets and the lab's
/// clock).
#[test]
fn write_write_read_stalls_by_the_delayed_ack_without_nodelay() {
    let name = "write_write_read_stalls_by_the_delayed_ack_without_nodelay";
    let config = LinkConfig {
        delay: DELAY,
        ..LinkConfig::default()
    };
    let Some(lab) = testing::lab(name, config) else {
        return;
    };
    let lab = std::sync::Arc::new(lab);
    let shared = lab.clone();
    let (nagle, nodelay, one) = within(LIMIT, "write-write-read requests", move || {
        let nagle = write_write_read(&shared, 7000, Writes::Two).unwrap();
        let nodelay = write_write_read(&shared, 7001, Writes::TwoNoDelay).unwrap();
        let one = write_write_read(&shared, 7002, Writes::One).unwrap();
        (nagle, nodelay, one)
    });
    println!("request times, Nagle on: {nagle:?}");
    println!("request times, TCP_NODELAY: {nodelay:?}");
    println!("request times, one write: {one:?}");

    // Written at once, each request leaves whole, in one segment.
    let trace = lab.trace().port(7002);
    let from_a: Vec<usize> = trace
        .tcp()
        .filter(|(p, t)| p.direction == Direction::AToB && t.payload_len > 0)
        .map(|(_, t)| t.payload_len)
        .collect();
    assert_eq!(from_a, [HEADER + BODY; REQUESTS], "{trace}");

    // With TCP_NODELAY, each body leaves before anything comes back from B: no packet from B
    // reached A between the header's departure and the body's. (Not "was sent by B": B may
    // ACK the header at once, and that ACK leaving B says nothing about A's waiting.)
    let trace = lab.trace().port(7001);
    print!("{trace}");
    let segments: Vec<_> = trace.tcp().collect();
    let sent = pieces(&segments);
    assert_eq!(
        sent.len(),
        REQUESTS,
        "header and body in segments of their own"
    );
    for [(header, _), (body, _)] in &sent {
        let answered = segments.iter().any(|(p, _)| {
            p.direction == Direction::BToA
                && p.arrived()
                    .is_some_and(|at| at > header.time && at < body.time)
        });
        assert!(!answered, "the body waited for B: {header}\n{body}");
    }

    // Without it, the settled requests wait for B's delayed ACK.
    let trace = lab.trace().port(7000);
    print!("{trace}");
    let segments: Vec<_> = trace.tcp().collect();
    let sent = pieces(&segments);
    assert_eq!(
        sent.len(),
        REQUESTS,
        "header and body in segments of their own"
    );
    let mut stalled = 0;
    for (i, [(header, h), (body, _)]) in sent.iter().enumerate() {
        // B's ACK of the header, alone (no reply data yet).
        let Some((ack, _)) = segments.iter().find(|(p, t)| {
            p.direction == Direction::BToA && t.payload_len == 0 && t.ack == Some(h.seq_end())
        }) else {
            continue; // Acknowledged with the previous reply: not this request's story.
        };
        let reached_b = header.arrived().expect("nothing is lost");
        let delayed = ack.time - reached_b;
        let ack_arrived = ack.arrived().expect("nothing is lost");
        println!("request {i}: B's ACK delayed {delayed:?}, the body left after it arrived");
        if delayed >= DELACK_LEAST && body.time >= ack_arrived {
            stalled += 1;
            assert!(
                nagle[i] >= 4 * DELAY + DELACK_LEAST,
                "request {i} took {:?}",
                nagle[i]
            );
        }
    }
    assert!(
        stalled >= REQUESTS / 2,
        "only {stalled} of {REQUESTS} requests waited for a delayed ACK"
    );
}
