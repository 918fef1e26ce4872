//! Chapter 6's dead peers on the wire lab, where every packet sent into a cut can be seen.
//!
//! On loopback a peer cannot vanish. On the wire lab (`socklab_wire`: two network namespaces
//! joined by a link run in user space, `5 ms` each way) the link can be cut, the way a pulled
//! cable, a dead host or a firewall that drops everything cuts a real path, and it records
//! every packet sent into the cut (`[dropped: cut]`):
//!
//! - [`connect_into_a_black_hole`]: `connect(2)` with a timeout (std's `connect_timeout`)
//!   towards a host behind a cut: the SYN retransmitted, then abandoned;
//! - [`keepalive`]: `SO_KEEPALIVE` with `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT`: the
//!   probes on the wire, answered while the peer lives, and `ETIMEDOUT` once they are not;
//! - [`user_timeout`]: `TCP_USER_TIMEOUT` (Linux) fails unacknowledged data after that time,
//!   while a connection without it retransmits, backing off.
//!
//! `cargo run -p timeouts-demo -- demo --wire` runs them with the narration and each one's
//! packets; the tests in `tests/dead_peers.rs` assert on the same packets. Each experiment
//! leaves the link cut; the demo restores it between them. Host A (`10.77.0.1`) is the
//! client, host B (`10.77.0.2`) the server.

#[cfg(target_os = "linux")]
use std::io::Write;
use std::io::{self, Read};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use socklab_support::Narrator;
use socklab_wire::demo::Shown;
use socklab_wire::lab::STEP_TIMEOUT;
use socklab_wire::{Direction, Host, Lab, LinkConfig, Packet, Tcp, Trace};

use crate::keepalive::enable_keepalive;
#[cfg(target_os = "linux")]
use crate::keepalive::set_user_timeout;

const MS: Duration = Duration::from_millis(1);

/// The experiments' link: `5 ms` each way, a round trip of `10 ms`.
pub fn link() -> LinkConfig {
    LinkConfig {
        delay: 5 * MS,
        ..LinkConfig::default()
    }
}

/// When the sender sent a segment, in milliseconds on its own clock: the timestamp option's
/// TSval, which Linux puts in every segment (`None` for a segment without one). Gaps between
/// two segments' TSvals are the gaps between their sending, whatever queue the link read them
/// from.
pub fn sent_ms(t: &Tcp) -> Option<u32> {
    t.timestamp().map(|(val, _)| val)
}

/// The gaps, in milliseconds of the sender's clock, between consecutive segments (`None` if a
/// segment carries no timestamp).
pub fn gaps_ms(segments: &[(&Packet, &Tcp)]) -> Option<Vec<u32>> {
    segments
        .windows(2)
        .map(|w| Some(sent_ms(w[1].1)?.wrapping_sub(sent_ms(w[0].1)?)))
        .collect()
}

// ANCHOR: black_hole
/// Reads a sysctl of a lab host's network namespace (the files under `/proc/sys/net` belong
/// to the namespace of the thread that opens them); `None` if this kernel does not have it.
pub fn sysctl(host: &Host, name: &str) -> io::Result<Option<u32>> {
    let path = format!("/proc/sys/net/ipv4/{name}");
    let Ok(text) = host.run(|| std::fs::read_to_string(path))? else {
        return Ok(None);
    };
    let value = text.trim().parse().map_err(|e| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {text:?}: {e}"))
    })?;
    Ok(Some(value))
}

/// The SYNs sent to `port`.
pub fn syns(lab: &Lab, port: u16) -> Trace {
    lab.trace()
        .port(port)
        .only(|p| p.tcp().is_some_and(Tcp::is_syn))
}

/// What a connect into a black hole did.
#[derive(Debug)]
pub struct BlackHole {
    /// What `connect_timeout` returned.
    pub result: io::Result<()>,
    /// How long it took to return, on the lab's clock.
    pub took: Duration,
}

/// Cuts the link (both ways; it stays cut), then connects from A to B's `port` with
/// `timeout`: nothing needs to listen at B, since no SYN gets there.
pub fn connect_into_a_black_hole(lab: &Lab, port: u16, timeout: Duration) -> io::Result<BlackHole> {
    lab.link().cut(true);
    let to = lab.b().addr(port);
    let called = lab.now();
    // The socket is made on a thread inside host A, so it is A's.
    let result = lab.a().run(|| TcpStream::connect_timeout(&to, timeout))?;
    Ok(BlackHole {
        result: result.map(drop),
        took: lab.now() - called,
    })
}
// ANCHOR_END: black_hole

/// What keepalive did for a connection whose peer went silent.
#[derive(Debug)]
pub struct Keepalive {
    /// What the blocked `read` failed with.
    pub error: io::Error,
    /// When it failed, on the lab's clock.
    pub failed_at: Duration,
    /// The connection's packets, up to the RST the kernel sent on giving up.
    pub trace: Trace,
}

// ANCHOR: keepalive
/// A connection from A to B's `port`, keepalive on at A with `idle`, `interval` and `count`;
/// B sends nothing after the handshake but its kernel answers the probes. Once B has answered
/// the first probe, the link is cut (it stays cut), and A reads until keepalive gives up.
/// Returns the read's error, when it came, and the packets once the RST that A's kernel sends
/// on giving up has reached the link.
pub fn keepalive(
    lab: &Lab,
    port: u16,
    idle: Duration,
    interval: Duration,
    count: u32,
) -> io::Result<Keepalive> {
    let (client, _server) = lab.connect(port)?;
    enable_keepalive(&client, idle, interval, count)?;
    lab.wait_for(port, "the peer's answer to the first probe", |p, t| {
        p.direction == Direction::BToA && !t.flags.syn
    })?;
    lab.link().cut(true);
    // Bounded: a keepalive that never gives up fails here with a read timeout instead.
    client.set_read_timeout(Some(idle + interval * count + STEP_TIMEOUT))?;
    let error = match (&client).read(&mut [0u8; 1]) {
        Ok(n) => return Err(io::Error::other(format!("a dead peer sent {n} bytes"))),
        Err(e) => e,
    };
    let failed_at = lab.now();
    // Giving up, the kernel sends a RST (into the cut); wait until the link has read it.
    let trace = lab.wait_for(port, "the RST sent on giving up", |p, t| {
        p.direction == Direction::AToB && t.flags.rst
    })?;
    Ok(Keepalive {
        error,
        failed_at,
        trace,
    })
}
// ANCHOR_END: keepalive

/// What two connections writing into a cut did, one with `TCP_USER_TIMEOUT`, one without.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub struct UserTimeout {
    /// `TCP_USER_TIMEOUT` as read back after setting it.
    pub set: Option<Duration>,
    /// What the bounded connection's blocked `read` failed with.
    pub error: io::Error,
    /// How long after the write it failed, on the lab's clock.
    pub failed_after: Duration,
    /// The connection without the option: still open, its data still unacknowledged.
    pub unbounded: TcpStream,
    /// B's ends of both connections, kept open so that only the cut stops the data.
    pub peers: [TcpStream; 2],
}

// ANCHOR: user_timeout
/// Two connections from A to B (`bounded_port` and `unbounded_port`), the first with
/// `TCP_USER_TIMEOUT` set to `timeout`; the link is cut under both (it stays cut), and A
/// writes `100` bytes on each, then reads on the bounded one until it fails.
#[cfg(target_os = "linux")] // TCP_USER_TIMEOUT is Linux's.
pub fn user_timeout(
    lab: &Lab,
    bounded_port: u16,
    unbounded_port: u16,
    timeout: Duration,
) -> io::Result<UserTimeout> {
    let (bounded, b1) = lab.connect(bounded_port)?;
    let (unbounded, b2) = lab.connect(unbounded_port)?;
    let set = set_user_timeout(&bounded, timeout)?;
    lab.link().cut(true);
    let wrote_at = lab.now();
    (&bounded).write_all(&[1; 100])?;
    (&unbounded).write_all(&[2; 100])?;
    // Bounded by the read timeout `lab.connect` set: far longer than the user timeout.
    let error = match (&bounded).read(&mut [0u8; 1]) {
        Ok(n) => return Err(io::Error::other(format!("a dead peer sent {n} bytes"))),
        Err(e) => e,
    };
    Ok(UserTimeout {
        set,
        error,
        failed_after: lab.now() - wrote_at,
        unbounded,
        peers: [b1, b2],
    })
}
// ANCHOR_END: user_timeout

/// The data segments A sent in `trace`.
pub fn data_from_a(trace: &Trace) -> Vec<(&Packet, &Tcp)> {
    trace
        .tcp()
        .filter(|(p, t)| p.direction == Direction::AToB && t.payload_len > 0)
        .collect()
}

/// A duration in milliseconds, as the narration prints it.
fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// `timeouts-demo demo --wire`: the experiments above on one lab (ports 7001 to 7004), each
/// narrated and followed by its packets; with `pcap`, the packets shown are also saved there
/// (even when an experiment fails, to see why). Without a lab, the error says why and how to
/// allow it.
pub fn demo(n: &Narrator, pcap: Option<&Path>) -> io::Result<()> {
    socklab_wire::demo::run(n, link(), pcap, |lab, shown| run_on(n, lab, shown))
}

/// The gaps between `segments`, as the narration prints them.
fn gaps(segments: &[(&Packet, &Tcp)]) -> String {
    gaps_ms(segments).map_or_else(|| "(no timestamps)".into(), |g| format!("{g:?} ms"))
}

fn run_on(n: &Narrator, lab: &Lab, shown: &mut Shown) -> io::Result<()> {
    n.explain(&format!(
        "The wire lab: host A (10.77.0.1) is the client, host B (10.77.0.2) the server, on a\n\
         link of {:?} each way that each experiment cuts. Under each experiment, its packets\n\
         in tcpdump's notation; times are on the lab's clock, gaps on A's (the segments'\n\
         timestamps).",
        link().delay
    ));

    n.heading("1. connect() into a black hole, with a timeout of 1.5 s");
    let timeout = 1500 * MS;
    let hole = connect_into_a_black_hole(lab, 7001, timeout)?;
    let sent = syns(lab, 7001);
    n.step("link", "cut: every packet is dropped, and nothing answers");
    n.step(
        "host A",
        &format!(
            "connect_timeout({timeout:?}) -> {} after {}",
            match &hole.result {
                Ok(()) => "Ok(())".to_string(),
                Err(e) => format!("Err({:?})", e.kind()),
            },
            ms(hole.took)
        ),
    );
    n.step(
        "link",
        &format!(
            "{} SYNs, the same one each time, {} apart",
            sent.len(),
            gaps(&sent.tcp().collect::<Vec<_>>())
        ),
    );
    shown.all(n, sent);
    n.explain(
        "No SYN-ACK and no RST: the kernel sends the SYN again when its timer fires. The\n\
         timeout does not shorten that schedule; it abandons the attempt.",
    );
    lab.link().cut(false);

    n.heading("2. Keepalive: a probe answered, then probes into a cut");
    let (idle, interval, count) = (Duration::from_secs(1), Duration::from_secs(1), 1);
    let k = keepalive(lab, 7002, idle, interval, count)?;
    n.step(
        "host A",
        &format!(
            "SO_KEEPALIVE on, TCP_KEEPIDLE {idle:?}, TCP_KEEPINTVL {interval:?}, TCP_KEEPCNT \
             {count}; read() on a silent peer"
        ),
    );
    n.step("link", "cut once B has answered the first probe");
    // B's answer to the first probe: the last word from B before the cut.
    let last_heard = k
        .trace
        .tcp()
        .find(|(p, t)| p.direction == Direction::BToA && !t.flags.syn)
        .and_then(|(p, _)| p.arrived());
    n.step(
        "host A",
        &format!(
            "read() -> Err({:?}), {} after B's answer, its last word",
            k.error.kind(),
            last_heard.map_or_else(|| "?".into(), |t| ms(k.failed_at - t))
        ),
    );
    shown.all(n, k.trace);
    n.explain(
        "A probe is a bare ACK one byte behind (seq 0, shown as \"ack 1\"), so the peer must\n\
         answer. Unanswered for TCP_KEEPCNT intervals, the kernel sends a RST and the read\n\
         fails with ETIMEDOUT.",
    );
    lab.link().cut(false);

    #[cfg(target_os = "linux")]
    {
        n.heading("3. TCP_USER_TIMEOUT of 1 s: unacknowledged data fails the connection");
        let timeout = Duration::from_secs(1);
        let u = user_timeout(lab, 7003, 7004, timeout)?;
        n.step(
            "host A",
            &format!(
                "two connections, TCP_USER_TIMEOUT {:?} on the one to port 7003 only",
                u.set.unwrap_or_default()
            ),
        );
        n.step("link", "cut; then A writes 100 bytes on each");
        n.step(
            "host A",
            &format!(
                "7003: read() -> Err({:?}) {} after the write",
                u.error.kind(),
                ms(u.failed_after)
            ),
        );
        let trace = lab
            .trace()
            .only(|p| p.involves_port(7003) || p.involves_port(7004));
        let unbounded = data_from_a(&trace)
            .into_iter()
            .filter(|(_, t)| t.dst_port == 7004)
            .collect::<Vec<_>>();
        n.step(
            "host A",
            &format!(
                "7004: still open ({}), its data sent {} times so far, {} apart",
                match u.unbounded.take_error()? {
                    None => "no error".to_string(),
                    Some(e) => e.to_string(),
                },
                unbounded.len(),
                gaps(&unbounded)
            ),
        );
        shown.all(n, trace);
        n.explain(
            "Each resend waits longer than the one before (the retransmission timer doubles);\n\
             without TCP_USER_TIMEOUT it would go on for about 15 minutes (tcp_retries2).",
        );
    }
    Ok(())
}
