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

/// An absurd duration is one clear line from argument parsing (exit 2), not a server that
/// starts and panics on its first client.
#[test]
fn absurd_durations_are_refused_by_the_parser() {
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["server", "--api", "select", "--idle-timeout", "300000y"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("longer than the limit"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// SIGTERM stops every event loop cleanly: it closes its connections (the client sees end of
/// stream), prints its final counters, and exits 0.
#[test]
fn sigterm_stops_every_server_cleanly() {
    for api in multiplex_demo::Api::available() {
        let server = process::start_server(BIN, &["server", "--api", api.name()], LIMIT);
        let addr = server.addr().parse().unwrap();
        let mut client = tcp_demo::Client::connect(addr, Duration::from_secs(10)).unwrap();
        assert_eq!(client.echo(b"before the stop").unwrap(), b"before the stop");
        let Output {
            code,
            stdout: out,
            stderr: err,
        } = server.terminate(LIMIT);
        assert_eq!(code, Some(0), "{}: {err}", api.name());
        assert!(
            out.contains("closing 1 connection"),
            "{}: {out}",
            api.name()
        );
        assert!(
            out.contains("stopped: accepted 1, frames 1,"),
            "{}: {out}",
            api.name()
        );
        assert!(
            client.echo(b"after").is_err(),
            "{}: the connection should be closed",
            api.name()
        );
    }
}

/// `--addr` takes a host name, resolved by the system's resolver; the server prints the
/// address it chose.
#[test]
fn addresses_take_names() {
    let server = process::start_server(
        BIN,
        &["server", "--api", "poll", "--addr", "localhost:0"],
        LIMIT,
    );
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    let mut client = tcp_demo::Client::connect(addr, Duration::from_secs(10)).unwrap();
    assert_eq!(client.echo(b"by name").unwrap(), b"by name");
}
