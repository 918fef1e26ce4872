//! Lab 2's grading tests: the student's `exercises::lab2::send` and `receive`, run against
//! each other on two sockets joined by a bad link, must deliver a file intact over a link that
//! loses, duplicates and reorders datagrams, without putting much more than the file on it
//! (counted at the link, not taken from the sender's report); must give up on a peer that is
//! gone, within their deadline and not before it; and must ignore garbage. The binary
//! `lab2-transfer` must carry a file from one process to another. In a student kit each test
//! fails with the lab's own "not yet implemented" until `exercises::lab2` is written.
//!
//! The bad link is the wire lab's where one can be made (`socklab_wire`), and otherwise a relay
//! on loopback that applies the same rules (`labs::relay`), so the lab is graded on every
//! machine. `cargo xtask exercises --check lab2` runs them; `-- --nocapture` shows what each
//! link did.

use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use exercises::lab2::{Config, Report, receive, send};
use socklab_support::data::{Generator, payload};
use socklab_support::{process, within};
use socklab_wire::{Direction, Lab, LinkConfig, Transport, testing};

mod labs;

use labs::relay::{Counts, Relay};

/// The student's program.
const BIN: &str = env!("CARGO_BIN_EXE_lab2-transfer");

/// The bound on each whole test: far above what a correct solution takes, so that it only
/// ends a hang.
const LIMIT: Duration = Duration::from_secs(30);

/// The largest datagram either side may send: fits the link's MTU, no IP fragments.
const MAX_DATAGRAM: usize = 1200;

/// The peer timeout of the transfers that must succeed: long enough that a crowded machine
/// does not make a live peer look dead.
const PATIENT: Duration = Duration::from_secs(5);

/// The size of the file most tests send.
const FILE: usize = 300 * 1024;

/// The bound on what the sender puts on the link, as a multiple of the file's size: its
/// datagrams, first sends, retransmissions and headers, all counted.
const BOUND: f64 = 1.5;

/// How late past its deadline a side may give up on a dead peer (a loaded machine's
/// scheduling): the deadline is what is graded, this is slack.
const SLACK: Duration = Duration::from_secs(3);

/// One test at a time: their deadlines are checked within a few seconds, which other tests
/// keeping both cores of a small machine busy could stretch.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes the turn of a test (a test that failed while holding it leaves it usable).
fn turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn config(peer_timeout: Duration) -> Config {
    Config {
        max_datagram: MAX_DATAGRAM,
        peer_timeout,
    }
}

// ANCHOR: lab2_bad_link
/// The bad link: each way, `10%` of datagrams lost, `5%` delivered twice, and `10%` held back
/// `20 ms` so that later ones overtake them, on a link of `2 ms` each way; from seed `2`, so
/// each datagram's fate repeats from run to run.
fn bad_link() -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(2),
        loss: 0.10,
        duplicate: 0.05,
        reorder: 0.10,
        reorder_hold: Duration::from_millis(20),
        seed: 2,
        ..LinkConfig::default()
    }
}
// ANCHOR_END: lab2_bad_link

/// How a transfer ended, on each side, and when.
struct Outcome {
    sent: io::Result<Report>,
    sent_at: Instant,
    received: io::Result<Vec<u8>>,
    received_at: Instant,
    started: Instant,
}

/// Runs `receive` on `receiver` and then `send` on `sender` to `to`, each on a thread of its
/// own, and waits for both. A panic in either is this test's failure, with its message (in a
/// kit: "not yet implemented" and the hint).
fn transfer(
    sender: UdpSocket,
    to: SocketAddr,
    receiver: UdpSocket,
    data: Arc<Vec<u8>>,
    config: Config,
) -> Outcome {
    within(LIMIT, "a transfer", move || {
        let started = Instant::now();
        let receiving = thread::spawn(move || {
            let got = receive(&receiver, &config);
            (got, Instant::now())
        });
        let sending = thread::spawn(move || {
            let sent = send(&sender, to, &data, &config);
            (sent, Instant::now())
        });
        let (sent, sent_at) = sending
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let (received, received_at) = receiving
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Outcome {
            sent,
            sent_at,
            received,
            received_at,
            started,
        }
    })
}

/// Two sockets on loopback, the sender's and the receiver's, and a relay between them that
/// behaves as `link` says.
fn relayed(link: LinkConfig) -> (UdpSocket, UdpSocket, Relay) {
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let relay = Relay::start(
        sender.local_addr().unwrap(),
        receiver.local_addr().unwrap(),
        link,
    )
    .unwrap();
    (sender, receiver, relay)
}

/// Sends `data` over a relay that behaves as `link` says; returns the outcome and what the
/// link saw from the sender.
fn over_relay(link: LinkConfig, data: &Arc<Vec<u8>>, config: Config) -> (Outcome, Counts) {
    let (sender, receiver, relay) = relayed(link);
    let outcome = transfer(sender, relay.to_b(), receiver, Arc::clone(data), config);
    (outcome, relay.a_to_b())
}

/// The receiver's port on the wire lab's host B.
const PORT: u16 = 7000;

/// Sends `data` from the lab's host A to host B; returns the outcome and what the link saw
/// from the sender, read from the trace of every packet.
fn over_lab(lab: &Lab, data: &Arc<Vec<u8>>, config: Config) -> (Outcome, Counts) {
    let (a, b) = (lab.a().clone(), lab.b().clone());
    let sender = a.run(|| UdpSocket::bind(a.addr(0))).unwrap().unwrap();
    let receiver = b.run(|| UdpSocket::bind(b.addr(PORT))).unwrap().unwrap();
    let outcome = transfer(sender, b.addr(PORT), receiver, Arc::clone(data), config);
    let link = lab.link().config();
    let trace = lab.trace();
    assert_eq!(
        trace.unrecorded,
        0,
        "the link carried more than {} packets, its trace's limit: far more than a file of {} \
         bytes needs",
        link.trace_limit,
        data.len()
    );
    let mut counts = Counts::default();
    for p in trace.iter() {
        if p.direction != Direction::AToB || p.src != std::net::IpAddr::V4(a.v4()) {
            continue;
        }
        match &p.transport {
            Transport::Udp(u) if u.dst_port == PORT => {
                counts.datagrams += 1;
                counts.bytes += u.payload_len as u64;
                counts.largest = counts.largest.max(u.payload_len);
            }
            // A datagram over the MTU leaves in IP fragments, which carry no UDP header past
            // the first: counted as the largest possible, so that the size check names it.
            Transport::Other(what) if what.starts_with("fragment") => {
                counts.datagrams += 1;
                counts.bytes += (p.len - 20) as u64;
                counts.largest = usize::MAX;
            }
            _ => continue,
        }
        match p.arrived() {
            None => counts.dropped += 1,
            Some(at) if at - p.time > link.delay + link.jitter => counts.held_back += 1,
            Some(_) => {}
        }
        if matches!(p.fate, socklab_wire::Fate::Delivered { copies: 2, .. }) {
            counts.duplicated += 1;
        }
    }
    (outcome, counts)
}

/// The first byte at which `got` differs from `want`, for a failure message that does not
/// print 300 KiB.
fn first_difference(got: &[u8], want: &[u8]) -> String {
    match got.iter().zip(want).position(|(g, w)| g != w) {
        Some(i) => format!("they differ first at byte {i}"),
        None => format!("{} bytes arrived of {}", got.len(), want.len()),
    }
}

/// Fails unless both sides succeeded and the file arrived intact.
fn assert_intact(outcome: &Outcome, data: &[u8], what: &str) {
    let report = match &outcome.sent {
        Ok(report) => report,
        Err(e) => panic!("{what}: send failed: {e}"),
    };
    match &outcome.received {
        Ok(got) => assert!(
            got == data,
            "{what}: the file did not arrive intact: {}",
            first_difference(got, data)
        ),
        Err(e) => panic!(
            "{what}: receive failed ({e}), though send returned {report:?}: the sender must \
             return only once the receiver has everything"
        ),
    }
}

/// Fails unless every datagram the sender put on the link was within the size limit.
fn assert_small_datagrams(counts: &Counts, max: usize, what: &str) {
    assert!(
        counts.largest <= max,
        "{what}: the sender put a datagram of {} bytes on the link; the limit is {max}",
        if counts.largest == usize::MAX {
            "more than the MTU's (it was fragmented)".to_string()
        } else {
            counts.largest.to_string()
        }
    );
}

// ANCHOR: lab2_transfers
/// Over a perfect link (the loopback relay, which counts what crosses it), files of `0`,
/// `1`, `1,000`, `1,200`, `5,000` and `300 KiB` bytes arrive intact, each datagram within
/// `max_datagram`; and with a `max_datagram` of `512`, every datagram is within that instead.
/// Once `send` returns `Ok`, `receive` has the whole file.
#[test]
fn lab2_transfers() {
    let _turn = turn();
    let sizes = [0, 1, 1000, 1200, 5000, FILE];
    for (size, max_datagram) in sizes
        .map(|s| (s, MAX_DATAGRAM))
        .into_iter()
        .chain([(20_000, 512)])
    {
        let data = Arc::new(payload(size as u64, size));
        let config = Config {
            max_datagram,
            ..config(PATIENT)
        };
        let (outcome, counts) = over_relay(LinkConfig::default(), &data, config);
        let what = format!("{size} bytes in datagrams of at most {max_datagram}");
        assert_intact(&outcome, &data, &what);
        assert_small_datagrams(&counts, max_datagram, &what);
        eprintln!(
            "{what}: {} datagrams, {} bytes on the link, in {:.1?}",
            counts.datagrams,
            counts.bytes,
            outcome.sent_at - outcome.started
        );
    }
}
// ANCHOR_END: lab2_transfers

// ANCHOR: lab2_survives_a_bad_link
/// Over the bad link (the wire lab's, or the loopback relay with the same rules where no lab
/// can be made), `300 KiB` arrive intact, and the sender's datagrams, every byte of them
/// counted at the link, add up to at most `1.5` times the file. The link must have lost,
/// duplicated and held back some of them, or the test proves nothing.
#[test]
fn lab2_survives_a_bad_link() {
    let name = "lab2_survives_a_bad_link";
    let _turn = turn();
    let data = Arc::new(payload(20, FILE));
    let config = config(PATIENT);
    let (where_, (outcome, counts)) = match Lab::available() {
        Err(u) if !u.user_namespace_works => {
            eprintln!("{name}: no wire lab here ({u}): the bad link is the loopback relay");
            ("the loopback relay", over_relay(bad_link(), &data, config))
        }
        _ => {
            // Made here, or this test runs again in a user namespace (then it returns).
            let Some(lab) = testing::lab(name, bad_link()) else {
                return;
            };
            ("the wire lab", over_lab(&lab, &data, config))
        }
    };
    let ratio = counts.bytes as f64 / data.len() as f64;
    eprintln!(
        "over {where_}: {} bytes in {:.1?}; the sender put {} datagrams on the link, {} \
         bytes ({ratio:.2} times the file); the link lost {}, duplicated {} and held back {}",
        data.len(),
        outcome.sent_at - outcome.started,
        counts.datagrams,
        counts.bytes,
        counts.dropped,
        counts.duplicated,
        counts.held_back
    );
    if let Ok(report) = &outcome.sent {
        eprintln!("the sender's own report: {report:?}");
    }
    assert_intact(&outcome, &data, "over the bad link");
    assert_small_datagrams(&counts, MAX_DATAGRAM, "over the bad link");
    assert!(
        counts.dropped > 0 && counts.duplicated > 0 && counts.held_back > 0,
        "the link did not lose, duplicate and reorder: {counts:?}"
    );
    assert!(
        ratio <= BOUND,
        "the sender put {} bytes on the link for a file of {}: {ratio:.2} times the file, over \
         the bound of {BOUND} (resend only what was lost)",
        counts.bytes,
        data.len()
    );
}
// ANCHOR_END: lab2_survives_a_bad_link

/// When a side gave up, judged: an error of kind `TimedOut`, no sooner than `timeout` after
/// `last_heard` (the last datagram the link delivered to it: it cannot have heard from its
/// peer later), and no later than `timeout` (plus [`SLACK`]) after `silence`, when the link
/// went quiet.
fn assert_gave_up(
    side: &str,
    result: Result<(), &io::Error>,
    at: Instant,
    last_heard: Instant,
    silence: Instant,
    timeout: Duration,
) {
    match result {
        Ok(()) => panic!("{side} succeeded, with its peer gone"),
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::TimedOut,
            "{side} failed, but not with TimedOut: {e}"
        ),
    }
    assert!(
        at >= last_heard + timeout,
        "{side} gave up {:.0?} after the last datagram it could have received: sooner than \
         its peer_timeout of {timeout:?}",
        at - last_heard
    );
    assert!(
        at <= silence + timeout + SLACK,
        "{side} gave up {:.1?} after the link went quiet, with a peer_timeout of {timeout:?}",
        at - silence
    );
    eprintln!(
        "{side}: gave up {:.2?} after the link went quiet (peer_timeout {timeout:?})",
        at - silence
    );
}

// ANCHOR: lab2_gives_up_on_a_dead_peer
/// A peer that vanishes is an error of kind `TimedOut` after `peer_timeout` (`1 s` here), not
/// a hang, and not a moment sooner than `peer_timeout` after the last datagram it sent. Three
/// at once: a transfer whose link is cut after its first `150` datagrams (both sides give up);
/// a sender whose receiver never answers; a receiver to which nobody sends, while a stranger's
/// garbage arrives every `10 ms` (garbage is not a peer: it must not put the deadline off).
#[test]
fn lab2_gives_up_on_a_dead_peer() {
    let _turn = turn();
    let timeout = Duration::from_secs(1);
    let config = config(timeout);
    let data = Arc::new(payload(21, FILE));

    // Nobody answers: a socket that never reads.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to_silent = silent.local_addr().unwrap();
    let lonely_sender = thread::spawn({
        let data = Arc::clone(&data);
        move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let started = Instant::now();
            let sent = send(&socket, to_silent, &data, &config).map(|_| ());
            (sent, started, Instant::now())
        }
    });
    // Nobody sends, but a stranger's garbage keeps coming: it must not keep the receiver
    // waiting past its deadline (chapter 2: a deadline, not a timeout per receive).
    let lonely = UdpSocket::bind("127.0.0.1:0").unwrap();
    let lonely_addr = lonely.local_addr().unwrap();
    let waiting = Arc::new(AtomicBool::new(true));
    let lonely_receiver = thread::spawn({
        let waiting = Arc::clone(&waiting);
        move || {
            let started = Instant::now();
            let got = receive(&lonely, &config).map(|_| ());
            waiting.store(false, Ordering::Relaxed);
            (got, started, Instant::now())
        }
    });
    let stranger = thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rng = Generator::new(21);
        let started = Instant::now();
        // Until the receiver gives up, or for longer than it may take to (then it fails).
        while waiting.load(Ordering::Relaxed) && started.elapsed() < timeout + SLACK * 2 {
            let _ = socket.send_to(&garbage(&mut rng), lonely_addr);
            thread::sleep(Duration::from_millis(10)); // The pace of the garbage.
        }
    });

    let (sender, receiver, relay) = relayed(LinkConfig {
        delay: Duration::from_millis(1),
        ..LinkConfig::default()
    });
    const CUT: u64 = 150;
    relay.cut_after(CUT);
    let outcome = transfer(sender, relay.to_b(), receiver, data, config);
    let cut = relay.cut_at().expect("the link was cut");
    // Each side can have heard nothing after the last datagram the link delivered to it (or,
    // if it delivered none, after the start).
    let (to_sender, to_receiver) = (relay.b_to_a(), relay.a_to_b());
    eprintln!(
        "the link was cut after {CUT} datagrams from the sender, who sent {} in all",
        to_receiver.datagrams
    );
    let heard = |c: Counts| {
        c.last_delivery
            .unwrap_or(outcome.started)
            .max(outcome.started)
    };
    assert_gave_up(
        "the sender",
        outcome.sent.as_ref().map(|_| ()),
        outcome.sent_at,
        heard(to_sender),
        cut,
        timeout,
    );
    assert_gave_up(
        "the receiver",
        outcome.received.as_ref().map(|_| ()),
        outcome.received_at,
        heard(to_receiver),
        cut,
        timeout,
    );

    let (sent, started, at) = within(LIMIT, "the lonely sender", move || {
        lonely_sender
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    });
    assert_gave_up(
        "a sender nobody answers",
        sent.as_ref().map(|_| ()),
        at,
        started,
        started,
        timeout,
    );
    drop(silent);
    let (got, started, at) = within(LIMIT, "the lonely receiver", move || {
        lonely_receiver
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    });
    stranger.join().unwrap();
    assert_gave_up(
        "a receiver nobody sends to, sent garbage",
        got.as_ref().map(|_| ()),
        at,
        started,
        started,
        timeout,
    );
}
// ANCHOR_END: lab2_gives_up_on_a_dead_peer

/// Datagrams of garbage: random bytes of random sizes, and the shapes a careless parser
/// trips on (empty, one byte, all zeros, all ones, a maximal datagram).
fn garbage(rng: &mut Generator) -> Vec<u8> {
    match rng.size(0, 7) {
        0 => Vec::new(),
        1 => vec![rng.size(0, 255) as u8],
        2 => vec![0; rng.size(1, MAX_DATAGRAM)],
        3 => vec![0xff; rng.size(1, MAX_DATAGRAM)],
        4 => vec![0; 65_507],
        _ => {
            let mut bytes = vec![0; rng.size(2, 1500)];
            rng.fill(&mut bytes);
            bytes
        }
    }
}

// ANCHOR: lab2_ignores_garbage
/// Garbage is ignored, and never a panic: over the bad link (the loopback relay), `300 KiB`
/// arrive intact while garbage datagrams (random bytes, empty, all zeros, all ones, `65,507`
/// bytes) reach both sides about once a millisecond, from a stranger's address and from the
/// very address the peer's datagrams come from (as if the network had mangled them); the
/// receiver gets garbage first, before the sender starts.
#[test]
fn lab2_ignores_garbage() {
    let _turn = turn();
    let data = Arc::new(payload(22, FILE));
    let (sender, receiver, relay) = relayed(bad_link());
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (sender_addr, receiver_addr) =
        (sender.local_addr().unwrap(), receiver.local_addr().unwrap());
    let relay = Arc::new(relay);
    let mut rng = Generator::new(22);
    // Before the transfer: the receiver must not take garbage for its first datagram.
    for _ in 0..20 {
        let _ = stranger.send_to(&garbage(&mut rng), receiver_addr);
        let _ = relay.inject_to_b(&garbage(&mut rng));
    }
    let spraying = Arc::new(AtomicBool::new(true));
    let sprayer = thread::spawn({
        let (spraying, relay) = (Arc::clone(&spraying), Arc::clone(&relay));
        move || {
            let mut sent = 0u64;
            while spraying.load(Ordering::Relaxed) {
                let _ = stranger.send_to(&garbage(&mut rng), receiver_addr);
                let _ = stranger.send_to(&garbage(&mut rng), sender_addr);
                let _ = relay.inject_to_b(&garbage(&mut rng));
                let _ = relay.inject_to_a(&garbage(&mut rng));
                sent += 4;
                thread::sleep(Duration::from_millis(1)); // The pace of the garbage.
            }
            sent
        }
    });
    let outcome = transfer(
        sender,
        relay.to_b(),
        receiver,
        Arc::clone(&data),
        config(PATIENT),
    );
    spraying.store(false, Ordering::Relaxed);
    let sprayed = sprayer.join().unwrap();
    eprintln!(
        "{sprayed} garbage datagrams during a transfer of {:.1?}",
        outcome.sent_at - outcome.started
    );
    assert_intact(&outcome, &data, "with garbage arriving");
}
// ANCHOR_END: lab2_ignores_garbage

// ANCHOR: lab2_detects_damage
/// Damage is detected: over the bad link (the loopback relay) with one bit flipped in every
/// tenth datagram each way, in the header or the payload, `300 KiB` arrive intact. A damaged
/// datagram must be treated as lost (and its chunk sent again), never stored or believed: the
/// network's own checksums miss some damage, which is why the lab asks for a checksum of your
/// own. The test also checks that the link did damage datagrams, so a lucky run proves
/// nothing.
#[test]
fn lab2_detects_damage() {
    let _turn = turn();
    let data = Arc::new(payload(23, FILE));
    let (sender, receiver, relay) = relayed(bad_link());
    relay.corrupt_every(10);
    let outcome = transfer(
        sender,
        relay.to_b(),
        receiver,
        Arc::clone(&data),
        config(PATIENT),
    );
    let (a_to_b, b_to_a) = (relay.a_to_b(), relay.b_to_a());
    eprintln!("A to B: {a_to_b:?}\nB to A: {b_to_a:?}");
    assert!(a_to_b.corrupted > 0, "the link damaged nothing: {a_to_b:?}");
    assert_intact(&outcome, &data, "with damaged datagrams");
}
// ANCHOR_END: lab2_detects_damage

/// A file under the system's temporary folder, unique to this run.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("socklab-lab2-{}-{name}", std::process::id()))
}

// ANCHOR: lab2_transfers_files
/// The program: `lab2-transfer receive` prints `listening on ADDR`, `lab2-transfer send`
/// sends it a file of `200 KiB` and exits 0, and the receiver writes the same bytes and exits
/// 0. Bad input is one line and a non-zero exit, never a panic: a file that does not exist,
/// an output folder that does not exist (refused at once, before waiting `30 s` for a
/// sender), an address without a port, a zero timeout.
#[test]
fn lab2_transfers_files() {
    let _turn = turn();
    let (input, output) = (temp_path("in.bin"), temp_path("out.bin"));
    fs::write(&input, payload(23, 200 * 1024)).unwrap();
    let out_arg = output.to_str().unwrap().to_string();
    let mut receiver = Command::new(BIN)
        .args(["receive", "--out", &out_arg, "--timeout", "10s"])
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = receiver.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = lines.recv_timeout(Duration::from_secs(10));
    let addr = match first.as_deref().map(|l| l.strip_prefix("listening on ")) {
        Ok(Some(addr)) => addr.to_string(),
        _ => {
            let _ = receiver.kill();
            let out = receiver.wait_with_output().unwrap();
            panic!(
                "`lab2-transfer receive` did not print `listening on ADDR` first ({first:?}); \
                 its standard error:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let sent = process::run(
        BIN,
        &[
            "send",
            "--to",
            &addr,
            input.to_str().unwrap(),
            "--timeout",
            "10s",
        ],
        LIMIT,
    );
    let received = within(LIMIT, "the receiver to exit", move || {
        receiver.wait_with_output().unwrap()
    });
    let stderr = String::from_utf8_lossy(&received.stderr).into_owned();
    let intact = fs::read(&output).ok() == Some(fs::read(&input).unwrap());
    let _ = fs::remove_file(&input);
    let _ = fs::remove_file(&output);
    assert_eq!(sent.code, Some(0), "lab2-transfer send: {}", sent.stderr);
    assert_eq!(
        received.status.code(),
        Some(0),
        "lab2-transfer receive: {stderr}"
    );
    assert!(intact, "the file written is not the file sent");

    // Bad input.
    let missing_dir = temp_path("no-such-folder/out.bin");
    let missing_file = temp_path("no-such-file.bin");
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &[
                "send",
                "--to",
                "127.0.0.1:9",
                missing_file.to_str().unwrap(),
            ],
            1,
            "no-such-file.bin",
        ),
        (
            &["receive", "--out", missing_dir.to_str().unwrap()],
            1,
            "no-such-folder",
        ),
        (&["send", "--to", "127.0.0.1", "x"], 2, "no port"),
        (&["receive", "--out", "x", "--timeout", "0s"], 2, "zero"),
    ];
    for (args, code, says) in cases {
        let out = process::run(BIN, args, Duration::from_secs(10));
        assert_eq!(out.code, Some(code), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
        if code == 1 {
            assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        }
    }
}
// ANCHOR_END: lab2_transfers_files
