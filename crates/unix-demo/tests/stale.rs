//! Chapter 8: the socket file a crashed server leaves, and cleaning it up safely.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use socklab_support::process;
use unix_demo::access::{self, Probe};
use unix_demo::scratch::Scratch;
use unix_demo::{names, stale};

const LIMIT: Duration = Duration::from_secs(20);
const BIN: &str = env!("CARGO_BIN_EXE_unix-demo");

// ANCHOR: a_crashed_server_leaves_a_file_that_blocks_bind
/// Myth: "`EADDRINUSE` on a Unix socket means a server is running." A server process killed
/// with SIGKILL leaves its socket file: nothing answers on it (`ECONNREFUSED`), yet a plain
/// `bind` to the path fails with `EADDRINUSE`.
#[test]
fn a_crashed_server_leaves_a_file_that_blocks_bind() {
    let scratch = Scratch::new("stale").unwrap();
    let path = scratch.path("server.sock");
    let path_text = path.to_str().unwrap();
    let server = process::start_server(BIN, &["server", "--path", path_text], LIMIT);
    assert_eq!(server.addr(), path_text);
    assert_eq!(access::probe(&path), Probe::Connected, "the server is up");
    drop(server); // SIGKILL: no destructor runs, nothing is cleaned up.
    assert!(names::is_socket_file(&path), "the file was left behind");
    assert_eq!(
        access::probe(&path),
        Probe::Refused(ErrorKind::ConnectionRefused)
    );
    let err = UnixListener::bind(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}
// ANCHOR_END: a_crashed_server_leaves_a_file_that_blocks_bind

// ANCHOR: bind_fresh_removes_only_a_stale_socket
/// `bind_fresh` replaces a stale socket file, but refuses, touching nothing, when a server
/// answers on the path (that server stays reachable) or when the path is not a socket.
#[test]
fn bind_fresh_removes_only_a_stale_socket() {
    let scratch = Scratch::new("stale").unwrap();
    let path = scratch.path("s.sock");
    drop(UnixListener::bind(&path).unwrap()); // A stale file.
    let (listener, how) = stale::bind_fresh(&path).unwrap();
    assert_eq!(how, stale::Bound::ReplacedStale);

    let err = stale::bind_fresh(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    let mut client = UnixStream::connect(&path).unwrap();
    client.write_all(b"still here").unwrap();
    let (mut accepted, _) = listener.accept().unwrap(); // The probe's connection first.
    accepted.set_read_timeout(Some(LIMIT)).unwrap();
    assert_eq!(
        accepted.read(&mut [0u8; 16]).unwrap(),
        0,
        "the probe sent nothing"
    );
    let (mut accepted, _) = listener.accept().unwrap();
    accepted.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 10];
    accepted.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"still here", "the live server kept its socket");

    let precious = scratch.path("notes.txt");
    fs::write(&precious, "not a socket").unwrap();
    let err = stale::bind_fresh(&precious).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(fs::read_to_string(&precious).unwrap(), "not a socket");
}
// ANCHOR_END: bind_fresh_removes_only_a_stale_socket

// ANCHOR: a_server_removes_only_its_own_file
/// On the way out a server removes its socket file only if it is still the file it created:
/// one that a successor put in its place is left alone.
#[test]
fn a_server_removes_only_its_own_file() {
    let scratch = Scratch::new("stale").unwrap();
    let path = scratch.path("s.sock");
    let _first = UnixListener::bind(&path).unwrap();
    let first_file = stale::OwnFile::new(&path).unwrap();
    fs::remove_file(&path).unwrap();
    let _successor = UnixListener::bind(&path).unwrap();
    assert!(!first_file.remove_if_ours().unwrap(), "not ours any more");
    assert!(
        names::is_socket_file(&path),
        "the successor's file is intact"
    );
    let successor_file = stale::OwnFile::new(&path).unwrap();
    assert!(successor_file.remove_if_ours().unwrap());
    assert!(!path.exists());
}
// ANCHOR_END: a_server_removes_only_its_own_file

// ANCHOR: server_cleans_up_on_sigterm_and_after_a_crash
/// The course's server, stopped with SIGTERM, exits 0 and removes its file; started on the
/// file a killed server left, it replaces that file and serves.
#[test]
fn server_cleans_up_on_sigterm_and_after_a_crash() {
    let scratch = Scratch::new("stale").unwrap();
    let path = scratch.path("server.sock");
    let path_text = path.to_str().unwrap();
    let args = ["server", "--path", path_text];
    drop(process::start_server(BIN, &args, LIMIT)); // Killed: a stale file.
    assert!(names::is_socket_file(&path));
    let server = process::start_server(BIN, &args, LIMIT);
    assert_eq!(access::probe(&path), Probe::Connected);
    let out = server.terminate(LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("removed a stale socket file first"),
        "{out:?}"
    );
    assert!(out.stdout.contains("socket file removed"), "{out:?}");
    assert!(!path.exists(), "the file was removed on the way out");
}
// ANCHOR_END: server_cleans_up_on_sigterm_and_after_a_crash

// ANCHOR: unlinking_a_live_socket_strands_its_server
/// Why not delete the path blindly before `bind`: unlinking a *live* server's file does not
/// stop that server (a client connected before still talks to it), but nobody can reach it by
/// the path any more (`ENOENT`), and a new listener takes the name.
#[test]
fn unlinking_a_live_socket_strands_its_server() {
    let scratch = Scratch::new("stale").unwrap();
    let path = scratch.path("s.sock");
    let live = UnixListener::bind(&path).unwrap();
    let mut earlier = UnixStream::connect(&path).unwrap();
    fs::remove_file(&path).unwrap(); // What a blind cleanup does.
    assert_eq!(access::probe(&path), Probe::Refused(ErrorKind::NotFound));
    let _usurper = UnixListener::bind(&path).unwrap();
    earlier.write_all(b"hi").unwrap();
    let (mut accepted, _) = live.accept().unwrap();
    accepted.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 2];
    accepted.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hi", "the stranded server still runs");
}
// ANCHOR_END: unlinking_a_live_socket_strands_its_server
