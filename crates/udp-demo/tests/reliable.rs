//! Chapter 2's reliable client (`reliable.rs`): what its counters and its per-try deadline
//! mean, beyond what `loss_and_connect.rs` checks. (Found by `cargo mutants`: counting a
//! retry on the first send, retrying a refused request, and restarting the full per-try wait
//! after a stale reply all passed the existing tests.)

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socklab_support::{Narrator, within};
use udp_demo::echo::{self, Faults};
use udp_demo::reliable::Client;

const LIMIT: Duration = Duration::from_secs(30);

/// `retries` counts sends *beyond the first*: against a faultless echo server every request
/// is answered at its first try, so 5 requests make 5 completions and no retry.
#[test]
fn a_request_answered_at_once_is_not_a_retry() {
    let (addr, _) = echo::spawn(
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        Faults::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    let stats = within(LIMIT, "5 requests", move || {
        let mut client = Client::new(addr, Duration::from_secs(5), 3).unwrap();
        for i in 0..5u8 {
            assert_eq!(client.request(&[i]).unwrap(), [i]);
        }
        client.stats
    });
    assert_eq!(
        (stats.completed, stats.retries, stats.stale_replies),
        (5, 0, 0)
    );
}

/// A request to a port where nothing listens fails at its first try with `ConnectionRefused`
/// (the connected socket hears the ICMP port-unreachable): an answer, not a loss, so it is
/// not retried. Three tries of 5 s each would take 10 s more if it were.
#[test]
fn a_refused_request_is_not_retried() {
    let dead = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (err, stats) = within(LIMIT, "a refused request", move || {
        let mut client = Client::new(dead, Duration::from_secs(5), 3).unwrap();
        (client.request(b"anyone?").unwrap_err(), client.stats)
    });
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(stats.retries, 0, "{stats:?}");
}

/// The per-try deadline is fixed when the request is sent, and each wait after a stale reply
/// gets only the time left of it. A fake server answers the request with stale replies only,
/// `1.3 s` and `2.7 s` after it: a client with a `2 s` try reads the first, waits the `700 ms`
/// left and gives up, having seen one. A client that waited a full try again after the stale
/// reply (or restarted its deadline) would wait until `3.3 s` and read the second too.
/// Counted, not timed, with `700 ms` of scheduling delay allowed each way: the first stray
/// may leave up to `700 ms` late and still come within the try, and the client may give up
/// up to `700 ms` late and still before the second; a client that restarts its wait misses
/// the second only if that leaves more than `600 ms` late.
#[test]
fn a_stale_reply_does_not_restart_the_wait() {
    let fake = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = fake.local_addr().unwrap();
    let per_try = Duration::from_secs(2);
    let faker = std::thread::spawn(move || {
        fake.set_read_timeout(Some(LIMIT)).unwrap();
        let mut buf = [0u8; 64];
        let (_, client) = fake.recv_from(&mut buf).unwrap();
        let asked = Instant::now();
        for at in [1300, 2700] {
            // The fake's behaviour: strays at fixed times after the request.
            let at = asked + Duration::from_millis(at);
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            // Once the client has given up, its port may answer with ICMP: not our concern.
            let _ = fake.send_to(&u64::MAX.to_be_bytes(), client);
        }
    });
    let (err, stats, took) = within(LIMIT, "a request with stale replies", move || {
        let mut client = Client::new(addr, per_try, 1).unwrap();
        let started = Instant::now();
        let err = client.request(b"hello?").unwrap_err();
        (err, client.stats, started.elapsed())
    });
    faker.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(took >= per_try, "gave up early: {took:?}");
    assert_eq!(
        stats.stale_replies, 1,
        "a stale reply bought the try more time: {stats:?}"
    );
}
