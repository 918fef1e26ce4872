//! The attacks. Each is a function that takes a (loopback) target and explicit bounds, does
//! its damage, and returns a [`Report`]: what it did and what the server answered.
//!
//! Two kinds. The *hostile* attacks misbehave, and a server is right to close them; what
//! matters is that nobody else suffers:
//!
//! | attack | what it does | what a naive server suffers |
//! |---|---|---|
//! | [`slowloris`] | many connections, a byte now and then, never a whole frame | a thread or slot held forever per connection |
//! | [`silent`] | connections that connect and never send | the same, with even less effort |
//! | [`no_read`] | sends requests and never reads the replies | unbounded reply buffers, or a blocked writer thread |
//! | [`slow_reader`] | a tiny receive buffer, replies read a few bytes at a time | the same, more politely |
//! | [`reset_storm`] | half a frame, then an abortive close (RST) | errors on paths nobody tested |
//! | [`garbage`] | random bytes, huge length prefixes, truncated and empty frames | a 4 GiB allocation, a panic, a hung read |
//! | [`flood`] | as many connections as the descriptor limit allows | descriptor exhaustion, a spinning accept loop |
//! | [`udp_garbage`] | empty, maximal and random datagrams | a crash on an empty or oversized datagram |
//!
//! The *awkward* attacks are valid clients that a server written for polite ping-pong gets
//! wrong. Each has a right answer, every byte echoed intact and in order, and its report
//! says so or names the failure ([`Report::failure`]):
//!
//! | attack | what it does | what a naive server does |
//! |---|---|---|
//! | [`full_duplex`] | one thread writes 16 MiB while another reads the echoes | stops reading while its replies wait, or stops writing while it reads: both sides stall |
//! | [`pipelining`] | 10,000 small frames written before reading any echo | handles one frame per read and leaves the rest in its buffer |
//! | [`byte_at_a_time`] | whole frames, one byte per `write` | mishandles a frame that arrives in many reads |
//! | [`steady_sender`] | complete frames, sent without a pause for longer than the frame timeout | cuts it as a slow sender, because some frame is always half-arrived |
//! | [`empty_frames`] | 100,000 zero-length frames | loops on a frame that consumes no payload, or echoes it twice |
//!
//! Every attack fails with an error naming the address when it cannot connect at all (for
//! UDP: when the port answers with ICMP port unreachable): an attack on nothing must not look
//! like a server that survived.

use std::io::{self, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, SockRef, Socket, Type};
use socklab_support::cli::bytes;
use socklab_support::data::{Checksum, Generator, payload};

use crate::guard::loopback_only;
use crate::wire::{self, HEADER_LEN, MAX_UDP_PAYLOAD_V4};

/// The longest any one `connect` may take: loopback answers in microseconds, so this is only
/// a bound for a target that drops SYNs.
const CONNECT_PATIENCE: Duration = Duration::from_secs(2);

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
    /// What the server got wrong, for the attacks with a right answer (the awkward ones:
    /// every byte echoed, intact and in order); `None` when it got it right, and always for
    /// the hostile attacks, whose judge is how the server's *other* clients fared.
    pub failure: Option<String>,
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

/// The error for a target that accepts no connection: one line, naming the address.
fn nothing_at(addr: SocketAddr, e: &io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("nothing accepts connections at {addr}: {e}"),
    )
}

/// Connects to `addr` within [`CONNECT_PATIENCE`]; a failure names the address.
fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    TcpStream::connect_timeout(&addr, CONNECT_PATIENCE).map_err(|e| nothing_at(addr, &e))
}

/// Opens up to `n` connections. The first must succeed (or there is nothing to attack); after
/// that the attack takes what it gets.
fn open(addr: SocketAddr, n: usize) -> io::Result<Vec<TcpStream>> {
    let mut conns = vec![connect(addr)?];
    conns.extend((1..n).map_while(|_| TcpStream::connect_timeout(&addr, CONNECT_PATIENCE).ok()));
    Ok(conns)
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

/// A reader whose every `read` waits at most until `deadline`: the whole attack's bound,
/// not a per-call one (a server that trickles a byte a second must not stretch it).
struct Until<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl<'a> Until<'a> {
    fn new(stream: &'a TcpStream, deadline: Instant) -> BufReader<Self> {
        BufReader::with_capacity(256 * 1024, Self { stream, deadline })
    }
}

impl Read for Until<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

/// How a stream of echoes ended, if it ended before the attack had them all.
fn how_it_ended(e: Option<&io::Error>) -> String {
    match e {
        None => "then closed the connection".into(),
        Some(e) if e.kind() == ErrorKind::ConnectionReset => "then reset the connection".into(),
        Some(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            "then nothing more came before the attack's time ran out (stalled)".into()
        }
        Some(e) if e.kind() == ErrorKind::UnexpectedEof => {
            "then closed the connection in the middle of an echo".into()
        }
        Some(e) => format!("then the connection failed: {e}"),
    }
}

/// Writes `data` until done or an error, and returns how many bytes went (a failed
/// `write_all` would not say).
fn write_counted(mut stream: &TcpStream, data: &[u8]) -> (usize, io::Result<()>) {
    let mut sent = 0;
    while sent < data.len() {
        match stream.write(&data[sent..]) {
            Ok(0) => return (sent, Err(ErrorKind::WriteZero.into())),
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return (sent, Err(e)),
        }
    }
    (sent, Ok(()))
}

/// Reads up to `frames` echoes (each at most `max` bytes) into `got`; returns the error or
/// end of stream that stopped it early, if any (`Some(None)` for a clean close).
fn read_echoes(
    reader: &mut impl Read,
    frames: usize,
    max: usize,
    got: &mut Checksum,
) -> (usize, Option<Option<io::Error>>) {
    for n in 0..frames {
        match wire::read_frame(reader, max) {
            Ok(Some(echo)) => got.update(&echo),
            Ok(None) => return (n, Some(None)),
            Err(e) => return (n, Some(Some(e))),
        }
    }
    (frames, None)
}

/// `connections` connections each announce a 1,000-byte frame and then send one byte of it
/// every `drip`, for at most `duration`.
pub fn slowloris(
    addr: SocketAddr,
    connections: usize,
    drip: Duration,
    duration: Duration,
) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let mut conns = open(addr, connections)?;
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
        failure: None,
    })
}

/// `connections` connections that connect and send nothing, watched for at most `duration`.
pub fn silent(addr: SocketAddr, connections: usize, duration: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let conns = open(addr, connections)?;
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
        failure: None,
    })
}

/// One connection sends valid echo requests (up to `max_bytes`) and never reads a reply; it
/// stops when its writes block for a second (the server stopped reading) or fail (the server
/// closed it), or after `duration`.
pub fn no_read(addr: SocketAddr, max_bytes: usize, duration: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let mut hog = connect(addr)?;
    hog.set_write_timeout(Some(Duration::from_secs(1).min(duration)))?;
    let frame = wire::frame(&[7u8; 16 * 1024]);
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
        failure: None,
    })
}

/// `count` connections each send half a frame and abort with RST (`SO_LINGER` 0), for at
/// most `duration`.
pub fn reset_storm(addr: SocketAddr, count: usize, duration: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let started = Instant::now();
    let mut done = 0;
    while done < count && started.elapsed() < duration {
        let mut c = match TcpStream::connect_timeout(&addr, CONNECT_PATIENCE) {
            Ok(c) => c,
            Err(e) if done == 0 => return Err(nothing_at(addr, &e)),
            Err(_) => break,
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
        failure: None,
    })
}

/// Sends each kind of bad input on its own connection and records the answer: random bytes,
/// a 4 GiB length prefix, a truncated frame, and a zero-length frame (which is valid). Each
/// answer is awaited for at most 5 s, and the whole attack for at most `duration`.
pub fn garbage(addr: SocketAddr, seed: u64, duration: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let deadline = Instant::now() + duration;
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
        ("zero-length frame", wire::frame(&[]), false),
    ];
    let mut answers = Vec::new();
    let mut closed = 0;
    for (name, bytes, half_close) in cases {
        let mut c = connect(addr)?;
        let patience = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(5));
        c.set_read_timeout(Some(patience.max(Duration::from_millis(1))))?;
        let _ = c.write_all(&bytes);
        if half_close {
            let _ = c.shutdown(Shutdown::Write); // End the stream inside the frame.
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
                format!("no answer in {patience:.1?}")
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
        failure: None,
    })
}

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
            Err(e) if conns.is_empty() => return Err(nothing_at(addr, &e)),
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
        failure: None,
    })
}

/// Sends empty, maximal (65,507-byte) and random datagrams, `count` of each kind, one at a
/// time, and counts the replies, for at most `duration`. Each reply is waited for up to
/// `patience`: one later than that counts as missing. (A live server answers in
/// microseconds; a test on a busy machine gives it seconds, so that a slow turn of the
/// scheduler is not taken for a lost reply.) The socket is *connected* to the target, so an
/// ICMP "port unreachable" comes back as `ConnectionRefused`: nothing listens there.
pub fn udp_garbage(
    addr: SocketAddr,
    count: usize,
    seed: u64,
    patience: Duration,
    duration: Duration,
) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let local: SocketAddr = if addr.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(addr)?;
    let started = Instant::now();
    let (mut sent, mut replies, mut refused) = (0, 0, 0);
    let mut buf = vec![0u8; 65_536];
    'all: for i in 0..count {
        for datagram in [
            Vec::new(),
            vec![0xee; MAX_UDP_PAYLOAD_V4],
            payload(seed + i as u64, 1 + i * 37 % 1400),
        ] {
            let left = duration.saturating_sub(started.elapsed());
            if left.is_zero() {
                break 'all;
            }
            // Wait for the reply no longer than `patience`, nor past the attack's end (and
            // at least 1 µs: std refuses a zero timeout).
            let wait = patience.min(left).max(Duration::from_micros(1));
            socket.set_read_timeout(Some(wait))?;
            let answer = socket.send(&datagram).and_then(|_| {
                sent += 1;
                socket.recv(&mut buf)
            });
            match answer {
                Ok(_) => replies += 1,
                Err(e) if e.kind() == ErrorKind::ConnectionRefused && replies == 0 => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("nothing listens at {addr} (UDP): ICMP port unreachable: {e}"),
                    ));
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => refused += 1,
                Err(_) => {} // No reply within `patience`: counted by its absence.
            }
        }
    }
    let mut answered = format!("{replies} replies");
    if refused > 0 {
        answered += &format!(", then {refused} ICMP port unreachable (the server went away)");
    }
    Ok(Report {
        attack: "udp-garbage",
        did: format!("sent {sent} datagrams: empty, maximal and random"),
        answered,
        closed_by_server: 0,
        failure: None,
    })
}

/// The echoes of an attack with a right answer: how many were expected and came, what was
/// sent and what came back (in order), and what stopped them early, if anything.
struct Echoes {
    expected: usize,
    echoed: usize,
    sent: Checksum,
    got: Checksum,
    /// `None` if every expected echo came; else the error, or `None` inside for a clean close.
    stopped: Option<Option<io::Error>>,
}

impl Echoes {
    /// The report's `answered` and `failure`: `done` when every echo came back intact, and
    /// otherwise what went wrong (as both).
    fn verdict(&self, done: String) -> (String, Option<String>) {
        let text = match (&self.stopped, self.got.digest() == self.sent.digest()) {
            (None, true) => return (done, None),
            (None, false) => format!(
                "echoed all {} frames, but not the bytes sent (CRC-32 differs)",
                self.echoed
            ),
            (Some(end), _) => format!(
                "echoed {} of {} frames ({} of {}), {}",
                self.echoed,
                self.expected,
                bytes(self.got.len()),
                bytes(self.sent.len()),
                how_it_ended(end.as_ref())
            ),
        };
        (text.clone(), Some(text))
    }

    /// Connections the server closed early: this one, or none.
    fn closed(&self) -> usize {
        usize::from(self.stopped.is_some())
    }
}

// ANCHOR: full_duplex
/// One connection, two threads: one writes `total` bytes as frames of `frame_len` bytes
/// while the other reads the echoes, as a client streaming in both directions does. Ends when
/// every echo is back, the server closes, or `duration` has passed; compares the CRC-32 of
/// what came back with what was sent.
///
/// A server that reads only while it has nothing to write, or writes only when it has nothing
/// to read, stalls here once the socket buffers fill: chapter 7's level-triggered loops once
/// stopped after 1 to 3.5 MiB.
pub fn full_duplex(
    addr: SocketAddr,
    total: usize,
    frame_len: usize,
    duration: Duration,
) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let stream = connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(duration))?;
    let frame_len = frame_len.max(1);
    let expected = total.div_ceil(frame_len);
    let started = Instant::now();
    let echoes = thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut sent = Checksum::new();
            let mut rng = Generator::new(1);
            let mut chunk = vec![0u8; frame_len];
            let mut left = total;
            while left > 0 {
                let n = left.min(frame_len);
                rng.fill(&mut chunk[..n]);
                if (&stream).write_all(&wire::frame(&chunk[..n])).is_err() {
                    break; // The reader will say why: the server closed, or stalled.
                }
                sent.update(&chunk[..n]);
                left -= n;
            }
            sent
        });
        let mut got = Checksum::new();
        let mut reader = Until::new(&stream, started + duration);
        let (echoed, stopped) = read_echoes(&mut reader, expected, frame_len, &mut got);
        // Unblocks a writer still waiting for room: the attack is over either way.
        let _ = stream.shutdown(Shutdown::Both);
        let sent = writer.join().expect("the writer thread panicked");
        Echoes {
            expected,
            echoed,
            sent,
            got,
            stopped,
        }
    });
    let (answered, failure) = echoes.verdict(format!(
        "echoed all {expected} frames ({}) in {:.1?}, intact (CRC-32 matches)",
        bytes(echoes.got.len()),
        started.elapsed()
    ));
    Ok(Report {
        attack: "full-duplex",
        did: format!(
            "one thread wrote {} of {} as frames of {} while another read the echoes",
            bytes(echoes.sent.len()),
            bytes(total as u64),
            bytes(frame_len as u64)
        ),
        answered,
        closed_by_server: echoes.closed(),
        failure,
    })
}
// ANCHOR_END: full_duplex

/// Writes `frames` frames of `size` bytes back to back without reading anything and
/// half-closes ("that is all"), then reads every echo and checks that all came back, intact
/// and in order. Bounded by `duration`.
///
/// A server that handles one frame per `read` (and waits for the next readiness event for the
/// rest) leaves frames in its buffer that no event will ever announce; one that closes at the
/// client's FIN without sending the echoes still queued loses the last ones (chapter 7's event
/// loops once did).
pub fn pipelining(
    addr: SocketAddr,
    frames: usize,
    size: usize,
    duration: Duration,
) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let stream = connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(duration))?;
    let started = Instant::now();
    let mut rng = Generator::new(2);
    let mut sent = Checksum::new();
    let mut all = Vec::with_capacity(frames * (HEADER_LEN + size));
    let mut chunk = vec![0u8; size];
    for _ in 0..frames {
        rng.fill(&mut chunk);
        sent.update(&chunk);
        all.extend_from_slice(&wire::frame(&chunk));
    }
    let (written, wrote) = write_counted(&stream, &all);
    let did = format!(
        "wrote {frames} frames of {size} bytes ({}) back to back, then FIN, before reading",
        bytes(all.len() as u64)
    );
    if let Err(e) = wrote.and_then(|()| stream.shutdown(Shutdown::Write)) {
        let text = format!(
            "stopped taking requests after {} of {} (the client's write: {e})",
            bytes(written as u64),
            bytes(all.len() as u64)
        );
        return Ok(Report {
            attack: "pipelining",
            did,
            answered: text.clone(),
            closed_by_server: 1,
            failure: Some(text),
        });
    }
    let mut got = Checksum::new();
    let mut reader = Until::new(&stream, started + duration);
    let (echoed, stopped) = read_echoes(&mut reader, frames, size, &mut got);
    let echoes = Echoes {
        expected: frames,
        echoed,
        sent,
        got,
        stopped,
    };
    let (answered, failure) = echoes.verdict(format!(
        "echoed all {frames} in {:.1?}, intact and in order",
        started.elapsed()
    ));
    Ok(Report {
        attack: "pipelining",
        did,
        answered,
        closed_by_server: echoes.closed(),
        failure,
    })
}

/// Sends `frames` valid frames of `size` bytes, each one byte per `write(2)` with
/// `TCP_NODELAY` (so each byte leaves in a segment of its own), and reads each echo before the
/// next frame. Quick: each frame is whole within milliseconds, far inside any frame timeout;
/// this is a client on a link that delivers bytes one by one, not slowloris. Bounded by
/// `duration`.
pub fn byte_at_a_time(
    addr: SocketAddr,
    frames: usize,
    size: usize,
    duration: Duration,
) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let stream = connect(addr)?;
    stream.set_nodelay(true)?; // Without it, Nagle's algorithm would gather the bytes.
    stream.set_write_timeout(Some(duration))?;
    let started = Instant::now();
    let mut reader = Until::new(&stream, started + duration);
    let mut echoes = Echoes {
        expected: frames,
        echoed: 0,
        sent: Checksum::new(),
        got: Checksum::new(),
        stopped: None,
    };
    let mut rng = Generator::new(3);
    let mut chunk = vec![0u8; size];
    let mut writes = 0usize;
    'frames: for _ in 0..frames {
        rng.fill(&mut chunk);
        for byte in wire::frame(&chunk) {
            if let Err(e) = (&stream).write_all(&[byte]) {
                echoes.stopped = Some(Some(e));
                break 'frames;
            }
            writes += 1;
        }
        echoes.sent.update(&chunk);
        let (n, end) = read_echoes(&mut reader, 1, size, &mut echoes.got);
        echoes.echoed += n;
        if end.is_some() {
            echoes.stopped = end;
            break;
        }
    }
    let (answered, failure) = echoes.verdict(format!(
        "echoed all {frames} in {:.1?}, intact",
        started.elapsed()
    ));
    Ok(Report {
        attack: "byte-at-a-time",
        did: format!(
            "sent frames of {size} bytes one byte per write ({writes} writes for {frames} frames, \
             TCP_NODELAY)"
        ),
        answered,
        closed_by_server: echoes.closed(),
        failure,
    })
}

/// Bytes per write of [`steady_sender`]: coprime with its frame size, so the writes' edges
/// fall inside frames and the server almost never sees its buffer end on a frame boundary.
const STEADY_CHUNK: usize = 1337;
/// Frame payload of [`steady_sender`]: 1,000 bytes, 1,004 on the wire.
const STEADY_FRAME: usize = 1000;
/// The pause between [`steady_sender`]'s writes: the server reads between them.
const STEADY_PAUSE: Duration = Duration::from_millis(2);
/// How long [`steady_sender`] waits for the last echoes after it stops sending.
const STEADY_DRAIN: Duration = Duration::from_secs(5);

/// Sends complete frames continuously for `send_for` (make it longer than the server's frame
/// timeout), as writes of 1,337 bytes every 2 ms, so that almost every write ends inside a
/// frame; reads the echoes as it goes on another thread; then half-closes and expects every
/// echo, intact, before the server's close. Bounded by `send_for` + 5 s.
///
/// Each frame completes within milliseconds of its first byte, so a server must not cut this
/// client as a slow sender. One whose frame clock runs "while any partial frame is buffered"
/// instead of "since this frame's first byte" would: here a partial frame is almost always
/// buffered.
pub fn steady_sender(addr: SocketAddr, send_for: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let stream = connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(send_for + STEADY_DRAIN))?;
    let started = Instant::now();
    let (echoes, writer_error) = thread::scope(|s| {
        let writer = s.spawn(|| {
            let (mut sent, mut frames) = (Checksum::new(), 0usize);
            let mut rng = Generator::new(4);
            let mut chunk = vec![0u8; STEADY_FRAME];
            let mut pending: Vec<u8> = Vec::new();
            let mut out = &stream;
            let result = loop {
                while pending.len() < STEADY_CHUNK {
                    rng.fill(&mut chunk);
                    sent.update(&chunk);
                    frames += 1;
                    pending.extend_from_slice(&wire::frame(&chunk));
                }
                if started.elapsed() >= send_for {
                    // The rest of the frame in progress (and any whole ones queued), then FIN.
                    break out
                        .write_all(&pending)
                        .and_then(|()| out.shutdown(Shutdown::Write));
                }
                if let Err(e) = out.write_all(&pending[..STEADY_CHUNK]) {
                    break Err(e);
                }
                pending.drain(..STEADY_CHUNK);
                thread::sleep(STEADY_PAUSE); // Pacing the attack; nothing waits on it.
            };
            (sent, frames, result.err())
        });
        let mut got = Checksum::new();
        let mut reader = Until::new(&stream, started + send_for + STEADY_DRAIN);
        let (echoed, stopped) = read_echoes(&mut reader, usize::MAX, STEADY_FRAME, &mut got);
        let _ = stream.shutdown(Shutdown::Both);
        let (sent, expected, writer_error) = writer.join().expect("the writer thread panicked");
        // The right answer ends in a clean end of stream after every echo: the server closed
        // because we half-closed, having echoed everything.
        let stopped = match stopped {
            Some(None) if writer_error.is_none() && echoed == expected => None,
            other => Some(other.flatten()),
        };
        let echoes = Echoes {
            expected,
            echoed,
            sent,
            got,
            stopped,
        };
        (echoes, writer_error)
    });
    let took = started.elapsed();
    let (mut answered, mut failure) = echoes.verdict(format!(
        "echoed all {} frames in {took:.1?}, intact, and closed only after the client's FIN",
        echoes.expected
    ));
    if let (Some(f), Some(e)) = (&mut failure, writer_error) {
        *f += &format!(", after {took:.1?} (the client's writes: {e})");
        answered.clone_from(f);
    }
    Ok(Report {
        attack: "steady-sender",
        did: format!(
            "sent {} complete frames of {STEADY_FRAME} bytes without a pause for {send_for:?}, \
             {STEADY_CHUNK} bytes every {STEADY_PAUSE:?}",
            echoes.expected
        ),
        answered,
        closed_by_server: echoes.closed(),
        failure,
    })
}

/// The receive buffer [`slow_reader`] asks for (the kernel may round it up, and Linux doubles
/// it for its own bookkeeping).
const SLOW_RCVBUF: usize = 4096;
/// Bytes [`slow_reader`] reads at a time.
const SLOW_SIP: usize = 16;
/// The pause between [`slow_reader`]'s reads.
const SLOW_PAUSE: Duration = Duration::from_millis(20);

/// A connection with a tiny receive buffer (`SO_RCVBUF` set before `connect`, so the window it
/// advertises is small from the start) sends 16 KiB echo requests, up to `max_bytes`, from one
/// thread, and reads the replies 16 bytes every 20 ms on another, for `duration`. Its window
/// is nearly always zero: the server can only hold its replies, or stop reading, or close.
/// Every byte it does read must be the echo of what it sent, in order.
///
/// With `half_close`, for servers that answer a request at the client's FIN (chapter 5's):
/// the requests are one request, followed by `shutdown(Write)`, and the reply is read the same
/// slow way (its bytes are not checked: their format is the server's).
pub fn slow_reader(
    addr: SocketAddr,
    max_bytes: usize,
    half_close: bool,
    duration: Duration,
) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_recv_buffer_size(SLOW_RCVBUF)?;
    socket
        .connect_timeout(&addr.into(), CONNECT_PATIENCE)
        .map_err(|e| nothing_at(addr, &e))?;
    let stream: TcpStream = socket.into();
    stream.set_write_timeout(Some(duration))?;
    let request = wire::frame(&payload(5, 16 * 1024));
    let started = Instant::now();
    let (sent, read, mismatch, stopped) = thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut sent = 0usize;
            while sent < max_bytes {
                let n = request.len().min(max_bytes - sent);
                if (&stream).write_all(&request[..n]).is_err() {
                    return sent;
                }
                sent += n;
            }
            if half_close {
                let _ = stream.shutdown(Shutdown::Write); // The request is complete.
            }
            sent
        });
        let (mut read, mut mismatch, mut stopped) = (0usize, false, None);
        let mut sip = [0u8; SLOW_SIP];
        let mut reader = Until {
            stream: &stream,
            deadline: started + duration,
        };
        loop {
            match reader.read(&mut sip) {
                Ok(0) => {
                    stopped = Some(None);
                    break;
                }
                Ok(n) => {
                    // The echo stream is the request stream: byte `read` is request[read % len].
                    mismatch |= !half_close
                        && sip[..n]
                            .iter()
                            .zip(read..)
                            .any(|(b, at)| *b != request[at % request.len()]);
                    read += n;
                }
                Err(e) if e.kind() == ErrorKind::TimedOut => break, // Our time is up.
                Err(e) => {
                    stopped = Some(Some(e));
                    break;
                }
            }
            if started.elapsed() >= duration {
                break;
            }
            thread::sleep(SLOW_PAUSE); // The attack: reading, but barely.
        }
        let _ = stream.shutdown(Shutdown::Both);
        (
            writer.join().expect("the writer thread panicked"),
            read,
            mismatch,
            stopped,
        )
    });
    let rcvbuf = SockRef::from(&stream).recv_buffer_size().unwrap_or(0);
    let ended = match &stopped {
        None => format!("no end of stream after {duration:?}"),
        Some(end) => format!(
            "{} after {:.1?}",
            how_it_ended(end.as_ref()).trim_start_matches("then "),
            started.elapsed()
        ),
    };
    let failure =
        mismatch.then(|| format!("the {read} bytes read back were not the echo of the requests"));
    Ok(Report {
        attack: "slow-reader",
        did: format!(
            "sent {} of {} with a {rcvbuf}-byte receive buffer, reading {SLOW_SIP} bytes every {SLOW_PAUSE:?}",
            bytes(sent as u64),
            if half_close {
                "request, then FIN,"
            } else {
                "requests"
            }
        ),
        answered: format!(
            "{} read back, {}; {ended}",
            bytes(read as u64),
            match (half_close, mismatch) {
                (true, _) => "not checked",
                (false, false) => "intact",
                (false, true) => "NOT the echo",
            }
        ),
        closed_by_server: usize::from(stopped.is_some()),
        failure,
    })
}

/// Writes `count` zero-length frames (4 bytes each, all zero) from one thread while another
/// counts the bytes echoed; then half-closes and reads to the end. The right answer is
/// exactly 4 bytes back per frame, all zero, no more and no fewer: a frame with no payload
/// must cost the server one header's work, not a loop. Bounded by `duration`.
pub fn empty_frames(addr: SocketAddr, count: usize, duration: Duration) -> io::Result<Report> {
    let addr = loopback_only(addr)?;
    let stream = connect(addr)?;
    stream.set_write_timeout(Some(duration))?;
    let expected = count * HEADER_LEN;
    let started = Instant::now();
    let (got, nonzero, stopped) = thread::scope(|s| {
        s.spawn(|| {
            let block = vec![0u8; 64 * 1024]; // 16,384 empty frames.
            let mut left = expected;
            while left > 0 {
                let n = left.min(block.len());
                if (&stream).write_all(&block[..n]).is_err() {
                    return; // The reader will say why.
                }
                left -= n;
            }
            let _ = stream.shutdown(Shutdown::Write); // All sent: the server may close.
        });
        let mut reader = Until::new(&stream, started + duration);
        let (mut got, mut nonzero) = (0usize, false);
        let mut buf = vec![0u8; 64 * 1024];
        // Read to the end of stream: every echo, and anything extra the server sends.
        let stopped = loop {
            match reader.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    nonzero |= buf[..n].iter().any(|b| *b != 0);
                    got += n;
                }
                Err(e) => break Some(e),
            }
        };
        let _ = stream.shutdown(Shutdown::Both);
        (got, nonzero, stopped)
    });
    let took = started.elapsed();
    let (answered, failure) = match (got.cmp(&expected), nonzero, &stopped) {
        (std::cmp::Ordering::Equal, false, None) => (
            format!(
                "echoed exactly {} in {took:.1?}, then closed after the client's FIN",
                bytes(got as u64)
            ),
            None,
        ),
        (std::cmp::Ordering::Equal, false, Some(e)) => (
            // Every echo is here: what the server does after our FIN is not this attack's
            // question.
            format!(
                "echoed exactly {}, then did not close after the client's FIN ({e})",
                bytes(got as u64)
            ),
            None,
        ),
        (order, nonzero, stopped) => {
            let text = format!(
                "echoed {} of {}{}{}, {}",
                bytes(got as u64),
                bytes(expected as u64),
                if order == std::cmp::Ordering::Greater {
                    " (more than was sent)"
                } else {
                    ""
                },
                if nonzero { ", with non-zero bytes" } else { "" },
                how_it_ended(stopped.as_ref())
            );
            (text.clone(), Some(text))
        }
    };
    Ok(Report {
        attack: "empty-frames",
        did: format!("wrote {count} zero-length frames while reading the echoes"),
        answered,
        closed_by_server: usize::from(failure.is_some()),
        failure,
    })
}
