//! The `multiplex-demo` binary: the tour, a server and the load generator, and bad input.

use std::time::Duration;

use socklab_support::process::{self, Output};

const LIMIT: Duration = Duration::from_secs(120);

const BIN: &str = env!("CARGO_BIN_EXE_multiplex-demo");

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, LIMIT)
}

/// With no arguments the tour runs all six sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[]);
    assert_eq!(code, Some(0), "{err}");
    for n in 1..=6 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    assert!(!out.contains("errors 1"), "{out}");
}

/// `server` prints its address first; `load` drives it and reports requests/s.
#[test]
fn server_and_load_generator() {
    let server = process::start_server(BIN, &["server", "--api", "poll"], LIMIT);
    let addr = server.addr();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["load", "--addr", addr, "-c", "20", "--time", "300ms"]);
    drop(server);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("20 connections:") && out.contains("errors 0"),
        "{out}"
    );
}

/// The load generator refuses any address outside loopback before sending anything; bad API
/// names and numbers are refused by argument parsing.
#[test]
fn bad_input_is_refused() {
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["load", "--addr", "192.0.2.1:80"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("only loopback addresses"), "{err}");
    for (args, says) in [
        (&["server", "--api", "kqueue"][..], "not a readiness API"),
        (
            &["load", "--addr", "127.0.0.1:1", "-c", "0"],
            "invalid value",
        ),
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{err}");
    }
}
