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
            eprintln!(
                "SKIPPED privileged_port_is_a_one_line_error: binding port 1 here gives {other:?}, not a refusal (root?)"
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
