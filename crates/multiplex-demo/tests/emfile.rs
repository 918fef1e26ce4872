//! Chapter 7: running out of descriptors (EMFILE) neither crashes the server nor spins a core,
//! and it recovers. In its own test binary, because it lowers the whole process's limit.
#![cfg(unix)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use multiplex_demo::Api;
use multiplex_demo::server::{self, Config};
use socklab_support::descriptors::exhaust;
use socklab_support::{Narrator, wait, within};

/// With every descriptor in use, the server's `accept` fails with EMFILE. It logs it, stops
/// watching the listener for 100 ms at a time (a few attempts in half a second, not the
/// hundreds of thousands a spinning loop would make), and accepts the waiting client as soon
/// as descriptors are free again.
#[test]
fn out_of_descriptors_pauses_accept_and_recovers() {
    let log = Arc::new(Narrator::capture());
    let (addr, stats) = server::spawn(
        Api::Poll,
        server::listen(([127, 0, 0, 1], 0).into()).unwrap(),
        Config::default(),
        Arc::clone(&log),
    )
    .unwrap();
    // Use up every descriptor but one (under a limit of 256), which the client's socket
    // takes: nothing is left for the server's accept.
    let filler = exhaust(256, 1).unwrap();
    let mut client = TcpStream::connect(addr).unwrap(); // Queued by the kernel, not accepted.
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    client.write_all(b"\0\0\0\x02ok").unwrap();

    let failures_in_half_a_second = within(Duration::from_secs(20), "EMFILE", move || {
        wait::until(Duration::from_secs(10), "accept to fail", || {
            stats.accept_errors.load(Ordering::Relaxed) > 0
        })
        .unwrap();
        let first = stats.accept_errors.load(Ordering::Relaxed);
        let window = Instant::now();
        while window.elapsed() < Duration::from_millis(500) {
            std::thread::yield_now(); // Watch the counter for half a second.
        }
        stats.accept_errors.load(Ordering::Relaxed) - first
    });
    assert!(
        failures_in_half_a_second <= 10,
        "{failures_in_half_a_second} accept attempts in 500 ms: spinning"
    );
    assert!(log.said("out of file descriptors"), "{:?}", log.lines());

    drop(filler); // Descriptors free again: the next retry accepts the waiting client.
    let mut reply = [0u8; 6];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"\0\0\0\x02ok");
}
