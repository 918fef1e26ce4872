//! The `multiplex-demo` binary: the tour, a server and the load generator, and bad input.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(120);

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_multiplex-demo"))
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    within(LIMIT, "multiplex-demo", move || {
        let out = bin().args(&args).stdin(Stdio::null()).output().unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code(), text(out.stdout), text(out.stderr))
    })
}

/// With no arguments the tour runs all six sections and exits 0.
#[test]
fn demo_runs_with_no_arguments() {
    let (code, out, err) = run(&[]);
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
    let mut server = bin()
        .args(["server", "--api", "poll"])
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
        .split_whitespace()
        .nth(2)
        .expect("listening on ADDR (api)")
        .to_string();
    let (code, out, err) = run(&["load", "--addr", &addr, "-c", "20", "--time", "300ms"]);
    server.kill().unwrap();
    server.wait().unwrap();
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
    let (code, _, err) = run(&["load", "--addr", "192.0.2.1:80"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("only loopback addresses"), "{err}");
    for (args, says) in [
        (&["server", "--api", "kqueue"][..], "not a readiness API"),
        (
            &["load", "--addr", "127.0.0.1:1", "-c", "0"],
            "invalid value",
        ),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{err}");
    }
}
