//! Chapter 8: passing an open descriptor to another process (`SCM_RIGHTS`). The receiver is
//! a second process, this crate's own binary (`receive-fd`), which writes a greeting with its
//! pid through the descriptor it received.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use socklab_support::within;
use unix_demo::scratch::Scratch;
use unix_demo::{access, pass};

const LIMIT: Duration = Duration::from_secs(20);
const BIN: &str = env!("CARGO_BIN_EXE_unix-demo");

// ANCHOR: a_second_process_writes_through_a_passed_socket
/// We accept a TCP connection, hand the accepted socket to another process and close our
/// copy; the client reads that process's greeting (with its pid, not ours), then end of
/// stream when it exits: the connection had moved.
#[test]
fn a_second_process_writes_through_a_passed_socket() {
    let scratch = Scratch::new("pass").unwrap();
    let handover = scratch.path("handover.sock");
    let (heard, pid) = within(LIMIT, "hand over a connection", move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_read_timeout(Some(LIMIT)).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let pid = pass::hand_over(Path::new(BIN), &handover, accepted.as_fd(), None).unwrap();
        drop(accepted);
        let mut heard = String::new();
        client.read_to_string(&mut heard).unwrap();
        (heard, pid)
    });
    assert_ne!(pid, std::process::id());
    assert_eq!(heard, pass::greeting(pid));
}
// ANCHOR_END: a_second_process_writes_through_a_passed_socket

// ANCHOR: a_passed_descriptor_needs_no_name_and_no_permission
/// A passed descriptor carries its access with it: the receiver writes into a file it has
/// no name for (we unlinked it before passing it) and, when we are root and run the receiver
/// as `nobody`, could not have opened (mode 0600, owned by root).
#[test]
fn a_passed_descriptor_needs_no_name_and_no_permission() {
    let scratch = Scratch::new("pass").unwrap();
    let file_path = scratch.path("secret.txt");
    let mut file: File = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&file_path)
        .unwrap();
    fs::set_permissions(&file_path, Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(&file_path).unwrap(); // No name any more: only descriptors reach it.
    let as_nobody = access::other_user(Path::new(BIN));
    let handover = scratch.path("handover.sock");
    let pid = pass::hand_over(Path::new(BIN), &handover, file.as_fd(), as_nobody).unwrap();
    // The receiver's writes moved the shared file offset; read from the start.
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    assert_eq!(text, pass::greeting(pid));
}
// ANCHOR_END: a_passed_descriptor_needs_no_name_and_no_permission

/// A receiver that gets a message but no descriptor fails with one clear line.
#[test]
fn a_receiver_without_a_descriptor_says_so() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let scratch = Scratch::new("pass").unwrap();
    let path = scratch.path("handover.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let child = Command::new(BIN)
        .args(["receive-fd", "--socket", path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut channel = pass::accept_within(&listener, LIMIT).unwrap();
    channel.write_all(b"F").unwrap(); // A byte, but no SCM_RIGHTS with it.
    let out = unix_demo::finish(child, LIMIT).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no descriptor"), "{err}");
}
