//! Chapter 1's server stops cleanly when asked: open connections see end of stream with the
//! reason logged, queued clients are not left hanging, and `run` returns `Ok` with the counters
//! as its last log line. (The binary's Ctrl-C and `SIGTERM` are tested in `cli.rs`.)

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use socklab_support::stop::Stop;
use socklab_support::{Narrator, within};
use tcp_demo::{Client, Server, ServerConfig};

const LIMIT: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A stop (here `Stop::trigger`, in the binary a signal) wakes the accept loop; a client that
/// is connected and idle sees end of stream (its read returns 0, not a timeout), the server
/// logs why it closed it, and `run` returns `Ok` after logging its counters last.
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
    let running = thread::spawn(move || server.run());
    let result = within(LIMIT, "stop with an idle client", move || {
        let mut idle = Client::connect(addr, IO_TIMEOUT).unwrap();
        assert_eq!(idle.echo(b"hello").unwrap(), b"hello"); // Accepted and served.
        stop.trigger();
        // A clean end of stream between frames, well before the 10 s read timeout.
        assert_eq!(idle.recv().unwrap(), None);
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
        last.ends_with("stopped: accepted 1, frames 1, dropped 0, closed at stop 1"),
        "{last}"
    );
    // The listener is closed: nobody is left waiting in a queue that will never be served.
    assert!(TcpStream::connect(addr).is_err());
}

/// A stop while every slot is taken (the accept loop waiting for one, not in `poll`) is
/// noticed too, and the client waiting in the accept queue is closed rather than left hanging.
#[test]
fn stop_at_the_connection_limit() {
    let log = Arc::new(Narrator::capture());
    let stop = Stop::new().unwrap();
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let server = Server::new(TcpListener::bind("127.0.0.1:0").unwrap(), config)
        .with_log(Arc::clone(&log))
        .with_stop(stop.clone());
    let addr = server.local_addr().unwrap();
    let stats = server.stats();
    let running = thread::spawn(move || server.run());
    let result = within(LIMIT, "stop at the limit", move || {
        let mut first = Client::connect(addr, IO_TIMEOUT).unwrap();
        assert_eq!(first.echo(b"1").unwrap(), b"1");
        let mut queued = TcpStream::connect(addr).unwrap(); // Queued by the kernel.
        queued.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stop.trigger();
        assert_eq!(first.recv().unwrap(), None);
        let result = running.join().unwrap();
        // Never accepted; the listener's close resets it (or ends it): no wait for a timeout.
        let mut byte = [0u8; 1];
        match queued.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("the queued client should be closed, got {other:?}"),
        }
        result
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(stats.accepted.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert!(
        log.said("stopped: accepted 1, frames 1"),
        "{:?}",
        log.lines()
    );
}
