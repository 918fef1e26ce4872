//! The `buffers-demo` binary: the tour, the bulk pair, and bad input.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(60);

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_buffers-demo"))
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    within(LIMIT, "buffers-demo", move || {
        let out = bin().args(&args).stdin(Stdio::null()).output().unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code(), text(out.stdout), text(out.stderr))
    })
}

/// With no arguments the tour runs all five sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let (code, out, err) = run(&[]);
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
    let mut server = bin()
        .args(["server"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let first = within(LIMIT, "server's first line", move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .expect("first line names the address");
    let (code, out, err) = run(&["client", "--addr", addr, "--time", "200ms"]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Gbit/s"), "{out}");
}

/// Port in use and bad sizes: a clear message and a non-zero exit, never a panic.
#[test]
fn bad_input_is_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = run(&["server", "--addr", &addr]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    for args in [
        &["server", "--buffer", "0"][..],
        &["client", "--addr", "127.0.0.1:1", "--write-size", "huge"],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("not a buffer size"), "{err}");
    }
}
