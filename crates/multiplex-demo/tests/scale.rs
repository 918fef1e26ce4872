//! Chapter 7: ten thousand concurrent connections on one epoll thread.
#![cfg(target_os = "linux")] // epoll is Linux's; poll would manage too, only slower.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use multiplex_demo::Api;
use multiplex_demo::load::raise_fd_limit;
use multiplex_demo::server::{self, Config};
use socklab_support::{Narrator, within};

/// 10,000 connections, all open at once, each doing two echo round trips with the same
/// single-threaded epoll server. The clients run in a child process (the crate's own `load`
/// command), so each process needs one descriptor per connection, not two; if even that is
/// more than the system allows, the test runs as many as it can and says so.
#[test]
fn ten_thousand_connections_on_one_epoll_thread() {
    let wanted = 10_000u64;
    let limit = raise_fd_limit(wanted + 256).unwrap();
    let n = wanted.min(limit.saturating_sub(256));
    if n < wanted {
        eprintln!("descriptor limit {limit}: running {n} connections instead of {wanted}");
    }
    assert!(
        n >= 1000,
        "a limit of {limit} descriptors is too low to show anything"
    );
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let (addr, stats) = server::spawn(
        Api::Epoll,
        listener,
        Config::default(),
        Arc::new(Narrator::silent()),
    )
    .unwrap();
    let out = within(Duration::from_secs(240), "10k connections", move || {
        Command::new(env!("CARGO_BIN_EXE_multiplex-demo"))
            .args([
                "load",
                "--addr",
                &addr.to_string(),
                "-c",
                &n.to_string(),
                "--requests",
                "2",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    });
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.starts_with(&format!("{n} connections: {} requests", 2 * n)),
        "{report}"
    );
    assert!(report.contains("errors 0"), "{report}");
    assert_eq!(
        stats.accepted.load(Ordering::Relaxed),
        n,
        "all of them, by one thread"
    );
    eprintln!("{report}");
}
