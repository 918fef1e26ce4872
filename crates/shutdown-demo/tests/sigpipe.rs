//! Chapter 5: why `EPIPE` does not kill a Rust program. Each experiment runs in a process of
//! its own (the binary's hidden `sigpipe` subcommand), because the outcome under test is how
//! that process ends. Linux only: macOS's std uses `SO_NOSIGPIPE` instead of `MSG_NOSIGNAL`.
#![cfg(target_os = "linux")]

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(30);
const BIN: &str = env!("CARGO_BIN_EXE_shutdown-demo");

/// Runs the experiment with `args` in a child process: its exit status and standard output.
fn experiment(args: &[&str]) -> (ExitStatus, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    within(LIMIT, "the sigpipe experiment", move || {
        let out = Command::new(BIN)
            .arg("sigpipe")
            .args(&args)
            .output()
            .expect("start the binary");
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    })
}

// ANCHOR: runtime_ignores_sigpipe
/// The kernel's view of the disposition (`SigIgn` in `/proc/self/status`): a Rust process
/// starts with `SIGPIPE` ignored, this test's own process included, and the experiment's
/// `restore_default_sigpipe` really gives it back its default action.
#[test]
fn the_rust_runtime_ignores_sigpipe_until_told_otherwise() {
    assert!(shutdown_demo::sigpipe::sigpipe_ignored().unwrap());
    let (status, out) = experiment(&["--writer", "std", "--keep-ignored"]);
    assert!(status.success(), "{status:?}\n{out}");
    assert!(out.contains("SIGPIPE ignored: true"), "{out}");
    let (status, out) = experiment(&["--writer", "std"]);
    assert!(status.success(), "{status:?}\n{out}");
    assert!(out.contains("SIGPIPE ignored: false"), "{out}");
}
// ANCHOR_END: runtime_ignores_sigpipe

// ANCHOR: plain_write_dies_of_sigpipe
/// With `SIGPIPE` at its default action, as in C, a plain `write(2)` to a connection the peer
/// has reset kills the process: it ends by signal 13, before it can print the write's result.
#[test]
fn a_plain_write_to_a_reset_connection_dies_of_sigpipe() {
    let (status, out) = experiment(&["--writer", "raw"]);
    assert!(out.contains("SIGPIPE ignored: false"), "{out}");
    assert!(out.contains("writing again with Raw"), "{out}");
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGPIPE as i32),
        "{status:?}\n{out}"
    );
    assert!(!out.contains("the write returned"), "{out}");
}
// ANCHOR_END: plain_write_dies_of_sigpipe

// ANCHOR: std_write_survives_sigpipe
/// The same write through `TcpStream::write`, with `SIGPIPE` at its default action too:
/// no signal, the call returns `EPIPE` (`BrokenPipe`), and the process exits normally. The
/// runtime's ignoring of `SIGPIPE` is not what saves it.
#[test]
fn std_write_returns_epipe_with_sigpipe_at_its_default() {
    let (status, out) = experiment(&["--writer", "std"]);
    assert!(out.contains("SIGPIPE ignored: false"), "{out}");
    assert_eq!(status.code(), Some(0), "{status:?}\n{out}");
    assert!(
        out.contains("the write returned Err(Os { code: 32, kind: BrokenPipe"),
        "{out}"
    );
}
// ANCHOR_END: std_write_survives_sigpipe

// ANCHOR: std_passes_msg_nosignal
/// Why: std's write is `sendto(fd, buf, len, MSG_NOSIGNAL, NULL, 0)`, seen by tracing the
/// experiment's system calls with strace (skipped, with the reason, where strace is missing
/// or may not trace).
#[test]
fn std_writes_pass_msg_nosignal() {
    let name = "std_writes_pass_msg_nosignal";
    let traced = within(LIMIT, "strace", || {
        Command::new("strace")
            .args(["-f", "-e", "trace=sendto,write", "-o", "/dev/stderr"])
            .args([BIN, "sigpipe", "--writer", "std"])
            .output()
    });
    let out = match traced {
        Err(e) => {
            let reason = format!("strace is not installed ({e}); apt-get install strace");
            return socklab_support::skip::skip(name, &reason);
        }
        Ok(out) => out,
    };
    let trace = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && trace.contains("PTRACE") {
        return socklab_support::skip::skip(name, "strace may not trace here (ptrace denied)");
    }
    assert!(out.status.success(), "{trace}");
    let failed_send = trace
        .lines()
        .find(|l| l.contains("sendto(") && l.contains("EPIPE"))
        .unwrap_or_else(|| panic!("no sendto failing with EPIPE:\n{trace}"));
    assert!(failed_send.contains("MSG_NOSIGNAL"), "{failed_send}");
}
// ANCHOR_END: std_passes_msg_nosignal
