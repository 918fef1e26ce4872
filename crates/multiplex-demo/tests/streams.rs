//! Chapter 7: the event loops under streams that keep both directions busy: a client writing
//! and reading at once (full duplex), thousands of frames pipelined without waiting for their
//! echoes, a pipelined stream lasting longer than the frame timeout, and a flood of empty
//! frames. Every readiness API must echo every byte, in order.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use multiplex_demo::Api;
use multiplex_demo::server::{self, Config, Stats};
use socklab_support::data::{Checksum, Generator};
use socklab_support::{Narrator, within};

const LIMIT: Duration = Duration::from_secs(90);

fn start(api: Api, config: Config) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    let log = Arc::new(Narrator::capture());
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) = server::spawn(api, listener, config, Arc::clone(&log)).unwrap();
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

/// Writes `wire` from one thread while this thread reads the same number of bytes back;
/// returns what came back.
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

/// One client writes 16 MiB as 64 KiB frames from one thread while another thread of the same
/// client reads the echoes: every API echoes all 16 MiB, intact. (The loop used to end a visit
/// paused with an empty outbox and then watch the socket for nothing, stalling after a few
/// MiB.)
#[test]
fn full_duplex_16_mib_on_every_api() {
    for api in Api::available() {
        let (addr, _, log) = start(api, Config::default());
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
        let back = within(LIMIT, api.name(), move || {
            duplex(connect(addr), wire, 64 * 1024)
        });
        let mut got = Checksum::new();
        got.update(&back);
        assert_eq!(
            sent.digest(),
            got.digest(),
            "{}: echo differs; server log: {:?}",
            api.name(),
            log.lines()
        );
    }
}

/// 10,000 small frames written back to back without reading a single echo, then every echo
/// read: all come back, in order, on every API.
#[test]
fn ten_thousand_pipelined_frames_on_every_api() {
    for api in Api::available() {
        let (addr, stats, _) = start(api, Config::default());
        let wire = framed((0..10_000u32).map(|i| i.to_be_bytes().repeat(4)));
        let expect = wire.clone();
        let back = within(LIMIT, api.name(), move || {
            duplex(connect(addr), wire, 1 << 20)
        });
        assert!(back == expect, "{}: pipelined echoes differ", api.name());
        assert_eq!(
            stats.frames.load(std::sync::atomic::Ordering::Relaxed),
            10_000,
            "{}",
            api.name()
        );
    }
}

/// A client that keeps a pipelined stream going for longer than the frame timeout, always in
/// the middle of some frame (it writes a frame and a half at a time), is serving frames, not
/// dripping one: each frame completes quickly, so none of them is cut as a slow sender.
#[test]
fn a_pipelined_stream_longer_than_the_frame_timeout_is_not_cut() {
    // Long enough that a thread starved of the CPU for a moment on a loaded 2-core machine does
    // not look like a slow sender; the stream still lasts longer than it.
    let frame_timeout = Duration::from_secs(1);
    for api in Api::available() {
        let (addr, _, log) = start(
            api,
            Config {
                frame_timeout,
                ..Config::default()
            },
        );
        let stream = connect(addr);
        let mut writer = stream.try_clone().unwrap();
        let run_for = frame_timeout + Duration::from_millis(500);
        let sender = thread::spawn(move || {
            let started = Instant::now();
            let frame = framed([vec![5u8; 1000]]);
            // A frame and a half per write: the server's decoder is never empty between reads.
            let per_write = frame.len() + frame.len() / 2;
            let mut stream = frame.iter().cycle().copied();
            let mut sent = 0usize;
            while started.elapsed() < run_for {
                let piece: Vec<u8> = stream.by_ref().take(per_write).collect();
                writer.write_all(&piece)?;
                sent += piece.len();
            }
            // Finish the frame in progress, so the stream ends between frames.
            let tail: Vec<u8> = stream
                .take((frame.len() - sent % frame.len()) % frame.len())
                .collect();
            writer.write_all(&tail)?;
            sent += tail.len();
            writer.shutdown(std::net::Shutdown::Write)?;
            std::io::Result::Ok(sent)
        });
        let mut back = Vec::new();
        let got = within(LIMIT, api.name(), move || {
            (&stream).read_to_end(&mut back).map(|_| back.len())
        });
        let sent = sender.join().unwrap().unwrap();
        assert_eq!(
            got.unwrap(),
            sent,
            "{}: cut short; server log: {:?}",
            api.name(),
            log.lines()
        );
        assert!(
            !log.said("slow sender"),
            "{}: {:?}",
            api.name(),
            log.lines()
        );
    }
}

/// 100,000 empty frames (400,000 bytes of headers) are all echoed, on every API.
#[test]
fn a_flood_of_empty_frames_is_echoed() {
    for api in Api::available() {
        let (addr, stats, _) = start(api, Config::default());
        let wire = vec![0u8; 4 * 100_000];
        let back = within(LIMIT, api.name(), move || {
            duplex(connect(addr), wire, 64 * 1024)
        });
        assert!(back.iter().all(|b| *b == 0) && back.len() == 400_000);
        assert_eq!(
            stats.frames.load(std::sync::atomic::Ordering::Relaxed),
            100_000
        );
    }
}

/// Timeouts of any size, even `Duration::MAX`, are deadlines that never come, not a panic:
/// every API still echoes. (select used to panic with "TimeVal out of bounds" on its first
/// client, and adding such a timeout to `Instant::now()` overflowed.)
#[test]
fn absurd_timeouts_do_not_panic() {
    for api in Api::available() {
        let (addr, _, _) = start(
            api,
            Config {
                idle_timeout: Duration::MAX,
                frame_timeout: Duration::MAX,
                ..Config::default()
            },
        );
        let wire = framed([b"still here".to_vec()]);
        let expect = wire.clone();
        let back = within(LIMIT, api.name(), move || duplex(connect(addr), wire, 64));
        assert_eq!(back, expect, "{}", api.name());
    }
}
