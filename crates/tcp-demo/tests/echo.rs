//! Chapter 1's echo server: integrity under load, and one bad client never hurts the others.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use socklab_support::data::{Checksum, Generator};
use socklab_support::{Narrator, within};
use tcp_demo::frame::{self, MAX_FRAME};
use tcp_demo::server::Stats;
use tcp_demo::{Client, Server, ServerConfig};

const LIMIT: Duration = Duration::from_secs(60);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts a server on `127.0.0.1:0` whose log the test can read.
fn start(config: ServerConfig) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    start_on("127.0.0.1:0", config)
}

fn start_on(addr: &str, config: ServerConfig) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    let log = Arc::new(Narrator::capture());
    let server = Server::new(TcpListener::bind(addr).unwrap(), config).with_log(Arc::clone(&log));
    let stats = server.stats();
    (server.spawn().unwrap(), stats, log)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Streams `total` random bytes as frames of `frame_len` on one connection, with a writer
/// thread and a reading main thread (full duplex, so neither side's buffers can deadlock the
/// other), and returns the checksums of what was sent and what came back.
fn stream_through(addr: SocketAddr, seed: u64, total: usize, frame_len: usize) -> [(u64, u32); 2] {
    let stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let mut sent = Checksum::new();
        let mut rng = Generator::new(seed);
        let mut buf = vec![0u8; frame_len];
        let mut left = total;
        while left > 0 {
            let n = left.min(frame_len);
            rng.fill(&mut buf[..n]);
            frame::write_frame(&mut writer, &buf[..n]).unwrap();
            sent.update(&buf[..n]);
            left -= n;
        }
        sent.digest()
    });
    let mut reader = std::io::BufReader::new(stream);
    let mut received = Checksum::new();
    while received.len() < total as u64 {
        let echo = frame::read_frame(&mut reader, MAX_FRAME)
            .unwrap()
            .expect("server closed early");
        received.update(&echo);
    }
    [sender.join().unwrap(), received.digest()]
}

/// 64 MiB of random bytes in 256 KiB frames come back over one connection, every byte in
/// order (equal length and CRC-32).
#[test]
fn echo_64_mib_integrity() {
    let (addr, stats, _) = start(ServerConfig::default());
    let [sent, received] = within(LIMIT, "64 MiB echo", move || {
        stream_through(addr, 1, 64 << 20, 256 << 10)
    });
    assert_eq!(sent.0, 64 << 20);
    assert_eq!(sent, received);
    // The server counts a frame after writing its echo: the client may hold the last echo a
    // moment before the counter moves.
    let counted = socklab_support::wait::last(
        LIMIT,
        || stats.frames.load(Ordering::Relaxed),
        |&n| n == 256,
    );
    assert_eq!(counted, 256);
}

/// Sixteen clients at once, each with its own random frame sizes, all get their bytes back.
#[test]
fn many_concurrent_clients_each_get_their_own_bytes() {
    let (addr, _, _) = start(ServerConfig::default());
    within(LIMIT, "16 clients", move || {
        let clients: Vec<_> = (0..16u64)
            .map(|seed| {
                thread::spawn(move || {
                    let mut client = Client::connect(addr, IO_TIMEOUT).unwrap();
                    let mut rng = Generator::new(seed);
                    let mut sent = Checksum::new();
                    let mut got = Checksum::new();
                    for _ in 0..50 {
                        let mut msg = vec![0u8; rng.size(0, 70_000)];
                        rng.fill(&mut msg);
                        sent.update(&msg);
                        got.update(&client.echo(&msg).unwrap());
                    }
                    (sent.digest(), got.digest())
                })
            })
            .collect();
        for c in clients {
            let (sent, got) = c.join().unwrap();
            assert_eq!(sent, got);
        }
    });
}

/// Asserts that a fresh client still gets its echo: the server is alive for everyone else.
fn still_serves(addr: SocketAddr) {
    let mut client = Client::connect(addr, IO_TIMEOUT).unwrap();
    assert_eq!(client.echo(b"still there?").unwrap(), b"still there?");
}

/// Reads until end of stream and says how it ended: `Ok(())` for a FIN, or the error.
fn read_to_end(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut sink = Vec::new();
    stream.read_to_end(&mut sink).map(drop)
}

/// A header announcing more than the limit closes that connection (after logging why), and
/// only that one: a client connected before and a client connecting after are served.
#[test]
fn oversize_frame_closes_only_that_connection() {
    let (addr, stats, log) = start(ServerConfig::default());
    within(LIMIT, "oversize frame", move || {
        let mut bystander = Client::connect(addr, IO_TIMEOUT).unwrap();
        assert_eq!(bystander.echo(b"before").unwrap(), b"before");
        let mut rogue = connect(addr);
        rogue
            .write_all(&(MAX_FRAME as u32 + 1).to_be_bytes())
            .unwrap();
        read_to_end(&mut rogue).unwrap(); // A clean FIN: the server read all we sent.
        assert_eq!(bystander.echo(b"after").unwrap(), b"after");
        still_serves(addr);
        assert!(log.said("exceeds the limit"), "{:?}", log.lines());
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);
    });
}

/// A client that vanishes in the middle of a frame is logged as truncated, and the clients
/// around it carry on undisturbed, including one in the middle of a large transfer.
#[test]
fn client_vanishing_mid_frame_does_not_disturb_others() {
    let (addr, stats, log) = start(ServerConfig::default());
    within(LIMIT, "truncated frame", move || {
        let bulk = thread::spawn(move || stream_through(addr, 9, 8 << 20, 64 << 10));
        let mut quitter = connect(addr);
        quitter.write_all(&1000u32.to_be_bytes()).unwrap();
        quitter.write_all(&[1; 10]).unwrap(); // 10 of the 1000 announced bytes, then gone.
        quitter.shutdown(std::net::Shutdown::Write).unwrap();
        read_to_end(&mut quitter).unwrap();
        let [sent, received] = bulk.join().unwrap();
        assert_eq!(sent, received);
        still_serves(addr);
        assert!(
            log.said("stream ended inside a frame: got 14 of 1004 bytes"),
            "{:?}",
            log.lines()
        );
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);
    });
}

/// With `max_connections = 2`, a third client connects (the kernel queues it) but is not
/// served until one of the first two leaves; then it is.
#[test]
fn connection_limit_makes_clients_wait() {
    let config = ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    };
    let (addr, stats, _) = start(config);
    within(LIMIT, "connection limit", move || {
        let mut first = Client::connect(addr, IO_TIMEOUT).unwrap();
        let mut second = Client::connect(addr, IO_TIMEOUT).unwrap();
        assert_eq!(first.echo(b"1").unwrap(), b"1");
        assert_eq!(second.echo(b"2").unwrap(), b"2");

        let mut third = Client::connect(addr, IO_TIMEOUT).unwrap(); // Queued, not refused.
        third.send(b"3").unwrap();
        let wait = Duration::from_millis(300);
        third.stream().set_read_timeout(Some(wait)).unwrap();
        let started = Instant::now();
        let err = third.recv().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{err:?}"
        );
        assert!(started.elapsed() >= wait, "no reply for the whole wait");
        assert_eq!(
            stats.accepted.load(Ordering::Relaxed),
            2,
            "the third was not accepted"
        );

        drop(first); // Frees a slot.
        third.stream().set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        assert_eq!(third.recv().unwrap().unwrap(), b"3");
        assert_eq!(second.echo(b"2 again").unwrap(), b"2 again");
    });
}

/// A client that connects and says nothing is closed after the idle timeout, not before,
/// and the reason is logged.
#[test]
fn idle_client_is_closed() {
    let idle = Duration::from_millis(300);
    let (addr, _, log) = start(ServerConfig {
        idle_timeout: idle,
        ..ServerConfig::default()
    });
    within(LIMIT, "idle client", move || {
        let started = Instant::now();
        let mut silent = connect(addr);
        read_to_end(&mut silent).unwrap();
        assert!(
            started.elapsed() >= idle,
            "closed after {:?}",
            started.elapsed()
        );
        assert!(log.said("idle for 300ms"), "{:?}", log.lines());
    });
}

/// A client that drips a frame one byte every 50 ms never trips the 1 s idle timeout, but its
/// frame must be complete within the 500 ms frame timeout: it is closed after that, not
/// before, and the reason is logged. (The idle timeout is longer than the frame timeout so
/// that a dripping thread starved of the CPU for a moment on a loaded machine cannot look
/// idle before its frame's time is up.)
#[test]
fn a_frame_dripped_byte_by_byte_is_cut_off() {
    let config = ServerConfig {
        idle_timeout: Duration::from_secs(1),
        frame_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    let (addr, _, log) = start(config);
    let (took, sent) = within(LIMIT, "slowloris", move || {
        let mut drip = connect(addr);
        let started = Instant::now();
        let mut sent = 0;
        // A 100-byte frame, one byte every 50 ms: 5 s if the server waited for it all.
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
    assert!(sent < 104, "the server read the whole slow frame");
    assert!(
        took >= Duration::from_millis(500),
        "cut off early: {took:?}"
    );
    assert!(
        log.said("frame not complete within 500ms"),
        "{:?}",
        log.lines()
    );
}

/// The same server and client work over IPv6 loopback (`[::1]`).
#[test]
fn echo_over_ipv6() {
    // Some containers have no IPv6 at all; say so loudly rather than pass in silence.
    let Ok(probe) = TcpListener::bind("[::1]:0") else {
        socklab_support::skip::skip("echo_over_ipv6", "this machine has no IPv6 loopback");
        return;
    };
    drop(probe);
    let (addr, _, _) = start_on("[::1]:0", ServerConfig::default());
    assert!(addr.is_ipv6());
    within(LIMIT, "ipv6 echo", move || {
        let mut client = Client::connect(addr, IO_TIMEOUT).unwrap();
        assert!(client.stream().local_addr().unwrap().is_ipv6());
        assert_eq!(client.echo(b"over v6").unwrap(), b"over v6");
    });
}
