//! The `udp-demo` binary: the demo, server and client, and bad input.

use std::net::UdpSocket;
use std::time::Duration;

use socklab_support::process::{self, Output};

const LIMIT: Duration = Duration::from_secs(30);

const BIN: &str = env!("CARGO_BIN_EXE_udp-demo");

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, LIMIT)
}

/// With no arguments the narrated tour runs all seven sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[]);
    assert_eq!(code, Some(0), "{err}");
    for n in 1..=7 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    assert!(out.contains("50 requests, all answered correctly"), "{out}");
}

/// `server` prints its address first; `client` completes its requests against it, even with
/// the server dropping a third of them.
#[test]
fn server_and_client_talk_through_loss() {
    let server = process::start_server(
        BIN,
        &["server", "--addr", "127.0.0.1:0", "--drop", "0.3"],
        LIMIT,
    );
    let addr = server.addr();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[
        "client",
        "--addr",
        addr,
        "--count",
        "20",
        "--timeout",
        "100ms",
        "--tries",
        "20",
    ]);
    drop(server);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("20 requests answered"), "{out}");
}

/// A port in use, a bad address and a bad fraction: one-line errors, non-zero exits.
#[test]
fn bad_input_is_refused() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["server", "--addr", &addr]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("cannot bind {addr}")), "{err}");

    for (args, says) in [
        (&["server", "--addr", "localhost"][..], "invalid value"),
        (&["server", "--drop", "1.5"], "not a fraction"),
        (
            &["client", "--addr", "127.0.0.1:9", "--timeout", "0ms"],
            "zero",
        ),
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
