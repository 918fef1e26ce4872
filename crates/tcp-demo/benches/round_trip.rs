//! Round-trip latency of small frames on one blocking connection: `write(2)` a frame, then
//! `read(2)` its echo from chapter 1's thread-per-connection server.
//!
//! Run with `cargo bench -p tcp-demo`. Each iteration is one full round trip through the
//! loopback device and two context switches, so the figure is a floor for any request/response
//! protocol on this machine.

use std::hint::black_box;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use socklab_support::Narrator;
use tcp_demo::{Client, Server, ServerConfig};

fn round_trip(c: &mut Criterion) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = Server::new(listener, ServerConfig::default())
        .with_log(Arc::new(Narrator::silent()))
        .spawn()
        .expect("start server");
    let mut client = Client::connect(addr, Duration::from_secs(5)).expect("connect");
    let mut group = c.benchmark_group("tcp round trip");
    for size in [16usize, 256, 4096] {
        let payload = vec![0xabu8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size} B frame"), |b| {
            b.iter(|| black_box(client.echo(black_box(&payload)).expect("echo")));
        });
    }
    group.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
