//! Chapter 3's bulk sink as a server: one transfer at a time, and a clean stop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use buffers_demo::bulk::{self, Amount, Sink};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, wait, within};

const LIMIT: Duration = Duration::from_secs(30);

/// A stop while a sender is in the middle of a transfer: the sender sees end of stream (no
/// count: the transfer did not complete), the sink logs why, and `run` returns `Ok` with the
/// counters as its last line.
#[test]
fn stop_ends_the_transfer_in_progress() {
    let log = Arc::new(Narrator::capture());
    let stop = Stop::new().unwrap();
    let sink = Sink::new(TcpListener::bind("127.0.0.1:0").unwrap())
        .with_log(Arc::clone(&log))
        .with_stop(stop.clone());
    let addr = sink.local_addr().unwrap();
    let stats = sink.stats();
    let running = thread::spawn(move || sink.run());
    let result = within(LIMIT, "stop during a transfer", move || {
        let done = bulk::send(addr, 1000, Amount::Bytes(10_000), None).unwrap();
        assert_eq!(done.bytes, 10_000);
        let mut sender = TcpStream::connect(addr).unwrap();
        sender
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        sender.write_all(&[1; 1000]).unwrap(); // A transfer begun, never finished.
        wait::until(Duration::from_secs(10), "the second accept", || {
            stats.accepted.load(Ordering::Relaxed) == 2
        })
        .unwrap();
        stop.trigger();
        let mut count = Vec::new();
        sender.read_to_end(&mut count).unwrap();
        assert!(count.is_empty(), "no count for an unfinished transfer");
        running.join().unwrap()
    });
    assert!(result.is_ok(), "{result:?}");
    assert!(
        log.said("closed: the sink is stopping"),
        "{:?}",
        log.lines()
    );
    let last = log.lines().last().cloned().unwrap_or_default();
    assert!(
        last.ends_with(
            "stopped: accepted 2, transfers 1, bytes 10000, dropped 0, closed at stop 1"
        ),
        "{last}"
    );
}
