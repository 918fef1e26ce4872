//! The robustness suite's shared part: every attack, and [`survive`], which runs them all
//! against one server while well-behaved clients keep echoing checksummed data. For each
//! attack it prints one line: what the attack did, what the server answered, and what the
//! well-behaved clients saw.

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use socklab_abuse::attacks::{self, Report};
use socklab_abuse::suite::{self, Target, connect_clients, well_behaved};
use socklab_support::within;
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
pub fn survive(target: Target) {
    let server = suite::start(target).unwrap();
    let addr = server.addr;
    for (attack, reason) in attacks() {
        let (report, good) = within(Duration::from_secs(60), "attack", move || {
            // Connected first, so the attack meets clients the server is already serving.
            let clients = connect_clients(addr, 4, Duration::from_secs(10))?;
            let good = thread::spawn(move || well_behaved(clients, Duration::from_millis(1500)));
            let report = attack(addr)?;
            let good = good
                .join()
                .expect("the well-behaved clients' thread panicked")?;
            std::io::Result::Ok((report, good))
        })
        .unwrap_or_else(|e| {
            panic!(
                "{}: a well-behaved client failed ({e}); the server said:\n{:#?}",
                target.name(),
                server.log.lines()
            )
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
