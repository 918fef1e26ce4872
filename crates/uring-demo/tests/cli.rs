//! The `uring-demo` binary: the tour, the server and its clean stop, the skip path where
//! io_uring is unavailable, and bad input.

use std::time::Duration;

use socklab_support::process::{self, Output};
use uring_demo::probe;

const LIMIT: Duration = Duration::from_secs(120);

const BIN: &str = env!("CARGO_BIN_EXE_uring-demo");

/// With no arguments the tour runs all eight sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    if !probe::available("demo_runs_with_no_arguments") {
        return;
    }
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = process::run(BIN, &[], LIMIT);
    assert_eq!(code, Some(0), "{err}");
    for n in 1..=8 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    assert!(!out.contains("errors 1"), "{out}");
}

// ANCHOR: probe_skips
/// Where io_uring is unavailable (here: switched off with `SOCKLAB_NO_URING=1`), the tour
/// says why and exits 0, and the server refuses to start with one clear line and exit 1.
#[test]
fn without_io_uring_the_tour_says_why_and_the_server_refuses() {
    let off = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(args)
            .env(probe::DISABLE_VAR, "1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = off(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("io_uring is not available here"), "{out}");
    assert!(!out.contains("== 2. "), "{out}");
    let (code, _, err) = off(&["server"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("io_uring is not available here"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
// ANCHOR_END: probe_skips

// ANCHOR: sigterm
/// SIGTERM stops the server cleanly: its operations are cancelled, its connection closed
/// (the client sees end of stream), its final counters printed, and it exits 0.
#[test]
fn sigterm_stops_the_server_cleanly() {
    if !probe::available("sigterm_stops_the_server_cleanly") {
        return;
    }
    let server = process::start_server(BIN, &["server"], LIMIT);
    assert!(server.addr().starts_with("127.0.0.1:"), "{}", server.addr());
    let addr = server.addr().parse().unwrap();
    let mut client = tcp_demo::Client::connect(addr, Duration::from_secs(10)).unwrap();
    assert_eq!(client.echo(b"before the stop").unwrap(), b"before the stop");
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = server.terminate(LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("closing 1 connection"), "{out}");
    assert!(out.contains("stopped: accepted 1, frames 1,"), "{out}");
    assert!(out.contains("io_uring_enter calls"), "{out}");
    assert!(
        client.echo(b"after").is_err(),
        "the connection should be closed"
    );
}
// ANCHOR_END: sigterm

/// Bad input is one line and exit 2 from argument parsing: an absurd duration, a limit of 0.
#[test]
fn bad_input_is_refused() {
    for (args, says) in [
        (
            &["server", "--idle-timeout", "300000y"][..],
            "longer than the limit",
        ),
        (&["server", "--max-connections", "0"], "invalid value"),
        (&["server", "--addr", "nowhere"], "invalid value"),
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = process::run(BIN, args, LIMIT);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A port in use is one clear line and exit 1.
#[test]
fn a_port_in_use_is_one_line() {
    if !probe::available("a_port_in_use_is_one_line") {
        return;
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = process::run(BIN, &["server", "--addr", &addr], LIMIT);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
