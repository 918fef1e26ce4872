//! Chapter 6 on a link that dies: black holes and dead peers, proved by the packets (the wire
//! lab's link records every segment, and can be cut in one direction or both, the way a
//! pulled cable, a dead host or a firewall that drops everything cuts a real path).
//!
//! - A `connect` into a black hole: the SYN retransmitted with growing gaps, and what a
//!   connect timeout does to it.
//! - Keepalive (`SO_KEEPALIVE`, `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`): the probes on
//!   the wire, answered while the peer lives, and `ETIMEDOUT` once they are not.
//! - `TCP_USER_TIMEOUT`: unacknowledged data fails the connection after that time; without it,
//!   the retransmissions back off and the connection lives on for many minutes.
//! - Application heartbeats (the chapter's [`Heartbeat`]): both peers notice a link cut in
//!   either direction.
//!
//! Every time asserted is a lower bound (a timer never fires early); upper bounds are only the
//! generous `within` around each experiment. The first three experiments are the library's
//! (`timeouts_demo::wire`), which `demo --wire` also runs, printing their packets; the last
//! tests here check what it prints, and that `tcpdump -r` reads the pcap file it saves as the
//! same packets. Where no lab can be made, each test says why (`SKIPPED ...`) and returns; the
//! loopback tests of the chapter still run.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use socklab_support::{wait, within};
use socklab_wire::lab::STEP_TIMEOUT;
use socklab_wire::{Direction, DropReason, Packet, Tcp, Trace, testing};
use timeouts_demo::keepalive::Heartbeat;
use timeouts_demo::wire::{self, link, syns, sysctl};

/// The bound on each whole experiment: far above what any takes, so it only ends a hang.
const LIMIT: Duration = Duration::from_secs(30);

const MS: Duration = Duration::from_millis(1);

/// When the sender sent a segment, in milliseconds on its own clock (the TSval).
fn sent_ms(t: &Tcp) -> u32 {
    wire::sent_ms(t).expect("Linux stamps every segment")
}

/// The gaps, in milliseconds of the sender's clock, between consecutive segments.
fn gaps_ms(segments: &[(&Packet, &Tcp)]) -> Vec<u32> {
    wire::gaps_ms(segments).expect("Linux stamps every segment")
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).expect("a test's durations are short")
}

// ANCHOR: connect_into_a_black_hole
/// A `connect` to a host behind a cut link hears nothing back, and retransmits its SYN, every
/// copy dropped; `connect_timeout` fails with `TimedOut` after its `3500 ms`, not before. On
/// Linux the first retransmissions are at least `1 s` apart, as many of them as the sysctl
/// `tcp_syn_linear_timeouts` says (read here; recent kernels have it, `4` by default; older
/// ones behave as with `0`), and the gap doubles after them: on a host where that sysctl is
/// set to `0`, the classic behaviour, the second gap is at least `2 s`. A connect with a
/// `1500 ms` timeout sends its SYN and one retransmission, gives up, and sends nothing more:
/// the timeout does not shorten the kernel's retries, it abandons them (proved by the packets
/// and their timestamps).
#[test]
fn connect_into_a_black_hole_retries_then_gives_up() {
    let name = "connect_into_a_black_hole_retries_then_gives_up";
    let Some(lab) = testing::lab(name, link()) else {
        return;
    };
    let classic = testing::lab(name, link()).expect("one was made above");
    let linear = sysctl(lab.a(), "tcp_syn_linear_timeouts")
        .unwrap()
        .unwrap_or(0);
    if linear > 0 {
        let a = classic.a();
        a.run(|| std::fs::write("/proc/sys/net/ipv4/tcp_syn_linear_timeouts", "0"))
            .unwrap()
            .unwrap();
        assert_eq!(sysctl(a, "tcp_syn_linear_timeouts").unwrap(), Some(0));
    }
    let (lab, classic) = (Arc::new(lab), Arc::new(classic));
    let (long, short) = (3500 * MS, 1500 * MS);
    let mut connects = Vec::new();
    for (lab, port, timeout) in [
        (&lab, 7000, long),
        (&lab, 7001, short),
        (&classic, 7000, long),
    ] {
        let lab = Arc::clone(lab);
        connects.push(thread::spawn(move || {
            let hole = wire::connect_into_a_black_hole(&lab, port, timeout).unwrap();
            (hole.result, hole.took, timeout)
        }));
    }
    // All started together; when the long ones return, `3500 ms` on, the short one's next
    // retransmission (due about `2 s` after its first SYN, or later) would have left.
    let results = within(LIMIT, "three connects into a black hole", move || {
        connects
            .into_iter()
            .map(|c| c.join().unwrap())
            .collect::<Vec<_>>()
    });
    for (result, took, timeout) in results {
        let err = result.expect_err("connected through a cut link");
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(
            took >= timeout,
            "gave up after {took:?}, before {timeout:?}"
        );
    }
    let (long_syns, short_syns, classic_syns) =
        (syns(&lab, 7000), syns(&lab, 7001), syns(&classic, 7000));
    println!("tcp_syn_linear_timeouts = {linear}:\n{long_syns}{short_syns}");
    println!("tcp_syn_linear_timeouts = 0:\n{classic_syns}");
    for p in long_syns
        .iter()
        .chain(short_syns.iter())
        .chain(classic_syns.iter())
    {
        assert_eq!(p.dropped(), Some(DropReason::Cut), "{p}");
    }
    let long_syns: Vec<_> = long_syns.tcp().collect();
    assert!(
        long_syns
            .iter()
            .all(|(_, t)| t.raw_seq == long_syns[0].1.raw_seq),
        "a retransmission is the same SYN, with the same initial sequence number"
    );
    for (syns, linear) in [(long_syns, linear), (classic_syns.tcp().collect(), 0)] {
        let gaps = gaps_ms(&syns);
        println!("linear {linear}: gaps between the SYNs, on the sender's clock: {gaps:?} ms");
        assert!(gaps.len() >= 2, "fewer than two retransmissions");
        for (i, &gap) in gaps.iter().enumerate() {
            // Retransmission i (from 0) waits `1 s` while i <= linear, then 2^(i - linear) s.
            let least = 1000 << i.saturating_sub(linear as usize);
            assert!(
                gap >= least,
                "linear {linear}: retransmission {i} after {gap} ms"
            );
        }
    }
    assert_eq!(
        short_syns.len(),
        2,
        "the connect that gave up sent a SYN after returning"
    );
}
// ANCHOR_END: connect_into_a_black_hole

/// Keepalive's settings for the experiment: small, so that it takes seconds, not hours.
const IDLE: Duration = Duration::from_secs(1);
const INTERVAL: Duration = Duration::from_secs(1);
const COUNT: u32 = 2;

// ANCHOR: keepalive_probes_and_gives_up
/// With keepalive on (`TCP_KEEPIDLE` `1 s`, `TCP_KEEPINTVL` `1 s`, `TCP_KEEPCNT` `2`), a
/// connection that carries nothing gets a probe after at least the idle time: a segment with
/// no data and the sequence number one below the next byte, which the live peer answers with
/// an ACK. Once the link is cut, the probes go unanswered, every interval; after `COUNT` of
/// them the kernel gives up, and the blocked `read` fails with `ETIMEDOUT`, no sooner than
/// idle + interval × count after the last word from the peer (proved by the packets and the
/// lab's clock).
#[test]
fn keepalive_probes_an_idle_peer_and_gives_up_on_a_dead_one() {
    let name = "keepalive_probes_an_idle_peer_and_gives_up_on_a_dead_one";
    let Some(lab) = testing::lab(name, link()) else {
        return;
    };
    let (lab, k) = within(LIMIT, "a read until keepalive gives up", move || {
        let k = wire::keepalive(&lab, 7000, IDLE, INTERVAL, COUNT).unwrap();
        (lab, k)
    });
    drop(lab);
    let (err, failed_at, trace) = (k.error, k.failed_at, k.trace);
    print!("{trace}");
    println!("the read failed at {failed_at:?}: {err}");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    // A probe: from A, no data, no SYN, one byte before the next (byte 1, the handshake over).
    let probes: Vec<_> = trace
        .tcp()
        .filter(|(p, t)| {
            p.direction == Direction::AToB && !t.flags.syn && t.payload_len == 0 && t.seq == 0
        })
        .collect();
    assert_eq!(probes.len(), 1 + COUNT as usize, "probes: {probes:?}");
    assert_eq!(probes[0].0.dropped(), None, "the first probe crossed");
    for (p, _) in &probes[1..] {
        assert_eq!(p.dropped(), Some(DropReason::Cut), "{p}");
    }
    let (answer, _) = trace
        .tcp()
        .find(|(p, t)| p.direction == Direction::BToA && !t.flags.syn)
        .expect("the answer waited for above");
    assert!(answer.time > probes[0].0.time, "answered before the probe");
    // The handshake's last segment, A's ACK, is where A's idle time starts.
    let (_, handshake_ack) = trace
        .tcp()
        .find(|(p, t)| p.direction == Direction::AToB && !t.flags.syn)
        .expect("the handshake's ACK");
    let idle = ms(IDLE);
    let first = sent_ms(probes[0].1).wrapping_sub(sent_ms(handshake_ack));
    assert!(first >= idle, "first probe after {first} ms of silence");
    let gaps = gaps_ms(&probes);
    println!("probe gaps, on A's clock: {gaps:?} ms after a first wait of {first} ms");
    // The second probe waits the idle time again, counted from the answer to the first.
    assert!(gaps[0] >= idle, "second probe after {} ms", gaps[0]);
    for gap in &gaps[1..] {
        assert!(*gap >= ms(INTERVAL), "unanswered probes {gap} ms apart");
    }
    let (last, last_tcp) = trace.tcp().last().expect("packets");
    assert!(
        last_tcp.flags.rst && last.direction == Direction::AToB && last.time > probes[2].0.time,
        "giving up, the kernel sends a RST (lost in the cut): {last}"
    );
    let last_heard = answer.arrived().expect("the answer crossed before the cut");
    assert!(
        failed_at - last_heard >= IDLE + INTERVAL * COUNT,
        "gave up {:?} after the last word from the peer",
        failed_at - last_heard
    );
}
// ANCHOR_END: keepalive_probes_and_gives_up

#[cfg(target_os = "linux")]
const USER_TIMEOUT: Duration = Duration::from_secs(1);

// ANCHOR: user_timeout_fails_unacknowledged_data
/// Two connections, the link cut under both, `100` bytes written on each. The one with
/// `TCP_USER_TIMEOUT` of `1 s` fails with `ETIMEDOUT` no sooner than that after the write;
/// the other is still alive then, and its data is retransmitted with gaps that grow: the
/// first after at least `200 ms` (Linux's minimum retransmission timeout), each later one at
/// least one and a half times the one before (the timeout doubles each time). Without the
/// option, it would go on until `tcp_retries2` retransmissions (read here from the lab's
/// namespace: `15` by default, about 15 minutes per tcp(7)) (proved by the packets, their
/// timestamps and the lab's clock).
#[test]
#[cfg(target_os = "linux")] // TCP_USER_TIMEOUT is Linux's.
fn user_timeout_fails_unacknowledged_data_on_a_cut_link() {
    let name = "user_timeout_fails_unacknowledged_data_on_a_cut_link";
    let Some(lab) = testing::lab(name, link()) else {
        return;
    };
    let (lab, u) = within(LIMIT, "a read until the user timeout", move || {
        let u = wire::user_timeout(&lab, 7000, 7001, USER_TIMEOUT).unwrap();
        (lab, u)
    });
    assert_eq!(
        u.set,
        Some(USER_TIMEOUT),
        "TCP_USER_TIMEOUT reads back as set"
    );
    let (err, failed_after, unbounded) = (u.error, u.failed_after, u.unbounded);
    println!("the read failed after {failed_after:?}");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(
        failed_after >= USER_TIMEOUT,
        "failed after {failed_after:?}"
    );
    // The data of the connection without the option, and its retransmissions so far.
    let data = |trace: &Trace| -> usize {
        trace
            .tcp()
            .filter(|(p, t)| p.direction == Direction::AToB && t.payload_len > 0)
            .count()
    };
    wait::until(STEP_TIMEOUT, "the fourth resend", || {
        data(&lab.trace().port(7001)) >= 5
    })
    .unwrap();
    assert!(
        unbounded.take_error().unwrap().is_none(),
        "the connection without TCP_USER_TIMEOUT failed"
    );
    let trace = lab.trace().port(7001);
    print!("{trace}");
    let sent: Vec<_> = trace
        .tcp()
        .filter(|(p, t)| p.direction == Direction::AToB && t.payload_len > 0)
        .collect();
    assert!(
        sent.iter().all(|(_, t)| t.seq == 1),
        "each is the same data"
    );
    let gaps = gaps_ms(&sent);
    println!("resent after gaps, on A's clock, of {gaps:?} ms");
    // The first resend is a tail loss probe (RFC 8985), the second the retransmission timer,
    // each at least the minimum RTO; from then on the timer doubles.
    let rto_min = sysctl(lab.a(), "tcp_rto_min_us")
        .unwrap()
        .map_or(200, |us| us / 1000);
    assert!(
        gaps[..2].iter().all(|&g| g >= rto_min),
        "{gaps:?}, minimum {rto_min} ms"
    );
    for w in gaps[1..].windows(2) {
        assert!(2 * w[1] >= 3 * w[0], "the gaps did not grow: {gaps:?}");
    }
    let retries2 = sysctl(lab.a(), "tcp_retries2")
        .unwrap()
        .expect("Linux has tcp_retries2");
    println!("tcp_retries2 in the lab's namespace: {retries2}");
}
// ANCHOR_END: user_timeout_fails_unacknowledged_data

// ANCHOR: heartbeat_sender
/// The sending half of a heartbeat: a one-byte beat every `interval` until `stop` is set (the
/// sleep is the heartbeat's period, not a synchronisation). Writing fails only once the
/// connection has.
fn beat(mut stream: TcpStream, interval: Duration, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        if stream.write_all(&[1]).is_err() {
            return;
        }
        thread::sleep(interval);
    }
}
// ANCHOR_END: heartbeat_sender

/// What one peer's heartbeat watcher saw: beats heard, the silence it declared death after,
/// and when it did, on the lab's clock.
#[derive(Debug)]
struct Verdict {
    beats: usize,
    silent: Duration,
    declared_at: Duration,
}

// ANCHOR: heartbeats_notice_a_cut_either_way
/// Each peer beats every `100 ms` and declares the other dead after `3` silent intervals
/// (the chapter's `Heartbeat`, with `TCP_NODELAY` so that each beat leaves at once). With the
/// link cut in one direction only, *both* peers declare the other dead, after a silence of at
/// least `3 × 100 ms`, and within `50` intervals (a generous bound). The side that still
/// receives stops hearing new beats too: the peer, whose ACKs are lost, retransmits its oldest
/// beat when its timer fires, and sends no new one after that (proved by the watchers'
/// verdicts and, for the retransmission, by the packets).
#[test]
fn heartbeats_notice_a_cut_either_way() {
    let name = "heartbeats_notice_a_cut_either_way";
    let Some(first) = testing::lab(name, link()) else {
        return;
    };
    drop(first); // A lab can be made here: one per direction below.
    let hb = Heartbeat {
        interval: 100 * MS,
        misses: 3,
    };
    for cut in [Direction::AToB, Direction::BToA] {
        let lab = testing::lab(name, link()).expect("one was made above");
        let (a, b) = lab.connect(7000).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut watchers = Vec::new();
        for mut stream in [a, b] {
            stream.set_nodelay(true).unwrap();
            let (sender, stop, clock) = (
                stream.try_clone().unwrap(),
                stop.clone(),
                lab.link().clone(),
            );
            thread::spawn(move || beat(sender, hb.interval, stop));
            watchers.push(thread::spawn(move || {
                let (beats, silent) = hb.watch(&mut stream).unwrap();
                Verdict {
                    beats,
                    silent,
                    declared_at: clock.now(),
                }
            }));
        }
        let beats_each_way = |trace: &Trace| {
            [Direction::AToB, Direction::BToA].map(|d| {
                trace
                    .tcp()
                    .filter(|(p, t)| p.direction == d && t.payload_len > 0)
                    .count()
            })
        };
        wait::until(STEP_TIMEOUT, "three beats each way", || {
            beats_each_way(&lab.trace()).iter().all(|&n| n >= 3)
        })
        .unwrap();
        let cut_at = lab.now();
        lab.link().cut_one_way(cut, true);
        // A generous bound, in heartbeat intervals: a detector that never fires fails here.
        let verdicts = within(hb.interval * 50, "both watchers", move || {
            watchers
                .into_iter()
                .map(|w| w.join().unwrap())
                .collect::<Vec<_>>()
        });
        stop.store(true, Ordering::Relaxed);
        println!(
            "cut {cut:?} at {cut_at:?}: A saw {:?}, B saw {:?}",
            verdicts[0], verdicts[1]
        );
        for v in &verdicts {
            assert!(v.beats >= 3, "heard {} beats before the cut", v.beats);
            assert!(v.silent >= hb.interval * hb.misses, "{v:?}");
            assert!(
                v.declared_at > cut_at,
                "declared dead before the cut: {v:?}"
            );
        }
        // Across the direction that still works, the peer's beats arrive for a while. Its
        // acknowledgements lost, its retransmission timer fires and sends its oldest
        // unacknowledged beat again; after that, no new beat crosses.
        let working = if cut == Direction::AToB {
            Direction::BToA
        } else {
            Direction::AToB
        };
        let trace = lab.trace().port(7000);
        let crossed = |d: Direction| {
            trace
                .tcp()
                .filter(move |(p, _)| p.direction == d && p.arrived().is_some())
                .map(|(_, t)| t)
        };
        // The peer's oldest unacknowledged byte: one past the last ACK that reached it.
        let oldest = crossed(cut)
            .filter_map(|t| t.ack)
            .max()
            .expect("ACKs before the cut");
        let beats: Vec<&Tcp> = crossed(working).filter(|t| t.payload_len > 0).collect();
        let resent = (1..beats.len())
            .find(|&i| beats[i].seq == oldest && beats[..i].iter().any(|t| t.seq == oldest))
            .unwrap_or_else(|| panic!("the oldest beat ({oldest}) never crossed again: {trace}"));
        let newest = beats[..resent].iter().map(|t| t.seq_end()).max();
        assert!(
            beats[resent..].iter().all(|t| Some(t.seq_end()) <= newest),
            "a new beat crossed after the oldest was resent: {trace}"
        );
    }
}
// ANCHOR_END: heartbeats_notice_a_cut_either_way

const BIN: &str = env!("CARGO_BIN_EXE_timeouts-demo");

/// The TSval of a printed segment (`TS val 265711778 ecr ...`).
fn ts_val(line: &str) -> u32 {
    let (_, rest) = line.split_once("TS val ").expect("a timestamp");
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// `demo --wire --pcap FILE` runs the dead-peer experiments on the lab and prints each one's
/// packets under its narration: the connect's SYN and, at least `1 s` later on A's clock,
/// the same SYN again, both into the cut; keepalive's probe answered by B, the next one and
/// the RST lost in the cut; the data of the connection with `TCP_USER_TIMEOUT` sent again
/// into the cut before its read failed with `TimedOut` (proved by the packets printed); and
/// `tcpdump -r FILE` reads the very packets it printed.
#[test]
fn demo_wire_prints_what_goes_into_the_cut() {
    let name = "demo_wire_prints_what_goes_into_the_cut";
    let Some((out, pcap)) = testing::run_demo_wire(name, BIN, LIMIT) else {
        return;
    };
    let sections = testing::Sections::of(&out.stdout);
    let syns = sections.under(
        "1.",
        "-> Err(TimedOut)",
        &["> 10.77.0.2.7001: Flags [S], seq 0,", "[dropped: cut]"],
    );
    assert_eq!(syns.len(), 2, "the SYN and one retransmission: {syns:?}");
    let gap = ts_val(&syns[1]).wrapping_sub(ts_val(&syns[0]));
    assert!(gap >= 1000, "the SYN sent again after {gap} ms");
    let answered = sections.under(
        "2.",
        "-> Err(TimedOut)",
        &["IP 10.77.0.2.7002 > ", "Flags [.], ack 1,"],
    );
    assert!(
        !answered[0].contains("[dropped"),
        "B's answer lost: {answered:?}"
    );
    sections.under(
        "2.",
        "-> Err(TimedOut)",
        &["> 10.77.0.2.7002: Flags [.], ack 1,", "[dropped: cut]"],
    );
    sections.under(
        "2.",
        "-> Err(TimedOut)",
        &["> 10.77.0.2.7002: Flags [R.]", "[dropped: cut]"],
    );
    let resent = sections.under(
        "3.",
        "7003: read() -> Err(TimedOut)",
        &["> 10.77.0.2.7003: Flags [P.], seq 1:101,", "[dropped: cut]"],
    );
    assert!(resent.len() >= 2, "the data was not sent again: {resent:?}");
    let printed = testing::trace_lines(&out.stdout);
    testing::compare_with_tcpdump(name, &printed, &pcap);
    let _ = std::fs::remove_file(&pcap);
}

/// Where no lab can be made, `demo --wire` says why and how to allow it in one line, and
/// exits 1 (the lab is switched off here with `SOCKLAB_WIRE_FORCE_UNAVAILABLE`); `--pcap`
/// without `--wire` is refused as a usage error.
#[test]
fn demo_wire_without_a_lab_says_why_in_one_line() {
    testing::assert_demo_wire_without_a_lab_says_why(BIN, "timeouts-demo", LIMIT);
}
