//! Chapter 2 on a bad link: datagrams lost and reordered by the network itself (not by a full
//! buffer, as on loopback), and datagrams larger than the link's MTU, proved by the packets the
//! wire lab's link recorded.
//!
//! - The chapter's retrying client ([`Client`]) still gets every reply over a link that loses
//!   and reorders, and the trace shows each retry answering a datagram the link lost or held
//!   back.
//! - A datagram larger than the MTU leaves as IP fragments; it arrives only if every fragment
//!   does; with `IP_MTU_DISCOVER` set to `IP_PMTUDISC_DO`, the send fails with `EMSGSIZE`
//!   instead.
//!
//! Where no lab can be made, each test says why (`SKIPPED ...`) and returns; the chapter's
//! loopback tests still run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

#[cfg(target_os = "linux")]
use nix::libc;
#[cfg(target_os = "linux")]
use nix::sys::socket::{getsockopt, setsockopt};
#[cfg(target_os = "linux")]
use nix::{getsockopt_impl, setsockopt_impl, sockopt_impl};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, wait, within};
use socklab_wire::{Direction, DropReason, LinkConfig, Packet, testing};
use udp_demo::echo::{Faults, Server};
#[cfg(target_os = "linux")]
use udp_demo::limits::is_too_large;
use udp_demo::reliable::Client;

/// The bound on each whole experiment: far above what any takes, so it only ends a hang.
const LIMIT: Duration = Duration::from_secs(30);

const MS: Duration = Duration::from_millis(1);

/// The one-way delay of every link here: a round trip of `10 ms`.
const DELAY: Duration = Duration::from_millis(5);

/// The server's port on host B.
const PORT: u16 = 9000;

/// The UDP payload of a packet the trace kept: after the IPv4 header (its length is in its
/// first byte) and the 8-byte UDP header.
fn udp_payload(p: &Packet) -> &[u8] {
    let ip_header = usize::from(p.bytes[0] & 0x0f) * 4;
    p.bytes.get(ip_header + 8..).unwrap_or_default()
}

/// The sequence number at the front of a request or reply of the retrying client.
fn seq(p: &Packet) -> u64 {
    u64::from_be_bytes(udp_payload(p)[..8].try_into().expect("8 bytes of sequence"))
}

/// Whether the link held `p` back (reordered): delivered later than the link's delay.
fn held_back(p: &Packet) -> bool {
    p.arrived().is_some_and(|at| at - p.time > DELAY)
}

const REQUESTS: usize = 40;

/// How long the client waits for each reply: longer than the round trip, shorter than a
/// reordered datagram's extra wait, so that a held-back request or reply draws a retry too.
const PER_TRY: Duration = Duration::from_millis(40);

// ANCHOR: lossy_link
/// The bad link: `10%` of datagrams lost and `10%` held back `50 ms` (overtaken by the ones
/// sent after them), each way, from seed `7`.
fn lossy_link() -> LinkConfig {
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

// ANCHOR: retrying_client_over_a_bad_link
/// Over a link that loses and reorders datagrams (the link's doing, not a buffer's: the trace
/// says which), the chapter's retrying client gets the right reply to every one of `40`
/// requests. The trace shows what it coped with: datagrams dropped by the link, datagrams
/// overtaken by later ones, and one request datagram on the wire per try, every retry of a
/// request coming after a datagram of that request the link lost or held back (proved by the
/// packets and the client's counters).
#[test]
fn the_retrying_client_gets_every_reply_over_a_lossy_reordering_link() {
    let name = "the_retrying_client_gets_every_reply_over_a_lossy_reordering_link";
    let Some(lab) = testing::lab(name, lossy_link()) else {
        return;
    };
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let socket = b.run(|| UdpSocket::bind(b.addr(PORT))).unwrap().unwrap();
    let stop = Stop::new().unwrap();
    Server::new(socket, Faults::default()) // No faults of its own: only the link's.
        .with_log(Arc::new(Narrator::capture()))
        .with_stop(stop.clone())
        .spawn()
        .unwrap();
    let socket = a.run(|| UdpSocket::bind(a.addr(0))).unwrap().unwrap();
    let mut client = Client::with_socket(socket, b.addr(PORT), PER_TRY, 20).unwrap();
    let stats = within(LIMIT, "requests over a bad link", move || {
        for i in 0..REQUESTS {
            let request = format!("request {i}");
            let reply = client.request(request.as_bytes()).unwrap();
            assert_eq!(reply, request.as_bytes(), "the reply to another request");
        }
        client.stats
    });
    stop.trigger();
    println!("{stats:?}");
    assert_eq!(stats.completed, REQUESTS as u64);

    let trace = lab.trace().port(PORT);
    let datagrams: Vec<&Packet> = trace.iter().filter(|p| p.udp().is_some()).collect();
    for p in &datagrams {
        let late = if held_back(p) { " [held back]" } else { "" };
        println!("{p}{late}  (request {})", seq(p));
    }
    let lost = datagrams
        .iter()
        .filter(|p| p.dropped() == Some(DropReason::Loss))
        .count();
    assert!(lost > 0, "the link lost nothing");
    // Overtaken: a datagram that arrived after one sent after it, the same way.
    let overtaken = datagrams.iter().any(|early| {
        datagrams.iter().any(|late| {
            late.direction == early.direction
                && late.time > early.time
                && late
                    .arrived()
                    .is_some_and(|l| early.arrived().is_some_and(|e| l < e))
        })
    });
    assert!(overtaken, "the link reordered nothing");
    let requests: Vec<&&Packet> = datagrams
        .iter()
        .filter(|p| p.direction == Direction::AToB)
        .collect();
    assert_eq!(
        requests.len() as u64,
        REQUESTS as u64 + stats.retries,
        "one datagram per try"
    );
    let mut tries: BTreeMap<u64, Vec<&Packet>> = BTreeMap::new();
    for p in &requests {
        tries.entry(seq(p)).or_default().push(p);
    }
    assert_eq!(tries.len(), REQUESTS, "a request never sent");
    let mut retried = 0;
    for (s, sent) in tries.iter().filter(|(_, sent)| sent.len() > 1) {
        retried += 1;
        let retry = sent[1].time;
        let troubled = datagrams
            .iter()
            .any(|p| seq(p) == *s && p.time < retry && (p.dropped().is_some() || held_back(p)));
        assert!(
            troubled,
            "request {s} was retried with nothing lost or late"
        );
    }
    assert!(retried > 0, "no request needed a retry");
}
// ANCHOR_END: retrying_client_over_a_bad_link

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

/// How many large datagrams, and how large: `4000` bytes leave as three fragments at an MTU of
/// `1500` (`1480`, `1480` and `1048` bytes of IP payload, the first with the UDP header).
const BIG: usize = 4000;
const BIG_COUNT: u32 = 40;

/// The IP identification field: the same in every fragment of one datagram.
fn ip_id(p: &Packet) -> u16 {
    u16::from_be_bytes([p.bytes[4], p.bytes[5]])
}

// ANCHOR: one_lost_fragment_loses_the_whole_datagram
/// `40` datagrams of `4000` bytes, over a link with an MTU of `1500` that loses `10%` of its
/// packets (seed `3`): each leaves as three IP fragments, no packet on the wire longer than
/// the MTU, and a datagram arrives, whole, exactly when all three of its fragments did. Some
/// datagrams lose one fragment and keep the other two, and are lost all the same (proved by
/// the packets, grouped by their IP identification, and what B received).
#[test]
fn one_lost_fragment_loses_the_whole_datagram() {
    let name = "one_lost_fragment_loses_the_whole_datagram";
    let config = LinkConfig {
        delay: DELAY,
        loss: 0.1,
        seed: 3,
        ..LinkConfig::default()
    };
    let Some(lab) = testing::lab(name, config) else {
        return;
    };
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let receiver = b.run(|| UdpSocket::bind(b.addr(PORT))).unwrap().unwrap();
    let sender = a.run(|| UdpSocket::bind(a.addr(0))).unwrap().unwrap();
    for i in 0..BIG_COUNT {
        let mut datagram = vec![0u8; BIG];
        datagram[..4].copy_from_slice(&i.to_be_bytes());
        sender.send_to(&datagram, b.addr(PORT)).unwrap();
    }
    // Every fragment has reached the link: the link has decided every fate.
    let fragments = 3 * BIG_COUNT as usize;
    wait::until(LIMIT, "every fragment on the link", || {
        lab.trace().len() >= fragments
    })
    .unwrap();
    let trace = lab.trace();
    assert_eq!(trace.len(), fragments, "three fragments each:\n{trace}");
    // The fragments of each datagram, in the order the datagrams were sent.
    let mut by_datagram: Vec<(u16, Vec<&Packet>)> = Vec::new();
    for p in trace.iter() {
        assert!(p.len <= 1500, "a packet longer than the MTU: {p}");
        match by_datagram.iter_mut().find(|(id, _)| *id == ip_id(p)) {
            Some((_, parts)) => parts.push(p),
            None => by_datagram.push((ip_id(p), vec![p])),
        }
    }
    assert_eq!(by_datagram.len(), BIG_COUNT as usize);
    let delivered: Vec<usize> = by_datagram
        .iter()
        .map(|(_, parts)| {
            assert_eq!(parts.len(), 3, "a datagram in {} fragments", parts.len());
            parts.iter().filter(|p| p.dropped().is_none()).count()
        })
        .collect();
    let whole: BTreeSet<u32> = (0..BIG_COUNT)
        .filter(|&i| delivered[i as usize] == 3)
        .collect();
    // B's kernel reassembles each datagram as its fragments come. Wait for every datagram
    // whose fragments were all delivered; then take whatever else is there (nothing should be).
    let mut received = BTreeSet::new();
    let mut buf = vec![0u8; 65_536];
    let mut take = |receiver: &UdpSocket, received: &mut BTreeSet<u32>| -> bool {
        match receiver.recv(&mut buf) {
            Ok(n) => {
                assert_eq!(n, BIG, "a datagram arrived in part");
                received.insert(u32::from_be_bytes(buf[..4].try_into().unwrap()));
                true
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) => panic!("{e}"),
        }
    };
    receiver.set_read_timeout(Some(LIMIT)).unwrap();
    while !whole.is_subset(&received) {
        assert!(
            take(&receiver, &mut received),
            "a whole datagram never came"
        );
    }
    receiver.set_nonblocking(true).unwrap();
    while take(&receiver, &mut received) {}
    let mut partly_lost = 0;
    for (i, (_, parts)) in by_datagram.iter().enumerate() {
        for p in parts {
            println!("{p}");
        }
        let got = if received.contains(&(i as u32)) {
            "received"
        } else {
            "lost"
        };
        println!(
            "datagram {i}: {} of 3 fragments delivered, {got} by B",
            delivered[i]
        );
        partly_lost += usize::from(delivered[i] == 2);
    }
    assert_eq!(
        received, whole,
        "B received other datagrams than those delivered whole"
    );
    println!("received {} of {BIG_COUNT}", received.len());
    assert!(partly_lost > 0, "no datagram lost exactly one fragment");
}
// ANCHOR_END: one_lost_fragment_loses_the_whole_datagram

// ANCHOR: mtu_discover_do_refuses_to_fragment
/// With `IP_MTU_DISCOVER` set to `IP_PMTUDISC_DO` (checked first to differ from the default),
/// a `4000`-byte datagram to B fails at once with `EMSGSIZE`, and nothing of it reaches the
/// link, while one that fits (`1472` bytes, `1500` with its headers) still leaves (proved by
/// the call's error and the packets).
#[test]
#[cfg(target_os = "linux")] // IP_MTU_DISCOVER is Linux's (ip(7)).
fn mtu_discover_do_refuses_a_datagram_larger_than_the_mtu() {
    let name = "mtu_discover_do_refuses_a_datagram_larger_than_the_mtu";
    let Some(lab) = testing::lab(name, LinkConfig::default()) else {
        return;
    };
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let _receiver = b.run(|| UdpSocket::bind(b.addr(PORT))).unwrap().unwrap();
    let sender = a.run(|| UdpSocket::bind(a.addr(0))).unwrap().unwrap();
    let default = getsockopt(&sender, IpMtuDiscover).unwrap();
    assert_ne!(
        default,
        libc::IP_PMTUDISC_DO,
        "the default already forbids fragments"
    );
    setsockopt(&sender, IpMtuDiscover, &libc::IP_PMTUDISC_DO).unwrap();
    let err = sender
        .send_to(&vec![0u8; BIG], b.addr(PORT))
        .expect_err("a datagram over the MTU was sent whole");
    assert!(is_too_large(&err), "{err}");
    sender.send_to(&[0u8; 1472], b.addr(PORT)).unwrap();
    wait::until(LIMIT, "the datagram that fits", || !lab.trace().is_empty()).unwrap();
    let trace = lab.trace();
    print!("{trace}");
    let lens: Vec<usize> = trace.iter().map(|p| p.len).collect();
    assert_eq!(lens, [1500], "only the datagram that fits reached the link");
}
// ANCHOR_END: mtu_discover_do_refuses_to_fragment
