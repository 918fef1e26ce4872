//! Chapter 11: the model, one claim per test, each counted by the ring itself or read from the
//! kernel's own tables (`/proc/net/tcp`). Every test first probes for io_uring and reports a
//! loud skip, with the reason, where it is missing or forbidden.

use std::time::Duration;

use socklab_support::within;
use uring_demo::model;
use uring_demo::probe;

const LIMIT: Duration = Duration::from_secs(30);

// ANCHOR: one_enter_submits_many
/// One `io_uring_enter(2)` submits 64 receives: the ring counts one call, and the kernel's
/// return value says it consumed 64 entries; then each receive completes with its byte.
#[test]
fn one_enter_submits_many_receives() {
    if !probe::available("one_enter_submits_many_receives") {
        return;
    }
    let b = within(LIMIT, "batch", || model::batch(64)).unwrap();
    assert_eq!(b.enters_to_submit, 1, "{b:?}");
    assert_eq!(
        b.submitted, 64,
        "the kernel consumed every entry in that call: {b:?}"
    );
    assert_eq!(b.completed, 64, "{b:?}");
}
// ANCHOR_END: one_enter_submits_many

// ANCHOR: buffer_handed_over
/// Completion vs readiness, read from the kernel's own table (`/proc/net/tcp`, the socket's
/// receive queue): when a receive submitted before the data existed completes, the bytes are
/// already in our buffer and the kernel's queue is empty; when `poll(2)` says "readable",
/// the same bytes are still in the kernel's queue, waiting for a `read(2)`.
#[test]
fn the_buffer_is_handed_over_before_the_data_exists() {
    if !probe::available("the_buffer_is_handed_over_before_the_data_exists") {
        return;
    }
    let h = within(LIMIT, "handed over", model::handed_over).unwrap();
    assert!(h.submitted_before_data, "{h:?}");
    assert_eq!(h.in_our_buffer, b"hello", "{h:?}");
    assert_eq!(h.kernel_queue_on_completion, Some(0), "{h:?}");
    assert_eq!(h.kernel_queue_on_readiness, Some(5), "{h:?}");
}
// ANCHOR_END: buffer_handed_over

// ANCHOR: multishot
/// One multishot accept submitted, five connections: five completions, each flagged MORE.
/// One multishot receive submitted, four messages: four completions flagged MORE; after a
/// cancel, a last completion with `-ECANCELED` and no MORE ends it.
#[test]
fn one_multishot_submission_many_completions() {
    if !probe::available("one_multishot_submission_many_completions") {
        return;
    }
    let a = within(LIMIT, "accept", || model::multishot_accept(5)).unwrap();
    assert_eq!((a.submitted, a.accepted, a.all_more), (1, 5, true), "{a:?}");
    let r = within(LIMIT, "receive", || model::multishot_receive(4)).unwrap();
    assert_eq!(r.submitted, 1, "{r:?}");
    assert_eq!(r.completions, vec![(3, true); 4], "{r:?}");
    assert_eq!(r.after_cancel, (-libc::ECANCELED, false), "{r:?}");
}
// ANCHOR_END: multishot

// ANCHOR: provided_buffers
/// 200 receives wait on idle connections with a pool of 16 provided buffers: all 16 stay
/// free, because a waiting receive holds none; when one peer sends, exactly one is taken.
#[test]
fn idle_receives_hold_no_buffer() {
    if !probe::available("idle_receives_hold_no_buffer") {
        return;
    }
    let p = within(LIMIT, "pool", || model::provided_buffers(200)).unwrap();
    assert_eq!(p.waiting, 200, "{p:?}");
    assert_eq!(p.free_while_waiting, p.pool, "{p:?}");
    assert_eq!(p.free_after_one, p.pool - 1, "{p:?}");
}
// ANCHOR_END: provided_buffers

// ANCHOR: close_is_not_cancel
/// Closing our descriptor while a receive is in flight does not end the receive: for 300 ms
/// the peer sees nothing, and the kernel's table still shows the connection ESTABLISHED (the
/// operation holds the socket). Cancelling the receive ends it with `-ECANCELED`, hands our
/// buffer back, and only then does the peer see end of stream.
#[test]
fn closing_the_descriptor_does_not_cancel_the_receive() {
    if !probe::available("closing_the_descriptor_does_not_cancel_the_receive") {
        return;
    }
    let c = within(LIMIT, "close", || {
        model::close_does_not_cancel(Duration::from_millis(300))
    })
    .unwrap();
    assert_eq!(
        c.peer_after_close, None,
        "no FIN while the receive holds the socket: {c:?}"
    );
    assert_eq!(c.state_after_close, Some(1), "still ESTABLISHED: {c:?}");
    assert_eq!(c.result_after_cancel, -libc::ECANCELED, "{c:?}");
    assert!(c.buffer_returned, "{c:?}");
    assert_eq!(
        c.peer_after_cancel,
        Some(0),
        "end of stream once cancelled: {c:?}"
    );
}
// ANCHOR_END: close_is_not_cancel
