//! Chapter 7: the event loop's bounds: write interest, idle deadlines, back-pressure, the
//! connection limit, and bad frames.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use multiplex_demo::Api;
use multiplex_demo::server::{self, Config, Stats};
use socklab_support::{Narrator, wait, within};
use tcp_demo::Client;

const LIMIT: Duration = Duration::from_secs(30);

/// The best API here: epoll on Linux, poll elsewhere.
fn api() -> Api {
    if cfg!(target_os = "linux") {
        Api::Epoll
    } else {
        Api::Poll
    }
}

fn start(config: Config) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    let log = Arc::new(Narrator::capture());
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) = server::spawn(api(), listener, config, Arc::clone(&log)).unwrap();
    (addr, stats, log)
}

/// Counts the loop's wakeups while 20 idle connections sit for 200 ms. The window is a read
/// timeout on an idle socket: waiting, not sleeping to synchronise.
fn wakeups_while_idle(always_write_interest: bool) -> u64 {
    let (addr, stats, _) = start(Config {
        always_write_interest,
        ..Config::default()
    });
    let idle: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(addr).unwrap()).collect();
    wait::until(LIMIT, "20 accepted", || {
        stats.active.load(Ordering::Relaxed) == 20
    })
    .unwrap();
    let before = stats.wakeups.load(Ordering::Relaxed);
    idle[0]
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let _ = (&idle[0]).read(&mut [0u8; 1]); // Nothing comes: a 200 ms window.
    stats.wakeups.load(Ordering::Relaxed) - before
}

/// Watching idle connections for writability wakes the loop constantly (they are always
/// writable); watching only while there is an unsent tail leaves it asleep.
#[test]
fn write_interest_only_with_a_tail() {
    let proper = within(LIMIT, "proper", || wakeups_while_idle(false));
    let busy = within(LIMIT, "always", || wakeups_while_idle(true));
    assert!(proper <= 5, "an idle loop should sleep: {proper} wakeups");
    assert!(
        busy >= 100 * proper.max(1),
        "always-writable interest spins: {busy} vs {proper}"
    );
}

/// A client that connects and says nothing is closed at the idle timeout, not before, and the
/// reason is logged.
#[test]
fn silent_client_is_closed_at_its_deadline() {
    let idle = Duration::from_millis(300);
    let (addr, stats, log) = start(Config {
        idle_timeout: idle,
        ..Config::default()
    });
    within(LIMIT, "idle", move || {
        let started = Instant::now();
        let mut silent = TcpStream::connect(addr).unwrap();
        silent
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(
            silent.read(&mut [0u8; 8]).unwrap(),
            0,
            "closed by the server"
        );
        assert!(
            started.elapsed() >= idle,
            "closed early: {:?}",
            started.elapsed()
        );
    });
    assert_eq!(stats.closed_idle.load(Ordering::Relaxed), 1);
    assert!(log.said("idle for 300ms; closed"), "{:?}", log.lines());
}

/// A client that sends 32 MiB of echo requests and never reads: the server stops reading
/// from it once its outbox is full, so it never holds more than the cap plus one read's worth
/// and one frame; the client's own writes block instead. Then the idle timeout closes it.
#[test]
fn a_client_that_never_reads_cannot_grow_server_memory() {
    let cap = 128 * 1024;
    // The hog notices its blocked writes (200 ms) well before the server's idle timeout (1 s).
    let (addr, stats, _) = start(Config {
        outbox_cap: cap,
        idle_timeout: Duration::from_secs(1),
        ..Config::default()
    });
    let (sent, _hog) = within(LIMIT, "hog", move || {
        let mut hog = TcpStream::connect(addr).unwrap();
        hog.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let frame = [&(16u32 * 1024).to_be_bytes()[..], &[7u8; 16 * 1024]].concat();
        let mut sent = 0usize;
        while sent < 32 << 20 {
            match hog.write_all(&frame) {
                Ok(()) => sent += frame.len(),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(e) => panic!("{e}"),
            }
        }
        (sent, hog) // Kept open: the hog is stuck, not gone.
    });
    let peak = stats.peak_buffered.load(Ordering::Relaxed);
    assert!(
        stats.pauses.load(Ordering::Relaxed) >= 1,
        "back-pressure engaged"
    );
    assert!(
        sent < 32 << 20,
        "the hog was stopped by its own blocked writes after {sent} bytes"
    );
    assert!(
        peak <= cap + 64 * 1024 + 4 + 16 * 1024,
        "held {peak} bytes for one connection"
    );
    wait::until(LIMIT, "idle close", || {
        stats.closed_idle.load(Ordering::Relaxed) == 1
    })
    .unwrap();
}

/// A client dripping a frame one byte every 50 ms makes progress at every byte, so the idle
/// deadline (1 s) alone would never fire; the frame deadline (500 ms) closes it, not before.
/// (The idle timeout is longer than the frame timeout so that a dripping thread starved of
/// the CPU for a moment on a loaded machine cannot look idle before its frame's time is up.)
#[test]
fn a_frame_dripped_byte_by_byte_is_cut_off() {
    let config = Config {
        idle_timeout: Duration::from_secs(1),
        frame_timeout: Duration::from_millis(500),
        ..Config::default()
    };
    let (addr, stats, log) = start(config);
    let (took, sent) = within(LIMIT, "slowloris", move || {
        let mut drip = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        let mut sent = 0;
        for byte in [&100u32.to_be_bytes()[..], &[0u8; 100]].concat() {
            if drip.write_all(&[byte]).is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(50)); // The attack: slow on purpose.
            if started.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        (started.elapsed(), sent)
    });
    assert!(sent < 104, "the server waited for the whole slow frame");
    assert!(
        took >= Duration::from_millis(500),
        "cut off early: {took:?}"
    );
    assert_eq!(stats.closed_idle.load(Ordering::Relaxed), 1);
    assert!(
        log.said("frame not complete within 500ms"),
        "{:?}",
        log.lines()
    );
}

/// With `max_connections = 2` the third client waits in the accept queue and is served once
/// one of the first two leaves.
#[test]
fn connection_limit_makes_clients_wait() {
    let (addr, stats, _) = start(Config {
        max_connections: 2,
        ..Config::default()
    });
    within(LIMIT, "limit", move || {
        let mut a = Client::connect(addr, Duration::from_secs(10)).unwrap();
        let mut b = Client::connect(addr, Duration::from_secs(10)).unwrap();
        assert_eq!(a.echo(b"a").unwrap(), b"a");
        assert_eq!(b.echo(b"b").unwrap(), b"b");
        let mut c = Client::connect(addr, Duration::from_secs(10)).unwrap();
        c.send(b"c").unwrap();
        c.stream()
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        assert!(c.recv().is_err(), "not served while the server is full");
        assert_eq!(stats.accepted.load(Ordering::Relaxed), 2);
        drop(a);
        c.stream()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(c.recv().unwrap().unwrap(), b"c");
    });
}

/// An oversize frame closes that connection only; the others carry on.
#[test]
fn bad_frame_closes_only_that_connection() {
    let (addr, stats, log) = start(Config::default());
    within(LIMIT, "bad frame", move || {
        let mut good = Client::connect(addr, Duration::from_secs(10)).unwrap();
        assert_eq!(good.echo(b"before").unwrap(), b"before");
        let mut bad = TcpStream::connect(addr).unwrap();
        bad.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        bad.write_all(&u32::MAX.to_be_bytes()).unwrap();
        assert_eq!(bad.read(&mut [0u8; 8]).unwrap(), 0);
        assert_eq!(good.echo(b"after").unwrap(), b"after");
    });
    assert_eq!(stats.closed_bad.load(Ordering::Relaxed), 1);
    assert!(log.said("exceeds the limit"), "{:?}", log.lines());
}
