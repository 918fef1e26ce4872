//! Bulk throughput on loopback at default (autotuned) buffers and 128 KiB writes: the figure
//! the chapter compares with iperf3. Run with `cargo bench -p buffers-demo`.

use std::hint::black_box;

use buffers_demo::bulk::{self, Amount};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bulk_throughput(c: &mut Criterion) {
    let bytes: u64 = 64 << 20;
    let mut group = c.benchmark_group("bulk loopback");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(20);
    for (name, buffer) in [
        ("default buffers", None),
        ("64 KiB buffers", Some(64 * 1024)),
    ] {
        let sink = bulk::sink_with_buffer(buffer).expect("sink");
        group.bench_function(format!("64 MiB, 128 KiB writes, {name}"), |b| {
            b.iter(|| {
                black_box(bulk::send(sink, 128 * 1024, Amount::Bytes(bytes), buffer).expect("send"))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bulk_throughput);
criterion_main!(benches);
