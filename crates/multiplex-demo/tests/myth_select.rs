//! Chapter 7's myth: "select is just a CPU saver". A readiness API is what lets one thread wait
//! on *many* sockets at once; without one, a thread that blocks can wait on one socket only.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use multiplex_demo::readiness::{Interest, Readiness, Source};
use multiplex_demo::select::Select;

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// Two clients, one silent and one that has sent a request. A thread that reads its sockets in
/// turn with blocking reads is stuck on the silent one for the whole read timeout while the
/// other's request waits, although no CPU is spent on either; one `select` over both returns
/// the ready socket, and only it.
#[test]
fn one_blocking_thread_waits_on_one_socket_select_waits_on_many() {
    let (_silent_client, silent) = pair();
    let (mut talker, talking) = pair();
    talker.write_all(b"request").unwrap();

    // The blocking way: read the sockets in turn, each read bounded by a timeout.
    let timeout = Duration::from_millis(300);
    silent.set_read_timeout(Some(timeout)).unwrap();
    let started = Instant::now();
    let first = (&silent).read(&mut [0u8; 16]);
    let stuck_for = started.elapsed();
    assert_eq!(first.unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(
        stuck_for >= timeout,
        "stuck on the silent socket for {stuck_for:?}"
    );
    // ... and all that time the other request was waiting to be read.
    talking.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(talking.peek(&mut buf).unwrap(), 7, "the request sat unread");

    // The readiness way: one call waits on both and names the ready one.
    let mut select = Select;
    let mut events = Vec::new();
    let sources = [(&silent, 0), (&talking, 1)].map(|(s, token)| Source {
        fd: s.as_fd(),
        token,
        interest: Interest::READ,
    });
    select
        .wait(
            sources.into_iter(),
            Some(Duration::from_secs(10)),
            &mut events,
        )
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].token, 1, "the talking socket is the ready one");
}
