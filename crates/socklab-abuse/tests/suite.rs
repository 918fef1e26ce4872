//! The robustness suite: every server of the course against every attack that makes sense for
//! its protocol, while well-behaved clients keep sending checksummed data. For each server and
//! attack it prints one line: what the attack did, what the server answered, and what the
//! well-behaved clients saw (`cargo test -p socklab-abuse --test suite -- --nocapture`).
//!
//! Each server runs in a process of its own (see `survive::in_own_process`); the test
//! functions run in parallel, one child process each. The select loop has its own test binary,
//! `select_suite.rs`: see why there.

use std::net::UdpSocket;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use socklab_abuse::attacks;
use socklab_support::{Narrator, within};

mod survive;

use survive::servers::Target;
use survive::{in_own_process, survive};

/// Chapter 1's thread-per-connection server survives every attack.
#[test]
fn threaded_server_survives() {
    in_own_process("threaded_server_survives", || survive(Target::Threaded));
}

/// Chapter 7's poll loop survives every attack.
#[test]
fn poll_server_survives() {
    in_own_process("poll_server_survives", || {
        survive(Target::Event(multiplex_demo::Api::Poll))
    });
}

/// Chapter 7's level-triggered epoll loop survives every attack.
#[test]
#[cfg(target_os = "linux")]
fn epoll_server_survives() {
    in_own_process("epoll_server_survives", || {
        survive(Target::Event(multiplex_demo::Api::Epoll))
    });
}

/// Chapter 7's edge-triggered epoll loop survives every attack.
#[test]
#[cfg(target_os = "linux")]
fn epoll_edge_server_survives() {
    in_own_process("epoll_edge_server_survives", || {
        survive(Target::Event(multiplex_demo::Api::EpollEdge))
    });
}

/// Chapter 5's half-close server survives the attacks that make sense for its protocol (a
/// request ends at the client's FIN): held connections, a slow request, a huge one, a slow
/// reader of the reply, resets, a flood.
#[test]
fn half_close_server_survives() {
    in_own_process("half_close_server_survives", || survive(Target::HalfClose));
}

/// Chapter 3's bulk sink survives the attacks that make sense for it (no frames, nothing
/// echoed): held connections, resets, a flood.
#[test]
fn sink_survives() {
    in_own_process("sink_survives", || survive(Target::Sink));
}

/// Chapter 2's UDP server answers empty, maximal and random datagrams, and a retrying client
/// completes all of its requests meanwhile. The attack waits up to `2 s` for each reply, not
/// the command line's `200 ms`: the heavy suites beside this test can keep the server's thread
/// off both cores longer than that, and a reply so late is slow, not missing.
#[test]
fn udp_server_survives() {
    let (addr, _) = udp_demo::echo::spawn(
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        Default::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    let (report, completed) = within(Duration::from_secs(60), "udp", move || {
        let good = thread::spawn(move || {
            let mut client =
                udp_demo::reliable::Client::new(addr, Duration::from_millis(100), 10).unwrap();
            for i in 0..200u32 {
                assert_eq!(client.request(&i.to_be_bytes()).unwrap(), i.to_be_bytes());
            }
            client.stats.completed
        });
        let report =
            attacks::udp_garbage(addr, 20, 3, Duration::from_secs(2), Duration::from_secs(30))
                .unwrap();
        (report, good.join().unwrap())
    });
    eprintln!(
        "{:<28} {report}; well-behaved: {completed} requests answered",
        "udp-demo"
    );
    assert_eq!(completed, 200);
    assert!(
        report.answered.starts_with("60 replies"),
        "every datagram was echoed: {report}"
    );
}
