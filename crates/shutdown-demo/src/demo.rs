//! The narrated tour that `cargo run -p shutdown-demo` prints: every experiment of chapter 5,
//! with the live TCP states of its own sockets on Linux.

use std::io;
use std::time::Duration;

use socklab_support::Narrator;
use socklab_support::cli::bytes;

use crate::states::{self, TcpState};
use crate::{directions, half_close, linger, reset, sigpipe};

/// A write's outcome in a few words: its byte count or its error's kind.
fn outcome(result: &io::Result<usize>) -> String {
    match result {
        Ok(n) => format!("Ok({n})"),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn show(state: Option<TcpState>) -> String {
    state.map_or_else(|| "(gone)".to_string(), |s| s.to_string())
}

/// Runs every experiment of the chapter, narrating to `n`.
pub fn run(n: &Narrator) -> io::Result<()> {
    let linux = cfg!(target_os = "linux");

    n.heading("1. Half-close: send the request, shutdown(Write), read the whole reply");
    let (addr, server) = half_close::spawn_one_shot_server()?;
    let request = vec![b'x'; 1 << 20];
    let reply = half_close::request_reply(addr, &request)?;
    let seen = server
        .join()
        .map_err(|_| io::Error::other("server panicked"))??;
    n.step(
        "client",
        &format!(
            "sent {} then shutdown(Write): a FIN",
            bytes(request.len() as u64)
        ),
    );
    n.step(
        "server",
        &format!(
            "read until read() returned 0: {} in all; then replied",
            bytes(seen as u64)
        ),
    );
    let first_line = reply.split(|&b| b == b'\n').next().unwrap_or_default();
    n.step(
        "client",
        &format!(
            "read {} of reply after its own shutdown: {:?}...",
            bytes(reply.len() as u64),
            String::from_utf8_lossy(first_line)
        ),
    );

    n.heading("2. The states of an orderly close, read live from /proc/net/tcp");
    if linux {
        for o in states::watch_orderly_close()? {
            n.step(
                "kernel",
                &format!(
                    "{:<62} client {:<12} server {}",
                    o.step,
                    show(o.client),
                    show(o.server)
                ),
            );
        }
        n.explain(
            "The side that closes first ends in TIME-WAIT (60 s on Linux); the other passes\n\
             through CLOSE-WAIT, where its read returns 0, until its application closes.\n\
             That is why a busy server that closes first collects TIME-WAIT entries, and why\n\
             it binds with SO_REUSEADDR (chapter 1).",
        );
    } else {
        n.step(
            "kernel",
            "no /proc/net/tcp on this system; watch with `netstat -an -p tcp`",
        );
    }

    n.heading("3. shutdown(Write), shutdown(Read), and close");
    let w = directions::shutdown_write()?;
    n.step(
        "us",
        &format!(
            "after shutdown(Write), write() -> {:?}",
            w.our_write.as_ref().map_err(io::Error::kind)
        ),
    );
    n.step("peer", &format!("read() -> {}: the FIN", w.peer_read));
    n.step(
        "us",
        &format!(
            "but we still read the peer's answer: {:?}",
            String::from_utf8_lossy(&w.we_read)
        ),
    );
    let r = directions::shutdown_read()?;
    n.step(
        "us",
        &format!("after shutdown(Read), read() -> {} at once", r.empty_read),
    );
    n.step(
        "peer",
        &format!(
            "noticed nothing: {}",
            if r.peer_noticed.is_none() {
                "its read timed out"
            } else {
                "its read returned"
            }
        ),
    );
    n.step(
        "us",
        &format!(
            "peer wrote anyway (ok: {}); our next read -> {:?}{}",
            r.peer_write_ok,
            String::from_utf8_lossy(&r.later_read),
            if linux {
                " (Linux still delivers; BSD/macOS discard)"
            } else {
                ""
            }
        ),
    );
    n.step(
        "peer",
        &format!(
            "and we can still send: the peer read {:?}",
            String::from_utf8_lossy(&r.peer_got_ours)
        ),
    );
    let c = directions::close_vs_shutdown()?;
    n.step(
        "us",
        &format!(
            "closed one of two descriptors: peer saw EOF? {}",
            c.eof_after_closing_a_clone
        ),
    );
    n.step(
        "us",
        &format!(
            "the other descriptor still writes: {}",
            c.clone_still_writes
        ),
    );
    n.step(
        "us",
        &format!(
            "shutdown(Write) on it: peer saw EOF? {}",
            c.eof_after_shutdown
        ),
    );
    n.explain("close() ends a descriptor; shutdown() ends a direction of the connection.");

    n.heading("4. RST: closing with unread data, and writing to a departed peer");
    let rst = reset::close_with_unread_data()?;
    n.step(
        "peer",
        &format!(
            "we closed with its bytes unread; its next read -> {:?}",
            rst.map_err(|e| e.kind())
        ),
    );
    let w = reset::write_after_peer_closed()?;
    n.step(
        "us",
        &format!(
            "the peer closed; we read its FIN, then write: {}, then {}, then {}",
            outcome(&w.first),
            outcome(&w.second),
            outcome(&w.third)
        ),
    );
    let a = reset::write_after_peer_aborted()?;
    n.step(
        "us",
        &format!(
            "the peer aborted (RST, no FIN); we write: {}, then {}, then {}",
            outcome(&a.first),
            outcome(&a.second),
            outcome(&a.third)
        ),
    );
    if linux {
        n.step(
            "us",
            &format!(
                "SIGPIPE ignored in this process: {}",
                sigpipe::sigpipe_ignored()?
            ),
        );
    }
    n.explain(
        "In C, EPIPE from write() comes with SIGPIPE, which kills the process. The Rust\n\
         runtime ignores SIGPIPE, and std's writes also pass MSG_NOSIGNAL (Linux), which\n\
         alone is enough: the book's chapter 5 shows a plain write(2) die where std's survives.",
    );

    n.heading("5. SO_LINGER = 0: the abortive close");
    let a = linger::abort_and_watch()?;
    n.step(
        "peer",
        &format!(
            "after our abortive close, read() -> {:?}",
            a.peer_read.map_err(|e| e.kind())
        ),
    );
    if linux {
        let left = states::wait_for(a.addrs.0, a.addrs.1, None, Duration::from_secs(1))?;
        n.step(
            "kernel",
            &format!("our side of that connection: {} (no TIME-WAIT)", show(left)),
        );
    }
    n.heading(
        "Done. The book's chapter 5 draws each exchange; `cargo test -p shutdown-demo` proves it.",
    );
    Ok(())
}
