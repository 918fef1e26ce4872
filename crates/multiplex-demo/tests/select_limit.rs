//! Chapter 7: select cannot watch descriptors numbered FD_SETSIZE (1024) or above; poll can.
//! In its own test binary, because it opens a thousand files in the whole process; and the
//! tests here take turns (`ONE_AT_A_TIME`), because each one's files would push the other's
//! descriptors past the limit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use multiplex_demo::Api;
use multiplex_demo::load::raise_fd_limit;
use multiplex_demo::select::fd_setsize;
use multiplex_demo::server::{self, Config};
use socklab_support::descriptors::open_files;
use socklab_support::{Narrator, within};

/// Held by each test for its whole run: descriptor numbers belong to the process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// With more than FD_SETSIZE descriptors open, a new connection gets a number select cannot
/// put in its bitmap: the select server refuses it with a logged reason (no crash, no
/// undefined behaviour) and keeps serving; a poll server serves the same kind of connection.
#[test]
fn select_refuses_descriptors_beyond_fd_setsize_and_poll_does_not() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    raise_fd_limit(4096).unwrap();
    let log = Arc::new(Narrator::capture());
    let (select_addr, select_stats) = server::spawn(
        Api::Select,
        server::listen(([127, 0, 0, 1], 0).into()).unwrap(),
        Config::default(),
        Arc::clone(&log),
    )
    .unwrap();
    let (poll_addr, _) = server::spawn(
        Api::Poll,
        server::listen(([127, 0, 0, 1], 0).into()).unwrap(),
        Config::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    // A client connected *before* the descriptors run high keeps working throughout.
    let mut early = TcpStream::connect(select_addr).unwrap();
    early
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // `connect` returns when the kernel has completed the handshake; the server's `accept`
    // may come later. Only once it has, is the early client's descriptor below the limit.
    socklab_support::wait::until(Duration::from_secs(20), "the early client accepted", || {
        select_stats.accepted.load(Ordering::Relaxed) == 1
    })
    .unwrap();
    let filler = open_files(fd_setsize()).unwrap();

    let echo = |addr| {
        within(Duration::from_secs(20), "late client", move || {
            let mut late = TcpStream::connect(addr).unwrap();
            late.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            // If the server has already closed us, the write may fail: that is the outcome.
            let _ = late.write_all(b"\0\0\0\x02hi");
            let mut buf = [0u8; 6];
            match late.read(&mut buf) {
                Ok(n) => buf[..n].to_vec(),
                // Closed with our bytes unread, the socket sends RST rather than FIN (chapter 5).
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Vec::new(),
                Err(e) => panic!("{e}"),
            }
        })
    };
    assert!(
        echo(select_addr).is_empty(),
        "select closed the connection it cannot watch"
    );
    assert_eq!(select_stats.refused_fd.load(Ordering::Relaxed), 1);
    assert!(
        log.said("beyond select's limit (FD_SETSIZE = 1024)"),
        "{:?}",
        log.lines()
    );
    assert_eq!(echo(poll_addr), b"\0\0\0\x02hi", "poll has no such limit");

    early.write_all(b"\0\0\0\x01!").unwrap();
    let mut buf = [0u8; 5];
    early.read_exact(&mut buf).unwrap();
    assert_eq!(
        &buf, b"\0\0\0\x01!",
        "the select server still serves its other clients"
    );
    drop(filler);
}

/// A select server whose *listening* socket is numbered beyond FD_SETSIZE cannot work at all:
/// it must refuse to start with a clear error (it once panicked inside nix, on its own thread,
/// leaving clients connecting to a dead loop), while a poll server starts fine.
#[test]
fn select_server_refuses_to_start_on_a_listener_beyond_fd_setsize() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    raise_fd_limit(4096).unwrap();
    let filler = open_files(fd_setsize()).unwrap();
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    assert!(
        !multiplex_demo::select::fits(&listener),
        "the listener should be numbered past FD_SETSIZE with {} files open",
        filler.len()
    );
    let log = Arc::new(Narrator::capture());
    let err = server::spawn(Api::Select, listener, Config::default(), Arc::clone(&log))
        .expect_err("select cannot watch this listener");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("beyond select's limit (FD_SETSIZE = 1024)"),
        "{err}"
    );

    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (poll_addr, _) = server::spawn(
        Api::Poll,
        listener,
        Config::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    let reply = within(Duration::from_secs(20), "poll client", move || {
        let mut c = TcpStream::connect(poll_addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"\0\0\0\x02ok").unwrap();
        let mut buf = [0u8; 6];
        c.read_exact(&mut buf).unwrap();
        buf
    });
    assert_eq!(&reply, b"\0\0\0\x02ok", "poll serves on a high descriptor");
    drop(filler);
}
