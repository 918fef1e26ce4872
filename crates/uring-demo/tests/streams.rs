//! Chapter 11: the io_uring server under streams that keep both directions busy: a client
//! writing and reading at once (full duplex), thousands of frames pipelined without waiting
//! for their echoes, a pipelined stream longer than the frame timeout, a flood of empty
//! frames, and absurd timeouts. Every byte must come back, in order.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::data::{Checksum, Generator};
use socklab_support::{Narrator, wait, within};
use uring_demo::probe;
use uring_demo::server::{self, Config, Stats};

const LIMIT: Duration = Duration::from_secs(60);

fn start(config: Config) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    let log = Arc::new(Narrator::capture());
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) = server::spawn(listener, config, Arc::clone(&log)).unwrap();
    (addr, stats, log)
}

/// Connects with every blocking call bounded.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Writes `wire` from one thread while this thread reads the same number of bytes back.
fn duplex(stream: TcpStream, wire: Vec<u8>, write_piece: usize) -> Vec<u8> {
    let mut writer = stream.try_clone().unwrap();
    let len = wire.len();
    let sender = thread::spawn(move || {
        for piece in wire.chunks(write_piece) {
            writer.write_all(piece)?;
        }
        std::io::Result::Ok(())
    });
    let mut back = vec![0u8; len];
    (&stream).read_exact(&mut back).unwrap();
    sender.join().unwrap().unwrap();
    back
}

fn framed(payloads: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut wire = Vec::new();
    for p in payloads {
        tcp_demo::frame::write_frame(&mut wire, &p).unwrap();
    }
    wire
}

// ANCHOR: full_duplex
/// One client writes 16 MiB as 64 KiB frames from one thread while another thread reads the
/// echoes, against an outbox cap of 64 KiB: back-pressure holds the receive back again and
/// again, and each time a send completion lets it go, so all 16 MiB come back intact.
#[test]
fn full_duplex_16_mib() {
    if !probe::available("full_duplex_16_mib") {
        return;
    }
    let (addr, stats, log) = start(Config {
        outbox_cap: 64 * 1024,
        ..Config::default()
    });
    let mut rng = Generator::new(16);
    let payloads: Vec<Vec<u8>> = (0..256)
        .map(|_| {
            let mut p = vec![0u8; 64 * 1024];
            rng.fill(&mut p);
            p
        })
        .collect();
    let wire = framed(payloads);
    let mut sent = Checksum::new();
    sent.update(&wire);
    let back = within(LIMIT, "duplex", move || {
        duplex(connect(addr), wire, 64 * 1024)
    });
    let mut got = Checksum::new();
    got.update(&back);
    assert_eq!(
        sent.digest(),
        got.digest(),
        "echo differs; log: {:?}",
        log.lines()
    );
    assert!(
        stats.pauses.load(Ordering::Relaxed) > 0,
        "back-pressure never engaged"
    );
}
// ANCHOR_END: full_duplex

// ANCHOR: partial_sends
/// A client writes one frame larger than the two socket buffers together can ever hold (the
/// maxima of `tcp_rmem` and `tcp_wmem`, read from the machine) and reads nothing until the
/// server reports a partial send: the echo cannot fit, so the kernel completes the send with
/// part of it sent; the rest is submitted again, and every byte comes back in order. (A fixed
/// `4 MiB` frame fitted into autotuned buffers on a CI run, and no send was partial; and a
/// client that started reading as soon as its `write_all` returned could drain the echo as
/// fast as it went, so that the one send was never short.)
#[test]
fn a_partial_send_is_finished() {
    if !probe::available("a_partial_send_is_finished") {
        return;
    }
    let size = beyond_both_buffers();
    let (addr, stats, _) = start(Config {
        max_frame: size,
        ..Config::default()
    });
    let mut payload = vec![0u8; size];
    Generator::new(7).fill(&mut payload);
    let wire = framed([payload]);
    let expect = wire.clone();
    let server = Arc::clone(&stats);
    let back = within(LIMIT, "partial", move || {
        let stream = connect(addr);
        (&stream).write_all(&wire).unwrap();
        // Read nothing until the send has come back short: the echo piles up meanwhile, and
        // with nobody reading it cannot all go at once. (If sends were never partial, this
        // wait fails, naming it.)
        wait::until(Duration::from_secs(20), "a partial send", || {
            server.partial_sends.load(Ordering::Relaxed) >= 1
        })
        .unwrap();
        let mut back = vec![0u8; wire.len()];
        (&stream).read_exact(&mut back).unwrap();
        back
    });
    assert!(back == expect, "the echo differs");
    assert!(
        stats.partial_sends.load(Ordering::Relaxed) >= 1,
        "no partial send happened"
    );
}
// ANCHOR_END: partial_sends

/// More bytes than a TCP receive buffer and a send buffer can hold together at their largest
/// (`tcp_rmem` and `tcp_wmem`'s third fields), plus `1 MiB`.
fn beyond_both_buffers() -> usize {
    let max = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.split_whitespace().nth(2)?.parse::<usize>().ok())
            .unwrap_or(8 << 20)
    };
    max("/proc/sys/net/ipv4/tcp_rmem") + max("/proc/sys/net/ipv4/tcp_wmem") + (1 << 20)
}

// ANCHOR: pipelined
/// 10,000 small frames written back to back without reading a single echo, then every echo
/// read: all come back, in order.
#[test]
fn ten_thousand_pipelined_frames() {
    if !probe::available("ten_thousand_pipelined_frames") {
        return;
    }
    let (addr, stats, _) = start(Config::default());
    let wire = framed((0..10_000u32).map(|i| i.to_be_bytes().repeat(4)));
    let expect = wire.clone();
    let back = within(LIMIT, "pipelined", move || {
        duplex(connect(addr), wire, 1 << 20)
    });
    assert!(back == expect, "pipelined echoes differ");
    assert_eq!(stats.frames.load(Ordering::Relaxed), 10_000);
}
// ANCHOR_END: pipelined

/// A pipelined stream kept going for three frame timeouts, always in the middle of some
/// frame, then half-closed: every byte is echoed, the queued echoes go out after the FIN, and
/// no frame is cut as a slow sender.
#[test]
fn a_pipelined_stream_longer_than_the_frame_timeout_is_not_cut() {
    if !probe::available("a_pipelined_stream_longer_than_the_frame_timeout_is_not_cut") {
        return;
    }
    // Long enough that a thread starved of the CPU for a moment on a loaded 2-core machine does
    // not look like a slow sender; the stream still lasts longer than it.
    let frame_timeout = Duration::from_secs(1);
    let (addr, _, log) = start(Config {
        frame_timeout,
        ..Config::default()
    });
    let stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let run_for = frame_timeout + Duration::from_millis(500);
    let sender = thread::spawn(move || {
        let started = Instant::now();
        let frame = framed([vec![5u8; 1000]]);
        let per_write = frame.len() + frame.len() / 2;
        let mut stream = frame.iter().cycle().copied();
        let mut sent = 0usize;
        while started.elapsed() < run_for {
            let piece: Vec<u8> = stream.by_ref().take(per_write).collect();
            writer.write_all(&piece)?;
            sent += piece.len();
        }
        let tail: Vec<u8> = stream
            .take((frame.len() - sent % frame.len()) % frame.len())
            .collect();
        writer.write_all(&tail)?;
        sent += tail.len();
        writer.shutdown(std::net::Shutdown::Write)?;
        std::io::Result::Ok(sent)
    });
    let mut back = Vec::new();
    let got = within(LIMIT, "steady", move || {
        (&stream).read_to_end(&mut back).map(|_| back.len())
    });
    let sent = sender.join().unwrap().unwrap();
    assert_eq!(got.unwrap(), sent, "cut short; log: {:?}", log.lines());
    assert!(!log.said("slow sender"), "{:?}", log.lines());
}

/// 100,000 empty frames (400,000 bytes of headers) are all echoed.
#[test]
fn a_flood_of_empty_frames_is_echoed() {
    if !probe::available("a_flood_of_empty_frames_is_echoed") {
        return;
    }
    let (addr, stats, _) = start(Config::default());
    let wire = vec![0u8; 4 * 100_000];
    let back = within(LIMIT, "empty", move || {
        duplex(connect(addr), wire, 64 * 1024)
    });
    assert!(back.iter().all(|b| *b == 0) && back.len() == 400_000);
    assert_eq!(stats.frames.load(Ordering::Relaxed), 100_000);
}

/// Timeouts of any size, even `Duration::MAX`, are deadlines that never come (the wait's
/// timeout is capped), not a panic: the server still echoes.
#[test]
fn absurd_timeouts_do_not_panic() {
    if !probe::available("absurd_timeouts_do_not_panic") {
        return;
    }
    let (addr, _, _) = start(Config {
        idle_timeout: Duration::MAX,
        frame_timeout: Duration::MAX,
        ..Config::default()
    });
    let wire = framed([b"still here".to_vec()]);
    let expect = wire.clone();
    let back = within(LIMIT, "absurd", move || duplex(connect(addr), wire, 64));
    assert_eq!(back, expect);
}
