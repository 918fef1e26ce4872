//! The `tcp-demo` binary as a user meets it: the demo runs, the server and client talk, and
//! bad input gets a one-line error and a non-zero exit, never a panic.

use std::net::TcpListener;
use std::time::Duration;

use socklab_support::process::{self, Output};

const LIMIT: Duration = Duration::from_secs(30);

/// Runs the binary to completion (bounded) and returns (exit code, stdout, stderr).
const BIN: &str = env!("CARGO_BIN_EXE_tcp-demo");

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, LIMIT)
}

/// With no arguments the narrated demo runs every section and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[]);
    assert_eq!(code, Some(0), "stderr: {err}");
    for section in [
        "1. The life",
        "2. A byte stream",
        "3. write()",
        "4. Framing",
        "5. Ports",
        "Done.",
    ] {
        assert!(out.contains(section), "missing {section:?} in:\n{out}");
    }
}

/// A port that is taken: one line on stderr naming the address, exit status 1.
#[test]
fn port_in_use_is_a_one_line_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["server", "--addr", &addr]);
    assert_eq!(code, Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(
        err.to_lowercase().contains("address already in use"),
        "{err}"
    );
}

/// Garbage where an address belongs is refused by argument parsing (status 2), not a panic.
#[test]
fn bad_address_is_refused() {
    for args in [
        &["server", "--addr", "nonsense"][..],
        &["client", "--addr", "1.2.3:99999"],
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.starts_with("error: invalid value"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A client pointed at a closed port fails with one line naming the address.
#[test]
fn connection_refused_is_a_one_line_error() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["client", "--addr", &closed, "hi"]);
    assert_eq!(code, Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot connect to {closed}")),
        "{err}"
    );
}

/// `server` prints `listening on ADDR` first, with the real port, and `client` talks to it.
#[test]
fn server_and_client_subcommands_talk() {
    let server = process::start_server(BIN, &["server", "--addr", "127.0.0.1:0"], LIMIT);
    let addr = server.addr();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["client", "--addr", addr, "ping", "pong"]);
    drop(server);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "ping\npong\n");
}

/// Binding a privileged port (below 1024) without privilege: one line naming the cause, exit
/// status 1. Testable only where this process may not bind such a port itself (not as root,
/// and not where the system lowered `ip_unprivileged_port_start`); elsewhere it says so.
#[test]
fn privileged_port_is_a_one_line_error() {
    match TcpListener::bind("127.0.0.1:1") {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
        other => {
            socklab_support::skip::skip(
                "privileged_port_is_a_one_line_error",
                &format!("binding port 1 here gives {other:?}, not a refusal (root?)"),
            );
            return;
        }
    }
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["server", "--addr", "127.0.0.1:1"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot listen on 127.0.0.1:1") && err.contains("ermission denied"),
        "{err}"
    );
}

// ANCHOR: sigterm_stops_the_server_cleanly
/// `SIGTERM` (what `kill` and service managers send; Ctrl-C's `SIGINT` takes the same path)
/// makes the server stop accepting, close the connection still open with a reason, print its
/// counters as its last line, and exit 0. The counters match what the clients did: two
/// connections, three frames, one connection closed by the stop.
#[test]
fn sigterm_stops_the_server_cleanly() {
    let server = process::start_server(BIN, &["server", "--addr", "127.0.0.1:0"], LIMIT);
    let addr = server.addr().parse().unwrap();
    let mut done = tcp_demo::Client::connect(addr, LIMIT).unwrap();
    assert_eq!(done.echo(b"one").unwrap(), b"one");
    assert_eq!(done.echo(b"two").unwrap(), b"two");
    // Half-close and wait for the server's FIN: by then it has logged this connection's end.
    done.stream().shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(done.recv().unwrap(), None);
    let mut open = tcp_demo::Client::connect(addr, LIMIT).unwrap();
    assert_eq!(open.echo(b"three").unwrap(), b"three");

    let Output {
        code,
        stdout: out,
        stderr: err,
    } = server.terminate(LIMIT);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert_eq!(
        open.recv().unwrap(),
        None,
        "the open client sees end of stream"
    );
    assert!(out.contains("closed: the server is stopping"), "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("stopped: accepted 2, frames 3, dropped 0, closed at stop 1"),
        "{out}"
    );
}
// ANCHOR_END: sigterm_stops_the_server_cleanly

/// `--addr` takes a name: `localhost:0` listens on a loopback address, the first line says
/// which one with the real port, and a client is served there.
#[test]
fn server_listens_on_a_name() {
    let server = process::start_server(BIN, &["server", "--addr", "localhost:0"], LIMIT);
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[
        "client",
        "--addr",
        &format!("localhost:{}", addr.port()),
        "hi",
    ]);
    let Output { code: stopped, .. } = server.terminate(LIMIT);
    assert_eq!(stopped, Some(0));
    // Both resolve `localhost` the same way, so the client finds the server.
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "hi\n");
}

/// A duration too long to mean anything (`300000y`) is refused by argument parsing with one
/// error line and status 2, never a panic from an overflowing `Instant + Duration`.
#[test]
fn absurd_durations_are_refused() {
    for option in ["--idle-timeout", "--frame-timeout"] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(&["server", option, "300000y"]);
        assert_eq!(code, Some(2), "{option}: {err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: invalid value") && first.contains("longer than the limit"),
            "{option}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let Output { code, stderr, .. } =
        run(&["client", "--addr", "127.0.0.1:1", "--timeout", "300000y"]);
    assert_eq!(code, Some(2), "{stderr}");
}
