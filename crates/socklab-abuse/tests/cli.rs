//! The `socklab-abuse` binary: loopback only, bounded, clear errors.

use std::time::Duration;

use socklab_support::process::{self, Output};

const BIN: &str = env!("CARGO_BIN_EXE_socklab-abuse");

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, Duration::from_secs(60))
}

/// Every attack refuses a target outside loopback, before sending anything.
#[test]
fn non_loopback_targets_are_refused() {
    for attack in [
        "slowloris",
        "silent",
        "no-read",
        "reset-storm",
        "garbage",
        "flood",
        "udp-garbage",
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(&[attack, "--addr", "192.168.1.10:7000"]);
        assert_eq!(code, Some(1), "{attack}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("only loopback addresses"), "{attack}: {err}");
    }
}

/// An attack against a real server reports what it did and what the server answered.
#[test]
fn garbage_against_the_tcp_server_reports_answers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp_demo::Server::new(listener, Default::default())
        .with_log(std::sync::Arc::new(socklab_support::Narrator::silent()))
        .spawn()
        .unwrap();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["garbage", "--addr", &addr.to_string()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("4 GiB length prefix -> closed"), "{out}");
    assert!(out.contains("zero-length frame -> echoed 4 bytes"), "{out}");
}

/// Bounds are enforced by argument parsing.
#[test]
fn unbounded_requests_are_refused() {
    for args in [
        &["slowloris", "--addr", "127.0.0.1:1", "--connections", "0"][..],
        &["flood", "--addr", "127.0.0.1:1", "--max", "1000000"],
        &["silent", "--addr", "127.0.0.1:1", "--duration", "0s"],
    ] {
        let Output {
            code,
            stdout: _,
            stderr: err,
        } = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
