//! The `names-demo` binary: the tour, `resolve`, `connect`, the dual-stack server, and bad
//! input.

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

use socklab_support::process::{self, Output};

const LIMIT: Duration = Duration::from_secs(30);
const BIN: &str = env!("CARGO_BIN_EXE_names-demo");

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, LIMIT)
}

/// With no arguments the tour runs all three sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[]);
    assert_eq!(code, Some(0), "{err}\n{out}");
    for n in 1..=3 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
}

/// `resolve localhost` lists loopback addresses, numbered, in the resolver's order.
#[test]
fn resolve_lists_addresses_in_order() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["resolve", "localhost"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("localhost: "), "{out}");
    assert!(out.contains("  1. "), "{out}");
}

/// `connect` finds a server on 127.0.0.1 through the name `localhost`, whatever the order.
#[test]
fn connect_finds_the_server_by_name() {
    let server = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = server.local_addr().unwrap().port();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["connect", &format!("localhost:{port}")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.trim_end()
            .ends_with(&format!("127.0.0.1:{port}: connected")),
        "{out}"
    );
}

/// The server on 127.0.0.1 tells a client how it saw it, and stops cleanly on SIGTERM.
#[test]
fn server_tells_each_client_how_it_saw_it() {
    let server = process::start_server(BIN, &["server", "--addr", "127.0.0.1:0"], LIMIT);
    let mut client = TcpStream::connect(server.addr()).unwrap();
    client.set_read_timeout(Some(LIMIT)).unwrap();
    let mut line = String::new();
    client.read_to_string(&mut line).unwrap();
    let me = client.local_addr().unwrap();
    assert_eq!(
        line,
        format!("you are {me}; as the family you used: {me}\n")
    );
    let out = server.terminate(LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
}

/// A name that does not resolve, nothing listening, and malformed arguments: one line,
/// non-zero exit, no panic.
#[test]
fn bad_input_is_refused() {
    let dead = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let Output {
        code, stderr: err, ..
    } = run(&["connect", &format!("127.0.0.1:{port}")]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Output {
        code, stderr: err, ..
    } = run(&["server", "--addr", &addr]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    for args in [
        &["connect", "localhost"][..],
        &["connect", "localhost:http"],
        &["connect", ":80"],
        &["server", "--addr", "nowhere"],
        &["server", "--v6only", "maybe"],
        &["resolve"],
    ] {
        let Output {
            code, stderr: err, ..
        } = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
