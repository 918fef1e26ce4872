//! Chapter 4: non-blocking connect (EINPROGRESS, SO_ERROR) and non-blocking accept.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use nonblocking_demo::accept::accept_nonblocking;
use nonblocking_demo::connect::{FirstCall, connect_nonblocking};
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(20);

/// A non-blocking connect to a listening port returns `EINPROGRESS`, becomes writable when the
/// handshake is done, and `SO_ERROR` then reports no error: the socket is connected and works.
#[test]
fn nonblocking_connect_in_progress_then_connected() {
    within(LIMIT, "connect", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let report = connect_nonblocking(listener.local_addr().unwrap(), LIMIT).unwrap();
        // Linux always answers EINPROGRESS for TCP; other systems may finish inside the call.
        #[cfg(target_os = "linux")]
        assert_eq!(report.first_call, FirstCall::InProgress);
        report.outcome.unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        accepted.set_read_timeout(Some(LIMIT)).unwrap();
        let mut client: std::net::TcpStream = report.socket.into();
        client.set_nonblocking(false).unwrap();
        client.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        accepted.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
    });
}

/// Against a closed port, the failure arrives later too: `SO_ERROR` holds `ECONNREFUSED`.
#[test]
fn nonblocking_connect_refused_is_read_from_so_error() {
    let report = within(LIMIT, "refused connect", || {
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        connect_nonblocking(closed, LIMIT).unwrap()
    });
    #[cfg(target_os = "linux")]
    assert_eq!(report.first_call, FirstCall::InProgress);
    assert_eq!(
        report.outcome.unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
}

/// `accept` on a non-blocking listener with nobody waiting returns `WouldBlock`; on Linux
/// the socket it later accepts does not inherit `O_NONBLOCK`.
#[test]
fn nonblocking_accept_would_block_and_does_not_inherit() {
    let report = within(LIMIT, "accept", || accept_nonblocking().unwrap());
    assert_eq!(report.empty_queue.kind(), ErrorKind::WouldBlock);
    // BSD-derived systems (macOS) copy the flag to accepted sockets; Linux does not.
    #[cfg(target_os = "linux")]
    assert!(
        !report.accepted_is_nonblocking,
        "Linux's accept(2) does not inherit O_NONBLOCK"
    );
}
