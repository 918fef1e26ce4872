//! Chapter 2's experiments on the wire lab, where the link itself loses, reorders and
//! fragments datagrams.
//!
//! On loopback a datagram is lost only when a receive buffer is full, and no datagram is ever
//! cut into pieces: the MTU is 64 KiB. On the wire lab (`socklab_wire`: two network
//! namespaces joined by a link run in user space, `5 ms` each way, an MTU of `1500` bytes like
//! Ethernet's) the *link* misbehaves, as a network does, and its trace says of every datagram
//! what became of it:
//!
//! - [`retrying_client`]: the chapter's retrying [`Client`] against its echo [`Server`], over
//!   a link that loses and reorders ([`lossy_link`]): every reply still comes, and each retry
//!   answers a datagram the link lost or held back;
//! - [`fragments`]: datagrams larger than the MTU leave as IP fragments; one fragment lost,
//!   and the whole datagram is lost;
//! - [`refuse_to_fragment`]: with `IP_MTU_DISCOVER` set to `IP_PMTUDISC_DO` (ip(7)), `sendto(2)`
//!   fails with `EMSGSIZE` instead of fragmenting (Linux).
//!
//! `cargo run -p udp-demo -- demo --wire` runs them with the narration and each one's packets;
//! the tests in `tests/bad_link.rs` assert on the same packets. Host A (`10.77.0.1`) is the
//! client, host B (`10.77.0.2`) the server.

use std::collections::BTreeMap;
use std::io::{self, ErrorKind};
use std::net::UdpSocket;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[cfg(target_os = "linux")]
use nix::libc;
#[cfg(target_os = "linux")]
use nix::sys::socket::{getsockopt, setsockopt};
#[cfg(target_os = "linux")]
use nix::{getsockopt_impl, setsockopt_impl, sockopt_impl};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, wait};
use socklab_wire::demo::Shown;
use socklab_wire::lab::STEP_TIMEOUT;
use socklab_wire::{DropReason, Lab, LinkConfig, Packet, Trace};

use crate::echo::{Faults, Server};
use crate::reliable::{Client, ClientStats};

const MS: Duration = Duration::from_millis(1);

/// The one-way delay of every link here: a round trip of `10 ms`.
pub const DELAY: Duration = Duration::from_millis(5);

// ANCHOR: lossy_link
/// The bad link: `10%` of datagrams lost and `10%` held back `50 ms` (overtaken by the ones
/// sent after them), each way, from seed `7`.
pub fn lossy_link() -> LinkConfig {
    LinkConfig {
        delay: DELAY,
        loss: 0.1,
        reorder: 0.1,
        reorder_hold: 50 * MS,
        seed: 7,
        ..LinkConfig::default()
    }
}
// ANCHOR_END: lossy_link

/// The UDP payload of a packet the trace kept: after the IPv4 header (its length is in its
/// first byte) and the 8-byte UDP header.
pub fn udp_payload(p: &Packet) -> &[u8] {
    let ip_header = usize::from(p.bytes[0] & 0x0f) * 4;
    p.bytes.get(ip_header + 8..).unwrap_or_default()
}

/// The sequence number at the front of a request or reply of the retrying client (`None`
/// for a datagram too short to carry one).
pub fn seq(p: &Packet) -> Option<u64> {
    let front = udp_payload(p).get(..8)?;
    Some(u64::from_be_bytes(front.try_into().ok()?))
}

/// Whether the link held `p` back (reordered): delivered later than the link's delay.
pub fn held_back(p: &Packet) -> bool {
    p.arrived().is_some_and(|at| at - p.time > DELAY)
}

/// What the retrying client did over the bad link.
#[derive(Debug)]
pub struct Retries {
    /// The client's counters: requests completed, retries, stale replies thrown away.
    pub stats: ClientStats,
    /// The datagrams of the experiment's port, each way, with their fates.
    pub trace: Trace,
}

// ANCHOR: retrying_client
/// The chapter's echo server on B at `port` (no faults of its own: only the link's), and its
/// retrying client on A, waiting `per_try` for each reply, up to `20` tries: `requests`
/// requests, each reply checked against its request. Returns the client's counters and the
/// datagrams of `port`.
pub fn retrying_client(
    lab: &Lab,
    port: u16,
    requests: usize,
    per_try: Duration,
) -> io::Result<Retries> {
    let (a, b) = (lab.a(), lab.b());
    let socket = b.run(|| UdpSocket::bind(b.addr(port)))??;
    let stop = Stop::new()?;
    Server::new(socket, Faults::default())
        .with_log(Arc::new(Narrator::silent()))
        .with_stop(stop.clone())
        .spawn()?;
    // The client's socket is made inside host A, so it is A's.
    let socket = a.run(|| UdpSocket::bind(a.addr(0)))??;
    let mut client = Client::with_socket(socket, b.addr(port), per_try, 20)?;
    let asked = (0..requests).try_for_each(|i| {
        let request = format!("request {i}");
        let reply = client.request(request.as_bytes())?;
        match reply == request.as_bytes() {
            true => Ok(()),
            false => Err(io::Error::other(format!(
                "the reply to {request} was another's"
            ))),
        }
    });
    stop.trigger();
    asked?;
    let trace = lab.trace().port(port).only(|p| p.udp().is_some());
    Ok(Retries {
        stats: client.stats,
        trace,
    })
}
// ANCHOR_END: retrying_client

/// Whether `p` is an IPv4 fragment: "more fragments" set, or a fragment offset (the flags and
/// offset field, bytes 6 and 7 of the header).
pub fn is_fragment(p: &Packet) -> bool {
    !p.ipv6 && p.bytes.len() >= 8 && u16::from_be_bytes([p.bytes[6], p.bytes[7]]) & 0x3fff != 0
}

/// The IP identification field: the same in every fragment of one datagram.
pub fn ip_id(p: &Packet) -> u16 {
    u16::from_be_bytes([p.bytes[4], p.bytes[5]])
}

/// How many fragments a UDP datagram of `payload` bytes leaves as over IPv4 at `mtu`: each
/// fragment carries up to the MTU less the 20-byte IP header, rounded down to 8 bytes (the
/// offset counts in 8-byte units), and the first also carries the 8-byte UDP header.
pub fn fragments_per_datagram(payload: usize, mtu: u16) -> usize {
    let per_fragment = (usize::from(mtu) - 20) / 8 * 8;
    (payload + 8).div_ceil(per_fragment)
}

/// One datagram of the fragments experiment.
#[derive(Debug)]
pub struct Datagram {
    /// Its IP identification.
    pub id: u16,
    /// Its fragments, as the link saw them.
    pub fragments: Vec<Packet>,
    /// The length B's `recv` returned for it, if B received it.
    pub received: Option<usize>,
}

impl Datagram {
    /// How many of its fragments the link delivered.
    pub fn delivered(&self) -> usize {
        self.fragments
            .iter()
            .filter(|p| p.dropped().is_none())
            .count()
    }
}

/// What the fragments experiment saw.
#[derive(Debug)]
pub struct Fragments {
    /// Every datagram, in the order sent.
    pub datagrams: Vec<Datagram>,
    /// Datagram numbers B received that this experiment did not send: there should be none.
    pub strays: Vec<u32>,
    /// The fragments, in the order they reached the link.
    pub trace: Trace,
}

// ANCHOR: fragments
/// A sends `count` datagrams of `size` bytes to B's `port`, each numbered in its first 4
/// bytes; B receives what its kernel could put back together. Returns each datagram's
/// fragments, as the link recorded them, and what B received of it.
pub fn fragments(lab: &Lab, port: u16, count: u32, size: usize) -> io::Result<Fragments> {
    let (a, b) = (lab.a(), lab.b());
    let receiver = b.run(|| UdpSocket::bind(b.addr(port)))??;
    let sender = a.run(|| UdpSocket::bind(a.addr(0)))??;
    let start = lab.now();
    for i in 0..count {
        let mut datagram = vec![0u8; size];
        datagram[..4].copy_from_slice(&i.to_be_bytes());
        sender.send_to(&datagram, b.addr(port))?; // One call; IP cuts it in pieces.
    }
    // Every fragment has reached the link: the link has decided every fate.
    let expected = count as usize * fragments_per_datagram(size, lab.link().config().mtu);
    let ours = || lab.trace().only(|p| p.time >= start && is_fragment(p));
    wait::until(STEP_TIMEOUT, "every fragment on the link", || {
        ours().len() >= expected
    })?;
    let trace = ours();
    let mut datagrams: Vec<Datagram> = Vec::new();
    for p in trace.iter() {
        match datagrams.iter_mut().find(|d| d.id == ip_id(p)) {
            Some(d) => d.fragments.push(p.clone()),
            None => datagrams.push(Datagram {
                id: ip_id(p),
                fragments: vec![p.clone()],
                received: None,
            }),
        }
    }
    // B's kernel reassembles each datagram as its fragments come. Wait for every datagram
    // whose fragments were all delivered; then take whatever else is there.
    let whole = datagrams
        .iter()
        .filter(|d| d.delivered() == d.fragments.len())
        .count();
    let mut received: BTreeMap<u32, usize> = BTreeMap::new();
    let mut buf = vec![0u8; crate::RECV_BUF];
    receiver.set_read_timeout(Some(STEP_TIMEOUT))?;
    let mut take = |received: &mut BTreeMap<u32, usize>| -> io::Result<bool> {
        match receiver.recv(&mut buf) {
            Ok(n) => {
                let number = buf.get(..4).and_then(|b| b.try_into().ok());
                received.insert(number.map_or(u32::MAX, u32::from_be_bytes), n);
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    };
    while received.len() < whole && take(&mut received)? {}
    receiver.set_nonblocking(true)?;
    while take(&mut received)? {}
    let mut strays = Vec::new();
    for (number, len) in received {
        match datagrams.get_mut(number as usize) {
            Some(d) => d.received = Some(len),
            None => strays.push(number),
        }
    }
    Ok(Fragments {
        datagrams,
        strays,
        trace,
    })
}
// ANCHOR_END: fragments

// `IP_MTU_DISCOVER`, which nix does not wrap, declared with nix's own macro for options
// (ip(7)): `IP_PMTUDISC_WANT` by default, `IP_PMTUDISC_DO` to forbid fragmenting. Linux's.
#[cfg(target_os = "linux")]
sockopt_impl!(
    /// `IP_MTU_DISCOVER` (ip(7)): whether this socket's datagrams may be fragmented.
    IpMtuDiscover,
    Both,
    libc::IPPROTO_IP,
    libc::IP_MTU_DISCOVER,
    libc::c_int
);

/// The name of an `IP_MTU_DISCOVER` value (ip(7)).
#[cfg(target_os = "linux")]
pub fn pmtudisc_name(value: libc::c_int) -> String {
    match value {
        libc::IP_PMTUDISC_DONT => "IP_PMTUDISC_DONT".into(),
        libc::IP_PMTUDISC_WANT => "IP_PMTUDISC_WANT".into(),
        libc::IP_PMTUDISC_DO => "IP_PMTUDISC_DO".into(),
        libc::IP_PMTUDISC_PROBE => "IP_PMTUDISC_PROBE".into(),
        other => other.to_string(),
    }
}

/// What a socket that refuses to fragment did.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub struct Refused {
    /// `IP_MTU_DISCOVER` as the socket had it before: not `IP_PMTUDISC_DO`.
    pub default: libc::c_int,
    /// What the send of the datagram too large for the link returned.
    pub too_large: io::Result<usize>,
    /// Every packet that reached the link from the first send on: the datagram that fits,
    /// and, if the option failed, the other's fragments.
    pub trace: Trace,
}

// ANCHOR: refuse_to_fragment
/// A sets `IP_MTU_DISCOVER` to `IP_PMTUDISC_DO` on its socket, then sends B's `port` one
/// datagram of `size` bytes, larger than the link's MTU, and one of `fits` bytes. Returns the
/// option's default, what the first send returned, and the packets once the second datagram
/// has reached the link.
#[cfg(target_os = "linux")] // IP_MTU_DISCOVER is Linux's (ip(7)).
pub fn refuse_to_fragment(lab: &Lab, port: u16, size: usize, fits: usize) -> io::Result<Refused> {
    let (a, b) = (lab.a(), lab.b());
    let _receiver = b.run(|| UdpSocket::bind(b.addr(port)))??;
    let sender = a.run(|| UdpSocket::bind(a.addr(0)))??;
    let default = getsockopt(&sender, IpMtuDiscover)?;
    setsockopt(&sender, IpMtuDiscover, &libc::IP_PMTUDISC_DO)?; // The "don't fragment" bit.
    let start = lab.now();
    let too_large = sender.send_to(&vec![0u8; size], b.addr(port));
    sender.send_to(&vec![0u8; fits], b.addr(port))?;
    let fitted = |p: &Packet| p.udp().is_some_and(|u| u.payload_len == fits);
    let since = || lab.trace().only(|p| p.time >= start);
    wait::until(STEP_TIMEOUT, "the datagram that fits", || {
        since().iter().any(fitted)
    })?;
    Ok(Refused {
        default,
        too_large,
        trace: since(),
    })
}
// ANCHOR_END: refuse_to_fragment

/// `udp-demo demo --wire`: the experiments above on one lab (ports 9001 to 9003), each
/// narrated and followed by its packets (the first ones of a long run); with `pcap`, the
/// packets shown are also saved there (even when an experiment fails, to see why). Without a
/// lab, the error says why and how to allow it.
pub fn demo(n: &Narrator, pcap: Option<&Path>) -> io::Result<()> {
    socklab_wire::demo::run(n, lossy_link(), pcap, |lab, shown| run_on(n, lab, shown))
}

/// How many packets of a long run the demo prints.
const FIRST: usize = 16;

fn run_on(n: &Narrator, lab: &Lab, shown: &mut Shown) -> io::Result<()> {
    let config = lossy_link();
    n.explain(&format!(
        "The wire lab: host A (10.77.0.1) is the client, host B (10.77.0.2) the server, on a\n\
         link of {:?} each way with an MTU of {} bytes. Under each experiment, its packets in\n\
         tcpdump's notation; times are on the lab's clock.",
        config.delay, config.mtu
    ));

    n.heading("1. The retrying client over a link that loses and reorders datagrams");
    let requests = 12;
    let r = retrying_client(lab, 9001, requests, 40 * MS)?;
    n.step(
        "link",
        &format!(
            "loses {:.0}% of the datagrams each way and holds {:.0}% back {:?}",
            config.loss * 100.0,
            config.reorder * 100.0,
            config.reorder_hold
        ),
    );
    n.step(
        "host A",
        &format!(
            "{} of {requests} requests answered, each reply checked; {} retries, {} stale \
             replies thrown away",
            r.stats.completed, r.stats.retries, r.stats.stale_replies
        ),
    );
    let lost = r
        .trace
        .iter()
        .filter(|p| p.dropped() == Some(DropReason::Loss))
        .count();
    let late = r.trace.iter().filter(|p| held_back(p)).count();
    n.step(
        "link",
        &format!(
            "of {} datagrams on the wire, {lost} lost and {late} held back",
            r.trace.len()
        ),
    );
    shown.some(n, &r.trace, |i, _| i < FIRST);
    n.explain(
        "A lost datagram is marked [dropped: loss]; a held-back one crosses all the same, late,\n\
         and its reply is thrown away as stale if a retry's reply came first.",
    );

    n.heading("2. Datagrams larger than the MTU leave as fragments; one lost loses all");
    lab.link().set(LinkConfig {
        loss: 0.2,
        reorder: 0.0,
        ..config.clone()
    })?;
    let (count, size) = (10, 4000);
    let f = fragments(lab, 9002, count, size)?;
    let per = fragments_per_datagram(size, config.mtu);
    let partly = f
        .datagrams
        .iter()
        .filter(|d| (1..d.fragments.len()).contains(&d.delivered()))
        .count();
    let partly_received = f
        .datagrams
        .iter()
        .filter(|d| d.delivered() < d.fragments.len() && d.received.is_some())
        .count();
    let received = f.datagrams.iter().filter(|d| d.received.is_some()).count();
    n.step(
        "host A",
        &format!(
            "sent {count} datagrams of {size} bytes, one sendto() each, over a link losing 20%"
        ),
    );
    n.step(
        "link",
        &format!(
            "carried {} IP fragments, {per} per datagram, none over {} bytes",
            f.trace.len(),
            f.trace.iter().map(|p| p.len).max().unwrap_or(0)
        ),
    );
    n.step(
        "host B",
        &format!(
            "received {received} datagrams, all {size} bytes: those whose {per} fragments all \
             arrived; {partly} lost some fragments but not all, and of them B received \
             {partly_received}"
        ),
    );
    // Shown: the first datagram, and the first that lost some fragments but not all.
    let first_partly = f
        .datagrams
        .iter()
        .find(|d| (1..d.fragments.len()).contains(&d.delivered()));
    let ids: Vec<u16> = f
        .datagrams
        .iter()
        .take(1)
        .chain(first_partly)
        .map(|d| d.id)
        .collect();
    shown.some(n, &f.trace, |_, p| ids.contains(&ip_id(p)));
    n.explain(
        "Only the first fragment carries the UDP header (and the ports); B's kernel holds the\n\
         others until the datagram is whole, and throws them away if it never is. Above, the\n\
         first datagram, and the first one that lost some of its fragments, not all.",
    );

    #[cfg(target_os = "linux")]
    {
        n.heading("3. IP_MTU_DISCOVER = IP_PMTUDISC_DO: EMSGSIZE instead of fragments");
        lab.link().set(LinkConfig {
            loss: 0.0,
            reorder: 0.0,
            ..config.clone()
        })?;
        let fits = usize::from(config.mtu) - 20 - 8;
        let r = refuse_to_fragment(lab, 9003, size, fits)?;
        n.step(
            "host A",
            &format!(
                "setsockopt(IP_MTU_DISCOVER, IP_PMTUDISC_DO) (it was {}), then send_to() of \
                 {size} bytes -> {}",
                pmtudisc_name(r.default),
                match &r.too_large {
                    Ok(n) => format!("Ok({n})"),
                    Err(e) if crate::limits::is_too_large(e) => "EMSGSIZE".to_string(),
                    Err(e) => format!("Err({e})"),
                }
            ),
        );
        n.step(
            "host A",
            &format!(
                "send_to() of {fits} bytes, {} with its headers: sent",
                fits + 28
            ),
        );
        shown.some(n, &r.trace, |_, _| true);
        n.explain(
            "Nothing of the large datagram reached the link: the kernel refused it at the send.",
        );
    }
    Ok(())
}
