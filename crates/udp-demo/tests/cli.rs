//! The `udp-demo` binary: the demo, server and client, and bad input.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(30);

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_udp-demo"))
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    within(LIMIT, "udp-demo", move || {
        let out = bin().args(&args).stdin(Stdio::null()).output().unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code(), text(out.stdout), text(out.stderr))
    })
}

/// With no arguments the narrated tour runs all seven sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let (code, out, err) = run(&[]);
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
    let mut server = bin()
        .args(["server", "--addr", "127.0.0.1:0", "--drop", "0.3"])
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
    let (code, out, err) = run(&[
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
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("20 requests answered"), "{out}");
}

/// A port in use, a bad address and a bad fraction: one-line errors, non-zero exits.
#[test]
fn bad_input_is_refused() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = run(&["server", "--addr", &addr]);
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
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
