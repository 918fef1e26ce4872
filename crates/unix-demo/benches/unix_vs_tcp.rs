//! A Unix stream socket against TCP on loopback, side by side: round-trip latency of small
//! messages, and bulk throughput in large writes. Run with `cargo bench -p unix-demo`.
//!
//! Both transports run the same loops from `unix_demo::speed` with the same threads and sizes,
//! so the ratio between them is the kernel's work between `write(2)` and `read(2)`. Criterion
//! names each measurement `GROUP/TRANSPORT` and keeps its estimates in
//! `target/criterion/GROUP/TRANSPORT/new/estimates.json`:
//!
//! - `unix vs tcp round trip 64 B/unix stream` and `.../tcp loopback`: time per round trip of
//!   a 64-byte message (write, then read the echo).
//! - `unix vs tcp bulk 64 MiB/unix stream` and `.../tcp loopback`: time to move 64 MiB in
//!   128 KiB writes; criterion also prints it as throughput.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use unix_demo::speed::{self, Transport};

/// The round trip's message size: a small request, as in chapter 1's benchmark.
const MESSAGE: usize = 64;
/// Bytes per bulk iteration, and the size of each write (chapter 3's iperf3-like figure).
const BULK: u64 = 64 << 20;
const CHUNK: usize = 128 * 1024;

fn round_trip(c: &mut Criterion) {
    // No throughput here: the figure is the time per round trip.
    let mut group = c.benchmark_group("unix vs tcp round trip 64 B");
    for transport in Transport::BOTH {
        let (mut ours, theirs) = speed::pair(transport).expect("pair");
        let echo = speed::spawn_echo(theirs, MESSAGE);
        let message = vec![0xabu8; MESSAGE];
        let mut buf = vec![0u8; MESSAGE];
        group.bench_function(transport.name(), |b| {
            b.iter(|| {
                speed::round_trip(ours.as_mut(), black_box(&message), &mut buf).expect("echo")
            });
        });
        drop(ours);
        echo.join().expect("echo thread").expect("echo");
    }
    group.finish();
}

fn bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("unix vs tcp bulk 64 MiB");
    group.throughput(Throughput::Bytes(BULK));
    group.sample_size(10);
    for transport in Transport::BOTH {
        let (mut ours, theirs) = speed::pair(transport).expect("pair");
        let sink = speed::spawn_sink(theirs);
        group.bench_function(transport.name(), |b| {
            b.iter(|| speed::send_bulk(ours.as_mut(), black_box(BULK), CHUNK).expect("send"));
        });
        drop(ours);
        sink.join().expect("sink thread").expect("sink");
    }
    group.finish();
}

criterion_group!(benches, round_trip, bulk);
criterion_main!(benches);
