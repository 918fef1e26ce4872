//! Run: `cargo bench -p socklab-wire --bench link`
//!
//! The wire lab's link measured on its own, so an experiment knows it measures the link it
//! set and not the lab: TCP throughput from host A to host B through an unimpaired link
//! (MTU 1500, every packet relayed by user space and recorded), and the round trip of a
//! small UDP datagram at zero delay, next to the same round trip over loopback inside one
//! host (the kernel path without the relay): the difference is what the lab adds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use criterion::{Criterion, Throughput};
use socklab_wire::{Lab, LinkConfig};

/// Bytes per throughput iteration.
const CHUNK: usize = 16 << 20;

fn throughput(c: &mut Criterion, lab: &Lab) {
    let (a, b) = (lab.a(), lab.b());
    let listener = b.run(|| TcpListener::bind(b.addr(5001))).unwrap().unwrap();
    // The receiver on B: reads each chunk whole, then answers one byte.
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let mut left = CHUNK;
            while left > 0 {
                match conn.read(&mut buf[..left.min(1 << 20)]) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => left -= n,
                }
            }
            if conn.write_all(b"k").is_err() {
                return;
            }
        }
    });
    let mut client = a
        .run(|| TcpStream::connect_timeout(&b.addr(5001), Duration::from_secs(5)))
        .unwrap()
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let data = vec![0x5au8; CHUNK];
    let mut group = c.benchmark_group("link");
    group.throughput(Throughput::Bytes(CHUNK as u64));
    group.sample_size(10);
    group.bench_function("tcp_throughput_a_to_b_mtu1500", |bench| {
        bench.iter(|| {
            client.write_all(&data).unwrap();
            let mut k = [0u8; 1];
            client.read_exact(&mut k).unwrap();
        })
    });
    group.finish();
}

/// A UDP ping-pong between `client` and an echo thread on `server`.
fn ping_pong(c: &mut Criterion, name: &str, client: UdpSocket, server: UdpSocket) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            if server.send_to(&buf[..n], from).is_err() {
                return;
            }
        }
    });
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    // In the `link` group, as the throughput is: `cargo xtask bench` reads each median from
    // `target/criterion/link/<name>/`.
    let mut group = c.benchmark_group("link");
    group.bench_function(name, |bench| {
        bench.iter(|| {
            client.send(b"ping").unwrap();
            client.recv(&mut buf).unwrap();
        })
    });
    group.finish();
}

fn round_trips(c: &mut Criterion, lab: &Lab) {
    let (a, b) = (lab.a(), lab.b());
    // Across the link: A to B and back.
    let server = b.run(|| UdpSocket::bind(b.addr(5002))).unwrap().unwrap();
    let client = a.run(|| UdpSocket::bind(a.addr(0))).unwrap().unwrap();
    client.connect(b.addr(5002)).unwrap();
    ping_pong(c, "udp_round_trip_zero_delay", client, server);
    // The same kernel path on loopback inside host A, without the relay.
    let (server, client) = a
        .run(|| {
            let server = UdpSocket::bind("127.0.0.1:5003").unwrap();
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.connect("127.0.0.1:5003").unwrap();
            (server, client)
        })
        .unwrap();
    ping_pong(c, "udp_round_trip_loopback_same_host", client, server);
}

fn main() {
    // Without root: become root of a user namespace while this process has one thread.
    if let Err(e) = socklab_wire::enter_user_namespace() {
        eprintln!("SKIPPED link benches: cannot enter a user namespace: {e}");
        return;
    }
    if let Err(why) = Lab::available() {
        eprintln!("SKIPPED link benches: no wire lab: {why}");
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let lab = Lab::new(LinkConfig::default()).expect("make the lab");
    throughput(&mut c, &lab);
    round_trips(&mut c, &lab);
    c.final_summary();
}
