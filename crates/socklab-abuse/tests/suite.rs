//! The robustness suite: every server of the course against every attack, while well-behaved
//! clients keep echoing checksummed data. For each server and attack it prints one line:
//! what the attack did, what the server answered, and what the well-behaved clients saw.

//!
//! The select loop has its own test binary, `select_suite.rs`: see why there.

use std::net::UdpSocket;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use socklab_abuse::attacks;
use socklab_abuse::suite::Target;
use socklab_support::{Narrator, within};

mod survive;

use survive::survive;

/// Chapter 1's thread-per-connection server survives every attack.
#[test]
fn threaded_server_survives() {
    survive(Target::Threaded);
}

/// Chapter 7's poll loop survives every attack.
#[test]
fn poll_server_survives() {
    survive(Target::Event(multiplex_demo::Api::Poll));
}

/// Chapter 7's epoll loop (level- and edge-triggered) survives every attack.
#[test]
#[cfg(target_os = "linux")]
fn epoll_servers_survive() {
    survive(Target::Event(multiplex_demo::Api::Epoll));
    survive(Target::Event(multiplex_demo::Api::EpollEdge));
}

// ANCHOR: udp_survives
/// Chapter 2's UDP server answers empty, maximal and random datagrams, and a retrying client
/// completes all of its requests meanwhile.
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
        let report = attacks::udp_garbage(addr, 20, 3).unwrap();
        (report, good.join().unwrap())
    });
    eprintln!(
        "{:<28} {report}; well-behaved: {completed} requests answered",
        "udp-demo"
    );
    assert_eq!(completed, 200);
    assert!(
        report.answered.starts_with("60 replies"),
        "every odd datagram was echoed: {report}"
    );
}
// ANCHOR_END: udp_survives
