//! Every I/O model side by side: requests/s and latency at 1 to 10,000 connections.
//!
//! `cargo bench -p multiplex-demo --bench models` (add `-- --quick` for a smoke run, and
//! `-- --out DIR` to write `models.md` and `models.svg` there; cargo runs benchmarks from the
//! crate's folder, so give an absolute path). The servers run in this
//! process, each freshly started: chapter 1's thread-per-connection server, the event loop on
//! select, poll and epoll (level- and edge-triggered), and tokio's current-thread and
//! multi-thread runtimes as the production reference (tokio is a dev-dependency, used only
//! here). The load is the crate's own generator, in a child process, so clients and server do
//! not share a descriptor limit; every model gets the same load.
//!
//! Where this process may use two CPUs or more, the servers run on one and the load generator
//! on another (`sched_setaffinity(2)`), so that they do not take turns on one core. Two
//! options add to the table, both given by `cargo xtask bench`:
//!
//! - `--uring PATH`: chapter 11's io_uring server, the `uring-demo` binary at PATH (it cannot
//!   run in this process: uring-demo depends on this crate), started as its own process on
//!   the servers' CPU; where io_uring is unavailable its row says why.
//! - `--syscalls`: system calls per request for every model and connection count, counted by
//!   `strace -c -f` attached to the server over a fixed load, each server run for it as a
//!   process of its own (this benchmark with `--serve MODEL`; see `support/syscalls.rs`);
//!   skipped loudly where strace is missing or may not attach.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use multiplex_demo::Api;
use multiplex_demo::load::{raise_fd_limit, rss_bytes};
use multiplex_demo::server::{self, Config};
use socklab_support::Narrator;
use socklab_support::process::{ServerProcess, spawn_server};
use socklab_support::stats::Spread;
use socklab_support::stop::Stop;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "support/syscalls.rs"]
mod syscalls;

use syscalls::Pinning;

/// The io_uring server's binary (`--uring PATH`).
static URING: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
/// The CPUs of the servers and of the load generator, when pinned.
static PINNING: std::sync::OnceLock<Option<Pinning>> = std::sync::OnceLock::new();

/// The servers compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Model {
    Threaded,
    Event(Api),
    TokioCurrentThread,
    TokioMultiThread,
    /// Chapter 11's server, a process of its own.
    Uring,
}

/// A freshly started server: where it listens, the event loop's counters, and, for the io_uring
/// server, its process (killed when this is dropped).
///
/// Dropping it stops the server and waits until its connections are closed. Earlier versions
/// left every cell's server running: a 10,000-connection cell then started while the previous
/// server was still closing thousands of connections on the same pinned CPU (up to 5,500
/// descriptors still open at the next cell's start), and the epoll cells that came after it
/// measured a fraction of what the same server gives alone.
struct Server {
    addr: SocketAddr,
    stats: Option<Arc<server::Stats>>,
    process: Option<ServerProcess>,
    /// Stops an in-process server (`None`: the io_uring process, killed instead).
    stop: Option<Box<dyn FnOnce() + Send>>,
    /// Descriptors this process had open before the server started.
    fds_before: usize,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        // Killed and reaped now, not after this function as fields are: its pipes count.
        drop(self.process.take());
        // Bounded: a server that cannot close its connections in 10 s is reported, not waited
        // for.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while open_descriptors() > self.fds_before {
            if std::time::Instant::now() > deadline {
                eprintln!(
                    "  the server stopped but {} descriptors are still open (were {})",
                    open_descriptors(),
                    self.fds_before
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Model {
    fn name(self) -> String {
        match self {
            Model::Threaded => "threads (ch. 1)".into(),
            Model::Event(api) => api.name().into(),
            Model::TokioCurrentThread => "tokio current-thread".into(),
            Model::TokioMultiThread => "tokio multi-thread".into(),
            Model::Uring => "io_uring".into(),
        }
    }

    /// Starts a fresh server; returns its address and, for event loops, how many connections
    /// it refused for want of descriptor numbers (select).
    fn start(self, connections: usize) -> Server {
        let fds_before = open_descriptors();
        if self == Model::Uring {
            return match start_uring(connections) {
                Ok(process) => Server {
                    addr: process.addr().parse().expect("the server's address"),
                    stats: None,
                    process: Some(process),
                    stop: None,
                    fds_before,
                },
                Err(why) => panic!("io_uring server: {why}"),
            };
        }
        let listener = server::listen(([127, 0, 0, 1], 0).into()).expect("listen");
        let stop_request = Stop::new().expect("a stop request");
        let (addr, stats, stop): (_, _, Box<dyn FnOnce() + Send>) = match self {
            Model::Threaded => {
                let config = tcp_demo::ServerConfig {
                    max_connections: connections + 16,
                    ..Default::default()
                };
                let addr = tcp_demo::Server::new(listener, config)
                    .with_log(Arc::new(Narrator::silent()))
                    .with_stop(stop_request.clone())
                    .spawn()
                    .expect("spawn");
                // The server closes its connections as it stops; `Drop` waits for them.
                (addr, None, Box::new(move || stop_request.trigger()))
            }
            Model::Event(api) => {
                let (addr, stats, thread) = server::spawn_with_stop(
                    api,
                    listener,
                    Config::default(),
                    Arc::new(Narrator::silent()),
                    Some(stop_request.clone()),
                )
                .expect("spawn");
                let stop = move || {
                    stop_request.trigger();
                    let _ = thread.join();
                };
                (addr, Some(stats), Box::new(stop))
            }
            Model::TokioCurrentThread | Model::TokioMultiThread => {
                let (addr, stop) = tokio_server(listener, self == Model::TokioMultiThread);
                (addr, None, Box::new(stop))
            }
            Model::Uring => unreachable!("started above"),
        };
        Server {
            addr,
            stats,
            process: None,
            stop: Some(stop),
            fds_before,
        }
    }
}

/// Starts the `uring-demo server` binary given with `--uring` for `connections` connections;
/// `Err` carries what it said when it could not start (io_uring unavailable here).
fn start_uring(connections: usize) -> Result<ServerProcess, String> {
    let bin = URING.get().ok_or("no --uring PATH given")?;
    let errors = std::env::temp_dir().join(format!("models-uring-{}.err", std::process::id()));
    let file = std::fs::File::create(&errors).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(bin);
    cmd.args([
        "server",
        "--addr",
        "127.0.0.1:0",
        "--max-connections",
        &(connections + 16).to_string(),
    ])
    .stderr(file);
    let started = spawn_server(&mut cmd, Duration::from_secs(30)).map_err(|e| {
        let said = std::fs::read_to_string(&errors).unwrap_or_default();
        format!("{} ({e})", said.trim())
    });
    let _ = std::fs::remove_file(&errors);
    started
}

/// The echo protocol served by tokio: read a header, read the payload, write both back with
/// one write (as the event loop does), per connection task. The function returned stops it:
/// the runtime is shut down, which drops every task and so closes every connection.
fn tokio_server(listener: TcpListener, multi: bool) -> (SocketAddr, impl FnOnce() + Send) {
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = if multi {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .expect("runtime");
        let _guard = runtime.enter();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let mut frame = Vec::new();
                    loop {
                        let mut header = [0u8; 4];
                        if stream.read_exact(&mut header).await.is_err() {
                            return;
                        }
                        let len = u32::from_be_bytes(header) as usize;
                        if len > tcp_demo::MAX_FRAME {
                            return;
                        }
                        frame.clear();
                        frame.extend_from_slice(&header);
                        frame.resize(4 + len, 0);
                        if stream.read_exact(&mut frame[4..]).await.is_err()
                            || stream.write_all(&frame).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        let _ = runtime.block_on(stopped);
        runtime.shutdown_timeout(Duration::from_secs(5));
    });
    let stop = move || {
        let _ = stop.send(());
        let _ = thread.join();
    };
    (addr, stop)
}

/// One table row: model name, connections, the median cell (`None`: no fair figure), and
/// the requests/s spread (min, max).
type Row = (String, usize, Option<Cell>, (f64, f64));

/// One load run: (requests/s, p50 µs, p99 µs, errors), parsed from the load command's line.
struct Cell {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
}

fn load(addr: SocketAddr, connections: usize, time: &str) -> Option<Cell> {
    load_with(addr, connections, &["--time", time])
}

/// Runs the load generator, on its own CPU when pinned, with `stop` (`--time T` or
/// `--requests N`).
fn load_with(addr: SocketAddr, connections: usize, stop: &[&str]) -> Option<Cell> {
    let child = Command::new(env!("CARGO_BIN_EXE_multiplex-demo"))
        .args([
            "load",
            "--addr",
            &addr.to_string(),
            "-c",
            &connections.to_string(),
        ])
        .args(stop)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    if let Some(Some(p)) = PINNING.get() {
        p.load(child.id());
    }
    let out = child.wait_with_output().ok()?;
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        eprintln!(
            "  load failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    // "N connections: R requests in T: X req/s, p50 A, p99 B, errors E"
    let after = |key: &str| {
        line.split(key).nth(1).map(|rest| {
            rest.trim_start()
                .split([',', ' '])
                .next()
                .unwrap_or("")
                .to_string()
        })
    };
    let micros = |text: String| -> Option<f64> {
        let (num, unit) = text.split_at(text.find(|c: char| c.is_alphabetic() || c == 'µ')?);
        let v: f64 = num.parse().ok()?;
        Some(match unit {
            "ns" => v / 1000.0,
            "µs" => v,
            "ms" => v * 1000.0,
            "s" => v * 1e6,
            _ => return None,
        })
    };
    Some(Cell {
        rps: line
            .split("req/s")
            .next()?
            .rsplit(' ')
            .nth(1)?
            .parse()
            .ok()?,
        p50_us: micros(after("p50")?)?,
        p99_us: micros(after("p99")?)?,
        errors: after("errors")?.trim().parse().ok()?,
    })
}

/// Memory the server process gains per idle connection, with `n` connections held open by a
/// child process.
fn rss_per_idle_connection(model: Model, n: usize) -> Option<f64> {
    let server = model.start(n);
    let addr = server.addr;
    let before = rss_bytes()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_multiplex-demo"))
        .args([
            "load",
            "--addr",
            &addr.to_string(),
            "-c",
            &n.to_string(),
            "--hold",
            "3s",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    std::thread::sleep(Duration::from_millis(300)); // Let the server finish accepting.
    let after = rss_bytes()?;
    let _ = child.wait();
    drop(server);
    Some(after.saturating_sub(before) as f64 / n as f64)
}

/// `--serve MODEL [--connections C]`: this benchmark's server of MODEL alone, in this process,
/// until killed; it prints `listening on ADDR` first. The system-call counts run each server
/// this way.
fn serve(name: &str, connections: Option<usize>) {
    let models = [
        Model::Threaded,
        Model::TokioCurrentThread,
        Model::TokioMultiThread,
    ]
    .into_iter()
    .chain(Api::available().into_iter().map(Model::Event));
    let Some(model) = models.into_iter().find(|m| m.name() == name) else {
        eprintln!("--serve: no model named {name:?}");
        std::process::exit(2);
    };
    let server = model.start(connections.unwrap_or(10_000));
    println!("listening on {}", server.addr);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // Serve until killed: the threads do the work, this one has nothing left to do.
    loop {
        std::thread::park();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = args.iter().any(|a| a == "--quick");
    let out_dir = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    raise_fd_limit(12_000).expect("descriptor limit");
    if let Some(name) = value("--serve") {
        return serve(&name, value("--connections").and_then(|c| c.parse().ok()));
    }
    // Before any thread starts: every server thread inherits the servers' CPU.
    let pinning = Pinning::server_here();
    let _ = PINNING.set(pinning);
    let pinned = match pinning {
        Some(p) => format!(
            "Servers pinned to CPU {}, the load generator to CPU {}.",
            p.server, p.load
        ),
        None => "Not pinned: this process may use one CPU only.".to_string(),
    };
    eprintln!("{pinned}");
    // `--counts 100,10000`: only these connection counts (to look into one column).
    let chosen: Option<Vec<usize>> = value("--counts").map(|list| {
        list.split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect()
    });
    let counts: &[usize] = match &chosen {
        Some(list) => list,
        None if quick => &[1, 100],
        None => &[1, 100, 1000, 10_000],
    };
    let time = if quick { "300ms" } else { "2s" };
    let mut models = vec![Model::Threaded];
    models.extend(Api::available().into_iter().map(Model::Event));
    models.extend([Model::TokioCurrentThread, Model::TokioMultiThread]);
    // `--models poll,epoll`: only these (by the names in the table), in this order.
    if let Some(list) = value("--models") {
        let all = models;
        models = list
            .split(',')
            .filter_map(|name| all.iter().copied().find(|m| m.name() == name.trim()))
            .collect();
    }
    let mut not_measured = Vec::new();
    if let Some(bin) = args
        .iter()
        .position(|a| a == "--uring")
        .and_then(|i| args.get(i + 1))
    {
        let _ = URING.set(PathBuf::from(bin));
        match start_uring(1) {
            Ok(_) => models.push(Model::Uring),
            Err(why) => {
                socklab_support::skip::skip("bench models: io_uring row", &why);
                not_measured.push(format!("io_uring not measured: {why}"));
            }
        }
    }

    // Memory first, before any load has grown this process's heap: later figures would hide
    // the server's new allocations inside pages the allocator already holds.
    let idle = if quick { 1000 } else { 10_000 };
    let best = if cfg!(target_os = "linux") {
        Model::Event(Api::Epoll)
    } else {
        Model::Event(Api::Poll)
    };
    let memory = rss_per_idle_connection(best, idle);

    // Every cell is measured `rounds` times, round-robin over all cells, so that a slow spell
    // on a shared machine lands on every model alike; each cell keeps its medians.
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let mut samples: Vec<(String, usize, Vec<Cell>, bool)> = Vec::new();
    for round in 1..=rounds {
        for &c in counts {
            for &model in &models {
                let server = model.start(c);
                let fds_before = server.fds_before;
                let cell = load(server.addr, c, time);
                let accept_errors = server
                    .stats
                    .as_ref()
                    .map_or(0, |s| s.accept_errors.load(Ordering::Relaxed));
                // select could not watch every descriptor: no fair figure for this cell.
                let refused = server
                    .stats
                    .as_ref()
                    .is_some_and(|s| s.refused_fd.load(Ordering::Relaxed) > 0);
                drop(server);
                let i = match samples.iter().position(|x| x.0 == model.name() && x.1 == c) {
                    Some(i) => i,
                    None => {
                        samples.push((model.name(), c, Vec::new(), false));
                        samples.len() - 1
                    }
                };
                match (cell, refused) {
                    (Some(x), false) => {
                        eprintln!(
                            "round {round}: {:<22} C={c:<6} {:>10.0} req/s  p50 {:>9.1} µs  p99 {:>9.1} µs  errors {}  (fds open before {fds_before}, accept errors {accept_errors})",
                            model.name(),
                            x.rps,
                            x.p50_us,
                            x.p99_us,
                            x.errors
                        );
                        samples[i].2.push(x);
                    }
                    _ => {
                        eprintln!("round {round}: {:<22} C={c:<6} n/a", model.name());
                        samples[i].3 = true;
                    }
                }
            }
        }
    }
    // System calls per request, counted once per cell: counts do not drift as times do.
    let mut counted: Vec<(String, usize, syscalls::Counted, u64)> = Vec::new();
    let total_requests: u64 = if quick { 2_000 } else { 20_000 };
    // Cells whose count failed (chapter 1's threads at 10,000 connections under strace: the
    // load's connects can time out while strace slows every thread the server starts).
    let mut uncounted: Vec<String> = Vec::new();
    if args.iter().any(|a| a == "--syscalls") {
        match syscalls::strace_available() {
            Ok(()) => {
                'count: for &c in counts {
                    let per_connection = (total_requests / c as u64).max(20);
                    for &model in &models {
                        // No fair figure for this cell (select past FD_SETSIZE): nothing to count.
                        if samples
                            .iter()
                            .any(|x| x.0 == model.name() && x.1 == c && x.3)
                        {
                            continue;
                        }
                        match count_syscalls(model, c, per_connection) {
                            Ok(x) => {
                                let requests = c as u64 * per_connection;
                                eprintln!(
                                    "syscalls: {:<22} C={c:<6} {:.2} per request over {requests} requests",
                                    model.name(),
                                    x.total as f64 / requests as f64
                                );
                                counted.push((model.name(), c, x, requests));
                            }
                            // The first count failed: strace cannot work here (ptrace forbidden).
                            Err(why) if counted.is_empty() => {
                                socklab_support::skip::skip("bench models: system calls", &why);
                                not_measured.push(format!("System calls not counted: {why}"));
                                break 'count;
                            }
                            Err(why) => {
                                eprintln!("syscalls: {} C={c}: n/a: {why}", model.name());
                                uncounted.push(format!(
                                    "System calls of {} at {c} connections not counted: {why}",
                                    model.name()
                                ));
                            }
                        }
                    }
                }
            }
            Err(why) => {
                socklab_support::skip::skip("bench models: system calls", &why);
                not_measured.push(format!("System calls not counted: {why}"));
            }
        }
    }
    let per_request = |name: &str, c: usize| {
        counted
            .iter()
            .find(|x| x.0 == name && x.1 == c)
            .map(|x| x.2.total as f64 / x.3 as f64)
    };

    // Every cell here has at least one sample (empty ones are skipped first).
    let spread_of = |mut v: Vec<f64>| Spread::of(&mut v).expect("at least one sample");
    let rows: Vec<Row> = samples
        .into_iter()
        .map(|(name, c, cells, failed)| {
            if failed || cells.is_empty() {
                return (name, c, None, (0.0, 0.0));
            }
            let rps = spread_of(cells.iter().map(|x| x.rps).collect());
            let cell = Cell {
                rps: rps.median,
                p50_us: spread_of(cells.iter().map(|x| x.p50_us).collect()).median,
                p99_us: spread_of(cells.iter().map(|x| x.p99_us).collect()).median,
                errors: cells.iter().map(|x| x.errors).sum(),
            };
            (name, c, Some(cell), (rps.min, rps.max))
        })
        .collect();

    let mut md = format!(
        "Medians of {rounds} round(s) of {time} per cell; requests/s spread is min to max.\n\
         {pinned}\n"
    );
    if !counted.is_empty() {
        md += &format!(
            "System calls per request: `strace -c -f` attached to each server (run as a process \
             of its own, on the servers' CPU) while C connections make a fixed number of round \
             trips each ({total_requests} in all, at least 20 per connection; opening and \
             closing the connections included).\n"
        );
    }
    for line in not_measured.iter().chain(&uncounted) {
        md += &format!("{line}\n");
    }
    md += "\n| model | connections | requests/s (median) | spread | vs tokio current-thread | p50 | p99 | errors | system calls per request |\n\
           |---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for &c in counts {
        let reference = rows
            .iter()
            .find(|r| r.0 == "tokio current-thread" && r.1 == c)
            .and_then(|r| r.2.as_ref().map(|x| x.rps));
        for (name, _, cell, (lo, hi)) in rows.iter().filter(|r| r.1 == c) {
            match cell {
                Some(x) => {
                    md += &format!(
                        "| {name} | {c} | {:.0} | {:.0} to {:.0} | {} | {:.0} µs | {:.0} µs | {} | {} |\n",
                        x.rps,
                        lo,
                        hi,
                        reference.map_or("".into(), |r| format!("{:.2}", x.rps / r)),
                        x.p50_us,
                        x.p99_us,
                        x.errors,
                        per_request(name, c).map_or(String::new(), |n| format!("{n:.2}"))
                    )
                }
                None => md += &format!("| {name} | {c} | n/a (FD_SETSIZE) | | | | | | |\n"),
            }
        }
    }
    if let Some(per) = memory {
        md += &format!(
            "\nServer memory per idle connection ({}, {idle} connections): {:.2} KiB of user-space RSS \
             (the kernel's own per-socket memory is not in RSS).\n",
            best.name(),
            per / 1024.0
        );
    }
    // What the calls are, at 100 connections: the profile behind the column.
    let at = 100;
    if counted.iter().any(|x| x.1 == at) {
        md += &format!("\nSystem calls per request by name, at {at} connections:\n\n");
        for (name, _, x, requests) in counted.iter().filter(|x| x.1 == at) {
            let calls: Vec<String> = x
                .by_call
                .iter()
                .take(4)
                .map(|(call, n)| format!("`{call}` {:.2}", *n as f64 / *requests as f64))
                .collect();
            md += &format!("- {name}: {}\n", calls.join(", "));
        }
    }
    println!("{md}");
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(&dir).expect("output folder");
        std::fs::write(dir.join("models.md"), &md).expect("write models.md");
        // The same medians for scripts (`cargo xtask bench` checks the goals against them).
        let mut tsv = String::from(
            "model\tconnections\trequests_per_sec\tp50_us\tp99_us\tsyscalls_per_request\n",
        );
        for (name, c, cell, _) in &rows {
            if let Some(x) = cell {
                tsv += &format!(
                    "{name}\t{c}\t{:.0}\t{:.1}\t{:.1}\t{}\n",
                    x.rps,
                    x.p50_us,
                    x.p99_us,
                    per_request(name, *c).map_or("-".to_string(), |n| format!("{n:.3}"))
                );
            }
        }
        std::fs::write(dir.join("models.tsv"), tsv).expect("write models.tsv");
        std::fs::write(dir.join("models.svg"), chart(&rows, counts)).expect("write models.svg");
        eprintln!("wrote {}", dir.display());
    }
}

/// Counts the system calls the server of `model` makes while `connections` connections make
/// `per_connection` round trips each, from their first connect to the server's last close.
fn count_syscalls(
    model: Model,
    connections: usize,
    per_connection: u64,
) -> Result<syscalls::Counted, String> {
    // A process of its own (see `support/syscalls.rs`): this one, started with `--serve`.
    let process = match model {
        Model::Uring => start_uring(connections)?,
        _ => {
            let mut cmd = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
            cmd.args([
                "--serve",
                &model.name(),
                "--connections",
                &connections.to_string(),
            ]);
            spawn_server(&mut cmd, Duration::from_secs(30))
                .map_err(|e| format!("starting {}: {e}", model.name()))?
        }
    };
    let addr: SocketAddr = process.addr().parse().map_err(|e| format!("{e}"))?;
    let strace = syscalls::attach(process.id(), PINNING.get().and_then(Option::as_ref))?;
    let cell = load_with(
        addr,
        connections,
        &["--requests", &per_connection.to_string()],
    );
    syscalls::wait_until_closed(addr)?;
    let counted = strace.finish()?;
    match cell {
        Some(x) if x.errors == 0 => Ok(counted),
        Some(x) => Err(format!("the load saw {} errors", x.errors)),
        None => Err("the load failed".into()),
    }
}

/// Descriptors open in this process now (every server here shares its limit), or 0 where
/// `/proc/self/fd` cannot be read.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// requests/s against connections (log scale), one line per model.
fn chart(rows: &[Row], counts: &[usize]) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 460)).into_drawing_area();
        root.fill(&WHITE).expect("fill");
        let max_y = rows
            .iter()
            .filter_map(|r| r.2.as_ref().map(|c| c.rps))
            .fold(1.0, f64::max)
            * 1.3;
        let max_x = *counts.last().unwrap_or(&1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Echo requests/s against concurrent connections",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((1u32..max_x.max(2)).log_scale(), 0f64..max_y)
            .expect("chart");
        chart
            .configure_mesh()
            .x_desc("connections (log scale)")
            .y_desc("requests/s")
            .y_label_formatter(&|v| format!("{:.0}k", v / 1000.0))
            .draw()
            .expect("mesh");
        let palette = [
            RGBColor(0x1f, 0x77, 0xb4),
            RGBColor(0xd6, 0x27, 0x28),
            RGBColor(0x2c, 0xa0, 0x2c),
            RGBColor(0x94, 0x67, 0xbd),
            RGBColor(0x8c, 0x56, 0x4b),
            RGBColor(0xe3, 0x77, 0xc2),
            RGBColor(0x7f, 0x7f, 0x7f),
            RGBColor(0xbc, 0xbd, 0x22),
        ];
        let mut names: Vec<&String> = Vec::new();
        for r in rows {
            if !names.contains(&&r.0) {
                names.push(&r.0);
            }
        }
        for (i, name) in names.iter().enumerate() {
            let color = palette[i % palette.len()];
            let line: Vec<(u32, f64)> = rows
                .iter()
                .filter(|r| &&r.0 == name)
                .filter_map(|r| r.2.as_ref().map(|c| (r.1 as u32, c.rps)))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .expect("series")
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    line.into_iter()
                        .map(|xy| Circle::new(xy, 3, color.filled())),
                )
                .expect("points");
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .expect("legend");
        root.present().expect("present");
    }
    svg
}
