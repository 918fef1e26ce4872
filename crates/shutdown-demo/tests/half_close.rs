//! Chapter 5: half-close, and what each kind of shutdown and close does.

use std::io::ErrorKind;
use std::time::Duration;

use shutdown_demo::{directions, half_close};
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(20);

// ANCHOR: half_close_request_reply
/// A client sends 1 MiB, half-closes, and reads the whole reply: the server's read returned 0
/// at the FIN (it counted exactly the request), and the client could still receive.
#[test]
fn half_close_request_reply() {
    let request: Vec<u8> = (0..1u32 << 20).map(|i| i as u8).collect();
    let expected = request.clone();
    let (reply, seen) = within(LIMIT, "half-close", move || {
        let (addr, server) = half_close::spawn_one_shot_server().unwrap();
        let reply = half_close::request_reply(addr, &request).unwrap();
        (reply, server.join().unwrap().unwrap())
    });
    assert_eq!(
        seen,
        1 << 20,
        "the server saw the whole request, ended by the FIN"
    );
    let header = format!("{} bytes received\n", 1 << 20);
    assert!(reply.starts_with(header.as_bytes()));
    assert_eq!(
        &reply[header.len()..],
        &expected[..],
        "and the client read every reply byte"
    );
}
// ANCHOR_END: half_close_request_reply

// ANCHOR: shutdown_write_stops_sending_only
/// After `shutdown(Write)`: our writes fail with `BrokenPipe`, the peer reads 0, and we still
/// receive what the peer sends.
#[test]
fn shutdown_write_stops_sending_only() {
    let w = within(LIMIT, "shutdown(Write)", || {
        directions::shutdown_write().unwrap()
    });
    assert_eq!(w.our_write.unwrap_err().kind(), ErrorKind::BrokenPipe);
    assert_eq!(w.peer_read, 0);
    assert_eq!(w.we_read, b"but I can still answer");
}
// ANCHOR_END: shutdown_write_stops_sending_only

// ANCHOR: shutdown_read_tells_the_peer_nothing
/// After `shutdown(Read)`: an empty read returns 0 at once, and the peer is told nothing (no
/// FIN: its read waits) and may keep writing. Linux even delivers those later bytes. Our own
/// direction is untouched: we still send, and the peer reads it.
#[test]
fn shutdown_read_tells_the_peer_nothing() {
    let r = within(LIMIT, "shutdown(Read)", || {
        directions::shutdown_read().unwrap()
    });
    assert_eq!(r.empty_read, 0);
    assert_eq!(r.peer_noticed, None, "no FIN was sent to the peer");
    assert!(r.peer_write_ok);
    // BSD-derived systems discard data arriving after SHUT_RD; Linux queues it.
    #[cfg(target_os = "linux")]
    assert_eq!(r.later_read, b"late data");
    assert_eq!(r.peer_got_ours, b"we can still send");
}
// ANCHOR_END: shutdown_read_tells_the_peer_nothing

// ANCHOR: close_ends_a_descriptor_shutdown_a_direction
/// Myth: "close() still lets you receive, shutdown() still lets you send" (mixed up).
/// Closing one of two descriptors sends nothing and the other keeps working; `shutdown(Write)`
/// ends the direction for the whole connection although a descriptor is still open.
#[test]
fn close_ends_a_descriptor_shutdown_a_direction() {
    let c = within(LIMIT, "close vs shutdown", || {
        directions::close_vs_shutdown().unwrap()
    });
    assert!(
        !c.eof_after_closing_a_clone,
        "closing one descriptor of two sends no FIN"
    );
    assert!(c.clone_still_writes);
    assert!(c.eof_after_shutdown, "shutdown acts on the connection");
}
// ANCHOR_END: close_ends_a_descriptor_shutdown_a_direction
