//! The `shutdown-demo` binary: the tour, the half-close server and client, and bad input.

use std::net::TcpListener;
use std::time::Duration;

use socklab_support::process::{self, Output};

const LIMIT: Duration = Duration::from_secs(30);

const BIN: &str = env!("CARGO_BIN_EXE_shutdown-demo");

fn run(args: &[&str], stdin: &[u8]) -> Output {
    process::run_with_input(BIN, args, stdin, LIMIT)
}

/// With no arguments the tour runs all five sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[], b"");
    assert_eq!(code, Some(0), "{err}");
    for n in 1..=5 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    #[cfg(target_os = "linux")]
    assert!(out.contains("TIME-WAIT"), "{out}");
}

/// The client sends standard input, half-closes, and prints the server's whole reply.
#[test]
fn client_half_closes_and_gets_the_reply() {
    let server = process::start_server(BIN, &["server", "--addr", "127.0.0.1:0"], LIMIT);
    let addr = server.addr();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["client", "--addr", addr], b"hello, half-close\n");
    drop(server);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "18 bytes received\nhello, half-close\n");
}

/// Port in use and bad arguments: one line, non-zero exit, no panic.
#[test]
fn bad_input_is_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["server", "--addr", &addr], b"");
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    for args in [
        &["client"][..],
        &["client", "--addr", "x"],
        &["server", "--idle-timeout", "0s"],
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args, b"");
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
