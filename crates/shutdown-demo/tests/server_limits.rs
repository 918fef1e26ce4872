//! Chapter 5's half-close server at its other limits: the largest request, a request deadline
//! shorter than the idle timeout, and a client that never sends. (Found by `cargo mutants`: a
//! server that refused a request of exactly the limit, or accepted one byte over it, and one
//! that confused the idle timeout with the request deadline in its log, passed `server.rs`.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shutdown_demo::half_close::request_reply;
use shutdown_demo::server::{Server, ServerConfig, Stats};
use socklab_support::{Narrator, wait, within};

const LIMIT: Duration = Duration::from_secs(30);
/// The server logs a drop as it closes the connection: a short bound for the line to appear.
const LOG_LIMIT: Duration = Duration::from_secs(5);

fn start(config: ServerConfig) -> (SocketAddr, Arc<Stats>, Arc<Narrator>) {
    let log = Arc::new(Narrator::capture());
    let server =
        Server::new(TcpListener::bind("127.0.0.1:0").unwrap(), config).with_log(Arc::clone(&log));
    let stats = server.stats();
    (server.spawn().unwrap(), stats, log)
}

/// `max_request` is inclusive: a request of exactly 10 bytes is answered; one of 11 is
/// dropped, and the log says why.
#[test]
fn the_request_limit_is_exact() {
    let (addr, _, log) = start(ServerConfig {
        max_request: 10,
        ..ServerConfig::default()
    });
    let reply = within(LIMIT, "10 bytes", move || {
        request_reply(addr, b"0123456789")
    })
    .unwrap();
    assert_eq!(reply, b"10 bytes received\n0123456789");
    let over = within(LIMIT, "11 bytes", move || {
        request_reply(addr, b"0123456789A")
    });
    // Dropped: the connection ends with no reply (a FIN, or a RST for the unread byte).
    assert!(over.as_ref().map_or(true, |r| r.is_empty()), "{over:?}");
    wait::until(LOG_LIMIT, "the log line", || {
        log.said("request over 10 bytes")
    })
    .unwrap();
}

/// With a request timeout (300 ms) shorter than the idle timeout (5 s), a client that sends
/// one byte and then stalls is cut when the *request* deadline passes, not after 5 s, and
/// the log names the deadline, not idleness: the last read was given only the time left.
#[test]
fn a_stalled_request_is_cut_at_its_deadline_not_the_idle_timeout() {
    let (addr, _, log) = start(ServerConfig {
        idle_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    });
    let took = within(LIMIT, "a stalled request", move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(LIMIT)).unwrap();
        let started = Instant::now();
        c.write_all(b"x").unwrap();
        match c.read_to_end(&mut Vec::new()) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected the server to close, got {e}"),
        }
        started.elapsed()
    });
    assert!(took >= Duration::from_millis(300), "cut early: {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "waited the idle timeout: {took:?}"
    );
    wait::until(LOG_LIMIT, "the log line", || {
        log.said("request not complete within 300ms (slow sender)")
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}", log.lines()));
}

/// A client that connects and sends nothing is closed at the idle timeout (300 ms; the request
/// deadline only starts with the first byte), and the log says it was idle.
#[test]
fn a_silent_client_is_closed_as_idle() {
    let (addr, _, log) = start(ServerConfig {
        idle_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(100),
        ..ServerConfig::default()
    });
    let took = within(LIMIT, "a silent client", move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(LIMIT)).unwrap();
        let started = Instant::now();
        let _ = c.read_to_end(&mut Vec::new()); // Ends with the server's close.
        started.elapsed()
    });
    assert!(took >= Duration::from_millis(300), "closed early: {took:?}");
    wait::until(LOG_LIMIT, "the log line", || {
        log.said("idle for 300ms (timeout)")
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}", log.lines()));
}
