//! The `socklab-abuse` binary: loopback only, bounded, clear errors, and an attack on nothing
//! never passes for a server that survived.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::thread;
use std::time::Duration;

use socklab_support::process::{self, Output};

const BIN: &str = env!("CARGO_BIN_EXE_socklab-abuse");

/// Every attack the binary has, TCP ones first.
const TCP_ATTACKS: [&str; 12] = [
    "slowloris",
    "silent",
    "no-read",
    "slow-reader",
    "reset-storm",
    "garbage",
    "flood",
    "full-duplex",
    "pipelining",
    "byte-at-a-time",
    "steady-sender",
    "empty-frames",
];

fn run(args: &[&str]) -> Output {
    process::run(BIN, args, Duration::from_secs(60))
}

/// A loopback port where nothing listens: bound by us, then released.
fn free_tcp_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The same for UDP: a datagram sent there draws an ICMP port unreachable.
fn free_udp_port() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A course echo server (chapter 1's), in this process.
fn echo_server() -> SocketAddr {
    tcp_demo::Server::new(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        Default::default(),
    )
    .with_log(std::sync::Arc::new(socklab_support::Narrator::silent()))
    .spawn()
    .unwrap()
}

/// Every attack refuses a target outside loopback, before sending anything.
#[test]
fn non_loopback_targets_are_refused() {
    for attack in TCP_ATTACKS.iter().chain(&["udp-garbage"]) {
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

/// Every attack against a port where nothing listens fails with one line naming the address,
/// and exit status 1: an attack that could not connect at all must not report a server that
/// survived ("closed none of 0"). For UDP, the ICMP port unreachable that a connected socket
/// sees as `ConnectionRefused` is what "nothing listens" looks like.
#[test]
fn attacks_on_nothing_fail_naming_the_address() {
    for attack in TCP_ATTACKS {
        let addr = free_tcp_port().to_string();
        let Output {
            code,
            stdout: out,
            stderr: err,
        } = run(&[attack, "--addr", &addr]);
        assert_eq!(code, Some(1), "{attack}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{attack}: {err}");
        assert!(
            err.starts_with(&format!(
                "socklab-abuse: error: nothing accepts connections at {addr}: "
            )),
            "{attack}: {err}"
        );
        assert!(err.contains("refused"), "{attack}: {err}");
        assert!(out.is_empty(), "{attack} reported as if it had run: {out}");
    }
    let addr = free_udp_port().to_string();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["udp-garbage", "--addr", &addr]);
    assert_eq!(code, Some(1), "udp-garbage: {out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "socklab-abuse: error: nothing listens at {addr} (UDP)"
        )),
        "{err}"
    );
    assert!(
        out.is_empty(),
        "udp-garbage reported as if it had run: {out}"
    );
}

/// An attack against a real server reports what it did and what the server answered.
#[test]
fn garbage_against_the_tcp_server_reports_answers() {
    let addr = echo_server().to_string();
    let Output {
        code,
        stdout: out,
        stderr: err,
    } = run(&["garbage", "--addr", &addr]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("4 GiB length prefix -> closed"), "{out}");
    assert!(out.contains("zero-length frame -> echoed 4 bytes"), "{out}");
}

/// The valid-but-awkward attacks pass (exit 0, "intact") against a server that echoes
/// correctly, and fail (exit 1, one line naming the address and what went wrong) against one
/// that hangs up on every client.
#[test]
fn awkward_clients_pass_a_good_server_and_fail_a_bad_one() {
    let good = echo_server().to_string();
    let rude = TcpListener::bind("127.0.0.1:0").unwrap();
    let rude_addr = rude.local_addr().unwrap().to_string();
    // Accepts every connection and closes it at once: the process exits with the test.
    thread::spawn(move || rude.incoming().for_each(drop));
    for args in [
        &["full-duplex", "--bytes", "1048576"][..],
        &["pipelining", "--frames", "1000"],
        &["byte-at-a-time", "--frames", "3"],
        &["steady-sender", "--for", "200ms"],
        &["empty-frames", "--count", "1000"],
    ] {
        let with = |addr| [args, &["--addr", addr]].concat();
        let Output {
            code,
            stdout: out,
            stderr: err,
        } = run(&with(good.as_str()));
        assert_eq!(code, Some(0), "{args:?}: {out}{err}");
        assert!(out.contains("intact") || out.contains("exactly"), "{out}");

        let Output {
            code,
            stdout: out,
            stderr: err,
        } = run(&with(rude_addr.as_str()));
        assert_eq!(code, Some(1), "{args:?}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "socklab-abuse: error: the server at {rude_addr} failed {}: ",
                args[0]
            )),
            "{err}"
        );
    }
}

/// Bounds are enforced by argument parsing.
#[test]
fn unbounded_requests_are_refused() {
    for args in [
        &["slowloris", "--addr", "127.0.0.1:1", "--connections", "0"][..],
        &["flood", "--addr", "127.0.0.1:1", "--max", "1000000"],
        &["silent", "--addr", "127.0.0.1:1", "--duration", "0s"],
        &["full-duplex", "--addr", "127.0.0.1:1", "--bytes", "0"],
        &[
            "full-duplex",
            "--addr",
            "127.0.0.1:1",
            "--bytes",
            "2000000000",
        ],
        &["pipelining", "--addr", "127.0.0.1:1", "--frames", "0"],
        &["steady-sender", "--addr", "127.0.0.1:1", "--for", "0s"],
        &[
            "empty-frames",
            "--addr",
            "127.0.0.1:1",
            "--count",
            "100000000",
        ],
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
