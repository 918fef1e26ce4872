//! io_uring against readiness: echo requests/s at 100 and 1,000 connections for this chapter's
//! io_uring server (as configured by default, and without `IORING_SETUP_DEFER_TASKRUN`),
//! chapter 7's epoll server, and tokio's current-thread runtime (chapter 7's benchmark server,
//! and this chapter's bounded bridge example).
//!
//! `cargo bench -p uring-demo --bench models` (add `-- --quick` for a smoke run). Each server
//! runs on its own thread in this process, freshly started for each row; the load generator
//! (chapter 7's, `multiplex_demo::load`: C connections of 64-byte ping-pong) runs on the
//! benchmark's thread. One criterion iteration is one round trip on every connection, so the
//! `thrpt` figure criterion prints is requests per second. On a 2-core machine the server
//! and the load generator share the two cores: read the ratios between rows, not the
//! absolute figures. Where io_uring is unavailable, its rows are reported skipped.
//!
//! `-- --table [--rounds N] [--time 2s]` prints a markdown table of medians instead, measured
//! round-robin, for the results page, with each server's own CPU time per request (its
//! threads' `/proc/self/task/TID/schedstat`): on two cores the single-threaded load
//! generator can be the bottleneck, and then requests/s no longer tells the servers apart,
//! but their CPU cost per request still does. `--tsv FILE` also writes the same medians there,
//! one row per cell, for `cargo xtask bench`.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use multiplex_demo::Api;
use multiplex_demo::load::{self, Load, Stop};
use socklab_support::Narrator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../examples/tokio_echo.rs"]
#[allow(dead_code)]
mod tokio_echo;

/// The servers compared.
#[derive(Debug, Clone, Copy)]
enum Model {
    Uring,
    UringImmediate,
    Epoll,
    TokioCurrentThread,
    TokioBounded,
}

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Uring => "io_uring",
            Model::UringImmediate => "io_uring, no DEFER_TASKRUN",
            Model::Epoll => "epoll (ch. 7)",
            Model::TokioCurrentThread => "tokio current-thread",
            Model::TokioBounded => "tokio current-thread, bounded",
        }
    }

    /// Starts a fresh server on its own thread.
    fn start(self) -> SocketAddr {
        let listener = multiplex_demo::server::listen(([127, 0, 0, 1], 0).into()).expect("listen");
        let silent = Arc::new(Narrator::silent());
        match self {
            Model::Uring => {
                uring_demo::server::spawn(listener, Default::default(), silent)
                    .expect("io_uring server")
                    .0
            }
            Model::UringImmediate => {
                let config = uring_demo::server::Config {
                    defer_taskrun: false,
                    ..Default::default()
                };
                uring_demo::server::spawn(listener, config, silent)
                    .expect("io_uring server")
                    .0
            }
            Model::Epoll => {
                multiplex_demo::server::spawn(Api::Epoll, listener, Default::default(), silent)
                    .expect("epoll server")
                    .0
            }
            Model::TokioCurrentThread => tokio_server(listener),
            Model::TokioBounded => {
                let addr = listener.local_addr().expect("addr");
                tokio_echo::spawn(listener, tokio_echo::Bounds::default()).expect("tokio");
                addr
            }
        }
    }
}

/// Chapter 7's benchmark server (`multiplex-demo/benches/models.rs`), unchanged: read a
/// header, read the payload, write both back with one write, a task per connection.
fn tokio_server(listener: TcpListener) -> SocketAddr {
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
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
    });
    addr
}

fn models(c: &mut Criterion) {
    load::raise_fd_limit(8192).expect("descriptor limit");
    let uring = uring_demo::probe::support();
    if let Err(why) = &uring {
        socklab_support::skip::skip("bench models: io_uring rows", why);
    }
    for connections in [100usize, 1000] {
        let mut group = c.benchmark_group(format!("echo, {connections} connections"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(connections as u64));
        for model in [
            Model::Uring,
            Model::UringImmediate,
            Model::Epoll,
            Model::TokioCurrentThread,
            Model::TokioBounded,
        ] {
            if matches!(model, Model::Uring | Model::UringImmediate) && uring.is_err() {
                continue;
            }
            let addr = model.start();
            group.bench_function(model.name(), |b| {
                b.iter_custom(|iters| {
                    let report = load::run(
                        addr,
                        Load {
                            connections,
                            message_size: 64,
                            stop: Stop::Requests(iters),
                        },
                    )
                    .expect("load");
                    assert_eq!(report.errors, 0, "{}: errors", model.name());
                    report.elapsed
                });
            });
        }
        group.finish();
    }
}

/// `-- --table [--rounds N] [--time 2s]`: instead of criterion's statistics, a markdown table
/// of medians for the results page, measured round-robin (every model at every C in turn,
/// `rounds` times) so that a slow spell of a shared machine lands on every model alike.
fn table(rounds: usize, time: Duration, tsv: Option<std::path::PathBuf>) {
    load::raise_fd_limit(8192).expect("descriptor limit");
    let mut models = vec![Model::Epoll, Model::TokioCurrentThread, Model::TokioBounded];
    match uring_demo::probe::support() {
        Ok(()) => models
            .splice(0..0, [Model::Uring, Model::UringImmediate])
            .for_each(drop),
        Err(why) => socklab_support::skip::skip("bench models: io_uring rows", &why),
    }
    let counts = [100usize, 1000];
    let mut samples: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); models.len()]; counts.len()];
    let mut cpu: Vec<Vec<Vec<f64>>> = samples.clone();
    for round in 1..=rounds {
        for (ci, &connections) in counts.iter().enumerate() {
            for (mi, model) in models.iter().enumerate() {
                let before = threads();
                let addr = model.start();
                let server: Vec<u32> = threads().difference(&before).copied().collect();
                let cpu_before = cpu_ns(&server);
                let report = load::run(
                    addr,
                    Load {
                        connections,
                        message_size: 64,
                        stop: Stop::Time(time),
                    },
                )
                .expect("load");
                assert_eq!(report.errors, 0, "{}: errors", model.name());
                // The server's CPU time over the whole run (connections included), per request.
                let per_request =
                    (cpu_ns(&server) - cpu_before) as f64 / 1000.0 / report.requests as f64;
                eprintln!(
                    "round {round}: {:<30} C={connections:<5} {:>9.0} req/s, server CPU {:.2} µs/request",
                    model.name(),
                    report.requests_per_sec,
                    per_request
                );
                samples[ci][mi].push(report.requests_per_sec);
                cpu[ci][mi].push(per_request);
            }
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "Medians of {rounds} round(s) of {time:?} per cell, 64-byte ping-pong.\n\n\
         | model | connections | requests/s (median) | min to max | vs tokio current-thread | server CPU per request |\n\
         |---|---:|---:|---:|---:|---:|"
    );
    let mut rows =
        String::from("model\tconnections\trequests_per_sec\tmin\tmax\tserver_cpu_us_per_request\n");
    for (ci, &connections) in counts.iter().enumerate() {
        for (mi, model) in models.iter().enumerate() {
            let v = &samples[ci][mi];
            let (lo, hi) = v
                .iter()
                .fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
            rows += &format!(
                "{}\t{connections}\t{:.0}\t{lo:.0}\t{hi:.0}\t{:.3}\n",
                model.name(),
                median(v),
                median(&cpu[ci][mi])
            );
        }
    }
    if let Some(path) = tsv {
        std::fs::write(&path, rows).expect("write the tsv");
    }
    for (ci, &connections) in counts.iter().enumerate() {
        let tokio = models
            .iter()
            .position(|m| matches!(m, Model::TokioCurrentThread))
            .map(|i| median(&samples[ci][i]));
        for (mi, model) in models.iter().enumerate() {
            let v = &samples[ci][mi];
            let (lo, hi) = v
                .iter()
                .fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
            println!(
                "| {} | {connections} | {:.0} | {lo:.0} to {hi:.0} | {} | {:.2} µs |",
                model.name(),
                median(v),
                tokio.map_or(String::new(), |t| format!("{:.2}", median(v) / t)),
                median(&cpu[ci][mi])
            );
        }
    }
}

/// This process's thread ids.
fn threads() -> std::collections::BTreeSet<u32> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Time the threads `tids` have spent on a CPU, in nanoseconds (`/proc/self/task/TID/schedstat`,
/// first field).
fn cpu_ns(tids: &[u32]) -> u64 {
    tids.iter()
        .filter_map(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--table") {
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let rounds = value("--rounds").and_then(|r| r.parse().ok()).unwrap_or(3);
        let time = value("--time")
            .and_then(|t| humantime_free(&t))
            .unwrap_or(Duration::from_secs(2));
        return table(rounds, time, value("--tsv").map(Into::into));
    }
    let mut c = Criterion::default().configure_from_args();
    models(&mut c);
    c.final_summary();
}

/// `500ms` or `2s`.
fn humantime_free(text: &str) -> Option<Duration> {
    match text.strip_suffix("ms") {
        Some(ms) => ms.parse().ok().map(Duration::from_millis),
        None => text
            .strip_suffix('s')?
            .parse()
            .ok()
            .map(Duration::from_secs),
    }
}
