//! Chapter 11: the course's robustness suite against the io_uring server: every attack of
//! `socklab-abuse` (slowloris, silent, no-read, slow reader, reset storm, garbage, flood, and
//! the valid but awkward clients: full duplex, pipelining, byte at a time, steady sender,
//! empty frames) while four well-behaved clients keep echoing checksummed data, with the
//! suite's bounds (idle 1.5 s, frame 2 s) and its judgements.
//!
//! One test in its own binary, so the process's descriptors and threads (`/proc/self`) belong
//! to this server alone and can be compared before and after each attack.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use socklab_abuse::attacks::{self, Report};
use socklab_support::data::{Checksum, Generator};
use socklab_support::{Narrator, wait, within};
use uring_demo::probe;
use uring_demo::server::{self, Config};

/// The suite's idle timeout (`socklab-abuse`'s `survive/servers.rs`): not so short that a
/// well-behaved client starved of the CPU for a moment on a busy 2-core CI machine looks idle
/// (at `500 ms` CI saw good clients closed during the steady-sender attack), and still well
/// inside the silent and no-read attacks' watch (`3 s`, `5 s`), which must see it fire.
const IDLE: Duration = Duration::from_millis(1500);
/// The suite's frame timeout: longer than [`IDLE`], so that a frame's own clock, not the idle
/// timeout, is what cuts a slow sender; well inside slowloris's `5 s`, which must see it fire.
const FRAME: Duration = Duration::from_secs(2);
/// The most an event-loop server may hold for one connection (the suite's bound): its outbox
/// cap, one read, one maximal frame.
const HELD_BOUND: usize = 256 * 1024 + 64 * 1024 + tcp_demo::MAX_FRAME + 4;
/// How long a well-behaved client waits for any one answer.
const PATIENCE: Duration = Duration::from_secs(10);

type Run = fn(SocketAddr) -> io::Result<Report>;

/// Every attack on a framed echo server: `(run, the reason the server must log, or None)`;
/// for the valid clients, the server must not log "slow sender".
fn attacks() -> Vec<(Run, Option<&'static str>, bool)> {
    vec![
        (
            |a| attacks::slowloris(a, 20, Duration::from_millis(100), Duration::from_secs(5)),
            Some("frame not complete"),
            false,
        ),
        (
            |a| attacks::silent(a, 20, Duration::from_secs(3)),
            Some("idle for"),
            false,
        ),
        (
            |a| attacks::no_read(a, 64 << 20, Duration::from_secs(5)),
            Some("idle for"),
            false,
        ),
        (
            |a| attacks::slow_reader(a, 4 << 20, false, Duration::from_secs(2)),
            None,
            false,
        ),
        (
            |a| attacks::reset_storm(a, 50, Duration::from_secs(5)),
            None,
            false,
        ),
        (
            |a| attacks::garbage(a, 7, Duration::from_secs(10)),
            Some("exceeds the limit"),
            false,
        ),
        (
            |a| attacks::flood(a, 300, Duration::from_secs(1)),
            None,
            false,
        ),
        (
            |a| attacks::full_duplex(a, 16 << 20, 64 << 10, Duration::from_secs(10)),
            None,
            true,
        ),
        (
            |a| attacks::pipelining(a, 10_000, 16, Duration::from_secs(10)),
            None,
            true,
        ),
        (
            |a| attacks::byte_at_a_time(a, 20, 100, Duration::from_secs(10)),
            None,
            true,
        ),
        (
            |a| attacks::steady_sender(a, FRAME + Duration::from_millis(500)),
            None,
            true,
        ),
        (
            |a| attacks::empty_frames(a, 100_000, Duration::from_secs(10)),
            None,
            true,
        ),
    ]
}

/// Open descriptors and live threads of this process (`/proc/self/fd`, `/proc/self/task`).
fn counts() -> (usize, usize) {
    let entries = |dir| std::fs::read_dir(dir).map_or(0, Iterator::count);
    (entries("/proc/self/fd"), entries("/proc/self/task"))
}

/// Clients echo random messages (up to 64 KiB) until `stop`, at least one each; returns
/// (round trips, every byte came back intact).
fn well_behaved(addr: SocketAddr, n: u64, stop: Arc<AtomicBool>) -> io::Result<(u64, bool)> {
    let clients: Vec<tcp_demo::Client> = (0..n)
        .map(|_| tcp_demo::Client::connect(addr, PATIENCE))
        .collect::<io::Result<_>>()?;
    let workers: Vec<_> = clients
        .into_iter()
        .zip(0u64..)
        .map(|(mut client, seed)| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || -> io::Result<(u64, bool)> {
                let mut rng = Generator::new(seed);
                let (mut sent, mut got, mut trips) = (Checksum::new(), Checksum::new(), 0u64);
                while trips == 0 || !stop.load(Ordering::Relaxed) {
                    let mut msg = vec![0u8; rng.size(0, 64 * 1024)];
                    rng.fill(&mut msg);
                    sent.update(&msg);
                    got.update(&client.echo(&msg)?);
                    trips += 1;
                }
                Ok((trips, sent.digest() == got.digest()))
            })
        })
        .collect();
    let mut out = (0, true);
    for w in workers {
        let (trips, intact) = w
            .join()
            .map_err(|_| io::Error::other("client panicked"))??;
        out = (out.0 + trips, out.1 && intact);
    }
    Ok(out)
}

// ANCHOR: survives
/// The io_uring server survives every attack: the well-behaved clients get every byte back;
/// each valid but awkward client gets its right answer and is never cut as a slow sender;
/// after each attack the server drops back to zero connections by its own count and to the
/// descriptors and threads of before by the kernel's, serves a new client, has held no more
/// than the bound for any connection, and has logged its reason for each rejected attacker.
#[test]
fn uring_server_survives_every_attack() {
    if !probe::available("uring_server_survives_every_attack") {
        return;
    }
    let log = Arc::new(Narrator::capture());
    let config = Config {
        idle_timeout: IDLE,
        frame_timeout: FRAME,
        max_connections: 2000,
        ..Config::default()
    };
    let (addr, stats, thread) = server::spawn_with_stop(
        server::listen(([127, 0, 0, 1], 0).into()).unwrap(),
        config,
        Arc::clone(&log),
        None,
    )
    .unwrap();
    let mut failed = Vec::new();
    for (run, reason, valid) in attacks() {
        let before = counts();
        let logged_before = log.lines().len();
        let started = Instant::now();
        let (report, good) = within(Duration::from_secs(60), "attack", move || {
            let stop = Arc::new(AtomicBool::new(false));
            let good = {
                let stop = Arc::clone(&stop);
                thread::spawn(move || well_behaved(addr, 4, stop))
            };
            let report = run(addr);
            stop.store(true, Ordering::Relaxed);
            (report, good.join().expect("well-behaved clients panicked"))
        });
        let report = report.expect("the attack could not run");
        let mut problems = Vec::new();
        match good {
            Ok((trips, true)) if trips > 0 => {}
            other => problems.push(format!("well-behaved clients: {other:?}")),
        }
        problems.extend(report.failure.clone());
        let fresh = well_behaved(addr, 1, Arc::new(AtomicBool::new(true)));
        if !matches!(fresh, Ok((_, true))) {
            problems.push(format!("a new client was not served: {fresh:?}"));
        }
        let left = wait::last(
            PATIENCE,
            || stats.active.load(Ordering::Relaxed),
            |n| *n == 0,
        );
        if left > 0 {
            problems.push(format!("{left} connections still open"));
        }
        let after = wait::last(PATIENCE, counts, |c| c.0 <= before.0 && c.1 <= before.1);
        if after.0 > before.0 || after.1 > before.1 {
            problems.push(format!(
                "descriptors and threads {after:?}, before {before:?}"
            ));
        }
        let peak = stats.peak_buffered.load(Ordering::Relaxed);
        if peak > HELD_BOUND {
            problems.push(format!("held {peak} bytes for one connection"));
        }
        let logged = log.lines().split_off(logged_before);
        let said = |text: &str| logged.iter().any(|l| l.contains(text));
        if let Some(reason) = reason.filter(|r| !said(r)) {
            problems.push(format!("no `{reason}` logged"));
        }
        if valid && said("slow sender") {
            problems.push("a valid client was cut as a slow sender".into());
        }
        if thread.is_finished() {
            problems.push("the server's thread has ended".into());
        }
        eprintln!("uring-demo {report} [{:.1?}]", started.elapsed());
        if !problems.is_empty() {
            eprintln!(
                "  FAILED: {}\n  server said: {logged:#?}",
                problems.join("; ")
            );
            failed.push(format!("{}: {}", report.attack, problems.join("; ")));
        }
    }
    assert!(
        failed.is_empty(),
        "{failed:#?}\nserver log: {:#?}",
        log.lines()
    );
}
// ANCHOR_END: survives
