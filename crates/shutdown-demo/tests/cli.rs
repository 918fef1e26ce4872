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

/// `SIGTERM` (or Ctrl-C's `SIGINT`) makes the server stop accepting, print its counters as
/// its last line, and exit 0; the counters match what the clients did.
#[test]
fn sigterm_stops_the_server_cleanly() {
    let server = process::start_server(BIN, &["server", "--addr", "127.0.0.1:0"], LIMIT);
    let addr = server.addr().parse().unwrap();
    for request in [&b"one"[..], b"two"] {
        let reply = shutdown_demo::half_close::request_reply(addr, request).unwrap();
        assert!(reply.ends_with(request));
    }
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = server.terminate(LIMIT);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("stopped: accepted 2, requests 2, dropped 0, closed at stop 0"),
        "{out}"
    );
}

/// Durations too long to mean anything are refused by argument parsing (status 2, one error
/// line), never a panic.
#[test]
fn absurd_durations_are_refused() {
    for option in ["--idle-timeout", "--request-timeout"] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(&["server", option, "300000y"], b"");
        assert_eq!(code, Some(2), "{option}: {err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: invalid value") && first.contains("longer than the limit"),
            "{option}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// `--addr` takes a name: the server listens on what `localhost` resolves to and says so.
#[test]
fn addresses_may_be_names() {
    let server = process::start_server(BIN, &["server", "--addr", "localhost:0"], LIMIT);
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(
        &["client", "--addr", &format!("localhost:{}", addr.port())],
        b"named",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "5 bytes received\nnamed");
    assert_eq!(server.terminate(LIMIT).code, Some(0));
}
