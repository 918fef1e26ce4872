//! Chapter 1's threaded server out of descriptors (EMFILE): it neither crashes nor spins, and
//! it recovers. In its own test binary, because it lowers the whole process's limit.
#![cfg(unix)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socklab_support::descriptors::exhaust;
use socklab_support::{Narrator, wait, within};
use tcp_demo::{Server, ServerConfig};

/// With every descriptor in use, `accept` fails with EMFILE. The accept loop logs it and
/// backs off 100 ms between attempts (a handful in half a second, not the hundreds of
/// thousands a loop that retried at once would make), and serves the waiting client as soon
/// as descriptors are free again.
#[test]
fn out_of_descriptors_backs_off_and_recovers() {
    let log = Arc::new(Narrator::capture());
    let server = Server::new(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        ServerConfig::default(),
    )
    .with_log(Arc::clone(&log));
    let addr = server.spawn().unwrap();
    // Use up every descriptor but one (under a limit of 256), which the client's socket
    // takes: nothing is left for the server's accept.
    let filler = exhaust(256, 1).unwrap();
    let mut client = TcpStream::connect(addr).unwrap(); // Queued by the kernel, not accepted.
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    client.write_all(b"\0\0\0\x02ok").unwrap();

    let failures = |log: &Narrator| {
        log.lines()
            .iter()
            .filter(|l| l.contains("accept failed"))
            .count()
    };
    let in_half_a_second = within(Duration::from_secs(20), "EMFILE", {
        let log = Arc::clone(&log);
        move || {
            wait::until(Duration::from_secs(10), "accept to fail", || {
                failures(&log) > 0
            })
            .unwrap();
            let first = failures(&log);
            let window = Instant::now();
            while window.elapsed() < Duration::from_millis(500) {
                std::thread::yield_now(); // Watch the log for half a second.
            }
            failures(&log) - first
        }
    });
    assert!(
        in_half_a_second <= 10,
        "{in_half_a_second} accept attempts in 500 ms: spinning"
    );
    assert!(log.said("Too many open files"), "{:?}", log.lines());

    drop(filler); // Descriptors free again: the next attempt accepts the waiting client.
    let mut reply = [0u8; 6];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"\0\0\0\x02ok");
}
