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

/// `SIGTERM` (or Ctrl-C's `SIGINT`) wakes the server from its wait for the next datagram: it
/// prints its counters as its last line and exits 0. The counters match what the client did.
#[test]
fn sigterm_stops_the_server_cleanly() {
    let server = process::start_server(BIN, &["server", "--addr", "127.0.0.1:0"], LIMIT);
    let addr = server.addr().to_string();
    let Output { code, stderr, .. } = run(&["client", "--addr", &addr, "--count", "3"]);
    assert_eq!(code, Some(0), "{stderr}");
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = server.terminate(LIMIT);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("stopped: received 3, replies 3, dropped 0, empty 0"),
        "{out}"
    );
}

/// A duration too long to mean anything is refused by argument parsing (status 2, one error
/// line), never a panic.
#[test]
fn absurd_durations_are_refused() {
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["client", "--addr", "127.0.0.1:9", "--timeout", "300000y"]);
    assert_eq!(code, Some(2), "{err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: invalid value") && first.contains("longer than the limit"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// `--addr` takes a name: `localhost:0` binds a loopback address and the first line says
/// which, with the real port; a client naming `localhost` reaches it.
#[test]
fn addresses_may_be_names() {
    let server = process::start_server(BIN, &["server", "--addr", "localhost:0"], LIMIT);
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    let named = format!("localhost:{}", addr.port());
    let Output { code, stderr, .. } = run(&["client", "--addr", &named, "--count", "2"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(server.terminate(LIMIT).code, Some(0));
}
