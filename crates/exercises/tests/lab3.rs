//! Lab 3's grading tests: the student's `lab3-chat` binary, started as a process of its own,
//! must fan every message out to a thousand subscribers exactly once and in order, drop a
//! subscriber that stops reading instead of waiting for it or buffering for it without end,
//! close only the client that sends garbage, serve everyone from one thread, stop cleanly on
//! `SIGTERM`, and deliver at least half as many messages per second as the course's baseline
//! server (tokio, `labs/chat_reference.rs`) under the same load in the same test. In a student
//! kit each fails with the server's own "not yet implemented" until `exercises::lab3` is
//! written.
//!
//! `cargo xtask exercises --check lab3` runs them; `-- --nocapture` shows the figures.
//!
//! Linux only, like the lab: the load generator is an `epoll` loop, threads and memory are
//! read from `/proc`, and the speed test keeps the load and the server on processors of their
//! own (`sched_setaffinity`). Elsewhere the file compiles to nothing, and the exercise runner
//! lists the lab as not graded on this system.
#![cfg(target_os = "linux")]

use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::descriptors::raise_fd_limit;
use socklab_support::within;

#[path = "labs/chat.rs"]
mod chat;
#[path = "labs/chat_reference.rs"]
mod chat_reference;
mod labs;

use chat::{Client, Load, Until};
use chat_reference::Reference;
use labs::{Held, Server};

/// The student's server.
const BIN: &str = env!("CARGO_BIN_EXE_lab3-chat");

/// Subscribers in the fan-out, one-thread and speed tests.
const SUBSCRIBERS: usize = 1000;

/// Descriptors this process needs: a thousand clients, and the baseline's end of each of them
/// in the speed test.
const FDS: u64 = 2 * SUBSCRIBERS as u64 + 256;

/// One test at a time: each runs a server and a thousand clients that keep both cores of a
/// small machine busy, and the speed test compares two servers' rates.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes the turn of a test (a test that failed while holding it leaves it usable).
fn turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the server, or fails the test saying why (in a kit: its `todo!()` panic).
fn start(args: &[&str]) -> Server {
    Server::start(BIN, args).unwrap_or_else(|e| panic!("lab3-chat did not start: {e}"))
}

/// Raises this process's descriptor limit to hold a thousand clients, or fails the test
/// saying how to allow it. (Not a skip: a grading test that skipped would count as passed.)
fn enough_descriptors() {
    match raise_fd_limit(FDS) {
        Ok(limit) if limit >= FDS => {}
        Ok(limit) => panic!(
            "the descriptor limit is {limit} and cannot be raised to the {FDS} this test needs \
             for {SUBSCRIBERS} clients; raise the hard limit (`ulimit -Hn {FDS}` as root, or \
             the system's configuration) and run it again"
        ),
        Err(e) => panic!("cannot read the descriptor limit: {e}"),
    }
}

/// The protocol's rules, each seen once: `SUB` is answered `OK`; a message reaches every
/// subscriber of its topic, its publisher too if subscribed, and nobody else; an empty
/// message is a message.
fn protocol_basics(addr: SocketAddr) -> Result<(), String> {
    let mut a = Client::subscribed(addr, "news")?;
    let mut b = Client::subscribed(addr, "news")?;
    b.subscribe("sport")?;
    a.publish("news", b"hello, world")?;
    a.expect(b"MSG news hello, world")
        .map_err(|e| format!("the publisher, subscribed to its topic: {e}"))?;
    b.expect(b"MSG news hello, world")
        .map_err(|e| format!("a subscriber: {e}"))?;
    b.publish("sport", b"goal")?;
    b.expect(b"MSG sport goal")
        .map_err(|e| format!("a subscriber of two topics: {e}"))?;
    // B has its message, so the server has handled it: had A been sent it, it would now be
    // ahead of this one.
    a.publish("news", b"")?;
    a.expect(b"MSG news ")
        .map_err(|e| format!("a subscriber of news only, after a message to sport: {e}"))?;
    b.expect(b"MSG news ")
        .map_err(|e| format!("an empty message: {e}"))
}

// ANCHOR: lab3_fans_out
/// `1,000` subscribers of one topic (every tenth subscribed twice) and `4` publishers of
/// `100` messages each: every subscriber gets every message exactly once, in each
/// publisher's order, and a subscriber of another topic gets none of them. The protocol's
/// rules are checked first, one client at a time.
#[test]
fn lab3_fans_out_to_1000_subscribers() {
    let _turn = turn();
    enough_descriptors();
    within(Duration::from_secs(90), "lab3_fans_out", || {
        let mut server = start(&[]);
        let addr = server.addr;
        if let Err(e) = protocol_basics(addr) {
            panic!("the protocol: {e}{}", server.fate());
        }
        let mut quiet = Client::subscribed(addr, "quiet")
            .unwrap_or_else(|e| panic!("a subscriber of another topic: {e}{}", server.fate()));
        let load = Load {
            subscribers: SUBSCRIBERS,
            publishers: 4,
            topic: "fanout".into(),
            size: 64,
            window: 8,
            twice_every: 10,
            until: Until::Messages(100),
            limit: Duration::from_secs(60),
            cpu: None,
        };
        let seen = load.run(addr);
        assert!(
            seen.problems.is_empty(),
            "fan-out to {SUBSCRIBERS} subscribers: {}{}",
            seen.problems.join("; "),
            server.fate()
        );
        eprintln!(
            "lab3-chat: {} subscribers connected in {:.1?}; {} messages delivered, {:.0} a second",
            SUBSCRIBERS, seen.setup, seen.delivered, seen.rate
        );
        // Nothing of the load reached the other topic: its next frame is its own message.
        quiet.publish("quiet", b"still here").unwrap();
        if let Err(e) = quiet.expect(b"MSG quiet still here") {
            panic!(
                "a subscriber of another topic, after the load: {e}{}",
                server.fate()
            );
        }
        server.alive().unwrap();
    });
}
// ANCHOR_END: lab3_fans_out

/// The machine's largest TCP send buffer (`tcp_wmem`'s maximum, Linux): how much the
/// kernel may hold on the server's side for a client that reads nothing, besides the
/// client's own receive buffer.
fn largest_send_buffer() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20) // Linux's default maximum.
}

// ANCHOR: lab3_slow_reader
/// A subscriber that stops reading neither stalls the others nor grows the server: a
/// publisher sends far more than the kernel's buffers and `--max-outbox` can hold
/// (`32 MiB` beyond them) to a topic with a fast subscriber and a stopped one. The fast one
/// gets every message, in order; the server's peak resident memory grows by less than
/// `16 MiB`; and the stopped one has been dropped: what it finds when it reads at last is
/// the messages from the first on, without a gap (the last may be cut short), then the end
/// of the stream.
#[test]
fn lab3_drops_a_slow_reader() {
    let _turn = turn();
    within(Duration::from_secs(90), "lab3_drops_a_slow_reader", || {
        let outbox: usize = 1 << 20;
        let mut server = start(&["--max-outbox", &outbox.to_string()]);
        let (addr, pid) = (server.addr, server.pid());
        let topic = "firehose";
        let size = 16 * 1024;
        // Its receive buffer is small and fixed (set before connecting, so the kernel does
        // not grow it): what the kernel holds for it is known.
        let slow_buffer = 64 * 1024;
        let slow = || -> Result<Client, String> {
            use socket2::{Domain, Socket, Type};
            let socket =
                Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| e.to_string())?;
            socket
                .set_recv_buffer_size(slow_buffer)
                .map_err(|e| e.to_string())?;
            socket
                .connect_timeout(&addr.into(), chat::PATIENCE)
                .map_err(|e| format!("connecting: {e}"))?;
            let stream: TcpStream = socket.into();
            stream
                .set_read_timeout(Some(chat::PATIENCE))
                .map_err(|e| e.to_string())?;
            let mut slow = Client { stream };
            slow.subscribe(topic)?;
            Ok(slow)
        };
        let mut slow =
            slow().unwrap_or_else(|e| panic!("the slow subscriber: {e}{}", server.fate()));
        let mut fast = Client::subscribed(addr, topic)
            .unwrap_or_else(|e| panic!("the fast subscriber: {e}{}", server.fate()));
        let mut publisher = Client::connect(addr).unwrap();
        let before = Held::peak_memory(pid);
        // Everything the kernel could hold for the slow one (the kernel doubles the receive
        // buffer asked for), its outbox, and 32 MiB more.
        let held_elsewhere = 2 * slow_buffer + largest_send_buffer() + outbox;
        let messages = (held_elsewhere + (32 << 20)).div_ceil(size) as u32;
        // The publisher keeps at most 16 messages ahead of the fast subscriber (256 KiB, well
        // under --max-outbox), so that only the stopped reader can fall behind.
        let window = 16;
        let message = |s: u32| {
            let mut m = vec![s as u8; size];
            m[..4].copy_from_slice(&s.to_be_bytes());
            m
        };
        let started = Instant::now();
        let mut got = 0u32;
        for s in 0..messages {
            publisher
                .publish(topic, &message(s))
                .unwrap_or_else(|e| panic!("the publisher, at message {s}: {e}{}", server.fate()));
            while got + window <= s || (s + 1 == messages && got < messages) {
                let payload = fast.next().unwrap_or_else(|e| {
                    panic!(
                        "the fast subscriber, waiting for message {got} of {messages} while \
                         the other one reads nothing: {e}{}",
                        server.fate()
                    )
                });
                let want = [format!("MSG {topic} ").as_bytes(), &message(got)].concat();
                assert!(
                    payload == want,
                    "the fast subscriber's message {got} is not the one published"
                );
                got += 1;
            }
        }
        let took = started.elapsed();
        let grew = match (before, Held::peak_memory(pid)) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        // What the slow one gets now: a prefix of the messages, then the end.
        let mut next = 0u32;
        let prefix = format!("MSG {topic} ");
        let ended = loop {
            match socklab_abuse::wire::read_frame(&mut slow.stream, 1 << 20) {
                Ok(Some(payload)) => {
                    let want = [prefix.as_bytes(), &message(next)].concat();
                    assert!(
                        payload == want,
                        "the slow subscriber's message {next} is not the one published (a \
                         gap? the rule is to drop a client that falls behind, not to skip \
                         its messages)"
                    );
                    next += 1;
                }
                Ok(None) => break Ok("the end of the stream"),
                // Dropped with part of a message sent: the rest never comes.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                    break Ok("a message cut short, then the end of the stream");
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break Ok("a reset"),
                Err(e) => break Err(e),
            }
        };
        eprintln!(
            "lab3-chat: {messages} messages of {size} bytes in {took:.1?}; the slow reader \
             got {next} before {}; peak memory grew by {} KiB",
            ended
                .as_ref()
                .map_or_else(|e| e.to_string(), |how| how.to_string()),
            grew.map_or("?".into(), |g| (g >> 10).to_string())
        );
        assert!(
            next < messages,
            "the slow subscriber got all {messages} messages: it was never dropped, so the \
             server kept what it could not send ({} MiB) until it was read",
            (messages as usize * size) >> 20
        );
        if let Err(e) = ended {
            panic!(
                "the slow subscriber's connection did not end after its {next} messages \
                 (reading: {e}): it must be dropped{}",
                server.fate()
            );
        }
        if let Some(grew) = grew {
            assert!(
                grew < 16 << 20,
                "the server's peak memory grew by {} MiB while one subscriber read nothing: \
                 its outbox must be bounded by --max-outbox",
                grew >> 20
            );
        }
        server.alive().unwrap();
    });
}
// ANCHOR_END: lab3_slow_reader

/// Each bad client is closed within `5 s`, and only it: a header announcing one byte more
/// than `--max-frame` (closed on the header), an HTTP request, an empty frame, an unknown
/// command, an empty topic, a topic of `65` bytes or with a space, a `PUB` without the space
/// before its message, a `65`th subscription, and a frame cut short by the client's FIN.
/// Between them a subscriber and a publisher keep exchanging messages; afterwards the server
/// holds no more sockets than before.
#[test]
fn lab3_bad_frames_close_only_their_client() {
    let _turn = turn();
    within(Duration::from_secs(60), "lab3_bad_frames", || {
        let max_frame = 4096usize;
        let mut server = start(&["--max-frame", &max_frame.to_string()]);
        let (addr, pid) = (server.addr, server.pid());
        let mut listener = Client::subscribed(addr, "good")
            .unwrap_or_else(|e| panic!("a subscriber: {e}{}", server.fate()));
        let mut talker = Client::connect(addr).unwrap();
        // Once its message has come round, the server has accepted both: count from there.
        talker.publish("good", b"hello").unwrap();
        if let Err(e) = listener.expect(b"MSG good hello") {
            panic!("the good clients: {e}{}", server.fate());
        }
        let baseline = Held::of(pid);
        let frame = |payload: &[u8]| socklab_abuse::wire::frame(payload);
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "a frame over --max-frame (its header only)",
                ((max_frame + 1) as u32).to_be_bytes().to_vec(),
            ),
            (
                "an HTTP request",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            ),
            ("an empty frame", frame(b"")),
            ("an unknown command", frame(b"HELLO everyone")),
            ("SUB with an empty topic", frame(b"SUB ")),
            (
                "SUB with a 65-byte topic",
                frame(&[b"SUB ".as_slice(), &[b't'; 65]].concat()),
            ),
            ("SUB with a space in the topic", frame(b"SUB two words")),
            ("PUB without a message separator", frame(b"PUB good")),
            ("lower-case sub", frame(b"sub good")),
        ];
        let too_many: Vec<u8> = (0..65).flat_map(|i| chat::sub(&format!("t{i}"))).collect();
        cases.push(("65 subscriptions", too_many));
        for (i, (what, bytes)) in cases.iter().enumerate() {
            let mut bad = Client::connect(addr).unwrap();
            bad.send(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
            if let Err(e) = bad.closed_within(Duration::from_secs(5)) {
                panic!(
                    "{what}: the server must close that client: {e}{}",
                    server.fate()
                );
            }
            let note = format!("after {what}: {i}");
            talker.publish("good", note.as_bytes()).unwrap();
            if let Err(e) = listener.expect(format!("MSG good {note}").as_bytes()) {
                panic!("the good clients, {note}: {e}{}", server.fate());
            }
        }
        // Half a frame, then FIN: the stream ended inside a frame.
        let mut cut = Client::connect(addr).unwrap();
        cut.send(&[0, 0, 0, 20, b'P', b'U', b'B']).unwrap();
        cut.stream.shutdown(Shutdown::Write).unwrap();
        if let Err(e) = cut.closed_within(Duration::from_secs(5)) {
            panic!(
                "a frame cut by FIN: the server must close that client: {e}{}",
                server.fate()
            );
        }
        talker.publish("good", b"the end").unwrap();
        listener.expect(b"MSG good the end").unwrap();
        if let Some(base) = &baseline
            && let Err(e) = Held::back_to(pid, base, Duration::from_secs(5))
        {
            panic!("{e}{}", server.fate());
        }
        server.alive().unwrap();
    });
}

/// The most threads a process had while watched: sampled from `/proc/PID/task` every
/// millisecond or two until dropped. (The harness's `Sampler` also lists every descriptor,
/// which with a thousand sockets would take a core from the servers being measured.)
struct ThreadWatch {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<usize>,
}

impl ThreadWatch {
    fn start(pid: u32) -> ThreadWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut most = 0;
            while !flag.load(Ordering::Relaxed) {
                let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                    break;
                };
                most = most.max(tasks.count());
                thread::sleep(Duration::from_millis(1)); // The sampling period.
            }
            most
        });
        ThreadWatch { stop, thread }
    }

    fn most(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

/// One thread serves everyone: while `1,000` subscribers connect and `4` publishers publish
/// for `1 s`, the process never has more than `1` thread (Linux: `/proc/PID/task`; the
/// binary starts none of its own, so that one is the server's), and it does hold a socket
/// for every client.
#[test]
fn lab3_serves_on_one_thread() {
    let _turn = turn();
    enough_descriptors();
    within(Duration::from_secs(90), "lab3_serves_on_one_thread", || {
        let mut server = start(&[]);
        let (addr, pid) = (server.addr, server.pid());
        let watch = ThreadWatch::start(pid);
        let load = Load {
            subscribers: SUBSCRIBERS,
            publishers: 4,
            topic: "threads".into(),
            size: 64,
            window: 8,
            twice_every: 0,
            until: Until::Time(Duration::from_secs(1)),
            limit: Duration::from_secs(60),
            cpu: None,
        };
        // The load's clients are still connected while the sockets are counted.
        let counted = Arc::new(Mutex::new(None));
        let seen = {
            let counted = Arc::clone(&counted);
            load.run_then(addr, move || *counted.lock().unwrap() = Held::of(pid))
        };
        let threads = watch.most();
        assert!(
            seen.problems.is_empty(),
            "the load: {}{}",
            seen.problems.join("; "),
            server.fate()
        );
        let held = counted.lock().unwrap().clone();
        eprintln!(
            "lab3-chat: at most {threads} thread(s) while serving {SUBSCRIBERS} subscribers \
             ({} sockets held)",
            held.as_ref().map_or("?".into(), |h| h.sockets.to_string())
        );
        assert_eq!(
            threads, 1,
            "lab3-chat had {threads} threads at once: the lab is one thread serving every client"
        );
        if let Some(held) = held {
            assert!(
                held.sockets > SUBSCRIBERS,
                "it held only {} sockets with {SUBSCRIBERS} subscribers connected",
                held.sockets
            );
        }
        server.alive().unwrap();
    });
}

/// `SIGTERM` stops the server within `5 s` with exit code 0 while it holds an idle
/// subscriber, a subscriber that stopped reading with megabytes queued for it, a client in the
/// middle of a frame, and a publisher; each sees its connection end.
#[test]
fn lab3_stops_on_sigterm() {
    let _turn = turn();
    within(Duration::from_secs(60), "lab3_stops_on_sigterm", || {
        // An outbox large enough that the stopped reader is not dropped before the signal.
        let mut server = start(&["--max-outbox", &(64 << 20).to_string()]);
        let addr = server.addr;
        let idle = Client::subscribed(addr, "idle")
            .unwrap_or_else(|e| panic!("a subscriber: {e}{}", server.fate()));
        let stuck = Client::subscribed(addr, "firehose").unwrap();
        let mut partial = Client::connect(addr).unwrap();
        partial.send(&[0, 0, 0, 100, b'P', b'U', b'B']).unwrap();
        let mut publisher = Client::connect(addr).unwrap();
        let message = vec![7u8; 16 * 1024];
        for _ in 0..(8 << 20) / message.len() {
            publisher.publish("firehose", &message).unwrap();
        }
        // When this comes back, the server has handled every message above.
        let mut probe = Client::subscribed(addr, "probe").unwrap();
        publisher.publish("probe", b"done?").unwrap();
        probe
            .expect(b"MSG probe done?")
            .unwrap_or_else(|e| panic!("the probe: {e}{}", server.fate()));
        let (status, took) = server
            .terminate(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("after SIGTERM: {e}"));
        assert_eq!(
            status.code(),
            Some(0),
            "exit status after SIGTERM ({status}); its standard error ended with:\n{}",
            server.stderr_tail()
        );
        eprintln!("lab3-chat exited 0, {took:.1?} after SIGTERM");
        for (name, mut client) in [
            ("idle", idle),
            ("stopped reader", stuck),
            ("mid-frame", partial),
            ("publisher", publisher),
            ("probe", probe),
        ] {
            if let Err(e) = client.closed_within(Duration::from_secs(5)) {
                panic!("the {name} connection did not end: {e}");
            }
        }
    });
}

// ANCHOR: lab3_speed
/// The speed floor: under the same load (`1,000` subscribers, `4` publishers of `64`-byte
/// messages, each at most `128` messages ahead of the slowest subscriber, for `1 s`), in the
/// same test, the server delivers at least `0.5` times the messages per second of the
/// course's baseline (tokio, one worker thread; `labs/chat_reference.rs`). Each is measured
/// `3` times, alternately, and its best run counts: other work on a small machine can only
/// slow a run down, so the best one is the server's own speed.
#[test]
fn lab3_keeps_pace_with_the_baseline() {
    let _turn = turn();
    enough_descriptors();
    within(Duration::from_secs(120), "lab3_keeps_pace", || {
        let mut server = start(&[]);
        // The load on one processor, the server measured on another, the same for both.
        let cpus = chat::two_cpus();
        if let Some((_, cpu)) = cpus
            && let Err(e) = chat::pin(server.pid() as i32, cpu)
        {
            panic!("cannot keep lab3-chat on processor {cpu}: {e}");
        }
        let baseline =
            Reference::start(64 * 1024, 1024, cpus.map(|c| c.1)).expect("the baseline server");
        let load = |topic: String| Load {
            subscribers: SUBSCRIBERS,
            publishers: 4,
            topic,
            size: 64,
            window: 128,
            twice_every: 0,
            until: Until::Time(Duration::from_secs(1)),
            limit: Duration::from_secs(30),
            cpu: cpus.map(|c| c.0),
        };
        let (mut best_baseline, mut best_lab): (f64, f64) = (0.0, 0.0);
        for round in 0..3 {
            let seen = load(format!("baseline{round}")).run(baseline.addr);
            assert!(
                seen.problems.is_empty(),
                "the baseline server failed its own load (a grader bug): {}",
                seen.problems.join("; ")
            );
            eprintln!("baseline (tokio): {:.0} messages/s", seen.rate);
            best_baseline = best_baseline.max(seen.rate);
            let seen = load(format!("lab{round}")).run(server.addr);
            assert!(
                seen.problems.is_empty(),
                "lab3-chat under load: {}{}",
                seen.problems.join("; "),
                server.fate()
            );
            eprintln!("lab3-chat:        {:.0} messages/s", seen.rate);
            best_lab = best_lab.max(seen.rate);
        }
        let ratio = best_lab / best_baseline;
        eprintln!(
            "lab3-chat delivers {best_lab:.0} messages/s, the baseline {best_baseline:.0}: \
             {ratio:.2} of it (floor 0.5)"
        );
        assert!(
            ratio >= 0.5,
            "lab3-chat delivered {best_lab:.0} messages/s, {ratio:.2} of the baseline's \
             {best_baseline:.0}: the floor is 0.5"
        );
        server.alive().unwrap();
    });
}
// ANCHOR_END: lab3_speed
