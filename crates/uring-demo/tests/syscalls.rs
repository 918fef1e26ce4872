//! Chapter 11: system calls per request, counted by the kernel's side of the story: `strace -c`
//! attached to the server's thread alone, over the same fixed load (20 connections, 50
//! ping-pong requests each), for the io_uring server and each of chapter 7's readiness
//! loops. Skips loudly where strace is missing or may not attach (ptrace forbidden).
//!
//! One test in its own binary: the servers run one after another in this process, and each is
//! found as the one thread that appeared when it started.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use multiplex_demo::Api;
use multiplex_demo::load::{self, Load, Stop};
use socklab_support::skip::skip;
use socklab_support::{Narrator, within};
use uring_demo::probe;

const CONNECTIONS: usize = 20;
const REQUESTS: u64 = 50;

/// This process's thread ids.
fn threads() -> BTreeSet<u32> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What strace counted for one server thread over the load.
#[derive(Debug)]
struct Counted {
    total: u64,
    by_call: Vec<(String, u64)>,
}

/// Runs the load against the server at `addr` whose thread is `tid`, with strace attached to
/// that thread; `Err` names why strace could not count.
/// `before_detach` runs once the load is done, just before strace is told to stop.
fn count(
    tid: u32,
    addr: std::net::SocketAddr,
    before_detach: impl FnOnce(),
) -> Result<Counted, String> {
    let out = std::env::temp_dir().join(format!("uring-demo-strace-{}-{tid}", std::process::id()));
    let mut strace = Command::new("strace")
        .args(["-c", "-o"])
        .arg(&out)
        .args(["-p", &tid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run strace: {e}"))?;
    // strace says "Process N attached" on stderr once it traces the thread.
    let (tx, rx) = mpsc::channel();
    let stderr = strace.stderr.take().ok_or("no stderr")?;
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let _ = tx.send(first);
        lines.for_each(drop);
    });
    let said = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    if !said.contains("attached") {
        let _ = strace.kill();
        let _ = strace.wait();
        return Err(format!("strace could not attach: {said}"));
    }
    let load = Load {
        connections: CONNECTIONS,
        message_size: 64,
        stop: Stop::Requests(REQUESTS),
    };
    let report = within(Duration::from_secs(60), "load", move || {
        load::run(addr, load)
    });
    before_detach();
    let _ = Command::new("kill")
        .args(["-INT", &strace.id().to_string()])
        .status();
    let _ = within(Duration::from_secs(20), "strace", move || strace.wait());
    let report = report.map_err(|e| format!("the load failed: {e}"))?;
    assert_eq!(report.errors, 0);
    let text = std::fs::read_to_string(&out).map_err(|e| format!("no strace summary: {e}"))?;
    let _ = std::fs::remove_file(&out);
    let mut by_call = Vec::new();
    let mut total = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(calls)) = (words.last(), words.get(3)) else {
            continue;
        };
        let Ok(calls) = calls.parse::<u64>() else {
            continue;
        };
        match *name {
            "total" => total = Some(calls),
            name => by_call.push((name.to_string(), calls)),
        }
    }
    Ok(Counted {
        total: total.ok_or_else(|| format!("no total in strace's summary:\n{text}"))?,
        by_call,
    })
}

// ANCHOR: fewer_syscalls
/// strace, attached to each server's thread, counts its system calls over 1,000 requests on
/// 20 connections: the io_uring server makes fewer per request than every readiness loop of
/// chapter 7, and its own counter of `io_uring_enter` calls agrees with strace's.
#[test]
fn uring_makes_fewer_system_calls_per_request_than_every_readiness_loop() {
    let name = "uring_makes_fewer_system_calls_per_request_than_every_readiness_loop";
    if !probe::available(name) {
        return;
    }
    let requests = (CONNECTIONS as u64 * REQUESTS) as f64;
    let listen = || multiplex_demo::server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    // The io_uring server first.
    let before = threads();
    let (addr, stats) = uring_demo::server::spawn(
        listen(),
        uring_demo::server::Config::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    let tid = *threads().difference(&before).next().unwrap();
    let enters = || stats.enters.load(Ordering::Relaxed);
    let at_attach = enters();
    let mut at_detach = 0;
    let uring = match count(tid, addr, || at_detach = enters()) {
        Ok(c) => c,
        Err(why) => return skip(name, &why),
    };
    // strace may see one call more or less at each end: the one it attached in the middle of,
    // and those made between the read of the counter and the detach.
    let (least, most) = (
        (at_detach - at_attach).saturating_sub(2),
        enters() - at_attach + 2,
    );
    let per_request = |c: &Counted| c.total as f64 / requests;
    eprintln!(
        "io_uring: {:.3} system calls per request {:?}",
        per_request(&uring),
        uring.by_call
    );
    let strace_enters = uring
        .by_call
        .iter()
        .find(|(n, _)| n == "io_uring_enter")
        .map_or(0, |(_, c)| *c);
    assert!(
        (least..=most).contains(&strace_enters),
        "strace counted {strace_enters} io_uring_enter, the server {least}..={most}"
    );
    for api in Api::available() {
        let before = threads();
        let (addr, _) = multiplex_demo::server::spawn(
            api,
            listen(),
            multiplex_demo::server::Config::default(),
            Arc::new(Narrator::silent()),
        )
        .unwrap();
        let tid = *threads().difference(&before).next().unwrap();
        let counted = count(tid, addr, || {}).unwrap();
        eprintln!(
            "{}: {:.3} system calls per request {:?}",
            api.name(),
            per_request(&counted),
            counted.by_call
        );
        assert!(
            per_request(&uring) < per_request(&counted),
            "io_uring {:.3} vs {} {:.3} system calls per request",
            per_request(&uring),
            api.name(),
            per_request(&counted)
        );
    }
}
// ANCHOR_END: fewer_syscalls
