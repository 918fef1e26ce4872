//! The `timeouts-demo` binary: the tour, and durations parsed with units.

use std::time::Duration;

use socklab_support::process::{self, Output};

const BIN: &str = env!("CARGO_BIN_EXE_timeouts-demo");

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, Duration::from_secs(60))
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
    assert!(out.contains("still waiting: true"), "{out}");
}

/// One experiment with its own durations, given with units.
#[test]
fn io_subcommand_takes_units() {
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["io", "--timeout", "100ms"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("read:  WouldBlock"), "{out}");
}

/// Zero, unitless and nonsense durations are refused with a clear message and status 2; an
/// inconsistent combination is refused with status 1.
#[test]
fn bad_durations_are_refused() {
    for (args, says) in [
        (&["io", "--timeout", "0s"][..], "zero"),
        (&["io", "--timeout", "5"], "not a duration"),
        (&["connect", "--timeout", "soon"], "not a duration"),
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let Output {
        code,
        stdout: _,
        stderr: err,
    } = run(&["slowloris", "--drip", "1s", "--per-read", "100ms"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--drip must be shorter"), "{err}");
}
