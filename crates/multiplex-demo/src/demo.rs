//! The narrated tour that `cargo run -p multiplex-demo` prints: every API serving a few
//! hundred connections, the cost of scanning, and each of the loop's bounds at work.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use socklab_support::Narrator;
use socklab_support::cli::bytes;
use socklab_support::wait;
use tcp_demo::{Server as Threaded, ServerConfig};

use crate::load::{self, Load, Stop};
use crate::readiness::Api;
use crate::server::{self, Config};

fn start(api: Api, config: Config) -> io::Result<(SocketAddr, Arc<server::Stats>)> {
    server::spawn(
        api,
        server::listen(([127, 0, 0, 1], 0).into())?,
        config,
        Arc::new(Narrator::silent()),
    )
}

/// Runs every experiment of the chapter, narrating to `n`.
pub fn run(n: &Arc<Narrator>) -> io::Result<()> {
    let _ = load::raise_fd_limit(16_384);
    n.heading("1. One thread per connection, or one thread for all");
    let each = Load {
        connections: 200,
        message_size: 256,
        stop: Stop::Requests(50),
    };
    let listener = server::listen(([127, 0, 0, 1], 0).into())?;
    let cfg = ServerConfig {
        max_connections: 1000,
        ..ServerConfig::default()
    };
    let addr = Threaded::new(listener, cfg)
        .with_log(Arc::new(Narrator::silent()))
        .spawn()?;
    let r = load::run(addr, each)?;
    n.step(
        "threads",
        &format!(
            "200 connections, 200 threads: {:.0} req/s, p99 {:.0?}, errors {}",
            r.requests_per_sec, r.p99, r.errors
        ),
    );
    for api in Api::available() {
        let (addr, stats) = start(api, Config::default())?;
        let r = load::run(addr, each)?;
        n.step(
            api.name(),
            &format!(
                "200 connections, 1 thread:    {:.0} req/s, p99 {:.0?}, errors {}, {} wakeups",
                r.requests_per_sec,
                r.p99,
                r.errors,
                stats.wakeups.load(Ordering::Relaxed)
            ),
        );
    }

    n.heading("2. The cost of scanning: one busy connection among many idle ones");
    for api in Api::available()
        .into_iter()
        .filter(|a| *a != Api::EpollEdge)
    {
        let idle_counts: &[usize] = if api == Api::Select {
            &[0, 400]
        } else {
            &[0, 400, 4000]
        };
        let mut cells = Vec::new();
        for &idle in idle_counts {
            let (addr, _) = start(api, Config::default())?;
            let parked: Vec<TcpStream> = (0..idle)
                .map(|_| TcpStream::connect(addr))
                .collect::<io::Result<_>>()?;
            let r = load::run(
                addr,
                Load {
                    connections: 1,
                    message_size: 64,
                    stop: Stop::Requests(300),
                },
            )?;
            cells.push(format!("{idle} idle: {:.1?}", r.p50));
            drop(parked);
        }
        n.step(
            api.name(),
            &format!("round trip (p50) with {}", cells.join(", ")),
        );
    }
    n.explain(
        "select and poll hand the kernel every watched socket on every call; epoll keeps\n\
               the set in the kernel and returns only the ready ones. (select stops at 400 idle\n\
               here: past descriptor 1023 it cannot watch at all; see section 6.)",
    );

    let api = if cfg!(target_os = "linux") {
        Api::Epoll
    } else {
        Api::Poll
    };
    n.heading("3. Write interest only while there is something to write");
    for always in [false, true] {
        let (addr, stats) = start(
            api,
            Config {
                always_write_interest: always,
                ..Config::default()
            },
        )?;
        let idle: Vec<TcpStream> = (0..20)
            .map(|_| TcpStream::connect(addr))
            .collect::<io::Result<_>>()?;
        wait::until(WAIT_LIMIT, "the server to accept all 20", || {
            stats.active.load(Ordering::Relaxed) == 20
        })?;
        let before = stats.wakeups.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200)); // The experiment: 200 ms of nothing.
        let woke = stats.wakeups.load(Ordering::Relaxed) - before;
        let how = if always {
            "always watched for writing"
        } else {
            "watched for writing only with a tail"
        };
        n.step(
            api.name(),
            &format!("20 idle connections, {how}: {woke} wakeups in 200ms"),
        );
        drop(idle);
    }
    n.explain(
        "A socket with room in its send buffer is always writable: watching it for\n\
               writability with nothing to write wakes the loop for nothing, forever.",
    );

    n.heading("4. Idle connections are closed at the nearest deadline");
    let idle = Duration::from_millis(300);
    let (addr, _) = server::spawn(
        api,
        server::listen(([127, 0, 0, 1], 0).into())?,
        Config {
            idle_timeout: idle,
            ..Config::default()
        },
        Arc::clone(n),
    )?;
    let mut silent = TcpStream::connect(addr)?;
    silent.set_read_timeout(Some(Duration::from_secs(5)))?;
    let t = Instant::now();
    let got = silent.read(&mut [0u8; 8])?;
    n.step(
        "client",
        &format!(
            "said nothing; read() -> {got} (closed) after {:.0?}",
            t.elapsed()
        ),
    );

    n.heading("5. Back-pressure: a client that sends and never reads");
    let cap = 256 * 1024;
    let (addr, stats) = start(
        api,
        Config {
            outbox_cap: cap,
            idle_timeout: Duration::from_millis(500),
            ..Config::default()
        },
    )?;
    let mut hog = TcpStream::connect(addr)?;
    hog.set_write_timeout(Some(Duration::from_millis(300)))?; // Ends the hog once it blocks.
    let frame = [&(64u32 * 1024).to_be_bytes()[..], &[7u8; 64 * 1024]].concat();
    let mut sent = 0usize;
    while sent < 64 << 20 && hog.write_all(&frame).is_ok() {
        sent += frame.len();
    }
    n.step(
        "hog",
        &format!(
            "wrote {} of echo requests without reading, then its writes blocked",
            bytes(sent as u64)
        ),
    );
    n.step(
        "server",
        &format!(
            "paused reading {} time(s); most it ever held for the hog: {} (outbox cap {})",
            stats.pauses.load(Ordering::Relaxed),
            bytes(stats.peak_buffered.load(Ordering::Relaxed) as u64),
            bytes(cap as u64)
        ),
    );
    n.explain(concat!(
        "The kernel's buffers absorb megabytes first; then the outbox fills to its cap, the\n",
        "server stops reading, and the hog's own writes block. Memory stays bounded."
    ));

    n.heading("6. select's limit: FD_SETSIZE");
    let (addr, stats) = server::spawn(
        Api::Select,
        server::listen(([127, 0, 0, 1], 0).into())?,
        Config::default(),
        Arc::clone(n),
    )?;
    let filler: Vec<File> = (0..crate::select::fd_setsize())
        .map_while(|_| File::open("/dev/null").ok())
        .collect();
    let mut late = TcpStream::connect(addr)?;
    late.set_read_timeout(Some(Duration::from_secs(5)))?;
    let _ = late.write_all(b"\0\0\0\x01x");
    let got = late.read(&mut [0u8; 8]).unwrap_or(0);
    n.step(
        "client",
        &format!(
            "with {} files open, our connection got descriptor >= {}: read() -> {got}",
            filler.len(),
            crate::select::fd_setsize()
        ),
    );
    n.step(
        "server",
        &format!(
            "select refused {} connection(s) it could not watch; poll and epoll have no such limit",
            stats.refused_fd.load(Ordering::Relaxed)
        ),
    );
    drop(filler);
    n.heading("Done. Chapter 7 of the book has the benchmarks; `cargo test -p multiplex-demo` proves each claim.");
    Ok(())
}

/// How long the tour waits for the server's own counters to show what it set up.
const WAIT_LIMIT: Duration = Duration::from_secs(10);
