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
