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
    assert!(out.contains("of the time between them"), "{out}");
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

/// `SIGTERM` (or Ctrl-C's `SIGINT`) makes the sink stop accepting, print its counters as its
/// last line, and exit 0; the counters match the two transfers the client made.
#[test]
fn sigterm_stops_the_server_cleanly() {
    let server = process::start_server(BIN, &["server"], LIMIT);
    let addr = server.addr().to_string();
    let mut total = 0u64;
    for _ in 0..2 {
        let t = buffers_demo::bulk::send(
            addr.parse().unwrap(),
            4096,
            buffers_demo::bulk::Amount::Bytes(100_000),
            None,
        )
        .unwrap();
        total += t.bytes;
    }
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = server.terminate(LIMIT);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(&format!(
            "stopped: accepted 2, transfers 2, bytes {total}, dropped 0, closed at stop 0"
        )),
        "{out}"
    );
}

/// A duration too long to mean anything is refused by argument parsing (status 2, one error
/// line), never a panic.
#[test]
fn absurd_durations_are_refused() {
    for args in [
        &["client", "--addr", "127.0.0.1:1", "--time", "300000y"][..],
        &["compare-iperf3", "--time", "300000y"],
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: invalid value") && first.contains("longer than the limit"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// `--addr` takes a name: the sink listens on what `localhost` resolves to and says so, and a
/// client naming `localhost` reaches it.
#[test]
fn addresses_may_be_names() {
    let server = process::start_server(BIN, &["server", "--addr", "localhost:0"], LIMIT);
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    let named = format!("localhost:{}", addr.port());
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["client", "--addr", &named, "--time", "100ms"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Gbit/s"), "{out}");
    assert_eq!(server.terminate(LIMIT).code, Some(0));
}
