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
//! The experiments themselves are the library's (`udp_demo::wire`), which `demo --wire` also
//! runs, printing their packets; the last tests here check what it prints, and that
//! `tcpdump -r` reads the pcap file it saves as the same packets.
//!
//! Where no lab can be made, each test says why (`SKIPPED ...`) and returns; the chapter's
//! loopback tests still run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[cfg(target_os = "linux")]
use nix::libc;
use socklab_support::within;
use socklab_wire::{Direction, DropReason, LinkConfig, Packet, testing};
#[cfg(target_os = "linux")]
use udp_demo::limits::is_too_large;
use udp_demo::wire::{self, DELAY, held_back, lossy_link};

/// The bound on each whole experiment: far above what any takes, so it only ends a hang.
const LIMIT: Duration = Duration::from_secs(30);

/// The server's port on host B.
const PORT: u16 = 9000;

/// The sequence number of a request or reply of the retrying client.
fn seq(p: &Packet) -> u64 {
    wire::seq(p).expect("8 bytes of sequence")
}

const REQUESTS: usize = 40;

/// How long the link holds a reordered datagram back here: longer than the `50 ms` of
/// [`lossy_link`] (which `demo --wire` keeps), so that [`PER_TRY`] can be generous too.
const HOLD: Duration = Duration::from_millis(300);

/// How long the client waits for each reply: longer than the `10 ms` round trip by far more
/// than a busy machine delays the four threads a reply passes through (client, echo server,
/// the link's two directions), so that a retry nothing explains does not happen by chance;
/// shorter than a held-back datagram's round trip (`310 ms`), so that a held-back request or
/// reply draws a retry too, however busy the machine (its reply cannot come sooner).
const PER_TRY: Duration = Duration::from_millis(150);

/// The chapter's bad link, its reordered datagrams held back [`HOLD`].
fn bad_link() -> LinkConfig {
    LinkConfig {
        reorder_hold: HOLD,
        ..lossy_link()
    }
}

// ANCHOR: retrying_client_over_a_bad_link
/// Over a link that loses and reorders datagrams (the link's doing, not a buffer's: the trace
/// says which; held back `300 ms`, the client waiting `150 ms` a try), the chapter's retrying
/// client gets the right reply to every one of `40` requests. The trace shows what it coped
/// with: datagrams dropped by the link, datagrams overtaken by later ones, and one request
/// datagram on the wire per try, every retry of a request coming after a datagram of that
/// request the link lost or held back (proved by the packets and the client's counters).
#[test]
fn the_retrying_client_gets_every_reply_over_a_lossy_reordering_link() {
    let name = "the_retrying_client_gets_every_reply_over_a_lossy_reordering_link";
    let Some(lab) = testing::lab(name, bad_link()) else {
        return;
    };
    // Each reply is checked against its request inside `retrying_client`.
    let (lab, r) = within(LIMIT, "requests over a bad link", move || {
        let r = wire::retrying_client(&lab, PORT, REQUESTS, PER_TRY).unwrap();
        (lab, r)
    });
    drop(lab);
    let stats = r.stats;
    println!("{stats:?}");
    assert_eq!(stats.completed, REQUESTS as u64);

    let datagrams: Vec<&Packet> = r.trace.iter().filter(|p| p.udp().is_some()).collect();
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

/// How many large datagrams, and how large: `4000` bytes leave as three fragments at an MTU of
/// `1500` (`1480`, `1480` and `1048` bytes of IP payload, the first with the UDP header).
const BIG: usize = 4000;
const BIG_COUNT: u32 = 40;

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
    let (lab, f) = within(LIMIT, "large datagrams over a lossy link", move || {
        let f = wire::fragments(&lab, PORT, BIG_COUNT, BIG).unwrap();
        (lab, f)
    });
    drop(lab);
    assert_eq!(
        f.trace.len(),
        3 * BIG_COUNT as usize,
        "three fragments each:\n{}",
        f.trace
    );
    for p in f.trace.iter() {
        assert!(p.len <= 1500, "a packet longer than the MTU: {p}");
    }
    assert_eq!(f.datagrams.len(), BIG_COUNT as usize);
    assert_eq!(
        f.strays,
        Vec::<u32>::new(),
        "B received datagrams never sent"
    );
    let mut partly_lost = 0;
    let (mut whole, mut received) = (BTreeSet::new(), BTreeSet::new());
    for (i, d) in f.datagrams.iter().enumerate() {
        for p in &d.fragments {
            println!("{p}");
        }
        assert_eq!(
            d.fragments.len(),
            3,
            "a datagram in {} fragments",
            d.fragments.len()
        );
        let delivered = d.delivered();
        if delivered == 3 {
            whole.insert(i);
        }
        if let Some(len) = d.received {
            assert_eq!(len, BIG, "a datagram arrived in part");
            received.insert(i);
        }
        let got = if d.received.is_some() {
            "received"
        } else {
            "lost"
        };
        println!("datagram {i}: {delivered} of 3 fragments delivered, {got} by B");
        partly_lost += usize::from(delivered == 2);
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
    let r = wire::refuse_to_fragment(&lab, PORT, BIG, 1472).unwrap();
    assert_ne!(
        r.default,
        libc::IP_PMTUDISC_DO,
        "the default already forbids fragments"
    );
    let err = r
        .too_large
        .expect_err("a datagram over the MTU was sent whole");
    assert!(is_too_large(&err), "{err}");
    print!("{}", r.trace);
    let lens: Vec<usize> = r.trace.iter().map(|p| p.len).collect();
    assert_eq!(lens, [1500], "only the datagram that fits reached the link");
}
// ANCHOR_END: mtu_discover_do_refuses_to_fragment

const BIN: &str = env!("CARGO_BIN_EXE_udp-demo");

/// Whether a pcap record's packet is an IPv4 fragment ("more fragments", or an offset).
fn record_is_fragment(packet: &[u8]) -> bool {
    packet.len() >= 8
        && packet[0] >> 4 == 4
        && u16::from_be_bytes([packet[6], packet[7]]) & 0x3fff != 0
}

/// Splits the pcap file `path` (as `Trace::save_pcap` writes it: native byte order) into two
/// files next to it: the packets that are not IPv4 fragments, and the fragments.
fn split_fragments(path: &Path) -> (PathBuf, PathBuf) {
    let bytes = std::fs::read(path).unwrap();
    let (header, mut records) = bytes.split_at(24);
    let (mut whole, mut fragments) = (header.to_vec(), header.to_vec());
    while !records.is_empty() {
        let captured = u32::from_ne_bytes(records[8..12].try_into().unwrap()) as usize;
        let (record, rest) = records.split_at(16 + captured);
        let into = if record_is_fragment(&record[16..]) {
            &mut fragments
        } else {
            &mut whole
        };
        into.extend_from_slice(record);
        records = rest;
    }
    let named = |what: &str| path.with_extension(format!("{what}.pcap"));
    std::fs::write(named("whole"), whole).unwrap();
    std::fs::write(named("fragments"), fragments).unwrap();
    (named("whole"), named("fragments"))
}

/// What tcpdump prints of `pcap`, or `None` where it will not run (the comparison of the
/// other packets has then said why, skipping).
fn tcpdump(pcap: &Path) -> Option<Vec<String>> {
    let out = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(pcap)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    out.status
        .success()
        .then(|| text.lines().map(String::from).collect())
}

/// `demo --wire --pcap FILE` runs the bad-link experiments on the lab and prints each one's
/// packets under its narration: the retrying client's first request lost by the link (seed
/// `7`), the fragments of `4000`-byte datagrams, none longer than the MTU, and after
/// `IP_PMTUDISC_DO` only the datagram that fits; `tcpdump -r FILE` reads the very packets it
/// printed (tcpdump prints a fragment in its own words, `ip-proto-17`, so the fragments are
/// compared one by one on their addresses).
#[test]
fn demo_wire_prints_losses_and_fragments() {
    let name = "demo_wire_prints_losses_and_fragments";
    let Some((out, pcap)) = testing::run_demo_wire(name, BIN, LIMIT) else {
        return;
    };
    let sections = testing::Sections::of(&out.stdout);
    sections.under(
        "1.",
        "12 of 12 requests answered",
        &["> 10.77.0.2.9001: UDP, length 17 [dropped: loss]"],
    );
    sections.under(
        "2.",
        "carried 30 IP fragments, 3 per datagram, none over 1500 bytes",
        &["10.77.0.1 > 10.77.0.2: fragment of protocol 17, length 1480"],
    );
    sections.under(
        "2.",
        "of them B received 0",
        &["fragment of protocol 17, length 1048"],
    );
    sections.under(
        "3.",
        "of 4000 bytes -> EMSGSIZE",
        &["> 10.77.0.2.9003: UDP, length 1472"],
    );
    let (_, lines) = sections.section("3.");
    assert!(
        !lines.iter().any(|l| l.contains("fragment")),
        "a fragment after IP_PMTUDISC_DO"
    );
    let printed = testing::trace_lines(&out.stdout);
    let (fragments, whole): (Vec<String>, Vec<String>) = printed
        .into_iter()
        .partition(|l| l.contains(": fragment of protocol"));
    let (whole_pcap, fragments_pcap) = split_fragments(&pcap);
    testing::compare_with_tcpdump(name, &whole, &whole_pcap);
    if let Some(theirs) = tcpdump(&fragments_pcap) {
        println!("tcpdump's fragments:\n{}", theirs.join("\n"));
        assert_eq!(theirs.len(), fragments.len(), "not the same fragments");
        // tcpdump: `... IP 10.77.0.1.PORT > 10.77.0.2.PORT: UDP, length 4000` for a first
        // fragment (the UDP header's ports and length), `... IP 10.77.0.1 > 10.77.0.2:
        // ip-proto-17` for the others; the trace: `... IP 10.77.0.1 > 10.77.0.2: fragment ...`.
        let hosts = |line: &str| {
            let (_, rest) = line.split_once(" IP ").expect("an IPv4 line");
            let (src, rest) = rest.split_once(" > ").unwrap();
            let dst = rest.split(':').next().unwrap();
            let host = |a: &str| a.split('.').take(4).collect::<Vec<_>>().join(".");
            (host(src), host(dst))
        };
        for (ours, theirs) in fragments.iter().zip(&theirs) {
            assert_eq!(hosts(ours), hosts(theirs), "{ours} / {theirs}");
            assert!(
                theirs.ends_with(": ip-proto-17") || theirs.ends_with(": UDP, length 4000"),
                "{theirs}"
            );
        }
        let firsts = theirs.iter().filter(|l| l.contains(": UDP, ")).count();
        assert_eq!(3 * firsts, fragments.len(), "three fragments a datagram");
    }
    for file in [pcap, whole_pcap, fragments_pcap] {
        let _ = std::fs::remove_file(file);
    }
}

/// Where no lab can be made, `demo --wire` says why and how to allow it in one line, and
/// exits 1 (the lab is switched off here with `SOCKLAB_WIRE_FORCE_UNAVAILABLE`); `--pcap`
/// without `--wire` is refused as a usage error.
#[test]
fn demo_wire_without_a_lab_says_why_in_one_line() {
    testing::assert_demo_wire_without_a_lab_says_why(BIN, "udp-demo", LIMIT);
}
