//! Chapter 11: running out of descriptors (EMFILE) ends the multishot accept; the server
//! neither spins nor crashes, and recovers. In its own test binary, because it lowers the
//! whole process's limit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use socklab_support::descriptors::exhaust;
use socklab_support::{Narrator, wait, within};
use uring_demo::probe;
use uring_demo::server::{self, Config};

// ANCHOR: emfile_does_not_spin
/// With every descriptor in use, the kernel's accept for our multishot accept fails with
/// EMFILE, which ends it. The server logs it and submits the accept again 100 ms later (a
/// few attempts in half a second, not the hundreds of thousands a spinning loop would make),
/// and serves the waiting client once descriptors are free again.
#[test]
fn out_of_descriptors_pauses_accept_and_recovers() {
    if !probe::available("out_of_descriptors_pauses_accept_and_recovers") {
        return;
    }
    let log = Arc::new(Narrator::capture());
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    // The limit is lowered *before* the server submits its accept: io_uring reads
    // RLIMIT_NOFILE when an accept is prepared, so an accept submitted earlier would go on
    // using the old limit. A few descriptors are left for the server to start with (its
    // ring), then, once it runs, all but one are taken: the client's socket gets the last,
    // and the accept finds none.
    let mut filler = exhaust(256, 8).unwrap();
    let (addr, stats) = server::spawn(listener, Config::default(), Arc::clone(&log)).unwrap();
    filler.extend(exhaust(256, 1).unwrap());
    let mut client = TcpStream::connect(addr).unwrap(); // Queued by the kernel, not accepted.
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    client.write_all(b"\0\0\0\x02ok").unwrap();

    let log2 = Arc::clone(&log);
    let failures_in_half_a_second = within(Duration::from_secs(20), "EMFILE", move || {
        wait::until(Duration::from_secs(10), "accept to fail", || {
            stats.accept_errors.load(Ordering::Relaxed) > 0
        })
        .unwrap_or_else(|e| panic!("{e}: {stats} {:?}", log2.lines()));
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

    drop(filler); // Descriptors free again: the next accept serves the waiting client.
    let mut reply = [0u8; 6];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"\0\0\0\x02ok");
}
// ANCHOR_END: emfile_does_not_spin
