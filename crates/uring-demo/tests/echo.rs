//! Chapter 11: the io_uring server echoes correctly under concurrency, with messages larger
//! than the socket buffers, and its own counters show how few system calls that takes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use multiplex_demo::load::{self, Load, Stop};
use socklab_support::data::{Checksum, Generator};
use socklab_support::{Narrator, within};
use tcp_demo::Client;
use uring_demo::probe;
use uring_demo::server::{self, Config};

// ANCHOR: echoes_correctly
/// 24 concurrent clients, random sizes up to 900 KB (every third message bigger than the
/// socket buffers), every byte checksummed.
#[test]
fn uring_echoes_correctly() {
    if !probe::available("uring_echoes_correctly") {
        return;
    }
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) =
        server::spawn(listener, Config::default(), Arc::new(Narrator::silent())).unwrap();
    within(Duration::from_secs(120), "echo", move || {
        let clients: Vec<_> = (0..24u64)
            .map(|seed| {
                thread::spawn(move || {
                    let mut client = Client::connect(addr, Duration::from_secs(20)).unwrap();
                    let mut rng = Generator::new(seed);
                    let (mut sent, mut got) = (Checksum::new(), Checksum::new());
                    for i in 0..12 {
                        let size = if i % 3 == 0 {
                            rng.size(300_000, 900_000)
                        } else {
                            rng.size(0, 5000)
                        };
                        let mut msg = vec![0u8; size];
                        rng.fill(&mut msg);
                        sent.update(&msg);
                        got.update(&client.echo(&msg).unwrap());
                    }
                    (sent.digest(), got.digest())
                })
            })
            .collect();
        for c in clients {
            let (sent, got) = c.join().unwrap();
            assert_eq!(sent, got, "every byte back, in order");
        }
    });
    assert_eq!(stats.frames.load(Ordering::Relaxed), 24 * 12);
}
// ANCHOR_END: echoes_correctly

// ANCHOR: enters_per_request
/// 100 connections each make 100 ping-pong requests. The server's own count of
/// `io_uring_enter` calls, its only system calls for I/O, is below one per two requests:
/// each call submits the sends and receives queued since the last one and returns with
/// the completions of many connections. (It also counts two entries and two completions per
/// request: the work is all there, only the system calls are batched.) A loop without
/// batching, entering the kernel once per entry or once per completion, makes at least two
/// calls per request, four times this bound, whatever the machine's load; a batching loop's
/// ratio does depend on it (a quiet machine batches far more, a CI run on a loaded 2-core
/// machine saw one call per four requests), so the bound leaves it room.
#[test]
fn one_enter_serves_many_requests() {
    if !probe::available("one_enter_serves_many_requests") {
        return;
    }
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) =
        server::spawn(listener, Config::default(), Arc::new(Narrator::silent())).unwrap();
    let load = Load {
        connections: 100,
        message_size: 64,
        stop: Stop::Requests(100),
    };
    let report = within(Duration::from_secs(60), "load", move || {
        load::run(addr, load)
    })
    .unwrap();
    assert_eq!((report.requests, report.errors), (10_000, 0));
    let frames = stats.frames.load(Ordering::Relaxed);
    let enters = stats.enters.load(Ordering::Relaxed);
    let (sqes, cqes) = (
        stats.submitted.load(Ordering::Relaxed),
        stats.completions.load(Ordering::Relaxed),
    );
    eprintln!("{frames} requests: {enters} io_uring_enter calls, {sqes} SQEs, {cqes} CQEs");
    assert_eq!(frames, 10_000);
    assert!(
        enters * 2 < frames,
        "{enters} io_uring_enter calls for {frames} requests"
    );
    assert!(
        sqes >= 2 * frames && cqes >= 2 * frames,
        "{sqes} SQEs, {cqes} CQEs"
    );
}
// ANCHOR_END: enters_per_request
