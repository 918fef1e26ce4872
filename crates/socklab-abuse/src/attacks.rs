//! The attacks. Each is a function that takes a (loopback) target and explicit bounds, does
//! its damage, and returns a [`Report`]: what it did and what the server answered.
//!
//! | attack | what it does | what a naive server suffers |
//! |---|---|---|
//! | [`slowloris`] | many connections, a byte now and then, never a whole frame | a thread or slot held forever per connection |
//! | [`silent`] | connections that connect and never send | the same, with even less effort |
//! | [`no_read`] | sends requests and never reads the replies | unbounded reply buffers, or a blocked writer thread |
//! | [`reset_storm`] | half a frame, then an abortive close (RST) | errors on paths nobody tested |
//! | [`garbage`] | random bytes, huge length prefixes, truncated and empty frames | a 4 GiB allocation, a panic, a hung read |
//! | [`flood`] | as many connections as the descriptor limit allows | descriptor exhaustion, a spinning accept loop |
//! | [`udp_garbage`] | empty, maximal and random datagrams | a crash on an empty or oversized datagram |

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use socket2::SockRef;
use socklab_support::data::payload;

use crate::guard::loopback_only;

/// The outcome of one attack.
#[derive(Debug, Clone)]
pub struct Report {
    /// The attack's name.
    pub attack: &'static str,
    /// What the attack did.
    pub did: String,
    /// What the server answered.
    pub answered: String,
    /// Connections the server closed (or reset) during the attack.
    pub closed_by_server: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}; server: {}",
            self.attack, self.did, self.answered
        )
    }
}

/// Whether the server has closed (or reset) `stream`, checked without blocking.
fn closed_by_peer(stream: &TcpStream) -> bool {
    let _ = stream.set_nonblocking(true);
    let mut one = [0u8; 1];
    let closed = match stream.peek(&mut one) {
        Ok(0) => true,                                        // FIN: end of stream.
        Ok(_) => false,                                       // An answer is waiting.
        Err(e) if e.kind() == ErrorKind::WouldBlock => false, // Still open, quiet.
        Err(_) => true,                                       // Reset or another error.
    };
    let _ = stream.set_nonblocking(false);
    closed
}

/// Opens up to `n` connections (each bounded by a short connect timeout).
fn open(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map_while(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .collect()
}

/// Describes when the server closed the connections: "k of n within T".
fn closing(times: &[Option<Duration>], n: usize) -> (usize, String) {
    let mut closed: Vec<Duration> = times.iter().flatten().copied().collect();
    closed.sort();
    let text = match closed.last() {
        Some(last) => format!("closed {} of {n}, the last after {last:.1?}", closed.len()),
        None => format!("closed none of {n}"),
    };
    (closed.len(), text)
}

// ANCHOR: slowloris
/// `connections` connections each announce a 1,000-byte frame and then send one byte of it
/// every `drip`, for at most `duration`.
pub fn slowloris(
    addr: SocketAddr,
    connections: usize,
    drip: Duration,
    duration: Duration,
) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let mut conns = open(addr, connections);
    let n = conns.len();
    let started = Instant::now();
    let mut closed_at: Vec<Option<Duration>> = vec![None; n];
    let mut step = 0usize;
    let frame = [&1000u32.to_be_bytes()[..], &[0x55; 1000]].concat();
    while started.elapsed() < duration && closed_at.iter().any(Option::is_none) {
        for (i, c) in conns.iter_mut().enumerate() {
            if closed_at[i].is_some() {
                continue;
            }
            if closed_by_peer(c) || c.write_all(&frame[step % frame.len()..][..1]).is_err() {
                closed_at[i] = Some(started.elapsed());
            }
        }
        step += 1;
        thread::sleep(drip); // The attack: just slow enough to dodge a per-read timeout.
    }
    let (closed, answered) = closing(&closed_at, n);
    Ok(Report {
        attack: "slowloris",
        did: format!("{n} connections dripping a byte every {drip:?} for up to {duration:?}"),
        answered,
        closed_by_server: closed,
    })
}
// ANCHOR_END: slowloris

/// `connections` connections that connect and send nothing, watched for at most `duration`.
pub fn silent(addr: SocketAddr, connections: usize, duration: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let conns = open(addr, connections);
    let n = conns.len();
    let started = Instant::now();
    let mut closed_at: Vec<Option<Duration>> = vec![None; n];
    while started.elapsed() < duration && closed_at.iter().any(Option::is_none) {
        for (i, c) in conns.iter().enumerate() {
            if closed_at[i].is_none() && closed_by_peer(c) {
                closed_at[i] = Some(started.elapsed());
            }
        }
        thread::sleep(Duration::from_millis(20)); // Check the connections every 20 ms.
    }
    let (closed, answered) = closing(&closed_at, n);
    Ok(Report {
        attack: "silent",
        did: format!("{n} connections saying nothing for up to {duration:?}"),
        answered,
        closed_by_server: closed,
    })
}

/// One connection sends valid echo requests (up to `max_bytes`) and never reads a reply; it
/// stops when its writes block for a second (the server stopped reading) or fail (the server
/// closed it), or after `duration`.
pub fn no_read(addr: SocketAddr, max_bytes: usize, duration: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let mut hog = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    hog.set_write_timeout(Some(Duration::from_secs(1)))?;
    let frame = [&(16u32 * 1024).to_be_bytes()[..], &[7u8; 16 * 1024]].concat();
    let started = Instant::now();
    let mut sent = 0usize;
    let mut how = "reached its byte limit";
    while sent < max_bytes && started.elapsed() < duration {
        match hog.write_all(&frame) {
            Ok(()) => sent += frame.len(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                how = "was blocked: the server stopped reading";
                break;
            }
            Err(_) => {
                how = "failed";
                break;
            }
        }
    }
    // Keep the connection open, unread, and see whether the server ends it.
    let mut closed = usize::from(how.starts_with("failed"));
    let watch = Instant::now();
    while closed == 0 && started.elapsed() < duration {
        if closed_by_peer(&hog) {
            closed = 1;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let answered = match (closed, how.starts_with("failed")) {
        (1, true) => {
            "stopped reading, then closed the connection while the client was still writing"
                .to_string()
        }
        (1, false) => format!(
            "stopped reading (the client's writes {how}), then closed the connection {:.1?} later",
            watch.elapsed()
        ),
        _ => format!("the client's writes {how}; the connection was still open after {duration:?}"),
    };
    Ok(Report {
        attack: "no-read",
        did: format!("sent {sent} bytes of requests without reading"),
        answered,
        closed_by_server: closed,
    })
}

/// `count` connections each send half a frame and abort with RST (`SO_LINGER` 0).
pub fn reset_storm(addr: SocketAddr, count: usize) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let mut done = 0;
    for _ in 0..count {
        let Ok(mut c) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            break;
        };
        let _ = c.write_all(&[&100u32.to_be_bytes()[..], &[1u8; 10]].concat());
        SockRef::from(&c).set_linger(Some(Duration::ZERO))?;
        drop(c); // close(2) with linger 0: RST.
        done += 1;
    }
    Ok(Report {
        attack: "reset-storm",
        did: format!("{done} connections sent half a frame and reset"),
        answered: "nothing to answer: each connection was gone".into(),
        closed_by_server: 0,
    })
}

// ANCHOR: garbage
/// Sends each kind of bad input on its own connection and records the answer: random bytes,
/// a 4 GiB length prefix, a truncated frame, and a zero-length frame (which is valid).
pub fn garbage(addr: SocketAddr, seed: u64) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let cases: [(&str, Vec<u8>, bool); 4] = [
        ("random bytes", payload(seed, 512), false),
        (
            "4 GiB length prefix",
            u32::MAX.to_be_bytes().to_vec(),
            false,
        ),
        (
            "truncated frame",
            [&100u32.to_be_bytes()[..], &[9u8; 10]].concat(),
            true,
        ),
        ("zero-length frame", 0u32.to_be_bytes().to_vec(), false),
    ];
    let mut answers = Vec::new();
    let mut closed = 0;
    for (name, bytes, half_close) in cases {
        let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        c.set_read_timeout(Some(Duration::from_secs(5)))?;
        let _ = c.write_all(&bytes);
        if half_close {
            let _ = c.shutdown(std::net::Shutdown::Write); // End the stream inside the frame.
        }
        let mut buf = [0u8; 64];
        let answer = match c.read(&mut buf) {
            Ok(0) => {
                closed += 1;
                "closed".to_string()
            }
            Ok(n) => format!("echoed {n} bytes"),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                closed += 1;
                "reset".to_string()
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                "no answer in 5s".to_string()
            }
            Err(e) => format!("error: {e}"),
        };
        answers.push(format!("{name} -> {answer}"));
    }
    Ok(Report {
        attack: "garbage",
        did: "4 kinds of bad input".into(),
        answered: answers.join(", "),
        closed_by_server: closed,
    })
}
// ANCHOR_END: garbage

/// Opens connections as fast as possible, up to `max` (and the descriptor limit), holds them
/// for `hold`, then closes them all.
pub fn flood(addr: SocketAddr, max: usize, hold: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let started = Instant::now();
    let mut conns = Vec::new();
    let mut stopped = "reached its limit";
    while conns.len() < max {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(c) => conns.push(c),
            Err(e) => {
                stopped = if e.raw_os_error() == Some(24) {
                    "ran out of descriptors"
                } else {
                    "was refused or timed out"
                };
                break;
            }
        }
    }
    let opened = conns.len();
    let took = started.elapsed();
    let watch = Instant::now();
    let mut closed = 0;
    while watch.elapsed() < hold {
        closed = conns.iter().filter(|c| closed_by_peer(c)).count();
        if closed == opened {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(Report {
        attack: "flood",
        did: format!(
            "opened {opened} connections in {took:.1?} ({stopped}), held them up to {hold:?}"
        ),
        answered: format!("closed {closed} of them meanwhile"),
        closed_by_server: closed,
    })
}

/// Sends empty, maximal (65,507-byte) and random datagrams, `count` of each kind, and counts
/// the replies.
pub fn udp_garbage(addr: SocketAddr, count: usize, seed: u64) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let local: SocketAddr = if addr.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    }
    .parse()
    .map_err(io::Error::other)?;
    let socket = UdpSocket::bind(local)?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut sent = 0;
    let mut replies = 0;
    let mut buf = vec![0u8; 65_536];
    for i in 0..count {
        for datagram in [
            Vec::new(),
            vec![0xee; udp_demo::MAX_IPV4_PAYLOAD],
            payload(seed + i as u64, 1 + i * 37 % 1400),
        ] {
            socket.send_to(&datagram, addr)?;
            sent += 1;
            if socket.recv_from(&mut buf).is_ok() {
                replies += 1;
            }
        }
    }
    Ok(Report {
        attack: "udp-garbage",
        did: format!("sent {sent} datagrams: empty, maximal and random"),
        answered: format!("{replies} replies"),
        closed_by_server: 0,
    })
}
