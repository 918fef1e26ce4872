//! The `shutdown-demo` binary: the tour, the half-close server and client, and bad input.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(30);

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shutdown-demo"))
}

fn run(args: &[&str], stdin: &[u8]) -> (Option<i32>, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let stdin = stdin.to_vec();
    within(LIMIT, "shutdown-demo", move || {
        let mut child = bin()
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code(), text(out.stdout), text(out.stderr))
    })
}

/// With no arguments the tour runs all five sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let (code, out, err) = run(&[], b"");
    assert_eq!(code, Some(0), "{err}");
    for n in 1..=5 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    #[cfg(target_os = "linux")]
    assert!(out.contains("TIME-WAIT"), "{out}");
}

/// The client sends standard input, half-closes, and prints the server's whole reply.
#[test]
fn client_half_closes_and_gets_the_reply() {
    let mut server = bin()
        .args(["server", "--addr", "127.0.0.1:0"])
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
    let (code, out, err) = run(&["client", "--addr", addr], b"hello, half-close\n");
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "18 bytes received\nhello, half-close\n");
}

/// Port in use and bad arguments: one line, non-zero exit, no panic.
#[test]
fn bad_input_is_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = run(&["server", "--addr", &addr], b"");
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot listen on"), "{err}");
    for args in [
        &["client"][..],
        &["client", "--addr", "x"],
        &["server", "--idle-timeout", "0s"],
    ] {
        let (code, _, err) = run(args, b"");
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
