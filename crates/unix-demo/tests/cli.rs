//! The `unix-demo` binary: the tour, the server and client, and bad input.

use std::os::unix::net::UnixListener;
use std::time::Duration;

use socklab_support::process::{self, Output};
use unix_demo::scratch::Scratch;

const LIMIT: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_unix-demo");

fn run(args: &[&str], stdin: &[u8]) -> Output {
    process::run_with_input(BIN, args, stdin, LIMIT)
}

/// With no arguments the tour runs all eight sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[], b"");
    assert_eq!(code, Some(0), "{err}\n{out}");
    for n in 1..=8 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    assert!(out.contains("hello from pid"), "{out}");
}

/// The client sends standard input and half-closes; the server replies with who the client
/// is (the kernel's word) and what it sent.
#[test]
fn client_and_server_talk_over_a_socket_file() {
    let scratch = Scratch::new("cli").unwrap();
    let path = scratch.path("echo.sock");
    let path = path.to_str().unwrap();
    let server = process::start_server(BIN, &["server", "--path", path], LIMIT);
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["client", "--path", path], b"hello, unix\n");
    let log = server.terminate(LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let uid = nix::unistd::geteuid().as_raw();
    assert!(out.starts_with(&format!("you are uid {uid} ")), "{out}");
    assert!(out.ends_with("you sent 12 bytes\nhello, unix\n"), "{out}");
    assert_eq!(log.code, Some(0), "{log:?}");
    assert!(log.stdout.contains("12 bytes, replied"), "{log:?}");
}

/// A live server's path, a regular file, a missing socket, an overlong path and an empty
/// one: one line, non-zero exit, no panic.
#[test]
fn bad_input_is_refused() {
    let scratch = Scratch::new("cli").unwrap();
    let live = scratch.path("live.sock");
    let _live = UnixListener::bind(&live).unwrap();
    let file = scratch.path("notes.txt");
    std::fs::write(&file, "keep me").unwrap();
    let missing = scratch.path("missing.sock");
    for (args, says) in [
        (
            vec!["server", "--path", live.to_str().unwrap()],
            "already listening",
        ),
        (
            vec!["server", "--path", file.to_str().unwrap()],
            "is not a socket",
        ),
        (
            vec!["client", "--path", missing.to_str().unwrap()],
            "cannot connect",
        ),
    ] {
        let Output {
            code, stderr: err, ..
        } = run(&args, b"");
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    let long = format!("/tmp/{}", "x".repeat(200));
    for args in [
        &["server", "--path", &long][..],
        &["client", "--path", ""],
        &["client"],
        &["server", "--path", "/tmp/x.sock", "--idle-timeout", "0s"],
    ] {
        let Output {
            code, stderr: err, ..
        } = run(args, b"");
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
