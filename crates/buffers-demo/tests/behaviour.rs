//! Chapter 3 claims about inheritance, autotuning, bytes in flight and throughput.

use std::time::Duration;

use buffers_demo::{bulk, inflight, inherit, sweep};
use socklab_support::within;

const LIMIT: Duration = Duration::from_secs(60);

// ANCHOR: accepted_sockets_inherit
/// `SO_RCVBUF` set on a listener before `listen` is what the accepted socket has: set it on
/// the listener, not after `accept`.
#[test]
fn accepted_sockets_inherit_the_listeners_buffer() {
    let default = buffers_demo::sizes::defaults().unwrap().tcp_rcvbuf;
    let (listener, accepted) = within(LIMIT, "inherit", || inherit::inherited(24 * 1024).unwrap());
    assert_ne!(listener, default, "the test must change something");
    assert_eq!(accepted, listener);
}
// ANCHOR_END: accepted_sockets_inherit

// ANCHOR: setting_rcvbuf_disables_autotuning
/// During a 64 MiB transfer, an untouched receiver's `SO_RCVBUF` grows (Linux autotuning);
/// one that was set stays exactly where it was put.
#[test]
#[cfg(target_os = "linux")] // Autotuning as seen through getsockopt is Linux's.
fn setting_rcvbuf_turns_autotuning_off() {
    let (before, after) = within(LIMIT, "untouched", || {
        inherit::rcvbuf_during_transfer(None, 64 << 20).unwrap()
    });
    assert!(
        after > before,
        "autotuning grew the buffer: {before} -> {after}"
    );
    let (before, after) = within(LIMIT, "set", || {
        inherit::rcvbuf_during_transfer(Some(32 * 1024), 64 << 20).unwrap()
    });
    assert_eq!(before, 64 * 1024, "doubled");
    assert_eq!(after, before, "locked: no autotuning");
}
// ANCHOR_END: setting_rcvbuf_disables_autotuning

// ANCHOR: in_flight_grows_with_buffers
/// How much a writer can push at a peer that never reads grows with the buffer sizes, and is
/// at least one buffer's worth; on Linux both queues hold some of it.
#[test]
fn in_flight_grows_with_buffer_sizes() {
    let small = within(LIMIT, "16 KiB", || {
        inflight::in_flight(Some(16 * 1024)).unwrap()
    });
    let large = within(LIMIT, "512 KiB", || {
        inflight::in_flight(Some(512 * 1024)).unwrap()
    });
    assert!(large.accepted > small.accepted, "{small:?} vs {large:?}");
    assert!(large.accepted > 512 * 1024, "{large:?}");
    #[cfg(target_os = "linux")]
    for f in [small, large] {
        assert!(
            f.sender_queue.unwrap() > 0 && f.receiver_queue.unwrap() > 0,
            "{f:?}"
        );
        assert!(f.receiver_queue.unwrap() as usize <= f.rcvbuf, "{f:?}");
    }
}
// ANCHOR_END: in_flight_grows_with_buffers

/// The bulk pair moves exactly the bytes it claims (the sink's count must match), for every
/// combination in a small sweep; and the table and chart come out of it.
#[test]
fn bulk_transfers_are_exact_and_the_sweep_renders() {
    let points = within(LIMIT, "sweep", || {
        sweep::sweep(
            &[Some(16 * 1024), Some(256 * 1024), None],
            &[1000, 64 * 1024],
            4 << 20,
            1,
        )
        .unwrap()
    });
    assert_eq!(points.len(), 6);
    assert!(points.iter().all(|p| p.bytes_per_sec > 0.0));
    let table = sweep::table(&points);
    assert!(
        table.contains("| 16 KiB |") && table.contains("| default |"),
        "{table}"
    );
    let svg = sweep::svg_chart(&points, "test").unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("65536 B writes"),
        "{}",
        &svg[..200.min(svg.len())]
    );
    let sink = bulk::sink_with_buffer(None).unwrap();
    let t = within(LIMIT, "odd size", move || {
        bulk::send(sink, 7777, bulk::Amount::Bytes(1_000_003), None).unwrap()
    });
    assert_eq!(t.bytes, 1_000_003);
}

// ANCHOR: loopback_is_cpu_bound
/// On loopback, a bulk transfer is bound by the processors, not by its window: with 16 KiB
/// buffers as with autotuned ones, the sender's and the receiver's busy times (running, or
/// runnable and waiting for a processor) add up to at least 90% of the transfer's duration,
/// so they were never both asleep waiting for the network for long. The control: a receiver
/// that pauses 10 ms after every read leaves both threads asleep most of the time, and the
/// same measurement says so (Linux: busy times come from `/proc/thread-self/schedstat`).
#[test]
#[cfg(target_os = "linux")]
fn a_loopback_transfer_is_bound_by_the_processors_not_the_window() {
    use buffers_demo::busy;
    let transfer = |buffer, bytes, pause| {
        within(LIMIT, "transfer", move || {
            busy::transfer(buffer, 128 * 1024, bytes, pause).unwrap()
        })
    };
    let Some(_) = transfer(None, 1 << 20, None) else {
        let why = "this kernel publishes no /proc/thread-self/schedstat";
        return socklab_support::skip::skip(
            "a_loopback_transfer_is_bound_by_the_processors_not_the_window",
            why,
        );
    };
    for buffer in [Some(16 * 1024), None] {
        let b = transfer(buffer, 64 << 20, None).unwrap();
        assert_eq!(b.bytes, 64 << 20);
        assert!(b.busy_fraction() >= 0.9, "{buffer:?}: {b:?}");
    }
    let paused = transfer(None, 4 << 20, Some(Duration::from_millis(10))).unwrap();
    assert!(paused.busy_fraction() < 0.9, "the control: {paused:?}");
}
// ANCHOR_END: loopback_is_cpu_bound

// ANCHOR: small_writes_keep_the_sender_busy
/// With 1 KiB writes, the sending thread alone is busy for at least 80% of the transfer: it
/// is the bottleneck, one system call per kilobyte, whatever the buffers (Linux).
#[test]
#[cfg(target_os = "linux")]
fn small_writes_keep_the_sender_busy() {
    let Some(b) = within(LIMIT, "1 KiB writes", || {
        buffers_demo::busy::transfer(None, 1024, 32 << 20, None).unwrap()
    }) else {
        let why = "this kernel publishes no /proc/thread-self/schedstat";
        return socklab_support::skip::skip("small_writes_keep_the_sender_busy", why);
    };
    assert!(b.sender_fraction() >= 0.8, "{b:?}");
}
// ANCHOR_END: small_writes_keep_the_sender_busy
