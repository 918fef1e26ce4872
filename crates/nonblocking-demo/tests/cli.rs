//! The `nonblocking-demo` binary as a newcomer meets it: the README's first command.

use std::time::Duration;

use socklab_support::process::{self, Output};

const BIN: &str = env!("CARGO_BIN_EXE_nonblocking-demo");

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, Duration::from_secs(60))
}

/// With no arguments the narrated tour runs every section and exits 0.
#[test]
fn tour_runs_with_no_arguments() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&[]);
    assert_eq!(code, Some(0), "stderr: {err}");
    for n in 1..=8 {
        assert!(
            out.contains(&format!("== {n}. ")),
            "section {n} missing:\n{out}"
        );
    }
    assert!(out.contains("all intact: true"), "{out}");
    assert!(out.contains("Done."));
}

/// Each experiment runs alone with its knobs.
#[test]
fn subcommands_run() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["interleave", "--peers", "3", "--bytes", "1000"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("3 peers"), "{out}");
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["accept"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("empty queue: WouldBlock"), "{out}");
}

/// Zero, nonsense and out-of-range values are refused by argument parsing with a clear
/// message and status 2, never a panic.
#[test]
fn bad_input_is_refused() {
    for (args, says) in [
        (&["spin", "--wait", "0s"][..], "zero"),
        (&["read", "--wait", "soon"], "not a duration"),
        (&["interleave", "--peers", "0"], "invalid value"),
        (&["write", "--chunk", "-5"], "error"),
        (&["no-such-thing"], "unrecognized subcommand"),
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
