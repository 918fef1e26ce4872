//! Chapter 3 exercises: socket buffers (`SO_RCVBUF`) and the bandwidth-delay product.

use std::time::Duration;

// ANCHOR: ch3_bdp
/// Exercise 3.1: the bandwidth-delay product in bytes: how much data must be in flight to keep
/// a path of `bits_per_sec` busy when a round trip takes `rtt`.
pub fn bdp_bytes(bits_per_sec: f64, rtt: Duration) -> usize {
    // SOLUTION BEGIN: bytes per second times seconds: bits_per_sec / 8 * rtt.as_secs_f64(),
    // rounded.
    (bits_per_sec / 8.0 * rtt.as_secs_f64()).round() as usize
    // SOLUTION END
}
// ANCHOR_END: ch3_bdp

// ANCHOR: ch3_effective
/// Exercise 3.2: predict what Linux's `getsockopt(SO_RCVBUF)` reads back after
/// `setsockopt(SO_RCVBUF, requested)`, given `net.core.rmem_max` and the kernel's floor
/// (2,304 bytes on common builds). The grading test compares your model with your kernel.
pub fn linux_effective_rcvbuf(requested: usize, rmem_max: usize, floor: usize) -> usize {
    // SOLUTION BEGIN: cap the request at rmem_max, double it, and never go below the floor.
    (requested.min(rmem_max) * 2).max(floor)
    // SOLUTION END
}
// ANCHOR_END: ch3_effective
