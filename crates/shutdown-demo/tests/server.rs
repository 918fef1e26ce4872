//! Chapter 5's half-close server: one client's reset, slowness or silence never stops or
//! delays the others, and a stop ends it cleanly.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use shutdown_demo::half_close::request_reply;
use shutdown_demo::server::{Server, ServerConfig, Stats};
use socket2::{Domain, SockRef, Socket, Type};
use socklab_support::stop::Stop;
use socklab_support::{Narrator, wait, within};

const LIMIT: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts a server on `127.0.0.1:0` whose log and counters the test can read.
fn start(config: ServerConfig) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    let log = Arc::new(Narrator::capture());
    let server =
        Server::new(TcpListener::bind("127.0.0.1:0").unwrap(), config).with_log(Arc::clone(&log));
    let stats = server.stats();
    (server.spawn().unwrap(), stats, log)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Looks at a counter until it reaches `want`, for at most 10 s (the server's threads update
/// it; nothing tells the test when).
fn wait_for(what: &str, want: u64, read: impl Fn() -> u64) {
    wait::until(IO_TIMEOUT, what, || read() == want).unwrap();
}

/// A request and its reply, checked.
fn ask(addr: SocketAddr, request: &[u8]) {
    let reply = request_reply(addr, request).unwrap();
    let mut expected = format!("{} bytes received\n", request.len()).into_bytes();
    expected.extend_from_slice(request);
    assert_eq!(reply, expected);
}

// ANCHOR: a_client_reset_in_the_accept_queue_does_not_stop_the_server
/// A client connects, sends, and resets (`SO_LINGER` 0) while it waits in the accept queue
/// (the one slot is taken). The server accepts a dead socket, whose `getpeername` would fail
/// with `ENOTCONN`; it logs that one connection's end and keeps serving everyone else.
#[test]
fn a_client_reset_in_the_accept_queue_does_not_stop_the_server() {
    let (addr, stats, log) = start(ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    });
    within(LIMIT, "reset in the accept queue", move || {
        let mut holder = connect(addr);
        holder.write_all(b"first").unwrap();
        wait_for("accepted", 1, || stats.accepted.load(Ordering::Relaxed));

        let mut doomed = connect(addr); // The kernel completes the handshake and queues it.
        doomed.write_all(b"doomed").unwrap();
        SockRef::from(&doomed)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(doomed); // RST, while the server has not accepted it.
        assert_eq!(stats.accepted.load(Ordering::Relaxed), 1, "still queued");

        holder.shutdown(Shutdown::Write).unwrap(); // Frees the slot once answered.
        let mut reply = Vec::new();
        holder.read_to_end(&mut reply).unwrap();
        assert_eq!(reply, b"5 bytes received\nfirst");
        // The next client is served: the server did not exit over the dead one.
        ask(addr, b"next");
        ask(addr, b"and the next");
    });
    assert!(log.said("dropped:"), "{:?}", log.lines());
}
// ANCHOR_END: a_client_reset_in_the_accept_queue_does_not_stop_the_server

// ANCHOR: a_dripping_client_does_not_delay_the_others
/// A client dripping its request a byte every 50 ms holds only its own thread: a well-behaved
/// client connecting after it gets its whole reply while the dripper is still connected and
/// not yet cut off (counted: one request answered, nobody dropped).
#[test]
fn a_dripping_client_does_not_delay_the_others() {
    let (addr, stats, log) = start(ServerConfig::default()); // Request timeout: 10 s.
    within(LIMIT, "dripper and a good client", move || {
        let done = Arc::new(AtomicBool::new(false));
        let (dripping, is_dripping) = mpsc::channel();
        let dripper = thread::spawn({
            let done = Arc::clone(&done);
            move || {
                let mut drip = connect(addr);
                let mut sent = 0;
                while !done.load(Ordering::Relaxed) && sent < 200 {
                    drip.write_all(b"x").unwrap(); // Fails if the server closed on us.
                    sent += 1;
                    if sent == 2 {
                        dripping.send(()).unwrap();
                    }
                    thread::sleep(Duration::from_millis(50)); // The attack: slow on purpose.
                }
                sent
            }
        });
        is_dripping.recv().unwrap();
        wait_for("accepted", 1, || stats.accepted.load(Ordering::Relaxed));
        ask(addr, b"I am in a hurry");
        assert_eq!(stats.requests.load(Ordering::Relaxed), 1);
        assert_eq!(
            stats.dropped.load(Ordering::Relaxed),
            0,
            "dripper not cut yet"
        );
        done.store(true, Ordering::Relaxed);
        let sent = dripper.join().unwrap();
        assert!(sent < 200, "the dripper was still dripping: {sent} bytes");
    });
    assert!(!log.said("request not complete"), "{:?}", log.lines());
}
// ANCHOR_END: a_dripping_client_does_not_delay_the_others

// ANCHOR: a_request_dripped_byte_by_byte_is_cut_off
/// A byte every 50 ms never trips the 300 ms idle timeout, but the request must be complete
/// (FIN included) within 500 ms of its first byte: the server closes the dripper after that,
/// not before, and logs why.
#[test]
fn a_request_dripped_byte_by_byte_is_cut_off() {
    let (addr, _, log) = start(ServerConfig {
        idle_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    });
    let took = within(LIMIT, "slowloris", move || {
        let mut reader = connect(addr);
        let mut drip = reader.try_clone().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let dripper = thread::spawn({
            let done = Arc::clone(&done);
            move || {
                // 100 bytes, one every 50 ms: 5 s if the server waited for all of them.
                for _ in 0..100 {
                    if done.load(Ordering::Relaxed) || drip.write_all(b"x").is_err() {
                        return;
                    }
                    thread::sleep(Duration::from_millis(50)); // The attack: slow on purpose.
                }
            }
        });
        // The server's close ends our read: a FIN, or a RST if a dripped byte arrived after
        // the server gave up reading.
        let mut sink = Vec::new();
        match reader.read_to_end(&mut sink) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected the server to close the connection, got {e}"),
        }
        let took = started.elapsed();
        done.store(true, Ordering::Relaxed);
        dripper.join().unwrap();
        took
    });
    assert!(
        took >= Duration::from_millis(500),
        "cut off early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "not cut off: {took:?}");
    assert!(
        log.said("request not complete within 500ms (slow sender)"),
        "{:?}",
        log.lines()
    );
}
// ANCHOR_END: a_request_dripped_byte_by_byte_is_cut_off

/// The reply has a deadline too: a client that sends a large request, half-closes and then
/// never reads is cut off once the reply has not been taken within the request timeout (the
/// idle timeout, 10 s, is far away), and gets only part of the reply.
#[test]
fn a_reply_nobody_reads_is_cut_off() {
    let (addr, stats, log) = start(ServerConfig {
        idle_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    });
    let request = vec![7u8; 12 << 20];
    let len = request.len();
    let got = within(LIMIT, "a reply nobody reads", move || {
        // A small receive buffer, set before connecting, so the reply cannot all fit in it.
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        socket.connect(&addr.into()).unwrap();
        let mut client: TcpStream = socket.into();
        client.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        client.write_all(&request).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        wait_for("dropped", 1, || stats.dropped.load(Ordering::Relaxed));
        let mut reply = Vec::new();
        match client.read_to_end(&mut reply) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{e}"),
        }
        reply.len()
    });
    assert!(got < len, "the whole reply arrived: {got} bytes");
    assert!(
        log.said("reply not taken within 500ms (slow reader)"),
        "{:?}",
        log.lines()
    );
}

/// A stop wakes the accept loop; a client in the middle of its request sees end of stream at
/// once, the server logs why, and `run` returns `Ok` with the counters as its last line.
#[test]
fn stop_closes_open_connections_and_returns() {
    let log = Arc::new(Narrator::capture());
    let stop = Stop::new().unwrap();
    let server = Server::new(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        ServerConfig::default(),
    )
    .with_log(Arc::clone(&log))
    .with_stop(stop.clone());
    let addr = server.local_addr().unwrap();
    let stats = server.stats();
    let running = thread::spawn(move || server.run());
    let result = within(LIMIT, "stop with an open client", move || {
        ask(addr, b"one whole request");
        let mut open = connect(addr);
        open.write_all(b"half a requ").unwrap();
        wait_for("accepted", 2, || stats.accepted.load(Ordering::Relaxed));
        stop.trigger();
        let mut rest = Vec::new();
        open.read_to_end(&mut rest).unwrap(); // End of stream, long before the 10 s timeout.
        assert!(rest.is_empty(), "{rest:?}");
        running.join().unwrap()
    });
    assert!(result.is_ok(), "{result:?}");
    assert!(
        log.said("closed: the server is stopping"),
        "{:?}",
        log.lines()
    );
    let last = log.lines().last().cloned().unwrap_or_default();
    assert!(
        last.ends_with("stopped: accepted 2, requests 1, dropped 0, closed at stop 1"),
        "{last}"
    );
}
