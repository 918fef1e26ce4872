//! Chapter 11: chapter 7's bounds, kept by the io_uring server: idle and frame deadlines,
//! back-pressure, the connection limit, bad frames, running out of descriptors.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use socklab_support::{Narrator, proc_tcp, wait, within};
use tcp_demo::Client;
use uring_demo::probe;
use uring_demo::server::{self, Config, Stats};

const LIMIT: Duration = Duration::from_secs(30);

fn start(config: Config) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    let log = Arc::new(Narrator::capture());
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) = server::spawn(listener, config, Arc::clone(&log)).unwrap();
    (addr, stats, log)
}

// ANCHOR: idle_connection_closed
/// A client that connects and says nothing is closed at the idle timeout, not before, and the
/// reason is logged; its receive, in flight all along, was cancelled to close it.
#[test]
fn silent_client_is_closed_at_its_deadline() {
    if !probe::available("silent_client_is_closed_at_its_deadline") {
        return;
    }
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
    wait::until(LIMIT, "released", || {
        stats.active.load(Ordering::Relaxed) == 0
    })
    .unwrap();
}
// ANCHOR_END: idle_connection_closed

// ANCHOR: back_pressure_bounds_memory
/// A client that sends 32 MiB of echo requests and never reads: once its unsent echoes reach
/// the cap, no receive is submitted for it, so the server never holds more than the cap plus
/// one maximal frame; the client's own writes block instead. Then the idle timeout closes it
/// (cancelling the send that waits in the kernel for room).
#[test]
fn a_client_that_never_reads_cannot_grow_server_memory() {
    if !probe::available("a_client_that_never_reads_cannot_grow_server_memory") {
        return;
    }
    let cap = 128 * 1024;
    let (addr, stats, log) = start(Config {
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
        peak <= cap + 4 + 16 * 1024 + 4 + 16 * 1024,
        "held {peak} bytes for one connection"
    );
    wait::until(LIMIT, "idle close", || {
        stats.closed_idle.load(Ordering::Relaxed) == 1 && stats.active.load(Ordering::Relaxed) == 0
    })
    .unwrap();
    assert!(log.said("idle for 1s; closed"), "{:?}", log.lines());
}
// ANCHOR_END: back_pressure_bounds_memory

/// A client dripping a frame one byte every 50 ms makes progress at every byte, so the idle
/// deadline (1 s) alone would never fire; the frame deadline (500 ms) closes it, not before.
/// (The idle timeout is longer than the frame timeout so that a dripping thread starved of
/// the CPU for a moment on a loaded machine cannot look idle before its frame's time is up.)
#[test]
fn a_frame_dripped_byte_by_byte_is_cut_off() {
    if !probe::available("a_frame_dripped_byte_by_byte_is_cut_off") {
        return;
    }
    let (addr, stats, log) = start(Config {
        idle_timeout: Duration::from_secs(1),
        frame_timeout: Duration::from_millis(500),
        ..Config::default()
    });
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

// ANCHOR: connection_limit
/// With `max_connections = 2` the third client is not served until one of the first two
/// leaves; then it is. Meanwhile it waits in the kernel's accept queue, not in ours: the
/// multishot accept was cancelled at the limit, and the listener's queue in `/proc/net/tcp`
/// holds one connection.
#[test]
fn connection_limit_makes_clients_wait() {
    if !probe::available("connection_limit_makes_clients_wait") {
        return;
    }
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
        let listener = proc_tcp::lookup(addr, ([0, 0, 0, 0], 0).into()).unwrap();
        assert_eq!(
            listener.map(|l| l.rx_queue),
            Some(1),
            "in the kernel's accept queue"
        );
        drop(a);
        c.stream()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(c.recv().unwrap().unwrap(), b"c");
    });
}
// ANCHOR_END: connection_limit

/// An oversize frame closes that connection only; the others carry on.
#[test]
fn bad_frame_closes_only_that_connection() {
    if !probe::available("bad_frame_closes_only_that_connection") {
        return;
    }
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
