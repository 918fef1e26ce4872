//! The robustness suite's shared part: the attacks each kind of server meets, and [`survive`],
//! which runs them all against one server while well-behaved clients keep echoing checksummed
//! data. For each attack it prints one line: what the attack did, what the server answered,
//! and what the well-behaved clients saw, and then what went wrong, if anything.
//!
//! - [`servers`]: the course's servers, started with tight bounds.
//! - [`clients`]: the well-behaved clients, one kind per protocol.
//! - [`counts`]: descriptors and threads, counted by the kernel (Linux).
//!
//! Each server runs in a process of its own ([`in_own_process`]): descriptor and thread
//! counts are per process, and so is select's `FD_SETSIZE` (see `select_suite.rs`).

// Shared by several test binaries, each of which uses only part of it.
#![allow(dead_code)]

pub mod clients;
pub mod counts;
pub mod servers;

use std::io;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use socklab_abuse::attacks::{self, Report};
use socklab_support::{wait, within};

use clients::{connect_clients, well_behaved};
use servers::{FRAME, HELD_BOUND, Protocol, Running, Target};

/// One attack as the suite runs it.
pub struct Attack {
    /// Runs it against the address, with the suite's bounds.
    run: fn(SocketAddr) -> io::Result<Report>,
    /// Text the server must log during this attack: its reason for closing the attacker.
    reason: Option<&'static str>,
    /// Text the server must *not* log during it: a valid client cut as a misbehaving one.
    forbidden: Option<&'static str>,
}

/// The attacks a server speaking `protocol` meets, each bounded to a few seconds against the
/// suite's servers (idle 500 ms, frame 1 s).
pub fn attacks(protocol: Protocol) -> Vec<Attack> {
    let hostile = |run, reason| Attack {
        run,
        reason,
        forbidden: None,
    };
    let valid = |run| Attack {
        run,
        reason: None,
        forbidden: Some("slow sender"),
    };
    match protocol {
        Protocol::Frames => vec![
            hostile(
                |a| attacks::slowloris(a, 20, Duration::from_millis(100), Duration::from_secs(5)),
                Some("frame not complete"),
            ),
            hostile(
                |a| attacks::silent(a, 20, Duration::from_secs(3)),
                Some("idle for"),
            ),
            hostile(
                |a| attacks::no_read(a, 64 << 20, Duration::from_secs(5)),
                Some("idle for"),
            ),
            hostile(
                |a| attacks::slow_reader(a, 4 << 20, false, Duration::from_secs(2)),
                None,
            ),
            hostile(
                |a| attacks::reset_storm(a, 50, Duration::from_secs(5)),
                None,
            ),
            hostile(
                |a| attacks::garbage(a, 7, Duration::from_secs(10)),
                Some("exceeds the limit"),
            ),
            hostile(|a| attacks::flood(a, 300, Duration::from_secs(1)), None),
            valid(|a| attacks::full_duplex(a, 16 << 20, 64 << 10, Duration::from_secs(10))),
            valid(|a| attacks::pipelining(a, 10_000, 16, Duration::from_secs(10))),
            valid(|a| attacks::byte_at_a_time(a, 20, 100, Duration::from_secs(10))),
            valid(|a| attacks::steady_sender(a, FRAME + Duration::from_millis(500))),
            valid(|a| attacks::empty_frames(a, 100_000, Duration::from_secs(10))),
        ],
        // A request ends at the client's FIN, not at a frame's end: the frame-shaped attacks
        // would only test the request deadline again. The slow reader half-closes, then meets
        // the reply's own deadline.
        Protocol::HalfClose => vec![
            hostile(
                |a| attacks::slowloris(a, 20, Duration::from_millis(100), Duration::from_secs(5)),
                Some("request not complete"),
            ),
            hostile(
                |a| attacks::silent(a, 20, Duration::from_secs(3)),
                Some("idle for"),
            ),
            hostile(
                |a| attacks::no_read(a, 64 << 20, Duration::from_secs(5)),
                Some("request over"),
            ),
            hostile(
                |a| attacks::slow_reader(a, 6 << 20, true, Duration::from_secs(3)),
                Some("slow reader"),
            ),
            hostile(
                |a| attacks::reset_storm(a, 50, Duration::from_secs(5)),
                None,
            ),
            hostile(|a| attacks::flood(a, 300, Duration::from_secs(1)), None),
        ],
        // A sink reads whatever comes: there are no frames to get wrong, and nothing to read
        // back. What it can suffer is connections held open, and errors.
        Protocol::Sink => vec![
            hostile(
                |a| attacks::slowloris(a, 5, Duration::from_millis(100), Duration::from_secs(1)),
                None,
            ),
            hostile(|a| attacks::silent(a, 5, Duration::from_secs(1)), None),
            hostile(
                |a| attacks::reset_storm(a, 50, Duration::from_secs(5)),
                None,
            ),
            hostile(|a| attacks::flood(a, 100, Duration::from_secs(1)), None),
        ],
    }
}

/// How long a well-behaved client waits for any one answer.
const PATIENCE: Duration = Duration::from_secs(10);

// ANCHOR: survive
/// Runs every attack for its protocol against `target` while four well-behaved clients send
/// random messages; each client must get every byte back, in order, with no round trip slower
/// than 10 s. An attack with a right answer (the valid but awkward clients) must get it. After
/// each attack the server must still run, serve a new client, drop back to zero connections by
/// its own count and to the descriptors and threads it had before the attack by the kernel's,
/// and have held no more than its bound for any one connection; while the attack ran, it must
/// have logged its reason for closing the attacker, and must not have cut a valid client as a
/// slow sender. Every attack runs even if one fails; the test fails at the end, naming each.
pub fn survive(target: Target) {
    let server = servers::start(target).unwrap();
    let attacks = attacks(target.protocol());
    let total = attacks.len();
    let failed: Vec<String> = attacks
        .into_iter()
        .filter_map(|attack| attack_once(&server, attack).err())
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed {} of {total} attacks:\n{}",
        target.name(),
        failed.len(),
        failed.join("\n")
    );
}

/// One attack against `server`, judged; prints its line and returns the problems, if any.
fn attack_once(server: &Running, attack: Attack) -> Result<(), String> {
    let (addr, protocol) = (server.addr, server.target.protocol());
    let baseline = counts::now();
    let logged_before = server.log.lines().len();
    let outcome = within(Duration::from_secs(60), "attack", move || {
        // Connected first, so the attack meets clients the server is already serving.
        let clients = connect_clients(protocol, addr, 4, PATIENCE)?;
        let stop = Arc::new(AtomicBool::new(false));
        let good = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || well_behaved(clients, stop))
        };
        let report = (attack.run)(addr);
        stop.store(true, Ordering::Relaxed);
        let good = good
            .join()
            .expect("the well-behaved clients' thread panicked");
        io::Result::Ok((report?, good))
    });
    let (report, good) = match outcome {
        Ok(done) => done,
        Err(e) => {
            let line = format!("{:<28} the attack itself failed: {e}", server.target.name());
            eprintln!("{line}");
            return Err(line);
        }
    };
    let mut problems = Vec::new();
    let good_text = match &good {
        Ok(g) => format!(
            "well-behaved: {} round trips, intact: {}, slowest {:.1?}",
            g.round_trips, g.intact, g.slowest
        ),
        Err(e) => format!("well-behaved: a client failed ({e})"),
    };
    match &good {
        Ok(g) if g.intact && g.round_trips > 0 => {}
        Ok(_) => problems.push("the well-behaved clients did not get their bytes back".into()),
        Err(e) => problems.push(format!("a well-behaved client failed: {e}")),
    }
    if let Some(failure) = &report.failure {
        problems.push(format!("the attack's own check: {failure}"));
    }
    problems.extend(recovered(server, baseline).err());
    if let Some(peak) = server.peak_held().filter(|peak| *peak > HELD_BOUND) {
        problems.push(format!(
            "held {peak} bytes for one connection (bound {HELD_BOUND})"
        ));
    }
    // Only what the server logged during this attack counts: an earlier attack's reason
    // must not vouch for this one.
    let logged: Vec<String> = server.log.lines().split_off(logged_before);
    let said = |text: &str| logged.iter().any(|line| line.contains(text));
    if let Some(reason) = attack.reason.filter(|r| !said(r)) {
        problems.push(format!(
            "no `{reason}` in the server's log during this attack"
        ));
    }
    if let Some(text) = attack.forbidden.filter(|f| said(f)) {
        let line = logged.iter().find(|line| line.contains(text));
        problems.push(format!("the server logged {line:?}"));
    }
    let mut line = format!("{:<28} {report}; {good_text}", server.target.name());
    if !problems.is_empty() {
        line += &format!("\n{:<28} FAILED: {}", "", problems.join("; "));
    }
    eprintln!("{line}");
    match problems.is_empty() {
        true => Ok(()),
        false => Err(line),
    }
}
// ANCHOR_END: survive

/// After an attack: the server still runs and serves a new client, then holds no connection
/// by its own count, and the process is back to its descriptors and threads of before.
fn recovered(server: &Running, baseline: Option<counts::Counts>) -> Result<(), String> {
    if server.exited() {
        return Err("the server's thread has ended".into());
    }
    let fresh = connect_clients(server.target.protocol(), server.addr, 1, PATIENCE)
        .and_then(|clients| well_behaved(clients, Arc::new(AtomicBool::new(true))));
    match fresh {
        Ok(g) if g.intact => {}
        Ok(_) => return Err("a new client did not get its bytes back".into()),
        Err(e) => return Err(format!("a new client was not served: {e}")),
    }
    server.drains(Duration::from_secs(10))?;
    counts::back_to(baseline, Duration::from_secs(10))
}

/// The environment variable that tells a child process which test it was started to run.
const CHILD: &str = "SOCKLAB_SURVIVE_CHILD";

/// Runs `body`, the test named `test`, in a fresh process: this test binary started again
/// with only that test selected. In the child, `body` runs; in the parent, the child's
/// lines are passed on and its failure is this test's. Bounded by 5 minutes.
///
/// Why: the suite counts the process's descriptors and threads before and after each attack,
/// and the test harness runs the other servers' tests in parallel threads of the same
/// process, whose clients would count too. A process per server keeps the counts its own.
pub fn in_own_process(test: &str, body: impl FnOnce()) {
    if std::env::var(CHILD).is_ok_and(|t| t == test) {
        return body();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the test binary again");
    let drain = |pipe: Option<Box<dyn io::Read + Send>>| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let limit = Duration::from_secs(300);
    let status = wait::last(limit, || child.try_wait(), |s| !matches!(s, Ok(None)));
    if !matches!(status, Ok(Some(_))) {
        let _ = child.kill();
        let _ = child.wait();
    }
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    eprint!("{err}");
    match status {
        Ok(Some(s)) if s.success() => assert!(
            out.contains("running 1 test"),
            "the child process did not run `{test}`:\n{out}"
        ),
        Ok(Some(s)) => panic!("`{test}` failed in its own process ({s}); its output is above"),
        _ => panic!("`{test}` did not finish within {limit:?} in its own process; killed"),
    }
}
