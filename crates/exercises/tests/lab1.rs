//! Lab 1's grading tests: the student's `lab1-echo` binary, started as a process of its own,
//! must echo every frame, survive every attack of the robustness suite with not one byte
//! lost by its well-behaved clients, and stop cleanly on `SIGTERM`. In a student kit each
//! fails with the server's own "not yet implemented" until `exercises::lab1` is written.
//!
//! `cargo xtask exercises --check lab1` runs them; `-- --nocapture` shows a line per attack.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use socklab_abuse::attacks::{self, Report};
use socklab_abuse::wire;
use socklab_support::within;

mod labs;

use labs::{Clients, Held, Sampler, Server};

/// The student's server.
const BIN: &str = env!("CARGO_BIN_EXE_lab1-echo");

/// How long a well-behaved client waits for any one answer.
const PATIENCE: Duration = Duration::from_secs(10);

/// The idle timeout the attacks run against: short, so that each attack ends in about a
/// second. (With one test at a time and paced clients, a well-behaved round trip stayed
/// well under it on a 2-core machine whose both cores were taken by other work.)
const IDLE: &str = "1s";
/// The frame timeout the attacks run against.
const FRAME: &str = "1500ms";
/// The connection limit the attacks run against.
const MAX_CONNECTIONS: usize = 32;

/// One test at a time: each runs a server and clients that keep the machine busy, and the
/// attacks' bounds are timeouts of about a second, which a crowded 2-core machine could stretch.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes the turn of a test (a test that failed while holding it leaves it usable).
fn turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the server, or fails the test saying why (in a kit: its `todo!()` panic).
fn start(args: &[&str]) -> Server {
    Server::start(BIN, args).unwrap_or_else(|e| panic!("lab1-echo did not start: {e}"))
}

/// Every frame comes back whole and in order: four clients at once with random messages from
/// empty to `--max-frame` bytes, and one client that writes 1,000 frames before reading any.
/// A frame longer than `--max-frame` closes that connection at once (not at a timeout: they
/// are long here), and the other clients are still served.
#[test]
fn lab1_echoes() {
    let _turn = turn();
    within(Duration::from_secs(60), "lab1_echoes", || {
        let max = 64 * 1024;
        let mut server = start(&[
            "--max-frame",
            "65536",
            "--idle-timeout",
            "30s",
            "--frame-timeout",
            "30s",
        ]);
        let addr = server.addr;
        let clients = Clients::connect(addr, 4, PATIENCE)
            .unwrap_or_else(|e| panic!("connecting 4 clients: {e}{}", server.fate()));
        let seen = clients
            .run(max, 50, Arc::new(AtomicBool::new(true)))
            .unwrap_or_else(|e| panic!("a client failed: {e}{}", server.fate()));
        assert!(
            seen.intact,
            "the echoes were not the bytes sent ({} round trips)",
            seen.round_trips
        );
        // The largest frame allowed, and the empty one.
        let mut one = TcpStream::connect(addr).unwrap();
        one.set_read_timeout(Some(PATIENCE)).unwrap();
        for payload in [vec![7u8; max], vec![]] {
            one.write_all(&wire::frame(&payload)).unwrap();
            let echo = wire::read_frame(&mut one, max).unwrap_or_else(|e| {
                panic!("echo of {} bytes: {e}{}", payload.len(), server.fate())
            });
            assert_eq!(
                echo.as_deref(),
                Some(&payload[..]),
                "a frame of {} bytes",
                payload.len()
            );
        }
        pipelined(addr, 1000);
        // One byte over the limit: the header alone must close the connection.
        let mut over = TcpStream::connect(addr).unwrap();
        over.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        over.write_all(&(max as u32 + 1).to_be_bytes()).unwrap();
        let mut buf = [0u8; 16];
        match over.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Ok(n) => panic!("a frame over --max-frame got {n} bytes of answer, not a close"),
            Err(e) => panic!(
                "a frame over --max-frame did not close its connection within 5s ({e}): the \
                 limit must be checked on the header, before waiting for the payload"
            ),
        }
        // The others are still served.
        let mut one_more = |payload: &[u8]| {
            one.write_all(&wire::frame(payload)).unwrap();
            wire::read_frame(&mut one, max).unwrap()
        };
        assert_eq!(
            one_more(b"still there?").as_deref(),
            Some(&b"still there?"[..])
        );
        server.alive().unwrap();
    });
}

/// Writes `frames` small frames back to back, then half-closes, then reads every echo; they
/// must all come back, in order, before the server's close.
fn pipelined(addr: SocketAddr, frames: usize) {
    let report = attacks::pipelining(addr, frames, 16, PATIENCE).unwrap();
    assert!(report.failure.is_none(), "pipelining: {report}");
}

/// One attack, as the grader runs it, and what the server must do about it besides
/// surviving.
struct Attack {
    run: fn(SocketAddr) -> std::io::Result<Report>,
    /// Connections the server must itself close during the attack (its bounds at work).
    must_close: usize,
}

// ANCHOR: lab1_attacks
/// The attacks, each a few seconds at most against a correct server run with an idle timeout
/// of `500 ms` and a frame timeout of `1 s`.
fn attack_list() -> Vec<Attack> {
    let attack = |run, must_close| Attack { run, must_close };
    vec![
        // Hostile: the server is right to close them, and must, with its bounds.
        attack(
            |a| attacks::slowloris(a, 10, Duration::from_millis(100), Duration::from_secs(3)),
            10, // The frame timeout, whatever the pace of the bytes.
        ),
        attack(|a| attacks::silent(a, 10, Duration::from_secs(2)), 10), // The idle timeout.
        attack(|a| attacks::no_read(a, 64 << 20, Duration::from_secs(3)), 1), // Echoes not taken.
        attack(
            |a| attacks::slow_reader(a, 1 << 20, false, Duration::from_millis(500)),
            0,
        ),
        attack(|a| attacks::reset_storm(a, 50, Duration::from_secs(3)), 0),
        // Random bytes (an absurd length), a 4 GiB length, a frame cut by the client's FIN:
        // three closes; the fourth case, an empty frame, is valid and echoed.
        attack(|a| attacks::garbage(a, 7, Duration::from_secs(5)), 3),
        attack(|a| attacks::flood(a, 200, Duration::from_millis(500)), 0),
        // Awkward but valid: each has a right answer, every byte echoed in order.
        attack(
            |a| attacks::full_duplex(a, 16 << 20, 64 << 10, Duration::from_secs(10)),
            0,
        ),
        attack(
            |a| attacks::pipelining(a, 10_000, 16, Duration::from_secs(10)),
            0,
        ),
        attack(
            |a| attacks::byte_at_a_time(a, 20, 100, Duration::from_secs(10)),
            0,
        ),
        // Longer than the frame timeout, every frame quick: not a slow sender.
        attack(
            |a| attacks::steady_sender(a, Duration::from_millis(2000)),
            0,
        ),
        attack(
            |a| attacks::empty_frames(a, 100_000, Duration::from_secs(10)),
            0,
        ),
    ]
}
// ANCHOR_END: lab1_attacks

// ANCHOR: lab1_survives_attacks
/// Every attack of the robustness suite, one after the other, each while four well-behaved
/// clients (connected before it) echo random messages: they must get every byte back. The
/// awkward but valid attacks must get their right answer; the hostile ones must be closed
/// where a bound says so. After each attack the server must still run and serve a new
/// client, and (Linux) be back to the sockets and threads it held before, having never held
/// more than `--max-connections` connections at once (plus two: see `attack_once`).
#[test]
fn lab1_survives_attacks() {
    let _turn = turn();
    within(Duration::from_secs(240), "lab1_survives_attacks", || {
        let max = MAX_CONNECTIONS.to_string();
        let mut server = start(&[
            "--idle-timeout",
            IDLE,
            "--frame-timeout",
            FRAME,
            "--max-connections",
            &max,
        ]);
        let pid = server.pid();
        let memory_before = Held::peak_memory(pid);
        let mut failed = Vec::new();
        for attack in attack_list() {
            if let Err(problems) = attack_once(&mut server, &attack) {
                failed.push(problems);
                if server.alive().is_err() {
                    break; // Nothing left to attack.
                }
            }
        }
        // Peak resident memory: a server that queues what it cannot send grows by tens of
        // MiB under no-read (64 MiB sent); the bound leaves room for 32 connections' buffers.
        if let (Some(before), Some(after)) = (memory_before, Held::peak_memory(pid)) {
            let bound = 48u64 << 20;
            eprintln!(
                "peak memory: grew by {} KiB during the attacks (bound {} MiB)",
                after.saturating_sub(before) >> 10,
                bound >> 20
            );
            if after.saturating_sub(before) > bound {
                failed.push(format!(
                    "its peak memory grew by {} MiB during the attacks (bound {} MiB): \
                     something buffers without a limit",
                    (after - before) >> 20,
                    bound >> 20
                ));
            }
        }
        let failed = failed.join("\n");
        // How the server ended, unless a failure already says it.
        let fate = match failed.contains("the server has exited") {
            true => String::new(),
            false => server.fate(),
        };
        assert!(failed.is_empty(), "lab1-echo failed:\n{failed}{fate}");
    });
}
// ANCHOR_END: lab1_survives_attacks

/// One attack against `server`, judged: prints its line, returns its problems.
fn attack_once(server: &mut Server, attack: &Attack) -> Result<(), String> {
    let (addr, pid) = (server.addr, server.pid());
    let baseline = Held::of(pid);
    let mut problems = Vec::new();
    let clients = match Clients::connect(addr, 4, PATIENCE) {
        Ok(c) => c,
        Err(e) => {
            return Err(format!(
                "connecting the well-behaved clients: {e}{}",
                server.fate()
            ));
        }
    };
    let sampler = Sampler::start(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let good = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || clients.run(64 * 1024, 1, stop))
    };
    let started = Instant::now();
    let report = (attack.run)(addr);
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let seen = good.join().expect("the clients' thread panicked");
    let peak = sampler.peak();
    let name = match &report {
        Ok(r) => r.attack,
        Err(_) => "an attack",
    };
    match &seen {
        Ok(s) if s.intact => {}
        Ok(s) => problems.push(format!(
            "the well-behaved clients did not get their bytes back ({} round trips)",
            s.round_trips
        )),
        Err(e) => problems.push(format!(
            "a well-behaved client failed: {e}; the server's standard error ended with:\n{}",
            server.stderr_tail()
        )),
    }
    match &report {
        Ok(r) => {
            if let Some(failure) = &r.failure {
                problems.push(format!("the attack's right answer: {failure}"));
            }
            if r.closed_by_server < attack.must_close {
                problems.push(format!(
                    "the server closed {} of its connections; it must close {} (a bound \
                     missing?)",
                    r.closed_by_server, attack.must_close
                ));
            }
        }
        Err(e) => problems.push(format!("the attack could not run: {e}")),
    }
    if let (Some(base), Some(peak)) = (&baseline, &peak) {
        // Two over the limit are let pass: one connection being turned away at once (a
        // design the lab allows), and one for the sampling itself: listing /proc/PID/fd is
        // not atomic, so a socket closed and a new one accepted during one listing may both
        // be counted.
        let held = peak.sockets.saturating_sub(base.sockets);
        if held > MAX_CONNECTIONS + 2 {
            problems.push(format!(
                "it held {held} connections at once (--max-connections {MAX_CONNECTIONS})"
            ));
        }
    }
    // Afterwards: still running, serving a new client, and nothing leaked.
    match server.alive() {
        Err(e) => problems.push(e),
        Ok(()) => {
            let fresh = Clients::connect(addr, 1, PATIENCE)
                .and_then(|c| c.run(64 * 1024, 3, Arc::new(AtomicBool::new(true))));
            match fresh {
                Ok(s) if s.intact => {}
                Ok(_) => problems.push("a new client did not get its bytes back".into()),
                Err(e) => problems.push(format!("a new client was not served: {e}")),
            }
            if let Some(base) = &baseline
                && let Err(e) = Held::back_to(pid, base, Duration::from_secs(5))
            {
                problems.push(e);
            }
        }
    }
    let mut line = match (&report, &seen) {
        (Ok(r), Ok(s)) => format!(
            "{r} ({took:.1?}); well-behaved: {} round trips, intact: {}, slowest {:.1?}",
            s.round_trips, s.intact, s.slowest
        ),
        (Ok(r), Err(_)) => format!("{r} ({took:.1?})"),
        (Err(e), _) => format!("{name}: {e}"),
    };
    if !problems.is_empty() {
        line += &format!("\n  FAILED: {}", problems.join("; "));
    }
    eprintln!("{line}");
    if problems.is_empty() {
        Ok(())
    } else {
        Err(line)
    }
}

/// `SIGTERM` stops the server within `5 s` with exit code 0, though its timeouts are `30 s`
/// and it holds four connections: one idle, one in the middle of a frame, one that stopped
/// reading its echoes (the server is blocked writing to it), one between two round trips.
/// Each of them sees its connection end.
#[test]
fn lab1_stops_on_sigterm() {
    let _turn = turn();
    within(Duration::from_secs(60), "lab1_stops_on_sigterm", || {
        let mut server = start(&["--idle-timeout", "30s", "--frame-timeout", "30s"]);
        let addr = server.addr;
        let connect = |server: &mut Server| {
            let mut s = TcpStream::connect_timeout(&addr, PATIENCE)
                .unwrap_or_else(|e| panic!("connecting: {e}{}", server.fate()));
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            // One round trip first: the server has accepted it and serves it.
            s.write_all(&wire::frame(b"hello")).unwrap();
            let echo = wire::read_frame(&mut s, 64)
                .unwrap_or_else(|e| panic!("the first echo: {e}{}", server.fate()));
            assert_eq!(echo.as_deref(), Some(&b"hello"[..]));
            s
        };
        let idle = connect(&mut server);
        let mut partial = connect(&mut server);
        partial.write_all(&[0, 0, 0, 100, 1, 2, 3]).unwrap(); // 3 bytes of a 100-byte frame.
        let no_read = connect(&mut server);
        // Frames until our writes block: our receive buffer and the server's send buffer are
        // full, so the server is stuck writing echoes nobody reads.
        no_read
            .set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let frame = wire::frame(&[9u8; 16 * 1024]);
        let mut sent = 0usize;
        loop {
            // Whole frames (only the last may be cut short), so the stream stays valid.
            match (&no_read).write_all(&frame) {
                Ok(()) => sent += frame.len(),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(e) => panic!("the no-read client's write: {e}{}", server.fate()),
            }
            assert!(
                sent < 256 << 20,
                "the server took 256 MiB without our reading any echo"
            );
        }
        let between = connect(&mut server);
        let (status, took) = server
            .terminate(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("after SIGTERM: {e}"));
        assert_eq!(
            status.code(),
            Some(0),
            "exit status after SIGTERM ({status}); its standard error ended with:\n{}",
            server.stderr_tail()
        );
        eprintln!("lab1-echo exited 0, {took:.1?} after SIGTERM");
        for (name, mut conn) in [
            ("idle", idle),
            ("mid-frame", partial),
            ("no-read", no_read),
            ("between round trips", between),
        ] {
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // Read whatever is left (the no-read client's echoes) until the end.
            let mut sink = vec![0u8; 64 * 1024];
            let ended = loop {
                match conn.read(&mut sink) {
                    Ok(0) => break Ok(()),
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            assert!(
                ended.is_ok(),
                "the {name} connection did not end: {ended:?}"
            );
        }
    });
}
