//! Chapter 4: the O_NONBLOCK flag, how std sets it, and signals that `SA_RESTART` does not
//! restart.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use nonblocking_demo::mode::is_nonblocking;
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(30);

/// `set_nonblocking(true)` sets `O_NONBLOCK`, read back with `fcntl(F_GETFL)`; `false`
/// clears it. A new socket starts without it.
#[test]
fn set_nonblocking_sets_and_clears_o_nonblocking() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    assert!(!is_nonblocking(&stream).unwrap(), "blocking by default");
    stream.set_nonblocking(true).unwrap();
    assert!(is_nonblocking(&stream).unwrap());
    stream.set_nonblocking(false).unwrap();
    assert!(!is_nonblocking(&stream).unwrap());
}

/// On Linux, std sets the flag with one `ioctl(FIONBIO)`, not with `fcntl(F_SETFL)`: seen by
/// tracing the `read` experiment's system calls with strace (skipped, with the reason, where
/// strace is missing or may not trace).
#[test]
#[cfg(target_os = "linux")]
fn std_sets_o_nonblocking_with_one_ioctl_on_linux() {
    let name = "std_sets_o_nonblocking_with_one_ioctl_on_linux";
    let traced = std::process::Command::new("strace")
        .args(["-f", "-e", "trace=ioctl,fcntl", "-o", "/dev/stderr"])
        .arg(env!("CARGO_BIN_EXE_nonblocking-demo"))
        .arg("read")
        .output();
    let out = match traced {
        Err(e) => {
            return socklab_support::skip::skip(
                name,
                &format!("strace is not installed ({e}); apt-get install strace"),
            );
        }
        Ok(out) => out,
    };
    let trace = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && trace.contains("PTRACE") {
        return socklab_support::skip::skip(name, "strace may not trace here (ptrace denied)");
    }
    assert!(out.status.success(), "{trace}");
    assert!(
        trace.contains("FIONBIO, [1]"),
        "no ioctl(FIONBIO, [1]):\n{trace}"
    );
    assert!(
        !trace
            .lines()
            .any(|l| l.contains("F_SETFL") && l.contains("O_NONBLOCK")),
        "std used fcntl(F_SETFL) after all:\n{trace}"
    );
}

/// A signal whose handler has `SA_RESTART` hits a thread sleeping in `read`. Without a socket
/// timeout the read is restarted and returns the data that comes later; with `SO_RCVTIMEO`
/// set, the same read fails with `Interrupted` (signal(7): such calls are never restarted).
#[test]
#[cfg(target_os = "linux")]
fn sa_restart_restarts_a_read_unless_the_socket_has_a_timeout() {
    use nonblocking_demo::restart::read_through_signal;
    let plain = within(LIMIT, "no timeout", || read_through_signal(None).unwrap());
    assert!(plain.handled >= 1, "the handler ran");
    assert_eq!(plain.read, Ok(b"data after the signal".to_vec()));
    let timed = within(LIMIT, "with timeout", || {
        read_through_signal(Some(Duration::from_secs(20))).unwrap()
    });
    assert!(timed.handled >= 1, "the handler ran");
    assert_eq!(timed.read, Err(ErrorKind::Interrupted));
}
