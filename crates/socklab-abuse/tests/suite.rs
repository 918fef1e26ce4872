//! The robustness suite: every server of the course against every attack, while well-behaved
//! clients keep echoing checksummed data. For each server and attack it prints one line:
//! what the attack did, what the server answered, and what the well-behaved clients saw.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use socklab_abuse::attacks::{self, Report};
use socklab_abuse::suite::{self, Target, well_behaved};
use socklab_support::{Narrator, within};
use tcp_demo::Client;

type Attack = fn(SocketAddr) -> std::io::Result<Report>;

/// Every TCP attack, bounded, with the log reason the server must give for it (if any).
fn attacks() -> Vec<(Attack, Option<&'static str>)> {
    vec![
        (
            |a| attacks::slowloris(a, 20, Duration::from_millis(100), Duration::from_secs(5)),
            Some("frame not complete"),
        ),
        (
            |a| attacks::silent(a, 20, Duration::from_secs(3)),
            Some("idle for"),
        ),
        (
            |a| attacks::no_read(a, 64 << 20, Duration::from_secs(5)),
            Some("idle for"),
        ),
        (|a| attacks::reset_storm(a, 50), None),
        (|a| attacks::garbage(a, 7), Some("exceeds the limit")),
        (|a| attacks::flood(a, 300, Duration::from_secs(1)), None),
    ]
}

// ANCHOR: survive
/// Runs every attack against `target` while four well-behaved clients echo random frames;
/// each client must get every byte back, in order, with no round trip slower than 10 s.
/// After each attack the server must drop back to zero connections (nothing leaked), have held
/// no more than its bound for any one connection, and serve a new client; its log must name
/// the reason for each kind of rejected peer.
fn survive(target: Target) {
    let server = suite::start(target).unwrap();
    let addr = server.addr;
    for (attack, reason) in attacks() {
        let (report, good) = within(Duration::from_secs(60), "attack", move || {
            let good = thread::spawn(move || {
                well_behaved(
                    addr,
                    4,
                    Duration::from_millis(1500),
                    Duration::from_secs(10),
                )
            });
            let report = attack(addr).unwrap();
            (report, good.join().unwrap().unwrap())
        });
        eprintln!(
            "{:<28} {report}; well-behaved: {} round trips, intact: {}, slowest {:.1?}",
            target.name(),
            good.round_trips,
            good.intact,
            good.slowest
        );
        assert!(
            good.intact && good.round_trips > 0,
            "{}: well-behaved clients hurt by {}",
            target.name(),
            report.attack
        );
        assert!(
            server.drains(Duration::from_secs(10)),
            "{}: connections left after {}",
            target.name(),
            report.attack
        );
        let mut fresh = Client::connect(addr, Duration::from_secs(10)).unwrap();
        assert_eq!(
            fresh.echo(b"still serving").unwrap(),
            b"still serving",
            "{} after {}",
            target.name(),
            report.attack
        );
        if let Some(peak) = server.peak_held() {
            assert!(
                peak <= suite::HELD_BOUND,
                "{}: held {peak} bytes for one connection during {}",
                target.name(),
                report.attack
            );
        }
        if let Some(reason) = reason {
            assert!(
                server.log.said(reason),
                "{}: no `{reason}` in the log after {}:\n{:#?}",
                target.name(),
                report.attack,
                server.log.lines()
            );
        }
    }
}
// ANCHOR_END: survive

/// Chapter 1's thread-per-connection server survives every attack.
#[test]
fn threaded_server_survives() {
    survive(Target::Threaded);
}

/// Chapter 7's select loop survives every attack.
#[test]
fn select_server_survives() {
    survive(Target::Event(multiplex_demo::Api::Select));
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
