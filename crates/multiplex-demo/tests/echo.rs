//! Chapter 7: every readiness API serves the echo protocol correctly under concurrency, with
//! messages larger than the socket buffers (forcing partial writes on both sides).

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use multiplex_demo::Api;
use multiplex_demo::server::{self, Config};
use socklab_support::data::{Checksum, Generator};
use socklab_support::{Narrator, within};
use tcp_demo::Client;

fn echo_many(api: Api) {
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) = server::spawn(
        api,
        listener,
        Config::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    within(Duration::from_secs(120), api.name(), move || {
        let clients: Vec<_> = (0..24u64)
            .map(|seed| {
                thread::spawn(move || {
                    let mut client = Client::connect(addr, Duration::from_secs(20)).unwrap();
                    let mut rng = Generator::new(seed);
                    let (mut sent, mut got) = (Checksum::new(), Checksum::new());
                    for i in 0..12 {
                        // Every third message is bigger than the default socket buffers.
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
    assert_eq!(
        stats.frames.load(std::sync::atomic::Ordering::Relaxed),
        24 * 12
    );
}

/// select: 24 concurrent clients, random sizes up to 900 KB, every byte checksummed.
#[test]
fn select_echoes_correctly() {
    echo_many(Api::Select);
}

/// poll: the same.
#[test]
fn poll_echoes_correctly() {
    echo_many(Api::Poll);
}

/// epoll, level-triggered: the same.
#[test]
#[cfg(target_os = "linux")]
fn epoll_echoes_correctly() {
    echo_many(Api::Epoll);
}

/// epoll, edge-triggered: the same, which holds only because every event is drained to
/// `WouldBlock` and a paused connection is resumed without waiting for a new edge.
#[test]
#[cfg(target_os = "linux")]
fn epoll_edge_triggered_echoes_correctly() {
    echo_many(Api::EpollEdge);
}
