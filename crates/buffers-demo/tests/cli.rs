//! The `buffers-demo` binary: the tour, the bulk pair, and bad input.

use std::net::TcpListener;
use std::time::Duration;

use socklab_support::process::{self, Output};

const LIMIT: Duration = Duration::from_secs(60);

const BIN: &str = env!("CARGO_BIN_EXE_buffers-demo");

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, LIMIT)
}

/// With no arguments the tour runs all five sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[]);
    assert_eq!(code, Some(0), "{err}");
    for n in 1..=5 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    assert!(out.contains("bandwidth-delay product"), "{out}");
}

/// `server` prints its address first; `client` sends to it for a while and reports Gbit/s.
#[test]
fn server_and_client_measure_a_transfer() {
    let server = process::start_server(BIN, &["server"], LIMIT);
    let addr = server.addr();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["client", "--addr", addr, "--time", "200ms"]);
    drop(server);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Gbit/s"), "{out}");
}

/// Port in use and bad sizes: a clear message and a non-zero exit, never a panic.
#[test]
fn bad_input_is_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["server", "--addr", &addr]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    for args in [
        &["server", "--buffer", "0"][..],
        &["client", "--addr", "127.0.0.1:1", "--write-size", "huge"],
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("not a buffer size"), "{err}");
    }
}
